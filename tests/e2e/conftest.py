"""Fixtures for the end-to-end tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator

import httpx
import pytest

from tests.e2e.media_support import storage_backend
from tests.e2e.publishing_support import Member
from tests.s3_server import moto_server
from tests.support import Stack, connect, sandbox, sign_in, sign_up


@pytest.fixture
async def poster(stack: Stack, new_client: Callable[[], httpx.AsyncClient]) -> AsyncIterator[Member]:
    await sandbox(stack, "POST", "/_sandbox/reset")
    async with new_client() as http:
        user = await sign_up(http, stack)
        await sign_in(http, user)
        for provider in ("facebook", "instagram", "tiktok"):
            await connect(http, stack, provider)
        listed = (await http.get("/api/v1/accounts")).json()["items"]
        by_external = {a["external_id"]: a["id"] for a in listed}
        yield Member(http, user["id"], {"page": by_external["1029"], "page_readonly": by_external["1030"],
                                        "ig_page": by_external["178414"], "ig_login": by_external["1020"],
                                        "tiktok": by_external["-000abc"]})


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    """An S3-compatible server (moto's) for the module's media tests, over real HTTP."""
    with moto_server() as endpoint:
        yield endpoint


@pytest.fixture(scope="module", params=["file", "s3"])
async def backend(request: pytest.FixtureRequest, stack: Stack) -> AsyncIterator[dict[str, str]]:
    """Each media test of the module once on the stack's folder, once on S3 (the media service restarted)."""
    endpoint = request.getfixturevalue("s3_endpoint") if request.param == "s3" else None
    async with storage_backend(stack, request.param, endpoint) as env:
        yield env
