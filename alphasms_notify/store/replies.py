"""Viber replies, each stored once and forwarded once.

What makes "never lose one, never forward twice" hold across restarts: a
reply is a row inserted once; ``hooked`` records that ``alphasms_reply_received``
ran, ``inflight`` that a forward is being posted, ``forwarded`` that it reached
Telegram. Each change is its own committed transaction, so a SIGKILL loses
nothing that was acknowledged.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable
from typing import Any

from ..db import Database
from ..results import Reply
from .records import StoredReply, TrackedMessage, message_row, reply_row, stored_text

__all__ = ["Replies"]


class Replies:
    """The replies of tracked messages and how far each got."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def add(self, message_id: int, replies: Iterable[Reply]) -> list[StoredReply]:
        """Store the replies not seen before; return just those this call inserted.

        A reply is known by what it is (its time, text and media), not by its place in the
        provider's list: a list that is replaced or shortened (one reply where there were three)
        must not hide a new reply. The same reply twice in the list counts twice. New replies
        get the next ``seq``; two instances storing the same new reply at once store it once
        (the second insert meets the first's key and is skipped, its reply stored next cycle).
        """
        now, added = time.time(), []
        with self._db.tx() as tx:
            rows = tx.all("SELECT seq, datetime, text, media_url FROM replies WHERE message_id = ?", (message_id,))
            known = Counter((r["datetime"], r["text"], r["media_url"]) for r in rows)
            seq = max((r["seq"] for r in rows), default=-1) + 1
            seen: Counter[tuple[str, str | None, str | None]] = Counter()
            for reply in replies:
                media = reply.media
                when = reply.datetime.isoformat()
                text = stored_text(reply.message) if self._db.engine == "postgresql" else reply.message
                key = (when, text, media.url if media else None)
                seen[key] += 1
                if seen[key] <= known[key]:
                    continue
                inserted = tx.one(
                    "INSERT INTO replies (message_id, seq, datetime, text, media_url, media_filename,"
                    " media_filesize, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
                    " ON CONFLICT (message_id, seq) DO NOTHING RETURNING seq",
                    (message_id, seq, when, reply.message, media.url if media else None,
                     media.filename if media else None, media.filesize if media else None, now))
                if inserted is not None:  # another instance may have stored one here a moment ago
                    added.append(StoredReply(message_id, seq, reply, now, 0))
                    seq += 1
        return added

    def unhooked(self, message_ids: Iterable[int] | None = None) -> list[StoredReply]:
        """Replies whose hook has not run (of ``message_ids``, if given), in the order they came."""
        return self._where("hooked = 0", message_ids)

    def mark_hooked(self, message_id: int, seq: int) -> None:
        with self._db.tx() as tx:
            tx.run("UPDATE replies SET hooked = 1 WHERE message_id = ? AND seq = ?", (message_id, seq))

    def unforwarded(self, message_ids: Iterable[int] | None = None) -> list[StoredReply]:
        """Replies not yet forwarded (of ``message_ids``, if given), in the order they came."""
        return self._where("forwarded = 0", message_ids)

    def _where(self, condition: str, message_ids: Iterable[int] | None) -> list[StoredReply]:
        if message_ids is None:
            return self._replies(condition)
        ids = list(message_ids)
        if not ids:
            return []
        return self._replies(f"{condition} AND message_id IN ({', '.join('?' * len(ids))})", tuple(ids))

    def mark_forwarding(self, message_id: int, seq: int) -> None:
        """Committed before a forward is posted: if the bot dies before :meth:`mark_forwarded`,
        the next one knows Telegram may already have it."""
        with self._db.tx() as tx:
            tx.run("UPDATE replies SET inflight = 1 WHERE message_id = ? AND seq = ?", (message_id, seq))

    def is_inflight(self, message_id: int, seq: int) -> bool:
        row = self._db.one("SELECT inflight FROM replies WHERE message_id = ? AND seq = ?", (message_id, seq))
        return bool(row and row["inflight"])

    def is_forwarded(self, message_id: int, seq: int) -> bool:
        row = self._db.one("SELECT forwarded FROM replies WHERE message_id = ? AND seq = ?", (message_id, seq))
        return bool(row and row["forwarded"])

    def mark_forwarded(self, message_id: int, seq: int, chat_id: int, telegram_message_id: int,
                       thread_id: int | None = None) -> None:
        with self._db.tx() as tx:
            tx.run("UPDATE replies SET forwarded = 1, inflight = 0, forwarded_chat_id = ?,"
                   " forwarded_message_id = ?, forwarded_thread_id = ?, last_error = NULL"
                   " WHERE message_id = ? AND seq = ?",
                   (chat_id, telegram_message_id, thread_id, message_id, seq))

    def forward_failed(self, message_id: int, seq: int, error: str, *, refused: bool = True) -> None:
        """A forward did not go through. ``refused``: Telegram answered no, so it surely has not posted it;
        otherwise (a timeout, a dropped connection) it may have, and the mark stays."""
        with self._db.tx() as tx:
            tx.run("UPDATE replies SET attempts = attempts + 1, last_error = ?,"
                   " inflight = CASE WHEN ? = 1 THEN 0 ELSE inflight END WHERE message_id = ? AND seq = ?",
                   (error[:500], int(refused), message_id, seq))

    def message_for_forward(self, chat_id: int, telegram_message_id: int) -> TrackedMessage | None:
        """The tracked message whose reply was forwarded as ``telegram_message_id`` in ``chat_id``."""
        row = self._db.one(
            "SELECT m.* FROM replies r JOIN messages m ON m.id = r.message_id"
            " WHERE r.forwarded_chat_id = ? AND r.forwarded_message_id = ?", (chat_id, telegram_message_id))
        return message_row(row) if row else None

    def _replies(self, where: str, args: tuple[Any, ...] = ()) -> list[StoredReply]:
        rows = self._db.all(f"SELECT * FROM replies WHERE {where} ORDER BY received_at, message_id, seq", args)
        return [reply_row(r) for r in rows]
