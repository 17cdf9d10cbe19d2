"""How a batch becomes few statements: many rows in one INSERT, a list of numbers in one condition.

The store hands an engine one statement and many rows; sent as they are, the
engine runs the statement once a row. What each engine takes instead is
written here, apart from the connections that run it (``db``): SQLite a
statement of many rows of values, PostgreSQL one JSON text of every row and
one array text of every number. Text PostgreSQL would refuse (NUL) keeps its
place as U+FFFD.
"""

from __future__ import annotations

import math
import re
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

__all__ = ["MAX_VARIABLES", "int_among", "int_array", "json_insert", "no_nul", "rows_of_values"]

MAX_VARIABLES = 32766 if sqlite3.sqlite_version_info >= (3, 32, 0) else 999  # SQLite's limit on ? in a statement

# an INSERT of one row of values (no parentheses inside them), and what follows it (ON CONFLICT ...)
_VALUES = re.compile(r"(INSERT\s.*?\bVALUES\s*)(\([^()]*\))(\s+ON\s+CONFLICT\b.*|\s*)", re.DOTALL | re.IGNORECASE)
# the same with named columns and only placeholders
_INSERT = re.compile(r"INSERT\s+INTO\s+(\w+)\s*\(([^()]*)\)\s*VALUES\s*\(([?,\s]*)\)(\s+ON\s+CONFLICT\b.*|\s*)",
                     re.DOTALL | re.IGNORECASE)
_DO_NOTHING = re.compile(r"\bDO\s+NOTHING\s*$", re.IGNORECASE)


def no_nul(text: str) -> str:
    """``text`` as PostgreSQL can keep it: each NUL (which it refuses in text) becomes U+FFFD."""
    return text.replace("\x00", "\ufffd") if "\x00" in text else text


def rows_of_values(sql: str, rows: Sequence[Sequence[Any]]) -> Iterator[tuple[str, list[Any]]] | None:
    """SQLite: ``INSERT ... VALUES (...)`` for each row as statements of as many rows as its limit on
    placeholders allows (None: not such an INSERT). SQLite resolves a key given twice in one statement row
    after row, as ``executemany`` does."""
    found = _VALUES.fullmatch(sql.strip())
    width = len(rows[0]) if rows else 0
    if found is None or not width or found.group(2).count("?") != width:
        return None
    head, group, tail = found.groups()
    per = max(1, MAX_VARIABLES // width)
    return ((f"{head}{', '.join([group] * len(chunk))}{tail}", [v for row in chunk for v in row])
            for chunk in (rows[start:start + per] for start in range(0, len(rows), per)))


def json_insert(sql: str, rows: Sequence[Sequence[Any]]) -> tuple[str, str] | None:
    """PostgreSQL: ``INSERT INTO t (columns) VALUES (?, ...)`` for each row as one statement reading every row
    from one JSON text, (statement with a ``%s``, the text); None when the rows must go one by one: not such
    an INSERT, an upsert (two rows of one key in one statement are an error there, not the later winning),
    or a value JSON would change."""
    import orjson

    found = _INSERT.fullmatch(sql.strip())
    if found is None or not rows:
        return None
    table, columns, marks, tail = found.groups()
    names = [c.strip() for c in columns.split(",")]
    if (marks.count("?") != len(names) or len(rows[0]) != len(names)
            or not all(name.isidentifier() for name in (table, *names))
            or (tail.strip() and not _DO_NOTHING.search(tail))):
        return None
    try:
        text = orjson.dumps([dict(zip(names, map(_json_value, row), strict=True)) for row in rows])
    except TypeError:
        return None
    listed = ", ".join(names)
    return (f"INSERT INTO {table} ({listed}) SELECT {listed} FROM json_populate_recordset(NULL::{table}, %s::json)"
            f"{tail}", text.decode())


def _json_value(value: Any) -> Any:
    """A value as json_populate_recordset reads it into its column: text without NUL, a bool as 0 or 1.
    Anything JSON would change (NaN and infinities become null, a list an array) raises TypeError."""
    if isinstance(value, str):
        return no_nul(value)
    if value is None or type(value) is int:
        return value
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, float) and math.isfinite(value):
        return value
    raise TypeError(f"{type(value).__name__} {value!r} as JSON")


def int_array(values: Iterable[int]) -> str:
    """PostgreSQL's text of an array of these integers, joined in C (psycopg's list dumper walks a list in
    Python, one value at a time)."""
    return "{" + ",".join(map(str, map(int, values))) + "}"


def int_among(engine: str, column: str, values: Sequence[int]) -> Iterator[tuple[str, list[Any]]]:
    """``column`` among these integers, as (condition, its arguments) for each statement needed. On
    PostgreSQL one statement with the numbers as one array text: lists of 500 placeholders were parsed and
    planned one statement each and their values passed one by one (a campaign's claims and settles, 19 us a
    row, were half of a 50,000-recipient run there). The array takes the column's own type (psycopg passes
    text as of unknown type): an INTEGER column against a bigint array is compared without hashing, 8,000
    values against every row (2.4 s a claim, measured). SQLite takes them 500 at a time, under any build's
    limit on placeholders. No values: no statement."""
    if engine == "postgresql":
        if values:
            yield f"{column} = ANY(?)", [int_array(values)]
        return
    for start in range(0, len(values), 500):
        chunk = list(values[start:start + 500])
        yield f"{column} IN ({', '.join('?' * len(chunk))})", chunk
