"""An httpx transport on aiohttp's client, the default for ``AsyncAlphaSMS``.

httpx's own async networking costs about 2 ms of CPU a request here (measured:
0.39 s for 200 requests against 0.09 s with aiohttp's client), which made the
client, not the provider, the bottleneck of large async sends. This keeps the
httpx API (requests, responses, the exception types the retry logic relies
on) and swaps only the wire underneath. aiohttp errors are mapped to httpx's:
a refused or timed-out connect means nothing was sent; anything after that may
have reached the provider.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterable
from typing import Any

import aiohttp
import httpx

from .answers import read_capped_async

__all__ = ["AiohttpTransport", "wire_headers"]

_SKIP_REQUEST = {"host", "content-length", "transfer-encoding", "connection"}
_SKIP_RESPONSE = {"content-encoding", "content-length", "transfer-encoding"}  # aiohttp has decoded the body


def wire_headers(headers: Iterable[tuple[str, str]]) -> dict[str, str]:
    """The headers for aiohttp to send: those it sets itself (host, length, connection) left to it."""
    return {k: v for k, v in headers if k.lower() not in _SKIP_REQUEST}


class AiohttpTransport(httpx.AsyncBaseTransport):
    """One aiohttp session (created in the running loop on first use) with at most ``limit`` connections.

    ``max_body``: answers larger than this (after decompression) raise :class:`AnswerTooLarge`
    while being read, before they fill memory.
    """

    def __init__(self, limit: int = 4, max_body: int | None = None, verify: bool | ssl.SSLContext = True) -> None:
        self.limit = limit
        self.max_body = max_body
        self.verify = verify
        self._session: aiohttp.ClientSession | None = None

    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            ssl_option = self.verify if isinstance(self.verify, ssl.SSLContext) else bool(self.verify)
            connector = aiohttp.TCPConnector(limit=self.limit, enable_cleanup_closed=True, ssl=ssl_option)
            # HTTP(S)_PROXY / NO_PROXY from the environment, as httpx and requests honour them. aiohttp
            # looks them up (and reads ~/.netrc) on every request when told to trust the environment,
            # which halves the speed of large sends: told only when a proxy is actually set.
            from urllib.request import getproxies

            self._session = aiohttp.ClientSession(connector=connector, auto_decompress=True,
                                                  trust_env=bool(getproxies()))
        return self._session

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        timeouts: dict[str, Any] = request.extensions.get("timeout", {})
        headers = wire_headers(request.headers.items())
        status, response_headers, content = await self._exchange(
            request.method, str(request.url), await request.aread(), headers, timeouts.get("connect"),
            timeouts.get("read"), request)
        return httpx.Response(status, headers=response_headers, content=content, request=request)

    async def post(self, url: str, body: bytes, headers: dict[str, str], connect: float | None,
                   read: float | None) -> tuple[int, bytes]:
        """The client's own road: one POST, its status and whole body (capped), with no httpx request
        and response around it (httpx's client machinery cost as much CPU a request as aiohttp's
        whole exchange). Raises the same httpx errors as :meth:`handle_async_request`."""
        status, _, content = await self._exchange("POST", url, body, headers, connect, read, None)
        return status, content

    async def _exchange(self, method: str, url: str, body: bytes, headers: dict[str, str], connect: float | None,
                        read: float | None, request: httpx.Request | None
                        ) -> tuple[int, list[tuple[str, str]], bytes]:
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=connect, sock_read=read)
        try:
            async with self._get_session().request(method, url, data=body, headers=headers, timeout=timeout,
                                                   allow_redirects=False) as answer:
                if self.max_body is None:
                    content = await answer.read()
                else:
                    content = await read_capped_async(answer.content.iter_any(), self.max_body)
                response_headers = [(k, v) for k, v in answer.headers.items() if k.lower() not in _SKIP_RESPONSE]
                return answer.status, response_headers, content
        except aiohttp.ConnectionTimeoutError as exc:
            raise httpx.ConnectTimeout(str(exc) or "connect timed out", request=request) from exc
        except aiohttp.ClientConnectorError as exc:
            raise httpx.ConnectError(str(exc), request=request) from exc
        except (TimeoutError, aiohttp.SocketTimeoutError) as exc:
            raise httpx.ReadTimeout(str(exc) or "read timed out", request=request) from exc
        except (aiohttp.ServerDisconnectedError, aiohttp.ClientPayloadError) as exc:
            raise httpx.RemoteProtocolError(str(exc) or type(exc).__name__, request=request) from exc
        except aiohttp.ClientError as exc:
            raise httpx.ReadError(str(exc) or type(exc).__name__, request=request) from exc

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
