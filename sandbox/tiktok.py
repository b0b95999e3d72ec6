"""open.tiktokapis.com: the OAuth token and revoke endpoints (flat errors), and the v2 API (enveloped answers):
user info and the creator info that Direct Post needs before every post."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from sandbox.errors import TikTokApiError, TikTokOAuthError, tiktok_envelope, tiktok_token_invalid
from sandbox.state import CodeProblem, CodeRejected, SandboxState, TikTokCreator, Token, TokenRejected
from sandbox.web import original_path, read_params, sandbox_state
from sandbox.webhook_delivery import queue_tiktok
from sandbox.webhooks import REASON_DEVELOPER_REVOKED

oauth_router = APIRouter(prefix="/tiktok-api/v2/oauth")
api_router = APIRouter(prefix="/tiktok-api/v2")

CREATOR_INFO_PER_MINUTE = 20
DAILY_CAP_MESSAGE = "The daily post cap from the API is reached."
CODE_MESSAGES: dict[CodeProblem, str] = {
    "unknown": "Authorization code is invalid.",
    "used": "Authorization code has been used.",
    "expired": "Authorization code is expired.",
    "client_mismatch": "Authorization code was issued to another client.",
    "redirect_mismatch": "Redirect URI does not match the one used for authorization.",
}
USER_INFO_SCOPES = {
    "open_id": "user.info.basic", "union_id": "user.info.basic", "avatar_url": "user.info.basic",
    "avatar_url_100": "user.info.basic", "avatar_large_url": "user.info.basic", "display_name": "user.info.basic",
    "bio_description": "user.info.profile", "profile_deep_link": "user.info.profile",
    "is_verified": "user.info.profile", "username": "user.info.profile",
    "follower_count": "user.info.stats", "following_count": "user.info.stats", "likes_count": "user.info.stats",
    "video_count": "user.info.stats",
}


def _check_client(state: SandboxState, params: dict[str, str]) -> None:
    if not params.get("client_key"):
        raise TikTokOAuthError("invalid_request", "Missing required parameter: client_key.")
    if params["client_key"] != state.credentials.tiktok_client_key:
        raise TikTokOAuthError("invalid_client", "Client key is invalid.")
    if not state.credentials.secret_matches("tiktok", params.get("client_secret")):
        raise TikTokOAuthError("invalid_client", "Client secret is invalid.")


def _require(params: dict[str, str], *names: str) -> None:
    for name in names:
        if not params.get(name):
            raise TikTokOAuthError("invalid_request", f"Missing required parameter: {name}.")


def _token_answer(state: SandboxState, access: Token, refresh: Token) -> dict[str, Any]:
    now = state.now()
    return {"access_token": access.value, "expires_in": access.seconds_left(now), "open_id": access.subject,
            "refresh_expires_in": refresh.seconds_left(now), "refresh_token": refresh.value,
            "scope": ",".join(access.scopes), "token_type": "Bearer"}


@oauth_router.post("/token/")
async def token(request: Request) -> dict[str, Any]:
    state = sandbox_state(request)
    params = await read_params(request)
    _check_client(state, params)
    grant_type = params.get("grant_type")
    if grant_type == "authorization_code":
        return _exchange_code(state, params)
    if grant_type == "refresh_token":
        return _refresh(state, params)
    if not grant_type:
        raise TikTokOAuthError("invalid_request", "Missing required parameter: grant_type.")
    raise TikTokOAuthError("unsupported_grant_type", f"The grant_type {grant_type} is not supported.")


def _exchange_code(state: SandboxState, params: dict[str, str]) -> dict[str, Any]:
    _require(params, "code", "redirect_uri")
    try:
        code = state.redeem_code("tiktok", params["code"], client_id=params["client_key"],
                                 redirect_uri=params["redirect_uri"])
    except CodeRejected as exc:
        raise TikTokOAuthError("invalid_grant", CODE_MESSAGES[exc.problem]) from None
    access = state.issue_token("tiktok_access", subject=code.subject, scopes=code.granted, declined=code.declined)
    refresh = state.issue_token("tiktok_refresh", subject=code.subject, scopes=code.granted, declined=code.declined)
    return _token_answer(state, access, refresh)


def _refresh(state: SandboxState, params: dict[str, str]) -> dict[str, Any]:
    _require(params, "refresh_token")
    try:
        current = state.resolve_token(params["refresh_token"], ("tiktok_refresh",))
    except TokenRejected:
        raise TikTokOAuthError("invalid_grant", "Refresh token is invalid or expired.") from None
    access = state.issue_token("tiktok_access", subject=current.subject, scopes=current.scopes,
                               declined=current.declined)
    refresh = current
    if state.settings.tiktok_refresh_rotation:
        refresh = state.issue_token("tiktok_refresh", subject=current.subject, scopes=current.scopes,
                                    declined=current.declined)
        current.replaced_by = refresh.value
    return _token_answer(state, access, refresh)


@oauth_router.post("/revoke/")
async def revoke(request: Request) -> dict[str, Any]:
    state = sandbox_state(request)
    params = await read_params(request)
    _check_client(state, params)
    _require(params, "token")
    presented = state.tokens.get(params["token"])
    if presented is not None and presented.platform == "tiktok" and state.revoke_tiktok_grant(presented.subject):
        state.record_revocation("tiktok", presented.subject)
        queue_tiktok(state, "authorization.removed", presented.subject, {"reason": REASON_DEVELOPER_REVOKED})
    return {}


def tiktok_caller(state: SandboxState, request: Request, scope: str | None = None) -> Token:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    try:
        token = state.resolve_token(value.strip() if scheme.lower() == "bearer" else None, ("tiktok_access",))
    except TokenRejected:
        raise tiktok_token_invalid() from None
    if scope is not None and scope not in token.scopes:
        raise scope_not_authorized()
    return token


def enforce_rate_limit(state: SandboxState, request: Request, caller: Token, endpoint: str, per_minute: int) -> None:
    """TikTok's per-token limits; a refusal is recorded as a breach, which a well-behaved client never causes."""
    if not state.rate_limits.allow(f"{endpoint}:{caller.value}", per_minute, 60, state.now()):
        state.record_breach("tiktok", f"{endpoint}_per_minute", caller.subject, original_path(request))
        raise TikTokApiError("rate_limit_exceeded", "API rate limit exceeded, please retry later.", status_code=429)


def scope_not_authorized() -> TikTokApiError:
    return TikTokApiError("scope_not_authorized",
                          "The user did not authorize the scope required for completing this request.",
                          status_code=401)


def _user_info(state: SandboxState, creator: TikTokCreator) -> dict[str, Any]:
    avatar = state.picture_url(creator.open_id)
    return {
        "open_id": creator.open_id, "union_id": creator.union_id, "avatar_url": avatar, "avatar_url_100": avatar,
        "avatar_large_url": avatar, "display_name": creator.display_name, "bio_description": "",
        "profile_deep_link": f"https://www.tiktok.com/@{creator.username}", "is_verified": False,
        "username": creator.username, "follower_count": 0, "following_count": 0, "likes_count": 0, "video_count": 0,
    }


@api_router.get("/user/info/")
async def user_info(request: Request) -> dict[str, Any]:
    state = sandbox_state(request)
    caller = tiktok_caller(state, request)
    params = await read_params(request)
    fields = [f.strip() for f in params.get("fields", "").split(",") if f.strip()]
    unknown = [f for f in fields if f not in USER_INFO_SCOPES]
    if not fields or unknown:
        raise TikTokApiError("invalid_params", f"Invalid fields: {','.join(unknown) or '(none given)'}.",
                             status_code=400)
    if any(USER_INFO_SCOPES[f] not in caller.scopes for f in fields):
        raise scope_not_authorized()
    everything = _user_info(state, state.tiktok.creators[caller.subject])
    return tiktok_envelope({"user": {f: everything[f] for f in fields}})


@api_router.post("/post/publish/creator_info/query/")
async def creator_info(request: Request) -> dict[str, Any]:
    state = sandbox_state(request)
    caller = tiktok_caller(state, request, "video.publish")
    enforce_rate_limit(state, request, caller, "creator_info", CREATOR_INFO_PER_MINUTE)
    creator = state.tiktok.creators[caller.subject]
    if state.tiktok_content.posts_today(creator.open_id, state.now()) >= state.settings.tiktok_daily_post_cap:
        # Intentionally HTTP 200: creator_info tells the client before it tries to post.
        return tiktok_envelope({}, code="spam_risk_too_many_posts", message=DAILY_CAP_MESSAGE)
    return tiktok_envelope({
        "creator_avatar_url": state.picture_url(creator.open_id),
        "creator_username": creator.username,
        "creator_nickname": creator.display_name,
        "privacy_level_options": list(creator.privacy_level_options),
        "comment_disabled": creator.comment_disabled,
        "duet_disabled": creator.duet_disabled,
        "stitch_disabled": creator.stitch_disabled,
        "max_video_post_duration_sec": creator.max_video_post_duration_sec,
    })
