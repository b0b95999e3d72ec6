"""Connector use cases: connect through OAuth, keep tokens usable, disconnect, answer the publisher."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import urlencode

import sqlalchemy as sa
import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from services.connector import rules
from services.connector.platforms import (
    Asset,
    Authorization,
    InstagramLogin,
    MetaGraph,
    TikTok,
    new_state,
)
from services.connector.settings import ConnectorSettings
from services.connector.tables import Account, AccountEvent, Connection, OAuthState
from services.connector.tokens import ACCESS, REFRESH, USER_ACCESS, TokenStore
from shared.errors import BadRequest, Conflict, NotFound, PostifysError, TooManyRequests
from shared.events import AccountConnected, AccountDisconnected, AccountReauthRequired
from shared.internal import Caller
from shared.platform_http import PlatformError
from shared.runtime import ServiceRuntime
from shared.token_fingerprint import token_fingerprint

log = structlog.get_logger()
T = TypeVar("T")


class PlatformUnavailable(PostifysError):
    status_code = 503
    code = "platform_unavailable"


def reauth_required(account: Account) -> Conflict:
    return Conflict(f"{rules.PLATFORM_NAMES[account.platform]} no longer accepts Postifys' authorization for "
                    f"{account.name or account.username}. Reconnect this account.", code="reauth_required")


def state_hash(state: str) -> bytes:
    return hashlib.sha256(state.encode()).digest()


def still_usable(fingerprint: str, expires_at: datetime | None, *, rejected: str | None, now: datetime,
                 margin: timedelta) -> bool:
    """Whether the stored TikTok token (by its fingerprint) can be answered instead of refreshing: not the one the
    platform refused, if one was, and not expiring within the margin either way."""
    if rejected is not None and fingerprint == rejected:
        return False
    return expires_at is not None and expires_at - now >= margin


@dataclass(frozen=True)
class IssuedToken:
    access_token: str
    expires_at: datetime | None
    account: Account


class ConnectorService:
    def __init__(self, runtime: ServiceRuntime, settings: ConnectorSettings, providers: dict[str, Any],
                 tokens: TokenStore, now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.runtime = runtime
        self.settings = settings
        self.providers = providers
        self.tokens = tokens
        self.now = now

    def redirect_uri(self, provider: str) -> str:
        return f"{self.settings.public_url}/api/v1/connections/{provider}/callback"

    def accounts_page(self, **outcome: str) -> str:
        return f"{self.settings.public_url}/accounts?{urlencode(outcome)}"

    # --- connecting ----------------------------------------------------------------------------

    def require_configured(self, provider: str) -> None:
        """Instagram Login is optional in production: without its app there is nothing to send people to."""
        if provider == "instagram" and not self.settings.instagram_login_configured:
            raise Conflict("Instagram Login is not set up on this Postifys. Connect an Instagram professional "
                           "account through its Facebook Page instead.", code="provider_not_configured")

    async def start(self, caller: Caller, provider: str) -> str:
        self.require_configured(provider)
        state = new_state()
        now = self.now()
        async with self.runtime.transaction() as session:
            session.add(OAuthState(state_hash=state_hash(state), provider=provider, user_id=caller.user_id,
                                   session_id=caller.session_id, created_at=now,
                                   expires_at=now + timedelta(seconds=self.settings.oauth_state_lifetime_seconds)))
        return str(self.providers[provider].authorize_url(
            state=state, redirect_uri=self.redirect_uri(provider), scopes=rules.REQUESTED_SCOPES[provider]))

    async def _claim_state(self, caller: Caller, provider: str, state: str) -> None:
        now = self.now()
        async with self.runtime.transaction() as session:
            record = await session.scalar(sa.select(OAuthState).where(OAuthState.state_hash == state_hash(state))
                                          .with_for_update())
            valid = (record is not None and record.provider == provider and record.user_id == caller.user_id
                     and record.session_id == caller.session_id and record.used_at is None
                     and record.expires_at > now)
            if record is not None and record.used_at is None:
                record.used_at = now  # single use, whatever happens next
        if not valid:
            raise BadRequest("This connection attempt is invalid, was already used, or has expired. "
                             "Start connecting again from your accounts page.", code="invalid_state")

    async def complete(self, caller: Caller, provider: str, params: dict[str, str]) -> str:
        """Handles the platform's redirect; answers where to send the browser next."""
        self.require_configured(provider)
        state = params.get("state", "")
        if not state or len(state) > 256:
            raise BadRequest("The platform's answer carries no valid state.", code="invalid_state")
        await self._claim_state(caller, provider, state)
        if params.get("error"):
            reason = "denied" if params["error"] == "access_denied" else "platform_error"
            log.info("Connection refused at the platform", provider=provider, error=params["error"][:100])
            return self.accounts_page(provider=provider, result=reason)
        code = params.get("code", "")
        if not code or len(code) > 2048:
            raise BadRequest("The platform's answer carries no authorization code.", code="invalid_callback")
        try:
            authorization = await self.providers[provider].authorize(
                code=code, redirect_uri=self.redirect_uri(provider), requested=rules.REQUESTED_SCOPES[provider])
        except PlatformError as exc:
            log.warning("Connection failed at the platform", provider=provider, platform_code=exc.code,
                        platform_message=exc.message[:300])
            return self.accounts_page(provider=provider, result="failed")
        connected = await self._store(caller.user_id, provider, authorization)
        return self.accounts_page(provider=provider, result="connected", count=str(connected))

    async def _store(self, user_id: uuid.UUID, provider: str, authorization: Authorization) -> int:
        now = self.now()
        async with self.runtime.transaction() as session:
            connection = await session.scalar(sa.select(Connection).where(
                Connection.user_id == user_id, Connection.provider == provider,
                Connection.external_user_id == authorization.external_user_id).with_for_update())
            if connection is None:
                connection = Connection(id=uuid.uuid4(), user_id=user_id, provider=provider,
                                        external_user_id=authorization.external_user_id, created_at=now)
                session.add(connection)
            connection.name = authorization.name
            connection.granted_scopes = authorization.granted
            connection.declined_scopes = authorization.declined
            connection.updated_at = now
            await session.flush()
            await self.tokens.put(session, connection.id, USER_ACCESS, authorization.user_token, now)
            for asset in authorization.assets:
                await self._store_account(session, connection, asset, now)
        return len(authorization.assets)

    async def _store_account(self, session: AsyncSession, connection: Connection, asset: Asset,
                             now: datetime) -> None:
        account = await session.scalar(sa.select(Account).where(
            Account.user_id == connection.user_id, Account.kind == asset.kind,
            Account.external_id == asset.external_id).with_for_update())
        reconnected = account is not None
        if account is None:
            account = Account(id=uuid.uuid4(), user_id=connection.user_id, kind=asset.kind,
                              external_id=asset.external_id, connected_at=now)
            session.add(account)
        account.connection_id = connection.id
        # The platform the asset lives on; an Instagram account reached through a Page is still Instagram.
        account.platform = "instagram" if asset.kind == "instagram" else connection.provider
        account.name, account.username, account.avatar_url = asset.name, asset.username, asset.avatar_url
        account.category, account.tasks, account.via_page_id = asset.category, asset.tasks, asset.via_page_id
        account.status, account.status_reason = rules.ACTIVE, None
        account.updated_at = account.checked_at = now
        account.disconnected_at = None
        await session.flush()
        await self.tokens.put(session, account.id, ACCESS, asset.access, now)
        await self.tokens.put(session, account.id, REFRESH, asset.refresh, now)
        session.add(AccountEvent(account_id=account.id, at=now, kind="reconnected" if reconnected else "connected"))
        await self.runtime.outbox.add(session, AccountConnected(
            account_id=account.id, user_id=account.user_id, platform=account.platform, kind=account.kind,
            name=account.name or account.username, reconnected=reconnected))

    # --- reading -------------------------------------------------------------------------------

    async def list_accounts(self, user_id: uuid.UUID) -> list[tuple[Account, Connection]]:
        async with self.runtime.sessionmaker() as session:
            rows = await session.execute(
                sa.select(Account, Connection).join(Connection, Connection.id == Account.connection_id)
                .where(Account.user_id == user_id).order_by(Account.connected_at, Account.id).limit(500))
            return [(a, c) for a, c in rows.all()]

    async def own_account(self, session: AsyncSession, user_id: uuid.UUID, account_id: uuid.UUID,
                          lock: bool = False) -> tuple[Account, Connection]:
        query = (sa.select(Account, Connection).join(Connection, Connection.id == Account.connection_id)
                 .where(Account.id == account_id, Account.user_id == user_id))
        row = (await session.execute(query.with_for_update(of=Account) if lock else query)).first()
        if row is None:
            raise NotFound("No such account.", code="account_not_found")
        return row[0], row[1]

    # --- tokens --------------------------------------------------------------------------------

    async def access_token(self, user_id: uuid.UUID, account_id: uuid.UUID) -> IssuedToken:
        """A token the platform will accept now, refreshed first if it is about to expire."""
        async with self.runtime.sessionmaker() as session:
            account, _ = await self.own_account(session, user_id, account_id)
            if account.status != rules.ACTIVE:
                raise reauth_required(account) if account.status == rules.REAUTH_REQUIRED else \
                    Conflict("This account is disconnected.", code="account_disconnected")
            stored = await self.tokens.get(session, account.id, ACCESS)
        if stored is None:
            raise reauth_required(account)
        value, secret = stored
        margin = timedelta(seconds=self.settings.tiktok_refresh_margin_seconds)
        if account.platform == "tiktok" and secret.expires_at and secret.expires_at - self.now() < margin:
            value, expires_at = await self.refresh_tiktok(account.id)
            return IssuedToken(value, expires_at, account)
        return IssuedToken(value, secret.expires_at, account)

    async def refresh_tiktok(self, account_id: uuid.UUID, rejected: str | None = None) -> tuple[str, datetime | None]:
        """Refreshes under a row lock, so two refreshes never race to spend one rotating refresh token;
        the new access and refresh tokens are written in one transaction. `rejected` is the fingerprint of a
        token TikTok refused before its time: that one is refreshed whatever its expiry says."""
        client: TikTok = self.providers["tiktok"]
        now = self.now()
        async with self.runtime.transaction() as session:
            account = await session.get_one(Account, account_id, with_for_update=True)
            current = await self.tokens.get(session, account_id, ACCESS, lock=True)
            margin = timedelta(seconds=self.settings.tiktok_refresh_margin_seconds)
            if current and still_usable(token_fingerprint(current[0]), current[1].expires_at, rejected=rejected,
                                        now=now, margin=margin):
                return current[0], current[1].expires_at  # another process refreshed it meanwhile
            refresh = await self.tokens.get(session, account_id, REFRESH, lock=True)
            if refresh is None:
                failure: PlatformError | None = PlatformError("tiktok", "No refresh token is stored.",
                                                              token_invalid=True)
            else:
                try:
                    access, new_refresh = await client.refresh(refresh[0])
                    failure = None
                except PlatformError as exc:
                    failure = exc
            if failure is None:
                await self.tokens.put(session, account_id, ACCESS, access, now)
                await self.tokens.put(session, account_id, REFRESH, new_refresh, now)
                why = "TikTok refused the access token before its expiry" if rejected else "the token was expiring"
                session.add(AccountEvent(account_id=account_id, at=now, kind="token_refreshed", detail=why))
                log.info("TikTok token refreshed", account_id=str(account_id), reason=why)
                return access.value, now + timedelta(seconds=access.expires_in or 0)
            if failure.token_invalid:
                await self.mark_reauth(session, account, failure.message)
        assert failure is not None
        if failure.token_invalid:
            raise reauth_required(account)
        raise PlatformUnavailable(f"TikTok could not refresh the authorization: {failure.message}")

    async def _tiktok_call(self, account_id: uuid.UUID, token: str, call: Callable[[str], Awaitable[T]]) -> T:
        """A TikTok call that, refused for an invalid token, is made once more with a refreshed one."""
        try:
            return await call(token)
        except PlatformError as exc:
            if not exc.token_invalid:
                raise
        fresh, _ = await self.refresh_tiktok(account_id, rejected=token_fingerprint(token))
        return await call(fresh)

    async def mark_reauth(self, session: AsyncSession, account: Account, reason: str) -> None:
        if account.status != rules.ACTIVE:
            return
        now = self.now()
        account.status, account.status_reason, account.updated_at = rules.REAUTH_REQUIRED, reason[:500], now
        session.add(AccountEvent(account_id=account.id, at=now, kind="reauth_required", detail=reason[:500]))
        await self.runtime.outbox.add(session, AccountReauthRequired(
            account_id=account.id, user_id=account.user_id, platform=account.platform, kind=account.kind,
            name=account.name or account.username, reason=reason[:500]))
        log.warning("Account needs reconnecting", account_id=str(account.id), platform=account.platform)

    async def token_rejected(self, user_id: uuid.UUID, account_id: uuid.UUID,
                             rejected: str | None = None) -> tuple[Account, str | None]:
        """The publisher saw the platform refuse this account's token. A TikTok token named by its fingerprint
        is refreshed (unless another caller already did) and the usable token answered with the account;
        otherwise the account is checked now."""
        async with self.runtime.sessionmaker() as session:
            account, _ = await self.own_account(session, user_id, account_id)
        token: str | None = None
        if account.platform == "tiktok" and rejected is not None and account.status == rules.ACTIVE:
            try:
                token, _ = await self.refresh_tiktok(account.id, rejected)
            except PostifysError as exc:
                if exc.code != "reauth_required":
                    raise
        else:
            await self.check(account.id)
        async with self.runtime.sessionmaker() as session:
            account = await session.get_one(Account, account_id)
        return account, token if account.status == rules.ACTIVE else None

    async def check(self, account_id: uuid.UUID) -> None:
        """Asks the platform whether the account's token still works; refreshes what is due."""
        now = self.now()
        async with self.runtime.sessionmaker() as session:
            account = await session.get_one(Account, account_id)
            stored = await self.tokens.get(session, account_id, ACCESS)
        if account.status != rules.ACTIVE:
            return
        failure: str | None = "No token is stored." if stored is None else None
        if stored is not None:
            value, secret = stored
            try:
                if account.platform == "tiktok":
                    margin = timedelta(seconds=self.settings.tiktok_refresh_margin_seconds)
                    if secret.expires_at and secret.expires_at - now < margin:
                        value, _ = await self.refresh_tiktok(account_id)
                    await self._tiktok_call(account_id, value, self.providers["tiktok"].user_info)
                elif account.platform == "instagram" and account.via_page_id is None:
                    await self._refresh_instagram_if_due(account, value, secret.issued_at, secret.expires_at)
                    await self.providers["instagram"].me(value)
                elif not await self.providers["facebook"].token_is_valid(value):
                    failure = "Facebook reports the authorization as no longer valid."
            except PlatformError as exc:
                if not exc.token_invalid:
                    log.warning("Token check inconclusive", account_id=str(account_id), error=exc.message[:200])
                    return
                failure = exc.message
            except PostifysError as exc:
                if exc.code != "reauth_required":
                    return
                failure = exc.message
        async with self.runtime.transaction() as session:
            account = await session.get_one(Account, account_id, with_for_update=True)
            account.checked_at = now
            if failure:
                await self.mark_reauth(session, account, failure)

    async def _refresh_instagram_if_due(self, account: Account, token: str, issued_at: datetime,
                                        expires_at: datetime | None) -> None:
        now = self.now()
        margin = timedelta(seconds=self.settings.instagram_refresh_margin_seconds)
        if expires_at is None or expires_at - now > margin or now - issued_at < timedelta(hours=24):
            return
        fresh = await self.providers["instagram"].refresh(token)
        async with self.runtime.transaction() as session:
            await self.tokens.put(session, account.id, ACCESS, fresh, now)
            session.add(AccountEvent(account_id=account.id, at=now, kind="token_refreshed"))

    async def accounts_due_for_check(self, limit: int = 50) -> list[uuid.UUID]:
        cutoff = self.now() - timedelta(seconds=self.settings.token_check_interval_seconds)
        async with self.runtime.sessionmaker() as session:
            rows = await session.scalars(sa.select(Account.id).where(
                Account.status == rules.ACTIVE, Account.checked_at < cutoff).order_by(Account.checked_at).limit(limit))
            return list(rows)

    # --- disconnecting -------------------------------------------------------------------------

    async def disconnect(self, user_id: uuid.UUID, account_id: uuid.UUID) -> None:
        async with self.runtime.sessionmaker() as session:
            account, connection = await self.own_account(session, user_id, account_id)
            if account.status == rules.DISCONNECTED:
                return
            access = await self.tokens.get(session, account.id, ACCESS)
            refresh = await self.tokens.get(session, account.id, REFRESH)
            user_token = await self.tokens.get(session, connection.id, USER_ACCESS)
            others = await session.scalar(sa.select(sa.func.count()).select_from(Account).where(
                Account.connection_id == connection.id, Account.id != account.id,
                Account.status != rules.DISCONNECTED))
        revoked = await self._revoke_at_platform(account, access, refresh, user_token, last=not others)
        now = self.now()
        async with self.runtime.transaction() as session:
            account = await session.get_one(Account, account_id, with_for_update=True)
            owners = [account.id] + ([connection.id] if not others else [])
            await self.tokens.destroy(session, owners)
            account.status, account.status_reason = rules.DISCONNECTED, None
            account.disconnected_at = account.updated_at = now
            session.add(AccountEvent(account_id=account.id, at=now, kind="disconnected",
                                     detail="revoked at the platform" if revoked else "tokens destroyed"))
            await self.runtime.outbox.add(session, AccountDisconnected(
                account_id=account.id, user_id=account.user_id, platform=account.platform, kind=account.kind,
                name=account.name or account.username))

    async def _revoke_at_platform(self, account: Account, access: tuple[str, Any] | None,
                                  refresh: tuple[str, Any] | None, user_token: tuple[str, Any] | None,
                                  last: bool) -> bool:
        try:
            if account.platform == "tiktok" and (access or refresh):
                await self.providers["tiktok"].revoke((access or refresh)[0])  # type: ignore[index]
                return True
            # Graph's revoke removes the app for the whole Facebook login: only once no Page of it is left.
            if rules.login_provider(account.kind, account.platform, account.via_page_id) == "facebook" \
                    and last and user_token:
                await self.providers["facebook"].revoke(user_token[0])
                return True
        except PlatformError as exc:
            log.warning("Revoking at the platform failed; tokens destroyed anyway", platform=account.platform,
                        error=exc.message[:200])
        return False

    # --- what the composer needs ---------------------------------------------------------------

    async def publishing_options(self, user_id: uuid.UUID, account_id: uuid.UUID) -> dict[str, Any]:
        token = await self.access_token(user_id, account_id)
        account = token.account
        try:
            if account.platform == "tiktok":
                info = await self._tiktok_call(account.id, token.access_token, self.providers["tiktok"].creator_info)
                return {"platform": "tiktok", "tiktok": {
                    "creator_nickname": info.get("creator_nickname"),
                    "creator_username": info.get("creator_username"),
                    "creator_avatar_url": info.get("creator_avatar_url"),
                    "privacy_level_options": info.get("privacy_level_options") or [],
                    "comment_disabled": bool(info.get("comment_disabled")),
                    "duet_disabled": bool(info.get("duet_disabled")),
                    "stitch_disabled": bool(info.get("stitch_disabled")),
                    "max_video_post_duration_sec": info.get("max_video_post_duration_sec")}}
            if account.kind == "instagram":
                client = self.providers["facebook" if account.via_page_id else "instagram"]
                return {"platform": "instagram",
                        "instagram": await client.publishing_limit(account.external_id, token.access_token)}
            return {"platform": "facebook", "facebook": {"page_id": account.external_id, "name": account.name}}
        except PlatformError as exc:
            if exc.token_invalid and account.platform == "tiktok":
                # Refused again with the token just refreshed: the authorization itself is gone.
                async with self.runtime.transaction() as session:
                    await self.mark_reauth(session, await session.get_one(Account, account.id, with_for_update=True),
                                           exc.message)
                raise reauth_required(account) from None
            if exc.token_invalid:
                await self.check(account.id)
                raise reauth_required(account) from None
            if exc.rate_limited:
                raise TooManyRequests(f"{rules.PLATFORM_NAMES[account.platform]} limits how often Postifys may ask "
                                      "about this account. Try again in a minute.", code="platform_rate_limited",
                                      headers={"Retry-After": str(exc.retry_after())}) from None
            raise PlatformUnavailable(f"{rules.PLATFORM_NAMES[account.platform]} did not answer: {exc.message}") \
                from None


def build_providers(http: Any, settings: ConnectorSettings) -> dict[str, Any]:
    return {"facebook": MetaGraph(http, settings), "instagram": InstagramLogin(http, settings),
            "tiktok": TikTok(http, settings)}
