"""``alphasms optout``: the phones that must not get marketing messages (or any), kept in the store.

Every road reads the same list (the consent plugin, :mod:`alphasms_notify.consent`), so a phone added
here is refused by the next ``send``, template, campaign batch, Apprise notification and bot command.
``export`` writes the whole list as CSV, for a person's data request or another system.
"""

from __future__ import annotations

import csv
import datetime as dt
import sys
import time
from typing import Any

import click

from .contacts import open_store
from .output import EXIT_INVALID, Context, echo_results, fail

__all__ = ["optout"]

_FIELDS = ["phone", "scope", "since", "reason", "note"]


def _phone(value: str) -> int:
    from ..phone import InvalidPhone, normalize_phone

    try:
        return normalize_phone(value)
    except InvalidPhone as exc:
        fail(f"{value!r}: {exc}", EXIT_INVALID)


def _since(at: float) -> str:
    return dt.datetime.fromtimestamp(at, dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


@click.group()
def optout() -> None:
    """Opt-outs: phones that get no marketing messages (scope marketing) or none at all (scope all)."""


@optout.command()
@click.argument("phone")
@click.option("--scope", type=click.Choice(["marketing", "all"]), default="marketing", show_default=True,
              help="marketing: no marketing messages (service ones, such as codes, still go); all: none.")
@click.option("--note", help="Why, or who asked (kept with it, and exported).")
@click.pass_obj
def add(ctx: Context, phone: str, scope: str, note: str | None) -> None:
    """Opt PHONE out (an earlier opt-out keeps its date; --scope all widens it)."""
    number = _phone(phone)
    with open_store(ctx) as store:
        found = store.optouts.add(number, scope, "operator", time.time(), note)
    if ctx.json:
        echo_results([{"phone": found.phone, "scope": found.scope, "since": found.at, "reason": found.reason}])
    else:
        click.echo(f"+{found.phone} opted out of {'marketing messages' if found.scope == 'marketing' else 'all'}"
                   f" since {_since(found.at)}")


@optout.command()
@click.argument("phone")
@click.pass_obj
def remove(ctx: Context, phone: str) -> None:
    """Opt PHONE back in (only when the person asked for it again)."""
    number = _phone(phone)
    with open_store(ctx) as store:
        gone = store.optouts.remove(number)
    if not gone:
        fail(f"+{number} is not opted out", EXIT_INVALID)
    click.echo(f"+{number} opted back in")


@optout.command(name="list")
@click.pass_obj
def list_optouts(ctx: Context) -> None:
    """Every opt-out: phone, scope, since when, why."""
    with open_store(ctx) as store:
        found = store.optouts.all()
    if ctx.json:
        echo_results([{"phone": o.phone, "scope": o.scope, "since": o.at, "reason": o.reason, "note": o.note}
                      for o in found])
        return
    for o in found:
        click.echo(f"+{o.phone}  {o.scope}  since {_since(o.at)}  {o.reason}" + (f"  {o.note}" if o.note else ""))


@optout.command(name="import")
@click.argument("csv_path", type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--scope", type=click.Choice(["marketing", "all"]), default="marketing", show_default=True,
              help="For rows without a scope column.")
@click.pass_obj
def import_optouts(ctx: Context, csv_path: str, scope: str) -> None:
    """Opt out every phone of a CSV (a 'phone' column; 'scope' and 'note' optional) or of a list of phones, one
    a line ('-': standard input). One bad row: none added."""
    from ..phone import InvalidPhone, normalize_phone
    from .recipients import RecipientsError, read_recipients

    try:
        found = read_recipients(csv_path)  # the file's reading, its errors and its lines, as send --to-file's
    except RecipientsError as exc:
        fail(f"{exc}; nothing imported", EXIT_INVALID)
    rows: list[tuple[int, str, str | None]] = []
    for row in found:
        where = f"{'standard input' if csv_path == '-' else csv_path}: line {row.line}"
        try:
            number = normalize_phone(row.get("phone") or "")
        except InvalidPhone as exc:
            fail(f"{where}: {exc}; nothing imported", EXIT_INVALID)
        wanted = (row.get("scope") or scope).strip()
        if wanted not in ("marketing", "all"):
            fail(f"{where}: scope must be marketing or all, not {wanted!r}; nothing imported", EXIT_INVALID)
        rows.append((number, wanted, row.get("note") or None))
    with open_store(ctx) as store:
        now = time.time()
        for number, wanted, note in rows:
            store.optouts.add(number, wanted, "import", now, note)
    click.echo(f"{len(rows)} phone(s) opted out")


@optout.command(name="export")
@click.argument("csv_path", type=click.Path(dir_okay=False, writable=True, allow_dash=True), default="-")
@click.pass_obj
def export_optouts(ctx: Context, csv_path: str) -> None:
    """Write every opt-out as CSV (phone, scope, since, reason, note) to CSV_PATH ('-', the default: stdout).

    The file holds personal data: it is made readable by its owner only."""
    from ..store import create_private

    with open_store(ctx) as store:
        found = store.optouts.all()
    rows: list[list[Any]] = [[o.phone, o.scope, _since(o.at), o.reason, o.note or ""] for o in found]
    if csv_path == "-":
        out = csv.writer(sys.stdout)
        out.writerow(_FIELDS)
        out.writerows(rows)
        return
    create_private(csv_path)
    with open(csv_path, "w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(_FIELDS)
        out.writerows(rows)
    click.echo(f"{len(rows)} opt-out(s) written to {csv_path}", err=True)
