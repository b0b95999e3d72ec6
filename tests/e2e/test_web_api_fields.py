"""What the web app asks of the API: the person's time zone, a caption per account, posts listed by due time, and
all of it described in the OpenAPI document."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
from sqlalchemy.dialects import postgresql

from services.publisher.service import Listing
from tests.e2e.publishing_support import Member, create, image, publishes, settled
from tests.support import Stack, internal, sign_in, signed_as, token_from, unique_email

PASSWORD = "correct horse battery staple 42"


async def signed_up(http: httpx.AsyncClient, stack: Stack, **extra: Any) -> dict[str, Any]:
    email = unique_email("zone")
    response = await http.post("/api/v1/auth/signup", json={"name": "Zoé Zone", "email": email,
                                                            "password": PASSWORD, **extra})
    assert response.status_code == 201, response.text
    token = token_from(await stack.mail(email, "Confirm your email"))
    assert (await http.post("/api/v1/auth/verify-email", json={"token": token})).status_code == 200
    user = {"id": response.json()["id"], "email": email, "password": PASSWORD}
    assert (await sign_in(http, user)).status_code == 200
    return user


# --- the person's time zone ---------------------------------------------------------------------------------

async def test_the_browsers_zone_is_kept_at_sign_up_and_a_missing_or_unknown_one_is_utc(
        stack: Stack, new_client: Callable[[], httpx.AsyncClient]) -> None:
    for extra, expected in (({"timezone": "America/Sao_Paulo"}, "America/Sao_Paulo"), ({}, "UTC"),
                            ({"timezone": "Mars/Olympus_Mons"}, "UTC"), ({"timezone": None}, "UTC"),
                            ({"timezone": "Europe/" + "x" * 60}, "UTC"), ({"timezone": ""}, "UTC")):
        async with new_client() as http:
            await signed_up(http, stack, **extra)
            me = (await http.get("/api/v1/me")).json()
            assert me["timezone"] == expected, extra


async def test_a_person_chooses_their_zone_and_an_unknown_one_is_refused_in_words(
        stack: Stack, new_client: Callable[[], httpx.AsyncClient]) -> None:
    async with new_client() as http:
        user = await signed_up(http, stack)
        changed = await http.patch("/api/v1/me", json={"timezone": "Europe/Paris"})
        assert changed.status_code == 200, changed.text
        assert (changed.json()["timezone"], changed.json()["name"]) == ("Europe/Paris", "Zoé Zone")
        assert (await http.get("/api/v1/me")).json()["timezone"] == "Europe/Paris"

        for bad in ("Europe/Atlantis", "posix/Europe/Paris", "../../etc/passwd", "utc"):
            refused = await http.patch("/api/v1/me", json={"timezone": bad})
            assert refused.status_code == 422, bad
            error = refused.json()["error"]
            assert error["code"] == "timezone_unknown"
            assert error["message"].startswith(f"{bad} is not a time zone we know.")
            assert error["details"][0]["field"] == "timezone"
        assert (await http.get("/api/v1/me")).json()["timezone"] == "Europe/Paris"

        renamed = (await http.patch("/api/v1/me", json={"name": "  Zoé Z.  "})).json()
        assert (renamed["name"], renamed["timezone"]) == ("Zoé Z.", "Europe/Paris")
        assert (await http.patch("/api/v1/me", json={"name": " "})).status_code == 422
        assert (await http.patch("/api/v1/me", json={"email": "x@example.com"})).status_code == 422

        # What the gateway learns with every request: who it is, without asking identity a second time.
        resolved = await internal(stack, "identity", "/internal/sessions/resolve",
                                  {"token": http.cookies["postifys_session"]}, caller="gateway")
        assert resolved.status_code == 200
        assert {k: resolved.json()[k] for k in ("user_id", "name", "email", "timezone")} == {
            "user_id": user["id"], "name": "Zoé Z.", "email": user["email"], "timezone": "Europe/Paris"}

        async with httpx.AsyncClient(base_url=stack.service_url("identity"), auth=signed_as(stack, "privacy")) as svc:
            exported = (await svc.get(f"/internal/users/{user['id']}/export")).json()
        assert exported["profile"]["timezone"] == "Europe/Paris"

    async with new_client() as stranger:
        assert (await stranger.patch("/api/v1/me", json={"timezone": "Europe/Paris"})).status_code == 401


# --- a caption per account ----------------------------------------------------------------------------------

async def test_each_account_publishes_its_own_caption_and_the_others_the_posts(poster: Member,
                                                                              stack: Stack) -> None:
    post = await create(poster, caption="Fresh bread for everyone", media=[image(stack)], targets=[
        {"account_id": poster.accounts["page"]},
        {"account_id": poster.accounts["ig_page"], "caption": "Bread, the Instagram way #bread"},
        {"account_id": poster.accounts["tiktok"], "caption": "Bread on TikTok",
         "settings": {"privacy_level": "SELF_ONLY"}},
    ])
    captions = {t["platform"]: t["caption"] for t in post["targets"]}
    assert captions == {"facebook": None, "instagram": "Bread, the Instagram way #bread",
                        "tiktok": "Bread on TikTok"}
    done = await settled(poster, post["id"])
    assert [t["status"] for t in done["targets"]] == ["published"] * 3, done["targets"]

    [facebook] = await publishes(stack, platform="facebook")
    [instagram] = await publishes(stack, platform="instagram")
    [tiktok] = await publishes(stack, platform="tiktok")
    assert facebook["text"] == "Fresh bread for everyone"
    assert instagram["caption"] == "Bread, the Instagram way #bread"
    assert (tiktok["title"], tiktok["description"]) == ("Bread on TikTok", "Bread on TikTok")

    timeline = {t["platform"]: t["timeline"][0] for t in done["targets"]}
    assert timeline["instagram"]["message"] == "With a caption of its own for this account."
    assert timeline["facebook"]["message"] is None


async def test_instagrams_limits_apply_to_its_own_caption_not_the_posts(poster: Member, stack: Stack) -> None:
    many_tags = " ".join(f"#tag{i}" for i in range(31))
    page, instagram = poster.accounts["page"], poster.accounts["ig_page"]

    refused = await create(poster, caption="Short", media=[image(stack)], expect=422, targets=[
        {"account_id": page}, {"account_id": instagram, "caption": "x" * 2201}])
    assert [(d["target"], d["rule"]) for d in refused["error"]["details"]] == [(1, "instagram_caption_length")]
    refused = await create(poster, caption="Short", media=[image(stack)], expect=422, targets=[
        {"account_id": page}, {"account_id": instagram, "caption": many_tags}])
    assert [(d["target"], d["rule"]) for d in refused["error"]["details"]] == [(1, "instagram_hashtags")]

    # The post's caption breaks Instagram's rule, but Instagram gets its own: accepted.
    later = (datetime.now(UTC) + timedelta(days=3)).isoformat()
    accepted = await create(poster, caption=many_tags, media=[image(stack)], scheduled_at=later, targets=[
        {"account_id": page}, {"account_id": instagram, "caption": "Calm caption"}])
    assert (await poster.http.post(f"/api/v1/posts/{accepted['id']}/cancel")).status_code == 200

    too_long = await poster.http.post("/api/v1/posts", json={"caption": "", "media": [image(stack)], "targets": [
        {"account_id": page, "caption": "x" * 10001}]})
    assert too_long.status_code == 422


async def test_a_post_not_yet_started_changes_one_accounts_caption(poster: Member, stack: Stack) -> None:
    page, instagram = poster.accounts["page"], poster.accounts["ig_page"]
    later = (datetime.now(UTC) + timedelta(days=2)).isoformat()
    post = await create(poster, caption="For all", media=[image(stack)], scheduled_at=later,
                        targets=[{"account_id": page}, {"account_id": instagram}])
    url = f"/api/v1/posts/{post['id']}"

    changed = await poster.http.patch(url, json={"targets": [{"account_id": instagram, "caption": "Only IG"}]})
    assert changed.status_code == 200, changed.text
    assert {t["account_id"]: t["caption"] for t in changed.json()["targets"]} == {page: None, instagram: "Only IG"}
    assert changed.json()["caption"] == "For all"

    recaptioned = (await poster.http.patch(url, json={"caption": "For all, again"})).json()
    assert {t["account_id"]: t["caption"] for t in recaptioned["targets"]} == {page: None, instagram: "Only IG"}

    too_long = await poster.http.patch(url, json={"targets": [{"account_id": instagram, "caption": "y" * 2201}]})
    assert too_long.status_code == 422
    assert too_long.json()["error"]["details"][0]["rule"] == "instagram_caption_length"
    stranger = await poster.http.patch(url, json={"targets": [{"account_id": str(uuid.uuid4()), "caption": "?"}]})
    assert stranger.status_code == 422
    assert stranger.json()["error"]["details"][0]["rule"] == "target_not_in_post"

    back = (await poster.http.patch(url, json={"targets": [{"account_id": instagram, "caption": None}]})).json()
    assert [t["caption"] for t in back["targets"]] == [None, None]
    assert (await poster.http.post(f"{url}/cancel")).status_code == 200


# --- posts by due time --------------------------------------------------------------------------------------

async def all_pages(member: Member, **params: Any) -> list[str]:
    ids: list[str] = []
    cursor = None
    for _ in range(20):
        query = {**params, **({"cursor": cursor} if cursor else {})}
        response = await member.http.get("/api/v1/posts", params=query)
        assert response.status_code == 200, response.text
        body = response.json()
        ids += [p["id"] for p in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            return ids
    raise AssertionError("the pages never ended")


async def test_posts_are_listed_by_due_time_within_a_window_page_by_page(poster: Member) -> None:
    base = (datetime.now(UTC) + timedelta(days=30)).replace(minute=0, second=0, microsecond=0)
    page = [{"account_id": poster.accounts["page"]}]
    # Created in an order unlike their due times, so that the two sorts differ.
    hours = [3, 0, 5, 1, 4, 2, 6]
    due = {}
    for hour in hours:
        post = await create(poster, caption=f"At {hour}", media=[], targets=page,
                            scheduled_at=(base + timedelta(hours=hour)).isoformat())
        assert datetime.fromisoformat(post["due_at"]) == base + timedelta(hours=hour)
        due[hour] = post["id"]
    scheduled_draft = await create(poster, caption="Draft with a time", media=[], targets=page, draft=True,
                                   scheduled_at=(base + timedelta(hours=2, minutes=30)).isoformat())
    timeless_draft = await create(poster, caption="Draft without a time", media=[], targets=page, draft=True)
    assert timeless_draft["due_at"] is None

    window = {"due_from": (base + timedelta(hours=1)).isoformat(), "due_to": (base + timedelta(hours=5)).isoformat()}
    assert await all_pages(poster, sort="due", limit=2, **window) == [
        due[4], due[3], scheduled_draft["id"], due[2], due[1]]
    everything_due = await all_pages(poster, sort="due", limit=3)
    assert everything_due == [due[6], due[5], due[4], due[3], scheduled_draft["id"], due[2], due[1], due[0]]
    assert timeless_draft["id"] not in everything_due
    # Soonest first, for what is coming up: the same posts the other way round, paged the other way too.
    assert await all_pages(poster, sort="due_asc", limit=3) == everything_due[::-1]
    assert await all_pages(poster, sort="due_asc", limit=2, **window) == [
        due[1], due[2], scheduled_draft["id"], due[3], due[4]]

    # The window narrows the default sort too, which still lists by creation, drafts without a time included.
    by_creation = await all_pages(poster, limit=2, **window)
    assert by_creation == [scheduled_draft["id"], due[2], due[4], due[1], due[3]]
    assert (await all_pages(poster, limit=4))[0] == timeless_draft["id"]

    first_due = (await poster.http.get("/api/v1/posts", params={"sort": "due", "limit": 1})).json()
    first_created = (await poster.http.get("/api/v1/posts", params={"limit": 1})).json()
    for cursor, sort in ((first_due["next_cursor"], "created"), (first_created["next_cursor"], "due"),
                         (first_due["next_cursor"], "due_asc")):
        crossed = await poster.http.get("/api/v1/posts", params={"sort": sort, "cursor": cursor})
        assert crossed.status_code == 400
        assert crossed.json()["error"]["code"] == "invalid_cursor"
    assert (await poster.http.get("/api/v1/posts", params={"sort": "soon"})).status_code == 422
    for post_id in [*due.values(), scheduled_draft["id"], timeless_draft["id"]]:
        assert (await poster.http.post(f"/api/v1/posts/{post_id}/cancel")).status_code == 200


async def test_the_due_sorted_list_of_one_person_reads_the_due_index(scratch_database: str) -> None:
    db = await asyncpg.connect(scratch_database)
    try:
        people = [uuid.uuid4() for _ in range(100)]
        start = datetime(2030, 1, 1, tzinfo=UTC)
        await db.executemany(
            "INSERT INTO publisher.posts (id, user_id, caption, media, draft, due_at, created_at, updated_at) "
            "VALUES ($1, $2, '', '[]', false, $3, $4, $4)",
            [(uuid.uuid4(), people[i % len(people)], start + timedelta(minutes=37 * i), start - timedelta(minutes=i))
             for i in range(8000)])
        await db.execute("ANALYZE publisher.posts")
        someone = people[7]
        # (listing, whether the index must also give the order): a window holding fewer posts than a page may be
        # sorted after the index found them, which is cheaper.
        listings = [
            (Listing(limit=20, by_due=True), True),
            (Listing(limit=20, by_due=True, due_from=start + timedelta(days=30), due_to=start + timedelta(days=60)),
             False),
            (Listing(limit=20, by_due=True, due_from=start, due_to=start + timedelta(days=365)), True),
            (Listing(limit=20, by_due=True, before=(start + timedelta(days=90), uuid.uuid4())), True),
        ]
        for listing, ordered in listings:
            sql = listing.query(someone).compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True})
            plan = "\n".join(row[0] for row in await db.fetch(f"EXPLAIN {sql}"))
            assert "ix_posts_user_id_due_at" in plan, plan
            assert "Seq Scan" not in plan, plan
            if ordered:
                assert "Sort" not in plan, plan
                assert "Index Scan Backward" in plan, plan
    finally:
        await db.execute("DELETE FROM publisher.posts")
        await db.close()


# --- the API description ------------------------------------------------------------------------------------

async def test_the_openapi_document_describes_the_new_fields(client: httpx.AsyncClient) -> None:
    document = (await client.get("/api/v1/openapi.json")).json()
    schemas = document["components"]["schemas"]
    assert "patch" in document["paths"]["/api/v1/me"]
    assert "timezone" in schemas["UserOut"]["properties"]
    assert schemas["MePatch"]["properties"]["timezone"]["description"]
    assert schemas["SignUpIn"]["properties"]["timezone"]["description"]
    assert schemas["TargetIn"]["properties"]["caption"]["description"]
    assert schemas["TargetPatch"]["properties"]["caption"]["description"]
    assert "targets" in schemas["PostPatch"]["properties"]
    assert "caption" in schemas["TargetOut"]["properties"]
    assert "due_at" in schemas["PostOut"]["properties"]
    listing = document["paths"]["/api/v1/posts"]["get"]
    parameters = {p["name"]: p for p in listing["parameters"]}
    for name in ("due_from", "due_to", "sort", "cursor"):
        assert parameters[name]["description"], name
    assert parameters["sort"]["schema"]["enum"] == ["created", "due", "due_asc"] or \
        parameters["sort"]["schema"].get("default") == "created"
    assert "sort=due" in listing["description"]
