"""Helpers for tests that drive the running system."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import random
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlencode

import httpx
import sqlalchemy as sa

from deploy.devmail import Mailbox, ReceivedMail
from deploy.system import System
from shared.internal import development_signer
from shared.migrations import SCHEMA_SERVICES
from shared.runtime import ServiceRuntime
from shared.settings import ServiceSettings

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
        """Everything the Postifys processes logged (the sandbox stands in for the platforms)."""
        return "\n".join(p.read_text(errors="replace") for p in self.log_dir.glob("*.log") if p.stem != "sandbox")


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


def items(body: Any) -> list[dict[str, Any]]:
    """The sandbox answers lists either bare or wrapped; tests read both."""
    if isinstance(body, dict):
        for key in ("items", "data", "tokens", "requests", "revocations"):
            if isinstance(body.get(key), list):
                return list(body[key])
    return list(body)


async def connect(http: httpx.AsyncClient, stack: Stack, provider: str, *, user: str | None = None,
                  decision: str = "allow", granted: list[str] | None = None) -> httpx.Response:
    """Walks the OAuth dance like a browser: start, the sandbox's consent form, back to the callback.
    Answers the callback's response (a redirect to the accounts page, or an error)."""
    start = await http.get(f"/api/v1/connections/{provider}/start")
    assert start.status_code == 302, start.text
    consent = await approve(start.headers["location"], user=user, decision=decision, granted=granted)
    return await http.get(callback_path(consent))


DEFAULT_USERS = {"facebook": "5551", "instagram": "1020", "tiktok": "-000abc"}


async def approve(authorize_url: str, *, user: str | None, decision: str, granted: list[str] | None,
                  provider: str | None = None) -> str:
    parsed = httpx.URL(authorize_url)
    params = dict(parsed.params)
    provider = provider or next(p for p in ("facebook", "instagram", "tiktok") if f"/{p}-" in parsed.path)
    form: list[tuple[str, str]] = list(params.items())
    form += [("user_id", user or DEFAULT_USERS[provider]), ("decision", decision)]
    form += [("granted", scope) for scope in granted or []]
    async with httpx.AsyncClient() as browser:
        answer = await browser.post(str(parsed.copy_with(query=None)), content=urlencode(form),
                                    headers={"content-type": "application/x-www-form-urlencoded"})
    assert answer.status_code in (302, 303), answer.text
    return answer.headers["location"]


def callback_path(location: str) -> str:
    url = httpx.URL(location.split("#", 1)[0])
    return url.raw_path.decode()


async def sandbox(stack: Stack, method: str, path: str, **kwargs: Any) -> Any:
    async with httpx.AsyncClient(base_url=stack.env["POSTIFYS_SANDBOX_URL"]) as http:
        response = await http.request(method, path, **kwargs)
        assert response.status_code < 400, response.text
        return response.json() if response.content else None


def restart_with(stack: Stack, service: str, env: dict[str, str | None]) -> None:
    """Starts one service of the stack again with some settings changed (None: unset)."""
    stack.system.stop_one(service)
    for name, value in env.items():
        if value is None:
            stack.env.pop(name, None)
        else:
            stack.env[name] = value
    stack.system.start_one(service)
    stack.system.wait_ready(timeout=60, names=(service,))


def signed_as(stack: Stack, caller: str) -> httpx.Auth:
    """Signs requests to the stack's services as `caller` would, with the key the stack derived for it."""
    return development_signer(stack.env["POSTIFYS_INTERNAL_SECRET"], caller,
                              {name: stack.service_url(name) for name in SCHEMA_SERVICES}).auth()


async def internal(stack: Stack, service: str, path: str, json: dict[str, Any], *,
                   caller: str = "publisher") -> httpx.Response:
    async with httpx.AsyncClient(base_url=stack.service_url(service), auth=signed_as(stack, caller)) as http:
        return await http.post(path, json=json)


@contextlib.asynccontextmanager
async def runtime_for(settings: ServiceSettings, metadata: sa.MetaData) -> AsyncIterator[ServiceRuntime]:
    """A service's runtime whose bus is never started: for logic that needs only its database."""
    runtime = ServiceRuntime(settings, metadata)
    try:
        yield runtime
    finally:
        await runtime.engine.dispose()
