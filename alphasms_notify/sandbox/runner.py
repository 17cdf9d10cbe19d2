"""Run the sandbox in-process: on its own thread and event loop, or in the caller's loop.

``Sandbox().start()`` binds 127.0.0.1 on a free port (port 0) and returns once
it accepts connections, so a test can use ``sandbox.api_url`` at once; the
helper methods talk to the documented control calls over HTTP, the same way
another language's test suite would.
"""

from __future__ import annotations

import asyncio
import base64
import socket
import threading
from decimal import Decimal
from typing import Any

import httpx

from .provider import Provider
from .server import API_PATH, CONTROL_PREFIX, make_app

__all__ = ["Sandbox", "DEFAULT_KEY"]

DEFAULT_KEY = "sandbox-key"


class Sandbox:
    """A running AlphaSMS simulator.

    >>> with Sandbox(step=0.05) as sandbox:                 # doctest: +SKIP
    ...     client = AlphaSMS(sandbox.key, sandbox.api_url, sms_sender="Test")
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, key: str = DEFAULT_KEY,
                 step: float = 1.0, balance: Decimal | str = "100000.00", senders: set[str] | None = None,
                 strict: bool = True, fault_seed: int | None = None) -> None:
        self.host, self.port, self.key = host, port, key
        self.provider = Provider(key, balance=Decimal(balance), step=step, senders=senders, strict=strict)
        self._fault_seed = fault_seed
        self._runner: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._http: httpx.Client | None = None

    def __repr__(self) -> str:
        return f"Sandbox(url={self.url!r})"

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def api_url(self) -> str:
        return self.url + API_PATH

    # -- lifecycle ---------------------------------------------------------------

    async def astart(self) -> Sandbox:
        """Start in the running event loop."""
        from aiohttp import web

        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        self.port = sock.getsockname()[1]
        self._runner = web.AppRunner(make_app(self.provider, fault_seed=self._fault_seed),
                                     access_log=None, handle_signals=False, shutdown_timeout=1.0)
        await self._runner.setup()
        await web.SockSite(self._runner, sock).start()
        return self

    async def astop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def start(self) -> Sandbox:
        """Start on a background thread; returns when the port accepts connections."""
        ready = threading.Event()
        errors: list[BaseException] = []

        def serve() -> None:
            self._loop = asyncio.new_event_loop()
            asyncio.set_event_loop(self._loop)
            try:
                self._loop.run_until_complete(self.astart())
            except BaseException as exc:
                errors.append(exc)
                ready.set()
                return
            ready.set()
            self._loop.run_forever()
            self._loop.run_until_complete(self.astop())
            self._loop.close()

        self._thread = threading.Thread(target=serve, name="alphasms-sandbox", daemon=True)
        self._thread.start()
        ready.wait()
        if errors:
            raise errors[0]
        return self

    def stop(self) -> None:
        if self._http is not None:
            self._http.close()
            self._http = None
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
            self._thread = self._loop = None

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()

    # -- control helpers (over HTTP, like any other client) ----------------------

    def _control(self, method: str, path: str, **kwargs: Any) -> Any:
        if self._http is None:
            self._http = httpx.Client(base_url=self.url + CONTROL_PREFIX, timeout=10)
        response = self._http.request(method, path, **kwargs)
        if response.status_code >= 400:
            raise RuntimeError(f"sandbox {method} {path}: {response.json().get('error', response.text)}")
        return response.json()

    def messages(self, phone: int | None = None) -> list[dict[str, Any]]:
        """Every message received (or those to ``phone``), with its status now and replies."""
        return self._control("GET", "/messages", params={"phone": phone} if phone else None)

    def requests(self) -> list[dict[str, Any]]:
        """Every API request received, in order: items, size, which fault hit it."""
        return self._control("GET", "/requests")

    def reply(self, message_id: int, text: str | None = None, *, media: tuple[str, bytes] | None = None,
              content_type: str = "application/octet-stream") -> dict[str, Any]:
        """Play the recipient: answer Viber message ``message_id`` with text, a file, or both."""
        payload: dict[str, Any] = {"id": message_id, "message": text}
        if media is not None:
            payload["media"] = {"filename": media[0], "content_type": content_type,
                                "content_base64": base64.b64encode(media[1]).decode()}
        return self._control("POST", "/replies", json=payload)

    def fault(self, kind: str, count: int | None = 1, **options: Any) -> dict[str, Any]:
        """Make the next ``count`` API requests fail as ``kind`` (see FAULT_KINDS)."""
        return self._control("POST", "/faults", json={"kind": kind, "count": count, **options})

    def faults(self) -> dict[str, Any]:
        return self._control("GET", "/faults")

    def clear_faults(self) -> None:
        self._control("DELETE", "/faults")

    def balance(self, amount: Decimal | str | None = None) -> Decimal:
        if amount is None:
            return Decimal(self._control("GET", "/balance")["amount"])
        return Decimal(self._control("POST", "/balance", json={"amount": str(amount)})["amount"])

    def reset(self) -> None:
        self._control("POST", "/reset")
