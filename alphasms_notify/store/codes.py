"""Verification codes: only their keyed hashes, expiry and attempts, and the sends and checks the limits count
(see alphasms_notify.verify)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..db import Database, Tx

__all__ = ["Codes", "Limits"]

HOUR = 3600.0
_LOCK = 0x616C7068_7666  # pg_advisory_xact_lock key: the limits are counted and claimed one at a time


@dataclass(frozen=True)
class Limits:
    """How many codes may go out: per phone (with a cooldown between two), per caller, and in all, an hour."""

    cooldown: float
    phone_hourly: int
    caller_hourly: int
    global_hourly: int


class Codes:
    """Pending codes per phone, and the sends and checks counted for the rate limits."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def get(self, phone: int) -> dict[str, Any] | None:
        return self._db.one("SELECT * FROM verifications WHERE phone = ?", (phone,))

    def sends_since(self, phone: int, since: float) -> list[float]:
        """When codes were sent to ``phone`` since ``since``, oldest first."""
        rows = self._db.all("SELECT at FROM verification_sends WHERE phone = ? AND at >= ? ORDER BY at",
                            (phone, since))
        return [r["at"] for r in rows]

    def _serialize(self, tx: Tx) -> None:
        """Count-then-claim as one step across processes: SQLite's BEGIN IMMEDIATE already is; PostgreSQL
        takes a transaction-scoped advisory lock."""
        if self._db.engine == "postgresql":
            tx.one("SELECT pg_advisory_xact_lock(?) AS locked", (_LOCK,))

    def reserve(self, phone: int, caller: str | None, now: float, limits: Limits) -> tuple[str, float]:
        """Claim one send for ``phone`` (asked by ``caller``) if no limit forbids it: ("ok", 0), or the limit
        that applied and the seconds until it allows another (``cooldown``, ``phone``, ``caller``, ``global``).

        Counted and claimed in one transaction, one at a time: two processes asking at once for 50 phones
        between them cannot get past a limit together. A claimed send that did not go out is given back
        with :meth:`release`.
        """
        since = now - HOUR
        with self._db.tx() as tx:
            self._serialize(tx)
            sent = [r["at"] for r in tx.all("SELECT at FROM verification_sends WHERE phone = ? AND at >= ?"
                                            " ORDER BY at", (phone, since))]
            if sent and now - sent[-1] < limits.cooldown:
                return "cooldown", limits.cooldown - (now - sent[-1])
            if len(sent) >= limits.phone_hourly:
                return "phone", sent[0] + HOUR - now
            if caller is not None:
                by_caller = tx.all("SELECT at FROM verification_sends WHERE caller = ? AND at >= ? ORDER BY at",
                                   (caller, since))
                if len(by_caller) >= limits.caller_hourly:
                    return "caller", by_caller[-limits.caller_hourly]["at"] + HOUR - now
            everyone = tx.all("SELECT at FROM verification_sends WHERE at >= ? ORDER BY at DESC LIMIT ?",
                              (since, limits.global_hourly))
            if len(everyone) >= limits.global_hourly:
                return "global", everyone[-1]["at"] + HOUR - now
            tx.run("INSERT INTO verification_sends (phone, at, caller) VALUES (?, ?, ?)", (phone, now, caller))
            tx.run("DELETE FROM verification_sends WHERE at < ?", (now - 2 * HOUR,))
        return "ok", 0.0

    def release(self, phone: int, at: float) -> None:
        """Give back a send claimed at ``at`` that did not go out (the provider refused it, or was down)."""
        with self._db.tx() as tx:
            tx.run("DELETE FROM verification_sends WHERE phone = ? AND at = ?", (phone, at))

    def save(self, phone: int, code_hash: str, salt: str, via: str, now: float, expires_at: float) -> None:
        """A new code for ``phone``, replacing any earlier one (which stops working)."""
        with self._db.tx() as tx:
            tx.run("INSERT INTO verifications (phone, code_hash, salt, via, created_at, expires_at, attempts)"
                   " VALUES (?, ?, ?, ?, ?, ?, 0) ON CONFLICT (phone) DO UPDATE SET code_hash = excluded.code_hash,"
                   " salt = excluded.salt, via = excluded.via, created_at = excluded.created_at,"
                   " expires_at = excluded.expires_at, attempts = 0, canceled_at = NULL",
                   (phone, code_hash, salt, via, now, expires_at))

    def count_check(self, caller: str, now: float, hourly: int) -> bool:
        """Count one check by ``caller``, if it made fewer than ``hourly`` in the last hour (else False)."""
        with self._db.tx() as tx:
            self._serialize(tx)
            row = tx.one("SELECT COUNT(*) AS n FROM verification_checks WHERE caller = ? AND at >= ?",
                         (caller, now - HOUR))
            if row is not None and row["n"] >= hourly:
                return False
            tx.run("INSERT INTO verification_checks (caller, at) VALUES (?, ?)", (caller, now))
            tx.run("DELETE FROM verification_checks WHERE at < ?", (now - 2 * HOUR,))
        return True

    def check(self, phone: int, now: float, max_attempts: int,
              matches: Callable[[dict[str, Any]], bool]) -> tuple[str, int]:
        """Check a code for ``phone`` in one transaction: (verdict, attempts so far).

        Verdicts: ``none`` (no pending code), ``canceled``, ``expired``, ``locked`` (no attempts left),
        ``approved`` (the code is used up) or ``wrong`` (the attempt is counted). The row is
        locked while ``matches`` looks at it, so of two checks at once, on any processes, one
        sees the code and the other sees it gone, and no more than ``max_attempts`` are judged.
        """
        with self._db.tx() as tx:
            row = tx.one("SELECT * FROM verifications WHERE phone = ?" + self._db.for_update, (phone,))
            if row is None:
                return "none", 0
            if row["canceled_at"] is not None:
                return "canceled", row["attempts"]
            if now > row["expires_at"]:
                return "expired", row["attempts"]
            if row["attempts"] >= max_attempts:
                return "locked", row["attempts"]
            if matches(row):
                tx.run("DELETE FROM verifications WHERE phone = ?", (phone,))
                return "approved", row["attempts"]
            tx.run("UPDATE verifications SET attempts = attempts + 1 WHERE phone = ?", (phone,))
            return "wrong", row["attempts"] + 1

    def cancel(self, phone: int, now: float) -> bool:
        """Void the pending code of ``phone`` (a check then says ``canceled``); False if there was none."""
        with self._db.tx() as tx:
            return tx.run("UPDATE verifications SET canceled_at = ? WHERE phone = ? AND canceled_at IS NULL"
                          " AND expires_at >= ?", (now, phone, now)) > 0
