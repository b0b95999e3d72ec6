"""Everything the sandbox knows, in memory: the seeded accounts, authorization codes, tokens, what was asked of
it, and the rules that decide whether a code or a token is still good. No web framework here; the routers turn
these objects and exceptions into each platform's own shapes."""

from __future__ import annotations

import hmac
import math
import secrets
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from sandbox.facebook_content import PageContent
from sandbox.faults import FaultBook
from sandbox.instagram_content import InstagramContent
from sandbox.ledger import Breach, Ledger
from sandbox.tiktok_content import TikTokContent
from sandbox.webhooks import WebhookBook

Platform = Literal["facebook", "instagram", "tiktok"]
TokenKind = Literal[
    "user_short", "user_long", "page", "instagram_short", "instagram_long", "tiktok_access", "tiktok_refresh",
]
CodeProblem = Literal["unknown", "used", "expired", "client_mismatch", "redirect_mismatch"]
TokenProblem = Literal["unknown", "revoked", "expired", "replaced"]

FULL_PAGE_TASKS = ("ANALYZE", "ADVERTISE", "MODERATE", "CREATE_CONTENT", "MANAGE")
PUBLIC_PRIVACY_LEVELS = ("PUBLIC_TO_EVERYONE", "MUTUAL_FOLLOW_FRIENDS", "SELF_ONLY")
PRIVATE_PRIVACY_LEVELS = ("FOLLOWER_OF_CREATOR", "MUTUAL_FOLLOW_FRIENDS", "SELF_ONLY")
TOKEN_PREFIXES: dict[TokenKind, str] = {
    "user_short": "EAAS",
    "user_long": "EAAL",
    "page": "EAAP",
    "instagram_short": "IGAA",
    "instagram_long": "IGAA",
    "tiktok_access": "act.",
    "tiktok_refresh": "rft.",
}
TOKEN_PLATFORMS: dict[TokenKind, Platform] = {
    "user_short": "facebook", "user_long": "facebook", "page": "facebook",
    "instagram_short": "instagram", "instagram_long": "instagram",
    "tiktok_access": "tiktok", "tiktok_refresh": "tiktok",
}
# Meta lets an app read a user's data for 90 days after their last login (data_access_expires_at).
DATA_ACCESS_SECONDS = 90 * 86400
USAGE_WINDOW_SECONDS = 3600
REQUEST_LOG_LIMIT = 10_000
FIRST_GENERATED_ID = 9_000_001
FIRST_GENERATED_OPEN_ID = 0x001001
DEFAULT_WEBHOOK_BASE_URL = "http://127.0.0.1:8000"


class SandboxSettings(BaseModel):
    """Knobs a test turns through PUT /_sandbox/settings; a reset puts every one back to these defaults."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    facebook_short_seconds: int = Field(5108, ge=0)
    facebook_long_seconds: int = Field(5_183_944, ge=0)
    instagram_short_seconds: int = Field(3600, ge=0)
    instagram_long_seconds: int = Field(5_183_944, ge=0)
    tiktok_access_seconds: int = Field(7200, ge=0)
    tiktok_refresh_seconds: int = Field(15_552_000, ge=0)
    tiktok_refresh_rotation: bool = True
    tiktok_unaudited: bool = False
    instagram_refresh_min_age_seconds: int = Field(86400, ge=0)
    instagram_token_response: Literal["data", "flat"] = "data"  # noqa: S105 (a response shape, not a secret)
    instagram_quota_total: int = Field(100, ge=0)
    authorization_code_seconds: int = Field(600, ge=0)
    latency_ms: int = Field(0, ge=0, le=60_000)
    error_rate: float = Field(0.0, ge=0.0, le=1.0)
    # The budgets that X-App-Usage and X-Business-Use-Case-Usage report percentages of.
    app_usage_calls_per_hour: int = Field(200, ge=1)
    business_usage_calls_per_hour: int = Field(4800, ge=1)
    # When set, X-Business-Use-Case-Usage reports this call_count (percent) whatever the real count.
    business_usage_percent_override: int | None = Field(None, ge=0, le=1000)
    # Publishing: how long platforms take to process media, and how long an unpublished container lives.
    video_processing_seconds: float = Field(1.0, ge=0, le=3600)
    instagram_processing_seconds: float = Field(1.0, ge=0, le=3600)
    instagram_container_ttl_seconds: float = Field(86400.0, ge=0)
    tiktok_processing_seconds: float = Field(1.0, ge=0, le=3600)
    tiktok_daily_post_cap: int = Field(15, ge=0)
    tiktok_upload_url_seconds: float = Field(3600.0, ge=0)
    # URL prefixes PULL_FROM_URL accepts; None means the sandbox's own /_sandbox/media/ and /_sandbox/media-missing/
    # under the base URL the request came in on (and under the configured sandbox URL), and Postifys' signed media
    # URLs (/media/files/ under its public URL), the prefix Postifys verifies for its app.
    tiktok_verified_url_prefixes: list[str] | None = None
    # How long the timeout and accept_then_stall faults hold a request.
    stall_seconds: float = Field(30.0, ge=0, le=600)
    # Webhooks the sandbox sends to Postifys, signed as the platforms sign them. The URLs default to
    # POSTIFYS_PUBLIC_URL's /webhooks/tiktok and /webhooks/meta (filled in by SandboxState).
    webhooks_enabled: bool = True
    tiktok_webhook_url: str = f"{DEFAULT_WEBHOOK_BASE_URL}/webhooks/tiktok"
    meta_webhook_url: str = f"{DEFAULT_WEBHOOK_BASE_URL}/webhooks/meta"
    # Delays between delivery attempts: a compressed version of TikTok's 72 h and Meta's 36 h retry schedules.
    webhook_retry_seconds: list[float] = Field(default_factory=lambda: [1.0, 2.0, 4.0, 8.0, 16.0], max_length=50)
    webhook_timeout_seconds: float = Field(5.0, gt=0, le=120)

    @field_validator("webhook_retry_seconds")
    @classmethod
    def _delays_in_range(cls, delays: list[float]) -> list[float]:
        if any(not 0 <= d <= 3600 for d in delays):
            raise ValueError("every delay must be between 0 and 3600 seconds")
        return delays


@dataclass(frozen=True)
class AppCredentials:
    meta_app_id: str
    meta_app_secret: str
    instagram_app_id: str
    instagram_app_secret: str
    tiktok_client_key: str
    tiktok_client_secret: str

    def client_id(self, platform: Platform) -> str:
        return {"facebook": self.meta_app_id, "instagram": self.instagram_app_id,
                "tiktok": self.tiktok_client_key}[platform]

    def secret_matches(self, platform: Platform, secret: str | None) -> bool:
        expected = {"facebook": self.meta_app_secret, "instagram": self.instagram_app_secret,
                    "tiktok": self.tiktok_client_secret}[platform]
        return secret is not None and hmac.compare_digest(secret.encode(), expected.encode())


@dataclass
class InstagramAccount:
    """A professional Instagram account, reached through a Facebook Page or through Instagram Login."""

    id: str
    username: str
    name: str
    page_id: str | None = None
    # Instagram Login's /me answers with an app-scoped `id` beside the account's `user_id`.
    scoped_id: str | None = None


@dataclass
class FacebookPage:
    id: str
    name: str
    category: str
    tasks: tuple[str, ...]
    owner_id: str
    instagram: InstagramAccount | None = None


@dataclass
class FacebookUser:
    id: str
    name: str
    # Permissions this user refuses in every consent dialog, whatever the form says.
    declined: frozenset[str] = frozenset()
    page_ids: list[str] = field(default_factory=list)


@dataclass
class TikTokCreator:
    open_id: str
    display_name: str
    username: str
    privacy_level_options: tuple[str, ...] = PUBLIC_PRIVACY_LEVELS
    comment_disabled: bool = False
    duet_disabled: bool = False
    stitch_disabled: bool = True
    max_video_post_duration_sec: int = 300

    @property
    def union_id(self) -> str:
        return f"union{self.open_id}"


@dataclass
class AuthorizationCode:
    value: str
    platform: Platform
    client_id: str
    redirect_uri: str
    subject: str
    granted: tuple[str, ...]
    declined: tuple[str, ...]
    issued_at: float
    expires_at: float
    used: bool = False


@dataclass
class Token:
    value: str
    platform: Platform
    kind: TokenKind
    subject: str
    client_id: str
    scopes: tuple[str, ...]
    declined: tuple[str, ...]
    issued_at: float
    expires_at: float | None
    # The Facebook user behind a page token, and the user token it was fetched with.
    user_id: str | None = None
    parent: str | None = None
    revoked_at: float | None = None
    replaced_by: str | None = None

    def expired(self, now: float) -> bool:
        return self.expires_at is not None and now >= self.expires_at

    def seconds_left(self, now: float) -> int:
        return 0 if self.expires_at is None else max(0, int(self.expires_at - now))

    def describe(self) -> dict[str, Any]:
        return {
            "token": self.value, "platform": self.platform, "kind": self.kind, "subject": self.subject,
            "scopes": list(self.scopes), "declined": list(self.declined), "issued_at": self.issued_at,
            "expires_at": self.expires_at, "revoked": self.revoked_at is not None, "revoked_at": self.revoked_at,
            "replaced_by": self.replaced_by, "user_id": self.user_id, "client_id": self.client_id,
        }


@dataclass(frozen=True)
class RecordedRequest:
    at: float
    platform: Platform
    host: str
    method: str
    path: str
    query: dict[str, str | list[str]]
    body: dict[str, Any]
    headers: dict[str, str]

    def describe(self) -> dict[str, Any]:
        return {"time": self.at, "platform": self.platform, "host": self.host, "method": self.method,
                "path": self.path, "query": self.query, "body": self.body, "headers": self.headers}


@dataclass(frozen=True)
class Revocation:
    platform: Platform
    subject: str
    at: float

    def describe(self) -> dict[str, Any]:
        return {"platform": self.platform, "subject": self.subject, "at": self.at}


class CodeRejected(Exception):
    def __init__(self, problem: CodeProblem) -> None:
        super().__init__(problem)
        self.problem: CodeProblem = problem


class TokenRejected(Exception):
    def __init__(self, problem: TokenProblem, token: Token | None = None) -> None:
        super().__init__(problem)
        self.problem: TokenProblem = problem
        self.token = token


class IdSequence:
    def __init__(self) -> None:
        self._next_numeric = FIRST_GENERATED_ID
        self._next_open_id = FIRST_GENERATED_OPEN_ID

    def numeric(self) -> str:
        value, self._next_numeric = self._next_numeric, self._next_numeric + 1
        return str(value)

    def open_id(self) -> str:
        value, self._next_open_id = self._next_open_id, self._next_open_id + 1
        return f"-{value:06x}"


class SlidingWindowLimiter:
    """Per-key request limits such as TikTok's "20 requests per minute per token"."""

    def __init__(self) -> None:
        self._hits: dict[str, deque[float]] = {}

    def allow(self, key: str, limit: int, per_seconds: float, now: float) -> bool:
        hits = self._hits.setdefault(key, deque())
        while hits and now - hits[0] >= per_seconds:
            hits.popleft()
        if len(hits) >= limit:
            return False
        hits.append(now)
        return True


class UsageMeter:
    """Graph API call counters behind X-App-Usage and X-Business-Use-Case-Usage, over an hourly window.
    Time is not modelled separately, so total_time and total_cputime follow the call count."""

    def __init__(self) -> None:
        self.window_started = 0.0
        self.app_calls = 0
        self.business_calls: dict[str, int] = {}

    def _roll(self, now: float) -> None:
        if now - self.window_started >= USAGE_WINDOW_SECONDS:
            self.window_started = now
            self.app_calls = 0
            self.business_calls = {}

    def count_app_call(self, now: float) -> None:
        self._roll(now)
        self.app_calls += 1

    def count_business_call(self, object_id: str, now: float) -> None:
        self._roll(now)
        self.business_calls[object_id] = self.business_calls.get(object_id, 0) + 1

    def app_usage(self, budget: int) -> dict[str, int]:
        percent = self.app_calls * 100 // budget
        return {"call_count": percent, "total_time": percent, "total_cputime": percent}

    def business_usage(self, object_id: str, kind: str, budget: int, now: float,
                       override: int | None = None) -> dict[str, list[dict[str, Any]]]:
        percent = self.business_calls.get(object_id, 0) * 100 // budget
        call_count = percent if override is None else override
        minutes_left = (max(1, math.ceil((self.window_started + USAGE_WINDOW_SECONDS - now) / 60))
                        if call_count >= 100 else 0)
        return {object_id: [{"type": kind, "call_count": call_count, "total_cputime": percent,
                             "total_time": percent, "estimated_time_to_regain_access": minutes_left}]}


class FacebookWorld:
    def __init__(self) -> None:
        self.users: dict[str, FacebookUser] = {}
        self.pages: dict[str, FacebookPage] = {}
        self.instagram_accounts: dict[str, InstagramAccount] = {}

    def add_user(self, user_id: str, name: str, declined: Iterable[str] = ()) -> FacebookUser:
        user = FacebookUser(id=user_id, name=name, declined=frozenset(declined))
        self.users[user_id] = user
        return user

    def add_page(self, owner: FacebookUser, page_id: str, name: str, *, category: str = "Local business",
                 tasks: Iterable[str] = FULL_PAGE_TASKS, instagram: tuple[str, str] | None = None) -> FacebookPage:
        page = FacebookPage(id=page_id, name=name, category=category, tasks=tuple(tasks), owner_id=owner.id)
        if instagram is not None:
            instagram_id, username = instagram
            page.instagram = InstagramAccount(id=instagram_id, username=username, name=name, page_id=page_id)
            self.instagram_accounts[instagram_id] = page.instagram
        self.pages[page_id] = page
        owner.page_ids.append(page_id)
        return page

    def pages_of(self, user_id: str) -> list[FacebookPage]:
        user = self.users.get(user_id)
        return [self.pages[page_id] for page_id in user.page_ids] if user else []

    def page_of_instagram(self, instagram_id: str) -> FacebookPage | None:
        account = self.instagram_accounts.get(instagram_id)
        return self.pages.get(account.page_id) if account and account.page_id else None


class InstagramWorld:
    """Accounts that sign in with Instagram Login (no Facebook Page needed)."""

    def __init__(self) -> None:
        self.accounts: dict[str, InstagramAccount] = {}

    def add_account(self, user_id: str, username: str, name: str) -> InstagramAccount:
        account = InstagramAccount(id=user_id, username=username, name=name, scoped_id=f"265{user_id}")
        self.accounts[user_id] = account
        return account

    def find(self, any_id: str) -> InstagramAccount | None:
        return self.accounts.get(any_id) or next(
            (a for a in self.accounts.values() if a.scoped_id == any_id), None)


class TikTokWorld:
    def __init__(self) -> None:
        self.creators: dict[str, TikTokCreator] = {}

    def add_creator(self, creator: TikTokCreator) -> TikTokCreator:
        self.creators[creator.open_id] = creator
        return creator


def seed(facebook: FacebookWorld, instagram: InstagramWorld, tiktok: TikTokWorld) -> None:
    alice = facebook.add_user("5551", "Alice Example")
    facebook.add_page(alice, "1029", "Acme Bakery", category="Bakery", instagram=("178414", "acmebakery"))
    facebook.add_page(alice, "1030", "Acme Fans", category="Community", tasks=("ANALYZE",))
    dana = facebook.add_user("5552", "Dana Declines", declined=("instagram_content_publish",))
    facebook.add_page(dana, "2040", "Dana's Shop", category="Shopping & retail", instagram=("178415", "danashop"))
    instagram.add_account("1020", "acme.studio", "Acme Studio")
    tiktok.add_creator(TikTokCreator(open_id="-000abc", display_name="Tia Creator", username="tiacreator"))
    tiktok.add_creator(TikTokCreator(
        open_id="-000def", display_name="Pia Private", username="piaprivate",
        privacy_level_options=PRIVATE_PRIVACY_LEVELS, duet_disabled=True, stitch_disabled=True,
        max_video_post_duration_sec=180))


class SandboxState:
    def __init__(self, credentials: AppCredentials, public_url: str, clock: Callable[[], float] = time.time,
                 webhook_base_url: str = DEFAULT_WEBHOOK_BASE_URL) -> None:
        """`public_url` is the sandbox's own; `webhook_base_url` is Postifys' (POSTIFYS_PUBLIC_URL), where the
        webhooks go by default."""
        self.credentials = credentials
        self.public_url = public_url.rstrip("/")
        self.webhook_base_url = webhook_base_url.rstrip("/")
        self.now = clock
        self.reset()

    def default_settings(self) -> SandboxSettings:
        return SandboxSettings(tiktok_webhook_url=f"{self.webhook_base_url}/webhooks/tiktok",
                               meta_webhook_url=f"{self.webhook_base_url}/webhooks/meta")

    def reset(self) -> None:
        self.settings = self.default_settings()
        self.ids = IdSequence()
        self.facebook = FacebookWorld()
        self.instagram = InstagramWorld()
        self.tiktok = TikTokWorld()
        seed(self.facebook, self.instagram, self.tiktok)
        self.codes: dict[str, AuthorizationCode] = {}
        self.tokens: dict[str, Token] = {}
        self.requests: deque[RecordedRequest] = deque(maxlen=REQUEST_LOG_LIMIT)
        self.revocations: list[Revocation] = []
        self.usage = UsageMeter()
        self.rate_limits = SlidingWindowLimiter()
        self.ledger = Ledger()
        self.faults = FaultBook()
        self.pages_content = PageContent(self.ids.numeric, self.ledger)
        self.instagram_content = InstagramContent(self.ledger)
        self.tiktok_content = TikTokContent(self.ledger)
        self.webhooks = WebhookBook()

    def picture_url(self, subject: str) -> str:
        return f"{self.public_url}/_sandbox/pictures/{subject}"

    # Authorization codes

    def issue_code(self, platform: Platform, *, redirect_uri: str, subject: str, granted: Iterable[str],
                   declined: Iterable[str], value: str | None = None) -> AuthorizationCode:
        now = self.now()
        code = AuthorizationCode(
            value=value or f"AQ{secrets.token_urlsafe(48)}", platform=platform,
            client_id=self.credentials.client_id(platform), redirect_uri=redirect_uri, subject=subject,
            granted=tuple(granted), declined=tuple(declined), issued_at=now,
            expires_at=now + self.settings.authorization_code_seconds)
        self.codes[code.value] = code
        return code

    def redeem_code(self, platform: Platform, value: str, *, client_id: str,
                    redirect_uri: str | None) -> AuthorizationCode:
        code = self.codes.get(value)
        if code is None or code.platform != platform:
            raise CodeRejected("unknown")
        if code.used:
            raise CodeRejected("used")
        if code.client_id != client_id:
            raise CodeRejected("client_mismatch")
        if self.now() >= code.expires_at:
            raise CodeRejected("expired")
        if redirect_uri != code.redirect_uri:
            raise CodeRejected("redirect_mismatch")
        code.used = True
        return code

    # Tokens

    def lifetime(self, kind: TokenKind) -> int:
        s = self.settings
        return {"user_short": s.facebook_short_seconds, "user_long": s.facebook_long_seconds,
                "page": s.facebook_long_seconds, "instagram_short": s.instagram_short_seconds,
                "instagram_long": s.instagram_long_seconds, "tiktok_access": s.tiktok_access_seconds,
                "tiktok_refresh": s.tiktok_refresh_seconds}[kind]

    def issue_token(self, kind: TokenKind, *, subject: str, scopes: Iterable[str], declined: Iterable[str] = (),
                    expires_at: float | None = None, never_expires: bool = False, user_id: str | None = None,
                    parent: str | None = None) -> Token:
        """Expires after the kind's configured lifetime unless `expires_at` or `never_expires` says otherwise."""
        now = self.now()
        platform = TOKEN_PLATFORMS[kind]
        token = Token(
            value=f"{TOKEN_PREFIXES[kind]}{secrets.token_urlsafe(48)}", platform=platform, kind=kind,
            subject=subject, client_id=self.credentials.client_id(platform), scopes=tuple(scopes),
            declined=tuple(declined), issued_at=now,
            expires_at=None if never_expires else expires_at or now + self.lifetime(kind),
            user_id=user_id, parent=parent)
        self.tokens[token.value] = token
        return token

    def resolve_token(self, value: str | None, kinds: Iterable[TokenKind]) -> Token:
        token = self.tokens.get(value or "")
        if token is None or token.kind not in tuple(kinds):
            raise TokenRejected("unknown")
        if token.revoked_at is not None:
            raise TokenRejected("revoked", token)
        if token.replaced_by is not None:
            raise TokenRejected("replaced", token)
        if token.expired(self.now()):
            raise TokenRejected("expired", token)
        return token

    def page_token(self, user_token: Token, page: FacebookPage) -> Token:
        """The page token a user token gets for a page it manages: the same one each time, like Graph. It never
        expires when fetched with a long-lived user token; with a short-lived one it ends with that token."""
        for token in self.tokens.values():
            if token.kind == "page" and token.parent == user_token.value and token.subject == page.id:
                return token
        return self.issue_token("page", subject=page.id, scopes=user_token.scopes, declined=user_token.declined,
                                expires_at=user_token.expires_at, never_expires=user_token.kind == "user_long",
                                user_id=user_token.subject, parent=user_token.value)

    def revoke(self, tokens: Iterable[Token]) -> list[Token]:
        now = self.now()
        revoked = []
        for token in tokens:
            if token.revoked_at is None:
                token.revoked_at = now
                revoked.append(token)
        return revoked

    def revoke_facebook_user(self, user_id: str) -> list[Token]:
        """The user removed the app: every user and page token they hold for it stops working."""
        revoked = self.revoke(t for t in self.tokens.values()
                              if t.platform == "facebook" and (t.subject == user_id or t.user_id == user_id))
        self.record_revocation("facebook", user_id)
        return revoked

    def revoke_tiktok_grant(self, open_id: str) -> list[Token]:
        """TikTok's revoke ends the user's authorization of the client, so every access and refresh token of
        that creator stops working, not only the one presented."""
        return self.revoke(t for t in self.tokens.values() if t.platform == "tiktok" and t.subject == open_id)

    def expire(self, token: Token) -> None:
        token.expires_at = self.now() - 1

    # What was asked of the sandbox

    def record_request(self, request: RecordedRequest) -> None:
        self.requests.append(request)

    def record_revocation(self, platform: Platform, subject: str) -> None:
        self.revocations.append(Revocation(platform=platform, subject=subject, at=self.now()))

    def record_breach(self, platform: Platform, limit: str, subject: str, path: str) -> None:
        self.ledger.record_breach(Breach(platform=platform, limit=limit, subject=subject, at=self.now(), path=path))

    # Which platform and business object a Graph node belongs to

    def graph_node_platform(self, node: str) -> Platform:
        """Instagram accounts, containers and media count as Instagram even on graph.facebook.com."""
        if node in self.facebook.instagram_accounts or self.instagram_content.account_of(node) is not None:
            return "instagram"
        return "facebook"

    def business_object(self, node: str, token_value: str | None) -> tuple[str, str] | None:
        """The Page or Instagram account a Graph call on `node` is counted against, as X-Business-Use-Case-Usage
        names it: (object id, "pages" | "instagram")."""
        token = self.tokens.get(token_value or "")
        if node == "me" and token is not None:
            node = token.subject
        if node in self.facebook.pages:
            return node, "pages"
        page_id = self.pages_content.page_of(node)
        if page_id is not None:
            return page_id, "pages"
        account_id = self.instagram_content.account_of(node)
        if account_id is not None:
            return account_id, "instagram"
        account = self.facebook.instagram_accounts.get(node) or self.instagram.find(node)
        return (account.id, "instagram") if account else None

    def describe(self) -> dict[str, Any]:
        return {
            "apps": {"facebook": self.credentials.meta_app_id, "instagram": self.credentials.instagram_app_id,
                     "tiktok": self.credentials.tiktok_client_key},
            "facebook": {"users": [self.describe_facebook_user(u) for u in self.facebook.users.values()]},
            "instagram": {"users": [describe_instagram_account(a) for a in self.instagram.accounts.values()]},
            "tiktok": {"creators": [describe_creator(c) for c in self.tiktok.creators.values()]},
        }

    def describe_facebook_user(self, user: FacebookUser) -> dict[str, Any]:
        return {"id": user.id, "name": user.name, "declined": sorted(user.declined),
                "pages": [describe_page(p) for p in self.facebook.pages_of(user.id)]}


def describe_instagram_account(account: InstagramAccount) -> dict[str, Any]:
    return {"id": account.id, "user_id": account.id, "scoped_id": account.scoped_id, "username": account.username,
            "name": account.name, "page_id": account.page_id}


def describe_page(page: FacebookPage) -> dict[str, Any]:
    return {"id": page.id, "name": page.name, "category": page.category, "tasks": list(page.tasks),
            "instagram": describe_instagram_account(page.instagram) if page.instagram else None}


def describe_creator(creator: TikTokCreator) -> dict[str, Any]:
    return {"open_id": creator.open_id, "union_id": creator.union_id, "display_name": creator.display_name,
            "username": creator.username, "privacy_level_options": list(creator.privacy_level_options),
            "comment_disabled": creator.comment_disabled, "duet_disabled": creator.duet_disabled,
            "stitch_disabled": creator.stitch_disabled,
            "max_video_post_duration_sec": creator.max_video_post_duration_sec}
