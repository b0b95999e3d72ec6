"""GET /{node} on both Graph hosts: whatever object an id names (a user, Page, Instagram account, Page post, photo,
video, Instagram container or media), shown to a caller allowed to see it."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from sandbox.facebook import (
    caller_token,
    check_page_token_target,
    instagram_for,
    instagram_view,
    page_view,
    user_of,
    user_view,
)
from sandbox.facebook_publishing import check_page_reader, page_object_view
from sandbox.instagram import instagram_caller, instagram_user_view, own_account
from sandbox.instagram_publishing import instagram_object_view
from sandbox.web import note_business_use, read_params, requested_fields, sandbox_state

facebook_router = APIRouter(prefix="/facebook-graph")
instagram_router = APIRouter(prefix="/instagram-graph")


@facebook_router.get("/{node}")
async def read_facebook_node(node: str, request: Request) -> dict[str, Any]:
    state = sandbox_state(request)
    params = await read_params(request)
    caller = caller_token(state, request, params)
    fields = requested_fields(params.get("fields"))
    if node == "me" and caller.kind == "page":
        node = caller.subject
    facebook = state.facebook
    if page := facebook.pages.get(node):
        check_page_token_target(caller, page)
        note_business_use(request, page.id, "pages")
        return page_view(state, page, fields, caller)
    if node in facebook.instagram_accounts:
        return instagram_view(state, instagram_for(state, request, caller, node), fields)
    owner = state.instagram_content.account_of(node)
    if owner is not None and owner in facebook.instagram_accounts:
        instagram_for(state, request, caller, owner)
        return instagram_object_view(state, node, fields)
    page_id = state.pages_content.page_of(node)
    if page_id is not None:
        page = facebook.pages[page_id]
        check_page_reader(request, caller, page, node)
        return page_object_view(state, request, page, node, fields)
    return user_view(state, user_of(state, request, caller, node), fields)


@instagram_router.get("/{node}")
async def read_instagram_node(node: str, request: Request) -> dict[str, Any]:
    state = sandbox_state(request)
    params = await read_params(request)
    caller = instagram_caller(state, request, params)
    fields = requested_fields(params.get("fields"))
    owner = state.instagram_content.account_of(node)
    if owner is not None and owner == caller.subject:
        note_business_use(request, owner, "instagram")
        return instagram_object_view(state, node, fields)
    return instagram_user_view(state, own_account(state, request, caller, node), fields)
