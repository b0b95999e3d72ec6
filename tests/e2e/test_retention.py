"""Retention on an injected clock: every kind of data each service keeps is purged when its time comes, and not
a second earlier. The purges run on a database of their own on the test Postgres, migrated like the stack's:
a clock years away from today would otherwise purge (and count) the rows of every other test."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from prometheus_client import REGISTRY
from structlog.testing import capture_logs

from services.connector import tables as connector_tables
from services.connector.retention import ERASURE_ANSWER_DAYS
from services.connector.retention import retention_rules as connector_rules
from services.connector.settings import ConnectorSettings
from services.identity import tables as identity_tables
from services.identity.retention import retention_rules as identity_rules
from services.identity.settings import IdentitySettings
from services.publisher import tables as publisher_tables
from services.publisher.retention import retention_rules as publisher_rules
from services.publisher.settings import PublisherSettings
from services.webhooks import tables as webhooks_tables
from services.webhooks.retention import retention_rules as webhooks_rules
from services.webhooks.settings import WebhooksSettings
from shared.retention import RetentionRule, purge_expired, run_retention
from shared.runtime import ServiceRuntime
from tests.support import runtime_for

NOW = datetime(2031, 3, 14, 12, 0, tzinfo=UTC)
TICK = timedelta(seconds=1)
DAY = timedelta(days=1)
# Smaller than some kinds' row counts, so that purging in several batches is exercised too.
BATCH = 2


@dataclass
class Kind:
    """The rows of one kind of data: due at NOW, due one tick later, and never due."""

    name: str
    model: type[Any]
    due: list[Any]
    due_next_tick: list[Any]
    never_due: list[Any] = field(default_factory=list)


def identities(rows: list[Any]) -> set[tuple[Any, ...]]:
    return {sa.inspect(row).identity for row in rows}


async def stored(runtime: ServiceRuntime, model: type[Any]) -> set[tuple[Any, ...]]:
    async with runtime.sessionmaker() as session:
        return {tuple(row) for row in await session.execute(sa.select(*sa.inspect(model).primary_key))}


async def assert_purged_on_schedule(runtime: ServiceRuntime, rules: list[RetentionRule], kinds: list[Kind],
                                    parents: tuple[Any, ...] = ()) -> None:
    async with runtime.transaction() as session:
        session.add_all(parents)
        await session.flush()
        session.add_all([row for kind in kinds for row in (*kind.due, *kind.due_next_tick, *kind.never_due)])
    assert {rule.kind for rule in rules} == {kind.name for kind in kinds}, "every kind of the service is checked"

    assert await purge_expired(runtime, rules, NOW, BATCH) == {kind.name: len(kind.due) for kind in kinds}
    for kind in kinds:
        assert await stored(runtime, kind.model) == identities(kind.due_next_tick + kind.never_due), kind.name

    assert await purge_expired(runtime, rules, NOW + TICK, BATCH) == {
        kind.name: len(kind.due_next_tick) for kind in kinds}
    for kind in kinds:
        assert await stored(runtime, kind.model) == identities(kind.never_due), kind.name

    assert await purge_expired(runtime, rules, NOW + 100 * 365 * DAY, BATCH) == dict.fromkeys(
        (kind.name for kind in kinds), 0)


async def test_identity_purges_unusable_sessions_and_links_and_old_audit_and_limit_rows(
        scratch_database: str) -> None:
    settings = IdentitySettings(database_url=scratch_database)
    idle = timedelta(seconds=settings.session_idle_timeout_seconds)
    t = identity_tables
    user = t.User(id=uuid.uuid4(), name="Retention", email=f"retention-{uuid.uuid4().hex}@example.com",
                  password_hash="not-a-hash", password_changed_at=NOW - 400 * DAY, created_at=NOW - 400 * DAY)

    def session(*, last_seen_at: datetime = NOW, expires_at: datetime = NOW + DAY,
                revoked_at: datetime | None = None) -> Any:
        return t.Session(id=uuid.uuid4(), user_id=user.id, token_hash=uuid.uuid4().bytes, created_at=NOW - DAY,
                         last_seen_at=last_seen_at, expires_at=expires_at, revoked_at=revoked_at)

    def email_token(*, expires_at: datetime = NOW + DAY, used_at: datetime | None = None) -> Any:
        return t.EmailToken(id=uuid.uuid4(), user_id=user.id, purpose="verify", token_hash=uuid.uuid4().bytes,
                            created_at=NOW - DAY, expires_at=expires_at, used_at=used_at)

    def sign_in_attempt(at: datetime) -> Any:
        return t.SignInAttempt(at=at, user_id=user.id, email_key="key", ip="192.0.2.1", user_agent="test",
                               outcome="failed")

    audit = timedelta(days=settings.retention_sign_in_audit_days)
    limits = timedelta(days=settings.retention_rate_limit_hits_days)
    async with runtime_for(settings, t.Base.metadata) as runtime:
        await assert_purged_on_schedule(runtime, identity_rules(settings), parents=(user,), kinds=[
            Kind("sessions", t.Session,
                 due=[session(revoked_at=NOW - TICK), session(expires_at=NOW), session(last_seen_at=NOW - idle)],
                 due_next_tick=[session(expires_at=NOW + TICK), session(last_seen_at=NOW - idle + TICK)]),
            Kind("email_tokens", t.EmailToken,
                 due=[email_token(used_at=NOW - TICK), email_token(expires_at=NOW)],
                 due_next_tick=[email_token(expires_at=NOW + TICK)]),
            Kind("sign_in_attempts", t.SignInAttempt,
                 due=[sign_in_attempt(NOW - audit - TICK)], due_next_tick=[sign_in_attempt(NOW - audit)]),
            Kind("rate_limit_hits", t.RateLimitHit,
                 due=[t.RateLimitHit(key="signup-ip:192.0.2.1", at=NOW - limits - TICK)],
                 due_next_tick=[t.RateLimitHit(key="signup-ip:192.0.2.1", at=NOW - limits)]),
        ])


async def test_connector_purges_used_and_expired_oauth_states_and_forgotten_erasure_answers(
        scratch_database: str) -> None:
    settings = ConnectorSettings(database_url=scratch_database)
    t = connector_tables

    def oauth_state(*, expires_at: datetime = NOW + DAY, used_at: datetime | None = None) -> Any:
        return t.OAuthState(id=uuid.uuid4(), state_hash=uuid.uuid4().bytes, provider="tiktok", user_id=uuid.uuid4(),
                            session_id=uuid.uuid4(), created_at=NOW - DAY, expires_at=expires_at, used_at=used_at)

    def answer(answered_at: datetime) -> Any:
        return t.ErasureAnswer(request_id=uuid.uuid4(), user_ids=[], account_ids=[], external_ids=["1029"],
                               answered_at=answered_at)

    kept = timedelta(days=ERASURE_ANSWER_DAYS)
    async with runtime_for(settings, t.Base.metadata) as runtime:
        await assert_purged_on_schedule(runtime, connector_rules(settings), kinds=[
            Kind("oauth_states", t.OAuthState, due=[oauth_state(used_at=NOW - TICK), oauth_state(expires_at=NOW)],
                 due_next_tick=[oauth_state(expires_at=NOW + TICK)]),
            Kind("erasure_answers", t.ErasureAnswer, due=[answer(NOW - kept - TICK)],
                 due_next_tick=[answer(NOW - kept)]),
        ])


async def test_publisher_purges_old_errors_platform_calls_early_outcomes_and_idempotency_keys(
        scratch_database: str) -> None:
    settings = PublisherSettings(database_url=scratch_database)
    t = publisher_tables
    user_id, account_id = uuid.uuid4(), uuid.uuid4()
    post = t.Post(id=uuid.uuid4(), user_id=user_id, caption="", media=[], scheduled_at=None, timezone=None,
                  draft=False, created_at=NOW - 400 * DAY, updated_at=NOW - 400 * DAY)
    target = t.Target(id=uuid.uuid4(), post_id=post.id, user_id=user_id, account_id=account_id, platform="tiktok",
                      kind="tiktok", external_id="-000abc", settings={}, status="failed", attempts=1, checkpoint={},
                      needs_review=False, created_at=NOW - 400 * DAY, updated_at=NOW - 400 * DAY)

    def step(at: datetime, *, status: str = "failed", error_class: str | None = "platform_rejected") -> Any:
        return t.TargetEvent(target_id=target.id, at=at, step="attempt", status=status, error_class=error_class,
                             message="The platform refused the video.")

    def platform_call(at: datetime) -> Any:
        return t.PlatformCall(account_id=account_id, endpoint="tiktok_init", at=at)

    def early_outcome(received_at: datetime) -> Any:
        return t.EarlyOutcome(publish_id=uuid.uuid4().hex, event="post.publish.failed", content={},
                              received_at=received_at)

    def idempotency_key(created_at: datetime) -> Any:
        return t.IdempotencyKey(user_id=user_id, key=uuid.uuid4().hex, request_hash="hash", post_id=post.id,
                                created_at=created_at)

    errors = timedelta(days=settings.retention_publish_errors_days)
    calls = timedelta(days=settings.retention_platform_calls_days)
    outcomes = timedelta(days=settings.retention_early_outcomes_days)
    keys = timedelta(days=settings.retention_idempotency_keys_days)
    async with runtime_for(settings, t.Base.metadata) as runtime:
        await assert_purged_on_schedule(runtime, publisher_rules(settings), parents=(post, target), kinds=[
            Kind("publish_errors", t.TargetEvent,
                 due=[step(NOW - errors - TICK), step(NOW - errors - TICK, status="queued"),
                      step(NOW - errors - TICK, error_class=None)],
                 due_next_tick=[step(NOW - errors)],
                 # The rest of a timeline holds no error payload and stays with its post.
                 never_due=[step(NOW - 3 * errors, status="published", error_class=None)]),
            Kind("platform_calls", t.PlatformCall,
                 due=[platform_call(NOW - calls - TICK)], due_next_tick=[platform_call(NOW - calls)]),
            Kind("early_outcomes", t.EarlyOutcome,
                 due=[early_outcome(NOW - outcomes - TICK)], due_next_tick=[early_outcome(NOW - outcomes)]),
            Kind("idempotency_keys", t.IdempotencyKey,
                 due=[idempotency_key(NOW - keys - TICK)], due_next_tick=[idempotency_key(NOW - keys)]),
        ])


def delivery(received_at: datetime) -> Any:
    return webhooks_tables.Delivery(provider="tiktok", dedupe_key=uuid.uuid4().hex, received_at=received_at,
                                    source_ip="192.0.2.1", headers={}, body=b"{}", status="accepted", reason=None,
                                    event_types=[])


def delivery_key(first_seen_at: datetime) -> Any:
    return webhooks_tables.DeliveryKey(provider="tiktok", dedupe_key=uuid.uuid4().hex, first_seen_at=first_seen_at)


async def test_webhooks_purges_old_deliveries(scratch_database: str) -> None:
    settings = WebhooksSettings(database_url=scratch_database)
    bodies = timedelta(days=settings.retention_webhook_body_days)
    keys = timedelta(days=settings.retention_webhook_dedupe_days)
    async with runtime_for(settings, webhooks_tables.Base.metadata) as runtime:
        await assert_purged_on_schedule(runtime, webhooks_rules(settings), kinds=[
            Kind("webhook_deliveries", webhooks_tables.Delivery,
                 due=[delivery(NOW - bodies - TICK) for _ in range(BATCH + 1)],
                 due_next_tick=[delivery(NOW - bodies)]),
            # A delivery's key outlives its body (test_limits_and_replays).
            Kind("webhook_dedupe_keys", webhooks_tables.DeliveryKey,
                 due=[delivery_key(NOW - keys - TICK)], due_next_tick=[delivery_key(NOW - keys)]),
        ])


class RoundDone(Exception):
    pass


async def test_the_loop_counts_what_it_purged_in_the_metric_and_one_log_line(scratch_database: str) -> None:
    settings = WebhooksSettings(database_url=scratch_database)
    labels = {"service": "webhooks", "kind": "webhook_deliveries"}
    slept: list[float] = []

    async def stop_after_one_round(seconds: float) -> None:
        slept.append(seconds)
        raise RoundDone

    async with runtime_for(settings, webhooks_tables.Base.metadata) as runtime:
        async with runtime.transaction() as session:
            session.add_all([delivery(NOW - 31 * DAY), delivery(NOW - 31 * DAY)])
        before = REGISTRY.get_sample_value("postifys_retention_purged_total", labels) or 0.0
        with capture_logs() as logs, pytest.raises(RoundDone):
            await run_retention(runtime, webhooks_rules(settings), settings.retention_interval_seconds,
                                clock=lambda: NOW, sleep=stop_after_one_round)

    assert REGISTRY.get_sample_value("postifys_retention_purged_total", labels) == before + 2
    assert slept == [settings.retention_interval_seconds]
    assert logs == [{"event": "Retention purge done", "log_level": "info", "webhook_deliveries_count": 2,
                     "webhook_dedupe_keys_count": 0}]
