"""`python -m sandbox`: serves the platform sandbox on 127.0.0.1 at the port of POSTIFYS_SANDBOX_URL."""

from __future__ import annotations

from urllib.parse import urlsplit

import structlog
import uvicorn

from sandbox.app import SandboxSettings, create_app
from shared.logging import configure_logging

log = structlog.get_logger()


def main() -> None:
    settings = SandboxSettings()
    configure_logging(service="sandbox", level=settings.log_level, json=settings.log_format == "json")
    if settings.is_production:
        raise SystemExit("sandbox: refusing to start with POSTIFYS_ENV=production; it hands out tokens to anyone")
    port = urlsplit(settings.sandbox_url).port or 80
    log.info("Sandbox starting", url=settings.sandbox_url)
    uvicorn.run(create_app(settings), host="127.0.0.1", port=port, log_config=None, access_log=False,
                server_header=False, timeout_graceful_shutdown=5)


if __name__ == "__main__":
    main()
