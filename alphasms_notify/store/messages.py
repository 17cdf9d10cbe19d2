"""Tracked messages and their status: what the status poll follows and the topics show."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import orjson

from ..db import Database
from ..results import Outcome
from ..sqltext import int_among, no_nul
from .records import TrackedMessage, message_row, tracked_text

__all__ = ["Messages"]


class Messages:
    """Every accepted (or unknown) send, with where the bot showed it and its status now."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def track(self, outcomes: Iterable[Outcome[Any]], *, source: str, chat_id: int | None = None,
              anchor_id: int | None = None, thread_id: int | None = None, react: bool = False) -> int:
        """Remember every accepted send item, and every unknown one (the status poll settles it).

        ``chat_id``/``anchor_id``/``thread_id``: the bot's own "sent" message, which replies answer.
        """
        return self.track_groups({(source, chat_id, anchor_id, thread_id, react): outcomes})

    def track_groups(self, groups: Mapping[tuple[str, int | None, int | None, int | None, bool],
                                           Iterable[Outcome[Any]]]) -> int:
        """``track`` for several (source, chat_id, anchor_id, thread_id, react) at once, in one transaction."""
        now = time.time()
        rows = [
            (o.message.id, o.message.type, o.message.phone, tracked_text(o.message), source, chat_id,
             anchor_id, thread_id, now, int(bool(getattr(o.message, "unsubscribe_link", False))), int(react))
            for (source, chat_id, anchor_id, thread_id, react), outcomes in groups.items()
            for o in outcomes if (o.ok or o.unknown) and getattr(o.message, "id", None) is not None
        ]
        with self._db.tx() as tx:
            tx.many("INSERT INTO messages (id, type, phone, text, source, chat_id, anchor_id, thread_id, created_at,"
                    " follow_replies, react) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
                    rows)
        return len(rows)

    def get(self, message_id: int) -> TrackedMessage | None:
        row = self._db.one("SELECT * FROM messages WHERE id = ?", (message_id,))
        return message_row(row) if row else None

    def by_ids(self, ids: Sequence[int]) -> list[TrackedMessage]:
        """The tracked messages with these ids, in the order given."""
        found: dict[int, TrackedMessage] = {}
        for among, args in int_among(self._db.engine, "id", list(ids)):
            for row in self._db.all(f"SELECT * FROM messages WHERE {among}", args):
                found[row["id"]] = message_row(row)
        return [found[i] for i in ids if i in found]

    def count_active(self) -> int:
        """How many messages are still followed (their final status not yet known)."""
        row = self._db.one("SELECT COUNT(*) AS n FROM messages WHERE done = 0")
        return int(row["n"]) if row else 0

    def active(self, limit: int | None = None) -> list[TrackedMessage]:
        sql = "SELECT * FROM messages WHERE done = 0 ORDER BY created_at, id"
        return [message_row(r) for r in self._db.all(sql + (f" LIMIT {int(limit)}" if limit else ""))]

    def set_status(self, message_id: int, status: str, status_type: str, *, done: bool) -> None:
        with self._db.tx() as tx:
            tx.run("UPDATE messages SET status = ?, status_type = ?, updated_at = ?, done = ? WHERE id = ?",
                   (status, status_type, time.time(), int(done), message_id))

    def set_statuses(self, updates: Sequence[tuple[int, str, str, bool]]) -> None:
        """Several (id, status, status type, done) at once, in one transaction."""
        if not updates:
            return
        now = time.time()
        with self._db.tx() as tx:
            if self._db.engine == "postgresql":  # one set-based statement: 2,000 single-row updates took 0.16 s
                for statement in self._db.claim_prelude:  # each row found by its key, never a scan of them all
                    tx.run(statement)
                # the rows as one JSON text made in C (psycopg's array dumpers walk each list in Python);
                # PostgreSQL refuses NUL in text, so a status that holds one keeps its place as U+FFFD
                rows = orjson.dumps([{"id": int(i), "status": no_nul(status), "kind": no_nul(kind), "done": int(done)}
                                     for i, status, kind, done in updates]).decode()
                tx.run("UPDATE messages AS m SET status = v.status, status_type = v.kind, updated_at = ?, done = v.done"
                       " FROM json_to_recordset(?::json) AS v(id bigint, status text, kind text, done int)"
                       " WHERE m.id = v.id", (now, rows))
                return
            tx.many("UPDATE messages SET status = ?, status_type = ?, updated_at = ?, done = ? WHERE id = ?",
                    [(status, kind, now, int(done), message_id) for message_id, status, kind, done in updates])

    def finish(self, message_ids: Iterable[int]) -> None:
        with self._db.tx() as tx:
            tx.many("UPDATE messages SET done = 1 WHERE id = ?", [(i,) for i in message_ids])

    def unnoticed(self, since: float, limit: int = 200) -> list[TrackedMessage]:
        """Messages sent since ``since`` and not yet shown in their phone's topic, oldest first."""
        rows = self._db.all("SELECT * FROM messages WHERE notice_id IS NULL AND created_at >= ?"
                            " ORDER BY created_at, id LIMIT ?", (since, limit))
        return [message_row(r) for r in rows]

    def mark_noticed(self, message_id: int, chat_id: int, notice_id: int, thread_id: int | None) -> None:
        with self._db.tx() as tx:
            tx.run("UPDATE messages SET notice_chat_id = ?, notice_id = ?, notice_thread_id = ? WHERE id = ?",
                   (chat_id, notice_id, thread_id, message_id))

    def latest_to(self, phone: int, limit: int = 5) -> list[TrackedMessage]:
        """The newest tracked messages to ``phone``, newest first."""
        rows = self._db.all("SELECT * FROM messages WHERE phone = ? ORDER BY created_at DESC, id DESC LIMIT ?",
                            (phone, limit))
        return [message_row(r) for r in rows]
