"""The connector's part of a deletion: find the accounts it covers, revoke at the platforms what can be revoked,
destroy the tokens, and forget the accounts and logins. Answers with what it erased, for the services that hold
data about those accounts."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated

import sqlalchemy as sa
import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from services.connector.service import ConnectorService
from services.connector.tables import Account, Connection, ErasureAnswer, OAuthState
from services.connector.tokens import ACCESS, REFRESH, USER_ACCESS
from services.connector.vault import VaultError
from shared.db import delete_rows
from shared.events import ErasureCompleted, ErasureRequested, ErasureStepDone
from shared.messaging.consumer import Provided, Session, Subscriptions
from shared.platform_http import PlatformError

log = structlog.get_logger()
Connector = Annotated[ConnectorService, Provided()]


erasure = Subscriptions()


@erasure.on(ErasureRequested)
async def erase_accounts(request: ErasureRequested, session: Session, service: Connector) -> None:
    accounts = await covered_accounts(session, request)
    erased_ids = {a.id for a in accounts}
    logins = await covered_logins(session, request, {a.connection_id for a in accounts})
    whole = [c for c in logins if not await _keeps_other_accounts(session, c.id, erased_ids)]
    revoked = await revoke_at_platforms(session, service, accounts, whole)
    await service.tokens.destroy(session, [*erased_ids, *(c.id for c in whole)])
    external_ids = sorted({*(a.external_id for a in accounts), *(a.via_page_id for a in accounts if a.via_page_id),
                           *(c.external_user_id for c in whole)})
    await session.execute(sa.delete(Account).where(Account.id.in_(erased_ids)))
    await session.execute(sa.delete(Connection).where(Connection.id.in_([c.id for c in whole])))
    states = 0
    if request.scope == "account" and request.user_id is not None:
        states = await delete_rows(session, sa.delete(OAuthState).where(OAuthState.user_id == request.user_id))
    user_ids = {str(a.user_id) for a in accounts} | ({str(request.user_id)} if request.user_id else set())
    answer = await remember(session, request.request_id, user_ids, {str(i) for i in erased_ids},
                            set(external_ids))
    await service.runtime.outbox.add(session, ErasureStepDone(
        request_id=request.request_id, service="connector",
        erased={"accounts": len(accounts), "logins": len(whole), "revoked_at_platform": revoked,
                "authorization_attempts": states},
        user_ids=answer.user_ids, account_ids=answer.account_ids, external_ids=answer.external_ids))


@erasure.on(ErasureCompleted)
async def forget(done: ErasureCompleted, session: Session) -> None:
    await session.execute(sa.delete(ErasureAnswer).where(ErasureAnswer.request_id == done.request_id))


async def remember(session: AsyncSession, request_id: uuid.UUID, user_ids: set[str], account_ids: set[str],
                   external_ids: set[str]) -> ErasureAnswer:
    """This run's findings joined to any earlier run's for the same request: asked again after the accounts are
    gone, the connector still names them."""
    answer = await session.get(ErasureAnswer, request_id, with_for_update=True)
    if answer is None and not account_ids and not external_ids:
        # Nothing erased and nothing before: nothing to remember (also a late repeat after the request completed).
        return ErasureAnswer(request_id=request_id, user_ids=sorted(user_ids), account_ids=[], external_ids=[])
    if answer is None:
        answer = ErasureAnswer(request_id=request_id, user_ids=[], account_ids=[], external_ids=[])
        session.add(answer)
    answer.user_ids = sorted(user_ids | set(answer.user_ids))
    answer.account_ids = sorted(account_ids | set(answer.account_ids))
    answer.external_ids = sorted(external_ids | set(answer.external_ids))
    answer.answered_at = datetime.now(UTC)
    return answer


async def covered_accounts(session: AsyncSession, request: ErasureRequested) -> list[Account]:
    query = sa.select(Account).with_for_update()
    if request.meta_user_id is not None:
        logins = sa.select(Connection.id).where(Connection.provider.in_(("facebook", "instagram")),
                                                Connection.external_user_id == request.meta_user_id)
        query = query.where(Account.connection_id.in_(logins))
    elif request.user_id is not None:
        query = query.where(Account.user_id == request.user_id)
        if request.scope == "connections" and request.account_ids is not None:
            query = query.where(Account.id.in_(request.account_ids))
    else:
        return []
    return list((await session.scalars(query)).all())


async def covered_logins(session: AsyncSession, request: ErasureRequested,
                         of_accounts: set[uuid.UUID]) -> list[Connection]:
    """The logins of the covered accounts, and, when everything is asked for, every login of the user (or of that
    Facebook person) even without an account: one with no Pages still holds a name, an id and a token."""
    covered: sa.ColumnElement[bool] = Connection.id.in_(of_accounts)
    if request.meta_user_id is not None:
        covered = sa.or_(covered, sa.and_(Connection.provider.in_(("facebook", "instagram")),
                                          Connection.external_user_id == request.meta_user_id))
    elif request.user_id is not None and (request.scope == "account" or request.account_ids is None):
        covered = sa.or_(covered, Connection.user_id == request.user_id)
    return list((await session.scalars(sa.select(Connection).where(covered).with_for_update())).all())


async def _keeps_other_accounts(session: AsyncSession, connection_id: uuid.UUID, erased: set[uuid.UUID]) -> bool:
    others = await session.scalar(sa.select(sa.func.count()).select_from(Account).where(
        Account.connection_id == connection_id, Account.id.not_in(erased)))
    return bool(others)


async def revoke_at_platforms(session: AsyncSession, service: ConnectorService, accounts: list[Account],
                              whole_logins: list[Connection]) -> int:
    """TikTok revokes per creator; Graph's revoke removes the app for a whole Facebook login, so only for logins
    erased entirely. Instagram Login has no revoke endpoint: its tokens are destroyed here and lapse there.
    A platform that fails to answer does not stop the deletion."""
    revoked = 0
    calls: list[tuple[str, str]] = []
    for account in accounts:
        if account.platform == "tiktok":
            token = await _readable(service, session, account.id, ACCESS) \
                or await _readable(service, session, account.id, REFRESH)
            if token:
                calls.append(("tiktok", token))
    for login in whole_logins:
        if login.provider == "facebook":
            token = await _readable(service, session, login.id, USER_ACCESS)
            if token:
                calls.append(("facebook", token))
    for provider, token_value in calls:
        try:
            await service.providers[provider].revoke(token_value)
            revoked += 1
        except PlatformError as exc:
            log.warning("Revoking at the platform failed during deletion; tokens destroyed anyway",
                        platform=provider, error=exc.message[:200])
    return revoked


async def _readable(service: ConnectorService, session: AsyncSession, owner_id: uuid.UUID, purpose: str) -> str | None:
    """The token, if it can still be opened; one that cannot (its key retired) is destroyed all the same."""
    try:
        found = await service.tokens.get(session, owner_id, purpose)
    except VaultError:
        return None
    return found[0] if found else None
