"""Page publishing on graph.facebook.com: feed posts, scheduling, photos, multi-photo posts through attached_media,
hosted videos and their processing, duplicates, permissions, reconciliation through /posts, and usage headers."""

from __future__ import annotations

import json
import time

import httpx

from tests.sandbox.flows import facebook_long_token, page_tokens, usage_header
from tests.sandbox.posting import (
    BAKERY,
    GRAPH,
    bakery_tokens,
    graph_fails,
    graph_ok,
    media,
    missing_media,
    publishes,
    settings,
    wait_until,
)


def feed(http: httpx.Client, token: str, page: str = BAKERY, **params: object) -> httpx.Response:
    return http.post(f"{GRAPH}/{page}/feed", data={**params, "access_token": token})


def test_a_feed_post_goes_live_and_can_be_read_back(http: httpx.Client) -> None:
    _, page = bakery_tokens(http)

    created = graph_ok(feed(http, page, message="Fresh bread today", link="https://acme.test/bread"))

    post_id = created["id"]
    assert set(created) == {"id"}
    assert post_id.startswith(f"{BAKERY}_")
    read = graph_ok(http.get(f"{GRAPH}/{post_id}", params={
        "fields": "id,message,permalink_url,created_time", "access_token": page}))
    assert read["id"] == post_id
    assert read["message"] == "Fresh bread today"
    assert read["permalink_url"] == f"https://www.facebook.com/{BAKERY}/posts/{post_id.split('_')[1]}"
    assert read["created_time"].endswith("+0000")
    (published,) = publishes(http)
    assert published == {**published, "platform": "facebook", "account": BAKERY, "kind": "feed", "id": post_id,
                         "post_id": post_id, "text": "Fresh bread today", "link": "https://acme.test/bread",
                         "media_urls": []}


def test_json_bodies_and_bearer_tokens_work_too(http: httpx.Client) -> None:
    _, page = bakery_tokens(http)

    response = http.post(f"{GRAPH}/{BAKERY}/feed", json={"message": "json body", "published": True},
                         headers={"Authorization": f"Bearer {page}"})

    assert graph_ok(response)["id"].startswith(f"{BAKERY}_")


def test_scheduled_posts_need_ten_minutes_to_thirty_days_and_published_false(http: httpx.Client) -> None:
    _, page = bakery_tokens(http)
    now = int(time.time())

    scheduled = graph_ok(feed(http, page, message="later", published="false", scheduled_publish_time=now + 3600))
    too_soon = feed(http, page, message="soon", published="false", scheduled_publish_time=now + 60)
    too_late = feed(http, page, message="late", published="false", scheduled_publish_time=now + 31 * 86400)
    published = feed(http, page, message="both", scheduled_publish_time=now + 3600)

    assert scheduled["id"].startswith(f"{BAKERY}_")
    assert "scheduled publish time" in graph_fails(too_soon, 100)["message"]
    graph_fails(too_late, 100)
    graph_fails(published, 100)
    posts = graph_ok(http.get(f"{GRAPH}/{BAKERY}/posts", params={"access_token": page}))
    assert posts["data"] == []
    assert publishes(http) == []


def test_a_post_needs_a_message_link_or_media(http: httpx.Client) -> None:
    _, page = bakery_tokens(http)

    assert "Missing message or attachment" in graph_fails(feed(http, page), 100)["message"]


def test_a_published_photo_answers_its_post_and_an_unpublished_one_does_not(http: httpx.Client,
                                                                           sandbox_url: str) -> None:
    _, page = bakery_tokens(http)
    url = media(sandbox_url, "cake.jpg")

    live = graph_ok(http.post(f"{GRAPH}/{BAKERY}/photos", data={"url": url, "caption": "Cake", "access_token": page}))
    hidden = graph_ok(http.post(f"{GRAPH}/{BAKERY}/photos", data={
        "url": url, "published": "false", "access_token": page}))

    assert set(live) == {"id", "post_id"}
    assert live["post_id"].startswith(f"{BAKERY}_")
    assert set(hidden) == {"id"}
    photo = graph_ok(http.get(f"{GRAPH}/{live['id']}", params={"fields": "id,permalink_url,name",
                                                                 "access_token": page}))
    assert photo["permalink_url"] == f"https://www.facebook.com/photo.php?fbid={live['id']}"
    assert photo["name"] == "Cake"
    (published,) = publishes(http)
    assert (published["kind"], published["id"], published["object_id"]) == ("photo", live["post_id"], live["id"])
    assert published["media_urls"] == [url]
    assert published["text"] == "Cake"


def test_a_photo_url_the_platform_cannot_fetch_is_refused(http: httpx.Client, sandbox_url: str) -> None:
    _, page = bakery_tokens(http)

    for url in (missing_media(sandbox_url, "gone.jpg"), media(sandbox_url, "notes.txt"), "ftp://nowhere/a.jpg"):
        response = http.post(f"{GRAPH}/{BAKERY}/photos", data={"url": url, "access_token": page})
        graph_fails(response, 324)
    assert publishes(http) == []


def test_a_multi_photo_post_attaches_unpublished_photos(http: httpx.Client, sandbox_url: str) -> None:
    _, page = bakery_tokens(http)
    urls = [media(sandbox_url, f"p{i}.jpg") for i in range(3)]
    photo_ids = [graph_ok(http.post(f"{GRAPH}/{BAKERY}/photos", data={
        "url": url, "published": "false", "access_token": page}))["id"] for url in urls]

    as_json = graph_ok(feed(http, page, message="Two photos",
                            attached_media=json.dumps([{"media_fbid": i} for i in photo_ids[:2]])))
    indexed = graph_ok(feed(http, page, message="Indexed", **{
        "attached_media[0]": json.dumps({"media_fbid": photo_ids[2]})}))

    first, second = publishes(http)
    assert (first["kind"], first["id"], first["media_urls"]) == ("photos", as_json["id"], urls[:2])
    assert (second["kind"], second["id"], second["media_urls"]) == ("photos", indexed["id"], urls[2:])


def test_only_unpublished_photos_of_the_same_page_can_be_attached(http: httpx.Client, sandbox_url: str) -> None:
    user = facebook_long_token(http)
    tokens = page_tokens(http, user)
    published = graph_ok(http.post(f"{GRAPH}/{BAKERY}/photos", data={
        "url": media(sandbox_url, "a.jpg"), "access_token": tokens[BAKERY]}))

    response = feed(http, tokens[BAKERY], message="x", attached_media=json.dumps([{"media_fbid": published["id"]}]))
    unknown = feed(http, tokens[BAKERY], message="y", attached_media=json.dumps([{"media_fbid": "404"}]))

    assert "attached_media[0]" in graph_fails(response, 100)["message"]
    graph_fails(unknown, 100)


def test_a_video_processes_then_its_post_goes_live(http: httpx.Client, sandbox_url: str) -> None:
    settings(http, video_processing_seconds=0.3)
    _, page = bakery_tokens(http)
    url = media(sandbox_url, "clip.mp4", duration=20)

    created = graph_ok(http.post(f"{GRAPH}/{BAKERY}/videos", data={
        "file_url": url, "description": "Watch us bake", "title": "Baking", "access_token": page}))

    def video_status() -> str:
        read = graph_ok(http.get(f"{GRAPH}/{created['id']}", params={"fields": "status", "access_token": page}))
        return str(read["status"]["video_status"])

    assert set(created) == {"id"}
    assert video_status() == "processing"
    assert publishes(http) == []
    wait_until(lambda: video_status() == "ready", what="the video is ready")
    video = graph_ok(http.get(f"{GRAPH}/{created['id']}", params={
        "fields": "permalink_url,post_id,published", "access_token": page}))
    assert video["permalink_url"] == f"https://www.facebook.com/{BAKERY}/videos/{created['id']}/"
    assert video["published"] is True
    (published,) = publishes(http)
    assert published == {**published, "kind": "video", "id": video["post_id"], "object_id": created["id"],
                         "text": "Watch us bake", "media_urls": [url]}
    posts = graph_ok(http.get(f"{GRAPH}/{BAKERY}/posts", params={"fields": "id,message", "access_token": page}))
    assert posts["data"] == [{"id": video["post_id"], "message": "Watch us bake"}]


def test_a_video_whose_url_fails_ends_in_error_and_publishes_nothing(http: httpx.Client, sandbox_url: str) -> None:
    settings(http, video_processing_seconds=0)
    _, page = bakery_tokens(http)

    missing = graph_ok(http.post(f"{GRAPH}/{BAKERY}/videos", data={
        "file_url": missing_media(sandbox_url, "gone.mp4"), "access_token": page}))
    not_video = graph_ok(http.post(f"{GRAPH}/{BAKERY}/videos", data={
        "file_url": media(sandbox_url, "still.jpg"), "access_token": page}))

    for created, code in ((missing, 6000), (not_video, 352)):
        status = graph_ok(http.get(f"{GRAPH}/{created['id']}", params={"fields": "status", "access_token": page}))
        assert status["status"]["video_status"] == "error"
        phases = [status["status"]["uploading_phase"], status["status"]["processing_phase"]]
        assert [e["code"] for phase in phases for e in phase.get("errors", [])] == [code]
    assert publishes(http) == []


def test_the_same_message_twice_within_a_minute_is_a_duplicate(http: httpx.Client) -> None:
    _, page = bakery_tokens(http)
    graph_ok(feed(http, page, message="Open on Sunday"))

    again = feed(http, page, message="Open on Sunday")
    other = feed(http, page, message="Open on Monday")

    error = graph_fails(again, 506)
    assert error["message"] == "(#506) Duplicate status message"
    assert error["is_transient"] is False
    graph_ok(other)
    assert len(publishes(http)) == 2


def test_publishing_needs_that_pages_token_create_content_and_the_permissions(http: httpx.Client) -> None:
    user, page = bakery_tokens(http)
    fans_page = page_tokens(http, user)["1030"]
    weak_user = facebook_long_token(http, scope="pages_show_list,pages_read_engagement")
    weak_page = page_tokens(http, weak_user)[BAKERY]

    with_user_token = feed(http, user, message="as user")
    other_page = feed(http, page, page="1030", message="wrong page")
    no_task = feed(http, fans_page, page="1030", message="analyst only")
    no_permission = feed(http, weak_page, message="read only")
    not_a_page = feed(http, page, page="178414", message="not a page")

    for response in (with_user_token, other_page, no_task, no_permission):
        graph_fails(response, 200, status=403)
    assert "CREATE_CONTENT" in no_task.json()["error"]["message"]
    graph_fails(not_a_page, 100, 33)
    assert publishes(http) == []


def test_posts_lists_live_posts_newest_first_since_a_time(http: httpx.Client) -> None:
    _, page = bakery_tokens(http)
    first = graph_ok(feed(http, page, message="one"))["id"]
    since = int(time.time()) - 5
    second = graph_ok(feed(http, page, message="two"))["id"]

    listed = graph_ok(http.get(f"{GRAPH}/{BAKERY}/posts", params={
        "fields": "id,message,created_time,permalink_url", "since": since, "access_token": page}))
    paged = graph_ok(http.get(f"{GRAPH}/{BAKERY}/posts", params={"limit": 1, "access_token": page}))
    future = graph_ok(http.get(f"{GRAPH}/{BAKERY}/posts", params={"since": int(time.time()) + 60,
                                                                    "access_token": page}))

    assert [p["id"] for p in listed["data"]] == [second, first]
    assert all(set(p) == {"id", "message", "created_time", "permalink_url"} for p in listed["data"])
    assert [p["id"] for p in paged["data"]] == [second]
    assert "after=" in paged["paging"]["next"]
    assert future["data"] == []


def test_business_usage_can_be_forced_for_a_test(http: httpx.Client) -> None:
    _, page = bakery_tokens(http)
    settings(http, business_usage_percent_override=85)

    near = feed(http, page, message="near the limit")
    settings(http, business_usage_percent_override=96)
    nearer = http.get(f"{GRAPH}/{BAKERY}/posts", params={"access_token": page})
    settings(http, business_usage_percent_override=None)
    normal = http.get(f"{GRAPH}/{BAKERY}/posts", params={"access_token": page})

    assert usage_header(near, "X-Business-Use-Case-Usage")[BAKERY][0]["call_count"] == 85
    assert usage_header(nearer, "X-Business-Use-Case-Usage")[BAKERY][0]["call_count"] == 96
    assert usage_header(normal, "X-Business-Use-Case-Usage")[BAKERY][0]["call_count"] < 85
    assert "X-App-Usage" in near.headers
