"""What a signed-in person manages about their account through the API: their email address (changed only once
the new one is confirmed, the old one told), their notification choices, the sign-in history page by page, and
their sessions, each with the browser it came from."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

import asyncpg
import httpx

from tests.support import Stack, sign_in, sign_up, token_from, unique_email

FIREFOX_WINDOWS = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0"
CHROME_MAC = ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
              "Chrome/131.0.0.0 Safari/537.36")


async def signed_in(http: httpx.AsyncClient, stack: Stack, **options: Any) -> dict[str, Any]:
    user = await sign_up(http, stack, **options)
    assert (await sign_in(http, user)).status_code == 200
    return user


async def ask_for(http: httpx.AsyncClient, user: dict[str, Any], new_email: str) -> httpx.Response:
    return await http.post("/api/v1/me/email", json={"new_email": new_email, "password": user["password"]})


class TestEmailChange:
    async def test_the_address_switches_only_once_the_new_one_is_confirmed(self, client: httpx.AsyncClient,
                                                                           stack: Stack,
                                                                           db: asyncpg.Connection) -> None:
        user = await signed_in(client, stack)
        new_email = unique_email("moved")
        asked = await ask_for(client, user, new_email)
        assert asked.status_code == 202, asked.text
        assert asked.json()["pending_email"] == new_email

        me = (await client.get("/api/v1/me")).json()
        assert (me["email"], me["email_verified"], me["pending_email"]) == (user["email"], True, new_email)
        notice = await stack.mail(user["email"], "Your Postifys email address is about to change")
        assert "http" not in notice.text  # no link at all, so none that could change anything
        assert new_email not in notice.text  # masked: the old mailbox need not learn the new address
        assert "reset your password" in notice.text
        assert (await sign_in(client, user)).status_code == 200  # still the account's address

        confirmation = await stack.mail(new_email, "Confirm your new email address")
        token = token_from(confirmation)
        assert "/verify-email#token=" in confirmation.text
        rows = await db.fetch("SELECT * FROM identity.email_tokens WHERE user_id = $1::uuid AND "
                              "purpose = 'email_change'", user["id"])
        assert [r["token_hash"] for r in rows] == [hashlib.sha256(token.encode()).digest()]
        assert token not in repr([dict(r) for r in rows])

        confirmed = await client.post("/api/v1/auth/verify-email", json={"token": token})
        assert confirmed.status_code == 200, confirmed.text
        assert confirmed.json() == {"email_verified": True, "email_changed": True}
        me = (await client.get("/api/v1/me")).json()
        assert (me["email"], me["email_verified"], me["pending_email"]) == (new_email, True, None)
        assert (await client.post("/api/v1/auth/verify-email", json={"token": token})).status_code == 400

        assert (await sign_in(client, user)).status_code == 401
        assert (await sign_in(client, {**user, "email": new_email})).status_code == 200
        await stack.mail(user["email"], "Your Postifys email address was changed")
        assert token not in stack.logs()

    async def test_an_address_another_account_uses_gets_the_same_answer_and_never_switches(
            self, stack: Stack, new_client: Callable[[], httpx.AsyncClient]) -> None:
        async with new_client() as mine, new_client() as theirs:
            me = await signed_in(mine, stack)
            other = await sign_up(theirs, stack)
            taken = await ask_for(mine, me, other["email"])
            fresh = await ask_for(mine, me, unique_email("free"))
            assert taken.status_code == fresh.status_code == 202
            assert taken.json().keys() == fresh.json().keys()
            assert taken.json()["pending_email"] == other["email"]

            await stack.mail(other["email"], "Someone tried to use your email for another Postifys account")
            assert not [m for m in stack.mailbox.for_address(other["email"]) if "Confirm your new" in m.subject]
            asked_again = await ask_for(mine, me, other["email"])
            assert asked_again.status_code == 202
            await stack.mail(other["email"], "Someone tried to use your email", after=1)
            assert not [m for m in stack.mailbox.for_address(other["email"]) if "Confirm your new" in m.subject]
            assert (await mine.get("/api/v1/me")).json()["email"] == me["email"]
            assert (await sign_in(theirs, other)).status_code == 200

    async def test_a_new_request_cancels_the_one_before_and_a_cancelled_link_no_longer_works(
            self, client: httpx.AsyncClient, stack: Stack) -> None:
        user = await signed_in(client, stack)
        first, second = unique_email("first"), unique_email("second")
        assert (await ask_for(client, user, first)).status_code == 202
        first_token = token_from(await stack.mail(first, "Confirm your new email address"))
        assert (await ask_for(client, user, second)).status_code == 202
        second_token = token_from(await stack.mail(second, "Confirm your new email address"))
        assert (await client.get("/api/v1/me")).json()["pending_email"] == second
        refused = await client.post("/api/v1/auth/verify-email", json={"token": first_token})
        assert refused.status_code == 400
        assert refused.json()["error"]["code"] == "invalid_token"

        assert (await client.delete("/api/v1/me/email/pending")).status_code == 204
        assert (await client.get("/api/v1/me")).json()["pending_email"] is None
        assert (await client.post("/api/v1/auth/verify-email", json={"token": second_token})).status_code == 400
        assert (await client.get("/api/v1/me")).json()["email"] == user["email"]

    async def test_a_password_reset_cancels_a_change_waiting(self, client: httpx.AsyncClient, stack: Stack) -> None:
        user = await signed_in(client, stack)
        new_email = unique_email("hijack")
        assert (await ask_for(client, user, new_email)).status_code == 202
        token = token_from(await stack.mail(new_email, "Confirm your new email address"))
        assert (await client.post("/api/v1/auth/password-reset", json={"email": user["email"]})).status_code == 202
        reset = token_from(await stack.mail(user["email"], "Reset your Postifys password"))
        assert (await client.post("/api/v1/auth/password-reset/confirm",
                                  json={"token": reset, "password": "a brand new passphrase here"})).status_code == 204
        assert (await client.post("/api/v1/auth/verify-email", json={"token": token})).status_code == 400

    async def test_an_expired_link_is_refused(self, client: httpx.AsyncClient, stack: Stack,
                                              db: asyncpg.Connection) -> None:
        user = await signed_in(client, stack)
        new_email = unique_email("late")
        assert (await ask_for(client, user, new_email)).status_code == 202
        token = token_from(await stack.mail(new_email, "Confirm your new email address"))
        await db.execute("UPDATE identity.email_tokens SET expires_at = now() - interval '1 second' "
                         "WHERE user_id = $1::uuid AND purpose = 'email_change'", user["id"])
        assert (await client.get("/api/v1/me")).json()["pending_email"] is None
        assert (await client.post("/api/v1/auth/verify-email", json={"token": token})).status_code == 400
        assert (await client.get("/api/v1/me")).json()["email"] == user["email"]

    async def test_the_password_and_a_different_address_are_required(self, client: httpx.AsyncClient,
                                                                      stack: Stack) -> None:
        user = await signed_in(client, stack)
        wrong = await client.post("/api/v1/me/email", json={"new_email": unique_email(), "password": "not it at all"})
        assert wrong.status_code == 403
        assert wrong.json()["error"]["code"] == "wrong_password"
        same = await ask_for(client, user, user["email"].upper())
        assert same.status_code == 422
        assert same.json()["error"]["code"] == "email_unchanged"
        assert (await client.get("/api/v1/me")).json()["pending_email"] is None

    async def test_an_unverified_account_can_fix_its_address_and_the_new_one_counts_as_verified(
            self, client: httpx.AsyncClient, stack: Stack) -> None:
        user = await signed_in(client, stack, verified=False)
        new_email = unique_email("fixed")
        assert (await ask_for(client, user, new_email)).status_code == 202
        token = token_from(await stack.mail(new_email, "Confirm your new email address"))
        assert (await client.post("/api/v1/auth/verify-email", json={"token": token})).status_code == 200
        me = (await client.get("/api/v1/me")).json()
        assert (me["email"], me["email_verified"]) == (new_email, True)

    async def test_email_changes_are_limited_per_account(self, client: httpx.AsyncClient, stack: Stack) -> None:
        user = await signed_in(client, stack)
        for _ in range(5):
            assert (await ask_for(client, user, unique_email("many"))).status_code == 202
        refused = await ask_for(client, user, unique_email("many"))
        assert refused.status_code == 429
        assert refused.json()["error"]["code"] == "too_many_email_changes"


class TestNotificationChoices:
    async def test_defaults_then_partial_and_whole_changes_reach_the_export(self, client: httpx.AsyncClient,
                                                                            stack: Stack) -> None:
        await signed_in(client, stack)
        defaults = {"target_failed": True, "post_published": False, "reauth_required": True}
        assert (await client.get("/api/v1/me/notifications")).json() == defaults

        patched = await client.patch("/api/v1/me/notifications", json={"post_published": True})
        assert patched.status_code == 200
        assert patched.json() == {**defaults, "post_published": True}
        patched = await client.patch("/api/v1/me/notifications", json={"target_failed": False})
        assert patched.json() == {"target_failed": False, "post_published": True, "reauth_required": True}
        assert (await client.get("/api/v1/me/notifications")).json() == patched.json()
        exported = (await client.get("/api/v1/privacy/export")).json()
        assert exported["profile"]["notifications"] == patched.json()

        replaced = await client.put("/api/v1/me/notifications", json={"reauth_required": False})
        assert replaced.json() == {**defaults, "reauth_required": False}
        refused = await client.patch("/api/v1/me/notifications", json={"target_failed": "sometimes"})
        assert refused.status_code == 422
        unknown = await client.put("/api/v1/me/notifications", json={"marketing": True})
        assert unknown.status_code == 422


class TestSignInHistory:
    async def test_the_history_is_paged_newest_first_with_the_browser_and_outcome(
            self, stack: Stack, new_client: Callable[[], httpx.AsyncClient]) -> None:
        async with new_client() as http:
            user = await sign_up(http, stack)
            http.headers["User-Agent"] = FIREFOX_WINDOWS
            assert (await sign_in(http, user, "not the password, no")).status_code == 401
            http.headers["User-Agent"] = CHROME_MAC
            for _ in range(2):
                assert (await sign_in(http, user)).status_code == 200
            assert (await http.post("/api/v1/me/email", json={"new_email": unique_email(),
                                                              "password": "wrong again, sorry"})).status_code == 403

            first = await http.get("/api/v1/me/sign-ins", params={"limit": 3})
            assert first.status_code == 200, first.text
            page = first.json()
            assert [(i["action"], i["outcome"], i["browser"]) for i in page["items"]] == [
                ("email_change", "failed", "Chrome on macOS"), ("sign_in", "succeeded", "Chrome on macOS"),
                ("sign_in", "succeeded", "Chrome on macOS")]
            assert all(i["ip"] == http.headers["X-Forwarded-For"] for i in page["items"])
            assert page["next_cursor"]
            rest = (await http.get("/api/v1/me/sign-ins", params={"limit": 3,
                                                                   "cursor": page["next_cursor"]})).json()
            assert [(i["action"], i["outcome"], i["browser"], i["user_agent"]) for i in rest["items"]] == [
                ("sign_in", "failed", "Firefox on Windows", FIREFOX_WINDOWS)]
            assert rest["next_cursor"] is None
            times = [i["at"] for i in page["items"] + rest["items"]]
            assert times == sorted(times, reverse=True)

            refused = await http.get("/api/v1/me/sign-ins", params={"cursor": "not-a-cursor"})
            assert refused.status_code == 400
            assert refused.json()["error"]["code"] == "invalid_cursor"

    async def test_nobody_sees_anothers_history(self, stack: Stack,
                                                new_client: Callable[[], httpx.AsyncClient]) -> None:
        async with new_client() as alice, new_client() as bob:
            await signed_in(alice, stack)
            await signed_in(bob, stack)
            assert len((await bob.get("/api/v1/me/sign-ins")).json()["items"]) == 1
        async with new_client() as stranger:
            assert (await stranger.get("/api/v1/me/sign-ins")).status_code == 401


class TestSessions:
    async def test_sessions_name_their_device_and_signing_out_everywhere_else_keeps_this_one(
            self, stack: Stack, new_client: Callable[[], httpx.AsyncClient]) -> None:
        async with new_client() as laptop, new_client() as phone, new_client() as tablet:
            laptop.headers["User-Agent"] = CHROME_MAC
            phone.headers["User-Agent"] = FIREFOX_WINDOWS
            user = await signed_in(laptop, stack)
            await sign_in(phone, user)
            await sign_in(tablet, user)
            listed = (await laptop.get("/api/v1/auth/sessions")).json()["items"]
            devices = {s["device"]: s for s in listed}
            assert devices["Chrome on macOS"]["current"] is True
            assert devices["Firefox on Windows"]["current"] is False
            assert devices["a script (Python)"]["ip"] == tablet.headers["X-Forwarded-For"]

            revoked = await laptop.post("/api/v1/auth/logout-others")
            assert revoked.status_code == 200
            assert revoked.json() == {"revoked": 2}
            assert (await phone.get("/api/v1/me")).status_code == 401
            assert (await tablet.get("/api/v1/me")).status_code == 401
            assert (await laptop.get("/api/v1/me")).status_code == 200
            assert [s["current"] for s in (await laptop.get("/api/v1/auth/sessions")).json()["items"]] == [True]
            assert (await laptop.post("/api/v1/auth/logout-others")).json() == {"revoked": 0}
