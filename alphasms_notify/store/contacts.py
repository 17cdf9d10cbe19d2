"""Contacts: a name and fields per phone, for topic names and templates."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable

from ..db import Database
from .records import Contact, contact_row

__all__ = ["Contacts"]


class Contacts:
    """``alphasms contacts import`` writes them; topics and templates read them."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def save(self, contacts: Iterable[Contact]) -> int:
        """Add or update contacts (name and fields replaced for each phone given); one transaction."""
        rows = [(c.phone, c.name, json.dumps(c.fields, ensure_ascii=False), time.time()) for c in contacts]
        with self._db.tx() as tx:
            tx.many("INSERT INTO contacts (phone, name, fields, updated_at) VALUES (?, ?, ?, ?)"
                    " ON CONFLICT (phone) DO UPDATE SET name = excluded.name, fields = excluded.fields,"
                    " updated_at = excluded.updated_at", rows)
        return len(rows)

    def set_name(self, phone: int, name: str) -> None:
        with self._db.tx() as tx:
            tx.run("INSERT INTO contacts (phone, name, fields, updated_at) VALUES (?, ?, '{}', ?)"
                   " ON CONFLICT (phone) DO UPDATE SET name = excluded.name, updated_at = excluded.updated_at",
                   (phone, name, time.time()))

    def get(self, phone: int) -> Contact | None:
        row = self._db.one("SELECT * FROM contacts WHERE phone = ?", (phone,))
        return contact_row(row) if row else None

    def all(self) -> list[Contact]:
        return [contact_row(r) for r in self._db.all("SELECT * FROM contacts ORDER BY name, phone")]
