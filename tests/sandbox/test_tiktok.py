"""TikTok Login Kit and the v2 API: consent, the token endpoint with refresh rotation, revoke, user info, creator
info and its per-token limit, and the error shapes."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.sandbox.flows import (
    TIKTOK_CLIENT_KEY,
    TIKTOK_CLIENT_SECRET,
    TIKTOK_REDIRECT,
    TIKTOK_SCOPES,
    bearer,
    redirect_params,
    tiktok_consent,
    tiktok_exchange_code,
    tiktok_token_request,
    tiktok_tokens,
)


def creator_info(http: httpx.Client, token: str) -> httpx.Response:
    return http.post("/tiktok-api/v2/post/publish/creator_info/query/", headers=bearer(token))


def user_info(http: httpx.Client, token: str, fields: str) -> httpx.Response:
    return http.get("/tiktok-api/v2/user/info/", params={"fields": fields}, headers=bearer(token))


def oauth_error(response: httpx.Response, error: str) -> str:
    assert response.status_code == 400, response.text
    body = response.json()
    assert set(body) == {"error", "error_description", "log_id"}
    assert body["error"] == error
    return str(body["error_description"])


def api_error(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["data"] == {}
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    assert body["error"]["log_id"]


def test_the_dialog_page_lists_the_creators(http: httpx.Client) -> None:
    page = http.get("/tiktok-www/v2/auth/authorize/", params={
        "client_key": TIKTOK_CLIENT_KEY, "scope": TIKTOK_SCOPES, "redirect_uri": TIKTOK_REDIRECT, "state": "s2",
        "response_type": "code"})

    assert page.status_code == 200
    assert "Tia Creator" in page.text
    assert "Pia Private" in page.text


def test_allowing_sends_a_code_the_granted_scopes_and_the_state_back(http: httpx.Client) -> None:
    response = tiktok_consent(http, granted=["user.info.basic", "video.publish"])

    assert response.headers["location"].startswith(f"{TIKTOK_REDIRECT}?code=")
    assert "#" not in response.headers["location"]
    params = redirect_params(response)
    assert params["scopes"] == "user.info.basic,video.publish"
    assert params["state"] == "s2"


def test_cancelling_sends_access_denied_back(http: httpx.Client) -> None:
    params = redirect_params(tiktok_consent(http, decision="deny"))

    assert params["error"] == "access_denied"
    assert params["error_description"]
    assert params["state"] == "s2"


def test_an_unknown_client_key_gets_an_error_page(http: httpx.Client) -> None:
    response = http.get("/tiktok-www/v2/auth/authorize/", params={
        "client_key": "nope", "redirect_uri": TIKTOK_REDIRECT, "scope": "user.info.basic"})

    assert response.status_code == 400
    assert "location" not in response.headers


def test_a_code_becomes_access_and_refresh_tokens(http: httpx.Client) -> None:
    # The code carries characters that only survive if the redirect is URL-decoded before the exchange.
    code = redirect_params(tiktok_consent(http))["code"]
    assert "*" in code

    response = tiktok_exchange_code(http, code)

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access_token", "expires_in", "open_id", "refresh_expires_in", "refresh_token", "scope",
                         "token_type"}
    assert body["access_token"].startswith("act.")
    assert len(body["access_token"]) >= 44
    assert body["refresh_token"].startswith("rft.")
    assert body["open_id"] == "-000abc"
    assert body["scope"] == TIKTOK_SCOPES
    assert body["token_type"] == "Bearer"
    assert 7190 <= body["expires_in"] <= 7200
    assert 15_551_990 <= body["refresh_expires_in"] <= 15_552_000


def test_a_code_works_once(http: httpx.Client) -> None:
    code = redirect_params(tiktok_consent(http))["code"]
    assert tiktok_exchange_code(http, code).status_code == 200

    assert "used" in oauth_error(tiktok_exchange_code(http, code), "invalid_grant")


def test_wrong_client_credentials_are_invalid_client(http: httpx.Client) -> None:
    code = redirect_params(tiktok_consent(http))["code"]

    wrong_secret = http.post("/tiktok-api/v2/oauth/token/", data={
        "client_key": TIKTOK_CLIENT_KEY, "client_secret": "guess", "code": code, "grant_type": "authorization_code",
        "redirect_uri": TIKTOK_REDIRECT})
    wrong_key = http.post("/tiktok-api/v2/oauth/token/", data={
        "client_key": "other", "client_secret": TIKTOK_CLIENT_SECRET, "code": code,
        "grant_type": "authorization_code", "redirect_uri": TIKTOK_REDIRECT})

    oauth_error(wrong_secret, "invalid_client")
    oauth_error(wrong_key, "invalid_client")
    oauth_error(tiktok_token_request(http, grant_type="authorization_code", redirect_uri=TIKTOK_REDIRECT),
                "invalid_request")


def test_refreshing_rotates_the_refresh_token(http: httpx.Client) -> None:
    first = tiktok_tokens(http)

    second = tiktok_token_request(http, grant_type="refresh_token", refresh_token=first["refresh_token"]).json()
    reused = tiktok_token_request(http, grant_type="refresh_token", refresh_token=first["refresh_token"])
    third = tiktok_token_request(http, grant_type="refresh_token", refresh_token=second["refresh_token"])

    assert second["access_token"] != first["access_token"]
    assert second["refresh_token"] != first["refresh_token"]
    assert second["refresh_token"].startswith("rft.")
    assert second["open_id"] == "-000abc"
    assert second["scope"] == TIKTOK_SCOPES
    oauth_error(reused, "invalid_grant")
    assert third.status_code == 200
    assert creator_info(http, first["access_token"]).status_code == 200


def test_without_rotation_the_refresh_token_stays(http: httpx.Client) -> None:
    http.put("/_sandbox/settings", json={"tiktok_refresh_rotation": False}).raise_for_status()
    first = tiktok_tokens(http)

    second = tiktok_token_request(http, grant_type="refresh_token", refresh_token=first["refresh_token"]).json()
    again = tiktok_token_request(http, grant_type="refresh_token", refresh_token=first["refresh_token"])

    assert second["refresh_token"] == first["refresh_token"]
    assert again.status_code == 200


def test_revoking_ends_the_whole_grant_and_is_recorded(http: httpx.Client) -> None:
    tokens = tiktok_tokens(http)

    response = http.post("/tiktok-api/v2/oauth/revoke/", data={
        "client_key": TIKTOK_CLIENT_KEY, "client_secret": TIKTOK_CLIENT_SECRET, "token": tokens["access_token"]})

    assert response.status_code == 200
    assert response.json() == {}
    api_error(user_info(http, tokens["access_token"], "open_id"), 401, "access_token_invalid")
    assert user_info(http, tokens["access_token"], "open_id").json()["error"]["message"] == (
        "The access token is invalid or not found in the request.")
    oauth_error(tiktok_token_request(http, grant_type="refresh_token", refresh_token=tokens["refresh_token"]),
                "invalid_grant")
    revocations = http.get("/_sandbox/revocations").json()
    assert [(r["platform"], r["subject"]) for r in revocations] == [("tiktok", "-000abc")]


def test_user_info_answers_only_the_fields_asked_for(http: httpx.Client) -> None:
    token = tiktok_tokens(http)["access_token"]

    response = user_info(http, token, "open_id,union_id,avatar_url,display_name,username")

    assert response.status_code == 200
    body = response.json()
    assert body["error"]["code"] == "ok"
    assert body["error"]["message"] == ""
    assert body["error"]["log_id"]
    user = body["data"]["user"]
    assert set(user) == {"open_id", "union_id", "avatar_url", "display_name", "username"}
    assert (user["open_id"], user["display_name"], user["username"]) == ("-000abc", "Tia Creator", "tiacreator")
    assert user_info(http, token, "display_name").json()["data"]["user"] == {"display_name": "Tia Creator"}


def test_user_info_fields_need_their_scope(http: httpx.Client) -> None:
    token = tiktok_tokens(http, granted=["user.info.basic", "video.publish"])["access_token"]

    assert user_info(http, token, "open_id,display_name").status_code == 200
    api_error(user_info(http, token, "username"), 401, "scope_not_authorized")


@pytest.mark.parametrize(("open_id", "expected"), [
    ("-000abc", {"creator_username": "tiacreator", "creator_nickname": "Tia Creator",
                 "privacy_level_options": ["PUBLIC_TO_EVERYONE", "MUTUAL_FOLLOW_FRIENDS", "SELF_ONLY"],
                 "comment_disabled": False, "duet_disabled": False, "stitch_disabled": True,
                 "max_video_post_duration_sec": 300}),
    ("-000def", {"creator_username": "piaprivate", "creator_nickname": "Pia Private",
                 "privacy_level_options": ["FOLLOWER_OF_CREATOR", "MUTUAL_FOLLOW_FRIENDS", "SELF_ONLY"],
                 "comment_disabled": False, "duet_disabled": True, "stitch_disabled": True,
                 "max_video_post_duration_sec": 180}),
])
def test_creator_info_describes_the_creator(http: httpx.Client, open_id: str, expected: dict[str, Any]) -> None:
    response = creator_info(http, tiktok_tokens(http, user_id=open_id)["access_token"])

    assert response.status_code == 200
    body = response.json()
    assert body["error"]["code"] == "ok"
    avatar = body["data"].pop("creator_avatar_url")
    assert avatar.startswith("http")
    assert body["data"] == expected


def test_creator_info_needs_video_publish(http: httpx.Client) -> None:
    token = tiktok_tokens(http, granted=["user.info.basic", "video.upload"])["access_token"]

    api_error(creator_info(http, token), 401, "scope_not_authorized")


def test_creator_info_allows_twenty_calls_a_minute_per_token(http: httpx.Client) -> None:
    token = tiktok_tokens(http)["access_token"]
    other = tiktok_tokens(http)["access_token"]

    statuses = [creator_info(http, token).status_code for _ in range(20)]
    limited = creator_info(http, token)

    assert statuses == [200] * 20
    api_error(limited, 429, "rate_limit_exceeded")
    assert creator_info(http, other).status_code == 200


def test_an_expired_or_unknown_access_token_is_refused(http: httpx.Client) -> None:
    token = tiktok_tokens(http)["access_token"]
    http.post("/_sandbox/tokens/expire", json={"token": token}).raise_for_status()

    api_error(creator_info(http, token), 401, "access_token_invalid")
    api_error(creator_info(http, "act.unknown"), 401, "access_token_invalid")
    api_error(http.post("/tiktok-api/v2/post/publish/creator_info/query/"), 401, "access_token_invalid")


def test_an_unaudited_client_still_gets_creator_info(http: httpx.Client) -> None:
    settings = http.put("/_sandbox/settings", json={"tiktok_unaudited": True}).json()

    assert settings["tiktok_unaudited"] is True
    assert creator_info(http, tiktok_tokens(http)["access_token"]).status_code == 200


def test_error_rate_one_gives_the_internal_error_envelope(http: httpx.Client) -> None:
    token = tiktok_tokens(http)["access_token"]
    http.put("/_sandbox/settings", json={"error_rate": 1}).raise_for_status()

    api_error(creator_info(http, token), 500, "internal_error")
    assert tiktok_consent(http).status_code == 302
