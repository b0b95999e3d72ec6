"""Every event identity consumes."""

from __future__ import annotations

from services.identity.erasure import subscribe_erasure
from services.identity.mailer import Mailer
from services.identity.notifications import subscribe_notifications
from shared.events import ErasureStepDone, UserEmailVerified, UserPasswordChanged, UserRegistered
from shared.messaging.broker import ServiceBroker
from shared.messaging.consumer import Consumer
from shared.messaging.outbox import Outbox


def subscribe(consumer: Consumer, outbox: Outbox, mailer: Mailer, public_url: str) -> None:
    subscribe_notifications(consumer, mailer, public_url)
    subscribe_erasure(consumer, outbox, mailer, public_url)


def publishes(broker: ServiceBroker) -> None:
    """Every event this service writes to its outbox."""
    broker.publishes(UserRegistered)
    broker.publishes(UserEmailVerified)
    broker.publishes(UserPasswordChanged)
    broker.publishes(ErasureStepDone)
