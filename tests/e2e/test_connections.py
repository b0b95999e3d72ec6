"""Connecting accounts end to end: gateway, connector and the platform sandbox, each its own process."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import asyncpg
import httpx
import pytest

from tests.support import (
    Stack,
    approve,
    callback_path,
    connect,
    internal,
    items,
    sandbox,
    sign_in,
    sign_up,
    wait_for,
)


@pytest.fixture
async def member(stack: Stack, new_client: Callable[[], httpx.AsyncClient]) -> AsyncIterator[httpx.AsyncClient]:
    """A signed-in user with a verified email, fresh sandbox state."""
    await sandbox(stack, "POST", "/_sandbox/reset")
    async with new_client() as http:
        user = await sign_up(http, stack)
        await sign_in(http, user)
        http.headers["x-test-user-id"] = user["id"]
        yield http


async def accounts(http: httpx.AsyncClient) -> list[dict]:
    response = await http.get("/api/v1/accounts")
    assert response.status_code == 200, response.text
    return response.json()["items"]


def by_external_id(listed: list[dict]) -> dict[str, dict]:
    return {a["external_id"]: a for a in listed}


async def test_facebook_pages_and_their_instagram_accounts_are_connected(member: httpx.AsyncClient,
                                                                        stack: Stack) -> None:
    done = await connect(member, stack, "facebook")
    assert done.status_code == 302
    assert done.headers["location"].startswith(f"{stack.gateway}/accounts?")
    assert "result=connected" in done.headers["location"]

    listed = by_external_id(await accounts(member))
    bakery, fans, instagram = listed["1029"], listed["1030"], listed["178414"]
    assert bakery["name"] == "Acme Bakery"
    assert bakery["kind"] == "facebook_page"
    assert bakery["external_id"] == "1029"
    assert "CREATE_CONTENT" in bakery["tasks"]
    assert bakery["publishable"] is True
    assert bakery["status"] == "active"
    assert "pages_manage_posts" in bakery["permissions"]["granted"]
    assert fans["publishable"] is False
    assert "CREATE_CONTENT" in fans["unpublishable_reason"]
    assert instagram["username"] == "acmebakery"
    assert instagram["platform"] == "instagram"
    assert instagram["kind"] == "instagram"
    assert instagram["publishable"] is True
    # Which login reaches each account, so Reconnect goes through the same one.
    assert (instagram["provider"], instagram["via_page_id"]) == ("facebook", "1029")
    assert (bakery["provider"], bakery["via_page_id"]) == ("facebook", None)

    page = await member.get("/accounts")
    assert page.status_code == 200
    assert "Acme Bakery" in page.text

    exchanges = items(await sandbox(stack, "GET", "/_sandbox/requests", params={"platform": "facebook"}))
    paths = [r["path"] for r in exchanges]
    assert any(p.endswith("/oauth/access_token") for p in paths)
    assert any("me/accounts" in p for p in paths)


async def test_instagram_login_accepts_both_token_answer_shapes(member: httpx.AsyncClient, stack: Stack) -> None:
    for shape in ("data", "flat"):
        await sandbox(stack, "PUT", "/_sandbox/settings", json={"instagram_token_response": shape})
        done = await connect(member, stack, "instagram")
        assert "result=connected" in done.headers["location"], shape
    [studio] = [a for a in await accounts(member) if a["kind"] == "instagram"]
    assert studio["username"] == "acme.studio"
    assert studio["platform"] == "instagram"
    assert (studio["provider"], studio["via_page_id"]) == ("instagram", None)
    assert studio["publishable"] is True


async def test_tiktok_creator_is_connected_with_its_publishing_options(member: httpx.AsyncClient,
                                                                      stack: Stack) -> None:
    done = await connect(member, stack, "tiktok")
    assert "result=connected" in done.headers["location"]
    [creator] = await accounts(member)
    assert creator["kind"] == "tiktok"
    assert creator["external_id"] == "-000abc"
    assert creator["publishable"] is True
    options = await member.get(f"/api/v1/accounts/{creator['id']}/publishing-options")
    assert options.status_code == 200, options.text
    tiktok = options.json()["tiktok"]
    assert tiktok["privacy_level_options"] == ["PUBLIC_TO_EVERYONE", "MUTUAL_FOLLOW_FRIENDS", "SELF_ONLY"]
    assert tiktok["stitch_disabled"] is True
    assert tiktok["max_video_post_duration_sec"] == 300
    assert tiktok["creator_nickname"]


async def test_instagram_publishing_options_show_the_remaining_quota(member: httpx.AsyncClient,
                                                                     stack: Stack) -> None:
    await connect(member, stack, "facebook")
    instagram = next(a for a in await accounts(member) if a["kind"] == "instagram")
    options = await member.get(f"/api/v1/accounts/{instagram['id']}/publishing-options")
    assert options.status_code == 200, options.text
    assert options.json()["instagram"]["remaining"] == options.json()["instagram"]["quota_total"] > 0


@pytest.mark.parametrize("provider", ["facebook", "instagram", "tiktok"])
async def test_the_user_denying_consent_connects_nothing(member: httpx.AsyncClient, stack: Stack,
                                                         provider: str) -> None:
    done = await connect(member, stack, provider, decision="deny")
    assert done.status_code == 302
    assert "result=denied" in done.headers["location"]
    assert await accounts(member) == []
    page = await member.get(done.headers["location"].removeprefix(stack.gateway))
    assert "did not allow" in page.text


async def test_forged_reused_and_expired_states_are_refused(member: httpx.AsyncClient, stack: Stack,
                                                            db: asyncpg.Connection) -> None:
    forged = await member.get("/api/v1/connections/facebook/callback", params={"code": "x", "state": "forged"})
    assert forged.status_code == 400
    assert forged.json()["error"]["code"] == "invalid_state"

    start = await member.get("/api/v1/connections/tiktok/start")
    callback = callback_path(await approve(start.headers["location"], user=None, decision="allow", granted=None))
    assert (await member.get(callback)).status_code == 302
    reused = await member.get(callback)
    assert reused.status_code == 400
    assert reused.json()["error"]["code"] == "invalid_state"

    start = await member.get("/api/v1/connections/instagram/start")
    callback = callback_path(await approve(start.headers["location"], user=None, decision="allow", granted=None))
    await db.execute("UPDATE connector.oauth_states SET expires_at = now() - interval '1 second' "
                     "WHERE used_at IS NULL")
    expired = await member.get(callback)
    assert expired.status_code == 400
    assert [a["kind"] for a in await accounts(member)] == ["tiktok"]


async def test_a_state_only_works_for_the_session_that_started_it(member: httpx.AsyncClient, stack: Stack,
                                                                  new_client: Callable[[], httpx.AsyncClient]
                                                                  ) -> None:
    start = await member.get("/api/v1/connections/tiktok/start")
    callback = callback_path(await approve(start.headers["location"], user=None, decision="allow", granted=None))
    async with new_client() as attacker:
        await sign_in(attacker, await sign_up(attacker, stack))
        stolen = await attacker.get(callback)
        assert stolen.status_code == 400
        assert await accounts(attacker) == []


async def test_a_code_used_twice_is_refused_by_the_platform_and_changes_nothing(member: httpx.AsyncClient,
                                                                                stack: Stack) -> None:
    first = await member.get("/api/v1/connections/tiktok/start")
    first_callback = callback_path(await approve(first.headers["location"], user=None, decision="allow",
                                                 granted=None))
    assert "result=connected" in (await member.get(first_callback)).headers["location"]
    before = await accounts(member)

    second = await member.get("/api/v1/connections/tiktok/start")
    fresh = httpx.URL(await approve(second.headers["location"], user=None, decision="allow", granted=None))
    old_code = httpx.URL(first_callback).params["code"]
    replay = fresh.copy_merge_params({"code": old_code})
    answer = await member.get(callback_path(str(replay)))
    assert answer.status_code == 302
    assert "result=failed" in answer.headers["location"]
    assert await accounts(member) == before


async def test_a_declined_permission_makes_the_account_unpublishable_with_the_reason(member: httpx.AsyncClient,
                                                                                     stack: Stack) -> None:
    await connect(member, stack, "facebook", user="5552")  # Dana always declines instagram_content_publish
    listed = await accounts(member)
    instagram = next(a for a in listed if a["kind"] == "instagram")
    page = next(a for a in listed if a["kind"] == "facebook_page")
    assert "instagram_content_publish" in instagram["permissions"]["declined"]
    assert instagram["publishable"] is False
    assert "instagram_content_publish" in instagram["unpublishable_reason"]
    assert page["publishable"] is True

    await connect(member, stack, "tiktok", granted=["user.info.basic"])
    creator = next(a for a in await accounts(member) if a["kind"] == "tiktok")
    assert creator["publishable"] is False
    assert "video.publish" in creator["permissions"]["declined"]


async def test_reconnecting_updates_in_place_and_keeps_history(member: httpx.AsyncClient, stack: Stack,
                                                               db: asyncpg.Connection) -> None:
    await connect(member, stack, "facebook")
    first = {a["external_id"]: a["id"] for a in await accounts(member)}
    await connect(member, stack, "facebook")
    second = {a["external_id"]: a["id"] for a in await accounts(member)}
    assert first == second
    kinds = await db.fetch("SELECT kind FROM connector.account_events WHERE account_id = $1::uuid ORDER BY id",
                           first["1029"])
    assert [k["kind"] for k in kinds] == ["connected", "reconnected"]


async def test_an_unverified_user_cannot_connect(stack: Stack, new_client: Callable[[], httpx.AsyncClient]) -> None:
    async with new_client() as http:
        await sign_in(http, await sign_up(http, stack, verified=False))
        refused = await http.get("/api/v1/connections/facebook/start")
        assert refused.status_code == 403
        assert refused.json()["error"]["code"] == "email_not_verified"


async def test_bad_input_gets_a_clear_4xx_and_changes_nothing(member: httpx.AsyncClient, stack: Stack,
                                                              new_client: Callable[[], httpx.AsyncClient]) -> None:
    await connect(member, stack, "tiktok")
    [mine] = await accounts(member)
    unknown = await member.get("/api/v1/connections/myspace/start")
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "unknown_provider"
    for params in ({}, {"state": ""}, {"code": "x"}, {"state": "x" * 5000}, {"error": "x" * 3000}):
        garbage = await member.get("/api/v1/connections/tiktok/callback", params=params)
        assert garbage.status_code in (400, 422), garbage.text
        assert "error" in garbage.json()
    async with new_client() as anonymous:
        no_session = await anonymous.get("/api/v1/connections/tiktok/callback", params={"code": "c", "state": "s"})
        assert no_session.status_code == 401
    async with new_client() as other:
        await sign_in(other, await sign_up(other, stack))
        assert (await other.delete(f"/api/v1/accounts/{mine['id']}")).status_code == 404
        assert (await other.get(f"/api/v1/accounts/{mine['id']}/publishing-options")).status_code == 404
    assert (await member.delete("/api/v1/accounts/not-a-uuid")).status_code == 422
    assert await accounts(member) == [mine]


async def test_disconnecting_revokes_at_the_platform_and_destroys_the_tokens(member: httpx.AsyncClient, stack: Stack,
                                                                             db: asyncpg.Connection) -> None:
    await connect(member, stack, "tiktok")
    [creator] = await accounts(member)
    assert await db.fetchval("SELECT count(*) FROM connector.secrets WHERE owner_id = $1::uuid", creator["id"]) == 2
    assert (await member.delete(f"/api/v1/accounts/{creator['id']}")).status_code == 204
    revocations = items(await sandbox(stack, "GET", "/_sandbox/revocations"))
    assert [r["platform"] for r in revocations] == ["tiktok"]
    [after] = await accounts(member)
    assert after["status"] == "disconnected"
    assert after["publishable"] is False
    assert await db.fetchval("SELECT count(*) FROM connector.secrets WHERE owner_id = $1::uuid", creator["id"]) == 0

    await connect(member, stack, "facebook")
    pages = [a for a in await accounts(member) if a["status"] == "active"]  # the Pages and the Instagram account
    for index, page in enumerate(pages):
        assert (await member.delete(f"/api/v1/accounts/{page['id']}")).status_code == 204
        facebook_revocations = [r for r in items(await sandbox(stack, "GET", "/_sandbox/revocations"))
                                if r["platform"] == "facebook"]
        # The Facebook login is revoked only when its last Page or Instagram account goes.
        assert len(facebook_revocations) == (1 if index == len(pages) - 1 else 0)


async def test_a_revoked_token_marks_the_account_for_reconnection_and_tells_the_user(
        member: httpx.AsyncClient, stack: Stack) -> None:
    # Here the connector must find out by itself; TikTok's webhook about it is tested with the webhooks.
    await sandbox(stack, "PUT", "/_sandbox/settings", json={"webhooks_enabled": False})
    await connect(member, stack, "tiktok")
    [creator] = await accounts(member)
    issued = [t for t in items(await sandbox(stack, "GET", "/_sandbox/tokens")) if t["kind"] == "tiktok_access"]
    await sandbox(stack, "POST", "/_sandbox/tokens/revoke", json={"token": issued[-1]["token"]})

    user_id = member.headers["x-test-user-id"]
    checked = await internal(stack, "connector", f"/internal/accounts/{creator['id']}/token-rejected",
                             {"user_id": user_id})
    assert checked.json()["status"] == "reauth_required"
    [after] = await accounts(member)
    assert after["status"] == "reauth_required"
    assert after["publishable"] is False
    assert "Reconnect" in after["unpublishable_reason"]
    me = (await member.get("/api/v1/me")).json()
    await stack.mail(me["email"], "Reconnect your TikTok account")

    refused = await internal(stack, "connector", f"/internal/accounts/{creator['id']}/access-token",
                             {"user_id": user_id})
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "reauth_required"
    assert "act." not in refused.text

    await connect(member, stack, "tiktok")
    [reconnected] = await accounts(member)
    assert reconnected["id"] == creator["id"]
    assert reconnected["status"] == "active"


async def test_an_expiring_tiktok_token_is_refreshed_and_the_rotated_refresh_token_kept(
        member: httpx.AsyncClient, stack: Stack) -> None:
    await sandbox(stack, "PUT", "/_sandbox/settings", json={"tiktok_access_seconds": 60})
    await connect(member, stack, "tiktok")
    [creator] = await accounts(member)
    user_id = member.headers["x-test-user-id"]

    async def fetch() -> str:
        answer = await internal(stack, "connector", f"/internal/accounts/{creator['id']}/access-token",
                                {"user_id": user_id})
        assert answer.status_code == 200, answer.text
        return str(answer.json()["access_token"])

    def issued(kind: str) -> list[dict]:
        return [t for t in tokens if t["kind"] == kind]

    first = await fetch()  # 60 s left is inside the refresh margin: refreshed now
    second = await fetch()  # and again, which works only with the rotated refresh token
    tokens = items(await sandbox(stack, "GET", "/_sandbox/tokens"))
    access = [t["token"] for t in issued("tiktok_access")]
    assert first in access
    assert second in access
    assert len({first, second, access[0]}) == 3
    refresh = issued("tiktok_refresh")
    assert len(refresh) == 3
    refreshes = [r for r in items(await sandbox(stack, "GET", "/_sandbox/requests", params={"platform": "tiktok"}))
                 if r["path"].endswith("/oauth/token/") and (r.get("form") or r.get("body") or {}).get(
                     "grant_type") == "refresh_token"]
    assert len(refreshes) == 2
    assert (await member.get(f"/api/v1/accounts/{creator['id']}/publishing-options")).status_code == 200


async def test_no_platform_token_reaches_the_database_dump_or_any_log(member: httpx.AsyncClient,
                                                                      stack: Stack) -> None:
    from tests.e2e.test_secrets_at_rest import dump_database

    for provider in ("facebook", "instagram", "tiktok"):
        await connect(member, stack, provider)
    listed = await accounts(member)
    for account in listed:
        await member.get(f"/api/v1/accounts/{account['id']}/publishing-options")
    tokens = [t["token"] for t in items(await sandbox(stack, "GET", "/_sandbox/tokens"))]
    assert len(tokens) >= 6

    async def logs_flushed() -> bool:
        return "Request handled" in stack.logs()
    await wait_for(logs_flushed)
    dump, logs = dump_database(stack.database_url), stack.logs()
    assert "Acme Bakery" in dump
    for token in tokens:
        assert token not in dump
        assert token not in logs


async def test_a_long_lived_instagram_token_near_expiry_is_refreshed(member: httpx.AsyncClient, stack: Stack,
                                                                     db: asyncpg.Connection) -> None:
    await sandbox(stack, "PUT", "/_sandbox/settings", json={"instagram_refresh_min_age_seconds": 0})
    await connect(member, stack, "instagram")
    [studio] = await accounts(member)
    user_id = member.headers["x-test-user-id"]
    before = (await internal(stack, "connector", f"/internal/accounts/{studio['id']}/access-token",
                             {"user_id": user_id})).json()["access_token"]
    await db.execute("UPDATE connector.secrets SET issued_at = now() - interval '50 days', "
                     "expires_at = now() + interval '2 days' WHERE owner_id = $1::uuid", studio["id"])
    checked = await internal(stack, "connector", f"/internal/accounts/{studio['id']}/token-rejected",
                             {"user_id": user_id})
    assert checked.json()["status"] == "active"
    after = (await internal(stack, "connector", f"/internal/accounts/{studio['id']}/access-token",
                            {"user_id": user_id})).json()
    assert after["access_token"] != before
    assert after["access_token"] in [t["token"] for t in items(await sandbox(stack, "GET", "/_sandbox/tokens"))
                                     if t["kind"] == "instagram_long"]
    refreshed = [r for r in items(await sandbox(stack, "GET", "/_sandbox/requests", params={"platform": "instagram"}))
                 if "refresh_access_token" in r["path"]]
    assert len(refreshed) == 1
