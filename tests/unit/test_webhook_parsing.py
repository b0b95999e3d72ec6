"""The signature parsers and payload readers refuse anything but the documented input, with `Rejected` only."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.webhooks.signatures import (
    Rejected,
    dedupe_key,
    meta_events,
    parse_tiktok_header,
    tiktok_event,
    verify_meta,
    verify_tiktok,
)

SECRET = "It's a Secret to Everybody"


def test_the_github_vector_passes() -> None:
    verify_meta(SECRET, b"Hello, World!",
                "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17")


@pytest.mark.parametrize("header", [
    None, "", "sha1=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
    "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e1",  # 63 hex
    "sha256=757107EA0EB2509FC211221CCE984B8A37570B6D7586C22C46F4379C8B043E17",
    "sha256=857107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
])
def test_meta_signatures_that_do_not_match_are_refused(header: str | None) -> None:
    with pytest.raises(Rejected):
        verify_meta(SECRET, b"Hello, World!", header)


def tiktok_header(secret: str, t: int, body: bytes) -> str:
    return f"t={t},s={hmac.new(secret.encode(), f'{t}.'.encode() + body, hashlib.sha256).hexdigest()}"


def test_tiktok_signature_within_five_minutes_only() -> None:
    body = b'{"event":"x"}'
    verify_tiktok("s", body, tiktok_header("s", 1_000_000, body), now=1_000_300)
    for now in (1_000_301, 999_699):
        with pytest.raises(Rejected):
            verify_tiktok("s", body, tiktok_header("s", 1_000_000, body), now=now)
    with pytest.raises(Rejected):
        verify_tiktok("other", body, tiktok_header("s", 1_000_000, body), now=1_000_000)


@settings(max_examples=3000, deadline=None)
@given(st.text(max_size=300))
def test_the_tiktok_header_parser_never_raises_anything_else(header: str) -> None:
    with contextlib.suppress(Rejected):
        parse_tiktok_header(header)


@settings(max_examples=3000, deadline=None)
@given(st.one_of(st.binary(max_size=500), st.text(max_size=500).map(str.encode)))
def test_the_payload_readers_never_raise_anything_else(body: bytes) -> None:
    for read in (meta_events, tiktok_event):
        with contextlib.suppress(Rejected):
            read(body)
    dedupe_key("tiktok", body)
    dedupe_key("meta", body)


json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20),
                           lambda children: st.lists(children, max_size=4)
                           | st.dictionaries(st.text(max_size=10), children, max_size=4), max_leaves=20)


@settings(max_examples=2000, deadline=None)
@given(st.dictionaries(st.sampled_from(["object", "entry", "event", "user_openid", "content", "changes"]),
                       json_values, max_size=5))
def test_structured_but_wrong_payloads_are_refused_cleanly(payload: dict) -> None:
    body = json.dumps(payload).encode()
    for read in (meta_events, tiktok_event):
        with contextlib.suppress(Rejected):
            read(body)


def test_tiktok_content_is_read_from_its_json_string() -> None:
    body = json.dumps({"client_key": "ck", "event": "post.publish.complete", "create_time": 1, "user_openid": "u",
                       "content": json.dumps({"publish_id": "p1"})}).encode()
    event = tiktok_event(body)
    assert event.type == "webhook.tiktok.post.publish.complete"
    assert event.data["content"] == {"publish_id": "p1"}
