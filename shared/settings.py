"""Configuration: every variable carries the POSTIFYS_ prefix. The base holds what every process may know; each
secret lives in a mixin that only the services using it include, so a process never even loads another's secret."""

from __future__ import annotations

import os
import sys
from functools import cached_property
from typing import ClassVar, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.internal import (
    CALLERS,
    InvalidInternalKey,
    Signer,
    audiences,
    derived_seed,
    parse_signing_key,
    public_key_text,
    public_key_texts,
    public_keys_text,
)

DEVELOPMENT_INTERNAL_SECRET = "development-internal-secret-not-for-production"  # noqa: S105 (refused in production)
SANDBOX_CREDENTIAL_PREFIX = "sandbox-"

SERVICE_PORTS = {
    "identity": 8001,
    "connector": 8002,
    "publisher": 8003,
    "webhooks": 8004,
    "privacy": 8005,
    "media": 8006,
}


class ProductionMisconfigured(RuntimeError):
    pass


def _placeholder(value: str) -> bool:
    """Empty, or a value Postifys ships: the sandbox's, or a development default."""
    value = value.strip()
    return not value or value.startswith(SANDBOX_CREDENTIAL_PREFIX) or "not-for-production" in value


class _Checked(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="POSTIFYS_", extra="ignore")

    def production_problems(self) -> list[str]:
        """One sentence per refused setting, each naming its variable."""
        return []


class PostifysSettings(_Checked):
    # The name this process signs its internal requests with: the command-line tools are the operator.
    service_name: ClassVar[str] = "operator"

    env: Literal["development", "test", "production"] = "development"
    log_level: str = "INFO"
    log_format: Literal["auto", "json", "console"] = "auto"
    port: int = 8000
    host: str = "127.0.0.1"
    public_url: str = "http://127.0.0.1:8000"
    database_url: str = "postgresql://postgres@127.0.0.1:5432/postifys"
    amqp_url: str = "amqp://guest:guest@127.0.0.1:5672/"
    # Names every exchange and queue, so that several systems (or test runs) can share one broker.
    amqp_prefix: str = "postifys"

    # Internal requests: each caller signs with its own Ed25519 key; every service knows the callers' public
    # keys. Outside production, a missing key is derived from POSTIFYS_INTERNAL_SECRET (one variable runs a
    # development system); in production both must be given and the root is not used.
    internal_secret: SecretStr = SecretStr(DEVELOPMENT_INTERNAL_SECRET)
    internal_signing_key: SecretStr | None = None
    internal_public_keys: str | None = None

    identity_url: str = f"http://127.0.0.1:{SERVICE_PORTS['identity']}"
    connector_url: str = f"http://127.0.0.1:{SERVICE_PORTS['connector']}"
    publisher_url: str = f"http://127.0.0.1:{SERVICE_PORTS['publisher']}"
    webhooks_url: str = f"http://127.0.0.1:{SERVICE_PORTS['webhooks']}"
    privacy_url: str = f"http://127.0.0.1:{SERVICE_PORTS['privacy']}"
    media_url: str = f"http://127.0.0.1:{SERVICE_PORTS['media']}"
    devmail_url: str = "http://127.0.0.1:8026"

    # Public identifiers of the apps (they appear in every consent URL); the secrets are in the mixins below.
    meta_app_id: str = f"{SANDBOX_CREDENTIAL_PREFIX}meta-app"
    meta_graph_version: str = "v25.0"
    instagram_app_id: str = f"{SANDBOX_CREDENTIAL_PREFIX}instagram-app"
    tiktok_client_key: str = f"{SANDBOX_CREDENTIAL_PREFIX}tiktok-client"
    facebook_www_url: str = "https://www.facebook.com"
    facebook_graph_url: str = "https://graph.facebook.com"
    instagram_www_url: str = "https://www.instagram.com"
    instagram_api_url: str = "https://api.instagram.com"
    instagram_graph_url: str = "https://graph.instagram.com"
    tiktok_www_url: str = "https://www.tiktok.com"
    tiktok_api_url: str = "https://open.tiktokapis.com"
    sandbox: bool | None = None
    # Where the platform sandbox listens; with POSTIFYS_SANDBOX=1 every platform base URL points into it.
    sandbox_url: str = "http://127.0.0.1:8090"

    # Client addresses whose X-Forwarded-For the gateway believes (a load balancer in front of it).
    trusted_proxies: list[str] = Field(default_factory=list)

    # Retention: how long each kind of data is kept before its service's scheduled purge deletes it. Sessions,
    # email tokens and OAuth states go as soon as they can no longer be used, so they need no setting. At least
    # a day, so that every limit window and the longest publish still find the rows they count or read.
    retention_interval_seconds: float = Field(3600, gt=0)
    retention_sign_in_audit_days: int = Field(90, ge=1)
    retention_rate_limit_hits_days: int = Field(1, ge=1)
    retention_publish_errors_days: int = Field(180, ge=1)
    retention_platform_calls_days: int = Field(1, ge=1)
    retention_early_outcomes_days: int = Field(1, ge=1)
    retention_idempotency_keys_days: int = Field(1, ge=1)
    retention_webhook_body_days: int = Field(30, ge=1)

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @cached_property
    def public_origin(self) -> str:
        parts = urlsplit(self.public_url)
        return f"{parts.scheme}://{parts.netloc}"

    @property
    def session_cookie_name(self) -> str:
        # The __Host- prefix makes browsers insist on Secure, Path=/ and no Domain.
        return "__Host-postifys_session" if self.is_production else "postifys_session"

    @property
    def instagram_login_configured(self) -> bool:
        """Instagram Login is optional; outside production the sandbox's app always is."""
        return not self.is_production or not _placeholder(self.instagram_app_id)

    def service_urls(self) -> dict[str, str]:
        return {name: str(getattr(self, f"{name}_url")) for name in SERVICE_PORTS}

    def signing_seed(self) -> bytes:
        """This process's internal signing key."""
        if self.internal_signing_key is not None:
            return parse_signing_key(self.internal_signing_key.get_secret_value())
        return derived_seed(self.internal_secret.get_secret_value(), self.service_name)

    def internal_signer(self) -> Signer:
        """How this process signs what it asks the other services."""
        return Signer(self.service_name, self.signing_seed(), audiences(self.service_urls()))

    def caller_public_keys(self) -> str:
        if self.internal_public_keys is not None:
            return self.internal_public_keys
        root = self.internal_secret.get_secret_value()
        return public_keys_text({caller: derived_seed(root, caller) for caller in CALLERS})

    def production_problems(self) -> list[str]:
        problems = super().production_problems()
        if not self.public_url.startswith("https://"):
            problems.append("POSTIFYS_PUBLIC_URL must be https")
        if self.sandbox:
            problems.append("POSTIFYS_SANDBOX must be 0")
        for name in ("meta_app_id", "tiktok_client_key"):
            if _placeholder(str(getattr(self, name))):
                problems.append(f"POSTIFYS_{name.upper()} must be a real credential")
        problems.extend(self._internal_key_problems())
        return problems

    def _internal_key_problems(self) -> list[str]:
        """Development keys are derived from a root in this repository: anyone could sign with them."""
        development = {caller: derived_seed(DEVELOPMENT_INTERNAL_SECRET, caller) for caller in CALLERS}
        development_public = {public_key_text(seed) for seed in development.values()}
        problems = []
        own_public = None
        if self.service_name in CALLERS:
            if self.internal_signing_key is None:
                problems.append("POSTIFYS_INTERNAL_SIGNING_KEY must be set (32 random bytes, base64url; "
                                "`make internal-keys` makes a set)")
            else:
                try:
                    own_public = public_key_text(self.signing_seed())
                    if own_public in development_public:
                        problems.append("POSTIFYS_INTERNAL_SIGNING_KEY is a development key")
                except InvalidInternalKey:
                    problems.append("POSTIFYS_INTERNAL_SIGNING_KEY must be 32 bytes, base64url")
        if self.internal_public_keys is None:
            return [*problems, "POSTIFYS_INTERNAL_PUBLIC_KEYS must be set"]
        try:
            listed = public_key_texts(self.internal_public_keys)
        except InvalidInternalKey as exc:
            return [*problems, f"POSTIFYS_INTERNAL_PUBLIC_KEYS does not parse: {exc}"]
        if set(listed.values()) & development_public:
            problems.append("POSTIFYS_INTERNAL_PUBLIC_KEYS holds a development key")
        if len(set(listed.values())) != len(listed):
            problems.append("POSTIFYS_INTERNAL_PUBLIC_KEYS gives two callers the same key")
        if own_public is not None and listed.get(self.service_name) != own_public:
            problems.append(f"POSTIFYS_INTERNAL_PUBLIC_KEYS does not list this {self.service_name}'s own key "
                            "(POSTIFYS_INTERNAL_SIGNING_KEY belongs to another set)")
        return problems

    def check_production(self) -> None:
        """Refuse to run in production with development defaults, empty secrets or the sandbox's."""
        if not self.is_production:
            return
        problems = self.production_problems()
        if problems:
            raise ProductionMisconfigured("; ".join(problems))


def _secret_problem(variable: str, secret: SecretStr) -> list[str]:
    return [f"{variable} must be a real secret, not empty or a default"] if _placeholder(
        secret.get_secret_value()) else []


class MetaAppSecret(_Checked):
    """For the services that verify Meta's signatures or call the Graph API as the app."""

    meta_app_secret: SecretStr = SecretStr(f"{SANDBOX_CREDENTIAL_PREFIX}meta-secret")

    def production_problems(self) -> list[str]:
        return [*super().production_problems(), *_secret_problem("POSTIFYS_META_APP_SECRET", self.meta_app_secret)]


class InstagramAppSecret(_Checked):
    # Empty when Instagram Login is not used: then it is never tried.
    instagram_app_secret: SecretStr = SecretStr(f"{SANDBOX_CREDENTIAL_PREFIX}instagram-secret")

    def production_problems(self) -> list[str]:
        problems = super().production_problems()
        if getattr(self, "instagram_login_configured", False):
            problems.extend(_secret_problem("POSTIFYS_INSTAGRAM_APP_SECRET", self.instagram_app_secret))
        return problems

    @property
    def instagram_secret_in_use(self) -> str | None:
        """The Instagram app's secret when Instagram Login is configured and it has one."""
        value = self.instagram_app_secret.get_secret_value()
        return value if value and getattr(self, "instagram_login_configured", False) else None


class TikTokClientSecret(_Checked):
    tiktok_client_secret: SecretStr = SecretStr(f"{SANDBOX_CREDENTIAL_PREFIX}tiktok-secret")

    def production_problems(self) -> list[str]:
        return [*super().production_problems(),
                *_secret_problem("POSTIFYS_TIKTOK_CLIENT_SECRET", self.tiktok_client_secret)]


class MetaWebhookVerifyToken(_Checked):
    meta_webhook_verify_token: SecretStr = SecretStr(f"{SANDBOX_CREDENTIAL_PREFIX}verify-token")

    def production_problems(self) -> list[str]:
        return [*super().production_problems(),
                *_secret_problem("POSTIFYS_META_WEBHOOK_VERIFY_TOKEN", self.meta_webhook_verify_token)]


class ServiceSettings(PostifysSettings):
    """One service process. It listens where its POSTIFYS_<SERVICE>_URL says, so the gateway and
    the service can never disagree, and POSTIFYS_<SERVICE>_DATABASE_URL may give it its own database."""

    service_name: ClassVar[str] = "service"

    @property
    def listen_port(self) -> int:
        url = urlsplit(getattr(self, f"{self.service_name}_url"))
        return url.port or 80

    @property
    def service_database_url(self) -> str:
        return os.environ.get(f"POSTIFYS_{self.service_name.upper()}_DATABASE_URL", self.database_url)


def refuse_misconfigured(settings: PostifysSettings) -> None:
    """At a process's start: a production misconfiguration is one line naming the settings, and exit status 2."""
    try:
        settings.check_production()
    except ProductionMisconfigured as exc:
        sys.stderr.write(f"postifys {settings.service_name}: refusing to start in production: {exc}\n")
        raise SystemExit(2) from None
