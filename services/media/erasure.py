"""The media service's part of deleting an account: every item and unfinished upload of the person, and every
object stored under their prefix (files, thumbnails, partial uploads). Connected accounts hold no media, so a
deletion of connections is not its business, and privacy does not wait for it then."""

from __future__ import annotations

from typing import Annotated

from services.media.service import MediaService
from shared.events import ErasureRequested, ErasureStepDone
from shared.messaging.consumer import Provided, ServiceOutbox, Session, Subscriptions

erasure = Subscriptions()
erasure.publishes(ErasureStepDone)


@erasure.on(ErasureRequested)
async def erase_media(request: ErasureRequested, session: Session, outbox: ServiceOutbox,
                      service: Annotated[MediaService, Provided()]) -> None:
    if request.scope != "account" or request.user_id is None:
        return
    erased = await service.erase_user(session, request.user_id)
    await outbox.add(session, ErasureStepDone(request_id=request.request_id, service="media", erased=erased))
