"""The operators' desk: canned answers (snippets) and the office hours' automatic answers given.

Kept in the store so every bot instance (and the CLI) shares them: a snippet added in one chat is
there for every operator; an automatic answer is given once per phone per closed period, whichever
instance sees the reply.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..db import Database

__all__ = ["Desk", "Snippet", "Said", "Claim"]


@dataclass(frozen=True)
class Snippet:
    name: str
    text: str
    created_by: str | None
    created_at: float


@dataclass(frozen=True)
class Said:
    """One line of a conversation: what was sent to the phone (``out``) or what it replied."""

    phone: int
    at: float
    out: bool
    text: str | None
    status: str | None  # of a sent message; None for a reply
    message_id: int


_SAID = ("SELECT m.phone AS phone, m.created_at AS at, 1 AS out, m.text AS text, m.status AS status, m.id AS mid"
         " FROM messages m WHERE {sent}"
         " UNION ALL SELECT m.phone AS phone, r.received_at AS at, 0 AS out, r.text AS text, NULL AS status,"
         " m.id AS mid FROM replies r JOIN messages m ON m.id = r.message_id WHERE {replied}"
         " ORDER BY at DESC LIMIT ?")


def _said(r: dict[str, Any]) -> Said:
    return Said(int(r["phone"]), float(r["at"]), bool(r["out"]), r["text"], r["status"], int(r["mid"]))


@dataclass(frozen=True)
class Claim:
    """An operator has this phone's conversation (until ``until``)."""

    chat_id: int
    phone: int
    operator_id: int
    operator_name: str
    until: float


def _claim(r: dict[str, Any]) -> Claim:
    return Claim(int(r["chat_id"]), int(r["phone"]), int(r["operator_id"]), r["operator_name"], float(r["until"]))


class Desk:
    def __init__(self, db: Database) -> None:
        self._db = db

    def save_snippet(self, name: str, text: str, created_by: str | None, at: float) -> bool:
        """Add or replace snippet ``name``; True when it is new."""
        with self._db.tx() as tx:
            existed = tx.one("SELECT 1 AS x FROM snippets WHERE name = ?", (name,)) is not None
            tx.run("INSERT INTO snippets (name, text, created_by, created_at) VALUES (?, ?, ?, ?) ON CONFLICT (name)"
                   " DO UPDATE SET text = excluded.text, created_by = excluded.created_by,"
                   " created_at = excluded.created_at", (name, text, created_by, at))
        return not existed

    def snippet(self, name: str) -> Snippet | None:
        row = self._db.one("SELECT * FROM snippets WHERE name = ?", (name,))
        return Snippet(row["name"], row["text"], row["created_by"], row["created_at"]) if row else None

    def snippets(self) -> list[Snippet]:
        return [Snippet(r["name"], r["text"], r["created_by"], r["created_at"])
                for r in self._db.all("SELECT * FROM snippets ORDER BY name")]

    def delete_snippet(self, name: str) -> bool:
        with self._db.tx() as tx:
            return tx.run("DELETE FROM snippets WHERE name = ?", (name,)) > 0

    def take_auto_reply(self, phone: int, period: str, at: float) -> bool:
        """Whether this phone is due the automatic answer of closed period ``period`` (once: True for one caller)."""
        with self._db.tx() as tx:
            return tx.run("INSERT INTO auto_replies (phone, period, at) VALUES (?, ?, ?)"
                          " ON CONFLICT (phone, period) DO NOTHING", (phone, period, at)) > 0

    def history(self, phone: int, limit: int = 15) -> list[Said]:
        """The phone's last ``limit`` messages both ways, oldest first."""
        rows = self._db.all(_SAID.format(sent="m.phone = ?", replied="m.phone = ?"), (phone, phone, limit))
        return [_said(r) for r in reversed(rows)]

    def find(self, text: str, limit: int = 20) -> list[Said]:
        """The newest messages and replies containing ``text`` (any case), newest first."""
        pattern = "%" + text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        like = "LOWER({0}) LIKE ? ESCAPE '\\'"
        rows = self._db.all(_SAID.format(sent=like.format("m.text"), replied=like.format("r.text")),
                            (pattern, pattern, limit))
        return [_said(r) for r in rows]

    def claim(self, chat_id: int, phone: int, operator_id: int, operator_name: str, until: float) -> None:
        """The operator has this conversation now (a claim of another is taken over: they asked)."""
        with self._db.tx() as tx:
            tx.run("INSERT INTO claims (chat_id, phone, operator_id, operator_name, until) VALUES (?, ?, ?, ?, ?)"
                   " ON CONFLICT (chat_id, phone) DO UPDATE SET operator_id = excluded.operator_id,"
                   " operator_name = excluded.operator_name, until = excluded.until",
                   (chat_id, phone, operator_id, operator_name, until))

    def unclaim(self, chat_id: int, phone: int) -> bool:
        with self._db.tx() as tx:
            return tx.run("DELETE FROM claims WHERE chat_id = ? AND phone = ?", (chat_id, phone)) > 0

    def claim_of(self, chat_id: int, phone: int, now: float) -> Claim | None:
        row = self._db.one("SELECT * FROM claims WHERE chat_id = ? AND phone = ? AND until > ?", (chat_id, phone, now))
        return _claim(row) if row else None

    def claims_of(self, chat_id: int, operator_id: int, now: float) -> list[Claim]:
        return [_claim(r) for r in self._db.all("SELECT * FROM claims WHERE chat_id = ? AND operator_id = ? AND"
                                                " until > ? ORDER BY until", (chat_id, operator_id, now))]

    def expired_claims(self, now: float) -> list[Claim]:
        """Claims whose time is over, taken out (their topics' titles lose the name), each by one caller."""
        with self._db.tx() as tx:
            rows = tx.all(f"SELECT * FROM claims WHERE until <= ?{self._db.for_update}", (now,))
            tx.run("DELETE FROM claims WHERE until <= ?", (now,))
        return [_claim(r) for r in rows]
