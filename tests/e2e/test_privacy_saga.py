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
from services.privacy.service import MetaCallback, PrivacyService
from services.privacy.settings import PrivacySettings
from services.privacy.signed_request import InvalidSignedRequest, make_signed_request
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
            for table in ("deletion_steps", "deletion_requests", "meta_deauthorizations", "outbox"):
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
    await report(service, request.id, "media")
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
                                                    ("identity", "connector", "media", "publisher", "webhooks")}
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
    first = await service.request_from_meta(MetaCallback("10203040", "sig.payload", fresh=True))
    again = await service.request_from_meta(MetaCallback("10203040", "sig.payload", fresh=True))
    other = await service.request_from_meta(MetaCallback("10203040", "sig.other-payload", fresh=True))
    assert first.confirmation_code == again.confirmation_code != other.confirmation_code
    assert await sent(service) == ["privacy.erasure.requested"] * 2


async def test_a_meta_callback_repeated_after_the_age_limit_answers_as_the_first_time_and_starts_nothing(
        privacy: tuple[PrivacyService, Clock]) -> None:
    service, clock = privacy
    secret = service.settings.meta_app_secret.get_secret_value()

    def signed(user_id: str) -> str:
        return make_signed_request({"algorithm": "HMAC-SHA256", "user_id": user_id,
                                    "issued_at": int(START.timestamp())}, secret)
    deletion, deauthorization = signed("10203041"), signed("10203042")
    first = await service.request_from_meta(service.meta_callback(deletion))
    assert await service.meta_deauthorized(service.meta_callback(deauthorization))

    clock.at = START + timedelta(seconds=service.settings.meta_signed_request_max_age_seconds + 1)
    late = service.meta_callback(deletion)
    assert (late.meta_user_id, late.fresh) == ("10203041", False)
    assert (await service.request_from_meta(late)).confirmation_code == first.confirmation_code
    assert not await service.meta_deauthorized(service.meta_callback(deauthorization))

    # One never taken while it was recent starts nothing now.
    with pytest.raises(InvalidSignedRequest) as refused:
        await service.request_from_meta(service.meta_callback(signed("10203043")))
    assert refused.value.reason == "stale"
    with pytest.raises(InvalidSignedRequest) as refused:
        await service.meta_deauthorized(service.meta_callback(signed("10203044")))
    assert refused.value.reason == "stale"
    assert await sent(service) == ["privacy.erasure.requested", "privacy.meta.deauthorized"]
    async with service.runtime.sessionmaker() as session:
        assert await session.scalar(sa.select(sa.func.count()).select_from(tables.DeletionRequest)) == 1
