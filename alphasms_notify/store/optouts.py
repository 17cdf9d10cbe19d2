"""Opt-outs: the phones that must not get marketing messages (``marketing``) or any (``all``).

One row a phone: since when, why (``reply``, ``operator``, ``import``, ``unsubscribe``), a note (the
reply's text, who), and the id of the confirmation a STOP reply gets (drawn once, so a resend after a
crash is the same message, which the provider takes once). Every change bumps a version, so a sender
that keeps the list in memory knows when to read it again without reading it all each time.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ..db import Database
from ..sqltext import int_among

__all__ = ["OptOuts", "OptOut", "SCOPES", "REASONS"]

SCOPES = ("marketing", "all")
REASONS = ("reply", "operator", "import", "unsubscribe")


@dataclass(frozen=True)
class OptOut:
    phone: int
    scope: str  # marketing: no marketing messages; all: none at all
    at: float
    reason: str
    note: str | None = None
    confirm_id: int | None = None  # the STOP confirmation's message id
    confirmed_at: float | None = None  # when the provider accepted it

    def blocks(self, category: str) -> bool:
        """Whether this opt-out stops a message of ``category`` (``service`` passes a ``marketing`` one)."""
        return self.scope == "all" or category == "marketing"


def _row(r: dict[str, Any]) -> OptOut:
    return OptOut(int(r["phone"]), r["scope"], float(r["at"]), r["reason"], r["note"], r["confirm_id"],
                  r["confirmed_at"])


class OptOuts:
    def __init__(self, db: Database) -> None:
        self._db = db

    def add(self, phone: int, scope: str, reason: str, at: float, note: str | None = None,
            confirm_id: int | None = None) -> OptOut:
        """Opt ``phone`` out (a wider scope replaces a narrower one; an earlier opt-out keeps its date and its
        confirmation); the row as it is now."""
        if scope not in SCOPES or reason not in REASONS:
            raise ValueError(f"scope must be one of {SCOPES} and reason one of {REASONS}")
        with self._db.tx() as tx:
            found = tx.one(f"SELECT * FROM optouts WHERE phone = ?{self._db.for_update}", (phone,))
            if found is None:
                tx.run("INSERT INTO optouts (phone, scope, at, reason, note, confirm_id) VALUES (?, ?, ?, ?, ?, ?)",
                       (phone, scope, at, reason, note, confirm_id))
                self._bump(tx)
            elif scope == "all" and found["scope"] != "all":
                tx.run("UPDATE optouts SET scope = 'all', reason = ?, note = ? WHERE phone = ?", (reason, note, phone))
                self._bump(tx)
            row = tx.one("SELECT * FROM optouts WHERE phone = ?", (phone,))
        assert row is not None
        return _row(row)

    def remove(self, phone: int) -> bool:
        with self._db.tx() as tx:
            gone = tx.run("DELETE FROM optouts WHERE phone = ?", (phone,)) > 0
            if gone:
                self._bump(tx)
        return gone

    def confirmed(self, phone: int, at: float) -> None:
        with self._db.tx() as tx:
            tx.run("UPDATE optouts SET confirmed_at = ? WHERE phone = ?", (at, phone))

    def unconfirmed(self, since: float) -> list[OptOut]:
        """STOP replies since ``since`` whose confirmation was drawn and not (yet) accepted."""
        return [_row(r) for r in self._db.all("SELECT * FROM optouts WHERE confirm_id IS NOT NULL AND"
                                              " confirmed_at IS NULL AND at >= ? ORDER BY at", (since,))]

    def get(self, phone: int) -> OptOut | None:
        row = self._db.one("SELECT * FROM optouts WHERE phone = ?", (phone,))
        return _row(row) if row else None

    def among(self, phones: Iterable[int]) -> dict[int, OptOut]:
        """The opt-outs of these phones (a campaign's batch), by phone."""
        wanted, found = list(dict.fromkeys(phones)), {}
        for among, args in int_among(self._db.engine, "phone", wanted):
            for r in self._db.all(f"SELECT * FROM optouts WHERE {among}", args):
                found[int(r["phone"])] = _row(r)
        return found

    def all(self) -> list[OptOut]:
        return [_row(r) for r in self._db.all("SELECT * FROM optouts ORDER BY at, phone")]

    def version(self) -> int:
        row = self._db.one("SELECT v FROM optouts_version WHERE id = 1")
        return int(row["v"]) if row else 0

    @staticmethod
    def _bump(tx: Any) -> None:
        tx.run("UPDATE optouts_version SET v = v + 1 WHERE id = 1")
