"""Where the sandbox's routes find its state, and its two paths: shared by the provider's routes and the inbox."""

from __future__ import annotations

from aiohttp import web

from .faults import Faults
from .state import Provider

__all__ = ["API_PATH", "CONTROL_PREFIX", "PROVIDER", "FAULTS", "RECEIVED", "LATENCY"]

API_PATH = "/api/json.php"
CONTROL_PREFIX = "/_sandbox"
PROVIDER = web.AppKey("provider", Provider)
FAULTS = web.AppKey("faults", Faults)
RECEIVED = web.AppKey("received", list)
LATENCY = web.AppKey("latency", float)  # seconds each API answer waits, as a distant provider's would
