"""The simulated provider: accepts items, keeps messages, moves them through statuses.

Pure state, no HTTP: the routes in ``app.py`` feed it decoded requests and
read it through its methods (``handle_items``, ``add_reply``, ``reply_view``,
``snapshot``, ``set_balance``, ``reset``), never by editing its fields.
Statuses are computed from the time since sending (``step`` seconds a stage)
instead of by timers, so a million messages cost nothing while they wait.
"""

from __future__ import annotations

import itertools
import re
import secrets
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from ..messages import SMS_SENDER_MAX, VIBER_BUTTON_MAX, VIBER_SENDER_MAX, VIBER_TEXT_MAX, VIBER_TYPE_FIELDS
from ..segments import count_segments
from ..wire import RCS_KEYS, VIBER_KEYS
from .numbers import final_status, hlr_data, is_valid_phone

__all__ = ["Provider", "SentMessage", "ItemRejected", "Prices"]

_SMS_NAME = re.compile(rf"^[A-Za-z0-9 .\-_&'!+]{{1,{SMS_SENDER_MAX}}}$")
# The reference's Viber types in wire keys, from the one table in ``messages``.
_VIBER_FIELDS = {kind: tuple(VIBER_KEYS[name] for name in names) for kind, names in VIBER_TYPE_FIELDS.items()}
_ALL_VIBER = set(VIBER_KEYS.values())
_RICH_COMBINATIONS = {frozenset(names) for names in VIBER_TYPE_FIELDS.values()}
_BASE_FIELDS = {
    "sms": {"type", "id", "phone", "sms_signature", "sms_message", "sms_lifetime", "unsubscribe_link", "short_link",
            "hook"},
    "viber": {"type", "id", "phone", "viber_type", "viber_signature", "viber_lifetime"} | _ALL_VIBER,
    "viber+sms": {"type", "id", "phone", "sms_signature", "sms_message", "sms_lifetime",
                  "viber_type", "viber_signature", "viber_lifetime"} | _ALL_VIBER,
    "rcs": {"type", "id", "phone", "rcs_signature"} | set(RCS_KEYS.values()),
    "rcs+sms": {"type", "id", "phone", "rcs_signature", "sms_signature", "sms_message"} | set(RCS_KEYS.values()),
    "call/otp": {"type", "phone"},
    "hlr": {"type", "phone"},
    "balance": {"type"},
    "status": {"type", "id"},
}
try:
    from zoneinfo import ZoneInfo

    _KYIV: Any = ZoneInfo("Europe/Kyiv")
except Exception:  # no tz database on this machine: a fixed +02:00 still shows an offset
    _KYIV = timezone(timedelta(hours=2))


class ItemRejected(Exception):
    """An item the provider refuses; the text is what the provider answers."""


@dataclass
class Prices:
    sms_part: Decimal = Decimal("1.50")
    viber: Decimal = Decimal("1.20")
    rcs: Decimal = Decimal("1.00")
    call_otp: Decimal = Decimal("0.20")
    hlr: Decimal = Decimal("0.05")


@dataclass
class SentMessage:
    id: int
    msg_id: int
    type: str
    phone: int
    item: dict[str, Any]
    parts: int
    sent_at: float
    channel: str  # "sms", "viber" or "rcs": what the message goes out as first
    replies: list[dict[str, Any]] = field(default_factory=list)
    forced: tuple[str, float] | None = None  # (status, when): an outcome set by hand (the web inbox)
    campaign: str | None = None  # the alphasms-notify campaign that sent it (a request header), for the inbox

    def current(self, step: float, now: float, replies: bool = True) -> tuple[str, str]:
        """(type, status) now: QUEUED, ROUTING, then the outcome; Viber goes on to READ."""
        stage = (now - self.sent_at) / step if step > 0 else 99
        if self.replies and replies and self.channel != "sms":  # an SMS's "reply" is an unsubscribe: no status
            return "viber", "REPLIED"
        if self.forced is not None:
            return self.channel, self.forced[0]
        if stage < 1:
            return self.channel, "QUEUED"
        if stage < 2:
            return self.channel, "ROUTING"
        outcome = final_status(self.phone, self.channel)
        if self.type.endswith("+sms") and outcome != "DELIVERED" and self.channel != "sms":
            # Viber (or RCS) failed: the provider moves on to SMS, so nothing final shows in between
            return ("sms", "ROUTING") if stage < 3 else ("sms", final_status(self.phone, "sms"))
        if self.channel in ("viber", "rcs") and outcome == "DELIVERED" and stage >= 3:
            return self.channel, "READ"
        return self.channel, outcome

    def history(self, step: float, now: float) -> list[tuple[float, str]]:
        """(seconds after sending, status) of each change so far, oldest first."""
        changes: list[tuple[float, str]] = []
        last = None
        for at in (0.0, step, 2 * step, 3 * step, 4 * step):
            if at > now - self.sent_at and changes:
                break
            _, status = self.current(step, self.sent_at + at + 1e-6, replies=False)
            if status != last and (self.forced is None or at <= self.forced[1] - self.sent_at):
                changes.append((at, status))
                last = status
        if self.forced is not None and self.forced[0] != last:
            changes.append((self.forced[1] - self.sent_at, self.forced[0]))
        if self.replies:
            changes.append((self.replies[0].get("at", now) - self.sent_at, "REPLIED"))
        return changes

    def to_json(self, step: float, now: float) -> dict[str, Any]:
        kind, status = self.current(step, now)
        return {"id": self.id, "msg_id": self.msg_id, "type": self.type, "phone": self.phone,
                "status": status, "status_type": kind, "parts": self.parts, "item": self.item,
                "replies": self.replies, "sent_at": self.sent_wall, "campaign": self.campaign,
                "history": [{"after": round(a, 3), "status": st} for a, st in self.history(step, now)]}

    @property
    def sent_wall(self) -> float:
        """When it was sent, as a Unix time (``sent_at`` is monotonic)."""
        return time.time() - (time.monotonic() - self.sent_at)


def _as_int(item: dict[str, Any], key: str, what: str) -> int:
    """Integers, and numeric strings as published third-party clients send them."""
    value = item.get(key)
    if isinstance(value, bool) or value is None:
        raise ItemRejected(f"Invalid {what}")
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    if isinstance(value, int) and value > 0:
        return value
    raise ItemRejected(f"Invalid {what}")


def _text(item: dict[str, Any], key: str, limit: int | None = None) -> str:
    value = item.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ItemRejected(f"Empty {key}")
    if limit is not None and len(value) > limit:
        raise ItemRejected(f"{key} is longer than {limit} characters")
    return value


def _url(item: dict[str, Any], key: str) -> None:
    value = item.get(key)
    if not isinstance(value, str) or not re.match(r"^https?://[^\s/]+", value):
        raise ItemRejected(f"Invalid {key}")


class Provider:
    """What the sandbox knows: key, balance, messages, replies and media."""

    def __init__(self, key: str, *, balance: Decimal = Decimal("100000.00"), step: float = 1.0,
                 prices: Prices | None = None, senders: set[str] | None = None, strict: bool = True) -> None:
        self.key = key
        self.balance = self.start_balance = Decimal(balance)
        self.step = step
        self.prices = prices or Prices()
        self.senders = senders  # registered alpha-names; None accepts any well-formed one
        self.strict = strict  # refuse keys the reference does not show for the type
        self.messages: dict[int, SentMessage] = {}
        self.calls: list[dict[str, Any]] = []  # call/otp: the phone called and the code it saw
        self.lookups: list[dict[str, Any]] = []  # HLR look-ups, for the web inbox
        self.version = 0  # grows with every change a viewer should see (new message, reply, outcome, reset)
        self.media: dict[str, tuple[str, str, bytes]] = {}
        self._msg_ids = itertools.count(123456789)

    # -- the API ----------------------------------------------------------------

    def handle_items(self, items: list[Any], base_url: str, campaign: str | None = None) -> list[dict[str, Any]]:
        """One answer item per request item, in order; one bad item never spoils the others."""
        seen: set[int] = set()
        answers = []
        for item in items:
            try:
                if not isinstance(item, dict):
                    raise ItemRejected("Invalid message format")
                answers.append({"success": True, "data": self._handle(item, seen, base_url, campaign)})
            except ItemRejected as exc:
                data = {"id": item["id"]} if isinstance(item, dict) and "id" in item else {}
                answers.append({"success": False, "error": str(exc), "data": data})
        return answers

    def _handle(self, item: dict[str, Any], seen: set[int], base_url: str, campaign: str | None
                ) -> dict[str, Any]:
        kind = item.get("type")
        if kind not in _BASE_FIELDS:
            raise ItemRejected(f"Unknown message type: {kind!r}" if kind else "Missing message type")
        if self.strict:
            extra = sorted(set(item) - _BASE_FIELDS[kind])
            if extra:
                raise ItemRejected(f"Unexpected field {extra[0]} for type {kind}")
        if kind == "balance":
            return {"amount": float(self.balance), "currency": "UAH"}
        if kind == "status":
            return self._status(_as_int(item, "id", "id"), base_url)
        phone = _as_int(item, "phone", "phone number")
        if not is_valid_phone(phone):
            raise ItemRejected("Invalid phone number")
        if kind == "hlr":
            self._charge(self.prices.hlr)
            data = hlr_data(phone)
            self.lookups.append({"phone": phone, "at": time.time(), "status": data["status"]})
            self.version += 1
            return data
        if kind == "call/otp":
            self._charge(self.prices.call_otp)
            code = f"{secrets.randbelow(10_000):04d}"  # the last digits of the number that calls
            self.calls.append({"phone": phone, "code": code, "price": float(self.prices.call_otp), "at": time.time()})
            self.version += 1
            return {"code": code, "price": float(self.prices.call_otp)}
        msg_id = _as_int(item, "id", "id")
        if msg_id in self.messages or msg_id in seen:
            raise ItemRejected("Duplicate message id")
        parts, price = self._check_send(kind, item)
        self._charge(price)
        seen.add(msg_id)
        message = SentMessage(msg_id, next(self._msg_ids), kind, phone, item, parts, time.monotonic(),
                              kind.split("+")[0], campaign=campaign)
        self.messages[msg_id] = message
        self.version += 1
        return {"id": msg_id, "msg_id": message.msg_id, "data": 1, "parts": parts}

    def _check_send(self, kind: str, item: dict[str, Any]) -> tuple[int, Decimal]:
        parts, price = 1, Decimal(0)
        if kind in ("sms", "viber+sms", "rcs+sms"):
            name = item.get("sms_signature")
            if not isinstance(name, str) or not _SMS_NAME.match(name) or not name.strip() or (
                self.senders is not None and name not in self.senders
            ):
                raise ItemRejected("Error in sms alphaname")
            parts = count_segments(_text(item, "sms_message")).parts
            price = self.prices.sms_part * parts
        if kind in ("viber", "viber+sms"):
            name = item.get("viber_signature")
            if not isinstance(name, str) or not name.strip() or len(name) > VIBER_SENDER_MAX or (
                self.senders is not None and name not in self.senders
            ):
                raise ItemRejected("Error in viber alphaname")
            viber_type = item.get("viber_type")
            if viber_type not in _VIBER_FIELDS:
                raise ItemRejected(f"Invalid viber_type: {viber_type!r}")
            wanted = _VIBER_FIELDS[viber_type]
            for key in sorted(_ALL_VIBER - set(wanted)):
                if key in item:
                    raise ItemRejected(f"{key} does not fit viber_type {viber_type}")
            if "viber_message" in wanted:
                _text(item, "viber_message", VIBER_TEXT_MAX)
            if "viber_image" in wanted:
                _url(item, "viber_image")
            if "viber_link" in wanted:
                _url(item, "viber_link")
                _text(item, "viber_button", VIBER_BUTTON_MAX)
            price = self.prices.viber  # viber+sms is charged the SMS only if it falls back
            if kind == "viber+sms" and final_status(_as_int(item, "phone", "phone"), "viber") != "DELIVERED":
                price += self.prices.sms_part * parts
            else:
                parts = 1
        if kind in ("rcs", "rcs+sms"):
            name = item.get("rcs_signature")
            if not isinstance(name, str) or not name.strip() or len(name) > VIBER_SENDER_MAX or (
                self.senders is not None and name not in self.senders
            ):
                raise ItemRejected("Error in rcs alphaname")
            given = frozenset(name for name, key in RCS_KEYS.items() if key in item)
            if given not in _RICH_COMBINATIONS:  # the provider publishes no RCS rules: Viber's are used
                raise ItemRejected("Invalid rcs content: " + ", ".join(sorted(RCS_KEYS[n] for n in given)))
            if "rcs_message" in item:
                _text(item, "rcs_message", VIBER_TEXT_MAX)
            for key in ("rcs_image", "rcs_link"):
                if key in item:
                    _url(item, key)
            if "rcs_button" in item:
                _text(item, "rcs_button", VIBER_BUTTON_MAX)
            price = self.prices.rcs
            if kind == "rcs+sms" and final_status(_as_int(item, "phone", "phone"), "rcs") != "DELIVERED":
                price += self.prices.sms_part * parts
            else:
                parts = 1
        for key in ("sms_lifetime", "viber_lifetime"):
            if key in item:
                _as_int(item, key, key)
        return parts, price

    def _charge(self, price: Decimal) -> None:
        if price > self.balance:
            raise ItemRejected("Insufficient funds")
        self.balance -= price

    def _status(self, msg_id: int, base_url: str) -> dict[str, Any]:
        message = self.messages.get(msg_id)
        if message is None:
            raise ItemRejected("Message not found")
        kind, status = message.current(self.step, time.monotonic())
        data: dict[str, Any] = {"id": msg_id, "type": kind, "status": status}
        if message.replies:
            data["replies"] = [self.reply_view(r, base_url) for r in message.replies]
        return data

    @staticmethod
    def reply_view(reply: dict[str, Any], base_url: str) -> dict[str, Any]:
        """A reply as ``status`` shows it (the reference's 2-way format), media as a URL under ``base_url``."""
        out = {"datetime": reply["datetime"]}
        if reply.get("message") is not None:
            out["message"] = reply["message"]
        if reply.get("media"):
            media = reply["media"]
            url = media.get("url") or f"{base_url}/home/vibermedia/?url={media['token']}"
            out["media"] = {"url": url, "filename": media["filename"]}
            if media.get("filesize") is not None:
                out["media"]["filesize"] = media["filesize"]
        return out

    # -- playing the recipient ---------------------------------------------------

    def add_reply(self, msg_id: int, text: str | None, media: tuple[str, str, bytes] | str | None,
                  at: datetime | None = None) -> dict[str, Any]:
        """A recipient answers a Viber message (text, a file or a media URL, or both); ``at``: when it says
        the recipient wrote it (now by default), to play a reply at night."""
        message = self.messages.get(msg_id)
        if message is None:
            raise KeyError(f"no message with id {msg_id}")
        if message.channel != "viber":
            raise ValueError(f"message {msg_id} went out as SMS: only Viber messages can be replied to")
        if not text and not media:
            raise ValueError("a reply needs a message or media")
        when = (at or datetime.now(_KYIV)).astimezone(_KYIV)
        reply: dict[str, Any] = {"datetime": when.isoformat(timespec="seconds"), "message": text}
        if isinstance(media, str):  # a URL, as the web inbox takes it: shown as given
            if not media.startswith(("http://", "https://")):
                raise ValueError("a media URL must be http(s)")
            reply["media"] = {"url": media, "filename": media.rstrip("/").rsplit("/", 1)[-1] or "file",
                              "filesize": None}
        elif media:
            token = secrets.token_urlsafe(12)
            self.media[token] = media
            reply["media"] = {"token": token, "filename": media[0], "filesize": len(media[2])}
        message.replies.append({**reply, "at": time.monotonic()})  # "at": for the inbox's status history
        self.version += 1
        return reply

    def unsubscribe(self, msg_id: int) -> dict[str, Any]:
        """The recipient follows the unsubscribe link the provider appended to an SMS: it reaches the
        client as a reply "unsubscribe" on that message, as a STOP reply does."""
        message = self.messages.get(msg_id)
        if message is None:
            raise KeyError(f"no message with id {msg_id}")
        if not message.item.get("unsubscribe_link"):
            raise ValueError(f"message {msg_id} was sent without unsubscribe_link: it has no link to follow")
        reply: dict[str, Any] = {"datetime": datetime.now(_KYIV).isoformat(timespec="seconds"),
                                 "message": "unsubscribe"}
        message.replies.append({**reply, "at": time.monotonic()})
        self.version += 1
        return reply

    OUTCOMES = ("DELIVERED", "READ", "UNDELIVERABLE", "EXPIRED", "REJECTED", "DELETED", "FILTERED", "NO ROUTE",
                "SIM FULL", "INVALID DESTINATION ADDRESS", "UNKNOWN")

    def set_outcome(self, msg_id: int, status: str) -> SentMessage:
        """Decide how message ``msg_id`` ends (the web inbox's "steer"); ``status`` shows from now on."""
        message = self.messages.get(msg_id)
        if message is None:
            raise KeyError(f"no message with id {msg_id}")
        if status not in self.OUTCOMES:
            raise ValueError(f"status must be one of {', '.join(self.OUTCOMES)}")
        if status == "READ" and message.channel == "sms":
            raise ValueError("an SMS is never READ")
        message.forced = (status, time.monotonic())
        self.version += 1
        return message

    def set_balance(self, amount: Decimal) -> Decimal:
        self.balance = Decimal(amount)
        return self.balance

    def reset(self) -> None:
        """Forget every message, reply and media file; the balance goes back to its start."""
        self.messages.clear()
        self.calls.clear()
        self.lookups.clear()
        self.media.clear()
        self.version += 1
        self.balance = self.start_balance

    def snapshot(self, phone: int | None = None) -> list[dict[str, Any]]:
        now = time.monotonic()
        return [m.to_json(self.step, now) for m in self.messages.values() if phone in (None, m.phone)]
