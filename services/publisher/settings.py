from __future__ import annotations

from typing import ClassVar

from shared.settings import ServiceSettings


class PublisherSettings(ServiceSettings):
    service_name: ClassVar[str] = "publisher"
