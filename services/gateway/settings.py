from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from shared.settings import PostifysSettings


class GatewaySettings(PostifysSettings):
    service_name: ClassVar[str] = "gateway"

    # Per client IP, across every route: a steady rate and the burst allowed above it.
    rate_limit_per_minute: int = 600
    rate_limit_burst: int = 120
    # Per client IP on the platforms' paths (webhooks, Meta's callbacks), counted apart from the one above: platforms
    # deliver in bursts from few addresses, and their signatures are checked behind this.
    webhook_rate_limit_per_minute: int = 6000
    webhook_rate_limit_burst: int = 1000
    upstream_timeout_seconds: float = 30.0
    # /metrics is served only on this second listener, never on the public port. Unset: the public port + 1000.
    metrics_host: str = "127.0.0.1"
    metrics_port: int | None = Field(None, ge=1, le=65535)

    @property
    def metrics_listen_port(self) -> int:
        return self.metrics_port or self.port + 1000

    # Set by `make run` alone, when it started the development mailbox itself (no POSTIFYS_SMTP_URL).
    devmail: bool = False

    @property
    def serves_dev_mailbox(self) -> bool:
        """Anyone who can read the mailbox can read every reset link: only on one developer's own machine."""
        return self.env == "development" and self.devmail and self.host in ("127.0.0.1", "::1", "localhost")
