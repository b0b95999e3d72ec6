"""Creates the database if missing and migrates every service schema to head: `python -m deploy.migrate`."""

from __future__ import annotations

import sys

from deploy.system import InfrastructureDown, prepare_database
from shared.settings import PostifysSettings


def main() -> int:
    try:
        prepare_database(PostifysSettings().database_url)
    except InfrastructureDown as exc:
        print(f"postifys: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
