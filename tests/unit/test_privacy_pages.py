"""The public privacy pages: the policy as HTML and the deletion instructions Meta reads, both served by the
gateway itself."""

from __future__ import annotations

from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path

import pytest
from markupsafe import Markup
from starlette.routing import Match

from services.gateway.app import create_app
from services.gateway.privacy_pages import (
    DELETION_INSTRUCTIONS_PATH,
    PRIVACY_CONTACT,
    Document,
    render_deletion_instructions,
    render_privacy_policy,
)
from services.gateway.routing import service_for
from services.gateway.settings import GatewaySettings
from services.gateway.web.context import TEMPLATES

POLICY = (Path(__file__).parents[2] / "services" / "gateway" / "static" / "privacy-policy.txt").read_text()
VOID = {"meta", "link", "br", "img", "input", "hr"}


def shown(render: Callable[..., Document], *args: str) -> str:
    """The page as the gateway serves it: the document in the layout, for a visitor who is not signed in."""
    document = render(*args)
    return TEMPLATES.env.get_template("document.html").render(
        title=document.title, body=Markup(document.body), person=None, notice=None, nav="document")


class Elements(HTMLParser):
    """The text of each element (its descendants' included), its links; fails on tags that do not nest."""

    def __init__(self) -> None:
        super().__init__()
        self.open: list[int] = []
        self.found: list[tuple[str, str]] = []
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in VOID:
            self.open.append(len(self.found))
            self.found.append((tag, ""))
        self.hrefs += [value or "" for name, value in attrs if name == "href"]

    def handle_endtag(self, tag: str) -> None:
        assert self.found[self.open.pop()][0] == tag

    def handle_data(self, data: str) -> None:
        for index in self.open:
            self.found[index] = (self.found[index][0], self.found[index][1] + data)

    def texts(self, tag: str) -> list[str]:
        return [" ".join(text.split()) for name, text in self.found if name == tag]


def parsed(page: str) -> Elements:
    elements = Elements()
    elements.feed(page)
    elements.close()
    assert elements.open == []
    return elements


class TestRouting:
    def test_the_instructions_are_not_sent_to_the_privacy_service(self) -> None:
        assert service_for(DELETION_INSTRUCTIONS_PATH) is None
        assert service_for("/privacy") is None
        assert service_for("/privacy/deletion/ABC123") == "privacy"
        assert service_for("/privacy/deletion") == "privacy"

    def test_the_gateway_answers_both_pages_before_its_catch_all_route(self) -> None:
        app = create_app(GatewaySettings(env="development"))
        for path in ("/privacy", DELETION_INSTRUCTIONS_PATH):
            scope = {"type": "http", "path": path, "method": "GET", "root_path": "", "query_string": b"",
                     "headers": []}
            first = next(route for route in app.routes if route.matches(scope)[0] == Match.FULL)
            assert getattr(first, "path", None) != "/{path:path}", path


class TestPolicyPage:
    def test_the_title_and_the_section_lines_become_headings(self) -> None:
        page = parsed(shown(render_privacy_policy, POLICY))
        assert page.texts("title") == ["Privacy Policy · Postifys"]
        assert page.texts("h1") == ["Privacy Policy"]
        assert page.texts("h2") == ["Information we collect", "How we use information", "Platform data",
                                    "Data sharing", "Data security", "Data retention and deletion", "Contact"]

    def test_every_line_of_the_policy_is_on_the_page(self) -> None:
        page = parsed(shown(render_privacy_policy, POLICY))
        on_page = page.texts("h1") + page.texts("h2") + page.texts("p") + page.texts("li")
        for line in filter(None, (line.strip().removeprefix("- ") for line in POLICY.splitlines())):
            assert line in on_page

    def test_it_links_to_the_deletion_instructions_and_the_contact_address(self) -> None:
        hrefs = parsed(shown(render_privacy_policy, POLICY)).hrefs
        assert DELETION_INSTRUCTIONS_PATH in hrefs
        assert f"mailto:{PRIVACY_CONTACT}" in hrefs

    def test_the_text_is_escaped(self) -> None:
        page = shown(render_privacy_policy, "Title <b>\n<script>alert(1)</script>\n- a & <i>b</i>.\nx' onload='y.")
        assert "<script>" not in page
        assert "<b>" not in page
        assert "<i>" not in page
        assert "&lt;script&gt;" in page
        assert "x&#x27; onload=&#x27;y." in page

    def test_an_empty_policy_still_renders(self) -> None:
        assert parsed(shown(render_privacy_policy, "")).texts("h1") == ["Privacy Policy"]


class TestDeletionInstructions:
    def test_the_contact_address_is_the_one_in_the_policy(self) -> None:
        assert PRIVACY_CONTACT in POLICY

    @pytest.mark.parametrize("statement", [
        "POST /api/v1/privacy/deletion-requests",
        '{"scope": "account", "password": "…"}',
        '{"scope": "connections"}',
        "re-enter your password",
        "Settings & privacy → Settings → Apps and Websites",
        "/privacy/deletion/<confirmation code>",
        f"Write to {PRIVACY_CONTACT}",
        "confirmation code, what was asked",
        "no email address, name or platform account id in the clear",
        "starts as soon as the request is received",
        "within one month",
    ])
    def test_it_states_how_to_ask_what_is_kept_and_when(self, statement: str) -> None:
        page = parsed(shown(render_deletion_instructions))
        assert statement in page.texts("body")[0]

    def test_it_is_well_formed_and_links_back(self) -> None:
        page = parsed(shown(render_deletion_instructions))
        assert page.texts("h1") == ["How to delete your data"]
        assert len(page.texts("h2")) == 6
        assert {"/privacy", "/", f"mailto:{PRIVACY_CONTACT}"} <= set(page.hrefs)

    def test_the_contact_address_is_escaped(self) -> None:
        page = shown(render_deletion_instructions, "<b>privacy@example.com</b>")
        assert "<b>" not in page
        assert "mailto:privacy@example.com" in page
