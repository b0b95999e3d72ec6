"""What privacy does with other services' events."""

from __future__ import annotations

from sqlalchemy.dialects.postgresql import insert

from services.privacy.service import PrivacyService
from services.privacy.tables import DataSubject
from shared.events import (
    ErasureAccountsResolved,
    ErasureCompleted,
    ErasureRequested,
    ErasureStepDone,
    MetaDeauthorized,
    UserEmailVerified,
    UserRegistered,
)
from shared.messaging.broker import ServiceBroker
from shared.messaging.consumer import Consumer, Delivered, Session


async def record_data_subject(event: UserRegistered, envelope: Delivered, session: Session) -> None:
    await session.execute(insert(DataSubject).values(user_id=event.user_id, registered_at=envelope.occurred_at)
                          .on_conflict_do_nothing())


async def record_email_verified(event: UserEmailVerified, envelope: Delivered, session: Session) -> None:
    await session.execute(
        insert(DataSubject).values(user_id=event.user_id, registered_at=envelope.occurred_at,
                                   email_verified_at=envelope.occurred_at)
        .on_conflict_do_update(index_elements=[DataSubject.user_id],
                               set_={"email_verified_at": envelope.occurred_at}))


def subscribe(consumer: Consumer, service: PrivacyService) -> None:
    """Every event privacy consumes."""
    consumer.on(UserRegistered)(record_data_subject)
    consumer.on(UserEmailVerified)(record_email_verified)

    @consumer.on(ErasureStepDone)
    async def step_done(step: ErasureStepDone, session: Session) -> None:
        await service.step_done(session, step)


def publishes(broker: ServiceBroker) -> None:
    """Every event this service writes to its outbox."""
    broker.publishes(MetaDeauthorized)
    broker.publishes(ErasureRequested)
    broker.publishes(ErasureAccountsResolved)
    broker.publishes(ErasureCompleted)
