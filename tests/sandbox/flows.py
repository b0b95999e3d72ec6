"""Driving the sandbox's consent dialogs and token endpoints over HTTP, the way Postifys will."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from sandbox.app import SandboxSettings

# The sandbox process runs without POSTIFYS_* credentials, so it accepts the settings' defaults.
DEFAULTS = SandboxSettings.model_construct()
META_APP_ID = DEFAULTS.meta_app_id
META_APP_SECRET = DEFAULTS.meta_app_secret.get_secret_value()
INSTAGRAM_APP_ID = DEFAULTS.instagram_app_id
INSTAGRAM_APP_SECRET = DEFAULTS.instagram_app_secret.get_secret_value()
TIKTOK_CLIENT_KEY = DEFAULTS.tiktok_client_key
TIKTOK_CLIENT_SECRET = DEFAULTS.tiktok_client_secret.get_secret_value()

FACEBOOK_REDIRECT = "https://app.postifys.test/cb/facebook"
INSTAGRAM_REDIRECT = "https://app.postifys.test/cb/instagram"
TIKTOK_REDIRECT = "https://app.postifys.test/cb/tiktok"
FACEBOOK_SCOPES = "pages_show_list,pages_manage_posts,pages_read_engagement,instagram_basic,instagram_content_publish"
INSTAGRAM_SCOPES = "instagram_business_basic,instagram_business_content_publish"
TIKTOK_SCOPES = "user.info.basic,user.info.profile,video.publish,video.upload"


def redirect_params(response: httpx.Response) -> dict[str, str]:
    assert response.status_code == 302, response.text
    return {key: values[0] for key, values in parse_qs(urlsplit(response.headers["location"]).query).items()}


def graph_error(response: httpx.Response, status: int = 400) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    assert error["type"] == "OAuthException"
    assert error["fbtrace_id"]
    return error


def usage_header(response: httpx.Response, name: str) -> Any:
    return json.loads(response.headers[name])


def facebook_consent(http: httpx.Client, *, scope: str = FACEBOOK_SCOPES, user_id: str = "5551",
                     decision: str = "allow", granted: list[str] | None = None,
                     redirect_uri: str = FACEBOOK_REDIRECT, version: str = "v25.0") -> httpx.Response:
    form: dict[str, Any] = {"client_id": META_APP_ID, "redirect_uri": redirect_uri, "state": "s1", "scope": scope,
                            "user_id": user_id, "decision": decision}
    if granted is not None:
        form["granted"] = granted
    return http.post(f"/facebook-www/{version}/dialog/oauth", data=form)


def facebook_code(http: httpx.Client, **consent: Any) -> str:
    return redirect_params(facebook_consent(http, **consent))["code"]


def exchange_facebook_code(http: httpx.Client, code: str, *, redirect_uri: str = FACEBOOK_REDIRECT,
                           client_secret: str = META_APP_SECRET) -> httpx.Response:
    return http.get("/facebook-graph/v25.0/oauth/access_token", params={
        "client_id": META_APP_ID, "client_secret": client_secret, "redirect_uri": redirect_uri, "code": code})


def facebook_short_token(http: httpx.Client, **consent: Any) -> str:
    response = exchange_facebook_code(http, facebook_code(http, **consent))
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def exchange_for_long_lived(http: httpx.Client, short: str) -> httpx.Response:
    return http.get("/facebook-graph/v25.0/oauth/access_token", params={
        "grant_type": "fb_exchange_token", "client_id": META_APP_ID, "client_secret": META_APP_SECRET,
        "fb_exchange_token": short})


def facebook_long_token(http: httpx.Client, **consent: Any) -> str:
    response = exchange_for_long_lived(http, facebook_short_token(http, **consent))
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def page_tokens(http: httpx.Client, user_token: str) -> dict[str, str]:
    response = http.get("/facebook-graph/v25.0/me/accounts", params={
        "fields": "id,name,access_token", "access_token": user_token})
    assert response.status_code == 200, response.text
    return {page["id"]: page["access_token"] for page in response.json()["data"]}


def instagram_consent(http: httpx.Client, *, host: str = "instagram-www", user_id: str = "1020",
                      decision: str = "allow", scope: str = INSTAGRAM_SCOPES) -> httpx.Response:
    return http.post(f"/{host}/oauth/authorize", data={
        "client_id": INSTAGRAM_APP_ID, "redirect_uri": INSTAGRAM_REDIRECT, "response_type": "code", "scope": scope,
        "state": "s3", "user_id": user_id, "decision": decision})


def exchange_instagram_code(http: httpx.Client, code: str, *,
                            client_secret: str = INSTAGRAM_APP_SECRET) -> httpx.Response:
    return http.post("/instagram-api/oauth/access_token", data={
        "client_id": INSTAGRAM_APP_ID, "client_secret": client_secret, "grant_type": "authorization_code",
        "redirect_uri": INSTAGRAM_REDIRECT, "code": code})


def instagram_short_token(http: httpx.Client, **consent: Any) -> str:
    code = redirect_params(instagram_consent(http, **consent))["code"]
    response = exchange_instagram_code(http, code)
    assert response.status_code == 200, response.text
    return str(response.json()["data"][0]["access_token"])


def instagram_long_token(http: httpx.Client, **consent: Any) -> str:
    response = http.get("/instagram-graph/access_token", params={
        "grant_type": "ig_exchange_token", "client_secret": INSTAGRAM_APP_SECRET,
        "access_token": instagram_short_token(http, **consent)})
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def tiktok_consent(http: httpx.Client, *, scope: str = TIKTOK_SCOPES, user_id: str = "-000abc",
                   decision: str = "allow", granted: list[str] | None = None) -> httpx.Response:
    form: dict[str, Any] = {"client_key": TIKTOK_CLIENT_KEY, "redirect_uri": TIKTOK_REDIRECT, "response_type": "code",
                            "scope": scope, "state": "s2", "user_id": user_id, "decision": decision}
    if granted is not None:
        form["granted"] = granted
    return http.post("/tiktok-www/v2/auth/authorize/", data=form)


def tiktok_token_request(http: httpx.Client, **fields: str) -> httpx.Response:
    return http.post("/tiktok-api/v2/oauth/token/", data={
        "client_key": TIKTOK_CLIENT_KEY, "client_secret": TIKTOK_CLIENT_SECRET, **fields})


def tiktok_exchange_code(http: httpx.Client, code: str) -> httpx.Response:
    return tiktok_token_request(http, code=code, grant_type="authorization_code", redirect_uri=TIKTOK_REDIRECT)


def tiktok_tokens(http: httpx.Client, **consent: Any) -> dict[str, Any]:
    code = redirect_params(tiktok_consent(http, **consent))["code"]
    response = tiktok_exchange_code(http, code)
    assert response.status_code == 200, response.text
    tokens: dict[str, Any] = response.json()
    return tokens


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
