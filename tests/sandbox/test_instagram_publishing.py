"""Instagram content publishing on both Graph hosts: containers and their lifecycle, media_publish and its errors,
the publishing quota, media reads for reconciliation, and the media rules."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.sandbox.flows import facebook_long_token, instagram_long_token
from tests.sandbox.posting import (
    BAKERY_IG,
    GRAPH,
    IG_GRAPH,
    bakery_tokens,
    breaches,
    graph_fails,
    graph_ok,
    media,
    missing_media,
    publishes,
    settings,
    wait_until,
)


def create(http: httpx.Client, token: str, account: str = BAKERY_IG, host: str = GRAPH,
           **params: Any) -> httpx.Response:
    return http.post(f"{host}/{account}/media", data={**params, "access_token": token})


def publish(http: httpx.Client, token: str, creation_id: str, account: str = BAKERY_IG,
            host: str = GRAPH) -> httpx.Response:
    return http.post(f"{host}/{account}/media_publish", params={"creation_id": creation_id, "access_token": token})


def container(http: httpx.Client, token: str, container_id: str, host: str = GRAPH) -> dict[str, Any]:
    return graph_ok(http.get(f"{host}/{container_id}", params={"fields": "status_code,status,id",
                                                               "access_token": token}))


def status_code(http: httpx.Client, token: str, container_id: str, host: str = GRAPH) -> str:
    return str(container(http, token, container_id, host)["status_code"])


def finished(http: httpx.Client, token: str, container_id: str, host: str = GRAPH) -> None:
    wait_until(lambda: status_code(http, token, container_id, host) == "FINISHED", what="the container finishes")


def test_an_image_is_published_and_can_be_read_back(http: httpx.Client, sandbox_url: str) -> None:
    user, _ = bakery_tokens(http)
    url = media(sandbox_url, "bread.jpg")

    created = graph_ok(create(http, user, image_url=url, caption="Bread #bakery"))
    before = container(http, user, created["id"])
    published = graph_ok(publish(http, user, created["id"]))
    after = container(http, user, created["id"])

    assert set(created) == {"id"}
    assert created["id"].isdigit()
    assert before == {"status_code": "FINISHED", "status": before["status"], "id": created["id"]}
    assert after["status_code"] == "PUBLISHED"
    assert set(published) == {"id"}
    read = graph_ok(http.get(f"{GRAPH}/{published['id']}", params={
        "fields": "id,permalink,media_type,caption,timestamp", "access_token": user}))
    assert read["permalink"].startswith("https://www.instagram.com/p/")
    assert (read["media_type"], read["caption"]) == ("IMAGE", "Bread #bakery")
    (entry,) = publishes(http)
    assert entry == {**entry, "platform": "instagram", "account": BAKERY_IG, "kind": "image", "id": published["id"],
                     "container_id": created["id"], "text": "Bread #bakery", "media_urls": [url]}
    limit = graph_ok(http.get(f"{GRAPH}/{BAKERY_IG}/content_publishing_limit", params={"access_token": user}))
    assert limit == {"data": [{"quota_usage": 1}]}


def test_a_reel_is_in_progress_first_and_publishing_too_early_is_9007(http: httpx.Client, sandbox_url: str) -> None:
    settings(http, instagram_processing_seconds=0.4)
    user, page = bakery_tokens(http)

    created = graph_ok(create(http, page, media_type="REELS", video_url=media(sandbox_url, "reel.mp4", duration=30),
                              caption="Reel", share_to_feed="true", thumb_offset="0"))
    early = publish(http, page, created["id"])

    assert status_code(http, page, created["id"]) in ("IN_PROGRESS", "FINISHED")
    error = graph_fails(early, 9007, 2207027)
    assert error == {**error, "message": "Media ID is not available", "is_transient": False,
                     "error_user_title": "Media not ready for publishing",
                     "error_user_msg": "The media is not ready for publishing, please wait for a moment"}
    finished(http, page, created["id"])
    published = graph_ok(publish(http, page, created["id"]))
    read = graph_ok(http.get(f"{GRAPH}/{published['id']}", params={
        "fields": "permalink,media_type,media_product_type", "access_token": user}))
    assert read["permalink"].startswith("https://www.instagram.com/reel/")
    assert (read["media_type"], read["media_product_type"]) == ("VIDEO", "REELS")
    assert [p["kind"] for p in publishes(http)] == ["reel"]


def test_a_story_is_published_without_caption_and_stays_out_of_the_media_list(http: httpx.Client,
                                                                             sandbox_url: str) -> None:
    user, _ = bakery_tokens(http)

    created = graph_ok(create(http, user, media_type="STORIES", image_url=media(sandbox_url, "s.jpg"),
                              caption="ignored"))
    published = graph_ok(publish(http, user, created["id"]))

    (entry,) = publishes(http)
    assert (entry["kind"], entry["id"], entry["text"]) == ("story", published["id"], None)
    listed = graph_ok(http.get(f"{GRAPH}/{BAKERY_IG}/media", params={"access_token": user}))
    assert listed["data"] == []
    live = graph_ok(http.get(f"{GRAPH}/{BAKERY_IG}/stories", params={"fields": "id,media_product_type,permalink",
                                                                     "access_token": user}))
    assert [(s["id"], s["media_product_type"]) for s in live["data"]] == [(published["id"], "STORY")]
    assert live["data"][0]["permalink"] == f"https://www.instagram.com/stories/acmebakery/{published['id']}/"


def test_a_carousel_publishes_once_and_counts_once_against_the_quota(http: httpx.Client, sandbox_url: str) -> None:
    settings(http, instagram_processing_seconds=0.2)
    user, _ = bakery_tokens(http)
    image = graph_ok(create(http, user, image_url=media(sandbox_url, "c1.jpg"), is_carousel_item="true"))
    video = graph_ok(create(http, user, media_type="VIDEO", video_url=media(sandbox_url, "c2.mp4", duration=10),
                            is_carousel_item="true"))

    parent = graph_ok(create(http, user, media_type="CAROUSEL", children=f"{image['id']},{video['id']}",
                             caption="Two things"))
    finished(http, user, parent["id"])
    published = graph_ok(publish(http, user, parent["id"]))

    (entry,) = publishes(http)
    assert (entry["kind"], entry["id"], entry["container_id"]) == ("carousel", published["id"], parent["id"])
    assert entry["media_urls"] == [media(sandbox_url, "c1.jpg"), media(sandbox_url, "c2.mp4", duration=10)]
    assert status_code(http, user, image["id"]) == "PUBLISHED"
    limit = graph_ok(http.get(f"{GRAPH}/{BAKERY_IG}/content_publishing_limit", params={
        "fields": "quota_usage", "access_token": user}))
    assert limit["data"][0]["quota_usage"] == 1
    read = graph_ok(http.get(f"{GRAPH}/{published['id']}", params={"fields": "media_type", "access_token": user}))
    assert read["media_type"] == "CAROUSEL_ALBUM"
    graph_fails(publish(http, user, image["id"]), 100)


@pytest.mark.parametrize("count", [1, 11])
def test_a_carousel_needs_two_to_ten_children(http: httpx.Client, sandbox_url: str, count: int) -> None:
    user, _ = bakery_tokens(http)
    children = [graph_ok(create(http, user, image_url=media(sandbox_url, f"{i}.jpg"), is_carousel_item="true"))["id"]
                for i in range(count)]

    response = create(http, user, media_type="CAROUSEL", children=",".join(children))

    graph_fails(response, 100, 2207028)


def test_a_carousel_child_must_be_a_carousel_item_of_the_account(http: httpx.Client, sandbox_url: str) -> None:
    user, _ = bakery_tokens(http)
    single = graph_ok(create(http, user, image_url=media(sandbox_url, "a.jpg")))
    item = graph_ok(create(http, user, image_url=media(sandbox_url, "b.jpg"), is_carousel_item="true"))

    response = create(http, user, media_type="CAROUSEL", children=f"{single['id']},{item['id']}")

    graph_fails(response, 24, 2207006)


def test_a_png_image_is_refused_at_container_creation(http: httpx.Client, sandbox_url: str) -> None:
    user, _ = bakery_tokens(http)

    error = graph_fails(create(http, user, image_url=media(sandbox_url, "logo.png")), 36001, 2207005)

    assert error["is_transient"] is False


def test_other_image_problems_are_refused_at_once(http: httpx.Client, sandbox_url: str) -> None:
    user, _ = bakery_tokens(http)

    too_large = create(http, user, image_url=media(sandbox_url, "big.jpg", size=9 * 1024 * 1024))
    too_wide = create(http, user, image_url=media(sandbox_url, "wide.jpg", width=2000, height=500))

    graph_fails(too_large, 36000, 2207004)
    graph_fails(too_wide, 36003, 2207009)


@pytest.mark.parametrize(("params", "subcode", "code"), [
    ({"image_url": "missing"}, 2207052, 9004),
    ({"media_type": "REELS", "video_url": "missing"}, 2207052, 9004),
    ({"media_type": "REELS", "video_url": "notes.txt"}, 2207026, 352),
    ({"media_type": "REELS", "video_url": "long.mp4?duration=1000"}, 2207026, 352),
    ({"media_type": "STORIES", "video_url": "long.mp4?duration=90"}, 2207026, 352),
])
def test_media_the_platform_cannot_use_leaves_the_container_in_error(
        http: httpx.Client, sandbox_url: str, params: dict[str, str], subcode: int, code: int) -> None:
    settings(http, instagram_processing_seconds=0.1)
    user, _ = bakery_tokens(http)
    resolved = {k: (missing_media(sandbox_url, "gone.mp4") if v == "missing" else f"{sandbox_url}/_sandbox/media/{v}"
                    if k.endswith("_url") else v) for k, v in params.items()}

    created = graph_ok(create(http, user, **resolved))

    wait_until(lambda: status_code(http, user, created["id"]) == "ERROR", what="the container fails")
    assert str(subcode) in container(http, user, created["id"])["status"]
    graph_fails(publish(http, user, created["id"]), code, subcode)
    assert publishes(http) == []


def test_a_container_expires_when_not_published_in_time(http: httpx.Client, sandbox_url: str) -> None:
    settings(http, instagram_container_ttl_seconds=0.3)
    user, _ = bakery_tokens(http)
    created = graph_ok(create(http, user, image_url=media(sandbox_url, "late.jpg")))

    wait_until(lambda: status_code(http, user, created["id"]) == "EXPIRED", what="the container expires")

    graph_fails(publish(http, user, created["id"]), -2, 2207020)
    assert publishes(http) == []


def test_publishing_the_same_container_twice_is_refused(http: httpx.Client, sandbox_url: str) -> None:
    user, _ = bakery_tokens(http)
    created = graph_ok(create(http, user, image_url=media(sandbox_url, "once.jpg")))
    graph_ok(publish(http, user, created["id"]))

    error = graph_fails(publish(http, user, created["id"]), 100)

    assert error["error_user_title"] == "Media already published"
    assert len(publishes(http)) == 1


def test_an_unknown_creation_id_is_not_found(http: httpx.Client) -> None:
    user, _ = bakery_tokens(http)

    graph_fails(publish(http, user, "17889455569999999"), 24, 2207006)
    graph_fails(http.post(f"{GRAPH}/{BAKERY_IG}/media_publish", data={"access_token": user}), 100)


def test_the_quota_runs_out_and_the_refusal_is_a_breach(http: httpx.Client, sandbox_url: str) -> None:
    settings(http, instagram_quota_total=2)
    user, _ = bakery_tokens(http)
    ids = [graph_ok(create(http, user, image_url=media(sandbox_url, f"{i}.jpg")))["id"] for i in range(3)]

    results = [publish(http, user, i) for i in ids]

    assert [r.status_code for r in results] == [200, 200, 400]
    graph_fails(results[2], 9, 2207042)
    assert status_code(http, user, ids[2]) == "FINISHED"
    limit = graph_ok(http.get(f"{GRAPH}/{BAKERY_IG}/content_publishing_limit", params={
        "fields": "quota_usage,config", "access_token": user}))
    assert limit["data"][0] == {"quota_usage": 2, "config": {"quota_total": 2, "quota_duration": 86400}}
    (breach,) = breaches(http)
    assert breach == {**breach, "platform": "instagram", "limit": "content_publishing_limit", "subject": BAKERY_IG}
    assert breach["path"].endswith("/media_publish")


def test_caption_rules(http: httpx.Client, sandbox_url: str) -> None:
    user, _ = bakery_tokens(http)
    url = media(sandbox_url, "c.jpg")

    graph_fails(create(http, user, image_url=url, caption="x" * 2201), 36004, 2207010)
    graph_fails(create(http, user, image_url=url, caption=" ".join(f"#t{i}" for i in range(31))), 100, 2207040)
    graph_fails(create(http, user, image_url=url, caption=" ".join(f"@u{i}" for i in range(21))), 100, 2207040)
    graph_ok(create(http, user, image_url=url, caption=" ".join(f"#t{i}" for i in range(30))))


def test_media_type_rules(http: httpx.Client, sandbox_url: str) -> None:
    user, _ = bakery_tokens(http)
    video = media(sandbox_url, "v.mp4")

    graph_fails(create(http, user, media_type="VIDEO", video_url=video), 100, 2207023)
    graph_fails(create(http, user, media_type="GIF", image_url=video), 100, 2207023)
    graph_fails(create(http, user, caption="no media"), 100)


def test_the_media_list_is_newest_first(http: httpx.Client, sandbox_url: str) -> None:
    user, _ = bakery_tokens(http)
    first, second = (graph_ok(publish(http, user, graph_ok(create(
        http, user, image_url=media(sandbox_url, f"{n}.jpg"), caption=n))["id"]))["id"] for n in ("one", "two"))

    listed = graph_ok(http.get(f"{GRAPH}/{BAKERY_IG}/media", params={
        "fields": "id,caption,timestamp,permalink", "access_token": user}))

    assert [(m["id"], m["caption"]) for m in listed["data"]] == [(second, "two"), (first, "one")]
    assert all(m["permalink"].startswith("https://www.instagram.com/p/") for m in listed["data"])


def test_publishing_needs_instagram_content_publish(http: httpx.Client, sandbox_url: str) -> None:
    dana = facebook_long_token(http, user_id="5552")
    alice = facebook_long_token(http)

    refused = create(http, dana, account="178415", image_url=media(sandbox_url, "d.jpg"))
    foreign = create(http, alice, account="178415", image_url=media(sandbox_url, "d.jpg"))

    graph_fails(refused, 10, status=403)
    graph_fails(foreign, 100, 33)


def test_instagram_login_accounts_publish_on_graph_instagram(http: httpx.Client, sandbox_url: str) -> None:
    token = instagram_long_token(http)
    url = media(sandbox_url, "studio.jpg")

    created = graph_ok(create(http, token, account="me", host=IG_GRAPH, image_url=url, caption="Studio"))
    assert status_code(http, token, created["id"], IG_GRAPH) == "FINISHED"
    published = graph_ok(publish(http, token, created["id"], account="1020", host=IG_GRAPH))

    read = graph_ok(http.get(f"{IG_GRAPH}/{published['id']}", params={"fields": "permalink", "access_token": token}))
    listed = graph_ok(http.get(f"{IG_GRAPH}/me/media", params={"fields": "id,caption", "access_token": token}))
    me = graph_ok(http.get(f"{IG_GRAPH}/me", params={"fields": "media_count", "access_token": token}))
    assert read["permalink"].startswith("https://www.instagram.com/p/")
    assert listed["data"] == [{"id": published["id"], "caption": "Studio"}]
    assert me["media_count"] == 1
    (entry,) = publishes(http, platform="instagram", account="1020")
    assert entry["container_id"] == created["id"]
    other = facebook_long_token(http)
    graph_fails(http.get(f"{GRAPH}/{published['id']}", params={"access_token": other}), 100)


def test_instagram_login_tokens_need_the_publish_scope(http: httpx.Client, sandbox_url: str) -> None:
    token = instagram_long_token(http, scope="instagram_business_basic")

    graph_fails(create(http, token, account="me", host=IG_GRAPH, image_url=media(sandbox_url, "x.jpg")), 10,
                status=403)
