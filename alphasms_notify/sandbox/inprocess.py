"""Run an aiohttp app on 127.0.0.1 in-process: on its own thread and loop, or in the caller's loop.

The AlphaSMS sandbox and the Telegram Bot API stand-in share this: ``start()``
binds (port 0 picks a free port) and returns once connections are accepted,
so a test can use ``.url`` at once; ``stop()`` shuts down cleanly.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from typing import Any

from .control import ControlClient

__all__ = ["ServedApp"]


class ServedApp(ControlClient):
    """Base for an in-process server; subclasses implement ``make_app()``."""

    thread_name = "alphasms-served-app"

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, ssl_context: Any = None) -> None:
        self.host, self.port = host, port
        self.ssl_context = ssl_context  # an ssl.SSLContext: serve HTTPS (tests of certificate handling)
        self._runner: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    def make_app(self) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}(url={self.url!r})"

    @property
    def url(self) -> str:
        return f"{'https' if self.ssl_context else 'http'}://{self.host}:{self.port}"

    async def astart(self) -> Any:
        """Start in the running event loop."""
        from aiohttp import web

        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        self.port = sock.getsockname()[1]
        self._runner = web.AppRunner(self.make_app(), access_log=None, handle_signals=False, shutdown_timeout=1.0)
        await self._runner.setup()
        await web.SockSite(self._runner, sock, ssl_context=self.ssl_context).start()
        return self

    async def astop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def start(self) -> Any:
        """Start on a background thread; returns when the port accepts connections."""
        ready = threading.Event()
        errors: list[BaseException] = []

        def serve() -> None:
            loop = self._loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self.astart())
            except BaseException as exc:
                errors.append(exc)
                ready.set()
                return
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self.astop())
            loop.close()

        self._thread = threading.Thread(target=serve, name=self.thread_name, daemon=True)
        self._thread.start()
        ready.wait()
        if errors:
            raise errors[0]
        return self

    def stop(self) -> None:
        self.close_control()
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
            self._thread = self._loop = None

    def __enter__(self) -> Any:
        return self.start()

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()
