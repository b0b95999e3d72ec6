"""Named crash points for fault tests: the process dies on the spot when POSTIFYS_CRASH_AT names the point."""

from __future__ import annotations

import os


def crash_point(name: str) -> None:
    if os.environ.get("POSTIFYS_CRASH_AT") == name:
        os._exit(137)
