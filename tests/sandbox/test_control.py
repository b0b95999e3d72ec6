"""/_sandbox: reset, settings, extra accounts, token inspection and manipulation, the request log; and the
environment mapping that points Postifys at the sandbox."""

from __future__ import annotations

import time

import httpx

from sandbox import base_urls
from tests.sandbox.flows import (
    META_APP_ID,
    bearer,
    facebook_consent,
    facebook_long_token,
    facebook_short_token,
    graph_error,
    instagram_short_token,
    page_tokens,
    tiktok_tokens,
)


def test_health_and_readiness(http: httpx.Client) -> None:
    assert http.get("/healthz").status_code == 200
    assert http.get("/readyz").status_code == 200


def test_base_urls_point_every_platform_host_into_the_sandbox(http: httpx.Client, sandbox_url: str) -> None:
    urls = base_urls(sandbox_url)

    assert urls == {
        "POSTIFYS_FACEBOOK_WWW_URL": f"{sandbox_url}/facebook-www",
        "POSTIFYS_FACEBOOK_GRAPH_URL": f"{sandbox_url}/facebook-graph",
        "POSTIFYS_INSTAGRAM_WWW_URL": f"{sandbox_url}/instagram-www",
        "POSTIFYS_INSTAGRAM_API_URL": f"{sandbox_url}/instagram-api",
        "POSTIFYS_INSTAGRAM_GRAPH_URL": f"{sandbox_url}/instagram-graph",
        "POSTIFYS_TIKTOK_WWW_URL": f"{sandbox_url}/tiktok-www",
        "POSTIFYS_TIKTOK_API_URL": f"{sandbox_url}/tiktok-api",
    }
    assert graph_error(httpx.get(f"{urls['POSTIFYS_FACEBOOK_GRAPH_URL']}/v25.0/me"))["code"] == 2500


def test_state_lists_the_seeded_accounts(http: httpx.Client) -> None:
    state = http.get("/_sandbox/state").json()

    alice, dana = state["facebook"]["users"]
    assert (alice["id"], alice["name"]) == ("5551", "Alice Example")
    assert [p["id"] for p in alice["pages"]] == ["1029", "1030"]
    assert alice["pages"][0]["instagram"]["id"] == "178414"
    assert alice["pages"][1]["instagram"] is None
    assert dana["declined"] == ["instagram_content_publish"]
    assert dana["pages"][0]["instagram"]["username"] == "danashop"
    assert [(u["user_id"], u["username"]) for u in state["instagram"]["users"]] == [("1020", "acme.studio")]
    assert [c["open_id"] for c in state["tiktok"]["creators"]] == ["-000abc", "-000def"]


def test_settings_change_and_reset_restores_them(http: httpx.Client) -> None:
    defaults = http.get("/_sandbox/settings").json()

    changed = http.put("/_sandbox/settings", json={"facebook_short_seconds": 60, "error_rate": 0.5,
                                                   "instagram_token_response": "flat"})
    http.post("/_sandbox/reset").raise_for_status()

    assert defaults["facebook_short_seconds"] == 5108
    assert defaults["tiktok_refresh_rotation"] is True
    assert changed.status_code == 200
    assert changed.json() == {**defaults, "facebook_short_seconds": 60, "error_rate": 0.5,
                              "instagram_token_response": "flat"}
    assert http.get("/_sandbox/settings").json() == defaults


def test_bad_settings_are_refused_and_change_nothing(http: httpx.Client) -> None:
    before = http.get("/_sandbox/settings").json()

    for change in ({"error_rate": 2}, {"no_such_setting": 1}, {"instagram_token_response": "xml"},
                   {"latency_ms": -1}):
        assert http.put("/_sandbox/settings", json=change).status_code == 422

    assert http.get("/_sandbox/settings").json() == before


def test_lifetimes_follow_the_settings(http: httpx.Client) -> None:
    http.put("/_sandbox/settings", json={"tiktok_access_seconds": 60, "tiktok_refresh_seconds": 120})

    tokens = tiktok_tokens(http)

    assert 50 <= tokens["expires_in"] <= 60
    assert 110 <= tokens["refresh_expires_in"] <= 120


def test_reset_forgets_tokens_requests_and_added_accounts(http: httpx.Client) -> None:
    token = facebook_short_token(http)
    http.post("/_sandbox/instagram/users", json={"name": "Extra", "username": "extra"}).raise_for_status()

    http.post("/_sandbox/reset").raise_for_status()

    assert http.get("/_sandbox/tokens").json() == []
    assert http.get("/_sandbox/requests").json() == []
    assert len(http.get("/_sandbox/state").json()["instagram"]["users"]) == 1
    assert graph_error(http.get("/facebook-graph/me", params={"access_token": token}))["error_subcode"] == 467


def test_an_added_facebook_user_can_log_in_and_sees_their_pages(http: httpx.Client) -> None:
    created = http.post("/_sandbox/facebook/users", json={
        "name": "Erin Extra", "declined": ["pages_manage_posts"],
        "pages": [{"name": "Erin's Cafe", "category": "Cafe", "instagram": {"username": "erinscafe"}},
                  {"name": "Erin's Blog", "tasks": ["ANALYZE", "CREATE_CONTENT"]}]})

    assert created.status_code == 201
    user = created.json()
    assert user["id"].isdigit()
    assert user["id"] not in ("5551", "5552")
    cafe, blog = user["pages"]
    token = facebook_long_token(http, user_id=user["id"])
    pages = http.get("/facebook-graph/v25.0/me/accounts", params={
        "fields": "id,name,tasks,instagram_business_account", "access_token": token}).json()["data"]
    assert pages == [
        {"id": cafe["id"], "name": "Erin's Cafe", "tasks": ["ANALYZE", "ADVERTISE", "MODERATE", "CREATE_CONTENT",
                                                           "MANAGE"],
         "instagram_business_account": {"id": cafe["instagram"]["id"]}},
        {"id": blog["id"], "name": "Erin's Blog", "tasks": ["ANALYZE", "CREATE_CONTENT"]},
    ]
    permissions = http.get("/facebook-graph/me/permissions", params={"access_token": token}).json()["data"]
    assert {"permission": "pages_manage_posts", "status": "declined"} in permissions


def test_an_added_instagram_user_can_log_in(http: httpx.Client) -> None:
    created = http.post("/_sandbox/instagram/users", json={"name": "Nova Shop", "username": "nova.shop"}).json()

    token = instagram_short_token(http, user_id=created["user_id"])

    me = http.get("/instagram-graph/v25.0/me", params={"fields": "user_id,username", "access_token": token}).json()
    assert (me["user_id"], me["username"]) == (created["user_id"], "nova.shop")


def test_an_added_tiktok_creator_can_log_in(http: httpx.Client) -> None:
    created = http.post("/_sandbox/tiktok/creators", json={
        "display_name": "Max Minimal", "username": "maxmin", "privacy_level_options": ["SELF_ONLY"],
        "comment_disabled": True, "max_video_post_duration_sec": 60}).json()

    tokens = tiktok_tokens(http, user_id=created["open_id"])

    info = http.post("/tiktok-api/v2/post/publish/creator_info/query/", headers=bearer(tokens["access_token"]))
    assert tokens["open_id"] == created["open_id"]
    assert info.json()["data"]["privacy_level_options"] == ["SELF_ONLY"]
    assert info.json()["data"]["comment_disabled"] is True
    assert info.json()["data"]["max_video_post_duration_sec"] == 60


def test_tokens_lists_every_token_issued(http: httpx.Client) -> None:
    user_token = facebook_long_token(http)
    page_token = page_tokens(http, user_token)["1029"]
    tiktok = tiktok_tokens(http)

    listed = {t["token"]: t for t in http.get("/_sandbox/tokens").json()}

    assert [t["kind"] for t in listed.values()] == ["user_short", "user_long", "page", "page", "tiktok_access",
                                                    "tiktok_refresh"]
    assert listed[user_token]["subject"] == "5551"
    assert listed[user_token]["platform"] == "facebook"
    assert listed[page_token]["subject"] == "1029"
    assert listed[page_token]["expires_at"] is None
    assert listed[tiktok["refresh_token"]]["subject"] == "-000abc"
    assert all(not t["revoked"] and t["issued_at"] for t in listed.values())
    assert "pages_show_list" in listed[user_token]["scopes"]
    only_tiktok = http.get("/_sandbox/tokens", params={"platform": "tiktok"}).json()
    assert {t["platform"] for t in only_tiktok} == {"tiktok"}


def test_revoking_through_the_control_api(http: httpx.Client) -> None:
    facebook = facebook_long_token(http)
    tiktok = tiktok_tokens(http)

    facebook_result = http.post("/_sandbox/tokens/revoke", json={"token": facebook}).json()
    tiktok_result = http.post("/_sandbox/tokens/revoke", json={"token": tiktok["access_token"]}).json()

    assert [t["token"] for t in facebook_result["revoked"]] == [facebook]
    assert {t["token"] for t in tiktok_result["revoked"]} == {tiktok["access_token"], tiktok["refresh_token"]}
    assert graph_error(http.get("/facebook-graph/me", params={"access_token": facebook}))["error_subcode"] == 460
    refused = http.post("/tiktok-api/v2/oauth/token/", data={
        "client_key": "sandbox-tiktok-client", "client_secret": "sandbox-tiktok-secret",
        "grant_type": "refresh_token", "refresh_token": tiktok["refresh_token"]})
    assert refused.json()["error"] == "invalid_grant"
    assert http.get("/_sandbox/revocations").json() == []
    assert http.post("/_sandbox/tokens/revoke", json={"token": "nothing"}).status_code == 404


def test_expiring_through_the_control_api(http: httpx.Client) -> None:
    token = facebook_long_token(http)

    expired = http.post("/_sandbox/tokens/expire", json={"token": token}).json()

    assert expired["expires_at"] < time.time()
    assert graph_error(http.get("/facebook-graph/me", params={"access_token": token}))["error_subcode"] == 463


def test_the_request_log_records_what_the_platforms_received(http: httpx.Client) -> None:
    facebook_consent(http)
    token = facebook_short_token(http)
    http.get("/facebook-graph/v25.0/me", params={"fields": "id,name", "access_token": token})
    tiktok_tokens(http)

    graph_calls = http.get("/_sandbox/requests", params={"platform": "facebook", "path": "/me"}).json()
    tiktok_calls = http.get("/_sandbox/requests", params={"platform": "tiktok"}).json()
    dialogs = http.get("/_sandbox/requests", params={"path": "dialog/oauth"}).json()

    (me,) = graph_calls
    assert me["method"] == "GET"
    assert me["path"] == "/facebook-graph/v25.0/me"
    assert me["query"] == {"fields": "id,name", "access_token": token}
    assert [c["path"] for c in tiktok_calls] == ["/tiktok-www/v2/auth/authorize/", "/tiktok-api/v2/oauth/token/"]
    assert tiktok_calls[1]["body"]["grant_type"] == "authorization_code"
    assert tiktok_calls[0]["time"] <= tiktok_calls[1]["time"]
    assert len(dialogs) == 2
    assert dialogs[0]["body"]["client_id"] == META_APP_ID
    assert not http.get("/_sandbox/requests", params={"path": "/_sandbox"}).json()


def test_latency_is_added_to_platform_api_calls(http: httpx.Client) -> None:
    http.put("/_sandbox/settings", json={"latency_ms": 300}).raise_for_status()

    started = time.monotonic()
    http.get("/facebook-graph/v25.0/me")
    api_elapsed = time.monotonic() - started
    started = time.monotonic()
    http.get("/_sandbox/settings")
    control_elapsed = time.monotonic() - started

    assert api_elapsed >= 0.3
    assert control_elapsed < 0.3


def test_profile_pictures_are_served(http: httpx.Client) -> None:
    response = http.get("/_sandbox/pictures/1029")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("image/svg+xml")
    assert ">AB<" in response.text
