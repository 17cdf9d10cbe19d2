"""What every ``alphasms`` command shares: exit codes, errors, calling the provider, printing outcomes.

Used by the built-in commands (``app``), the default plugins' commands and
plugins in ``plugins/``; it imports nothing of the command itself, so a plugin
adding a command never loops back into the CLI that loads it.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass, is_dataclass
from typing import Any, NoReturn

import click

from ..errors import RequestError, ValidationError
from ..plugins import PluginManager
from ..results import Outcome
from ..settings import ConfigError, Settings

__all__ = [
    "Context",
    "fail",
    "invalid",
    "call_provider",
    "report_outcomes",
    "describe_sent",
    "EXIT_OK",
    "EXIT_ITEM_FAILED",
    "EXIT_INVALID",
    "EXIT_REQUEST_FAILED",
]

EXIT_OK, EXIT_ITEM_FAILED, EXIT_INVALID, EXIT_REQUEST_FAILED = 0, 1, 2, 3


@dataclass
class Context:
    """What the top-level options give every command (``click``'s ``ctx.obj``)."""

    settings: Settings
    json: bool
    plugins: PluginManager

    def client(self) -> Any:
        from ..service import make_client

        try:
            return make_client(self.settings, plugins=self.plugins)
        except ConfigError as exc:
            fail(str(exc), EXIT_INVALID)


def fail(text: str, code: int) -> NoReturn:
    """Print ``Error: text`` on stderr and exit with ``code``."""
    click.echo(f"Error: {text}", err=True)
    sys.exit(code)


def _echo_json(document: Any) -> None:
    click.echo(json.dumps(document, ensure_ascii=False, indent=2))


def invalid(ctx: Context, exc: ValidationError, *, options: bool = False) -> NoReturn:
    """Report every problem and exit 2; ``options``: name the fields as the command's ``--options``."""
    if ctx.json:
        _echo_json({"ok": False, "error": "invalid", "problems": [
            {"message": m, "field": f, "reason": r} for m, f, r in exc.problems]})
    if options:
        fail("; ".join(f"--{f.replace('_', '-')} {r}" for _, f, r in exc.problems), EXIT_INVALID)
    fail(str(exc), EXIT_INVALID)


def call_provider(ctx: Context, action: Callable[[Any], Any]) -> Any:
    """Call the provider with the standard client; invalid input exits 2, a failed request 3."""
    client = ctx.client()
    try:
        with client:
            return action(client)
    except ValidationError as exc:
        invalid(ctx, exc)
    except RequestError as exc:
        if ctx.json:
            _echo_json({"ok": False, "error": str(exc), "results": [_outcome_json(o) for o in exc.partial]})
        fail(str(exc), EXIT_REQUEST_FAILED)


def _jsonable(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        return {k: _jsonable(v) for k, v in asdict(value).items()}
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, int | float | str | bool) or value is None:
        return value
    return str(value)


def _outcome_json(outcome: Outcome) -> dict[str, Any]:
    message = outcome.message
    row: dict[str, Any] = {"type": message.type, "ok": outcome.ok}
    for key in ("id", "phone"):
        if getattr(message, key, None) is not None:
            row[key] = getattr(message, key)
    if outcome.ok:
        row["result"] = _jsonable(outcome.result)
    else:
        row["error"] = outcome.error
    return row


def report_outcomes(ctx: Context, outcomes: list[Outcome], describe: Callable[[Outcome], str]) -> NoReturn:
    """Print each outcome (``describe`` for successes) or the --json document; exit 0, or 1 if any failed."""
    failed = [o for o in outcomes if not o.ok]
    if ctx.json:
        _echo_json({"ok": not failed, "results": [_outcome_json(o) for o in outcomes]})
    else:
        for outcome in outcomes:
            if outcome.ok:
                click.echo(describe(outcome))
            else:
                who = getattr(outcome.message, "phone", None) or getattr(outcome.message, "id", "")
                click.echo(f"FAILED {who}: {outcome.error}", err=True)
    sys.exit(EXIT_ITEM_FAILED if failed else EXIT_OK)


def describe_sent(outcome: Outcome) -> str:
    """The line for an accepted send, shared by ``send`` and ``send-template``."""
    r = outcome.result
    return f"sent {outcome.message.phone}: id {r.id}, msg_id {r.msg_id}, {r.parts} part(s)"
