from __future__ import annotations

import pytest

from services.identity.passwords import Hasher, PasswordRejected, check_policy, common_passwords
from services.identity.tokens import new_token, token_hash


class TestPasswordPolicy:
    def test_ships_at_least_ten_thousand_common_passwords(self) -> None:
        assert len(common_passwords()) >= 10_000

    @pytest.mark.parametrize("password", [
        "correcthorsebatterystaple", "ÄÖÜ lange Passphrase", "🐎🦄 ride out at dawn 🌅",
        "x7 Q! lowercase words and digits", "a" + "b7/" * 200,
    ])
    def test_accepts_long_unusual_passwords_with_no_composition_rules(self, password: str) -> None:
        check_policy(password[:512])

    @pytest.mark.parametrize("password", ["short one", "1qaz2wsx3edc", "passwordpassword", "aaaaaaaaaaaaaaaa",
                                          "x" * 513])
    def test_refuses_short_common_guessable_or_huge_passwords(self, password: str) -> None:
        with pytest.raises(PasswordRejected):
            check_policy(password)

    def test_refuses_the_users_own_email_and_name(self) -> None:
        with pytest.raises(PasswordRejected):
            check_policy("ada.lovelace.1815@example.com", email="ada.lovelace.1815@example.com")
        with pytest.raises(PasswordRejected):
            check_policy("Augusta Ada King", name="augusta ada king")


class TestHasher:
    hasher = Hasher(memory_kib=19456, time_cost=2, parallelism=1)

    def test_hash_verifies_exactly_the_password_given(self) -> None:
        stored = self.hasher.hash("Exact Password 123")
        assert stored.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
        assert self.hasher.verify(stored, "Exact Password 123")
        assert not self.hasher.verify(stored, "exact password 123")
        assert not self.hasher.verify(stored, "Exact Password 12")

    def test_unknown_users_are_checked_against_a_dummy_and_never_match(self) -> None:
        assert not self.hasher.verify(None, "postifys-dummy-password-for-timing")

    def test_weaker_parameters_need_a_rehash(self) -> None:
        weak = Hasher(memory_kib=8192, time_cost=1, parallelism=1).hash("pw")
        assert self.hasher.needs_rehash(weak)
        assert not self.hasher.needs_rehash(self.hasher.hash("pw"))
        assert self.hasher.needs_rehash("not-a-hash")


def test_tokens_carry_256_bits_and_are_stored_as_sha256() -> None:
    tokens = {new_token() for _ in range(1000)}
    assert len(tokens) == 1000
    assert all(len(t) >= 43 for t in tokens)
    assert len(token_hash(next(iter(tokens)))) == 32
