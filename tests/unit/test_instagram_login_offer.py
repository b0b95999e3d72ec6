"""Instagram Login is optional in production: without its app id nothing offers it or sends anyone to a consent
page with an empty client_id."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from services.connector import tables
from services.connector.service import ConnectorService, build_providers
from services.connector.settings import ConnectorSettings
from services.connector.tokens import TokenStore
from services.connector.vault import Vault
from services.gateway.web.accounts import connect_offers
from services.gateway.web.context import TEMPLATES, Person
from shared.errors import PostifysError
from shared.internal import Caller
from shared.runtime import ServiceRuntime
from tests.unit.test_production_settings import build

CALLER = Caller(user_id=uuid.uuid4(), session_id=uuid.uuid4(), email_verified=True)


@pytest.fixture
async def connector() -> AsyncIterator[ConnectorService]:
    settings = build(ConnectorSettings, instagram_app_id="")
    assert isinstance(settings, ConnectorSettings)
    async with httpx.AsyncClient() as http:
        runtime = ServiceRuntime(settings, tables.Base.metadata)  # never connects: nothing here is stored
        try:
            yield ConnectorService(runtime, settings, build_providers(http, settings),
                                   TokenStore(Vault(settings.vault_keys.get_secret_value())))
        finally:
            await runtime.engine.dispose()


async def test_connecting_with_instagram_login_unconfigured_is_a_clear_refusal(connector: ConnectorService) -> None:
    for attempt in (connector.start(CALLER, "instagram"),
                    connector.complete(CALLER, "instagram", {"state": "s" * 43, "code": "c"})):
        with pytest.raises(PostifysError) as refused:
            await attempt
        assert (refused.value.status_code, refused.value.code) == (409, "provider_not_configured")


def render_accounts(accounts: list[dict[str, Any]], *, instagram_login: bool) -> str:
    person = Person(user_id=str(uuid.uuid4()), session_id=str(uuid.uuid4()), email_verified=True, name="Ada",
                    email="ada@example.com", timezone="UTC")
    return TEMPLATES.env.get_template("accounts.html").render(
        person=person, accounts=accounts, offers=connect_offers(instagram_login=instagram_login), outcome=None)


def test_the_accounts_page_offers_instagram_login_only_when_configured() -> None:
    accounts: list[dict[str, Any]] = []
    assert "/api/v1/connections/instagram/start" not in render_accounts(accounts, instagram_login=False)
    offered = render_accounts(accounts, instagram_login=True)
    assert "/api/v1/connections/instagram/start" in offered
    assert "/api/v1/connections/facebook/start" in offered
    assert "/api/v1/connections/tiktok/start" in offered
