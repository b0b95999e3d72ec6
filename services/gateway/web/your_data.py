"""Settings, your data: the export (downloaded as a dated JSON file, and summarised), deleting the data of some or
all connected accounts, deleting the whole account, and the deletion requests made so far. Each deletion goes
through a page that says what goes and what is kept."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse
from starlette.background import BackgroundTask

from services.gateway.web.accounts import is_uuid
from services.gateway.web.auth import UNAVAILABLE, field_errors, refused_status, text
from services.gateway.web.context import Person, error_of, page, redirect, sign_in_first
from services.gateway.web.deps import WebDeps
from services.gateway.web.formatting import platform_name
from services.gateway.web.settings_pages import call, ok, settings_page
from shared.internal import CLIENT_IP_HEADER, EMAIL_VERIFIED_HEADER, REQUEST_ID_HEADER, SESSION_HEADER, USER_HEADER

# What the export holds, in the summary's words, by its top-level lists.
EXPORT_PARTS = (("posts", "Posts", "post"), ("accounts", "Connected accounts", "account"),
                ("connections", "Platform logins", "login"), ("media", "Library items", "item"),
                ("media_uploads", "Unfinished uploads", "upload"), ("sessions", "Sessions", "session"),
                ("sign_in_history", "Sign-in records", "record"),
                ("platform_events", "Platform notifications", "notification"),
                ("deletion_requests", "Deletion requests", "request"))
SCOPES = {"account": "The whole account", "connections": "Connected accounts"}
REQUEST_STATUSES = {"pending": "Waiting", "in_progress": "In progress", "completed": "Completed", "failed": "Failed"}
TYPE_YOUR_EMAIL = "Type your email address exactly as it is shown, to confirm"


def status_path(deletion: dict[str, Any]) -> str:
    """The public status page of a deletion request, on this site."""
    path = urlsplit(str(deletion.get("status_url") or "")).path
    return path if path.startswith("/privacy/deletion/") else "/settings/data"


def summary_of(export: dict[str, Any]) -> list[tuple[str, int, str]]:
    """(what, how many, the unit's noun) for each part of the export."""
    return [(label, len(export.get(key) or []), noun) for key, label, noun in EXPORT_PARTS]


def export_name(person: Person, now: datetime) -> str:
    return f"postifys-export-{now.astimezone(person.zone).date().isoformat()}.json"


def register(router: APIRouter, deps: WebDeps) -> None:
    async def accounts_of(request: Request, person: Person) -> list[dict[str, Any]] | None:
        answer = await call(deps, request, person, "GET", "connector", "/api/v1/accounts")
        if answer is None or answer.status_code != 200:
            return None
        return [{**a, "label": f"{a.get('name') or a.get('username') or a.get('external_id')} "
                               f"({platform_name(a.get('platform'))})"}
                for a in answer.json().get("items") or [] if a.get("status") != "disconnected"]

    @router.get("/settings/data")
    async def your_data(request: Request) -> Response:
        person = await deps.person(request)
        if person is None:
            return sign_in_first(request)
        export = await call(deps, request, person, "GET", "privacy", "/api/v1/privacy/export")
        deletions = await call(deps, request, person, "GET", "privacy", "/api/v1/privacy/deletion-requests")
        requests = None
        if deletions is not None and ok(deletions, 200):
            requests = [{**d, "path": status_path(d), "scope_label": SCOPES.get(d.get("scope"), d.get("scope")),
                         "status_label": REQUEST_STATUSES.get(d.get("status"), d.get("status"))}
                        for d in deletions.json().get("items") or []]
        return settings_page(request, "/settings/data", "data.html", person, title="Your data",
                             summary=summary_of(export.json()) if export is not None and ok(export, 200) else None,
                             accounts=await accounts_of(request, person), requests=requests)

    @router.get("/settings/data/export")
    async def download_export(request: Request) -> Response:
        """The API's export, streamed through as a file named with today's date in the person's zone."""
        person = await deps.person(request)
        if person is None:
            return sign_in_first(request)
        upstream = deps.upstream()
        # As Upstream.call sends it, but streamed: the document is never whole in the gateway.
        headers = {REQUEST_ID_HEADER: request.state.request_id, CLIENT_IP_HEADER: request.state.client_ip,
                   USER_HEADER: person.user_id, SESSION_HEADER: person.session_id,
                   EMAIL_VERIFIED_HEADER: "1" if person.email_verified else "0"}
        outgoing = upstream.client.build_request("GET", f"{upstream.urls['privacy']}/api/v1/privacy/export",
                                                 headers=headers)
        try:
            answer = await upstream.client.send(outgoing, stream=True)
        except httpx.HTTPError:
            answer = None
        if answer is None or answer.status_code != 200:
            if answer is not None:
                await answer.aclose()
            return page(request, "unavailable.html", person, title="Unavailable", status_code=503)
        name = export_name(person, datetime.now(UTC))
        return StreamingResponse(answer.aiter_raw(), media_type="application/json",
                                 background=BackgroundTask(answer.aclose),
                                 headers={"Content-Disposition": f'attachment; filename="{name}"',
                                          "Cache-Control": "no-store"})

    # --- deleting connected accounts -------------------------------------------------------------

    def chosen(values: list[Any], accounts: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
        """The person's own accounts among those ticked; none ticked is all of them."""
        ids = {v for v in values if isinstance(v, str) and is_uuid(v)}
        return [a for a in accounts or [] if a.get("id") in ids]

    async def delete_connections_page(request: Request, person: Person, ticked: list[Any], *,
                                      errors: dict[str, str] | None = None, status_code: int = 200) -> Response:
        accounts = await accounts_of(request, person)
        return page(request, "delete_connections.html", person, title="Delete your connected accounts",
                    accounts=accounts, chosen=chosen(ticked, accounts), errors=errors or {}, status_code=status_code)

    @router.get("/settings/delete-connections")
    async def delete_connections_confirmation(request: Request) -> Response:
        person = await deps.person(request)
        if person is None:
            return sign_in_first(request)
        return await delete_connections_page(request, person, request.query_params.getlist("account"))

    @router.post("/settings/delete-connections")
    async def delete_connections(request: Request) -> Response:
        person = await deps.person(request)
        if person is None:
            return sign_in_first(request)
        ticked = (await request.form()).getlist("account")
        some = chosen(ticked, await accounts_of(request, person))
        body: dict[str, Any] = {"scope": "connections"}
        if some:
            body["account_ids"] = [a["id"] for a in some]
        answer = await call(deps, request, person, "POST", "privacy", "/api/v1/privacy/deletion-requests", body=body)
        if answer is not None and ok(answer, 202):
            return redirect(status_path(answer.json()))
        problem = UNAVAILABLE if answer is None or answer.status_code >= 500 else error_of(answer)["message"]
        return await delete_connections_page(request, person, ticked, errors={"_service": problem},
                                             status_code=503 if answer is None else refused_status(answer))

    # --- deleting the account --------------------------------------------------------------------

    def delete_account_page(request: Request, person: Person, *, errors: dict[str, str] | None = None,
                            typed: str = "", status_code: int = 200) -> Response:
        return page(request, "delete_account.html", person, title="Delete your Postifys account",
                    errors=errors or {}, typed=typed, status_code=status_code)

    @router.get("/settings/delete-account")
    async def delete_account_confirmation(request: Request) -> Response:
        person = await deps.person(request)
        if person is None:
            return sign_in_first(request)
        return delete_account_page(request, person)

    @router.post("/settings/delete-account")
    async def delete_account(request: Request) -> Response:
        person = await deps.person(request)
        if person is None:
            return sign_in_first(request)
        form = await request.form()
        password, typed = text(form, "password", strip=False), text(form, "confirm_email")
        errors = {k: v for k, v in {
            "password": "" if password else "Enter your password",
            "confirm_email": "" if typed.lower() == person.email.lower() else TYPE_YOUR_EMAIL}.items() if v}
        if errors:
            return delete_account_page(request, person, errors=errors, typed=typed, status_code=422)
        answer = await call(deps, request, person, "POST", "privacy", "/api/v1/privacy/deletion-requests",
                            body={"scope": "account", "password": password})
        if answer is not None and ok(answer, 202):
            # Privacy has ended every session of the account: the browser forgets its cookie too.
            response = redirect(status_path(answer.json()))
            response.delete_cookie(deps.settings.session_cookie_name, path="/", httponly=True, samesite="lax",
                                   secure=deps.settings.is_production)
            return response
        if answer is None or answer.status_code >= 500:
            return delete_account_page(request, person, errors={"_service": UNAVAILABLE}, typed=typed,
                                       status_code=503)
        if answer.status_code == 403:
            errors = {"password": "Your password is not right. Check it and try again."}
        else:
            errors = field_errors(answer, {"password": "Enter your password"}, "password")
        return delete_account_page(request, person, errors=errors, typed=typed, status_code=refused_status(answer))
