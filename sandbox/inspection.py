"""/_sandbox inspection and fault knobs for publishing: what each platform accepted (publishes), what it refused
for a limit (breaches), and the fault rules that make platform calls fail, stall or rate-limit."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from sandbox.faults import FaultMode, FaultRule
from sandbox.fetch import media_fetcher
from sandbox.state import Platform
from sandbox.web import sandbox_state

router = APIRouter(prefix="/_sandbox")

PLATFORMS: tuple[Platform, ...] = ("facebook", "instagram", "tiktok")


class FaultRuleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    platform: Literal["facebook", "instagram", "tiktok"] | None = None
    path: str | None = Field(None, description="A substring of the request path, e.g. /media_publish")
    method: str | None = None
    mode: FaultMode
    times: int | None = Field(1, ge=1, description="How often the rule fires; null: every time")
    probability: float = Field(1.0, ge=0.0, le=1.0)


@router.get("/publishes")
async def publishes(request: Request, platform: Platform | None = None, account: str | None = None,
                    kind: str | None = None) -> list[dict[str, Any]]:
    """Each with what the platform fetched from its media URLs and examined (`fetched`: size, sha256, format,
    dimensions), for URLs other than /_sandbox/media ones."""
    state = sandbox_state(request)
    fetched = media_fetcher(request).fetched
    return [{**p.describe(), "fetched": [fetched[u].describe() for u in p.media_urls if u in fetched]}
            for p in state.ledger.visible_publishes(state.now(), platform=platform, account=account, kind=kind)]


@router.get("/fetches")
async def fetches(request: Request) -> list[dict[str, Any]]:
    """Every media URL (other than /_sandbox/media ones) the platforms fetched and examined, published or not."""
    return [facts.describe() for facts in media_fetcher(request).fetched.values()]


@router.get("/publishes/count")
async def publishes_count(request: Request, platform: Platform | None = None, account: str | None = None,
                          kind: str | None = None) -> dict[str, Any]:
    state = sandbox_state(request)
    visible = state.ledger.visible_publishes(state.now(), platform=platform, account=account, kind=kind)
    return {"total": len(visible),
            "by_platform": {name: sum(1 for p in visible if p.platform == name) for name in PLATFORMS}}


@router.get("/breaches")
async def breaches(request: Request, platform: Platform | None = None) -> list[dict[str, Any]]:
    return [b.describe() for b in sandbox_state(request).ledger.breaches if platform is None or b.platform == platform]


@router.get("/faults")
async def faults(request: Request) -> list[dict[str, Any]]:
    """Every rule with how often it fired ("fired") and what became of each request it hit ("events")."""
    return sandbox_state(request).faults.describe()


@router.put("/faults")
async def install_faults(request: Request, rules: list[FaultRuleIn]) -> list[dict[str, Any]]:
    """Replaces every rule (and with them the record of what fired). The first rule matching a request fires."""
    book = sandbox_state(request).faults
    book.replace([FaultRule(mode=r.mode, platform=r.platform, path=r.path, method=r.method, times=r.times,
                            probability=r.probability) for r in rules])
    return book.describe()


@router.delete("/faults")
async def clear_faults(request: Request) -> list[dict[str, Any]]:
    book = sandbox_state(request).faults
    book.replace([])
    return book.describe()
