"""Phone numbers as operators type them, turned into the integer the API wants.

The provider takes ``phone`` as a JSON integer in international form without
``+`` (380971234567). People type ``+380 97 123 45 67``, ``097 123 45 67`` or
``380971234567``; :func:`normalize_phone` accepts all of these (Ukraine is the
default region for national numbers) and rejects what is not a valid number,
using Google's numbering metadata through the ``phonenumbers`` library.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from .errors import AlphaSMSError
from .i18n import gettext as _

__all__ = ["DEFAULT_REGION", "InvalidPhone", "normalize_phone", "canonical_number", "format_phone", "region_of",
           "known_regions"]

DEFAULT_REGION = "UA"
_ALLOWED = re.compile(r"^\+?[\d\s().\-]+$")
_SEPARATORS = re.compile(r"[\s().\-]")
_UA_FULL = re.compile(r"^\+?380(\d{9})$")
_UA_NATIONAL = re.compile(r"^0(\d{9})$")


class InvalidPhone(AlphaSMSError, ValueError):
    """The text is not a valid phone number; the message says why."""


def normalize_phone(value: str | int, region: str = DEFAULT_REGION) -> int:
    """Return ``value`` as the provider's integer form (country code first).

    Raises :class:`InvalidPhone` with a reason a person can act on.
    """
    if isinstance(value, bool):
        raise InvalidPhone(f"{value!r} is not a phone number")
    number = canonical_number(value)
    return number if number is not None else _normalize(str(value).strip(), region)


def canonical_number(value: object) -> int | None:
    """``value`` when it is written as the provider's integer already (380XXXXXXXXX, as a number or as text)
    and is a valid Ukrainian number, else None (:func:`normalize_phone` then looks at it in full).

    What :func:`normalize_phone` answers for such a value, without its layers: a send of thousands is mostly
    such numbers, and its checks, the CLI's duplicates and the prepared copies each look at every one.
    """
    if type(value) is str:
        if len(value) == 12 and value[:3] == "380" and value.isdigit() and is_valid_ukrainian(value[3:]):
            return int(value)
    elif type(value) is int and 380_000_000_000 <= value < 381_000_000_000 and is_valid_ukrainian(str(value)[3:]):
        return value
    return None


class _Fields:
    """A stand-in for phonenumbers' metadata classes: keeps the keyword arguments as attributes."""

    def __init__(self, **fields: object) -> None:
        self.__dict__.update(fields)

    def __getattr__(self, name: str) -> None:
        return None  # a description the region's file leaves out


def _region_metadata(region: str) -> object:
    """phonenumbers' metadata for ``region``, read from its data file without importing phonenumbers.

    ``import phonenumbers`` takes ~30 ms (it loads the whole library); the region's file is one
    constructor call, evaluated here with stand-in classes. Anything unexpected falls back to the
    library itself; tests check the rules agree with ``phonenumbers.is_valid_number``.
    """
    try:
        from importlib.util import find_spec
        from pathlib import Path

        spec = find_spec("phonenumbers")  # finds the package without running it
        folder = Path(next(iter(spec.submodule_search_locations or ())))  # type: ignore[union-attr]
        source = (folder / "data" / f"region_{region}.py").read_text(encoding="utf-8")
        body = "\n".join(line for line in source.splitlines() if not line.startswith(("from ", "import ")))
        names: dict[str, object] = {"PhoneMetadata": _Fields, "PhoneNumberDesc": _Fields, "NumberFormat": _Fields}
        exec(compile(body, f"region_{region}.py", "exec"), names)  # noqa: S102 - the installed library's own data
        return names[f"PHONE_METADATA_{region}"]
    except Exception:  # noqa: BLE001 - another layout: ask the library
        import phonenumbers

        return phonenumbers.PhoneMetadata.metadata_for_region(region)


def _rules(region: str) -> tuple[re.Pattern[str], dict[int, re.Pattern[str]]]:
    """phonenumbers' validity rules for ``region``: the general pattern, and for each possible
    national-number length one pattern that matches when any number type of that length does."""
    metadata: Any = _region_metadata(region)
    general = metadata.general_desc
    kinds = [d for d in (metadata.mobile, metadata.fixed_line, metadata.premium_rate, metadata.toll_free,
                         metadata.shared_cost, metadata.voip, metadata.personal_number, metadata.pager,
                         metadata.uan, metadata.voicemail) if d is not None and d.national_number_pattern]
    by_length: dict[int, re.Pattern[str]] = {}
    for length in general.possible_length or ():
        # a type that lists no lengths of its own takes the general ones, as phonenumbers does
        patterns = [d.national_number_pattern for d in kinds if not d.possible_length or length in d.possible_length]
        if patterns:
            by_length[length] = re.compile("|".join(f"(?:{p})" for p in patterns))
    return re.compile(general.national_number_pattern), by_length


_ua_rules = lru_cache(maxsize=1)(lambda: _rules("UA"))


@lru_cache(maxsize=65536)
def is_valid_ukrainian(nsn: str) -> bool:
    """``phonenumbers.is_valid_number`` for a Ukrainian national number, without its per-call overhead.

    The same rule on the same metadata (the general pattern and lengths, then any number
    type's pattern and lengths, combined into one pattern per length); tests check it
    agrees with phonenumbers. Worth it: it runs for every message of batches of thousands,
    and the same numbers are looked at again (the CLI's duplicates, the prepared copies
    checked before they go), hence the cache.
    """
    rule = _ua_by_length().get(len(nsn))
    return rule is not None and rule.fullmatch(nsn) is not None


@lru_cache(maxsize=1)
def _ua_by_length() -> dict[int, re.Pattern[str]]:
    """The general pattern and the length's type patterns as one regex per length: one match a number."""
    general, by_length = _ua_rules()
    return {length: re.compile(f"(?=(?:{general.pattern})$)(?:{kinds.pattern})")
            for length, kinds in by_length.items()}


def _ukrainian(digits: str, region: str) -> int | None:
    """The common case without a full parse: +380XXXXXXXXX, 380XXXXXXXXX, 0XXXXXXXXX (region UA)."""
    match = _UA_FULL.match(digits) or (region == "UA" and _UA_NATIONAL.match(digits))
    if not match or not is_valid_ukrainian(match.group(1)):
        return None
    return 380_000_000_000 + int(match.group(1))


@lru_cache(maxsize=65536)
def _normalize(text: str, region: str) -> int:
    if not text:
        raise InvalidPhone(_("phone number is empty"))
    if text.isdigit():
        fast = _ukrainian(text, region)
    elif not _ALLOWED.match(text):
        raise InvalidPhone(_("{text} is not a phone number (only digits, spaces, +, -, ( ) allowed)").format(
            text=repr(text)))
    else:
        fast = _ukrainian(_SEPARATORS.sub("", text), region)
    if fast is not None:
        return fast
    import phonenumbers

    candidates = [text] if text.startswith("+") else [text, "+" + re.sub(r"\D", "", text)]
    for candidate in candidates:
        try:
            number = phonenumbers.parse(candidate, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(number):
            return int(f"{number.country_code}{number.national_number}")
    raise InvalidPhone(_("{text} is not a valid phone number").format(text=repr(text)))


def format_phone(phone: int) -> str:
    """``380971234567`` as people write it: ``+380 97 123 45 67``; other countries as phonenumbers groups them."""
    digits = str(phone)
    if len(digits) == 12 and digits.startswith("380"):
        return f"+380 {digits[3:5]} {digits[5:8]} {digits[8:10]} {digits[10:]}"
    import phonenumbers

    try:
        number = phonenumbers.parse("+" + digits)
    except phonenumbers.NumberParseException:
        return "+" + digits
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def region_of(number: int) -> str | None:
    """The country (ISO 3166 code) a normalized number belongs to; None when the numbering plan says none.

    Ukrainian numbers are answered without loading ``phonenumbers`` (the common case, and it costs ~30 ms)."""
    if str(number).startswith("380"):
        return "UA"
    import phonenumbers

    try:
        return phonenumbers.region_code_for_number(phonenumbers.parse(f"+{number}"))
    except phonenumbers.NumberParseException:
        return None


@lru_cache(maxsize=1)
def known_regions() -> frozenset[str]:
    """Every country code the numbering metadata knows."""
    import phonenumbers

    return frozenset(phonenumbers.SUPPORTED_REGIONS)
