"""Internal routes: each caller signs with its own key, and each route serves only the callers it names."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

import httpx
import pytest

from shared.internal import CALLERS, INTERNAL_SECRET_HEADER, Signer, derived_seed, encode_seed
from tests.support import Stack, connect, sign_in, sign_up, signed_as


def token_route(account_id: str) -> str:
    return f"/internal/accounts/{account_id}/access-token"


@pytest.fixture
async def tiktok_account(client: httpx.AsyncClient, stack: Stack) -> tuple[str, str]:
    user = await sign_up(client, stack)
    assert (await sign_in(client, user)).status_code == 200
    await connect(client, stack, "tiktok")
    accounts = (await client.get("/api/v1/accounts")).json()["items"]
    return user["id"], accounts[0]["id"]


async def post(stack: Stack, service: str, path: str, json: dict[str, str], caller: str | None,
               headers: dict[str, str] | None = None) -> httpx.Response:
    auth = signed_as(stack, caller) if caller else None
    async with httpx.AsyncClient(base_url=stack.service_url(service), auth=auth) as http:
        return await http.post(path, json=json, headers=headers)


async def test_only_the_publisher_may_fetch_an_access_token(stack: Stack, tiktok_account: tuple[str, str]) -> None:
    user_id, account_id = tiktok_account
    body = {"user_id": user_id}
    allowed = await post(stack, "connector", token_route(account_id), body, "publisher")
    assert allowed.status_code == 200
    assert allowed.json()["access_token"]
    for other in ("gateway", "privacy", "operator", None):
        refused = await post(stack, "connector", token_route(account_id), body, other)
        assert refused.status_code == 403, other
        assert refused.json()["error"]["code"] == "internal_only"
        assert "access_token" not in refused.text


async def test_only_the_gateway_may_resolve_sessions(stack: Stack) -> None:
    for other in ("publisher", "privacy", "operator"):
        refused = await post(stack, "identity", "/internal/sessions/resolve", {"token": "x" * 43}, other)
        assert refused.status_code == 403, other
    allowed = await post(stack, "identity", "/internal/sessions/resolve", {"token": "x" * 43}, "gateway")
    assert allowed.status_code == 401  # heard, and no such session


async def test_the_public_api_of_a_service_serves_the_gateway_alone(stack: Stack) -> None:
    headers = {"x-postifys-user-id": str(uuid.uuid4()), "x-postifys-email-verified": "1"}
    for other in ("publisher", "privacy", "operator"):
        async with httpx.AsyncClient(base_url=stack.service_url("publisher"), auth=signed_as(stack, other)) as http:
            assert (await http.get("/api/v1/posts", headers=headers)).status_code == 403, other
    async with httpx.AsyncClient(base_url=stack.service_url("publisher"), auth=signed_as(stack, "gateway")) as http:
        assert (await http.get("/api/v1/posts", headers=headers)).status_code == 200


async def test_a_signature_is_bound_to_its_service_its_request_and_its_time(
        stack: Stack, tiktok_account: tuple[str, str]) -> None:
    user_id, account_id = tiktok_account
    seed = derived_seed(stack.env["POSTIFYS_INTERNAL_SECRET"], "publisher")
    signer = Signer("publisher", seed, {})
    path = token_route(account_id)
    body = json.dumps({"user_id": user_id}).encode()
    async with httpx.AsyncClient(base_url=stack.service_url("connector")) as http:
        async def attempt(header: str, content: bytes = body) -> int:
            return (await http.post(path, content=content, headers={INTERNAL_SECRET_HEADER: header,
                                                                    "content-type": "application/json"})).status_code

        assert await attempt(signer.header("connector", "POST", path, {}, body)) == 200
        # Meant for another service, another path, another method, another body, or too old: all refused.
        assert await attempt(signer.header("identity", "POST", path, {}, body)) == 403
        assert await attempt(signer.header("connector", "POST", f"/internal/accounts/{uuid.uuid4()}/describe",
                                           {}, body)) == 403
        assert await attempt(signer.header("connector", "GET", path, {}, body)) == 403
        other_user = json.dumps({"user_id": str(uuid.uuid4())}).encode()
        assert await attempt(signer.header("connector", "POST", path, {}, body), other_user) == 403
        assert await attempt(signer.header("connector", "POST", path, {}, body, now=time.time() - 600)) == 403
        # A key the system never gave out, under a caller's name.
        stranger = Signer("publisher", derived_seed("some-other-root", "publisher"), {})
        assert await attempt(stranger.header("connector", "POST", path, {}, body)) == 403
        # The old shared-secret header is no credential at all.
        assert await attempt(stack.env["POSTIFYS_INTERNAL_SECRET"]) == 403


async def test_the_identity_a_signature_vouches_for_cannot_be_swapped(stack: Stack) -> None:
    seed = derived_seed(stack.env["POSTIFYS_INTERNAL_SECRET"], "gateway")
    signer = Signer("gateway", seed, {})
    me, victim = str(uuid.uuid4()), str(uuid.uuid4())
    header = signer.header("publisher", "GET", "/api/v1/posts", {"x-postifys-user-id": me})
    async with httpx.AsyncClient(base_url=stack.service_url("publisher")) as http:
        ok = await http.get("/api/v1/posts", headers={INTERNAL_SECRET_HEADER: header, "x-postifys-user-id": me})
        assert ok.status_code == 200
        swapped = await http.get("/api/v1/posts", headers={INTERNAL_SECRET_HEADER: header,
                                                           "x-postifys-user-id": victim})
        assert swapped.status_code == 403


def test_services_receive_their_own_key_and_never_the_root(stack: Stack) -> None:
    root = stack.env["POSTIFYS_INTERNAL_SECRET"]
    for name, process in stack.system.processes.items():
        raw = Path(f"/proc/{process.pid}/environ").read_bytes().decode(errors="replace")
        environ = dict(line.split("=", 1) for line in raw.split("\0") if "=" in line)
        assert "POSTIFYS_INTERNAL_SECRET" not in environ, name
        assert root not in "".join(environ.values()), name
        own = environ.get("POSTIFYS_INTERNAL_SIGNING_KEY")
        if name in CALLERS:
            assert own == encode_seed(derived_seed(root, name))
        else:
            assert own is None, name
