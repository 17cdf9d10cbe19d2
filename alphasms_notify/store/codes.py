"""Verification codes: only their keyed hashes, expiry and attempts (see alphasms_notify.verify)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..db import Database

__all__ = ["Codes"]


class Codes:
    """Pending codes per phone, and when codes were sent (for the rate limits)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def get(self, phone: int) -> dict[str, Any] | None:
        return self._db.one("SELECT * FROM verifications WHERE phone = ?", (phone,))

    def sends_since(self, phone: int, since: float) -> list[float]:
        """When codes were sent to ``phone`` since ``since``, oldest first."""
        rows = self._db.all("SELECT at FROM verification_sends WHERE phone = ? AND at >= ? ORDER BY at",
                            (phone, since))
        return [r["at"] for r in rows]

    def save(self, phone: int, code_hash: str, salt: str, via: str, now: float, expires_at: float
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

    def check(self, phone: int, now: float, max_attempts: int,
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

    def forget(self, phone: int) -> None:
        with self._db.tx() as tx:
            tx.run("DELETE FROM verifications WHERE phone = ?", (phone,))
