"""Leases: which instance does a piece of shared work (polls a message, forwards its replies, ...) and until when.

A claim takes only what no live lease holds, skipping rows another instance is
claiming at that moment, so each piece of work has one owner; a lease that
ends because its instance died is taken over on a later cycle.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from ..db import Database
from ..sqltext import int_array
from .records import MESSAGE_COLUMNS, TrackedMessage, message_tuple

__all__ = ["Leases", "POLL", "FORWARD", "NOTICE", "HOOK"]

# Kinds of shared work, each leased per key (a message id, or a phone)
POLL, FORWARD, NOTICE, HOOK = "poll", "forward", "notice", "hook"

# What each kind of work is, as "SELECT m.id|phone AS key": its candidates not held by a live lease.
_FREE = "WHERE NOT EXISTS (SELECT 1 FROM leases l WHERE l.kind = ? AND l.key = {key} AND l.until >= ?)"
_CANDIDATES: dict[str, str] = {
    POLL: ("SELECT m.id AS key FROM messages m " + _FREE.format(key="m.id")
           + " AND m.done = 0 AND (m.created_at, m.id) > (?, ?) ORDER BY m.created_at, m.id LIMIT ?"),
    NOTICE: ("SELECT m.id AS key FROM messages m " + _FREE.format(key="m.id")
             + " AND m.notice_id IS NULL AND m.created_at >= ? AND substr(m.source, 1, 9) <> 'campaign:'"
             " ORDER BY m.created_at, m.id LIMIT ?"),  # a campaign's 50,000 would flood the topics
    FORWARD: ("SELECT m.id AS key FROM messages m " + _FREE.format(key="m.id")
              + " AND EXISTS (SELECT 1 FROM replies r WHERE r.message_id = m.id AND r.forwarded = 0)"
              " ORDER BY m.created_at, m.id LIMIT ?"),
    HOOK: ("SELECT m.id AS key FROM messages m " + _FREE.format(key="m.id")
           + " AND EXISTS (SELECT 1 FROM replies r WHERE r.message_id = m.id AND r.hooked = 0"
           " AND r.received_at < ?) ORDER BY m.created_at, m.id LIMIT ?"),
}

_COLUMNS = [column.strip() for column in MESSAGE_COLUMNS.split(",")]
_MESSAGE_COLUMNS = "SELECT " + ", ".join(f"m.{column}" for column in _COLUMNS)
_CREATED_AT, _ID = _COLUMNS.index("created_at"), _COLUMNS.index("id")  # a claim's order, in its tuples


class Leases:
    """Claims and mutexes over shared work, by kind and key."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def claim(self, kind: str, owner: str, lease: float, limit: int = 1000, *, since: float = 0.0,
              older_than: float | None = None, after: tuple[float, int] | None = None) -> list[int]:
        """Take up to ``limit`` keys of ``kind`` work that no live lease holds, for ``lease`` seconds.

        Oldest first. ``since``: notices for messages from then on; ``older_than``: hooks of
        replies received before then (a crash's leftovers, not another instance's work in hand);
        ``after`` (polls): only messages after this (created_at, id), where the previous claim of
        the same cycle ended, so a cycle over 100,000 does not walk past what it already holds.
        """
        now = time.time()
        params: list[Any] = [kind, now]
        if kind == NOTICE:
            params.append(since)
        if kind == HOOK:
            params.append(older_than if older_than is not None else now)
        if kind == POLL:
            params += list(after or (-1.0, -1))
        return [r["key"] for r in self._take(kind, params, limit, owner, now, now + lease)[0]]

    def claim_polls(self, owner: str, lease: float, limit: int, *, after: tuple[float, int] | None = None
                    ) -> list[TrackedMessage]:
        """:meth:`claim` of status polls, returning the claimed messages themselves: the rows are read by the
        claim's own statement, not fetched again by id (a second query per claim, 1.7 s of a 100,000-message
        cycle on PostgreSQL)."""
        while True:
            now = time.time()
            rows, last = self._take(POLL, [POLL, now, *(after or (-1.0, -1))], limit, owner, now, now + lease,
                                    messages=True)
            if rows or last is None:
                return [message_tuple(r) for r in rows]
            # every row found went to another instance between this claim's look and its lease (found free,
            # then their lease committed): an empty answer would end this instance's cycle with work left
            # (measured: one of two instances stopped early, the other polled most of 100,000 alone), so the
            # claim goes on from the last of them
            after = (last[_CREATED_AT], last[_ID])

    def _take(self, kind: str, params: list[Any], limit: int, owner: str, now: float, until: float, *,
              messages: bool = False) -> tuple[list[Any], Any]:
        """The candidate rows of ``kind`` now leased to ``owner``, oldest first (``messages``: tuples of the
        message's :data:`MESSAGE_COLUMNS`, the key first, for the kinds whose candidates are messages), and
        the last row found (None: no candidate at all)."""
        sql = _CANDIDATES[kind] + self._db.skip_locked
        with self._db.tx() as tx:
            for statement in self._db.claim_prelude:
                tx.run(statement)
            if messages:
                found: list[Any] = tx.tuples(sql.replace("SELECT m.id AS key", _MESSAGE_COLUMNS, 1), (*params, limit))
                keys = [r[0] for r in found]
            else:
                found = tx.all(sql, (*params, limit))
                keys = [r["key"] for r in found]
            if not found:
                return [], None
            taken = self._lease(tx, kind, keys, owner, now, until)
        if len(taken) == len(keys):
            return found, found[-1]
        held = set(taken)
        return [r for r, key in zip(found, keys, strict=True) if key in held], found[-1]

    def try_lease(self, kind: str, key: int, owner: str, lease: float) -> bool:
        """Take one key's lease (or renew it when ``owner`` holds it): a mutex across instances."""
        now = time.time()
        with self._db.tx() as tx:
            return bool(self._lease(tx, kind, [key], owner, now, now + lease, renew=True))

    @staticmethod
    def _lease(tx: Any, kind: str, keys: list[int], owner: str, now: float, until: float, *,
               renew: bool = False) -> list[int]:
        taken: list[int] = []
        if tx.engine == "postgresql":  # one set-based statement for the lot
            rows = tx.all("INSERT INTO leases (kind, key, owner, until) SELECT ?, k, ?, ? FROM unnest(?::bigint[]) AS k"
                          " ON CONFLICT (kind, key) DO UPDATE SET owner = excluded.owner, until = excluded.until"
                          " WHERE leases.until < ?" + (" OR leases.owner = ?" if renew else "") + " RETURNING key",
                          [kind, owner, until, int_array(keys), now]
                          + ([owner] if renew else []))
            got = {r["key"] for r in rows}
            return [k for k in keys if k in got]
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

    def drop_all(self) -> int:
        """Forget every lease: for a bot that holds the SQLite store's lock, any lease is a dead process's."""
        with self._db.tx() as tx:
            return tx.run("DELETE FROM leases")

    def release(self, kind: str, keys: Iterable[int], owner: str) -> None:
        """Give leases back (the work is done): the next claim, by anyone, need not wait for expiry."""
        rows = [(kind, key, owner) for key in keys]
        if rows:
            with self._db.tx() as tx:
                tx.many("DELETE FROM leases WHERE kind = ? AND key = ? AND owner = ?", rows)
