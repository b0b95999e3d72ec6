"""Mail over SMTP, sent after the request has been answered so that no answer's timing depends on it."""

from __future__ import annotations

import asyncio
import html
from dataclasses import dataclass
from email.message import EmailMessage
from urllib.parse import urlsplit

import aiosmtplib
import structlog

from services.identity.tables import User

log = structlog.get_logger()


def greeting(user: User) -> str:
    """The name was typed at sign-up by whoever signed up: repeated to an address nobody has proven, it would let
    anyone mail any text they like to any address, in Postifys' name."""
    return f"Hello {user.name}," if user.email_verified_at is not None else "Hello,"


@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    text: str
    link: str | None = None
    link_label: str | None = None

    def build(self, sender: str) -> EmailMessage:
        message = EmailMessage()
        message["From"] = sender
        message["To"] = self.to
        message["Subject"] = self.subject
        body = self.text + (f"\n\n{self.link_label}: {self.link}\n" if self.link else "\n")
        message.set_content(body + "\n-- \nPostifys\n")
        paragraphs = "".join(f"<p>{html.escape(p)}</p>" for p in self.text.split("\n\n"))
        button = (f'<p><a href="{html.escape(self.link)}" rel="noreferrer">{html.escape(self.link_label or "")}</a></p>'
                  if self.link else "")
        message.add_alternative(f"<!doctype html><html><body>{paragraphs}{button}<p>Postifys</p></body></html>",
                                subtype="html")
        return message


class Mailer:
    def __init__(self, smtp_url: str, sender: str, attempts: int = 5) -> None:
        parts = urlsplit(smtp_url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or (465 if parts.scheme == "smtps" else 25)
        self.tls = parts.scheme == "smtps"
        self.username = parts.username
        self.password = parts.password
        self.sender = sender
        self.attempts = attempts
        self._pending: set[asyncio.Task[None]] = set()

    def send_later(self, mail: Mail) -> None:
        task = asyncio.create_task(self._deliver(mail))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _deliver(self, mail: Mail) -> None:
        message = mail.build(self.sender)
        for attempt in range(1, self.attempts + 1):
            try:
                await aiosmtplib.send(message, hostname=self.host, port=self.port, use_tls=self.tls,
                                      username=self.username, password=self.password, timeout=10)
                log.info("Mail sent", subject=mail.subject)
                return
            except Exception as exc:
                log.warning("Mail delivery failed", subject=mail.subject, attempt=attempt, error=str(exc))
                await asyncio.sleep(min(2**attempt, 30))
        log.error("Mail given up", subject=mail.subject)

    async def drain(self, timeout: float = 5) -> None:
        if self._pending:
            await asyncio.wait(self._pending, timeout=timeout)
