"""Sending the platforms' webhooks for real: what queues a delivery (a publish turning final, a Page post going
live, a revocation, a test asking), the background sender that POSTs each one through one pooled client and
retries on the configured schedule, and the /_sandbox/webhooks endpoints to send on demand and to inspect.

Nothing here runs inside an API request: routers only queue a delivery in state.webhooks; a periodic tick in the
sandbox process notices new deliveries and publishes that turned final, and sends in background tasks."""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any, Literal

import httpx
import structlog
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, model_validator

from sandbox.state import FacebookUser, SandboxState
from sandbox.web import sandbox_state
from sandbox.webhooks import (
    Attempt,
    Delivery,
    WebhookBook,
    feed_entry,
    meta_body,
    meta_event,
    meta_headers,
    permissions_entry,
    publish_events,
    tiktok_body,
    tiktok_headers,
)

log = structlog.get_logger()
router = APIRouter(prefix="/_sandbox")

TICK_SECONDS = 0.2
USER_AGENT = "postifys-sandbox-webhooks/1.0"


# Queueing: pure state changes, safe to call from any router.

def queue_tiktok(state: SandboxState, event: str, open_id: str, content: dict[str, Any]) -> Delivery | None:
    """Queues a signed TikTok event for the creator; None when webhooks are disabled."""
    if not state.settings.webhooks_enabled:
        return None
    now = state.now()
    body = tiktok_body(state.credentials.tiktok_client_key, event, int(now), open_id, content)
    return state.webhooks.add("tiktok", event, state.settings.tiktok_webhook_url, body, now)


def queue_meta(state: SandboxState, object_type: str, entry: list[dict[str, Any]]) -> Delivery | None:
    if not state.settings.webhooks_enabled:
        return None
    now = state.now()
    return state.webhooks.add("meta", meta_event(object_type, entry), state.settings.meta_webhook_url,
                              meta_body(object_type, entry), now)


def queue_resend(state: SandboxState, original: Delivery) -> Delivery:
    """The same body again, to the provider's current URL: a redelivery (re-signed when sent)."""
    url = state.settings.tiktok_webhook_url if original.provider == "tiktok" else state.settings.meta_webhook_url
    return state.webhooks.add(original.provider, original.event, url, original.body, state.now(),
                              resend_of=original.id)


def queue_permissions_revoked(state: SandboxState, user: FacebookUser, permissions: tuple[str, ...]) -> None:
    """The user removed the app (DELETE /me/permissions): one `permissions` change per permission they had."""
    if not permissions:
        return
    pages = state.facebook.pages_of(user.id)
    page_ids = [p.id for p in pages]
    instagram_ids = [p.instagram.id for p in pages if p.instagram is not None]
    revoked = {p: page_ids if p.startswith("pages_") else instagram_ids if p.startswith("instagram_") else []
               for p in dict.fromkeys(permissions)}
    queue_meta(state, "permissions", [permissions_entry(user_id=user.id, revoked=revoked, now=int(state.now()))])


def announce_transitions(state: SandboxState) -> None:
    """Queues the webhooks for TikTok publishes that turned final and Page posts that went live since the last
    look. Each is announced once; while webhooks are disabled it is marked announced without sending."""
    now = state.now()
    book = state.webhooks
    for task in list(state.tiktok_content.tasks.values()):
        if task.publish_id in book.announced_tasks or task.done_at is None or now < task.done_at:
            continue
        book.announced_tasks.add(task.publish_id)
        for event, content in publish_events(publish_id=task.publish_id, inbox=task.kind in ("inbox", "photo_inbox"),
                                             private=task.private, fail_reason=task.fail_reason,
                                             post_id=task.post_id):
            queue_tiktok(state, event, task.open_id, content)
    for post in list(state.pages_content.posts.values()):
        if post.id in book.announced_posts or not post.visible(now):
            continue
        book.announced_posts.add(post.id)
        page = state.facebook.pages.get(post.page_id)
        queue_meta(state, "page", [feed_entry(
            page_id=post.page_id, page_name=page.name if page else "", post_id=post.id, kind=post.kind,
            message=post.message, created_time=int(post.created_at), now=int(now))])


# Sending.

class WebhookSender:
    """Runs in the sandbox process from startup to shutdown: every tick it announces transitions and starts one
    background task per new delivery. A reset (a new WebhookBook) cancels the old book's pending retries."""

    def __init__(self, state: SandboxState, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._state = state
        self._client = httpx.AsyncClient(transport=transport, headers={"User-Agent": USER_AGENT},
                                         limits=httpx.Limits(max_connections=50, max_keepalive_connections=10))
        self._book: WebhookBook = state.webhooks
        self._seen = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self._ticker: asyncio.Task[None] | None = None
        self.ticks = 0

    def start(self) -> None:
        self._ticker = asyncio.create_task(self._run(), name="webhook-ticker")

    async def aclose(self) -> None:
        tasks = [*self._tasks, *([self._ticker] if self._ticker else [])]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self._client.aclose()

    async def _run(self) -> None:
        while True:
            try:
                self.tick()
            except Exception:  # a bad tick must not end webhook delivery for the life of the process
                log.exception("Webhook tick failed")
            self.ticks += 1
            await asyncio.sleep(TICK_SECONDS)

    def tick(self) -> None:
        state = self._state
        if state.webhooks is not self._book:
            for task in self._tasks:
                task.cancel()
            self._book, self._seen = state.webhooks, 0
        announce_transitions(state)
        pending = self._book.deliveries[self._seen:]
        self._seen = len(self._book.deliveries)
        for delivery in pending:
            task = asyncio.create_task(self._deliver(self._book, delivery), name=f"webhook-{delivery.id}")
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _deliver(self, book: WebhookBook, delivery: Delivery) -> None:
        settings = self._state.settings
        delays = list(settings.webhook_retry_seconds)
        timeout = settings.webhook_timeout_seconds
        for attempt in range(len(delays) + 1):
            if self._state.webhooks is not book:
                return
            if await self._attempt(delivery, timeout):
                delivery.delivered = True
                return
            if attempt < len(delays):
                await asyncio.sleep(delays[attempt])
        delivery.gave_up = True
        log.info("Webhook given up", delivery=delivery.id, webhook_event=delivery.event, url=delivery.url)

    async def _attempt(self, delivery: Delivery, timeout: float) -> bool:
        credentials = self._state.credentials
        if delivery.provider == "tiktok":
            headers = tiktok_headers(credentials.tiktok_client_secret, int(time.time()), delivery.body)
        else:
            headers = meta_headers(credentials.meta_app_secret, delivery.body)
        at = self._state.now()
        try:
            response = await self._client.post(delivery.url, content=delivery.body.encode(), headers=headers,
                                               timeout=timeout)
        except httpx.TimeoutException as exc:
            delivery.attempts.append(Attempt(at=at, status=None, error=f"timeout: {type(exc).__name__}"))
            return False
        except httpx.HTTPError as exc:
            delivery.attempts.append(Attempt(at=at, status=None, error=f"{type(exc).__name__}: {exc}"))
            return False
        ok = 200 <= response.status_code < 300
        delivery.attempts.append(Attempt(at=at, status=response.status_code,
                                         error=None if ok else f"HTTP {response.status_code}"))
        return ok


# /_sandbox/webhooks

class SendIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    provider: Literal["tiktok", "meta"] | None = None
    # TikTok
    event: str | None = Field(None, min_length=1)
    open_id: str | None = Field(None, min_length=1)
    content: dict[str, Any] = Field(default_factory=dict)
    # Meta
    object: str | None = Field(None, min_length=1)
    entry: list[dict[str, Any]] | None = None
    # Redelivery of an earlier delivery's exact body.
    resend: str | None = None

    @model_validator(mode="after")
    def _complete(self) -> SendIn:
        if self.resend is not None:
            return self
        if self.provider == "tiktok" and (self.event is None or self.open_id is None):
            raise ValueError("a TikTok webhook needs event and open_id")
        if self.provider == "meta" and (self.object is None or self.entry is None):
            raise ValueError("a Meta webhook needs object and entry")
        if self.provider is None:
            raise ValueError("provider (tiktok or meta) or resend is required")
        return self


@router.post("/webhooks/send", response_model=None)
async def send_webhook(request: Request, body: SendIn) -> dict[str, Any] | JSONResponse:
    """Builds, signs and sends a webhook now (within a tick), or resends an earlier one's body."""
    state = sandbox_state(request)
    if not state.settings.webhooks_enabled:
        return JSONResponse({"detail": "Webhooks are disabled (webhooks_enabled is false)."}, status_code=409)
    delivery: Delivery | None
    if body.resend is not None:
        original = state.webhooks.by_id.get(body.resend)
        if original is None:
            return JSONResponse({"detail": "No such webhook delivery."}, status_code=404)
        delivery = queue_resend(state, original)
    elif body.provider == "tiktok":
        delivery = queue_tiktok(state, body.event or "", body.open_id or "", body.content)
    else:
        delivery = queue_meta(state, body.object or "", body.entry or [])
    assert delivery is not None
    return delivery.describe()


@router.get("/webhooks/ticks")
async def ticks(request: Request) -> dict[str, int]:
    """How many times the sender has looked for transitions and new deliveries: a test that expects nothing to be
    sent waits for this to move on twice, then checks that nothing was."""
    sender: WebhookSender = request.app.state.webhook_sender
    return {"ticks": sender.ticks}


@router.get("/webhooks")
async def list_webhooks(request: Request, provider: Literal["tiktok", "meta"] | None = None,
                        event: str | None = None) -> list[dict[str, Any]]:
    """Deliveries oldest first; `event` matches a TikTok event, or a Meta object or object/field."""
    return [d.describe() for d in sandbox_state(request).webhooks.listed(provider, event)]
