from __future__ import annotations

from sqlalchemy.orm import DeclarativeBase

from shared.db import schema_metadata
from shared.outbox import messaging_tables


class Base(DeclarativeBase):
    metadata = schema_metadata("webhooks")


outbox, inbox = messaging_tables(Base.metadata)
