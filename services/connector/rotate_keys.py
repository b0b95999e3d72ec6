"""Re-wraps every vault record under the newest key (the first in POSTIFYS_VAULT_KEYS) while the connector
keeps serving. Safe to stop and run again; once it reports 0 left, older keys can be removed.

    python -m services.connector.rotate_keys            # rotate
    python -m services.connector.rotate_keys --new-key k2   # print a fresh key to put first
"""

from __future__ import annotations

import argparse
import asyncio
import sys

import sqlalchemy as sa

from services.connector.settings import ConnectorSettings
from services.connector.tables import Secret
from services.connector.tokens import rewrap_batch
from services.connector.vault import Vault, new_key_spec
from shared.crash import crash_point
from shared.db import make_engine, make_sessionmaker


async def rotate(settings: ConnectorSettings) -> int:
    vault = Vault(settings.vault_keys.get_secret_value())
    engine = make_engine(settings.service_database_url, service="connector-rotate", pool_size=2)
    sessions = make_sessionmaker(engine)
    total = 0
    try:
        while True:
            async with sessions() as session, session.begin():
                done = await rewrap_batch(session, vault)
            total += done
            if done == 0:
                break
            crash_point("vault_rotate_after_batch")
        async with sessions() as session:
            left = await session.scalar(sa.select(sa.func.count()).select_from(Secret)
                                        .where(Secret.kek_id != vault.primary))
    finally:
        await engine.dispose()
    print(f"re-wrapped {total} record(s) under key {vault.primary!r}; {left} left on older keys", file=sys.stderr)
    return int(left or 0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--new-key", metavar="ID", help="print a new random key spec and exit")
    args = parser.parse_args(argv)
    if args.new_key:
        print(new_key_spec(args.new_key))
        return 0
    return 1 if asyncio.run(rotate(ConnectorSettings())) else 0


if __name__ == "__main__":
    sys.exit(main())
