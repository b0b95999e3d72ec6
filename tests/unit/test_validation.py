"""The one validator every service uses for what people send, the publisher's per-platform settings, and a
guard that every request body and parameter of every service goes through them."""

from __future__ import annotations

import importlib
import typing
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from annotated_types import Ge, Le, MaxLen
from pydantic import BaseModel, ValidationError

from services.publisher import rules
from shared.validation import MAX_DEPTH, Instant, StrictModel, iso_text, sane, value_problem

NOW = datetime(2027, 6, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize("text", ["\ud800", "a\udfffb", "\x00", "x\x00"])
def test_text_postgres_cannot_store_is_refused_wherever_it_sits(text: str) -> None:
    assert value_problem(text)
    assert value_problem({"settings": {"title": text}})
    assert value_problem({text: "a key"}) == "has a key that " + str(value_problem(text))
    assert value_problem([[{"deep": [text]}]]) == f"0: 0: deep: 0: {value_problem(text)}"


def test_ordinary_text_numbers_and_times_pass() -> None:
    for value in ("", "Zoë 🐎 \t\n", 0, -5, 2**53 - 1, 1.5, True, None, datetime(2030, 1, 1),
                  datetime(2199, 12, 31, 23, 59, tzinfo=timezone(timedelta(hours=-10))),
                  {"a": [1, "b", {"c": None}]}):
        assert value_problem(value) is None, value


@pytest.mark.parametrize("value", [
    datetime(9999, 12, 31, 23, 59, 59, tzinfo=timezone(timedelta(hours=-10))),
    datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=10))), datetime(1969, 12, 31, 23, 59), datetime(2200, 1, 1),
    float("nan"), float("inf"), -float("inf"), 2**53, -(10**30)])
def test_times_and_numbers_out_of_bounds_are_refused(value: Any) -> None:
    assert value_problem(value)
    assert value_problem({"nested": [value]})


def test_nesting_is_bounded() -> None:
    nested: Any = "leaf"
    for _ in range(MAX_DEPTH):
        nested = [nested]
    assert value_problem(nested) is None
    assert value_problem([nested]) == f"0: {'0: ' * (MAX_DEPTH - 1)}is nested more than {MAX_DEPTH} levels deep"


class Sample(StrictModel):
    text: str = ""
    when: Instant | None = None
    number: float = 0
    anything: dict[str, Any] = {}


@pytest.mark.parametrize("fields", [{"text": "\x00"}, {"text": "\ud800"}, {"when": "9999-12-31T23:59:59-10:00"},
                                    {"when": "0001-01-01T00:00:00+10:00"}, {"when": 0.5}, {"when": "1700000000"},
                                    {"number": float("nan")},
                                    {"number": "Infinity"}, {"anything": {"a": "\ud800"}},
                                    {"anything": {"a": 10**20}}, {"unknown": 1}])
def test_a_strict_model_refuses_each_of_them_as_a_validation_error(fields: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        Sample.model_validate(fields)


def test_the_refusal_does_not_repeat_the_unstorable_text() -> None:
    with pytest.raises(ValueError, match="key") as refused:
        sane({"\ud800": 1})
    str(refused.value).encode("utf-8")


@pytest.mark.parametrize(("scheduled_at", "zone"), [
    (datetime(9999, 12, 31, 23, 59, 59, tzinfo=timezone(timedelta(hours=-10))), None),
    (datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=10))), None),
    (datetime(9999, 12, 31, 23, 59, 59), "America/Adak"),
    (datetime(1, 1, 1), "Pacific/Kiritimati"),
    (datetime(2030, 1, 1), "zone.tab"), (datetime(2030, 1, 1), "America")])
def test_due_time_refuses_what_it_cannot_convert_with_a_value_error(scheduled_at: datetime, zone: str | None) -> None:
    with pytest.raises(ValueError):
        rules.due_time(scheduled_at, zone, NOW)


def test_due_time_reads_wall_clock_times_in_the_zone() -> None:
    assert rules.due_time(datetime(2030, 1, 1, 9), "Europe/Paris", NOW) == datetime(2030, 1, 1, 8, tzinfo=UTC)
    assert rules.due_time(None, None, NOW) == NOW


def settings_problems(platform: str, settings: dict[str, Any]) -> list[dict[str, Any]]:
    problems = rules.Problems()
    holds = rules.check_settings(problems, 0, "acct", platform, settings)
    assert holds == (not problems)
    return problems.items


@pytest.mark.parametrize(("platform", "settings"), [
    ("tiktok", {"title": 5}), ("tiktok", {"title": True}), ("tiktok", {"title": "t" * 2201}),
    ("tiktok", {"privacy_level": 5}), ("tiktok", {"allow_comment": "yes"}), ("tiktok", {"allow_duet": 1}),
    ("tiktok", {"video_cover_timestamp_ms": -1}), ("tiktok", {"video_cover_timestamp_ms": 10**15}),
    ("tiktok", {"photo_cover_index": True}), ("tiktok", {"link": "https://example.com"}),
    ("instagram", {"thumb_offset": 1.5}), ("instagram", {"cover_url": "javascript:alert(1)"}),
    ("instagram", {"cover_url": "https:///no-host"}), ("instagram", {"share_to_feed": "true"}),
    ("instagram", {"privacy_level": "SELF_ONLY"}), ("facebook", {"link": "ftp://example.com"}),
    ("facebook", {"link": "https://example.com/a b"}), ("facebook", {"link": "http://[::1"}),
    ("facebook", {"title": {"a": 1}}), ("facebook", {"share_to_feed": True})])
def test_each_setting_must_apply_to_the_platform_and_have_its_type_and_bounds(platform: str,
                                                                               settings: dict[str, Any]) -> None:
    [problem] = settings_problems(platform, settings)
    assert next(iter(settings)) in problem["message"]
    assert problem["target"] == 0


def test_settings_each_platform_takes() -> None:
    assert settings_problems("tiktok", {
        "title": "A title", "privacy_level": "SELF_ONLY", "post_mode": "inbox", "allow_comment": True,
        "allow_duet": False, "allow_stitch": False, "brand_content_toggle": False, "brand_organic_toggle": True,
        "is_aigc": False, "auto_add_music": True, "video_cover_timestamp_ms": 1500, "photo_cover_index": 0}) == []
    assert settings_problems("instagram", {"media_type": "REELS", "share_to_feed": True,
                                           "cover_url": "https://example.com/c.jpg", "thumb_offset": 0}) == []
    assert settings_problems("facebook", {"link": "https://example.com/bread", "title": "Bread"}) == []


def test_tiktok_refuses_a_privacy_level_that_does_not_exist_and_a_cover_that_is_not_one_of_the_photos() -> None:
    photos = [rules.Media("https://example.com/a.jpg", "image"), rules.Media("https://example.com/b.jpg", "image")]
    problems = rules.Problems()
    rules.check_tiktok(problems, 0, "acct", "caption", photos, {"privacy_level": "EVERYONE", "photo_cover_index": 2},
                       None)
    assert [p["rule"] for p in problems.items] == ["tiktok_privacy_level", "tiktok_photo_cover_index"]


# --- every service's request bodies and parameters go through the one validator ------------------------

SERVICES = ("identity", "connector", "publisher", "webhooks", "privacy", "media")


def routes(router: Any) -> Iterator[Any]:
    for route in router.routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            yield from routes(inner)
        elif hasattr(route, "dependant"):
            yield route


def every_route() -> Iterator[tuple[str, Any]]:
    for service in SERVICES:
        app = importlib.import_module(f"services.{service}.app").create_app()
        for route in routes(app.router):
            yield service, route


def models_in(annotation: Any) -> Iterator[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation
        for field in annotation.model_fields.values():
            yield from models_in(field.annotation)
    for argument in typing.get_args(annotation):
        yield from models_in(argument)


def mentions(annotation: Any, kind: type) -> bool:
    return annotation is kind or any(mentions(a, kind) for a in typing.get_args(annotation))


def an_instant(annotation: Any) -> bool:
    """Read as RFC 3339 text and bounded (shared.validation.Instant), wherever the time sits in the type."""
    if typing.get_origin(annotation) is typing.Annotated:
        validators = {getattr(m, "func", None) for m in annotation.__metadata__}
        return {iso_text, sane} <= validators
    return any(an_instant(a) for a in typing.get_args(annotation) if a is not type(None))


def test_every_request_body_of_every_service_is_a_strict_model_and_its_times_instants() -> None:
    bodies = {(service, route.path, model) for service, route in every_route() if route.body_field is not None
              for model in models_in(route.body_field.field_info.annotation)}
    assert {model.__name__ for _, _, model in bodies} >= {"PostIn", "PostPatch", "SignUpIn", "DeletionRequestIn"}
    loose = sorted(f"{service} {path}: {model.__name__}" for service, path, model in bodies
                   if not issubclass(model, StrictModel))
    assert loose == [], "request bodies that skip shared/validation.py"
    loose_times = sorted(f"{model.__name__}.{name}" for _, _, model in bodies
                         for name, field in model.model_fields.items()
                         if mentions(field.annotation, datetime) and not an_instant(field.annotation))
    assert loose_times == []


def test_every_parameter_is_bounded_and_every_time_is_sane() -> None:
    unbounded = []
    for service, route in every_route():
        dependant = route.dependant
        for param in (*dependant.query_params, *dependant.path_params, *dependant.header_params,
                      *dependant.cookie_params):
            annotation, metadata = param.field_info.annotation, param.field_info.metadata
            where = f"{service} {route.path} {param.name}"
            if mentions(annotation, datetime) and not an_instant(annotation):
                unbounded.append(f"{where}: a time that is not an Instant")
            if mentions(annotation, int) and not (any(isinstance(m, Ge) for m in metadata)
                                                  and any(isinstance(m, Le) for m in metadata)):
                unbounded.append(f"{where}: a number without both bounds")
            if mentions(annotation, str) and not any(isinstance(m, MaxLen) for m in metadata):
                unbounded.append(f"{where}: text without a maximum length")
    assert unbounded == []
