from __future__ import annotations

import base64
import os
from dataclasses import replace

import pytest

from services.connector.vault import Sealed, Vault, VaultError, new_key_spec, parse_keys

K1, K2 = new_key_spec("k1"), new_key_spec("k2")
SECRET = "act.canary-0123456789abcdefghijklmnopqrstuvwxyz"


def flip(data: bytes, index: int) -> bytes:
    return data[:index] + bytes([data[index] ^ 0x01]) + data[index + 1:]


class TestSealing:
    vault = Vault(K1)

    def test_a_record_opens_only_as_itself(self) -> None:
        sealed = self.vault.seal("row-a/owner/access", SECRET)
        assert self.vault.open("row-a/owner/access", sealed) == SECRET
        assert SECRET.encode() not in sealed.ciphertext + sealed.wrapped_key
        with pytest.raises(VaultError):
            self.vault.open("row-b/owner/access", sealed)  # the ciphertext moved to another row
        with pytest.raises(VaultError):
            self.vault.open("row-a/owner/refresh", sealed)

    @pytest.mark.parametrize("field", ["ciphertext", "wrapped_key"])
    def test_any_flipped_bit_fails(self, field: str) -> None:
        sealed = self.vault.seal("row", SECRET)
        data = getattr(sealed, field)
        for index in (0, 5, 12, len(data) // 2, len(data) - 1):  # nonce, body and tag
            with pytest.raises(VaultError):
                self.vault.open("row", replace(sealed, **{field: flip(data, index)}))

    def test_the_same_secret_never_seals_the_same_way_twice(self) -> None:
        sealed = [self.vault.seal("row", SECRET) for _ in range(2000)]
        assert len({s.ciphertext[:12] for s in sealed}) == 2000
        assert len({s.ciphertext for s in sealed}) == 2000

    def test_a_key_that_is_not_configured_fails_cleanly(self) -> None:
        sealed = Vault(K2).seal("row", SECRET)
        with pytest.raises(VaultError):
            self.vault.open("row", sealed)


class TestRotation:
    def test_rewrap_moves_a_record_to_the_new_key_without_touching_the_secret(self) -> None:
        old = Vault(K1).seal("row", SECRET)
        both = Vault(f"{K2},{K1}")
        rewrapped = both.rewrap("row", old)
        assert rewrapped.kek_id == "k2"
        assert rewrapped.ciphertext == old.ciphertext
        assert Vault(K2).open("row", rewrapped) == SECRET
        with pytest.raises(VaultError):
            Vault(K2).open("row", old)

    def test_a_rewrapped_key_stays_bound_to_its_row(self) -> None:
        rewrapped = Vault(f"{K2},{K1}").rewrap("row", Vault(K1).seal("row", SECRET))
        with pytest.raises(VaultError):
            Vault(K2).open("other-row", Sealed("k2", rewrapped.wrapped_key, rewrapped.ciphertext))


@pytest.mark.parametrize("spec", ["", "k1", "k1:notbase64!", f"k1:{base64.b64encode(os.urandom(16)).decode()}"])
def test_bad_key_specs_are_refused(spec: str) -> None:
    with pytest.raises(ValueError):
        parse_keys(spec)
