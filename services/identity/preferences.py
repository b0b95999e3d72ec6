"""Which mails a person gets about their posts and accounts. Nobody has chosen until they change one, and until
then the defaults apply: a failure and a lost authorization are worth a mail, each published post is not."""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass, replace
from datetime import datetime

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.identity import tables as t


@dataclass(frozen=True)
class NotificationChoices:
    target_failed: bool = True
    post_published: bool = False
    reauth_required: bool = True

    def changed(self, **choices: bool | None) -> NotificationChoices:
        return replace(self, **{name: value for name, value in choices.items() if value is not None})


DEFAULTS = NotificationChoices()


async def choices_of(session: AsyncSession, user_id: uuid.UUID) -> NotificationChoices:
    row = await session.get(t.NotificationPreferences, user_id)
    if row is None:
        return DEFAULTS
    return NotificationChoices(target_failed=row.target_failed, post_published=row.post_published,
                               reauth_required=row.reauth_required)


async def change_choices(session: AsyncSession, user_id: uuid.UUID, now: datetime,
                         **choices: bool | None) -> NotificationChoices:
    """Only the choices given change (None: as it was), under the row's lock so two changes at once both hold."""
    await session.execute(insert(t.NotificationPreferences).values(user_id=user_id, updated_at=now,
                                                                   **asdict(DEFAULTS))
                          .on_conflict_do_nothing(index_elements=[t.NotificationPreferences.user_id]))
    row = await session.get_one(t.NotificationPreferences, user_id, with_for_update=True, populate_existing=True)
    changed = NotificationChoices(target_failed=row.target_failed, post_published=row.post_published,
                                  reauth_required=row.reauth_required).changed(**choices)
    row.target_failed, row.post_published, row.reauth_required = (changed.target_failed, changed.post_published,
                                                                  changed.reauth_required)
    row.updated_at = now
    return changed
