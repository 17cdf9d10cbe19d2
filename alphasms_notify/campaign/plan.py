"""When a campaign may send: not before its start, only inside its daily window, never after its end.

The window is in the recipients' time zone (``Europe/Kyiv`` by default) and read with :mod:`zoneinfo`,
so 09:00 stays 09:00 local across a DST change. A closed window defers the sends, never drops them; a
window may cross midnight (``22:00-06:00``).
"""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = ["DEFAULT_TZ", "parse_window", "parse_moment", "opens_at", "PlanError"]

DEFAULT_TZ = "Europe/Kyiv"
_WINDOW = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


class PlanError(ValueError):
    """A campaign option that cannot be used (the message names it)."""


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise PlanError(f"time zone: {name!r} is not a known time zone (for example Europe/Kyiv)") from None


def parse_window(text: str) -> tuple[time, time]:
    """``HH:MM-HH:MM`` to (opens, closes); refuses an empty window."""
    found = _WINDOW.match(text)
    if not found:
        raise PlanError(f"--window: expected HH:MM-HH:MM (for example 09:00-21:00), not {text!r}")
    h1, m1, h2, m2 = (int(g) for g in found.groups())
    if h1 > 23 or h2 > 24 or m1 > 59 or m2 > 59 or (h2 == 24 and m2):
        raise PlanError(f"--window: {text!r} is not a time of day")
    opens, closes = time(h1, m1), time(0, 0) if h2 == 24 else time(h2, m2)
    if opens == closes:
        raise PlanError(f"--window: {text!r} opens and closes at the same time")
    return opens, closes


def parse_moment(text: str, tz: str) -> float:
    """``YYYY-MM-DD HH:MM`` (or ISO 8601, with or without an offset) in ``tz`` to a timestamp."""
    try:
        moment = datetime.fromisoformat(text.strip().replace(" ", "T", 1))
    except ValueError:
        raise PlanError(f"expected a date and time such as 2026-12-24 09:00, not {text!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone(tz))
    return moment.timestamp()


def _inside(local: time, opens: time, closes: time) -> bool:
    if opens < closes:
        return opens <= local < closes
    return local >= opens or local < closes  # across midnight


def opens_at(now: float, window: str | None, tz: str, start_at: float | None = None) -> float:
    """The first moment at or after ``now`` when the campaign may send (``now`` itself when it may)."""
    moment = max(now, start_at or now)
    if not window:
        return moment
    opens, closes = parse_window(window)
    where = zone(tz)
    local = datetime.fromtimestamp(moment, where)
    if _inside(local.time(), opens, closes):
        return moment
    day = local.date()
    for offset in (0, 1):  # today's opening if it is still ahead, else tomorrow's
        candidate = datetime.combine(day + timedelta(days=offset), opens, tzinfo=where)
        if candidate.timestamp() > moment:
            return candidate.timestamp()
    raise AssertionError("unreachable: a window opens every day")  # pragma: no cover
