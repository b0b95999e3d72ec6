"""The publishing side of /_sandbox: the hosted test media, the publishing settings, the publishes and breaches
records, and each fault mode."""

from __future__ import annotations

import json
import struct
import time
from datetime import datetime
from typing import Any

import httpx
import pytest

from tests.sandbox.flows import usage_header
from tests.sandbox.posting import (
    BAKERY,
    BAKERY_IG,
    GRAPH,
    bakery_tokens,
    breaches,
    graph_fails,
    graph_ok,
    media,
    publishes,
    pull_video,
    settings,
    tiktok_data,
    tiktok_fails,
    tiktok_post,
    tiktok_token,
    wait_until,
)

PUBLISHING_DEFAULTS = {
    "video_processing_seconds": 1.0, "instagram_processing_seconds": 1.0, "instagram_container_ttl_seconds": 86400.0,
    "tiktok_processing_seconds": 1.0, "tiktok_daily_post_cap": 15, "tiktok_upload_url_seconds": 3600.0,
    "tiktok_verified_url_prefixes": None, "stall_seconds": 30.0, "business_usage_percent_override": None,
}


def install(http: httpx.Client, *rules: dict[str, Any]) -> list[dict[str, Any]]:
    response = http.put("/_sandbox/faults", json=list(rules))
    assert response.status_code == 200, response.text
    result: list[dict[str, Any]] = response.json()
    return result


def rules(http: httpx.Client) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = http.get("/_sandbox/faults").json()
    return result


def fired(http: httpx.Client) -> list[dict[str, Any]]:
    """Every fault that fired, rule after rule."""
    return [event for rule in rules(http) for event in rule["events"]]


# Media

@pytest.mark.parametrize(("name", "content_type", "magic"), [
    ("a.jpg", "image/jpeg", b"\xff\xd8\xff"),
    ("a.jpeg", "image/jpeg", b"\xff\xd8\xff"),
    ("a.png", "image/png", b"\x89PNG\r\n\x1a\n"),
    ("a.webp", "image/webp", b"RIFF"),
    ("a.mp4", "video/mp4", b"ftypisom"),
    ("a.mov", "video/quicktime", b"ftypqt  "),
])
def test_media_is_served_with_a_valid_header(http: httpx.Client, name: str, content_type: str, magic: bytes) -> None:
    response = http.get(f"/_sandbox/media/{name}")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith(content_type)
    assert magic in response.content[:12]
    assert int(response.headers["content-length"]) == len(response.content)
    assert http.get(f"/_sandbox/media/{name}").content == response.content


def test_media_parameters_shape_the_file(http: httpx.Client) -> None:
    jpeg = http.get("/_sandbox/media/x.jpg", params={"width": 640, "height": 480, "size": 10_000}).content
    png = http.get("/_sandbox/media/x.png", params={"width": 640, "height": 480}).content
    video = http.get("/_sandbox/media/x.mp4", params={"duration": 42.5}).content

    assert len(jpeg) == 10_000
    sof = jpeg.index(b"\xff\xc0")
    assert struct.unpack(">HH", jpeg[sof + 5:sof + 9]) == (480, 640)
    assert struct.unpack(">II", png[16:24]) == (640, 480)
    mvhd = video.index(b"mvhd")
    timescale, duration = struct.unpack(">II", video[mvhd + 16:mvhd + 24])
    assert duration / timescale == 42.5


def test_large_media_is_streamed_and_head_answers_the_length(http: httpx.Client) -> None:
    size = 60 * 1024 * 1024

    head = http.head("/_sandbox/media/big.mp4", params={"size": size})
    with http.stream("GET", "/_sandbox/media/big.mp4", params={"size": size}) as response:
        received = sum(len(chunk) for chunk in response.iter_bytes())

    assert head.status_code == 200
    assert int(head.headers["content-length"]) == size
    assert head.content == b""
    assert received == size


def test_missing_media_and_bad_parameters(http: httpx.Client) -> None:
    assert http.get("/_sandbox/media-missing/a.jpg").status_code == 404
    assert http.head("/_sandbox/media-missing/a.jpg").status_code == 404
    assert http.get("/_sandbox/media/a.jpg", params={"size": 10**12}).status_code == 400
    assert http.get("/_sandbox/media/a.mp4", params={"duration": "long"}).status_code == 400


# Settings

def test_publishing_settings_have_defaults_validate_and_reset(http: httpx.Client) -> None:
    defaults = http.get("/_sandbox/settings").json()

    changed = settings(http, video_processing_seconds=0.1, tiktok_verified_url_prefixes=["https://cdn.test/"],
                       business_usage_percent_override=96, stall_seconds=2)
    refused = [http.put("/_sandbox/settings", json=change).status_code for change in (
        {"video_processing_seconds": -1}, {"tiktok_daily_post_cap": -1}, {"stall_seconds": 601},
        {"tiktok_verified_url_prefixes": "https://cdn.test/"}, {"business_usage_percent_override": -5})]
    http.post("/_sandbox/reset").raise_for_status()

    assert {k: defaults[k] for k in PUBLISHING_DEFAULTS} == PUBLISHING_DEFAULTS
    assert changed["tiktok_verified_url_prefixes"] == ["https://cdn.test/"]
    assert changed["stall_seconds"] == 2
    assert refused == [422] * 5
    assert http.get("/_sandbox/settings").json() == defaults


# Publishes and breaches

def test_publishes_are_listed_and_counted_per_platform_and_account(http: httpx.Client, sandbox_url: str) -> None:
    settings(http, tiktok_processing_seconds=0)
    user, page = bakery_tokens(http)
    graph_ok(http.post(f"{GRAPH}/{BAKERY}/feed", data={"message": "one", "access_token": page}))
    graph_ok(http.post(f"{GRAPH}/{BAKERY}/feed", data={"message": "two", "access_token": page}))
    container = graph_ok(http.post(f"{GRAPH}/{BAKERY_IG}/media", data={
        "image_url": media(sandbox_url, "a.jpg"), "access_token": user}))
    graph_ok(http.post(f"{GRAPH}/{BAKERY_IG}/media_publish", data={"creation_id": container["id"],
                                                                   "access_token": user}))
    tiktok_data(tiktok_post(http, tiktok_token(http), "video/init/", pull_video(media(sandbox_url, "v.mp4"))))

    everything = publishes(http)
    count = http.get("/_sandbox/publishes/count").json()

    assert [(p["platform"], p["kind"]) for p in everything] == [
        ("facebook", "feed"), ("facebook", "feed"), ("instagram", "image"), ("tiktok", "tiktok_video")]
    assert all(set(p) >= {"platform", "account", "kind", "id", "container_id", "post_id", "object_id", "text",
                          "media_urls", "at", "at_unix"} for p in everything)
    assert all(abs(datetime.fromisoformat(p["at"]).timestamp() - p["at_unix"]) < 1e-3 for p in everything)
    assert all(p["at_unix"] <= time.time() for p in everything)
    assert count == {"total": 4, "by_platform": {"facebook": 2, "instagram": 1, "tiktok": 1}}
    assert len(publishes(http, platform="facebook", account=BAKERY)) == 2
    assert publishes(http, account="-000abc")[0]["platform"] == "tiktok"
    assert http.get("/_sandbox/publishes/count", params={"platform": "instagram"}).json()["total"] == 1
    assert breaches(http) == []


def test_reset_forgets_publishes_breaches_and_faults(http: httpx.Client) -> None:
    _, page = bakery_tokens(http)
    install(http, {"platform": "facebook", "path": "/nothing", "mode": "error_500"})
    graph_ok(http.post(f"{GRAPH}/{BAKERY}/feed", data={"message": "x", "access_token": page}))

    http.post("/_sandbox/reset").raise_for_status()

    assert publishes(http) == []
    assert breaches(http) == []
    assert rules(http) == []


def test_error_injection_and_the_request_log_cover_publishing_calls(http: httpx.Client, sandbox_url: str) -> None:
    _, page = bakery_tokens(http)
    token = tiktok_token(http)
    data = http.get("/_sandbox/media/u.mp4").content
    init = tiktok_data(tiktok_post(http, token, "video/init/", {
        "post_info": {"privacy_level": "SELF_ONLY"},
        "source_info": {"source": "FILE_UPLOAD", "video_size": len(data), "chunk_size": len(data),
                        "total_chunk_count": 1}}))
    settings(http, error_rate=1)

    feed = http.post(f"{GRAPH}/{BAKERY}/feed", data={"message": "never", "access_token": page})
    upload = http.put(init["upload_url"], content=data, headers={
        "Content-Type": "video/mp4", "Content-Range": f"bytes 0-{len(data) - 1}/{len(data)}"})

    graph_fails(feed, 2, status=500)
    tiktok_fails(upload, 500, "internal_error")
    assert publishes(http) == []
    (logged_feed,) = http.get("/_sandbox/requests", params={"path": "/feed"}).json()
    assert logged_feed["body"]["message"] == "never"
    (logged_upload,) = http.get("/_sandbox/requests", params={"path": "/tiktok-upload/"}).json()
    assert (logged_upload["method"], logged_upload["platform"], logged_upload["body"]) == ("PUT", "tiktok", {})


# Faults

def test_error_500_refuses_once_and_does_nothing(http: httpx.Client) -> None:
    _, page = bakery_tokens(http)
    installed = install(http, {"platform": "facebook", "path": "/feed", "method": "POST", "mode": "error_500"})

    failed = http.post(f"{GRAPH}/{BAKERY}/feed", data={"message": "retry me", "access_token": page})
    retried = http.post(f"{GRAPH}/{BAKERY}/feed", data={"message": "retry me", "access_token": page})

    assert installed == [{"platform": "facebook", "path": "/feed", "method": "POST", "mode": "error_500",
                          "times": 1, "probability": 1.0, "fired": 0, "remaining": 1, "events": []}]
    error = graph_fails(failed, 2, status=500)
    assert error["is_transient"] is True
    graph_ok(retried)
    assert len(publishes(http)) == 1
    (rule,) = rules(http)
    assert rule == {**rule, "fired": 1, "remaining": 0}
    (event,) = rule["events"]
    assert event == {**event, "mode": "error_500", "platform": "facebook", "method": "POST",
                     "path": f"{GRAPH}/{BAKERY}/feed", "outcome": "refused"}
    assert datetime.fromisoformat(event["at"]).tzinfo is not None


def test_error_500_on_tiktok_uses_its_envelope(http: httpx.Client, sandbox_url: str) -> None:
    token = tiktok_token(http)
    install(http, {"platform": "tiktok", "path": "/video/init/", "mode": "error_500"})

    tiktok_fails(tiktok_post(http, token, "video/init/", pull_video(media(sandbox_url, "v.mp4"))), 500,
                 "internal_error")

    assert publishes(http) == []


def test_rate_limit_faults_answer_like_the_platforms_and_are_not_breaches(http: httpx.Client,
                                                                          sandbox_url: str) -> None:
    user, page = bakery_tokens(http)
    token = tiktok_token(http)
    install(http, {"platform": "facebook", "path": "/feed", "mode": "rate_limit"},
            {"platform": "instagram", "path": "/media", "mode": "rate_limit"},
            {"platform": "tiktok", "path": "/status/fetch/", "mode": "rate_limit"})

    page_limited = http.post(f"{GRAPH}/{BAKERY}/feed", data={"message": "x", "access_token": page})
    instagram_limited = http.post(f"{GRAPH}/{BAKERY_IG}/media", data={
        "image_url": media(sandbox_url, "a.jpg"), "access_token": user})
    tiktok_limited = tiktok_post(http, token, "status/fetch/", {"publish_id": "x"})

    assert graph_fails(page_limited, 32)["message"] == "(#32) Page request limit reached"
    assert graph_fails(instagram_limited, 4)["is_transient"] is True
    for response, object_id, kind in ((page_limited, BAKERY, "pages"), (instagram_limited, BAKERY_IG, "instagram")):
        (usage,) = usage_header(response, "X-Business-Use-Case-Usage")[object_id]
        assert usage == {**usage, "type": kind, "call_count": 100, "estimated_time_to_regain_access": 1}
    tiktok_fails(tiktok_limited, 429, "rate_limit_exceeded")
    assert publishes(http) == []
    assert breaches(http) == []
    assert [f["platform"] for f in fired(http)] == ["facebook", "instagram", "tiktok"]


def test_accept_then_error_publishes_but_answers_500(http: httpx.Client, sandbox_url: str) -> None:
    user, _ = bakery_tokens(http)
    container = graph_ok(http.post(f"{GRAPH}/{BAKERY_IG}/media", data={
        "image_url": media(sandbox_url, "a.jpg"), "access_token": user}))
    install(http, {"platform": "instagram", "path": "/media_publish", "mode": "accept_then_error"})

    failed = http.post(f"{GRAPH}/{BAKERY_IG}/media_publish", data={"creation_id": container["id"],
                                                                   "access_token": user})
    status = graph_ok(http.get(f"{GRAPH}/{container['id']}", params={"fields": "status_code", "access_token": user}))
    retried = http.post(f"{GRAPH}/{BAKERY_IG}/media_publish", data={"creation_id": container["id"],
                                                                    "access_token": user})

    graph_fails(failed, 2, status=500)
    assert status["status_code"] == "PUBLISHED"
    graph_fails(retried, 100)
    assert len(publishes(http)) == 1
    assert fired(http)[0]["outcome"] == "done_then_error"


def test_accept_then_error_on_a_feed_post_then_a_retry_is_a_visible_double(http: httpx.Client) -> None:
    _, page = bakery_tokens(http)
    install(http, {"platform": "facebook", "path": "/feed", "mode": "accept_then_error"})

    graph_fails(http.post(f"{GRAPH}/{BAKERY}/feed", data={"message": "once", "access_token": page}), 2, status=500)
    graph_fails(http.post(f"{GRAPH}/{BAKERY}/feed", data={"message": "once", "access_token": page}), 506)
    graph_ok(http.post(f"{GRAPH}/{BAKERY}/feed", data={"message": "once!", "access_token": page}))

    assert [p["text"] for p in publishes(http)] == ["once", "once!"]


def test_accept_then_stall_does_the_work_while_the_client_times_out(http: httpx.Client, sandbox_url: str) -> None:
    settings(http, stall_seconds=1, tiktok_processing_seconds=0)
    token = tiktok_token(http)
    install(http, {"platform": "tiktok", "path": "/video/init/", "mode": "accept_then_stall"})

    with pytest.raises(httpx.ReadTimeout):
        tiktok_post_with_timeout(http, token, pull_video(media(sandbox_url, "v.mp4")), timeout=0.3)

    (entry,) = wait_until(lambda: publishes(http), what="the stalled post is published")
    assert entry["kind"] == "tiktok_video"
    wait_until(lambda: fired(http)[0]["outcome"] == "done_client_gone", what="the stall ends")


def test_accept_then_stall_answers_a_patient_client_late(http: httpx.Client) -> None:
    settings(http, stall_seconds=0.3)
    _, page = bakery_tokens(http)
    install(http, {"platform": "facebook", "path": "/feed", "mode": "accept_then_stall"})

    answer = http.post(f"{GRAPH}/{BAKERY}/feed", data={"message": "slow", "access_token": page})

    assert graph_ok(answer)["id"].startswith(f"{BAKERY}_")
    assert fired(http)[0]["outcome"] == "done_then_answered"


def test_timeout_drops_the_request_when_the_client_gives_up(http: httpx.Client, sandbox_url: str) -> None:
    settings(http, stall_seconds=1)
    user, _ = bakery_tokens(http)
    container = graph_ok(http.post(f"{GRAPH}/{BAKERY_IG}/media", data={
        "image_url": media(sandbox_url, "a.jpg"), "access_token": user}))
    install(http, {"platform": "instagram", "path": "/media_publish", "mode": "timeout"})

    with pytest.raises(httpx.ReadTimeout):
        http.post(f"{GRAPH}/{BAKERY_IG}/media_publish", data={"creation_id": container["id"], "access_token": user},
                  timeout=0.3)

    wait_until(lambda: fired(http)[0]["outcome"] == "dropped", what="the stalled request is dropped")
    assert publishes(http) == []
    retried = http.post(f"{GRAPH}/{BAKERY_IG}/media_publish", data={"creation_id": container["id"],
                                                                    "access_token": user})
    graph_ok(retried)
    assert len(publishes(http)) == 1


def test_timeout_answers_normally_after_the_stall_when_the_client_waits(http: httpx.Client) -> None:
    settings(http, stall_seconds=0.3)
    _, page = bakery_tokens(http)
    install(http, {"platform": "facebook", "path": "/feed", "mode": "timeout"})

    answer = http.post(f"{GRAPH}/{BAKERY}/feed", data={"message": "late but fine", "access_token": page})

    graph_ok(answer)
    assert fired(http)[0]["outcome"] == "answered"
    assert len(publishes(http)) == 1


def tiktok_post_with_timeout(http: httpx.Client, token: str, body: dict[str, Any], timeout: float) -> httpx.Response:
    return http.post("/tiktok-api/v2/post/publish/video/init/", headers={"Authorization": f"Bearer {token}"},
                     content=json.dumps(body), timeout=timeout)


def test_rules_match_on_platform_method_path_and_probability(http: httpx.Client) -> None:
    _, page = bakery_tokens(http)
    install(http, {"platform": "instagram", "path": "/feed", "mode": "error_500"},
            {"platform": "facebook", "path": "/feed", "method": "GET", "mode": "error_500"},
            {"platform": "facebook", "path": "/feed", "mode": "error_500", "probability": 0},
            {"platform": "facebook", "path": "/posts", "mode": "error_500", "times": None})

    posted = http.post(f"{GRAPH}/{BAKERY}/feed", data={"message": "untouched", "access_token": page})
    listings = [http.get(f"{GRAPH}/{BAKERY}/posts", params={"access_token": page}).status_code for _ in range(3)]

    graph_ok(posted)
    assert listings == [500, 500, 500]
    installed = rules(http)
    assert [r["fired"] for r in installed] == [0, 0, 0, 3]
    assert installed[3]["remaining"] is None


def test_fault_rules_are_validated_and_can_be_cleared(http: httpx.Client) -> None:
    for rules in ([{"mode": "explode"}], [{"mode": "timeout", "probability": 2}], [{"mode": "timeout", "times": 0}],
                  [{"mode": "timeout", "platform": "myspace"}], {"mode": "timeout"}):
        assert http.put("/_sandbox/faults", json=rules).status_code == 422
    install(http, {"mode": "error_500"})

    cleared = http.delete("/_sandbox/faults")

    assert cleared.json() == []
