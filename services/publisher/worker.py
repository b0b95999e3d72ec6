"""The publishing worker: claims due targets with a lease (FOR UPDATE SKIP LOCKED, so replicas share the
work and a dead one's targets are picked up when its lease runs out), runs each target's pipeline, and
decides from the outcome what happens next. The lease is renewed while a target's step runs, however long its
download or upload takes."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import socket
import uuid
from collections.abc import AsyncIterator, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import httpx
import sqlalchemy as sa
import structlog
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.publisher import pipeline, rules
from services.publisher.connector_client import AccountUnusable, ConnectorClient, ConnectorUnavailable
from services.publisher.media_client import MediaClient, MediaMissing, MediaUnavailable
from services.publisher.media_use import media_in_use
from services.publisher.settings import PublisherSettings
from services.publisher.tables import (
    AccountAuth,
    AccountHold,
    EarlyOutcome,
    PlatformCall,
    Post,
    Target,
    TargetEvent,
)
from shared.events import PostCompleted, PostTargetFailed, PostTargetPublished
from shared.fetching import Fetcher, FetchPolicy
from shared.platform_http import PlatformError
from shared.runtime import ServiceRuntime

log = structlog.get_logger()
T = TypeVar("T")

USAGE_SLOW, USAGE_STOP = 80.0, 95.0
MAX_INTERNAL_ERRORS = 10
RECONNECT = "Reconnect this account: the platform no longer accepts Postifys' authorization."


class LeaseLost(Exception):
    """Another worker owns the target now (ours expired); stop touching it."""


def platform_urls(settings: PublisherSettings) -> dict[str, str]:
    return {"facebook_graph": f"{settings.facebook_graph_url}/{settings.meta_graph_version}",
            "instagram_graph": f"{settings.instagram_graph_url}/{settings.meta_graph_version}",
            "tiktok_api": settings.tiktok_api_url}


def media_fetcher(settings: PublisherSettings) -> Fetcher:
    return Fetcher(FetchPolicy(max_bytes=settings.media_max_bytes,
                               deadline_seconds=settings.media_fetch_deadline_seconds,
                               read_timeout_seconds=settings.media_fetch_read_timeout_seconds,
                               allow_private=settings.allow_private_media_urls,
                               ports=frozenset(settings.media_url_ports)),
                   concurrency=settings.media_fetch_concurrency, directory=settings.media_fetch_dir)


@dataclass
class TargetJournal:
    """Saves a target's progress, each save its own committed transaction that also renews the lease."""

    worker: Worker
    target_id: uuid.UUID
    account_id: uuid.UUID
    user_id: uuid.UUID
    checkpoint: dict[str, Any]

    async def save(self, *, step: str, status: str, ids: dict[str, Any] | None = None, request: str | None = None,
                   response_code: str | None = None, message: str | None = None) -> None:
        async with self.worker.runtime.transaction() as session:
            await self._record(session, step=step, status=status, ids=ids, request=request,
                               response_code=response_code, message=message)

    async def claim_media_fetch(self, per_user: int) -> bool:
        """One of the user's `per_user` downloads at a time, counted across every worker: a target holds one while
        its checkpoint says media_fetching and its lease runs, so a dead worker's share lapses with its lease (and
        a settled run's with its settling). Claimed quietly: the download's start is what the timeline shows."""
        now = self.worker.now()
        async with self.worker.runtime.transaction() as session:
            await session.execute(sa.select(sa.func.pg_advisory_xact_lock(
                sa.func.hashtext(f"media-fetch:{self.user_id}"))))
            running = await session.scalar(sa.select(sa.func.count()).select_from(Target).where(
                Target.user_id == self.user_id, Target.id != self.target_id, Target.status.in_(rules.ACTIVE),
                Target.lease_expires_at > now, Target.checkpoint.has_key("media_fetching"))) or 0
            if running >= per_user:
                return False
            await self._store(session, {"media_fetching": now.isoformat()})
        return True

    async def _record(self, session: AsyncSession, *, step: str, status: str, ids: dict[str, Any] | None = None,
                      request: str | None = None, response_code: str | None = None,
                      message: str | None = None) -> None:
        now = await self._store(session, ids or {}, status=status)
        session.add(TargetEvent(target_id=self.target_id, at=now, step=step, status=status, request=request,
                                response_code=response_code, message=message,
                                platform_ids={k: v for k, v in (ids or {}).items()
                                              if k.endswith(("_id", "_ids", "children")) and v} or None))

    async def _store(self, session: AsyncSession, ids: dict[str, Any], **values: Any) -> datetime:
        """The checkpoint with `ids` merged in (None removes an entry), and the lease renewed."""
        self.checkpoint.update(ids)
        for key in [key for key, value in ids.items() if value is None]:
            del self.checkpoint[key]
        now = self.worker.now()
        updated = await session.execute(
            sa.update(Target).where(Target.id == self.target_id, Target.lease_owner == self.worker.name)
            .values(checkpoint=dict(self.checkpoint), updated_at=now, lease_expires_at=now + self.worker.lease,
                    **values))
        if updated.rowcount == 0:  # type: ignore[attr-defined]
            raise LeaseLost()
        return now

    async def may_call(self, endpoint: str, limit: int, per_seconds: int) -> float:
        now = self.worker.now()
        async with self.worker.runtime.transaction() as session:
            # Serialise the accounting per account, so two workers cannot both take the last slot.
            await session.execute(sa.select(sa.func.pg_advisory_xact_lock(sa.func.hashtext(str(self.account_id)))))
            recent = (await session.scalars(
                sa.select(PlatformCall.at).where(PlatformCall.account_id == self.account_id,
                                                 PlatformCall.endpoint == endpoint,
                                                 PlatformCall.at > now - timedelta(seconds=per_seconds))
                .order_by(PlatformCall.at))).all()
            if len(recent) >= limit:
                return max(0.5, (recent[0] + timedelta(seconds=per_seconds) - now).total_seconds())
            session.add(PlatformCall(account_id=self.account_id, endpoint=endpoint, at=now))
        return 0.0

    async def published_in_last_day(self) -> int:
        async with self.worker.runtime.sessionmaker() as session:
            return await session.scalar(sa.select(sa.func.count()).select_from(Target).where(
                Target.account_id == self.account_id, Target.status == rules.PUBLISHED,
                Target.finished_at > self.worker.now() - timedelta(days=1))) or 0

    async def early_outcome(self, publish_id: str) -> tuple[str, dict[str, Any]] | None:
        since = self.checkpoint.get("processing_since")
        async with self.worker.runtime.sessionmaker() as session:
            found = await session.get(EarlyOutcome, publish_id)
        if found is None or (since and found.received_at < datetime.fromisoformat(since) - timedelta(minutes=1)):
            return None
        return found.event, found.content

    async def observe_usage(self, headers: dict[str, str]) -> None:
        percent, regain_minutes = rules.usage_percent(headers)
        if percent >= USAGE_STOP:
            await self.worker.hold(self.account_id, "platform_usage",
                                   timedelta(minutes=regain_minutes or 10))
        elif percent >= USAGE_SLOW:
            await self.worker.hold(self.account_id, "platform_usage", timedelta(seconds=10))


@dataclass(frozen=True)
class PersonsLibrary:
    """A target owner's media library, as the pipeline reaches it (pipeline.Library)."""

    media: MediaClient
    user_id: uuid.UUID

    async def url(self, medium: rules.Media) -> str:
        assert medium.media_id is not None
        return (await self.media.item(self.user_id, medium.media_id)).url

    async def read(self, medium: rules.Media, start: int, stop: int) -> AsyncIterator[bytes]:
        assert medium.media_id is not None
        async for chunk in self.media.read(self.user_id, medium.media_id, start, stop):
            yield chunk


LIBRARY_ITEM_GONE = ("A medium of this post was deleted from the media library before the post went out. Add it "
                     "again and retry.")


class Worker:
    def __init__(self, runtime: ServiceRuntime, settings: PublisherSettings, connector: ConnectorClient,
                 http: httpx.AsyncClient, media: MediaClient) -> None:
        self.runtime = runtime
        self.settings = settings
        self.connector = connector
        self.media = media
        self.http = http
        self.name = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.lease = timedelta(seconds=settings.lease_seconds)
        self.urls = platform_urls(settings)
        self.fetcher = media_fetcher(settings)
        self.wake = asyncio.Event()
        self.in_flight: set[asyncio.Task[None]] = set()

    @staticmethod
    def now() -> datetime:
        return datetime.now(UTC)

    async def run_forever(self) -> None:
        try:
            await self._claim_and_process()
        finally:
            # Shutting down: the targets in flight stop here (their leases lapse and another worker resumes them
            # from their journal) rather than run on against closed clients.
            for task in self.in_flight:
                task.cancel()
            await asyncio.gather(*self.in_flight, return_exceptions=True)

    async def _claim_and_process(self) -> None:
        while True:
            try:
                claimed = await self.claim(self.settings.worker_concurrency - len(self.in_flight))
                for target_id in claimed:
                    task = asyncio.create_task(self.process(target_id))
                    self.in_flight.add(task)
                    task.add_done_callback(self._done)
                if claimed:
                    continue
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("Claiming targets failed")
            self.wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), self.settings.worker_poll_seconds)

    def _done(self, task: asyncio.Task[None]) -> None:
        self.in_flight.discard(task)
        self.wake.set()

    async def claim(self, limit: int) -> list[uuid.UUID]:
        if limit <= 0:
            return []
        now = self.now()
        held = sa.union(
            sa.select(AccountHold.account_id).where(AccountHold.until > now),
            sa.select(AccountAuth.account_id).where(AccountAuth.reauth_required.is_(True)))
        due = (sa.select(Target.id).where(
            Target.status.in_(rules.ACTIVE), Target.next_attempt_at <= now,
            sa.or_(Target.lease_expires_at.is_(None), Target.lease_expires_at < now),
            Target.account_id.not_in(held)).order_by(Target.next_attempt_at).limit(limit)
            .with_for_update(skip_locked=True))
        async with self.runtime.transaction() as session:
            rows = await session.execute(
                sa.update(Target).where(Target.id.in_(due.scalar_subquery()))
                .values(lease_owner=self.name, lease_expires_at=now + self.lease,
                        status=sa.case((Target.status == rules.SCHEDULED, rules.QUEUED), else_=Target.status))
                .returning(Target.id))
            return list(rows.scalars())

    async def process(self, target_id: uuid.UUID) -> None:
        with structlog.contextvars.bound_contextvars(target_id=str(target_id)):
            try:
                outcome = await self.leased(target_id, self.step(target_id))
                await self.settle(target_id, outcome)
            except LeaseLost:
                log.warning("Lease lost; another worker has the target, or it was deleted")
            except Exception:
                log.exception("Target processing failed unexpectedly")
                with contextlib.suppress(Exception):
                    await self.settle(target_id, pipeline.Wait(30, rules.QUEUED, "an internal error; retrying"),
                                      count_attempt=True)

    async def leased(self, target_id: uuid.UUID, work: Coroutine[Any, Any, T]) -> T:
        """Runs `work` while renewing the target's lease every third of it, so that a long download or upload never
        lets it lapse to another worker. Should the lease be lost all the same (the target deleted meanwhile, or
        the database out of reach for a whole lease), the work stops: someone else may own the target now."""
        task = asyncio.ensure_future(work)
        lost = False

        async def renew() -> None:
            nonlocal lost
            while True:
                await asyncio.sleep(self.lease.total_seconds() / 3)
                try:
                    renewed = await self.renew_lease(target_id)
                except Exception:
                    log.warning("Renewing a lease failed; trying again", exc_info=True)
                    continue
                if not renewed:
                    lost = True
                    task.cancel()
                    return

        renewer = asyncio.create_task(renew())
        try:
            return await task
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if lost and not (current and current.cancelling()):
                raise LeaseLost() from None
            raise
        finally:
            renewer.cancel()

    async def renew_lease(self, target_id: uuid.UUID) -> bool:
        now = self.now()
        async with self.runtime.transaction() as session:
            renewed = await session.execute(
                sa.update(Target).where(Target.id == target_id, Target.lease_owner == self.name)
                .values(lease_expires_at=now + self.lease))
            return bool(renewed.rowcount)  # type: ignore[attr-defined]

    async def step(self, target_id: uuid.UUID) -> pipeline.Outcome:
        async with self.runtime.sessionmaker() as session:
            target = await session.get(Target, target_id)
            post = await session.get(Post, target.post_id) if target else None
        if target is None or post is None or target.lease_owner != self.name:
            raise LeaseLost()  # another worker has it, or its owner deleted it meanwhile
        if target.status in rules.FINAL:
            return pipeline.Published(target.remote_id or "", target.permalink)
        processing_since = target.checkpoint.get("processing_since")
        if target.status == rules.PROCESSING and processing_since and self.now() - datetime.fromisoformat(
                processing_since) > timedelta(minutes=self.settings.max_processing_minutes):
            return pipeline.Failed("timeout", "The platform kept this post waiting for too long; it was given up.")
        job = pipeline.Job(
            platform=target.platform, kind=target.kind, external_id=target.external_id,
            via_page_id=target.via_page_id, settings=target.settings,
            caption=post.caption if target.caption is None else target.caption,
            media=[rules.Media.from_stored(m) for m in post.media],
            journal=TargetJournal(self, target.id, target.account_id, target.user_id, dict(target.checkpoint)),
            http=self.http, urls=self.urls, fetcher=self.fetcher,
            verified_prefixes=self.settings.tiktok_verified_url_prefixes,
            daily_cap=self.settings.tiktok_daily_post_cap, poll_seconds=self.settings.processing_poll_seconds,
            media_fetches_per_user=self.settings.media_fetches_per_user,
            renew_token=functools.partial(self.connector.renew_token, target.user_id, target.account_id),
            library=PersonsLibrary(self.media, target.user_id))
        try:
            waiting = await pipeline.before_calls(job)
            if waiting is not None:
                return waiting
            try:
                job.token = await self.connector.access_token(target.user_id, target.account_id)
            except AccountUnusable as exc:
                if exc.code == "reauth_required":
                    await self.pause(target.account_id)
                    return pipeline.Wait(60, rules.SCHEDULED, "waiting for the account to be reconnected")
                return pipeline.Failed("account_unusable", exc.message)
            except ConnectorUnavailable:
                return pipeline.Wait(5, target.status, "connected accounts are unreachable; retrying")
            try:
                return await pipeline.run(job)
            except PlatformError as exc:
                return await self.on_platform_error(target, exc)
            except MediaMissing:
                return pipeline.Failed("media_unusable", LIBRARY_ITEM_GONE)
            except MediaUnavailable:
                return pipeline.Wait(10, target.status, "the media library is unreachable; retrying")
        finally:
            pipeline.release_download(job)  # a slot the run took and did not download in

    async def on_platform_error(self, target: Target, exc: PlatformError) -> pipeline.Outcome:
        verdict = rules.classify(platform=exc.platform, code=exc.code, transient=exc.transient,
                                 token_invalid=exc.token_invalid, status=exc.status)
        log.warning("Platform refused a step", verdict=verdict, platform_code=exc.code, subcode=exc.subcode,
                    http_status=exc.status, platform_message=exc.message[:300])
        if verdict == rules.REAUTH:
            try:
                status = await self.connector.token_rejected(target.user_id, target.account_id)
            except (AccountUnusable, ConnectorUnavailable):
                status = "unknown"
            if status != "reauth_required" and target.attempts + 1 < rules.MAX_TRANSIENT_ATTEMPTS:
                # The connector finds the authorization still good: a passing refusal, try again later.
                return pipeline.Wait(rules.backoff(target.attempts + 1).total_seconds(), rules.QUEUED,
                                     f"temporary: the platform refused the token once ({exc.message})")
            if status != "reauth_required":
                return pipeline.Failed("platform_refused_token", "The platform kept refusing the account's token "
                                       f"although it is valid here: {exc.message}")
            await self.pause(target.account_id)
            return pipeline.Failed("reconnect_required", RECONNECT)
        if verdict == rules.RATE_LIMITED:
            _, regain = rules.usage_percent(exc.headers)
            delay = timedelta(minutes=regain) if regain else timedelta(seconds=60)
            await self.hold(target.account_id, "platform_rate_limit", delay)
            return pipeline.Wait(delay.total_seconds(), rules.QUEUED, f"rate limited by the platform: {exc.message}")
        if verdict == rules.RETRY:
            if target.attempts + 1 >= rules.MAX_TRANSIENT_ATTEMPTS:
                return pipeline.Failed("platform_unavailable", f"The platform kept failing: {exc.message}")
            status = rules.UNKNOWN if exc.outcome_unknown else rules.QUEUED
            return pipeline.Wait(rules.backoff(target.attempts + 1).total_seconds(), status,
                                 f"temporary platform error: {exc.message}")
        detail = f" (code {exc.code}" + (f"/{exc.subcode}" if exc.subcode else "") + ")" if exc.code else ""
        return pipeline.Failed("platform_rejected", f"{exc.message}{detail}")

    async def settle(self, target_id: uuid.UUID, outcome: pipeline.Outcome, count_attempt: bool = False) -> None:
        now = self.now()
        async with self.runtime.transaction() as session:
            target = await session.get(Target, target_id, with_for_update=True)
            if target is None or target.lease_owner != self.name or target.status in rules.FINAL:
                return
            target.lease_owner, target.lease_expires_at, target.updated_at = None, None, now
            # The lease ends, and with it the user's download share this run held (the next run claims again).
            changes: dict[str, Any] = {"media_fetching": None}
            if isinstance(outcome, pipeline.Wait) and outcome.checkpoint:
                changes.update(outcome.checkpoint)
            if any(target.checkpoint.get(key) != value for key, value in changes.items()):
                target.checkpoint = {**{k: v for k, v in target.checkpoint.items() if k not in changes},
                                     **{k: v for k, v in changes.items() if v is not None}}
            if isinstance(outcome, pipeline.Wait) and count_attempt and target.attempts + 1 >= MAX_INTERNAL_ERRORS:
                outcome = pipeline.Failed("internal_error", "Postifys kept failing to process this target; it has "
                                          "been stopped and logged. Retry it once the problem is fixed.")
            if isinstance(outcome, pipeline.Wait):
                if count_attempt or "temporary" in outcome.reason:
                    target.attempts += 1
                target.status = outcome.status
                target.next_attempt_at = now + timedelta(seconds=outcome.seconds)
                await note_wait(session, target.id, outcome, now)
                if outcome.seconds <= 0:
                    self.wake.set()
                return
            await finish_target(self.runtime, session, target, outcome, now)

    async def pause(self, account_id: uuid.UUID) -> None:
        """The account's other targets wait for a reconnect instead of failing one after another."""
        async with self.runtime.transaction() as session:
            await record_auth(session, account_id, reauth_required=True, as_of=self.now())

    async def hold(self, account_id: uuid.UUID, reason: str, duration: timedelta) -> None:
        now = self.now()
        until = now + duration
        async with self.runtime.transaction() as session:
            await session.execute(
                insert(AccountHold).values(account_id=account_id, reason=reason, until=until, updated_at=now)
                .on_conflict_do_update(index_elements=[AccountHold.account_id],
                                       set_={"reason": reason, "until": sa.func.greatest(AccountHold.until, until),
                                             "updated_at": now}))


async def note_wait(session: AsyncSession, target_id: uuid.UUID, wait: pipeline.Wait, now: datetime) -> None:
    """One timeline entry for a wait, however many runs in a row end in it (a download slot still taken, the
    platform still processing): the entry says since when."""
    message = wait.reason[:1000]
    last = (await session.execute(
        sa.select(TargetEvent.step, TargetEvent.status, TargetEvent.message).where(TargetEvent.target_id == target_id)
        .order_by(TargetEvent.id.desc()).limit(1))).first()
    if last is not None and tuple(last) == ("waiting", wait.status, message):
        return
    session.add(TargetEvent(target_id=target_id, at=now, step="waiting", status=wait.status, message=message))


async def finish_target(runtime: ServiceRuntime, session: AsyncSession, target: Target, outcome: pipeline.Outcome,
                        now: datetime) -> None:
    target.finished_at = now
    target.next_attempt_at = None
    event: Any
    if isinstance(outcome, pipeline.Published):
        target.status, target.remote_id, target.permalink = rules.PUBLISHED, outcome.remote_id, outcome.permalink
        session.add(TargetEvent(target_id=target.id, at=now, step="published", status=rules.PUBLISHED,
                                platform_ids={"remote_id": outcome.remote_id}, message=outcome.note))
        event = PostTargetPublished(post_id=target.post_id, target_id=target.id, user_id=target.user_id,
                                    account_id=target.account_id, platform=target.platform,
                                    remote_id=outcome.remote_id, permalink=outcome.permalink)
        log.info("Target published", platform=target.platform, remote_id=outcome.remote_id)
    else:
        assert isinstance(outcome, pipeline.Failed)
        target.status, target.error_class = rules.FAILED, outcome.error_class
        target.error_message, target.needs_review = outcome.message[:2000], outcome.needs_review
        session.add(TargetEvent(target_id=target.id, at=now, step="failed", status=rules.FAILED,
                                error_class=outcome.error_class, message=outcome.message[:2000]))
        event = PostTargetFailed(post_id=target.post_id, target_id=target.id, user_id=target.user_id,
                                 account_id=target.account_id, platform=target.platform,
                                 error_class=outcome.error_class, message=outcome.message[:2000],
                                 needs_review=outcome.needs_review)
        log.warning("Target failed", platform=target.platform, error_class=outcome.error_class)
    await runtime.outbox.add(session, event)
    await complete_post_if_done(runtime, session, target.post_id, target.user_id)


async def record_auth(session: AsyncSession, account_id: uuid.UUID, *, reauth_required: bool,
                      as_of: datetime) -> None:
    await session.execute(
        insert(AccountAuth).values(account_id=account_id, reauth_required=reauth_required, as_of=as_of)
        .on_conflict_do_update(index_elements=[AccountAuth.account_id],
                               set_={"reauth_required": reauth_required, "as_of": as_of},
                               where=AccountAuth.as_of < as_of))


async def complete_post_if_done(runtime: ServiceRuntime, session: AsyncSession, post_id: uuid.UUID,
                                user_id: uuid.UUID) -> None:
    # Serialises the last targets of a post finishing at once, so exactly one of them sees all final.
    media = await session.scalar(sa.select(Post.media).where(Post.id == post_id).with_for_update())
    statuses = (await session.scalars(sa.select(Target.status).where(Target.post_id == post_id))).all()
    if statuses and all(s in rules.FINAL for s in statuses):
        library = rules.library_ids([rules.Media.from_stored(m) for m in media or []])
        # An item another post still sends keeps its URLs working: the platform may fetch it later still.
        shared = await media_in_use(session, library) if library else set()
        await runtime.outbox.add(session, PostCompleted(
            post_id=post_id, user_id=user_id, published=statuses.count(rules.PUBLISHED),
            failed=statuses.count(rules.FAILED), cancelled=statuses.count(rules.CANCELLED),
            media_ids=[m for m in library if m not in shared]))
