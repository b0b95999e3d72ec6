from __future__ import annotations

import hashlib
import hmac
from pathlib import Path
from typing import ClassVar

from pydantic import Field, SecretStr

from shared.settings import ServiceSettings

MB = 1024 * 1024
# `make run` keeps files beside its logs; a deployment points this at a volume or an object store.
DEFAULT_STORAGE = (Path(__file__).resolve().parents[2] / ".run" / "media").as_uri()


def development_signing_key(root: str) -> str:
    """Outside production, the key that signs media URLs is derived from the system's development root (`make run`
    and the tests hand it to the media process), so URLs stay valid across restarts of one system."""
    return hmac.new(root.encode(), b"postifys-media-url-signing", hashlib.sha256).hexdigest()


class MediaSettings(ServiceSettings):
    service_name: ClassVar[str] = "media"

    # file:///path, or s3://bucket/prefix with the endpoint (any S3-compatible store) and credentials below.
    media_storage_url: str = DEFAULT_STORAGE
    media_s3_endpoint_url: str | None = None
    media_s3_access_key_id: str | None = None
    media_s3_secret_access_key: SecretStr | None = None
    media_s3_region: str = "us-east-1"

    media_image_max_bytes: int = Field(20 * MB, ge=1)
    media_video_max_bytes: int = Field(1024 * MB, ge=1)
    # Everything one person keeps (uploads in progress count at their announced size).
    media_quota_bytes: int = Field(5 * 1024 * MB, ge=0)
    # A file no post has used for this long (counted from its upload when none ever did) is deleted.
    media_unused_days: int = Field(30, ge=1)
    # How long a signed media URL works: the platforms fetch soon after the publish starts.
    media_url_lifetime_seconds: int = Field(24 * 3600, ge=60)
    # Signs the media URLs the platforms fetch from. Required in production (32 characters or more).
    media_signing_key: SecretStr | None = None

    def signing_key(self) -> bytes:
        if self.media_signing_key is not None:
            return self.media_signing_key.get_secret_value().encode()
        return development_signing_key(self.internal_secret.get_secret_value()).encode()

    @property
    def max_upload_bytes(self) -> int:
        return max(self.media_image_max_bytes, self.media_video_max_bytes)

    def production_problems(self) -> list[str]:
        problems = super().production_problems()
        key = self.media_signing_key.get_secret_value().strip() if self.media_signing_key else ""
        if len(key) < 32:
            problems.append("POSTIFYS_MEDIA_SIGNING_KEY must be set, 32 characters or more (`make internal-keys` "
                            "prints one)")
        if self.media_storage_url == DEFAULT_STORAGE:
            problems.append("POSTIFYS_MEDIA_STORAGE_URL must be set (a file:/// volume or s3://bucket/prefix)")
        return problems
