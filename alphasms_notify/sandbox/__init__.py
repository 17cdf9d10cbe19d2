"""A local AlphaSMS simulator (and, for the bot, a Telegram Bot API stand-in).

``Sandbox`` runs the simulator in a background thread on 127.0.0.1, for
tests, demos and users' own integration tests; ``alphasms sandbox`` runs it
in the foreground. The simulated behaviour is documented in docs/sandbox.md.
"""

from .simulator import Sandbox

__all__ = ["Sandbox"]
