"""``alphasms send-template``: one message per CSV row, ``{column}`` fields filled in per row.

Every row is rendered (by :mod:`alphasms_notify.templates`) before anything is
sent: one row that cannot be, and nothing goes, since sending the others would
make a rerun send them twice. A field the row leaves empty is taken from the
phone's contact (``alphasms contacts import``) when it has one.
"""

from __future__ import annotations

from typing import Any

import click

from ..channels import Channel
from ..errors import MessageRejected, ValidationError
from ..templates import TemplateError, parse, render
from .senders import message_extras, message_options, sender_options, senders_for

__all__ = ["send_template", "with_contacts", "warn_repeated_phones"]

@click.command(name="send-template")
@click.option("--csv", "csv_path", required=True, type=click.Path(dir_okay=False, allow_dash=True),
              help="CSV with a 'phone' column and one column per template field ('-': standard input).")
@click.option("--channel", type=click.Choice(["sms", "viber", "viber+sms"]), default="sms", show_default=True)
@sender_options
@message_options("marketing")
@click.option("--yes", "-y", is_flag=True, help="Do not ask before a large send.")
@click.option("--verbose", "-v", is_flag=True, help="A line for every row (by default, past 20: a summary).")
@click.argument("template")
@click.pass_context
def send_template(ctx: click.Context, /, csv_path: str, channel: Channel, yes: bool, verbose: bool,
                  template: str, **senders: Any) -> None:
    """Send TEMPLATE to every row of --csv, with {column} fields filled in per row ('-': standard input).

    A field is a column's name in braces, {name}; {{ and }} are braces. Every row is
    rendered before anything is sent: one row that cannot be, and nothing goes.
    """
    from ..messages import build
    from .output import EXIT_INVALID, fail, invalid
    from .recipients import RecipientsError, read_recipients, read_text_argument
    from .sending import bulk_mode, send_and_report

    if template == "-" and csv_path == "-":
        fail("TEMPLATE and --csv cannot both come from standard input", EXIT_INVALID)
    try:
        template = read_text_argument(template)
        parse(template)
    except RecipientsError as exc:
        fail(str(exc), EXIT_INVALID)
    except TemplateError as exc:
        fail(exc.reason, EXIT_INVALID)
    with bulk_mode():
        try:
            rows = read_recipients(csv_path, need_csv=True)
        except RecipientsError as exc:
            fail(str(exc), EXIT_INVALID)
        lines = [getattr(row, "line", None) for row in rows]
        filled = with_contacts(ctx.obj.settings, list(rows))
        texts = []
        for row, line in zip(filled, lines, strict=True):
            try:
                texts.append(render(template, row))
            except MessageRejected as exc:
                where = f"{csv_path if csv_path != '-' else 'standard input'}: line {line}" if line else "a row"
                fail(f"{where} ({row.get('phone') or 'no phone'}): {exc.reason}; nothing was sent",
                     EXIT_INVALID)
        warn_repeated_phones(filled, lines)
        extras = message_extras(senders, "template")
        chosen = senders_for(channel, senders, ctx.obj.settings.alphasms.sms_sender)
        try:
            messages = [m for row, text in zip(filled, texts, strict=True)
                        for m in build(channel, row["phone"] or "", text, **extras, **chosen)]
        except ValidationError as exc:
            invalid(ctx.obj, exc)
        send_and_report(ctx.obj, messages, yes=yes, summary=f"template to {len(messages)} recipient(s)",
                        describe=lambda o: f"sent {o.message.phone}: {o.message.text}", verbose=verbose)


def warn_repeated_phones(rows: list[dict[str, str]], lines: list[int | None]) -> None:
    """Each row is sent, as asked; but say when one phone is on several rows (it gets each of them)."""
    from .recipients import by_number, warn_each

    repeated = [(number, [str(lines[i] or i + 1) for i in at])
                for number, at in by_number([row.get("phone") or "" for row in rows]).items() if len(at) > 1]
    warn_each([f"+{number} is on {len(at)} rows (lines {', '.join(at)}): it gets a message for each"
               for number, at in repeated], "{n} more phones on several rows")


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
        known = {c.phone: c for c in store.contacts.all()}
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
