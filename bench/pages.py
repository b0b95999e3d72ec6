"""`make bench`: the web app's pages under load through the gateway, for a person with Facebook, Instagram and
TikTok connected and a page of posts: the composer (which asks every account's publishing options), the posts
list, the calendar and a post's page, each beside the ceiling of the same run: the cheapest signed-in read through
the gateway (GET /api/v1/me, a session resolve and one identity call). Runs its own copy of the system."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import asyncpg
import httpx

from bench.harness import run_and_report
from bench.signin import address, load
from deploy.system import System

PASSWORD = "benchmark passphrase of some length"
SANDBOX_USERS = {"facebook": "5551", "tiktok": "-000abc"}
POSTS = int(os.environ.get("BENCH_POSTS", "60"))


async def connect(http: httpx.AsyncClient, provider: str) -> None:
    """The OAuth dance as a browser does it: start, the sandbox's consent form, the callback."""
    start = await http.get(f"/api/v1/connections/{provider}/start")
    consent = httpx.URL(start.headers["location"])
    form = [*consent.params.multi_items(), ("user_id", SANDBOX_USERS[provider]), ("decision", "allow")]
    async with httpx.AsyncClient() as browser:
        answer = await browser.post(str(consent.copy_with(query=None)), content=urlencode(form),
                                    headers={"content-type": "application/x-www-form-urlencoded"})
    callback = httpx.URL(answer.headers["location"].split("#", 1)[0])
    done = await http.get(callback.raw_path.decode())
    assert "result=connected" in done.headers.get("location", ""), done.text


async def person_with_posts(system: System, http: httpx.AsyncClient) -> str:
    email = f"pages-{os.getpid()}@example.com"
    signed_up = await http.post("/api/v1/auth/signup", json={"name": "Bench", "email": email, "password": PASSWORD,
                                                             "timezone": "Europe/Paris"})
    assert signed_up.status_code == 201, signed_up.text
    db = await asyncpg.connect(system.env["POSTIFYS_DATABASE_URL"])
    try:  # the mailbox is the harness's; confirming the address is not what is measured
        await db.execute("UPDATE identity.users SET email_verified_at = now() WHERE email = $1", email)
    finally:
        await db.close()
    assert (await http.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})).status_code == 200
    for provider in SANDBOX_USERS:
        await connect(http, provider)
    accounts = [a["id"] for a in (await http.get("/api/v1/accounts")).json()["items"] if a["kind"] == "facebook_page"
                and a["publishable"]]
    soon = datetime.now(UTC) + timedelta(days=1)
    post_id = ""
    for n in range(POSTS):
        created = await http.post("/api/v1/posts", json={
            "caption": f"Post {n} of the bench", "scheduled_at": (soon + timedelta(hours=n)).isoformat(),
            "targets": [{"account_id": accounts[0]}]})
        assert created.status_code == 201, created.text
        post_id = created.json()["id"]
    return post_id


async def measure(system: System) -> dict[str, Any]:
    gateway = system.url("gateway")
    results: dict[str, Any] = {}
    async with httpx.AsyncClient(base_url=gateway, timeout=30, headers={"x-forwarded-for": address()}) as http:
        post_id = await person_with_posts(system, http)
        cookie = {"cookie": f"postifys_session={http.cookies['postifys_session']}"}

    def get(path: str) -> Any:
        async def call(client: httpx.AsyncClient) -> httpx.Response:
            return await client.get(f"{gateway}{path}", headers=cookie)
        return call

    async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=32)) as client:
        results["ceiling_me_via_gateway"] = await load(get("/api/v1/me"), client, 200)
        for name, path in (("compose", "/compose"), ("posts", "/posts"), ("calendar", "/calendar"),
                           ("calendar_week", "/calendar?view=week"), ("post", f"/posts/{post_id}")):
            results[name] = await load(get(path), client, 200)
    ceiling = results["ceiling_me_via_gateway"]["p50_ms"]
    results["p50_over_ceiling"] = {name: round(r["p50_ms"] / ceiling, 1) for name, r in results.items()
                                   if name != "ceiling_me_via_gateway"}
    return results


def main() -> None:
    run_and_report("pages", measure)


if __name__ == "__main__":
    main()
