"""Meta's signed_request: known vectors, then fuzzing. Only `InvalidSignedRequest` is ever raised, and nothing is
accepted without a valid signature."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.privacy.signed_request import InvalidSignedRequest, make_signed_request, parse_signed_request

SECRET = "app-secret"
# Computed with openssl, independently of the code under test:
# printf %s "$PAYLOAD" | openssl dgst -sha256 -hmac app-secret -binary | base64 | tr '+/' '-_'
PAYLOAD = "eyJhbGdvcml0aG0iOiJITUFDLVNIQTI1NiIsImlzc3VlZF9hdCI6MTI5MTgzNjgwMCwidXNlcl9pZCI6IjEwMjE3In0"
SIGNATURE = "38x3eZzIxTxSxK4RrcHTZhPjSaLNFkBClzeE8DD0YYc"
VALID = f"{SIGNATURE}.{PAYLOAD}"
# The same payload sent padded; the signature covers the padded string.
PADDED = "r2M2X3mbKRK7-2lXe3VEpvd8xPeSarfyShyaQEbcI4w=." + PAYLOAD + "="
# Facebook's long-standing documentation example (secret "secret"): well signed, but it carries no user_id.
FACEBOOK_EXAMPLE = ("vlXgu64BQGFSQrY0ZcJBZASMvYvTHu9GQ0YM9rjPSso."
                    "eyJhbGdvcml0aG0iOiJITUFDLVNIQTI1NiIsIjAiOiJwYXlsb2FkIn0")
TAMPERED_PAYLOAD = PAYLOAD.replace("IjEwMjE3In0", "IjEwMjE4In0")  # user_id "10218"
EXPECTED = {"algorithm": "HMAC-SHA256", "issued_at": 1291836800, "user_id": "10217"}


def reason_for(value: str, secret: str = SECRET, **kwargs: int) -> str:
    with pytest.raises(InvalidSignedRequest) as refused:
        parse_signed_request(value, secret, **kwargs)
    return refused.value.reason


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def signed(encoded_payload: str, secret: str = SECRET) -> str:
    return f"{b64url(hmac.new(secret.encode(), encoded_payload.encode(), hashlib.sha256).digest())}.{encoded_payload}"


def has_valid_signature(value: str) -> bool:
    """An independent check: the decoded signature equals HMAC-SHA256 of the payload segment as received."""
    encoded_signature, encoded_payload = value.split(".")
    unpadded = encoded_signature.rstrip("=")
    signature = base64.urlsafe_b64decode(unpadded + "=" * (-len(unpadded) % 4))
    return hmac.compare_digest(signature, hmac.new(SECRET.encode(), encoded_payload.encode(), hashlib.sha256).digest())


class TestKnownVectors:
    @pytest.mark.parametrize("value", [
        VALID,
        PADDED,
        f"{SIGNATURE}=.{PAYLOAD}",  # only the signature padded
    ])
    def test_valid_values_give_their_payload(self, value: str) -> None:
        assert parse_signed_request(value, SECRET) == EXPECTED

    def test_numeric_user_ids_become_strings(self) -> None:
        value = make_signed_request({"algorithm": "HMAC-SHA256", "user_id": 10217}, SECRET)
        assert parse_signed_request(value, SECRET)["user_id"] == "10217"

    def test_make_signed_request_sends_what_meta_sends(self) -> None:
        value = make_signed_request({"algorithm": "HMAC-SHA256", "issued_at": 1291836800, "user_id": "10217"}, SECRET)
        assert value == VALID
        assert "=" not in value

    def test_the_facebook_example_passes_its_signature_check(self) -> None:
        assert reason_for(FACEBOOK_EXAMPLE, "secret") == "no_user_id"
        assert reason_for(FACEBOOK_EXAMPLE, SECRET) == "bad_signature"

    @pytest.mark.parametrize(("value", "reason"), [
        pytest.param(f"{SIGNATURE}.{TAMPERED_PAYLOAD}", "bad_signature", id="tampered payload"),
        pytest.param(f"A{SIGNATURE[1:]}.{PAYLOAD}", "bad_signature", id="tampered signature"),
        pytest.param(f"{SIGNATURE}.{PAYLOAD}=", "bad_signature", id="padding added after signing"),
        pytest.param(f"{SIGNATURE[:-3]}.{PAYLOAD}", "bad_signature", id="truncated signature"),
        pytest.param(PAYLOAD, "malformed", id="one part"),
        pytest.param(f"{SIGNATURE}.{PAYLOAD}.{PAYLOAD}", "malformed", id="three parts"),
        pytest.param(f".{PAYLOAD}", "malformed", id="empty signature"),
        pytest.param(f"{SIGNATURE}.", "malformed", id="empty payload"),
        pytest.param("", "malformed", id="empty"),
        pytest.param(f"{SIGNATURE}.{PAYLOAD[:-1]}+", "malformed", id="standard base64 character"),
        pytest.param(f"{SIGNATURE}.{PAYLOAD[:-1]}/", "malformed", id="slash"),
        pytest.param(f"{SIGNATURE}.{PAYLOAD[:10]} {PAYLOAD[10:]}", "malformed", id="space"),
        pytest.param(f"{SIGNATURE}.{PAYLOAD}\n", "malformed", id="trailing newline"),
        pytest.param(f"{SIGNATURE}.{PAYLOAD[:-1]}é", "malformed", id="non-ascii"),
        pytest.param(f"{SIGNATURE}.{PAYLOAD}AA", "malformed", id="impossible length"),
        pytest.param(f"{SIGNATURE}.{PAYLOAD}===", "malformed", id="too much padding"),
        pytest.param(f"{SIGNATURE}==.{PAYLOAD}", "malformed", id="wrong padding"),
        pytest.param(f"{SIGNATURE[:-1]}d.{PAYLOAD}", "malformed", id="non-canonical trailing bits"),
        pytest.param(f"{SIGNATURE}.{PAYLOAD[:20]}={PAYLOAD[20:]}", "malformed", id="padding inside"),
    ])
    def test_bad_values_are_refused_with_their_reason(self, value: str, reason: str) -> None:
        assert reason_for(value) == reason

    def test_a_wrong_secret_is_a_bad_signature(self) -> None:
        assert reason_for(VALID, "another-secret") == "bad_signature"

    @pytest.mark.parametrize("payload", [
        {"algorithm": "HMAC-SHA1", "user_id": "1"},
        {"algorithm": "hmac-sha256", "user_id": "1"},
        {"algorithm": None, "user_id": "1"},
        {"user_id": "1"},
    ])
    def test_only_hmac_sha256_is_accepted(self, payload: dict[str, object]) -> None:
        assert reason_for(make_signed_request(payload, SECRET)) == "bad_algorithm"

    @pytest.mark.parametrize("user_id", [None, "", "  ", True, 1.5, [], {}])
    def test_a_user_id_is_required(self, user_id: object) -> None:
        assert reason_for(make_signed_request({"algorithm": "HMAC-SHA256", "user_id": user_id}, SECRET)) == "no_user_id"
        assert reason_for(make_signed_request({"algorithm": "HMAC-SHA256"}, SECRET)) == "no_user_id"

    @pytest.mark.parametrize("payload", [b"not json", b"[1, 2]", b'"text"', b"null", b"\xff\xfe{}",
                                         b'{"user_id": NaN}', b"[" * 3000])
    def test_a_payload_that_is_not_a_json_object_is_refused(self, payload: bytes) -> None:
        assert reason_for(signed(b64url(payload)), max_length=10_000) == "bad_payload"

    def test_the_length_is_capped_before_anything_else(self) -> None:
        assert reason_for("." * 4097) == "too_long"
        assert reason_for(VALID, max_length=len(VALID) - 1) == "too_long"
        assert parse_signed_request(VALID, SECRET, max_length=len(VALID)) == EXPECTED

    def test_an_empty_secret_is_a_configuration_error(self) -> None:
        with pytest.raises(ValueError, match="app_secret") as raised:
            parse_signed_request(VALID, "")
        assert not isinstance(raised.value, InvalidSignedRequest)


def parses_cleanly(value: str) -> None:
    """Refused with `InvalidSignedRequest` only; if accepted, really signed and shaped as documented."""
    with contextlib.suppress(InvalidSignedRequest):
        payload = parse_signed_request(value, SECRET)
        assert has_valid_signature(value)
        assert payload["algorithm"] == "HMAC-SHA256"
        assert isinstance(payload["user_id"], str)
        assert payload["user_id"].strip()


base64url_alphabet = st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=.+/ \n\x00é")
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=10,
)


@settings(max_examples=3000, deadline=None)
@given(st.text(max_size=300) | st.text(base64url_alphabet, max_size=300))
def test_arbitrary_text_is_refused_cleanly(value: str) -> None:
    parses_cleanly(value)


@settings(max_examples=3000, deadline=None)
@given(payload=st.binary(max_size=500), signature=st.binary(max_size=40), sign=st.booleans())
def test_arbitrary_bytes_are_refused_cleanly(payload: bytes, signature: bytes, sign: bool) -> None:
    parses_cleanly(signed(b64url(payload)) if sign else f"{b64url(signature)}.{b64url(payload)}")


@settings(max_examples=3000, deadline=None)
@given(st.dictionaries(st.sampled_from(["algorithm", "user_id", "issued_at", "expires"]),
                       json_values | st.sampled_from(["HMAC-SHA256", "1", ""]), max_size=4))
def test_well_signed_payloads_of_any_shape_are_read_or_refused_cleanly(payload: dict[str, object]) -> None:
    parses_cleanly(make_signed_request(payload, SECRET))


mutation = st.tuples(st.sampled_from(["replace", "insert", "delete"]), st.integers(min_value=0),
                     st.sampled_from("Aa0-_=.+/é\n"))


@settings(max_examples=5000, deadline=None)
@given(st.lists(mutation, min_size=1, max_size=4))
def test_mutations_of_a_valid_value_are_never_accepted_unsigned(mutations: list[tuple[str, int, str]]) -> None:
    value = VALID
    for operation, position, character in mutations:
        at = position % (len(value) + 1)
        if operation == "insert":
            value = value[:at] + character + value[at:]
        elif operation == "replace":
            value = value[:at] + character + value[at + 1:]
        else:
            value = value[:at] + value[at + 1:]
    parses_cleanly(value)
    if value != VALID and value.replace("=", "") != VALID:
        with pytest.raises(InvalidSignedRequest):
            parse_signed_request(value, SECRET)
