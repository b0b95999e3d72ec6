"""`make bench` (webhooks part): signed TikTok webhooks through the gateway into the webhooks service
(verified, stored, outboxed), against a bare endpoint of the same framework in the same run."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import os
import statistics
import subprocess
import sys
import time
from typing import Any

import asyncpg
import httpx

from bench.harness import run_and_report
from deploy.system import ROOT, System, free_port
from services.webhooks.settings import WebhooksSettings
from shared.internal import CLIENT_IP_HEADER, development_signer

RATE = int(os.environ.get("BENCH_WEBHOOK_RATE", "100"))
SECONDS = float(os.environ.get("BENCH_SECONDS", "10"))
CONCURRENCY = 16
SECRET = WebhooksSettings().tiktok_client_secret.get_secret_value()


def signed(index: int) -> tuple[bytes, dict[str, str]]:
    body = json.dumps({"client_key": "bench", "event": "post.publish.complete", "create_time": index,
                       "user_openid": f"bench-{index}", "content": json.dumps({"publish_id": f"b~{index}"})}).encode()
    t = int(time.time())
    signature = hmac.new(SECRET.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return body, {"content-type": "application/json", "tiktok-signature": f"t={t},s={signature}"}


def summary(latencies: list[float], ok: int, elapsed: float) -> dict[str, float]:
    q = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [0.0] * 99
    return {"accepted": ok, "per_second": round(ok / elapsed, 1), "p50_ms": round(q[49] * 1000, 1),
            "p99_ms": round(q[98] * 1000, 1)}


async def steady(url: str, offset: int) -> dict[str, float]:
    latencies: list[float] = []
    ok = 0
    async with httpx.AsyncClient(timeout=30) as http:
        async def one(i: int) -> None:
            nonlocal ok
            body, headers = signed(offset + i)
            started = time.perf_counter()
            response = await http.post(url, content=body, headers=headers)
            latencies.append(time.perf_counter() - started)
            ok += response.status_code == 200
        tasks, begin = [], time.monotonic()
        for i in range(int(RATE * SECONDS)):
            await asyncio.sleep(max(0.0, begin + i / RATE - time.monotonic()))
            tasks.append(asyncio.create_task(one(i)))
        await asyncio.gather(*tasks)
    return summary(latencies, ok, time.monotonic() - begin)


async def flat_out(url: str, offset: int, headers: dict[str, str] | None = None,
                   auth: httpx.Auth | None = None) -> dict[str, float]:
    latencies: list[float] = []
    ok, counter = 0, 0
    deadline = time.monotonic() + SECONDS
    async with httpx.AsyncClient(timeout=30, headers=headers, auth=auth) as http:
        async def worker() -> None:
            nonlocal ok, counter
            while time.monotonic() < deadline:
                counter += 1
                body, headers = signed(offset + counter)
                started = time.perf_counter()
                response = await http.post(url, content=body, headers=headers)
                latencies.append(time.perf_counter() - started)
                ok += response.status_code == 200
        begin = time.monotonic()
        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    return summary(latencies, ok, time.monotonic() - begin)


async def measure(system: System) -> dict[str, Any]:
    port = free_port()
    bare = subprocess.Popen([sys.executable, "-m", "bench.bare_endpoint", str(port)], cwd=ROOT)
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                httpx.get(f"http://127.0.0.1:{port}/docs", timeout=1)
                break
            except httpx.HTTPError:
                await asyncio.sleep(0.1)
        gateway = f"{system.url('gateway')}/webhooks/tiktok"
        ceiling = f"http://127.0.0.1:{port}/webhooks/tiktok"
        direct = f"{system.url('webhooks')}/webhooks/tiktok"
        results: dict[str, Any] = {"rate_per_second": RATE, "seconds": SECONDS,
                   "steady_postifys": await steady(gateway, 0), "steady_bare": await steady(ceiling, 10**6),
                   "flat_out_postifys": await flat_out(gateway, 2 * 10**6),
                   "flat_out_bare": await flat_out(ceiling, 3 * 10**6),
                   # The webhooks service alone, as the gateway calls it: what the second hop costs.
                   "flat_out_service_direct": await flat_out(direct, 4 * 10**6, headers={
                       CLIENT_IP_HEADER: "127.0.0.1"}, auth=development_signer(
                           system.env["POSTIFYS_INTERNAL_SECRET"], "gateway",
                           {"webhooks": system.url("webhooks")}).auth())}
    finally:
        bare.terminate()
        bare.wait()
    db = await asyncpg.connect(system.env["POSTIFYS_DATABASE_URL"])
    try:
        stored = await db.fetchval("SELECT count(*) FROM webhooks.deliveries")
    finally:
        await db.close()
    accepted = sum(results[k]["accepted"] for k in ("steady_postifys", "flat_out_postifys", "flat_out_service_direct"))
    results["stored"], results["lost"] = stored, accepted - stored
    results["share_of_ceiling"] = round(results["flat_out_postifys"]["per_second"]
                                        / max(results["flat_out_bare"]["per_second"], 1), 2)
    results["service_share_of_ceiling"] = round(results["flat_out_service_direct"]["per_second"]
                                                / max(results["flat_out_bare"]["per_second"], 1), 2)
    return results


def main() -> None:
    run_and_report("webhooks", measure)


if __name__ == "__main__":
    main()
