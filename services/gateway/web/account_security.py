"""Settings, security: changing the password, where the person is signed in (revoking one session, or all but
this one), and the sign-ins to the account, page by page."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from services.gateway.web.accounts import is_uuid
from services.gateway.web.auth import (
    MIN_PASSWORD_LENGTH,
    PASSWORD_HINT,
    UNAVAILABLE,
    field_errors,
    password_problem,
    refused_status,
    text,
)
from services.gateway.web.context import Person, error_of, redirect, sign_in_first
from services.gateway.web.deps import WebDeps
from services.gateway.web.settings_pages import call, ok, refusal, settings_page

HISTORY_PAGE = 10
MAX_CURSOR = 200  # identity refuses longer ones
ACTIONS = {"sign_in": "Sign-in", "password_change": "Password asked to change it",
           "password_confirm": "Password asked to delete data", "email_change": "Password asked to change the email"}
OUTCOMES = {"succeeded": "Succeeded", "failed": "Wrong password", "throttled": "Refused: too many attempts"}


def shown_attempt(attempt: dict[str, Any]) -> dict[str, Any]:
    return {**attempt, "what": ACTIONS.get(str(attempt.get("action")), "Sign-in"),
            "result": OUTCOMES.get(str(attempt.get("outcome")), str(attempt.get("outcome") or "")),
            "ok": attempt.get("outcome") == "succeeded"}


def register(router: APIRouter, deps: WebDeps) -> None:
    async def security_page(request: Request, person: Person, *, errors: dict[str, str] | None = None,
                            status_code: int = 200) -> Response:
        cursor = request.query_params.get("before", "")[:MAX_CURSOR]
        sessions_answer = await call(deps, request, person, "GET", "identity", "/api/v1/auth/sessions")
        history_answer = await call(deps, request, person, "GET", "identity", "/api/v1/me/sign-ins",
                                    params={"limit": HISTORY_PAGE, "cursor": cursor})
        sessions = sessions_answer.json().get("items") or [] if sessions_answer and ok(sessions_answer, 200) else None
        history = None
        older = None
        if history_answer is not None and ok(history_answer, 200):
            body = history_answer.json()
            history, older = [shown_attempt(a) for a in body.get("items") or []], body.get("next_cursor")
        return settings_page(request, "/settings/security", "security.html", person, title="Security",
                             errors=errors or {}, sessions=sessions, history=history, older=older,
                             paged=bool(cursor), password_hint=PASSWORD_HINT, status_code=status_code)

    @router.get("/settings/security")
    async def security(request: Request) -> Response:
        person = await deps.person(request)
        if person is None:
            return sign_in_first(request)
        return await security_page(request, person)

    @router.post("/settings/password")
    async def change_password(request: Request) -> Response:
        person = await deps.person(request)
        if person is None:
            return sign_in_first(request)
        form = await request.form()
        current, new = text(form, "current_password", strip=False), text(form, "new_password", strip=False)
        errors = {k: v for k, v in {
            "current_password": "" if current else "Enter your current password",
            "new_password": password_problem(new, empty="Choose a new password") or ""}.items() if v}
        if errors:
            return await security_page(request, person, errors=errors, status_code=422)
        answer = await call(deps, request, person, "POST", "identity", "/api/v1/auth/password-change",
                            body={"current_password": current, "new_password": new})
        if ok(answer, 204):
            return redirect("/settings/security", notice="password_updated")
        if answer is None or answer.status_code >= 500:
            return await security_page(request, person, errors={"_service": UNAVAILABLE}, status_code=503)
        if answer.status_code == 403:
            errors = {"current_password": "Your current password is not right. Check it and try again."}
        elif answer.status_code == 429:
            errors = {"current_password": error_of(answer)["message"]}
        else:
            # A weak password comes back with identity's reason ("too common or too easy to guess…").
            errors = field_errors(answer, {
                "current_password": "Enter your current password",
                "new_password": f"Use at least {MIN_PASSWORD_LENGTH} characters for your new password"},
                "new_password")
        return await security_page(request, person, errors=errors, status_code=refused_status(answer))

    @router.post("/settings/sessions/{session_id}/revoke")
    async def revoke_session(request: Request, session_id: str) -> Response:
        person = await deps.person(request)
        if person is None:
            return sign_in_first(request)
        if not is_uuid(session_id) or session_id == person.session_id:
            return redirect("/settings/security")  # this browser's session ends with "Sign out"
        answer = await call(deps, request, person, "DELETE", "identity", f"/api/v1/auth/sessions/{session_id}")
        if ok(answer, 204, 404):
            # 404: it had ended already, which is what was asked.
            return redirect("/settings/security", notice="session_revoked")
        errors, status = refusal(answer)
        return await security_page(request, person, errors=errors, status_code=status)

    @router.post("/settings/sessions/revoke-others")
    async def revoke_other_sessions(request: Request) -> Response:
        person = await deps.person(request)
        if person is None:
            return sign_in_first(request)
        answer = await call(deps, request, person, "POST", "identity", "/api/v1/auth/logout-others")
        if ok(answer, 200):
            return redirect("/settings/security", notice="others_signed_out")
        errors, status = refusal(answer)
        return await security_page(request, person, errors=errors, status_code=status)
