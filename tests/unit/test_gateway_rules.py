from __future__ import annotations

import pytest

from services.gateway.ratelimit import RateLimiter
from services.gateway.routing import needs_session, service_for
from services.gateway.security import client_address, is_cross_site

ORIGIN = "https://app.postifys.com"


class TestRateLimiter:
    def test_allows_the_burst_then_refuses_until_tokens_refill(self) -> None:
        limiter = RateLimiter(per_minute=60, burst=3)
        assert [limiter.allow("a", now=0)[0] for _ in range(4)] == [True, True, True, False]
        allowed, retry_after = limiter.allow("a", now=0)
        assert not allowed
        assert retry_after == pytest.approx(1.0)
        assert limiter.allow("a", now=1.01)[0]

    def test_clients_do_not_share_a_bucket(self) -> None:
        limiter = RateLimiter(per_minute=60, burst=1)
        assert limiter.allow("a", now=0)[0]
        assert limiter.allow("b", now=0)[0]
        assert not limiter.allow("a", now=0)[0]

    def test_forgets_the_oldest_clients_beyond_its_capacity(self) -> None:
        limiter = RateLimiter(per_minute=60, burst=1, max_clients=2)
        for client in ("a", "b", "c"):
            limiter.allow(client, now=0)
        assert limiter.allow("a", now=0)[0]  # "a" was forgotten, so it starts with a full bucket


class TestClientAddress:
    def test_forwarded_for_is_ignored_from_untrusted_peers(self) -> None:
        assert client_address("203.0.113.9", "198.51.100.1", trusted_proxies=[]) == "203.0.113.9"

    def test_the_first_untrusted_hop_from_the_right_is_the_client(self) -> None:
        trusted = ["10.0.0.1", "10.0.0.2"]
        assert client_address("10.0.0.1", "198.51.100.7, 203.0.113.5, 10.0.0.2", trusted) == "203.0.113.5"

    def test_garbage_in_forwarded_for_stops_the_walk(self) -> None:
        assert client_address("10.0.0.1", "not-an-ip", ["10.0.0.1"]) == "10.0.0.1"


class TestCrossSite:
    @pytest.mark.parametrize(("origin", "fetch_site"), [
        ("https://evil.example", None), ("null", None), (None, "cross-site"), (None, "same-site"),
        (ORIGIN, "cross-site"),
    ])
    def test_state_changing_cross_site_requests_are_refused(self, origin: str | None, fetch_site: str | None) -> None:
        assert is_cross_site("POST", origin, fetch_site, ORIGIN)

    @pytest.mark.parametrize(("method", "origin", "fetch_site"), [
        ("POST", ORIGIN, "same-origin"), ("POST", None, None), ("DELETE", ORIGIN + "/", None),
        ("GET", "https://evil.example", "cross-site"), ("POST", None, "none"), ("POST", "null", "same-origin"),
    ])
    def test_same_origin_and_safe_requests_pass(self, method: str, origin: str | None,
                                                fetch_site: str | None) -> None:
        assert not is_cross_site(method, origin, fetch_site, ORIGIN)


class TestRouting:
    def test_paths_map_to_their_service(self) -> None:
        assert service_for("/api/v1/auth/login") == "identity"
        assert service_for("/api/v1/me") == "identity"
        assert service_for("/api/v1/accounts/1") == "connector"
        assert service_for("/api/v1/posts") == "publisher"
        assert service_for("/webhooks/meta") == "webhooks"
        assert service_for("/privacy/meta/data-deletion") == "privacy"
        assert service_for("/api/v1/meh") is None

    def test_only_the_sign_in_paths_are_open(self) -> None:
        assert not needs_session("/api/v1/auth/login")
        assert needs_session("/api/v1/auth/logout")
        assert needs_session("/api/v1/me")
        assert not needs_session("/webhooks/meta")
