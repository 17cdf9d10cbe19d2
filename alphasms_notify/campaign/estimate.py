"""A campaign's preview before anything is sent: recipients, distinct texts, SMS parts by encoding, and with
``[pricing]`` the estimated cost (the provider's API reports no price, so the prices are the user's)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from operator import attrgetter
from typing import Any

from ..segments import count_segments

__all__ = ["Estimate", "estimate"]


@dataclass(frozen=True)
class Estimate:
    recipients: int
    texts: int  # distinct texts
    sms_parts: dict[str, int] = field(default_factory=dict)  # by encoding (GSM-7, UCS-2)
    viber: int = 0
    rcs: int = 0
    cost: Decimal | None = None  # None without [pricing] for every channel used

    def line(self) -> str:
        parts = ", ".join(f"{n} {enc}" for enc, n in sorted(self.sms_parts.items())) or "none"
        rich = "".join(f", {n} {kind}" for kind, n in (("Viber", self.viber), ("RCS", self.rcs)) if n)
        cost = f"; estimated cost {self.cost:.2f}" if self.cost is not None else ""
        return (f"{self.recipients} recipient(s), {self.texts} distinct text(s); SMS parts: {parts}"
                f"{rich}{cost}")


def estimate(messages: Sequence[Any], pricing: Any = None) -> Estimate:
    """Count what ``messages`` cost: the SMS (or the SMS a fallback would be) in parts, Viber and RCS each one.
    A fallback SMS is counted in parts too: the most it can cost."""
    parts: Counter[str] = Counter()
    kinds: Counter[str] = Counter(map(attrgetter("type"), messages))
    if set(kinds) == {"sms"}:  # a campaign's usual case, read at C speed
        sms_texts: Counter[str] = Counter(map(attrgetter("text"), messages))
        texts: set[Any] = set(sms_texts)
    else:
        texts, sms_texts = set(), Counter()  # each distinct text counted in parts once, not once per recipient
        for m in messages:
            sms_text = m.text if m.type == "sms" else getattr(m, "fallback_text", None)
            texts.add(getattr(m, "text", None) or sms_text)
            if sms_text:
                sms_texts[sms_text] += 1
    sms_texts.pop("", None)
    for sms_text, n in sms_texts.items():
        counted = count_segments(sms_text)
        parts[counted.encoding] += counted.parts * n
    viber = sum(n for kind, n in kinds.items() if kind.startswith("viber"))
    rcs = sum(n for kind, n in kinds.items() if kind.startswith("rcs"))
    cost = None
    if pricing is not None:
        needed = [(sum(parts.values()), pricing.sms_part), (viber, pricing.viber), (rcs, pricing.rcs)]
        if all(price is not None for n, price in needed if n):
            cost = sum((Decimal(str(price)) * n for n, price in needed if n), Decimal(0))
    return Estimate(len(messages), len(texts), dict(parts), viber, rcs, cost)
