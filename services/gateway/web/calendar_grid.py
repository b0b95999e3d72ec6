"""Calendar arithmetic in a person's time zone, free of any framework: the days a month or a week shows, the UTC
instants that bound them, and where an instant falls on the wall clock. Days are calendar dates, never 24-hour
spans, so a day with a daylight-saving change is 23 or 25 hours long and a post keeps its local hour."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from shared.validation import EARLIEST, LATEST

DAYS_PER_WEEK = 7
# The dates a person can give: those whose beginning and end, read in any zone (offsets stay within a day), are
# times every service accepts (shared.validation), so no filter, schedule or link leaves them.
FIRST_DAY = EARLIEST.date() + timedelta(days=1)
LAST_DAY = LATEST.date() - timedelta(days=2)
WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@dataclass(frozen=True)
class Span:
    """The dates from `first` up to, not including, `end`, and the UTC instants where they begin and end."""

    first: date
    end: date
    starts_at: datetime
    ends_at: datetime

    @property
    def days(self) -> list[date]:
        return [self.first + timedelta(days=i) for i in range((self.end - self.first).days)]

    def holds(self, instant: datetime) -> bool:
        return self.starts_at <= instant < self.ends_at


def parse_day(text: str | None) -> date | None:
    """A YYYY-MM-DD date a person can give, or None when it is missing, not one, or outside FIRST_DAY..LAST_DAY."""
    if not text or len(text) != 10:
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        return None
    return day if allowed(day) else None


def allowed(day: date) -> bool:
    return FIRST_DAY <= day <= LAST_DAY


def clamped(day: date) -> date:
    return min(max(day, FIRST_DAY), LAST_DAY)


def start_of_day(day: date, zone: ZoneInfo) -> datetime:
    """The UTC instant a local date begins: its midnight, or where the clocks land when a change skips midnight."""
    read_before = datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)
    read_after = datetime.combine(day, time(0, fold=1), tzinfo=zone).astimezone(UTC)
    if read_before <= read_after:  # midnight exists (once, or twice and the first one counts)
        return read_before
    # Midnight is in a gap, which lies between its two readings: find the first second of the new date.
    before, after = read_after, read_before
    while after - before > timedelta(seconds=1):
        middle = before + (after - before) / 2
        if middle.astimezone(zone).date() >= day:
            after = middle
        else:
            before = middle
    return after.replace(microsecond=0)


def span(first: date, end: date, zone: ZoneInfo) -> Span:
    """The grid may show days beyond the ones a person can give; its instants stop where those days do."""
    floor, ceiling = start_of_day(FIRST_DAY, zone), start_of_day(LAST_DAY + timedelta(days=1), zone)
    return Span(first, end, max(start_of_day(first, zone), floor), min(start_of_day(end, zone), ceiling))


def week_of(day: date, zone: ZoneInfo) -> Span:
    """The Monday-to-Sunday week holding `day`."""
    monday = day - timedelta(days=day.weekday())
    return span(monday, monday + timedelta(days=DAYS_PER_WEEK), zone)


def month_of(day: date, zone: ZoneInfo) -> Span:
    """The whole weeks, Monday first, that show the month holding `day` (with the neighbouring months' days)."""
    first = day.replace(day=1)
    start = first - timedelta(days=first.weekday())
    last = next_month(first) - timedelta(days=1)
    end = last + timedelta(days=DAYS_PER_WEEK - last.weekday())
    return span(start, end, zone)


def weeks(days: list[date]) -> list[list[date]]:
    return [days[i:i + DAYS_PER_WEEK] for i in range(0, len(days), DAYS_PER_WEEK)]


def next_month(day: date) -> date:
    """The first of the following month."""
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)


def previous_month(day: date) -> date:
    """The first of the preceding month."""
    return (day.replace(day=1) - timedelta(days=1)).replace(day=1)


def local_slot(instant: datetime, zone: ZoneInfo) -> tuple[date, int]:
    """The local date and hour an instant falls in (both passes of a repeated hour share the slot)."""
    local = instant.astimezone(zone)
    return local.date(), local.hour


def hour_exists(day: date, hour: int, zone: ZoneInfo) -> bool:
    """False for the wall-clock hour a spring-forward change skips (02:00 in New York on its day)."""
    local = datetime.combine(day, time(hour), tzinfo=zone)
    return local.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == local.replace(tzinfo=None)


def local_dates_to_instants(first: date | None, last: date | None, zone: ZoneInfo
                            ) -> tuple[datetime | None, datetime | None]:
    """A filter from one local date to another, both included, as the UTC instants [from, to)."""
    return (start_of_day(first, zone) if first else None,
            start_of_day(last + timedelta(days=1), zone) if last else None)


def hour_start(day: date, hour: int, zone: ZoneInfo) -> datetime:
    """The UTC instant a local hour begins (the first pass of a repeated hour)."""
    return datetime.combine(day, time(hour), tzinfo=zone).astimezone(UTC)


def repeated(instant: datetime, zone: ZoneInfo) -> bool:
    """Whether the wall-clock time of `instant` happens twice there (the hour a fall-back change repeats)."""
    local = instant.astimezone(zone)
    return local.replace(fold=1 - local.fold).utcoffset() != local.utcoffset()
