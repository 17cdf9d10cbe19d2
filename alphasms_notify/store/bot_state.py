"""What the bot keeps between updates and instances: forum topics, settings, updates seen, Confirm sends."""

from __future__ import annotations

import time

from ..db import Database
from .records import Topic, topic_row

__all__ = ["Topics", "BotState"]


class Topics:
    """One forum topic per phone and chat (see alphasms_notify.bot.topics)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def get(self, chat_id: int, phone: int) -> Topic | None:
        row = self._db.one("SELECT * FROM topics WHERE chat_id = ? AND phone = ?", (chat_id, phone))
        return topic_row(row) if row else None

    def by_thread(self, chat_id: int, thread_id: int) -> Topic | None:
        row = self._db.one("SELECT * FROM topics WHERE chat_id = ? AND thread_id = ?", (chat_id, thread_id))
        return topic_row(row) if row else None

    def save(self, chat_id: int, phone: int, thread_id: int, name: str) -> Topic:
        """The new topic of ``phone`` (replacing one that was deleted in Telegram)."""
        with self._db.tx() as tx:
            tx.run("DELETE FROM topics WHERE chat_id = ? AND thread_id = ?", (chat_id, thread_id))
            tx.run("INSERT INTO topics (chat_id, phone, thread_id, name, closed, created_at)"
                   " VALUES (?, ?, ?, ?, 0, ?) ON CONFLICT (chat_id, phone) DO UPDATE SET"
                   " thread_id = excluded.thread_id, name = excluded.name, closed = 0,"
                   " created_at = excluded.created_at", (chat_id, phone, thread_id, name, time.time()))
        return Topic(chat_id, phone, thread_id, name, False)

    def update(self, chat_id: int, phone: int, *, name: str | None = None, closed: bool | None = None
                     ) -> None:
        with self._db.tx() as tx:
            if name is not None:
                tx.run("UPDATE topics SET name = ? WHERE chat_id = ? AND phone = ?", (name, chat_id, phone))
            if closed is not None:
                tx.run("UPDATE topics SET closed = ? WHERE chat_id = ? AND phone = ?", (int(closed), chat_id, phone))

    def forget(self, chat_id: int, phone: int) -> None:
        with self._db.tx() as tx:
            tx.run("DELETE FROM topics WHERE chat_id = ? AND phone = ?", (chat_id, phone))

    def all(self, chat_id: int) -> list[Topic]:
        return [topic_row(r) for r in self._db.all("SELECT * FROM topics WHERE chat_id = ? ORDER BY created_at",
                                                (chat_id,))]


class BotState:
    """Bot settings, Telegram updates already handled, and sends waiting for a Confirm."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def setting(self, key: str, default: str | None = None) -> str | None:
        row = self._db.one("SELECT value FROM settings WHERE key = ?", (key,))
        return row["value"] if row else default

    def setting_once(self, key: str, value: str) -> str:
        """Set ``key`` unless it is set; return the value it has (first writer wins)."""
        with self._db.tx() as tx:
            tx.run("INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING", (key, value))
            row = tx.one("SELECT value FROM settings WHERE key = ?", (key,))
            assert row is not None  # inserted above, or there already
            return str(row["value"])

    def first_sight(self, bot_id: int, update_id: int) -> bool:
        """True the first time any instance asks about this bot's ``update_id``; False ever after."""
        with self._db.tx() as tx:
            row = tx.one("INSERT INTO updates_seen (bot_id, update_id, at) VALUES (?, ?, ?)"
                         " ON CONFLICT (bot_id, update_id) DO NOTHING RETURNING update_id",
                         (bot_id, update_id, time.time()))
        return row is not None

    def forget_updates(self, older_than: float) -> None:
        with self._db.tx() as tx:
            tx.run("DELETE FROM updates_seen WHERE at < ?", (older_than,))

    def save_pending(self, pending_id: str, payload: str, created_at: float) -> None:
        with self._db.tx() as tx:
            tx.run("INSERT INTO pending_sends (id, payload, created_at, state) VALUES (?, ?, ?, 'pending')",
                   (pending_id, payload, created_at))

    def take_pending(self, pending_id: str, state: str) -> str | None:
        """Move a pending send to ``state`` (sending, cancelled) and return it; None when it was not
        pending any more. One statement: of two presses, on any instances, one wins."""
        with self._db.tx() as tx:
            row = tx.one("UPDATE pending_sends SET state = ? WHERE id = ? AND state = 'pending' RETURNING payload",
                         (state, pending_id))
        return row["payload"] if row else None

    def pending_payloads(self) -> list[tuple[str, str]]:
        """(id, payload) of every send still pending."""
        rows = self._db.all("SELECT id, payload FROM pending_sends WHERE state = 'pending'")
        return [(r["id"], r["payload"]) for r in rows]

    def replace_pending(self, pending_id: str, old: str, new: str) -> bool:
        """Rewrite a pending send's payload, if it is still pending and still ``old``."""
        with self._db.tx() as tx:
            return tx.run("UPDATE pending_sends SET payload = ? WHERE id = ? AND payload = ? AND state = 'pending'",
                          (new, pending_id, old)) > 0

    def pending_state(self, pending_id: str) -> str | None:
        """``pending``, ``sending``, ``cancelled``, or None when there is no such send (or it was cleared)."""
        row = self._db.one("SELECT state FROM pending_sends WHERE id = ?", (pending_id,))
        return row["state"] if row else None

    def forget_pending(self, older_than: float) -> None:
        with self._db.tx() as tx:
            tx.run("DELETE FROM pending_sends WHERE created_at < ?", (older_than,))
