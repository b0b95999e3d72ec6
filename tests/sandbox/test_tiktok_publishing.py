"""TikTok Content Posting: FILE_UPLOAD with its chunk rules, PULL_FROM_URL and verified prefixes, inbox uploads,
photos, the status progression, the per-token rate limits, the daily cap, unaudited mode and privacy rules."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.sandbox.flows import bearer
from tests.sandbox.posting import (
    breaches,
    media,
    missing_media,
    publishes,
    pull_video,
    settings,
    tiktok_data,
    tiktok_fails,
    tiktok_post,
    tiktok_status,
    tiktok_token,
    wait_until,
)

MB = 1024 * 1024


def file_upload(size: int, chunk: int, count: int, privacy: str = "PUBLIC_TO_EVERYONE") -> dict[str, Any]:
    return {"post_info": {"privacy_level": privacy, "title": "uploaded #fyp", "disable_duet": False,
                          "disable_comment": False, "disable_stitch": True, "video_cover_timestamp_ms": 1000,
                          "brand_content_toggle": False, "brand_organic_toggle": False, "is_aigc": False},
            "source_info": {"source": "FILE_UPLOAD", "video_size": size, "chunk_size": chunk,
                            "total_chunk_count": count}}


def put_chunk(http: httpx.Client, upload_url: str, data: bytes, first: int, total: int,
              content_type: str = "video/mp4") -> httpx.Response:
    return http.put(upload_url, content=data, headers={
        "Content-Type": content_type, "Content-Range": f"bytes {first}-{first + len(data) - 1}/{total}"})


def video_bytes(http: httpx.Client, size: int, **params: Any) -> bytes:
    response = http.get("/_sandbox/media/upload.mp4", params={"size": size, **params})
    assert response.status_code == 200
    return response.content


def wait_for_status(http: httpx.Client, token: str, publish_id: str, status: str) -> dict[str, Any]:
    """Polls the status endpoint gently: it allows 30 calls a minute per token."""
    def reached() -> dict[str, Any] | None:
        current = tiktok_status(http, token, publish_id)
        return current if current["status"] == status else None

    return wait_until(reached, what=f"status {status}", interval=0.1)


def test_a_small_file_is_uploaded_in_one_chunk_and_published(http: httpx.Client, sandbox_url: str) -> None:
    settings(http, tiktok_processing_seconds=0.3)
    token = tiktok_token(http)
    data = video_bytes(http, 200_000)

    init = tiktok_data(tiktok_post(http, token, "video/init/", file_upload(len(data), len(data), 1)))
    before = tiktok_status(http, token, init["publish_id"])
    uploaded = put_chunk(http, init["upload_url"], data, 0, len(data))

    assert init["publish_id"].startswith("v_pub_file~v2")
    assert init["upload_url"].startswith(f"{sandbox_url}/tiktok-upload/video/?upload_id=")
    assert before == {"status": "PROCESSING_UPLOAD", "uploaded_bytes": 0}
    assert uploaded.status_code == 201
    assert uploaded.headers["content-range"] == f"bytes 0-{len(data) - 1}/{len(data)}"
    assert publishes(http) == []
    done = wait_for_status(http, token, init["publish_id"], "PUBLISH_COMPLETE")
    assert done["uploaded_bytes"] == len(data)
    (post_id,) = done["publicaly_available_post_id"]
    (entry,) = publishes(http)
    assert entry == {**entry, "platform": "tiktok", "account": "-000abc", "kind": "tiktok_video",
                     "id": init["publish_id"], "post_id": str(post_id), "text": "uploaded #fyp"}


def test_chunks_answer_206_until_the_last_which_answers_201(http: httpx.Client) -> None:
    settings(http, tiktok_processing_seconds=0.2)
    token = tiktok_token(http)
    size = 12 * MB + 123
    data = video_bytes(http, size)

    init = tiktok_data(tiktok_post(http, token, "video/init/", file_upload(size, 5 * MB, 2)))
    out_of_order = put_chunk(http, init["upload_url"], data[5 * MB:], 5 * MB, size)
    first = put_chunk(http, init["upload_url"], data[:5 * MB], 0, size)
    wrong_total = put_chunk(http, init["upload_url"], data[5 * MB:], 5 * MB, size + 1)
    mid_status = tiktok_status(http, token, init["publish_id"])
    last = put_chunk(http, init["upload_url"], data[5 * MB:], 5 * MB, size)
    again = put_chunk(http, init["upload_url"], data[5 * MB:], 5 * MB, size)

    tiktok_fails(out_of_order, 416, "range_not_satisfiable")
    assert first.status_code == 206
    assert first.headers["content-range"] == f"bytes 0-{5 * MB - 1}/{size}"
    tiktok_fails(wrong_total, 416, "range_not_satisfiable")
    assert mid_status == {"status": "PROCESSING_UPLOAD", "uploaded_bytes": 5 * MB}
    assert last.status_code == 201
    assert again.status_code == 201
    wait_for_status(http, token, init["publish_id"], "PUBLISH_COMPLETE")
    assert len(publishes(http)) == 1


@pytest.mark.parametrize(("size", "chunk", "count"), [
    (50_000_123, 10_000_000, 4),   # count must be floor(size / chunk) = 5
    (50_000_123, 4 * MB, 11),      # chunks under 5 MB
    (200 * MB, 100 * MB, 2),       # chunks over 64 MB
    (4 * MB, 1 * MB, 4),           # under 5 MB must be one chunk
    (0, 0, 1),
])
def test_file_upload_plans_are_checked(http: httpx.Client, size: int, chunk: int, count: int) -> None:
    token = tiktok_token(http)

    tiktok_fails(tiktok_post(http, token, "video/init/", file_upload(size, chunk, count)), 400, "invalid_param")


def test_the_documented_plan_is_accepted(http: httpx.Client) -> None:
    token = tiktok_token(http)

    init = tiktok_data(tiktok_post(http, token, "video/init/", file_upload(50_000_123, 10_000_000, 5)))

    assert set(init) == {"publish_id", "upload_url"}


def test_upload_errors(http: httpx.Client) -> None:
    token = tiktok_token(http)
    data = video_bytes(http, 10_000)
    init = tiktok_data(tiktok_post(http, token, "video/init/", file_upload(len(data), len(data), 1)))
    unknown = init["upload_url"].replace("upload_token=", "upload_token=x")

    tiktok_fails(put_chunk(http, unknown, data, 0, len(data)), 404, "upload_not_found")
    tiktok_fails(put_chunk(http, init["upload_url"], data, 0, len(data), content_type="image/jpeg"), 400,
                 "invalid_file_upload")
    tiktok_fails(http.put(init["upload_url"], content=data, headers={"Content-Type": "video/mp4"}), 400,
                 "invalid_file_upload")
    settings(http, tiktok_upload_url_seconds=0)
    expired_init = tiktok_data(tiktok_post(http, token, "video/init/", file_upload(len(data), len(data), 1)))
    tiktok_fails(put_chunk(http, expired_init["upload_url"], data, 0, len(data)), 403, "upload_url_expired")


@pytest.mark.parametrize(("data_params", "reason"), [
    ({"duration": 400}, "duration_check_failed"),
])
def test_uploaded_video_longer_than_the_creator_allows_fails(http: httpx.Client, data_params: dict[str, Any],
                                                             reason: str) -> None:
    settings(http, tiktok_processing_seconds=0)
    token = tiktok_token(http)
    data = video_bytes(http, 10_000, **data_params)

    init = tiktok_data(tiktok_post(http, token, "video/init/", file_upload(len(data), len(data), 1)))
    put_chunk(http, init["upload_url"], data, 0, len(data))

    assert tiktok_status(http, token, init["publish_id"]) == {
        "status": "FAILED", "fail_reason": reason, "publicaly_available_post_id": [], "uploaded_bytes": len(data)}
    assert publishes(http) == []


def test_uploaded_bytes_that_are_no_video_fail_the_format_check(http: httpx.Client) -> None:
    settings(http, tiktok_processing_seconds=0)
    token = tiktok_token(http)
    data = http.get("/_sandbox/media/not-a-video.jpg").content

    init = tiktok_data(tiktok_post(http, token, "video/init/", file_upload(len(data), len(data), 1)))
    put_chunk(http, init["upload_url"], data, 0, len(data))

    assert tiktok_status(http, token, init["publish_id"])["fail_reason"] == "file_format_check_failed"


def test_pull_from_a_verified_url_downloads_then_publishes(http: httpx.Client, sandbox_url: str) -> None:
    settings(http, tiktok_processing_seconds=0.3)
    token = tiktok_token(http)
    url = media(sandbox_url, "pull.mp4", duration=30)

    init = tiktok_data(tiktok_post(http, token, "video/init/", pull_video(url, "PUBLIC_TO_EVERYONE")))

    assert set(init) == {"publish_id"}
    assert init["publish_id"].startswith("v_pub_url~v2")
    assert tiktok_status(http, token, init["publish_id"]) == {"status": "PROCESSING_DOWNLOAD", "downloaded_bytes": 0}
    done = wait_for_status(http, token, init["publish_id"], "PUBLISH_COMPLETE")
    assert len(done["publicaly_available_post_id"]) == 1
    assert done["downloaded_bytes"] > 0
    assert publishes(http)[0]["media_urls"] == [url]


def test_a_private_post_has_no_public_post_id(http: httpx.Client, sandbox_url: str) -> None:
    settings(http, tiktok_processing_seconds=0)
    token = tiktok_token(http)

    init = tiktok_data(tiktok_post(http, token, "video/init/", pull_video(media(sandbox_url, "p.mp4"))))

    assert tiktok_status(http, token, init["publish_id"])["publicaly_available_post_id"] == []
    assert publishes(http)[0]["post_id"]


def test_pull_from_an_unverified_url_is_refused(http: httpx.Client) -> None:
    token = tiktok_token(http)

    response = tiktok_post(http, token, "video/init/", pull_video("https://cdn.example.test/v.mp4"))

    tiktok_fails(response, 403, "url_ownership_unverified")


def test_verified_prefixes_follow_the_setting(http: httpx.Client, sandbox_url: str) -> None:
    token = tiktok_token(http)
    settings(http, tiktok_verified_url_prefixes=[f"{sandbox_url}/_sandbox/media/ok-"])

    refused = tiktok_post(http, token, "video/init/", pull_video(media(sandbox_url, "v.mp4")))
    accepted = tiktok_post(http, token, "video/init/", pull_video(media(sandbox_url, "ok-v.mp4")))

    tiktok_fails(refused, 403, "url_ownership_unverified")
    tiktok_data(accepted)


@pytest.mark.parametrize(("name", "reason"), [
    ("missing", "video_pull_failed"),
    ("notes.txt", "file_format_check_failed"),
    ("long.mp4?duration=301", "duration_check_failed"),
])
def test_pull_failures(http: httpx.Client, sandbox_url: str, name: str, reason: str) -> None:
    settings(http, tiktok_processing_seconds=0)
    token = tiktok_token(http)
    url = missing_media(sandbox_url, "gone.mp4") if name == "missing" else f"{sandbox_url}/_sandbox/media/{name}"

    init = tiktok_data(tiktok_post(http, token, "video/init/", pull_video(url)))

    status = tiktok_status(http, token, init["publish_id"])
    assert (status["status"], status["fail_reason"]) == ("FAILED", reason)
    assert publishes(http) == []


def test_the_creators_own_maximum_duration_applies(http: httpx.Client, sandbox_url: str) -> None:
    settings(http, tiktok_processing_seconds=0)
    token = tiktok_token(http, user_id="-000def")

    init = tiktok_data(tiktok_post(http, token, "video/init/",
                                   pull_video(media(sandbox_url, "v.mp4", duration=200))))

    assert tiktok_status(http, token, init["publish_id"])["fail_reason"] == "duration_check_failed"


def test_inbox_uploads_end_in_the_creators_inbox(http: httpx.Client, sandbox_url: str) -> None:
    settings(http, tiktok_processing_seconds=0.2)
    token = tiktok_token(http)
    url = media(sandbox_url, "draft.mp4")
    publish_only = tiktok_token(http, granted=["user.info.basic", "video.publish"])

    init = tiktok_data(tiktok_post(http, token, "inbox/video/init/", {
        "source_info": {"source": "PULL_FROM_URL", "video_url": url}}))
    file_init = tiktok_data(tiktok_post(http, token, "inbox/video/init/", {
        "source_info": {"source": "FILE_UPLOAD", "video_size": 1000, "chunk_size": 1000, "total_chunk_count": 1}}))

    assert init["publish_id"].startswith("v_inbox_url~v2")
    assert file_init["upload_url"]
    done = wait_for_status(http, token, init["publish_id"], "SEND_TO_USER_INBOX")
    assert "publicaly_available_post_id" not in done
    (entry,) = publishes(http)
    assert (entry["kind"], entry["id"]) == ("tiktok_inbox", init["publish_id"])
    tiktok_fails(tiktok_post(http, publish_only, "inbox/video/init/", {
        "source_info": {"source": "PULL_FROM_URL", "video_url": url}}), 401, "scope_not_authorized")


def photo_body(urls: list[str], post_mode: str = "DIRECT_POST", **post_info: Any) -> dict[str, Any]:
    return {"media_type": "PHOTO", "post_mode": post_mode,
            "post_info": {"title": "Photos", "description": "Three photos", "privacy_level": "PUBLIC_TO_EVERYONE",
                          "disable_comment": False, "auto_add_music": True, **post_info},
            "source_info": {"source": "PULL_FROM_URL", "photo_images": urls, "photo_cover_index": 0}}


def test_photos_are_posted_directly_or_sent_to_the_inbox(http: httpx.Client, sandbox_url: str) -> None:
    settings(http, tiktok_processing_seconds=0.1)
    token = tiktok_token(http)
    urls = [media(sandbox_url, f"{i}.jpg") for i in range(3)]

    direct = tiktok_data(tiktok_post(http, token, "content/init/", photo_body(urls)))
    inbox = tiktok_data(tiktok_post(http, token, "content/init/", photo_body(urls[:1], "MEDIA_UPLOAD")))

    assert direct["publish_id"].startswith("p_pub_url~v2")
    wait_for_status(http, token, direct["publish_id"], "PUBLISH_COMPLETE")
    wait_for_status(http, token, inbox["publish_id"], "SEND_TO_USER_INBOX")
    assert [(p["kind"], p["media_urls"]) for p in publishes(http)] == [("tiktok_photo", urls),
                                                                      ("tiktok_inbox", urls[:1])]


def test_photo_rules(http: httpx.Client, sandbox_url: str) -> None:
    settings(http, tiktok_processing_seconds=0)
    token = tiktok_token(http)
    url = media(sandbox_url, "a.jpg")

    for body in (photo_body([url] * 36), photo_body([url], title="t" * 91), photo_body([url], description="d" * 4001),
                 {**photo_body([url]), "media_type": "VIDEO"}, {**photo_body([url]), "post_mode": "LATER"}):
        tiktok_fails(tiktok_post(http, token, "content/init/", body), 400, "invalid_param")
    fresh = tiktok_token(http)  # the five refusals above used up most of the six inits a minute
    png = tiktok_data(tiktok_post(http, fresh, "content/init/", photo_body([media(sandbox_url, "a.png")])))
    missing = tiktok_data(tiktok_post(http, fresh, "content/init/", photo_body([missing_media(sandbox_url, "x.jpg")])))
    assert tiktok_status(http, fresh, png["publish_id"])["fail_reason"] == "file_format_check_failed"
    assert tiktok_status(http, fresh, missing["publish_id"])["fail_reason"] == "photo_pull_failed"
    tiktok_data(tiktok_post(http, fresh, "content/init/", photo_body([media(sandbox_url, "a.webp")] * 35)))


def test_status_of_unknown_or_foreign_publish_ids(http: httpx.Client, sandbox_url: str) -> None:
    tia = tiktok_token(http)
    pia = tiktok_token(http, user_id="-000def")
    init = tiktok_data(tiktok_post(http, tia, "video/init/", pull_video(media(sandbox_url, "v.mp4"))))

    tiktok_fails(tiktok_post(http, tia, "status/fetch/", {"publish_id": "v_pub_url~v2-1.404"}), 400,
                 "invalid_publish_id")
    tiktok_fails(tiktok_post(http, pia, "status/fetch/", {"publish_id": init["publish_id"]}), 400,
                 "token_not_authorized_for_specified_publish_id")


def test_init_allows_six_calls_a_minute_per_token_and_records_the_breach(http: httpx.Client,
                                                                          sandbox_url: str) -> None:
    token = tiktok_token(http)
    body = pull_video(media(sandbox_url, "v.mp4"))

    statuses = [tiktok_post(http, token, "video/init/", body).status_code for _ in range(6)]
    limited = tiktok_post(http, token, "video/init/", body)

    assert statuses == [200] * 6
    tiktok_fails(limited, 429, "rate_limit_exceeded")
    (breach,) = breaches(http)
    assert breach == {**breach, "platform": "tiktok", "limit": "video_init_per_minute", "subject": "-000abc"}
    assert len(publishes(http)) <= 6


def test_status_allows_thirty_calls_a_minute_per_token(http: httpx.Client, sandbox_url: str) -> None:
    token = tiktok_token(http)
    init = tiktok_data(tiktok_post(http, token, "video/init/", pull_video(media(sandbox_url, "v.mp4"))))

    statuses = [tiktok_post(http, token, "status/fetch/", {"publish_id": init["publish_id"]}).status_code
                for _ in range(30)]
    limited = tiktok_post(http, token, "status/fetch/", {"publish_id": init["publish_id"]})

    assert statuses == [200] * 30
    tiktok_fails(limited, 429, "rate_limit_exceeded")
    assert [b["limit"] for b in breaches(http)] == ["status_fetch_per_minute"]


def test_creator_info_breaches_are_recorded(http: httpx.Client) -> None:
    token = tiktok_token(http)

    for _ in range(21):
        http.post("/tiktok-api/v2/post/publish/creator_info/query/", headers=bearer(token))

    assert [b["limit"] for b in breaches(http)] == ["creator_info_per_minute"]


def test_the_daily_post_cap(http: httpx.Client, sandbox_url: str) -> None:
    settings(http, tiktok_daily_post_cap=2)
    token = tiktok_token(http)
    body = pull_video(media(sandbox_url, "v.mp4"))
    for _ in range(2):
        tiktok_data(tiktok_post(http, token, "video/init/", body))

    capped = tiktok_post(http, token, "video/init/", body)
    info = http.post("/tiktok-api/v2/post/publish/creator_info/query/", headers=bearer(token))
    other_creator = tiktok_post(http, tiktok_token(http, user_id="-000def"), "video/init/", body)

    body_capped = tiktok_fails(capped, 403, "spam_risk_too_many_posts")
    assert body_capped["error"]["message"] == "The daily post cap from the API is reached."
    assert info.status_code == 200
    assert info.json()["error"]["code"] == "spam_risk_too_many_posts"
    tiktok_data(other_creator)
    assert [(b["limit"], b["subject"]) for b in breaches(http)] == [("daily_post_cap", "-000abc")]


def test_unaudited_clients_post_only_self_only_to_private_accounts(http: httpx.Client, sandbox_url: str) -> None:
    settings(http, tiktok_unaudited=True)
    tia = tiktok_token(http)
    pia = tiktok_token(http, user_id="-000def")
    url = media(sandbox_url, "v.mp4")
    code = "unaudited_client_can_only_post_to_private_accounts"

    tiktok_fails(tiktok_post(http, tia, "video/init/", pull_video(url, "PUBLIC_TO_EVERYONE")), 403, code)
    tiktok_fails(tiktok_post(http, tia, "video/init/", pull_video(url, "SELF_ONLY")), 403, code)
    tiktok_fails(tiktok_post(http, pia, "video/init/", pull_video(url, "FOLLOWER_OF_CREATOR")), 403, code)
    tiktok_fails(tiktok_post(http, tia, "content/init/", photo_body([media(sandbox_url, "a.jpg")])), 403, code)
    tiktok_data(tiktok_post(http, pia, "video/init/", pull_video(url, "SELF_ONLY")))


def test_the_privacy_level_must_be_one_the_creator_offers(http: httpx.Client, sandbox_url: str) -> None:
    token = tiktok_token(http)
    url = media(sandbox_url, "v.mp4")

    tiktok_fails(tiktok_post(http, token, "video/init/", pull_video(url, "FOLLOWER_OF_CREATOR")), 403,
                 "privacy_level_option_mismatch")
    tiktok_fails(tiktok_post(http, token, "video/init/", {
        "post_info": {"title": "x"}, "source_info": {"source": "PULL_FROM_URL", "video_url": url}}), 400,
        "invalid_param")


def test_branded_content_cannot_be_self_only(http: httpx.Client, sandbox_url: str) -> None:
    token = tiktok_token(http)
    url = media(sandbox_url, "v.mp4")

    refused = tiktok_post(http, token, "video/init/", pull_video(url, "SELF_ONLY", brand_content_toggle=True))
    accepted = tiktok_post(http, token, "video/init/", pull_video(url, "PUBLIC_TO_EVERYONE",
                                                                  brand_content_toggle=True))

    tiktok_fails(refused, 400, "invalid_param")
    tiktok_data(accepted)


def test_direct_post_needs_video_publish(http: httpx.Client, sandbox_url: str) -> None:
    token = tiktok_token(http, granted=["user.info.basic", "video.upload"])

    tiktok_fails(tiktok_post(http, token, "video/init/", pull_video(media(sandbox_url, "v.mp4"))), 401,
                 "scope_not_authorized")
    tiktok_fails(tiktok_post(http, "act.nope", "video/init/", {}), 401, "access_token_invalid")
