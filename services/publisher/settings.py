from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from shared.settings import ServiceSettings


class PublisherSettings(ServiceSettings):
    service_name: ClassVar[str] = "publisher"

    worker_concurrency: int = 32
    worker_poll_seconds: float = 0.5
    # A worker holds a target this long without news; a dead worker's targets are picked up after it.
    lease_seconds: int = 60
    platform_timeout_seconds: float = 20.0
    # TikTok pulls media only from URL prefixes verified for the app; others are uploaded from here.
    tiktok_verified_url_prefixes: list[str] = []
    tiktok_daily_post_cap: int = 15
    processing_poll_seconds: float = 2.0
    max_processing_minutes: int = 120

    # Posts one user may create per minute and per hour; beyond them, 429 with Retry-After.
    posts_per_minute: int = Field(60, ge=1)
    posts_per_hour: int = Field(600, ge=1)
