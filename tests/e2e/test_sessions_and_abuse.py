"""Sessions, cookies, enumeration and brute force, through the gateway."""

from __future__ import annotations

from collections.abc import Callable

import asyncpg
import httpx
import pytest

from tests.support import STRONG_PASSWORD, Stack, sign_in, sign_up, token_from, unique_email


def session_cookie(response: httpx.Response) -> str:
    header = response.headers["set-cookie"]
    return header.split(";")[0].split("=", 1)[1]


async def test_session_cookie_is_http_only_lax_and_new_at_every_sign_in(client: httpx.AsyncClient,
                                                                         stack: Stack) -> None:
    user = await sign_up(client, stack)
    first = await sign_in(client, user)
    second = await sign_in(client, user)
    attributes = [a.strip().lower() for a in first.headers["set-cookie"].split(";")]
    assert attributes[0].startswith("postifys_session=")
    assert {"httponly", "path=/", "samesite=lax"} <= set(attributes)
    assert not any(a.startswith("domain") for a in attributes)
    assert len(session_cookie(first)) >= 43  # 256 bits, base64url
    assert session_cookie(first) != session_cookie(second)


async def test_old_cookie_is_refused_after_sign_out(client: httpx.AsyncClient, stack: Stack) -> None:
    user = await sign_up(client, stack)
    cookie = session_cookie(await sign_in(client, user))
    assert (await client.post("/api/v1/auth/logout")).status_code == 204
    client.cookies.set("postifys_session", cookie)
    replay = await client.get("/api/v1/me")
    assert replay.status_code == 401
    assert replay.json()["error"]["code"] == "unauthorized"


async def test_sessions_are_listed_and_any_can_be_revoked(stack: Stack, new_client: Callable[[], httpx.AsyncClient],
                                                          ) -> None:
    async with new_client() as laptop, new_client() as phone:
        user = await sign_up(laptop, stack)
        await sign_in(laptop, user)
        await sign_in(phone, user)
        listed = (await laptop.get("/api/v1/auth/sessions")).json()["items"]
        assert len(listed) == 2
        assert [s["current"] for s in listed].count(True) == 1
        phone_session = next(s for s in listed if not s["current"])
        assert phone_session["user_agent"]
        assert phone_session["ip"]
        assert (await laptop.delete(f"/api/v1/auth/sessions/{phone_session['id']}")).status_code == 204
        assert (await phone.get("/api/v1/me")).status_code == 401
        assert (await laptop.get("/api/v1/me")).status_code == 200


async def test_someone_elses_session_cannot_be_revoked(stack: Stack,
                                                       new_client: Callable[[], httpx.AsyncClient]) -> None:
    async with new_client() as alice, new_client() as bob:
        await sign_in(alice, await sign_up(alice, stack))
        await sign_in(bob, await sign_up(bob, stack))
        bobs = (await bob.get("/api/v1/auth/sessions")).json()["items"][0]["id"]
        refused = await alice.delete(f"/api/v1/auth/sessions/{bobs}")
        assert refused.status_code == 404
        assert (await bob.get("/api/v1/me")).status_code == 200


async def test_idle_and_absolute_timeouts_are_enforced_by_the_server(client: httpx.AsyncClient, stack: Stack,
                                                                     db: asyncpg.Connection) -> None:
    user = await sign_up(client, stack)
    await sign_in(client, user)
    assert (await client.get("/api/v1/me")).status_code == 200
    await db.execute("UPDATE identity.sessions SET last_seen_at = now() - interval '31 minutes' "
                     "WHERE user_id = $1::uuid", user["id"])
    assert (await client.get("/api/v1/me")).status_code == 401

    await sign_in(client, user)
    await db.execute("UPDATE identity.sessions SET expires_at = now() - interval '1 second' "
                     "WHERE user_id = $1::uuid AND revoked_at IS NULL", user["id"])
    assert (await client.get("/api/v1/me")).status_code == 401


async def test_password_change_needs_the_current_password_and_signs_out_other_sessions(
        stack: Stack, new_client: Callable[[], httpx.AsyncClient]) -> None:
    async with new_client() as here, new_client() as elsewhere:
        user = await sign_up(here, stack)
        await sign_in(here, user)
        await sign_in(elsewhere, user)
        wrong = await here.post("/api/v1/auth/password-change",
                                json={"current_password": "not the password at all",
                                      "new_password": "an entirely new passphrase"})
        assert wrong.status_code == 403
        changed = await here.post("/api/v1/auth/password-change",
                                  json={"current_password": user["password"],
                                        "new_password": "an entirely new passphrase"})
        assert changed.status_code == 204
        assert (await here.get("/api/v1/me")).status_code == 200
        assert (await elsewhere.get("/api/v1/me")).status_code == 401
        await stack.mail(user["email"], "Your Postifys password was changed")


async def test_same_answer_for_known_and_unknown_emails(client: httpx.AsyncClient, stack: Stack) -> None:
    user = await sign_up(client, stack)
    known = await client.post("/api/v1/auth/login", json={"email": user["email"], "password": "wrong password!!"})
    unknown = await client.post("/api/v1/auth/login",
                                json={"email": unique_email("nobody"), "password": "wrong password!!"})
    assert known.status_code == unknown.status_code == 401
    assert known.content == unknown.content

    known = await client.post("/api/v1/auth/password-reset", json={"email": user["email"]})
    unknown = await client.post("/api/v1/auth/password-reset", json={"email": unique_email("nobody")})
    assert known.status_code == unknown.status_code == 202
    assert known.content == unknown.content

    again = await client.post("/api/v1/auth/signup", json={"name": "Impostor", "email": user["email"],
                                                           "password": STRONG_PASSWORD})
    fresh = await client.post("/api/v1/auth/signup", json={"name": "Impostor", "email": unique_email(),
                                                           "password": STRONG_PASSWORD})
    assert again.status_code == fresh.status_code == 201
    assert again.json().keys() == fresh.json().keys()
    await stack.mail(user["email"], "Someone tried to sign up")


async def test_101st_failed_sign_in_in_an_hour_is_refused_while_reset_still_works(
        client: httpx.AsyncClient, stack: Stack, db: asyncpg.Connection) -> None:
    user = await sign_up(client, stack)
    for _ in range(100):
        failed = await sign_in(client, user, "wrong password, again")
        assert failed.status_code == 401
    refused = await sign_in(client, user)
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "too_many_attempts"

    assert (await client.post("/api/v1/auth/password-reset", json={"email": user["email"]})).status_code == 202
    token = token_from(await stack.mail(user["email"], "Reset your Postifys password"))
    new_password = "the owner proved it by mail"
    assert (await client.post("/api/v1/auth/password-reset/confirm",
                              json={"token": token, "password": new_password})).status_code == 204
    assert (await sign_in(client, user, new_password)).status_code == 200

    outcomes = await db.fetch("SELECT outcome, ip, user_agent FROM identity.sign_in_attempts "
                              "WHERE user_id = $1::uuid", user["id"])
    assert sum(o["outcome"] == "failed" for o in outcomes) == 100
    assert sum(o["outcome"] == "throttled" for o in outcomes) == 1
    assert all(o["ip"] is not None and o["user_agent"] for o in outcomes)


async def test_cross_site_post_is_refused(client: httpx.AsyncClient) -> None:
    email = unique_email()
    body = {"name": "Victim", "email": email, "password": STRONG_PASSWORD}
    forged = await client.post("/api/v1/auth/signup", json=body, headers={"Origin": "https://evil.example"})
    assert forged.status_code == 403
    assert forged.json()["error"]["code"] == "cross_site_request"
    fetched = await client.post("/api/v1/auth/signup", json=body, headers={"Sec-Fetch-Site": "cross-site"})
    assert fetched.status_code == 403
    same_origin = await client.post("/api/v1/auth/signup", json=body,
                                    headers={"Origin": str(client.base_url).rstrip("/"),
                                             "Sec-Fetch-Site": "same-origin"})
    assert same_origin.status_code == 201


@pytest.mark.parametrize("path", ["/api/v1/me", "/api/v1/auth/sessions"])
async def test_protected_paths_need_a_session(client: httpx.AsyncClient, path: str) -> None:
    client.cookies.set("postifys_session", "forged-session-token")
    response = await client.get(path)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"


async def test_internal_endpoints_refuse_callers_without_the_secret(stack: Stack) -> None:
    async with httpx.AsyncClient() as raw:
        direct = await raw.post(f"{stack.service_url('identity')}/internal/sessions/resolve",
                                json={"token": "x"})
        assert direct.status_code == 403
        spoofed = await raw.get(f"{stack.service_url('identity')}/api/v1/me",
                                headers={"x-postifys-user-id": "00000000-0000-0000-0000-000000000000"})
        assert spoofed.status_code == 403


async def test_gateway_strips_identity_headers_sent_by_clients(client: httpx.AsyncClient, stack: Stack) -> None:
    user = await sign_up(client, stack)
    response = await client.get("/api/v1/me", headers={"x-postifys-user-id": user["id"],
                                                       "x-postifys-internal": "guess"})
    assert response.status_code == 401


@pytest.mark.parametrize("path", [
    "/api/v1/accounts/%2e%2e/%2e%2e/%2e%2e/internal/accounts/x/access-token",
    "/webhooks/%2E%2E/internal/deliveries",
    "/api/v1/posts/./../../internal/x",
    "/internal/sessions/resolve",
])
async def test_no_path_reaches_a_services_internal_routes(client: httpx.AsyncClient, path: str) -> None:
    answer = await client.post(path, json={"user_id": "00000000-0000-0000-0000-000000000000", "token": "x"})
    assert answer.status_code in (400, 404), answer.text
    assert "access_token" not in answer.text
