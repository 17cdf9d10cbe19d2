"""How many SMS parts a text costs, counted as the network counts them (3GPP TS 23.038/23.040).

A text that fits the GSM 7-bit alphabet takes 160 septets in one part, 153 per
part when split (the rest is the concatenation header); characters of the
extension table (``€ [ ] { } ~ ^ | \\`` and form feed) take two septets, and an
escape pair is never split across parts. Any other character makes the whole
text UCS-2: 70 UTF-16 units in one part, 67 per part when split, where a
character outside the Basic Multilingual Plane (most emoji) takes two units
and a surrogate pair is never split.

Libraries we looked at count emoji as one unit, so this is written out here
and property-tested against these rules.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Literal

from .i18n import ngettext

__all__ = ["Segments", "count_segments", "sms_units", "GSM7_BASIC", "GSM7_EXTENSION", "GSM7_MULTI", "UCS2_MULTI"]

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("^{}\\[~]|€\f")

GSM7_SINGLE, GSM7_MULTI = 160, 153
UCS2_SINGLE, UCS2_MULTI = 70, 67


@dataclass(frozen=True, slots=True)
class Segments:
    """The encoding a text needs, its length in that encoding's units, and its parts."""

    encoding: Literal["GSM-7", "UCS-2"]
    units: int
    parts: int
    per_part: int

    def __str__(self) -> str:
        """As the operator reads it, in the current language (:mod:`.i18n`)."""
        return ngettext("{n} part ({encoding}, {units} units)", "{n} parts ({encoding}, {units} units)",
                        self.parts).format(n=self.parts, encoding=self.encoding, units=self.units)


def _unit_costs(text: str) -> tuple[Literal["GSM-7", "UCS-2"], list[int]]:
    if all(ch in GSM7_BASIC or ch in GSM7_EXTENSION for ch in text):
        return "GSM-7", [2 if ch in GSM7_EXTENSION else 1 for ch in text]
    return "UCS-2", [2 if ord(ch) > 0xFFFF else 1 for ch in text]


@functools.lru_cache(maxsize=256)
def sms_units(text: str) -> tuple[bool, int]:
    """Whether ``text`` fits GSM-7, and the most units one of its characters takes (1 or 2)."""
    encoding, costs = _unit_costs(text)
    return encoding == "GSM-7", max(costs, default=1)


@functools.lru_cache(maxsize=256)  # a campaign counts one text 100,000 times (checks, preview, estimate)
def count_segments(text: str) -> Segments:
    """Count the SMS parts ``text`` takes. An empty text is one (empty) part."""
    encoding, costs = _unit_costs(text)
    single, multi = (GSM7_SINGLE, GSM7_MULTI) if encoding == "GSM-7" else (UCS2_SINGLE, UCS2_MULTI)
    units = sum(costs)
    if units <= single:
        return Segments(encoding, units, 1, single)
    parts, used = 1, 0
    for cost in costs:  # greedy fill: a two-unit character never straddles a boundary
        if used + cost > multi:
            parts, used = parts + 1, 0
        used += cost
    return Segments(encoding, units, parts, multi)
