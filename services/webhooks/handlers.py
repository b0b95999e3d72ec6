"""Every event the webhooks service consumes."""

from __future__ import annotations

from services.webhooks.erasure import subscribe_erasure
from shared.events import ErasureStepDone, PlatformWebhook
from shared.messaging.broker import ServiceBroker
from shared.messaging.consumer import Consumer
from shared.messaging.outbox import Outbox


def subscribe(consumer: Consumer, outbox: Outbox) -> None:
    subscribe_erasure(consumer, outbox)


def publishes(broker: ServiceBroker) -> None:
    """Every event this service writes to its outbox."""
    broker.publishes(ErasureStepDone)
    # One type per platform event: `webhook.<provider>.<event>`.
    broker.publishes(PlatformWebhook, "webhook.#")
