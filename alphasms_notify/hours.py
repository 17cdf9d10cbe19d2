"""Office hours: "Mon-Fri 09:00-18:00, Sat 10:00-14:00" in a time zone; whether a moment is inside them,
and the moment they next open (which names the closed period a moment is in: every moment of one night
shares the next morning's opening).
"""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = ["OfficeHours", "parse_hours"]

_DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
_PART = re.compile(r"(?P<days>[a-z]{3}(?:-[a-z]{3})?)\s+(?P<start>\d{1,2}:\d{2})-(?P<end>\d{1,2}:\d{2})")


def _minutes(text: str) -> int:
    hours, minutes = (int(x) for x in text.split(":"))
    if hours > 24 or minutes > 59 or hours * 60 + minutes > 24 * 60:
        raise ValueError(f"{text} is not a time of day")
    return hours * 60 + minutes


class OfficeHours:
    """Open spans by weekday (0 Monday), in minutes of the day, in ``tz``."""

    def __init__(self, spans: dict[int, list[tuple[int, int]]], tz: str) -> None:
        self.spans, self.zone = spans, ZoneInfo(tz)

    def is_open(self, moment: float) -> bool:
        local = dt.datetime.fromtimestamp(moment, self.zone)
        minute = local.hour * 60 + local.minute
        return any(start <= minute < end for start, end in self.spans.get(local.weekday(), ()))

    def opens_at(self, moment: float) -> float:
        """When they are next open, from ``moment`` (``moment`` itself if open now)."""
        if self.is_open(moment):
            return moment
        local = dt.datetime.fromtimestamp(moment, self.zone)
        for ahead in range(8):
            day = (local + dt.timedelta(days=ahead)).date()
            for start, _ in sorted(self.spans.get(day.weekday(), ())):
                opening = dt.datetime.combine(day, dt.time(start // 60, start % 60), self.zone).timestamp()
                if opening > moment:
                    return opening
        raise ValueError("office hours that never open")


def parse_hours(text: str, tz: str = "Europe/Kyiv") -> OfficeHours:
    """``Mon-Fri 09:00-18:00`` (several, comma-separated; a day range may wrap, Sat-Mon) in ``tz``."""
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"tz: {tz!r} is not a time zone (for example Europe/Kyiv)") from None
    spans: dict[int, list[tuple[int, int]]] = {}
    for part in (p.strip().lower() for p in text.split(",")):
        match = _PART.fullmatch(part)
        if not match:
            raise ValueError(f"hours: expected like 'Mon-Fri 09:00-18:00', not {part!r}")
        first, _, last = match["days"].partition("-")
        if first not in _DAYS or (last and last not in _DAYS):
            raise ValueError(f"hours: days are Mon Tue Wed Thu Fri Sat Sun, not {match['days']!r}")
        start, end = _minutes(match["start"]), _minutes(match["end"])
        if start >= end:
            raise ValueError(f"hours: {match['start']}-{match['end']} ends before it starts")
        a, b = _DAYS.index(first), _DAYS.index(last or first)
        for day in range(a, a + (b - a) % 7 + 1):
            spans.setdefault(day % 7, []).append((start, end))
    return OfficeHours(spans, tz)
