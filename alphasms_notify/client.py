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
and resends only the ones the provider does not know; a "duplicate id"
answer on the resend also counts as already accepted.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import time
from collections import OrderedDict
from collections.abc import Callable, Generator, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any, TypeVar

import httpx
import pluggy

from ._version import __version__
from .errors import MessageRejected, ProtocolError, RequestError, TransportError, ValidationError
from .flow import adrive, drive
from .ids import new_message_id
from .messages import Balance, Hlr, Message, SendMessage, Sms, Status, Viber, ViberSms, check, label_of
from .plugins import has_impls, hook_flow, run_blocking
from .results import BalanceResult, HlrResult, Outcome, SendResult, StatusResult
from .settings import (
    DEFAULT_API_URL,
    DEFAULT_BATCH_SIZE,
    DEFAULT_MAX_CONCURRENCY,
    DEFAULT_RETRIES,
    DEFAULT_TIMEOUT,
)
from .wire import decode_response, encode_request

__all__ = ["AlphaSMS", "AsyncAlphaSMS", "DEFAULT_API_URL", "DEFAULT_BATCH_SIZE"]

log = logging.getLogger("alphasms_notify")

SEND_TYPES = (Sms, Viber, ViberSms)
ACCEPTED_MEMORY = 100_000  # ids of accepted messages a client remembers, so a resend is not sent twice
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class _Post:
    body: bytes


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


class _Retry(Exception):
    def __init__(self, final: RequestError, maybe_sent: bool) -> None:
        self.final, self.maybe_sent = final, maybe_sent


_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


def _chunks(items: Sequence[T], size: int) -> list[Sequence[T]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


class _Core:
    """Settings, validation, and the retry/idempotency flow shared by both clients."""

    def __init__(
        self,
        api_key: str,
        api_url: str | None = None,
        *,
        sms_sender: str | None = None,
        viber_sender: str | None = None,
        batch_size: int = DEFAULT_BATCH_SIZE,
        timeout: float = DEFAULT_TIMEOUT,
        retries: int = DEFAULT_RETRIES,
        backoff: float = 0.5,
        plugins: pluggy.PluginManager | None = None,
        id_factory: Callable[[], int] = new_message_id,
    ) -> None:
        if not api_key:
            raise ValueError("api_key is empty: pass it or set ALPHASMS_API_KEY")
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self._api_key = api_key
        self.api_url = api_url or os.environ.get("ALPHASMS_API_URL") or DEFAULT_API_URL
        self.sms_sender = sms_sender
        self.viber_sender = viber_sender
        self.batch_size = batch_size
        self.timeout = httpx.Timeout(timeout, connect=min(timeout, 5.0))
        self.retries = retries
        self.backoff = backoff
        self.plugins = plugins
        self.id_factory = id_factory
        self.requests_made = 0
        self._accepted: OrderedDict[int, SendResult] = OrderedDict()  # id -> result, for idempotent resends

    def __repr__(self) -> str:
        return f"{type(self).__name__}(api_url={self.api_url!r}, api_key='***')"

    def _http_kwargs(self, transport: Any) -> dict[str, Any]:
        return {
            "timeout": self.timeout,
            "transport": transport,
            "headers": {"Content-Type": "application/json", "User-Agent": f"alphasms-notify/{__version__}"},
        }

    # -- before sending ------------------------------------------------------

    def _with_defaults(self, message: Message) -> Message:
        if isinstance(message, SEND_TYPES) and message.id is None:
            message.id = self.id_factory()  # in place: resending the same object is idempotent
        if isinstance(message, Sms) and message.sender is None:
            return replace(message, sender=self.sms_sender)
        if isinstance(message, Viber) and message.sender is None:
            return replace(message, sender=self.viber_sender or self.sms_sender)
        if isinstance(message, ViberSms) and (message.sender is None or message.sms_sender is None):
            return replace(
                message,
                sender=message.sender or self.viber_sender or self.sms_sender,
                sms_sender=message.sms_sender or self.sms_sender,
            )
        return message

    def _check_all(self, pairs: Iterable[tuple[int, Message]]) -> tuple[list[Message], dict[int, list]]:
        """Checked copies, and the problems of each message by its position in the caller's list."""
        checked: list[Message] = []
        problems: dict[int, list] = {}
        seen_ids: dict[int, int] = {}
        for index, message in pairs:
            ready, found = check(self._with_defaults(message), index)
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

    def _decode(self, reply: httpx.Response | Exception, messages: list[Message]) -> list[Outcome]:
        self.requests_made += 1
        if isinstance(reply, Exception):
            kind = type(reply).__name__
            final = TransportError(f"could not reach AlphaSMS at {self.api_url}: {kind}: {reply}")
            raise _Retry(final, maybe_sent=not isinstance(reply, _NOT_SENT))
        if reply.status_code >= 500:
            final = ProtocolError(f"AlphaSMS answered HTTP {reply.status_code} at {self.api_url}")
            raise _Retry(final, maybe_sent=True)
        try:
            return decode_response(reply.status_code, reply.content, messages)
        except ProtocolError as exc:
            raise _Retry(exc, maybe_sent=True) from None

    def _backoff(self, attempt: int) -> float:
        return min(self.backoff * 2 ** (attempt - 1), 8.0) * random.uniform(0.8, 1.2)

    def _exchange(self, batch: list[Message]) -> Generator[_Post | _Sleep, Any, list[Outcome]]:
        pending = list(range(len(batch)))
        done: dict[int, Outcome] = {}
        maybe_sent, attempt = False, 0
        while True:
            try:
                if maybe_sent:
                    yield from self._reconcile(batch, pending, done)
                    pending = [i for i in pending if i not in done]
                if pending:
                    items = [batch[i] for i in pending]
                    reply = yield _Post(encode_request(self._api_key, items))
                    for i, outcome in zip(pending, self._decode(reply, items), strict=True):
                        if maybe_sent and not outcome.ok and "duplicate" in (outcome.error or "").lower():
                            outcome = self._recovered(batch[i])
                        done[i] = outcome
                outcomes = [done[i] for i in range(len(batch))]
                self._remember(outcomes)
                return outcomes
            except _Retry as retry:
                maybe_sent = maybe_sent or retry.maybe_sent
                attempt += 1
                if attempt > self.retries:
                    raise retry.final from None
                log.warning("AlphaSMS request failed (%s); retry %d of %d", retry.final, attempt, self.retries)
                yield _Sleep(self._backoff(attempt))

    def _recovered(self, message: Message) -> Outcome:
        return Outcome(message, True, result=SendResult(message.id, None, None, recovered=True))  # type: ignore[union-attr]

    def _reconcile(self, batch: list[Message], pending: list[int], done: dict[int, Outcome]) -> Generator:
        """Ask ``status`` for send items an earlier attempt may have delivered."""
        to_check = [i for i in pending if isinstance(batch[i], SEND_TYPES)]
        if not to_check:
            return
        queries: list[Message] = [Status(batch[i].id) for i in to_check]  # type: ignore[union-attr]
        reply = yield _Post(encode_request(self._api_key, queries))
        for i, outcome in zip(to_check, self._decode(reply, queries), strict=True):
            if outcome.ok:
                done[i] = self._recovered(batch[i])

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

    def _already_accepted(self, batch: list[SendMessage]) -> dict[int, Outcome]:
        """Messages this client already got accepted (a resend after an exception): not sent again."""
        return {i: Outcome(m, True, result=self._accepted[m.id]) for i, m in enumerate(batch)
                if m.id is not None and m.id in self._accepted}

    def _remember(self, outcomes: list[Outcome]) -> None:
        for outcome in outcomes:
            if outcome.ok and isinstance(outcome.result, SendResult):
                self._accepted[outcome.result.id] = outcome.result
        while len(self._accepted) > ACCEPTED_MEMORY:
            self._accepted.popitem(last=False)

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
            for index, message in enumerate(batch):
                if index in settled:
                    continue
                try:
                    yield from hook_flow(self.plugins, "alphasms_prepare_message", {"message": message},
                                         (MessageRejected,))
                except MessageRejected as exc:
                    settled[index] = self._rejected(message, index, exc)
        return settled

    def _prepare_flow(self, messages: SendMessage | Iterable[SendMessage]) -> Generator:
        batch = self._batch(messages)
        refused = yield from self._prepare_hooks(batch, {})
        ready = self._validated(m for i, m in enumerate(batch) if i not in refused)
        return ready, list(refused.values())

    def _send_flow(self, messages: SendMessage | Iterable[SendMessage], skip_invalid: bool,
                   prepared: bool = False) -> Generator:
        """prepare hooks -> checks -> batches (exchange, then sent hooks) -> outcomes in the caller's order."""
        batch = self._batch(messages)
        settled = self._already_accepted(batch)
        if not prepared:
            yield from self._prepare_hooks(batch, settled)
        notify = has_impls(self.plugins, "alphasms_message_sent")
        plan = self._send_plan(batch, settled, skip_invalid)
        outcomes = yield from self._each([self._batch_flow(chunk, notify) for chunk in plan])
        return self._merge(batch, settled, outcomes)

    def _batch_flow(self, chunk: list[Message], notify: bool) -> Generator:
        outcomes = yield from self._exchange(chunk)
        if notify:
            for outcome in outcomes:
                yield from hook_flow(self.plugins, "alphasms_message_sent",
                                     {"message": outcome.message, "result": outcome})
        return outcomes

    def _request_flow(self, messages: Sequence[Message]) -> Generator:
        return (yield from self._each([self._exchange(chunk) for chunk in self._plan(messages)]))

    @staticmethod
    def _each(flows: list[Generator]) -> Generator:
        """Run the batches; if one failed as a whole, raise it with the outcomes of those answered."""
        results = yield _Each(flows)
        outcomes = [o for r in results if isinstance(r, list) for o in r]
        failure = next((r for r in results if isinstance(r, RequestError)), None)
        if failure is not None:
            failure.partial = outcomes
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
                return self._http.post(self.api_url, content=action.body)
            except httpx.TransportError as exc:
                return exc
        if type(action) is _Sleep:
            return time.sleep(action.seconds)
        if type(action) is _Each:
            results: list[Any] = []
            for flow in action.flows:  # one after another; after a failed one, send no more
                try:
                    results.append(drive(flow, self._do))
                except RequestError as exc:
                    results.append(exc)
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
             prepared: bool = False) -> list[Outcome[SendResult]]:
        """Send SMS/Viber messages; every message gets its own Outcome, in order.

        Raises ValidationError (nothing sent) if any message is invalid, unless
        ``skip_invalid``: then each invalid one gets a failed Outcome
        (``invalid: field: reason``) and the others go out. A plugin's
        ``MessageRejected`` fails just that message (``rejected: reason``). A
        RequestError means a whole request failed (``exc.partial`` holds the
        outcomes of the requests that were answered).
        """
        return drive(self._send_flow(messages, skip_invalid, prepared), self._do)

    def balance(self) -> BalanceResult:
        return self.request([Balance()])[0].unwrap()

    def hlr(self, phone: str | int) -> HlrResult:
        return self.request([Hlr(phone)])[0].unwrap()

    def hlr_many(self, phones: Iterable[str | int]) -> list[Outcome[HlrResult]]:
        return self.request([Hlr(p) for p in phones])

    def status(self, ids: int | Iterable[int]) -> list[Outcome[StatusResult]]:
        """Status of one or many message ids, ``batch_size`` ids a request."""
        return self.request([Status(i) for i in ([ids] if isinstance(ids, int) else ids)])


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

            transport = AiohttpTransport(limit=max_concurrency)
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
            try:
                return await self._http.post(self.api_url, content=action.body)
            except httpx.TransportError as exc:
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
                   prepared: bool = False) -> list[Outcome[SendResult]]:
        """As :meth:`AlphaSMS.send`, with up to ``max_concurrency`` requests in flight."""
        return await adrive(self._send_flow(messages, skip_invalid, prepared), self._do)

    async def balance(self) -> BalanceResult:
        return (await self.request([Balance()]))[0].unwrap()

    async def hlr(self, phone: str | int) -> HlrResult:
        return (await self.request([Hlr(phone)]))[0].unwrap()

    async def hlr_many(self, phones: Iterable[str | int]) -> list[Outcome[HlrResult]]:
        return await self.request([Hlr(p) for p in phones])

    async def status(self, ids: int | Iterable[int]) -> list[Outcome[StatusResult]]:
        return await self.request([Status(i) for i in ([ids] if isinstance(ids, int) else ids)])
