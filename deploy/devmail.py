"""The development mailbox: an SMTP server that keeps what it receives, readable over HTTP.
Started by `make run` when POSTIFYS_SMTP_URL is not set; the tests use `Mailbox` as their SMTP server."""

from __future__ import annotations

import asyncio
import email
import email.policy
import html
import os
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope


@dataclass(frozen=True)
class ReceivedMail:
    to: list[str]
    subject: str
    text: str
    html: str | None
    received_at: datetime
    raw: bytes


class Mailbox:
    """aiosmtpd handler that keeps the last messages in memory."""

    def __init__(self, keep: int = 500) -> None:
        self.messages: deque[ReceivedMail] = deque(maxlen=keep)

    async def handle_DATA(self, server: SMTP, session: Any, envelope: Envelope) -> str:  # noqa: N802
        raw = envelope.original_content or b""
        parsed = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        text_part = parsed.get_body(preferencelist=("plain",))
        html_part = parsed.get_body(preferencelist=("html",))
        self.messages.append(ReceivedMail(
            to=[str(r) for r in envelope.rcpt_tos], subject=str(parsed["subject"]),
            text=text_part.get_content() if text_part else "", html=html_part.get_content() if html_part else None,
            received_at=datetime.now(UTC), raw=raw))
        return "250 Message accepted for delivery"

    def for_address(self, address: str) -> list[ReceivedMail]:
        return [m for m in self.messages if address.lower() in (r.lower() for r in m.to)]


def start_smtp(mailbox: Mailbox, host: str, port: int) -> Controller:
    controller = Controller(mailbox, hostname=host, port=port)
    controller.start()
    return controller


def render(mailbox: Mailbox) -> str:
    rows = "".join(
        f"<article><h2>{html.escape(m.subject)}</h2><p>To {html.escape(', '.join(m.to))} · "
        f"{m.received_at:%Y-%m-%d %H:%M:%S} UTC</p><pre>{html.escape(m.text)}</pre></article>"
        for m in reversed(mailbox.messages))
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>Development mailbox</title></head><body>"
            f"<h1>Development mailbox</h1>{rows or '<p>No mail yet.</p>'}</body></html>")


async def serve_http(mailbox: Mailbox, host: str, port: int) -> None:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        body = render(mailbox).encode()
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n"
                     b"Content-Length: " + str(len(body)).encode() + b"\r\nConnection: close\r\n\r\n" + body)
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, host, port)
    async with server:
        await server.serve_forever()


def main() -> None:
    host = os.environ.get("POSTIFYS_DEVMAIL_HOST", "127.0.0.1")
    smtp_port = int(os.environ.get("POSTIFYS_DEVMAIL_SMTP_PORT", "8025"))
    http_port = int(os.environ.get("POSTIFYS_DEVMAIL_HTTP_PORT", "8026"))
    mailbox = Mailbox()
    controller = start_smtp(mailbox, host, smtp_port)
    print(f"Development mailbox: smtp://{host}:{smtp_port}, read at http://{host}:{http_port}/", flush=True)
    try:
        asyncio.run(serve_http(mailbox, host, http_port))
    except KeyboardInterrupt:
        pass
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
