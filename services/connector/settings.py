from __future__ import annotations

from typing import ClassVar

from shared.settings import ServiceSettings


class ConnectorSettings(ServiceSettings):
    service_name: ClassVar[str] = "connector"
