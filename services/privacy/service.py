"""Deletion requests and the saga that carries them out across the services.

Phase 1: identity erases the person and the media service their files (account scope), and the connector
revokes and forgets the connected accounts, answering with which accounts those were. Phase 2: the publisher and
the webhooks service erase what they hold about those accounts. Each service reports back; the request completes
when every step has, and then only the minimal record stays (see tables.DeletionRequest)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
import structlog
from prometheus_client import Counter, Gauge
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.privacy.settings import PrivacySettings
from services.privacy.signed_request import InvalidSignedRequest, parse_signed_request
from services.privacy.tables import DataSubject, DeletionRequest, DeletionStep, MetaDeauthorization
from shared.events import (
    ErasureAccountsResolved,
    ErasureCompleted,
    ErasureRequested,
    ErasureScope,
    ErasureStepDone,
    MetaDeauthorized,
)
from shared.runtime import ServiceRuntime

log = structlog.get_logger()

PHASE_ONE: dict[str, tuple[str, ...]] = {"account": ("identity", "connector", "media"),
                                          "connections": ("connector",)}
PHASE_TWO = ("publisher", "webhooks")
RUNNING = ("pending", "in_progress")

REQUESTS = Counter("postifys_deletion_requests_total", "Deletion requests received", ["scope", "source"])
COMPLETED = Counter("postifys_deletion_requests_completed_total", "Deletion requests completed", ["scope"])
RESENT = Counter("postifys_deletion_steps_resent_total", "Deletion phases sent again after stalling", ["phase"])
OVERDUE = Gauge("postifys_deletion_requests_overdue", "Deletion requests still running after the alert age")


def now_utc() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class MetaCallback:
    """A verified signed_request from one of Meta's callbacks. One no longer `fresh` (issued too long ago) is
    answered as it was the first time, so that the platform's late retry gets the same answer, but starts nothing:
    a captured one is worth nothing after the limit."""
    meta_user_id: str
    signed_request: str
    fresh: bool


class PrivacyService:
    def __init__(self, runtime: ServiceRuntime, settings: PrivacySettings,
                 clock: Callable[[], datetime] = now_utc) -> None:
        self.runtime = runtime
        self.settings = settings
        self.now = clock
        self._hash_key = settings.hash_key()

    def keyed_hash(self, kind: str, value: str) -> str:
        return hmac.new(self._hash_key, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()

    # --- asking ----------------------------------------------------------------------------------

    async def request_for_user(self, user_id: uuid.UUID, scope: ErasureScope,
                               account_ids: list[uuid.UUID] | None) -> DeletionRequest:
        async with self.runtime.transaction() as session:
            return await self._open(session, scope=scope, source="user", subject=self.keyed_hash("user", str(user_id)),
                                    user_id=user_id, account_ids=account_ids if scope == "connections" else None)

    def meta_callback(self, signed_request: str) -> MetaCallback:
        """Verified, or `InvalidSignedRequest`; one only too old comes back marked not fresh."""
        try:
            payload = self._verified(signed_request, self.now().timestamp())
            fresh = True
        except InvalidSignedRequest as exc:
            if exc.reason != "stale":
                raise
            payload, fresh = self._verified(signed_request, None), False
        return MetaCallback(meta_user_id=str(payload["user_id"]), signed_request=signed_request, fresh=fresh)

    def _verified(self, signed_request: str, now: float | None) -> dict[str, Any]:
        """Facebook Login's app signs with the Meta app secret; the Instagram Login app with its own."""
        def parsed(secret: str) -> dict[str, Any]:
            return parse_signed_request(signed_request, secret, now=now,
                                        max_age_seconds=self.settings.meta_signed_request_max_age_seconds)
        try:
            return parsed(self.settings.meta_app_secret.get_secret_value())
        except InvalidSignedRequest as exc:
            instagram_secret = self.settings.instagram_secret_in_use
            if exc.reason != "bad_signature" or instagram_secret is None:
                raise
            return parsed(instagram_secret)

    async def request_from_meta(self, callback: MetaCallback) -> DeletionRequest:
        """Meta's data-deletion callback; the same signed request again (padded or not, twice at once, or after
        the age limit) gets the same request back. A stale one never opens a request: `InvalidSignedRequest`."""
        fingerprint = self._fingerprint(callback.signed_request)
        query = sa.select(DeletionRequest).where(DeletionRequest.signed_request_hash == fingerprint)
        try:
            async with self.runtime.transaction() as session:
                known = await session.scalar(query)
                if known is not None:
                    return known
                if not callback.fresh:
                    raise InvalidSignedRequest("stale")
                return await self._open(session, scope="connections", source="meta",
                                        subject=self.keyed_hash("meta", callback.meta_user_id),
                                        meta_user_id=callback.meta_user_id, signed_request_hash=fingerprint)
        except IntegrityError:  # the same request, stored by a concurrent call a moment ago
            async with self.runtime.sessionmaker() as session:
                return (await session.scalars(query)).one()

    async def meta_deauthorized(self, callback: MetaCallback) -> bool:
        """Meta's deauthorize callback; the same signed request again (padded or not, twice at once, or after the
        age limit) sends no second event, which would disconnect accounts reconnected in between. True the first
        time; a stale one never taken before is `InvalidSignedRequest`."""
        fingerprint = self._fingerprint(callback.signed_request)
        async with self.runtime.transaction() as session:
            if callback.fresh:
                taken = (await session.execute(
                    insert(MetaDeauthorization).values(signed_request_hash=fingerprint, received_at=self.now())
                    .on_conflict_do_nothing().returning(MetaDeauthorization.signed_request_hash))).first() is not None
            elif await session.get(MetaDeauthorization, fingerprint) is None:
                raise InvalidSignedRequest("stale")
            else:
                taken = False
            if not taken:
                log.info("Deauthorize callback seen before; nothing more to do")
                return False
            await self.runtime.outbox.add(session, MetaDeauthorized(meta_user_id=callback.meta_user_id))
        return True

    def _fingerprint(self, signed_request: str) -> str:
        # Padding is optional in both segments, so it does not make a request another one.
        return self.keyed_hash("signed_request", signed_request.replace("=", ""))

    async def _open(self, session: AsyncSession, *, scope: ErasureScope, source: str, subject: str,
                    user_id: uuid.UUID | None = None, account_ids: list[uuid.UUID] | None = None,
                    meta_user_id: str | None = None, signed_request_hash: str | None = None) -> DeletionRequest:
        now = self.now()
        request = DeletionRequest(
            id=uuid.uuid4(), confirmation_code=secrets.token_hex(10), scope=scope, source=source,
            subject_hash=subject, signed_request_hash=signed_request_hash, status="pending", requested_at=now,
            last_sent_at=now, user_id=user_id, account_ids=account_ids, meta_user_id=meta_user_id)
        session.add(request)
        for phase, services in ((1, PHASE_ONE[scope]), (2, PHASE_TWO)):
            for service in services:
                session.add(DeletionStep(request_id=request.id, service=service, phase=phase, status="pending",
                                         erased={}))
        await self.runtime.outbox.add(session, self._phase_one(request))
        REQUESTS.labels(scope, source).inc()
        log.info("Deletion requested", request_id=str(request.id), scope=scope, source=source)
        return request

    @staticmethod
    def _phase_one(request: DeletionRequest) -> ErasureRequested:
        return ErasureRequested(request_id=request.id, scope=request.scope,
                                user_id=request.user_id, account_ids=request.account_ids,
                                meta_user_id=request.meta_user_id)

    @staticmethod
    def _phase_two(request: DeletionRequest) -> ErasureAccountsResolved:
        resolved = request.resolved or {}
        return ErasureAccountsResolved(request_id=request.id, scope=request.scope,
                                       user_ids=resolved.get("user_ids", []),
                                       account_ids=resolved.get("account_ids", []),
                                       external_ids=resolved.get("external_ids", []))

    # --- reading ---------------------------------------------------------------------------------

    async def for_user(self, user_id: uuid.UUID, request_id: uuid.UUID | None = None) -> list[DeletionRequest]:
        query = sa.select(DeletionRequest).where(DeletionRequest.subject_hash == self.keyed_hash("user", str(user_id)))
        if request_id is not None:
            query = query.where(DeletionRequest.id == request_id)
        async with self.runtime.sessionmaker() as session:
            return list((await session.scalars(query.order_by(DeletionRequest.requested_at.desc()))).all())

    async def by_code(self, code: str) -> DeletionRequest | None:
        async with self.runtime.sessionmaker() as session:
            found: DeletionRequest | None = await session.scalar(
                sa.select(DeletionRequest).where(DeletionRequest.confirmation_code == code))
            return found

    async def steps(self, request_id: uuid.UUID) -> list[DeletionStep]:
        async with self.runtime.sessionmaker() as session:
            return list((await session.scalars(sa.select(DeletionStep).where(DeletionStep.request_id == request_id)
                                               .order_by(DeletionStep.phase, DeletionStep.service))).all())

    # --- the services answering ------------------------------------------------------------------

    async def step_done(self, session: AsyncSession, report: ErasureStepDone) -> None:
        request = await session.get(DeletionRequest, report.request_id, with_for_update=True)
        if request is None or request.status not in RUNNING:
            return
        step = await session.get(DeletionStep, (request.id, report.service), with_for_update=True)
        if step is None:
            return
        now = self.now()
        if step.status != "done":
            step.status, step.done_at, step.erased = "done", now, dict(report.erased)
        request.status = "in_progress"
        if report.service == "connector":
            request.resolved = _merged(request.resolved, report)
            request.last_sent_at = now
            await self.runtime.outbox.add(session, self._phase_two(request))
        pending = await session.scalar(sa.select(sa.func.count()).select_from(DeletionStep).where(
            DeletionStep.request_id == request.id, DeletionStep.status != "done"))
        if not pending:
            await self._complete(session, request, now)

    async def _complete(self, session: AsyncSession, request: DeletionRequest, now: datetime) -> None:
        if request.scope == "account" and request.user_id is not None:
            await session.execute(sa.delete(DataSubject).where(DataSubject.user_id == request.user_id))
        request.status, request.completed_at = "completed", now
        request.user_id = request.account_ids = request.meta_user_id = request.resolved = None
        await self.runtime.outbox.add(session, ErasureCompleted(request_id=request.id))
        COMPLETED.labels(request.scope).inc()
        log.info("Deletion completed", request_id=str(request.id), scope=request.scope,
                 seconds=round((now - request.requested_at).total_seconds(), 3))

    # --- keeping it moving -----------------------------------------------------------------------

    async def resend_stalled(self) -> int:
        """Sends a phase again when its steps have not answered within the retry period (a lost or dead-lettered
        message); the services erase idempotently. Also raises the alert for requests past the alert age."""
        now = self.now()
        cutoff = now - timedelta(seconds=self.settings.erasure_retry_seconds)
        resent = 0
        async with self.runtime.transaction() as session:
            stalled = (await session.scalars(sa.select(DeletionRequest).where(
                DeletionRequest.status.in_(RUNNING), DeletionRequest.last_sent_at < cutoff)
                .order_by(DeletionRequest.last_sent_at).limit(100).with_for_update(skip_locked=True))).all()
            for request in stalled:
                pending = set((await session.scalars(sa.select(DeletionStep.phase).where(
                    DeletionStep.request_id == request.id, DeletionStep.status != "done"))).all())
                if 1 in pending or request.resolved is None:
                    await self.runtime.outbox.add(session, self._phase_one(request))
                    RESENT.labels("1").inc()
                else:
                    await self.runtime.outbox.add(session, self._phase_two(request))
                    RESENT.labels("2").inc()
                request.last_sent_at = now
                resent += 1
            await self._alert_overdue(session, now)
        return resent

    async def _alert_overdue(self, session: AsyncSession, now: datetime) -> None:
        old = now - timedelta(days=self.settings.erasure_alert_days)
        overdue = (await session.scalars(sa.select(DeletionRequest).where(
            DeletionRequest.status.in_(RUNNING), DeletionRequest.requested_at < old))).all()
        OVERDUE.set(len(overdue))
        for request in overdue:
            if request.alerted_at is None or now - request.alerted_at > timedelta(days=1):
                request.alerted_at = now
                log.error("Deletion request overdue", request_id=str(request.id), scope=request.scope,
                          requested_at=request.requested_at.isoformat(), alert=True)


def _merged(resolved: dict[str, Any] | None, report: ErasureStepDone) -> dict[str, Any]:
    before = resolved or {}
    return {key: sorted({*before.get(key, []), *(str(v) for v in getattr(report, key))})
            for key in ("user_ids", "account_ids", "external_ids")}
