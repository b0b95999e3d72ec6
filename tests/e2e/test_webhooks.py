"""Webhooks through the gateway: verified, stored once, acknowledged without the broker, acted on."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import subprocess
import sys
import time

import asyncpg
import httpx

from services.webhooks.settings import WebhooksSettings
from tests.e2e.test_messaging import rabbitmqctl
from tests.support import Stack, wait_for

DEFAULTS = WebhooksSettings()
META_SECRET = DEFAULTS.meta_app_secret.get_secret_value()
TIKTOK_SECRET = DEFAULTS.tiktok_client_secret.get_secret_value()


def meta_request(payload: dict) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(payload).encode()
    signature = hmac.new(META_SECRET.encode(), body, hashlib.sha256).hexdigest()
    return body, {"content-type": "application/json", "x-hub-signature-256": f"sha256={signature}"}


def tiktok_request(event: str, content: dict, *, t: int | None = None, openid: str = "-000abc",
                   create_time: int = 1790000000) -> tuple[bytes, dict[str, str]]:
    body = json.dumps({"client_key": DEFAULTS.tiktok_client_key, "event": event, "create_time": create_time,
                       "user_openid": openid, "content": json.dumps(content)}).encode()
    t = int(time.time()) if t is None else t
    signature = hmac.new(TIKTOK_SECRET.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return body, {"content-type": "application/json", "tiktok-signature": f"t={t},s={signature}"}


FEED = {"object": "page", "entry": [{"id": "1029", "time": 1790000000, "changes": [
    {"field": "feed", "value": {"item": "status", "verb": "add", "post_id": "1029_1", "message": "Grüße"}}]}]}


async def test_signed_deliveries_are_accepted_and_everything_else_refused(client: httpx.AsyncClient,
                                                                          db: asyncpg.Connection) -> None:
    body, headers = meta_request(FEED)
    assert (await client.post("/webhooks/meta", content=body, headers=headers)).status_code == 200
    tiktok_body, tiktok_headers = tiktok_request("post.publish.complete", {"publish_id": "v_pub_url~none"})
    assert (await client.post("/webhooks/tiktok", content=tiktok_body, headers=tiktok_headers)).status_code == 200

    tampered = body.replace(b"1029_1", b"1029_2")
    reserialized = json.dumps(json.loads(body), indent=1).encode()
    bad_meta = [(tampered, headers), (reserialized, headers), (body, {"content-type": "application/json"}),
                (body, {**headers, "x-hub-signature-256": "sha256=zz"}),
                (body, {**headers, "x-hub-signature-256": headers["x-hub-signature-256"][:-1]})]
    for content, hdrs in bad_meta:
        refused = await client.post("/webhooks/meta", content=content, headers=hdrs)
        assert refused.status_code == 401, refused.text
    now = int(time.time())
    for t in (now - 301, now + 301):
        stale_body, stale_headers = tiktok_request("post.publish.complete", {"publish_id": "x"}, t=t)
        assert (await client.post("/webhooks/tiktok", content=stale_body, headers=stale_headers)).status_code == 401
    wrong = tiktok_headers["tiktok-signature"].replace("s=", "s=0", 1)[:-1]
    assert (await client.post("/webhooks/tiktok", content=tiktok_body,
                              headers={**tiktok_headers, "tiktok-signature": wrong})).status_code == 401

    unsigned_garbage = b"{not json"
    signature = hmac.new(META_SECRET.encode(), unsigned_garbage, hashlib.sha256).hexdigest()
    malformed = await client.post("/webhooks/meta", content=unsigned_garbage, headers={
        "content-type": "application/json", "x-hub-signature-256": f"sha256={signature}"})
    assert malformed.status_code == 400
    stored = await db.fetchrow("SELECT status, reason FROM webhooks.deliveries WHERE body = $1", unsigned_garbage)
    assert stored["status"] == "rejected"
    assert stored["reason"] == "body is not JSON"


async def test_the_meta_handshake_needs_the_right_token(client: httpx.AsyncClient) -> None:
    token = DEFAULTS.meta_webhook_verify_token.get_secret_value()
    ok = await client.get("/webhooks/meta", params={"hub.mode": "subscribe", "hub.verify_token": token,
                                                     "hub.challenge": "1158201444"})
    assert ok.status_code == 200
    assert ok.text == "1158201444"
    wrong = await client.get("/webhooks/meta", params={"hub.mode": "subscribe", "hub.verify_token": "nope",
                                                        "hub.challenge": "1"})
    assert wrong.status_code == 403


async def test_the_same_event_five_times_at_once_and_again_later_is_stored_and_applied_once(
        client: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    content = {"publish_id": f"v_pub_url~dup-{time.time_ns()}"}
    body, headers = tiktok_request("post.publish.failed", content)
    answers = await asyncio.gather(*(client.post("/webhooks/tiktok", content=body, headers=headers)
                                     for _ in range(5)))
    assert [a.status_code for a in answers] == [200] * 5
    assert sorted(a.json()["status"] for a in answers) == ["accepted"] + ["duplicate"] * 4
    later_body, later_headers = tiktok_request("post.publish.failed", content, t=int(time.time()) + 60)
    later = await client.post("/webhooks/tiktok", content=later_body, headers=later_headers)
    assert later.json()["status"] == "duplicate"
    assert await db.fetchval("SELECT count(*) FROM webhooks.deliveries WHERE convert_from(body, 'UTF8') LIKE $1",
                             f"%{content['publish_id']}%") == 1

    async def applied_once() -> bool:
        return await db.fetchval("SELECT count(*) FROM publisher.inbox WHERE type = 'webhook.tiktok.post.publish."
                                 "failed'") >= 1
    await wait_for(applied_once, message="the publisher to take the event")


async def test_webhooks_are_accepted_while_rabbitmq_is_down_and_all_flow_out_after(
        stack: Stack, db: asyncpg.Connection, new_client) -> None:
    count = 1000
    before = await db.fetchval("SELECT count(*) FROM publisher.inbox WHERE type = 'webhook.tiktok.post.publish."
                               "complete'")
    rabbitmqctl("stop_app")
    try:
        async with new_client() as http:
            async def send(i: int) -> int:
                body, headers = tiktok_request("post.publish.complete", {"publish_id": f"v_pub_url~down-{i}"},
                                               create_time=1790000000 + i, openid=f"outage-{time.time_ns()}")
                return (await http.post("/webhooks/tiktok", content=body, headers=headers)).status_code
            statuses = []
            for chunk in range(0, count, 50):
                statuses += await asyncio.gather(*(send(i) for i in range(chunk, chunk + 50)))
        assert statuses == [200] * count
    finally:
        rabbitmqctl("start_app")
        rabbitmqctl("await_startup")

    async def all_applied() -> bool:
        now = await db.fetchval("SELECT count(*) FROM publisher.inbox WHERE type = 'webhook.tiktok.post.publish."
                                "complete'")
        return now - before == count
    await wait_for(all_applied, timeout=120, interval=0.5, message="every webhook to reach the publisher once")
    assert await db.fetchval("SELECT count(*) FROM webhooks.outbox") == 0


async def test_through_the_sandbox_a_tiktok_post_completes_by_webhook(poster, stack: Stack) -> None:
    from tests.e2e.publishing_support import create, settled, video
    from tests.support import sandbox

    # Every status poll stalls past the publisher's timeout: only TikTok's webhook can finish the target.
    await sandbox(stack, "PUT", "/_sandbox/settings", json={"stall_seconds": 10})
    await sandbox(stack, "PUT", "/_sandbox/faults", json=[
        {"platform": "tiktok", "path": "/status/fetch/", "mode": "timeout", "times": None}])
    post = await create(poster, caption="finished by webhook", media=[video(stack)], targets=[
        {"account_id": poster.accounts["tiktok"], "settings": {"privacy_level": "PUBLIC_TO_EVERYONE"}}])
    await settled(poster, post["id"], timeout=60)

    async def public_id_known() -> dict | None:
        [target] = (await poster.http.get(f"/api/v1/posts/{post['id']}")).json()["targets"]
        return target if target["remote_id"].isdigit() else None  # the public post id the webhook carried
    target = await wait_for(public_id_known, message="the publicly_available webhook")
    assert target["status"] == "published"
    assert "webhook" in [e["step"] for e in target["timeline"]]


async def test_through_the_sandbox_a_removed_authorization_disconnects_and_fails_scheduled_targets(
        poster, stack: Stack) -> None:
    from datetime import UTC, datetime, timedelta

    from tests.e2e.publishing_support import create, publishes, settled, video
    from tests.support import sandbox

    later = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
    post = await create(poster, caption="never goes out", media=[video(stack)], scheduled_at=later, targets=[
        {"account_id": poster.accounts["tiktok"], "settings": {"privacy_level": "SELF_ONLY"}}])
    live = [t for t in await sandbox(stack, "GET", "/_sandbox/tokens", params={"platform": "tiktok",
                                                                                "subject": "-000abc"})
            if t["kind"] == "tiktok_access" and not t.get("revoked")]
    assert live, "the poster's TikTok token is live at the sandbox"
    await sandbox(stack, "POST", "/_sandbox/tokens/revoke", json={"token": live[-1]["token"]})

    async def delivered() -> dict | None:
        [sent] = await sandbox(stack, "GET", "/_sandbox/webhooks", params={"event": "authorization.removed"})
        assert not sent["gave_up"], sent
        return sent if sent["delivered"] else None
    sent = await wait_for(delivered, timeout=20, message="the sandbox to deliver authorization.removed")
    assert [a["status"] for a in sent["attempts"]][-1] == 200

    done = await settled(poster, post["id"], timeout=30)
    [target] = done["targets"]
    assert target["status"] == "failed"
    assert target["error_class"] == "account_disconnected"
    assert "TikTok removed the authorization" in target["error_message"]
    accounts = (await poster.http.get("/api/v1/accounts")).json()["items"]
    assert next(a for a in accounts if a["id"] == poster.accounts["tiktok"])["status"] == "disconnected"
    assert await publishes(stack, platform="tiktok") == []


def deliveries_cli(stack: Stack, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "deploy.webhook_deliveries", *args], env=stack.env,
                          capture_output=True, text=True, timeout=60, check=False)


async def test_operators_list_deliveries_and_rejections_and_replay_a_delivery(
        client: httpx.AsyncClient, stack: Stack, db: asyncpg.Connection) -> None:
    publish_id = f"v_pub_url~replay-{time.time_ns()}"
    body, headers = tiktok_request("post.publish.complete", {"publish_id": publish_id})
    assert (await client.post("/webhooks/tiktok", content=body, headers=headers)).status_code == 200
    garbage = f"{{not json {publish_id}".encode()
    signature = hmac.new(META_SECRET.encode(), garbage, hashlib.sha256).hexdigest()
    assert (await client.post("/webhooks/meta", content=garbage, headers={
        "content-type": "application/json", "x-hub-signature-256": f"sha256={signature}"})).status_code == 400
    delivery_id = str(await db.fetchval("SELECT id FROM webhooks.deliveries WHERE body = $1", body))

    listed = deliveries_cli(stack, "list", "--limit", "500")
    assert listed.returncode == 0, listed.stderr
    [line] = [x for x in listed.stdout.splitlines() if x.startswith(delivery_id)]
    assert "\ttiktok\taccepted\t" in line
    assert "post.publish.complete" in line
    rejected = deliveries_cli(stack, "list", "--status", "rejected", "--limit", "500").stdout.splitlines()
    assert rejected
    assert all("\trejected\t" in x for x in rejected)
    assert any("body is not JSON" in x for x in rejected)

    async def inbox_count() -> int:
        return int(await db.fetchval("SELECT count(*) FROM publisher.early_outcomes WHERE publish_id = $1",
                                     publish_id))
    await wait_for(inbox_count, message="the publisher to keep the early outcome")
    applied = await db.fetchval("SELECT count(*) FROM publisher.inbox")
    replayed = deliveries_cli(stack, "replay", delivery_id)
    assert replayed.returncode == 0, replayed.stderr
    assert "replayed 1 event" in replayed.stderr

    async def taken_again() -> bool:
        return int(await db.fetchval("SELECT count(*) FROM publisher.inbox")) > applied
    await wait_for(taken_again, message="the replayed event to reach the publisher")
    assert await inbox_count() == 1  # applied idempotently
    assert deliveries_cli(stack, "replay", "00000000-0000-0000-0000-000000000000").returncode == 1
