"""The two engines under the store: SQLite (one file, the default) and PostgreSQL (several instances).

The store writes SQL once, in the subset both engines share, with ``?``
placeholders; an engine runs it, with rows as dicts. What differs is stated
here and only here: how to connect, the placeholder, how a claim skips rows
another instance is claiming (``FOR UPDATE SKIP LOCKED``), and how two
processes that migrate at once are kept apart.

PostgreSQL goes through psycopg 3 and its connection pool; a pool
connection is taken per statement or transaction and given back, so the
bot's threads share a few connections. The bot, which is async, awaits the
store through ``Store.aio``: on PostgreSQL each call runs in a worker
thread, so its event loop never waits on the database's network round trip.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any, Protocol

from .sqltext import json_insert, no_nul, rows_of_values

__all__ = ["Database", "Tx", "SQLiteDatabase", "PostgresDatabase", "connect", "is_url", "OPEN_WAIT_MS"]

OPEN_WAIT_MS = 3000  # a locked SQLite file is reported this soon at open
POOL_WAIT_S = 5.0  # a PostgreSQL store that gives no connection is reported this soon
Row = dict[str, Any]


def is_url(target: str) -> bool:
    return target.startswith(("postgresql://", "postgres://"))


class Tx(Protocol):
    """One transaction: statements with ``?`` placeholders."""

    engine: str  # "sqlite" or "postgresql": a set-based statement with arrays is PostgreSQL's

    def all(self, sql: str, args: Sequence[Any] = ()) -> list[Row]: ...

    def tuples(self, sql: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """The rows as tuples, in the SELECT's column order: for claims of thousands (no dict a row)."""
        ...

    def one(self, sql: str, args: Sequence[Any] = ()) -> Row | None: ...

    def run(self, sql: str, args: Sequence[Any] = ()) -> int: ...

    def many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None: ...


class Database(Protocol):
    engine: str
    skip_locked: str  # appended to a claim's SELECT: rows another transaction is claiming are skipped
    for_update: str  # appended to a SELECT in a transaction that will change the row: others wait for it
    claim_prelude: tuple[str, ...]  # run first in a claim's (or a set-based update's) transaction

    def tx(self) -> AbstractContextManager[Tx]: ...

    def all(self, sql: str, args: Sequence[Any] = ()) -> list[Row]: ...

    def one(self, sql: str, args: Sequence[Any] = ()) -> Row | None: ...

    def has_table(self, name: str) -> bool: ...

    def migration_lock(self, tx: Tx) -> None: ...

    def close(self) -> None: ...


def _dicts(cursor: sqlite3.Cursor) -> list[Row]:
    """Every row as a dict, the column names read once per statement: a row factory reads them once per
    row (a claim reads thousands of rows, and building each dict that way was its largest cost)."""
    rows = cursor.fetchall()
    if not rows:
        return []
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in rows]


def _first(cursor: sqlite3.Cursor) -> Row | None:
    row = cursor.fetchone()
    return None if row is None else dict(zip([d[0] for d in cursor.description], row, strict=True))


class _SQLiteTx:
    engine = "sqlite"

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def all(self, sql: str, args: Sequence[Any] = ()) -> list[Row]:
        return _dicts(self.db.execute(sql, args))

    def tuples(self, sql: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self.db.execute(sql, args).fetchall()

    def one(self, sql: str, args: Sequence[Any] = ()) -> Row | None:
        return _first(self.db.execute(sql, args))

    def run(self, sql: str, args: Sequence[Any] = ()) -> int:
        return self.db.execute(sql, args).rowcount

    def many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """Each row: an ``INSERT ... VALUES (...)`` goes as statements of many rows each.

        ``executemany`` steps the statement once a row, letting go of the GIL and taking it back each time;
        with another thread busy (the campaign runner's sends, the bot's loop) every row waited for it:
        100,000 tracked messages took 1.2 s that way, 0.5 s in statements of a few hundred rows."""
        statements = rows_of_values(sql, rows)
        if statements is None:
            self.db.executemany(sql, rows)
            return
        for statement, args in statements:
            self.db.execute(statement, args)


class SQLiteDatabase:
    """One SQLite file in WAL mode; a lock keeps one statement at a time on the shared connection.

    Transactions are ``BEGIN IMMEDIATE``: writers queue up at the start
    instead of failing at commit, so a claim is as atomic here as on PostgreSQL.
    """

    engine = "sqlite"
    skip_locked = ""  # BEGIN IMMEDIATE already serializes claimers
    for_update = ""  # ... and every other writer
    claim_prelude: tuple[str, ...] = ()

    def __init__(self, path: str) -> None:
        self.path = path
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=30)
        # SQLite's own lower() folds ASCII only: "СТОП" would not find "стоп" (PostgreSQL's lower() does)
        self._db.create_function("lower", 1, lambda text: text.lower() if isinstance(text, str) else text,
                                 deterministic=True)
        self._lock = threading.RLock()
        with self._lock:
            self._db.execute(f"PRAGMA busy_timeout = {OPEN_WAIT_MS}")
            self._wal()
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA busy_timeout = 30000")  # then writers wait their turn

    def _wal(self) -> None:
        """Switch to WAL mode. Two processes creating a new store at once: the switch needs the file
        alone, and SQLite reports "locked" at once instead of waiting, so it is tried again for
        up to ``OPEN_WAIT_MS`` (a store that stays locked is reported then)."""
        deadline = time.monotonic() + OPEN_WAIT_MS / 1000
        while True:
            try:
                self._db.execute("PRAGMA journal_mode=WAL")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() >= deadline:
                    raise
                time.sleep(0.02)

    def __repr__(self) -> str:
        return f"SQLiteDatabase({self.path!r})"

    @contextmanager
    def tx(self) -> Iterator[_SQLiteTx]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield _SQLiteTx(self._db)
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def all(self, sql: str, args: Sequence[Any] = ()) -> list[Row]:
        with self._lock:
            return _dicts(self._db.execute(sql, args))

    def one(self, sql: str, args: Sequence[Any] = ()) -> Row | None:
        with self._lock:
            return _first(self._db.execute(sql, args))

    def has_table(self, name: str) -> bool:
        return self.one("SELECT 1 AS x FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)) is not None

    def migration_lock(self, tx: Tx) -> None:
        # BEGIN IMMEDIATE holds the write lock already; a store made before migrations were
        # recorded may lack replies.inflight (added later without a migration)
        columns = {row["name"] for row in tx.all("PRAGMA table_info(replies)")}
        if columns and "inflight" not in columns:
            tx.run("ALTER TABLE replies ADD COLUMN inflight INTEGER NOT NULL DEFAULT 0")

    def close(self) -> None:
        with self._lock:
            self._db.close()


def _pg_sql(sql: str) -> str:
    return sql.replace("?", "%s")


def _pg_args(args: Sequence[Any]) -> Sequence[Any]:
    """PostgreSQL refuses NUL in text; what a provider or a person sent keeps its place as U+FFFD (also in
    the arrays of a set-based statement)."""
    return [no_nul(a) if isinstance(a, str) else [no_nul(x) if isinstance(x, str) else x for x in a]
            if isinstance(a, list) else a for a in args]


class _PostgresTx:
    engine = "postgresql"

    def __init__(self, conn: Any) -> None:
        self.conn = conn

    def all(self, sql: str, args: Sequence[Any] = ()) -> list[Row]:
        cur = self.conn.execute(_pg_sql(sql), _pg_args(args))
        return cur.fetchall() if cur.description else []

    def tuples(self, sql: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        from psycopg.rows import tuple_row

        with self.conn.cursor(row_factory=tuple_row) as cur:
            cur.execute(_pg_sql(sql), _pg_args(args))
            return cur.fetchall() if cur.description else []

    def one(self, sql: str, args: Sequence[Any] = ()) -> Row | None:
        cur = self.conn.execute(_pg_sql(sql), _pg_args(args))
        return cur.fetchone() if cur.description else None

    def run(self, sql: str, args: Sequence[Any] = ()) -> int:
        return int(self.conn.execute(_pg_sql(sql), _pg_args(args)).rowcount)

    def many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """Each row. An ``INSERT INTO t (columns) VALUES (?, ...)`` with no ``ON CONFLICT``, or one that does
        nothing, goes as one statement that reads every row from one JSON text (made by orjson, in C):
        ``executemany`` runs the statement once a row on the server, about 30 us each (1.4 s to track a
        50,000-recipient campaign's messages), and statements of many rows of values cost more still in
        psycopg's per-value work. An upsert goes row by row: two rows of one key in one statement are an error
        on PostgreSQL, where row by row the later one wins."""
        if not rows:
            return
        together = json_insert(sql, rows)
        if together is not None:
            statement, text = together
            self.conn.execute(statement, (text,))
            return
        with self.conn.cursor() as cur:
            cur.executemany(_pg_sql(sql), [_pg_args(r) for r in rows])


class PostgresDatabase:
    """PostgreSQL through a psycopg connection pool; the URL's password never shows in a repr or error."""

    engine = "postgresql"
    skip_locked = " FOR UPDATE OF m SKIP LOCKED"
    for_update = " FOR UPDATE"
    # A claim must walk the messages' index in order and stop at its LIMIT, probing the leases by key;
    # a set-based update must find each row by its key. Right after a bulk insert the planner's
    # statistics are stale (it thinks a table of 100,000 holds 70 rows) and it picks a bitmap scan or a
    # sort of every candidate, a hash join over a whole table, a materialized list of leases walked per
    # row: each makes a cycle quadratic (24 s for 100,000 messages; 10 s with these off, measured).
    # Turned off, those plans still get a cost, so high that the server compiled each such statement
    # with LLVM first (JIT, on by default): 10-15% of the server's time in a cycle, for statements that
    # take milliseconds, so JIT is off for them too. One statement: six SET LOCALs were six round trips.
    claim_prelude: tuple[str, ...] = ("SELECT set_config('jit', 'off', true), " + ", ".join(
        f"set_config('enable_{plan}', 'off', true)" for plan in (
            "bitmapscan", "seqscan", "sort", "hashjoin", "mergejoin", "material")),)
    MIGRATION_LOCK = 0x616C706861736D73  # "alphasms": one migrator at a time

    def __init__(self, url: str, *, max_size: int = 8) -> None:
        try:
            import psycopg
            from psycopg.rows import dict_row
            from psycopg_pool import ConnectionPool
        except ImportError:
            raise RuntimeError("[store] url is PostgreSQL, which needs psycopg: "
                               "pip install 'alphasms-notify[postgresql]'") from None

        from .redact import safe_url

        self.url, self.shown = url, safe_url(url)
        try:  # one plain connection first: a wrong password or database is one clear line, not pool retries
            psycopg.connect(url, connect_timeout=10).close()
        except psycopg.Error as exc:
            raise psycopg.OperationalError(f"cannot connect to PostgreSQL: "
                                           f"{_reason(exc, url)}") from None
        # timeout: a store call that gets no connection (the server down or refusing) fails after this
        # long instead of psycopg's 30 s, so the bot's gate answers "not run" while the operator waits
        self.pool = ConnectionPool(url, min_size=1, max_size=max_size, open=False, name="alphasms-store",
                                   timeout=POOL_WAIT_S,
                                   kwargs={"row_factory": dict_row, "autocommit": True,
                                           "application_name": "alphasms-notify",
                                           # no server-side prepared statements: their generic plan for a
                                           # claim (ORDER BY ... LIMIT ... FOR UPDATE SKIP LOCKED) scanned
                                           # every row, 6 s instead of 10 ms on 20,000 leased messages
                                           "prepare_threshold": None})
        try:
            self.pool.open(wait=True, timeout=10)
        except Exception as exc:  # PoolTimeout, OperationalError: say where, never with the password
            self.pool.close()
            raise psycopg.OperationalError(f"cannot connect to PostgreSQL: "
                                           f"{_reason(exc, url)}") from None

    def __repr__(self) -> str:
        return f"PostgresDatabase({self.shown!r})"

    @contextmanager
    def tx(self) -> Iterator[_PostgresTx]:
        with self.pool.connection() as conn, conn.transaction():
            yield _PostgresTx(conn)

    def all(self, sql: str, args: Sequence[Any] = ()) -> list[Row]:
        with self.pool.connection() as conn:
            return _PostgresTx(conn).all(sql, args)

    def one(self, sql: str, args: Sequence[Any] = ()) -> Row | None:
        with self.pool.connection() as conn:
            return _PostgresTx(conn).one(sql, args)

    def has_table(self, name: str) -> bool:
        row = self.one("SELECT to_regclass(?) IS NOT NULL AS present", (name,))
        return bool(row and row["present"])

    def migration_lock(self, tx: Tx) -> None:
        tx.one("SELECT pg_advisory_xact_lock(?) AS locked", (self.MIGRATION_LOCK,))

    def close(self) -> None:
        self.pool.close()


def _reason(exc: BaseException, url: str) -> str:
    """The driver's reason, with the URL's password taken out should it quote it."""
    from urllib.parse import unquote, urlsplit

    lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
    text = lines[-1] if lines else type(exc).__name__  # psycopg's last line is the server's reason
    password = urlsplit(url).password
    for secret in filter(None, {password, unquote(password or "")}):
        text = text.replace(secret, "***")
    return text


def connect(target: str) -> SQLiteDatabase | PostgresDatabase:
    """The engine for ``target``: a ``postgresql://`` URL, or the path of a SQLite file."""
    return PostgresDatabase(target) if is_url(target) else SQLiteDatabase(target)
