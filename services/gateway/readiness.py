"""The gateway's /readyz is public (load balancers probe it), so it must not cost the services a round of checks
per request: every caller gets the last result, refreshed at most once per interval."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

READINESS_REFRESH_SECONDS = 1.0


class CachedReadiness:
    def __init__(self, check: Callable[[], Awaitable[dict[str, bool]]], *,
                 seconds: float = READINESS_REFRESH_SECONDS, clock: Callable[[], float] = time.monotonic) -> None:
        self._check = check
        self._seconds = seconds
        self._clock = clock
        # Callers arriving while a round runs wait for its result instead of starting rounds of their own.
        self._lock = asyncio.Lock()
        self._result: dict[str, bool] | None = None
        self._checked_at = 0.0

    async def __call__(self) -> dict[str, bool]:
        async with self._lock:
            if self._result is None or self._clock() - self._checked_at >= self._seconds:
                self._result = await self._check()
                self._checked_at = self._clock()
            return dict(self._result)
