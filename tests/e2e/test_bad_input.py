"""Bad input on every identity endpoint and on posts: a 4xx in the one error shape, never a 500, nothing lost."""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from collections.abc import Callable, Iterator

import asyncpg
import httpx
import pytest

from tests.e2e.publishing_support import Member, create, image, publishes, video
from tests.support import STRONG_PASSWORD, Stack, restart_with, sign_in, sign_up, token_from, unique_email, wait_for

PUBLIC_POSTS = ["/api/v1/auth/signup", "/api/v1/auth/login", "/api/v1/auth/verify-email",
                "/api/v1/auth/resend-verification", "/api/v1/auth/password-reset",
                "/api/v1/auth/password-reset/confirm"]
SIGNED_IN_POSTS = ["/api/v1/auth/password-change", "/api/v1/auth/logout"]


def assert_error_shape(response: httpx.Response, status: int | tuple[int, ...]) -> dict:
    statuses = status if isinstance(status, tuple) else (status,)
    assert response.status_code in statuses, (response.status_code, response.text)
    body = response.json()
    assert set(body) == {"error"}
    assert isinstance(body["error"]["code"], str)
    assert isinstance(body["error"]["message"], str)
    assert "Traceback" not in response.text
    return body["error"]


@pytest.mark.parametrize("path", PUBLIC_POSTS + SIGNED_IN_POSTS)
async def test_malformed_json_wrong_types_missing_fields_and_huge_bodies(path: str, client: httpx.AsyncClient,
                                                                         stack: Stack) -> None:
    if path in SIGNED_IN_POSTS:
        await sign_in(client, await sign_up(client, stack))
    headers = {"content-type": "application/json"}
    if path != "/api/v1/auth/logout":  # takes no body
        assert_error_shape(await client.post(path, content=b'{"email": ', headers=headers), 400)
        missing = assert_error_shape(await client.post(path, json={}), 422)
        assert missing["details"]
        assert_error_shape(await client.post(path, json={"email": 5, "password": ["x"], "token": {},
                                                         "name": None}), 422)
        assert_error_shape(await client.post(path, json=["not", "an", "object"]), 422)
    assert_error_shape(await client.post(path, content=b"x" * (1024 * 1024), headers=headers), 413)


async def test_invalid_email_short_and_common_passwords_are_named(client: httpx.AsyncClient) -> None:
    bad_email = assert_error_shape(await client.post("/api/v1/auth/signup", json={
        "name": "N", "email": "not-an-email", "password": STRONG_PASSWORD}), 422)
    assert bad_email["details"][0]["field"] == "email"
    short = assert_error_shape(await client.post("/api/v1/auth/signup", json={
        "name": "N", "email": unique_email(), "password": "short pass"}), 422)
    assert short["details"][0]["field"] == "password"
    assert "12" in short["details"][0]["message"]
    common = assert_error_shape(await client.post("/api/v1/auth/signup", json={
        "name": "N", "email": unique_email(), "password": "qwertyuiopasdfghjkl"}), 422)
    assert common["code"] == "weak_password"


async def test_long_unicode_passwords_work_exactly_as_typed(client: httpx.AsyncClient, stack: Stack) -> None:
    password = "Ünïcödé pass 🐎 " * 8  # 128 characters, never truncated
    user = await sign_up(client, stack, password=password)
    assert (await sign_in(client, user)).status_code == 200
    assert (await sign_in(client, user, password[:-1])).status_code == 401
    assert (await sign_in(client, user, password.upper())).status_code == 401


async def test_reused_and_expired_tokens_are_refused(client: httpx.AsyncClient, stack: Stack,
                                                     db: asyncpg.Connection) -> None:
    email = unique_email()
    await client.post("/api/v1/auth/signup", json={"name": "N", "email": email, "password": STRONG_PASSWORD})
    token = token_from(await stack.mail(email, "Confirm your email"))
    assert (await client.post("/api/v1/auth/verify-email", json={"token": token})).status_code == 200
    reused = assert_error_shape(await client.post("/api/v1/auth/verify-email", json={"token": token}), 400)
    assert reused["code"] == "invalid_token"

    await client.post("/api/v1/auth/password-reset", json={"email": email})
    reset = token_from(await stack.mail(email, "Reset your Postifys password"))
    await db.execute("UPDATE identity.email_tokens SET expires_at = now() - interval '1 second' "
                     "WHERE purpose = 'reset' AND used_at IS NULL")
    expired = await client.post("/api/v1/auth/password-reset/confirm",
                                json={"token": reset, "password": "a brand new passphrase"})
    assert assert_error_shape(expired, 400)["code"] == "invalid_token"
    # Nothing was changed by the refused reset.
    assert (await sign_in(client, {"email": email, "password": STRONG_PASSWORD})).status_code == 200


async def test_unknown_paths_and_methods_answer_in_the_error_shape(client: httpx.AsyncClient) -> None:
    assert_error_shape(await client.get("/api/v1/nothing-here"), 404)
    assert_error_shape(await client.get("/api/v1/auth/signup"), (401, 405))


# --- posts, as a hostile user signed in and verified with connected accounts ----------------------------

OUT_OF_RANGE_TIMES = [
    {"scheduled_at": "9999-12-31T23:59:59-10:00"},
    {"scheduled_at": "0001-01-01T00:00:00+10:00"},
    {"scheduled_at": "9999-12-31T23:59:59Z"},
    {"scheduled_at": "0001-01-01T00:00:00Z"},
    {"scheduled_at": "9999-12-31T23:59:59", "timezone": "America/Adak"},
    {"scheduled_at": "0001-01-01T00:00:00", "timezone": "Pacific/Kiritimati"},
]


def encoded_cursor(created_at: str) -> str:
    return base64.urlsafe_b64encode(f"{created_at}|{uuid.uuid4()}".encode()).decode()


async def test_times_no_clock_can_convert_are_422_when_creating_changing_and_listing(poster: Member,
                                                                                     stack: Stack) -> None:
    page = [{"account_id": poster.accounts["page"]}]
    for when in OUT_OF_RANGE_TIMES:
        refused = await poster.http.post("/api/v1/posts", json={"caption": "x", "targets": page, **when})
        assert_error_shape(refused, 422)
    draft = await create(poster, caption="A draft", media=[], targets=page, draft=True)
    for when in OUT_OF_RANGE_TIMES:
        assert_error_shape(await poster.http.patch(f"/api/v1/posts/{draft['id']}", json=when), 422)
    for query in ("created_from=0001-01-01T00:00:00%2B10:00", "created_to=9999-12-31T23:59:59-10:00",
                  "created_from=9999-12-31T23:59:59Z", "created_to=0001-01-01T00:00:00Z"):
        assert_error_shape(await poster.http.get(f"/api/v1/posts?{query}"), 422)
    for created_at in ("0001-01-01T00:00:00+10:00", "9999-12-31T23:59:59-10:00", "0001-01-01T00:00:00"):
        listed = await poster.http.get("/api/v1/posts", params={"cursor": encoded_cursor(created_at)})
        assert assert_error_shape(listed, 400)["code"] == "invalid_cursor"
    # The publisher is still there, and nothing was created or sent.
    listed = await poster.http.get("/api/v1/posts")
    assert [p["id"] for p in listed.json()["items"]] == [draft["id"]]
    assert await publishes(stack) == []


BAD_SETTINGS = [
    # (account, media, settings, the setting the refusal names)
    ("tiktok", "photo", {"privacy_level": "SELF_ONLY", "title": 5}, "title"),
    ("tiktok", "photo", {"privacy_level": "SELF_ONLY", "title": True}, "title"),
    ("tiktok", "video", {"privacy_level": "SELF_ONLY", "title": ["a"]}, "title"),
    ("tiktok", "video", {"privacy_level": "SELF_ONLY", "title": "t" * 2201}, "title"),
    ("tiktok", "video", {"privacy_level": 5}, "privacy_level"),
    ("tiktok", "video", {"privacy_level": "EVERYONE_AND_THEIR_DOG"}, "privacy_level"),
    ("tiktok", "video", {"privacy_level": "SELF_ONLY", "post_mode": ["inbox"]}, "post_mode"),
    ("tiktok", "video", {"privacy_level": "SELF_ONLY", "allow_comment": "yes"}, "allow_comment"),
    ("tiktok", "video", {"privacy_level": "SELF_ONLY", "video_cover_timestamp_ms": 10**15}, "video_cover_timestamp_ms"),
    ("tiktok", "video", {"privacy_level": "SELF_ONLY", "video_cover_timestamp_ms": -1}, "video_cover_timestamp_ms"),
    ("tiktok", "photo", {"privacy_level": "SELF_ONLY", "photo_cover_index": 7}, "photo_cover_index"),
    ("tiktok", "video", {"privacy_level": "SELF_ONLY", "link": "https://example.com"}, "link"),
    ("ig_page", "video", {"thumb_offset": 10**15}, "thumb_offset"),
    ("ig_page", "video", {"thumb_offset": 1.5}, "thumb_offset"),
    ("ig_page", "video", {"cover_url": "javascript:alert(1)"}, "cover_url"),
    ("ig_page", "photo", {"share_to_feed": "true"}, "share_to_feed"),
    ("ig_page", "photo", {"privacy_level": "SELF_ONLY"}, "privacy_level"),
    ("page", "none", {"link": "ftp://example.com/file"}, "link"),
    ("page", "none", {"link": "https://example.com/" + "a" * 2048}, "link"),
    ("page", "none", {"title": {"nested": "object"}}, "title"),
    ("page", "none", {"share_to_feed": True}, "share_to_feed"),
]


async def test_each_platform_setting_of_the_wrong_type_or_out_of_bounds_is_a_named_422(poster: Member,
                                                                                     stack: Stack) -> None:
    content = {"photo": [image(stack)], "video": [video(stack)], "none": []}
    unnamed = []
    for account, media, settings, named in BAD_SETTINGS:
        response = await poster.http.post("/api/v1/posts", json={
            "caption": "Settings", "media": content[media],
            "targets": [{"account_id": poster.accounts[account], "settings": settings}]})
        assert response.status_code != 500, (settings, response.text)
        details = assert_error_shape(response, 422)["details"]
        if not any(named in f"{d.get('field')} {d.get('message')}" for d in details):
            unnamed.append((account, settings, details))
    assert unnamed == []
    assert (await poster.http.get("/api/v1/posts")).json()["items"] == []


UNSTORABLE = ["\ud800", "a\udfffb", "\x00", "nul\x00inside"]


def raw_json(value: object) -> bytes:
    """JSON as a client may send it: lone surrogates escaped, which the JSON text allows."""
    return json.dumps(value, ensure_ascii=True).encode()


@pytest.mark.parametrize("text", UNSTORABLE, ids=["lone-high", "lone-low", "nul", "nul-inside"])
async def test_text_postgres_cannot_store_is_422_in_every_field_of_a_post(poster: Member, stack: Stack,
                                                                          text: str) -> None:
    tiktok = poster.accounts["tiktok"]

    def body(**changes: object) -> dict:
        post = {"caption": "ok", "media": [image(stack)],
                "targets": [{"account_id": tiktok, "settings": {"privacy_level": "SELF_ONLY"}}]}
        return {**post, **changes}

    bodies = [
        body(caption=text),
        body(media=[{**image(stack), "alt_text": text}]),
        body(media=[{"url": f"https://example.com/{text}.jpg", "type": "image"}]),
        body(scheduled_at="2030-01-01T10:00:00", timezone=text),
        body(targets=[{"account_id": tiktok, "settings": {"privacy_level": "SELF_ONLY", "title": text}}]),
        body(targets=[{"account_id": tiktok, "settings": {"privacy_level": "SELF_ONLY", text: True}}]),
        body(targets=[{"account_id": tiktok, "settings": {"privacy_level": text}}]),
        body(targets=[{"account_id": tiktok, "settings": {"privacy_level": "SELF_ONLY", "x": {"y": [text]}}}]),
    ]
    headers = {"content-type": "application/json"}
    for sent in bodies:
        response = await poster.http.post("/api/v1/posts", content=raw_json(sent), headers=headers)
        assert_error_shape(response, 422)
    draft = await create(poster, caption="A draft", media=[image(stack)], targets=body()["targets"], draft=True)
    for change in ({"caption": text}, {"timezone": text}, {"media": [{**image(stack), "alt_text": text}]}):
        response = await poster.http.patch(f"/api/v1/posts/{draft['id']}", content=raw_json(change), headers=headers)
        assert_error_shape(response, 422)
    assert [p["id"] for p in (await poster.http.get("/api/v1/posts")).json()["items"]] == [draft["id"]]


async def test_numbers_without_bounds_and_nulls_for_required_fields_are_422(poster: Member, stack: Stack) -> None:
    page, instagram = poster.accounts["page"], poster.accounts["ig_page"]
    headers = {"content-type": "application/json"}
    reel = [{"account_id": instagram, "settings": {"thumb_offset": 1}}]
    for number in (b"NaN", b"Infinity", b"-Infinity", b"1e400", b"100000000000000000000000000000"):
        for sent in (b'{"caption": "x", "media": [{"url": "https://example.com/v.mp4", "type": "video", '
                     b'"duration_sec": %s}], "targets": %s}' % (number, json.dumps(reel).encode()),
                     b'{"caption": "x", "media": [{"url": "https://example.com/v.mp4", "type": "video"}], '
                     b'"targets": [{"account_id": "%s", "settings": {"thumb_offset": %s}}]}' % (
                         instagram.encode(), number)):
            assert_error_shape(await poster.http.post("/api/v1/posts", content=sent, headers=headers), 422)
    nested: dict = {}
    for _ in range(30):
        nested = {"a": nested}
    deep = await poster.http.post("/api/v1/posts", json={"caption": "x", "targets": [
        {"account_id": page, "settings": {"link": nested}}]})
    assert_error_shape(deep, 422)
    draft = await create(poster, caption="A draft", media=[], targets=[{"account_id": page}], draft=True)
    for change in ({"caption": None}, {"draft": None}, {"media": None}):
        assert_error_shape(await poster.http.patch(f"/api/v1/posts/{draft['id']}", json=change), 422)
    after = (await poster.http.get(f"/api/v1/posts/{draft['id']}")).json()
    assert (after["caption"], after["draft"]) == ("A draft", True)


@pytest.fixture
def low_post_quotas(stack: Stack) -> Iterator[dict[str, int]]:
    """The publisher restarted with small quotas, and restarted as it was afterwards."""
    quotas = {"POSTIFYS_POSTS_PER_MINUTE": 3, "POSTIFYS_POSTS_PER_HOUR": 5}
    before = {name: stack.env.get(name) for name in quotas}
    restart_with(stack, "publisher", {name: str(value) for name, value in quotas.items()})
    try:
        yield quotas
    finally:
        restart_with(stack, "publisher", before)


async def test_creating_posts_is_limited_per_user_per_minute_and_per_hour(
        low_post_quotas: dict[str, int], poster: Member, stack: Stack, db: asyncpg.Connection,
        new_client: Callable[[], httpx.AsyncClient]) -> None:
    page = [{"account_id": poster.accounts["page"]}]

    async def attempt(n: int, **headers: str) -> httpx.Response:
        return await poster.http.post("/api/v1/posts", headers=headers,
                                      json={"caption": f"Post {n}", "targets": page, "draft": True})

    # Six at once: the per-minute quota lets exactly three through, however they race.
    answers = await asyncio.gather(*(attempt(n, **{"Idempotency-Key": f"key-{n}"}) for n in range(6)))
    assert sorted(a.status_code for a in answers) == [201] * 3 + [429] * 3
    refused = next(a for a in answers if a.status_code == 429)
    assert assert_error_shape(refused, 429)["code"] == "post_limit_reached"
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    # Asking again with a key already answered gets the first answer back, quota or not.
    created = next(a for a in answers if a.status_code == 201)
    key = created.request.headers["Idempotency-Key"]
    again = await attempt(int(key.removeprefix("key-")), **{"Idempotency-Key": key})
    assert (again.status_code, again.json()["id"]) == (201, created.json()["id"])

    # A minute later the minute's quota is free again, the hour's (five) is not.
    await db.execute("UPDATE publisher.posts SET created_at = created_at - interval '61 seconds' "
                     "WHERE user_id = $1::uuid", poster.user_id)
    assert [(await attempt(n)).status_code for n in range(3)] == [201, 201, 429]
    hourly = await attempt(9)
    assert assert_error_shape(hourly, 429)["details"] == {"limit": 5, "window": "hour"}
    assert 60 < int(hourly.headers["Retry-After"]) <= 3600
    assert await db.fetchval("SELECT count(*) FROM publisher.posts WHERE user_id = $1::uuid", poster.user_id) == 5

    # Other people are not held back by it: their post is read (and refused for its own reason).
    async with new_client() as other:
        await sign_in(other, await sign_up(other, stack))
        theirs = await other.post("/api/v1/posts", json={"caption": "Mine", "targets": [
            {"account_id": str(uuid.uuid4())}]})
        assert assert_error_shape(theirs, 422)["details"][0]["rule"] == "account_not_found"


async def test_a_platform_limit_on_asking_about_an_account_is_a_429_to_wait_not_a_503(poster: Member,
                                                                                      stack: Stack) -> None:
    tiktok = poster.accounts["tiktok"]
    for _ in range(40):  # TikTok answers creator_info 20 times a minute per token
        options = await poster.http.get(f"/api/v1/accounts/{tiktok}/publishing-options")
        if options.status_code != 200:
            break
    assert assert_error_shape(options, 429)["code"] == "platform_rate_limited"
    assert int(options.headers["Retry-After"]) > 0
    # A TikTok post needs those options to be checked, so it waits the same way.
    post = await poster.http.post("/api/v1/posts", json={
        "caption": "Too soon", "media": [video(stack)],
        "targets": [{"account_id": tiktok, "settings": {"privacy_level": "SELF_ONLY"}}]})
    assert assert_error_shape(post, 429)["code"] == "platform_rate_limited"
    assert int(post.headers["Retry-After"]) > 0


async def test_changing_a_post_while_a_worker_finishes_one_of_its_targets_is_not_a_deadlock(
        poster: Member, db: asyncpg.Connection, stack: Stack) -> None:
    """A worker locks its target, then the post (to see whether the post is complete); the API must take them in
    that order too, or the two wait for each other and Postgres aborts one of them: the person's request."""
    draft = await create(poster, caption="A draft", media=[], targets=[{"account_id": poster.accounts["page"]}],
                         draft=True)
    worker = await asyncpg.connect(stack.database_url)
    try:
        await worker.execute("SET deadlock_timeout = '20s'")  # so that Postgres gives up on the API, not on us
        async with worker.transaction():
            await worker.execute("SELECT 1 FROM publisher.targets WHERE id = $1::uuid FOR UPDATE",
                                 draft["targets"][0]["id"])
            cancel = asyncio.create_task(poster.http.post(f"/api/v1/posts/{draft['id']}/cancel"))

            async def waiting_for_our_lock() -> bool:
                return bool(await db.fetchval(
                    "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a USING (pid) WHERE NOT l.granted "
                    "AND a.datname = current_database() AND a.pid <> $1", worker.get_server_pid()))
            await wait_for(waiting_for_our_lock, message="the cancellation to wait for the target's lock")
            await worker.execute("SELECT 1 FROM publisher.posts WHERE id = $1::uuid FOR UPDATE", draft["id"])
        cancelled = await cancel
    finally:
        await worker.close()
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["targets"][0]["status"] == "cancelled"
