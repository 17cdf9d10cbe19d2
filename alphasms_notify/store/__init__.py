"""The store: tracked messages and their replies, leases for shared work, bot state, contacts, codes.

SQLite (one file, the default) or PostgreSQL (several bot instances); the
engines are in :mod:`alphasms_notify.db`, the schema in
:mod:`alphasms_notify.migrations`. :class:`Store` opens one and holds a small
repository per job, each over the same connection:

* ``store.messages`` (:mod:`.messages`): what was sent and its status;
* ``store.replies`` (:mod:`.replies`): Viber replies, stored once, forwarded once;
* ``store.leases`` (:mod:`.leases`): which instance does which shared work;
* ``store.topics`` and ``store.bot`` (:mod:`.bot_state`): forum topics, settings,
  Telegram updates handled, sends waiting for a Confirm;
* ``store.contacts`` (:mod:`.contacts`) and ``store.codes`` (:mod:`.codes`);
* ``store.campaigns`` (:mod:`.campaigns`), ``store.optouts`` (:mod:`.optouts`) and ``store.desk``
  (:mod:`.desk`: snippets, automatic answers).

The bot is async and the store is not: ``await store.run(store.replies.add, ...)``
runs any of these methods so that the event loop never waits on the database
(on PostgreSQL in a worker thread; on SQLite inline, since a local file answers
in microseconds, less than a thread hop costs), typed as the method itself.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from ..db import OPEN_WAIT_MS, connect, is_url
from ..migrations import MIGRATIONS, statements
from .bot_state import BotState, Topics
from .campaigns import Campaigns
from .codes import Codes
from .contacts import Contacts
from .desk import Desk
from .files import StoreBusy, StoreLock, create_private, default_store_path, instance_id, lease_owner
from .leases import FORWARD, HOOK, NOTICE, POLL, Leases
from .messages import Messages
from .optouts import OptOut, OptOuts
from .records import Contact, StoredReply, Topic, TrackedMessage
from .replies import Replies

__all__ = ["Store", "StoreBusy", "StoreLock", "TrackedMessage", "StoredReply", "Topic", "Contact", "OptOut",
           "default_store_path", "create_private", "instance_id", "lease_owner", "OPEN_WAIT_MS",
           "POLL", "FORWARD", "NOTICE", "HOOK"]

P = ParamSpec("P")
R = TypeVar("R")


class Store:
    """One store, opened and migrated; safe to share between threads and processes.

    ``target``: the path of a SQLite file, or a ``postgresql://`` URL. It is migrated to the
    newest schema when opened, unless ``migrate`` is False (``alphasms store status``).
    """

    def __init__(self, target: str | os.PathLike[str], *, migrate: bool = True) -> None:
        self.target = str(target)
        if not is_url(self.target) and self.target != ":memory:":
            create_private(self.target)  # SQLite gives its -wal and -shm files the same mode
        self._db = connect(self.target)
        self.engine = self._db.engine
        self._threaded = self.engine == "postgresql"
        self.messages = Messages(self._db)
        self.replies = Replies(self._db)
        self.leases = Leases(self._db)
        self.topics = Topics(self._db)
        self.bot = BotState(self._db)
        self.contacts = Contacts(self._db)
        self.codes = Codes(self._db)
        self.campaigns = Campaigns(self._db)
        self.optouts = OptOuts(self._db)
        self.desk = Desk(self._db)
        try:
            if migrate:
                self.migrate()
        except BaseException:
            self._db.close()
            raise

    async def run(self, method: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        """``method(*args, **kwargs)`` for async code: in a worker thread on PostgreSQL, inline on SQLite."""
        if self._threaded:
            import asyncio

            return await asyncio.to_thread(method, *args, **kwargs)
        return method(*args, **kwargs)

    @property
    def path(self) -> str:
        """What was opened: a SQLite path or a PostgreSQL URL (shown masked by ``repr``)."""
        return self.target

    def __repr__(self) -> str:
        return f"Store({self._db!r})"

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def ping(self) -> None:
        """Raise if the store cannot be used now (for a readiness check).

        PostgreSQL: a query through the pool. SQLite: a fresh read-only connection to the file, since the
        open one keeps working on a file that was deleted or replaced under it.
        """
        if self.engine == "postgresql":
            self._db.one("SELECT 1 AS ok")
            return
        import sqlite3

        probe = sqlite3.connect(f"file:{self.target}?mode=ro", uri=True, timeout=2)
        try:
            probe.execute("SELECT COUNT(*) FROM schema_migrations").fetchone()
        finally:
            probe.close()

    # -- schema ------------------------------------------------------------------------

    def schema_version(self) -> int:
        """The newest migration applied (0: an empty store, or one made before migrations were recorded)."""
        if not self._db.has_table("schema_migrations"):
            return 0
        row = self._db.one("SELECT COALESCE(MAX(version), 0) AS v FROM schema_migrations")
        return int(row["v"]) if row else 0

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
                for statement in statements(migration.postgresql) if tx.engine == "postgresql" else ():
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
        return {name: int((self._db.one(sql) or {"n": 0})["n"]) for name, sql in queries.items()}
