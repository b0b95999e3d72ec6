"""The event contract as an AsyncAPI document, generated from every service's FastStream broker: the queue each
service consumes from (with the types bound to it and the payload of each), and the events it writes to its outbox.

    python -m deploy.asyncapi          # writes docs/asyncapi.json (commit it with the change to an event)
"""

from __future__ import annotations

import json
import sys
from typing import Any

from faststream.specification import AsyncAPI

from deploy.system import ROOT
from services.connector.app import create_app as connector_app
from services.connector.settings import ConnectorSettings
from services.identity.app import create_app as identity_app
from services.identity.settings import IdentitySettings
from services.media.app import create_app as media_app
from services.media.settings import MediaSettings
from services.privacy.app import create_app as privacy_app
from services.privacy.settings import PrivacySettings
from services.publisher.app import create_app as publisher_app
from services.publisher.settings import PublisherSettings
from services.webhooks.app import create_app as webhooks_app
from services.webhooks.settings import WebhooksSettings
from shared.events import Envelope
from shared.runtime import ServiceRuntime

DOCUMENT = ROOT / "docs" / "asyncapi.json"

DESCRIPTION = (
    "Every event travels on the topic exchange `postifys.events` with its type as the routing key, wrapped in an "
    "envelope (`Envelope`: event id, type, version, occurrence time, producer, correlation id); the payloads here "
    "are the envelope's `data`. Delivery is at least once and every consumer applies an event once (its inbox). "
    "Changes are additive only; a breaking change is a new event type. See docs/events.md."
)


def runtimes() -> list[ServiceRuntime]:
    """Each service as it registers its subscribers and publications, built (never started) with the default
    prefix, so the document does not depend on where it is generated."""
    fixed: dict[str, Any] = {"env": "development", "amqp_prefix": "postifys"}
    apps = [identity_app(IdentitySettings(**fixed)), connector_app(ConnectorSettings(**fixed)),
            publisher_app(PublisherSettings(**fixed)), webhooks_app(WebhooksSettings(**fixed)),
            privacy_app(PrivacySettings(**fixed)), media_app(MediaSettings(**fixed))]
    return [app.state.runtime for app in apps]


def document(services: list[ServiceRuntime] | None = None) -> dict[str, Any]:
    services = services if services is not None else runtimes()
    spec: dict[str, Any] = AsyncAPI(*(s.broker.broker for s in services), title="Postifys events", version="1",
                                    description=DESCRIPTION).to_specification().to_jsonable()
    for service in services:
        channel = spec["channels"][service.service]
        channel["description"] += " Bound to: " + ", ".join(f"`{key}`" for key in service.broker.bindings) + "."
    spec["components"]["schemas"]["Envelope"] = Envelope.model_json_schema()
    return spec


def rendered(spec: dict[str, Any]) -> str:
    return json.dumps(spec, indent=2, sort_keys=True) + "\n"


def main() -> int:
    DOCUMENT.write_text(rendered(document()))
    print(f"wrote {DOCUMENT.relative_to(ROOT)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
