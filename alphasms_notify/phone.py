"""Phone numbers as operators type them, turned into the integer the API wants.

The provider takes ``phone`` as a JSON integer in international form without
``+`` (380971234567). People type ``+380 97 123 45 67``, ``097 123 45 67`` or
``380971234567``; :func:`normalize_phone` accepts all of these (Ukraine is the
default region for national numbers) and rejects what is not a valid number,
using Google's numbering metadata through the ``phonenumbers`` library.
"""

from __future__ import annotations

import re
from functools import cache, lru_cache
from typing import Any

import phonenumbers

__all__ = ["DEFAULT_REGION", "InvalidPhone", "normalize_phone"]

DEFAULT_REGION = "UA"
_ALLOWED = re.compile(r"^\+?[\d\s().\-]+$")
_SEPARATORS = re.compile(r"[\s().\-]")
_UA_FULL = re.compile(r"^\+?380(\d{9})$")
_UA_NATIONAL = re.compile(r"^0(\d{9})$")


class InvalidPhone(ValueError):
    """The text is not a valid phone number; the message says why."""


def normalize_phone(value: str | int, region: str = DEFAULT_REGION) -> int:
    """Return ``value`` as the provider's integer form (country code first).

    Raises :class:`InvalidPhone` with a reason a person can act on.
    """
    if isinstance(value, bool):
        raise InvalidPhone(f"{value!r} is not a phone number")
    return _normalize(str(value).strip(), region)


_Desc = tuple[frozenset[int], re.Pattern[str]]


@cache
def _rules(region: str) -> tuple[_Desc, tuple[_Desc, ...]]:
    """phonenumbers' validity rules for ``region``: the general description, then each number type."""
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)

    def desc(d: Any) -> _Desc:
        return frozenset(d.possible_length or ()), re.compile(d.national_number_pattern)

    # any matching type makes a number valid, so the order is free: the likely ones first
    kinds = (metadata.mobile, metadata.fixed_line, metadata.premium_rate, metadata.toll_free, metadata.shared_cost,
             metadata.voip, metadata.personal_number, metadata.pager, metadata.uan, metadata.voicemail)
    return desc(metadata.general_desc), tuple(desc(d) for d in kinds if d is not None and d.national_number_pattern)


def _matches(nsn: str, rule: _Desc) -> bool:
    lengths, pattern = rule
    return (not lengths or len(nsn) in lengths) and pattern.fullmatch(nsn) is not None


def is_valid_ukrainian(nsn: str) -> bool:
    """``phonenumbers.is_valid_number`` for a Ukrainian national number, without its per-call overhead.

    The same rule on the same metadata (the general pattern, then any number type's
    pattern and lengths); tests check it agrees with phonenumbers. Worth it because
    it runs for every message of batches of thousands.
    """
    general, kinds = _rules("UA")
    return _matches(nsn, general) and any(_matches(nsn, kind) for kind in kinds)


def _ukrainian(digits: str, region: str) -> int | None:
    """The common case without a full parse: +380XXXXXXXXX, 380XXXXXXXXX, 0XXXXXXXXX (region UA)."""
    match = _UA_FULL.match(digits) or (region == "UA" and _UA_NATIONAL.match(digits))
    if not match or not is_valid_ukrainian(match.group(1)):
        return None
    return 380_000_000_000 + int(match.group(1))


@lru_cache(maxsize=65536)
def _normalize(text: str, region: str) -> int:
    if not text:
        raise InvalidPhone("phone number is empty")
    if not _ALLOWED.match(text):
        raise InvalidPhone(f"{text!r} is not a phone number (only digits, spaces, +, -, ( ) allowed)")
    fast = _ukrainian(text if text.isdigit() else _SEPARATORS.sub("", text), region)
    if fast is not None:
        return fast
    candidates = [text] if text.startswith("+") else [text, "+" + re.sub(r"\D", "", text)]
    for candidate in candidates:
        try:
            number = phonenumbers.parse(candidate, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(number):
            return int(f"{number.country_code}{number.national_number}")
    raise InvalidPhone(f"{text!r} is not a valid phone number")
