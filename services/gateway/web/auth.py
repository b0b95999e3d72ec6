"""Signing up, in and out, confirming the email address and choosing a new password: plain HTML forms the gateway
turns into calls to identity's public API, so all of it works with JavaScript off."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.datastructures import FormData

from services.gateway.web.context import Person, error_of, page, redirect
from services.gateway.web.deps import WebDeps

MIN_PASSWORD_LENGTH = 12  # identity's policy (services/identity/passwords.py); identity checks it again
PASSWORD_HINT = f"At least {MIN_PASSWORD_LENGTH} characters. A few unrelated words are easy to remember."
UNAVAILABLE = "Postifys could not do that just now. Try again in a moment."
EMAIL_FORMAT = "Enter an email address in the right format, like name@example.com"
ENTER_EMAIL = "Enter your email address"
WRONG_CREDENTIALS = "The email address or password is not right. Check both and try again."
SIGN_UP_FIELDS = {"name": "Enter your name, up to 100 characters", "email": EMAIL_FORMAT,
                  "password": f"Enter a password of at least {MIN_PASSWORD_LENGTH} characters"}


def text(form: FormData, name: str, *, strip: bool = True) -> str:
    value = form.get(name)
    if not isinstance(value, str):
        return ""
    return value.strip() if strip else value


def local_path(value: str | None) -> str:
    """Where to go after signing in: a path on this site only. `//host` and `/\\host` lead browsers elsewhere."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
        return "/"
    return value


def field_errors(response: httpx.Response, sentences: dict[str, str], fallback: str) -> dict[str, str]:
    """The upstream's refusal as {field id: sentence}: our own wording for malformed fields, the service's for the
    rest (a weak password says why), and the whole refusal on `fallback` when it names no field of ours."""
    error = error_of(response)
    errors: dict[str, str] = {}
    details = error["details"] if isinstance(error["details"], list) else []
    for detail in details:
        name = str(detail.get("field") or "") if isinstance(detail, dict) else ""
        if name in sentences and name not in errors:
            malformed = error["code"] == "validation_error"
            errors[name] = sentences[name] if malformed else str(detail.get("message") or error["message"])
    return errors or {fallback: error["message"]}


def password_problem(password: str, *, empty: str) -> str | None:
    if not password:
        return empty
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"Use at least {MIN_PASSWORD_LENGTH} characters for your password"
    return None


def with_cookies_of(answer: httpx.Response, response: Response) -> Response:
    """The session cookie identity set (or cleared) reaches the browser on our redirect."""
    for value in answer.headers.get_list("set-cookie"):
        response.headers.append("set-cookie", value)
    return response


def no_store(response: Response) -> Response:
    """Pages that may carry a token from a mailed link are kept by no browser or proxy."""
    response.headers["Cache-Control"] = "no-store"
    return response


def register(router: APIRouter, deps: WebDeps) -> None:
    async def call(request: Request, person: Person | None, method: str, path: str,
                   body: dict[str, Any] | None = None) -> httpx.Response | None:
        try:
            return await deps.upstream().call(request, person, method, "identity", path, json=body)
        except httpx.HTTPError:
            return None

    def unavailable(request: Request, template: str, person: Person | None, **context: Any) -> Response:
        return page(request, template, person, status_code=503, errors={"_service": UNAVAILABLE}, **context)

    # --- signing in and out ----------------------------------------------------------------------

    def signin_page(request: Request, *, email: str = "", next_path: str = "/", errors: dict[str, str] | None = None,
                    status_code: int = 200) -> Response:
        return page(request, "signin.html", None, title="Sign in", email=email, next_path=next_path,
                    errors=errors or {}, status_code=status_code)

    @router.get("/signin")
    async def signin_form(request: Request) -> Response:
        next_path = local_path(request.query_params.get("next"))
        if await deps.person(request) is not None:
            return redirect(next_path)
        return signin_page(request, next_path=next_path)

    @router.post("/signin")
    async def signin(request: Request) -> Response:
        form = await request.form()
        email, password = text(form, "email"), text(form, "password", strip=False)
        next_path = local_path(text(form, "next"))
        errors = {k: v for k, v in {"email": "" if email else ENTER_EMAIL,
                                    "password": "" if password else "Enter your password"}.items() if v}
        if errors:
            return signin_page(request, email=email, next_path=next_path, errors=errors, status_code=422)
        answer = await call(request, None, "POST", "/api/v1/auth/login", {"email": email, "password": password})
        if answer is None:
            return signin_page(request, email=email, next_path=next_path, errors={"_service": UNAVAILABLE},
                               status_code=503)
        if answer.status_code == 200:
            return with_cookies_of(answer, redirect(next_path))
        refusal = WRONG_CREDENTIALS if answer.status_code == 401 else error_of(answer)["message"]
        return signin_page(request, email=email, next_path=next_path, errors={"email": refusal},
                           status_code=refused_status(answer))

    @router.post("/signout")
    async def signout(request: Request) -> Response:
        person = await deps.person(request)
        if person is not None:
            await call(request, person, "POST", "/api/v1/auth/logout")
        # Cleared here whatever identity answered: the browser forgets the session even if identity is away.
        response = redirect("/", notice="signed_out")
        response.delete_cookie(deps.settings.session_cookie_name, path="/", httponly=True, samesite="lax",
                               secure=deps.settings.is_production)
        return response

    # --- signing up ------------------------------------------------------------------------------

    def signup_page(request: Request, *, values: dict[str, str] | None = None,
                    errors: dict[str, str] | None = None, status_code: int = 200) -> Response:
        return page(request, "signup.html", None, title="Create an account", values=values or {},
                    errors=errors or {}, password_hint=PASSWORD_HINT, status_code=status_code)

    @router.get("/signup")
    async def signup_form(request: Request) -> Response:
        if await deps.person(request) is not None:
            return redirect("/")
        return signup_page(request)

    @router.post("/signup")
    async def signup(request: Request) -> Response:
        form = await request.form()
        values = {"name": text(form, "name"), "email": text(form, "email"), "timezone": text(form, "timezone")}
        password = text(form, "password", strip=False)
        errors = {k: v for k, v in {
            "name": "" if values["name"] else "Enter your name",
            "email": "" if values["email"] else ENTER_EMAIL,
            "password": password_problem(password, empty="Choose a password") or ""}.items() if v}
        if errors:
            return signup_page(request, values=values, errors=errors, status_code=422)
        body = {"name": values["name"], "email": values["email"], "password": password}
        # The browser's zone is a default (identity takes an unknown one as UTC); a longer value is no zone at all.
        if 0 < len(values["timezone"]) <= 64:
            body["timezone"] = values["timezone"]
        answer = await call(request, None, "POST", "/api/v1/auth/signup", body)
        if answer is None:
            return signup_page(request, values=values, errors={"_service": UNAVAILABLE}, status_code=503)
        if answer.status_code == 201:
            # The same answer whether or not the address already had an account (identity mails its owner), so
            # the next step is the same too: sign in. Signing in here at once would tell the two apart.
            return redirect("/signin", notice="signed_up")
        return signup_page(request, values=values, errors=field_errors(answer, SIGN_UP_FIELDS, "email"),
                           status_code=refused_status(answer))

    # --- passwords -------------------------------------------------------------------------------

    @router.get("/forgot-password")
    async def forgot_form(request: Request) -> Response:
        person = await deps.person(request)
        return page(request, "forgot.html", person, title="Reset your password",
                    email=person.email if person else "", errors={})

    @router.post("/forgot-password")
    async def forgot(request: Request) -> Response:
        person = await deps.person(request)
        email = text(await request.form(), "email")
        if not email:
            return page(request, "forgot.html", person, title="Reset your password", email=email,
                        errors={"email": ENTER_EMAIL}, status_code=422)
        answer = await call(request, None, "POST", "/api/v1/auth/password-reset", {"email": email})
        if answer is None:
            return unavailable(request, "forgot.html", person, title="Reset your password", email=email)
        if answer.status_code == 202:
            return redirect("/forgot-password", notice="reset_sent")
        return page(request, "forgot.html", person, title="Reset your password", email=email,
                    errors=field_errors(answer, {"email": EMAIL_FORMAT}, "email"),
                    status_code=refused_status(answer))

    def reset_page(request: Request, person: Person | None, *, token: str = "",
                   errors: dict[str, str] | None = None, status_code: int = 200) -> Response:
        return no_store(page(request, "reset.html", person, title="Choose a new password", token=token,
                             errors=errors or {}, password_hint=PASSWORD_HINT, status_code=status_code))

    @router.get("/reset-password")
    async def reset_form(request: Request) -> Response:
        return reset_page(request, await deps.person(request))

    @router.post("/reset-password")
    async def reset(request: Request) -> Response:
        person = await deps.person(request)
        form = await request.form()
        token, password = text(form, "token"), text(form, "password", strip=False)
        errors = {k: v for k, v in {
            "token": "" if token else "Enter the reset code from the link we sent you",
            "password": password_problem(password, empty="Choose a new password") or ""}.items() if v}
        if errors:
            return reset_page(request, person, token=token, errors=errors, status_code=422)
        answer = await call(request, None, "POST", "/api/v1/auth/password-reset/confirm",
                            {"token": token, "password": password})
        if answer is None:
            return reset_page(request, person, token=token, errors={"_service": UNAVAILABLE}, status_code=503)
        if answer.status_code == 204:
            # Identity has ended every session of the account, this browser's included.
            return redirect("/signin", notice="password_changed")
        errors = field_errors(answer, {"token": "Enter the reset code from the link we sent you",
                                       "password": SIGN_UP_FIELDS["password"]}, "token")
        return reset_page(request, person, token=token, errors=errors,
                          status_code=refused_status(answer))

    # --- confirming the email address ------------------------------------------------------------

    def verify_page(request: Request, person: Person | None, *, token: str = "",
                    errors: dict[str, str] | None = None, status_code: int = 200) -> Response:
        return no_store(page(request, "verify.html", person, title="Confirm your email address", token=token,
                             errors=errors or {}, status_code=status_code))

    @router.get("/verify-email")
    async def verify_form(request: Request) -> Response:
        return verify_page(request, await deps.person(request))

    @router.post("/verify-email")
    async def verify(request: Request) -> Response:
        person = await deps.person(request)
        token = text(await request.form(), "token")
        if not token:
            return verify_page(request, person, errors={"token": "Enter the confirmation code from the link we "
                                                                 "sent you"}, status_code=422)
        answer = await call(request, None, "POST", "/api/v1/auth/verify-email", {"token": token})
        if answer is None:
            return verify_page(request, person, token=token, errors={"_service": UNAVAILABLE}, status_code=503)
        if answer.status_code == 200:
            changed = answer.json().get("email_changed") is True
            return redirect(("/settings" if changed else "/") if person else "/signin",
                            notice="email_changed" if changed else "email_verified")
        return verify_page(request, person, token=token,
                           errors=field_errors(answer, {"token": "Enter the confirmation code from the link we "
                                                                 "sent you"}, "token"),
                           status_code=refused_status(answer))

    @router.get("/verify-email/resend")
    async def resend_form(request: Request) -> Response:
        person = await deps.person(request)
        return page(request, "resend.html", person, title="Send the confirmation link again",
                    email=person.email if person else "", errors={})

    @router.post("/verify-email/resend")
    async def resend(request: Request) -> Response:
        person = await deps.person(request)
        email = text(await request.form(), "email")
        title = "Send the confirmation link again"
        if not email:
            return page(request, "resend.html", person, title=title, email=email, errors={"email": ENTER_EMAIL},
                        status_code=422)
        answer = await call(request, None, "POST", "/api/v1/auth/resend-verification", {"email": email})
        if answer is None:
            return unavailable(request, "resend.html", person, title=title, email=email)
        if answer.status_code == 202:
            return redirect("/verify-email/resend", notice="verification_sent")
        return page(request, "resend.html", person, title=title, email=email,
                    errors=field_errors(answer, {"email": EMAIL_FORMAT}, "email"),
                    status_code=refused_status(answer))


def refused_status(answer: httpx.Response) -> int:
    """A refusal keeps its 4xx on the re-rendered page; anything else is the service being unwell."""
    return answer.status_code if 400 <= answer.status_code < 500 else 503
