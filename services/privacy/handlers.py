"""What privacy does with other services' events."""

from __future__ import annotations

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.privacy.service import PrivacyService
from services.privacy.tables import DataSubject
from shared.bus import Handler
from shared.events import Envelope, ErasureStepDone, UserEmailVerified, UserRegistered


async def record_data_subject(envelope: Envelope, session: AsyncSession) -> None:
    event = UserRegistered.model_validate(envelope.data)
    await session.execute(insert(DataSubject).values(user_id=event.user_id, registered_at=envelope.occurred_at)
                          .on_conflict_do_nothing())


async def record_email_verified(envelope: Envelope, session: AsyncSession) -> None:
    event = UserEmailVerified.model_validate(envelope.data)
    await session.execute(
        insert(DataSubject).values(user_id=event.user_id, registered_at=envelope.occurred_at,
                                   email_verified_at=envelope.occurred_at)
        .on_conflict_do_update(index_elements=[DataSubject.user_id],
                               set_={"email_verified_at": envelope.occurred_at}))


def privacy_handlers(service: PrivacyService) -> dict[str, Handler]:
    async def step_done(envelope: Envelope, session: AsyncSession) -> None:
        await service.step_done(session, ErasureStepDone.model_validate(envelope.data))

    return {UserRegistered.type: record_data_subject, UserEmailVerified.type: record_email_verified,
            ErasureStepDone.type: step_done}
