"""The posts list, a post's page and the calendar, as HTML through the gateway, on the whole running system."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from tests.e2e.publishing_support import Member, create, image, settled
from tests.support import Stack, wait_for

VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"})


@dataclass
class Node:
    tag: str
    attrs: dict[str, str]
    children: list[Node | str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return " ".join("".join(c if isinstance(c, str) else f" {c.text} " for c in self.children).split())

    def walk(self) -> Iterator[Node]:
        yield self
        for child in self.children:
            if isinstance(child, Node):
                yield from child.walk()

    def all(self, tag: str, test: Callable[[Node], bool] = lambda _: True) -> list[Node]:
        return [n for n in self.walk() if n.tag == tag and test(n)]

    def one(self, tag: str, test: Callable[[Node], bool] = lambda _: True) -> Node:
        found = self.all(tag, test)
        assert len(found) == 1, f"{len(found)} <{tag}> found"
        return found[0]

    def classes(self) -> list[str]:
        return self.attrs.get("class", "").split()


class TreeBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("document", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, {k: v or "" for k, v in attrs})
        self.stack[-1].children.append(node)
        if tag not in VOID:
            self.stack.append(node)

    def handle_endtag(self, tag: str) -> None:
        for depth in range(len(self.stack) - 1, 0, -1):
            if self.stack[depth].tag == tag:
                del self.stack[depth:]
                return

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(data)


def html(response: httpx.Response) -> Node:
    assert response.headers["content-type"].startswith("text/html"), response.headers["content-type"]
    builder = TreeBuilder()
    builder.feed(response.text)
    return builder.root


def names(poster_accounts: list[dict[str, Any]]) -> dict[str, str]:
    return {a["id"]: a["name"] or a["username"] for a in poster_accounts}


async def account_names(poster: Member) -> dict[str, str]:
    return names((await poster.http.get("/api/v1/accounts")).json()["items"])


def rows(document: Node) -> dict[str, Node]:
    """The posts list's rows by the post id they link to."""
    found = {}
    for row in document.all("li", lambda n: "post-row" in n.classes()):
        link = row.one("a", lambda a: a.attrs.get("href", "").startswith("/posts/"))
        found[link.attrs["href"].removeprefix("/posts/")] = row
    return found


def later(days: int) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).replace(microsecond=0).isoformat()


async def test_the_list_shows_each_post_with_a_chip_per_account_and_filters_by_status(
        poster: Member, stack: Stack) -> None:
    labels = await account_names(poster)
    scheduled = await create(poster, caption="Croissants on Saturday " + "and more " * 20, media=[image(stack)],
                             scheduled_at=later(20), targets=[{"account_id": poster.accounts["page"]},
                                                               {"account_id": poster.accounts["ig_page"]}])
    out_now = await create(poster, caption="Out of the oven now", media=[],
                           targets=[{"account_id": poster.accounts["page"]}])
    await settled(poster, out_now["id"])

    listing = await poster.http.get("/posts")
    assert listing.status_code == 200
    shown = rows(html(listing))
    assert list(shown)[:2] == [scheduled["id"], out_now["id"]]  # latest due first
    row = shown[scheduled["id"]]
    caption = row.one("h2").text
    assert caption.startswith("Croissants on Saturday")
    assert caption.endswith("…")
    assert len(caption) <= 121
    targets = row.one("ul", lambda u: u.attrs.get("aria-label") == "Accounts").all("li")
    chips = [(li.text, li.one("span", lambda s: "chip" in s.classes()).text) for li in targets]
    assert sorted(chips) == [(f"Facebook {labels[poster.accounts['page']]} Scheduled", "Scheduled"),
                     (f"Instagram {labels[poster.accounts['ig_page']]} Scheduled", "Scheduled")]
    assert row.one("time").attrs["datetime"] == datetime.fromisoformat(scheduled["due_at"]).isoformat()
    assert "Published" in shown[out_now["id"]].text

    published = rows(html(await poster.http.get("/posts", params={"status": "published"})))
    assert out_now["id"] in published
    assert scheduled["id"] not in published
    on_instagram = html(await poster.http.get("/posts", params={"account": poster.accounts["ig_page"]}))
    assert list(rows(on_instagram)) == [scheduled["id"]]
    only_scheduled = html(await poster.http.get("/posts", params={"status": "scheduled"}))
    assert list(rows(only_scheduled)) == [scheduled["id"]]
    assert only_scheduled.one("option", lambda o: "selected" in o.attrs).attrs["value"] == "scheduled"

    refused = await poster.http.get("/posts", params={"status": "everything", "from": "2027-02-30"})
    assert refused.status_code == 422
    summary = html(refused).one("div", lambda d: d.attrs.get("id") == "error-summary")
    assert [a.attrs["href"] for a in summary.all("a")] == ["#filter-status", "#filter-from"]


async def test_the_list_reads_its_dates_in_the_persons_time_zone_and_pages_to_older_posts(
        poster: Member, stack: Stack) -> None:
    assert (await poster.http.patch("/api/v1/me", json={"timezone": "America/New_York"})).status_code == 200
    # 23:30 in New York on 15 March is 03:30 UTC on the 16th: it belongs to the 15th there.
    late = await create(poster, caption="Late on the 15th", media=[], scheduled_at="2027-03-15T23:30:00",
                        timezone="America/New_York", targets=[{"account_id": poster.accounts["page"]}])
    await create(poster, caption="Early on the 16th", media=[], scheduled_at="2027-03-16T08:00:00",
                 timezone="America/New_York", targets=[{"account_id": poster.accounts["page"]}])
    day = await poster.http.get("/posts", params={"from": "2027-03-15", "to": "2027-03-15"})
    assert day.status_code == 200
    assert list(rows(html(day))) == [late["id"]]
    assert "Mon 15 Mar 2027, 23:30" in rows(html(day))[late["id"]].text

    for i in range(21):
        await create(poster, caption=f"Bulk {i}", media=[], scheduled_at=later(200 + i),
                     targets=[{"account_id": poster.accounts["page"]}])
    first = html(await poster.http.get("/posts"))
    assert len(rows(first)) == 20
    older = first.one("a", lambda a: a.text == "Older posts").attrs["href"]
    second = html(await poster.http.get(older))
    assert set(rows(second)).isdisjoint(rows(first))
    assert {late["id"]} <= set(rows(second))
    assert second.one("a", lambda a: a.text == "Latest posts")


async def test_a_new_member_is_shown_the_way_to_compose(poster: Member) -> None:
    empty = html(await poster.http.get("/posts"))
    assert "You have no posts yet." in empty.text
    assert empty.one("a", lambda a: a.text == "Write your first post").attrs["href"] == "/compose"


async def test_the_post_page_shows_the_permalink_once_published(poster: Member, stack: Stack) -> None:
    labels = await account_names(poster)
    post = await create(poster, caption="Rye, just out", media=[image(stack, "rye.jpg")],
                        targets=[{"account_id": poster.accounts["page"]}])

    async def published_page() -> Node | None:
        response = await poster.http.get(f"/posts/{post['id']}")
        assert response.status_code == 200
        document = html(response)
        links = document.all("a", lambda a: a.text == "View it on Facebook")
        return document if links else None
    document = await wait_for(published_page, timeout=40, message="the post page to show the permalink")
    assert document is not None
    [target] = (await poster.http.get(f"/api/v1/posts/{post['id']}")).json()["targets"]
    assert document.one("a", lambda a: a.text == "View it on Facebook").attrs["href"] == target["permalink"]
    article = document.one("article")
    assert labels[poster.accounts["page"]] in article.one("h3").text
    assert "pending" not in " ".join(document.one("section", lambda s: s.attrs.get("id") == "post-targets").attrs)
    timeline = article.one("table")
    steps = [tr.all("td")[1].text for tr in timeline.one("tbody").all("tr")]
    assert steps[0] == "Created"
    assert steps[-1] == "Published"
    first_time = timeline.one("tbody").all("tr")[0].one("time")
    assert first_time.attrs["title"].endswith(" UTC")
    assert first_time.attrs["title"] in timeline.one("tbody").all("tr")[0].text  # read out, not only hovered
    assert document.one("img", lambda i: i.attrs.get("src", "").endswith("rye.jpg"))
    assert not document.all("a", lambda a: a.text in ("Cancel this post", "Edit this post"))

    response = await poster.http.get(f"/posts/{post['id']}")
    sandbox_origin = str(httpx.URL(stack.env["POSTIFYS_SANDBOX_URL"]).copy_with(path="/")).rstrip("/")
    policy = response.headers["content-security-policy"]
    assert sandbox_origin in policy.split("img-src ", 1)[1].split(";")[0].split()
    assert "script-src 'self';" in policy


async def test_a_scheduled_post_is_cancelled_through_its_confirmation_form(poster: Member) -> None:
    post = await create(poster, caption="Maybe tomorrow", media=[], scheduled_at=later(2), timezone="Europe/Berlin",
                        targets=[{"account_id": poster.accounts["page"], "caption": "Maybe tomorrow, Page fans"}])
    document = html(await poster.http.get(f"/posts/{post['id']}"))
    assert "Caption for this account: Maybe tomorrow, Page fans" in document.one("article").text
    when = document.one("section", lambda s: s.attrs.get("aria-labelledby") == "when-title").text
    assert "(your time, UTC)" in when
    assert "in Europe/Berlin, the time zone it was written for" in when
    assert document.one("a", lambda a: a.text == "Edit this post").attrs["href"] == f"/compose?post={post['id']}"
    confirm_path = document.one("a", lambda a: a.text == "Cancel this post").attrs["href"]
    confirm = html(await poster.http.get(confirm_path))
    form = confirm.one("main").one("form", lambda f: f.attrs.get("method") == "post")
    assert form.one("button").text == "Yes, cancel this post"

    done = await poster.http.post(form.attrs["action"])
    assert done.status_code == 303
    assert done.headers["location"] == f"/posts/{post['id']}?notice=cancelled"
    after = html(await poster.http.get(done.headers["location"]))
    assert "The post is cancelled" in after.one("div", lambda d: "messages" in d.classes()).text
    assert after.one("article").one("span", lambda s: "chip" in s.classes()).text == "Cancelled"
    assert (await poster.http.get(f"/api/v1/posts/{post['id']}")).json()["targets"][0]["status"] == "cancelled"

    again = await poster.http.post(form.attrs["action"])
    assert again.status_code == 409
    assert "can no longer be changed or cancelled" in html(again).one(
        "div", lambda d: d.attrs.get("id") == "error-summary").text


async def test_a_failed_target_says_what_to_do_and_is_retried_from_its_page(poster: Member, stack: Stack) -> None:
    broken = {"url": f"{stack.env['POSTIFYS_SANDBOX_URL']}/_sandbox/media-missing/gone.jpg", "type": "image"}
    post = await create(poster, caption="Broken image", media=[broken],
                        targets=[{"account_id": poster.accounts["ig_login"]}])
    await settled(poster, post["id"])
    document = html(await poster.http.get(f"/posts/{post['id']}"))
    problem = document.one("div", lambda d: "problem" in d.classes())
    assert "What you can do" in problem.text
    retry = problem.one("form")
    assert retry.one("button").text.startswith("Try again")
    answer = await poster.http.post(retry.attrs["action"])
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/posts/{post['id']}?notice=retrying"
    again = await settled(poster, post["id"])
    assert len([e for e in again["targets"][0]["timeline"] if e["step"] == "retry"]) == 1


async def test_an_unknown_post_is_a_page_not_found(poster: Member) -> None:
    for path in (f"/posts/{uuid.uuid4()}", "/posts/not-a-post", f"/posts/{uuid.uuid4()}/cancel"):
        response = await poster.http.get(path)
        assert response.status_code == 404, path
        assert html(response).one("h1").text == "Page not found"


async def test_pages_send_a_signed_out_visitor_to_sign_in(new_client: Callable[[], httpx.AsyncClient]) -> None:
    async with new_client() as http:
        for path in ("/posts", f"/posts/{uuid.uuid4()}", "/calendar"):
            response = await http.get(path)
            assert response.status_code == 303, path
            assert response.headers["location"].startswith("/signin?next=")


def slot(document: Node, hour: str, column: int) -> Node:
    row = document.one("tbody").one("tr", lambda tr: tr.one("th").text == hour)
    return row.all("td")[column]


async def test_the_calendar_places_posts_on_the_persons_local_day_and_hour(poster: Member) -> None:
    assert (await poster.http.patch("/api/v1/me", json={"timezone": "America/New_York"})).status_code == 200
    # New York springs forward on Sunday 14 March 2027; the Monday after, 09:00 there is 13:00 UTC.
    monday = await create(poster, caption="Monday at nine", media=[], scheduled_at="2027-03-15T13:00:00Z",
                          targets=[{"account_id": poster.accounts["page"]}])
    saturday = await create(poster, caption="Saturday at nine", media=[], scheduled_at="2027-03-13T09:00:00",
                            timezone="America/New_York", targets=[{"account_id": poster.accounts["page"]}])
    late = await create(poster, caption="Late on the 15th", media=[], scheduled_at="2027-03-16T03:30:00Z",
                        targets=[{"account_id": poster.accounts["page"]}])

    week = html(await poster.http.get("/calendar", params={"view": "week", "date": "2027-03-15"}))
    assert week.one("caption").text == "Week of 15 March to 21 March 2027"
    nine_monday = slot(week, "09:00", 0)
    assert nine_monday.one("a", lambda a: a.attrs["href"] == f"/posts/{monday['id']}").text.startswith("09:00")
    assert slot(week, "23:00", 0).one("a", lambda a: a.attrs["href"] == f"/posts/{late['id']}")
    assert slot(week, "13:00", 0).all("a", lambda a: a.attrs["href"].startswith("/posts/")) == []
    new_post = slot(week, "10:00", 2).one("a", lambda a: a.attrs["href"].startswith("/compose"))
    assert new_post.attrs["href"] == "/compose?at=2027-03-17T10%3A00"
    assert new_post.text == "+ New post on Wednesday 17 March at 10:00"

    before = html(await poster.http.get("/calendar", params={"view": "week", "date": "2027-03-10"}))
    assert slot(before, "09:00", 5).one("a", lambda a: a.attrs["href"] == f"/posts/{saturday['id']}")
    assert "The clocks skip 02:00 on Sunday" in slot(before, "02:00", 6).text
    assert not slot(before, "02:00", 6).all("a")

    month = html(await poster.http.get("/calendar", params={"date": "2027-03-01"}))
    assert month.one("caption").text == "March 2027"
    assert [th.text for th in month.one("thead").all("th")][:2] == ["Mon", "Tue"]

    def day(document: Node, label: str) -> Node:
        return document.one("td", lambda td: any(a.text.startswith(label) for a in td.all(
            "a", lambda a: "day__date" in a.classes())))
    fifteenth = day(month, "Monday 15 March 2027")
    assert {a.attrs["href"] for a in fifteenth.all("a", lambda a: "event" in a.classes())} == {
        f"/posts/{monday['id']}", f"/posts/{late['id']}"}
    assert day(month, "Tuesday 16 March 2027").all("a", lambda a: "event" in a.classes()) == []
    assert fifteenth.one("a", lambda a: "new-post" in a.classes()).attrs["href"] == "/compose?at=2027-03-15T09%3A00"
    assert month.one("a", lambda a: a.text == "Next month").attrs["href"] == "/calendar?date=2027-04-01"
    assert month.one("a", lambda a: a.text == "Previous month").attrs["href"] == "/calendar?date=2027-02-01"


async def test_dates_beyond_the_years_postifys_takes_never_break_the_calendar_or_the_list(poster: Member) -> None:
    assert (await poster.http.patch("/api/v1/me", json={"timezone": "America/New_York"})).status_code == 200
    this_month = datetime.now(UTC).astimezone(ZoneInfo("America/New_York")).strftime("%B %Y")
    for params in ({"date": "9999-12-31"}, {"view": "week", "date": "9999-12-31"}, {"date": "0001-01-01"},
                   {"view": "week", "date": "0001-01-01"}, {"date": "9999-11-15"}):
        shown = await poster.http.get("/calendar", params=params)
        assert shown.status_code == 200, params
        if "view" not in params:
            assert html(shown).one("caption").text == this_month, params  # today's month instead

    last = await poster.http.get("/calendar", params={"date": "2199-12-30"})
    assert last.status_code == 200
    pager = html(last).one("nav", lambda n: n.attrs.get("aria-label") == "Calendar dates")
    assert [a.text for a in pager.all("a")] == ["Previous month", "Today"]
    last_week = html(await poster.http.get("/calendar", params={"view": "week", "date": "2199-12-30"}))
    assert not last_week.all("a", lambda a: a.text == "Next week")
    first = html(await poster.http.get("/calendar", params={"date": "1970-01-02"}))
    assert not first.all("a", lambda a: a.text == "Previous month")

    refused = await poster.http.get("/posts", params={"to": "9999-12-31"})
    assert refused.status_code == 422
    assert "Enter the last date as a real date" in html(refused).one(
        "p", lambda p: p.attrs.get("id") == "filter-to-error").text
    assert (await poster.http.patch("/api/v1/me", json={"timezone": "Europe/Paris"})).status_code == 200
    refused = await poster.http.get("/posts", params={"from": "0001-01-01"})
    assert refused.status_code == 422
    assert "Enter the first date as a real date" in html(refused).one(
        "p", lambda p: p.attrs.get("id") == "filter-from-error").text
    assert (await poster.http.get("/posts", params={"from": "1970-01-02", "to": "2199-12-30"})).status_code == 200
