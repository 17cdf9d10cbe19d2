"""``AsyncAlphaSMS``: the flow carried out with httpx's async client, ``max_concurrency`` batches at a time."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Generator, Iterable, Sequence
from typing import Any, Unpack, cast

import httpx

from ..answers import AnswerTooLarge, read_capped_async
from ..errors import RequestError
from ..flow import adrive
from ..messages import (
    Balance,
    CallOtp,
    Hlr,
    Message,
    SendMessage,
    Status,
)
from ..results import BalanceResult, HlrResult, OtpResult, Outcome, SendResult, StatusResult
from ..settings import (
    DEFAULT_MAX_CONCURRENCY,
)
from .actions import _Answer, _Each, _Post, _Sleep
from .flow import ClientOptions, Core, with_core_options

__all__ = ["AsyncAlphaSMS"]


class AsyncAlphaSMS(Core):
    """The asyncio client; batches go out ``max_concurrency`` requests at a time.

    Its default transport runs on aiohttp (see ``alphasms_notify.transport``);
    pass ``transport=`` (e.g. ``httpx.AsyncHTTPTransport()``) to choose another.
    """

    @with_core_options
    def __init__(
        self,
        api_key: str,
        api_url: str | None = None,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
        **options: Unpack[ClientOptions],
    ) -> None:
        super().__init__(api_key, api_url, **options)
        self._own: Any = None  # our aiohttp transport, posted to directly; a caller's goes through httpx
        if transport is None:
            from ..transport import AiohttpTransport, wire_headers  # aiohttp loads only for async use

            transport = self._own = AiohttpTransport(limit=max_concurrency, max_body=self.max_answer_bytes,
                                                     verify=self.verify)
        self._http = httpx.AsyncClient(**self._http_kwargs(transport))  # the transport sets the connection limit
        if self._own is not None:
            self._headers = wire_headers(self._http.headers.items())
        self.max_concurrency = max_concurrency

    async def __aenter__(self) -> AsyncAlphaSMS:
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool (``async with`` does it on leaving)."""
        await self._http.aclose()

    async def _do(self, action: Any) -> Any:
        if type(action) is _Post:
            limit = max(0.0, min(self.total_timeout, action.deadline - time.monotonic()))
            try:
                async with asyncio.timeout(limit):
                    if self._own is not None:
                        status, content = await self._own.post(
                            self.api_url, action.body, {**self._headers, **dict(action.headers)},
                            self.timeout.connect, self.timeout.read)
                        return _Answer(status, content)
                    async with self._http.stream("POST", self.api_url, content=action.body,
                                                 headers=dict(action.headers)) as answer:
                        content = await read_capped_async(answer.aiter_bytes(), self.max_answer_bytes)
                        return _Answer(answer.status_code, content)
            except TimeoutError:
                return httpx.ReadTimeout(f"no complete answer within {limit:.2g} s")
            except (httpx.TransportError, AnswerTooLarge) as exc:
                return exc
        if type(action) is _Sleep:
            return await asyncio.sleep(action.seconds)
        if type(action) is _Each:
            return await self._each_concurrently(action.flows, action.stop)
        return await action  # what an async plugin hook returned

    async def _each_concurrently(self, flows: list[Generator[Any, Any, Any]],
                                 stop: Callable[[list[Outcome[Any]]], str | None] | None = None) -> list[Any]:
        gate = asyncio.Semaphore(self.max_concurrency)
        results: list[Any] = [None] * len(flows)
        failed = False

        async def one(position: int, flow: Generator[Any, Any, Any]) -> None:
            nonlocal failed
            async with gate:
                if failed:
                    return  # a request already failed as a whole, or the balance ran out: send no more
                try:
                    results[position] = await adrive(flow, self._do)
                except RequestError as exc:
                    failed, results[position] = True, exc
                else:
                    failed = failed or bool(stop is not None and stop(results[position]))

        await asyncio.gather(*(one(i, f) for i, f in enumerate(flows)))
        return results

    async def request(self, messages: Sequence[Message]) -> list[Outcome[Any]]:
        """As :meth:`AlphaSMS.request`."""
        return await adrive(self._request_flow(messages), self._do)

    async def prepare(self, messages: SendMessage | Iterable[SendMessage]
                      ) -> tuple[list[SendMessage], list[Outcome[Any]]]:
        """As :meth:`AlphaSMS.prepare`."""
        return await adrive(self._prepare_flow(messages), self._do)

    async def send(self, messages: SendMessage | Iterable[SendMessage], *, skip_invalid: bool = False,
                   prepared: bool = False, progress: Callable[[int], Any] | None = None
                   ) -> list[Outcome[SendResult]]:
        """As :meth:`AlphaSMS.send`, with up to ``max_concurrency`` requests in flight."""
        return await adrive(self._send_flow(messages, skip_invalid, prepared, progress), self._do)

    async def balance(self) -> BalanceResult:
        """As :meth:`AlphaSMS.balance`."""
        return cast(BalanceResult, (await self.request([Balance()]))[0].unwrap())

    async def hlr(self, phone: str | int) -> HlrResult:
        """As :meth:`AlphaSMS.hlr`."""
        return cast(HlrResult, (await self.request([Hlr(phone)]))[0].unwrap())

    async def hlr_many(self, phones: Iterable[str | int]) -> list[Outcome[HlrResult]]:
        """As :meth:`AlphaSMS.hlr_many`, with up to ``max_concurrency`` requests in flight."""
        return await self.request([Hlr(p) for p in phones])

    async def status(self, ids: int | Iterable[int]) -> list[Outcome[StatusResult]]:
        """As :meth:`AlphaSMS.status`."""
        return await self.request([Status(i) for i in ([ids] if isinstance(ids, int) else ids)])

    async def call_otp(self, phone: str | int) -> OtpResult:
        """As :meth:`AlphaSMS.call_otp`."""
        return cast(OtpResult, (await self.request([CallOtp(phone)]))[0].unwrap())

    async def call_otp_many(self, phones: Iterable[str | int]) -> list[Outcome[OtpResult]]:
        """As :meth:`AlphaSMS.call_otp_many`."""
        return await self.request([CallOtp(p) for p in phones])
