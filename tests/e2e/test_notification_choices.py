"""The mails identity sends about posts and accounts follow each person's choices: a failure mail only while
they want it, one "published" mail per post (not per account) once they ask for it, a reconnect mail only while
they want it. That a mail was not sent is read once identity has taken the event from the bus (its inbox
holds it), and again after a later mail that was sent."""

from __future__ import annotations

from typing import Any

import asyncpg

from tests.e2e.publishing_support import Member, create, image, settled
from tests.support import Stack, connect, internal, items, sandbox, wait_for

FAILED = "A post could not be published"
PUBLISHED = "Your post has been published"
RECONNECT = "Reconnect your TikTok account"


async def address(poster: Member) -> str:
    return str((await poster.http.get("/api/v1/me")).json()["email"])


async def choose(poster: Member, **choices: bool) -> None:
    answer = await poster.http.patch("/api/v1/me/notifications", json=choices)
    assert answer.status_code == 200, answer.text


def mails(stack: Stack, to: str, subject: str) -> list[Any]:
    return [m for m in stack.mailbox.for_address(to) if subject in m.subject]


async def taken_in(db: asyncpg.Connection, event_type: str) -> int:
    return int(await db.fetchval("SELECT count(*) FROM identity.inbox WHERE type = $1", event_type))


async def handled(db: asyncpg.Connection, event_type: str, count: int) -> None:
    async def enough() -> bool:
        return await taken_in(db, event_type) >= count
    await wait_for(enough, message=f"identity to take {count} {event_type} events")


async def broken_post(poster: Member, stack: Stack) -> dict[str, Any]:
    """Instagram cannot fetch the image the sandbox no longer has: the target fails for good."""
    broken = {"url": f"{stack.env['POSTIFYS_SANDBOX_URL']}/_sandbox/media-missing/gone.jpg", "type": "image"}
    post = await create(poster, caption="Broken image", media=[broken],
                        targets=[{"account_id": poster.accounts["ig_login"]}])
    [target] = (await settled(poster, post["id"]))["targets"]
    assert target["status"] == "failed"
    return post


async def test_failure_mails_stop_when_turned_off_and_come_back_when_turned_on(poster: Member, stack: Stack,
                                                                               db: asyncpg.Connection) -> None:
    to = await address(poster)
    await choose(poster, target_failed=False)
    before = await taken_in(db, "post.target.failed")
    await broken_post(poster, stack)
    await handled(db, "post.target.failed", before + 1)
    assert mails(stack, to, FAILED) == []

    await choose(poster, target_failed=True)
    second = await broken_post(poster, stack)
    mail = await stack.mail(to, FAILED)
    await handled(db, "post.target.failed", before + 2)
    assert len(mails(stack, to, FAILED)) == 1
    assert f"/posts/{second['id']}" in mail.text


async def test_a_published_post_is_mailed_once_only_to_those_who_asked(poster: Member, stack: Stack,
                                                                       db: asyncpg.Connection) -> None:
    to = await address(poster)
    before = await taken_in(db, "post.completed")
    quiet = await create(poster, caption="Nobody is told", media=[], targets=[{"account_id": poster.accounts["page"]}])
    assert (await settled(poster, quiet["id"]))["targets"][0]["status"] == "published"
    await handled(db, "post.completed", before + 1)
    assert mails(stack, to, PUBLISHED) == []

    await choose(poster, post_published=True)
    told = await create(poster, caption="Two places at once", media=[image(stack)],
                        targets=[{"account_id": poster.accounts["page"]}, {"account_id": poster.accounts["ig_page"]}])
    done = await settled(poster, told["id"])
    assert [t["status"] for t in done["targets"]] == ["published", "published"]
    mail = await stack.mail(to, PUBLISHED)
    await handled(db, "post.completed", before + 2)
    assert len(mails(stack, to, PUBLISHED)) == 1
    assert "published to 2 accounts" in mail.text
    assert f"/posts/{told['id']}" in mail.text


async def revoke_tiktok(poster: Member, stack: Stack) -> None:
    """TikTok stops taking the creator's token and the connector hears of it from the publisher."""
    tokens = [t for t in items(await sandbox(stack, "GET", "/_sandbox/tokens")) if t["kind"] == "tiktok_access"]
    await sandbox(stack, "POST", "/_sandbox/tokens/revoke", json={"token": tokens[-1]["token"]})
    checked = await internal(stack, "connector", f"/internal/accounts/{poster.accounts['tiktok']}/token-rejected",
                             {"user_id": poster.user_id})
    assert checked.json()["status"] == "reauth_required"


async def test_reconnect_mails_follow_the_choice(poster: Member, stack: Stack, db: asyncpg.Connection) -> None:
    to = await address(poster)
    await sandbox(stack, "PUT", "/_sandbox/settings", json={"webhooks_enabled": False})  # the connector finds out
    await choose(poster, reauth_required=False)
    before = await taken_in(db, "account.reauth_required")
    await revoke_tiktok(poster, stack)
    await handled(db, "account.reauth_required", before + 1)
    assert mails(stack, to, RECONNECT) == []

    await choose(poster, reauth_required=True)
    await connect(poster.http, stack, "tiktok")
    await revoke_tiktok(poster, stack)
    await stack.mail(to, RECONNECT)
    await handled(db, "account.reauth_required", before + 2)
    assert len(mails(stack, to, RECONNECT)) == 1
