"""What comes back from the provider, as typed values.

Every item of a request gets an :class:`Outcome`: either ``ok`` with a typed
``result`` or failed with the provider's own ``error`` text. Status strings the
reference does not list are kept as the raw text rather than crashing.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Generic, Literal, TypeVar, cast

import msgspec

from .errors import ItemError

__all__ = [
    "MessageStatus",
    "BalanceResult",
    "OtpResult",
    "SendResult",
    "Country",
    "Network",
    "HlrResult",
    "Media",
    "Reply",
    "StatusResult",
    "Outcome",
]


class MessageStatus(enum.StrEnum):
    """The 18 statuses of the reference's section 11.

    ``is_final``: the delivery outcome will not change any more. DELIVERED,
    READ and REPLIED are final for delivery, but a Viber message can still go
    on to READ and gather replies, which is why trackers keep polling Viber
    messages for a while after delivery (see ``can_get_replies``).
    """

    ACCEPTED = "ACCEPTED"
    DELETED = "DELETED"
    DELIVERED = "DELIVERED"
    EXPIRED = "EXPIRED"
    FILTERED = "FILTERED"
    INVALID_DESTINATION_ADDRESS = "INVALID DESTINATION ADDRESS"
    INVALID_SOURCE_ADDRESS = "INVALID SOURCE ADDRESS"
    NO_ROUTE = "NO ROUTE"
    PARTIALLY_DELIVERED = "PARTIALLY DELIVERED"
    QUEUED = "QUEUED"
    READ = "READ"
    REJECTED = "REJECTED"
    REPLIED = "REPLIED"
    ROUTING = "ROUTING"
    SIM_FULL = "SIM FULL"
    UNDELIVERABLE = "UNDELIVERABLE"
    UNKNOWN = "UNKNOWN"
    WAIT = "WAIT"

    @property
    def is_final(self) -> bool:
        return self not in _PENDING

    @property
    def is_failure(self) -> bool:
        """Final and not delivered: the recipient did not get the message."""
        return self in _FAILED

    @property
    def can_get_replies(self) -> bool:
        """A Viber message in this state may still be read or answered."""
        return self in (MessageStatus.DELIVERED, MessageStatus.READ, MessageStatus.REPLIED)

    @classmethod
    def parse(cls, text: str) -> MessageStatus | str:
        """The enum member for ``text``, or ``text`` itself if the reference doesn't list it."""
        try:
            return cls(text)
        except ValueError:
            return text



_PENDING = frozenset({MessageStatus.QUEUED, MessageStatus.ROUTING, MessageStatus.WAIT})
_FAILED = frozenset(
    {
        MessageStatus.DELETED,
        MessageStatus.EXPIRED,
        MessageStatus.FILTERED,
        MessageStatus.INVALID_DESTINATION_ADDRESS,
        MessageStatus.INVALID_SOURCE_ADDRESS,
        MessageStatus.NO_ROUTE,
        MessageStatus.REJECTED,
        MessageStatus.SIM_FULL,
        MessageStatus.UNDELIVERABLE,
        MessageStatus.UNKNOWN,
    }
)


@dataclass(frozen=True, slots=True)
class BalanceResult:
    """The account balance, as the ``balance`` query answers it."""

    amount: Decimal
    currency: str

    def __str__(self) -> str:
        return f"{self.amount} {self.currency}"


@dataclass(frozen=True, slots=True)
class OtpResult:
    """A verification call was placed: the calling number ends with ``code``; the call cost ``price``."""

    code: str
    price: Decimal


class SendResult(msgspec.Struct, gc=False):
    """An accepted sms/viber/viber+sms item.

    ``recovered`` is True when a retry found the message already accepted by
    an earlier attempt (so it was not sent twice); ``msg_id`` and ``parts``
    are then unknown (None), since ``status`` does not report them. A record
    the cyclic garbage collector does not follow (see :class:`Outcome`).
    """

    id: int
    msg_id: int | None
    parts: int | None
    data: Any = None
    recovered: bool = False


@dataclass(frozen=True, slots=True)
class Country:
    name: str
    prefix: int


@dataclass(frozen=True, slots=True)
class Network:
    name: str
    prefix: int | None
    country: Country | None


@dataclass(frozen=True, slots=True)
class HlrResult:
    phone: int
    status: MessageStatus | str
    imsi: int | None
    mccmnc: int | None
    ported: bool
    origin: Network | None
    ported_network: Network | None


@dataclass(frozen=True, slots=True)
class Media:
    url: str
    filename: str | None
    filesize: int | None


@dataclass(frozen=True, slots=True)
class Reply:
    datetime: datetime
    message: str | None = None
    media: Media | None = None


@dataclass(frozen=True, slots=True)
class StatusResult:
    id: int
    type: str
    status: MessageStatus | str
    replies: tuple[Reply, ...] = ()

    @property
    def is_final(self) -> bool:
        """Unknown status texts count as not final, so they keep being polled."""
        return isinstance(self.status, MessageStatus) and self.status.is_final


R = TypeVar("R")


class Outcome(msgspec.Struct, Generic[R], gc=False):
    """One item's result, one of three kinds (:attr:`state`).

    - ``"ok"``: accepted (sent), with ``result``;
    - ``"failed"``: not sent; ``error`` says why (the provider's text, or the check that refused it);
    - ``"unknown"``: the provider may have accepted it, but its answer was lost or garbled
      after every retry. ``error`` says so and how to check (``alphasms status ID``);
      the message's ``id`` is what to look up. Sending the same message object again
      asks the provider first, so it is never sent twice.

    ``warnings`` lists what failed locally *after* the send (a plugin's
    ``alphasms_message_sent`` or ``alphasms_batch_sent``, such as tracking into a broken store): the outcome
    stands, the warning is for the caller to show. ``raw`` is the provider's answer item, left out of the
    repr and of comparisons, as ``warnings`` is of comparisons.

    Outcome and SendResult are msgspec records that the cyclic garbage collector does not track
    (``gc=False``): a send of 20,000 keeps 40,000 of them, and tracked they made the collector walk
    the whole heap again in the middle of the send (a pause of 20 ms, the provider idle meanwhile:
    ``python -m benchmarks send``). They are freed as any object when the last reference goes; never
    put an outcome where its own message (or anything it holds) refers back to it, since such a cycle
    is not collected. Not frozen (freezing cost half their creation time): treat them as read-only.
    """

    message: Any
    ok: bool
    result: R | None = None
    error: str | None = None
    raw: Any = None
    unknown: bool = False
    warnings: list[str] | None = None

    def __repr__(self) -> str:
        return (f"Outcome(message={self.message!r}, ok={self.ok!r}, result={self.result!r}, error={self.error!r}, "
                f"unknown={self.unknown!r}, warnings={self.warnings!r})")

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        mine, theirs = self, cast("Outcome[Any]", other)
        return (mine.message, mine.ok, mine.result, mine.error, mine.unknown) == \
            (theirs.message, theirs.ok, theirs.result, theirs.error, theirs.unknown)

    __hash__ = None  # type: ignore[assignment]  # mutable, compared by value

    @property
    def state(self) -> Literal["ok", "failed", "unknown"]:
        return "ok" if self.ok else "unknown" if self.unknown else "failed"

    def unwrap(self) -> R:
        """The result, or :class:`~alphasms_notify.errors.ItemError` with the provider's text."""
        if not self.ok:
            from .messages import label_of

            raise ItemError(self.error or "failed", label=label_of(self.message))
        return self.result  # type: ignore[return-value]
