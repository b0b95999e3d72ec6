"""Schemathesis against the gateway's OpenAPI document, as a stranger and as a verified person with connected
Facebook, Instagram and TikTok sandbox accounts and posts of their own: no server error, no answer outside the
schema. Where the generated part of a case is valid, its ids are often swapped for the person's own (posts not
yet published among them), its media for the sandbox's and its setting names for the platforms', so that the
input reaches past "not found" into the platform rules."""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import checks
from schemathesis.config import ChecksConfig
from schemathesis.core.parameters import ParameterLocation

from services.publisher.rules import PLATFORM_SETTINGS
from tests.support import DEFAULT_USERS, Stack, connect, sign_in, sign_up, wait_for

SETTING_NAMES = sorted({name for names in PLATFORM_SETTINGS.values() for name in names})
EXAMPLES = 60


@dataclass
class Member:
    gateway: str
    media: str
    cookie: str
    accounts: dict[str, str]  # external id -> account id
    posts: list[str] = field(default_factory=list)
    targets: list[str] = field(default_factory=list)

    def create(self, body: dict[str, Any]) -> dict[str, Any]:
        with httpx.Client(base_url=self.gateway, timeout=30, cookies={"postifys_session": self.cookie}) as http:
            created = http.post("/api/v1/posts", json=body)
        assert created.status_code == 201, created.text
        return dict(created.json())

    def unpublished_post(self, choice: int) -> str:
        """A post made now, so that a change or a cancellation finds one that has not started."""
        if choice % 2:
            return str(self.create({"caption": "Fresh draft", "draft": True,
                                    "targets": [{"account_id": self.accounts["1029"]}]})["id"])
        # Not to TikTok: each TikTok post asks for the creator's options, which TikTok allows 20 times a minute.
        later = (datetime.now(UTC) + timedelta(days=365)).isoformat()
        return str(self.create({
            "caption": "Later", "scheduled_at": later, "media": [{"url": f"{self.media}/p.jpg", "type": "image"}],
            "targets": [{"account_id": self.accounts["1029"]}, {"account_id": self.accounts["178414"]}]})["id"])


async def signed_in_member(stack: Stack, platform_users: dict[str, str]) -> Member:
    async with httpx.AsyncClient(base_url=stack.gateway, timeout=30,
                                 headers={"X-Forwarded-For": stack.new_client_ip()}) as http:
        await sign_in(http, await sign_up(http, stack, name="Fuzz"))
        for provider, user in platform_users.items():
            await connect(http, stack, provider, user=user)
        accounts = {a["external_id"]: a["id"] for a in (await http.get("/api/v1/accounts")).json()["items"]}
        return Member(stack.gateway, f"{stack.env['POSTIFYS_SANDBOX_URL']}/_sandbox/media",
                      str(http.cookies["postifys_session"]), accounts)


async def with_a_failed_post(stack: Stack, member: Member) -> Member:
    """And a published post, with a failed target to retry, so that real ids reach every post operation."""
    for body in ({"caption": "Broken", "media": [{"url": f"{member.media}-missing/gone.jpg", "type": "image"}],
                  "targets": [{"account_id": member.accounts["1020"]}]},
                 {"caption": "Out now", "targets": [{"account_id": member.accounts["1029"]}]}):
        created = await asyncio.to_thread(member.create, body)
        member.posts.append(created["id"])
        member.targets += [t["id"] for t in created["targets"]]

    async def failed() -> bool:
        async with httpx.AsyncClient(base_url=stack.gateway, cookies={"postifys_session": member.cookie}) as http:
            post = (await http.get(f"/api/v1/posts/{member.posts[0]}")).json()
        return post["targets"][0]["status"] == "failed"
    await wait_for(failed, timeout=40, message="the broken post to fail")
    return member


@pytest.fixture(scope="session")
def member(stack: Stack) -> Member:
    async def prepare() -> Member:
        return await with_a_failed_post(stack, await signed_in_member(stack, DEFAULT_USERS))
    return asyncio.run(prepare())


@pytest.fixture(scope="session")
def expendable(stack: Stack) -> Member:
    """Signed in for what would undo the main member: disconnecting accounts, asking for deletion, signing out.
    Other people at the platforms, since disconnecting revokes the platform's grant for everyone who used it."""
    return asyncio.run(signed_in_member(stack, {"facebook": "5552", "tiktok": "-000def"}))


@pytest.fixture(scope="session")
def api_schema(stack: Stack) -> schemathesis.BaseSchema:
    api = schemathesis.openapi.from_url(f"{stack.gateway}/api/v1/openapi.json")
    # Bodies beyond the services' 64 KiB cap are refused as too large, which is a refusal too.
    api.config.checks = ChecksConfig.from_dict({"negative_data_rejection": {"expected-statuses": [
        "400", "401", "403", "404", "405", "406", "409", "413", "415", "422", "428", "429", "5xx"]}})
    return api


def stable(value: object) -> int:
    """A number drawn from the generated value itself, so that hypothesis replays a failure exactly."""
    return int.from_bytes(hashlib.sha256(str(value).encode("utf-8", "surrogatepass")).digest()[:8], "big")


def own(value: object, pool: list[str]) -> object:
    """Three generated values in four become one of the pool's."""
    return pool[stable(value) % len(pool)] if pool and stable(value) % 4 else value


def reach_deeper(case: schemathesis.Case, member: Member) -> None:
    """Only where the generated part is valid, so that a case meant to be refused stays what it was."""
    components = case.meta.components if case.meta is not None else {}

    def valid(location: ParameterLocation) -> bool:
        return location in components and not components[location].mode.is_negative

    path = case.path_parameters
    if valid(ParameterLocation.PATH) and isinstance(path, dict):
        if "post_id" in path and "target_id" not in path and stable(path["post_id"]) % 2:
            path["post_id"] = member.unpublished_post(stable(path["post_id"]) // 2)
        pools = {"account_id": list(member.accounts.values()), "post_id": member.posts, "target_id": member.targets}
        for name in path.keys() & pools.keys():
            path[name] = own(path[name], pools[name])
    if valid(ParameterLocation.QUERY) and isinstance(case.query, dict) and "account_id" in case.query:
        case.query["account_id"] = own(case.query["account_id"], list(member.accounts.values()))
    if valid(ParameterLocation.BODY) and case.path == "/api/v1/posts" and isinstance(case.body, dict):
        with_platform_content(case.body, member)


def with_platform_content(body: dict[str, Any], member: Member) -> None:
    choice = stable(body) % 3
    if choice == 1:
        body["media"] = [{"url": f"{member.media}/p{i}.jpg", "type": "image"} for i in range(stable(body) % 4 + 1)]
    elif choice == 2:
        body["media"] = [{"url": f"{member.media}/v.mp4", "type": "video", "duration_sec": 15}]
    for target in body.get("targets") or []:
        if not isinstance(target, dict) or "account_id" not in target:
            continue
        target["account_id"] = own(target["account_id"], list(member.accounts.values()))
        if isinstance(target.get("settings"), dict):
            target["settings"] = {own(name, SETTING_NAMES): value for name, value in target["settings"].items()}


def cookie_negated(case: schemathesis.Case) -> bool:
    components = case.meta.components if case.meta is not None else {}
    cookie = components.get(ParameterLocation.COOKIE)
    data = case.meta.phase.data if case.meta is not None else None
    return (cookie is not None and cookie.mode.is_negative) or \
        getattr(data, "parameter_location", None) == ParameterLocation.COOKIE


# Business rules (an unknown token, a guessable password, an account not yours) rightly refuse input that the
# schema alone allows, so "positive data acceptance" is not a property this API has.
NOT_APPLICABLE = [checks.positive_data_acceptance]
# Operations that would undo the member's accounts, posts or session: sent signed in as the expendable member.
UNDOING = {("POST", "/api/v1/auth/logout"), ("DELETE", "/api/v1/accounts/{account_id}"),
           ("POST", "/api/v1/privacy/deletion-requests"), ("POST", "/api/v1/auth/password-change"),
           ("DELETE", "/api/v1/auth/sessions/{session_id}")}

schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_server_errors_and_every_answer_matches_the_schema(case: schemathesis.Case, stack: Stack,
                                                              member: Member, expendable: Member) -> None:
    signed_in = expendable if (case.method.upper(), case.path) in UNDOING else member
    reach_deeper(case, signed_in)
    case.call_and_validate(headers={"X-Forwarded-For": stack.new_client_ip()}, excluded_checks=NOT_APPLICABLE)
    if case.path == "/api/v1/auth/logout":
        return  # ends the session it is sent with; the session tests cover it
    # Signed in, the same input reaches the handlers behind the session check. The cookie is set here, so a
    # case generated with a missing or wrong cookie may not be invalid any more: skip the checks about that.
    excluded = [*NOT_APPLICABLE, checks.ignored_auth]
    if cookie_negated(case):
        excluded.append(checks.negative_data_rejection)
    case.call_and_validate(headers={"X-Forwarded-For": stack.new_client_ip(),
                                    "Cookie": f"postifys_session={signed_in.cookie}"}, excluded_checks=excluded)
