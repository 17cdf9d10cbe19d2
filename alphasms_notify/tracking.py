"""Tracking as a plugin: every accepted send is kept in the store, from every front end.

(Following the tracked messages afterwards is :mod:`alphasms_notify.status_poll`.)
Registered by the plugin manager when ``[store] path`` or ``url`` is set (the bot
always has a store), so a send from the CLI, the bot, Apprise, the templates command
or a library caller of ``make_client()`` is tracked the same way,
in ``alphasms_batch_sent``, instead of each front end doing it. Where a
reply should go is carried on the message: ``meta["source"]`` (``cli``,
``bot``, ``apprise``, ...) and, for the bot, ``meta["telegram"]`` with the
chat and the bot's own "sent" message to answer.

The store opens on first use, so a broken store never stops a send: the
failure reaches the caller as a warning on the outcome (``Outcome.warnings``),
shown after what was sent.
"""

from __future__ import annotations

import os
import threading
from typing import Any

import pluggy

from .hookspecs import hookimpl
from .plugins import TRACKING
from .store import Store

__all__ = ["Tracking", "ensure_tracking", "TRACKED_BY"]

# meta[TRACKED_BY] = a store's target: the sender records the message in that store itself, with its own
# records (the campaign runner, in the transaction that settles the batch), so this plugin leaves it out.
TRACKED_BY = "tracked_by"


class Tracking:
    """The tracking plugin for one store file."""

    def __init__(self, target: str | os.PathLike[str]) -> None:
        self.target = str(target)
        self._store: Store | None = None
        self._lock = threading.Lock()

    @property
    def store(self) -> Store:
        with self._lock:
            if self._store is None:
                self._store = Store(self.target)
            return self._store

    def close(self) -> None:
        with self._lock:
            if self._store is not None:
                self._store.close()
                self._store = None

    @hookimpl
    def alphasms_batch_sent(self, outcomes: list[Any]) -> None:
        """A batch in one transaction (one a message cost a campaign of 100,000 ten seconds)."""
        groups: dict[tuple[Any, ...], list[Any]] = {}
        for outcome in outcomes:
            meta = outcome.message.meta
            if meta.get(TRACKED_BY) == self.target:
                continue  # its sender records it in this store itself (the campaign runner)
            if outcome.ok or outcome.unknown:  # unknown: it may have gone out; the status poll will tell
                telegram = meta.get("telegram") or {}
                key = (meta.get("source", "library"), telegram.get("chat_id"), telegram.get("anchor_id"),
                       telegram.get("thread_id"), bool(telegram.get("react")))
                groups.setdefault(key, []).append(outcome)
        if groups:
            self.store.messages.track_groups(groups)


def ensure_tracking(pm: pluggy.PluginManager, target: str | os.PathLike[str]) -> Tracking:
    """The manager's tracking plugin, registered for ``target`` (a SQLite path or a PostgreSQL URL) if it has
    none yet."""
    plugin = pm.get_plugin(TRACKING)
    if plugin is None:
        plugin = Tracking(target)
        pm.register(plugin, name=TRACKING)
    return plugin
