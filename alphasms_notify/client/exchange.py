"""One batch on the wire: answers decoded, retries that never send twice, reconcile by id, the unsettled."""

from __future__ import annotations

import logging
import random
import time
import urllib.parse
from collections.abc import Generator
from collections.abc import Set as AbstractSet
from typing import Any

from ..answers import AnswerTooLarge
from ..errors import ProtocolError, RequestError, TransportError
from ..messages import Message, SendMessage, Status
from ..redact import safe_url
from ..results import Outcome, SendResult
from ..wire import CAMPAIGN_HEADER, decode_response, encode_request
from .actions import _NOT_SENT, SEND_TYPES, _Answer, _fits, _is_duplicate, _mask, _Post, _Retry, _Sleep

__all__ = ["Exchange"]


def _headers(batch: list[Message]) -> tuple[tuple[str, str], ...]:
    """The campaign the whole batch belongs to, if one (``meta["source"]`` is ``campaign:NAME``)."""
    sources = {str(getattr(m, "meta", {}).get("source", "")) for m in batch}
    if len(sources) == 1 and (source := sources.pop()).startswith("campaign:"):
        return ((CAMPAIGN_HEADER, urllib.parse.quote(source.removeprefix("campaign:"), safe="")),)
    return ()


class Exchange:
    """The client's exchange with retries (a part of :class:`~alphasms_notify.client.flow.Core`)."""

    api_url: str
    _api_key: str
    deadline: float
    retries: int
    backoff: float
    requests_made: int
    max_answer_bytes: int
    log: logging.Logger

    def _decode(self, reply: _Answer | Exception, messages: list[Message]) -> list[Outcome[Any]]:
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
        return float(min(self.backoff * 2 ** (attempt - 1), 8.0) * random.uniform(0.8, 1.2))

    def _exchange(self, batch: list[Message], recheck: AbstractSet[int] = frozenset()
                  ) -> Generator[_Post | _Sleep, Any, tuple[list[Outcome[Any]], RequestError | None]]:
        """One batch, with retries: its outcomes, and the error it ended with (None if answered).

        ``recheck``: ids of messages an earlier call may have delivered (their
        outcome was unknown); the provider is asked about them first.
        """
        done: dict[int, Outcome[Any]] = {}
        maybe = {i for i, m in enumerate(batch) if getattr(m, "id", None) in recheck}
        pending = list(range(len(batch)))
        attempt = 0
        deadline = time.monotonic() + self.deadline
        headers = _headers(batch)
        while True:
            try:
                if maybe & set(pending):
                    yield from self._reconcile(batch, [i for i in pending if i in maybe], done, deadline)
                    pending = [i for i in pending if i not in done]
                if pending:
                    items = batch if len(pending) == len(batch) else [batch[i] for i in pending]
                    reply = yield _Post(encode_request(self._api_key, items), deadline, headers)
                    if not maybe:  # nothing an earlier attempt may have delivered: the whole batch, in order
                        return self._decode(reply, items), None
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

    def _settle(self, batch: list[Message], pending: list[int], done: dict[int, Outcome[Any]], maybe: set[int],
                error: RequestError, unknown_reason: str) -> None:
        """The messages left unanswered: unknown if an attempt may have delivered them, else not sent."""
        for i in pending:
            if i not in done:
                done[i] = (self._unknown(batch[i], unknown_reason) if i in maybe and isinstance(batch[i], SEND_TYPES)
                           else Outcome(batch[i], False, error=f"not sent: {error}"))

    @staticmethod
    def _unknown(message: Message, reason: str) -> Outcome[Any]:
        msg_id = getattr(message, "id", None)
        return Outcome(message, False, unknown=True,
                       error=f"unknown: AlphaSMS may have accepted it ({reason}); "
                             f"check with: alphasms status {msg_id}")

    def _recovered(self, message: SendMessage, msg_id: int) -> Outcome[Any]:
        return Outcome(message, True, result=SendResult(msg_id, None, None, recovered=True))

    def _reconcile(self, batch: list[Message], indexes: list[int], done: dict[int, Outcome[Any]],
                   deadline: float = float("inf")) -> Generator[Any, Any, Any]:
        """Ask ``status`` about send items an earlier attempt may have delivered; settle those it knows."""
        # every send item has its id by now (drawn before the first attempt)
        to_check = {i: (m, m.id) for i in indexes if isinstance(m := batch[i], SEND_TYPES) and m.id is not None}
        if not to_check:
            return
        queries: list[Message] = [Status(msg_id) for _, msg_id in to_check.values()]
        reply = yield _Post(encode_request(self._api_key, queries), deadline)
        for (i, (message, msg_id)), outcome in zip(to_check.items(), self._decode(reply, queries), strict=True):
            if not outcome.ok:
                continue  # not known to the provider: it was not sent, so it goes out now
            known = outcome.unwrap()
            fits = _fits(message, known, outcome.raw)
            if fits:
                done[i] = self._recovered(message, msg_id)
            elif fits is None:
                done[i] = self._unknown(message, f"id {msg_id} is known to AlphaSMS as a "
                                        f"{known.type} message, but not to which phone: this one, or "
                                        "another sent earlier with the same id")
            else:
                done[i] = Outcome(message, False, error=(
                    f"id {msg_id} is already taken at AlphaSMS by another message (a {known.type} "
                    "message, not this one); this one was not sent: send it with another id"))

