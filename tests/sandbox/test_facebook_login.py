"""Facebook Login over plain HTTP: the consent dialog, the code exchange and the long-lived exchange."""

from __future__ import annotations

import httpx
import pytest

from tests.sandbox.flows import (
    FACEBOOK_REDIRECT,
    FACEBOOK_SCOPES,
    META_APP_ID,
    exchange_facebook_code,
    exchange_for_long_lived,
    facebook_code,
    facebook_consent,
    facebook_short_token,
    graph_error,
    redirect_params,
)


def test_the_dialog_offers_each_sandbox_user_and_each_requested_scope(http: httpx.Client) -> None:
    response = http.get("/facebook-www/v25.0/dialog/oauth", params={
        "client_id": META_APP_ID, "redirect_uri": FACEBOOK_REDIRECT, "state": "s1", "scope": FACEBOOK_SCOPES,
        "response_type": "code"})

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    page = response.text
    assert "Alice Example" in page
    assert "Dana Declines" in page
    for scope in FACEBOOK_SCOPES.split(","):
        assert f'name="granted" value="{scope}" checked' in page
    assert 'value="allow"' in page
    assert 'value="deny"' in page
    assert 'action="/facebook-www/v25.0/dialog/oauth"' in page


def test_allowing_sends_a_code_and_the_state_back(http: httpx.Client) -> None:
    response = facebook_consent(http)

    location = response.headers["location"]
    assert location.startswith(f"{FACEBOOK_REDIRECT}?code=")
    assert location.endswith("#_=_")
    params = redirect_params(response)
    assert params["state"] == "s1"
    assert len(params["code"]) > 40


def test_cancelling_sends_the_documented_error_back(http: httpx.Client) -> None:
    response = facebook_consent(http, decision="deny")

    assert response.headers["location"] == (
        f"{FACEBOOK_REDIRECT}?error=access_denied&error_reason=user_denied"
        "&error_description=Permissions+error&state=s1")


def test_the_unversioned_dialog_works_too(http: httpx.Client) -> None:
    response = http.post("/facebook-www/dialog/oauth", data={
        "client_id": META_APP_ID, "redirect_uri": FACEBOOK_REDIRECT, "scope": "pages_show_list",
        "user_id": "5551", "decision": "allow"})

    assert "code" in redirect_params(response)


@pytest.mark.parametrize("params", [
    {"client_id": "someone-else", "redirect_uri": FACEBOOK_REDIRECT},
    {"client_id": META_APP_ID},
    {"client_id": META_APP_ID, "redirect_uri": "not a url"},
])
def test_an_unknown_app_or_a_missing_redirect_gets_an_error_page_and_no_redirect(
        http: httpx.Client, params: dict[str, str]) -> None:
    for response in (http.get("/facebook-www/v25.0/dialog/oauth", params=params),
                     http.post("/facebook-www/v25.0/dialog/oauth", data={**params, "decision": "allow"})):
        assert response.status_code == 400
        assert "location" not in response.headers
        assert response.headers["content-type"].startswith("text/html")


def test_a_code_becomes_a_short_lived_user_token(http: httpx.Client) -> None:
    response = exchange_facebook_code(http, facebook_code(http))

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in"}
    assert body["access_token"].startswith("EAAS")
    assert len(body["access_token"]) >= 44
    assert body["token_type"] == "bearer"
    assert 5100 <= body["expires_in"] <= 5108


def test_the_code_exchange_also_accepts_a_form_post(http: httpx.Client) -> None:
    response = http.post("/facebook-graph/oauth/access_token", data={
        "client_id": META_APP_ID, "client_secret": "sandbox-meta-secret", "grant_type": "authorization_code",
        "redirect_uri": FACEBOOK_REDIRECT, "code": facebook_code(http)})

    assert response.status_code == 200
    assert response.json()["access_token"].startswith("EAAS")


def test_a_code_works_once(http: httpx.Client) -> None:
    code = facebook_code(http)
    assert exchange_facebook_code(http, code).status_code == 200

    error = graph_error(exchange_facebook_code(http, code))

    assert error["code"] == 100
    assert error["message"] == "This authorization code has been used."


def test_the_redirect_uri_must_be_the_dialogs(http: httpx.Client) -> None:
    code = facebook_code(http)

    error = graph_error(exchange_facebook_code(http, code, redirect_uri="https://elsewhere.test/cb"))

    assert error["code"] == 100
    assert "redirect_uri" in error["message"]
    assert exchange_facebook_code(http, code).status_code == 200


def test_an_expired_code_is_refused(http: httpx.Client) -> None:
    http.put("/_sandbox/settings", json={"authorization_code_seconds": 0}).raise_for_status()

    error = graph_error(exchange_facebook_code(http, facebook_code(http)))

    assert error["code"] == 100
    assert "expired" in error["message"]


def test_a_wrong_client_secret_or_app_is_refused(http: httpx.Client) -> None:
    code = facebook_code(http)

    secret_error = graph_error(exchange_facebook_code(http, code, client_secret="guess"))
    app_error = graph_error(http.get("/facebook-graph/oauth/access_token", params={
        "client_id": "other-app", "client_secret": "x", "redirect_uri": FACEBOOK_REDIRECT, "code": code}))

    assert (secret_error["code"], secret_error["message"]) == (1, "Error validating client secret.")
    assert app_error["code"] == 101


def test_a_short_lived_token_becomes_a_long_lived_one(http: httpx.Client) -> None:
    response = exchange_for_long_lived(http, facebook_short_token(http))

    assert response.status_code == 200
    body = response.json()
    assert body["access_token"].startswith("EAAL")
    assert body["token_type"] == "bearer"
    assert 5_183_900 <= body["expires_in"] <= 5_183_944


def test_an_expired_or_revoked_token_cannot_be_exchanged(http: httpx.Client) -> None:
    expired, revoked = facebook_short_token(http), facebook_short_token(http)
    http.post("/_sandbox/tokens/expire", json={"token": expired}).raise_for_status()
    http.post("/_sandbox/tokens/revoke", json={"token": revoked}).raise_for_status()

    expired_error = graph_error(exchange_for_long_lived(http, expired))
    revoked_error = graph_error(exchange_for_long_lived(http, revoked))
    garbage_error = graph_error(exchange_for_long_lived(http, "EAASnothing"))

    assert (expired_error["code"], expired_error["error_subcode"]) == (190, 463)
    assert expired_error["message"].startswith("Error validating access token: Session has expired on ")
    assert (revoked_error["code"], revoked_error["error_subcode"]) == (190, 460)
    assert (garbage_error["code"], garbage_error["error_subcode"]) == (190, 467)
