"""The webhooks service's part of a deletion: every stored delivery about the erased accounts."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY

from services.webhooks.tables import Delivery
from shared.db import delete_rows
from shared.events import ErasureAccountsResolved, ErasureStepDone
from shared.messaging.consumer import ServiceOutbox, Session, Subscriptions

erasure = Subscriptions()


@erasure.on(ErasureAccountsResolved)
async def erase_deliveries(request: ErasureAccountsResolved, session: Session, outbox: ServiceOutbox) -> None:
    deliveries = 0
    if request.external_ids:
        deliveries = await delete_rows(session, sa.delete(Delivery).where(
            Delivery.subjects.overlap(sa.cast(request.external_ids, ARRAY(sa.Text)))))
    await outbox.add(session, ErasureStepDone(request_id=request.request_id, service="webhooks",
                                              erased={"deliveries": deliveries}))
