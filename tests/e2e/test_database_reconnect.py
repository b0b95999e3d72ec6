"""Connections are not pinged before each use. When the database drops them (a restart, a failover), a request
finds out at once: it answers 503 in the error shape (never 500), asking again works, and events and scheduled
posts go on being handled without anyone doing anything."""

from __future__ import annotations

import asyncpg
import httpx

from tests.e2e.publishing_support import Member, publishes, settled
from tests.support import Stack, wait_for


async def drop_service_connections(db: asyncpg.Connection) -> int:
    """What a database restart does to the services' pooled connections."""
    return int(await db.fetchval(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
        "WHERE datname = current_database() AND application_name LIKE 'postifys-%' AND pid <> pg_backend_pid()"))


async def test_dropped_database_connections_cost_one_polite_refusal_and_then_nothing(
        poster: Member, stack: Stack, db: asyncpg.Connection) -> None:
    assert (await poster.http.get("/api/v1/posts")).status_code == 200
    assert await drop_service_connections(db) > 0

    answers: list[httpx.Response] = []

    async def answered() -> bool:
        answers.append(await poster.http.get("/api/v1/posts"))
        return answers[-1].status_code == 200
    await wait_for(answered, timeout=10, message="the publisher to answer again")
    for refused in answers[:-1]:
        # From the service itself, or from the gateway when identity could not resolve the session: never a 401,
        # which would sign the person out over a database blip.
        assert refused.status_code == 503, refused.text
        assert refused.json()["error"]["code"] in ("database_reconnecting", "service_unavailable")
    assert len(answers) <= 3  # one stale connection per pool, not one per request

    # The consumers and the worker loop reconnect by themselves: a post still goes out, once. (Each service's
    # first request after the drop may be the one refused; the post is asked for until it is created.)
    await drop_service_connections(db)
    post = await wait_for(lambda: created(poster), timeout=10, message="the post to be created")
    await wait_for(answered, timeout=10, message="the publisher to answer again")
    [target] = (await settled(poster, post["id"]))["targets"]
    assert target["status"] == "published"
    assert len(await publishes(stack, platform="facebook")) == 1


async def created(poster: Member) -> dict[str, object] | None:
    answer = await poster.http.post("/api/v1/posts", headers={"Idempotency-Key": "after-the-restart"},
                                    json={"caption": "after the restart", "targets": [
                                        {"account_id": poster.accounts["page"]}]})
    return answer.json() if answer.status_code == 201 else None  # type: ignore[no-any-return]
