from __future__ import annotations

from typing import ClassVar

from shared.settings import ServiceSettings


class ConnectorSettings(ServiceSettings):
    service_name: ClassVar[str] = "connector"

    oauth_state_lifetime_seconds: int = 600
    # How often tokens are checked with their platform and refreshed ahead of expiry.
    token_check_interval_seconds: int = 300
    tiktok_refresh_margin_seconds: int = 600
    instagram_refresh_margin_seconds: int = 10 * 24 * 3600
    platform_timeout_seconds: float = 15.0
