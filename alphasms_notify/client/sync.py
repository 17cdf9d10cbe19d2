"""``AlphaSMS``: the flow carried out with httpx's sync client, one request at a time."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from threading import Lock
from typing import Any, Unpack, cast

import httpx

from ..answers import AnswerTooLarge, read_capped
from ..errors import RequestError
from ..flow import drive
from ..messages import (
    Balance,
    CallOtp,
    Hlr,
    Message,
    SendMessage,
    Status,
)
from ..plugins import run_blocking
from ..results import BalanceResult, HlrResult, OtpResult, Outcome, SendResult, StatusResult
from .actions import _Answer, _Each, _Post, _Sleep
from .flow import ClientOptions, Core, with_core_options

__all__ = ["AlphaSMS"]


class AlphaSMS(Core):
    """The synchronous client. One instance holds one connection pool: reuse it.

    It reads nothing from the environment; :func:`~alphasms_notify.make_client` builds one from the
    settings (``ALPHASMS_*``, the config file). The options are :class:`~alphasms_notify.client.flow.Core`'s.

    >>> with AlphaSMS("KEY", sms_sender="Shop") as sms:            # doctest: +SKIP
    ...     [outcome] = sms.send(Sms("+380 97 123 45 67", "Hello"))
    ...     outcome.ok, outcome.result.msg_id
    """

    @with_core_options
    def __init__(self, api_key: str, api_url: str | None = None, *, transport: httpx.BaseTransport | None = None,
                 **options: Unpack[ClientOptions]) -> None:
        super().__init__(api_key, api_url, **options)
        # made at the first request: a client that only prepares and checks (``campaign create``, a preview)
        # loads no connection pool (httpcore, 35 ms of the command)
        self._transport, self._pool_lock, self._closed = transport, Lock(), False
        self._pool: httpx.Client | None = None

    def __enter__(self) -> AlphaSMS:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pool (``with AlphaSMS(...)`` does it on leaving)."""
        with self._pool_lock:
            self._closed = True
            if self._pool is not None:
                self._pool.close()

    @property
    def _http(self) -> httpx.Client:
        pool = self._pool
        if pool is None:
            with self._pool_lock:  # two threads' first requests make one pool
                if self._pool is None:
                    self._pool = httpx.Client(**self._http_kwargs(self._transport))
                    if self._closed:  # a request after close() fails as httpx says, as it did before
                        self._pool.close()
                pool = self._pool
        return pool

    def _timeout_until(self, ends: float) -> httpx.Timeout:
        """The client's timeouts, none longer than what is left until ``ends`` (the request's deadline):
        httpx's sync stream has no timeout for a whole exchange, so each phase is cut to what is left."""
        left = max(0.001, ends - time.monotonic())
        t = self.timeout
        return httpx.Timeout(connect=min(t.connect or left, left), read=min(t.read or left, left),
                             write=min(t.write or left, left), pool=min(t.pool or left, left))

    def _do(self, action: Any) -> Any:
        if type(action) is _Post:
            try:
                ends = min(time.monotonic() + self.total_timeout, action.deadline)
                with self._http.stream("POST", self.api_url, content=action.body, headers=dict(action.headers),
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
                if action.stop is not None and action.stop(results[position]):
                    break
            return results
        return run_blocking(action)  # what an async plugin hook returned

    def request(self, messages: Sequence[Message]) -> list[Outcome[Any]]:
        """Send already-built messages in requests of ``batch_size``; no hooks."""
        return drive(self._request_flow(messages), self._do)

    def prepare(self, messages: SendMessage | Iterable[SendMessage]) -> tuple[list[SendMessage], list[Outcome[Any]]]:
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
        """The account's balance; raises :class:`RequestError`, or the provider's refusal as an error."""
        return cast(BalanceResult, self.request([Balance()])[0].unwrap())

    def hlr(self, phone: str | int) -> HlrResult:
        """Whether ``phone`` is live in its network, which operator serves it and whether it was ported."""
        return cast(HlrResult, self.request([Hlr(phone)])[0].unwrap())

    def hlr_many(self, phones: Iterable[str | int]) -> list[Outcome[HlrResult]]:
        """:meth:`hlr` for many phones, ``batch_size`` a request; each phone gets its own Outcome."""
        return self.request([Hlr(p) for p in phones])

    def status(self, ids: int | Iterable[int]) -> list[Outcome[StatusResult]]:
        """Status (and Viber replies) of one or many message ids, ``batch_size`` ids a request."""
        return self.request([Status(i) for i in ([ids] if isinstance(ids, int) else ids)])

    def call_otp(self, phone: str | int) -> OtpResult:
        """Call ``phone``; the calling number ends with the returned ``code`` (and the call costs ``price``)."""
        return cast(OtpResult, self.request([CallOtp(phone)])[0].unwrap())

    def call_otp_many(self, phones: Iterable[str | int]) -> list[Outcome[OtpResult]]:
        """:meth:`call_otp` for many phones; each phone gets its own Outcome."""
        return self.request([CallOtp(p) for p in phones])


