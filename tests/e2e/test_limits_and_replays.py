"""Limits and replays: the gateway's public operational routes cost the services next to nothing, webhooks have a
limit of their own, Meta's signed requests expire and a deauthorization counts once, webhook dedupe keys outlive the
bodies, password changes are counted like sign-ins, and mail to an unproven address repeats nothing typed at
sign-up."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import tempfile
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import sqlalchemy as sa
from faststream.rabbit import RabbitBroker, RabbitQueue
from pydantic import ValidationError

from deploy.system import System, free_port
from services.gateway.settings import GatewaySettings
from services.identity import tables as identity_tables
from services.identity.mailer import Mailer
from services.identity.service import ClientInfo, IdentityService
from services.identity.settings import IdentitySettings
from services.identity.tokens import email_key
from services.privacy import tables as privacy_tables
from services.privacy.retention import retention_rules as privacy_rules
from services.privacy.settings import PrivacySettings
from services.privacy.signed_request import make_signed_request
from services.webhooks import tables as webhooks_tables
from services.webhooks.retention import retention_rules as webhooks_rules
from services.webhooks.service import WebhookService
from services.webhooks.settings import WebhooksSettings
from services.webhooks.signatures import dedupe_key
from shared.errors import PostifysError
from shared.events import Envelope, MetaDeauthorized
from shared.messaging.topology import Topology
from shared.migrations import SCHEMA_SERVICES
from shared.retention import purge_expired
from tests.e2e.publishing_support import Member
from tests.support import STRONG_PASSWORD, Stack, connect, runtime_for, sign_in, sign_up, unique_email, wait_for

META_SECRET = PrivacySettings().meta_app_secret.get_secret_value()
DAY = timedelta(days=1)
TICK = timedelta(seconds=1)


def gateway_metrics_url(stack: Stack) -> str:
    given = stack.env.get("POSTIFYS_METRICS_PORT")
    settings = GatewaySettings(port=int(stack.env.get("POSTIFYS_PORT", "8000")),
                               metrics_port=int(given) if given else None)
    return f"http://{settings.metrics_host}:{settings.metrics_listen_port}/metrics"


# --- 1. the gateway alone, in front of stand-in services that count what reaches them -----------------------------

@dataclass
class Upstream:
    """Stands in for every service: answers 200 to everything and counts the readiness probes it gets."""

    ready: bool = True
    readiness_probes: int = 0
    paths: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def handler(self) -> type[BaseHTTPRequestHandler]:
        upstream = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_: Any) -> None:
                pass

            def answer(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                self.rfile.read(length)
                status = 200
                with upstream.lock:
                    upstream.paths.append(self.path)
                    if self.path == "/readyz":
                        upstream.readiness_probes += 1
                        status = 200 if upstream.ready else 503
                body = b"{}"
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = answer  # noqa: N815

        return Handler


@dataclass
class LoneGateway:
    url: str
    metrics_url: str
    upstream: Upstream


# Tiny limits, so that a few requests show which bucket each path draws from.
PEOPLE_BURST = 5
WEBHOOK_BURST = 12


@pytest.fixture(scope="module")
def lone_gateway() -> Iterator[LoneGateway]:
    upstream = Upstream()
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), upstream.handler())
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port, metrics_port = free_port(), free_port()
    upstream_url = f"http://127.0.0.1:{server.server_address[1]}"
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("POSTIFYS_")},
           "POSTIFYS_ENV": "test", "POSTIFYS_LOG_FORMAT": "json", "POSTIFYS_PORT": str(port),
           "POSTIFYS_PUBLIC_URL": f"http://127.0.0.1:{port}", "POSTIFYS_METRICS_PORT": str(metrics_port),
           "POSTIFYS_INTERNAL_SECRET": secrets.token_urlsafe(32), "POSTIFYS_TRUSTED_PROXIES": '["127.0.0.1"]',
           "POSTIFYS_RATE_LIMIT_PER_MINUTE": "1", "POSTIFYS_RATE_LIMIT_BURST": str(PEOPLE_BURST),
           "POSTIFYS_WEBHOOK_RATE_LIMIT_PER_MINUTE": "1", "POSTIFYS_WEBHOOK_RATE_LIMIT_BURST": str(WEBHOOK_BURST),
           **{f"POSTIFYS_{name.upper()}_URL": upstream_url for name in SCHEMA_SERVICES}}
    system = System(env=env, log_dir=Path(tempfile.mkdtemp(prefix="postifys-lone-gateway-")))
    try:
        system.start_one("gateway")
        system.wait_ready(timeout=30, names=("gateway",))
        yield LoneGateway(url=f"http://127.0.0.1:{port}", metrics_url=f"http://127.0.0.1:{metrics_port}/metrics",
                          upstream=upstream)
    finally:
        system.stop()
        server.shutdown()
        server.server_close()


async def test_a_flood_of_readiness_probes_costs_the_services_about_one_round_of_checks_a_second(
        lone_gateway: LoneGateway) -> None:
    upstream = lone_gateway.upstream
    with upstream.lock:
        upstream.readiness_probes = 0
    started = time.monotonic()
    async with httpx.AsyncClient(base_url=lone_gateway.url, limits=httpx.Limits(max_connections=50)) as http:
        answers = await asyncio.gather(*(http.get("/readyz") for _ in range(200)))
    elapsed = time.monotonic() - started
    assert {a.status_code for a in answers} == {200}
    assert all(a.json()["checks"] == dict.fromkeys(SCHEMA_SERVICES, True) for a in answers)
    rounds = int(elapsed) + 2  # one at the start of each second the flood spanned, and one that may straddle
    # Before: every probe was a round of its own, 200 × 5 checks.
    assert upstream.readiness_probes <= rounds * len(SCHEMA_SERVICES), (upstream.readiness_probes, elapsed)


async def test_readiness_still_follows_the_services_within_a_second_or_so(lone_gateway: LoneGateway) -> None:
    async with httpx.AsyncClient(base_url=lone_gateway.url) as http:
        async def status_is(expected: int) -> bool:
            return (await http.get("/readyz")).status_code == expected
        lone_gateway.upstream.ready = False
        try:
            await wait_for(lambda: status_is(503), timeout=5, message="the gateway to report a service down")
        finally:
            lone_gateway.upstream.ready = True
        await wait_for(lambda: status_is(200), timeout=5, message="the gateway to report everything ready again")


async def test_metrics_are_served_on_the_internal_listener_and_not_on_the_public_port(
        lone_gateway: LoneGateway) -> None:
    async with httpx.AsyncClient(headers={"X-Forwarded-For": "198.51.100.20"}) as http:
        public = await http.get(f"{lone_gateway.url}/metrics")
        assert public.status_code == 404
        assert public.json()["error"]["code"] == "not_found"
        internal = await http.get(lone_gateway.metrics_url)
    assert internal.status_code == 200
    assert internal.headers["content-type"].startswith("text/plain")
    assert "# TYPE postifys_http_requests_total counter" in internal.text
    assert "/metrics" not in lone_gateway.upstream.paths


async def test_platform_paths_have_a_generous_limit_of_their_own_instead_of_none(lone_gateway: LoneGateway) -> None:
    async with httpx.AsyncClient(base_url=lone_gateway.url) as http:
        platform = {"X-Forwarded-For": "198.51.100.30", "content-type": "application/json"}
        statuses = [(await http.post("/webhooks/meta", content=b"{}", headers=platform)).status_code
                    for _ in range(WEBHOOK_BURST)]
        # More than a person's burst goes through: the platforms' bucket is not the people's.
        assert statuses == [200] * WEBHOOK_BURST
        refused = await http.post("/webhooks/tiktok", content=b"{}", headers=platform)
        assert refused.status_code == 429
        assert refused.json()["error"]["code"] == "rate_limited"
        assert int(refused.headers["retry-after"]) >= 1
        # The same address's budget for everything else is untouched.
        assert (await http.get("/api/v1/auth/login", headers=platform)).status_code == 200

        meta = {"X-Forwarded-For": "198.51.100.31", "content-type": "application/x-www-form-urlencoded"}
        statuses = [(await http.post("/privacy/meta/deauthorize", content=b"signed_request=x", headers=meta))
                    .status_code for _ in range(WEBHOOK_BURST + 1)]
        assert statuses == [200] * WEBHOOK_BURST + [429]


# --- 2. Meta's signed requests and webhook replays -----------------------------------------------------------------

def signed(user_id: str, issued_at: float | None) -> str:
    payload: dict[str, Any] = {"algorithm": "HMAC-SHA256", "user_id": user_id}
    if issued_at is not None:
        payload["issued_at"] = int(issued_at)
    return make_signed_request(payload, META_SECRET)


async def test_a_signed_request_not_issued_within_the_hour_is_refused_by_both_callbacks(
        client: httpx.AsyncClient) -> None:
    now = time.time()
    for path in ("/privacy/meta/deauthorize", "/privacy/meta/data-deletion"):
        for label, issued_at in (("issued over an hour ago", now - 3700), ("issued in the future", now + 3600),
                                 ("no issued_at", None)):
            refused = await client.post(path, data={"signed_request": signed("99000001", issued_at)})
            assert refused.status_code == 400, (path, label, refused.text)
            error = refused.json()["error"]
            assert (error["code"], error["details"]) == ("invalid_signed_request", {"reason": "stale"}), (path, label)
    fresh = await client.post("/privacy/meta/deauthorize", data={"signed_request": signed("99000001", now - 60)})
    assert fresh.status_code == 200, fresh.text


async def test_both_callbacks_repeated_after_the_age_limit_answer_as_the_first_time(
        client: httpx.AsyncClient) -> None:
    """Meta retries a callback it got no answer to: the same signed request, now too old to start anything, gets
    the same confirmation code (and the same empty answer), while one never taken is refused."""
    limit = PrivacySettings().meta_signed_request_max_age_seconds
    issued_at = time.time() - limit + 5  # taken now, too old in a few seconds

    def new_id() -> str:
        return str(98_000_000 + secrets.randbelow(1_000_000_000))
    deletion, deauthorization = signed(new_id(), issued_at), signed(new_id(), issued_at)
    first = await client.post("/privacy/meta/data-deletion", data={"signed_request": deletion})
    assert first.status_code == 200, first.text
    taken = await client.post("/privacy/meta/deauthorize", data={"signed_request": deauthorization})
    assert (taken.status_code, taken.json()) == (200, {}), taken.text

    async def now_too_old() -> bool:
        # A new one each time: a probe taken while still recent would be a repeat on the next try.
        probe = await client.post("/privacy/meta/deauthorize",
                                  data={"signed_request": signed(new_id(), issued_at)})
        return probe.status_code == 400
    await wait_for(now_too_old, timeout=15, interval=0.5, message="the signed requests to pass the age limit")

    again = await client.post("/privacy/meta/data-deletion", data={"signed_request": deletion})
    assert (again.status_code, again.json()) == (200, first.json()), again.text
    repeated = await client.post("/privacy/meta/deauthorize", data={"signed_request": deauthorization})
    assert (repeated.status_code, repeated.json()) == (200, {}), repeated.text
    unseen = await client.post("/privacy/meta/data-deletion", data={"signed_request": signed(new_id(), issued_at)})
    assert unseen.status_code == 400, unseen.text
    assert unseen.json()["error"]["details"] == {"reason": "stale"}


@contextlib.asynccontextmanager
async def deauthorizations_on_the_bus(stack: Stack) -> AsyncIterator[list[Envelope]]:
    """Every `privacy.meta.deauthorized` event published while inside, in the order published."""
    received: list[Envelope] = []
    tap = RabbitBroker(stack.amqp_url, logger=None)
    queue = RabbitQueue(f"{stack.prefix}.tests.deauthorized-{uuid.uuid4().hex[:8]}", exclusive=True,
                        auto_delete=True, routing_key=MetaDeauthorized.type)

    @tap.subscriber(queue, Topology(stack.prefix, "tests").events_exchange())
    async def keep(envelope: Envelope) -> None:
        received.append(envelope)
    async with tap:
        await tap.start()
        yield received


async def facebook_login_id(db: asyncpg.Connection, user_id: str) -> str:
    return str(await db.fetchval("SELECT external_user_id FROM connector.connections WHERE user_id = $1 "
                                 "AND provider = 'facebook'", uuid.UUID(user_id)))


async def test_the_same_deauthorize_callback_again_sends_nothing_and_spares_accounts_reconnected_since(
        poster: Member, stack: Stack, client: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    meta_id = await facebook_login_id(db, poster.user_id)
    request = signed(meta_id, time.time())

    async def page_status() -> str:
        accounts = (await poster.http.get("/api/v1/accounts")).json()["items"]
        return str(next(a["status"] for a in accounts if a["id"] == poster.accounts["page"]))

    async with deauthorizations_on_the_bus(stack) as events:
        first = await client.post("/privacy/meta/deauthorize", data={"signed_request": request})
        assert first.status_code == 200, first.text
        async def disconnected() -> bool:
            return await page_status() == "disconnected"
        await wait_for(disconnected, message="the Page to be disconnected")

        # The person adds Postifys again; then someone sends the old callback again (Meta, or whoever kept it),
        # padded this time, which is the same signed request.
        assert (await connect(poster.http, stack, "facebook")).status_code in (302, 303)
        assert await page_status() == "active"
        encoded_signature, payload = request.split(".")
        padded = f"{encoded_signature}{'=' * (-len(encoded_signature) % 4)}.{payload}"
        for again in (request, padded):
            repeated = await client.post("/privacy/meta/deauthorize", data={"signed_request": again})
            assert (repeated.status_code, repeated.json()) == (first.status_code, first.json())

        # A later callback for someone else: once its event is through, anything sent before it would be too.
        barrier = await client.post("/privacy/meta/deauthorize", data={"signed_request": signed("99000002",
                                                                                                 time.time())})
        assert barrier.status_code == 200

        async def barrier_through() -> bool:
            return any(e.data["meta_user_id"] == "99000002" for e in events)
        await wait_for(barrier_through, message="the later deauthorization on the bus")
        assert [e.data["meta_user_id"] for e in events if e.data["meta_user_id"] == meta_id] == [meta_id]

    async def connector_took_the_barrier() -> bool:
        return bool(await db.fetchval("SELECT count(*) FROM connector.inbox WHERE event_id = $1",
                                      next(e.event_id for e in events if e.data["meta_user_id"] == "99000002")))
    await wait_for(connector_took_the_barrier, message="the connector to handle the later deauthorization")
    assert await page_status() == "active"


async def test_deauthorizations_are_forgotten_only_once_their_signed_request_would_be_refused(
        scratch_database: str) -> None:
    settings = PrivacySettings(database_url=scratch_database)
    now = datetime(2031, 3, 14, 12, 0, tzinfo=UTC)
    replayable = timedelta(seconds=settings.meta_signed_request_max_age_seconds + 300)
    old = privacy_tables.MetaDeauthorization(signed_request_hash="old", received_at=now - replayable - DAY - TICK)
    recent = privacy_tables.MetaDeauthorization(signed_request_hash="recent", received_at=now - replayable - DAY)
    async with runtime_for(settings, privacy_tables.Base.metadata) as runtime:
        async with runtime.transaction() as session:
            session.add_all([old, recent])
        assert await purge_expired(runtime, privacy_rules(settings), now) == {"meta_deauthorizations": 1}
        async with runtime.sessionmaker() as session:
            left = (await session.scalars(sa.select(privacy_tables.MetaDeauthorization.signed_request_hash))).all()
    assert left == ["recent"]


def tiktok_body(openid: str) -> bytes:
    return json.dumps({"client_key": "ck", "event": "post.publish.publicly_available", "create_time": 1790000100,
                       "user_openid": openid, "content": json.dumps({"publish_id": f"v_pub_file~{openid}"})}).encode()


async def held(runtime: Any, body: bytes) -> tuple[bool, bool]:
    """Whether this delivery's body, and its dedupe key, are stored."""
    key = dedupe_key("tiktok", body)
    async with runtime.sessionmaker() as session:
        bodies = await session.scalar(sa.select(sa.func.count()).select_from(webhooks_tables.Delivery)
                                      .where(webhooks_tables.Delivery.dedupe_key == key))
        keys = await session.scalar(sa.select(sa.func.count()).select_from(webhooks_tables.DeliveryKey)
                                    .where(webhooks_tables.DeliveryKey.dedupe_key == key))
    return bool(bodies), bool(keys)


@dataclass
class Clock:
    now: datetime

    def __call__(self) -> float:
        return self.now.timestamp()


async def test_a_webhook_delivered_again_after_its_body_was_purged_is_still_a_duplicate(
        scratch_database: str) -> None:
    settings = WebhooksSettings(database_url=scratch_database)
    start = datetime(2031, 3, 14, 12, 0, tzinfo=UTC)
    clock = Clock(start)
    body = tiktok_body(f"-{uuid.uuid4().hex}")
    rules = webhooks_rules(settings)
    async with runtime_for(settings, webhooks_tables.Base.metadata) as runtime:
        service = WebhookService(runtime, settings, clock=clock)

        async def events_sent() -> int:
            async with runtime.sessionmaker() as session:
                return int(await session.scalar(sa.select(sa.func.count()).select_from(webhooks_tables.outbox)) or 0)

        assert await service.accept("tiktok", body, {}, None)
        sent = await events_sent()
        clock.now = start + timedelta(days=settings.retention_webhook_body_days) + TICK
        await purge_expired(runtime, rules, clock.now)
        # The platform delivers it again (TikTok retries for 72 hours, signing each retry anew).
        assert not await service.accept("tiktok", body, {}, None)
        assert await events_sent() == sent
        assert await held(runtime, body) == (False, True)  # the body went; its key stays

        assert settings.retention_webhook_dedupe_days > settings.retention_webhook_body_days
        clock.now = start + timedelta(days=settings.retention_webhook_dedupe_days) + TICK
        await purge_expired(runtime, rules, clock.now)
        assert await held(runtime, body) == (False, False)
        assert await service.accept("tiktok", body, {}, None)  # the memory is long, not endless


async def test_a_dedupe_key_is_never_purged_before_its_body_and_never_within_the_platforms_redelivery(
        scratch_database: str) -> None:
    with pytest.raises(ValidationError):
        WebhooksSettings(retention_webhook_dedupe_days=3)  # TikTok redelivers for 72 hours
    settings = WebhooksSettings(database_url=scratch_database, retention_webhook_body_days=120,
                                retention_webhook_dedupe_days=90)
    start = datetime(2032, 3, 14, 12, 0, tzinfo=UTC)
    clock = Clock(start)
    body = tiktok_body(f"-{uuid.uuid4().hex}")
    async with runtime_for(settings, webhooks_tables.Base.metadata) as runtime:
        service = WebhookService(runtime, settings, clock=clock)
        assert await service.accept("tiktok", body, {}, None)
        clock.now = start + timedelta(days=100)
        await purge_expired(runtime, webhooks_rules(settings), clock.now)
        assert await held(runtime, body) == (True, True)
        assert not await service.accept("tiktok", body, {}, None)
        clock.now = start + timedelta(days=120) + TICK
        await purge_expired(runtime, webhooks_rules(settings), clock.now)
        assert await held(runtime, body) == (False, False)


# --- 3. password change, counted like sign-in ----------------------------------------------------------------------

async def test_wrong_current_passwords_lock_the_password_change_like_sign_in(
        client: httpx.AsyncClient, stack: Stack, db: asyncpg.Connection) -> None:
    user = await sign_up(client, stack)
    assert (await sign_in(client, user)).status_code == 200
    before = await db.fetchval("SELECT password_hash FROM identity.users WHERE id = $1::uuid", user["id"])
    change = {"current_password": "not my password at all", "new_password": "a brand new passphrase 77"}
    for _ in range(100):  # failed_sign_ins_per_account_per_hour
        wrong = await client.post("/api/v1/auth/password-change", json=change)
        assert wrong.status_code == 403, wrong.text
        assert wrong.json()["error"]["code"] == "wrong_password"

    locked = await client.post("/api/v1/auth/password-change", json={**change, "current_password": STRONG_PASSWORD})
    assert locked.status_code == 429, locked.text
    assert locked.json()["error"]["code"] == "too_many_attempts"
    assert locked.headers["retry-after"] == "3600"
    assert await db.fetchval("SELECT password_hash FROM identity.users WHERE id = $1::uuid", user["id"]) == before
    # The same count: sign-in is locked by these failures too.
    assert (await sign_in(client, user)).status_code == 429

    outcomes = await db.fetch("SELECT outcome, ip FROM identity.sign_in_attempts WHERE user_id = $1::uuid",
                              user["id"])
    assert sum(o["outcome"] == "failed_password_change" for o in outcomes) == 100
    assert sum(o["outcome"] == "throttled_password_change" for o in outcomes) == 1
    assert all(o["ip"] is not None for o in outcomes)


async def test_the_password_check_before_deleting_an_account_is_throttled_like_sign_in(
        scratch_database: str) -> None:
    """The same count as sign-in: the address's failures on any account, and only the account's failures since
    its password last changed."""
    settings = IdentitySettings(database_url=scratch_database, failed_sign_ins_per_ip_per_hour=3,
                                failed_sign_ins_per_account_per_hour=3)
    now = datetime(2031, 3, 14, 12, 0, tzinfo=UTC)
    t = identity_tables
    async with runtime_for(settings, t.Base.metadata) as runtime:
        service = IdentityService(runtime, settings, Mailer("smtp://127.0.0.1:9", "postifys@example.com"),
                                  now=lambda: now)
        password_hash = await service.hasher.hash_async(STRONG_PASSWORD)

        def user(changed_ago: timedelta) -> Any:
            return t.User(id=uuid.uuid4(), name="Deleting", email=unique_email("confirm"),
                          password_hash=password_hash, email_verified_at=now - DAY,
                          password_changed_at=now - changed_ago, created_at=now - DAY)

        def failure(key: str, ip: str, ago: timedelta) -> Any:
            return t.SignInAttempt(at=now - ago, user_id=None, email_key=key, ip=ip, user_agent="test",
                                   outcome="failed")
        guessing_ip, other_ip = f"192.0.2.{secrets.randbelow(250) + 1}", f"198.51.100.{secrets.randbelow(250) + 1}"
        sprayed, reset = user(DAY), user(timedelta(minutes=5))
        async with runtime.transaction() as session:
            session.add_all([sprayed, reset])
            await session.flush()
            # Three failures from one address, on other accounts; three on `reset`'s account before its reset.
            session.add_all([failure(f"other-{n}", guessing_ip, timedelta(minutes=10)) for n in range(3)])
            session.add_all([failure(email_key(reset.email), f"2001:db8::{n + 1}", timedelta(minutes=10))
                             for n in range(3)])

        async def confirm(who: Any, ip: str, password: str = STRONG_PASSWORD) -> str:
            try:
                await service.confirm_password(user_id=who.id, password=password, client=ClientInfo(ip, "test"))
            except PostifysError as exc:
                return f"{exc.status_code} {exc.code}"
            return "confirmed"

        assert await confirm(sprayed, guessing_ip) == "429 too_many_attempts"
        assert await confirm(sprayed, other_ip) == "confirmed"
        assert await confirm(reset, other_ip) == "confirmed"
        assert [await confirm(reset, "203.0.113.9", "wrong") for _ in range(4)] == \
            ["403 wrong_password"] * 3 + ["429 too_many_attempts"]
        async with runtime.sessionmaker() as session:
            outcomes = (await session.scalars(sa.select(t.SignInAttempt.outcome)
                                              .where(t.SignInAttempt.user_id == reset.id))).all()
    assert sorted(outcomes) == ["failed_password_confirm"] * 3 + ["throttled_password_confirm"]


# --- 4. mail to an address nobody has proven ------------------------------------------------------------------------

async def test_mail_to_an_unproven_address_repeats_nothing_the_sign_up_typed(
        client: httpx.AsyncClient, stack: Stack) -> None:
    chosen = "Claim your prize at prize.example"
    email = unique_email("victim")
    answer = await client.post("/api/v1/auth/signup", json={"name": chosen, "email": email,
                                                             "password": STRONG_PASSWORD})
    assert answer.status_code == 201, answer.text
    verification = await stack.mail(email, "Confirm your email")
    # A second sign-up with the address, and a reset asked for it, mail the same unproven address.
    again = await client.post("/api/v1/auth/signup", json={"name": f"{chosen}!", "email": email,
                                                            "password": STRONG_PASSWORD})
    assert again.status_code == 201
    attempt = await stack.mail(email, "Someone tried to sign up")
    assert (await client.post("/api/v1/auth/password-reset", json={"email": email})).status_code == 202
    reset = await stack.mail(email, "Reset your Postifys password")
    for mail in (verification, attempt, reset):
        assert "Hello," in mail.text, mail.subject
        for part in (mail.text, mail.html or ""):
            assert "prize" not in part, mail.subject

    # Once the owner has proven the address, the name they chose is theirs to be greeted by.
    owner = await sign_up(client, stack, name="Ada Lovelace")
    assert (await client.post("/api/v1/auth/password-reset", json={"email": owner["email"]})).status_code == 202
    assert "Hello Ada Lovelace," in (await stack.mail(owner["email"], "Reset your Postifys password")).text
