"""The data export: everything Postifys holds about a user, from every service, and no secret of anyone."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import asyncpg
import httpx

from tests.e2e.publishing_support import Member, create, settled
from tests.support import STRONG_PASSWORD, Stack, connect, items, sandbox, sign_in, sign_up, wait_for

EXPORT = "/api/v1/privacy/export"
SECOND_BROWSER = "ExportTest/2.0 (second browser)"
INTRUDER_BROWSER = "ExportTest/6.6 (wrong password)"


def keys_in(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for key, inner in value.items():
            yield key
            yield from keys_in(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from keys_in(inner)


async def published_and_failed_posts(poster: Member, stack: Stack) -> list[dict[str, Any]]:
    ok = await create(poster, caption="Fresh bread at 7", media=[],
                      targets=[{"account_id": poster.accounts["page"]}])
    broken = {"url": f"{stack.env['POSTIFYS_SANDBOX_URL']}/_sandbox/media-missing/gone.jpg", "type": "image"}
    failing = await create(poster, caption="Broken image", media=[broken],
                           targets=[{"account_id": poster.accounts["ig_login"]}])
    posts = [await settled(poster, ok["id"]), await settled(poster, failing["id"])]
    assert [p["targets"][0]["status"] for p in posts] == ["published", "failed"]
    return posts


async def test_the_export_holds_everything_about_the_user_and_no_secret(
        poster: Member, stack: Stack, new_client: Callable[[], httpx.AsyncClient]) -> None:
    me = (await poster.http.get("/api/v1/me")).json()
    credentials = {"email": me["email"], "password": STRONG_PASSWORD}
    posts = await published_and_failed_posts(poster, stack)
    await connect(poster.http, stack, "tiktok", granted=["user.info.basic"])
    assert (await poster.http.delete(f"/api/v1/accounts/{poster.accounts['page_readonly']}")).status_code == 204
    async with new_client() as second, new_client() as intruder, new_client() as revoked, \
            new_client() as stranger:
        second.headers["user-agent"] = SECOND_BROWSER
        intruder.headers["user-agent"] = INTRUDER_BROWSER
        assert (await sign_in(second, credentials)).status_code == 200
        assert (await sign_in(intruder, credentials, password="not the password at all")).status_code == 401
        assert (await sign_in(revoked, credentials)).status_code == 200
        revoked_id = (await revoked.get("/api/v1/auth/sessions")).json()["items"][0]["id"]
        assert (await poster.http.delete(f"/api/v1/auth/sessions/{revoked_id}")).status_code == 204
        other = await sign_up(stranger, stack)
        assert (await sign_in(stranger, other)).status_code == 200
        cookies = [c.cookies.get("postifys_session") for c in (poster.http, second, revoked, stranger)]

        marker = f"a comment on the page {uuid.uuid4().hex}"
        await sandbox(stack, "POST", "/_sandbox/webhooks/send", json={
            "provider": "meta", "object": "page", "entry": [{"id": "1029", "time": 1790000000, "changes": [
                {"field": "feed", "value": {"item": "comment", "verb": "add", "message": marker}}]}]})

        async def stored() -> bool:
            db = await asyncpg.connect(stack.database_url)
            try:
                return bool(await db.fetchval("SELECT count(*) FROM webhooks.deliveries WHERE position($1 in "
                                              "convert_from(body, 'UTF8')) > 0", marker))
            finally:
                await db.close()
        await wait_for(stored, message="the Page webhook to be stored")

        response = await poster.http.get(EXPORT)
        assert response.status_code == 200, response.text
        assert (await intruder.get(EXPORT)).status_code == 401
        export = response.json()

        assert set(export) == {"exported_at", "profile", "sessions", "sign_in_history", "connections", "accounts",
                               "posts", "media", "media_uploads", "platform_events", "deletion_requests"}
        about_page = [e for d in export["platform_events"] for e in d["events"] if e.get("object_id") == "1029"]
        assert marker in [(e.get("value") or {}).get("message") for e in about_page]
        assert export["exported_at"]
        assert export["deletion_requests"] == []
        profile = export["profile"]
        assert (profile["id"], profile["name"], profile["email"], profile["email_verified"]) == \
            (poster.user_id, "Test Person", me["email"], True)
        assert profile["created_at"]

        sessions = {s["id"]: s for s in export["sessions"]}
        assert len(sessions) == 3
        assert all(s["created_at"] and s["last_seen_at"] and s["expires_at"] for s in sessions.values())
        assert sessions[revoked_id]["revoked_at"] is not None
        assert [s["ip"] for s in sessions.values() if s["user_agent"] == SECOND_BROWSER] == \
            [second.headers["x-forwarded-for"]]
        assert sum(s["revoked_at"] is None for s in sessions.values()) == 2

        history = export["sign_in_history"]
        assert [a["outcome"] for a in history] == ["succeeded", "succeeded", "failed", "succeeded"]
        [failure] = [a for a in history if a["outcome"] == "failed"]
        assert (failure["ip"], failure["user_agent"]) == (intruder.headers["x-forwarded-for"], INTRUDER_BROWSER)
        assert all(a["at"] for a in history)

        await the_accounts_are_those_the_user_sees(poster, export)
        await the_posts_are_those_the_user_sees(poster, export, posts)

        serialized = json.dumps(export)
        tokens = [t["token"] for t in items(await sandbox(stack, "GET", "/_sandbox/tokens"))]
        assert tokens
        leaked = [secret for secret in [*cookies, *tokens] if not secret or secret in serialized]
        assert not leaked
        assert "hash" not in serialized.lower()
        assert not [k for k in keys_in(export) if "token" in k or "secret" in k or "password_hash" in k]
        assert other["email"] not in serialized
        assert other["id"] not in serialized


async def the_accounts_are_those_the_user_sees(poster: Member, export: dict[str, Any]) -> None:
    listed = {a["id"]: a for a in (await poster.http.get("/api/v1/accounts")).json()["items"]}
    accounts = {a["id"]: a for a in export["accounts"]}
    assert accounts.keys() == listed.keys()
    assert set(poster.accounts.values()) <= accounts.keys()
    connections = {c["id"]: c for c in export["connections"]}
    assert {c["provider"] for c in connections.values()} == {"facebook", "instagram", "tiktok"}
    for account_id, seen in listed.items():
        exported = accounts[account_id]
        for field in ("platform", "kind", "external_id", "name", "username", "status", "unpublishable_reason"):
            assert exported[field] == seen[field], field
        connection = connections[exported["connection_id"]]
        assert (connection["granted_scopes"], connection["declined_scopes"]) == \
            (seen["permissions"]["granted"], seen["permissions"]["declined"])
        assert connection["granted_scopes"]
        assert [e["kind"] for e in exported["events"]][:1] == ["connected"]
    tiktok = accounts[poster.accounts["tiktok"]]
    assert "video.publish" in connections[tiktok["connection_id"]]["declined_scopes"]
    assert tiktok["unpublishable_reason"]
    assert [e["kind"] for e in tiktok["events"]] == ["connected", "reconnected"]
    gone = accounts[poster.accounts["page_readonly"]]
    assert gone["status"] == "disconnected"
    assert gone["disconnected_at"]
    assert gone["events"][-1]["kind"] == "disconnected"
    assert gone["events"][-1]["detail"]


async def the_posts_are_those_the_user_sees(poster: Member, export: dict[str, Any],
                                            posts: list[dict[str, Any]]) -> None:
    exported = {p["id"]: p for p in export["posts"]}
    assert list(exported) == [p["id"] for p in posts]
    for post in posts:
        detail = (await poster.http.get(f"/api/v1/posts/{post['id']}")).json()
        assert exported[post["id"]] == detail
    published, failed = (exported[p["id"]]["targets"][0] for p in posts)
    assert published["remote_id"]
    assert published["permalink"]
    assert published["timeline"][-1]["step"] == "published"
    assert failed["error_class"]
    assert failed["error_message"]
    assert failed["timeline"][-1]["status"] == "failed"
    assert exported[posts[0]["id"]]["caption"] == "Fresh bread at 7"
    assert exported[posts[1]["id"]]["media"][0]["url"].endswith("/gone.jpg")


async def test_an_unreachable_service_makes_the_export_answer_503_not_500(poster: Member, stack: Stack) -> None:
    stack.system.stop_one("publisher")
    try:
        response = await poster.http.get(EXPORT)
    finally:
        stack.system.start_one("publisher")
        stack.system.wait_ready(timeout=60, names=("publisher",))
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "export_unavailable"
    assert (await poster.http.get(EXPORT)).status_code == 200


async def test_the_api_description_names_every_field_of_the_export(client: httpx.AsyncClient) -> None:
    document = (await client.get("/api/v1/openapi.json")).json()
    schemas = document["components"]["schemas"]
    answer = document["paths"][EXPORT]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    [export] = refs_in(answer)
    assert set(schemas[export]["properties"]) == {
        "exported_at", "profile", "sessions", "sign_in_history", "connections", "accounts", "posts", "media",
        "media_uploads", "platform_events", "deletion_requests"}
    fields: list[str] = []
    pending, seen = [export], set()
    while pending:
        name = pending.pop()
        if name not in seen:
            seen.add(name)
            assert schemas[name].get("properties"), f"{name} names no field"
            fields += schemas[name]["properties"]
            pending += refs_in(schemas[name])
    assert {"email", "user_agent", "granted_scopes", "external_id", "timeline", "provider", "confirmation_code",
            "video_codec", "received_bytes"} <= set(fields)
    assert not [f for f in fields if "token" in f or "secret" in f or "hash" in f]


def refs_in(schema: Any) -> Iterator[str]:
    """The names of the models a JSON schema refers to."""
    if isinstance(schema, dict):
        if isinstance(schema.get("$ref"), str):
            yield schema["$ref"].rsplit("/", 1)[-1]
        for inner in schema.values():
            yield from refs_in(inner)
    elif isinstance(schema, list):
        for inner in schema:
            yield from refs_in(inner)
