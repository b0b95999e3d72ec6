"""What is stored and logged: hashes, never the secrets themselves."""

from __future__ import annotations

import shutil
import subprocess

import asyncpg
import httpx
import pytest
from argon2 import PasswordHasher
from argon2.low_level import Type

from tests.support import Stack, sign_in, sign_up, token_from, unique_email


def dump_database(url: str) -> str:
    pg_dump = shutil.which("pg_dump")
    if pg_dump is None:
        pytest.fail("pg_dump is needed to inspect the database as an attacker would")
    return subprocess.run([pg_dump, "--data-only", url], capture_output=True, text=True, check=True).stdout


async def test_no_password_session_verification_or_reset_token_in_the_database_or_logs(
        client: httpx.AsyncClient, stack: Stack) -> None:
    password = "canary passphrase 7f3a9c horses"
    email = unique_email("canary")
    await client.post("/api/v1/auth/signup", json={"name": "Canary", "email": email, "password": password})
    verification = token_from(await stack.mail(email, "Confirm your email"))
    await client.post("/api/v1/auth/verify-email", json={"token": verification})
    login = await client.post("/api/v1/auth/login", json={"email": email, "password": password})
    session = login.cookies["postifys_session"]
    await client.post("/api/v1/auth/password-reset", json={"email": email})
    reset = token_from(await stack.mail(email, "Reset your Postifys password"))
    new_password = "second canary passphrase b81d"
    await client.post("/api/v1/auth/password-reset/confirm", json={"token": reset, "password": new_password})
    await sign_in(client, {"email": email, "password": new_password})

    dump = dump_database(stack.database_url)
    logs = stack.logs()
    assert email in dump  # the dump is real and holds this user
    for secret in (password, new_password, session, verification, reset):
        assert secret not in dump
        assert secret not in logs


async def test_stored_hashes_are_argon2id_at_or_above_the_owasp_minimum(client: httpx.AsyncClient, stack: Stack,
                                                                        db: asyncpg.Connection) -> None:
    user = await sign_up(client, stack)
    stored = await db.fetchval("SELECT password_hash FROM identity.users WHERE id = $1::uuid", user["id"])
    assert stored.startswith("$argon2id$v=19$m=19456,t=2,p=1$")


async def test_a_weaker_hash_is_upgraded_at_the_next_sign_in(client: httpx.AsyncClient, stack: Stack,
                                                             db: asyncpg.Connection) -> None:
    user = await sign_up(client, stack)
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1, type=Type.ID).hash(user["password"])
    await db.execute("UPDATE identity.users SET password_hash = $1 WHERE id = $2::uuid", weak, user["id"])
    assert (await sign_in(client, user)).status_code == 200
    upgraded = await db.fetchval("SELECT password_hash FROM identity.users WHERE id = $1::uuid", user["id"])
    assert upgraded != weak
    assert upgraded.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert (await sign_in(client, user)).status_code == 200


async def test_reset_link_is_built_from_the_public_url_not_the_host_header(client: httpx.AsyncClient,
                                                                           stack: Stack) -> None:
    user = await sign_up(client, stack)
    await client.post("/api/v1/auth/password-reset", json={"email": user["email"]},
                      headers={"Host": "evil.example", "X-Forwarded-Host": "evil.example"})
    mail = await stack.mail(user["email"], "Reset your Postifys password")
    assert f"{stack.gateway}/reset-password#token=" in mail.text
    assert "evil.example" not in mail.text
