"""The composer: write once, choose accounts and each one's settings, publish now, schedule or keep a draft;
and change a post that has not started. Works as plain form posts; static/js/compose.js only improves it."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import structlog
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from starlette.datastructures import UploadFile

from services.gateway.web import compose_form as cf
from services.gateway.web import library as lib
from services.gateway.web.context import (
    Person,
    content_security_policy,
    error_of,
    form_token,
    origin_of,
    page,
    redirect,
    sign_in_first,
)
from services.gateway.web.deps import WebDeps

log = structlog.get_logger()

EDITABLE = frozenset({"draft", "scheduled"})
# Actions that only show the composer again, with what was typed: nothing is sent to the publisher.
REDRAW = frozenset({"add_media", "library_more", "library_first"})
UNREACHABLE = "Postifys could not reach this account's settings just now. Try again in a moment."


@dataclass(frozen=True)
class AccountView:
    """One connected account as the composer shows it: can it be ticked, and what its platform says."""

    account: cf.Account
    ticked: bool
    options: dict[str, Any] | None
    # Why it cannot take a post right now (the platform said so when asked), or None.
    cannot_post: str | None
    options_note: str | None

    @property
    def id(self) -> str:
        return self.account.id

    @property
    def can_tick(self) -> bool:
        return self.account.publishable and self.cannot_post is None

    @property
    def tiktok(self) -> dict[str, Any]:
        return dict((self.options or {}).get("tiktok") or {})

    @property
    def instagram(self) -> dict[str, Any]:
        return dict((self.options or {}).get("instagram") or {})

    @property
    def display_name(self) -> str:
        return str(self.tiktok.get("creator_nickname") or self.account.name)

    @property
    def avatar(self) -> str | None:
        return self.tiktok.get("creator_avatar_url") or self.account.avatar_url


def register(router: APIRouter, deps: WebDeps) -> None:
    https_only = deps.settings.is_production
    upload_auth = deps.settings.internal_signer().streaming_auth()

    async def accounts_of(request: Request, person: Person) -> tuple[list[cf.Account], str | None]:
        try:
            response = await deps.upstream().call(request, person, "GET", "connector", "/api/v1/accounts")
        except httpx.HTTPError as exc:
            log.warning("Connector unreachable for the composer", error=type(exc).__name__)
            return [], "Your connected accounts could not be loaded just now. Try again in a moment."
        if response.status_code != 200:
            return [], error_of(response)["message"]
        return [cf.Account.from_api(item) for item in response.json().get("items") or []], None

    async def options_of(request: Request, person: Person, account: cf.Account
                         ) -> tuple[dict[str, Any] | None, str | None]:
        try:
            response = await deps.upstream().call(request, person, "GET", "connector",
                                                  f"/api/v1/accounts/{account.id}/publishing-options")
        except httpx.HTTPError as exc:
            log.warning("Publishing options unreachable", error=type(exc).__name__)
            return None, UNREACHABLE
        if response.status_code != 200:
            return None, error_of(response)["message"]
        return dict(response.json()), None

    async def views_of(request: Request, person: Person, form: cf.ComposeForm,
                       accounts: list[cf.Account]) -> list[AccountView]:
        asked = [a for a in accounts if a.publishable]
        answers = await asyncio.gather(*(options_of(request, person, a) for a in asked))
        found = {a.id: answer for a, answer in zip(asked, answers, strict=True)}
        views = []
        for account in accounts:
            options, problem = found.get(account.id, (None, None))
            # TikTok is asked before every post (its Content Sharing Guidelines): no answer, no post now.
            cannot_post = f"TikTok cannot take a post from this account right now: {problem}" \
                if problem and account.platform == "tiktok" else None
            note = problem if problem and account.platform != "tiktok" else None
            views.append(AccountView(account=account, ticked=account.id in form.ticked and cannot_post is None
                                     and account.publishable, options=options, cannot_post=cannot_post,
                                     options_note=note))
        return views

    def allowed_origins(form: cf.ComposeForm, views: list[AccountView]) -> set[str]:
        urls = [m.url.strip() for m in form.used_media()] + [v.avatar for v in views]
        return {o for o in (origin_of(u, https_only=https_only) for u in urls) if o}

    async def show(request: Request, person: Person, form: cf.ComposeForm, accounts: list[cf.Account], *,
                   errors: dict[str, str] | None = None, status: int = 200, post: dict[str, Any] | None = None,
                   load_problem: str | None = None) -> Response:
        views = await views_of(request, person, form, accounts) if post is None else [
            AccountView(account=a, ticked=a.id in form.ticked, options=None, cannot_post=None, options_note=None)
            for a in accounts if a.id in form.ticked]
        origins = allowed_origins(form, views)
        tiktok = [v for v in views if v.account.platform == "tiktok"]
        branded = any(v.ticked and form.target(v.id).commercial and form.target(v.id).brand_content for v in tiktok) \
            if post is None else any(t.get("settings", {}).get("brand_content_toggle") for t in post["targets"])
        if load_problem:
            errors = {**(errors or {}), "_accounts": load_problem}
        library = await lib.library_page(deps.upstream(), request, person, form)
        response = page(request, "compose.html", person, status_code=status,
                        title="Change post" if post else "Compose", errors=errors or None, form=form,
                        views=views, post=post, cf=cf, zones=cf.time_zones(),
                        counted=cf.counted_platforms(form, accounts),
                        connected_platforms=[p for p in cf.PLATFORM_ORDER if any(a.platform == p for a in accounts)],
                        allowed_origins=" ".join(sorted(origins)), branded_any=branded,
                        tiktok_possible=any(v.ticked or (post is None and v.can_tick) for v in tiktok),
                        library=library,
                        shows_image=lambda url: origin_of(url, https_only=https_only) in origins)
        response.headers["Content-Security-Policy"] = content_security_policy(origins)
        return response

    def zone_of(person: Person) -> str:
        return person.timezone if cf.valid_zone(person.timezone) else "UTC"

    @router.get("/compose")
    async def compose(request: Request, post: str | None = None, at: str | None = None) -> Response:
        person = await deps.person(request)
        if person is None:
            return sign_in_first(request)
        if post is not None:
            return await edit(request, person, post)
        accounts, problem = await accounts_of(request, person)
        return await show(request, person, cf.blank(form_token(), zone_of(person), at), accounts,
                          load_problem=problem)

    async def edit(request: Request, person: Person, post_id: str) -> Response:
        loaded = await editable_post(request, person, post_id)
        if isinstance(loaded, Response):
            return loaded
        accounts, problem = await accounts_of(request, person)
        form = cf.from_post(loaded, form_token(), zone_of(person))
        return await show(request, person, form, accounts, post=loaded, load_problem=problem)

    async def editable_post(request: Request, person: Person, post_id: str) -> dict[str, Any] | Response:
        """The post, or the page saying why it cannot be changed here."""
        try:
            safe_id = str(uuid.UUID(post_id))
        except ValueError:
            return page(request, "compose_locked.html", person, status_code=404, title="Post not found", post=None)
        try:
            response: httpx.Response | None = await deps.upstream().call(request, person, "GET", "publisher",
                                                                         f"/api/v1/posts/{safe_id}")
        except httpx.HTTPError:
            response = None
        if response is None or response.status_code >= 500:
            return page(request, "compose_locked.html", person, status_code=503, title="Change post", post=None,
                        reason="Postifys could not load this post just now. Try again in a moment.")
        if response.status_code != 200:
            return page(request, "compose_locked.html", person, status_code=response.status_code,
                        title="Post not found", post=None, reason=error_of(response)["message"])
        post: dict[str, Any] = response.json()
        if not all(t["status"] in EDITABLE for t in post.get("targets") or []):
            return page(request, "compose_locked.html", person, status_code=409, title="Change post", post=post,
                        reason="Publishing has started for this post, so it can no longer be changed.")
        return post

    @router.post("/compose")
    async def submit(request: Request) -> Response:
        person = await deps.person(request)
        if person is None:
            return sign_in_first(request)
        form = cf.parse((await request.form()).multi_items(), default_zone=zone_of(person))  # type: ignore[arg-type]
        if not form.token:
            form.token = form_token()
        if form.post_id:
            return await submit_change(request, person, form)
        accounts, problem = await accounts_of(request, person)
        if form.action in REDRAW or problem:
            return await show(request, person, form, accounts, load_problem=problem,
                              status=200 if form.action in REDRAW else 503)
        outcome = cf.to_body(form, accounts, now=datetime.now(UTC))
        if outcome.body is None:
            return await show(request, person, form, accounts, errors=outcome.errors, status=422)
        answer = await send(request, person, "POST", "/api/v1/posts", outcome.body,
                            headers={"Idempotency-Key": form.token})
        if isinstance(answer, dict):
            return redirect(f"/posts/{answer['id']}", notice=cf.NOTICE_FOR[form.when])
        errors, status = refusal(answer, form, accounts, outcome)
        return await show(request, person, form, accounts, errors=errors, status=status)

    async def submit_change(request: Request, person: Person, form: cf.ComposeForm) -> Response:
        loaded = await editable_post(request, person, form.post_id or "")
        if isinstance(loaded, Response):
            return loaded
        accounts, problem = await accounts_of(request, person)
        form.ticked = [str(t["account_id"]) for t in loaded.get("targets") or []]
        if form.action in REDRAW:
            return await show(request, person, form, accounts, post=loaded, load_problem=problem)
        outcome = cf.to_body(form, accounts, now=datetime.now(UTC), editing=True)
        if outcome.body is None:
            return await show(request, person, form, accounts, errors=outcome.errors, status=422, post=loaded)
        answer = await send(request, person, "PATCH", f"/api/v1/posts/{loaded['id']}", outcome.body)
        if isinstance(answer, dict):
            return redirect(f"/posts/{answer['id']}", notice=cf.NOTICE_FOR[form.when])
        errors, status = refusal(answer, form, accounts, outcome)
        return await show(request, person, form, accounts, errors=errors, status=status, post=loaded)

    @router.post(lib.UPLOAD_PAGE)
    async def upload(request: Request) -> Response:
        """The plain form's upload (no JavaScript): the files go on to the library and come back ticked, with
        everything else as it was typed."""
        person = await deps.person(request)
        if person is None:
            return sign_in_first(request)
        async with request.form(max_files=lib.MOST_UPLOADS) as sent:
            files = [f for f in sent.getlist("file") if isinstance(f, UploadFile) and f.filename]
            form = cf.parse([(k, v) for k, v in sent.multi_items() if isinstance(v, str)],
                            default_zone=zone_of(person))
            errors: dict[str, str] = {}
            # No file is no error: Enter in a text field presses the form's first button, and that is this one.
            for file in files:
                outcome = await lib.send_upload(deps.upstream(), upload_auth, request, person, file)
                if isinstance(outcome, str):
                    add_error(errors, "upload-file", f"{file.filename}: {outcome}")
                elif form.chose(outcome.id) is None:
                    form.library.insert(0, cf.LibraryChoice(outcome.id, kind=outcome.kind,
                                                            duration=outcome.duration))
        form.library_cursor = ""
        if not form.token:
            form.token = form_token()
        post: dict[str, Any] | None = None
        if form.post_id:
            loaded = await editable_post(request, person, form.post_id)
            if isinstance(loaded, Response):
                return loaded
            post = loaded
            form.ticked = [str(t["account_id"]) for t in post.get("targets") or []]
        accounts, problem = await accounts_of(request, person)
        return await show(request, person, form, accounts, errors=errors or None, post=post, load_problem=problem,
                          status=422 if errors else 200)

    @router.post("/compose/check")
    async def check(request: Request) -> Response:
        """What the publisher would refuse in the form as it stands, as {field id: sentence}, for compose.js to
        show before the person submits. Nothing is stored."""
        person = await deps.person(request)
        if person is None:
            return JSONResponse({"errors": {}, "checked": False}, status_code=401)
        form = cf.parse((await request.form()).multi_items(), default_zone=zone_of(person))  # type: ignore[arg-type]
        accounts, problem = await accounts_of(request, person)
        outcome = cf.to_body(form, accounts, now=datetime.now(UTC))
        if problem or form.post_id or outcome.body is None:
            return checked({}, done=False)
        answer = await send(request, person, "POST", "/api/v1/posts/check", outcome.body)
        if isinstance(answer, dict):
            return checked({}, done=True)
        if answer is None or answer.status_code != 422:
            return checked({}, done=False)
        found = cf.field_errors(error_of(answer), form, accounts, outcome.body, outcome.media_rows)
        return checked(found, done=True)

    async def send(request: Request, person: Person, method: str, path: str, body: dict[str, Any],
                   headers: dict[str, str] | None = None) -> dict[str, Any] | httpx.Response | None:
        try:
            response = await deps.upstream().call(request, person, method, "publisher", path, json=body,
                                                  headers=headers)
        except httpx.HTTPError as exc:
            log.warning("Publisher unreachable from the composer", error=type(exc).__name__)
            return None
        return dict(response.json()) if response.status_code in (200, 201) else response

    def refusal(answer: httpx.Response | None, form: cf.ComposeForm, accounts: list[cf.Account],
                outcome: cf.Outcome) -> tuple[dict[str, str], int]:
        if answer is None:
            return {cf.GENERAL: "Postifys could not save this post just now. Nothing was published; try again "
                                "in a moment."}, 503
        error = error_of(answer)
        if error["code"] == "idempotency_key_reused":
            form.token = form_token()
        errors = cf.field_errors(error, form, accounts, outcome.body, outcome.media_rows)
        return errors, answer.status_code if 400 <= answer.status_code < 500 else 503


def checked(errors: dict[str, str], *, done: bool) -> JSONResponse:
    return JSONResponse({"errors": errors, "checked": done}, headers={"Cache-Control": "no-store"})


def add_error(errors: dict[str, str], key: str, sentence: str) -> None:
    errors[key] = f"{errors[key]} {sentence}" if key in errors else sentence
