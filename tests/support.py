"""Helpers for tests that drive the running system."""

from __future__ import annotations

import asyncio
import ipaddress
import random
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx

from deploy.devmail import Mailbox, ReceivedMail
from deploy.system import System

T = TypeVar("T")


async def wait_for(check: Callable[[], Awaitable[T]], *, timeout: float = 20, interval: float = 0.1,
                   message: str = "condition") -> T:
    """Polls until `check` returns something truthy; fails the test at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = await check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {message}")
        await asyncio.sleep(interval)


@dataclass
class Stack:
    gateway: str
    env: dict[str, str]
    database_url: str
    amqp_url: str
    prefix: str
    mailbox: Mailbox
    system: System
    log_dir: Path
    _ip_counter: int = field(default=0)

    def service_url(self, name: str) -> str:
        return self.system.url(name)

    def new_client_ip(self) -> str:
        self._ip_counter += 1
        return str(ipaddress.ip_address("2001:db8::") + random.getrandbits(64) + self._ip_counter)

    async def mail(self, address: str, subject_contains: str, *, after: int = 0, timeout: float = 15) -> ReceivedMail:
        async def find() -> ReceivedMail | None:
            matches = [m for m in self.mailbox.for_address(address) if subject_contains in m.subject]
            return matches[after] if len(matches) > after else None
        return await wait_for(find, timeout=timeout, message=f"mail '{subject_contains}' to {address}")

    def logs(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in self.log_dir.glob("*.log"))


def unique_email(tag: str = "user") -> str:
    return f"{tag}-{secrets.token_hex(6)}@example.com"


STRONG_PASSWORD = "correct horse battery staple 42"


def token_from(mail: ReceivedMail) -> str:
    marker = "#token="
    start = mail.text.index(marker) + len(marker)
    return mail.text[start:].split()[0]


async def sign_up(http: httpx.AsyncClient, stack: Stack, *, verified: bool = True,
                  password: str = STRONG_PASSWORD, name: str = "Test Person") -> dict[str, Any]:
    email = unique_email()
    response = await http.post("/api/v1/auth/signup", json={"name": name, "email": email, "password": password})
    assert response.status_code == 201, response.text
    user = {"id": response.json()["id"], "email": email, "password": password}
    if verified:
        token = token_from(await stack.mail(email, "Confirm your email"))
        assert (await http.post("/api/v1/auth/verify-email", json={"token": token})).status_code == 200
    return user


async def sign_in(http: httpx.AsyncClient, user: dict[str, Any], password: str | None = None) -> httpx.Response:
    response = await http.post("/api/v1/auth/login",
                               json={"email": user["email"], "password": password or user["password"]})
    return response
