"""Clients for the platforms' OAuth and account APIs, as documented (reference/platform-apis.md).
One pooled httpx client per process is passed in; tokens travel in headers or form bodies, never in a URL
we log."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import httpx

from services.connector.settings import ConnectorSettings
from shared import platform_http


@dataclass(frozen=True)
class Token:
    value: str
    expires_in: int | None = None


@dataclass
class Asset:
    kind: str
    external_id: str
    name: str | None
    username: str | None = None
    avatar_url: str | None = None
    category: str | None = None
    tasks: list[str] = field(default_factory=list)
    via_page_id: str | None = None
    access: Token | None = None
    refresh: Token | None = None


@dataclass
class Authorization:
    external_user_id: str
    name: str | None
    granted: list[str]
    declined: list[str]
    assets: list[Asset]
    user_token: Token | None = None


class MetaGraph:
    """Facebook Login, Pages and Instagram accounts linked to Pages."""

    platform = "facebook"

    def __init__(self, http: httpx.AsyncClient, settings: ConnectorSettings) -> None:
        self.http = http
        self.www = settings.facebook_www_url
        self.graph = f"{settings.facebook_graph_url}/{settings.meta_graph_version}"
        self.version = settings.meta_graph_version
        self.app_id = settings.meta_app_id
        self.app_secret = settings.meta_app_secret.get_secret_value()

    def authorize_url(self, *, state: str, redirect_uri: str, scopes: list[str]) -> str:
        query = urlencode({"client_id": self.app_id, "redirect_uri": redirect_uri, "state": state,
                           "response_type": "code", "scope": ",".join(scopes)})
        return f"{self.www}/{self.version}/dialog/oauth?{query}"

    async def call(self, method: str, path: str, *, token: str | None = None, params: dict[str, Any] | None = None,
                   data: dict[str, Any] | None = None) -> dict[str, Any]:
        headers = {"Authorization": f"OAuth {token}"} if token else {}
        answer = await platform_http.graph(self.http, self.platform, method, f"{self.graph}/{path}", params=params,
                                           data=data, headers=headers)
        return answer.body

    async def authorize(self, *, code: str, redirect_uri: str, requested: list[str]) -> Authorization:
        short = await self.call("POST", "oauth/access_token", data={
            "client_id": self.app_id, "client_secret": self.app_secret, "redirect_uri": redirect_uri, "code": code})
        long = await self.call("POST", "oauth/access_token", data={
            "grant_type": "fb_exchange_token", "client_id": self.app_id, "client_secret": self.app_secret,
            "fb_exchange_token": short["access_token"]})
        user_token = Token(str(long["access_token"]), _int(long.get("expires_in")))
        me = await self.call("GET", "me", token=user_token.value, params={"fields": "id,name"})
        permissions = (await self.call("GET", "me/permissions", token=user_token.value)).get("data", [])
        granted = [p["permission"] for p in permissions if p.get("status") == "granted"]
        declined = [p["permission"] for p in permissions if p.get("status") == "declined"]
        assets: list[Asset] = []
        pages = await self.call("GET", "me/accounts", token=user_token.value, params={
            "fields": "id,name,category,tasks,access_token,instagram_business_account,picture", "limit": 100})
        for page in pages.get("data", []):
            page_token = Token(str(page["access_token"])) if page.get("access_token") else None
            assets.append(Asset(kind="facebook_page", external_id=str(page["id"]), name=page.get("name"),
                                category=page.get("category"), tasks=list(page.get("tasks") or []),
                                avatar_url=((page.get("picture") or {}).get("data") or {}).get("url"),
                                access=page_token))
            linked = page.get("instagram_business_account") or {}
            if linked.get("id") and page_token:
                ig = await self.call("GET", str(linked["id"]), token=page_token.value,
                                     params={"fields": "id,username,name,profile_picture_url"})
                assets.append(Asset(kind="instagram", external_id=str(ig.get("id", linked["id"])),
                                    name=ig.get("name"), username=ig.get("username"),
                                    avatar_url=ig.get("profile_picture_url"), tasks=list(page.get("tasks") or []),
                                    via_page_id=str(page["id"]), access=page_token))
        return Authorization(external_user_id=str(me["id"]), name=me.get("name"), granted=granted,
                             declined=sorted(set(declined) | (set(requested) - set(granted) - set(declined))),
                             assets=assets, user_token=user_token)

    async def token_is_valid(self, token: str) -> bool:
        body = await self.call("GET", "debug_token", params={
            "input_token": token, "access_token": f"{self.app_id}|{self.app_secret}"})
        return bool((body.get("data") or {}).get("is_valid"))

    async def revoke(self, user_token: str) -> None:
        await self.call("DELETE", "me/permissions", token=user_token)

    async def publishing_limit(self, ig_user_id: str, token: str) -> dict[str, Any]:
        body = await self.call("GET", f"{ig_user_id}/content_publishing_limit", token=token,
                               params={"fields": "quota_usage,config"})
        return _quota(body)


class InstagramLogin:
    """Business Login for Instagram: an Instagram professional account without a Facebook Page."""

    platform = "instagram"

    def __init__(self, http: httpx.AsyncClient, settings: ConnectorSettings) -> None:
        self.http = http
        self.www = settings.instagram_www_url
        self.api = settings.instagram_api_url
        self.graph = settings.instagram_graph_url
        self.version = settings.meta_graph_version
        self.app_id = settings.instagram_app_id
        self.app_secret = settings.instagram_app_secret.get_secret_value()

    def authorize_url(self, *, state: str, redirect_uri: str, scopes: list[str]) -> str:
        query = urlencode({"client_id": self.app_id, "redirect_uri": redirect_uri, "state": state,
                           "response_type": "code", "scope": ",".join(scopes)})
        return f"{self.www}/oauth/authorize?{query}"

    async def _send(self, method: str, url: str, **kwargs: Any) -> dict[str, Any]:
        return (await platform_http.graph(self.http, self.platform, method, url, **kwargs)).body

    async def authorize(self, *, code: str, redirect_uri: str, requested: list[str]) -> Authorization:
        exchanged = await self._send("POST", f"{self.api}/oauth/access_token", data={
            "client_id": self.app_id, "client_secret": self.app_secret, "grant_type": "authorization_code",
            "redirect_uri": redirect_uri, "code": code})
        # Documented as {"data": [...]}; observed flat. Both are accepted.
        first = exchanged["data"][0] if isinstance(exchanged.get("data"), list) and exchanged["data"] else exchanged
        # These two token endpoints take the token as a query parameter, as documented.
        long = await self._send("GET", f"{self.graph}/access_token", params={
            "grant_type": "ig_exchange_token", "client_secret": self.app_secret,
            "access_token": first["access_token"]})
        token = Token(str(long["access_token"]), _int(long.get("expires_in")))
        me = await self.me(token.value)
        permissions = first.get("permissions") or ""
        granted = permissions.split(",") if isinstance(permissions, str) else list(permissions)
        granted = [g.strip() for g in granted if g.strip()]
        account = Asset(kind="instagram", external_id=str(me.get("user_id") or me.get("id")), name=me.get("name"),
                        username=me.get("username"), avatar_url=me.get("profile_picture_url"), access=token)
        return Authorization(external_user_id=account.external_id, name=me.get("name") or me.get("username"),
                             granted=granted, declined=sorted(set(requested) - set(granted)), assets=[account])

    async def me(self, token: str) -> dict[str, Any]:
        return await self._send("GET", f"{self.graph}/{self.version}/me",
                                params={"fields": "user_id,username,name,profile_picture_url"},
                                headers={"Authorization": f"Bearer {token}"})

    async def refresh(self, token: str) -> Token:
        body = await self._send("GET", f"{self.graph}/refresh_access_token",
                                params={"grant_type": "ig_refresh_token", "access_token": token})
        return Token(str(body["access_token"]), _int(body.get("expires_in")))

    async def publishing_limit(self, ig_user_id: str, token: str) -> dict[str, Any]:
        body = await self._send("GET", f"{self.graph}/{self.version}/{ig_user_id}/content_publishing_limit",
                                params={"fields": "quota_usage,config"}, headers={"Authorization": f"Bearer {token}"})
        return _quota(body)


class TikTok:
    """Login Kit and the creator info of the Content Posting API."""

    platform = "tiktok"

    def __init__(self, http: httpx.AsyncClient, settings: ConnectorSettings) -> None:
        self.http = http
        self.www = settings.tiktok_www_url
        self.api = settings.tiktok_api_url
        self.client_key = settings.tiktok_client_key
        self.client_secret = settings.tiktok_client_secret.get_secret_value()

    def authorize_url(self, *, state: str, redirect_uri: str, scopes: list[str]) -> str:
        query = urlencode({"client_key": self.client_key, "redirect_uri": redirect_uri, "state": state,
                           "response_type": "code", "scope": ",".join(scopes)})
        return f"{self.www}/v2/auth/authorize/?{query}"

    async def _send(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        return (await platform_http.tiktok(self.http, method, f"{self.api}{path}", **kwargs)).body

    async def _token(self, form: dict[str, str]) -> dict[str, Any]:
        return await self._send("POST", "/v2/oauth/token/", data={
            "client_key": self.client_key, "client_secret": self.client_secret, **form})

    async def authorize(self, *, code: str, redirect_uri: str, requested: list[str]) -> Authorization:
        grant = await self._token({"code": code, "grant_type": "authorization_code", "redirect_uri": redirect_uri})
        access = Token(str(grant["access_token"]), _int(grant.get("expires_in")))
        refresh = Token(str(grant["refresh_token"]), _int(grant.get("refresh_expires_in"))) \
            if grant.get("refresh_token") else None
        granted = [s.strip() for s in str(grant.get("scope") or "").split(",") if s.strip()]
        user = await self.user_info(access.value, profile="user.info.profile" in granted)
        account = Asset(kind="tiktok", external_id=str(user.get("open_id") or grant["open_id"]),
                        name=user.get("display_name"), username=user.get("username"),
                        avatar_url=user.get("avatar_url"), access=access, refresh=refresh)
        return Authorization(external_user_id=account.external_id, name=account.name, granted=granted,
                             declined=sorted(set(requested) - set(granted)), assets=[account])

    async def user_info(self, token: str, *, profile: bool = False) -> dict[str, Any]:
        # `username` needs the user.info.profile scope, which a creator may decline.
        fields = "open_id,union_id,avatar_url,display_name" + (",username" if profile else "")
        body = await self._send("GET", "/v2/user/info/", params={"fields": fields},
                                headers={"Authorization": f"Bearer {token}"})
        return dict((body.get("data") or {}).get("user") or {})

    async def refresh(self, refresh_token: str) -> tuple[Token, Token | None]:
        grant = await self._token({"grant_type": "refresh_token", "refresh_token": refresh_token})
        refresh = Token(str(grant["refresh_token"]), _int(grant.get("refresh_expires_in"))) \
            if grant.get("refresh_token") else None
        return Token(str(grant["access_token"]), _int(grant.get("expires_in"))), refresh

    async def revoke(self, token: str) -> None:
        await self._send("POST", "/v2/oauth/revoke/", data={
            "client_key": self.client_key, "client_secret": self.client_secret, "token": token})

    async def creator_info(self, token: str) -> dict[str, Any]:
        body = await self._send("POST", "/v2/post/publish/creator_info/query/", json={},
                                headers={"Authorization": f"Bearer {token}"})
        return dict(body.get("data") or {})


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _quota(body: dict[str, Any]) -> dict[str, Any]:
    entry = (body.get("data") or [{}])[0]
    total = int((entry.get("config") or {}).get("quota_total") or 0)
    used = int(entry.get("quota_usage") or 0)
    return {"quota_total": total, "quota_usage": used, "remaining": max(total - used, 0),
            "quota_duration_seconds": int((entry.get("config") or {}).get("quota_duration") or 86400)}


Provider = MetaGraph | InstagramLogin | TikTok


def new_state() -> str:
    return secrets.token_urlsafe(32)
