"""The consent dialogs of www.facebook.com, www.instagram.com and www.tiktok.com: a small page where a browser picks a
sandbox account and grants or declines each scope, or a test posts the same form, and is sent back with a code."""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from html import escape
from urllib.parse import urlencode, urlsplit, urlunsplit

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from sandbox.state import Platform, SandboxState
from sandbox.web import original_path, request_fields, sandbox_state

router = APIRouter()

FORM_METHODS = ["GET", "POST"]
# Marks that the page's form was sent, so unticking every scope declines them all instead of granting all.
GRANTED_FIELD = "granted"


@dataclass(frozen=True)
class ConsentAccount:
    id: str
    label: str
    declined: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Dialog:
    platform: Platform
    title: str
    client_field: str
    accounts: Callable[[SandboxState], list[ConsentAccount]]
    deny_params: tuple[tuple[str, str], ...]
    new_code: Callable[[], str]
    fragment: str = ""
    scopes_in_redirect: bool = False
    always_granted: tuple[str, ...] = ()


def _facebook_accounts(state: SandboxState) -> list[ConsentAccount]:
    return [ConsentAccount(u.id, u.name, u.declined) for u in state.facebook.users.values()]


def _instagram_accounts(state: SandboxState) -> list[ConsentAccount]:
    return [ConsentAccount(a.id, f"{a.name} (@{a.username})") for a in state.instagram.accounts.values()]


def _tiktok_accounts(state: SandboxState) -> list[ConsentAccount]:
    return [ConsentAccount(c.open_id, f"{c.display_name} (@{c.username})") for c in state.tiktok.creators.values()]


def _meta_code() -> str:
    return f"AQ{secrets.token_urlsafe(48)}"


def _tiktok_code() -> str:
    # Real TikTok codes carry characters that must be URL-decoded before the exchange; so do these.
    return f"{secrets.token_urlsafe(36)}*0!{secrets.token_urlsafe(8)}"


FACEBOOK = Dialog(
    platform="facebook", title="Log in with Facebook", client_field="client_id", accounts=_facebook_accounts,
    deny_params=(("error", "access_denied"), ("error_reason", "user_denied"),
                 ("error_description", "Permissions error")),
    new_code=_meta_code, fragment="#_=_", always_granted=("public_profile",))
INSTAGRAM = Dialog(
    platform="instagram", title="Log in with Instagram", client_field="client_id", accounts=_instagram_accounts,
    deny_params=(("error", "access_denied"), ("error_reason", "user_denied"),
                 ("error_description", "The user denied your request.")),
    new_code=_meta_code, fragment="#_=_")
TIKTOK = Dialog(
    platform="tiktok", title="Authorize with TikTok", client_field="client_key", accounts=_tiktok_accounts,
    deny_params=(("error", "access_denied"), ("error_description", "The user denied the authorization request.")),
    new_code=_tiktok_code, scopes_in_redirect=True)


@router.api_route("/facebook-www/dialog/oauth", methods=FORM_METHODS, include_in_schema=False)
async def facebook_dialog(request: Request) -> Response:
    return await _consent(request, FACEBOOK)


@router.api_route("/instagram-www/oauth/authorize", methods=FORM_METHODS, include_in_schema=False)
@router.api_route("/instagram-api/oauth/authorize", methods=FORM_METHODS, include_in_schema=False)
async def instagram_dialog(request: Request) -> Response:
    return await _consent(request, INSTAGRAM)


@router.api_route("/tiktok-www/v2/auth/authorize/", methods=FORM_METHODS, include_in_schema=False)
async def tiktok_dialog(request: Request) -> Response:
    return await _consent(request, TIKTOK)


async def _consent(request: Request, dialog: Dialog) -> Response:
    state = sandbox_state(request)
    fields = await request_fields(request)
    params = dict(fields)
    client_id = params.get(dialog.client_field) or params.get("client_id", "")
    redirect_uri = params.get("redirect_uri", "")
    if client_id != state.credentials.client_id(dialog.platform):
        return _problem(dialog, f"Invalid app: {dialog.client_field} {client_id!r} is not an app of this sandbox.")
    if not _is_web_url(redirect_uri):
        return _problem(dialog, "The redirect_uri is missing or is not an absolute http(s) URL.")
    if params.get("response_type", "code") != "code":
        return _problem(dialog, "The sandbox supports response_type=code only.")
    requested = _split_scopes(params.get("scope", ""))
    accounts = dialog.accounts(state)
    if request.method == "GET":
        return HTMLResponse(_page(dialog, original_path(request), params, requested, accounts))

    account = next((a for a in accounts if a.id == params.get("user_id", accounts[0].id if accounts else "")), None)
    if account is None:
        return _problem(dialog, f"Unknown sandbox account {params.get('user_id')!r}.")
    state_param = [("state", params["state"])] if "state" in params else []
    decision = params.get("decision")
    if decision == "deny":
        return RedirectResponse(_with_query(redirect_uri, [*dialog.deny_params, *state_param]), status_code=302)
    if decision != "allow":
        return _problem(dialog, "The decision must be allow or deny.")

    if any(name == GRANTED_FIELD for name, _ in fields):
        ticked = {value for name, value in fields if name == GRANTED_FIELD}
        chosen = [scope for scope in requested if scope in ticked]
    else:
        chosen = requested
    granted = [scope for scope in chosen if scope not in account.declined]
    declined = [scope for scope in requested if scope not in granted]
    implied = [scope for scope in dialog.always_granted if scope not in granted]
    code = state.issue_code(dialog.platform, redirect_uri=redirect_uri, subject=account.id,
                            granted=[*implied, *granted], declined=declined, value=dialog.new_code())
    query = [("code", code.value)]
    if dialog.scopes_in_redirect:
        query.append(("scopes", ",".join(granted)))
    return RedirectResponse(_with_query(redirect_uri, [*query, *state_param]) + dialog.fragment, status_code=302)


def _split_scopes(scope: str) -> list[str]:
    return list(dict.fromkeys(s for s in re.split(r"[,\s]+", scope) if s))


def _is_web_url(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def _with_query(url: str, pairs: list[tuple[str, str]]) -> str:
    parts = urlsplit(url)
    query = "&".join(q for q in (parts.query, urlencode(pairs)) if q)
    return urlunsplit(parts._replace(query=query, fragment=""))


def _problem(dialog: Dialog, message: str) -> HTMLResponse:
    body = f"<h1>{escape(dialog.title)}</h1><p class=problem>{escape(message)}</p>"
    return HTMLResponse(_document(dialog.title, body), status_code=400)


def _page(dialog: Dialog, action: str, params: dict[str, str], requested: list[str],
          accounts: list[ConsentAccount]) -> str:
    hidden = "".join(
        f'<input type="hidden" name="{escape(name)}" value="{escape(params[name])}">'
        for name in (dialog.client_field, "redirect_uri", "state", "scope", "response_type") if name in params)
    options = "".join(
        f'<option value="{escape(a.id)}">{escape(a.label)}'
        + (f" (always declines {escape(', '.join(sorted(a.declined)))})" if a.declined else "") + "</option>"
        for a in accounts)
    scopes = "".join(
        f'<label><input type="checkbox" name="{GRANTED_FIELD}" value="{escape(s)}" checked> {escape(s)}</label>'
        for s in requested) or "<p>No permissions requested.</p>"
    body = (
        f"<h1>{escape(dialog.title)}</h1><p>Sandbox app <code>{escape(params.get(dialog.client_field, ''))}</code> "
        f"asks for access. It will send you back to <code>{escape(params.get('redirect_uri', ''))}</code>.</p>"
        f'<form method="post" action="{escape(action)}">{hidden}<input type="hidden" name="{GRANTED_FIELD}" value="">'
        f'<label>Continue as <select name="user_id">{options}</select></label>'
        f"<fieldset><legend>Permissions</legend>{scopes}</fieldset>"
        '<button type="submit" name="decision" value="allow">Continue</button> '
        '<button type="submit" name="decision" value="deny">Cancel</button></form>')
    return _document(dialog.title, body)


def _document(title: str, body: str) -> str:
    return (
        f"<!doctype html><html lang=en><head><meta charset=utf-8><title>{escape(title)} (sandbox)</title>"
        "<meta name=viewport content='width=device-width, initial-scale=1'><style>"
        "body{font-family:system-ui,sans-serif;max-width:32rem;margin:2rem auto;padding:0 1rem}"
        "label{display:block;margin:.4rem 0}fieldset{margin:1rem 0}button{padding:.4rem 1rem;margin-right:.5rem}"
        ".problem{color:#a00}</style></head>"
        f"<body>{body}</body></html>")
