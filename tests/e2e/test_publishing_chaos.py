"""500 targets while the publisher is killed with SIGKILL at random moments: every target ends final, none is
lost, and each reaches the platform exactly once."""

from __future__ import annotations

import asyncio
import random
import signal
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import asyncpg
import httpx

from tests.e2e.publishing_support import publishes
from tests.support import Stack, callback_path, sandbox, sign_in, sign_up, wait_for

TARGETS = 500
PAGES = 10
KILLS = 3


async def connect_many_pages(http: httpx.AsyncClient, stack: Stack) -> list[str]:
    owner = await sandbox(stack, "POST", "/_sandbox/facebook/users", json={
        "name": "Chaos Owner", "pages": [{"name": f"Chaos Page {i}"} for i in range(PAGES)]})
    start = await http.get("/api/v1/connections/facebook/start")
    authorize = httpx.URL(start.headers["location"])
    form = [*authorize.params.multi_items(), ("user_id", str(owner["id"])), ("decision", "allow")]
    async with httpx.AsyncClient() as browser:
        consent = await browser.post(str(authorize.copy_with(query=None)), content=urlencode(form),
                                     headers={"content-type": "application/x-www-form-urlencoded"})
    await http.get(callback_path(consent.headers["location"]))
    return [a["id"] for a in (await http.get("/api/v1/accounts")).json()["items"] if a["kind"] == "facebook_page"]


async def test_random_sigkills_during_500_targets_lose_nothing_and_double_nothing(
        stack: Stack, new_client, db: asyncpg.Connection) -> None:
    await sandbox(stack, "POST", "/_sandbox/reset")
    await sandbox(stack, "PUT", "/_sandbox/settings", json={"app_usage_calls_per_hour": 10**9,
                                                            "business_usage_calls_per_hour": 10**9})
    rng = random.Random(1127)
    async with new_client() as http:
        await sign_in(http, user := await sign_up(http, stack))
        pages = await connect_many_pages(http, stack)
        assert len(pages) == PAGES
        # Time to create all 500 before any is due, even on a loaded two-core CI machine.
        due = datetime.now(UTC) + timedelta(seconds=60)
        captions = [f"chaos {i} {rng.random()}" for i in range(TARGETS)]

        async def make(i: int) -> None:
            # One client would hit the gateway's per-address limit: spread the requests over addresses.
            response = await http.post("/api/v1/posts", headers={"X-Forwarded-For": stack.new_client_ip()}, json={
                "caption": captions[i], "scheduled_at": due.isoformat(),
                "targets": [{"account_id": pages[i % PAGES]}]})
            assert response.status_code == 201, response.text
        for chunk in range(0, TARGETS, 25):
            await asyncio.gather(*(make(i) for i in range(chunk, chunk + 25)))
        assert datetime.now(UTC) < due, f"creating {TARGETS} posts took past {due:%H:%M:%S}"

        await asyncio.sleep(max(0.0, (due - datetime.now(UTC)).total_seconds()))
        for _ in range(KILLS):
            await asyncio.sleep(rng.uniform(0.5, 2.5))
            stack.system.stop_one("publisher", sig=signal.SIGKILL)
            stack.system.start_one("publisher")
            await asyncio.to_thread(stack.system.wait_ready, 60, ("publisher",))

        async def all_final() -> bool:
            left = await db.fetchval("SELECT count(*) FROM publisher.targets WHERE user_id = $1::uuid AND status "
                                     "NOT IN ('published', 'failed', 'cancelled')", user["id"])
            return left == 0
        await wait_for(all_final, timeout=240, interval=1, message="every target to end final")

    statuses = await db.fetch("SELECT status, count(*) FROM publisher.targets WHERE user_id = $1::uuid "
                              "GROUP BY status", user["id"])
    assert {r["status"]: r["count"] for r in statuses} == {"published": TARGETS}
    live = await publishes(stack, platform="facebook")
    messages = [p.get("message") or p.get("text") for p in live]
    assert len(live) == TARGETS
    assert sorted(messages) == sorted(captions)
