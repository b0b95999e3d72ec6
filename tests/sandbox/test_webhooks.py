"""The webhooks the sandbox sends, as TikTok and Meta send them: signed with the documented algorithms (recomputed
here), fired when a publish turns final, a Page post goes live or a grant is revoked, retried on failure on the
configured schedule, redelivered on demand, and inspectable under /_sandbox/webhooks."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.sandbox.flows import (
    META_APP_SECRET,
    TIKTOK_CLIENT_KEY,
    TIKTOK_CLIENT_SECRET,
    facebook_long_token,
    tiktok_tokens,
)
from tests.sandbox.posting import (
    BAKERY,
    GRAPH,
    bakery_tokens,
    graph_ok,
    media,
    missing_media,
    pull_video,
    settings,
    tiktok_data,
    tiktok_post,
    tiktok_status,
    wait_until,
)
from tests.sandbox.webhook_receiver import Received, Receiver

TIKTOK_PATH = "/webhooks/tiktok"
META_PATH = "/webhooks/meta"


@pytest.fixture
def receiver(http: httpx.Client) -> Iterator[Receiver]:
    """A receiver the sandbox's webhooks point at, with a short retry schedule."""
    server = Receiver()
    server.start()
    settings(http, tiktok_webhook_url=f"{server.base_url}{TIKTOK_PATH}",
             meta_webhook_url=f"{server.base_url}{META_PATH}", webhook_retry_seconds=[0.1, 0.1])
    try:
        yield server
    finally:
        server.stop()


def deliveries(http: httpx.Client, **filters: str) -> list[dict[str, Any]]:
    response = http.get("/_sandbox/webhooks", params=filters)
    assert response.status_code == 200, response.text
    result: list[dict[str, Any]] = response.json()
    return result


def received(receiver: Receiver, path: str, count: int) -> list[Received]:
    return wait_until(lambda: (lambda got: got if len(got) >= count else None)(receiver.received(path)),
                      what=f"{count} webhook(s) at {path}")


def tiktok_verified(request: Received) -> dict[str, Any]:
    """Checks TikTok-Signature the way the docs say to, and answers the body with `content` parsed."""
    parts = dict(part.split("=", 1) for part in request.headers["tiktok-signature"].split(","))
    signed = f"{parts['t']}.".encode() + request.body
    expected = hmac.new(TIKTOK_CLIENT_SECRET.encode(), signed, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(parts["s"], expected)
    assert abs(int(parts["t"]) - time.time()) < 60
    body: dict[str, Any] = json.loads(request.body)
    assert set(body) == {"client_key", "event", "create_time", "user_openid", "content"}
    assert body["client_key"] == TIKTOK_CLIENT_KEY
    assert isinstance(body["create_time"], int)
    assert isinstance(body["content"], str)
    return {**body, "content": json.loads(body["content"])}


def meta_verified(request: Received) -> dict[str, Any]:
    assert request.headers["content-type"] == "application/json"
    sha256 = hmac.new(META_APP_SECRET.encode(), request.body, hashlib.sha256).hexdigest()
    sha1 = hmac.new(META_APP_SECRET.encode(), request.body, hashlib.sha1).hexdigest()
    assert request.headers["x-hub-signature-256"] == f"sha256={sha256}"
    assert request.headers["x-hub-signature"] == f"sha1={sha1}"
    assert request.body.isascii()
    body: dict[str, Any] = json.loads(request.body)
    return body


def nothing_more_sent(http: httpx.Client) -> None:
    """Waits for the sender to look twice more, so anything it was going to queue has been queued."""
    start = http.get("/_sandbox/webhooks/ticks").json()["ticks"]
    wait_until(lambda: http.get("/_sandbox/webhooks/ticks").json()["ticks"] >= start + 2, what="two sender ticks")


def test_the_webhook_settings_have_defaults_a_reset_restores(http: httpx.Client) -> None:
    defaults = {"webhooks_enabled": True, "tiktok_webhook_url": "http://127.0.0.1:9/webhooks/tiktok",
                "meta_webhook_url": "http://127.0.0.1:9/webhooks/meta",
                "webhook_retry_seconds": [1.0, 2.0, 4.0, 8.0, 16.0], "webhook_timeout_seconds": 5.0}
    assert http.get("/_sandbox/settings").json().items() >= defaults.items()

    settings(http, webhooks_enabled=False, tiktok_webhook_url="http://x.test/h", webhook_retry_seconds=[0.5])
    assert http.put("/_sandbox/settings", json={"webhook_retry_seconds": [-1]}).status_code == 422
    http.post("/_sandbox/reset").raise_for_status()

    assert http.get("/_sandbox/settings").json().items() >= defaults.items()


def test_a_public_direct_post_sends_complete_then_publicly_available_once_processed(
        http: httpx.Client, sandbox_url: str, receiver: Receiver) -> None:
    settings(http, tiktok_processing_seconds=0.8)
    token = tiktok_tokens(http)["access_token"]

    publish_id = tiktok_data(tiktok_post(http, token, "video/init/", pull_video(
        media(sandbox_url, "pub.mp4"), "PUBLIC_TO_EVERYONE")))["publish_id"]

    assert deliveries(http) == []
    # Two deliveries in flight at once may arrive in either order, as on the platforms.
    by_event = {body["event"]: body for body in (tiktok_verified(r) for r in received(receiver, TIKTOK_PATH, 2))}
    first, second = by_event["post.publish.complete"], by_event["post.publish.publicly_available"]
    status = tiktok_status(http, token, publish_id)
    assert status["status"] == "PUBLISH_COMPLETE"
    post_id = str(status["publicaly_available_post_id"][0])
    assert first["user_openid"] == "-000abc"
    assert first["content"] == {"publish_id": publish_id, "publish_type": "DIRECT_PUBLISH"}
    assert second["content"] == {"publish_id": publish_id, "post_id": post_id, "publish_type": "DIRECT_PUBLISH"}
    listed = wait_until(lambda: (lambda d: d if all(x["delivered"] for x in d) else None)(deliveries(http)),
                        what="both deliveries marked delivered")
    assert [d["event"] for d in listed] == ["post.publish.complete", "post.publish.publicly_available"]
    assert {d["body"].encode() for d in listed} == {r.body for r in receiver.received()}
    assert all(d["provider"] == "tiktok" and d["url"] == f"{receiver.base_url}{TIKTOK_PATH}" for d in listed)
    assert [[a["status"] for a in d["attempts"]] for d in listed] == [[200], [200]]
    assert deliveries(http, event="post.publish.complete") == listed[:1]


def test_a_private_post_is_complete_but_never_publicly_available(
        http: httpx.Client, sandbox_url: str, receiver: Receiver) -> None:
    settings(http, tiktok_processing_seconds=0.1)
    token = tiktok_tokens(http)["access_token"]

    publish_id = tiktok_data(tiktok_post(http, token, "video/init/", pull_video(
        media(sandbox_url, "self.mp4"), "SELF_ONLY")))["publish_id"]

    (complete,) = (tiktok_verified(r) for r in received(receiver, TIKTOK_PATH, 1))
    nothing_more_sent(http)
    assert complete["content"] == {"publish_id": publish_id, "publish_type": "DIRECT_PUBLISH"}
    assert len(receiver.received()) == 1


def test_a_failed_publish_sends_failed_with_the_reason(http: httpx.Client, sandbox_url: str,
                                                       receiver: Receiver) -> None:
    settings(http, tiktok_processing_seconds=0.1)
    token = tiktok_tokens(http)["access_token"]

    publish_id = tiktok_data(tiktok_post(http, token, "video/init/", pull_video(
        missing_media(sandbox_url, "gone.mp4"))))["publish_id"]

    (failed,) = (tiktok_verified(r) for r in received(receiver, TIKTOK_PATH, 1))
    assert failed["event"] == "post.publish.failed"
    assert failed["content"] == {"publish_id": publish_id, "reason": "video_pull_failed",
                                 "publish_type": "DIRECT_PUBLISH"}
    assert tiktok_status(http, token, publish_id)["fail_reason"] == "video_pull_failed"


def test_an_inbox_upload_sends_inbox_delivered(http: httpx.Client, sandbox_url: str, receiver: Receiver) -> None:
    settings(http, tiktok_processing_seconds=0.1)
    token = tiktok_tokens(http)["access_token"]

    publish_id = tiktok_data(tiktok_post(http, token, "inbox/video/init/", {
        "source_info": {"source": "PULL_FROM_URL", "video_url": media(sandbox_url, "draft.mp4")}}))["publish_id"]

    (delivered,) = (tiktok_verified(r) for r in received(receiver, TIKTOK_PATH, 1))
    assert delivered["event"] == "post.publish.inbox_delivered"
    assert delivered["content"] == {"publish_id": publish_id, "publish_type": "INBOX_SHARE"}


@pytest.mark.parametrize(("how", "reason"), [("control", 1), ("api", 5)])
def test_revoking_a_tiktok_grant_sends_authorization_removed(http: httpx.Client, receiver: Receiver, how: str,
                                                            reason: int) -> None:
    token = tiktok_tokens(http, user_id="-000def")["access_token"]

    if how == "control":
        http.post("/_sandbox/tokens/revoke", json={"token": token}).raise_for_status()
    else:
        http.post("/tiktok-api/v2/oauth/revoke/", data={
            "client_key": TIKTOK_CLIENT_KEY, "client_secret": TIKTOK_CLIENT_SECRET, "token": token,
        }).raise_for_status()

    (removed,) = (tiktok_verified(r) for r in received(receiver, TIKTOK_PATH, 1))
    assert removed["event"] == "authorization.removed"
    assert removed["user_openid"] == "-000def"
    assert removed["content"] == {"reason": reason}
    assert json.loads(receiver.received()[0].body)["content"] == json.dumps({"reason": reason}, separators=(",", ":"))


def test_a_page_post_going_live_sends_a_signed_feed_change(http: httpx.Client, receiver: Receiver) -> None:
    _, page = bakery_tokens(http)

    post_id = graph_ok(http.post(f"{GRAPH}/{BAKERY}/feed", data={
        "message": "Crème brûlée 🍮", "access_token": page}))["id"]

    (request,) = received(receiver, META_PATH, 1)
    body = meta_verified(request)
    assert b"Cr\\u00e8me br\\u00fbl\\u00e9e \\ud83c\\udf6e" in request.body
    assert body["object"] == "page"
    (entry,) = body["entry"]
    assert entry["id"] == BAKERY
    assert isinstance(entry["time"], int)
    (change,) = entry["changes"]
    assert change["field"] == "feed"
    value = change["value"]
    assert isinstance(value.pop("created_time"), int)
    assert value == {"item": "status", "verb": "add", "post_id": post_id, "published": 1,
                     "message": "Crème brûlée 🍮", "from": {"id": BAKERY, "name": "Acme Bakery"}}
    assert [d["event"] for d in deliveries(http, provider="meta")] == ["page/feed"]


def test_removing_the_app_sends_a_permissions_change_per_permission(http: httpx.Client, receiver: Receiver) -> None:
    user_token = facebook_long_token(http)

    http.delete(f"{GRAPH}/me/permissions", params={"access_token": user_token}).raise_for_status()

    (request,) = received(receiver, META_PATH, 1)
    body = meta_verified(request)
    assert body["object"] == "permissions"
    (entry,) = body["entry"]
    assert entry["id"] == "5551"
    changes = {c["field"]: c["value"] for c in entry["changes"]}
    assert set(changes) == {"public_profile", "pages_show_list", "pages_manage_posts", "pages_read_engagement",
                            "instagram_basic", "instagram_content_publish"}
    assert changes["pages_manage_posts"] == {"verb": "revoked", "target_ids": ["1029", "1030"]}
    assert changes["instagram_basic"] == {"verb": "revoked", "target_ids": ["178414"]}
    assert deliveries(http, event="permissions")[0]["event"].startswith("permissions/")


def test_a_failed_delivery_is_retried_until_it_succeeds(http: httpx.Client, receiver: Receiver) -> None:
    receiver.fail_first = 2

    sent = http.post("/_sandbox/webhooks/send", json={
        "provider": "tiktok", "event": "authorization.removed", "open_id": "-000abc", "content": {"reason": 1}})

    assert sent.status_code == 200, sent.text
    delivery_id = sent.json()["id"]
    (done,) = wait_until(lambda: [d for d in deliveries(http) if d["id"] == delivery_id and d["delivered"]],
                         what="the delivery to succeed")
    assert [a["status"] for a in done["attempts"]] == [500, 500, 200]
    assert done["attempts"][0]["error"] == "HTTP 500"
    assert done["gave_up"] is False
    bodies = {r.body for r in receiver.received(TIKTOK_PATH)}
    assert bodies == {done["body"].encode()}
    for request in receiver.received(TIKTOK_PATH):
        tiktok_verified(request)


def test_a_delivery_gives_up_after_the_schedule(http: httpx.Client, receiver: Receiver) -> None:
    receiver.fail_first = 100
    receiver.fail_status = 503

    delivery_id = http.post("/_sandbox/webhooks/send", json={
        "provider": "meta", "object": "page", "entry": [{"id": BAKERY, "time": 1790000000, "changes": []}],
    }).json()["id"]

    (done,) = wait_until(lambda: [d for d in deliveries(http) if d["id"] == delivery_id and d["gave_up"]],
                         what="the delivery to give up")
    assert [a["status"] for a in done["attempts"]] == [503, 503, 503]
    assert done["delivered"] is False
    assert len(receiver.received(META_PATH)) == 3


def test_unreachable_and_slow_receivers_count_as_failures(http: httpx.Client, receiver: Receiver) -> None:
    receiver.stall_seconds = 1.0
    settings(http, webhook_retry_seconds=[], webhook_timeout_seconds=0.2)
    token = tiktok_tokens(http)["access_token"]

    started = time.monotonic()
    http.post("/_sandbox/tokens/revoke", json={"token": token}).raise_for_status()
    assert time.monotonic() - started < 0.5  # the revocation does not wait on its webhook
    settings(http, meta_webhook_url="http://127.0.0.1:9/nobody")
    http.post("/_sandbox/webhooks/send", json={"provider": "meta", "object": "user", "entry": []})

    slow, refused = wait_until(lambda: (lambda d: d if len(d) == 2 and all(x["gave_up"] for x in d) else None)(
        deliveries(http)), what="both deliveries to give up")
    (attempt,) = slow["attempts"]
    assert attempt["status"] is None
    assert attempt["error"].startswith("timeout")
    (attempt,) = refused["attempts"]
    assert attempt["status"] is None
    assert attempt["error"]


def test_a_resend_delivers_the_same_body_again(http: httpx.Client, receiver: Receiver) -> None:
    original = http.post("/_sandbox/webhooks/send", json={
        "provider": "tiktok", "event": "post.publish.complete", "open_id": "-000abc",
        "content": {"publish_id": "v_pub_file~v2-1.1", "publish_type": "DIRECT_PUBLISH"}}).json()
    received(receiver, TIKTOK_PATH, 1)

    again = http.post("/_sandbox/webhooks/send", json={"resend": original["id"]})

    assert again.status_code == 200, again.text
    assert again.json()["id"] != original["id"]
    assert again.json()["resend_of"] == original["id"]
    first, second = received(receiver, TIKTOK_PATH, 2)
    assert first.body == second.body == original["body"].encode()
    assert tiktok_verified(second)["content"]["publish_id"] == "v_pub_file~v2-1.1"
    assert http.post("/_sandbox/webhooks/send", json={"resend": "whd_999"}).status_code == 404
    assert http.post("/_sandbox/webhooks/send", json={"provider": "tiktok"}).status_code == 422


def test_nothing_is_sent_while_webhooks_are_disabled(http: httpx.Client, sandbox_url: str,
                                                     receiver: Receiver) -> None:
    settings(http, webhooks_enabled=False, tiktok_processing_seconds=0.1)
    tokens = tiktok_tokens(http)
    _, page = bakery_tokens(http)

    publish_id = tiktok_data(tiktok_post(http, tokens["access_token"], "video/init/", pull_video(
        media(sandbox_url, "quiet.mp4"), "PUBLIC_TO_EVERYONE")))["publish_id"]
    graph_ok(http.post(f"{GRAPH}/{BAKERY}/feed", data={"message": "quiet", "access_token": page}))
    wait_until(lambda: tiktok_status(http, tokens["access_token"], publish_id)["status"] == "PUBLISH_COMPLETE",
               what="the publish to complete", interval=0.1)
    http.post("/_sandbox/tokens/revoke", json={"token": tokens["access_token"]}).raise_for_status()
    refused = http.post("/_sandbox/webhooks/send", json={
        "provider": "tiktok", "event": "authorization.removed", "open_id": "-000abc", "content": {"reason": 1}})
    nothing_more_sent(http)

    assert refused.status_code == 409
    assert deliveries(http) == []
    assert receiver.received() == []
    settings(http, webhooks_enabled=True)
    nothing_more_sent(http)
    assert deliveries(http) == []  # what happened while disabled is not sent later
