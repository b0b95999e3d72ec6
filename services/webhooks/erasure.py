"""The webhooks service's part of a deletion: every stored delivery about the erased accounts."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from services.webhooks.tables import Delivery
from shared.bus import Handler
from shared.db import delete_rows
from shared.events import Envelope, ErasureAccountsResolved, ErasureStepDone
from shared.outbox import Outbox


def erasure_handlers(outbox: Outbox) -> dict[str, Handler]:
    async def erase_deliveries(envelope: Envelope, session: AsyncSession) -> None:
        request = ErasureAccountsResolved.model_validate(envelope.data)
        deliveries = 0
        if request.external_ids:
            deliveries = await delete_rows(session, sa.delete(Delivery).where(
                Delivery.subjects.overlap(sa.cast(request.external_ids, ARRAY(sa.Text)))))
        await outbox.add(session, ErasureStepDone(request_id=request.request_id, service="webhooks",
                                                  erased={"deliveries": deliveries}))

    return {ErasureAccountsResolved.type: erase_deliveries}
