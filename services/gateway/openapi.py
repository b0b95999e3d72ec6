"""The public OpenAPI document: each service's /api/v1 operations, merged."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from services.gateway.routing import API_PREFIX, PUBLIC_API, SERVICES, service_url
from shared.settings import PostifysSettings


async def merged_openapi(client: httpx.AsyncClient, settings: PostifysSettings) -> dict[str, Any]:
    documents = await asyncio.gather(
        *(client.get(f"{service_url(settings, s)}/openapi.json", timeout=5) for s in SERVICES),
        return_exceptions=True)
    paths: dict[str, Any] = {}
    schemas: dict[str, Any] = {}
    for response in documents:
        if isinstance(response, BaseException) or response.status_code != 200:
            continue
        document = response.json()
        for path, operations in document.get("paths", {}).items():
            if not path.startswith(API_PREFIX):
                continue
            if path in PUBLIC_API:
                for operation in operations.values():
                    operation["security"] = []
            paths[path] = operations
        schemas.update(document.get("components", {}).get("schemas", {}))
    return {
        "openapi": "3.1.0",
        "info": {"title": "Postifys API", "version": "1"},
        "servers": [{"url": settings.public_url}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"session": {"type": "apiKey", "in": "cookie", "name": settings.session_cookie_name}},
        },
        "security": [{"session": []}],
    }
