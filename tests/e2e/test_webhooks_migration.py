"""Deliveries stored before deletion could find them by platform id get their ids when the migration runs."""

from __future__ import annotations

import asyncio
import json
import uuid

import asyncpg
from alembic import command

from deploy.system import create_database, database_name, drop_database, with_database
from shared.migrations import alembic_config
from tests.support import Stack


async def insert_deliveries(url: str, rows: list[tuple[str, bytes]]) -> None:
    conn = await asyncpg.connect(url)
    try:
        for provider, body in rows:
            await conn.execute(
                "INSERT INTO webhooks.deliveries (id, provider, dedupe_key, received_at, headers, body, status, "
                "event_types) VALUES ($1, $2, $3, now(), '{}', $4, 'accepted', '[]')",
                uuid.uuid4(), provider, uuid.uuid4().hex, body)
    finally:
        await conn.close()


async def stored_subjects(url: str) -> dict[bytes, list[str]]:
    conn = await asyncpg.connect(url)
    try:
        return {bytes(r["body"]): list(r["subjects"])
                for r in await conn.fetch("SELECT body, subjects FROM webhooks.deliveries")}
    finally:
        await conn.close()


def test_the_subjects_migration_fills_in_the_ids_of_deliveries_stored_before_it(stack: Stack) -> None:
    url = with_database(stack.database_url, f"{database_name(stack.database_url)}_subjects")
    asyncio.run(create_database(url))
    try:
        config = alembic_config("webhooks", url)
        command.upgrade(config, "0002")
        tiktok = json.dumps({"event": "authorization.removed", "user_openid": "-000abc", "content": "{}"}).encode()
        meta = json.dumps({"object": "page", "entry": [{"id": "1029", "changes": []},
                                                        {"id": 1030, "changes": []}]}).encode()
        garbage = b"{not json"
        asyncio.run(insert_deliveries(url, [("tiktok", tiktok), ("meta", meta), ("meta", garbage)]))

        command.upgrade(config, "0003")

        assert asyncio.run(stored_subjects(url)) == {tiktok: ["-000abc"], meta: ["1029", "1030"], garbage: []}
    finally:
        asyncio.run(drop_database(url))
