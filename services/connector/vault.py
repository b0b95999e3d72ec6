"""The token vault: AES-256-GCM envelope encryption. Each record has its own data key, wrapped by a
key-encryption key from POSTIFYS_VAULT_KEYS; the record's identity is bound in as associated data, so a
ciphertext copied to another row, or any flipped bit, fails to open. Only the connector holds the keys."""

from __future__ import annotations

import base64
import binascii
import os
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

NONCE_BYTES = 12
KEY_BYTES = 32
FORMAT = "v1"


class VaultError(Exception):
    """A record did not open: wrong row, tampered data, or a key that is no longer configured."""


@dataclass(frozen=True)
class Sealed:
    kek_id: str
    wrapped_key: bytes  # nonce || AES-GCM(kek, data key)
    ciphertext: bytes  # nonce || AES-GCM(data key, secret)


def parse_keys(spec: str) -> dict[str, bytes]:
    keys: dict[str, bytes] = {}
    for part in filter(None, (p.strip() for p in spec.split(","))):
        kid, _, encoded = part.partition(":")
        try:
            key = base64.b64decode(encoded, validate=True)
        except binascii.Error:
            raise ValueError(f"vault key {kid!r} is not base64") from None
        if not kid or len(key) != KEY_BYTES:
            raise ValueError(f"vault key {kid!r} must be id:base64 of {KEY_BYTES} bytes")
        keys[kid] = key
    if not keys:
        raise ValueError("POSTIFYS_VAULT_KEYS names no key")
    return keys


def new_key_spec(kid: str) -> str:
    return f"{kid}:{base64.b64encode(os.urandom(KEY_BYTES)).decode()}"


def _seal(key: bytes, plaintext: bytes, aad: bytes) -> bytes:
    nonce = os.urandom(NONCE_BYTES)
    return nonce + AESGCM(key).encrypt(nonce, plaintext, aad)


def _open(key: bytes, sealed: bytes, aad: bytes) -> bytes:
    try:
        return AESGCM(key).decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], aad)
    except (InvalidTag, ValueError):
        raise VaultError("record failed authentication") from None


class Vault:
    def __init__(self, spec: str) -> None:
        self.keys = parse_keys(spec)
        self.primary = next(iter(self.keys))

    def seal(self, record: str, plaintext: str) -> Sealed:
        data_key = AESGCM.generate_key(bit_length=256)
        return Sealed(
            kek_id=self.primary,
            wrapped_key=_seal(self.keys[self.primary], data_key, self._key_aad(record, self.primary)),
            ciphertext=_seal(data_key, plaintext.encode(), self._data_aad(record)),
        )

    def open(self, record: str, sealed: Sealed) -> str:
        return _open(self._data_key(record, sealed), sealed.ciphertext, self._data_aad(record)).decode()

    def rewrap(self, record: str, sealed: Sealed) -> Sealed:
        """Wraps the record's data key under the primary key; the secret itself is never decrypted."""
        data_key = self._data_key(record, sealed)
        return Sealed(kek_id=self.primary, ciphertext=sealed.ciphertext,
                      wrapped_key=_seal(self.keys[self.primary], data_key, self._key_aad(record, self.primary)))

    def _data_key(self, record: str, sealed: Sealed) -> bytes:
        kek = self.keys.get(sealed.kek_id)
        if kek is None:
            raise VaultError(f"key {sealed.kek_id!r} is not configured")
        return _open(kek, sealed.wrapped_key, self._key_aad(record, sealed.kek_id))

    @staticmethod
    def _data_aad(record: str) -> bytes:
        return f"postifys/{FORMAT}/token/{record}".encode()

    @staticmethod
    def _key_aad(record: str, kek_id: str) -> bytes:
        return f"postifys/{FORMAT}/data-key/{record}/{kek_id}".encode()
