"""structlog set up once per process: JSON in production, readable in development, secrets redacted."""

from __future__ import annotations

import logging
import re
import sys
from typing import Any

import structlog
from structlog.typing import EventDict, WrappedLogger

REDACTED = "[redacted]"
_SECRET_KEY = re.compile(
    r"pass(word)?|secret|token|cookie|authorization|session_id|signed_request|code_verifier|^code$|api_key",
    re.IGNORECASE,
)
# Catches secrets that slipped into free text: query strings, headers, "Bearer x".
_SECRET_IN_TEXT = re.compile(
    r"(?i)((?<![\w-])(?:access_token|refresh_token|client_secret|password|token|code|state|signed_request)=)"
    r"[^&\s\"',)]+"
    r"|(bearer\s+)[A-Za-z0-9._~+/=-]+"
    # A signed media URL's token is the key to the file for a day.
    r"|(/media/files/)[^/?#\s\"',)]+"
)


def redact_text(text: str) -> str:
    return _SECRET_IN_TEXT.sub(lambda m: (m.group(1) or m.group(2) or m.group(3)) + REDACTED, text)


def _redact(value: Any, key: str = "") -> Any:
    if key and _SECRET_KEY.search(key) and not key.endswith(("_count", "_id_hash", "_kind")):
        return REDACTED
    if isinstance(value, dict):
        return {k: _redact(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redact(v) for v in value]
    if isinstance(value, str):
        return redact_text(value)
    return value


def redact_secrets(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    return {k: _redact(v, k) if k != "event" else _redact(v) for k, v in event_dict.items()}


def configure_logging(*, service: str, level: str = "INFO", json: bool = True) -> None:
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
        redact_secrets,
    ]
    renderer: Any = structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(colors=False)
    structlog.configure(
        # Below the level, a line stops before the chain: redaction walks every value, on every event consumed.
        processors=[structlog.stdlib.filter_by_level, *shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
    )
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Access logs would carry query strings (OAuth codes, states); requests are logged by our middleware.
    logging.getLogger("uvicorn.access").disabled = True
    for noisy in ("aiormq", "aio_pika", "httpx", "httpcore", "mail.log"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    structlog.contextvars.bind_contextvars(service=service)
