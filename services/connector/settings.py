from __future__ import annotations

from typing import ClassVar

from pydantic import SecretStr

from services.connector.vault import parse_keys
from shared.settings import InstagramAppSecret, MetaAppSecret, ServiceSettings, TikTokClientSecret

DEVELOPMENT_VAULT_KEYS = "dev1:cG9zdGlmeXMtZGV2ZWxvcG1lbnQtb25seS1rZXktMzI="


class ConnectorSettings(ServiceSettings, MetaAppSecret, InstagramAppSecret, TikTokClientSecret):
    """The only settings that hold the vault keys: no other process can open a token."""

    service_name: ClassVar[str] = "connector"

    vault_keys: SecretStr = SecretStr(DEVELOPMENT_VAULT_KEYS)

    oauth_state_lifetime_seconds: int = 600
    # How often tokens are checked with their platform and refreshed ahead of expiry.
    token_check_interval_seconds: int = 300
    tiktok_refresh_margin_seconds: int = 600
    instagram_refresh_margin_seconds: int = 10 * 24 * 3600
    platform_timeout_seconds: float = 15.0

    def production_problems(self) -> list[str]:
        problems = super().production_problems()
        spec = self.vault_keys.get_secret_value()
        try:
            keys = parse_keys(spec)
        except ValueError as exc:
            return [*problems, f"POSTIFYS_VAULT_KEYS does not parse: {exc}"]
        development = parse_keys(DEVELOPMENT_VAULT_KEYS)
        if next(iter(keys.values())) in development.values():
            problems.append("POSTIFYS_VAULT_KEYS must start with a key of your own, not the development key")
        return problems
