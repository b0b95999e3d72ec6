"""Configuration: every variable carries the POSTIFYS_ prefix; one class per service on this base."""

from __future__ import annotations

import os
from functools import cached_property
from typing import ClassVar, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

DEVELOPMENT_INTERNAL_SECRET = "development-internal-secret-not-for-production"  # noqa: S105 (refused in production)
DEVELOPMENT_VAULT_KEYS = "dev1:cG9zdGlmeXMtZGV2ZWxvcG1lbnQtb25seS1rZXktMzI="
SANDBOX_CREDENTIAL_PREFIX = "sandbox-"

SERVICE_PORTS = {
    "identity": 8001,
    "connector": 8002,
    "publisher": 8003,
    "webhooks": 8004,
    "privacy": 8005,
}


class ProductionMisconfigured(RuntimeError):
    pass


class PostifysSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="POSTIFYS_", extra="ignore")

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
    smtp_url: str | None = None
    mail_from: str = "Postifys <no-reply@postifys.local>"
    internal_secret: SecretStr = SecretStr(DEVELOPMENT_INTERNAL_SECRET)
    vault_keys: SecretStr = SecretStr(DEVELOPMENT_VAULT_KEYS)

    identity_url: str = f"http://127.0.0.1:{SERVICE_PORTS['identity']}"
    connector_url: str = f"http://127.0.0.1:{SERVICE_PORTS['connector']}"
    publisher_url: str = f"http://127.0.0.1:{SERVICE_PORTS['publisher']}"
    webhooks_url: str = f"http://127.0.0.1:{SERVICE_PORTS['webhooks']}"
    privacy_url: str = f"http://127.0.0.1:{SERVICE_PORTS['privacy']}"
    devmail_url: str = "http://127.0.0.1:8026"

    meta_app_id: str = f"{SANDBOX_CREDENTIAL_PREFIX}meta-app"
    meta_app_secret: SecretStr = SecretStr(f"{SANDBOX_CREDENTIAL_PREFIX}meta-secret")
    meta_webhook_verify_token: SecretStr = SecretStr(f"{SANDBOX_CREDENTIAL_PREFIX}verify-token")
    meta_graph_version: str = "v25.0"
    instagram_app_id: str = f"{SANDBOX_CREDENTIAL_PREFIX}instagram-app"
    instagram_app_secret: SecretStr = SecretStr(f"{SANDBOX_CREDENTIAL_PREFIX}instagram-secret")
    tiktok_client_key: str = f"{SANDBOX_CREDENTIAL_PREFIX}tiktok-client"
    tiktok_client_secret: SecretStr = SecretStr(f"{SANDBOX_CREDENTIAL_PREFIX}tiktok-secret")
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

    def check_production(self) -> None:
        """Refuse to run in production with development defaults."""
        if not self.is_production:
            return
        problems = []
        if not self.public_url.startswith("https://"):
            problems.append("POSTIFYS_PUBLIC_URL must be https")
        if self.internal_secret.get_secret_value() == DEVELOPMENT_INTERNAL_SECRET:
            problems.append("POSTIFYS_INTERNAL_SECRET must be set")
        if self.vault_keys.get_secret_value() == DEVELOPMENT_VAULT_KEYS:
            problems.append("POSTIFYS_VAULT_KEYS must be set")
        if self.sandbox:
            problems.append("POSTIFYS_SANDBOX must be 0")
        for name in ("meta_app_id", "instagram_app_id", "tiktok_client_key"):
            if str(getattr(self, name)).startswith(SANDBOX_CREDENTIAL_PREFIX):
                problems.append(f"POSTIFYS_{name.upper()} must be a real credential")
        if problems:
            raise ProductionMisconfigured("; ".join(problems))


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
