from __future__ import annotations

from typing import Annotated, ClassVar

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

    # Videos TikTok cannot pull are downloaded here first (shared/fetching.py has the rules).
    # Only the development sandbox on this machine needs private addresses; nothing else turns this on.
    allow_private_media_urls: bool = False
    # The ports a media URL may name. 80 and 443 only, unless a sandbox on another port serves the media.
    media_url_ports: list[Annotated[int, Field(ge=1, le=65535)]] = Field(default_factory=lambda: [80, 443],
                                                                         min_length=1)
    media_max_bytes: int = Field(256 * 1024 * 1024, gt=0)
    media_fetch_deadline_seconds: float = Field(600.0, gt=0)
    media_fetch_read_timeout_seconds: float = Field(30.0, gt=0)
    # Downloads at once in this process, and per user across every worker (the rest wait their turn).
    media_fetch_concurrency: int = Field(4, ge=1)
    media_fetches_per_user: int = Field(2, ge=1)
    # Where downloads are kept until they are uploaded; the system's temporary directory when unset.
    media_fetch_dir: str | None = None

    # Posts one user may create per minute and per hour; beyond them, 429 with Retry-After.
    posts_per_minute: int = Field(60, ge=1)
    posts_per_hour: int = Field(600, ge=1)
