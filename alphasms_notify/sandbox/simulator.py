"""``Sandbox``: the AlphaSMS simulator in-process, with the control helpers of ``control``."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from .app import API_PATH, make_app
from .control import SandboxControl
from .inprocess import ServedApp
from .state import Provider

__all__ = ["Sandbox", "DEFAULT_KEY"]

DEFAULT_KEY = "sandbox-key"


class Sandbox(ServedApp, SandboxControl):
    """A running AlphaSMS simulator (``start()`` or ``with``; ``astart()`` in a running loop).

    >>> with Sandbox(step=0.05) as sandbox:                 # doctest: +SKIP
    ...     client = AlphaSMS(sandbox.key, sandbox.api_url, sms_sender="Test")
    """

    thread_name = "alphasms-sandbox"

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, key: str = DEFAULT_KEY,
                 step: float = 1.0, balance: Decimal | str = "100000.00", senders: set[str] | None = None,
                 strict: bool = True, fault_seed: int | None = None, allow_hosts: tuple[str, ...] = (),
                 latency: float = 0.0) -> None:
        super().__init__(host, port)
        self.latency = latency  # seconds each API answer waits: a provider a network away
        self.allow_hosts = allow_hosts  # names besides loopback its Host header may be (a container's name)
        self.key = key
        self.provider = Provider(key, balance=Decimal(balance), step=step, senders=senders, strict=strict)
        self._fault_seed = fault_seed

    @property
    def api_url(self) -> str:
        return self.url + API_PATH

    @property
    def inbox_url(self) -> str:
        """The web inbox: every phone's messages, as the phone would see them."""
        return self.url + "/"

    def make_app(self) -> Any:
        return make_app(self.provider, fault_seed=self._fault_seed, listen_host=self.host,
                        allow_hosts=self.allow_hosts, latency=self.latency)
