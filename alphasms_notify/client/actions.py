"""The sans-I/O vocabulary the flow speaks (post, sleep, run batches) and the small rules it applies."""

from __future__ import annotations

import logging
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx

from ..errors import RequestError
from ..messages import (
    Message,
    Rcs,
    RcsSms,
    Sms,
    Viber,
    ViberSms,
)
from ..redact import safe_url
from ..results import Outcome

log = logging.getLogger("alphasms_notify")

SEND_TYPES = (Sms, Viber, ViberSms, Rcs, RcsSms)
MAX_ANSWER_BYTES = 16 * 1024 * 1024  # after decompression; 100 status items with long reply threads fit easily
UNKNOWN = "unknown"
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class _Post:
    body: bytes
    deadline: float = float("inf")  # time.monotonic() by which the exchange's retries must be over
    headers: tuple[tuple[str, str], ...] = ()  # besides the client's own (the campaign, for the sandbox)


@dataclass(frozen=True, slots=True)
class _Sleep:
    seconds: float


@dataclass(frozen=True, slots=True)
class _Each:
    """Run these flows (one per batch): in order (sync) or several at once (async).

    The answer is one entry per flow: its outcomes, the RequestError it ended
    with, or None if it was not started because an earlier one failed.
    """

    flows: list[Generator[Any, Any, list[Outcome[Any]]]]
    # given the outcomes of a batch, a reason to start no further batch (an answer every later item would
    # get too: the balance ran out), or None
    stop: Callable[[list[Outcome[Any]]], str | None] | None = None


@dataclass(frozen=True, slots=True)
class _Answer:
    """What came back for a _Post: the status and the whole (decompressed, size-capped) body."""

    status_code: int
    content: bytes


class _Retry(Exception):
    def __init__(self, final: RequestError, maybe_sent: bool) -> None:
        self.final, self.maybe_sent = final, maybe_sent


_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


def _mask(text: str, core: Any) -> str:
    """``text`` without the API key or the endpoint's credentials (exception texts may quote a URL)."""
    if core._api_key and len(core._api_key) >= 4:
        text = text.replace(core._api_key, "***")
    if core.api_url != safe_url(core.api_url):
        text = text.replace(core.api_url, safe_url(core.api_url))
    return text


def _is_duplicate(outcome: Outcome[Any]) -> bool:
    return not outcome.ok and "duplicate" in (outcome.error or "").lower()


def _fits(message: Message, record: Any, raw: Any) -> bool | None:
    """Whether the provider's record of an id is this message: True, False, or None (cannot tell).

    The reference's ``status`` answer names the type, not the phone. A record of
    another type is another message. One of the same type is this one if the
    record names this phone, or if this client drew the id itself (a collision
    is then as unlikely as ``ids`` says); with an id the caller chose and no
    phone in the record, nobody can tell.
    """
    channels = {"sms": {"sms"}, "viber": {"viber"}, "viber+sms": {"viber", "sms", "viber+sms"},
                "rcs": {"rcs"}, "rcs+sms": {"rcs", "sms", "rcs+sms"}}[message.type]
    if record.type not in channels:
        return False
    data = raw.get("data") if isinstance(raw, dict) else None
    phone = data.get("phone") if isinstance(data, dict) else None
    if phone is not None:
        return str(phone) == str(message.phone)  # type: ignore[union-attr]
    return True if getattr(message, "id_drawn", False) else None


def _chunks(items: Sequence[T], size: int, ceiling: int | None = None) -> list[Sequence[T]]:
    """Batches of ``size``; with a ``ceiling`` above it, each next batch twice the last, up to the ceiling."""
    if ceiling is None or ceiling <= size:
        return [items[i : i + size] for i in range(0, len(items), size)]
    chunks, start = [], 0
    while start < len(items):
        chunks.append(items[start : start + size])
        start += size
        size = min(size * 2, ceiling)
    return chunks


_PROBE_PHONE = 380971234567  # a valid phone, for checking what an SMS's text and sender are worth once




# Item errors that every later item of the same send would get as well: after one, no further batch is posted
# (its messages are reported not sent, with the reason, to be sent later) instead of posting each in vain.
_FOR_ALL_LATER = ("insufficient funds",)


def stops_later_batches(outcomes: list[Outcome[Any]]) -> str | None:
    """The provider's answer in these outcomes that later items would get too, if any."""
    for outcome in outcomes:
        error = outcome.error or ""
        if not outcome.ok and not outcome.unknown and any(e in error.lower() for e in _FOR_ALL_LATER):
            return error
    return None
