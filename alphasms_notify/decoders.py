"""One answer item's ``data`` to its typed result, read strictly by the reference's shapes.

Each decoder takes the item's ``data`` object and where it sits in the answer
(for the error message) and returns a result or raises
:class:`~alphasms_notify.errors.ProtocolError` naming the field and why: the
provider's answers are untrusted input (see :mod:`alphasms_notify.wire`).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation
from types import NoneType
from typing import Any

from .errors import ProtocolError
from .results import (
    BalanceResult,
    Country,
    HlrResult,
    Media,
    MessageStatus,
    Network,
    OtpResult,
    Reply,
    SendResult,
    StatusResult,
)

__all__ = ["DECODERS", "SENDS", "field_of"]


def field_of(obj: Any, key: str, kinds: type | tuple[type, ...], where: str, *, optional: bool = False) -> Any:
    if not isinstance(obj, dict):
        raise ProtocolError(f"{where}: expected an object, got {type(obj).__name__}")
    if key not in obj or obj[key] is None:
        if optional:
            return None
        raise ProtocolError(f"{where}: missing key {key!r}")
    value = obj[key]
    if isinstance(value, bool) and bool not in (kinds if isinstance(kinds, tuple) else (kinds,)):
        raise ProtocolError(f"{where}: {key!r} should not be a boolean")
    if not isinstance(value, kinds):
        raise ProtocolError(f"{where}: {key!r} has the wrong type ({type(value).__name__})")
    return value


def _int(obj: Any, key: str, where: str, *, optional: bool = False) -> int | None:
    """An integer field; numeric strings are accepted as the provider's PHP may send them."""
    value = field_of(obj, key, (int, str), where, optional=optional)
    if value is None or isinstance(value, int):
        return value
    if not value.strip().isdigit():
        raise ProtocolError(f"{where}: {key!r} is not a number: {value!r}")
    return int(value)


def _country(obj: Any, where: str) -> Country | None:
    if obj is None:
        return None
    return Country(field_of(obj, "name", str, where), _int(obj, "prefix", where))  # type: ignore[arg-type]


def _network(obj: Any, where: str) -> Network | None:
    if obj is None or obj == {} or obj == []:
        return None
    return Network(
        field_of(obj, "name", str, where),
        _int(obj, "prefix", where, optional=True),
        _country(field_of(obj, "country", dict, where, optional=True), where + ".country"),
    )


def _decimal(data: Any, key: str, where: str) -> Decimal:
    """A money field: a JSON number or numeric text, finite."""
    raw = field_of(data, key, (int, float, str), where)
    try:
        value = Decimal(str(raw))
    except InvalidOperation:
        raise ProtocolError(f"{where}: {key} is not a number: {raw!r}") from None
    if not value.is_finite():
        raise ProtocolError(f"{where}: {key} is not a finite number: {raw!r}")
    return value


def _decode_balance(data: Any, where: str) -> BalanceResult:
    return BalanceResult(_decimal(data, "amount", where), field_of(data, "currency", str, where))


def _decode_send(data: Any, where: str) -> SendResult:
    msg_id, parts = data.get("msg_id"), data.get("parts")
    if type(data.get("id")) is int and type(msg_id) is int and type(parts) in (int, NoneType):
        return SendResult(data["id"], msg_id, parts, data.get("data"))  # the usual, well-formed case
    return SendResult(
        id=_int(data, "id", where),  # type: ignore[arg-type]
        msg_id=_int(data, "msg_id", where),
        parts=_int(data, "parts", where, optional=True),
        data=data.get("data"),
    )


def _decode_hlr(data: Any, where: str) -> HlrResult:
    network = field_of(data, "network", dict, where, optional=True) or {}
    return HlrResult(
        phone=_int(data, "phone", where),  # type: ignore[arg-type]
        status=MessageStatus.parse(field_of(data, "status", str, where)),
        imsi=_int(data, "imsi", where, optional=True),
        mccmnc=_int(data, "mccmnc", where, optional=True),
        ported=bool(field_of(data, "ported", (bool, int), where, optional=True)),
        origin=_network(network.get("origin"), where + ".network.origin"),
        ported_network=_network(network.get("ported"), where + ".network.ported"),
    )


def _decode_reply(obj: Any, where: str) -> Reply:
    stamp = field_of(obj, "datetime", str, where)
    try:
        when = datetime.fromisoformat(stamp)
    except ValueError:
        raise ProtocolError(f"{where}: datetime is not ISO 8601: {stamp!r}") from None
    media_obj = field_of(obj, "media", dict, where, optional=True)
    media = None
    if media_obj is not None:
        media = Media(
            url=field_of(media_obj, "url", str, where + ".media"),
            filename=field_of(media_obj, "filename", str, where + ".media", optional=True),
            filesize=_int(media_obj, "filesize", where + ".media", optional=True),
        )
    return Reply(when, field_of(obj, "message", str, where, optional=True), media)


def _decode_status(data: Any, where: str) -> StatusResult:
    msg_id, kind, status, replies = data.get("id"), data.get("type"), data.get("status"), data.get("replies")
    if type(msg_id) is int and type(kind) is str and type(status) is str and (replies is None or replies == []):
        return StatusResult(msg_id, kind, MessageStatus.parse(status), ())  # the usual: no reply, well formed
    replies = field_of(data, "replies", list, where, optional=True) or []
    return StatusResult(
        id=_int(data, "id", where),  # type: ignore[arg-type]
        type=field_of(data, "type", str, where),
        status=MessageStatus.parse(field_of(data, "status", str, where)),
        replies=tuple(_decode_reply(r, f"{where}.replies[{i}]") for i, r in enumerate(replies)),
    )


def _decode_otp(data: Any, where: str) -> OtpResult:
    return OtpResult(str(field_of(data, "code", (str, int), where)), _decimal(data, "price", where))


DECODERS = {
    "balance": _decode_balance,
    "sms": _decode_send,
    "viber": _decode_send,
    "viber+sms": _decode_send,
    "rcs": _decode_send,
    "rcs+sms": _decode_send,
    "call/otp": _decode_otp,
    "hlr": _decode_hlr,
    "status": _decode_status,
}


SENDS = frozenset({"sms", "viber", "viber+sms", "rcs", "rcs+sms"})
