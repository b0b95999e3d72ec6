"""Database plumbing: one async engine per process, a declarative base per service schema."""

from __future__ import annotations

from sqlalchemy import Delete, MetaData, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def schema_metadata(schema: str) -> MetaData:
    return MetaData(schema=schema, naming_convention=NAMING_CONVENTION)


def async_url(url: str) -> str:
    for prefix in ("postgresql+asyncpg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix):]
    raise ValueError("POSTIFYS_DATABASE_URL must be a postgresql:// URL")


def make_engine(url: str, *, service: str, pool_size: int = 10) -> AsyncEngine:
    return create_async_engine(
        async_url(url),
        pool_size=pool_size,
        max_overflow=pool_size,
        # No ping before each use: it doubled the round trips of a short transaction. A connection found dead is
        # reported (shared.http.errors answers 503) and the pool replaces every connection opened before it.
        pool_pre_ping=False,
        # Statement parameters (emails, hashes) would otherwise appear in error messages and so in logs.
        hide_parameters=True,
        connect_args={"server_settings": {"application_name": f"postifys-{service}"}, "timeout": 5},
    )


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


async def database_reachable(engine: AsyncEngine) -> bool:
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        return True
    except Exception:
        return False


async def delete_rows(session: AsyncSession, statement: Delete) -> int:
    """Runs a DELETE and says how many rows went."""
    result = await session.execute(statement)
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
