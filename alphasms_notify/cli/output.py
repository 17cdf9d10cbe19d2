"""What every ``alphasms`` command shares: exit codes, errors, calling the provider, printing outcomes.

Used by the built-in commands (``app``), the default plugins' commands and
plugins in ``plugins/``; it imports nothing of the command itself, so a plugin
adding a command never loops back into the CLI that loads it.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields, is_dataclass
from typing import TYPE_CHECKING, Any, NoReturn

import click
import msgspec

from ..errors import RequestError, ValidationError
from ..i18n import gettext as _
from ..i18n import ngettext
from ..settings import ConfigError, Settings

if TYPE_CHECKING:  # pragma: no cover
    from ..plugins import PluginManager
    from ..results import Outcome

__all__ = [
    "Context",
    "without_trio",
    "fail",
    "invalid",
    "call_provider",
    "guarded",
    "report_outcomes",
    "describe_sent",
    "EXIT_OK",
    "EXIT_ITEM_FAILED",
    "EXIT_INVALID",
    "EXIT_REQUEST_FAILED",
]

EXIT_OK, EXIT_ITEM_FAILED, EXIT_INVALID, EXIT_REQUEST_FAILED = 0, 1, 2, 3
SUMMARY_ABOVE = 20  # more outcomes than a screenful: a summary and the problems (--verbose: every line)


@dataclass
class Context:
    """What the top-level options give every command (``click``'s ``ctx.obj``)."""

    settings: Settings
    json: bool
    plugins: PluginManager

    def client(self) -> Any:
        from ..service import make_client

        try:
            with without_trio():
                return make_client(self.settings, plugins=self.plugins)
        except ConfigError as exc:
            fail(str(exc), EXIT_INVALID)


@contextmanager
def without_trio() -> Iterator[None]:
    """Make the HTTP client with httpcore's ``import trio`` answered "not installed".

    httpcore imports trio when it is installed (selenium brings it, say), for code running under trio's
    event loop; this process runs asyncio or plain sockets, never trio, and the import cost 86 ms of a
    0.85 s send of 10,000 SMS (``python -X importtime``). Only while the client is made: a plugin that
    imports trio later still gets it.
    """
    blocked = "trio" not in sys.modules
    if blocked:
        sys.modules["trio"] = None  # type: ignore[assignment]  # `import trio` raises ImportError
    try:
        yield
    finally:
        if blocked and "trio" in sys.modules and sys.modules["trio"] is None:
            del sys.modules["trio"]


def fail(text: str, code: int) -> NoReturn:
    """Print ``Error: text`` on stderr and exit with ``code``."""
    click.echo(_("Error: {text}").format(text=text), err=True)
    sys.exit(code)


def _echo_json(document: Any) -> None:
    """The whole document in one write (orjson); input that was not UTF-8 shown escaped."""
    import orjson

    try:
        data = orjson.dumps(document, option=orjson.OPT_INDENT_2) + b"\n"
    except TypeError:  # a lone surrogate (bytes that were not UTF-8): orjson refuses, json escapes
        text = json.dumps(document, ensure_ascii=False, indent=2)
        data = text.encode("utf-8", "backslashreplace") + b"\n"
    sys.stdout.flush()
    sys.stdout.buffer.write(data)
    sys.stdout.flush()


def echo_results(rows: list[Any]) -> None:
    """``--json`` for a command that has rows rather than outcomes: the envelope every command prints."""
    _echo_json({"ok": True, "results": rows})


_OPTION = {"short_link": "short-links"}  # a message field whose option is not its name with dashes


def invalid(ctx: Context, exc: ValidationError, *, options: bool = False) -> NoReturn:
    """Report every problem and exit 2; ``options``: name the fields as the command's ``--options``."""
    if ctx.json:
        _echo_json({"ok": False, "error": "invalid", "problems": [
            {"message": m, "field": f, "reason": r} for m, f, r in exc.problems]})
    if options:
        fail("; ".join(f"--{_OPTION.get(f, f.replace('_', '-'))} {r}" for _, f, r in exc.problems), EXIT_INVALID)
    fail(str(exc), EXIT_INVALID)


def call_provider(ctx: Context, action: Callable[[Any], Any], describe: Callable[[Outcome[Any]], str] | None = None
                  ) -> Any:
    """Call the provider with the standard client; invalid input exits 2, a failed request 3.

    When a request fails, every message's outcome is printed first (``describe``
    for the accepted ones): what went out, what did not, and what *may* have,
    with the id to check, so nobody resends blind.
    """
    def run() -> Any:
        with ctx.client() as client:
            return action(client)

    return guarded(ctx, run, describe)


def guarded(ctx: Context, run: Callable[[], Any], describe: Callable[[Outcome[Any]], str] | None = None) -> Any:
    """``run()``, with :func:`call_provider`'s handling of invalid input (exit 2) and failed requests (3)."""
    try:
        return run()
    except ConfigError as exc:
        fail(str(exc), EXIT_INVALID)
    except ValidationError as exc:
        invalid(ctx, exc)
    except RequestError as exc:
        if ctx.json:
            _echo_json({"ok": False, "error": str(exc), "results": [_outcome_json(o) for o in exc.outcomes]})
        elif all(not o.ok and not o.unknown and o.error == f"not sent: {exc}" for o in exc.outcomes):
            # nothing went out, for one reason: the reason once, not a line per item (a blank one for a read)
            sends = sum(getattr(o.message, "phone", None) is not None and o.message.type != "hlr"
                        for o in exc.outcomes)
            if sends:
                click.echo(ngettext("Nothing was sent ({n} message).", "Nothing was sent ({n} messages).",
                                    sends).format(n=sends), err=True)
        else:
            _print_outcomes(exc.outcomes, describe or (lambda o: f"ok {_who(o)}"))
        click.echo(_("Error: {text}").format(text=exc), err=True)
        _print_unknown(exc.outcomes)
        _print_warnings(exc.outcomes)
        sys.exit(EXIT_REQUEST_FAILED)


def _jsonable(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: _jsonable(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, msgspec.Struct):  # SendResult
        return {name: _jsonable(getattr(value, name)) for name in value.__struct_fields__}
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, int | float | str | bool) or value is None:
        return value
    return str(value)


def _outcome_json(outcome: Outcome[Any]) -> dict[str, Any]:
    message = outcome.message
    row: dict[str, Any] = {"type": message.type, "ok": outcome.ok, "state": outcome.state}
    for key in ("id", "phone"):
        if getattr(message, key, None) is not None:
            row[key] = getattr(message, key)
    if outcome.ok:
        row["result"] = _jsonable(outcome.result)
    else:
        row["error"] = outcome.error
    if outcome.warnings:
        row["warnings"] = outcome.warnings
    return row


def _who(outcome: Outcome[Any]) -> str:
    return str(getattr(outcome.message, "phone", None) or getattr(outcome.message, "id", ""))


def _outcome_lines(outcomes: list[Outcome[Any]], describe: Callable[[Outcome[Any]], str]
                   ) -> tuple[list[str], list[str]]:
    """(lines for stdout, lines for stderr): successes described, failures and unknowns named."""
    out, err = [], []
    for outcome in outcomes:
        if outcome.ok:
            out.append(describe(outcome))
        elif outcome.unknown:
            err.append(f"UNKNOWN {_who(outcome)}: id {outcome.message.id}: {outcome.error}")
        else:
            err.append(f"FAILED {_who(outcome)}: {outcome.error}")
    return out, err


def _echo_lines(lines: list[str], *, err: bool = False) -> None:
    if lines:
        click.echo("\n".join(lines), err=err)  # one write for thousands of lines


def _print_outcomes(outcomes: list[Outcome[Any]], describe: Callable[[Outcome[Any]], str]) -> None:
    out, err = _outcome_lines(outcomes, describe)
    _echo_lines(out)
    _echo_lines(err, err=True)


def _print_grouped_failures(failed: list[Outcome[Any]]) -> None:
    """Past a screenful of failures, one line per reason: "2,998 failed: Insufficient funds (first ... last)";
    a reason met once keeps its own line. Unknown outcomes keep theirs (each has an id to check)."""
    groups: dict[str, list[Outcome[Any]]] = {}
    for outcome in failed:
        if not outcome.unknown:
            groups.setdefault(outcome.error or "failed", []).append(outcome)
    lines = []
    for reason, members in groups.items():
        if len(members) == 1:
            lines.append(f"FAILED {_who(members[0])}: {reason}")
        else:
            who = (f"{_who(members[0])}, {_who(members[1])}" if len(members) == 2
                   else f"{_who(members[0])} ... {_who(members[-1])}")
            lines.append(f"{len(members):,} failed: {reason} ({who})")
    _echo_lines(lines, err=True)
    _print_outcomes([o for o in failed if o.unknown], str)


def _summary(outcomes: list[Outcome[Any]]) -> str:
    ok = [o for o in outcomes if o.ok]
    unknown = sum(o.unknown for o in outcomes)
    failed = len(outcomes) - len(ok) - unknown
    parts = [getattr(o.result, "parts", None) for o in ok]
    counted = [p for p in parts if p is not None]
    line = _("sent {ok} of {n}").format(ok=len(ok), n=len(outcomes))
    if failed:
        line += ", " + _("{n} failed").format(n=failed)
    if unknown:
        line += ", " + _("{n} unknown").format(n=unknown)
    if counted:
        line += "; " + ngettext("{n} part", "{n} parts", sum(counted)).format(n=sum(counted))
        if len(counted) < len(parts):
            line += " " + _("({n} not reported)").format(n=len(parts) - len(counted))
    return line + "; " + _("the provider reports no price per message (alphasms balance shows what is left); "
                           "every line: --verbose, every id: --json")


def _print_unknown(outcomes: list[Outcome[Any]]) -> bool:
    unknown = [o for o in outcomes if o.unknown]
    if unknown:
        ids = " ".join(str(o.message.id) for o in unknown)
        click.echo(ngettext("{n} message may have been sent: check with `alphasms status {ids}` before sending "
                            "again.", "{n} messages may have been sent: check with `alphasms status {ids}` before "
                            "sending again.", len(unknown)).format(n=len(unknown), ids=ids), err=True)
    return bool(unknown)


def _print_warnings(outcomes: list[Outcome[Any]]) -> None:
    """Local failures after the send (a plugin, the store), once each, after the outcomes."""
    counts: dict[str, int] = {}
    for outcome in outcomes:
        for line in outcome.warnings or ():
            counts[line] = counts.get(line, 0) + 1
    for line, count in counts.items():
        click.echo(ngettext("warning: {line} (after sending; {n} message concerned)",
                            "warning: {line} (after sending; {n} messages concerned)",
                            count).format(line=line, n=count),
                   err=True)


def report_outcomes(ctx: Context, outcomes: list[Outcome[Any]], describe: Callable[[Outcome[Any]], str], *,
                    verbose: bool = False) -> NoReturn:
    """Print each outcome (``describe`` for successes) or the --json document, then any warning;
    exit 0, 1 if any failed, 3 if any outcome is unknown (it may have been sent).

    Above a screenful (``SUMMARY_ABOVE``) and without ``verbose``: a line for each failed or
    unknown item and a summary, not 10,000 lines nobody reads (``--json`` has every one).
    """
    failed = [o for o in outcomes if not o.ok]
    if ctx.json:
        _echo_json({"ok": not failed, "results": [_outcome_json(o) for o in outcomes]})
    elif len(outcomes) > SUMMARY_ABOVE and not verbose:
        if len(failed) > SUMMARY_ABOVE:
            _print_grouped_failures(failed)
        else:
            _print_outcomes(failed, describe)
        click.echo(_summary(outcomes))
    else:
        _print_outcomes(outcomes, describe)
    unknown = _print_unknown(outcomes)
    _print_warnings(outcomes)
    sys.exit(EXIT_REQUEST_FAILED if unknown else EXIT_ITEM_FAILED if failed else EXIT_OK)


def describe_sent(outcome: Outcome[Any]) -> str:
    """The line for an accepted send, shared by ``send`` and ``send-template``."""
    r = outcome.unwrap()
    if r.recovered:  # a retry found it accepted by an earlier attempt: its msg_id and parts are not reported
        return f"sent {outcome.message.phone}: id {r.id} (accepted on an earlier attempt)"
    return f"sent {outcome.message.phone}: id {r.id}, msg_id {r.msg_id}, {r.parts} part(s)"
