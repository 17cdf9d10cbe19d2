"""Which of several bot instances on one PostgreSQL polls Telegram: the holder of an advisory lock.

Telegram lets one ``getUpdates`` caller per bot at a time, so with polling
(not a webhook) one instance polls and the others only share the store's
work. The lock belongs to a database session: when the polling instance
dies its session ends and the lock is free. Every instance tries again every
``LEADER_RETRY`` seconds, so another takes over within that time after the
server notices the session gone: at once when the process dies (its socket
closes), within the TCP keepalive time (``KEEPALIVE`` below, about 20 s)
when the whole host is lost.
"""

from __future__ import annotations

import logging
from typing import Any

__all__ = ["PollingLeader", "LEADER_RETRY"]

log = logging.getLogger(__name__)
LEADER_RETRY = 2.0
LOCK_KEY = 0x616C706861746731  # "alphatg1": the getUpdates lock
KEEPALIVE: dict[str, Any] = {"keepalives": 1, "keepalives_idle": 10, "keepalives_interval": 3, "keepalives_count": 3}


class PollingLeader:
    """Hold (or wait for) the getUpdates lock on a connection of its own, outside the pool."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._conn: Any = None

    @property
    def held(self) -> bool:
        return self._conn is not None

    def try_acquire(self) -> bool:
        """True when this instance holds the lock now (taken, or still held)."""
        import psycopg

        if self._conn is not None:
            return self.still_held()
        try:
            conn = psycopg.connect(self.url, autocommit=True, application_name="alphasms-notify leader",
                                   connect_timeout=10, **KEEPALIVE)
        except psycopg.Error as exc:
            log.warning("cannot reach PostgreSQL to ask who polls Telegram: %s", type(exc).__name__)
            return False
        row = conn.execute("SELECT pg_try_advisory_lock(%s)", (LOCK_KEY,)).fetchone()
        got = bool(row and row[0])
        if not got:
            conn.close()
            return False
        self._conn = conn
        return True

    def still_held(self) -> bool:
        """Whether the session holding the lock is alive (if not, the lock is gone: stop polling)."""
        import psycopg

        if self._conn is None:
            return False
        try:
            self._conn.execute("SELECT 1")
            return True
        except psycopg.Error:
            self.release()
            return False

    def release(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            finally:
                self._conn = None
