"""The store of tracked messages and the Viber replies they received: SQLite, or PostgreSQL for several bots.

What makes "never lose one, never forward twice" hold across restarts: a
reply is a row keyed by (message id, its position in the provider's list),
inserted once; ``hooked`` records that ``alphasms_reply_received`` ran,
``forwarded`` that it reached Telegram. Each change is its own committed
transaction, so a SIGKILL loses nothing that was acknowledged.

Several bot instances on one PostgreSQL share the work through *leases*: a
row in ``leases`` says which instance polls a message, forwards its
replies or posts its notice, and until when. A claim takes only what no
live lease holds (skipping rows another instance is claiming at that
moment), so each piece of work has one owner; a lease that ends because its
instance died is taken over on a later cycle. The engines are in
:mod:`alphasms_notify.db`; the schema in :mod:`alphasms_notify.migrations`.
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from .db import OPEN_WAIT_MS, connect, is_url
from .migrations import MIGRATIONS, statements
from .results import Media, Outcome, Reply

__all__ = ["Store", "StoreBusy", "StoreLock", "TrackedMessage", "StoredReply", "Topic", "Contact",
           "default_store_path", "create_private", "instance_id", "lease_owner", "OPEN_WAIT_MS",
           "POLL", "FORWARD", "NOTICE", "HOOK"]

# Kinds of shared work, each leased per key (a message id, or a phone)
POLL, FORWARD, NOTICE, HOOK = "poll", "forward", "notice", "hook"


def instance_id() -> str:
    """Who holds a lease: this host and process, and a random part (pids repeat across restarts)."""
    global _INSTANCE
    if _INSTANCE is None:
        import secrets
        import socket

        _INSTANCE = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
    return _INSTANCE


_INSTANCE: str | None = None


def lease_owner() -> str:
    """An owner for one call's lease: held as a mutex, so not even another call of this process shares it
    (:func:`instance_id` alone would let it renew the lease, which is right only for one instance's work)."""
    import secrets

    return f"{instance_id()}:{secrets.token_hex(4)}"


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


class _Awaitable:
    """``store.aio.name(...)``: the store's method ``name``, awaited.

    On PostgreSQL it runs in a worker thread, so the bot's event loop never waits on the
    network; on SQLite it runs inline (a local file answers in microseconds, less than a
    thread hop costs).
    """

    def __init__(self, store: Store) -> None:
        self._store = store
        self._threaded = store.engine == "postgresql"

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._store, name)

        async def call(*args: Any, **kwargs: Any) -> Any:
            if self._threaded:
                import asyncio

                return await asyncio.to_thread(method, *args, **kwargs)
            return method(*args, **kwargs)

        return call


class Store:
    """Tracked messages, replies, topics, contacts, codes; safe to share between threads and processes.

    ``target``: the path of a SQLite file, or a ``postgresql://`` URL. It is migrated to the
    newest schema when opened, unless ``migrate`` is False (``alphasms store status``).
    """

    def __init__(self, target: str | os.PathLike, *, migrate: bool = True) -> None:
        self.target = str(target)
        if not is_url(self.target) and self.target != ":memory:":
            create_private(self.target)  # SQLite gives its -wal and -shm files the same mode
        self._db = connect(self.target)
        self.engine = self._db.engine
        self.aio = _Awaitable(self)  # the same methods, awaited: for the bot's event loop
        try:
            if migrate:
                self.migrate()
        except BaseException:
            self._db.close()
            raise

    @property
    def path(self) -> str:
        return self.target

    def __repr__(self) -> str:
        return f"Store({self._db!r})"

    def close(self) -> None:
        self._db.close()

    # -- schema ------------------------------------------------------------------------

    def schema_version(self) -> int:
        """The newest migration applied (0: an empty store, or one made before migrations were recorded)."""
        if not self._db.has_table("schema_migrations"):
            return 0
        return self._db.one("SELECT COALESCE(MAX(version), 0) AS v FROM schema_migrations")["v"]

    def migrations(self) -> list[tuple[int, str, float | None]]:
        """Every migration: (version, name, when it was applied or None)."""
        applied: dict[int, float] = {}
        if self._db.has_table("schema_migrations"):
            applied = {r["version"]: r["applied_at"]
                       for r in self._db.all("SELECT version, applied_at FROM schema_migrations")}
        return [(m.version, m.name, applied.get(m.version)) for m in MIGRATIONS]

    def migrate(self) -> list[int]:
        """Apply the migrations this store lacks, each in its own transaction; return their versions."""
        done = []
        with self._db.tx() as tx:
            self._db.migration_lock(tx)
            tx.run("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY,"
                   " name TEXT NOT NULL, applied_at DOUBLE PRECISION NOT NULL)")
        for migration in MIGRATIONS:
            with self._db.tx() as tx:  # checked under the lock: two processes opening a new store at once
                self._db.migration_lock(tx)
                if tx.one("SELECT 1 AS x FROM schema_migrations WHERE version = ?", (migration.version,)):
                    continue
                for statement in statements(migration.sql):
                    tx.run(statement)
                tx.run("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                       (migration.version, migration.name, time.time()))
                done.append(migration.version)
        return done

    def counts(self) -> dict[str, int]:
        """What the store holds, for ``alphasms store status``."""
        now = time.time()
        queries = {
            "tracked messages": "SELECT COUNT(*) AS n FROM messages",
            "being followed": "SELECT COUNT(*) AS n FROM messages WHERE done = 0",
            "replies": "SELECT COUNT(*) AS n FROM replies",
            "replies not yet forwarded": "SELECT COUNT(*) AS n FROM replies WHERE forwarded = 0",
            "live leases": f"SELECT COUNT(*) AS n FROM leases WHERE until >= {now!r}",
        }
        return {name: self._db.one(sql)["n"] for name, sql in queries.items()}

    # -- messages --------------------------------------------------------------------

    def track(self, outcomes: Iterable[Outcome], *, source: str, chat_id: int | None = None,
              anchor_id: int | None = None, thread_id: int | None = None) -> int:
        """Remember every accepted send item, and every unknown one (the status poll settles it).

        ``chat_id``/``anchor_id``/``thread_id``: the bot's own "sent" message, which replies answer.
        """
        now = time.time()
        rows = [
            (o.message.id, o.message.type, o.message.phone, _text(o.message), source, chat_id,
             anchor_id, thread_id, now)
            for o in outcomes if (o.ok or o.unknown) and getattr(o.message, "id", None) is not None
        ]
        with self._db.tx() as tx:
            tx.many("INSERT INTO messages (id, type, phone, text, source, chat_id, anchor_id, thread_id, created_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING", rows)
        return len(rows)

    def message(self, message_id: int) -> TrackedMessage | None:
        row = self._db.one("SELECT * FROM messages WHERE id = ?", (message_id,))
        return _message(row) if row else None

    def messages(self, ids: Sequence[int]) -> list[TrackedMessage]:
        """The tracked messages with these ids, in the order given."""
        found: dict[int, TrackedMessage] = {}
        for start in range(0, len(ids), 500):
            chunk = list(ids[start:start + 500])
            marks = ", ".join("?" * len(chunk))
            for row in self._db.all(f"SELECT * FROM messages WHERE id IN ({marks})", chunk):
                found[row["id"]] = _message(row)
        return [found[i] for i in ids if i in found]

    def active(self, limit: int | None = None) -> list[TrackedMessage]:
        sql = "SELECT * FROM messages WHERE done = 0 ORDER BY created_at, id"
        return [_message(r) for r in self._db.all(sql + (f" LIMIT {int(limit)}" if limit else ""))]

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
            tx.many("UPDATE messages SET status = ?, status_type = ?, updated_at = ?, done = ? WHERE id = ?",
                    [(status, kind, now, int(done), message_id) for message_id, status, kind, done in updates])

    def finish(self, message_ids: Iterable[int]) -> None:
        with self._db.tx() as tx:
            tx.many("UPDATE messages SET done = 1 WHERE id = ?", [(i,) for i in message_ids])

    # -- shared work: leases -------------------------------------------------------------

    def claim(self, kind: str, owner: str, lease: float, limit: int = 1000, *, since: float = 0.0,
              older_than: float | None = None, after: tuple[float, int] | None = None) -> list[int]:
        """Take up to ``limit`` keys of ``kind`` work that no live lease holds, for ``lease`` seconds.

        Oldest first. ``since``: notices for messages from then on; ``older_than``: hooks of
        replies received before then (a crash's leftovers, not another instance's work in hand);
        ``after`` (polls): only messages after this (created_at, id), where the previous claim of
        the same cycle ended, so a cycle over 100,000 does not walk past what it already holds.
        """
        now = time.time()
        candidates = _CANDIDATES[kind]
        params: list[Any] = [kind, now]
        if kind == NOTICE:
            params.append(since)
        if kind == HOOK:
            params.append(older_than if older_than is not None else now)
        if kind == POLL:
            params += list(after or (-1.0, -1))
        with self._db.tx() as tx:
            for statement in self._db.claim_prelude:
                tx.run(statement)
            keys = [r["key"] for r in tx.all(candidates + self._db.skip_locked, (*params, limit))]
            if not keys:
                return []
            return self._lease(tx, kind, keys, owner, now, now + lease)

    def try_lease(self, kind: str, key: int, owner: str, lease: float) -> bool:
        """Take one key's lease (or renew it when ``owner`` holds it): a mutex across instances."""
        now = time.time()
        with self._db.tx() as tx:
            return bool(self._lease(tx, kind, [key], owner, now, now + lease, renew=True))

    @staticmethod
    def _lease(tx: Any, kind: str, keys: list[int], owner: str, now: float, until: float, *,
               renew: bool = False) -> list[int]:
        taken: list[int] = []
        for start in range(0, len(keys), 500):
            chunk = keys[start:start + 500]
            values = ", ".join("(?, ?, ?, ?)" for _ in chunk)
            args: list[Any] = [x for key in chunk for x in (kind, key, owner, until)] + [now]
            mine = " OR leases.owner = ?" if renew else ""
            if renew:
                args.append(owner)
            rows = tx.all(f"INSERT INTO leases (kind, key, owner, until) VALUES {values} ON CONFLICT (kind, key)"
                          f" DO UPDATE SET owner = excluded.owner, until = excluded.until"
                          f" WHERE leases.until < ?{mine} RETURNING key", args)
            got = {r["key"] for r in rows}
            taken += [k for k in chunk if k in got]
        return taken

    def drop_leases(self) -> int:
        """Forget every lease: for a bot that holds the SQLite store's lock, any lease is a dead process's."""
        with self._db.tx() as tx:
            return tx.run("DELETE FROM leases")

    def release(self, kind: str, keys: Iterable[int], owner: str) -> None:
        """Give leases back (the work is done): the next claim, by anyone, need not wait for expiry."""
        rows = [(kind, key, owner) for key in keys]
        if rows:
            with self._db.tx() as tx:
                tx.many("DELETE FROM leases WHERE kind = ? AND key = ? AND owner = ?", rows)

    # -- replies ---------------------------------------------------------------------

    def add_replies(self, message_id: int, replies: Iterable[Reply]) -> list[StoredReply]:
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
                text = _stored_text(reply.message) if self.engine == "postgresql" else reply.message
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

    def unhooked_replies(self, message_ids: Iterable[int] | None = None) -> list[StoredReply]:
        """Replies whose hook has not run (of ``message_ids``, if given), in the order they came."""
        return self._replies_where("hooked = 0", message_ids)

    def mark_hooked(self, message_id: int, seq: int) -> None:
        with self._db.tx() as tx:
            tx.run("UPDATE replies SET hooked = 1 WHERE message_id = ? AND seq = ?", (message_id, seq))

    def unforwarded_replies(self, message_ids: Iterable[int] | None = None) -> list[StoredReply]:
        """Replies not yet forwarded (of ``message_ids``, if given), in the order they came."""
        return self._replies_where("forwarded = 0", message_ids)

    def _replies_where(self, condition: str, message_ids: Iterable[int] | None) -> list[StoredReply]:
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

    def reply_for_telegram_message(self, chat_id: int, telegram_message_id: int) -> TrackedMessage | None:
        """The tracked message whose reply was forwarded as ``telegram_message_id`` in ``chat_id``."""
        row = self._db.one(
            "SELECT m.* FROM replies r JOIN messages m ON m.id = r.message_id"
            " WHERE r.forwarded_chat_id = ? AND r.forwarded_message_id = ?", (chat_id, telegram_message_id))
        return _message(row) if row else None

    # -- conversation topics (one forum topic per phone; see alphasms_notify.bot.topics) -------

    def topic(self, chat_id: int, phone: int) -> Topic | None:
        row = self._db.one("SELECT * FROM topics WHERE chat_id = ? AND phone = ?", (chat_id, phone))
        return _topic(row) if row else None

    def topic_by_thread(self, chat_id: int, thread_id: int) -> Topic | None:
        row = self._db.one("SELECT * FROM topics WHERE chat_id = ? AND thread_id = ?", (chat_id, thread_id))
        return _topic(row) if row else None

    def save_topic(self, chat_id: int, phone: int, thread_id: int, name: str) -> Topic:
        """The new topic of ``phone`` (replacing one that was deleted in Telegram)."""
        with self._db.tx() as tx:
            tx.run("DELETE FROM topics WHERE chat_id = ? AND thread_id = ?", (chat_id, thread_id))
            tx.run("INSERT INTO topics (chat_id, phone, thread_id, name, closed, created_at)"
                   " VALUES (?, ?, ?, ?, 0, ?) ON CONFLICT (chat_id, phone) DO UPDATE SET"
                   " thread_id = excluded.thread_id, name = excluded.name, closed = 0,"
                   " created_at = excluded.created_at", (chat_id, phone, thread_id, name, time.time()))
        return Topic(chat_id, phone, thread_id, name, False)

    def update_topic(self, chat_id: int, phone: int, *, name: str | None = None, closed: bool | None = None
                     ) -> None:
        with self._db.tx() as tx:
            if name is not None:
                tx.run("UPDATE topics SET name = ? WHERE chat_id = ? AND phone = ?", (name, chat_id, phone))
            if closed is not None:
                tx.run("UPDATE topics SET closed = ? WHERE chat_id = ? AND phone = ?", (int(closed), chat_id, phone))

    def forget_topic(self, chat_id: int, phone: int) -> None:
        with self._db.tx() as tx:
            tx.run("DELETE FROM topics WHERE chat_id = ? AND phone = ?", (chat_id, phone))

    def topics(self, chat_id: int) -> list[Topic]:
        return [_topic(r) for r in self._db.all("SELECT * FROM topics WHERE chat_id = ? ORDER BY created_at",
                                                (chat_id,))]

    def unnoticed(self, since: float, limit: int = 200) -> list[TrackedMessage]:
        """Messages sent since ``since`` and not yet shown in their phone's topic, oldest first."""
        rows = self._db.all("SELECT * FROM messages WHERE notice_id IS NULL AND created_at >= ?"
                            " ORDER BY created_at, id LIMIT ?", (since, limit))
        return [_message(r) for r in rows]

    def mark_noticed(self, message_id: int, chat_id: int, notice_id: int, thread_id: int) -> None:
        with self._db.tx() as tx:
            tx.run("UPDATE messages SET notice_chat_id = ?, notice_id = ?, notice_thread_id = ? WHERE id = ?",
                   (chat_id, notice_id, thread_id, message_id))

    def latest_to(self, phone: int, limit: int = 5) -> list[TrackedMessage]:
        """The newest tracked messages to ``phone``, newest first."""
        rows = self._db.all("SELECT * FROM messages WHERE phone = ? ORDER BY created_at DESC, id DESC LIMIT ?",
                            (phone, limit))
        return [_message(r) for r in rows]

    def setting(self, key: str, default: str | None = None) -> str | None:
        row = self._db.one("SELECT value FROM settings WHERE key = ?", (key,))
        return row["value"] if row else default

    def setting_once(self, key: str, value: str) -> str:
        """Set ``key`` unless it is set; return the value it has (first writer wins)."""
        with self._db.tx() as tx:
            tx.run("INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING", (key, value))
            return tx.one("SELECT value FROM settings WHERE key = ?", (key,))["value"]

    # -- Telegram updates handled (a redelivered update is not run twice) ----------------

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

    # -- sends waiting for an operator's Confirm (shared by every bot instance) -----------

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

    def pending_state(self, pending_id: str) -> str | None:
        """``pending``, ``sending``, ``cancelled``, or None when there is no such send (or it was cleared)."""
        row = self._db.one("SELECT state FROM pending_sends WHERE id = ?", (pending_id,))
        return row["state"] if row else None

    def forget_pending(self, older_than: float) -> None:
        with self._db.tx() as tx:
            tx.run("DELETE FROM pending_sends WHERE created_at < ?", (older_than,))

    # -- contacts ----------------------------------------------------------------------

    def save_contacts(self, contacts: Iterable[Contact]) -> int:
        """Add or update contacts (name and fields replaced for each phone given); one transaction."""
        rows = [(c.phone, c.name, json.dumps(c.fields, ensure_ascii=False), time.time()) for c in contacts]
        with self._db.tx() as tx:
            tx.many("INSERT INTO contacts (phone, name, fields, updated_at) VALUES (?, ?, ?, ?)"
                    " ON CONFLICT (phone) DO UPDATE SET name = excluded.name, fields = excluded.fields,"
                    " updated_at = excluded.updated_at", rows)
        return len(rows)

    def set_contact_name(self, phone: int, name: str) -> None:
        with self._db.tx() as tx:
            tx.run("INSERT INTO contacts (phone, name, fields, updated_at) VALUES (?, ?, '{}', ?)"
                   " ON CONFLICT (phone) DO UPDATE SET name = excluded.name, updated_at = excluded.updated_at",
                   (phone, name, time.time()))

    def contact(self, phone: int) -> Contact | None:
        row = self._db.one("SELECT * FROM contacts WHERE phone = ?", (phone,))
        return _contact(row) if row else None

    def contacts(self) -> list[Contact]:
        return [_contact(r) for r in self._db.all("SELECT * FROM contacts ORDER BY name, phone")]

    # -- verification codes (hashed; see alphasms_notify.verify) -----------------------

    def verification(self, phone: int) -> dict[str, Any] | None:
        return self._db.one("SELECT * FROM verifications WHERE phone = ?", (phone,))

    def sends_since(self, phone: int, since: float) -> list[float]:
        """When codes were sent to ``phone`` since ``since``, oldest first."""
        rows = self._db.all("SELECT at FROM verification_sends WHERE phone = ? AND at >= ? ORDER BY at",
                            (phone, since))
        return [r["at"] for r in rows]

    def save_verification(self, phone: int, code_hash: str, salt: str, via: str, now: float, expires_at: float
                          ) -> None:
        """A new code for ``phone`` (replacing any earlier one), and the send counted for the limits."""
        with self._db.tx() as tx:
            tx.run("INSERT INTO verifications (phone, code_hash, salt, via, created_at, expires_at, attempts)"
                   " VALUES (?, ?, ?, ?, ?, ?, 0) ON CONFLICT (phone) DO UPDATE SET code_hash = excluded.code_hash,"
                   " salt = excluded.salt, via = excluded.via, created_at = excluded.created_at,"
                   " expires_at = excluded.expires_at, attempts = 0",
                   (phone, code_hash, salt, via, now, expires_at))
            tx.run("INSERT INTO verification_sends (phone, at) VALUES (?, ?)", (phone, now))
            tx.run("DELETE FROM verification_sends WHERE at < ?", (now - 2 * 3600,))

    def check_verification(self, phone: int, now: float, max_attempts: int,
                           matches: Callable[[dict[str, Any]], bool]) -> tuple[str, int]:
        """Check a code for ``phone`` in one transaction: (verdict, attempts so far).

        Verdicts: ``none`` (no pending code), ``expired``, ``locked`` (no attempts left),
        ``approved`` (the code is used up) or ``wrong`` (the attempt is counted). The row is
        locked while ``matches`` looks at it, so of two checks at once, on any processes, one
        sees the code and the other sees it gone, and no more than ``max_attempts`` are judged.
        """
        with self._db.tx() as tx:
            row = tx.one("SELECT * FROM verifications WHERE phone = ?" + self._db.for_update, (phone,))
            if row is None:
                return "none", 0
            if now > row["expires_at"]:
                return "expired", row["attempts"]
            if row["attempts"] >= max_attempts:
                return "locked", row["attempts"]
            if matches(row):
                tx.run("DELETE FROM verifications WHERE phone = ?", (phone,))
                return "approved", row["attempts"]
            tx.run("UPDATE verifications SET attempts = attempts + 1 WHERE phone = ?", (phone,))
            return "wrong", row["attempts"] + 1

    def forget_verification(self, phone: int) -> None:
        with self._db.tx() as tx:
            tx.run("DELETE FROM verifications WHERE phone = ?", (phone,))

    def _replies(self, where: str, args: tuple = ()) -> list[StoredReply]:
        rows = self._db.all(f"SELECT * FROM replies WHERE {where} ORDER BY received_at, message_id, seq", args)
        return [_reply(r) for r in rows]


# What each kind of work is, as "SELECT m.id|phone AS key": its candidates not held by a live lease.
_FREE = "WHERE NOT EXISTS (SELECT 1 FROM leases l WHERE l.kind = ? AND l.key = {key} AND l.until >= ?)"
_CANDIDATES: dict[str, str] = {
    POLL: ("SELECT m.id AS key FROM messages m " + _FREE.format(key="m.id")
           + " AND m.done = 0 AND (m.created_at, m.id) > (?, ?) ORDER BY m.created_at, m.id LIMIT ?"),
    NOTICE: ("SELECT m.id AS key FROM messages m " + _FREE.format(key="m.id")
             + " AND m.notice_id IS NULL AND m.created_at >= ? ORDER BY m.created_at, m.id LIMIT ?"),
    FORWARD: ("SELECT m.id AS key FROM messages m " + _FREE.format(key="m.id")
              + " AND EXISTS (SELECT 1 FROM replies r WHERE r.message_id = m.id AND r.forwarded = 0)"
              " ORDER BY m.created_at, m.id LIMIT ?"),
    HOOK: ("SELECT m.id AS key FROM messages m " + _FREE.format(key="m.id")
           + " AND EXISTS (SELECT 1 FROM replies r WHERE r.message_id = m.id AND r.hooked = 0"
           " AND r.received_at < ?) ORDER BY m.created_at, m.id LIMIT ?"),
}


def _stored_text(text: str | None) -> str | None:
    """A reply's text as the store gives it back (PostgreSQL keeps NUL as U+FFFD; see db._pg_args)."""
    return text.replace("\x00", "\ufffd") if text and "\x00" in text else text


def _text(message: object) -> str | None:
    """What the store keeps of a message's text: each of its ``meta["redact"]`` strings (a verification
    code) masked, so neither the store nor what is shown from it (a topic's notice) holds them."""
    text = getattr(message, "text", None)
    if text:
        for secret in (getattr(message, "meta", None) or {}).get("redact", ()):
            if secret:
                text = text.replace(secret, "*" * len(secret))
        return text
    image = getattr(message, "image", None)
    return f"[image {image}]" if image else text


def _message(row: dict[str, Any]) -> TrackedMessage:
    return TrackedMessage(row["id"], row["type"], row["phone"], row["text"], row["source"], row["chat_id"],
                          row["anchor_id"], row["status"], row["status_type"], row["created_at"], bool(row["done"]),
                          row["thread_id"], row["notice_chat_id"], row["notice_id"], row["notice_thread_id"])


def _contact(row: dict[str, Any]) -> Contact:
    return Contact(row["phone"], row["name"], json.loads(row["fields"] or "{}"))


def _topic(row: dict[str, Any]) -> Topic:
    return Topic(row["chat_id"], row["phone"], row["thread_id"], row["name"], bool(row["closed"]))


def _reply(row: dict[str, Any]) -> StoredReply:
    media = Media(row["media_url"], row["media_filename"], row["media_filesize"]) if row["media_url"] else None
    reply = Reply(datetime.fromisoformat(row["datetime"]), row["text"], media)
    return StoredReply(row["message_id"], row["seq"], reply, row["received_at"], row["attempts"])
