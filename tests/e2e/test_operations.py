"""What operators rely on: health, readiness, metrics, request ids across services, the gateway's limits."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.e2e.test_limits_and_replays import gateway_metrics_url
from tests.support import STRONG_PASSWORD, Stack, unique_email, wait_for

PROCESSES = ("gateway", "identity", "connector", "publisher", "webhooks", "privacy", "media")


@pytest.mark.parametrize("name", PROCESSES)
async def test_every_process_serves_health_readiness_and_prometheus_metrics(name: str, stack: Stack) -> None:
    base = stack.system.url(name)
    async with httpx.AsyncClient(base_url=base) as http:
        assert (await http.get("/healthz")).status_code == 200
        ready = await http.get("/readyz")
        assert ready.status_code == 200
        assert all(ready.json()["checks"].values())
        # The gateway serves its metrics only on its internal listener (test_limits_and_replays).
        metrics = await http.get(gateway_metrics_url(stack) if name == "gateway" else "/metrics")
        assert metrics.status_code == 200
        assert metrics.headers["content-type"].startswith("text/plain")
        assert "# TYPE postifys_http_requests_total counter" in metrics.text


async def test_a_request_id_follows_the_request_into_every_service_log_and_event(client: httpx.AsyncClient,
                                                                                 stack: Stack) -> None:
    request_id = "journey-0123456789abcdef"
    response = await client.post("/api/v1/auth/signup", headers={"X-Request-ID": request_id},
                                 json={"name": "Traced", "email": unique_email(), "password": STRONG_PASSWORD})
    assert response.status_code == 201
    assert response.headers["x-request-id"] == request_id

    def lines(name: str) -> list[dict]:
        path = stack.log_dir / f"{name}.log"
        return [json.loads(line) for line in path.read_text().splitlines() if line.startswith("{")]

    assert any(line.get("request_id") == request_id for line in lines("gateway"))
    assert any(line.get("request_id") == request_id for line in lines("identity"))

    async def privacy_handled_it() -> bool:
        return any(line.get("correlation_id") == request_id and line.get("event_type") == "user.registered"
                   for line in lines("privacy"))
    await wait_for(privacy_handled_it, message="privacy to log the event under the request's id")


async def test_the_gateway_limits_each_client_address(new_client) -> None:
    async with new_client() as noisy, new_client() as quiet:
        statuses = [(await noisy.get("/api/v1/me")).status_code for _ in range(130)]
        assert statuses[0] == 401
        assert statuses[-1] == 429
        limited = await noisy.get("/api/v1/me")
        assert limited.json()["error"]["code"] == "rate_limited"
        assert int(limited.headers["retry-after"]) >= 1
        assert (await quiet.get("/api/v1/me")).status_code == 401


async def test_the_privacy_policy_is_served(client: httpx.AsyncClient) -> None:
    response = await client.get("/privacy")
    assert response.status_code == 200
    assert "Privacy Policy" in response.text
