"""What the media service does when a post that used library items is done with them: once every target of the
post is final, the URLs signed for its items stop working (a later post gets a newer URL that works)."""

from __future__ import annotations

from typing import Annotated

from services.media.service import MediaService
from shared.events import PostCompleted
from shared.messaging.consumer import Provided, Session, Subscriptions

usage = Subscriptions()


@usage.on(PostCompleted)
async def revoke_the_posts_urls(completed: PostCompleted, session: Session,
                                service: Annotated[MediaService, Provided()]) -> None:
    for media_id in completed.media_ids:
        await service.revoke_urls(media_id, session)
