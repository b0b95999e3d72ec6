"""graph.facebook.com: Facebook Login's token endpoints, token introspection, the user, their Pages and the
Instagram accounts linked to those Pages. Paths are unversioned here; the middleware strips /vNN.0."""

from __future__ import annotations

import base64
from typing import Any

from fastapi import APIRouter, Request

from sandbox.errors import GraphError, graph_token_error, graph_unsupported_request
from sandbox.instagram import publishing_limit
from sandbox.state import (
    DATA_ACCESS_SECONDS,
    CodeProblem,
    CodeRejected,
    FacebookPage,
    FacebookUser,
    InstagramAccount,
    SandboxState,
    Token,
    TokenKind,
    TokenRejected,
)
from sandbox.web import (
    note_business_use,
    presented_token,
    read_params,
    requested_fields,
    sandbox_state,
    select_fields,
)
from sandbox.webhook_delivery import queue_permissions_revoked

oauth_router = APIRouter(prefix="/facebook-graph")
graph_router = APIRouter(prefix="/facebook-graph")

USER_TOKENS: tuple[TokenKind, ...] = ("user_short", "user_long")
ANY_TOKEN: tuple[TokenKind, ...] = ("user_short", "user_long", "page")
CODE_MESSAGES: dict[CodeProblem, str] = {
    "unknown": "Invalid verification code format.",
    "used": "This authorization code has been used.",
    "expired": "This authorization code has expired.",
    "client_mismatch": "Invalid verification code format.",
    "redirect_mismatch": "Error validating verification code. Please make sure your redirect_uri is identical to the "
                         "one you used in the OAuth dialog request",
}
USER_FIELDS = ("id", "name", "first_name", "last_name", "short_name", "picture")
PAGE_FIELDS = ("id", "name", "username", "category", "category_list", "tasks", "access_token",
               "instagram_business_account", "picture", "link")
ACCOUNTS_DEFAULT_FIELDS = ["access_token", "category", "category_list", "name", "id", "tasks"]
INSTAGRAM_FIELDS = ("id", "ig_id", "username", "name", "profile_picture_url", "followers_count", "follows_count",
                    "media_count", "biography", "website")
DEFAULT_ACCOUNTS_LIMIT = 25
PAGE_CATEGORY_IDS = {"Bakery": "197871390225897", "Community": "2612", "Shopping & retail": "200600219953504"}
GENERIC_CATEGORY_ID = "2500"


def _check_app(state: SandboxState, params: dict[str, str]) -> None:
    if not params.get("client_id"):
        raise GraphError("Missing client_id parameter.", code=101)
    if params["client_id"] != state.credentials.meta_app_id:
        raise GraphError("Error validating application. Invalid application ID.", code=101)
    if not state.credentials.secret_matches("facebook", params.get("client_secret")):
        raise GraphError("Error validating client secret.", code=1)


def _token_answer(state: SandboxState, token: Token) -> dict[str, Any]:
    return {"access_token": token.value, "token_type": "bearer", "expires_in": token.seconds_left(state.now())}


@oauth_router.api_route("/oauth/access_token", methods=["GET", "POST"])
async def access_token(request: Request) -> dict[str, Any]:
    state = sandbox_state(request)
    params = await read_params(request)
    _check_app(state, params)
    grant_type = params.get("grant_type", "authorization_code")
    if grant_type == "authorization_code":
        return _exchange_code(state, params)
    if grant_type == "fb_exchange_token":
        return _exchange_for_long_lived(state, params)
    if grant_type == "client_credentials":
        return {"access_token": f"{state.credentials.meta_app_id}|{state.credentials.meta_app_secret}",
                "token_type": "bearer"}
    raise GraphError(f"Unsupported grant_type: {grant_type}", code=100)


def _exchange_code(state: SandboxState, params: dict[str, str]) -> dict[str, Any]:
    if not params.get("code"):
        raise GraphError("(#100) The parameter code is required", code=100)
    if not params.get("redirect_uri"):
        raise GraphError("Missing redirect_uri parameter.", code=191)
    try:
        code = state.redeem_code("facebook", params["code"], client_id=params["client_id"],
                                 redirect_uri=params["redirect_uri"])
    except CodeRejected as exc:
        raise GraphError(CODE_MESSAGES[exc.problem], code=100) from None
    token = state.issue_token("user_short", subject=code.subject, scopes=code.granted, declined=code.declined)
    return _token_answer(state, token)


def _exchange_for_long_lived(state: SandboxState, params: dict[str, str]) -> dict[str, Any]:
    if not params.get("fb_exchange_token"):
        raise GraphError("(#100) The parameter fb_exchange_token is required", code=100)
    try:
        short = state.resolve_token(params["fb_exchange_token"], USER_TOKENS)
    except TokenRejected as exc:
        raise graph_token_error(exc, state.now()) from None
    token = state.issue_token("user_long", subject=short.subject, scopes=short.scopes, declined=short.declined)
    return _token_answer(state, token)


@oauth_router.get("/debug_token")
async def debug_token(request: Request) -> dict[str, Any]:
    state = sandbox_state(request)
    params = await read_params(request)
    caller = presented_token(request, params)
    app_token = f"{state.credentials.meta_app_id}|{state.credentials.meta_app_secret}"
    if not caller:
        raise GraphError("(#100) You must provide an app access token, or a user access token that is an owner or "
                         "developer of the app", code=100)
    if caller != app_token:
        try:
            state.resolve_token(caller, ANY_TOKEN)
        except TokenRejected:
            raise GraphError("Invalid OAuth access token signature.", code=190) from None
    if not params.get("input_token"):
        raise GraphError("(#100) The parameter input_token is required", code=100)
    return {"data": _introspect(state, params["input_token"])}


def _introspect(state: SandboxState, value: str) -> dict[str, Any]:
    now = state.now()
    token = state.tokens.get(value)
    if token is None or token.platform != "facebook":
        error = graph_token_error(TokenRejected("unknown"), now)
        return {"error": {"code": 190, "message": error.message, "subcode": error.subcode},
                "is_valid": False, "scopes": []}
    described: dict[str, Any] = {
        "app_id": token.client_id,
        "type": "PAGE" if token.kind == "page" else "USER",
        "application": "Postifys",
        "data_access_expires_at": int(token.issued_at) + DATA_ACCESS_SECONDS,
        "expires_at": 0 if token.expires_at is None else int(token.expires_at),
        "is_valid": True,
        "issued_at": int(token.issued_at),
        "scopes": list(token.scopes),
        "granular_scopes": _granular_scopes(state, token),
        "user_id": token.user_id or token.subject,
    }
    if token.kind == "page":
        described["profile_id"] = token.subject
    try:
        state.resolve_token(value, ANY_TOKEN)
    except TokenRejected as exc:
        error = graph_token_error(exc, now)
        described.update(is_valid=False, error={"code": 190, "message": error.message, "subcode": error.subcode})
    return described


def _granular_scopes(state: SandboxState, token: Token) -> list[dict[str, Any]]:
    user_id = token.user_id or token.subject
    pages = [p for p in state.facebook.pages_of(user_id) if token.kind != "page" or p.id == token.subject]
    targets = {
        "pages": [p.id for p in pages],
        "instagram": [p.instagram.id for p in pages if p.instagram],
    }
    granular = []
    for scope in token.scopes:
        family = _scope_family(scope)
        granular.append({"scope": scope, **({"target_ids": targets[family]} if family else {})})
    return granular


def _scope_family(scope: str) -> str | None:
    if scope.startswith(("pages_", "read_insights")):
        return "pages"
    if scope.startswith("instagram_"):
        return "instagram"
    return None


def caller_token(state: SandboxState, request: Request, params: dict[str, str],
            kinds: tuple[TokenKind, ...] = ANY_TOKEN) -> Token:
    value = presented_token(request, params)
    if not value:
        raise GraphError("An active access token must be used to query information about the current user.",
                         code=2500)
    try:
        token = state.resolve_token(value, kinds)
    except TokenRejected as exc:
        raise graph_token_error(exc, state.now()) from None
    if token.kind == "page":
        note_business_use(request, token.subject, "pages")
    return token


def _picture(state: SandboxState, subject: str) -> dict[str, Any]:
    return {"data": {"height": 50, "width": 50, "is_silhouette": False, "url": state.picture_url(subject)}}


def user_view(state: SandboxState, user: FacebookUser, fields: list[str]) -> dict[str, Any]:
    first, _, last = user.name.partition(" ")
    available: dict[str, Any] = {"id": user.id, "name": user.name, "first_name": first, "last_name": last or None,
                                 "short_name": first, "picture": lambda: _picture(state, user.id)}
    return select_fields(available, fields or ["id", "name"], "User")


def page_view(state: SandboxState, page: FacebookPage, fields: list[str], caller: Token) -> dict[str, Any]:
    manages = caller.subject == page.id or (caller.kind != "page" and caller.subject == page.owner_id)

    def page_access_token() -> str | None:
        if not manages:
            return None
        return caller.value if caller.kind == "page" else state.page_token(caller, page).value

    available: dict[str, Any] = {
        "id": page.id,
        "name": page.name,
        "username": None,
        "category": page.category,
        "category_list": [{"id": PAGE_CATEGORY_IDS.get(page.category, GENERIC_CATEGORY_ID), "name": page.category}],
        "tasks": list(page.tasks) if manages else None,
        "access_token": page_access_token,
        "instagram_business_account": {"id": page.instagram.id} if page.instagram else None,
        "picture": lambda: _picture(state, page.id),
        "link": f"https://www.facebook.com/{page.id}",
    }
    return select_fields(available, fields or ["id", "name"], "Page")


def instagram_view(state: SandboxState, account: InstagramAccount, fields: list[str]) -> dict[str, Any]:
    available: dict[str, Any] = {
        "id": account.id, "ig_id": int(account.id), "username": account.username, "name": account.name,
        "profile_picture_url": state.picture_url(account.id), "followers_count": 0, "follows_count": 0,
        "media_count": state.instagram_content.media_count(account.id), "biography": None, "website": None,
    }
    return select_fields(available, fields or ["id"], "IGUser")


def user_of(state: SandboxState, request: Request, caller: Token, node: str) -> FacebookUser:
    """The user a `me` or `{user-id}` node names, which must be the caller's own."""
    if caller.kind == "page" or node not in ("me", caller.subject):
        raise graph_unsupported_request(request.method, node)
    return state.facebook.users[caller.subject]


def instagram_for(state: SandboxState, request: Request, caller: Token,
                  instagram_id: str) -> InstagramAccount:
    page = state.facebook.page_of_instagram(instagram_id)
    if page is None or page.instagram is None:
        raise graph_unsupported_request(request.method, instagram_id)
    allowed = caller.subject == page.id if caller.kind == "page" else caller.subject == page.owner_id
    if not allowed:
        raise graph_unsupported_request(request.method, instagram_id)
    if "instagram_basic" not in caller.scopes:
        raise GraphError("(#10) Application does not have permission for this action", code=10, status_code=403)
    note_business_use(request, instagram_id, "instagram")
    return page.instagram


def check_page_token_target(caller: Token, page: FacebookPage) -> None:
    # A page token used on another Page: Graph answers with a permission error (#200), as for a missing role.
    if caller.kind == "page" and caller.subject != page.id:
        raise GraphError("(#200) The page access token used does not belong to this Page.", code=200,
                         status_code=403)


@graph_router.get("/{node}/accounts")
async def accounts(node: str, request: Request) -> dict[str, Any]:
    state = sandbox_state(request)
    params = await read_params(request)
    caller = caller_token(state, request, params)
    if caller.kind == "page":
        raise GraphError("(#100) Tried accessing nonexisting field (accounts) on node type (Page)", code=100)
    user = user_of(state, request, caller, node)
    # Without pages_show_list the app sees none of the user's Pages.
    pages = state.facebook.pages_of(user.id) if "pages_show_list" in caller.scopes else []
    fields = requested_fields(params.get("fields")) or ACCOUNTS_DEFAULT_FIELDS
    after = decode_graph_cursor(params.get("after"))
    start = next((i + 1 for i, p in enumerate(pages) if p.id == after), 0) if after else 0
    limit = max(1, int(params["limit"])) if params.get("limit", "").isdigit() else DEFAULT_ACCOUNTS_LIMIT
    window = pages[start:start + limit]
    body: dict[str, Any] = {"data": [page_view(state, page, fields, caller) for page in window]}
    if window:
        body["paging"] = {"cursors": {"before": graph_cursor(window[0].id), "after": graph_cursor(window[-1].id)}}
        if start + limit < len(pages):
            body["paging"]["next"] = str(request.url.include_query_params(after=graph_cursor(window[-1].id)))
    return body


def graph_cursor(page_id: str) -> str:
    return base64.urlsafe_b64encode(page_id.encode()).decode().rstrip("=")


def decode_graph_cursor(cursor: str | None) -> str | None:
    if not cursor:
        return None
    try:
        return base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        return None


@graph_router.get("/{node}/permissions")
async def permissions(node: str, request: Request) -> dict[str, Any]:
    state = sandbox_state(request)
    params = await read_params(request)
    caller = caller_token(state, request, params)
    if caller.kind != "page":
        user_of(state, request, caller, node)
    granted = [{"permission": scope, "status": "granted"} for scope in caller.scopes]
    declined = [{"permission": scope, "status": "declined"} for scope in caller.declined]
    return {"data": granted + declined}


@graph_router.delete("/{node}/permissions")
async def remove_app(node: str, request: Request) -> dict[str, Any]:
    state = sandbox_state(request)
    params = await read_params(request)
    caller = caller_token(state, request, params, USER_TOKENS)
    user = user_of(state, request, caller, node)
    state.revoke_facebook_user(user.id)
    queue_permissions_revoked(state, user, caller.scopes)
    return {"success": True}


@graph_router.get("/{node}/content_publishing_limit")
async def content_publishing_limit(node: str, request: Request) -> dict[str, Any]:
    state = sandbox_state(request)
    params = await read_params(request)
    caller = caller_token(state, request, params)
    account = instagram_for(state, request, caller, node)
    return publishing_limit(state, account, requested_fields(params.get("fields")))
