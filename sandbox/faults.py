"""Fault rules a test installs through PUT /_sandbox/faults, and the record of every fault that fired. Pure data:
the platform middleware (web.py) decides which request a rule hits and acts the fault out."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from sandbox.ledger import iso_time

FaultMode = Literal["error_500", "timeout", "rate_limit", "accept_then_error", "accept_then_stall"]
# What became of a request a fault hit. "stalling" is temporary: a stalled request ends as one of the others.
FaultOutcome = Literal["refused", "stalling", "dropped", "answered", "done_then_error", "done_then_answered",
                       "done_client_gone"]


@dataclass
class FaultRule:
    mode: FaultMode
    platform: str | None = None
    path: str | None = None
    method: str | None = None
    times: int | None = 1
    probability: float = 1.0
    fired: int = 0
    events: list[FiredFault] = field(default_factory=list)

    def matches(self, platform: str, method: str, path: str) -> bool:
        return ((self.platform is None or self.platform == platform)
                and (self.method is None or self.method.upper() == method.upper())
                and (self.path is None or self.path in path)
                and (self.times is None or self.fired < self.times))

    def describe(self) -> dict[str, Any]:
        remaining = None if self.times is None else max(0, self.times - self.fired)
        return {"platform": self.platform, "path": self.path, "method": self.method, "mode": self.mode,
                "times": self.times, "probability": self.probability, "fired": self.fired, "remaining": remaining,
                "events": [e.describe() for e in self.events]}


@dataclass
class FiredFault:
    mode: FaultMode
    platform: str
    method: str
    path: str
    at: float
    outcome: FaultOutcome

    def describe(self) -> dict[str, Any]:
        return {"mode": self.mode, "platform": self.platform, "method": self.method, "path": self.path,
                "at": iso_time(self.at), "at_unix": self.at, "outcome": self.outcome}


class FaultBook:
    def __init__(self) -> None:
        self.rules: list[FaultRule] = []

    def replace(self, rules: list[FaultRule]) -> None:
        self.rules = rules

    def draw(self, platform: str, method: str, path: str, roll: float, now: float) -> FiredFault | None:
        """The first rule matching the request fires when `roll` (uniform in [0, 1)) falls under its
        probability; a rule that does not fire lets the later ones have a go."""
        for rule in self.rules:
            if rule.matches(platform, method, path) and roll < rule.probability:
                rule.fired += 1
                initial: FaultOutcome = "stalling" if rule.mode in ("timeout", "accept_then_stall") else "refused"
                fired = FiredFault(mode=rule.mode, platform=platform, method=method, path=path, at=now,
                                   outcome=initial)
                rule.events.append(fired)
                return fired
        return None

    def describe(self) -> list[dict[str, Any]]:
        return [r.describe() for r in self.rules]
