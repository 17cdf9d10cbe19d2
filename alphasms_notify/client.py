"""``AlphaSMS`` and ``AsyncAlphaSMS``: batching, retries that never send twice, hooks.

Both clients run one sans-I/O flow (:class:`_Core`): ``send`` and ``request``
are generators that yield "post this body", "sleep this long", "run these
batches" or "await what this plugin returned" and receive the answers, so the
hooks, the checks, the batching and the retry logic are written once and the
sync and async clients differ only in how they carry out those few actions
(``_do``; the drivers are in :mod:`alphasms_notify.flow`).

Never twice: a send item's ``id`` is its idempotency key. When an attempt
may have reached the provider (a timeout after sending, a 5xx, a dropped
connection, a garbled answer), the retry first asks ``status`` for those ids
and resends only the ones the provider does not know. A known id counts as
this message only if the provider's record fits it (its type, and its phone
when the record has one); otherwise the message fails naming the id, since
another message holds it. When every retry is spent, the messages of that
request are reported *unknown*, not failed: the caller's own retry of the
same objects (Apprise's ``retry=``, a loop around ``send``) asks the provider
first, because each message object remembers how its last send ended.

Bounds: ``timeout`` is for a whole exchange (connect to last byte), and an
answer larger than ``max_answer_bytes`` after decompression is refused.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import os
import random
import ssl
import time
from collections.abc import Callable, Generator, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
import pluggy

from ._version import __version__
from .answers import AnswerTooLarge, read_capped, read_capped_async
from .checks import check
from .errors import MessageRejected, ProtocolError, RequestError, TransportError, ValidationError
from .flow import adrive, drive
from .ids import new_message_id, new_message_ids
from .messages import (
    WITH_SMS_FALLBACK,
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
    label_of,
)
from .phone import InvalidPhone, is_valid_ukrainian, normalize_phone
from .plugins import has_impls, hook_flow, hook_impls, run_blocking
from .redact import safe_url
from .results import BalanceResult, HlrResult, OtpResult, Outcome, SendResult, StatusResult
from .segments import UCS2_MULTI, count_segments
from .settings import (
    DEFAULT_API_URL,
    DEFAULT_BATCH_SIZE,
    DEFAULT_MAX_CONCURRENCY,
    DEFAULT_MAX_PARTS,
    DEFAULT_RETRIES,
    DEFAULT_TIMEOUT,
)
from .wire import decode_response, encode_request

__all__ = ["AlphaSMS", "AsyncAlphaSMS", "DEFAULT_API_URL", "DEFAULT_BATCH_SIZE", "MAX_ANSWER_BYTES"]

log = logging.getLogger("alphasms_notify")

SEND_TYPES = (Sms, Viber, ViberSms, Rcs, RcsSms)
MAX_ANSWER_BYTES = 16 * 1024 * 1024  # after decompression; 100 status items with long reply threads fit easily
_STATE = "_alphasms_sent"  # on the caller's message object: its SendResult, or UNKNOWN, after a send
_OWN_ID = "_alphasms_own_id"  # on a message whose id this client drew (not one the caller chose)
UNKNOWN = "unknown"
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class _Post:
    body: bytes
    deadline: float = float("inf")  # time.monotonic() by which the exchange's retries must be over


@dataclass(frozen=True, slots=True)
class _Sleep:
    seconds: float


@dataclass(frozen=True, slots=True)
class _Each:
    """Run these flows (one per batch): in order (sync) or several at once (async).

    The answer is one entry per flow: its outcomes, the RequestError it ended
    with, or None if it was not started because an earlier one failed.
    """

    flows: list[Generator[Any, Any, list[Outcome]]]


@dataclass(frozen=True, slots=True)
class _Answer:
    """What came back for a _Post: the status and the whole (decompressed, size-capped) body."""

    status_code: int
    content: bytes


class _Retry(Exception):
    def __init__(self, final: RequestError, maybe_sent: bool) -> None:
        self.final, self.maybe_sent = final, maybe_sent


_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


def _mask(text: str, core: _Core) -> str:
    """``text`` without the API key or the endpoint's credentials (exception texts may quote a URL)."""
    if core._api_key and len(core._api_key) >= 4:
        text = text.replace(core._api_key, "***")
    if core.api_url != safe_url(core.api_url):
        text = text.replace(core.api_url, safe_url(core.api_url))
    return text


def _is_duplicate(outcome: Outcome) -> bool:
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
    return True if getattr(message, _OWN_ID, False) else None


def _chunks(items: Sequence[T], size: int) -> list[Sequence[T]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


_PROBE_PHONE = 380971234567  # a valid phone, for checking what an SMS's text and sender are worth once


class _Core:
    """Settings, validation, and the retry/idempotency flow shared by both clients."""

    def __init__(
        self,
        api_key: str,
        api_url: str | None = None,
        *,
        sms_sender: str | None = None,
        viber_sender: str | None = None,
        rcs_sender: str | None = None,
        batch_size: int = DEFAULT_BATCH_SIZE,
        timeout: float = DEFAULT_TIMEOUT,
        deadline: float | None = None,
        retries: int = DEFAULT_RETRIES,
        backoff: float = 0.5,
        plugins: pluggy.PluginManager | None = None,
        id_factory: Callable[[], int] = new_message_id,
        max_parts: int = DEFAULT_MAX_PARTS,
        max_answer_bytes: int = MAX_ANSWER_BYTES,
        connect_timeout: float | None = None,
        verify: bool | ssl.SSLContext = True,
        logger: logging.Logger | None = None,
    ) -> None:
        if not api_key:
            raise ValueError("api_key is empty: pass it or set ALPHASMS_API_KEY")
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        if not timeout > 0 or timeout == float("inf"):
            raise ValueError(f"timeout must be a positive number of seconds, not {timeout!r}")
        self._api_key = api_key
        self.api_url = api_url or os.environ.get("ALPHASMS_API_URL") or DEFAULT_API_URL
        self.sms_sender = sms_sender
        self.viber_sender = viber_sender
        self.rcs_sender = rcs_sender
        self.batch_size = batch_size
        # One exchange, connect to last byte, takes at most total_timeout: `timeout` (which also bounds
        # the connect), or connect_timeout + timeout when the connect has its own (Apprise's cto + rto).
        connect = min(timeout, 5.0) if connect_timeout is None else connect_timeout
        self.total_timeout = float(timeout) + (connect_timeout or 0.0)
        self.timeout = httpx.Timeout(timeout, connect=connect)
        # A request with all its retries and its reconcile ends within `deadline` (retries would otherwise
        # multiply the timeout: 4 attempts at 10 s against a provider trickling its answers).
        if deadline is not None and (not deadline > 0 or deadline == float("inf")):
            raise ValueError(f"deadline must be a positive number of seconds, not {deadline!r}")
        self.deadline = float(deadline) if deadline is not None else 2 * self.total_timeout
        self.verify = verify
        self.log = logger or log
        self.max_parts = max_parts
        self.max_answer_bytes = max_answer_bytes
        self.retries = retries
        self.backoff = backoff
        self.plugins = plugins
        self.id_factory = id_factory
        self.requests_made = 0

    def __repr__(self) -> str:
        return f"{type(self).__name__}(api_url={safe_url(self.api_url)!r}, api_key='***')"

    def _timeout_until(self, ends: float) -> httpx.Timeout:
        """The client's timeouts, none longer than what is left until ``ends`` (the call's deadline)."""
        left = max(0.001, ends - time.monotonic())
        t = self.timeout
        return httpx.Timeout(connect=min(t.connect or left, left), read=min(t.read or left, left),
                             write=min(t.write or left, left), pool=min(t.pool or left, left))

    def _http_kwargs(self, transport: Any) -> dict[str, Any]:
        return {
            "timeout": self.timeout,
            "transport": transport,
            "verify": self.verify,
            "headers": {"Content-Type": "application/json", "User-Agent": f"alphasms-notify/{__version__}"},
        }

    # -- before sending ------------------------------------------------------

    def _with_defaults(self, message: Message) -> Message:
        if isinstance(message, SEND_TYPES) and message.id is None:
            message.id = self.id_factory()  # in place: resending the same object is idempotent
            setattr(message, _OWN_ID, True)
        updates: dict[str, Any] = {}
        if isinstance(message, Sms) and message.sender is None:
            updates["sender"] = self.sms_sender
        elif isinstance(message, Viber) and message.sender is None:
            updates["sender"] = self.viber_sender or self.sms_sender
        elif isinstance(message, ViberSms):
            if message.sender is None:
                updates["sender"] = self.viber_sender or self.sms_sender
            if message.sms_sender is None:
                updates["sms_sender"] = self.sms_sender
        elif isinstance(message, Rcs | RcsSms):
            if message.sender is None:
                updates["sender"] = self.rcs_sender or self.sms_sender
            if isinstance(message, RcsSms) and message.sms_sender is None:
                updates["sms_sender"] = self.sms_sender
        if not updates:
            return message
        ready = copy.copy(message)  # keeps the attributes the client set on it (_OWN_ID, _STATE)
        for name, value in updates.items():
            setattr(ready, name, value)
        return ready

    def _check_all(self, pairs: Iterable[tuple[int, Message]]) -> tuple[list[Message], dict[int, list]]:
        """Checked copies, and the problems of each message by its position in the caller's list.

        One pass: an SMS's text, sender and lifetime are checked (and its parts counted) once per
        distinct combination, so a campaign of 10,000 checks one text and 10,000 phones.
        """
        checked: list[Message] = []
        problems: dict[int, list] = {}
        seen_ids: dict[int, int] = {}
        sms_checks: dict[tuple, list[tuple[str, str]]] = {}
        pairs = list(pairs)
        self._assign_ids([m for _, m in pairs])
        for index, message in pairs:
            if type(message) is Sms:
                ready, found = self._check_sms(message, index, sms_checks)
            else:
                ready, found = check(self._with_defaults(message), index)
                self._check_parts(ready, index, found)
            msg_id = getattr(ready, "id", None)
            if msg_id is not None and isinstance(ready, SEND_TYPES):
                if msg_id in seen_ids:
                    other = seen_ids[msg_id] + 1
                    found.append((f"message {index + 1}", "id", f"id {msg_id} is also used by message {other}"))
                seen_ids.setdefault(msg_id, index)
            if found:
                problems[index] = found
            checked.append(ready)
        return checked, problems

    def _assign_ids(self, messages: list[Message]) -> None:
        """Ids for the sends that have none, drawn together (in place: resending the same objects is idempotent)."""
        missing = [m for m in messages if isinstance(m, SEND_TYPES) and m.id is None]
        if not missing:
            return
        fresh = (new_message_ids(len(missing)) if self.id_factory is new_message_id
                 else [self.id_factory() for _ in missing])
        for message, msg_id in zip(missing, fresh, strict=True):
            message.id = msg_id
            setattr(message, _OWN_ID, True)

    def _check_sms(self, message: Sms, index: int, cache: dict[tuple, list[tuple[str, str]]]
                   ) -> tuple[Message, list]:
        """:func:`check` for an SMS, with what is not the phone or id checked once per (text, sender, lifetime)."""
        sender = message.sender if message.sender is not None else self.sms_sender
        key = (message.text, sender, message.lifetime)
        common = cache.get(key)
        if common is None:
            probe = Sms(_PROBE_PHONE, message.text, sender=sender, lifetime=message.lifetime)
            _, found = check(probe)
            self._check_parts(probe, 0, found)
            common = cache[key] = [(field, reason) for _, field, reason in found]
        own: list[tuple[str, str]] = []
        phone = message.phone
        if type(phone) is str and len(phone) == 12 and phone[:3] == "380" and phone.isdigit() \
                and is_valid_ukrainian(phone[3:]):
            phone = int(phone)  # what normalize_phone returns, without its layers: the common case
        else:
            try:
                phone = normalize_phone(phone)
            except InvalidPhone as exc:
                own.append(("phone", str(exc)))
        msg_id = message.id
        if isinstance(msg_id, bool) or not isinstance(msg_id, int) or not 0 < msg_id < 2**63:
            own.append(("id", f"must be a positive integer below 2**63, not {msg_id!r}"))
        if common or own:
            label = label_of(message, index)
            return message, [(label, f, r) for f, r in own + common]
        if phone == message.phone and type(message.phone) is int and sender is message.sender:
            return message, []
        ready = object.__new__(Sms)  # copy.copy, for 10,000 at a time: keeps _OWN_ID and _STATE
        ready.__dict__.update(message.__dict__)
        ready.phone, ready.sender = phone, sender
        return ready, []

    def _check_parts(self, message: Message, index: int, found: list) -> None:
        """Refuse an SMS (or SMS fallback) longer than ``max_parts``: each part is billed."""
        text = message.text if isinstance(message, Sms) else (
            message.fallback_text if isinstance(message, WITH_SMS_FALLBACK) else None)
        if not text or len(text) * 2 <= UCS2_MULTI * self.max_parts:  # surely within: no need to count
            return
        parts = count_segments(text).parts
        if parts > self.max_parts:
            name = "text" if isinstance(message, Sms) else "sms_text"
            found.append((label_of(message, index), name, f"is {len(text)} characters, {parts} SMS parts; "
                          f"the limit is max_parts = {self.max_parts}"))

    def _validated(self, messages: Iterable[Message]) -> list[Message]:
        checked, problems = self._check_all(enumerate(messages))
        if problems:
            raise ValidationError([p for found in problems.values() for p in found])
        return checked

    def _send_plan(self, batch: list[SendMessage], settled: dict[int, Outcome], skip_invalid: bool) -> list[list]:
        """Check what is left to send; invalid ones stop everything, or with skip_invalid fail alone."""
        indexes = [i for i in range(len(batch)) if i not in settled]
        checked, problems = self._check_all((i, batch[i]) for i in indexes)
        if problems and not skip_invalid:
            raise ValidationError([p for found in problems.values() for p in found])
        for index, found in problems.items():
            reasons = "; ".join(f"{field}: {reason}" for _, field, reason in found)
            settled[index] = Outcome(batch[index], False, error=f"invalid: {reasons}")
        ready = [m for i, m in zip(indexes, checked, strict=True) if i not in problems]
        return [list(chunk) for chunk in _chunks(ready, self.batch_size)]

    # -- the exchange ----------------------------------------------------------

    def _decode(self, reply: _Answer | Exception, messages: list[Message]) -> list[Outcome]:
        self.requests_made += 1
        where = safe_url(self.api_url)
        if isinstance(reply, AnswerTooLarge):
            raise _Retry(ProtocolError(f"AlphaSMS at {where} answered more than {self.max_answer_bytes} bytes "
                                       "(after decompression); answer refused"), maybe_sent=True)
        if isinstance(reply, Exception):
            kind = type(reply).__name__
            final = TransportError(f"could not reach AlphaSMS at {where}: {kind}: {_mask(str(reply), self)}")
            raise _Retry(final, maybe_sent=not isinstance(reply, _NOT_SENT))
        if reply.status_code >= 500:
            raise _Retry(ProtocolError(f"AlphaSMS answered HTTP {reply.status_code} at {where}"), maybe_sent=True)
        try:
            return decode_response(reply.status_code, reply.content, messages)
        except ProtocolError as exc:
            raise _Retry(exc, maybe_sent=True) from None

    def _backoff(self, attempt: int) -> float:
        return min(self.backoff * 2 ** (attempt - 1), 8.0) * random.uniform(0.8, 1.2)

    def _exchange(self, batch: list[Message], recheck: frozenset[int] | set[int] = frozenset()
                  ) -> Generator[_Post | _Sleep, Any, tuple[list[Outcome], RequestError | None]]:
        """One batch, with retries: its outcomes, and the error it ended with (None if answered).

        ``recheck``: ids of messages an earlier call may have delivered (their
        outcome was unknown); the provider is asked about them first.
        """
        done: dict[int, Outcome] = {}
        maybe = {i for i, m in enumerate(batch) if getattr(m, "id", None) in recheck}
        pending = list(range(len(batch)))
        attempt = 0
        deadline = time.monotonic() + self.deadline
        while True:
            try:
                if maybe & set(pending):
                    yield from self._reconcile(batch, [i for i in pending if i in maybe], done, deadline)
                    pending = [i for i in pending if i not in done]
                if pending:
                    items = [batch[i] for i in pending]
                    reply = yield _Post(encode_request(self._api_key, items), deadline)
                    duplicates = []
                    for i, outcome in zip(pending, self._decode(reply, items), strict=True):
                        if i in maybe and _is_duplicate(outcome):
                            duplicates.append(i)  # ours from an earlier attempt, or another message's id?
                        else:
                            done[i] = outcome
                    pending = duplicates
                    if duplicates:
                        yield from self._reconcile(batch, duplicates, done, deadline)
                        for i in duplicates:
                            done.setdefault(i, self._unknown(batch[i], "the provider calls its id a duplicate"
                                                             " but reports no message with it"))
                        pending = []
                return [done[i] for i in range(len(batch))], None
            except RequestError as refused:  # the provider answered and refused the whole request
                self._settle(batch, pending, done, maybe, refused, f"an earlier attempt failed, then: {refused}")
                return [done[i] for i in range(len(batch))], refused
            except _Retry as retry:
                if retry.maybe_sent:
                    maybe.update(pending)
                attempt += 1
                pause = self._backoff(attempt)
                out_of_time = attempt <= self.retries and time.monotonic() + pause >= deadline
                if attempt > self.retries or out_of_time:
                    if out_of_time:
                        retry.final.args = (f"{retry.final}; no retry: the deadline of {self.deadline:g} s for "
                                            "the request and its retries is reached",)
                    self._settle(batch, pending, done, maybe, retry.final, str(retry.final))
                    return [done[i] for i in range(len(batch))], retry.final
                self.log.warning("AlphaSMS request failed (%s); retry %d of %d", retry.final, attempt, self.retries)
                yield _Sleep(pause)

    def _settle(self, batch: list[Message], pending: list[int], done: dict[int, Outcome], maybe: set[int],
                error: RequestError, unknown_reason: str) -> None:
        """The messages left unanswered: unknown if an attempt may have delivered them, else not sent."""
        for i in pending:
            if i not in done:
                done[i] = (self._unknown(batch[i], unknown_reason) if i in maybe and isinstance(batch[i], SEND_TYPES)
                           else Outcome(batch[i], False, error=f"not sent: {error}"))

    @staticmethod
    def _unknown(message: Message, reason: str) -> Outcome:
        msg_id = getattr(message, "id", None)
        return Outcome(message, False, unknown=True,
                       error=f"unknown: AlphaSMS may have accepted it ({reason}); "
                             f"check with: alphasms status {msg_id}")

    def _recovered(self, message: Message) -> Outcome:
        return Outcome(message, True, result=SendResult(message.id, None, None, recovered=True))  # type: ignore[union-attr]

    def _reconcile(self, batch: list[Message], indexes: list[int], done: dict[int, Outcome],
                   deadline: float = float("inf")) -> Generator:
        """Ask ``status`` about send items an earlier attempt may have delivered; settle those it knows."""
        to_check = [i for i in indexes if isinstance(batch[i], SEND_TYPES)]
        if not to_check:
            return
        queries: list[Message] = [Status(batch[i].id) for i in to_check]  # type: ignore[union-attr]
        reply = yield _Post(encode_request(self._api_key, queries), deadline)
        for i, outcome in zip(to_check, self._decode(reply, queries), strict=True):
            if not outcome.ok:
                continue  # not known to the provider: it was not sent, so it goes out now
            message = batch[i]
            fits = _fits(message, outcome.result, outcome.raw)
            if fits:
                done[i] = self._recovered(message)
            elif fits is None:
                done[i] = self._unknown(message, f"id {message.id} is known to AlphaSMS as a "  # type: ignore[union-attr]
                                        f"{outcome.result.type} message, but not to which phone: this one, or "
                                        "another sent earlier with the same id")
            else:
                done[i] = Outcome(message, False, error=(
                    f"id {message.id} is already taken at AlphaSMS by another message (a {outcome.result.type} "  # type: ignore[union-attr]
                    "message, not this one); this one was not sent: send it with another id"))

    @staticmethod
    def _batch(messages: SendMessage | Iterable[SendMessage]) -> list[SendMessage]:
        return [messages] if isinstance(messages, SEND_TYPES) else list(messages)

    @staticmethod
    def _rejected(message: Message, index: int, exc: MessageRejected) -> Outcome:
        """A plugin stopped this message: it fails alone, the others still go out."""
        log.info("%s rejected by a plugin: %s", label_of(message, index), exc.reason)
        return Outcome(message, False, error=f"rejected: {exc.reason}")

    @staticmethod
    def _merge(batch: list[Message], settled: dict[int, Outcome], sent: list[Outcome]) -> list[Outcome]:
        it = iter(sent)
        return [settled[i] if i in settled else next(it) for i in range(len(batch))]

    @staticmethod
    def _earlier(batch: list[SendMessage]) -> tuple[dict[int, Outcome], set[int]]:
        """What earlier sends of these same objects ended with: accepted ones are not sent again,
        unknown ones are asked about first."""
        settled: dict[int, Outcome] = {}
        unknown: set[int] = set()
        for i, m in enumerate(batch):
            state = getattr(m, _STATE, None)
            if isinstance(state, SendResult) and state.id == m.id:
                settled[i] = Outcome(m, True, result=state)
            elif state == UNKNOWN and m.id is not None:
                unknown.add(m.id)
        return settled, unknown

    @staticmethod
    def _record(batch: list[SendMessage], outcomes: list[Outcome]) -> None:
        """Remember on each caller's object how its send ended, for a retry by any layer above."""
        for message, outcome in zip(batch, outcomes, strict=True):
            if outcome.ok and isinstance(outcome.result, SendResult):
                setattr(message, _STATE, outcome.result)
            elif outcome.unknown:
                setattr(message, _STATE, UNKNOWN)
            elif getattr(message, _STATE, None) == UNKNOWN and outcome.error and "already taken" in outcome.error:
                setattr(message, _STATE, None)

    def validate(self, messages: Iterable[Message]) -> list[Message]:
        """Normalized copies with this client's defaults, or ValidationError; sends nothing.

        Checks only: the plugins' ``alphasms_prepare_message`` does not run. For a
        preview of what a send will really carry, use :meth:`AlphaSMS.prepare`.
        """
        return self._validated(messages)

    def _plan(self, messages: Iterable[Message]) -> list[list[Message]]:
        checked = self._validated(messages)
        return [list(chunk) for chunk in _chunks(checked, self.batch_size)]

    # -- the flows: written once, carried out by either client ----------------------

    def _prepare_hooks(self, batch: list[SendMessage], settled: dict[int, Outcome]) -> Generator:
        """``alphasms_prepare_message`` for each message not settled; a refusal settles it as failed."""
        if has_impls(self.plugins, "alphasms_prepare_message"):
            impls = hook_impls(self.plugins, "alphasms_prepare_message")
            for index, message in enumerate(batch):
                if index in settled:
                    continue
                try:
                    yield from hook_flow(self.plugins, "alphasms_prepare_message", {"message": message},
                                         (MessageRejected,), impls=impls, refuse=True)
                except MessageRejected as exc:
                    settled[index] = self._rejected(message, index, exc)
        return settled

    def _prepare_flow(self, messages: SendMessage | Iterable[SendMessage]) -> Generator:
        batch = self._batch(messages)
        refused = yield from self._prepare_hooks(batch, {})
        ready = self._validated(m for i, m in enumerate(batch) if i not in refused)
        return ready, list(refused.values())

    def _send_flow(self, messages: SendMessage | Iterable[SendMessage], skip_invalid: bool,
                   prepared: bool = False, progress: Callable[[int], Any] | None = None) -> Generator:
        """prepare hooks -> checks -> batches (exchange, then sent hooks) -> outcomes in the caller's order."""
        batch = self._batch(messages)
        settled, recheck = self._earlier(batch)
        if not prepared:
            yield from self._prepare_hooks(batch, settled)
        notify = has_impls(self.plugins, "alphasms_message_sent")
        plan = self._send_plan(batch, settled, skip_invalid)
        try:
            outcomes = yield from self._each([self._batch_flow(chunk, notify, recheck, progress)
                                              for chunk in plan], plan)
        except RequestError as exc:
            exc.outcomes = self._merge(batch, settled, exc.outcomes)
            self._record(batch, exc.outcomes)
            raise
        merged = self._merge(batch, settled, outcomes)
        self._record(batch, merged)
        return merged

    def _batch_flow(self, chunk: list[Message], notify: bool, recheck: set[int] = frozenset(),
                    progress: Callable[[int], Any] | None = None) -> Generator:
        """Exchange one batch, then tell the plugins about every outcome, also when the batch failed."""
        outcomes, failure = yield from self._exchange(chunk, recheck)
        if progress is not None:
            progress(len(chunk))
        if notify:
            impls = hook_impls(self.plugins, "alphasms_message_sent")
            for outcome in outcomes:
                problems: list[str] = []
                yield from hook_flow(self.plugins, "alphasms_message_sent",
                                     {"message": outcome.message, "result": outcome}, problems=problems,
                                     impls=impls)
                if problems:
                    outcome.warnings = (outcome.warnings or []) + problems
        if failure is not None:
            failure.outcomes = outcomes
            raise failure
        return outcomes

    def _query_flow(self, chunk: list[Message]) -> Generator:
        outcomes, failure = yield from self._exchange(chunk)
        if failure is not None:
            failure.outcomes = outcomes
            raise failure
        return outcomes

    def _request_flow(self, messages: Sequence[Message]) -> Generator:
        plan = self._plan(messages)
        return (yield from self._each([self._query_flow(chunk) for chunk in plan], plan))

    @staticmethod
    def _each(flows: list[Generator], plan: list[list[Message]]) -> Generator:
        """Run the batches; if one failed as a whole, raise it with every message's outcome.

        Batches never started (a request before them failed) fail as "not sent".
        """
        results = yield _Each(flows)
        failure = next((r for r in results if isinstance(r, RequestError)), None)
        outcomes: list[Outcome] = []
        for chunk, result in zip(plan, results, strict=True):
            if isinstance(result, list):
                outcomes.extend(result)
            elif isinstance(result, RequestError):
                outcomes.extend(result.outcomes)
            else:
                outcomes.extend(Outcome(m, False, error=f"not sent: an earlier request failed ({failure})")
                                for m in chunk)
        if failure is not None:
            failure.outcomes = outcomes
            raise failure
        return outcomes


class AlphaSMS(_Core):
    """The synchronous client. One instance holds one connection pool: reuse it.

    >>> with AlphaSMS("KEY", sms_sender="Shop") as sms:            # doctest: +SKIP
    ...     [outcome] = sms.send(Sms("+380 97 123 45 67", "Hello"))
    ...     outcome.ok, outcome.result.msg_id
    """

    def __init__(
        self, api_key: str, api_url: str | None = None, *, transport: httpx.BaseTransport | None = None, **options: Any
    ) -> None:
        super().__init__(api_key, api_url, **options)
        self._http = httpx.Client(**self._http_kwargs(transport))

    def __enter__(self) -> AlphaSMS:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def _do(self, action: Any) -> Any:
        if type(action) is _Post:
            try:
                ends = min(time.monotonic() + self.total_timeout, action.deadline)
                with self._http.stream("POST", self.api_url, content=action.body,
                                       timeout=self._timeout_until(ends)) as answer:
                    content = read_capped(answer.iter_bytes(), self.max_answer_bytes, ends)
                    return _Answer(answer.status_code, content)
            except (httpx.TransportError, AnswerTooLarge) as exc:
                return exc
        if type(action) is _Sleep:
            return time.sleep(action.seconds)
        if type(action) is _Each:
            results: list[Any] = [None] * len(action.flows)
            for position, flow in enumerate(action.flows):  # one after another; after a failed one, no more
                try:
                    results[position] = drive(flow, self._do)
                except RequestError as exc:
                    results[position] = exc
                    break
            return results
        return run_blocking(action)  # what an async plugin hook returned

    def request(self, messages: Sequence[Message]) -> list[Outcome]:
        """Send already-built messages in requests of ``batch_size``; no hooks."""
        return drive(self._request_flow(messages), self._do)

    def prepare(self, messages: SendMessage | Iterable[SendMessage]) -> tuple[list[SendMessage], list[Outcome]]:
        """Run the plugins' ``alphasms_prepare_message`` and the checks without sending (for previews).

        Returns the checked copies (defaults and ids set; send them with
        ``prepared=True`` so the hooks do not run twice) and the failed
        outcomes of those a plugin refused. Raises ValidationError if any is invalid.
        """
        return drive(self._prepare_flow(messages), self._do)

    def send(self, messages: SendMessage | Iterable[SendMessage], *, skip_invalid: bool = False,
             prepared: bool = False, progress: Callable[[int], Any] | None = None) -> list[Outcome[SendResult]]:
        """Send SMS/Viber messages; every message gets its own Outcome, in order.

        Raises ValidationError (nothing sent) if any message is invalid, unless
        ``skip_invalid``: then each invalid one gets a failed Outcome
        (``invalid: field: reason``) and the others go out. A plugin's
        ``MessageRejected`` fails just that message (``rejected: reason``). A
        RequestError means a whole request failed (``exc.outcomes`` holds every
        message's outcome). ``progress(n)`` is called as each batch of ``n`` is done.
        """
        return drive(self._send_flow(messages, skip_invalid, prepared, progress), self._do)

    def balance(self) -> BalanceResult:
        return self.request([Balance()])[0].unwrap()

    def hlr(self, phone: str | int) -> HlrResult:
        return self.request([Hlr(phone)])[0].unwrap()

    def hlr_many(self, phones: Iterable[str | int]) -> list[Outcome[HlrResult]]:
        return self.request([Hlr(p) for p in phones])

    def status(self, ids: int | Iterable[int]) -> list[Outcome[StatusResult]]:
        """Status of one or many message ids, ``batch_size`` ids a request."""
        return self.request([Status(i) for i in ([ids] if isinstance(ids, int) else ids)])

    def call_otp(self, phone: str | int) -> OtpResult:
        """Call ``phone``; the calling number ends with the returned ``code`` (and the call costs ``price``)."""
        return self.request([CallOtp(phone)])[0].unwrap()

    def call_otp_many(self, phones: Iterable[str | int]) -> list[Outcome[OtpResult]]:
        return self.request([CallOtp(p) for p in phones])


class AsyncAlphaSMS(_Core):
    """The asyncio client; batches go out ``max_concurrency`` requests at a time.

    Its default transport runs on aiohttp (see ``alphasms_notify.transport``);
    pass ``transport=`` (e.g. ``httpx.AsyncHTTPTransport()``) to choose another.
    """

    def __init__(
        self,
        api_key: str,
        api_url: str | None = None,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
        **options: Any,
    ) -> None:
        super().__init__(api_key, api_url, **options)
        if transport is None:
            from .transport import AiohttpTransport  # aiohttp loads only for async use

            transport = AiohttpTransport(limit=max_concurrency, max_body=self.max_answer_bytes, verify=self.verify)
        self._http = httpx.AsyncClient(**self._http_kwargs(transport))  # the transport sets the connection limit
        self.max_concurrency = max_concurrency

    async def __aenter__(self) -> AsyncAlphaSMS:
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _do(self, action: Any) -> Any:
        if type(action) is _Post:
            limit = max(0.0, min(self.total_timeout, action.deadline - time.monotonic()))
            try:
                async with asyncio.timeout(limit):
                    async with self._http.stream("POST", self.api_url, content=action.body) as answer:
                        content = await read_capped_async(answer.aiter_bytes(), self.max_answer_bytes)
                        return _Answer(answer.status_code, content)
            except TimeoutError:
                return httpx.ReadTimeout(f"no complete answer within {limit:.2g} s")
            except (httpx.TransportError, AnswerTooLarge) as exc:
                return exc
        if type(action) is _Sleep:
            return await asyncio.sleep(action.seconds)
        if type(action) is _Each:
            return await self._each_concurrently(action.flows)
        return await action  # what an async plugin hook returned

    async def _each_concurrently(self, flows: list[Generator]) -> list[Any]:
        gate = asyncio.Semaphore(self.max_concurrency)
        results: list[Any] = [None] * len(flows)
        failed = False

        async def one(position: int, flow: Generator) -> None:
            nonlocal failed
            async with gate:
                if failed:
                    return  # a request already failed as a whole: send no more
                try:
                    results[position] = await adrive(flow, self._do)
                except RequestError as exc:
                    failed, results[position] = True, exc

        await asyncio.gather(*(one(i, f) for i, f in enumerate(flows)))
        return results

    async def request(self, messages: Sequence[Message]) -> list[Outcome]:
        return await adrive(self._request_flow(messages), self._do)

    async def prepare(self, messages: SendMessage | Iterable[SendMessage]
                      ) -> tuple[list[SendMessage], list[Outcome]]:
        """As :meth:`AlphaSMS.prepare`."""
        return await adrive(self._prepare_flow(messages), self._do)

    async def send(self, messages: SendMessage | Iterable[SendMessage], *, skip_invalid: bool = False,
                   prepared: bool = False, progress: Callable[[int], Any] | None = None
                   ) -> list[Outcome[SendResult]]:
        """As :meth:`AlphaSMS.send`, with up to ``max_concurrency`` requests in flight."""
        return await adrive(self._send_flow(messages, skip_invalid, prepared, progress), self._do)

    async def balance(self) -> BalanceResult:
        return (await self.request([Balance()]))[0].unwrap()

    async def hlr(self, phone: str | int) -> HlrResult:
        return (await self.request([Hlr(phone)]))[0].unwrap()

    async def hlr_many(self, phones: Iterable[str | int]) -> list[Outcome[HlrResult]]:
        return await self.request([Hlr(p) for p in phones])

    async def status(self, ids: int | Iterable[int]) -> list[Outcome[StatusResult]]:
        return await self.request([Status(i) for i in ([ids] if isinstance(ids, int) else ids)])

    async def call_otp(self, phone: str | int) -> OtpResult:
        """As :meth:`AlphaSMS.call_otp`."""
        return (await self.request([CallOtp(phone)]))[0].unwrap()

    async def call_otp_many(self, phones: Iterable[str | int]) -> list[Outcome[OtpResult]]:
        return await self.request([CallOtp(p) for p in phones])
