"""The one flow both clients run: batching, retries that never send twice, hooks.

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

import inspect
import logging
import ssl
from collections.abc import Callable, Generator, Iterable, Sequence, Set
from typing import Any, TypedDict, TypeVar, cast

import httpx
import pluggy

from .._version import __version__
from ..errors import MessageRejected, RequestError
from ..ids import new_message_id
from ..messages import (
    Message,
    SendMessage,
    label_of,
)
from ..plugins import has_impls, hook_flow, hook_impls
from ..redact import safe_url
from ..results import Outcome, SendResult
from ..settings import (
    DEFAULT_API_URL,
    DEFAULT_BATCH_SIZE,
    DEFAULT_MAX_BATCH_SIZE,
    DEFAULT_MAX_PARTS,
    DEFAULT_RETRIES,
    DEFAULT_TIMEOUT,
    ConfigError,
)
from ..tls import context_for
from .actions import MAX_ANSWER_BYTES, SEND_TYPES, UNKNOWN, _Each, stops_later_batches
from .checking import Checking
from .exchange import Exchange

__all__ = ["Core", "ClientOptions", "with_core_options"]

log = logging.getLogger("alphasms_notify")


class ClientOptions(TypedDict, total=False):
    """The keyword options both clients take (see :class:`Core`), for type checkers."""

    sms_sender: str | None
    viber_sender: str | None
    rcs_sender: str | None
    batch_size: int | None
    max_batch_size: int | None
    timeout: float
    deadline: float | None
    retries: int
    backoff: float
    plugins: pluggy.PluginManager | None
    id_factory: Callable[[], int]
    max_parts: int
    max_answer_bytes: int
    connect_timeout: float | None
    verify: bool | ssl.SSLContext
    logger: logging.Logger | None


InitT = TypeVar("InitT", bound=Callable[..., None])


def with_core_options(init: InitT) -> InitT:
    """Show a client's ``__init__`` to ``help()`` and IDEs with every option spelled out, not ``**options``."""
    own = inspect.signature(init)
    core = inspect.signature(Core.__init__)
    params = [p for p in own.parameters.values() if p.kind is not p.VAR_KEYWORD]
    params += [p for name, p in core.parameters.items() if p.kind is p.KEYWORD_ONLY and name not in own.parameters]
    init.__signature__ = own.replace(parameters=params)  # type: ignore[attr-defined]
    return init


class Core(Checking, Exchange):
    """Settings, validation, and the retry/idempotency flow shared by both clients.

    ``api_key`` is required; ``api_url`` defaults to the provider's. The options: default senders
    (``sms_sender``, ``viber_sender``, ``rcs_sender``); ``batch_size`` items a request (a send's batches grow
    from 100, each twice the last, up to ``max_batch_size``, 1,000, unless ``batch_size`` is given; a send
    starts at the largest batch the client's last send reached, if no request of it failed); ``timeout`` seconds
    for one exchange (``connect_timeout`` to bound the connect on its own) and ``deadline`` for a request
    with all its retries (default twice the timeout); ``retries`` and ``backoff``; ``plugins`` (a pluggy
    manager; None: no hooks); ``max_parts`` per SMS; ``max_answer_bytes``; ``verify`` (TLS: True, False or
    an ``ssl.SSLContext``); ``id_factory`` and ``logger``. Nothing is read from the environment:
    :func:`~alphasms_notify.make_client` reads the settings (``ALPHASMS_*``, the config file).
    """

    def __init__(
        self,
        api_key: str,
        api_url: str | None = None,
        *,
        sms_sender: str | None = None,
        viber_sender: str | None = None,
        rcs_sender: str | None = None,
        batch_size: int | None = None,
        max_batch_size: int | None = None,
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
            raise ConfigError("api_key is empty: pass it (make_client() takes ALPHASMS_API_KEY or the config's)")
        start = DEFAULT_BATCH_SIZE if batch_size is None else batch_size
        ceiling = max_batch_size if max_batch_size is not None else \
            DEFAULT_MAX_BATCH_SIZE if batch_size is None else start
        if start < 1:
            raise ConfigError("batch_size must be at least 1")
        if ceiling < start:
            raise ConfigError(f"max_batch_size ({ceiling}) must be at least batch_size ({start})")
        if not timeout > 0 or timeout == float("inf"):
            raise ConfigError(f"timeout must be a positive number of seconds, not {timeout!r}")
        self._api_key = api_key
        self.api_url = api_url or DEFAULT_API_URL  # the environment is the settings' to read (make_client)
        self.sms_sender = sms_sender
        self.viber_sender = viber_sender
        self.rcs_sender = rcs_sender
        self.batch_size, self.max_batch_size = start, ceiling  # a send's first batch, and its largest
        self._reached = 0  # the largest batch the last send posted, if it went through: the next one starts there
        # One exchange, connect to last byte, takes at most total_timeout: `timeout` (which also bounds
        # the connect), or connect_timeout + timeout when the connect has its own (Apprise's cto + rto).
        connect = min(timeout, 5.0) if connect_timeout is None else connect_timeout
        self.total_timeout = float(timeout) + (connect_timeout or 0.0)
        self.timeout = httpx.Timeout(timeout, connect=connect)
        # A request with all its retries and its reconcile ends within `deadline` (retries would otherwise
        # multiply the timeout: 4 attempts at 10 s against a provider trickling its answers).
        if deadline is not None and (not deadline > 0 or deadline == float("inf")):
            raise ConfigError(f"deadline must be a positive number of seconds, not {deadline!r}")
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

    def _http_kwargs(self, transport: Any) -> dict[str, Any]:
        return {
            "timeout": self.timeout,
            "transport": transport,
            "verify": context_for(self.api_url, self.verify),  # one per process, not one per client
            "headers": {"Content-Type": "application/json", "User-Agent": f"alphasms-notify/{__version__}"},
        }

    # -- before sending ------------------------------------------------------

    @staticmethod
    def _batch(messages: SendMessage | Iterable[SendMessage]) -> list[SendMessage]:
        return [messages] if isinstance(messages, SEND_TYPES) else list(messages)

    @staticmethod
    def _rejected(message: Message, index: int, exc: MessageRejected) -> Outcome[Any]:
        """A plugin stopped this message: it fails alone, the others still go out."""
        log.info("%s rejected by a plugin: %s", label_of(message, index), exc.reason)
        return Outcome(message, False, error=exc.outcome_error)

    @staticmethod
    def _merge(batch: Sequence[Message], settled: dict[int, Outcome[Any]], sent: list[Outcome[Any]]
               ) -> list[Outcome[Any]]:
        if not settled:
            return sent
        it = iter(sent)
        return [settled[i] if i in settled else next(it) for i in range(len(batch))]

    @staticmethod
    def _earlier(batch: list[SendMessage]) -> tuple[dict[int, Outcome[Any]], set[int]]:
        """What earlier sends of these same objects ended with: accepted ones are not sent again,
        unknown ones are asked about first."""
        settled: dict[int, Outcome[Any]] = {}
        unknown: set[int] = set()
        for i, m in enumerate(batch):
            state = m.sent
            if isinstance(state, SendResult) and state.id == m.id:
                settled[i] = Outcome(m, True, result=state)
            elif state == UNKNOWN and m.id is not None:
                unknown.add(m.id)
        return settled, unknown

    @staticmethod
    def _record(batch: list[SendMessage], outcomes: list[Outcome[Any]]) -> None:
        """Remember on each caller's object how its send ended, for a retry by any layer above."""
        for message, outcome in zip(batch, outcomes, strict=True):
            if outcome.ok and isinstance(outcome.result, SendResult):
                message.sent = outcome.result
            elif outcome.unknown:
                message.sent = UNKNOWN
            elif message.sent == UNKNOWN and outcome.error and "already taken" in outcome.error:
                message.sent = None

    # -- the flows: written once, carried out by either client ----------------------

    def _prepare_hooks(self, batch: list[SendMessage], settled: dict[int, Outcome[Any]]) -> Generator[Any, Any, Any]:
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

    def _prepare_flow(self, messages: SendMessage | Iterable[SendMessage]
                      ) -> Generator[Any, Any, tuple[list[SendMessage], list[Outcome[Any]]]]:
        batch = self._batch(messages)
        refused = yield from self._prepare_hooks(batch, {})
        ready = self._validated(m for i, m in enumerate(batch) if i not in refused)
        return cast(list[SendMessage], ready), list(refused.values())  # checked copies of send messages

    def _send_flow(self, messages: SendMessage | Iterable[SendMessage], skip_invalid: bool,
                   prepared: bool = False, progress: Callable[[int], Any] | None = None
                   ) -> Generator[Any, Any, list[Outcome[SendResult]]]:
        """prepare hooks -> checks -> batches (exchange, then sent hooks) -> outcomes in the caller's order."""
        batch = self._batch(messages)
        settled, recheck = self._earlier(batch)
        if not prepared:
            yield from self._prepare_hooks(batch, settled)
        notify = (has_impls(self.plugins, "alphasms_message_sent"), has_impls(self.plugins, "alphasms_batch_sent"))
        plan = self._send_plan(batch, settled, skip_invalid)
        try:
            outcomes = yield from self._each([self._batch_flow(chunk, notify, recheck, progress)
                                              for chunk in plan], plan, stop=stops_later_batches)
        except RequestError as exc:
            self._reached = 0  # the next send starts small again
            exc.outcomes = self._merge(batch, settled, exc.outcomes)
            self._record(batch, exc.outcomes)
            raise
        # a send that went through starts the next where this one got to (a campaign runner's claims of
        # 2,000 each went as 100, 200, 400, 800, 500: five requests where two do); a small one, from the start
        self._reached = max((len(chunk) for chunk in plan), default=0)
        merged = self._merge(batch, settled, outcomes)
        self._record(batch, merged)
        return merged

    def _batch_flow(self, chunk: list[Message], notify: tuple[bool, bool], recheck: Set[int] = frozenset(),
                    progress: Callable[[int], Any] | None = None) -> Generator[Any, Any, Any]:
        """Exchange one batch, then tell the plugins about every outcome, also when the batch failed
        (``notify``: whether any plugin has ``alphasms_message_sent``, ``alphasms_batch_sent``)."""
        outcomes, failure = yield from self._exchange(chunk, recheck)
        if progress is not None:
            progress(len(chunk))
        if notify[0]:
            impls = hook_impls(self.plugins, "alphasms_message_sent")
            for outcome in outcomes:
                problems: list[str] = []
                yield from hook_flow(self.plugins, "alphasms_message_sent",
                                     {"message": outcome.message, "result": outcome}, problems=problems,
                                     impls=impls)
                if problems:
                    outcome.warnings = (outcome.warnings or []) + problems
        if notify[1]:
            problems = []
            yield from hook_flow(self.plugins, "alphasms_batch_sent", {"outcomes": outcomes}, problems=problems)
            for outcome in outcomes if problems else ():
                outcome.warnings = (outcome.warnings or []) + problems
        if failure is not None:
            failure.outcomes = outcomes
            raise failure
        return outcomes

    def _query_flow(self, chunk: list[Message]) -> Generator[Any, Any, Any]:
        outcomes, failure = yield from self._exchange(chunk)
        if failure is not None:
            failure.outcomes = outcomes
            raise failure
        return outcomes

    def _request_flow(self, messages: Sequence[Message]) -> Generator[Any, Any, list[Outcome[Any]]]:
        plan = self._plan(messages)
        return (yield from self._each([self._query_flow(chunk) for chunk in plan], plan))

    @staticmethod
    def _each(flows: list[Generator[Any, Any, Any]], plan: Sequence[Sequence[Message]],
              stop: Callable[[list[Outcome[Any]]], str | None] | None = None
              ) -> Generator[Any, Any, list[Outcome[Any]]]:
        """Run the batches; if one failed as a whole, raise it with every message's outcome.

        Batches never started fail as "not sent": a request before them failed, or (``stop``) a batch's
        answer said every later item would fail the same way (the balance ran out).
        """
        results = yield _Each(flows, stop)
        failure = next((r for r in results if isinstance(r, RequestError)), None)
        stopped = None if failure is not None or stop is None else next(
            (why for r in results if isinstance(r, list) and (why := stop(r))), None)
        outcomes: list[Outcome[Any]] = []
        for chunk, result in zip(plan, results, strict=True):
            if isinstance(result, list):
                outcomes.extend(result)
            elif isinstance(result, RequestError):
                outcomes.extend(result.outcomes)
            elif stopped is not None:
                outcomes.extend(Outcome(m, False, error=f"not sent: an earlier message of this send got "
                                                        f"{stopped!r}; send it again later") for m in chunk)
            else:
                outcomes.extend(Outcome(m, False, error=f"not sent: an earlier request failed ({failure})")
                                for m in chunk)
        if failure is not None:
            failure.outcomes = outcomes
            raise failure
        return outcomes


