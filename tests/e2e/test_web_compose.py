"""The composer as a browser without JavaScript uses it: plain form posts through the gateway, the pages read
as HTML, and what the publisher made of them read back through the API."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlencode

import httpx

from tests.e2e.publishing_support import Member, create, image, media_url, video
from tests.support import Stack, connect, sandbox, sign_in, sign_up, wait_for


class Page(HTMLParser):
    """What a test needs from a page: every element with an id, the form's controls and their values."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.by_id: dict[str, dict[str, Any]] = {}
        self.controls: list[dict[str, Any]] = []
        self._open: list[dict[str, Any]] = []  # elements whose text is being collected
        self.text = text
        self.words: list[str] = []
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = {"tag": tag, **{k: (v if v is not None else "") for k, v in attrs}, "text": ""}
        if "id" in element:
            self.by_id[element["id"]] = element
        if tag in ("input", "textarea", "select"):
            self.controls.append(element)
        if tag == "option" and self._select() is not None:
            select = self._select()
            assert select is not None
            select.setdefault("options", []).append(element)
        if tag not in ("input", "br", "img", "meta", "link"):
            self._open.append(element)

    def _select(self) -> dict[str, Any] | None:
        return next((e for e in reversed(self._open) if e["tag"] == "select"), None)

    def handle_endtag(self, tag: str) -> None:
        for index in range(len(self._open) - 1, -1, -1):
            if self._open[index]["tag"] == tag:
                del self._open[index:]
                break

    def handle_data(self, data: str) -> None:
        self.words.append(data)
        for element in self._open:
            element["text"] += data

    def value(self, name: str) -> str | None:
        """The value a browser would send for `name` (None: nothing sent)."""
        for control in self.controls:
            if control.get("name") != name or "disabled" in control:
                continue
            if control["tag"] == "textarea":
                return str(control["text"]).removeprefix("\n")
            if control["tag"] == "select":
                options = control.get("options", [])
                chosen = next((o for o in options if "selected" in o), options[0] if options else None)
                return None if chosen is None else str(chosen.get("value", chosen["text"]))
            if control.get("type") in ("checkbox", "radio"):
                if "checked" in control:
                    return str(control.get("value", "on"))
                continue
            return str(control.get("value", ""))
        return None

    def checked(self, element_id: str) -> bool:
        return "checked" in self.by_id[element_id]

    def disabled(self, element_id: str) -> bool:
        return "disabled" in self.by_id[element_id]

    def error(self, field: str) -> str:
        element = self.by_id.get(f"{field}-error")
        return " ".join(str(element["text"]).split()) if element else ""

    def says(self, text: str) -> bool:
        """Whether the page's text (tags left out) says this."""
        return text in " ".join("".join(self.words).split())



async def open_composer(member: Member, stack: Stack, query: str = "") -> Page:
    response = await member.http.get(f"/compose{query}")
    assert response.status_code == 200, response.text
    return Page(response.text)


async def send(member: Member, stack: Stack, fields: list[tuple[str, str]]) -> httpx.Response:
    return await member.http.post("/compose", content=urlencode(fields), follow_redirects=False, headers={
        "Origin": stack.gateway, "Content-Type": "application/x-www-form-urlencoded"})


def token_of(page: Page) -> str:
    token = page.value("token")
    assert token
    return token


def tomorrow_at(hour: int) -> tuple[str, str]:
    day = date.today() + timedelta(days=2)
    return day.isoformat(), f"{hour:02d}:30"


def post_id_of(response: httpx.Response, notice: str) -> str:
    assert response.status_code == 303, response.text
    location = httpx.URL(response.headers["location"])
    assert location.path.startswith("/posts/")
    assert location.params["notice"] == notice
    return location.path.removeprefix("/posts/")


async def test_a_post_to_all_three_carries_each_platforms_settings(poster: Member, stack: Stack) -> None:
    page = await open_composer(poster, stack)
    tiktok, page_id, ig = poster.accounts["tiktok"], poster.accounts["page"], poster.accounts["ig_page"]
    photo = media_url(stack, "beach.jpg")

    response = await send(poster, stack, [
        ("token", token_of(page)), ("caption", "Sunset at the beach #sea"), ("timezone", "UTC"), ("when", "now"),
        ("media-0-url", photo), ("media-0-type", "image"), ("media-0-alt", "A beach at sunset"),
        ("media-0-duration", ""), ("media-1-url", ""), ("media-1-type", "image"),
        ("accounts", page_id), ("accounts", ig), ("accounts", tiktok),
        (f"t-{page_id}-link", ""), (f"t-{ig}-media_type", "FEED"),
        (f"t-{tiktok}-privacy_level", "MUTUAL_FOLLOW_FRIENDS"), (f"t-{tiktok}-allow_comment", "on"),
        (f"t-{tiktok}-commercial", "on"), (f"t-{tiktok}-brand_organic", "on"), (f"t-{tiktok}-title", "Beach day"),
        (f"t-{tiktok}-caption", "Beach day, on TikTok"),
    ])

    post = (await poster.http.get(f"/api/v1/posts/{post_id_of(response, 'publishing')}")).json()
    assert post["caption"] == "Sunset at the beach #sea"
    assert post["media"][0]["url"] == photo
    assert post["media"][0]["alt_text"] == "A beach at sunset"
    settings = {t["account_id"]: t["settings"] for t in post["targets"]}
    assert {t["account_id"]: t["caption"] for t in post["targets"]} == {
        page_id: None, ig: None, tiktok: "Beach day, on TikTok"}
    assert settings[page_id] == {}
    assert settings[ig] == {"media_type": "FEED"}
    # A photo post: no duet or stitch, music only when asked for.
    assert settings[tiktok] == {"privacy_level": "MUTUAL_FOLLOW_FRIENDS", "allow_comment": True,
                                "auto_add_music": False, "title": "Beach day", "brand_organic_toggle": True,
                                "brand_content_toggle": False}


async def test_a_video_for_tiktok_sends_duet_and_stitch_off_unless_ticked(poster: Member, stack: Stack) -> None:
    page = await open_composer(poster, stack)
    tiktok = poster.accounts["tiktok"]
    clip = video(stack, duration=20)

    response = await send(poster, stack, [
        ("token", token_of(page)), ("caption", "A clip"), ("timezone", "UTC"), ("when", "draft"),
        ("media-0-url", clip["url"]), ("media-0-type", "video"), ("media-0-duration", "20"),
        ("accounts", tiktok), (f"t-{tiktok}-privacy_level", "SELF_ONLY"), (f"t-{tiktok}-allow_duet", "on"),
    ])

    post = (await poster.http.get(f"/api/v1/posts/{post_id_of(response, 'draft_saved')}")).json()
    assert post["draft"] is True
    assert post["media"][0]["duration_sec"] == 20
    assert post["targets"][0]["settings"] == {"privacy_level": "SELF_ONLY", "allow_comment": False,
                                              "allow_duet": True, "allow_stitch": False,
                                              "brand_organic_toggle": False, "brand_content_toggle": False}


async def test_the_composer_lists_every_account_and_follows_tiktoks_rules(poster: Member, stack: Stack) -> None:
    page = await open_composer(poster, stack)
    tiktok, readonly = poster.accounts["tiktok"], poster.accounts["page_readonly"]

    assert page.disabled(f"account-{readonly}")
    assert "CREATE_CONTENT" in page.by_id[f"account-{readonly}-reason"]["text"]
    assert not page.disabled(f"account-{tiktok}")
    assert page.says("Posting to Tia Creator")
    radios = [c for c in page.controls if c.get("name") == f"t-{tiktok}-privacy_level"]
    assert [r["value"] for r in radios] == ["PUBLIC_TO_EVERYONE", "MUTUAL_FOLLOW_FRIENDS", "SELF_ONLY"]
    assert not any("checked" in r for r in radios)
    for box in ("allow_comment", "allow_duet", "commercial", "brand_organic", "brand_content"):
        assert not page.checked(f"t-{tiktok}-{box}"), box
    # The seeded creator has stitches turned off.
    assert page.disabled(f"t-{tiktok}-allow_stitch")
    assert page.by_id[f"t-{tiktok}-allow_stitch-reason"]["text"] == "Tia Creator has turned off stitches on TikTok."
    assert page.says("By posting, you agree to TikTok's Music Usage Confirmation")
    assert page.says("Tia Creator can post videos up to 300 seconds long.")
    assert all(f"t-{a}-panel" in page.by_id for a in (tiktok, poster.accounts["page"], poster.accounts["ig_page"]))
    assert page.says("Facebook 0 of 63,206 characters")
    assert page.says("0 of 30 hashtags")


async def test_a_refused_post_comes_back_with_everything_typed(poster: Member, stack: Stack) -> None:
    page = await open_composer(poster, stack)
    tiktok, page_id = poster.accounts["tiktok"], poster.accounts["page"]
    day, time = tomorrow_at(9)
    typed = [
        ("token", token_of(page)), ("caption", "Our new bread, out of the oven"), ("timezone", "Europe/Paris"),
        ("when", "schedule"), ("schedule-date", day), ("schedule-time", time),
        ("media-0-url", media_url(stack, "bread.jpg")), ("media-0-type", "image"), ("media-0-alt", "A loaf"),
        ("media-1-url", media_url(stack, "crumb.jpg")), ("media-1-type", "image"), ("media-1-alt", "The crumb"),
        ("accounts", page_id), ("accounts", tiktok), (f"t-{page_id}-caption", "Fresh at Acme Bakery"),
        (f"t-{tiktok}-allow_comment", "on"), (f"t-{tiktok}-commercial", "on"), (f"t-{tiktok}-brand_content", "on"),
        (f"t-{tiktok}-auto_add_music", "on"),
    ]

    response = await send(poster, stack, typed)

    assert response.status_code == 422, response.text
    again = Page(response.text)
    assert "Choose who can see this post on TikTok" in again.error(f"t-{tiktok}-privacy_level")
    assert again.by_id[f"t-{tiktok}-privacy_level-error"] is not None
    assert f'href="#t-{tiktok}-privacy_level"' in response.text  # the summary links to it
    for name, value in typed:
        if name != "accounts":
            assert again.value(name) == value, name
    assert again.checked(f"account-{page_id}")
    assert again.checked(f"account-{tiktok}")
    assert not again.checked(f"account-{poster.accounts['ig_page']}")
    # Branded content: "Only me" is not offered, and the consent names the Branded Content Policy.
    assert again.disabled(f"t-{tiktok}-privacy_level-SELF_ONLY")
    assert again.says("Branded content visibility cannot be set to private.")
    assert again.says("By posting, you agree to TikTok's Branded Content Policy and Music Usage Confirmation")
    assert again.says("Your post will be labelled “Paid partnership”.")
    assert (await poster.http.get("/api/v1/posts")).json()["items"] == []


async def test_the_commercial_toggle_needs_a_choice_and_branded_content_cannot_be_private(
        poster: Member, stack: Stack) -> None:
    page = await open_composer(poster, stack)
    tiktok = poster.accounts["tiktok"]
    base = [("token", token_of(page)), ("caption", "Promo"), ("timezone", "UTC"), ("when", "now"),
            ("media-0-url", media_url(stack, "promo.jpg")), ("media-0-type", "image"), ("accounts", tiktok)]

    neither = Page((await send(poster, stack, [*base, (f"t-{tiktok}-privacy_level", "PUBLIC_TO_EVERYONE"),
                                              (f"t-{tiktok}-commercial", "on")])).text)
    private = await send(poster, stack, [*base, (f"t-{tiktok}-privacy_level", "SELF_ONLY"),
                                         (f"t-{tiktok}-commercial", "on"), (f"t-{tiktok}-brand_content", "on")])

    assert "promotes your brand" in neither.error(f"t-{tiktok}-commercial")
    assert private.status_code == 422
    assert "Branded content cannot be private" in Page(private.text).error(f"t-{tiktok}-privacy_level")


async def test_the_same_form_sent_twice_creates_one_post(poster: Member, stack: Stack) -> None:
    page = await open_composer(poster, stack)
    fields = [("token", token_of(page)), ("caption", "Only once"), ("timezone", "UTC"), ("when", "now"),
              ("accounts", poster.accounts["page"])]

    first = await send(poster, stack, fields)
    second = await send(poster, stack, fields)
    changed = await send(poster, stack, [*fields[:1], ("caption", "Only once, changed"), *fields[2:]])

    assert post_id_of(first, "publishing") == post_id_of(second, "publishing")
    assert [p["id"] for p in (await poster.http.get("/api/v1/posts")).json()["items"]] == [
        post_id_of(first, "publishing")]
    assert changed.status_code == 409
    refused = Page(changed.text)
    assert refused.says("This form was already sent and created a post")
    assert refused.value("caption") == "Only once, changed"
    assert refused.value("token") != fields[0][1]


async def test_a_schedule_in_paris_lands_at_the_paris_instant(poster: Member, stack: Stack) -> None:
    year = datetime.now(UTC).year + 1
    instants = {}
    for day, expected in ((f"{year}-07-14", datetime(year, 7, 14, 7, 30, tzinfo=UTC)),
                          (f"{year}-12-14", datetime(year, 12, 14, 8, 30, tzinfo=UTC))):
        page = await open_composer(poster, stack)
        response = await send(poster, stack, [
            ("token", token_of(page)), ("caption", f"Paris {day}"), ("timezone", "Europe/Paris"),
            ("when", "schedule"), ("schedule-date", day), ("schedule-time", "09:30"),
            ("accounts", poster.accounts["page"])])
        post = (await poster.http.get(f"/api/v1/posts/{post_id_of(response, 'scheduled')}")).json()
        instants[day] = (datetime.fromisoformat(post["scheduled_at"]), post["timezone"])
        assert instants[day] == (expected, "Europe/Paris")
        assert datetime.fromisoformat(post["targets"][0]["due_at"]) == expected


async def test_a_time_the_clocks_skip_is_refused_next_to_the_time(poster: Member, stack: Stack) -> None:
    year = datetime.now(UTC).year + 1
    last_sunday_of_march = max(date(year, 3, d) for d in range(25, 32) if date(year, 3, d).weekday() == 6)
    page = await open_composer(poster, stack)

    response = await send(poster, stack, [
        ("token", token_of(page)), ("caption", "Never"), ("timezone", "Europe/Paris"), ("when", "schedule"),
        ("schedule-date", last_sunday_of_march.isoformat()), ("schedule-time", "02:30"),
        ("accounts", poster.accounts["page"])])

    assert response.status_code == 422
    assert "the clocks skip it" in Page(response.text).error("schedule-time")


async def test_the_calendar_prefills_the_time_and_add_another_adds_a_row(poster: Member, stack: Stack) -> None:
    page = await open_composer(poster, stack, "?at=2031-05-06T14:15")

    assert page.checked("when-schedule")
    assert (page.value("schedule-date"), page.value("schedule-time")) == ("2031-05-06", "14:15")
    assert [c for c in page.controls if c.get("name") == "media-3-url"]
    assert not [c for c in page.controls if c.get("name") == "media-4-url"]

    more = await send(poster, stack, [("token", token_of(page)), ("caption", "Keep me"), ("timezone", "UTC"),
                                      ("when", "now"), ("media-0-url", media_url(stack, "a.jpg")),
                                      ("media-0-type", "image"), ("action", "add_media")])

    assert more.status_code == 200
    grown = Page(more.text)
    assert grown.value("media-4-url") == ""
    assert grown.value("media-0-url") == media_url(stack, "a.jpg")
    assert grown.value("caption") == "Keep me"
    assert (await poster.http.get("/api/v1/posts")).json()["items"] == []


async def test_the_page_allows_images_from_the_media_and_avatar_hosts(poster: Member, stack: Stack) -> None:
    page = await open_composer(poster, stack)
    fields = [("token", token_of(page)), ("caption", ""), ("timezone", "UTC"), ("when", "now"),
              ("media-0-url", media_url(stack, "shown.jpg")), ("media-0-type", "image"), ("action", "add_media")]

    response = await send(poster, stack, fields)

    sandbox_origin = str(httpx.URL(stack.env["POSTIFYS_SANDBOX_URL"]).copy_with(path="/")).rstrip("/")
    policy = response.headers["content-security-policy"]
    assert f"img-src 'self' {sandbox_origin};" in policy
    assert "script-src 'self';" in policy
    assert f'src="{media_url(stack, "shown.jpg")}"' in response.text
    assert Page(response.text).by_id["composer"]["data-allowed-origins"] == sandbox_origin


async def test_a_tiktok_account_that_cannot_post_now_says_so(poster: Member, stack: Stack) -> None:
    await sandbox(stack, "PUT", "/_sandbox/settings", json={"tiktok_daily_post_cap": 0})
    try:
        page = await open_composer(poster, stack)
    finally:
        await sandbox(stack, "PUT", "/_sandbox/settings", json={"tiktok_daily_post_cap": 15})

    tiktok = poster.accounts["tiktok"]
    assert page.disabled(f"account-{tiktok}")
    assert "TikTok cannot take a post from this account right now" in page.by_id[f"account-{tiktok}-reason"]["text"]
    assert f"t-{tiktok}-panel" not in page.by_id


async def test_a_creator_with_interactions_off_gets_them_greyed_out(stack: Stack, new_client: Any) -> None:
    await sandbox(stack, "POST", "/_sandbox/reset")
    creator = await sandbox(stack, "POST", "/_sandbox/tiktok/creators", json={
        "display_name": "Quiet Quinn", "username": "quietquinn", "comment_disabled": True, "duet_disabled": True,
        "stitch_disabled": True, "privacy_level_options": ["FOLLOWER_OF_CREATOR", "SELF_ONLY"]})
    async with new_client() as http:
        user = await sign_up(http, stack)
        await sign_in(http, user)
        await connect(http, stack, "tiktok", user=creator["open_id"])
        account = (await http.get("/api/v1/accounts")).json()["items"][0]["id"]
        page = Page((await http.get("/compose")).text)

    for box, noun in (("allow_comment", "comments"), ("allow_duet", "duets"), ("allow_stitch", "stitches")):
        assert page.disabled(f"t-{account}-{box}")
        assert not page.checked(f"t-{account}-{box}")
        assert page.by_id[f"t-{account}-{box}-reason"]["text"] == f"Quiet Quinn has turned off {noun} on TikTok."
    assert [c["value"] for c in page.controls if c.get("name") == f"t-{account}-privacy_level"] == [
        "FOLLOWER_OF_CREATOR", "SELF_ONLY"]


async def test_a_post_not_started_is_changed_in_the_composer(poster: Member, stack: Stack) -> None:
    year = datetime.now(UTC).year + 1
    page_id, ig = poster.accounts["page"], poster.accounts["ig_page"]
    post = await create(poster, caption="Before", media=[image(stack)], targets=[
        {"account_id": page_id}, {"account_id": ig, "settings": {"media_type": "FEED"}, "caption": "IG before"}],
        scheduled_at=f"{year}-07-14T09:30:00", timezone="Europe/Paris")
    page = await open_composer(poster, stack, f"?post={post['id']}")
    assert (page.value("caption"), page.value("schedule-date"), page.value("schedule-time"),
            page.value("timezone")) == ("Before", f"{year}-07-14", "09:30", "Europe/Paris")
    assert page.value("media-0-url") == image(stack)["url"]
    assert page.value(f"t-{ig}-caption") == "IG before"
    assert page.value(f"t-{page_id}-caption") == ""
    assert page.value("accounts") is None  # the accounts are not chosen again

    response = await send(poster, stack, [
        ("token", token_of(page)), ("post", post["id"]), ("caption", "After"), ("timezone", "Europe/Paris"),
        ("when", "schedule"), ("schedule-date", f"{year}-07-15"), ("schedule-time", "10:00"),
        ("media-0-url", image(stack)["url"]), ("media-0-type", "image"), (f"t-{ig}-caption", ""),
        (f"t-{page_id}-caption", "Page after")])

    changed = (await poster.http.get(f"/api/v1/posts/{post_id_of(response, 'scheduled')}")).json()
    assert changed["caption"] == "After"
    assert datetime.fromisoformat(changed["scheduled_at"]) == datetime(year, 7, 15, 8, 0, tzinfo=UTC)
    assert {t["account_id"]: t["caption"] for t in changed["targets"]} == {page_id: "Page after", ig: None}
    assert {t["account_id"]: t["settings"] for t in changed["targets"]} == {page_id: {}, ig: {"media_type": "FEED"}}


async def test_a_post_that_has_started_cannot_be_changed_here(poster: Member, stack: Stack) -> None:
    post = await create(poster, caption="Going out", media=[], targets=[{"account_id": poster.accounts["page"]}])
    await poster.http.post(f"/api/v1/posts/{post['id']}/cancel")

    response = await poster.http.get(f"/compose?post={post['id']}")

    assert response.status_code == 409
    assert "can no longer be changed" in response.text
    assert f'href="/posts/{post["id"]}"' in response.text


async def test_an_account_to_reconnect_is_shown_disabled_with_a_reconnect_link(poster: Member, stack: Stack) -> None:
    tiktok = poster.accounts["tiktok"]
    for token in await sandbox(stack, "GET", "/_sandbox/tokens", params={"platform": "tiktok", "subject": "-000abc"}):
        await sandbox(stack, "POST", "/_sandbox/tokens/invalidate", json={"token": token["token"]})

    async def refused() -> bool:
        # Asking for its options is what finds the authorization gone.
        answer = await poster.http.get(f"/api/v1/accounts/{tiktok}/publishing-options")
        listed = (await poster.http.get("/api/v1/accounts")).json()["items"]
        return answer.status_code == 409 and any(a["id"] == tiktok and a["status"] == "reauth_required"
                                                 for a in listed)

    await wait_for(refused, message="the TikTok account to need reconnecting")
    page = await open_composer(poster, stack)

    assert page.disabled(f"account-{tiktok}")
    reason = page.by_id[f"account-{tiktok}-reason"]
    assert "Reconnect this account" in reason["text"]
    assert 'href="/api/v1/connections/tiktok/start">Reconnect Tia Creator</a>' in page.text
    assert f"t-{tiktok}-panel" not in page.by_id


async def test_a_video_longer_than_the_creator_may_post_is_refused_in_the_tiktok_panel(
        poster: Member, stack: Stack) -> None:
    page = await open_composer(poster, stack)
    tiktok = poster.accounts["tiktok"]

    response = await send(poster, stack, [
        ("token", token_of(page)), ("caption", "Too long"), ("timezone", "UTC"), ("when", "now"),
        ("media-0-url", video(stack, duration=400)["url"]), ("media-0-type", "video"), ("media-0-duration", "400"),
        ("accounts", tiktok), (f"t-{tiktok}-privacy_level", "SELF_ONLY")])

    assert response.status_code == 422
    refused = Page(response.text)
    assert "the creator can post at most 300 s" in refused.error(f"t-{tiktok}-panel")
    assert refused.says("This video is longer than 300 seconds, the longest Tia Creator can post")
    assert refused.value("media-0-duration") == "400"


async def test_instagram_shows_the_days_publishing_quota(poster: Member, stack: Stack) -> None:
    page = await open_composer(poster, stack)

    assert page.says("Acme Bakery can publish 100 more posts through apps in the next 24 hours (0 of 100 used).")


async def test_a_date_beyond_the_years_postifys_takes_is_refused_next_to_the_date(poster: Member, stack: Stack) -> None:
    for zone, day, time in (("America/New_York", "9999-12-31", "23:59"), ("Europe/Paris", "0001-01-01", "00:00"),
                            ("America/New_York", "9999-11-15", "09:00")):
        page = await open_composer(poster, stack)
        response = await send(poster, stack, [
            ("token", token_of(page)), ("caption", "Far away"), ("timezone", zone), ("when", "schedule"),
            ("schedule-date", day), ("schedule-time", time), ("accounts", poster.accounts["page"])])

        assert response.status_code == 422, (zone, day)
        refused = Page(response.text)
        assert refused.error("schedule-date") == ("Error: Choose a date between 2 January 1970 and "
                                                  "30 December 2199."), (zone, day)
        assert (refused.value("schedule-date"), refused.value("schedule-time")) == (day, time)
    assert (await poster.http.get("/api/v1/posts")).json()["items"] == []
