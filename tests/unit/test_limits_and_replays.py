"""Pure rules behind the limits and the replay defences: the gateway's cached readiness and its buckets per path,
the age of Meta's signed requests, and whom a mail greets by name."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import pytest

from services.gateway.ratelimit import PathLimits, RateLimiter
from services.gateway.readiness import CachedReadiness
from services.gateway.routing import CROSS_SITE_ALLOWED
from services.identity.mailer import greeting
from services.identity.tables import User
from services.privacy.signed_request import InvalidSignedRequest, make_signed_request, parse_signed_request

SECRET = "app-secret"
NOW = 1_800_000_000.0


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class CountedCheck:
    def __init__(self) -> None:
        self.rounds = 0
        self.ready = True
        self.release = asyncio.Event()
        self.release.set()

    async def __call__(self) -> dict[str, bool]:
        self.rounds += 1
        await self.release.wait()
        return {"identity": self.ready}


class TestCachedReadiness:
    async def test_concurrent_callers_share_one_round_and_later_ones_its_result_for_a_second(self) -> None:
        check, clock = CountedCheck(), FakeClock()
        cached = CachedReadiness(check, seconds=1.0, clock=clock)
        check.release.clear()
        waiting = [asyncio.create_task(cached()) for _ in range(50)]
        await asyncio.sleep(0)
        check.release.set()
        assert await asyncio.gather(*waiting) == [{"identity": True}] * 50
        assert check.rounds == 1

        check.ready = False
        clock.now += 0.999
        assert await cached() == {"identity": True}
        assert check.rounds == 1
        clock.now += 0.001
        assert await cached() == {"identity": False}
        assert check.rounds == 2

    async def test_a_caller_cannot_change_the_cached_answer(self) -> None:
        cached = CachedReadiness(CountedCheck(), clock=FakeClock())
        (await cached())["identity"] = False
        assert await cached() == {"identity": True}


class TestPathLimits:
    def limits(self) -> PathLimits:
        return PathLimits(people=RateLimiter(per_minute=60, burst=2), platforms=RateLimiter(per_minute=60, burst=5),
                          platform_prefixes=CROSS_SITE_ALLOWED)

    @pytest.mark.parametrize("path", ["/webhooks/meta", "/webhooks/tiktok", "/privacy/meta/deauthorize",
                                      "/privacy/meta/data-deletion"])
    def test_platform_paths_draw_from_their_own_generous_bucket(self, path: str) -> None:
        limits = self.limits()
        assert [limits.allow(path, "a", now=0)[0] for _ in range(6)] == [True] * 5 + [False]
        assert limits.allow("/api/v1/me", "a", now=0)[0]  # the person's bucket is untouched

    def test_the_pages_files_do_not_spend_a_persons_allowance(self) -> None:
        limits = self.limits()
        assert all(limits.allow(path, "a", now=0)[0] for path in ["/static/app.css", "/static/js/app.js",
                                                                   "/favicon.ico"] * 10)
        assert [limits.allow("/compose", "a", now=0)[0] for _ in range(3)] == [True, True, False]

    def test_people_paths_keep_the_smaller_bucket(self) -> None:
        limits = self.limits()
        assert [limits.allow("/api/v1/me", "a", now=0)[0] for _ in range(3)] == [True, True, False]
        # /metrics is no exception any more: the public port only answers it with a 404.
        assert not limits.allow("/metrics", "a", now=0)[0]

    def test_probes_are_not_limited(self) -> None:
        limits = self.limits()
        assert all(limits.allow(path, "a", now=0)[0] for path in ("/healthz", "/readyz") for _ in range(100))


def reason(payload: dict[str, object], **kwargs: float) -> str:
    with pytest.raises(InvalidSignedRequest) as refused:
        parse_signed_request(make_signed_request(payload, SECRET), SECRET, **kwargs)
    return refused.value.reason


class TestSignedRequestAge:
    def payload(self, issued_at: object) -> dict[str, object]:
        return {"algorithm": "HMAC-SHA256", "issued_at": issued_at, "user_id": "10217"}

    @pytest.mark.parametrize("age", [0, 60, 3600, -300])
    def test_issued_within_the_hour_or_a_little_ahead_is_taken(self, age: int) -> None:
        value = make_signed_request(self.payload(int(NOW) - age), SECRET)
        assert parse_signed_request(value, SECRET, now=NOW)["user_id"] == "10217"

    @pytest.mark.parametrize("issued_at", [int(NOW) - 3601, int(NOW) + 301, 0, None, "1800000000", 1.8e9, True,
                                           [int(NOW)]])
    def test_older_ahead_or_not_an_integer_is_stale(self, issued_at: object) -> None:
        payload = self.payload(issued_at)
        if issued_at is None:
            del payload["issued_at"]
        assert reason(payload, now=NOW) == "stale"

    def test_the_age_is_configurable(self) -> None:
        assert reason(self.payload(int(NOW) - 120), now=NOW, max_age_seconds=60) == "stale"

    def test_the_signature_is_checked_before_the_age(self) -> None:
        value = make_signed_request(self.payload(int(NOW) - 99999), "another-secret")
        with pytest.raises(InvalidSignedRequest) as refused:
            parse_signed_request(value, SECRET, now=NOW)
        assert refused.value.reason == "bad_signature"


class TestGreeting:
    def user(self, verified: bool) -> User:
        at = datetime(2031, 1, 1, tzinfo=UTC)
        return User(id=uuid.uuid4(), name="Visit prize.example", email="a@example.com", password_hash="x",
                    created_at=at, password_changed_at=at, email_verified_at=at if verified else None)

    def test_an_unproven_address_is_not_greeted_with_the_name_typed_at_sign_up(self) -> None:
        assert greeting(self.user(verified=False)) == "Hello,"

    def test_a_proven_address_is_greeted_by_name(self) -> None:
        assert greeting(self.user(verified=True)) == "Hello Visit prize.example,"
