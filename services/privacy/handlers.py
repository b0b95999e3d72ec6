"""What privacy does with other services' events."""

from __future__ import annotations

from typing import Annotated

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
from shared.messaging.consumer import Delivered, Provided, Session, Subscriptions

subscriptions = Subscriptions()
"""Every event privacy consumes, and every event it writes to its outbox."""
subscriptions.publishes(MetaDeauthorized)
subscriptions.publishes(ErasureRequested)
subscriptions.publishes(ErasureAccountsResolved)
subscriptions.publishes(ErasureCompleted)


@subscriptions.on(UserRegistered)
async def record_data_subject(event: UserRegistered, envelope: Delivered, session: Session) -> None:
    await session.execute(insert(DataSubject).values(user_id=event.user_id, registered_at=envelope.occurred_at)
                          .on_conflict_do_nothing())


@subscriptions.on(UserEmailVerified)
async def record_email_verified(event: UserEmailVerified, envelope: Delivered, session: Session) -> None:
    await session.execute(
        insert(DataSubject).values(user_id=event.user_id, registered_at=envelope.occurred_at,
                                   email_verified_at=envelope.occurred_at)
        .on_conflict_do_update(index_elements=[DataSubject.user_id],
                               set_={"email_verified_at": envelope.occurred_at}))


@subscriptions.on(ErasureStepDone)
async def step_done(step: ErasureStepDone, session: Session,
                    service: Annotated[PrivacyService, Provided()]) -> None:
    await service.step_done(session, step)
