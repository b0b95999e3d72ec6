"""graph.facebook.com: the user, their Pages and linked Instagram accounts, permissions, debug_token, removing the
app, token errors, usage headers and transient failures."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.sandbox.flows import (
    FACEBOOK_SCOPES,
    META_APP_ID,
    META_APP_SECRET,
    facebook_consent,
    facebook_long_token,
    facebook_short_token,
    graph_error,
    page_tokens,
    usage_header,
)

APP_TOKEN = f"{META_APP_ID}|{META_APP_SECRET}"
FULL_TASKS = ["ANALYZE", "ADVERTISE", "MODERATE", "CREATE_CONTENT", "MANAGE"]


def debug(http: httpx.Client, token: str) -> dict[str, Any]:
    response = http.get("/facebook-graph/v25.0/debug_token", params={"input_token": token, "access_token": APP_TOKEN})
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


def test_me_answers_the_fields_asked_for(http: httpx.Client) -> None:
    token = facebook_long_token(http)

    assert http.get("/facebook-graph/v25.0/me", params={"fields": "id,name", "access_token": token}).json() == {
        "id": "5551", "name": "Alice Example"}
    assert http.get("/facebook-graph/me", headers={"Authorization": f"OAuth {token}"}).json()["id"] == "5551"


def test_accounts_lists_pages_with_tasks_page_tokens_and_the_instagram_link(http: httpx.Client) -> None:
    token = facebook_long_token(http)

    response = http.get("/facebook-graph/v25.0/me/accounts", params={
        "fields": "id,name,username,access_token,category,category_list,tasks,instagram_business_account,"
                  "picture.type(large)", "limit": "100", "access_token": token})

    assert response.status_code == 200
    body = response.json()
    bakery, fans = body["data"]
    assert bakery["id"] == "1029"
    assert bakery["name"] == "Acme Bakery"
    assert bakery["category"] == "Bakery"
    assert bakery["category_list"][0]["name"] == "Bakery"
    assert bakery["tasks"] == FULL_TASKS
    assert bakery["instagram_business_account"] == {"id": "178414"}
    assert bakery["access_token"].startswith("EAAP")
    assert bakery["picture"]["data"]["url"]
    assert fans["id"] == "1030"
    assert fans["tasks"] == ["ANALYZE"]
    assert "instagram_business_account" not in fans
    assert set(body["paging"]["cursors"]) == {"before", "after"}
    assert page_tokens(http, token)["1029"] == bakery["access_token"]


def test_accounts_pages_through_with_cursors(http: httpx.Client) -> None:
    token = facebook_long_token(http)

    first = http.get("/facebook-graph/v25.0/me/accounts", params={"limit": "1", "access_token": token}).json()
    second = http.get("/facebook-graph/v25.0/me/accounts", params={
        "limit": "1", "access_token": token, "after": first["paging"]["cursors"]["after"]}).json()

    assert [p["id"] for p in first["data"]] == ["1029"]
    assert "after=" in first["paging"]["next"]
    assert [p["id"] for p in second["data"]] == ["1030"]
    assert "next" not in second["paging"]


def test_a_page_token_from_a_long_lived_user_token_never_expires(http: httpx.Client) -> None:
    page_token = page_tokens(http, facebook_long_token(http))["1029"]

    described = debug(http, page_token)

    assert described["is_valid"] is True
    assert described["type"] == "PAGE"
    assert described["expires_at"] == 0
    assert described["profile_id"] == "1029"
    assert described["user_id"] == "5551"
    assert described["app_id"] == META_APP_ID
    assert "pages_manage_posts" in described["scopes"]


def test_debug_token_describes_a_user_token(http: httpx.Client) -> None:
    described = debug(http, facebook_short_token(http))

    assert described["is_valid"] is True
    assert described["type"] == "USER"
    assert described["user_id"] == "5551"
    assert described["expires_at"] > described["issued_at"]
    assert set(FACEBOOK_SCOPES.split(",")) <= set(described["scopes"])


def test_debug_token_says_when_a_token_is_invalid(http: httpx.Client) -> None:
    described = debug(http, "EAASmadeup")

    assert described["is_valid"] is False
    assert described["error"]["code"] == 190
    assert described["error"]["subcode"] == 467


def test_debug_token_needs_the_apps_token(http: httpx.Client) -> None:
    response = http.get("/facebook-graph/debug_token", params={
        "input_token": "x", "access_token": f"{META_APP_ID}|wrong"})

    assert graph_error(response)["code"] == 190


def test_permissions_list_what_was_unticked_as_declined(http: httpx.Client) -> None:
    token = facebook_short_token(http, scope="pages_show_list,instagram_basic,instagram_content_publish",
                                 granted=["pages_show_list", "instagram_basic"])

    data = http.get("/facebook-graph/v25.0/me/permissions", params={"access_token": token}).json()["data"]

    statuses = {entry["permission"]: entry["status"] for entry in data}
    assert statuses == {"public_profile": "granted", "pages_show_list": "granted", "instagram_basic": "granted",
                        "instagram_content_publish": "declined"}


def test_dana_always_declines_instagram_content_publish(http: httpx.Client) -> None:
    token = facebook_short_token(http, user_id="5552")

    data = http.get("/facebook-graph/v25.0/me/permissions", params={"access_token": token}).json()["data"]

    assert {"permission": "instagram_content_publish", "status": "declined"} in data
    assert {"permission": "pages_manage_posts", "status": "granted"} in data


def test_removing_the_app_invalidates_user_and_page_tokens_and_is_recorded(http: httpx.Client) -> None:
    user_token = facebook_long_token(http)
    page_token = page_tokens(http, user_token)["1029"]

    response = http.delete("/facebook-graph/v25.0/me/permissions", params={"access_token": user_token})

    assert response.status_code == 200
    assert response.json() == {"success": True}
    for token in (user_token, page_token):
        error = graph_error(http.get("/facebook-graph/v25.0/me", params={"access_token": token}))
        assert (error["code"], error["error_subcode"]) == (190, 460)
        assert debug(http, token)["is_valid"] is False
    revocations = http.get("/_sandbox/revocations").json()
    assert [(r["platform"], r["subject"]) for r in revocations] == [("facebook", "5551")]


def test_a_page_and_its_instagram_account_can_be_read(http: httpx.Client) -> None:
    token = facebook_long_token(http)

    page = http.get("/facebook-graph/v25.0/1029", params={
        "fields": "name,category,instagram_business_account", "access_token": token}).json()
    instagram = http.get("/facebook-graph/v25.0/178414", params={
        "fields": "id,username,name,profile_picture_url", "access_token": token}).json()

    assert page == {"name": "Acme Bakery", "category": "Bakery", "instagram_business_account": {"id": "178414"},
                    "id": "1029"}
    assert instagram["id"] == "178414"
    assert instagram["username"] == "acmebakery"
    assert instagram["profile_picture_url"].startswith("http")


def test_a_page_token_only_addresses_its_own_page(http: httpx.Client) -> None:
    page_token = page_tokens(http, facebook_long_token(http))["1029"]

    assert http.get("/facebook-graph/v25.0/1029", params={"access_token": page_token}).status_code == 200
    assert http.get("/facebook-graph/v25.0/me", params={"access_token": page_token}).json()["id"] == "1029"
    error = graph_error(http.get("/facebook-graph/v25.0/1030", params={"access_token": page_token}), status=403)
    assert error["code"] == 200


def test_someone_elses_instagram_account_does_not_exist_for_the_caller(http: httpx.Client) -> None:
    token = facebook_long_token(http)

    error = graph_error(http.get("/facebook-graph/v25.0/178415", params={"access_token": token}))

    assert (error["code"], error["error_subcode"]) == (100, 33)


def test_unknown_fields_are_refused_like_graph(http: httpx.Client) -> None:
    token = facebook_long_token(http)

    error = graph_error(http.get("/facebook-graph/v25.0/me", params={"fields": "id,shoe_size", "access_token": token}))

    assert error["code"] == 100
    assert "shoe_size" in error["message"]


def test_content_publishing_limit_reports_the_configured_quota(http: httpx.Client) -> None:
    token = facebook_long_token(http)
    url = "/facebook-graph/v25.0/178414/content_publishing_limit"

    default = http.get(url, params={"fields": "quota_usage,config", "access_token": token}).json()
    http.put("/_sandbox/settings", json={"instagram_quota_total": 50}).raise_for_status()
    changed = http.get(url, params={"fields": "quota_usage,config", "access_token": token}).json()
    usage_only = http.get(url, params={"access_token": token}).json()

    assert default == {"data": [{"quota_usage": 0, "config": {"quota_total": 100, "quota_duration": 86400}}]}
    assert changed["data"][0]["config"]["quota_total"] == 50
    assert usage_only == {"data": [{"quota_usage": 0}]}


@pytest.mark.parametrize(("problem", "subcode"), [("expire", 463), ("revoke", 460), (None, 467)])
def test_bad_tokens_get_error_190_with_the_fitting_subcode(http: httpx.Client, problem: str | None,
                                                           subcode: int) -> None:
    token = facebook_long_token(http)
    if problem:
        http.post(f"/_sandbox/tokens/{problem}", json={"token": token}).raise_for_status()
    else:
        token = "EAALnot-a-token"

    error = graph_error(http.get("/facebook-graph/v25.0/me", headers={"Authorization": f"Bearer {token}"}))

    assert error["code"] == 190
    assert error["error_subcode"] == subcode
    assert error["message"].startswith("Error validating access token: ")


def test_a_missing_token_is_refused(http: httpx.Client) -> None:
    assert graph_error(http.get("/facebook-graph/v25.0/me"))["code"] == 2500


def test_usage_headers_rise_with_calls(http: httpx.Client) -> None:
    token = facebook_long_token(http)
    http.put("/_sandbox/settings", json={"app_usage_calls_per_hour": 20,
                                         "business_usage_calls_per_hour": 10}).raise_for_status()

    first = http.get("/facebook-graph/v25.0/1029", params={"access_token": token})
    second = http.get("/facebook-graph/v25.0/1029", params={"access_token": token})
    instagram = http.get("/facebook-graph/v25.0/178414", params={"access_token": token})
    plain = http.get("/facebook-graph/v25.0/me", params={"access_token": token})

    assert set(usage_header(first, "X-App-Usage")) == {"call_count", "total_time", "total_cputime"}
    assert usage_header(second, "X-App-Usage")["call_count"] > usage_header(first, "X-App-Usage")["call_count"]
    first_pages = usage_header(first, "X-Business-Use-Case-Usage")["1029"][0]
    second_pages = usage_header(second, "X-Business-Use-Case-Usage")["1029"][0]
    assert first_pages["type"] == "pages"
    assert (first_pages["call_count"], second_pages["call_count"]) == (10, 20)
    assert set(second_pages) == {"type", "call_count", "total_cputime", "total_time",
                                 "estimated_time_to_regain_access"}
    assert usage_header(instagram, "X-Business-Use-Case-Usage")["178414"][0]["type"] == "instagram"
    assert "X-Business-Use-Case-Usage" not in plain.headers
    assert "X-App-Usage" in plain.headers


def test_error_rate_one_makes_every_graph_call_fail_transiently_but_not_the_dialog(http: httpx.Client) -> None:
    token = facebook_long_token(http)
    http.put("/_sandbox/settings", json={"error_rate": 1}).raise_for_status()

    error = graph_error(http.get("/facebook-graph/v25.0/me", params={"access_token": token}), status=500)

    assert error == {**error, "code": 2, "is_transient": True,
                     "message": "An unexpected error has occurred. Please retry your request later."}
    assert facebook_consent(http).status_code == 302
