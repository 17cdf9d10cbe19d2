"""SQLite store of tracked messages and the Viber replies they received.

What makes "never lose one, never forward twice" hold across restarts: a
reply is a row keyed by (message id, its position in the provider's list),
inserted once; ``hooked`` records that ``alphasms_reply_received`` ran,
``forwarded`` that it reached Telegram. Each change is its own committed
transaction (WAL mode), so a SIGKILL loses nothing that was acknowledged.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from .migrations import MIGRATIONS, statements
from .results import Media, Outcome, Reply

__all__ = ["Store", "StoreBusy", "StoreLock", "TrackedMessage", "StoredReply", "Topic", "Contact",
           "default_store_path", "create_private"]


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
    thread_id: int | None = None  # the forum topic the bot's "sent" message is in
    notice_chat_id: int | None = None  # where the message was shown in its phone's topic (None: not yet)
    notice_id: int | None = None
    notice_thread_id: int | None = None


@dataclass(frozen=True)
class Topic:
    """The forum topic of one phone's conversation in ``chat_id``."""

    chat_id: int
    phone: int
    thread_id: int
    name: str
    closed: bool


@dataclass(frozen=True)
class Contact:
    phone: int
    name: str | None
    fields: dict[str, str]


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
            self._db.execute("PRAGMA busy_timeout = 30000")  # then writers wait their turn
        self.migrate()

    # -- schema ------------------------------------------------------------------------

    def schema_version(self) -> int:
        """The newest migration applied (0: an empty store, or one made before migrations were recorded)."""
        with self._lock:
            if not self._db.execute("SELECT 1 FROM sqlite_master WHERE name = 'schema_migrations'").fetchone():
                return 0
            return self._db.execute("SELECT COALESCE(MAX(version), 0) FROM schema_migrations").fetchone()[0]

    def migrations(self) -> list[tuple[int, str, float | None]]:
        """Every migration: (version, name, when it was applied or None)."""
        applied: dict[int, float] = {}
        if self.schema_version():
            with self._lock:
                applied = dict(self._db.execute("SELECT version, applied_at FROM schema_migrations").fetchall())
        return [(m.version, m.name, applied.get(m.version)) for m in MIGRATIONS]

    def migrate(self) -> list[int]:
        """Apply the migrations this store lacks, each in its own transaction; return their versions."""
        done = []
        with self._tx() as db:
            db.execute("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY,"
                       " name TEXT NOT NULL, applied_at DOUBLE PRECISION NOT NULL)")
            _legacy_inflight(db)
        for migration in MIGRATIONS:
            with self._tx() as db:  # checked inside the transaction: two processes opening a new store at once
                if db.execute("SELECT 1 FROM schema_migrations WHERE version = ?", (migration.version,)).fetchone():
                    continue
                for statement in statements(migration.sql):
                    db.execute(statement)
                db.execute("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                           (migration.version, migration.name, time.time()))
                done.append(migration.version)
        return done

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
              anchor_id: int | None = None, thread_id: int | None = None) -> int:
        """Remember every accepted send item, and every unknown one (the status poll settles it).

        ``chat_id``/``anchor_id``/``thread_id``: the bot's own "sent" message, which replies answer.
        """
        rows = [
            (o.message.id, o.message.type, o.message.phone, _text(o.message), source, chat_id,
             anchor_id, thread_id, time.time())
            for o in outcomes if (o.ok or o.unknown) and getattr(o.message, "id", None) is not None
        ]
        with self._tx() as db:
            db.executemany(
                "INSERT INTO messages (id, type, phone, text, source, chat_id, anchor_id, thread_id, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING", rows)
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
                    "INSERT INTO replies (message_id, seq, datetime, text, media_url, media_filename,"
                    " media_filesize, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
                    " ON CONFLICT (message_id, seq) DO NOTHING",
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

    def mark_forwarded(self, message_id: int, seq: int, chat_id: int, telegram_message_id: int,
                       thread_id: int | None = None) -> None:
        with self._tx() as db:
            db.execute("UPDATE replies SET forwarded = 1, inflight = 0, forwarded_chat_id = ?,"
                       " forwarded_message_id = ?, forwarded_thread_id = ?, last_error = NULL"
                       " WHERE message_id = ? AND seq = ?",
                       (chat_id, telegram_message_id, thread_id, message_id, seq))

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

    # -- conversation topics (one forum topic per phone; see alphasms_notify.bot.topics) -------

    def topic(self, chat_id: int, phone: int) -> Topic | None:
        with self._lock:
            row = self._db.execute("SELECT * FROM topics WHERE chat_id = ? AND phone = ?", (chat_id, phone)).fetchone()
        return _topic(row) if row else None

    def topic_by_thread(self, chat_id: int, thread_id: int) -> Topic | None:
        with self._lock:
            row = self._db.execute("SELECT * FROM topics WHERE chat_id = ? AND thread_id = ?",
                                   (chat_id, thread_id)).fetchone()
        return _topic(row) if row else None

    def save_topic(self, chat_id: int, phone: int, thread_id: int, name: str) -> Topic:
        """The new topic of ``phone`` (replacing one that was deleted in Telegram)."""
        with self._tx() as db:
            db.execute("DELETE FROM topics WHERE chat_id = ? AND thread_id = ?", (chat_id, thread_id))
            db.execute("INSERT INTO topics (chat_id, phone, thread_id, name, closed, created_at)"
                       " VALUES (?, ?, ?, ?, 0, ?) ON CONFLICT (chat_id, phone) DO UPDATE SET"
                       " thread_id = excluded.thread_id, name = excluded.name, closed = 0,"
                       " created_at = excluded.created_at", (chat_id, phone, thread_id, name, time.time()))
        return Topic(chat_id, phone, thread_id, name, False)

    def update_topic(self, chat_id: int, phone: int, *, name: str | None = None, closed: bool | None = None
                     ) -> None:
        with self._tx() as db:
            if name is not None:
                db.execute("UPDATE topics SET name = ? WHERE chat_id = ? AND phone = ?", (name, chat_id, phone))
            if closed is not None:
                db.execute("UPDATE topics SET closed = ? WHERE chat_id = ? AND phone = ?",
                           (int(closed), chat_id, phone))

    def forget_topic(self, chat_id: int, phone: int) -> None:
        with self._tx() as db:
            db.execute("DELETE FROM topics WHERE chat_id = ? AND phone = ?", (chat_id, phone))

    def topics(self, chat_id: int) -> list[Topic]:
        with self._lock:
            rows = self._db.execute("SELECT * FROM topics WHERE chat_id = ? ORDER BY created_at", (chat_id,)).fetchall()
        return [_topic(r) for r in rows]

    def unnoticed(self, since: float, limit: int = 200) -> list[TrackedMessage]:
        """Messages sent since ``since`` and not yet shown in their phone's topic, oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT * FROM messages WHERE notice_id IS NULL AND created_at >= ? ORDER BY created_at, id LIMIT ?",
                (since, limit)).fetchall()
        return [_message(r) for r in rows]

    def mark_noticed(self, message_id: int, chat_id: int, notice_id: int, thread_id: int) -> None:
        with self._tx() as db:
            db.execute("UPDATE messages SET notice_chat_id = ?, notice_id = ?, notice_thread_id = ? WHERE id = ?",
                       (chat_id, notice_id, thread_id, message_id))

    def latest_to(self, phone: int, limit: int = 5) -> list[TrackedMessage]:
        """The newest tracked messages to ``phone``, newest first."""
        with self._lock:
            rows = self._db.execute("SELECT * FROM messages WHERE phone = ? ORDER BY created_at DESC, id DESC"
                                    " LIMIT ?", (phone, limit)).fetchall()
        return [_message(r) for r in rows]

    def setting(self, key: str, default: str | None = None) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
        return row[0] if row else default

    def setting_once(self, key: str, value: str) -> str:
        """Set ``key`` unless it is set; return the value it has (first writer wins)."""
        with self._tx() as db:
            db.execute("INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING", (key, value))
            return db.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()[0]

    # -- contacts ----------------------------------------------------------------------

    def save_contacts(self, contacts: Iterable[Contact]) -> int:
        """Add or update contacts (name and fields replaced for each phone given); one transaction."""
        rows = [(c.phone, c.name, json.dumps(c.fields, ensure_ascii=False), time.time()) for c in contacts]
        with self._tx() as db:
            db.executemany("INSERT INTO contacts (phone, name, fields, updated_at) VALUES (?, ?, ?, ?)"
                           " ON CONFLICT (phone) DO UPDATE SET name = excluded.name, fields = excluded.fields,"
                           " updated_at = excluded.updated_at", rows)
        return len(rows)

    def set_contact_name(self, phone: int, name: str) -> None:
        with self._tx() as db:
            db.execute("INSERT INTO contacts (phone, name, fields, updated_at) VALUES (?, ?, '{}', ?)"
                       " ON CONFLICT (phone) DO UPDATE SET name = excluded.name, updated_at = excluded.updated_at",
                       (phone, name, time.time()))

    def contact(self, phone: int) -> Contact | None:
        with self._lock:
            row = self._db.execute("SELECT * FROM contacts WHERE phone = ?", (phone,)).fetchone()
        return _contact(row) if row else None

    def contacts(self) -> list[Contact]:
        with self._lock:
            rows = self._db.execute("SELECT * FROM contacts ORDER BY name, phone").fetchall()
        return [_contact(r) for r in rows]

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
            db.execute("INSERT INTO verifications (phone, code_hash, salt, via, created_at, expires_at, attempts)"
                       " VALUES (?, ?, ?, ?, ?, ?, 0) ON CONFLICT (phone) DO UPDATE SET code_hash = excluded.code_hash,"
                       " salt = excluded.salt, via = excluded.via, created_at = excluded.created_at,"
                       " expires_at = excluded.expires_at, attempts = 0",
                       (phone, code_hash, salt, via, now, expires_at))
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


def _legacy_inflight(db: sqlite3.Connection) -> None:
    """A store made before migrations were recorded may lack ``replies.inflight`` (added later)."""
    columns = {row[1] for row in db.execute("PRAGMA table_info(replies)")}
    if columns and "inflight" not in columns:
        db.execute("ALTER TABLE replies ADD COLUMN inflight INTEGER NOT NULL DEFAULT 0")


def _text(message: object) -> str | None:
    text = getattr(message, "text", None)
    if text:
        return text
    image = getattr(message, "image", None)
    return f"[image {image}]" if image else text


def _message(row: sqlite3.Row) -> TrackedMessage:
    return TrackedMessage(row["id"], row["type"], row["phone"], row["text"], row["source"], row["chat_id"],
                          row["anchor_id"], row["status"], row["status_type"], row["created_at"], bool(row["done"]),
                          row["thread_id"], row["notice_chat_id"], row["notice_id"], row["notice_thread_id"])


def _contact(row: sqlite3.Row) -> Contact:
    return Contact(row["phone"], row["name"], json.loads(row["fields"] or "{}"))


def _topic(row: sqlite3.Row) -> Topic:
    return Topic(row["chat_id"], row["phone"], row["thread_id"], row["name"], bool(row["closed"]))


def _reply(row: sqlite3.Row) -> StoredReply:
    media = Media(row["media_url"], row["media_filename"], row["media_filesize"]) if row["media_url"] else None
    reply = Reply(datetime.fromisoformat(row["datetime"]), row["text"], media)
    return StoredReply(row["message_id"], row["seq"], reply, row["received_at"], row["attempts"])
