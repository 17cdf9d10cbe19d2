"""The sandbox's designated test numbers and its Ukrainian numbering plan.

Like Twilio's magic numbers: sending to one of these ends the way its name
says, so tests can exercise failure paths without a real phone.
"""

from __future__ import annotations

from typing import Any

__all__ = ["OUTCOMES", "VIBER_FAILS", "PORTED", "OPERATORS", "final_status", "hlr_data", "is_valid_phone"]

UNDELIVERABLE = 380500000001
EXPIRED = 380500000002
REJECTED = 380500000003
INVALID_DESTINATION = 380500000004
VIBER_FAILS = 380500000005  # Viber and RCS fail; viber+sms and rcs+sms are then delivered by SMS

OUTCOMES = {
    UNDELIVERABLE: "UNDELIVERABLE",
    EXPIRED: "EXPIRED",
    REJECTED: "REJECTED",
    INVALID_DESTINATION: "INVALID DESTINATION ADDRESS",
}

_KYIVSTAR = ("Kyivstar", 25503)
_VODAFONE = ("Vodafone Ukraine (fka MTS)", 25501)
_LIFECELL = ("lifecell", 25506)
OPERATORS: dict[int, tuple[str, int]] = {
    **{code: _KYIVSTAR for code in (67, 68, 96, 97, 98)},
    **{code: _VODAFONE for code in (50, 66, 95, 99)},
    **{code: _LIFECELL for code in (63, 73, 93)},
}
# numbers that moved to another operator: number -> the new operator's prefix
PORTED: dict[int, int] = {
    380971111111: 66,  # Kyivstar -> Vodafone
    380501111111: 63,  # Vodafone -> lifecell
    380631111111: 67,  # lifecell -> Kyivstar
}
_UA_MOBILE = frozenset(OPERATORS) | {39, 89, 91, 92, 94}


def is_valid_phone(phone: int) -> bool:
    """Fast check for the hot path: Ukrainian mobile numbers by plan, others by length.

    Non-Ukrainian numbers are checked with the ``phonenumbers`` metadata.
    """
    text = str(phone)
    if text.startswith("380"):
        return len(text) == 12 and int(text[3:5]) in _UA_MOBILE
    from ..phone import InvalidPhone, normalize_phone

    try:
        return normalize_phone("+" + text) == phone
    except InvalidPhone:
        return False


def final_status(phone: int, channel: str) -> str:
    """How a message to ``phone`` over ``channel`` ("sms", "viber" or "rcs") ends."""
    if phone in OUTCOMES:
        return OUTCOMES[phone]
    if phone == VIBER_FAILS and channel in ("viber", "rcs"):  # no Viber, no RCS: +sms falls back
        return "UNDELIVERABLE"
    return "DELIVERED"


def _network(prefix: int) -> dict[str, Any]:
    name, _ = OPERATORS[prefix]
    return {"name": name, "prefix": prefix, "country": {"name": "Ukraine", "prefix": 380}}


def hlr_data(phone: int) -> dict[str, Any]:
    """The reference's HLR ``data`` object for ``phone``."""
    text = str(phone)
    prefix = int(text[3:5]) if text.startswith("380") and len(text) == 12 else None
    if prefix not in OPERATORS:
        return {"phone": phone, "status": "UNKNOWN", "imsi": None, "mccmnc": None, "ported": False,
                "network": {"origin": None, "ported": None}}
    ported_to = PORTED.get(phone)
    _, mccmnc = OPERATORS[ported_to or prefix]
    status = "UNDELIVERABLE" if phone in (UNDELIVERABLE, INVALID_DESTINATION) else "DELIVERED"
    return {
        "phone": phone,
        "status": status,
        "imsi": int(f"{mccmnc}{phone % 10**10:010d}"),
        "mccmnc": mccmnc,
        "ported": ported_to is not None,
        "network": {
            "origin": _network(prefix),
            "ported": _network(ported_to) if ported_to else None,
        },
    }
