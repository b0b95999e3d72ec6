"""Instagram Login: the consent dialog on both hosts, the code exchange in its documented and flat shapes,
long-lived tokens, refresh, /me and the publishing quota on graph.instagram.com."""

from __future__ import annotations

import httpx
import pytest

from tests.sandbox.flows import (
    INSTAGRAM_APP_SECRET,
    INSTAGRAM_REDIRECT,
    INSTAGRAM_SCOPES,
    exchange_instagram_code,
    graph_error,
    instagram_consent,
    instagram_long_token,
    instagram_short_token,
    redirect_params,
    usage_header,
)


def refresh(http: httpx.Client, token: str) -> httpx.Response:
    return http.get("/instagram-graph/refresh_access_token", params={
        "grant_type": "ig_refresh_token", "access_token": token})


def me(http: httpx.Client, token: str, path: str = "/instagram-graph/v25.0/me") -> httpx.Response:
    return http.get(path, params={"fields": "user_id,username,name,profile_picture_url", "access_token": token})


@pytest.mark.parametrize("host", ["instagram-www", "instagram-api"])
def test_allowing_sends_a_code_and_the_state_back(http: httpx.Client, host: str) -> None:
    response = instagram_consent(http, host=host)

    assert response.headers["location"].startswith(f"{INSTAGRAM_REDIRECT}?code=")
    assert response.headers["location"].endswith("#_=_")
    assert redirect_params(response)["state"] == "s3"


def test_the_dialog_page_lists_the_instagram_account(http: httpx.Client) -> None:
    page = http.get("/instagram-www/oauth/authorize", params={
        "client_id": "sandbox-instagram-app", "redirect_uri": INSTAGRAM_REDIRECT, "response_type": "code",
        "scope": INSTAGRAM_SCOPES, "state": "s3"})

    assert page.status_code == 200
    assert "Acme Studio (@acme.studio)" in page.text


def test_cancelling_sends_an_access_denied_error_back(http: httpx.Client) -> None:
    params = redirect_params(instagram_consent(http, decision="deny"))

    assert params["error"] == "access_denied"
    assert params["error_reason"] == "user_denied"
    assert params["error_description"]
    assert params["state"] == "s3"
    assert "code" not in params


def test_the_code_exchange_answers_the_documented_data_list(http: httpx.Client) -> None:
    response = exchange_instagram_code(http, redirect_params(instagram_consent(http))["code"])

    assert response.status_code == 200
    (entry,) = response.json()["data"]
    assert entry["access_token"].startswith("IGAA")
    assert entry["user_id"] == "1020"
    assert entry["permissions"] == INSTAGRAM_SCOPES


def test_the_code_exchange_can_answer_flat(http: httpx.Client) -> None:
    http.put("/_sandbox/settings", json={"instagram_token_response": "flat"}).raise_for_status()

    body = exchange_instagram_code(http, redirect_params(instagram_consent(http))["code"]).json()

    assert set(body) == {"access_token", "user_id", "permissions"}
    assert body["user_id"] == 1020
    assert body["access_token"].startswith("IGAA")


def test_a_reused_code_or_a_wrong_secret_gets_the_instagram_error_shape(http: httpx.Client) -> None:
    code = redirect_params(instagram_consent(http))["code"]
    wrong_secret = exchange_instagram_code(http, code, client_secret="guess")
    assert exchange_instagram_code(http, code).status_code == 200

    reused = exchange_instagram_code(http, code)

    for response in (wrong_secret, reused):
        assert response.status_code == 400
        body = response.json()
        assert set(body) == {"error_type", "code", "error_message"}
        assert (body["error_type"], body["code"]) == ("OAuthException", 400)
    assert "used" in reused.json()["error_message"]


def test_an_expired_code_is_refused(http: httpx.Client) -> None:
    http.put("/_sandbox/settings", json={"authorization_code_seconds": 0}).raise_for_status()

    response = exchange_instagram_code(http, redirect_params(instagram_consent(http))["code"])

    assert response.status_code == 400
    assert "expired" in response.json()["error_message"]


def test_a_short_lived_token_becomes_a_sixty_day_token(http: httpx.Client) -> None:
    response = http.get("/instagram-graph/access_token", params={
        "grant_type": "ig_exchange_token", "client_secret": INSTAGRAM_APP_SECRET,
        "access_token": instagram_short_token(http)})

    assert response.status_code == 200
    body = response.json()
    assert body["access_token"].startswith("IGAA")
    assert body["token_type"] == "bearer"
    assert 5_183_900 <= body["expires_in"] <= 5_183_944


def test_the_exchange_needs_the_app_secret(http: httpx.Client) -> None:
    response = http.get("/instagram-graph/access_token", params={
        "grant_type": "ig_exchange_token", "client_secret": "guess", "access_token": instagram_short_token(http)})

    assert graph_error(response)["code"] == 1


def test_a_token_younger_than_the_minimum_age_is_not_refreshed(http: httpx.Client) -> None:
    error = graph_error(refresh(http, instagram_long_token(http)))

    assert error["code"] == 100
    assert "86400" in error["message"]


def test_refreshing_gives_a_new_token_and_the_old_one_keeps_working(http: httpx.Client) -> None:
    http.put("/_sandbox/settings", json={"instagram_refresh_min_age_seconds": 0}).raise_for_status()
    old = instagram_long_token(http)

    response = refresh(http, old)

    assert response.status_code == 200
    body = response.json()
    assert body["access_token"] != old
    assert body["access_token"].startswith("IGAA")
    assert body["token_type"] == "bearer"
    assert body["expires_in"] > 5_000_000
    assert me(http, old).status_code == 200
    assert me(http, body["access_token"]).status_code == 200


def test_an_expired_token_is_not_refreshed(http: httpx.Client) -> None:
    http.put("/_sandbox/settings", json={"instagram_refresh_min_age_seconds": 0}).raise_for_status()
    token = instagram_long_token(http)
    http.post("/_sandbox/tokens/expire", json={"token": token}).raise_for_status()

    error = graph_error(refresh(http, token))

    assert (error["code"], error["error_subcode"]) == (190, 463)


@pytest.mark.parametrize("path", ["/instagram-graph/v25.0/me", "/instagram-graph/me", "/instagram-graph/v25.0/1020"])
def test_me_describes_the_account(http: httpx.Client, path: str) -> None:
    response = me(http, instagram_short_token(http), path)

    assert response.status_code == 200
    body = response.json()
    assert body["user_id"] == "1020"
    assert body["username"] == "acme.studio"
    assert body["name"] == "Acme Studio"
    assert body["id"]
    assert body["profile_picture_url"]
    assert usage_header(response, "X-Business-Use-Case-Usage")["1020"][0]["type"] == "instagram"
    assert "X-App-Usage" in response.headers


def test_content_publishing_limit_on_graph_instagram(http: httpx.Client) -> None:
    token = instagram_long_token(http)

    response = http.get("/instagram-graph/v25.0/1020/content_publishing_limit", params={
        "fields": "quota_usage,config", "access_token": token})

    assert response.json() == {"data": [{"quota_usage": 0, "config": {"quota_total": 100, "quota_duration": 86400}}]}


def test_bad_tokens_get_graph_errors(http: httpx.Client) -> None:
    error = graph_error(me(http, "IGAAnot-a-token"))

    assert (error["code"], error["error_subcode"]) == (190, 467)


def test_transient_errors_on_both_instagram_api_hosts(http: httpx.Client) -> None:
    code = redirect_params(instagram_consent(http))["code"]
    http.put("/_sandbox/settings", json={"error_rate": 1}).raise_for_status()

    graph = me(http, "IGAAanything")
    login = exchange_instagram_code(http, code)

    assert graph_error(graph, status=500)["is_transient"] is True
    assert login.status_code == 500
    assert login.json()["error_type"] == "OAuthException"
