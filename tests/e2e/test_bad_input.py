"""Bad input on every identity endpoint: a 4xx in the one error shape, never a 500, nothing lost."""

from __future__ import annotations

import asyncpg
import httpx
import pytest

from tests.support import STRONG_PASSWORD, Stack, sign_in, sign_up, token_from, unique_email

PUBLIC_POSTS = ["/api/v1/auth/signup", "/api/v1/auth/login", "/api/v1/auth/verify-email",
                "/api/v1/auth/resend-verification", "/api/v1/auth/password-reset",
                "/api/v1/auth/password-reset/confirm"]
SIGNED_IN_POSTS = ["/api/v1/auth/password-change", "/api/v1/auth/logout"]


def assert_error_shape(response: httpx.Response, status: int | tuple[int, ...]) -> dict:
    statuses = status if isinstance(status, tuple) else (status,)
    assert response.status_code in statuses, (response.status_code, response.text)
    body = response.json()
    assert set(body) == {"error"}
    assert isinstance(body["error"]["code"], str)
    assert isinstance(body["error"]["message"], str)
    assert "Traceback" not in response.text
    return body["error"]


@pytest.mark.parametrize("path", PUBLIC_POSTS + SIGNED_IN_POSTS)
async def test_malformed_json_wrong_types_missing_fields_and_huge_bodies(path: str, client: httpx.AsyncClient,
                                                                         stack: Stack) -> None:
    if path in SIGNED_IN_POSTS:
        await sign_in(client, await sign_up(client, stack))
    headers = {"content-type": "application/json"}
    if path != "/api/v1/auth/logout":  # takes no body
        assert_error_shape(await client.post(path, content=b'{"email": ', headers=headers), 400)
        missing = assert_error_shape(await client.post(path, json={}), 422)
        assert missing["details"]
        assert_error_shape(await client.post(path, json={"email": 5, "password": ["x"], "token": {},
                                                         "name": None}), 422)
        assert_error_shape(await client.post(path, json=["not", "an", "object"]), 422)
    assert_error_shape(await client.post(path, content=b"x" * (1024 * 1024), headers=headers), 413)


async def test_invalid_email_short_and_common_passwords_are_named(client: httpx.AsyncClient) -> None:
    bad_email = assert_error_shape(await client.post("/api/v1/auth/signup", json={
        "name": "N", "email": "not-an-email", "password": STRONG_PASSWORD}), 422)
    assert bad_email["details"][0]["field"] == "email"
    short = assert_error_shape(await client.post("/api/v1/auth/signup", json={
        "name": "N", "email": unique_email(), "password": "short pass"}), 422)
    assert short["details"][0]["field"] == "password"
    assert "12" in short["details"][0]["message"]
    common = assert_error_shape(await client.post("/api/v1/auth/signup", json={
        "name": "N", "email": unique_email(), "password": "qwertyuiopasdfghjkl"}), 422)
    assert common["code"] == "weak_password"


async def test_long_unicode_passwords_work_exactly_as_typed(client: httpx.AsyncClient, stack: Stack) -> None:
    password = "Ünïcödé pass 🐎 " * 8  # 128 characters, never truncated
    user = await sign_up(client, stack, password=password)
    assert (await sign_in(client, user)).status_code == 200
    assert (await sign_in(client, user, password[:-1])).status_code == 401
    assert (await sign_in(client, user, password.upper())).status_code == 401


async def test_reused_and_expired_tokens_are_refused(client: httpx.AsyncClient, stack: Stack,
                                                     db: asyncpg.Connection) -> None:
    email = unique_email()
    await client.post("/api/v1/auth/signup", json={"name": "N", "email": email, "password": STRONG_PASSWORD})
    token = token_from(await stack.mail(email, "Confirm your email"))
    assert (await client.post("/api/v1/auth/verify-email", json={"token": token})).status_code == 200
    reused = assert_error_shape(await client.post("/api/v1/auth/verify-email", json={"token": token}), 400)
    assert reused["code"] == "invalid_token"

    await client.post("/api/v1/auth/password-reset", json={"email": email})
    reset = token_from(await stack.mail(email, "Reset your Postifys password"))
    await db.execute("UPDATE identity.email_tokens SET expires_at = now() - interval '1 second' "
                     "WHERE purpose = 'reset' AND used_at IS NULL")
    expired = await client.post("/api/v1/auth/password-reset/confirm",
                                json={"token": reset, "password": "a brand new passphrase"})
    assert assert_error_shape(expired, 400)["code"] == "invalid_token"
    # Nothing was changed by the refused reset.
    assert (await sign_in(client, {"email": email, "password": STRONG_PASSWORD})).status_code == 200


async def test_unknown_paths_and_methods_answer_in_the_error_shape(client: httpx.AsyncClient) -> None:
    assert_error_shape(await client.get("/api/v1/nothing-here"), 404)
    assert_error_shape(await client.get("/api/v1/auth/signup"), (401, 405))
