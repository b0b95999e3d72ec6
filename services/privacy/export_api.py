"""GET /api/v1/privacy/export: everything Postifys holds about the signed-in user, tokens excepted."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import httpx
from fastapi import APIRouter, Request, Response
from pydantic import BaseModel

from services.privacy.export import gather_export
from shared.errors import ERROR_RESPONSES, ErrorResponse
from shared.http.callers import CallerDep
from shared.settings import PostifysSettings

DeletionRequestsFor = Callable[[uuid.UUID], Awaitable[list[dict[str, Any]]]]
EXPORT_RESPONSES: dict[int | str, dict[str, Any]] = {
    **ERROR_RESPONSES,
    503: {"model": ErrorResponse, "description": "A service holding part of the data cannot be reached"},
}


class DataExport(BaseModel):
    exported_at: datetime
    profile: dict[str, Any]
    sessions: list[dict[str, Any]]
    sign_in_history: list[dict[str, Any]]
    connections: list[dict[str, Any]]
    accounts: list[dict[str, Any]]
    posts: list[dict[str, Any]]
    platform_events: list[dict[str, Any]]
    deletion_requests: list[dict[str, Any]]


def build_export_router(http_client_getter: Callable[[], httpx.AsyncClient], settings: PostifysSettings,
                        deletion_requests_for: DeletionRequestsFor) -> APIRouter:
    api = APIRouter(prefix="/api/v1/privacy", responses=EXPORT_RESPONSES, tags=["privacy"])

    @api.get("/export", response_model=DataExport)
    async def export(caller: CallerDep, request: Request, response: Response) -> DataExport:
        """Your profile, sessions, sign-in history, connected accounts and permissions, posts with their
        outcomes, the platforms' notifications about your accounts, and deletion requests, as one JSON document."""
        document = await gather_export(http_client_getter(), settings, caller.user_id,
                                       request_id=getattr(request.state, "request_id", None))
        document["deletion_requests"] = await deletion_requests_for(caller.user_id)
        response.headers["Content-Disposition"] = 'attachment; filename="postifys-export.json"'
        return DataExport(**document)

    return api
