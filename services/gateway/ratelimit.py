"""Token buckets per client address, kept in the gateway's memory."""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass

# Load balancers probe these from few addresses; /readyz answers from a result cached for a second.
UNLIMITED = frozenset({"/healthz", "/readyz", "/favicon.ico"})
# The pages' own scripts, styles and images: fixed files from memory, several per page, so counting them would spend
# a person's allowance on loading what they asked for.
UNLIMITED_PREFIX = "/static/"


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    def __init__(self, *, per_minute: int, burst: int, max_clients: int = 100_000) -> None:
        self.rate = per_minute / 60.0
        self.burst = float(burst)
        self.max_clients = max_clients
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    def allow(self, client: str, now: float | None = None) -> tuple[bool, float]:
        """Whether the client may proceed, and if not, how many seconds until it may."""
        now = time.monotonic() if now is None else now
        bucket = self._buckets.pop(client, None) or _Bucket(tokens=self.burst, updated=now)
        bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.updated) * self.rate)
        bucket.updated = now
        self._buckets[client] = bucket
        if len(self._buckets) > self.max_clients:
            self._buckets.popitem(last=False)
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return True, 0.0
        return False, (1 - bucket.tokens) / self.rate if self.rate else 60.0


@dataclass(frozen=True)
class PathLimits:
    """Which bucket a request draws from: the platforms' paths have generous buckets of their own, so that a burst
    of webhooks neither is refused at a person's rate nor uses up the address's budget for everything else."""

    people: RateLimiter
    platforms: RateLimiter
    platform_prefixes: tuple[str, ...]

    def allow(self, path: str, client: str, now: float | None = None) -> tuple[bool, float]:
        if path in UNLIMITED or path.startswith(UNLIMITED_PREFIX):
            return True, 0.0
        limiter = self.platforms if path.startswith(self.platform_prefixes) else self.people
        return limiter.allow(client, now)
