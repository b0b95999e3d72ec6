"""Videos Postifys downloads itself to upload them to TikTok (file upload: their URL is not under a verified
prefix), end to end through the publisher process: a huge or endless body, a slow drip, a download that outlasts
the lease, a person's share of concurrent downloads and the publisher's, and what a wait for either costs."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import asyncpg
import pytest

from deploy.system import resident_memory_kib
from tests.e2e.publishing_support import Member, create, media_url, settled
from tests.support import Stack, restart_with, wait_for

GIB = 1024 ** 3
# What the publisher may grow by while a 2 GB body streams through it: far below the 256 MB it refuses at.
MEMORY_GROWTH_KIB = 48 * 1024


def unverified_video(stack: Stack, name: str, **params: Any) -> dict[str, Any]:
    """A video TikTok cannot pull (localhost is not a verified prefix), so the publisher downloads it."""
    url = media_url(stack, name, duration=20, **params).replace("127.0.0.1", "localhost")
    return {"url": url, "type": "video", "duration_sec": 20}


async def post_video(poster: Member, stack: Stack, name: str, **params: Any) -> dict[str, Any]:
    return await create(poster, caption=f"Upload {name}", media=[unverified_video(stack, name, **params)],
                        targets=[{"account_id": poster.accounts["tiktok"],
                                  "settings": {"privacy_level": "SELF_ONLY"}}])


async def target_of(poster: Member, post_id: str) -> dict[str, Any]:
    [target] = (await poster.http.get(f"/api/v1/posts/{post_id}")).json()["targets"]
    return dict(target)


def steps(target: dict[str, Any]) -> list[str]:
    return [event["step"] for event in target["timeline"]]


def waits(target: dict[str, Any]) -> list[str]:
    return [event["message"] for event in target["timeline"] if event["step"] == "waiting"]


def download_span(target: dict[str, Any]) -> tuple[datetime, datetime]:
    started = [datetime.fromisoformat(e["at"]) for e in target["timeline"] if e["step"] == "media_downloading"]
    done = [datetime.fromisoformat(e["at"]) for e in target["timeline"] if e["step"] == "media_fetched"]
    assert len(started) == len(done) == 1, target["timeline"]
    return started[0], done[0]


@pytest.fixture
def one_download_slot(stack: Stack) -> Iterator[None]:
    """The publisher restarted with one download at once and two targets in hand at once, and as it was after."""
    changes = {"POSTIFYS_MEDIA_FETCH_CONCURRENCY": "1", "POSTIFYS_WORKER_CONCURRENCY": "2"}
    before = {name: stack.env.get(name) for name in changes}
    restart_with(stack, "publisher", changes)
    try:
        yield
    finally:
        restart_with(stack, "publisher", before)


async def test_a_video_declared_at_2_gb_is_refused_on_its_content_length(poster: Member, stack: Stack) -> None:
    post = await post_video(poster, stack, "declared.mp4", size=2 * GIB)
    await settled(poster, post["id"])
    target = await target_of(poster, post["id"])
    message = ("The video could not be downloaded to upload it to TikTok: it is 2.0 GB, more than the 256 MB "
               "Postifys downloads.")
    assert (target["status"], target["error_class"], target["error_message"]) == ("failed", "media_unusable", message)
    assert target["timeline"][-1]["message"] == message
    assert "init_sending" not in steps(target)


async def test_an_endless_video_does_not_grow_the_publishers_memory_and_fails_clearly(poster: Member,
                                                                                    stack: Stack) -> None:
    publisher = stack.system.processes["publisher"].pid
    before = resident_memory_kib(publisher)
    highest = before
    post = await post_video(poster, stack, "endless.mp4", size=2 * GIB, chunked=1)

    async def sample() -> None:
        nonlocal highest
        while True:
            highest = max(highest, resident_memory_kib(publisher))
            await asyncio.sleep(0.02)

    sampler = asyncio.create_task(sample())
    try:
        await settled(poster, post["id"], timeout=60)
    finally:
        sampler.cancel()
    target = await target_of(poster, post["id"])
    assert target["status"] == "failed"
    assert target["error_message"] == ("The video could not be downloaded to upload it to TikTok: it is larger "
                                       "than the 256 MB Postifys downloads.")
    assert "media_downloading" in steps(target)
    assert highest - before < MEMORY_GROWTH_KIB, f"the publisher grew from {before} KiB to {highest} KiB"


async def test_a_slow_drip_ends_at_the_download_deadline(poster: Member, stack: Stack) -> None:
    deadline = float(stack.env["POSTIFYS_MEDIA_FETCH_DEADLINE_SECONDS"])
    post = await post_video(poster, stack, "drip.mp4", drip_seconds=3600)
    await settled(poster, post["id"], timeout=deadline + 30)
    target = await target_of(poster, post["id"])
    assert target["status"] == "failed"
    assert target["error_message"] == (f"The video could not be downloaded to upload it to TikTok: it took longer "
                                       f"than {deadline:g} s to download.")
    # The deadline is longer than the lease: the lease was renewed, so no second worker run downloaded it again.
    assert steps(target).count("media_downloading") == 1


async def test_a_download_longer_than_the_lease_is_downloaded_once_and_published(poster: Member,
                                                                                stack: Stack) -> None:
    lease = float(stack.env["POSTIFYS_LEASE_SECONDS"])
    post = await post_video(poster, stack, "slow.mp4", drip_seconds=lease * 1.5)
    await settled(poster, post["id"], timeout=lease * 1.5 + 30)
    target = await target_of(poster, post["id"])
    assert target["status"] == "published", target["timeline"]
    assert steps(target).count("media_downloading") == 1
    assert steps(target).count("init_sending") == 1
    assert "uploaded" in steps(target)


async def test_a_person_has_at_most_two_downloads_at_once_and_the_rest_wait_without_calling_tiktok(
        poster: Member, stack: Stack, db: asyncpg.Connection) -> None:
    """The third video waits for the user's share before anything is called: one creator_info call per target
    (none per retry, so the account's budget of 20 a minute is not spent on waiting), and one timeline entry for
    the wait however many times it is retried."""
    posts = [await post_video(poster, stack, f"share-{i}.mp4", drip_seconds=8) for i in range(3)]
    for post in posts:
        await settled(poster, post["id"], timeout=90)
    targets = [await target_of(poster, post["id"]) for post in posts]
    assert [t["status"] for t in targets] == ["published"] * 3, [t["timeline"] for t in targets]
    message = "waiting for this user's other video downloads to finish (at most 2 at once)"
    assert sorted(waits(t).count(message) for t in targets) == [0, 0, 1], [t["timeline"] for t in targets]
    spans = [download_span(target) for target in targets]
    for start, _ in spans:
        assert sum(1 for s, d in spans if s <= start < d) <= 2
    creator_info = await db.fetchval("SELECT count(*) FROM publisher.platform_calls WHERE account_id = $1 AND "
                                     "endpoint = 'tiktok_creator_info'", uuid.UUID(poster.accounts["tiktok"]))
    assert creator_info == 3


async def test_a_video_waiting_for_the_publishers_download_slot_does_not_hold_up_other_posts(
        one_download_slot: None, poster: Member, stack: Stack) -> None:
    """One download at once in the publisher, two targets in hand at once: a second video finds the slot taken
    and comes back later (one timeline entry for the wait) instead of sitting in a worker's place, so a Page post
    behind it publishes while the first video is still downloading."""
    first = await post_video(poster, stack, "slot-1.mp4", drip_seconds=15)

    async def downloading(post: dict[str, Any]) -> bool:
        return "media_downloading" in steps(await target_of(poster, post["id"]))
    await wait_for(lambda: downloading(first), timeout=30, message="the first video downloading")
    second = await post_video(poster, stack, "slot-2.mp4", drip_seconds=1)
    message = "waiting for a free download slot (this publisher downloads at most 1 video at once)"

    async def second_waits() -> bool:
        return message in waits(await target_of(poster, second["id"]))
    await wait_for(second_waits, timeout=30, message="the second video waiting for the download slot")
    page = await create(poster, caption="Meanwhile, on the Page", media=[],
                        targets=[{"account_id": poster.accounts["page"]}])
    await settled(poster, page["id"], timeout=30)
    assert (await target_of(poster, page["id"]))["status"] == "published"
    assert "media_fetched" not in steps(await target_of(poster, first["id"]))  # still downloading
    for post in (first, second):
        await settled(poster, post["id"], timeout=90)
    targets = [await target_of(poster, post["id"]) for post in (first, second)]
    assert [t["status"] for t in targets] == ["published"] * 2, [t["timeline"] for t in targets]
    assert waits(targets[1]).count(message) == 1, targets[1]["timeline"]
