"""Deleting an account or connected data everywhere, and Meta's callbacks, through every real process."""

from __future__ import annotations

import re
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest

from services.privacy.settings import PrivacySettings
from services.privacy.signed_request import make_signed_request
from tests.conftest import started_stack
from tests.e2e.publishing_support import Member, create, image, publishes, settled, video
from tests.support import STRONG_PASSWORD, Stack, connect, items, sandbox, sign_in, sign_up, wait_for

META_SECRET = PrivacySettings().meta_app_secret.get_secret_value()
SEEDED_EXTERNAL_IDS = ("1029", "1030", "178414", "1020", "-000abc")


async def deletion_done(http: httpx.AsyncClient, url: str, timeout: float = 60) -> dict[str, Any]:
    async def completed() -> dict[str, Any] | None:
        answer = (await http.get(url, headers={"accept": "application/json"})).json()
        return answer if answer["status"] == "completed" else None
    return await wait_for(completed, timeout=timeout, interval=0.3, message=f"deletion at {url} to complete")


async def member(stack: Stack, http: httpx.AsyncClient, *, name: str = "Test Person") -> tuple[Member, dict[str, Any]]:
    user = {**await sign_up(http, stack, name=name), "name": name}
    assert (await sign_in(http, user)).status_code == 200
    for provider in ("facebook", "instagram", "tiktok"):
        await connect(http, stack, provider)
    listed = (await http.get("/api/v1/accounts")).json()["items"]
    by_external = {a["external_id"]: a["id"] for a in listed}
    return Member(http, user["id"], {"page": by_external["1029"], "ig_page": by_external["178414"],
                                     "ig_login": by_external["1020"], "tiktok": by_external["-000abc"]}), user


# --- 1. the whole account, on a system of its own so that a dump of the database holds no one else ------------

@pytest.fixture(scope="module")
def own_stack() -> Iterator[Stack]:
    with started_stack() as stack:
        yield stack


@pytest.fixture
async def own_client(own_stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=own_stack.gateway, timeout=30,
                                 headers={"X-Forwarded-For": own_stack.new_client_ip()}) as http:
        yield http


def dump(database_url: str) -> str:
    return subprocess.run(["pg_dump", "--no-owner", database_url], capture_output=True, text=True, check=True,
                          timeout=120).stdout


def standalone(value: str, text: str) -> bool:
    """The value as a whole token, not as part of a uuid, a timestamp or another number."""
    return re.search(rf"(?<![\w.:-]){re.escape(value)}(?![\w.:-])", text) is not None


async def test_deleting_the_account_leaves_nothing_of_the_person(own_stack: Stack,
                                                                 own_client: httpx.AsyncClient) -> None:
    stack = own_stack
    name = f"Zelda Quixote {time.time_ns()}"
    poster, user = await member(stack, own_client, name=name)
    # A second Facebook login with no Page at all: nothing to publish to, but it holds a name, an id and a token.
    pageless_name = f"Pageless Person {time.time_ns()}"
    pageless = await sandbox(stack, "POST", "/_sandbox/facebook/users", json={"name": pageless_name, "pages": []})
    await connect(own_client, stack, "facebook", user=pageless["id"])
    async with httpx.AsyncClient(base_url=stack.gateway, timeout=30,
                                 headers={"X-Forwarded-For": stack.new_client_ip()}) as second:
        assert (await sign_in(second, user)).status_code == 200
        cookies = [c.value for c in [*own_client.cookies.jar, *second.cookies.jar]]

        published_caption = f"published caption {time.time_ns()}"
        published = await create(poster, caption=published_caption, media=[image(stack)],
                                 targets=[{"account_id": poster.accounts["page"]}])
        assert (await settled(poster, published["id"]))["targets"][0]["status"] == "published"
        scheduled_caption = f"scheduled caption {time.time_ns()}"
        due = datetime.now(UTC) + timedelta(seconds=20)
        await create(poster, caption=scheduled_caption, media=[video(stack)], scheduled_at=due.isoformat(),
                     targets=[{"account_id": poster.accounts["tiktok"], "settings": {"privacy_level": "SELF_ONLY"}},
                              {"account_id": poster.accounts["page"]}])
        # A webhook about the person's Page, as Meta would send it.
        await sandbox(stack, "POST", "/_sandbox/webhooks/send", json={
            "provider": "meta", "object": "page", "entry": [{"id": "1029", "time": int(time.time()), "changes": [
                {"field": "feed", "value": {"item": "status", "verb": "add", "post_id": "1029_9",
                                            "message": published_caption}}]}]})
        db = await asyncpg.connect(stack.database_url)
        try:
            async def webhook_stored() -> bool:
                return bool(await db.fetchval("SELECT count(*) FROM webhooks.deliveries WHERE '1029' = ANY(subjects)"))
            await wait_for(webhook_stored, message="the Page webhook to be stored")
        finally:
            await db.close()
        tokens = [t["token"] for t in items(await sandbox(stack, "GET", "/_sandbox/tokens"))]
        published_before = len(await publishes(stack))

        wrong = await own_client.post("/api/v1/privacy/deletion-requests",
                                      json={"scope": "account", "password": "not the password at all"})
        assert wrong.status_code == 403, wrong.text
        assert (await own_client.post("/api/v1/privacy/deletion-requests",
                                      json={"scope": "account"})).status_code == 422
        asked = await own_client.post("/api/v1/privacy/deletion-requests",
                                      json={"scope": "account", "password": STRONG_PASSWORD})
        assert asked.status_code == 202, asked.text
        request = asked.json()
        assert request["status"] in ("pending", "in_progress", "completed")
        done = await deletion_done(own_client, f"/privacy/deletion/{request['confirmation_code']}")
        assert {s["service"]: s["status"] for s in done["steps"]} == {
            "identity": "done", "connector": "done", "media": "done", "publisher": "done", "webhooks": "done"}

        for client in (own_client, second):
            assert (await client.get("/api/v1/me")).status_code == 401
    assert (await sign_in(own_client, user)).status_code == 401
    goodbye = await stack.mail(user["email"], "has been deleted")
    assert "deleted" in goodbye.text

    db = await asyncpg.connect(stack.database_url)
    try:
        async def connector_forgot() -> bool:
            return not await db.fetchval("SELECT count(*) FROM connector.erasure_answers")
        await wait_for(connector_forgot, message="the connector to drop its answer once the request completed")
    finally:
        await db.close()

    sandbox_tokens = items(await sandbox(stack, "GET", "/_sandbox/tokens"))
    revocable = [t for t in sandbox_tokens if t["platform"] in ("facebook", "tiktok")]
    assert revocable
    assert [t for t in revocable if not t["revoked"]] == []

    text = dump(stack.database_url)
    for secret in (user["email"], name, pageless_name, published_caption, scheduled_caption, *cookies, *tokens):
        assert secret not in text, f"{secret[:12]}… survived the deletion"
    for external_id in (*SEEDED_EXTERNAL_IDS, "5551", pageless["id"]):
        assert not standalone(external_id, text), f"platform id {external_id} survived the deletion"
    assert request["confirmation_code"] in text  # the minimal record stays

    # Past the scheduled time, nothing more reached the platforms.
    async def past_due() -> bool:
        return datetime.now(UTC) > due + timedelta(seconds=3)
    await wait_for(past_due, timeout=40, message="the scheduled time to pass")
    assert len(await publishes(stack)) == published_before


# --- 2. connected data only ------------------------------------------------------------------------------------

async def test_deleting_connections_keeps_the_postifys_account(poster: Member, stack: Stack) -> None:
    later = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    post = await create(poster, caption="kept for the page", media=[video(stack)], scheduled_at=later, targets=[
        {"account_id": poster.accounts["tiktok"], "settings": {"privacy_level": "SELF_ONLY"}},
        {"account_id": poster.accounts["page"]}])
    asked = await poster.http.post("/api/v1/privacy/deletion-requests",
                                   json={"scope": "connections", "account_ids": [poster.accounts["tiktok"]]})
    assert asked.status_code == 202, asked.text
    done = await deletion_done(poster.http, f"/api/v1/privacy/deletion-requests/{asked.json()['id']}")
    assert done["steps"]
    assert all(s["status"] == "done" for s in done["steps"])
    assert not {"identity", "media"} & {s["service"] for s in done["steps"]}  # the account and its media stay

    accounts = (await poster.http.get("/api/v1/accounts")).json()["items"]
    assert poster.accounts["tiktok"] not in {a["id"] for a in accounts}
    assert poster.accounts["page"] in {a["id"] for a in accounts}
    tiktok = list(items(await sandbox(stack, "GET", "/_sandbox/tokens", params={"platform": "tiktok"})))
    assert tiktok
    assert all(t["revoked"] for t in tiktok)
    kept = (await poster.http.get(f"/api/v1/posts/{post['id']}")).json()
    assert [t["account_id"] for t in kept["targets"]] == [poster.accounts["page"]]
    assert (await poster.http.get("/api/v1/me")).status_code == 200
    mine = (await poster.http.get("/api/v1/privacy/deletion-requests")).json()["items"]
    assert [r["id"] for r in mine] == [asked.json()["id"]]
    exported = (await poster.http.get("/api/v1/privacy/export")).json()
    assert [(r["id"], r["status"]) for r in exported["deletion_requests"]] == [(asked.json()["id"], "completed")]


async def test_deletion_requests_are_private_and_refused_cross_site(poster: Member, stack: Stack,
                                                                    new_client) -> None:
    asked = await poster.http.post("/api/v1/privacy/deletion-requests",
                                   json={"scope": "connections", "account_ids": [poster.accounts["page"]]})
    assert asked.status_code == 202, asked.text
    async with new_client() as other:
        await sign_up(other, stack)
        stranger = await sign_up(other, stack)
        assert (await sign_in(other, stranger)).status_code == 200
        seen = await other.get(f"/api/v1/privacy/deletion-requests/{asked.json()['id']}")
        assert seen.status_code == 404
        assert (await other.get("/api/v1/privacy/deletion-requests")).json()["items"] == []
        # Naming someone else's account deletes nothing of theirs.
        foreign = await other.post("/api/v1/privacy/deletion-requests",
                                   json={"scope": "connections", "account_ids": [poster.accounts["tiktok"]]})
        await deletion_done(other, f"/api/v1/privacy/deletion-requests/{foreign.json()['id']}")
    assert poster.accounts["tiktok"] in {a["id"] for a in (await poster.http.get("/api/v1/accounts")).json()["items"]}
    forged = await poster.http.post("/api/v1/privacy/deletion-requests", json={"scope": "account", "password": "x"},
                                    headers={"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"})
    assert forged.status_code == 403
    assert forged.json()["error"]["code"] == "cross_site_request"
    assert (await poster.http.get("/api/v1/me")).status_code == 200


# --- 3. a service down during the saga ---------------------------------------------------------------------------

async def test_a_stopped_publisher_delays_the_deletion_without_losing_it(poster: Member, stack: Stack) -> None:
    stack.system.stop_one("publisher")
    try:
        asked = await poster.http.post("/api/v1/privacy/deletion-requests", json={"scope": "connections"})
        assert asked.status_code == 202, asked.text
        code = asked.json()["confirmation_code"]

        async def connector_done() -> dict[str, Any] | None:
            state = (await poster.http.get(f"/privacy/deletion/{code}", headers={"accept": "application/json"})).json()
            steps = {s["service"]: s["status"] for s in state["steps"]}
            return state if steps["connector"] == "done" and steps["webhooks"] == "done" else None
        state = await wait_for(connector_done, message="every running service to finish its part")
        assert state["status"] == "in_progress"
        assert {s["service"]: s["status"] for s in state["steps"]}["publisher"] == "pending"
        page = await poster.http.get(f"/privacy/deletion/{code}", headers={"accept": "text/html"})
        assert "In progress" in page.text
        # The page of the web app, whose scripts are its own files: none inline.
        assert 'data-page="deletion_status"' in page.text
        assert re.findall(r"<script(?![^>]*\bsrc=)", page.text) == []
    finally:
        stack.system.start(("publisher",))
        stack.system.wait_ready(names=("publisher",))
    await deletion_done(poster.http, f"/privacy/deletion/{code}")
    assert (await poster.http.get("/api/v1/accounts")).json()["items"] == []


# --- 4. Meta's callbacks -----------------------------------------------------------------------------------------

async def facebook_user_id(stack: Stack, user_id: str) -> str:
    db = await asyncpg.connect(stack.database_url)
    try:
        return str(await db.fetchval("SELECT external_user_id FROM connector.connections WHERE user_id = $1 "
                                     "AND provider = 'facebook'", uuid.UUID(user_id)))
    finally:
        await db.close()


async def test_metas_data_deletion_callback_starts_deletion_for_that_person(poster: Member, stack: Stack,
                                                                            client: httpx.AsyncClient) -> None:
    meta_id = await facebook_user_id(stack, poster.user_id)
    signed = make_signed_request({"algorithm": "HMAC-SHA256", "issued_at": int(time.time()), "user_id": meta_id},
                                 META_SECRET)
    assert "=" not in signed  # unpadded, as Meta sends it
    first = await client.post("/privacy/meta/data-deletion", data={"signed_request": signed})
    assert first.status_code == 200, first.text
    answer = first.json()
    assert answer["url"].endswith(f"/privacy/deletion/{answer['confirmation_code']}")
    again = await client.post("/privacy/meta/data-deletion", data={"signed_request": signed})
    assert again.json() == answer
    await deletion_done(client, f"/privacy/deletion/{answer['confirmation_code']}")
    left = {a["id"] for a in (await poster.http.get("/api/v1/accounts")).json()["items"]}
    # The Facebook login's Pages and the Instagram accounts reached through them are gone; Instagram Login and
    # TikTok have ids of their own, which this callback does not name.
    assert left == {poster.accounts["tiktok"], poster.accounts["ig_login"]}

    encoded_sig, payload = signed.split(".")
    bad = {
        "tampered": f"{encoded_sig}.{payload[:-2]}AA",
        "wrong algorithm": make_signed_request({"algorithm": "HMAC-SHA1", "user_id": meta_id}, META_SECRET),
        "wrong secret": make_signed_request({"algorithm": "HMAC-SHA256", "user_id": meta_id}, "not-the-secret"),
        "malformed": "no-dot-here",
        "oversized": f"{encoded_sig}.{'A' * 5000}",
    }
    for label, value in bad.items():
        refused = await client.post("/privacy/meta/data-deletion", data={"signed_request": value})
        assert refused.status_code in (400, 413), (label, refused.text)
        assert refused.json()["error"]["code"] in ("invalid_signed_request", "payload_too_large"), label
    assert (await client.post("/privacy/meta/data-deletion", data={})).status_code == 400
    crowded = {f"f{i}": "x" for i in range(20)} | {"signed_request": signed}
    assert (await client.post("/privacy/meta/data-deletion", data=crowded)).status_code == 400
    # The signature segment with its base64 padding is the same request (the payload segment is what is signed).
    padded = f"{encoded_sig}{'=' * (-len(encoded_sig) % 4)}.{payload}"
    assert padded != signed
    assert (await client.post("/privacy/meta/data-deletion", data={"signed_request": padded})).json() == answer


async def test_metas_deauthorize_callback_revokes_the_facebook_connections(poster: Member, stack: Stack,
                                                                           client: httpx.AsyncClient) -> None:
    meta_id = await facebook_user_id(stack, poster.user_id)
    signed = make_signed_request({"algorithm": "HMAC-SHA256", "issued_at": int(time.time()), "user_id": meta_id},
                                 META_SECRET)
    answer = await client.post("/privacy/meta/deauthorize", data={"signed_request": signed})
    assert answer.status_code == 200, answer.text

    async def revoked() -> dict[str, str] | None:
        accounts = (await poster.http.get("/api/v1/accounts")).json()["items"]
        statuses = {a["id"]: a["status"] for a in accounts}
        return statuses if statuses[poster.accounts["page"]] == "disconnected" else None
    statuses: dict[str, str] = await wait_for(revoked, message="the Facebook accounts to be disconnected")
    assert statuses[poster.accounts["ig_page"]] == "disconnected"
    assert statuses[poster.accounts["tiktok"]] == "active"
    db = await asyncpg.connect(stack.database_url)
    try:
        left = await db.fetchval(
            "SELECT count(*) FROM connector.secrets s JOIN connector.connections c ON s.owner_id = c.id "
            "WHERE c.external_user_id = $1 AND c.user_id = $2", meta_id, uuid.UUID(poster.user_id))
    finally:
        await db.close()
    assert left == 0
    tampered = await client.post("/privacy/meta/deauthorize", data={"signed_request": signed[:-3] + "abc"})
    assert tampered.status_code == 400
