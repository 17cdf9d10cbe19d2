"""The codec: messages to the reference's JSON items, and JSON answers to results.

Pure functions with no I/O, shared by the sync and async clients (and
property-tested on arbitrary input): whatever the server sends, decoding
returns outcomes or raises :class:`~alphasms_notify.errors.ProtocolError` /
:class:`~alphasms_notify.errors.APIError`, never a KeyError or TypeError.
"""

from __future__ import annotations

from typing import Any, cast

import orjson

from .decoders import DECODERS, SENDS, field_of
from .errors import AccessDenied, APIError, ProtocolError
from .gcpause import without_gc
from .messages import (
    VIBER_TYPE_FIELDS,
    Balance,
    CallOtp,
    Hlr,
    Message,
    Rcs,
    RcsSms,
    SendMessage,
    Sms,
    Status,
    Viber,
    ViberSms,
)
from .results import Outcome, SendResult

__all__ = ["encode_item", "encode_request", "decode_response", "parse_json", "VIBER_KEYS", "RCS_KEYS",
           "CAMPAIGN_HEADER"]

# The campaign a request's messages belong to (percent-encoded UTF-8), for the sandbox's inbox; the provider
# ignores headers it does not know, and the body stays exactly the reference's shape.
CAMPAIGN_HEADER = "X-AlphaSMS-Notify-Campaign"


# Message field -> the reference's key, for the fields VIBER_TYPE_FIELDS lists per Viber type.
VIBER_KEYS = {"text": "viber_message", "image": "viber_image", "link": "viber_link", "button": "viber_button"}
# RCS has no type key: each field goes on the wire only when given.
RCS_KEYS = {"text": "rcs_message", "image": "rcs_image", "link": "rcs_link", "button": "rcs_button"}


def _viber_fields(message: Viber | ViberSms) -> dict[str, Any]:
    viber_type = message.viber_type()
    item: dict[str, Any] = {"viber_type": viber_type, "viber_signature": message.sender}
    for name in VIBER_TYPE_FIELDS[viber_type]:  # type: ignore[index]
        item[VIBER_KEYS[name]] = getattr(message, name)
    return item


def encode_item(message: Message) -> dict[str, Any]:
    """The reference's item for a checked message (phone an int, id and senders set)."""
    if isinstance(message, Sms):
        item = {
            "type": "sms",
            "id": message.id,
            "phone": message.phone,
            "sms_signature": message.sender,
            "sms_message": message.text,
        }
        if message.lifetime is not None:
            item["sms_lifetime"] = message.lifetime
        if message.unsubscribe_link:
            item["unsubscribe_link"] = True
        if message.short_link:
            item["short_link"] = True
        if message.hook is not None:
            item["hook"] = message.hook
        return item
    if isinstance(message, Viber):
        item = {"type": "viber", "id": message.id, "phone": message.phone, **_viber_fields(message)}
        if message.lifetime is not None:
            item["viber_lifetime"] = message.lifetime
        return item
    if isinstance(message, ViberSms):
        item = {
            "type": "viber+sms",
            "id": message.id,
            "phone": message.phone,
            "sms_signature": message.sms_sender,
            "sms_message": message.fallback_text,
            **_viber_fields(message),
        }
        if message.sms_lifetime is not None:
            item["sms_lifetime"] = message.sms_lifetime
        if message.viber_lifetime is not None:
            item["viber_lifetime"] = message.viber_lifetime
        return item
    if isinstance(message, Rcs | RcsSms):
        item = {"type": message.type, "id": message.id, "phone": message.phone, "rcs_signature": message.sender}
        for name, key in RCS_KEYS.items():
            value = getattr(message, name)
            if value is not None:
                item[key] = value
        if isinstance(message, RcsSms):
            item["sms_signature"] = message.sms_sender
            item["sms_message"] = message.fallback_text
        return item
    if isinstance(message, CallOtp):
        return {"type": "call/otp", "phone": message.phone}
    if isinstance(message, Hlr):
        return {"type": "hlr", "phone": message.phone}
    if isinstance(message, Balance):
        return {"type": "balance"}
    if isinstance(message, Status):
        return {"type": "status", "id": message.id}
    raise TypeError(f"not a message: {message!r}")


@without_gc
def encode_request(api_key: str, messages: list[Message]) -> bytes:
    """The UTF-8 JSON body ``{"auth": KEY, "data": [item, ...]}`` (orjson: several times the stdlib's speed)."""
    return orjson.dumps({"auth": api_key, "data": [encode_item(m) for m in messages]})


# -- decoding ---------------------------------------------------------------


def _describe(raw: bytes, limit: int = 120) -> str:
    text = raw[:limit].decode("utf-8", "replace").replace("\n", " ").strip()
    return repr(text + ("..." if len(raw) > limit else ""))


def parse_json(status_code: int, content: bytes) -> Any:
    """Parse the body, or raise ProtocolError saying what came instead of JSON."""
    try:
        return orjson.loads(content)
    except (UnicodeDecodeError, ValueError):  # orjson.JSONDecodeError is a ValueError
        raise ProtocolError(
            f"expected JSON from AlphaSMS, got HTTP {status_code} with {_describe(content)}"
        ) from None


def _item_id(item: Any) -> int | None:
    data = item.get("data") if isinstance(item, dict) else None
    value = data.get("id") if isinstance(data, dict) else None
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return value if isinstance(value, int) else None


def _in_order(items: list[Any], messages: list[Message]) -> bool:
    """Whether every answer item that names an id names its own message's (a quick first look)."""
    for item, message in zip(items, messages, strict=True):
        wanted = getattr(message, "id", None)
        data = item.get("data") if wanted is not None and type(item) is dict else None
        got = data.get("id") if type(data) is dict else None
        if got is not None and got != wanted and _item_id(item) != wanted:
            return False
    return True


def _order(items: list[Any], messages: list[Message]) -> list[Any]:
    """Put answer items in request order, matching by ``id`` where both sides have one."""
    if _in_order(items, messages):
        return items  # the usual case
    ids = [_item_id(item) for item in items]
    by_id: dict[int, Any] = {}
    for item, item_id in zip(items, ids, strict=True):
        if item_id is not None:
            by_id.setdefault(item_id, item)
    ordered = []
    for position, (message, item) in enumerate(zip(messages, items, strict=True)):
        wanted = getattr(message, "id", None)
        if wanted is None or _item_id(item) in (None, wanted):
            ordered.append(item)
        elif wanted in by_id:
            ordered.append(by_id[wanted])
        else:
            raise ProtocolError(f"answer item {position + 1} is for id {_item_id(item)}, not {wanted}")
    return ordered


def _decode_sends(items: list[Any], messages: list[SendMessage]) -> list[Outcome[Any]] | None:
    """:func:`_decode_usual` for a batch of sends only (a bulk send's every request): one tight pass."""
    outcomes: list[Outcome[Any]] = []
    append = outcomes.append
    try:
        for message, item in zip(messages, items, strict=True):
            data = item["data"]
            if item["success"] is not True or type(data) is not dict:
                return None
            got, msg_id, parts = data["id"], data["msg_id"], data.get("parts")
            if type(got) is not int or got != message.id or type(msg_id) is not int \
                    or (parts is not None and type(parts) is not int):
                return None
            append(Outcome(message, True, SendResult(got, msg_id, parts, data.get("data")), None, item))
    except (KeyError, TypeError):  # an item or its data not an object, a field missing
        return None
    return outcomes


def _decode_usual(items: list[Any], messages: list[Message]) -> list[Outcome[Any]] | None:
    """Every item accepted, in order, well formed: the outcomes in one tight pass (a campaign's
    10,000 items). None at the first item that is not so: the general path then looks at all of them."""
    if all(m.type in SENDS for m in messages):
        return _decode_sends(items, cast(list[SendMessage], messages))
    outcomes: list[Outcome[Any]] = []
    append = outcomes.append
    for message, item in zip(messages, items, strict=True):
        if type(item) is not dict or item.get("success") is not True:
            return None
        data = item.get("data")
        if type(data) is not dict:
            return None
        got = data.get("id")
        if got is not None and got != getattr(message, "id", None):
            return None
        try:
            result = DECODERS[message.type](data, "")
        except ProtocolError:
            return None
        append(Outcome(message, True, result, None, item))
    return outcomes


@without_gc
def decode_response(status_code: int, content: bytes, messages: list[Message]) -> list[Outcome[Any]]:
    """Turn the HTTP answer to ``messages`` into one Outcome per message, in request order."""
    body = parse_json(status_code, content)
    if not isinstance(body, dict) or not isinstance(body.get("success"), bool):
        raise ProtocolError(f"expected an object with 'success', got {_describe(content)}")
    if body["success"] is False:
        error = body.get("error")
        error = error if isinstance(error, str) and error else "unspecified error"
        raise (AccessDenied if error.strip().lower() == "access denied" else APIError)(error)
    if status_code >= 400:
        raise ProtocolError(f"HTTP {status_code} with a success answer: {_describe(content)}")
    items = body.get("data")
    if not isinstance(items, list):
        raise ProtocolError("answer has no 'data' list")
    if len(items) != len(messages):
        raise ProtocolError(f"sent {len(messages)} items but the answer has {len(items)}")
    fast = _decode_usual(items, messages)
    if fast is not None:
        return fast
    outcomes: list[Outcome[Any]] = []
    for position, (message, item) in enumerate(zip(messages, _order(items, messages), strict=True)):
        decoder = DECODERS[message.type]
        if type(item) is dict and item.get("success") is True and type(data := item.get("data")) is dict:
            try:  # the usual case; the location is only worked out for an error message
                outcomes.append(Outcome(message, True, result=decoder(data, ""), raw=item))
                continue
            except ProtocolError:
                pass
        where = f"answer item {position + 1} ({message.type})"
        if not field_of(item, "success", bool, where):
            error = item.get("error")
            text = error if isinstance(error, str) and error else "unspecified error"
            outcomes.append(Outcome(message, False, error=text, raw=item))
            continue
        result = decoder(field_of(item, "data", dict, where), where + ".data")  # a bad item raises, saying where
        outcomes.append(Outcome(message, True, result=result, raw=item))
    return outcomes
