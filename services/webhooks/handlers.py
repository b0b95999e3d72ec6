"""Every event the webhooks service consumes."""

from __future__ import annotations

from services.webhooks.erasure import subscribe_erasure
from shared.messaging.consumer import Consumer
from shared.messaging.outbox import Outbox


def subscribe(consumer: Consumer, outbox: Outbox) -> None:
    subscribe_erasure(consumer, outbox)
