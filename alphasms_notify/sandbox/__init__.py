"""A local AlphaSMS simulator (and, for the bot, a Telegram Bot API stand-in).

``Sandbox`` runs the simulator in a background thread on 127.0.0.1, for
tests, demos and users' own integration tests; ``alphasms sandbox`` runs it
in the foreground. The simulated behaviour is documented in docs/sandbox.md.

``Sandbox`` is loaded on first use: the pytest plugin (``pytest_plugin``) is
imported by every pytest run in an environment that has this package, and
must not bring the server stack (aiohttp) with it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from .simulator import Sandbox

__all__ = ["Sandbox"]


def __getattr__(name: str) -> Any:
    if name == "Sandbox":
        from .simulator import Sandbox

        return Sandbox
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
