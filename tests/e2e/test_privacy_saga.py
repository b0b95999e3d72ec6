"""The deletion saga's bookkeeping on an injected clock: phases sent again when they stall, the alert for old
requests, and what stays of a request once it completes. Runs on a scratch database (no process reads it)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from prometheus_client import REGISTRY
from structlog.testing import capture_logs

from services.privacy import tables
from services.privacy.service import PrivacyService
from services.privacy.settings import PrivacySettings
from shared.events import ErasureStepDone
from tests.support import runtime_for

START = datetime(2031, 3, 14, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.at = START

    def __call__(self) -> datetime:
        return self.at


@pytest.fixture
async def privacy(scratch_database: str) -> AsyncIterator[tuple[PrivacyService, Clock]]:
    settings = PrivacySettings(database_url=scratch_database, erasure_retry_seconds=600, erasure_alert_days=7)
    clock = Clock()
    async with runtime_for(settings, tables.Base.metadata) as runtime:
        async with runtime.transaction() as session:
            for table in ("deletion_steps", "deletion_requests", "outbox"):
                await session.execute(sa.text(f"DELETE FROM privacy.{table}"))
        yield PrivacyService(runtime, settings, clock=clock), clock


async def sent(service: PrivacyService) -> list[str]:
    async with service.runtime.sessionmaker() as session:
        return list((await session.scalars(sa.text("SELECT type FROM privacy.outbox ORDER BY id"))).all())


async def report(service: PrivacyService, request_id: uuid.UUID, name: str, **resolved: list) -> None:
    async with service.runtime.transaction() as session:
        await service.step_done(session, ErasureStepDone(request_id=request_id, service=name, erased={"rows": 1},
                                                         **resolved))


async def test_a_stalled_phase_is_sent_again_only_after_the_retry_period(
        privacy: tuple[PrivacyService, Clock]) -> None:
    service, clock = privacy
    user_id = uuid.uuid4()
    request = await service.request_for_user(user_id, "account", None)
    assert await sent(service) == ["privacy.erasure.requested"]

    clock.at = START + timedelta(seconds=599)
    assert await service.resend_stalled() == 0
    clock.at = START + timedelta(seconds=601)
    assert await service.resend_stalled() == 1
    assert await sent(service) == ["privacy.erasure.requested"] * 2

    account = uuid.uuid4()
    await report(service, request.id, "identity")
    await report(service, request.id, "connector", user_ids=[user_id], account_ids=[account], external_ids=["1029"])
    assert (await sent(service))[-1] == "privacy.erasure.accounts_resolved"
    clock.at += timedelta(seconds=601)
    assert await service.resend_stalled() == 1
    assert (await sent(service))[-1] == "privacy.erasure.accounts_resolved"  # phase one is done: only phase two

    await report(service, request.id, "publisher")
    await report(service, request.id, "publisher")  # a duplicate answer changes nothing
    await report(service, request.id, "webhooks")
    async with service.runtime.sessionmaker() as session:
        done = await session.get_one(tables.DeletionRequest, request.id)
        steps = (await session.scalars(sa.select(tables.DeletionStep).where(
            tables.DeletionStep.request_id == request.id))).all()
    assert done.status == "completed"
    assert (done.user_id, done.account_ids, done.meta_user_id, done.resolved) == (None, None, None, None)
    assert done.subject_hash == service.keyed_hash("user", str(user_id))
    assert {s.service: s.erased for s in steps} == {n: {"rows": 1} for n in
                                                    ("identity", "connector", "publisher", "webhooks")}
    clock.at += timedelta(days=30)
    assert await service.resend_stalled() == 0  # a completed request is left alone
    assert [r.id for r in await service.for_user(user_id)] == [request.id]


async def test_a_request_older_than_the_alert_age_raises_the_alert_once_a_day(
        privacy: tuple[PrivacyService, Clock]) -> None:
    service, clock = privacy
    await service.request_for_user(uuid.uuid4(), "connections", None)
    clock.at = START + timedelta(days=7) - timedelta(seconds=1)
    with capture_logs() as logs:
        await service.resend_stalled()
    assert not [e for e in logs if e.get("alert")]
    assert REGISTRY.get_sample_value("postifys_deletion_requests_overdue") == 0

    clock.at = START + timedelta(days=7, seconds=1)
    with capture_logs() as logs:
        await service.resend_stalled()
        clock.at += timedelta(hours=1)
        await service.resend_stalled()
    assert [e["event"] for e in logs if e.get("alert")] == ["Deletion request overdue"]
    assert REGISTRY.get_sample_value("postifys_deletion_requests_overdue") == 1


async def test_the_same_signed_request_from_meta_is_the_same_request(privacy: tuple[PrivacyService, Clock]) -> None:
    service, _ = privacy
    first = await service.request_from_meta("10203040", "sig.payload")
    again = await service.request_from_meta("10203040", "sig.payload")
    other = await service.request_from_meta("10203040", "sig.other-payload")
    assert first.confirmation_code == again.confirmation_code != other.confirmation_code
    assert await sent(service) == ["privacy.erasure.requested"] * 2
