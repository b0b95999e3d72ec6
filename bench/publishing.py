"""`make bench` (publishing part): targets per second end to end, and the time from a target's due time to
its first platform call and to published, with every platform call taking 50 ms in the sandbox.
Runs its own copy of the system. BENCH_TARGETS (default 2000) targets over BENCH_PAGES (default 50) Pages."""

from __future__ import annotations

import asyncio
import os
import secrets
import statistics
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import asyncpg
import httpx

from bench.harness import run_and_report
from deploy.system import System

TARGETS = int(os.environ.get("BENCH_TARGETS", "2000"))
PAGES = int(os.environ.get("BENCH_PAGES", "50"))
LATENCY_MS = 50
PASSWORD = "benchmark passphrase of some length"


def percentiles(values: list[float]) -> dict[str, float]:
    if len(values) < 2:
        return {"p50_ms": round(values[0] * 1000, 1) if values else 0.0, "p99_ms": 0.0}
    q = statistics.quantiles(values, n=100)
    return {"p50_ms": round(q[49] * 1000, 1), "p99_ms": round(q[98] * 1000, 1)}


async def signed_in_member(gateway: str, sandbox: str) -> tuple[httpx.AsyncClient, str]:
    http = httpx.AsyncClient(base_url=gateway, timeout=60)
    email = f"bench-{secrets.token_hex(4)}@example.com"
    await http.post("/api/v1/auth/signup", json={"name": "Bench", "email": email, "password": PASSWORD})
    return http, email


async def connect_pages(http: httpx.AsyncClient, sandbox: str) -> list[str]:
    async with httpx.AsyncClient(base_url=sandbox, timeout=60) as control:
        user = (await control.post("/_sandbox/facebook/users", json={
            "name": "Bench Owner", "pages": [{"name": f"Bench Page {i}"} for i in range(PAGES)]})).json()
        start = await http.get("/api/v1/connections/facebook/start")
        authorize = httpx.URL(start.headers["location"])
        form = [*authorize.params.multi_items(), ("user_id", str(user["id"])), ("decision", "allow")]
        consent = await control.post(authorize.path, content=urlencode(form),
                                     headers={"content-type": "application/x-www-form-urlencoded"})
    callback = httpx.URL(consent.headers["location"].split("#")[0])
    await http.get(callback.raw_path.decode())
    accounts = (await http.get("/api/v1/accounts")).json()["items"]
    return [a["id"] for a in accounts if a["kind"] == "facebook_page" and a["publishable"]]


async def run_batch(http: httpx.AsyncClient, db: asyncpg.Connection, pages: list[str], count: int,
                    lead: float) -> dict[str, Any]:
    due = datetime.now(UTC) + timedelta(seconds=lead)
    created = 0

    async def make(index: int) -> None:
        nonlocal created
        response = await http.post("/api/v1/posts", json={
            "caption": f"bench {secrets.token_hex(6)} #{index}", "scheduled_at": due.isoformat(),
            "targets": [{"account_id": pages[index % len(pages)]}]})
        assert response.status_code == 201, response.text
        created += 1

    started = time.monotonic()
    for chunk in range(0, count, 50):
        await asyncio.gather(*(make(i) for i in range(chunk, min(count, chunk + 50))))
    creation_seconds = time.monotonic() - started
    assert datetime.now(UTC) < due, f"creating {count} posts took longer than the {lead}s lead"
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        done = await db.fetchval("SELECT count(*) FROM publisher.targets WHERE due_at = $1 AND status IN "
                                 "('published', 'failed', 'cancelled')", due)
        if done == count:
            break
        await asyncio.sleep(0.5)
    rows = await db.fetch("""
        SELECT t.status, t.due_at, t.finished_at,
               (SELECT min(e.at) FROM publisher.target_events e
                 WHERE e.target_id = t.id AND e.request IS NOT NULL) AS first_call
          FROM publisher.targets t WHERE t.due_at = $1""", due)
    finished = [r["finished_at"] for r in rows if r["finished_at"]]
    span = (max(finished) - due).total_seconds() if finished else float("nan")
    return {
        "targets": count, "published": sum(r["status"] == "published" for r in rows),
        "failed": sum(r["status"] == "failed" for r in rows), "creation_per_second": round(count / creation_seconds, 1),
        "targets_per_second": round(count / span, 1) if finished else 0,
        "due_to_first_call": percentiles([(r["first_call"] - r["due_at"]).total_seconds()
                                          for r in rows if r["first_call"]]),
        "due_to_published": percentiles([(r["finished_at"] - r["due_at"]).total_seconds()
                                         for r in rows if r["finished_at"]]),
    }


async def measure(system: System) -> dict[str, Any]:
    gateway, sandbox = system.url("gateway"), system.env["POSTIFYS_SANDBOX_URL"]
    async with httpx.AsyncClient(base_url=sandbox) as control:
        await control.put("/_sandbox/settings", json={"latency_ms": LATENCY_MS, "app_usage_calls_per_hour": 10**9,
                                                      "business_usage_calls_per_hour": 10**9})
    http, email = await signed_in_member(gateway, sandbox)
    db = await asyncpg.connect(system.env["POSTIFYS_DATABASE_URL"])
    try:
        user = await db.fetchval("SELECT id FROM identity.users WHERE email = $1", email)
        await db.execute("UPDATE identity.users SET email_verified_at = now() WHERE id = $1", user)
        await http.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
        pages = await connect_pages(http, sandbox)
        idle = await run_batch(http, db, pages, 10, lead=3)
        load = await run_batch(http, db, pages, TARGETS, lead=max(30.0, TARGETS / 25))
    finally:
        await db.close()
        await http.aclose()
    return {"platform_latency_ms": LATENCY_MS, "pages": len(pages), "idle_10_targets": idle, "load": load}


def main() -> None:
    # One member creates every post of the benchmark, far beyond a person's quota.
    run_and_report("publishing", measure, {"POSTIFYS_WORKER_POLL_SECONDS": "0.2",
                                           "POSTIFYS_POSTS_PER_MINUTE": "10000000",
                                           "POSTIFYS_POSTS_PER_HOUR": "10000000"})


if __name__ == "__main__":
    main()
