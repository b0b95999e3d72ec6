"""The web app's sign-in, account and settings screens as a browser without JavaScript uses them: plain form posts
through the gateway, every service its own process."""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest

from tests.support import STRONG_PASSWORD, Stack, connect, sandbox, sign_in, sign_up, token_from, unique_email, wait_for

NEW_PASSWORD = "another long sentence to remember"
IPHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
          "Version/17.5 Mobile/15E148 Safari/604.1")


@pytest.fixture
async def web(stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    """Like a browser with JavaScript off: same-origin form posts, redirects looked at rather than followed."""
    async with httpx.AsyncClient(base_url=stack.gateway, timeout=30, follow_redirects=False,
                                 headers={"X-Forwarded-For": stack.new_client_ip(), "Origin": stack.gateway,
                                          "User-Agent": "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 "
                                                        "Firefox/128.0"}) as http:
        yield http


def field_value(page: str, name: str) -> str | None:
    found = re.search(rf'<input id="{name}" name="{name}"[^>]*value="([^"]*)"', page)
    return html.unescape(found.group(1)) if found else None


def selected_zone(page: str) -> str | None:
    found = re.search(r'id="timezone" name="timezone" list="timezone-zones" value="([^"]*)"', page)
    return found.group(1) if found else None


def assert_private(response: httpx.Response) -> None:
    assert response.headers["cache-control"] == "no-store", response.url
    policy = response.headers["content-security-policy"]
    for directive in ("base-uri 'none'", "object-src 'none'", "script-src 'self'", "form-action 'self'"):
        assert directive in policy, (response.url, directive)


async def test_sign_up_confirm_sign_in_connect_and_disconnect_with_forms(web: httpx.AsyncClient,
                                                                         stack: Stack) -> None:
    await sandbox(stack, "POST", "/_sandbox/reset")
    form = await web.get("/signup")
    assert form.status_code == 200
    assert "data-browser-timezone" in form.text
    assert "At least 12 characters" in form.text
    email = unique_email("web")
    signed_up = await web.post("/signup", data={"name": "Ada Lovelace", "email": email,
                                                    "password": STRONG_PASSWORD, "timezone": "Asia/Tokyo"})
    assert signed_up.status_code == 303, signed_up.text
    assert signed_up.headers["location"] == "/signin?notice=signed_up"
    assert "Check your inbox" in (await web.get(signed_up.headers["location"])).text

    confirm = await web.get("/verify-email")
    assert confirm.headers["cache-control"] == "no-store"
    assert '<label for="token">Confirmation code</label>' in confirm.text
    token = token_from(await stack.mail(email, "Confirm your email"))
    confirmed = await web.post("/verify-email", data={"token": token})
    assert confirmed.status_code == 303, confirmed.text
    assert confirmed.headers["location"] == "/signin?notice=email_verified"

    signed_in = await web.post("/signin", data={"email": email, "password": STRONG_PASSWORD,
                                                    "next": "/accounts"})
    assert signed_in.status_code == 303, signed_in.text
    assert signed_in.headers["location"] == "/accounts"
    assert signed_in.headers["set-cookie"].startswith("postifys_session=")

    home = await web.get("/")
    assert home.status_code == 200
    assert_private(home)
    assert "Ada Lovelace" in home.text
    assert "Connect your first account" in home.text

    assert (await connect(web, stack, "facebook")).status_code == 302
    outcome = await web.get("/accounts?result=connected&provider=facebook&count=3")
    assert "Facebook is connected." in outcome.text
    accounts = (await web.get("/api/v1/accounts")).json()["items"]
    bakery = next(a for a in accounts if a["name"] == "Acme Bakery" and a["kind"] == "facebook_page")

    due = (datetime.now(UTC) + timedelta(days=2)).replace(second=0, microsecond=0)
    created = await web.post("/api/v1/posts", json={"caption": "Sourdough Saturday", "scheduled_at": due.isoformat(),
                                                        "targets": [{"account_id": bakery["id"]}]})
    assert created.status_code == 201, created.text
    dashboard = await web.get("/")
    assert "Sourdough Saturday" in dashboard.text
    assert due.astimezone(ZoneInfo("Asia/Tokyo")).strftime("%a %-d %b %Y, %H:%M") in dashboard.text
    assert "Connect your first account" not in dashboard.text
    assert "Nothing has been published yet." in dashboard.text

    # What went out lately, with what happened on each account.
    published = await web.post("/api/v1/posts", json={"caption": "Rye is back", "targets": [
        {"account_id": bakery["id"]}]})
    assert published.status_code == 201, published.text

    async def shown_published() -> bool:
        recent = (await web.get("/")).text.split('id="recent-title"', 1)[1]
        return "Rye is back" in recent and "Facebook · Acme Bakery: Published" in recent

    await wait_for(shown_published, message="the dashboard's latest posts showing the published one")

    page = await web.get("/accounts")
    assert page.status_code == 200
    assert_private(page)
    assert "Acme Bakery" in page.text
    assert "@acmebakery" in page.text
    assert f'href="/accounts/{bakery["id"]}/disconnect"' in page.text
    avatar = httpx.URL(bakery["avatar_url"])
    assert f'src="{html.escape(str(avatar))}"' in page.text
    assert f"img-src 'self' {avatar.scheme}://{avatar.netloc.decode()};" in page.headers["content-security-policy"]

    confirmation = await web.get(f"/accounts/{bakery['id']}/disconnect")
    assert confirmation.status_code == 200
    assert_private(confirmation)
    assert "Disconnect Acme Bakery (Facebook)?" in confirmation.text
    assert "Scheduled posts to it will fail" in confirmation.text
    disconnected = await web.post(f"/accounts/{bakery['id']}/disconnect")
    assert disconnected.status_code == 303, disconnected.text
    assert disconnected.headers["location"] == "/accounts?notice=disconnected"
    after = await web.get(disconnected.headers["location"])
    assert "The account is disconnected." in after.text
    assert f'/accounts/{bakery["id"]}/disconnect' not in after.text
    assert (await web.get(f"/accounts/{bakery['id']}/disconnect")).status_code == 404

    for path in ("/settings", "/settings/security", "/settings/notifications", "/settings/data",
                 "/settings/delete-connections", "/settings/delete-account", "/forgot-password"):
        assert_private(await web.get(path))

    signed_out = await web.post("/signout")
    assert signed_out.status_code == 303
    assert 'postifys_session=""' in signed_out.headers["set-cookie"] or \
        "max-age=0" in signed_out.headers["set-cookie"].lower()
    assert (await web.get("/settings")).headers["location"] == "/signin?next=%2Fsettings"
    landing = await web.get("/")
    assert "Create an account" in landing.text
    assert "Facebook Pages" in landing.text


async def test_a_refused_sign_in_keeps_the_email_and_says_why(web: httpx.AsyncClient, stack: Stack) -> None:
    user = await sign_up(web, stack)
    refused = await web.post("/signin", data={"email": user["email"], "password": "not the password at all"})
    assert refused.status_code == 401
    assert "The email address or password is not right." in refused.text
    assert field_value(refused.text, "email") == user["email"]
    assert "not the password at all" not in refused.text
    assert 'aria-invalid="true"' in refused.text
    assert '<title>Error: Sign in' in refused.text
    assert 'href="#email"' in refused.text  # the summary links to the field

    empty = await web.post("/signin", data={"email": "", "password": ""})
    assert empty.status_code == 422
    assert "Enter your email address" in empty.text
    assert "Enter your password" in empty.text


async def test_after_signing_in_only_a_local_path_is_followed(web: httpx.AsyncClient, stack: Stack) -> None:
    user = await sign_up(web, stack)
    for sent, followed in (("//evil.example/x", "/"), ("https://evil.example", "/"), ("/\\evil.example", "/"),
                           ("/posts?status=scheduled", "/posts?status=scheduled")):
        answer = await web.post("/signin", data={**user, "next": sent})
        assert answer.status_code == 303
        assert answer.headers["location"] == followed, sent


async def test_a_form_posted_from_another_site_is_refused(web: httpx.AsyncClient, stack: Stack) -> None:
    user = await sign_up(web, stack)
    forged = await web.post("/signin", data=user, headers={"Origin": "https://evil.example"})
    assert forged.status_code == 403
    assert "set-cookie" not in forged.headers


async def test_signing_up_again_with_a_known_address_looks_the_same(web: httpx.AsyncClient,
                                                                    stack: Stack) -> None:
    user = await sign_up(web, stack)
    again = await web.post("/signup", data={"name": "Someone Else", "email": user["email"],
                                                "password": "yet another long sentence"})
    assert again.status_code == 303
    assert again.headers["location"] == "/signin?notice=signed_up"
    assert "set-cookie" not in again.headers

    short = await web.post("/signup", data={"name": "Kept Name", "email": "kept@example.com", "password": "short"})
    assert short.status_code == 422
    assert "Use at least 12 characters" in short.text
    assert field_value(short.text, "name") == "Kept Name"
    assert field_value(short.text, "email") == "kept@example.com"


async def test_a_forgotten_password_is_reset_with_the_mailed_code(web: httpx.AsyncClient, stack: Stack) -> None:
    user = await sign_up(web, stack)
    asked = await web.post("/forgot-password", data={"email": user["email"]})
    assert asked.status_code == 303
    assert asked.headers["location"] == "/forgot-password?notice=reset_sent"
    unknown = await web.post("/forgot-password", data={"email": unique_email("nobody")})
    assert unknown.headers["location"] == asked.headers["location"]

    page = await web.get("/reset-password")
    assert page.headers["cache-control"] == "no-store"
    assert '<label for="token">Reset code</label>' in page.text
    assert '<script type="module" src="/static/js/auth.js"></script>' in page.text
    token = token_from(await stack.mail(user["email"], "Reset your Postifys password"))
    wrong = await web.post("/reset-password", data={"token": "not-a-real-code", "password": NEW_PASSWORD})
    assert wrong.status_code == 400
    assert "invalid, was already used, or has expired" in wrong.text
    assert field_value(wrong.text, "token") == "not-a-real-code"
    reset = await web.post("/reset-password", data={"token": token, "password": NEW_PASSWORD})
    assert reset.status_code == 303, reset.text
    assert reset.headers["location"] == "/signin?notice=password_changed"
    assert (await sign_in(web, user, NEW_PASSWORD)).status_code == 200


async def test_settings_change_the_zone_the_password_and_sessions(web: httpx.AsyncClient, stack: Stack,
                                                                  ) -> None:
    user = await sign_up(web, stack)
    async with httpx.AsyncClient(base_url=stack.gateway, headers={"X-Forwarded-For": stack.new_client_ip(),
                                                                  "User-Agent": IPHONE},
                                 ) as phone:
        await sign_in(phone, user)
        assert (await web.post("/signin", data=user)).status_code == 303

        settings = await web.get("/settings")
        assert settings.status_code == 200
        assert selected_zone(settings.text) == "UTC"
        security = await web.get("/settings/security")
        assert "Firefox on Linux" in security.text
        assert "Safari on iOS" in security.text

        unknown = await web.post("/settings/profile", data={"name": "Test Person", "timezone": "Mars/Olympus"})
        assert unknown.status_code == 422
        assert "not a time zone we know" in unknown.text
        saved = await web.post("/settings/profile", data={"name": "Grace Hopper", "timezone": "America/New_York"})
        assert saved.status_code == 303
        settings = await web.get(saved.headers["location"])
        assert selected_zone(settings.text) == "America/New_York"
        assert "Grace Hopper" in settings.text
        assert (await web.get("/api/v1/me")).json()["timezone"] == "America/New_York"

        phone_session = next(s for s in (await web.get("/api/v1/auth/sessions")).json()["items"]
                             if not s["current"])
        revoked = await web.post(f"/settings/sessions/{phone_session['id']}/revoke")
        assert revoked.headers["location"] == "/settings/security?notice=session_revoked"
        assert (await phone.get("/api/v1/me")).status_code == 401

    wrong = await web.post("/settings/password", data={"current_password": "not it at all",
                                                           "new_password": NEW_PASSWORD})
    assert wrong.status_code == 403
    assert "Your current password is not right." in wrong.text
    changed = await web.post("/settings/password", data={"current_password": user["password"],
                                                             "new_password": NEW_PASSWORD})
    assert changed.status_code == 303
    assert changed.headers["location"] == "/settings/security?notice=password_updated"
    assert (await web.get("/settings")).status_code == 200  # this browser stays signed in


async def test_deleting_connections_and_the_account_go_through_a_confirmation(web: httpx.AsyncClient,
                                                                              stack: Stack) -> None:
    await sandbox(stack, "POST", "/_sandbox/reset")
    user = await sign_up(web, stack)
    assert (await web.post("/signin", data=user)).status_code == 303
    await connect(web, stack, "tiktok")

    confirmation = await web.get("/settings/delete-connections")
    assert "Delete your connected accounts?" in confirmation.text
    assert "(TikTok)" in confirmation.text
    deleted = await web.post("/settings/delete-connections")
    assert deleted.status_code == 303, deleted.text
    assert deleted.headers["location"].startswith("/privacy/deletion/")
    status = await web.get(deleted.headers["location"], headers={"accept": "text/html"})
    assert status.status_code == 200
    assert '<main id="content"' in status.text  # in the layout
    assert "Connected accounts, their permissions and platform tokens" in status.text
    as_json = await web.get(deleted.headers["location"])  # Meta's and the page's own refreshing
    assert as_json.json()["confirmation_code"] in deleted.headers["location"]

    asked = await web.get("/settings/delete-account")
    assert "This deletes the account of" in asked.text
    assert '<label for="password">Your password</label>' in asked.text
    untyped = await web.post("/settings/delete-account", data={"password": user["password"], "confirm_email": "x"})
    assert untyped.status_code == 422
    assert "Type your email address exactly as it is shown" in untyped.text
    assert (await web.get("/settings")).status_code == 200  # nothing was asked of privacy
    refused = await web.post("/settings/delete-account", data={"password": "certainly not it",
                                                               "confirm_email": user["email"]})
    assert refused.status_code == 403
    assert "Your password is not right." in refused.text
    gone = await web.post("/settings/delete-account", data={"password": user["password"],
                                                            "confirm_email": user["email"].upper()})
    assert gone.status_code == 303, gone.text
    assert gone.headers["location"].startswith("/privacy/deletion/")
    assert (await web.get("/settings")).status_code == 303


async def test_a_browser_refused_by_the_rate_limit_or_at_an_unknown_address_gets_a_page(stack: Stack) -> None:
    async with httpx.AsyncClient(base_url=stack.gateway, headers={"X-Forwarded-For": stack.new_client_ip(),
                                                                  "Accept": "text/html,*/*;q=0.8"}) as browser:
        missing = await browser.get("/no/such/page")
        assert missing.status_code == 404
        assert missing.headers["content-type"].startswith("text/html")
        assert "Page not found" in missing.text
        assert '<main id="content"' in missing.text
        api = await browser.get("/api/v1/no-such-thing")
        assert api.status_code == 404
        assert api.json()["error"]["code"] == "not_found"

        answers = [await browser.get("/no/such/page") for _ in range(130)]
        limited = answers[-1]
        assert limited.status_code == 429
        assert limited.headers["content-type"].startswith("text/html")
        assert "Too many requests" in limited.text
        assert '<main id="content"' in limited.text
        assert int(limited.headers["retry-after"]) >= 1
        assert "script-src 'self'" in limited.headers["content-security-policy"]
        assert (await browser.get("/api/v1/me")).json()["error"]["code"] == "rate_limited"


async def test_the_sign_in_history_pages_and_a_deletion_names_only_the_chosen_accounts(web: httpx.AsyncClient,
                                                                                       stack: Stack) -> None:
    await sandbox(stack, "POST", "/_sandbox/reset")
    user = await sign_up(web, stack)
    for _ in range(11):  # more than a page of the history
        assert (await web.post("/signin", data=user)).status_code == 303
    first = await web.get("/settings/security")
    assert first.text.count("<td>Succeeded</td>") == 10
    older = re.search(r'href="(/settings/security\?before=[^"#]+)', first.text)
    assert older, "no link to older sign-ins"
    second = await web.get(html.unescape(older.group(1)))
    assert second.status_code == 200
    assert second.text.count("<td>Succeeded</td>") == 1
    assert "Newest sign-ins" in second.text

    await connect(web, stack, "tiktok")
    await connect(web, stack, "facebook")
    accounts = (await web.get("/api/v1/accounts")).json()["items"]
    kept, chosen = accounts[0], accounts[1]
    confirmation = await web.get("/settings/delete-connections", params={"account": chosen["id"]})
    assert f'<input type="hidden" name="account" value="{chosen["id"]}">' in confirmation.text
    assert "Your other connected accounts stay as they are." in confirmation.text
    deleted = await web.post("/settings/delete-connections", data={"account": chosen["id"]})
    assert deleted.status_code == 303, deleted.text
    [asked] = (await web.get("/api/v1/privacy/deletion-requests")).json()["items"]
    assert asked["scope"] == "connections"
    data = await web.get("/settings/data")
    assert f'href="{deleted.headers["location"]}"' in data.text
    assert kept["id"] in data.text  # still offered for deletion

    async def only_the_chosen_gone() -> bool:
        left = {a["id"] for a in (await web.get("/api/v1/accounts")).json()["items"] if a["status"] != "disconnected"}
        return chosen["id"] not in left and kept["id"] in left
    await wait_for(only_the_chosen_gone, timeout=30, message="the chosen account to be deleted, and only it")
