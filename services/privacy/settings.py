from __future__ import annotations

import hashlib
import hmac
from typing import ClassVar

from pydantic import Field, SecretStr

from shared.settings import InstagramAppSecret, MetaAppSecret, ServiceSettings


class PrivacySettings(ServiceSettings, MetaAppSecret, InstagramAppSecret):
    service_name: ClassVar[str] = "privacy"
    # A phase not answered within this long is sent again (the services erase idempotently).
    erasure_retry_seconds: float = 600
    erasure_check_seconds: float = 30
    # A request still running after this many days raises the alert (GDPR gives a month in all).
    erasure_alert_days: int = 7
    # Meta's callbacks: a signed_request issued longer ago than this is refused (its replay is worth nothing after).
    meta_signed_request_max_age_seconds: int = Field(3600, ge=60)
    # Keys the hashes that stand in for people and for Meta's signed requests in privacy's tables (who asked, which
    # callback was taken). It must outlive every row: changing it orphans them. Outside production it is derived
    # from privacy's internal key, which `make run` keeps across starts.
    privacy_hash_key: SecretStr | None = None

    def hash_key(self) -> bytes:
        if self.privacy_hash_key is not None:
            return self.privacy_hash_key.get_secret_value().encode()
        return hmac.new(self.signing_seed(), b"privacy-subject", hashlib.sha256).digest()

    def production_problems(self) -> list[str]:
        problems = super().production_problems()
        key = self.privacy_hash_key.get_secret_value().strip() if self.privacy_hash_key else ""
        if len(key) < 32:
            problems.append("POSTIFYS_PRIVACY_HASH_KEY must be set, 32 characters or more (`make internal-keys` "
                            "prints one)")
        return problems
