"""Message templates: ``{name}``-style fields filled in per recipient (a built-in plugin).

Two ways in:

* ``alphasms send-template --csv people.csv "Hi {name}, your order {order} is ready"``
  sends one message per CSV row; the ``phone`` column is the recipient and
  every other column is a field.
* Library use: put the fields in ``message.meta["fields"]`` and the text is
  rendered in ``alphasms_prepare_message`` just before validation.

A field is a plain name and nothing else. Python's ``str.format`` would also
run attribute and index lookups (``{name.__class__}``), conversions and
format specs (``{name:>30000000}`` builds a 30-million-character text), all
reachable from a CSV header; so the template is read here, by this module's
own rules, and anything but ``{name}`` (and ``{{``/``}}`` for braces) is
refused before anything is sent, naming the field and where it is. The text
is put together piece by piece and stops at :data:`MAX_TEXT` characters.

A field the text uses but the row lacks is taken from the phone's contact
(``alphasms contacts import``: its name and other fields), when it has one;
otherwise it stops that message with a clear reason (``MessageRejected``)
instead of sending "Hi {name}"; ``send-template`` renders every row before it
sends any, so one row that cannot be rendered sends nothing.
"""

from __future__ import annotations

import re
from typing import Any

import click

from ..errors import MessageRejected, ValidationError
from ..hookspecs import hookimpl

MAX_TEXT = 10_000  # characters: longer than any message the provider takes (an SMS of 10 parts, Viber's 1,000)


class TemplateError(MessageRejected):
    """The template itself is wrong (not one row's values): every row would fail the same way."""


_TOKEN = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")


def parse(text: str) -> list[tuple[str, str | None]]:
    """The template as (literal, field name or None) pieces; TemplateError names what is refused and where."""
    pieces: list[tuple[str, str | None]] = []
    literal: list[str] = []
    done = 0
    for token in _TOKEN.finditer(text):
        literal.append(text[done:token.start()])
        done = token.end()
        mark = token.group()
        if mark in ("{{", "}}"):  # the braces themselves
            literal.append(mark[0])
        elif mark == "}":
            raise TemplateError(f"template {_where(text, token.start())}: a '}}' with no '{{' before it "
                                f"(write '}}}}' for a brace)", field="text")
        elif mark == "{":
            raise TemplateError(f"template {_where(text, token.start())}: a '{{' that is never closed "
                                f"(write '{{{{' for a brace)", field="text")
        else:
            name = token.group(1)
            _check_name(name, text, token.start())
            pieces.append(("".join(literal), name.strip()))
            literal = []
    literal.append(text[done:])
    pieces.append(("".join(literal), None))
    return pieces


def _check_name(name: str, text: str, at: int) -> None:
    problem = _name_problem(name)
    if problem is not None:  # where it is only now: counting lines for every field would be quadratic
        raise TemplateError(f"template {_where(text, at)}: {problem}", field="text")


def _name_problem(name: str) -> str | None:
    shown = "{" + (name if len(name) <= 40 else name[:40] + "...") + "}"
    if not name.strip():
        return "{} has no field name; write the column's name, as {name}"
    if "{" in name:
        return f"{shown}: a field cannot hold a '{{'"
    for mark, what in ((".", "attribute lookups"), ("[", "index lookups"), ("!", "conversions"),
                       (":", "format specs")):
        if mark in name:
            return f"field {shown}: {what} ('{mark}') are not allowed; a field is a plain column name"
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in name):
        return f"field {shown}: a field name cannot hold control characters"
    return None


def _where(text: str, index: int) -> str:
    line = text.count("\n", 0, index) + 1
    column = index - (text.rfind("\n", 0, index) + 1) + 1
    return f"line {line}, column {column}" if "\n" in text else f"column {column}"


def fields_of(template: str) -> list[str]:
    """The field names ``template`` uses, in order, each once."""
    return list(dict.fromkeys(name for _, name in parse(template) if name is not None))


def render(text: str, fields: dict[str, Any], *, limit: int = MAX_TEXT) -> str:
    """Fill ``{field}`` placeholders; MessageRejected names a missing field or a text past ``limit``."""
    pieces = parse(text)
    missing = sorted({name for _, name in pieces if name is not None and fields.get(name) in (None, "")})
    if missing:
        raise MessageRejected(f"template field(s) {', '.join(missing)} have no value", field="text")
    out: list[str] = []
    size = 0
    for literal, name in pieces:
        for part in (literal, "" if name is None else str(fields[name])):
            size += len(part)
            if size > limit:
                raise MessageRejected(f"the rendered text is longer than {limit:,} characters", field="text")
            out.append(part)
    return "".join(out)


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
        """Send TEMPLATE to every row of --csv, with {column} fields filled in per row ('-': standard input).

        A field is a column's name in braces, {name}; {{ and }} are braces. Every row is
        rendered before anything is sent: one row that cannot be, and nothing goes.
        """
        from ..cli.output import EXIT_INVALID, fail, invalid
        from ..cli.recipients import RecipientsError, read_recipients, read_text_argument
        from ..cli.sending import bulk_mode, send_and_report
        from ..messages import build

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
            rows = with_contacts(ctx.obj.settings, rows)
            texts = []
            for row, line in zip(rows, lines, strict=True):
                try:
                    texts.append(render(template, row))
                except MessageRejected as exc:
                    where = f"{csv_path if csv_path != '-' else 'standard input'}: line {line}" if line else "a row"
                    fail(f"{where} ({row.get('phone') or 'no phone'}): {exc.reason}; nothing was sent",
                         EXIT_INVALID)
            warn_repeated_phones(rows, lines)
            try:
                messages = [m for row, text in zip(rows, texts, strict=True)
                            for m in build(channel, row["phone"] or "", text, meta={"source": "template"})]
            except ValidationError as exc:
                invalid(ctx.obj, exc)
            send_and_report(ctx.obj, messages, yes=yes, summary=f"template to {len(messages)} recipient(s)",
                            describe=lambda o: f"sent {o.message.phone}: {o.message.text}", verbose=verbose)


def warn_repeated_phones(rows: list[dict[str, str]], lines: list[int | None]) -> None:
    """Each row is sent, as asked; but say when one phone is on several rows (it gets each of them)."""
    from ..phone import InvalidPhone, normalize_phone

    seen: dict[int, list[str]] = {}
    for index, (row, line) in enumerate(zip(rows, lines, strict=True)):
        try:
            phone = normalize_phone(row.get("phone") or "")
        except InvalidPhone:
            continue  # reported by the checks, with its row
        seen.setdefault(phone, []).append(str(line or index + 1))
    repeated = {phone: at for phone, at in seen.items() if len(at) > 1}
    for phone, at in list(repeated.items())[:20]:
        click.echo(f"warning: +{phone} is on {len(at)} rows (lines {', '.join(at)}): it gets a message for each",
                   err=True)
    if len(repeated) > 20:
        click.echo(f"warning: ... and {len(repeated) - 20} more phones on several rows", err=True)


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
