"""Posts stored before they knew their due time get it when the migration runs, in batches, and the index is valid;
running it again (as after a failed index build) leaves the same result."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import asyncpg
from alembic import command

from deploy.system import create_database, database_name, drop_database, with_database
from shared.migrations import alembic_config
from tests.support import Stack

SCHEDULED = datetime(2027, 1, 5, 10, tzinfo=UTC)
TARGETS_DUE = datetime(2027, 2, 1, tzinfo=UTC)


async def insert_posts(url: str, count: int) -> dict[str, uuid.UUID]:
    """Every third post published at once (its targets' time), every tenth a draft with no time."""
    conn = await asyncpg.connect(url)
    user = uuid.uuid4()
    kinds: dict[str, uuid.UUID] = {}
    try:
        for i in range(count):
            kind = "draft" if i % 10 == 0 else "now" if i % 3 == 0 else "scheduled"
            post_id = uuid.uuid4()
            kinds.setdefault(kind, post_id)
            await conn.execute(
                "INSERT INTO publisher.posts (id, user_id, caption, media, scheduled_at, draft, created_at, "
                "updated_at) VALUES ($1, $2, '', '[]', $3, $4, now(), now())",
                post_id, user, SCHEDULED if kind == "scheduled" else None, kind == "draft")
            await conn.execute(
                "INSERT INTO publisher.targets (id, post_id, user_id, account_id, platform, kind, external_id, "
                "settings, status, due_at, next_attempt_at, attempts, needs_review, checkpoint, created_at, "
                "updated_at) VALUES ($1, $2, $3, $4, 'facebook', 'facebook_page', '1', '{}', 'scheduled', $5, "
                "now(), 0, false, '{}', now(), now())", uuid.uuid4(), post_id, user, uuid.uuid4(), TARGETS_DUE)
        return kinds
    finally:
        await conn.close()


async def due_times(url: str) -> tuple[dict[uuid.UUID, datetime | None], bool]:
    conn = await asyncpg.connect(url)
    try:
        rows = {r["id"]: r["due_at"] for r in await conn.fetch("SELECT id, due_at FROM publisher.posts")}
        valid = await conn.fetchval("SELECT indisvalid FROM pg_index WHERE indexrelid = "
                                    "'publisher.ix_posts_user_id_due_at'::regclass")
        return rows, bool(valid)
    finally:
        await conn.close()


def test_the_due_time_migration_fills_in_posts_stored_before_it(stack: Stack) -> None:
    url = with_database(stack.database_url, f"{database_name(stack.database_url)}_due_times")
    asyncio.run(create_database(url))
    try:
        asyncio.run(asyncpg_schema(url))
        config = alembic_config("publisher", url)
        command.upgrade(config, "0005")
        kinds = asyncio.run(insert_posts(url, 2100))  # three batches of the migration's thousand

        command.upgrade(config, "head")
        due, valid = asyncio.run(due_times(url))
        assert valid
        assert due[kinds["scheduled"]] == SCHEDULED
        assert due[kinds["now"]] == TARGETS_DUE
        assert due[kinds["draft"]] is None
        assert sum(1 for at in due.values() if at is None) == 210

        command.downgrade(config, "0006")
        command.upgrade(config, "head")
        assert asyncio.run(due_times(url)) == (due, True)
    finally:
        asyncio.run(drop_database(url))


async def asyncpg_schema(url: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("CREATE SCHEMA IF NOT EXISTS publisher")
    finally:
        await conn.close()
