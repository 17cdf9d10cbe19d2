"""The ``alphasms`` command: ``app`` holds the click group and the built-in commands,
``output`` the helpers every command shares (also the default plugins' commands and
``plugins/``): exit codes, ``fail``, calling the provider and printing outcomes.

Exit status: 0 every item succeeded; 1 some item failed (each failure is
printed with the provider's text); 2 invalid input or configuration; 3 the
request as a whole failed (Access denied, network, protocol).
"""

from __future__ import annotations

from typing import Any

__all__ = ["main", "cli"]


def __getattr__(name: str) -> Any:
    # Lazily, so that importing the helpers in ``output`` (as plugins do) never loads the command itself.
    if name in __all__:
        from . import app

        return getattr(app, name)
    raise AttributeError(name)
