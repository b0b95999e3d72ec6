"""Sealed tokens in the `secrets` table: written and read only through here, and only in the connector."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import sqlalchemy as sa
import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from services.connector.platforms import Token
from services.connector.tables import Secret
from services.connector.vault import Sealed, Vault, VaultError

log = structlog.get_logger()

USER_ACCESS = "user_access"
ACCESS = "access"
REFRESH = "refresh"


def _record(secret: Secret) -> str:
    return f"{secret.id}/{secret.owner_id}/{secret.purpose}"


class TokenStore:
    def __init__(self, vault: Vault) -> None:
        self.vault = vault

    async def put(self, session: AsyncSession, owner_id: uuid.UUID, purpose: str, token: Token | None,
                  now: datetime) -> None:
        """Stores a token, replacing the owner's previous one; an absent token never erases a stored one."""
        if token is None or not token.value:
            return
        secret = await session.scalar(sa.select(Secret).where(Secret.owner_id == owner_id, Secret.purpose == purpose)
                                      .with_for_update())
        if secret is None:
            secret = Secret(id=uuid.uuid4(), owner_id=owner_id, purpose=purpose)
            session.add(secret)
        sealed = self.vault.seal(_record(secret), token.value)
        secret.kek_id, secret.wrapped_key, secret.ciphertext = sealed.kek_id, sealed.wrapped_key, sealed.ciphertext
        secret.issued_at = now
        secret.updated_at = now
        secret.expires_at = now + timedelta(seconds=token.expires_in) if token.expires_in else None

    async def get(self, session: AsyncSession, owner_id: uuid.UUID, purpose: str, *,
                  lock: bool = False) -> tuple[str, Secret] | None:
        query = sa.select(Secret).where(Secret.owner_id == owner_id, Secret.purpose == purpose)
        secret = await session.scalar(query.with_for_update() if lock else query)
        if secret is None:
            return None
        return self.open(secret), secret

    def open(self, secret: Secret) -> str:
        try:
            return self.vault.open(_record(secret), Sealed(secret.kek_id, secret.wrapped_key, secret.ciphertext))
        except VaultError:
            log.error("Vault record failed to open", secret_id=str(secret.id), purpose=secret.purpose,
                      kek_id=secret.kek_id, security_event=True)
            raise

    async def destroy(self, session: AsyncSession, owner_ids: list[uuid.UUID]) -> None:
        await session.execute(sa.delete(Secret).where(Secret.owner_id.in_(owner_ids)))


async def rewrap_batch(session: AsyncSession, vault: Vault, batch: int = 200) -> int:
    """Re-wraps one batch of records still under an older key; commits per batch, so a crash loses nothing
    and running it again carries on where it stopped."""
    secrets = (await session.scalars(
        sa.select(Secret).where(Secret.kek_id != vault.primary).limit(batch).with_for_update(skip_locked=True))).all()
    for secret in secrets:
        sealed = vault.rewrap(_record(secret), Sealed(secret.kek_id, secret.wrapped_key, secret.ciphertext))
        secret.kek_id, secret.wrapped_key = sealed.kek_id, sealed.wrapped_key
    return len(secrets)
