"""Password policy and hashing (argon2id). No composition rules; length, commonness, exactness."""

from __future__ import annotations

import asyncio
import unicodedata
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from zxcvbn import zxcvbn
from zxcvbn.frequency_lists import FREQUENCY_LISTS

MIN_LENGTH = 12
MAX_LENGTH = 512
ZXCVBN_MAX_LENGTH = 72
MIN_SCORE = 2  # zxcvbn: 0 and 1 are "too guessable" and "very guessable"


class PasswordRejected(ValueError):
    pass


@cache
def common_passwords() -> frozenset[str]:
    # zxcvbn ships the 30,000 most common passwords from public breach corpora.
    return frozenset(FREQUENCY_LISTS["passwords"])


def normalize(password: str) -> str:
    # NFKC so the same password typed on two keyboards is one password; never truncated or case-folded.
    return unicodedata.normalize("NFKC", password)


def check_policy(password: str, *, email: str = "", name: str = "") -> None:
    value = normalize(password)
    if len(value) < MIN_LENGTH:
        raise PasswordRejected(f"Use at least {MIN_LENGTH} characters.")
    if len(value) > MAX_LENGTH:
        raise PasswordRejected(f"Use at most {MAX_LENGTH} characters.")
    lowered = value.lower()
    if email and lowered in {email.lower(), email.split("@")[0].lower()}:
        raise PasswordRejected("Do not use your email address as your password.")
    if name and lowered == name.strip().lower():
        raise PasswordRejected("Do not use your name as your password.")
    # Past zxcvbn's 72-character limit, length alone puts a password out of guessing range.
    if lowered in common_passwords() or (
            len(value) <= ZXCVBN_MAX_LENGTH and zxcvbn(value, user_inputs=[email, name])["score"] < MIN_SCORE):
        raise PasswordRejected("This password is too common or too easy to guess. Try a few unrelated words.")


class Hasher:
    def __init__(self, *, memory_kib: int, time_cost: int, parallelism: int) -> None:
        self._hasher = PasswordHasher(memory_cost=memory_kib, time_cost=time_cost, parallelism=parallelism)
        # Verified against when the email is unknown, so that path takes the same time.
        self._dummy = self._hasher.hash("postifys-dummy-password-for-timing")

    def hash(self, password: str) -> str:
        return self._hasher.hash(normalize(password))

    def verify(self, stored: str | None, password: str) -> bool:
        try:
            return self._hasher.verify(stored or self._dummy, normalize(password)) and stored is not None
        except (VerificationError, InvalidHashError):
            return False

    # argon2 releases the GIL: in a worker thread it neither stalls the event loop nor the other core.
    async def hash_async(self, password: str) -> str:
        return await asyncio.to_thread(self.hash, password)

    async def verify_async(self, stored: str | None, password: str) -> bool:
        return await asyncio.to_thread(self.verify, stored, password)

    def needs_rehash(self, stored: str) -> bool:
        try:
            return self._hasher.check_needs_rehash(stored)
        except InvalidHashError:
            return True
