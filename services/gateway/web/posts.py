"""The posts screens: the list (filtered, paged), one post with what happened on each account, and the actions the
publisher allows on it (cancel, retry a failed target)."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlencode

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import Response

from services.gateway.web import calendar_grid, post_view
from services.gateway.web.context import (
    Person,
    content_security_policy,
    error_of,
    origin_of,
    page,
    redirect,
    sign_in_first,
)
from services.gateway.web.deps import WebDeps

PAGE_SIZE = 20
UNAVAILABLE = "Posts are unavailable for a moment. Try again shortly."


async def accounts_of(deps: WebDeps, request: Request, person: Person) -> dict[str, dict[str, Any]]:
    """The person's connected accounts by id; empty when the connector cannot say (pages still render)."""
    try:
        answer = await deps.upstream().call(request, person, "GET", "connector", "/api/v1/accounts")
    except httpx.HTTPError:
        return {}
    if answer.status_code != 200:
        return {}
    return {str(a["id"]): a for a in answer.json().get("items", [])}


def account_label(account: dict[str, Any] | None) -> str:
    if account is None:
        return "An account no longer connected"
    return str(account.get("name") or account.get("username") or account.get("external_id") or "Unnamed account")


def not_found(request: Request, person: Person) -> Response:
    return page(request, "post_not_found.html", person, status_code=404, title="Page not found")


def unavailable(request: Request, person: Person) -> Response:
    return page(request, "post_not_found.html", person, status_code=503, title="Unavailable",
                errors={"_post": UNAVAILABLE}, unavailable=True)


def register(router: APIRouter, deps: WebDeps) -> None:
    @router.get("/posts")
    async def posts_list(request: Request) -> Response:
        person = await deps.person(request)
        if person is None:
            return sign_in_first(request)
        accounts = await accounts_of(deps, request, person)
        query = request.query_params
        chosen = {key: query.get(key, "").strip() for key in ("status", "account", "from", "to")}
        errors, params = list_params(chosen, accounts, person)
        answer: dict[str, Any] = {"items": [], "next_cursor": None}
        status_code = 200
        if not errors:
            try:
                upstream = await deps.upstream().call(request, person, "GET", "publisher", "/api/v1/posts", params={
                    **params, "sort": "due", "limit": PAGE_SIZE, "cursor": query.get("cursor")})
            except httpx.HTTPError:
                upstream = None
            if upstream is not None and upstream.status_code == 200:
                answer = upstream.json()
            else:
                status_code = 422 if upstream is not None and upstream.status_code < 500 else 503
                errors = {"_list": error_of(upstream)["message"] if upstream is not None and status_code == 422
                          else UNAVAILABLE}
        else:
            status_code = 422
        filtered = any(chosen.values())
        older = str(request.url.include_query_params(cursor=answer["next_cursor"]).query) \
            if answer.get("next_cursor") else None
        return page(request, "posts.html", person, status_code=status_code, title="Posts", errors=errors or None,
                    posts=answer["items"], accounts=accounts, chosen=chosen, filtered=filtered,
                    older=older, paged=bool(query.get("cursor")), newest=first_page_query(chosen),
                    statuses=post_view.STATUSES, view=post_view, account_label=account_label)

    @router.get("/posts/{post_id}")
    async def post_page(request: Request, post_id: str) -> Response:
        person = await deps.person(request)
        if person is None:
            return sign_in_first(request)
        return await render_post(request, person, post_id)

    @router.get("/posts/{post_id}/cancel")
    async def confirm_cancel(request: Request, post_id: str) -> Response:
        person = await deps.person(request)
        if person is None:
            return sign_in_first(request)
        try:
            post = await fetch_post(request, person, post_id)
        except httpx.HTTPError:
            return unavailable(request, person)
        if post is None:
            return not_found(request, person)
        if not post_view.changeable(post):
            return redirect(f"/posts/{post['id']}")
        accounts = await accounts_of(deps, request, person)
        return page(request, "post_cancel.html", person, title="Cancel this post", post=post, accounts=accounts,
                    view=post_view, account_label=account_label)

    @router.post("/posts/{post_id}/cancel")
    async def cancel(request: Request, post_id: str) -> Response:
        person = await deps.person(request)
        if person is None:
            return sign_in_first(request)
        if not valid_id(post_id):
            return not_found(request, person)
        return await act(request, person, post_id, f"/api/v1/posts/{post_id}/cancel", "cancelled")

    @router.post("/posts/{post_id}/targets/{target_id}/retry")
    async def retry(request: Request, post_id: str, target_id: str) -> Response:
        person = await deps.person(request)
        if person is None:
            return sign_in_first(request)
        if not valid_id(post_id) or not valid_id(target_id):
            return not_found(request, person)
        return await act(request, person, post_id, f"/api/v1/posts/{post_id}/targets/{target_id}/retry",
                         "retrying")

    async def fetch_post(request: Request, person: Person, post_id: str) -> dict[str, Any] | None:
        if not valid_id(post_id):
            return None
        answer = await deps.upstream().call(request, person, "GET", "publisher", f"/api/v1/posts/{post_id}")
        if answer.status_code == 404:
            return None
        answer.raise_for_status()
        return dict(answer.json())

    async def render_post(request: Request, person: Person, post_id: str, *, status_code: int = 200,
                          errors: dict[str, str] | None = None) -> Response:
        try:
            post = await fetch_post(request, person, post_id)
        except httpx.HTTPError:
            return unavailable(request, person)
        if post is None:
            return not_found(request, person)
        accounts = await accounts_of(deps, request, person)
        response = page(request, "post.html", person, status_code=status_code, title="Post", errors=errors,
                        post=post, accounts=accounts, view=post_view, account_label=account_label,
                        due=post_view.due_at(post), pending=post_view.pending(post),
                        changeable=post_view.changeable(post))
        response.headers["Content-Security-Policy"] = content_security_policy(shown_origins(post, accounts))
        return response

    def shown_origins(post: dict[str, Any], accounts: dict[str, dict[str, Any]]) -> set[str]:
        https_only = deps.settings.is_production
        urls = [m.get("url") for m in post.get("media", []) if m.get("type") == "image"]
        urls += [(accounts.get(str(t["account_id"])) or {}).get("avatar_url") for t in post.get("targets", [])]
        return {origin for url in urls if (origin := origin_of(url, https_only=https_only))}

    async def act(request: Request, person: Person, post_id: str, path: str, notice: str) -> Response:
        try:
            answer = await deps.upstream().call(request, person, "POST", "publisher", path)
        except httpx.HTTPError:
            return await render_post(request, person, post_id, status_code=503, errors={"_action": UNAVAILABLE})
        if answer.status_code == 404:
            return not_found(request, person)
        if answer.status_code != 200:
            status = answer.status_code if 400 <= answer.status_code < 500 else 503
            return await render_post(request, person, post_id, status_code=status,
                                     errors={"_action": error_of(answer)["message"]})
        return redirect(f"/posts/{post_id}", notice=notice)


def valid_id(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


def list_params(chosen: dict[str, str], accounts: dict[str, dict[str, Any]], person: Person
                ) -> tuple[dict[str, str], dict[str, Any]]:
    """The publisher's query for the filters chosen, or the sentence for each filter that cannot be used."""
    errors: dict[str, str] = {}
    if chosen["status"] and chosen["status"] not in post_view.STATUSES:
        errors["filter-status"] = "Choose a status from the list."
    if chosen["account"] and chosen["account"] not in accounts:
        errors["filter-account"] = "Choose one of your connected accounts."
    first, last = calendar_grid.parse_day(chosen["from"]), calendar_grid.parse_day(chosen["to"])
    if chosen["from"] and first is None:
        errors["filter-from"] = "Enter the first date as a real date, such as 2027-03-14."
    if chosen["to"] and last is None:
        errors["filter-to"] = "Enter the last date as a real date, such as 2027-03-31."
    if first and last and last < first:
        errors["filter-to"] = "The last date must be the same as or after the first date."
    if errors:
        return errors, {}
    due_from, due_to = calendar_grid.local_dates_to_instants(first, last, person.zone)
    return {}, {"status": chosen["status"], "account_id": chosen["account"],
                "due_from": due_from.isoformat() if due_from else None,
                "due_to": due_to.isoformat() if due_to else None}


def first_page_query(chosen: dict[str, str]) -> str:
    return urlencode({k: v for k, v in chosen.items() if v})
