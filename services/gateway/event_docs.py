"""The event contract for people: the committed AsyncAPI document at /api/v1/asyncapi.json, next to the OpenAPI
one, and outside production an HTML page of it at /docs/events (plain markup: no script, no style)."""

from __future__ import annotations

import json
from html import escape
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, JSONResponse

from services.gateway.settings import GatewaySettings

DOCUMENT = Path(__file__).resolve().parents[2] / "docs" / "asyncapi.json"


def event_docs_router(settings: GatewaySettings) -> APIRouter:
    spec = json.loads(DOCUMENT.read_text())
    router = APIRouter(include_in_schema=False)

    @router.get("/api/v1/asyncapi.json")
    async def asyncapi() -> JSONResponse:
        return JSONResponse(spec)

    if not settings.is_production:
        page = events_page(spec)

        @router.get("/docs/events")
        async def events() -> HTMLResponse:
            return HTMLResponse(page)

    return router


def events_page(spec: dict[str, Any]) -> str:
    operations = spec["operations"].values()
    consumed = [op for op in operations if op["action"] == "receive"]
    published = [op for op in operations if op["action"] == "send"]
    schemas = spec["components"]["schemas"]
    return "".join([
        '<!doctype html><html lang="en"><head><meta charset="utf-8">',
        f"<title>{escape(spec['info']['title'])}</title></head><body><main>",
        f"<h1>{escape(spec['info']['title'])}</h1><p>{escape(spec['info'].get('description', ''))}</p>",
        '<p><a href="/api/v1/asyncapi.json">The AsyncAPI document</a></p>',
        "<h2>Events published</h2>", *(_operation(spec, op) for op in sorted(published, key=_address(spec))),
        "<h2>Queues and what they consume</h2>", *(_operation(spec, op) for op in sorted(consumed, key=_address(spec))),
        "<h2>Payloads</h2>", *(_schema(name, schemas[name]) for name in sorted(schemas)),
        "</main></body></html>",
    ])


def _channel(spec: dict[str, Any], operation: dict[str, Any]) -> dict[str, Any]:
    channel: dict[str, Any] = spec["channels"][_ref_name(operation["channel"]["$ref"])]
    return channel


def _ref_name(ref: str) -> str:
    return unquote(ref.rsplit("/", 1)[-1])


def _address(spec: dict[str, Any]) -> Any:
    return lambda operation: _channel(spec, operation)["address"]


def _payloads(spec: dict[str, Any], channel: dict[str, Any]) -> list[str]:
    names = []
    for message in channel["messages"].values():
        key = _ref_name(message["$ref"])
        payload = spec["components"]["messages"][key]["payload"]
        for ref in payload.get("oneOf", [payload]):
            names.append(_ref_name(ref["$ref"]))
    return names


def _operation(spec: dict[str, Any], operation: dict[str, Any]) -> str:
    channel = _channel(spec, operation)
    links = ", ".join(f'<a href="#{escape(name)}">{escape(name)}</a>' for name in _payloads(spec, channel))
    return (f"<section><h3><code>{escape(channel['address'])}</code></h3>"
            f"<p>{escape(channel.get('description') or '')}</p><p>Payload: {links}</p></section>")


def _type(prop: dict[str, Any]) -> str:
    if "$ref" in prop:
        return _ref_name(prop["$ref"])
    if "anyOf" in prop:
        return " or ".join(_type(option) for option in prop["anyOf"])
    if prop.get("type") == "array":
        return f"list of {_type(prop.get('items', {}))}"
    kind = str(prop.get("type", "any"))
    return f"{kind} ({prop['format']})" if "format" in prop else kind


def _schema(name: str, schema: dict[str, Any]) -> str:
    required = set(schema.get("required", ()))
    rows = "".join(
        f"<tr><td><code>{escape(field)}</code></td><td>{escape(_type(prop))}</td>"
        f"<td>{'yes' if field in required else 'no'}</td></tr>"
        for field, prop in schema.get("properties", {}).items())
    return (f'<section id="{escape(name)}"><h3>{escape(name)}</h3><p>{escape(schema.get("description", ""))}</p>'
            "<table><thead><tr><th>Field</th><th>Type</th><th>Required</th></tr></thead>"
            f"<tbody>{rows}</tbody></table></section>")
