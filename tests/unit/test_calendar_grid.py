"""The calendar's dates and hours in a person's zone, across daylight-saving changes."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from services.gateway.web import calendar
from services.gateway.web import calendar_grid as grid
from shared.validation import time_problem

NEW_YORK = ZoneInfo("America/New_York")


def test_a_month_is_shown_in_whole_weeks_from_monday() -> None:
    shown = grid.month_of(date(2027, 3, 14), NEW_YORK)
    assert shown.first == date(2027, 3, 1)  # a Monday
    assert shown.end == date(2027, 4, 5)  # the Monday after Sunday 4 April
    weeks = grid.weeks(shown.days)
    assert len(weeks) == 5
    assert all(len(w) == 7 for w in weeks)
    assert [d.weekday() for d in weeks[0]] == list(range(7))


def test_a_month_starting_on_sunday_begins_with_the_previous_months_days() -> None:
    shown = grid.month_of(date(2026, 11, 20), NEW_YORK)
    assert shown.first == date(2026, 10, 26)
    assert shown.days[-1] == date(2026, 12, 6)


def test_the_span_is_bounded_by_local_midnights_in_utc() -> None:
    shown = grid.week_of(date(2027, 3, 10), NEW_YORK)  # holds Sunday 14 March, when New York springs forward
    assert (shown.first, shown.end) == (date(2027, 3, 8), date(2027, 3, 15))
    assert shown.starts_at == datetime(2027, 3, 8, 5, tzinfo=UTC)  # EST, -5
    assert shown.ends_at == datetime(2027, 3, 15, 4, tzinfo=UTC)  # EDT, -4
    assert shown.ends_at - shown.starts_at == timedelta(days=7, hours=-1)


def test_a_post_after_the_change_keeps_its_local_hour() -> None:
    nine_on_monday = datetime(2027, 3, 15, 13, tzinfo=UTC)  # 09:00 EDT
    nine_on_saturday = datetime(2027, 3, 13, 14, tzinfo=UTC)  # 09:00 EST
    assert grid.local_slot(nine_on_monday, NEW_YORK) == (date(2027, 3, 15), 9)
    assert grid.local_slot(nine_on_saturday, NEW_YORK) == (date(2027, 3, 13), 9)


def test_the_skipped_hour_does_not_exist_and_the_repeated_one_is_shared() -> None:
    assert not grid.hour_exists(date(2027, 3, 14), 2, NEW_YORK)
    assert grid.hour_exists(date(2027, 3, 14), 3, NEW_YORK)
    assert grid.hour_exists(date(2027, 11, 7), 1, NEW_YORK)
    first, second = datetime(2027, 11, 7, 5, 30, tzinfo=UTC), datetime(2027, 11, 7, 6, 30, tzinfo=UTC)
    assert grid.local_slot(first, NEW_YORK) == grid.local_slot(second, NEW_YORK) == (date(2027, 11, 7), 1)
    assert grid.repeated(first, NEW_YORK)
    assert grid.repeated(second, NEW_YORK)
    assert not grid.repeated(datetime(2027, 11, 7, 8, tzinfo=UTC), NEW_YORK)


@pytest.mark.parametrize(("zone", "day", "expected"), [
    ("America/Santiago", date(2024, 9, 8), datetime(2024, 9, 8, 4, tzinfo=UTC)),  # midnight skipped: starts 01:00
    ("America/Havana", date(2024, 3, 10), datetime(2024, 3, 10, 5, tzinfo=UTC)),
    ("Pacific/Apia", date(2011, 12, 31), datetime(2011, 12, 30, 10, tzinfo=UTC)),  # 30 December never happened
    ("Europe/Berlin", date(2027, 3, 28), datetime(2027, 3, 27, 23, tzinfo=UTC)),
])
def test_a_day_whose_midnight_is_skipped_begins_when_the_clocks_land(zone: str, day: date,
                                                                     expected: datetime) -> None:
    begins = grid.start_of_day(day, ZoneInfo(zone))
    assert begins == expected
    assert begins.astimezone(ZoneInfo(zone)).date() == day
    assert (begins - timedelta(seconds=1)).astimezone(ZoneInfo(zone)).date() < day


def test_local_date_filters_include_the_last_day() -> None:
    due_from, due_to = grid.local_dates_to_instants(date(2027, 11, 6), date(2027, 11, 7), NEW_YORK)
    assert due_from == datetime(2027, 11, 6, 4, tzinfo=UTC)
    assert due_to == datetime(2027, 11, 8, 5, tzinfo=UTC)  # the night of the 7th is 25 hours long
    assert grid.local_dates_to_instants(None, None, NEW_YORK) == (None, None)


def test_months_step_over_year_ends_and_short_months() -> None:
    assert grid.next_month(date(2027, 12, 31)) == date(2028, 1, 1)
    assert grid.previous_month(date(2027, 1, 15)) == date(2026, 12, 1)
    assert grid.next_month(date(2028, 1, 31)) == date(2028, 2, 1)


@pytest.mark.parametrize("text", ["", None, "2027-02-30", "14/03/2027", "2027-3-1", "20270314"])
def test_only_real_dates_are_read(text: str | None) -> None:
    assert grid.parse_day(text) is None


# --- the dates a person can give ----------------------------------------------------------------------------

EXTREME_ZONES = [ZoneInfo(z) for z in ("Pacific/Kiritimati", "Etc/GMT+12", "America/New_York", "Europe/Paris")]


@pytest.mark.parametrize("text", ["0001-01-01", "1969-12-31", "1970-01-01", "2199-12-31", "2200-01-01",
                                  "9999-11-15", "9999-12-31"])
def test_dates_beyond_what_the_services_accept_are_not_read(text: str) -> None:
    assert grid.parse_day(text) is None


def test_the_first_and_last_dates_are_read() -> None:
    assert grid.parse_day(grid.FIRST_DAY.isoformat()) == grid.FIRST_DAY == date(1970, 1, 2)
    assert grid.parse_day(grid.LAST_DAY.isoformat()) == grid.LAST_DAY == date(2199, 12, 30)


@pytest.mark.parametrize("zone", EXTREME_ZONES, ids=str)
def test_every_instant_at_the_edges_is_one_the_publisher_accepts(zone: ZoneInfo) -> None:
    spans = [grid.month_of(grid.FIRST_DAY, zone), grid.month_of(grid.LAST_DAY, zone),
             grid.week_of(grid.FIRST_DAY, zone), grid.week_of(grid.LAST_DAY, zone)]
    instants = [i for s in spans for i in (s.starts_at, s.ends_at)]
    instants += grid.local_dates_to_instants(grid.FIRST_DAY, grid.LAST_DAY, zone)
    assert [i for i in instants if i is None or time_problem(i)] == []
    last = grid.month_of(grid.LAST_DAY, zone)
    assert last.days[-1] > grid.LAST_DAY  # the grid still ends on a Sunday; its instants stop at the last date
    assert last.ends_at == grid.start_of_day(grid.LAST_DAY + timedelta(days=1), zone)


def test_the_calendar_never_links_beyond_the_dates_a_person_can_give() -> None:
    today = date(2027, 3, 14)
    last_month = calendar.navigation("month", grid.LAST_DAY, today)
    assert (last_month["previous"], last_month["next"]) == ("/calendar?date=2199-11-01", None)
    assert calendar.navigation("month", date(2199, 11, 15), today)["next"] == "/calendar?date=2199-12-01"
    assert calendar.navigation("week", grid.LAST_DAY, today)["next"] is None
    assert calendar.navigation("week", date(2199, 12, 25), today)["next"] == "/calendar?view=week&date=2199-12-30"
    assert calendar.navigation("month", grid.FIRST_DAY, today)["previous"] is None
    assert calendar.navigation("week", grid.FIRST_DAY, today)["previous"] is None
    assert calendar.navigation("week", date(1970, 1, 5), today)["previous"] == "/calendar?view=week&date=1970-01-02"


def test_no_new_post_is_offered_on_a_day_beyond_the_last() -> None:
    now = datetime(2027, 3, 14, 12, tzinfo=UTC)
    month = calendar.month_context(grid.LAST_DAY, grid.month_of(grid.LAST_DAY, NEW_YORK), [], NEW_YORK, now,
                                   now.date())
    assert max(month["new_post"]) == grid.LAST_DAY
    week = calendar.week_context(grid.week_of(grid.LAST_DAY, NEW_YORK), [], NEW_YORK, now)
    assert {day for day, _ in week["new_post"]} == {grid.LAST_DAY}
