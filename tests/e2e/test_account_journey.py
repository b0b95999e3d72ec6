"""A person's whole way through identity, over HTTP through the gateway, every service its own process."""

from __future__ import annotations

import asyncpg
import httpx

from tests.support import STRONG_PASSWORD, Stack, sign_in, token_from, unique_email, wait_for


async def test_sign_up_verify_sign_in_reset_and_sign_in_again(client: httpx.AsyncClient, stack: Stack,
                                                               db: asyncpg.Connection) -> None:
    email = unique_email("journey")
    signed_up = await client.post("/api/v1/auth/signup",
                                  json={"name": "Ada Lovelace", "email": email, "password": STRONG_PASSWORD})
    assert signed_up.status_code == 201
    user_id = signed_up.json()["id"]

    mail = await stack.mail(email, "Confirm your email")
    assert mail.html
    assert "verify-email#token=" in mail.html
    assert f"{stack.gateway}/verify-email#token=" in mail.text
    verified = await client.post("/api/v1/auth/verify-email", json={"token": token_from(mail)})
    assert verified.status_code == 200

    login = await client.post("/api/v1/auth/login", json={"email": email, "password": STRONG_PASSWORD})
    assert login.status_code == 200
    me = await client.get("/api/v1/me")
    assert me.status_code == 200
    assert me.json() == {"id": user_id, "name": "Ada Lovelace", "email": email, "email_verified": True,
                         "timezone": "UTC", "pending_email": None}

    reset = await client.post("/api/v1/auth/password-reset", json={"email": email})
    assert reset.status_code == 202
    reset_mail = await stack.mail(email, "Reset your Postifys password")
    new_password = "a different but memorable sentence"
    confirmed = await client.post("/api/v1/auth/password-reset/confirm",
                                  json={"token": token_from(reset_mail), "password": new_password})
    assert confirmed.status_code == 204
    await stack.mail(email, "Your Postifys password was changed")

    # The reset signed every session out, this one included.
    assert (await client.get("/api/v1/me")).status_code == 401
    user = {"email": email, "password": new_password}
    assert (await sign_in(client, user, STRONG_PASSWORD)).status_code == 401
    assert (await sign_in(client, user)).status_code == 200
    assert (await client.get("/api/v1/me")).json()["id"] == user_id

    # The events reached another service over the bus.
    async def privacy_knows_the_user() -> bool:
        row = await db.fetchrow("SELECT email_verified_at FROM privacy.data_subjects WHERE user_id = $1::uuid",
                                user_id)
        return row is not None and row["email_verified_at"] is not None
    await wait_for(privacy_knows_the_user, message="privacy to record the verified user")
