"""Operators' view of a service's dead-letter queue.

    python -m deploy.dead_letters list privacy
    python -m deploy.dead_letters replay privacy [--ids ID,ID]
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from shared.messaging.dead_letters import list_dead_letters, replay_dead_letters
from shared.messaging.topology import Topology
from shared.migrations import SCHEMA_SERVICES
from shared.settings import PostifysSettings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="dead_letters", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=("list", "replay"))
    parser.add_argument("service", choices=SCHEMA_SERVICES)
    parser.add_argument("--ids", help="comma-separated message ids to replay (default: all)")
    args = parser.parse_args(argv)
    settings = PostifysSettings()
    topology = Topology(settings.amqp_prefix, args.service)
    if args.action == "list":
        letters = asyncio.run(list_dead_letters(settings.amqp_url, topology))
        for letter in letters:
            died = letter.died_at.isoformat() if letter.died_at else "?"
            print(f"{letter.message_id}\t{letter.type}\t{letter.reason}\t{died}")
        print(f"{len(letters)} dead letter(s) in {topology.dead_letter_queue}", file=sys.stderr)
        return 0
    ids = set(args.ids.split(",")) if args.ids else None
    replayed = asyncio.run(replay_dead_letters(settings.amqp_url, topology, ids))
    print(f"replayed {replayed} message(s) to {topology.queue}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
