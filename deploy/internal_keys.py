"""`make internal-keys`: a fresh set of internal keys for a deployment, as lines for a .env file. Each calling
process gets its own signing key; every process gets the list of public keys."""

from __future__ import annotations

import os
import sys

from shared.internal import CALLERS, encode_seed, public_keys_text


def main() -> int:
    seeds = {caller: os.urandom(32) for caller in CALLERS}
    for caller, seed in seeds.items():
        print(f"POSTIFYS_{caller.upper()}_INTERNAL_KEY={encode_seed(seed)}")
    print(f"POSTIFYS_INTERNAL_PUBLIC_KEYS={public_keys_text(seeds)}")
    # Not an internal key, but made the same way and needed once per deployment: privacy's keyed hashes.
    print(f"POSTIFYS_PRIVACY_HASH_KEY={encode_seed(os.urandom(32))}")
    # The media service's key for the signed URLs the platforms fetch media from.
    print(f"POSTIFYS_MEDIA_SIGNING_KEY={encode_seed(os.urandom(32))}")
    print("# Give each process its own key as POSTIFYS_INTERNAL_SIGNING_KEY (docker-compose.yml does); the operator's "
          "is for `make webhook-deliveries` and `make replay-webhook`.", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
