"""Alembic per service: each schema keeps its own history, with the version table inside the schema."""

from __future__ import annotations

import asyncio
from pathlib import Path

import sqlalchemy as sa
from alembic import command, context
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from shared.db import async_url

SERVICES_DIR = Path(__file__).resolve().parent.parent / "services"
SCHEMA_SERVICES = ("identity", "connector", "publisher", "webhooks", "privacy", "media")


def alembic_config(service: str, url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(SERVICES_DIR / service / "migrations"))
    config.set_main_option("sqlalchemy.url", async_url(url).replace("%", "%%"))
    config.attributes["schema"] = service
    return config


def head_revision(service: str) -> str | None:
    return ScriptDirectory.from_config(alembic_config(service, "postgresql://x/x")).get_current_head()


def upgrade(service: str, url: str) -> None:
    command.upgrade(alembic_config(service, url), "head")


async def current_revision(engine: AsyncEngine, schema: str) -> str | None:
    async with engine.connect() as conn:
        # schema is one of our own service names, never user input
        result = await conn.execute(sa.text(f'SELECT version_num FROM "{schema}".alembic_version'))  # noqa: S608
        return result.scalar_one_or_none()


def run_env(metadata: sa.MetaData) -> None:
    """Body of every service's migrations/env.py."""
    schema = context.config.attributes.get("schema") or metadata.schema
    assert schema, "service metadata must name its schema"

    def include_object(obj: object, name: str | None, type_: str, reflected: bool, compare_to: object) -> bool:
        return type_ != "table" or getattr(obj, "schema", None) == schema

    def migrate(connection: Connection) -> None:
        context.configure(
            connection=connection,
            target_metadata=metadata,
            version_table_schema=schema,
            include_schemas=True,
            include_object=include_object,
        )
        with context.begin_transaction():
            context.run_migrations()

    async def run() -> None:
        engine = create_async_engine(context.config.get_main_option("sqlalchemy.url") or "", poolclass=NullPool)
        async with engine.connect() as conn:
            await conn.execute(sa.text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
            await conn.commit()
            await conn.run_sync(migrate)
            await conn.commit()
        await engine.dispose()

    asyncio.run(run())
