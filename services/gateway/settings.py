from __future__ import annotations

from typing import ClassVar

from shared.settings import PostifysSettings


class GatewaySettings(PostifysSettings):
    service_name: ClassVar[str] = "gateway"

    # Per client IP, across every route: a steady rate and the burst allowed above it.
    rate_limit_per_minute: int = 600
    rate_limit_burst: int = 120
    upstream_timeout_seconds: float = 30.0
