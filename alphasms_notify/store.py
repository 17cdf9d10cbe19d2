"""SQLite store of tracked messages and the Viber replies they received.

What makes "never lose one, never forward twice" hold across restarts: a
reply is a row keyed by (message id, its position in the provider's list),
inserted once; ``hooked`` records that ``alphasms_reply_received`` ran,
``forwarded`` that it reached Telegram. Each change is its own committed
transaction (WAL mode), so a SIGKILL loses nothing that was acknowledged.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from .results import Media, Outcome, Reply

__all__ = ["Store", "StoreBusy", "StoreLock", "TrackedMessage", "StoredReply", "default_store_path",
           "create_private"]


def default_store_path() -> Path:
    """Where the store lives when ``[store] path`` is not set: the user's data folder, never the working one."""
    import platformdirs

    return platformdirs.user_data_path("alphasms-notify") / "store.sqlite3"


def create_private(path: str | os.PathLike) -> None:
    """Create ``path`` (and its folder) readable by the owner only, if it does not exist: it holds phone numbers."""
    target = Path(path)
    if not target.parent.exists():
        target.parent.mkdir(parents=True, mode=0o700)
    os.close(os.open(target, os.O_CREAT | os.O_RDWR, 0o600))

class StoreBusy(RuntimeError):
    """Another bot already runs on this store."""


class StoreLock:
    """An exclusive lock on ``<store>.lock`` held while a bot runs: one forwarder per store.

    Two bots on one store would both forward a reply that arrives while the
    other is still waiting for Telegram. The operating system drops the lock
    when the process ends, also on SIGKILL, so a crash never leaves it stale.
    """

    def __init__(self, store_path: str | os.PathLike) -> None:
        self.path = f"{store_path}.lock"
        self._fd: int | None = None

    def acquire(self) -> None:
        import fcntl

        if self._fd is not None:
            return
        create_private(self.path)
        fd = os.open(self.path, os.O_RDWR)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "another process"
            os.close(fd)
            raise StoreBusy(f"another bot (pid {holder}) is already running on the store "
                            f"{str(self.path)[:-5]}; stop it, or give this one its own [store] path") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing drops the flock
            self._fd = None


OPEN_WAIT_MS = 3000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    id INTEGER PRIMARY KEY,
    type TEXT NOT NULL,
    phone INTEGER NOT NULL,
    text TEXT,
    source TEXT NOT NULL,
    chat_id INTEGER,
    anchor_id INTEGER,
    status TEXT,
    status_type TEXT,
    created_at REAL NOT NULL,
    updated_at REAL,
    done INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS messages_active ON messages (done, created_at);
CREATE TABLE IF NOT EXISTS replies (
    message_id INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    datetime TEXT NOT NULL,
    text TEXT,
    media_url TEXT,
    media_filename TEXT,
    media_filesize INTEGER,
    hooked INTEGER NOT NULL DEFAULT 0,
    forwarded INTEGER NOT NULL DEFAULT 0,
    forwarded_chat_id INTEGER,
    forwarded_message_id INTEGER,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    inflight INTEGER NOT NULL DEFAULT 0,
    received_at REAL NOT NULL,
    PRIMARY KEY (message_id, seq)
);
CREATE INDEX IF NOT EXISTS replies_forwarded ON replies (forwarded_chat_id, forwarded_message_id);
CREATE TABLE IF NOT EXISTS verifications (
    phone INTEGER PRIMARY KEY,
    code_hash TEXT NOT NULL,
    salt TEXT NOT NULL,
    via TEXT NOT NULL,
    created_at REAL NOT NULL,
    expires_at REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS verification_sends (
    phone INTEGER NOT NULL,
    at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS verification_sends_phone ON verification_sends (phone, at);
"""


@dataclass(frozen=True)
class TrackedMessage:
    id: int
    type: str
    phone: int
    text: str | None
    source: str
    chat_id: int | None
    anchor_id: int | None
    status: str | None
    status_type: str | None
    created_at: float
    done: bool


@dataclass(frozen=True)
class StoredReply:
    message_id: int
    seq: int
    reply: Reply
    received_at: float
    attempts: int


class Store:
    """One SQLite file; safe to share between threads of one process and between processes."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        if self.path != ":memory:":
            create_private(self.path)  # SQLite gives its -wal and -shm files the same mode
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=30)
        self._db.row_factory = sqlite3.Row
        self._lock = threading.RLock()
        with self._lock:
            self._db.execute(f"PRAGMA busy_timeout = {OPEN_WAIT_MS}")  # a locked file is reported soon at open
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
            columns = {row[1] for row in self._db.execute("PRAGMA table_info(replies)")}
            if "inflight" not in columns:  # a store made by an earlier version
                self._db.execute("ALTER TABLE replies ADD COLUMN inflight INTEGER NOT NULL DEFAULT 0")
            self._db.execute("PRAGMA busy_timeout = 30000")  # then writers wait their turn

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    # -- messages --------------------------------------------------------------------

    def track(self, outcomes: Iterable[Outcome], *, source: str, chat_id: int | None = None,
              anchor_id: int | None = None) -> int:
        """Remember every accepted send item, and every unknown one (the status poll settles it)."""
        rows = [
            (o.message.id, o.message.type, o.message.phone, getattr(o.message, "text", None), source, chat_id,
             anchor_id, time.time())
            for o in outcomes if (o.ok or o.unknown) and getattr(o.message, "id", None) is not None
        ]
        with self._tx() as db:
            db.executemany(
                "INSERT OR IGNORE INTO messages (id, type, phone, text, source, chat_id, anchor_id, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
        return len(rows)

    def message(self, message_id: int) -> TrackedMessage | None:
        with self._lock:
            row = self._db.execute("SELECT * FROM messages WHERE id = ?", (message_id,)).fetchone()
        return _message(row) if row else None

    def active(self, limit: int | None = None) -> list[TrackedMessage]:
        sql = "SELECT * FROM messages WHERE done = 0 ORDER BY created_at"
        with self._lock:
            rows = self._db.execute(sql + (f" LIMIT {int(limit)}" if limit else "")).fetchall()
        return [_message(r) for r in rows]

    def set_status(self, message_id: int, status: str, status_type: str, *, done: bool) -> None:
        with self._tx() as db:
            db.execute("UPDATE messages SET status = ?, status_type = ?, updated_at = ?, done = ? WHERE id = ?",
                       (status, status_type, time.time(), int(done), message_id))

    def finish(self, message_ids: Iterable[int]) -> None:
        with self._tx() as db:
            db.executemany("UPDATE messages SET done = 1 WHERE id = ?", [(i,) for i in message_ids])

    # -- replies ---------------------------------------------------------------------

    def add_replies(self, message_id: int, replies: Iterable[Reply]) -> list[StoredReply]:
        """Store the replies not seen before (by position); return just those."""
        now, added = time.time(), []
        with self._tx() as db:
            known = db.execute("SELECT COUNT(*) FROM replies WHERE message_id = ?", (message_id,)).fetchone()[0]
            for seq, reply in enumerate(replies):
                if seq < known:
                    continue
                media = reply.media
                db.execute(
                    "INSERT OR IGNORE INTO replies (message_id, seq, datetime, text, media_url, media_filename,"
                    " media_filesize, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (message_id, seq, reply.datetime.isoformat(), reply.message, media.url if media else None,
                     media.filename if media else None, media.filesize if media else None, now))
                added.append(StoredReply(message_id, seq, reply, now, 0))
        return added

    def unhooked_replies(self) -> list[StoredReply]:
        return self._replies("hooked = 0")

    def mark_hooked(self, message_id: int, seq: int) -> None:
        with self._tx() as db:
            db.execute("UPDATE replies SET hooked = 1 WHERE message_id = ? AND seq = ?", (message_id, seq))

    def unforwarded_replies(self) -> list[StoredReply]:
        return self._replies("forwarded = 0")

    def mark_forwarding(self, message_id: int, seq: int) -> None:
        """Committed before a forward is posted: if the bot dies before :meth:`mark_forwarded`,
        the next one knows Telegram may already have it."""
        with self._tx() as db:
            db.execute("UPDATE replies SET inflight = 1 WHERE message_id = ? AND seq = ?", (message_id, seq))

    def is_inflight(self, message_id: int, seq: int) -> bool:
        with self._lock:
            row = self._db.execute("SELECT inflight FROM replies WHERE message_id = ? AND seq = ?",
                                   (message_id, seq)).fetchone()
        return bool(row and row[0])

    def mark_forwarded(self, message_id: int, seq: int, chat_id: int, telegram_message_id: int) -> None:
        with self._tx() as db:
            db.execute("UPDATE replies SET forwarded = 1, inflight = 0, forwarded_chat_id = ?,"
                       " forwarded_message_id = ?, last_error = NULL WHERE message_id = ? AND seq = ?",
                       (chat_id, telegram_message_id, message_id, seq))

    def forward_failed(self, message_id: int, seq: int, error: str, *, refused: bool = True) -> None:
        """A forward did not go through. ``refused``: Telegram answered no, so it surely has not posted it;
        otherwise (a timeout, a dropped connection) it may have, and the mark stays."""
        with self._tx() as db:
            db.execute("UPDATE replies SET attempts = attempts + 1, last_error = ?,"
                       " inflight = CASE WHEN ? THEN 0 ELSE inflight END WHERE message_id = ? AND seq = ?",
                       (error[:500], int(refused), message_id, seq))

    def reply_for_telegram_message(self, chat_id: int, telegram_message_id: int) -> TrackedMessage | None:
        """The tracked message whose reply was forwarded as ``telegram_message_id`` in ``chat_id``."""
        with self._lock:
            row = self._db.execute(
                "SELECT m.* FROM replies r JOIN messages m ON m.id = r.message_id"
                " WHERE r.forwarded_chat_id = ? AND r.forwarded_message_id = ?", (chat_id, telegram_message_id)
            ).fetchone()
        return _message(row) if row else None

    # -- verification codes (hashed; see alphasms_notify.verify) -----------------------

    def verification(self, phone: int) -> sqlite3.Row | None:
        with self._lock:
            return self._db.execute("SELECT * FROM verifications WHERE phone = ?", (phone,)).fetchone()

    def sends_since(self, phone: int, since: float) -> list[float]:
        """When codes were sent to ``phone`` since ``since``, oldest first."""
        with self._lock:
            rows = self._db.execute("SELECT at FROM verification_sends WHERE phone = ? AND at >= ? ORDER BY at",
                                    (phone, since)).fetchall()
        return [r[0] for r in rows]

    def save_verification(self, phone: int, code_hash: str, salt: str, via: str, now: float, expires_at: float
                          ) -> None:
        """A new code for ``phone`` (replacing any earlier one), and the send counted for the limits."""
        with self._tx() as db:
            db.execute("INSERT OR REPLACE INTO verifications (phone, code_hash, salt, via, created_at, expires_at,"
                       " attempts) VALUES (?, ?, ?, ?, ?, ?, 0)", (phone, code_hash, salt, via, now, expires_at))
            db.execute("INSERT INTO verification_sends (phone, at) VALUES (?, ?)", (phone, now))
            db.execute("DELETE FROM verification_sends WHERE at < ?", (now - 2 * 3600,))

    def count_attempt(self, phone: int) -> int:
        """One more wrong code for ``phone``; returns the attempts so far."""
        with self._tx() as db:
            db.execute("UPDATE verifications SET attempts = attempts + 1 WHERE phone = ?", (phone,))
            row = db.execute("SELECT attempts FROM verifications WHERE phone = ?", (phone,)).fetchone()
        return row[0] if row else 0

    def forget_verification(self, phone: int) -> None:
        with self._tx() as db:
            db.execute("DELETE FROM verifications WHERE phone = ?", (phone,))

    def _replies(self, where: str, args: tuple = ()) -> list[StoredReply]:
        with self._lock:
            rows = self._db.execute(f"SELECT * FROM replies WHERE {where} ORDER BY received_at, message_id, seq",
                                    args).fetchall()
        return [_reply(r) for r in rows]


def _message(row: sqlite3.Row) -> TrackedMessage:
    return TrackedMessage(row["id"], row["type"], row["phone"], row["text"], row["source"], row["chat_id"],
                          row["anchor_id"], row["status"], row["status_type"], row["created_at"], bool(row["done"]))


def _reply(row: sqlite3.Row) -> StoredReply:
    media = Media(row["media_url"], row["media_filename"], row["media_filesize"]) if row["media_url"] else None
    reply = Reply(datetime.fromisoformat(row["datetime"]), row["text"], media)
    return StoredReply(row["message_id"], row["seq"], reply, row["received_at"], row["attempts"])
