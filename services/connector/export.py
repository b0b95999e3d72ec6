"""The connector's part of a user's data export: platform logins with their permissions, connected accounts with
their history, in the shape shared.contracts.export names (never a sealed token, a vault key or an OAuth state
hash)."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.connector import rules
from services.connector.tables import Account, AccountEvent, Connection
from shared.contracts.export import AccountEventExport, AccountExport, ConnectionExport, ConnectorExport

# Every query of an export sees the same moment, so a row added meanwhile never lacks its parent.
ONE_SNAPSHOT = {"isolation_level": "REPEATABLE READ"}


async def export_user(sessionmaker: async_sessionmaker[AsyncSession], user_id: uuid.UUID) -> ConnectorExport:
    async with sessionmaker() as session:
        await session.connection(execution_options=ONE_SNAPSHOT)
        connections = {c.id: c for c in await session.scalars(
            sa.select(Connection).where(Connection.user_id == user_id)
            .order_by(Connection.created_at, Connection.id))}
        accounts = list(await session.scalars(sa.select(Account).where(Account.user_id == user_id)
                                              .order_by(Account.connected_at, Account.id)))
        events = await session.scalars(
            sa.select(AccountEvent).join(Account, Account.id == AccountEvent.account_id)
            .where(Account.user_id == user_id).order_by(AccountEvent.at, AccountEvent.id))
        by_account: dict[uuid.UUID, list[AccountEventExport]] = {a.id: [] for a in accounts}
        for event in events:
            by_account[event.account_id].append(AccountEventExport(at=event.at, kind=event.kind, detail=event.detail))
    return ConnectorExport(
        connections=[connection_of(c) for c in connections.values()],
        accounts=[account_of(a, connections[a.connection_id], by_account[a.id]) for a in accounts])


def connection_of(connection: Connection) -> ConnectionExport:
    return ConnectionExport(id=connection.id, provider=connection.provider,
                            external_user_id=connection.external_user_id, name=connection.name,
                            granted_scopes=connection.granted_scopes, declined_scopes=connection.declined_scopes,
                            created_at=connection.created_at, updated_at=connection.updated_at)


def account_of(account: Account, connection: Connection, events: list[AccountEventExport]) -> AccountExport:
    reason = rules.unpublishable_reason(kind=account.kind, provider=connection.provider, status=account.status,
                                        tasks=account.tasks, granted=connection.granted_scopes)
    return AccountExport(
        id=account.id, connection_id=account.connection_id, platform=account.platform, kind=account.kind,
        external_id=account.external_id, name=account.name, username=account.username,
        avatar_url=account.avatar_url, category=account.category, tasks=account.tasks,
        via_page_id=account.via_page_id, status=account.status, status_reason=account.status_reason,
        unpublishable_reason=reason, connected_at=account.connected_at, updated_at=account.updated_at,
        disconnected_at=account.disconnected_at, events=events)
