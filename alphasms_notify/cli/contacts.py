"""``alphasms contacts``: names (and other fields) for phones, kept in the store.

The bot names conversation topics after them (``Olena · +380 97 123 45 67``)
and ``send-template`` fills ``{name}`` and the other fields from them when a
row leaves a field out. An import is all or nothing: one bad row is named
(line and reason) and nothing is imported.
"""

from __future__ import annotations

from typing import Any

import click

from .output import EXIT_INVALID, Context, echo_results, fail

__all__ = ["contacts", "open_store"]


def open_store(ctx: Context, *, migrate: bool = True) -> Any:
    """The store of ``[store] url`` or ``path`` (or the default one), or one ``Error:`` line (never the password)."""
    from ..logs import RedactSecrets, safe_url
    from ..store import Store, default_store_path

    target = ctx.settings.store.target or str(default_store_path())
    try:
        return Store(target, migrate=migrate)
    except Exception as exc:  # sqlite3.Error, psycopg.Error, OSError: one line, not a traceback
        fail(RedactSecrets(ctx.settings.store.secrets()).redact(f"the store {safe_url(target)} cannot be used: {exc}"),
             EXIT_INVALID)


@click.group()
def contacts() -> None:
    """Contacts: names for phones, used by the bot's topics and by templates."""


@contacts.command(name="import")
@click.argument("csv_path", metavar="FILE.csv", type=click.Path(dir_okay=False, allow_dash=True))
@click.pass_obj
def import_contacts(ctx: Context, csv_path: str) -> None:
    """Add or update contacts from a CSV with columns phone,name (more columns are kept as fields)."""
    from ..phone import InvalidPhone, normalize_phone
    from ..store import Contact
    from .recipients import RecipientsError, read_recipients

    try:
        rows = read_recipients(csv_path, need_csv=True)
    except RecipientsError as exc:
        fail(str(exc), EXIT_INVALID)
    found: dict[int, Contact] = {}
    problems = []
    for line, row in enumerate(rows, start=2):  # line 1 is the header
        try:
            phone = normalize_phone(row.get("phone", ""))
        except InvalidPhone as exc:
            problems.append(f"row {line}: phone: {exc}")
            continue
        fields = {k: v for k, v in row.items() if k not in ("phone", "name") and v}
        found[phone] = Contact(phone, row.get("name") or None, fields)
    if problems:
        fail(f"{csv_path}: nothing imported; " + "; ".join(problems[:10])
             + (f"; and {len(problems) - 10} more" if len(problems) > 10 else ""), EXIT_INVALID)
    count = open_store(ctx).contacts.save(found.values())
    click.echo(f"{count} contact(s) imported")


@contacts.command(name="list")
@click.pass_obj
def list_contacts(ctx: Context) -> None:
    """Every contact: phone, name and fields."""
    people = open_store(ctx).contacts.all()
    if ctx.json:
        echo_results([{"phone": c.phone, "name": c.name, "fields": c.fields} for c in people])
        return
    for c in people:
        extra = "  " + ", ".join(f"{k}={v}" for k, v in c.fields.items()) if c.fields else ""
        click.echo(f"{c.phone}  {c.name or '-'}{extra}")
    if not people:
        click.echo("no contacts yet: alphasms contacts import FILE.csv", err=True)
