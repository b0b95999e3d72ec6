"""What every service refuses in what people send, in one place: text Postgres cannot store, times that cannot
be moved between time zones, numbers without a bound, JSON nested without end. The checks raise ValueError,
which pydantic turns into the one 422 shape; `StrictModel` applies them to every field of a request body."""

from __future__ import annotations

import functools
import math
import re
from datetime import datetime
from typing import Annotated, Any
from zoneinfo import available_timezones

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, field_validator

# Far from the ends of what Python represents (years 1 and 9999), so that no UTC offset or time zone can push a
# time past them, and far beyond any post, filter or session.
EARLIEST = datetime(1970, 1, 1)
LATEST = datetime(2200, 1, 1)
# Integers every JSON reader holds exactly (JavaScript's safe integers); Postgres' bigint takes them too.
MAX_INTEGER = 2**53 - 1
MAX_DEPTH = 8


def text_problem(value: str) -> str | None:
    """Why Postgres cannot store this text: text and jsonb take neither NUL nor an unpaired surrogate."""
    if "\x00" in value:
        return "contains a NUL character"
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return "contains an unpaired surrogate (not valid Unicode text)"
    return None


def time_problem(value: datetime) -> str | None:
    """The wall-clock reading is bounded, whatever its offset, so converting it to any zone cannot overflow."""
    if EARLIEST <= value.replace(tzinfo=None) < LATEST:
        return None
    return f"must be a time between {EARLIEST.year} and {LATEST.year - 1}"


def number_problem(value: float) -> str | None:
    if not math.isfinite(value):
        return "must be a finite number"
    if abs(value) > MAX_INTEGER:
        return f"must be between -{MAX_INTEGER} and {MAX_INTEGER}"
    return None


def value_problem(value: Any, depth: int = 0) -> str | None:
    """What is wrong with a decoded JSON value or a parsed field, naming where inside it. Models inside are left
    to their own validators."""
    if isinstance(value, str):
        return text_problem(value)
    if isinstance(value, datetime):
        return time_problem(value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return number_problem(value)
    if isinstance(value, (dict, list)):
        if depth >= MAX_DEPTH:
            return f"is nested more than {MAX_DEPTH} levels deep"
        for key, item in value.items() if isinstance(value, dict) else enumerate(value):
            if isinstance(key, str) and (problem := text_problem(key)):
                return f"has a key that {problem}"  # the key itself is not repeated: it may not be printable
            if problem := value_problem(item, depth + 1):
                return f"{key}: {problem}"
    return None


def sane(value: Any) -> Any:
    if problem := value_problem(value):
        raise ValueError(problem)
    return value


_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")


def iso_text(value: Any) -> Any:
    """Times are written as the API documents them (RFC 3339), not as numbers pydantic would read as Unix time."""
    if isinstance(value, datetime) or (isinstance(value, str) and _ISO_DATE.match(value)):
        return value
    raise ValueError("must be a date and time such as 2030-01-31T09:00:00+01:00")


@functools.cache
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


def valid_zone(name: str) -> bool:
    """Names from the IANA database only: not every file ZoneInfo would open is a time zone."""
    return name in _zones()


Text = Annotated[str, AfterValidator(sane)]
Instant = Annotated[datetime, BeforeValidator(iso_text), AfterValidator(sane)]


class StrictModel(BaseModel):
    """A request body: no unknown fields, no NaN or infinity, and every field `sane`."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    @field_validator("*", mode="after")
    @classmethod
    def _sane(cls, value: Any) -> Any:
        return sane(value)
