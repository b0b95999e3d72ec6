"""Every form of the web app, refused by the service behind it: a sentence on a page in the layout, never the
API's JSON error body (acceptance 2 of issue 14)."""

from __future__ import annotations

import uuid

import httpx
import pytest

from services.gateway.web.library import UPLOAD_PAGE
from tests.unit import test_web_unavailable as harness

REFUSALS = (400, 401, 403, 404, 409, 413, 422, 429, 503)
SOME_ID = str(uuid.uuid4())
# Each form with values its own checks accept, so that the refusal comes from the service.
FORMS = {
    "/signin": {"email": "ada@example.test", "password": "a long enough password"},
    "/signout": {},
    "/signup": {"name": "Ada", "email": "ada@example.test", "password": "a long enough password",
                "timezone": "Europe/Paris"},
    "/forgot-password": {"email": "ada@example.test"},
    "/reset-password": {"token": "t0ken", "password": "a long enough password"},
    "/verify-email": {"token": "t0ken"},
    "/verify-email/resend": {"email": "ada@example.test"},
    "/settings/profile": {"name": "Ada", "timezone": "Europe/Paris"},
    "/settings/timezone": {"zone": "Europe/Paris", "next": "/"},
    "/settings/email": {"new_email": "new@example.test", "password": "a long enough password"},
    "/settings/email/cancel": {},
    "/settings/email/resend": {"next": "/settings"},
    "/settings/password": {"current_password": "a long enough password",
                           "new_password": "another long enough password"},
    f"/settings/sessions/{SOME_ID}/revoke": {},
    "/settings/sessions/revoke-others": {},
    "/settings/notifications": {"target_failed": "on"},
    "/settings/delete-connections": {"scope": "all", "accounts": SOME_ID, "confirm": "yes"},
    "/settings/delete-account": {"password": "a long enough password", "confirm_email": "ada@example.test",
                                 "confirm": "yes"},
    f"/accounts/{SOME_ID}/disconnect": {"confirm": "yes"},
    "/compose": {"caption": "Bagels", "accounts": SOME_ID, "when": "now", "action": "publish"},
    UPLOAD_PAGE: {"caption": "Bagels", "accounts": SOME_ID, "action": "upload"},
    f"/posts/{SOME_ID}/cancel": {},
    f"/posts/{SOME_ID}/targets/{SOME_ID}/retry": {},
}


ACCOUNT = {"id": SOME_ID, "platform": "facebook", "provider": "facebook", "kind": "facebook_page",
           "external_id": "1029", "name": "Acme Bakery", "display_name": "Acme Bakery", "status": "active",
           "publishable": True}
POST = {"id": SOME_ID, "caption": "Bagels", "status": "failed", "draft": False, "media": [], "timezone": "UTC",
        "scheduled_at": None, "created_at": "2026-12-01T09:00:00+00:00", "updated_at": "2026-12-01T09:00:00+00:00",
        "targets": [{"id": SOME_ID, "account_id": SOME_ID, "status": "failed", "due_at": None, "attempts": 1,
                     "error": {"code": "refused", "message": "Refused"}}]}


def refusing(status: int) -> httpx.MockTransport:
    """Reads answer as a quiet account; every change the form asks for is refused with `status`."""
    def answer(request: httpx.Request) -> httpx.Response:
        if request.method == "GET" and request.url.path == f"/api/v1/posts/{SOME_ID}":
            return httpx.Response(200, json=POST)
        if request.method == "GET" and request.url.path == "/api/v1/accounts":
            return httpx.Response(200, json={"items": [ACCOUNT]})
        if request.method == "GET":
            return httpx.Response(200, json={"items": [], "media": [], "next_cursor": None})
        body = {"error": {"code": "refused", "message": "The service refuses this.", "request_id": "r1",
                          "details": [{"field": "body", "message": "The service refuses this."}]}}
        return httpx.Response(status, json=body, headers={"retry-after": "7"} if status in (429, 503) else {})
    return answer  # type: ignore[return-value]


@pytest.mark.parametrize("status", REFUSALS)
@pytest.mark.parametrize("path", list(FORMS))
def test_a_refused_form_is_a_sentence_in_the_layout(path: str, status: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(harness, "SERVICES", (*harness.SERVICES, "media"))  # the composer's library
    client = harness.site(refusing(status))
    files = {"file": ("bagels.jpg", b"\xff\xd8\xff\xe0" + bytes(64), "image/jpeg")} if path == UPLOAD_PAGE else None
    response = client.post(path, data=FORMS[path], files=files, follow_redirects=False)

    assert response.status_code < 500 or response.status_code == 503, response.text[:400]
    if response.status_code in (302, 303):
        return  # the page it leads to is a page; no body to judge
    assert response.headers["content-type"].startswith("text/html"), response.text[:400]
    assert '{"error"' not in response.text
    assert "Traceback" not in response.text
    assert '<footer' in response.text, response.text[:400]
    # the refusal as a sentence: at the top of the form, or a page saying what is not there
    assert 'id="error-summary"' in response.text or response.status_code == 404, response.text[-3000:]


@pytest.mark.parametrize("path", ["/settings/email/cancel", f"/settings/sessions/{SOME_ID}/revoke",
                                  "/settings/sessions/revoke-others", "/settings/notifications"])
@pytest.mark.parametrize("status", [403, 409, 429])
def test_a_settings_action_refused_says_the_services_words_not_try_again(path: str, status: int) -> None:
    response = harness.site(refusing(status)).post(path, data=FORMS[path], follow_redirects=False)

    assert response.status_code == status
    assert "The service refuses this." in response.text
