"""Message templates: the one reading of ``{name}`` fields, used by ``send-template`` and the templates plugin.

A field is a plain name and nothing else. Python's ``str.format`` would also
run attribute and index lookups (``{name.__class__}``), conversions and
format specs (``{name:>30000000}`` builds a 30-million-character text), all
reachable from a CSV header; so a template is read here, by this module's
own rules, and anything but ``{name}`` (and ``{{``/``}}`` for braces) is
refused, naming the field and where it is. The text is put together piece by
piece and stops at :data:`MAX_TEXT` characters.
"""

from __future__ import annotations

import re
from typing import Any

from .errors import MessageRejected

__all__ = ["MAX_TEXT", "TemplateError", "parse", "render"]

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
