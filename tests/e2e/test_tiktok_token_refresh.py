"""TikTok invalidates an access token before its expiry: the connector refreshes it once and the call goes on;
only a refresh token TikTok refuses too makes the account need reconnecting."""

from __future__ import annotations

import asyncio
import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.e2e.publishing_support import Member, create, publishes, settled, video
from tests.support import Stack, internal, items, sandbox


async def tiktok_tokens(stack: Stack, kind: str) -> list[dict[str, Any]]:
    return [t for t in items(await sandbox(stack, "GET", "/_sandbox/tokens", params={"platform": "tiktok"}))
            if t["kind"] == f"tiktok_{kind}"]


async def invalidate_current(stack: Stack, kind: str) -> str:
    """Invalidates the newest usable token of that kind at TikTok, leaving its expiry as it was."""
    current = [t for t in await tiktok_tokens(stack, kind) if not t["revoked"] and not t["replaced_by"]][-1]
    invalidated = await sandbox(stack, "POST", "/_sandbox/tokens/invalidate", json={"token": current["token"]})
    assert invalidated["revoked"]
    assert invalidated["expires_at"] == current["expires_at"]
    return str(current["token"])


async def refresh_grants(stack: Stack) -> list[dict[str, Any]]:
    """Refreshes of this test's grant. The poster fixture resets the sandbox, so the refresh tokens it knows are
    this poster's; the connector's background check may meanwhile try older tests' tokens, which must not count."""
    ours = {t["token"] for t in await tiktok_tokens(stack, "refresh")}
    requests = items(await sandbox(stack, "GET", "/_sandbox/requests", params={"platform": "tiktok"}))
    return [r for r in requests if r["path"].endswith("/oauth/token/")
            and (form := r.get("form") or r.get("body") or {}).get("grant_type") == "refresh_token"
            and form.get("refresh_token") in ours]


async def account_status(member: Member) -> str:
    listed = (await member.http.get("/api/v1/accounts")).json()["items"]
    return str(next(a for a in listed if a["id"] == member.accounts["tiktok"])["status"])


def scheduled_tiktok_post(member: Member, stack: Stack, caption: str) -> Any:
    """Due in a few seconds, so the token can be invalidated after the composer's checks and before the worker."""
    return create(member, caption=caption, media=[video(stack)],
                  scheduled_at=(datetime.now(UTC) + timedelta(seconds=3)).isoformat(),
                  targets=[{"account_id": member.accounts["tiktok"], "settings": {"privacy_level": "SELF_ONLY"}}])


async def test_publishing_options_survive_an_access_token_tiktok_invalidated(poster: Member, stack: Stack) -> None:
    invalidated = await invalidate_current(stack, "access")

    options = await poster.http.get(f"/api/v1/accounts/{poster.accounts['tiktok']}/publishing-options")
    assert options.status_code == 200, options.text
    assert options.json()["tiktok"]["privacy_level_options"]
    assert len(await refresh_grants(stack)) == 1
    assert await account_status(poster) == "active"
    newest = (await tiktok_tokens(stack, "access"))[-1]
    assert newest["token"] != invalidated
    assert not newest["revoked"]

    again = await poster.http.get(f"/api/v1/accounts/{poster.accounts['tiktok']}/publishing-options")
    assert again.status_code == 200
    assert len(await refresh_grants(stack)) == 1  # the refreshed token is kept, not refreshed again


async def test_a_publish_survives_an_access_token_tiktok_invalidated_and_shows_the_refresh(
        poster: Member, stack: Stack) -> None:
    post = await scheduled_tiktok_post(poster, stack, "After an early invalidation")
    await invalidate_current(stack, "access")

    done = await settled(poster, post["id"])
    [target] = done["targets"]
    assert target["status"] == "published", target
    steps = [e["step"] for e in target["timeline"]]
    assert "token_refreshed" in steps
    assert steps.index("token_refreshed") < steps.index("initialized") < steps.index("published")
    refreshed = next(e for e in target["timeline"] if e["step"] == "token_refreshed")
    assert refreshed["response_code"] == "access_token_invalid"
    assert "refreshed" in refreshed["message"]
    assert len(await refresh_grants(stack)) == 1
    assert len(await publishes(stack, platform="tiktok")) == 1
    assert await account_status(poster) == "active"


async def test_a_revoked_refresh_token_too_fails_the_target_clearly_and_asks_for_reconnection(
        poster: Member, stack: Stack) -> None:
    post = await scheduled_tiktok_post(poster, stack, "Nothing left to refresh with")
    await invalidate_current(stack, "access")
    await invalidate_current(stack, "refresh")

    done = await settled(poster, post["id"])
    [target] = done["targets"]
    assert target["status"] == "failed"
    assert target["error_class"] == "reconnect_required"
    assert "Reconnect" in target["error_message"]
    assert "token_refreshed" not in [e["step"] for e in target["timeline"]]
    assert len(await refresh_grants(stack)) == 1  # tried once, not again and again
    assert await account_status(poster) == "reauth_required"
    assert await publishes(stack, platform="tiktok") == []


async def test_publishing_options_with_a_revoked_refresh_token_ask_for_reconnection(poster: Member,
                                                                                      stack: Stack) -> None:
    await invalidate_current(stack, "access")
    await invalidate_current(stack, "refresh")

    options = await poster.http.get(f"/api/v1/accounts/{poster.accounts['tiktok']}/publishing-options")
    assert options.status_code == 409, options.text
    assert options.json()["error"]["code"] == "reauth_required"
    assert len(await refresh_grants(stack)) == 1  # refreshing was tried before giving up
    assert "act." not in options.text
    assert "rft." not in options.text
    assert await account_status(poster) == "reauth_required"


async def test_callers_reporting_one_refused_token_at_once_share_one_refresh(poster: Member, stack: Stack) -> None:
    invalidated = await invalidate_current(stack, "access")
    body = {"user_id": poster.user_id, "rejected": hashlib.sha256(invalidated.encode()).hexdigest()}

    answers = await asyncio.gather(*[
        internal(stack, "connector", f"/internal/accounts/{poster.accounts['tiktok']}/token-rejected", body)
        for _ in range(4)])
    assert [a.status_code for a in answers] == [200] * 4, [a.text for a in answers]
    tokens = {a.json()["access_token"] for a in answers}
    assert len(tokens) == 1
    assert invalidated not in tokens
    # With rotating refresh tokens, a second refresh would have spent a refresh token already replaced.
    assert len(await refresh_grants(stack)) == 1
    assert {a.json()["status"] for a in answers} == {"active"}
