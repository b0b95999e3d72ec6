"""`make bench`: sign-in throughput and latency through the gateway and straight to identity, the gateway's
cost on a cheap authenticated read, how alike known and unknown emails look in time, and the resident memory
of every Postifys process at rest. Runs its own copy of the system (own database, broker prefix, ports)."""

from __future__ import annotations

import asyncio
import ipaddress
import os
import random
import secrets
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from bench.harness import run_and_report
from deploy.system import (
    System,
    resident_memory_kib,
)
from shared.internal import development_signer

DURATION = float(os.environ.get("BENCH_SECONDS", "15"))
CONCURRENCY = int(os.environ.get("BENCH_CONCURRENCY", "8"))
PASSWORD = "benchmark passphrase of some length"


def address() -> str:
    return str(ipaddress.ip_address("2001:db8::") + random.getrandbits(64))


async def load(call: Callable[[httpx.AsyncClient], Awaitable[httpx.Response]], client: httpx.AsyncClient,
               expect: int) -> dict[str, float]:
    latencies: list[float] = []
    errors = 0
    deadline = time.monotonic() + DURATION

    async def worker() -> None:
        nonlocal errors
        while time.monotonic() < deadline:
            started = time.perf_counter()
            response = await call(client)
            latencies.append(time.perf_counter() - started)
            errors += response.status_code != expect

    started = time.monotonic()
    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    elapsed = time.monotonic() - started
    quantiles = statistics.quantiles(latencies, n=100)
    return {"requests": len(latencies), "errors": errors, "rps": round(len(latencies) / elapsed, 1),
            "p50_ms": round(quantiles[49] * 1000, 1), "p99_ms": round(quantiles[98] * 1000, 1)}


async def median_ms(call: Callable[[], Awaitable[httpx.Response]], samples: int = 200) -> float:
    timings = []
    for _ in range(samples):
        started = time.perf_counter()
        await call()
        timings.append(time.perf_counter() - started)
    return round(statistics.median(timings) * 1000, 2)


async def measure(system: System) -> dict[str, Any]:
    gateway, identity = system.url("gateway"), system.url("identity")
    # Requests straight to identity are signed as the gateway signs them; those to the gateway are not.
    as_gateway = development_signer(system.env["POSTIFYS_INTERNAL_SECRET"], "gateway",
                                    {"identity": identity}).auth()
    results: dict[str, Any] = {"concurrency": CONCURRENCY, "seconds": DURATION}
    await asyncio.sleep(3)  # let start-up work settle before reading memory at rest
    # The sandbox stands in for the platforms: not a Postifys process.
    memory = {name: resident_memory_kib(p.pid) for name, p in system.processes.items() if name != "sandbox"}
    results["idle_rss_mib"] = {name: round(kib / 1024, 1) for name, kib in memory.items()}
    results["idle_rss_total_mib"] = round(sum(memory.values()) / 1024, 1)

    async with httpx.AsyncClient(base_url=gateway, timeout=30) as http:
        users = []
        for _ in range(CONCURRENCY):
            email = f"bench-{secrets.token_hex(4)}@example.com"
            r = await http.post("/api/v1/auth/signup", json={"name": "Bench", "email": email, "password": PASSWORD},
                                headers={"X-Forwarded-For": address()})
            assert r.status_code == 201, r.text
            users.append(email)
        login = await http.post("/api/v1/auth/login", json={"email": users[0], "password": PASSWORD})
        cookie = login.cookies["postifys_session"]

    def sign_in_via(base: str, headers: dict[str, str]) -> Callable[[httpx.AsyncClient], Awaitable[httpx.Response]]:
        async def call(client: httpx.AsyncClient) -> httpx.Response:
            return await client.post(f"{base}/api/v1/auth/login", headers=headers,
                                     json={"email": random.choice(users), "password": PASSWORD})
        return call

    limits = httpx.Limits(max_connections=CONCURRENCY * 2)
    async with httpx.AsyncClient(timeout=30, limits=limits, auth=as_gateway) as client:
        results["sign_in_via_gateway"] = await load(sign_in_via(gateway, {}), client, 200)
        results["sign_in_direct_to_identity"] = await load(sign_in_via(identity, {}), client, 200)

        async def me_via_gateway(c: httpx.AsyncClient) -> httpx.Response:
            return await c.get(f"{gateway}/api/v1/me", headers={"cookie": f"postifys_session={cookie}"})

        async def resolve_direct(c: httpx.AsyncClient) -> httpx.Response:
            return await c.post(f"{identity}/internal/sessions/resolve", json={"token": cookie})

        results["me_via_gateway"] = await load(me_via_gateway, client, 200)
        results["session_resolve_direct"] = await load(resolve_direct, client, 200)

        known, unknown = users[-1], "nobody-" + secrets.token_hex(4) + "@example.com"

        def reset(email: str) -> Callable[[], Awaitable[httpx.Response]]:
            return lambda: client.post(f"{gateway}/api/v1/auth/password-reset", json={"email": email})

        def wrong(email: str) -> Callable[[], Awaitable[httpx.Response]]:
            return lambda: client.post(f"{gateway}/api/v1/auth/login",
                                       json={"email": email, "password": "wrong password here"})
        results["enumeration_median_ms"] = {
            "reset_known": await median_ms(reset(known)), "reset_unknown": await median_ms(reset(unknown)),
            "sign_in_known_wrong_password": await median_ms(wrong(known), 90),
            "sign_in_unknown_email": await median_ms(wrong(unknown), 90),
        }
    gw, direct = results["sign_in_via_gateway"], results["sign_in_direct_to_identity"]
    results["gateway_overhead_sign_in_p50_ms"] = round(gw["p50_ms"] - direct["p50_ms"], 1)
    results["gateway_overhead_me_p50_ms"] = round(
        results["me_via_gateway"]["p50_ms"] - results["session_resolve_direct"]["p50_ms"], 1)
    return results


def main() -> None:
    run_and_report("signin", measure)


if __name__ == "__main__":
    main()
