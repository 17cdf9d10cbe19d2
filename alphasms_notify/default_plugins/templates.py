"""Message templates: ``{name}``-style fields filled in per recipient (a built-in plugin).

Two ways in:

* ``alphasms send-template --csv people.csv "Hi {name}, your order {order} is ready"``
  sends one message per CSV row; the ``phone`` column is the recipient and
  every other column is a field.
* Library use: put the fields in ``message.meta["fields"]`` and the text is
  rendered in ``alphasms_prepare_message`` just before validation.

A field the text uses but the row lacks is taken from the phone's contact
(``alphasms contacts import``: its name and other fields), when it has one;
otherwise it stops that message with a clear reason (``MessageRejected``)
instead of sending "Hi {name}".
"""

from __future__ import annotations

import string
from typing import Any

import click

from ..errors import MessageRejected, ValidationError
from ..hookspecs import hookimpl

_FORMATTER = string.Formatter()


def render(text: str, fields: dict[str, Any]) -> str:
    """Fill ``{field}`` placeholders; raise MessageRejected naming a missing one."""
    try:
        names = {name for _, name, _, _ in _FORMATTER.parse(text) if name}
    except ValueError as exc:
        raise MessageRejected(f"template is malformed: {exc}", field="text") from None
    missing = sorted(n for n in names if fields.get(n) in (None, ""))
    if missing:
        raise MessageRejected(f"template field(s) {', '.join(missing)} have no value", field="text")
    return text.format_map(fields)


@hookimpl
def alphasms_prepare_message(message) -> None:
    fields = message.meta.get("fields")
    if fields is None:
        return
    for attr in ("text", "sms_text"):
        value = getattr(message, attr, None)
        if value:
            setattr(message, attr, render(value, fields))


@hookimpl
def alphasms_register_cli_commands(cli: click.Group) -> None:
    @cli.command(name="send-template")
    @click.option("--csv", "csv_path", required=True, type=click.Path(dir_okay=False, allow_dash=True),
                  help="CSV with a 'phone' column and one column per template field ('-': standard input).")
    @click.option("--channel", type=click.Choice(["sms", "viber", "viber+sms"]), default="sms", show_default=True)
    @click.option("--yes", "-y", is_flag=True, help="Do not ask before a large send.")
    @click.option("--verbose", "-v", is_flag=True, help="A line for every row (by default, past 20: a summary).")
    @click.argument("template")
    @click.pass_context
    def send_template(ctx: click.Context, csv_path: str, channel: str, yes: bool, verbose: bool,
                      template: str) -> None:
        """Send TEMPLATE to every row of --csv, with {column} fields filled in per row."""
        from ..cli.output import EXIT_INVALID, fail, invalid
        from ..cli.recipients import RecipientsError, read_recipients
        from ..cli.sending import bulk_mode, send_and_report
        from ..messages import build

        with bulk_mode():
            try:
                rows = read_recipients(csv_path, need_csv=True)
            except RecipientsError as exc:
                fail(str(exc), EXIT_INVALID)
            rows = with_contacts(ctx.obj.settings, rows)
            try:
                messages = [m for row in rows for m in build(channel, row["phone"] or "", template,
                                                             meta={"fields": row, "source": "template"})]
            except ValidationError as exc:
                invalid(ctx.obj, exc)
            send_and_report(ctx.obj, messages, yes=yes, summary=f"template to {len(messages)} recipient(s)",
                            describe=lambda o: f"sent {o.message.phone}: {o.message.text}", verbose=verbose)


def with_contacts(settings: Any, rows: list[dict[str, str]]) -> list[dict[str, str]]:
    """Each row's empty or missing fields filled from its phone's contact (the row wins where it has a value)."""
    from pathlib import Path

    from ..phone import InvalidPhone, normalize_phone
    from ..store import Store, default_store_path

    target = settings.store.target or default_store_path()
    if not settings.store.url and not Path(target).exists():
        return rows
    store = Store(target)
    try:
        known = {c.phone: c for c in store.contacts()}
    finally:
        store.close()
    if not known:
        return rows
    filled = []
    for row in rows:
        try:
            contact = known.get(normalize_phone(row.get("phone") or ""))
        except InvalidPhone:
            contact = None  # reported by the checks, with its row
        if contact is not None:
            base = {**contact.fields, **({"name": contact.name} if contact.name else {})}
            row = {**base, **{k: v for k, v in row.items() if v}}
        filled.append(row)
    return filled
