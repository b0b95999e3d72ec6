from __future__ import annotations

from typing import ClassVar

from shared.settings import ServiceSettings


class WebhooksSettings(ServiceSettings):
    service_name: ClassVar[str] = "webhooks"

    tiktok_signature_tolerance_seconds: int = 300
