"""Recipients from a file or standard input: one phone per line, or a CSV with a ``phone`` column.

Used by ``send --to-file`` and ``send-template --csv``. A CSV's other columns
become template fields; blank lines and ``#`` comments in a plain list are
skipped. Bytes that are not UTF-8 are refused with the line they are on.
"""

from __future__ import annotations

import csv
import io
import sys
from pathlib import Path

__all__ = ["RecipientsError", "Row", "read_recipients", "read_text_argument", "by_number", "first_of_each",
           "unique_phones", "warn_given_again", "warn_each"]


class RecipientsError(ValueError):
    """The recipients cannot be read; the text names the file, the line and the reason."""


class Row(dict[str, str]):
    """One recipient's fields, and ``line``: where it is in its file, for messages that name it."""

    line: int | None = None


def _row(fields: dict[str, str], line: int) -> Row:
    row = Row(fields)
    row.line = line
    return row


def _read(source: str) -> tuple[str, str]:
    """(text, name) of a file, or of standard input for ``-``."""
    name = "standard input" if source == "-" else source
    try:
        raw = sys.stdin.buffer.read() if source == "-" else Path(source).read_bytes()
    except OSError as exc:
        raise RecipientsError(f"{name}: cannot be read: {exc.strerror or exc}") from None
    try:
        return raw.decode("utf-8-sig"), name
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise RecipientsError(f"{name}: line {line} is not valid UTF-8") from None


def read_recipients(source: str, *, need_csv: bool = False) -> list[Row]:
    """Rows with at least ``phone``: from a CSV with a ``phone`` header, else one phone per line."""
    text, name = _read(source)
    first = next((line for line in text.splitlines() if line.strip()), "")
    header = [cell.strip().lower() for cell in next(csv.reader([first]), [])] if first else []
    if "phone" in header:
        reader = csv.DictReader(io.StringIO(text))
        reader.fieldnames = [f.strip() for f in reader.fieldnames or []]
        rows = [_row({k.strip().lower() if k.strip().lower() == "phone" else k: (v or "").strip()
                      for k, v in row.items() if k is not None}, reader.line_num) for row in reader]
        rows = [row for row in rows if any(row.values())]
    elif need_csv:
        raise RecipientsError(f"{name}: the CSV needs a header row with a 'phone' column")
    else:
        rows = [_row({"phone": line.strip()}, number) for number, line in enumerate(text.splitlines(), 1)
                if line.strip() and not line.lstrip().startswith("#")]
    if not rows:
        raise RecipientsError(f"{name}: no recipients in it")
    return rows


def by_number(phones: list[str]) -> dict[int, list[int]]:
    """The positions in ``phones`` of each number, however it was written (``0971234567`` and
    ``+380 97 123 45 67`` are one phone); what is not a phone is left out, for the checks to name it."""
    from ..phone import InvalidPhone, normalize_phone

    found: dict[int, list[int]] = {}
    for index, phone in enumerate(phones):
        try:
            found.setdefault(normalize_phone(phone), []).append(index)
        except InvalidPhone:
            continue
    return found


def first_of_each(phones: list[str]) -> tuple[list[int], dict[int, list[str]]]:
    """The positions in ``phones`` to keep, each number once (its first spelling, in order), and the numbers
    given more than once with how each was written: one phone written two ways is billed once. What is not
    a phone is kept, for the checks to name it."""
    numbers = by_number(phones)
    later = {i for at in numbers.values() for i in at[1:]}
    kept = [i for i in range(len(phones)) if i not in later]
    return kept, {number: [phones[i] for i in at] for number, at in numbers.items() if len(at) > 1}


def unique_phones(phones: list[str]) -> tuple[list[str], dict[int, list[str]]]:
    """``phones`` with each number once, and the repeats (see :func:`first_of_each`)."""
    kept, repeated = first_of_each(phones)
    return [phones[i] for i in kept], repeated


def warn_given_again(repeated: dict[int, list[str]]) -> None:
    """Name each phone given more than once (as :func:`first_of_each` found them): it gets one message."""
    warn_each([f"+{number} is given {len(given)} times ({', '.join(dict.fromkeys(given))}): it gets one message"
               for number, given in repeated.items()], "{n} more phones given more than once")


def warn_each(lines: list[str], more: str, limit: int = 20) -> None:
    """Up to ``limit`` warnings, then one saying how many more (``more`` has ``{n}``): a list of 10,000
    recipients must not bury the command's own output."""
    import click

    for line in lines[:limit]:
        click.echo(f"warning: {line}", err=True)
    if len(lines) > limit:
        click.echo(f"warning: ... and {more.format(n=len(lines) - limit)}", err=True)


def read_text_argument(text: str) -> str:
    """TEXT as given, or standard input for ``-`` (a trailing new line dropped), so ``-`` is never sent."""
    if text != "-":
        return text
    value, _ = _read("-")
    return value[:-1] if value.endswith("\n") else value
