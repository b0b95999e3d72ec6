"""Operators' view of stored webhook deliveries, through the webhooks service's internal API.

    python -m deploy.webhook_deliveries list [--status rejected] [--limit 50]
    python -m deploy.webhook_deliveries replay DELIVERY_ID
"""

from __future__ import annotations

import argparse
import sys

import httpx

from deploy.system import operator_settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="webhook_deliveries", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    actions = parser.add_subparsers(dest="action", required=True)
    listing = actions.add_parser("list", help="recent deliveries, newest first")
    listing.add_argument("--status", choices=("accepted", "rejected"))
    listing.add_argument("--limit", type=int, default=50)
    replay = actions.add_parser("replay", help="send a stored delivery's events again")
    replay.add_argument("delivery_id")
    args = parser.parse_args(argv)
    settings = operator_settings()
    with httpx.Client(base_url=settings.webhooks_url, timeout=10, auth=settings.internal_signer().auth()) as http:
        if args.action == "list":
            params: dict[str, str | int] = {"limit": args.limit, **({"status": args.status} if args.status else {})}
            response = http.get("/internal/deliveries", params=params)
            response.raise_for_status()
            for d in response.json():
                print(f"{d['id']}\t{d['received_at']}\t{d['provider']}\t{d['status']}\t{d['reason'] or ''}\t"
                      f"{','.join(d['event_types'])}\t{d['source_ip'] or ''}")
            return 0
        response = http.post(f"/internal/deliveries/{args.delivery_id}/replay")
        if response.status_code == 404:
            print("no accepted delivery with this id", file=sys.stderr)
            return 1
        response.raise_for_status()
        print(f"replayed {response.json()['events']} event(s)", file=sys.stderr)
        return 0


if __name__ == "__main__":
    sys.exit(main())
