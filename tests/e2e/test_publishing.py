"""Publishing end to end: gateway, publisher, connector and the platform sandbox, each its own process."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.e2e.publishing_support import (
    Member,
    create,
    image,
    media_url,
    publishes,
    settled,
    video,
)
from tests.support import Stack, sandbox


def published(post: dict) -> dict:
    [target] = post["targets"]
    assert target["status"] == "published", target
    assert target["remote_id"]
    return target


async def test_facebook_page_text_photo_photos_and_video(poster: Member, stack: Stack) -> None:
    page = [{"account_id": poster.accounts["page"]}]
    posts = [
        await create(poster, caption="Fresh bread at 7", media=[], targets=[
            {"account_id": poster.accounts["page"], "settings": {"link": "https://example.com/bread"}}]),
        await create(poster, caption="One photo", media=[image(stack)], targets=page),
        await create(poster, caption="Three photos", media=[image(stack, f"p{i}.jpg") for i in range(3)],
                     targets=page),
        await create(poster, caption="A video", media=[video(stack)], targets=page),
    ]
    for post in posts:
        target = published(await settled(poster, post["id"]))
        assert target["permalink"]
    live = await publishes(stack, platform="facebook")
    assert sorted(p["kind"] for p in live) == sorted(["feed", "photo", "photos", "video"])
    detail = (await poster.http.get(f"/api/v1/posts/{posts[2]['id']}")).json()
    steps = [e["step"] for e in detail["targets"][0]["timeline"]]
    assert steps.count("photo_uploaded") == 3
    assert "feed_sending" in steps
    assert steps[-1] == "published"


@pytest.mark.parametrize("account", ["ig_page", "ig_login"])
async def test_instagram_image_reel_story_and_carousel(poster: Member, stack: Stack, account: str) -> None:
    target = [{"account_id": poster.accounts[account]}]
    posts = [
        await create(poster, caption="An image #bread", media=[image(stack)], targets=target),
        await create(poster, caption="A reel", media=[video(stack)], targets=[
            {"account_id": poster.accounts[account], "settings": {"share_to_feed": True}}]),
        await create(poster, caption="", media=[image(stack, "story.jpg")], targets=[
            {"account_id": poster.accounts[account], "settings": {"media_type": "STORIES"}}]),
        await create(poster, caption="A carousel", media=[image(stack, f"c{i}.jpg") for i in range(3)],
                     targets=target),
    ]
    for post in posts:
        assert published(await settled(poster, post["id"]))["permalink"]
    live = await publishes(stack, platform="instagram")
    assert sorted(p["kind"] for p in live) == ["carousel", "image", "reel", "story"]


async def test_tiktok_direct_video_pulled_and_uploaded_inbox_video_and_photos(poster: Member, stack: Stack) -> None:
    tiktok = poster.accounts["tiktok"]
    unverified = media_url(stack, "upload.mp4", duration=20).replace("127.0.0.1", "localhost")
    posts = [
        await create(poster, caption="Pulled", media=[video(stack)], targets=[
            {"account_id": tiktok, "settings": {"privacy_level": "SELF_ONLY"}}]),
        await create(poster, caption="Uploaded", media=[{"url": unverified, "type": "video", "duration_sec": 20}],
                     targets=[{"account_id": tiktok, "settings": {"privacy_level": "PUBLIC_TO_EVERYONE",
                                                                 "allow_comment": True}}]),
        await create(poster, caption="To the inbox", media=[video(stack)], targets=[
            {"account_id": tiktok, "settings": {"privacy_level": "SELF_ONLY", "post_mode": "inbox"}}]),
        await create(poster, caption="Photos", media=[image(stack, f"t{i}.jpg") for i in range(2)], targets=[
            {"account_id": tiktok, "settings": {"privacy_level": "MUTUAL_FOLLOW_FRIENDS"}}]),
    ]
    for post in posts:
        published(await settled(poster, post["id"]))
    live = await publishes(stack, platform="tiktok")
    assert sorted(p["kind"] for p in live) == ["tiktok_inbox", "tiktok_photo", "tiktok_video", "tiktok_video"]
    requests = [r for r in await sandbox_requests(stack, "tiktok") if r["path"].endswith("/publish/video/init/")]
    sources = sorted(r["body"]["source_info"]["source"] for r in requests)
    assert sources == ["FILE_UPLOAD", "PULL_FROM_URL"]


async def sandbox_requests(stack: Stack, platform: str) -> list[dict]:
    from tests.support import items
    return items(await sandbox(stack, "GET", "/_sandbox/requests", params={"platform": platform}))


async def test_a_scheduled_post_waits_for_its_time_in_its_time_zone(poster: Member, stack: Stack) -> None:
    zone = ZoneInfo("Europe/Berlin")
    due = datetime.now(UTC) + timedelta(seconds=4)
    local = due.astimezone(zone).replace(tzinfo=None)
    post = await create(poster, caption="Later", media=[], targets=[{"account_id": poster.accounts["page"]}],
                        scheduled_at=local.isoformat(), timezone="Europe/Berlin")
    assert post["targets"][0]["status"] == "scheduled"
    assert datetime.fromisoformat(post["targets"][0]["due_at"]) == due.replace(microsecond=due.microsecond)
    assert await publishes(stack, platform="facebook") == []
    done = await settled(poster, post["id"])
    assert published(done)
    [live] = await publishes(stack, platform="facebook")
    assert datetime.fromisoformat(live["at"]) >= due - timedelta(milliseconds=50)


@pytest.mark.parametrize(("local", "expected"), [
    ("2027-03-14T03:30:00", "2027-03-14T07:30:00+00:00"),  # just after New York springs forward (EDT, -4)
    ("2027-03-13T03:30:00", "2027-03-13T08:30:00+00:00"),  # the day before (EST, -5)
    ("2027-11-07T01:30:00", "2027-11-07T05:30:00+00:00"),  # twice that night; the first one
])
async def test_due_times_across_daylight_saving_changes(poster: Member, local: str, expected: str) -> None:
    post = await create(poster, caption="DST", media=[], targets=[{"account_id": poster.accounts["page"]}],
                        scheduled_at=local, timezone="America/New_York")
    assert datetime.fromisoformat(post["targets"][0]["due_at"]) == datetime.fromisoformat(expected)


async def test_a_time_skipped_by_daylight_saving_is_refused(poster: Member) -> None:
    refused = await create(poster, caption="DST", media=[], targets=[{"account_id": poster.accounts["page"]}],
                           scheduled_at="2027-03-14T02:30:00", timezone="America/New_York", expect=422)
    assert refused["error"]["details"][0]["rule"] == "scheduled_at_invalid"


async def test_invalid_posts_name_the_target_and_the_rule(poster: Member, stack: Stack,
                                                         new_client) -> None:
    from tests.support import sign_in, sign_up

    cases = [
        ({"caption": "#a " * 31, "media": [image(stack)], "targets": [{"account_id": poster.accounts["ig_page"]}]},
         "instagram_hashtags"),
        ({"caption": "png", "media": [image(stack, "p.png")], "targets": [{"account_id": poster.accounts["ig_login"]}]},
         "instagram_jpeg_only"),
        ({"caption": "11", "media": [image(stack, f"{i}.jpg") for i in range(11)],
          "targets": [{"account_id": poster.accounts["ig_page"]}]}, "instagram_carousel_size"),
        ({"caption": "no privacy", "media": [video(stack)], "targets": [{"account_id": poster.accounts["tiktok"]}]},
         "tiktok_privacy_required"),
        ({"caption": "not offered", "media": [video(stack)], "targets": [
            {"account_id": poster.accounts["tiktok"], "settings": {"privacy_level": "FOLLOWER_OF_CREATOR"}}]},
         "tiktok_privacy_not_offered"),
        ({"caption": "too long", "media": [video(stack, duration=400)], "targets": [
            {"account_id": poster.accounts["tiktok"], "settings": {"privacy_level": "SELF_ONLY"}}]},
         "tiktok_duration"),
        ({"caption": "stitch", "media": [video(stack)], "targets": [
            {"account_id": poster.accounts["tiktok"],
             "settings": {"privacy_level": "SELF_ONLY", "allow_stitch": True}}]},
         "tiktok_allow_stitch"),
        ({"caption": "read-only page", "media": [], "targets": [{"account_id": poster.accounts["page_readonly"]}]},
         "account_unpublishable"),
    ]
    for body, rule in cases:
        response = await poster.http.post("/api/v1/posts", json=body)
        assert response.status_code == 422, (rule, response.text)
        details = response.json()["error"]["details"]
        assert [d["rule"] for d in details] == [rule], details
        assert details[0]["target"] == 0
        assert details[0]["account_id"] == body["targets"][0]["account_id"]

    async with new_client() as other:
        await sign_in(other, await sign_up(other, stack))
        foreign = await other.post("/api/v1/posts", json={"caption": "x", "targets": [
            {"account_id": poster.accounts["page"]}]})
        assert foreign.status_code == 422
        assert foreign.json()["error"]["details"][0]["rule"] == "account_not_found"

    assert (await poster.http.delete(f"/api/v1/accounts/{poster.accounts['page']}")).status_code == 204
    gone = await poster.http.post("/api/v1/posts", json={"caption": "x", "targets": [
        {"account_id": poster.accounts["page"]}]})
    assert gone.json()["error"]["details"][0]["rule"] == "account_unpublishable"
    assert await publishes(stack) == []


async def test_an_idempotency_key_returns_the_first_answer(poster: Member, stack: Stack) -> None:
    body = {"caption": "Once", "targets": [{"account_id": poster.accounts["page"]}],
            "scheduled_at": (datetime.now(UTC) + timedelta(hours=1)).isoformat()}
    first = await poster.http.post("/api/v1/posts", json=body, headers={"Idempotency-Key": "k-123"})
    again = await poster.http.post("/api/v1/posts", json=body, headers={"Idempotency-Key": "k-123"})
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"]
    assert again.headers["idempotent-replayed"] == "true"
    other = await poster.http.post("/api/v1/posts", json={**body, "caption": "Twice"},
                                   headers={"Idempotency-Key": "k-123"})
    assert other.status_code == 409
    listed = (await poster.http.get("/api/v1/posts")).json()["items"]
    assert [p["id"] for p in listed] == [first.json()["id"]]


async def test_change_and_cancel_before_publishing_but_not_after(poster: Member, stack: Stack) -> None:
    later = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    post = await create(poster, caption="Draft one", media=[], targets=[{"account_id": poster.accounts["page"]}],
                        scheduled_at=later)
    changed = await poster.http.patch(f"/api/v1/posts/{post['id']}", json={"caption": "Edited"})
    assert changed.status_code == 200
    assert changed.json()["caption"] == "Edited"
    cancelled = await poster.http.post(f"/api/v1/posts/{post['id']}/cancel")
    assert cancelled.json()["targets"][0]["status"] == "cancelled"

    now = await create(poster, caption="Right away", media=[], targets=[{"account_id": poster.accounts["page"]}])
    await settled(poster, now["id"])
    assert (await poster.http.patch(f"/api/v1/posts/{now['id']}", json={"caption": "x"})).status_code == 409
    assert (await poster.http.post(f"/api/v1/posts/{now['id']}/cancel")).status_code == 409
    assert len(await publishes(stack)) == 1


async def test_a_failed_target_can_be_retried(poster: Member, stack: Stack) -> None:
    broken = {"url": f"{stack.env['POSTIFYS_SANDBOX_URL']}/_sandbox/media-missing/gone.jpg", "type": "image"}
    post = await create(poster, caption="Broken image", media=[broken],
                        targets=[{"account_id": poster.accounts["ig_login"]}])
    done = await settled(poster, post["id"])
    [target] = done["targets"]
    assert target["status"] == "failed"
    assert target["error_message"]
    assert (await poster.http.patch(f"/api/v1/posts/{post['id']}",
                                    json={"media": [image(stack)]})).status_code == 409
    retried = await poster.http.post(f"/api/v1/posts/{post['id']}/targets/{target['id']}/retry")
    assert retried.status_code == 200
    again = await settled(poster, post["id"])
    assert again["targets"][0]["status"] == "failed"  # the same broken media fails the same way, visibly
    listing = (await poster.http.get("/api/v1/posts", params={"status": "failed"})).json()["items"]
    assert [p["id"] for p in listing] == [post["id"]]


async def test_a_rejected_token_fails_the_target_and_holds_the_accounts_other_posts(poster: Member,
                                                                                   stack: Stack) -> None:
    from tests.support import connect, items

    await sandbox(stack, "PUT", "/_sandbox/settings", json={"webhooks_enabled": False})  # found by the token
    tiktok = poster.accounts["tiktok"]
    soon, later = (datetime.now(UTC) + timedelta(seconds=s) for s in (3, 5))
    first, second = [await create(poster, caption=name, media=[video(stack)], scheduled_at=when.isoformat(),
                                  targets=[{"account_id": tiktok, "settings": {"privacy_level": "SELF_ONLY"}}])
                     for name, when in (("first", soon), ("second", later))]
    tokens = [t for t in items(await sandbox(stack, "GET", "/_sandbox/tokens")) if t["kind"] == "tiktok_access"]
    await sandbox(stack, "POST", "/_sandbox/tokens/revoke", json={"token": tokens[-1]["token"]})

    done = await settled(poster, first["id"])
    assert done["targets"][0]["status"] == "failed"
    assert done["targets"][0]["error_class"] == "reconnect_required"
    accounts = (await poster.http.get("/api/v1/accounts")).json()["items"]
    assert next(a for a in accounts if a["id"] == tiktok)["status"] == "reauth_required"

    async def held_past_its_time() -> bool:
        post = (await poster.http.get(f"/api/v1/posts/{second['id']}")).json()
        return datetime.now(UTC) > later + timedelta(seconds=2) and post["targets"][0]["status"] == "scheduled"
    from tests.support import wait_for
    await wait_for(held_past_its_time, message="the second post to wait for the reconnect instead of failing")

    await connect(poster.http, stack, "tiktok")
    assert published(await settled(poster, second["id"]))
    retried = await poster.http.post(f"/api/v1/posts/{first['id']}/targets/{done['targets'][0]['id']}/retry")
    assert retried.status_code == 200
    assert published(await settled(poster, first["id"]))
    assert len(await publishes(stack, platform="tiktok")) == 2


async def test_limits_are_respected_before_they_are_hit(poster: Member, stack: Stack) -> None:
    from tests.support import items, wait_for

    await sandbox(stack, "PUT", "/_sandbox/settings", json={"instagram_quota_total": 1})
    first = await create(poster, caption="within quota", media=[image(stack)],
                         targets=[{"account_id": poster.accounts["ig_login"]}])
    assert published(await settled(poster, first["id"]))
    second = await create(poster, caption="over quota", media=[image(stack)],
                          targets=[{"account_id": poster.accounts["ig_login"]}])

    async def waiting_for_quota() -> bool:
        post = (await poster.http.get(f"/api/v1/posts/{second['id']}")).json()
        return any("quota" in (e["message"] or "") for e in post["targets"][0]["timeline"])
    await wait_for(waiting_for_quota, message="the second post to wait for the Instagram quota")

    await sandbox(stack, "PUT", "/_sandbox/settings", json={"business_usage_percent_override": 96})
    page = await create(poster, caption="usage at 96%", media=[],
                        targets=[{"account_id": poster.accounts["page"]}])
    assert published(await settled(poster, page["id"]))
    held = await create(poster, caption="held until Graph says so", media=[],
                        targets=[{"account_id": poster.accounts["page"]}])

    created = datetime.now(UTC)

    async def still_waiting_after_3s() -> bool:
        post = (await poster.http.get(f"/api/v1/posts/{held['id']}")).json()
        assert post["targets"][0]["status"] in ("scheduled", "queued"), post
        return datetime.now(UTC) - created > timedelta(seconds=3)
    await wait_for(still_waiting_after_3s, message="three seconds of the Page being held")
    assert len(await publishes(stack, platform="facebook")) == 1
    assert len(await publishes(stack, platform="instagram")) == 1
    assert items(await sandbox(stack, "GET", "/_sandbox/breaches")) == []
