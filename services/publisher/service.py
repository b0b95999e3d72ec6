"""Posts: compose, validate against each platform's rules, schedule, change, cancel, retry, read."""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.publisher import rules
from services.publisher.connector_client import AccountUnusable, ConnectorClient
from services.publisher.media_client import Grant, MediaClient, MediaMissing
from services.publisher.settings import PublisherSettings
from services.publisher.tables import IdempotencyKey, Post, Target, TargetEvent
from services.publisher.worker import complete_post_if_done
from shared.contracts.connector import AccountDetail
from shared.errors import Conflict, NotFound, TooManyRequests, Unprocessable
from shared.events import PostScheduled
from shared.runtime import ServiceRuntime
from shared.validation import valid_zone

NOT_STARTED = frozenset({rules.DRAFT, rules.SCHEDULED})


@dataclass(frozen=True)
class TargetDraft:
    account_id: uuid.UUID
    settings: dict[str, Any]
    caption: str | None = None  # None: the post's


@dataclass(frozen=True)
class Draft:
    caption: str
    media: list[rules.Media]
    targets: list[TargetDraft]
    scheduled_at: datetime | None
    timezone: str | None
    draft: bool


@dataclass(frozen=True)
class CheckedTarget:
    account_id: uuid.UUID
    settings: dict[str, Any]
    account: AccountDetail
    caption: str | None


@dataclass(frozen=True)
class Listing:
    """One page of a person's posts, newest first: by creation or (`by_due`) by due time, soonest first when
    `ascending`. `before` is the (time, id) of the last post seen, in the same order."""

    limit: int
    status: str | None = None
    account_id: uuid.UUID | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    due_from: datetime | None = None
    due_to: datetime | None = None
    by_due: bool = False
    ascending: bool = False
    before: tuple[datetime, uuid.UUID] | None = None

    def query(self, user_id: uuid.UUID) -> sa.Select[tuple[Post]]:
        key = Post.due_at if self.by_due else Post.created_at
        query = sa.select(Post).where(Post.user_id == user_id)
        if self.by_due:
            query = query.where(Post.due_at.is_not(None))  # also what lets the partial index serve it
        if self.status or self.account_id:
            matching = sa.select(Target.post_id).where(Target.user_id == user_id)
            if self.status:
                matching = matching.where(Target.status == self.status)
            if self.account_id:
                matching = matching.where(Target.account_id == self.account_id)
            query = query.where(Post.id.in_(matching))
        if self.created_from:
            query = query.where(Post.created_at >= self.created_from)
        if self.created_to:
            query = query.where(Post.created_at < self.created_to)
        if self.due_from:
            query = query.where(Post.due_at >= self.due_from)
        if self.due_to:
            query = query.where(Post.due_at < self.due_to)
        if self.before:
            cursor = sa.tuple_(sa.literal(self.before[0]), sa.literal(self.before[1]))
            seen = sa.tuple_(key, Post.id)
            query = query.where(seen > cursor if self.ascending else seen < cursor)
        order = (key.asc(), Post.id.asc()) if self.ascending else (key.desc(), Post.id.desc())
        return query.order_by(*order).limit(self.limit)


def post_due(draft: Draft, due: datetime) -> datetime | None:
    """The post's due time: when its targets are due, except for a draft given no time, which has none."""
    return None if draft.draft and draft.scheduled_at is None else due


def own_caption_note(target: Target) -> str | None:
    return "With a caption of its own for this account." if target.caption is not None else None


def target_captions(targets: list[Target], changes: list[dict[str, Any]] | None) -> dict[uuid.UUID, str | None]:
    """Each target's caption after a change that names some of them by account (None: the post's caption)."""
    captions = {t.account_id: t.caption for t in targets}
    for index, change in enumerate(changes or []):
        if change["account_id"] not in captions:
            message = "This account is not one of the post's targets; add targets by creating a post."
            raise Unprocessable("Some targets cannot take this post.", code="post_invalid", details=[{
                "target": index, "account_id": str(change["account_id"]), "rule": "target_not_in_post",
                "message": message}])
        captions[change["account_id"]] = change.get("caption")
    return captions


def request_hash(body: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


@dataclass(frozen=True)
class Quota:
    posts: int
    window: timedelta
    name: str


# More creations than this at once by one person are beyond what the gateway's per-address limit lets through in
# the moment between the first count and the insert.
QUOTA_LOCK_MARGIN = 64


def creation_quotas(settings: PublisherSettings) -> list[Quota]:
    return [Quota(settings.posts_per_minute, timedelta(minutes=1), "minute"),
            Quota(settings.posts_per_hour, timedelta(hours=1), "hour")]


class PostService:
    def __init__(self, runtime: ServiceRuntime, connector: ConnectorClient, media: MediaClient,
                 wake: Callable[[], None], quotas: list[Quota],
                 now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.runtime = runtime
        self.connector = connector
        self.media = media
        self.wake = wake
        self.quotas = quotas
        self.now = now

    async def library_media(self, user_id: uuid.UUID, media: list[rules.Media]) -> list[rules.Media]:
        """The post's library items as the media service knows them now (type, name, probe), so the rules check
        the files themselves; an item that is not the person's (or no longer exists) refuses the post."""
        wanted = rules.library_ids(media)
        grants = dict(zip(wanted, await asyncio.gather(*(self._grant(user_id, i) for i in wanted)), strict=True))
        problems = rules.Problems()
        described = []
        for n, medium in enumerate(media, 1):
            grant = grants.get(medium.media_id) if medium.media_id else None
            if medium.media_id is not None and grant is None:
                problems.add("media_not_found", f"Medium {n} is not in your media library (it may have been "
                                                f"deleted): upload it again or choose another.")
            described.append(medium if grant is None else
                             replace(medium, type=grant.kind, name=grant.name, probe=grant.probe))
        if problems:
            raise Unprocessable("Some targets cannot take this post.", code="post_invalid", details=problems.items)
        return described

    async def _grant(self, user_id: uuid.UUID, media_id: uuid.UUID) -> Grant | None:
        try:
            return await self.media.item(user_id, media_id)
        except MediaMissing:
            return None

    async def check(self, user_id: uuid.UUID, draft: Draft) -> tuple[datetime, list[CheckedTarget]]:
        """Everything a post must satisfy, each failure named per target; raises one 422 with all of them. The
        draft's library media must have been described (library_media) first."""
        problems = rules.Problems()
        try:
            due = rules.due_time(draft.scheduled_at, draft.timezone, self.now())
        except ValueError as exc:
            problems.add("scheduled_at_invalid", str(exc))
            due = self.now()
        if draft.timezone and not valid_zone(draft.timezone):
            problems.add("timezone_unknown", f"{draft.timezone} is not an IANA time zone name.")
        seen: set[uuid.UUID] = set()
        checked = []
        for index, wanted in enumerate(draft.targets):
            account_id, settings = wanted.account_id, wanted.settings
            caption = draft.caption if wanted.caption is None else wanted.caption
            tag = str(account_id)
            if account_id in seen:
                problems.add("duplicate_target", "The same account is chosen twice.", target=index, account_id=tag)
                continue
            seen.add(account_id)
            try:
                account = await self.connector.describe(user_id, account_id)
            except AccountUnusable:
                problems.add("account_not_found", "No such connected account.", target=index, account_id=tag)
                continue
            if not account.publishable:
                problems.add("account_unpublishable", account.unpublishable_reason or "Not publishable.",
                             target=index, account_id=tag)
                continue
            if not rules.check_settings(problems, index, tag, account.platform, settings):
                continue
            if account.platform == "tiktok":
                try:
                    options = await self.connector.publishing_options(user_id, account_id)
                except AccountUnusable as exc:
                    problems.add("account_unpublishable", exc.message, target=index, account_id=tag)
                    continue
                rules.check_tiktok(problems, index, tag, caption, draft.media, settings, options.get("tiktok"))
            elif account.kind == "instagram":
                rules.check_instagram(problems, index, tag, caption, draft.media, settings)
            else:
                rules.check_facebook(problems, index, tag, caption, draft.media, settings)
            checked.append(CheckedTarget(account_id, settings, account, wanted.caption))
        if problems:
            raise Unprocessable("Some targets cannot take this post.", code="post_invalid", details=problems.items)
        return due, checked

    async def create(self, user_id: uuid.UUID, draft: Draft, *, idempotency_key: str | None,
                     body: dict[str, Any], render: Callable[[Post, list[Target]], dict[str, Any]]
                     ) -> tuple[dict[str, Any], bool]:
        """The post as answered, and whether it was created now (False: the key's first answer)."""
        fingerprint = request_hash(body)
        if idempotency_key:
            earlier = await self._replay(user_id, idempotency_key, fingerprint, render)
            if earlier is not None:
                return earlier, False
        async with self.runtime.sessionmaker() as session:
            await self._refuse_beyond_quotas(session, user_id, self.now())  # before asking the connector anything
            near_a_quota = await self._within_of_a_quota(session, user_id, self.now(), QUOTA_LOCK_MARGIN)
        draft = replace(draft, media=await self.library_media(user_id, draft.media))
        due, checked = await self.check(user_id, draft)
        now = self.now()
        async with self.runtime.transaction() as session:
            if near_a_quota:
                # Near a quota, one creation at a time per user, so that concurrent requests cannot all squeeze
                # under it; far from it, creations run side by side (the lock would serialise a person's burst).
                await session.execute(sa.select(sa.func.pg_advisory_xact_lock(
                    sa.func.hashtextextended(f"publisher.posts:{user_id}", 0))))
                now = self.now()  # after the wait: a post created meanwhile must not look like it is in the future
                await self._refuse_beyond_quotas(session, user_id, now)
            post = Post(id=uuid.uuid4(), user_id=user_id, caption=draft.caption,
                        media=[m.stored() for m in draft.media], scheduled_at=due if draft.scheduled_at else None,
                        timezone=draft.timezone, draft=draft.draft, due_at=post_due(draft, due), created_at=now,
                        updated_at=now)
            session.add(post)
            if idempotency_key:
                claimed = await session.execute(
                    insert(IdempotencyKey).values(user_id=user_id, key=idempotency_key, request_hash=fingerprint,
                                                  post_id=post.id, created_at=now)
                    .on_conflict_do_nothing().returning(IdempotencyKey.key))
                if claimed.first() is None:  # a concurrent request with the same key won
                    await session.rollback()
                    earlier = await self._replay(user_id, idempotency_key, fingerprint, render)
                    assert earlier is not None
                    return earlier, False
            targets = [self._target(post, c, due, now) for c in checked]
            session.add_all(targets)
            await session.flush()
            for target in targets:
                session.add(TargetEvent(target_id=target.id, at=now, step="created", status=target.status,
                                        message=own_caption_note(target)))
            if not draft.draft:
                await self.runtime.outbox.add(session, PostScheduled(
                    post_id=post.id, user_id=user_id, due_at=due, target_ids=[t.id for t in targets]))
        self.wake()
        return render(post, targets), True

    async def dry_run(self, user_id: uuid.UUID, draft: Draft) -> None:
        """What creating the post would refuse, without creating it: nothing stored, no quota spent."""
        await self.check(user_id, replace(draft, media=await self.library_media(user_id, draft.media)))

    async def _within_of_a_quota(self, session: AsyncSession, user_id: uuid.UUID, now: datetime, margin: int) -> bool:
        for quota in self.quotas:
            if quota.posts <= margin:
                return True
            if await session.scalar(
                    sa.select(Post.created_at).where(Post.user_id == user_id, Post.created_at > now - quota.window)
                    .order_by(Post.created_at.desc()).offset(quota.posts - margin - 1).limit(1)) is not None:
                return True
        return False

    async def _refuse_beyond_quotas(self, session: AsyncSession, user_id: uuid.UUID, now: datetime) -> None:
        """Counted from the posts themselves (indexed by user and time), so every publisher process agrees."""
        for quota in self.quotas:
            oldest_counted = await session.scalar(
                sa.select(Post.created_at).where(Post.user_id == user_id, Post.created_at > now - quota.window)
                .order_by(Post.created_at.desc()).offset(quota.posts - 1).limit(1))
            if oldest_counted is not None:
                wait = min(max(1, math.ceil((oldest_counted + quota.window - now).total_seconds())),
                           math.ceil(quota.window.total_seconds()))
                raise TooManyRequests(f"You can create at most {quota.posts} posts per {quota.name}. "
                                      f"Try again in {wait} seconds.", code="post_limit_reached",
                                      details={"limit": quota.posts, "window": quota.name},
                                      headers={"Retry-After": str(wait)})

    async def _replay(self, user_id: uuid.UUID, key: str, fingerprint: str,
                      render: Callable[[Post, list[Target]], dict[str, Any]]) -> dict[str, Any] | None:
        async with self.runtime.sessionmaker() as session:
            record = await session.get(IdempotencyKey, (user_id, key))
            if record is None:
                return None
            if record.request_hash != fingerprint:
                raise Conflict("This Idempotency-Key was used with a different request.", code="idempotency_key_reused")
            post, targets = await self._load(session, user_id, record.post_id)
            return render(post, targets)

    def _target(self, post: Post, checked: CheckedTarget, due: datetime, now: datetime) -> Target:
        account = checked.account
        return Target(id=uuid.uuid4(), post_id=post.id, user_id=post.user_id, account_id=checked.account_id,
                      platform=account.platform, kind=account.kind, external_id=account.external_id,
                      via_page_id=account.via_page_id, settings=checked.settings, caption=checked.caption,
                      status=rules.DRAFT if post.draft else rules.SCHEDULED, due_at=due,
                      next_attempt_at=None if post.draft else due, attempts=0, checkpoint={}, created_at=now,
                      updated_at=now)

    async def _load(self, session: AsyncSession, user_id: uuid.UUID, post_id: uuid.UUID,
                    lock: bool = False) -> tuple[Post, list[Target]]:
        post_query = sa.select(Post).where(Post.id == post_id, Post.user_id == user_id)
        targets_query = sa.select(Target).where(Target.post_id == post_id, Target.user_id == user_id) \
            .order_by(Target.created_at, Target.id)
        if lock:
            # The targets before their post: a worker finishing a target locks it, then the post, and taking them
            # the other way round here would let the two wait for each other (a deadlock Postgres ends by
            # aborting one of them).
            targets = list((await session.scalars(targets_query.with_for_update())).all())
            post = await session.scalar(post_query.with_for_update())
        else:
            post = await session.scalar(post_query)
            targets = list((await session.scalars(targets_query)).all()) if post is not None else []
        if post is None:
            raise NotFound("No such post.", code="post_not_found")
        return post, targets

    async def get(self, user_id: uuid.UUID, post_id: uuid.UUID) -> tuple[Post, list[Target], list[TargetEvent]]:
        async with self.runtime.sessionmaker() as session:
            post, targets = await self._load(session, user_id, post_id)
            events = list((await session.scalars(
                sa.select(TargetEvent).where(TargetEvent.target_id.in_([t.id for t in targets]))
                .order_by(TargetEvent.id).limit(5000))).all())
        return post, targets, events

    async def list_posts(self, user_id: uuid.UUID, listing: Listing) -> list[tuple[Post, list[Target]]]:
        async with self.runtime.sessionmaker() as session:
            posts = list((await session.scalars(listing.query(user_id))).all())
            targets = (await session.scalars(sa.select(Target).where(Target.post_id.in_([p.id for p in posts]))
                                             .order_by(Target.created_at, Target.id))).all()
        by_post: dict[uuid.UUID, list[Target]] = {p.id: [] for p in posts}
        for target in targets:
            by_post[target.post_id].append(target)
        return [(p, by_post[p.id]) for p in posts]

    async def update(self, user_id: uuid.UUID, post_id: uuid.UUID, changes: dict[str, Any]) -> None:
        async with self.runtime.sessionmaker() as session:
            post, targets = await self._load(session, user_id, post_id)
        self._refuse_if_started(targets)
        captions = target_captions(targets, changes.get("targets"))
        draft = Draft(
            caption=changes.get("caption", post.caption),
            media=await self.library_media(user_id, changes["media"] if "media" in changes else [
                rules.Media.from_stored(m) for m in post.media]),
            targets=[TargetDraft(t.account_id, t.settings, captions[t.account_id]) for t in targets],
            scheduled_at=changes.get("scheduled_at", post.scheduled_at),
            timezone=changes.get("timezone", post.timezone), draft=changes.get("draft", post.draft))
        due, _ = await self.check(user_id, draft)
        now = self.now()
        async with self.runtime.transaction() as session:
            post, targets = await self._load(session, user_id, post_id, lock=True)
            self._refuse_if_started(targets)
            post.caption, post.media = draft.caption, [m.stored() for m in draft.media]
            post.scheduled_at = due if draft.scheduled_at else None
            post.timezone, post.draft, post.updated_at = draft.timezone, draft.draft, now
            post.due_at = post_due(draft, due)
            for target in targets:
                target.status = rules.DRAFT if draft.draft else rules.SCHEDULED
                target.due_at, target.next_attempt_at = due, None if draft.draft else due
                target.caption = captions[target.account_id]
                target.updated_at = now
                session.add(TargetEvent(target_id=target.id, at=now, step="changed", status=target.status,
                                        message=own_caption_note(target)))
            if not draft.draft:
                await self.runtime.outbox.add(session, PostScheduled(
                    post_id=post.id, user_id=user_id, due_at=due, target_ids=[t.id for t in targets]))
        self.wake()

    async def cancel(self, user_id: uuid.UUID, post_id: uuid.UUID) -> None:
        now = self.now()
        async with self.runtime.transaction() as session:
            _, targets = await self._load(session, user_id, post_id, lock=True)
            self._refuse_if_started(targets)
            for target in targets:
                target.status, target.finished_at, target.next_attempt_at = rules.CANCELLED, now, None
                target.updated_at = now
                session.add(TargetEvent(target_id=target.id, at=now, step="cancelled", status=rules.CANCELLED,
                                        message="Cancelled by the user."))
            await complete_post_if_done(self.runtime, session, post_id, user_id)

    async def retry(self, user_id: uuid.UUID, post_id: uuid.UUID, target_id: uuid.UUID) -> None:
        now = self.now()
        async with self.runtime.transaction() as session:
            _, targets = await self._load(session, user_id, post_id, lock=True)
            target = next((t for t in targets if t.id == target_id), None)
            if target is None:
                raise NotFound("No such target in this post.", code="target_not_found")
            if target.status != rules.FAILED:
                raise Conflict("Only a failed target can be retried.", code="target_not_failed")
            target.status, target.next_attempt_at, target.due_at = rules.QUEUED, now, now
            target.attempts, target.checkpoint, target.finished_at = 0, {}, None
            target.error_class = target.error_message = None
            target.needs_review = False
            target.updated_at = now
            session.add(TargetEvent(target_id=target.id, at=now, step="retry", status=rules.QUEUED,
                                    message="Retried by the user."))
        self.wake()

    @staticmethod
    def _refuse_if_started(targets: list[Target]) -> None:
        if any(t.status not in NOT_STARTED or t.lease_owner for t in targets):
            raise Conflict("Publishing has started for this post; it can no longer be changed or cancelled.",
                           code="post_started")
