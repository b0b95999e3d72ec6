"""GET /api/v1/privacy/export: everything Postifys holds about the signed-in user, tokens excepted."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
from fastapi import APIRouter, Request, Response

from services.privacy.export import DataExport, DeletionRequestsFor, gather_export
from shared.errors import ERROR_RESPONSES, ErrorResponse
from shared.http.callers import CallerDep
from shared.settings import PostifysSettings

EXPORT_RESPONSES: dict[int | str, dict[str, Any]] = {
    **ERROR_RESPONSES,
    503: {"model": ErrorResponse, "description": "A service holding part of the data cannot be reached"},
}


def build_export_router(http_client_getter: Callable[[], httpx.AsyncClient], settings: PostifysSettings,
                        deletion_requests_for: DeletionRequestsFor) -> APIRouter:
    api = APIRouter(prefix="/api/v1/privacy", responses=EXPORT_RESPONSES, tags=["privacy"])

    @api.get("/export", response_model=DataExport)
    async def export(caller: CallerDep, request: Request, response: Response) -> DataExport:
        """Your profile, sessions, sign-in history, connected accounts and permissions, posts with their
        outcomes, your media library described (names, sizes, what was read from each file; not the files), the
        platforms' notifications about your accounts, and deletion requests, as one JSON document."""
        document = await gather_export(http_client_getter(), settings, caller.user_id, deletion_requests_for,
                                       request_id=getattr(request.state, "request_id", None))
        response.headers["Content-Disposition"] = 'attachment; filename="postifys-export.json"'
        return document

    return api
