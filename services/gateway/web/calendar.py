"""The calendar screens."""

from __future__ import annotations

from fastapi import APIRouter

from services.gateway.web.deps import WebDeps


def register(router: APIRouter, deps: WebDeps) -> None:
    return None
