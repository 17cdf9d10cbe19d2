"""Faults the sandbox can inject into its next API requests, set by control calls.

Each rule has a ``kind``, how many requests it applies to (``count``; None
for all), a ``rate`` (the chance it hits a given request) and ``when``: by
default the failure comes *after* the items were processed, which is the
hard case for a client (the messages went out, the answer was lost).
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["FAULT_KINDS", "Fault", "Faults"]

FAULT_KINDS = ("http500", "invalid_json", "delay", "drop", "access_denied")


@dataclass
class Fault:
    kind: str
    count: int | None = 1
    rate: float = 1.0
    when: str = "after"  # "before" or "after" the items are processed
    seconds: float = 30.0  # for "delay"
    hits: int = 0

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Fault:
        if not isinstance(data, dict):
            raise ValueError("a fault is an object with at least 'kind'")
        kind = data.get("kind")
        if kind not in FAULT_KINDS:
            raise ValueError(f"kind must be one of {', '.join(FAULT_KINDS)}, not {kind!r}")
        fault = cls(kind=kind)
        for key in ("count", "rate", "when", "seconds"):
            if key in data:
                setattr(fault, key, data[key])
        if fault.count is not None and (not isinstance(fault.count, int) or fault.count < 1):
            raise ValueError("count must be a positive integer or null")
        if not isinstance(fault.rate, int | float) or not 0 < fault.rate <= 1:
            raise ValueError("rate must be in (0, 1]")
        if fault.when not in ("before", "after"):
            raise ValueError("when must be 'before' or 'after'")
        if kind == "access_denied":
            fault.when = "before"
        return fault

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class Faults:
    """The active rules; ``draw()`` picks the fault (if any) for one request."""

    def __init__(self, seed: int | None = None) -> None:
        self.rules: list[Fault] = []
        self.random = random.Random(seed)
        self.injected: dict[str, int] = {}

    def add(self, fault: Fault) -> None:
        self.rules.append(fault)

    def clear(self) -> None:
        self.rules.clear()

    def draw(self) -> Fault | None:
        for rule in list(self.rules):
            if rule.rate < 1 and self.random.random() >= rule.rate:
                continue
            rule.hits += 1
            if rule.count is not None:
                rule.count -= 1
                if rule.count <= 0:
                    self.rules.remove(rule)
            self.injected[rule.kind] = self.injected.get(rule.kind, 0) + 1
            return rule
        return None
