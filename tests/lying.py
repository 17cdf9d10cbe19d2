"""A provider that lies: it forwards to the sandbox (so messages really go out) and then mangles the answer.

Modes, set with ``mode``: ``honest`` (pass through), ``short`` (drop the last
item of the answer), ``endless`` (an answer that never ends), ``bomb`` (a
small gzip body that inflates to 200 MB), ``trickle`` (one byte a second), ``last_reply`` (each status
answer's list of replies cut to its last one, as a provider that replaces the list would).
"""

from __future__ import annotations

import asyncio
import functools
import gzip
import time

import httpx
from aiohttp import web

from alphasms_notify.sandbox.inprocess import ServedApp


@functools.cache
def bomb() -> bytes:
    """200 MB of spaces, gzip'ed to ~200 KB on the wire: made when first served (1 s of CPU), not at import."""
    return gzip.compress(b" " * (200 * 1024 * 1024), compresslevel=9)


class LyingProvider(ServedApp):
    thread_name = "lying-provider"
    control_prefix = "/_lying"

    def __init__(self, upstream: str, **options) -> None:
        super().__init__(**options)
        self.upstream = upstream
        self.mode = "honest"
        self.arrivals: list[float] = []  # time.time() of each request, for bounds measured from the first

    @property
    def api_url(self) -> str:
        return self.url + "/api/json.php"

    def make_app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/api/json.php", self._handle)
        return app

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        self.arrivals.append(time.time())
        if self.mode in ("endless", "trickle"):
            answer = web.StreamResponse(headers={"Content-Type": "application/json"})
            await answer.prepare(request)
            await answer.write(b'{"success": true, "data": [')
            chunk, pause = (b" " * 65536, 0) if self.mode == "endless" else (b" ", 1.0)
            try:
                for _ in range(10**6):
                    await answer.write(chunk)
                    await asyncio.sleep(pause)
            except (ConnectionError, asyncio.CancelledError):
                pass
            return answer
        if self.mode == "bomb":
            return web.Response(body=bomb(), headers={"Content-Type": "application/json", "Content-Encoding": "gzip"})
        async with httpx.AsyncClient() as client:
            real = await client.post(self.upstream, content=body, headers={"Content-Type": "application/json"})
        if self.mode == "last_reply":
            document = real.json()
            for item in document.get("data") or []:
                data = item.get("data") if isinstance(item, dict) else None
                if isinstance(data, dict) and data.get("replies"):
                    data["replies"] = data["replies"][-1:]
            return web.json_response(document)
        if self.mode == "short":
            document = real.json()
            if isinstance(document.get("data"), list) and document["data"]:
                document["data"] = document["data"][:-1]
            return web.json_response(document)
        return web.Response(body=real.content, headers={"Content-Type": "application/json"})
