"""Phone numbers as operators type them, turned into the integer the API wants.

The provider takes ``phone`` as a JSON integer in international form without
``+`` (380971234567). People type ``+380 97 123 45 67``, ``097 123 45 67`` or
``380971234567``; :func:`normalize_phone` accepts all of these (Ukraine is the
default region for national numbers) and rejects what is not a valid number,
using Google's numbering metadata through the ``phonenumbers`` library.
"""

from __future__ import annotations

import re

import phonenumbers

__all__ = ["DEFAULT_REGION", "InvalidPhone", "normalize_phone"]

DEFAULT_REGION = "UA"
_ALLOWED = re.compile(r"^\+?[\d\s().\-]+$")


class InvalidPhone(ValueError):
    """The text is not a valid phone number; the message says why."""


def normalize_phone(value: str | int, region: str = DEFAULT_REGION) -> int:
    """Return ``value`` as the provider's integer form (country code first).

    Raises :class:`InvalidPhone` with a reason a person can act on.
    """
    if isinstance(value, bool):
        raise InvalidPhone(f"{value!r} is not a phone number")
    text = str(value).strip()
    if not text:
        raise InvalidPhone("phone number is empty")
    if not _ALLOWED.match(text):
        raise InvalidPhone(f"{text!r} is not a phone number (only digits, spaces, +, -, ( ) allowed)")
    candidates = [text] if text.startswith("+") else [text, "+" + re.sub(r"\D", "", text)]
    for candidate in candidates:
        try:
            number = phonenumbers.parse(candidate, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(number):
            return int(f"{number.country_code}{number.national_number}")
    raise InvalidPhone(f"{text!r} is not a valid phone number")
