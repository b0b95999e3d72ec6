"""How one process vouches for a request to another: each caller signs its internal requests with its own
Ed25519 key, every service checks the signature against the callers' public keys, and each route names the
callers it serves. A service therefore holds no secret that would let it pass for another caller."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
import uuid
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

INTERNAL_SECRET_HEADER = "x-postifys-internal"  # noqa: S105 (a header name)
USER_HEADER = "x-postifys-user-id"
SESSION_HEADER = "x-postifys-session-id"
EMAIL_VERIFIED_HEADER = "x-postifys-email-verified"
CLIENT_IP_HEADER = "x-postifys-client-ip"
REQUEST_ID_HEADER = "x-request-id"
# Clients may never set these: the gateway strips them from every incoming request.
GATEWAY_ONLY_HEADERS = (INTERNAL_SECRET_HEADER, USER_HEADER, SESSION_HEADER, EMAIL_VERIFIED_HEADER, CLIENT_IP_HEADER)
# What a signature covers besides the request line: who the request is about.
SIGNED_HEADERS = (USER_HEADER, SESSION_HEADER, EMAIL_VERIFIED_HEADER, CLIENT_IP_HEADER)

# The processes that call other services; the operator is the command-line tools (`make webhook-deliveries`).
CALLERS = ("gateway", "publisher", "privacy", "media", "operator")
SIGNATURE_VERSION = "v1"
# A signed request is good for this long either side of its time: enough for clock skew, short for a replay.
MAX_SKEW_SECONDS = 60
_CALLERS_ATTRIBUTE = "__postifys_internal_callers__"
# Signed in place of the body's hash by a request whose body streams through (an upload): only a route marked
# `streamed_body` checks it so, and such a route checks nothing else, so neither kind passes for the other.
STREAMED_BODY = "streamed-body"
_STREAMED_ATTRIBUTE = "__postifys_streamed_body__"


@dataclass(frozen=True)
class Caller:
    user_id: uuid.UUID
    session_id: uuid.UUID | None
    email_verified: bool


class InvalidInternalKey(ValueError):
    pass


def secret_matches(presented: str | None, expected: str) -> bool:
    return presented is not None and hmac.compare_digest(presented.encode(), expected.encode())


def _b64decode(value: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError):
        raise InvalidInternalKey("not base64url") from None


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def derived_seed(root: str, caller: str) -> bytes:
    """Development and tests only: every caller's key from one root secret, so one variable runs a system."""
    return hmac.new(root.encode(), f"postifys-internal-key:{caller}".encode(), hashlib.sha256).digest()


def private_key(seed: bytes) -> Ed25519PrivateKey:
    if len(seed) != 32:
        raise InvalidInternalKey("an Ed25519 key is 32 bytes")
    return Ed25519PrivateKey.from_private_bytes(seed)


def parse_signing_key(value: str) -> bytes:
    seed = _b64decode(value.strip())
    private_key(seed)
    return seed


def public_key_text(seed: bytes) -> str:
    return _b64encode(private_key(seed).public_key().public_bytes(Encoding.Raw, PublicFormat.Raw))


def encode_seed(seed: bytes) -> str:
    return _b64encode(seed)


def parse_public_keys(value: str) -> dict[str, Ed25519PublicKey]:
    """`caller:base64url,caller:base64url`, as POSTIFYS_INTERNAL_PUBLIC_KEYS holds them."""
    keys: dict[str, Ed25519PublicKey] = {}
    for item in filter(None, (part.strip() for part in value.split(","))):
        caller, _, encoded = item.partition(":")
        raw = _b64decode(encoded)
        if caller not in CALLERS or len(raw) != 32:
            raise InvalidInternalKey(f"bad entry for {caller!r}")
        keys[caller] = Ed25519PublicKey.from_public_bytes(raw)
    return keys


def public_key_texts(value: str) -> dict[str, str]:
    """Each caller's public key, as canonical base64url, after checking the whole list parses."""
    return {caller: _b64encode(key.public_bytes(Encoding.Raw, PublicFormat.Raw))
            for caller, key in parse_public_keys(value).items()}


def public_keys_text(seeds: Mapping[str, bytes]) -> str:
    return ",".join(f"{caller}:{public_key_text(seed)}" for caller, seed in seeds.items())


def derived_environment(root: str, process: str) -> dict[str, str]:
    """What one process of a development or test system gets instead of the root: its own key, if it calls
    anyone, and every caller's public key."""
    env = {"POSTIFYS_INTERNAL_PUBLIC_KEYS": public_keys_text({c: derived_seed(root, c) for c in CALLERS})}
    if process in CALLERS:
        env["POSTIFYS_INTERNAL_SIGNING_KEY"] = encode_seed(derived_seed(root, process))
    return env


def development_signer(root: str, caller: str, service_urls: Mapping[str, str]) -> Signer:
    """For the tests and benchmarks, which start a system from one root and then call its services directly."""
    return Signer(caller, derived_seed(root, caller), audiences(service_urls))


def _message(caller: str, audience: str, timestamp: str, method: str, target: str,
             headers: Mapping[str, str], body: bytes | None) -> bytes:
    body_hash = STREAMED_BODY if body is None else hashlib.sha256(body).hexdigest()
    return "\n".join((SIGNATURE_VERSION, caller, audience, timestamp, method.upper(), target,
                      *(headers.get(name, "") for name in SIGNED_HEADERS), body_hash)).encode()


def signed_target(path: str, query: str) -> str:
    """The request target as both ends see it: a bare `?` with nothing after it is no query."""
    return f"{path}?{query}" if query else path


class Signer:
    """Signs this process's requests to the services; the audience is the service a URL belongs to."""

    def __init__(self, caller: str, seed: bytes, audiences: Mapping[str, str]) -> None:
        self.caller = caller
        self._key = private_key(seed)
        self._audiences = dict(audiences)

    def header(self, audience: str, method: str, target: str, headers: Mapping[str, str],
               body: bytes | None = b"", now: float | None = None) -> str:
        """`body` None: a streamed body, not covered by the signature (see STREAMED_BODY)."""
        timestamp = str(int(time.time() if now is None else now))
        signature = self._key.sign(_message(self.caller, audience, timestamp, method, target, headers, body))
        return f"{SIGNATURE_VERSION} {self.caller} {timestamp} {_b64encode(signature)}"

    def audience_for(self, url: httpx.URL) -> str | None:
        return self._audiences.get(f"{url.host}:{url.port or (443 if url.scheme == 'https' else 80)}")

    def auth(self) -> httpx.Auth:
        return _SigningAuth(self)

    def streaming_auth(self) -> httpx.Auth:
        """For a request whose body streams through to a route marked `streamed_body`, never read whole."""
        return _StreamingAuth(self)


class _SigningAuth(httpx.Auth):
    requires_request_body = True  # the body is signed too

    def __init__(self, signer: Signer) -> None:
        self.signer = signer

    def body(self, request: httpx.Request) -> bytes | None:
        return request.content

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        audience = self.signer.audience_for(request.url)
        if audience is not None:
            path, _, query = request.url.raw_path.decode("ascii").partition("?")
            request.headers[INTERNAL_SECRET_HEADER] = self.signer.header(
                audience, request.method, signed_target(path, query), request.headers, self.body(request))
        yield request


class _StreamingAuth(_SigningAuth):
    requires_request_body = False

    def body(self, request: httpx.Request) -> bytes | None:
        return None


def audiences(urls: Mapping[str, str]) -> dict[str, str]:
    """host:port of each service's URL, mapped to the service's name."""
    out = {}
    for service, url in urls.items():
        parts = urlsplit(url)
        out[f"{parts.hostname}:{parts.port or (443 if parts.scheme == 'https' else 80)}"] = service
    return out


class Verifier:
    """Checks a request's signature for one service; answers the caller's name, or None when it fails."""

    def __init__(self, audience: str, public_keys: Mapping[str, Ed25519PublicKey],
                 clock: Callable[[], float] = time.time) -> None:
        self.audience = audience
        self._keys = dict(public_keys)
        self._clock = clock

    def caller(self, presented: str | None, method: str, target: str, headers: Mapping[str, str],
               body: bytes | None = b"") -> str | None:
        if not presented or len(presented) > 200:
            return None
        parts = presented.split(" ")
        if len(parts) != 4 or parts[0] != SIGNATURE_VERSION or not parts[2].isdigit():
            return None
        _, caller, timestamp, encoded = parts
        key = self._keys.get(caller)
        if key is None or abs(self._clock() - int(timestamp)) > MAX_SKEW_SECONDS:
            return None
        try:
            key.verify(_b64decode(encoded), _message(caller, self.audience, timestamp, method, target, headers, body))
        except (InvalidSignature, InvalidInternalKey):
            return None
        return caller


F = TypeVar("F", bound=Callable[..., Any])


def callers(*names: str) -> Callable[[F], F]:
    """Names the callers a route serves; a route without it serves the gateway alone (below /internal, nobody)."""
    unknown = set(names) - set(CALLERS)
    if unknown:
        raise ValueError(f"unknown callers: {sorted(unknown)}")

    def mark(endpoint: F) -> F:
        setattr(endpoint, _CALLERS_ATTRIBUTE, frozenset(names))
        return endpoint
    return mark


def allowed_callers(endpoint: Any, path: str) -> frozenset[str]:
    declared = getattr(endpoint, _CALLERS_ATTRIBUTE, None)
    if declared is not None:
        return frozenset(declared)
    return frozenset() if path.startswith("/internal") else frozenset({"gateway"})


def streamed_body(endpoint: F) -> F:
    """Marks a route that reads its body as a stream (an upload): its callers sign STREAMED_BODY instead of the
    body's hash, and the guard never reads the body first."""
    setattr(endpoint, _STREAMED_ATTRIBUTE, True)
    return endpoint


def takes_streamed_body(endpoint: Any) -> bool:
    return bool(getattr(endpoint, _STREAMED_ATTRIBUTE, False))
