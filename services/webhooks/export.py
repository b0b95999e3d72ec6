"""Webhooks' part of a user's data export: the notifications the platforms sent about the person's accounts, in
the shape shared.contracts.export names. The privacy service names the accounts by their platform ids, as the
deliveries do: webhooks knows no users."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.webhooks import signatures
from services.webhooks.tables import Delivery
from shared.contracts.export import PlatformDeliveryExport, WebhooksExport


async def export_about(sessionmaker: async_sessionmaker[AsyncSession], subjects: list[str],
                       limit: int = 200) -> WebhooksExport:
    """The platform events stored about these ids, newest first. Meta batches several Pages in one delivery:
    only the events about these ids are given."""
    wanted = set(subjects)
    query = (sa.select(Delivery).where(Delivery.status == "accepted",
                                       Delivery.subjects.overlap(sa.cast(subjects, ARRAY(sa.Text))))
             .order_by(Delivery.received_at.desc()).limit(limit))
    async with sessionmaker() as session:
        deliveries = (await session.scalars(query)).all()
    return WebhooksExport(platform_events=[
        PlatformDeliveryExport(received_at=d.received_at, provider=d.provider,
                               events=[{"type": e.type, **e.data} for e in signatures.events_of(d.provider, d.body)
                                       if signatures.subject_of(e) in wanted])
        for d in deliveries])
