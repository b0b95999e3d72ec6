"""Instagram Login: the code exchange on api.instagram.com, and graph.instagram.com's long-lived tokens, refresh,
/me and publishing quota. Paths on graph.instagram.com are unversioned here; the middleware strips /vNN.0."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from sandbox.errors import GraphError, InstagramLoginError, graph_token_error, graph_unsupported_request
from sandbox.state import CodeProblem, CodeRejected, InstagramAccount, SandboxState, Token, TokenKind, TokenRejected
from sandbox.web import note_business_use, presented_token, read_params, requested_fields, sandbox_state, select_fields

login_router = APIRouter(prefix="/instagram-api")
graph_router = APIRouter(prefix="/instagram-graph")

INSTAGRAM_TOKENS: tuple[TokenKind, ...] = ("instagram_short", "instagram_long")
QUOTA_DURATION_SECONDS = 86400
CODE_MESSAGES: dict[CodeProblem, str] = {
    "unknown": "Invalid authorization code",
    "used": "This authorization code has been used",
    "expired": "This authorization code has expired",
    "client_mismatch": "Invalid authorization code",
    "redirect_mismatch": "Error validating verification code. Please make sure your redirect_uri is identical to the "
                         "one you used in the OAuth dialog request",
}


@login_router.post("/oauth/access_token")
async def exchange_code(request: Request) -> dict[str, Any]:
    state = sandbox_state(request)
    params = await read_params(request)
    if params.get("client_id") != state.credentials.instagram_app_id:
        raise InstagramLoginError("Invalid platform app")
    if not state.credentials.secret_matches("instagram", params.get("client_secret")):
        raise InstagramLoginError("Error validating client secret.")
    if params.get("grant_type") != "authorization_code":
        raise InstagramLoginError("Invalid grant_type: only authorization_code is supported")
    for required in ("redirect_uri", "code"):
        if not params.get(required):
            raise InstagramLoginError(f"Missing required field '{required}'")
    try:
        code = state.redeem_code("instagram", params["code"], client_id=params["client_id"],
                                 redirect_uri=params["redirect_uri"])
    except CodeRejected as exc:
        raise InstagramLoginError(CODE_MESSAGES[exc.problem]) from None
    token = state.issue_token("instagram_short", subject=code.subject, scopes=code.granted, declined=code.declined)
    permissions = ",".join(token.scopes)
    if state.settings.instagram_token_response == "flat":  # noqa: S105 (a response shape, not a secret)
        # What Meta is observed to send instead of the documented data[]: a flat object with a numeric user_id.
        return {"access_token": token.value, "user_id": int(token.subject), "permissions": permissions}
    return {"data": [{"access_token": token.value, "user_id": token.subject, "permissions": permissions}]}


def instagram_caller(state: SandboxState, request: Request, params: dict[str, str],
                     kinds: tuple[TokenKind, ...] = INSTAGRAM_TOKENS) -> Token:
    value = presented_token(request, params)
    if not value:
        raise GraphError("An active access token must be used to query information about the current user.",
                         code=2500)
    try:
        return state.resolve_token(value, kinds)
    except TokenRejected as exc:
        raise graph_token_error(exc, state.now()) from None


def _token_answer(state: SandboxState, token: Token) -> dict[str, Any]:
    return {"access_token": token.value, "token_type": "bearer", "expires_in": token.seconds_left(state.now())}


@graph_router.get("/access_token")
async def exchange_for_long_lived(request: Request) -> dict[str, Any]:
    state = sandbox_state(request)
    params = await read_params(request)
    if params.get("grant_type") != "ig_exchange_token":
        raise GraphError("Unsupported grant_type: use ig_exchange_token", code=100)
    if not state.credentials.secret_matches("instagram", params.get("client_secret")):
        raise GraphError("Error validating client secret.", code=1)
    short = instagram_caller(state, request, params, ("instagram_short",))
    token = state.issue_token("instagram_long", subject=short.subject, scopes=short.scopes, declined=short.declined)
    return _token_answer(state, token)


@graph_router.get("/refresh_access_token")
async def refresh(request: Request) -> dict[str, Any]:
    state = sandbox_state(request)
    params = await read_params(request)
    if params.get("grant_type") != "ig_refresh_token":
        raise GraphError("Unsupported grant_type: use ig_refresh_token", code=100)
    current = instagram_caller(state, request, params, ("instagram_long",))
    min_age = state.settings.instagram_refresh_min_age_seconds
    if state.now() - current.issued_at < min_age:
        raise GraphError(f"The access token cannot be refreshed yet: it must be at least {min_age} seconds old.",
                         code=100)
    # The old token is left alone: it keeps working until its own expiry, as on Instagram.
    token = state.issue_token("instagram_long", subject=current.subject, scopes=current.scopes,
                              declined=current.declined)
    return _token_answer(state, token)


def own_account(state: SandboxState, request: Request, caller: Token, node: str) -> InstagramAccount:
    account = state.instagram.accounts.get(caller.subject)
    if account is None or node not in ("me", account.id, account.scoped_id):
        raise graph_unsupported_request(request.method, node)
    note_business_use(request, account.id, "instagram")
    return account


@graph_router.get("/{node}/content_publishing_limit")
async def content_publishing_limit(node: str, request: Request) -> dict[str, Any]:
    state = sandbox_state(request)
    params = await read_params(request)
    account = own_account(state, request, instagram_caller(state, request, params, INSTAGRAM_TOKENS), node)
    return publishing_limit(state, account, requested_fields(params.get("fields")))


def publishing_limit(state: SandboxState, account: InstagramAccount, fields: list[str]) -> dict[str, Any]:
    """GET {ig-user-id}/content_publishing_limit, the same on graph.facebook.com and graph.instagram.com."""
    available: dict[str, Any] = {
        "quota_usage": state.instagram_content.quota_usage(account.id, state.now()),
        "config": {"quota_total": state.settings.instagram_quota_total, "quota_duration": QUOTA_DURATION_SECONDS},
    }
    return {"data": [select_fields(available, fields or ["quota_usage"], "ContentPublishingLimit", with_id=False)]}


def instagram_user_view(state: SandboxState, account: InstagramAccount, fields: list[str]) -> dict[str, Any]:
    """GET graph.instagram.com/{me | user-id}: the Instagram Login user."""
    available: dict[str, Any] = {
        "id": account.scoped_id, "user_id": account.id, "username": account.username, "name": account.name,
        "account_type": "BUSINESS", "profile_picture_url": state.picture_url(account.id), "followers_count": 0,
        "follows_count": 0, "media_count": state.instagram_content.media_count(account.id),
    }
    return select_fields(available, fields, "User")
