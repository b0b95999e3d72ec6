"""The gateway serves the event contract next to the OpenAPI document, and a page of it outside production."""

from __future__ import annotations

import json

import httpx

from deploy.asyncapi import DOCUMENT
from services.gateway.event_docs import event_docs_router
from services.gateway.settings import GatewaySettings
from shared.events import EVENT_TYPES


async def test_the_asyncapi_document_is_served_as_committed(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/asyncapi.json")
    assert response.status_code == 200
    assert response.json() == json.loads(DOCUMENT.read_text())


async def test_the_events_page_names_every_event_without_script_or_style(client: httpx.AsyncClient) -> None:
    response = await client.get("/docs/events")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    policy = response.headers["content-security-policy"]
    assert "unsafe-inline" not in policy
    for inline in ("<script", "<style", " style="):
        assert inline not in response.text
    for event_type in EVENT_TYPES:
        assert f"<code>{event_type}</code>" in response.text


def test_production_serves_the_document_but_not_the_page() -> None:
    paths = {getattr(route, "path", None) for route in event_docs_router(GatewaySettings(env="production")).routes}
    assert paths == {"/api/v1/asyncapi.json"}
