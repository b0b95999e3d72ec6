"""/_sandbox: the tests' and developers' handle on the sandbox. Not part of any platform: reset, settings, extra
accounts, and a view of the tokens, requests and revocations the platform APIs saw."""

from __future__ import annotations

import json
from html import escape
from typing import Any, Literal

from fastapi import APIRouter, Body, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from sandbox.fetch import media_fetcher
from sandbox.state import (
    FULL_PAGE_TASKS,
    PUBLIC_PRIVACY_LEVELS,
    SandboxSettings,
    SandboxState,
    TikTokCreator,
    describe_creator,
    describe_instagram_account,
)
from sandbox.web import sandbox_state
from sandbox.webhook_delivery import queue_tiktok
from sandbox.webhooks import REASON_USER_DISCONNECTED

router = APIRouter(prefix="/_sandbox")


class ControlModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


class InstagramLinkIn(ControlModel):
    username: str = Field(min_length=1)


class PageIn(ControlModel):
    name: str = Field(min_length=1)
    category: str = "Local business"
    tasks: list[str] = Field(default_factory=lambda: list(FULL_PAGE_TASKS))
    instagram: InstagramLinkIn | None = None


class FacebookUserIn(ControlModel):
    name: str = Field(min_length=1)
    declined: list[str] = Field(default_factory=list)
    pages: list[PageIn] = Field(default_factory=list)


class InstagramUserIn(ControlModel):
    name: str = Field(min_length=1)
    username: str = Field(min_length=1)


class TikTokCreatorIn(ControlModel):
    display_name: str = Field(min_length=1)
    username: str = Field(min_length=1)
    privacy_level_options: list[str] = Field(default_factory=lambda: list(PUBLIC_PRIVACY_LEVELS), min_length=1)
    comment_disabled: bool = False
    duet_disabled: bool = False
    stitch_disabled: bool = True
    max_video_post_duration_sec: int = Field(300, gt=0)


class TokenIn(ControlModel):
    token: str


def _unknown_token() -> JSONResponse:
    return JSONResponse({"detail": "No such token was issued by the sandbox."}, status_code=404)


@router.post("/reset")
async def reset(request: Request) -> dict[str, Any]:
    state = sandbox_state(request)
    state.reset()
    media_fetcher(request).forget()
    return state.describe()


@router.get("/state")
async def describe(request: Request) -> dict[str, Any]:
    return sandbox_state(request).describe()


@router.get("/settings")
async def read_settings(request: Request) -> dict[str, Any]:
    return sandbox_state(request).settings.model_dump()


@router.put("/settings", response_model=None)
async def change_settings(request: Request, changes: dict[str, Any] = Body(...)) -> dict[str, Any] | JSONResponse:
    state = sandbox_state(request)
    try:
        state.settings = SandboxSettings.model_validate({**state.settings.model_dump(), **changes})
    except ValidationError as exc:
        return JSONResponse({"detail": json.loads(exc.json(include_url=False))}, status_code=422)
    return state.settings.model_dump()


@router.post("/facebook/users", status_code=201)
async def add_facebook_user(request: Request, body: FacebookUserIn) -> dict[str, Any]:
    state = sandbox_state(request)
    user = state.facebook.add_user(state.ids.numeric(), body.name, body.declined)
    for page in body.pages:
        instagram = (state.ids.numeric(), page.instagram.username) if page.instagram else None
        state.facebook.add_page(user, state.ids.numeric(), page.name, category=page.category, tasks=page.tasks,
                                instagram=instagram)
    return state.describe_facebook_user(user)


@router.post("/instagram/users", status_code=201)
async def add_instagram_user(request: Request, body: InstagramUserIn) -> dict[str, Any]:
    state = sandbox_state(request)
    return describe_instagram_account(state.instagram.add_account(state.ids.numeric(), body.username, body.name))


@router.post("/tiktok/creators", status_code=201)
async def add_tiktok_creator(request: Request, body: TikTokCreatorIn) -> dict[str, Any]:
    state = sandbox_state(request)
    creator = state.tiktok.add_creator(TikTokCreator(
        open_id=state.ids.open_id(), display_name=body.display_name, username=body.username,
        privacy_level_options=tuple(body.privacy_level_options), comment_disabled=body.comment_disabled,
        duet_disabled=body.duet_disabled, stitch_disabled=body.stitch_disabled,
        max_video_post_duration_sec=body.max_video_post_duration_sec))
    return describe_creator(creator)


@router.get("/tokens")
async def tokens(request: Request, platform: Literal["facebook", "instagram", "tiktok"] | None = None,
                 subject: str | None = None) -> list[dict[str, Any]]:
    return [t.describe() for t in sandbox_state(request).tokens.values()
            if (platform is None or t.platform == platform) and (subject is None or t.subject == subject)]


@router.post("/tokens/revoke", response_model=None)
async def revoke_token(request: Request, body: TokenIn) -> dict[str, Any] | JSONResponse:
    """As if the user removed the app: the token stops working, and on TikTok every token of that grant too.
    Not listed under /revocations, which shows only what the platform APIs were asked to do."""
    state = sandbox_state(request)
    token = state.tokens.get(body.token)
    if token is None:
        return _unknown_token()
    revoked = state.revoke_tiktok_grant(token.subject) if token.platform == "tiktok" else state.revoke([token])
    if token.platform == "tiktok" and revoked:
        queue_tiktok(state, "authorization.removed", token.subject, {"reason": REASON_USER_DISCONNECTED})
    return {"revoked": [t.describe() for t in revoked]}


@router.post("/tokens/invalidate", response_model=None)
async def invalidate_token(request: Request, body: TokenIn) -> dict[str, Any] | JSONResponse:
    """The platform stops accepting this one token before its time, as TikTok does when it invalidates an access
    token early: its expiry stays as issued, the rest of the grant (the refresh token) keeps working, and no
    webhook is sent, so the client finds out only when the token is refused."""
    state = sandbox_state(request)
    token = state.tokens.get(body.token)
    if token is None:
        return _unknown_token()
    state.revoke([token])
    return token.describe()


@router.post("/tokens/expire", response_model=None)
async def expire_token(request: Request, body: TokenIn) -> dict[str, Any] | JSONResponse:
    state = sandbox_state(request)
    token = state.tokens.get(body.token)
    if token is None:
        return _unknown_token()
    state.expire(token)
    return token.describe()


@router.get("/requests")
async def requests(request: Request, platform: Literal["facebook", "instagram", "tiktok"] | None = None,
                   path: str | None = None) -> list[dict[str, Any]]:
    return [r.describe() for r in sandbox_state(request).requests
            if (platform is None or r.platform == platform) and (path is None or path in r.path)]


@router.get("/revocations")
async def revocations(request: Request) -> list[dict[str, Any]]:
    return [r.describe() for r in sandbox_state(request).revocations]


@router.get("/pictures/{subject}")
async def picture(subject: str, request: Request) -> Response:
    """The avatar every profile picture URL points at, so a page showing it does not break."""
    name = _display_name(sandbox_state(request), subject)
    initials = "".join(word[0] for word in name.split()[:2]).upper() or "?"
    svg = ('<svg xmlns="http://www.w3.org/2000/svg" width="100" height="100"><rect width="100" height="100" '
           'fill="#5b6ee1"/><text x="50" y="62" font-size="40" text-anchor="middle" fill="#fff" '
           f'font-family="sans-serif">{escape(initials)}</text></svg>')
    return Response(svg, media_type="image/svg+xml")


def _display_name(state: SandboxState, subject: str) -> str:
    facebook = state.facebook
    for named in (facebook.users.get(subject), facebook.pages.get(subject), facebook.instagram_accounts.get(subject),
                  state.instagram.accounts.get(subject)):
        if named is not None:
            return named.name
    creator = state.tiktok.creators.get(subject)
    return creator.display_name if creator else ""
