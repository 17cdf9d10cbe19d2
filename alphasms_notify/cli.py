"""The ``alphasms`` command.

Exit status: 0 every item succeeded; 1 some item failed (each failure is
printed with the provider's text); 2 invalid input or configuration; 3 the
request as a whole failed (Access denied, network, protocol).

Plugins add subcommands through ``alphasms_register_cli_commands``; since
click needs the commands before it parses, ``main`` peeks at
``--plugins-dir``/``--config`` first and loads the plugins.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn

import click

from .config import ConfigError, Settings, load_settings
from .errors import RequestError, ValidationError
from .messages import Balance, Sms, Viber, ViberSms
from .plugins import PluginManager, call_hook, get_plugin_manager, plugin_info
from .results import Outcome
from .segments import count_segments

__all__ = [
    "cli",
    "main",
    "call_provider",
    "report_outcomes",
    "EXIT_OK",
    "EXIT_ITEM_FAILED",
    "EXIT_INVALID",
    "EXIT_REQUEST_FAILED",
]

EXIT_OK, EXIT_ITEM_FAILED, EXIT_INVALID, EXIT_REQUEST_FAILED = 0, 1, 2, 3
ENV_PLUGINS_DIR = "ALPHASMS_NOTIFY_PLUGINS_DIR"


@dataclass
class Context:
    settings: Settings
    json: bool
    plugins: PluginManager

    def client(self) -> Any:
        from .client import AlphaSMS

        options = self.settings.client_options()
        if not options["api_key"]:
            fail("no API key: set ALPHASMS_API_KEY or [alphasms] api_key in --config", EXIT_INVALID)
        return AlphaSMS(plugins=self.plugins, **options)


def fail(text: str, code: int) -> NoReturn:
    click.echo(f"Error: {text}", err=True)
    sys.exit(code)


def _plugins_dir(settings: Settings | None, explicit: str | None) -> str | None:
    if explicit:
        return explicit
    if os.environ.get(ENV_PLUGINS_DIR):
        return os.environ[ENV_PLUGINS_DIR]
    if settings is not None:
        return settings.section("plugins").get("dir")
    return None


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "config_path", type=click.Path(dir_okay=False), envvar="ALPHASMS_CONFIG",
              help="TOML file with an [alphasms] section (see config.example.toml).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document with every item's result.")
@click.option("--plugins-dir", type=click.Path(file_okay=False), help="Also load the .py plugins in this folder.")
@click.version_option(package_name="alphasms-notify")
@click.pass_context
def cli(ctx: click.Context, config_path: str | None, as_json: bool, plugins_dir: str | None) -> None:
    """Send SMS and Viber through AlphaSMS, look up numbers, follow delivery."""
    try:
        settings = load_settings(config_path)
    except ConfigError as exc:
        fail(str(exc), EXIT_INVALID)
    pm = get_plugin_manager(_plugins_dir(settings, plugins_dir))
    for name, reason in pm.load_errors:
        click.echo(f"warning: plugin {name} not loaded: {reason}", err=True)
    ctx.obj = Context(settings, as_json, pm)


def call_provider(ctx: Context, action: Callable[[Any], Any]) -> Any:
    """Call the provider with a client from the settings; invalid input exits 2, request failures 3.

    Public for plugins that add commands (see plugins/templates.py).
    """
    client = ctx.client()
    try:
        with client:
            return action(client)
    except ValidationError as exc:
        if ctx.json:
            click.echo(json.dumps({"ok": False, "error": "invalid", "problems": [
                {"message": m, "field": f, "reason": r} for m, f, r in exc.problems]}, ensure_ascii=False))
        fail(str(exc), EXIT_INVALID)
    except RequestError as exc:
        if ctx.json:
            click.echo(json.dumps({"ok": False, "error": str(exc)}, ensure_ascii=False))
        fail(str(exc), EXIT_REQUEST_FAILED)


def _jsonable(value: Any) -> Any:
    from dataclasses import asdict, is_dataclass

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
        click.echo(json.dumps({"ok": not failed, "results": [_outcome_json(o) for o in outcomes]},
                              ensure_ascii=False, indent=2))
    else:
        for outcome in outcomes:
            if outcome.ok:
                click.echo(describe(outcome))
            else:
                who = getattr(outcome.message, "phone", None) or getattr(outcome.message, "id", "")
                click.echo(f"FAILED {who}: {outcome.error}", err=True)
    sys.exit(EXIT_ITEM_FAILED if failed else EXIT_OK)


@cli.command()
@click.pass_obj
def balance(ctx: Context) -> None:
    """Show the account balance."""
    result = call_provider(ctx, lambda c: c.request([Balance()]))
    report_outcomes(ctx, result, lambda o: str(o.result))


def _build_messages(to: Sequence[str], channel: str, text: str, opts: dict[str, Any]) -> list:
    if channel == "sms":
        if any(opts[k] for k in ("image", "link", "button")):
            fail("--image, --link and --button are for --channel viber or viber+sms", EXIT_INVALID)
        return [Sms(p, text, sender=opts["sender"], id=opts["id"]) for p in to]
    viber = {"image": opts["image"], "link": opts["link"], "button": opts["button"], "id": opts["id"]}
    if channel == "viber":
        return [Viber(p, text or None, sender=opts["viber_sender"], **viber) for p in to]
    return [ViberSms(p, text or None, sms_text=opts["sms_text"], sender=opts["viber_sender"],
                     sms_sender=opts["sender"], **viber) for p in to]


@cli.command()
@click.option("--to", "to", multiple=True, required=True, help="Recipient; repeat for several. +380..., 0..., 380...")
@click.option("--channel", type=click.Choice(["sms", "viber", "viber+sms"]), default="sms", show_default=True)
@click.option("--sender", help="SMS alpha-name (default: [alphasms] sms_sender).")
@click.option("--viber-sender", help="Viber alpha-name (default: [alphasms] viber_sender).")
@click.option("--image", help="Viber image URL (http/https).")
@click.option("--link", help="Viber button link (http/https); needs --button.")
@click.option("--button", help="Viber button text; needs --link.")
@click.option("--sms-text", help="viber+sms: the SMS fallback text (default: TEXT).")
@click.option("--id", "id", type=click.IntRange(min=1), help="Message id (one recipient only); default: generated.")
@click.argument("text", required=False, default="")
@click.pass_obj
def send(ctx: Context, to: tuple[str, ...], channel: str, text: str, **opts: Any) -> None:
    """Send TEXT by SMS, Viber, or Viber with SMS fallback.

    The Viber type follows from what is given: TEXT alone is "text"; --image
    alone "image"; TEXT with --link and --button "text+link"; all of them
    "text+image+link".
    """
    if opts["id"] is not None and len(to) > 1:
        fail("--id can only be used with one --to", EXIT_INVALID)
    if channel == "sms" and not text.strip():
        fail("message 1: text: SMS text is empty", EXIT_INVALID)
    messages = _build_messages(to, channel, text, opts)
    if not ctx.json and channel != "viber" and text:
        click.echo(f"Sending to {len(to)} recipient(s), SMS {count_segments(opts['sms_text'] or text)} each",
                   err=True)
    outcomes = call_provider(ctx, lambda c: c.send(messages))
    store_path = ctx.settings.section("store").get("path")
    if store_path:  # the bot (same [store]) follows these too; replies go to [telegram] replies_chat
        from .store import Store

        store = Store(store_path)
        store.track(outcomes, source="cli")
        store.close()
    report_outcomes(ctx, outcomes, lambda o: f"sent {o.message.phone}: id {o.result.id}, msg_id {o.result.msg_id}, "
                                     f"{o.result.parts} part(s)")


@cli.command()
@click.argument("phones", nargs=-1, required=True)
@click.pass_obj
def hlr(ctx: Context, phones: tuple[str, ...]) -> None:
    """Look up PHONE in the network: live or not, operator, ported."""

    def line(outcome: Outcome) -> str:
        r = outcome.result
        origin = r.origin.name if r.origin else "unknown network"
        ported = f", ported to {r.ported_network.name}" if r.ported and r.ported_network else ""
        return f"{r.phone}: {r.status}, {origin}{ported} (mccmnc {r.mccmnc})"

    report_outcomes(ctx, call_provider(ctx, lambda c: c.hlr_many(phones)), line)


@cli.command()
@click.argument("ids", nargs=-1, required=True, type=click.IntRange(min=1))
@click.pass_obj
def status(ctx: Context, ids: tuple[int, ...]) -> None:
    """Show the delivery status (and Viber replies) of message IDs."""

    def line(outcome: Outcome) -> str:
        r = outcome.result
        lines = [f"{r.id}: {r.status} ({r.type})"]
        for reply in r.replies:
            media = f" [{reply.media.filename}, {reply.media.filesize} bytes: {reply.media.url}]" if reply.media else ""
            lines.append(f"  reply {reply.datetime.isoformat()}: {reply.message or ''}{media}")
        return "\n".join(lines)

    report_outcomes(ctx, call_provider(ctx, lambda c: c.status(ids)), line)


@cli.command()
@click.option("--all", "show_all", is_flag=True, help="Include the built-in default plugins.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def plugins(ctx: Context, show_all: bool, as_json: bool) -> None:
    """List loaded plugins, their versions and the hooks each implements."""
    rows = plugin_info(ctx.plugins, include_defaults=show_all)
    if ctx.json or as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        click.echo("No plugins loaded.")
    for row in rows:
        version = f" {row['version']}" if "version" in row else ""
        click.echo(f"{row['name']}{version}: {', '.join(row['hooks'])}")


def _peek(argv: Sequence[str], option: str) -> str | None:
    for i, arg in enumerate(argv):
        if arg == option and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith(option + "="):
            return arg.split("=", 1)[1]
    return None


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point: load plugins (for their subcommands), then run click."""
    args = list(sys.argv[1:] if argv is None else argv)
    settings = None
    config_path = _peek(args, "--config") or os.environ.get("ALPHASMS_CONFIG")
    if config_path:
        try:
            settings = load_settings(config_path, env={})
        except ConfigError:
            settings = None  # reported properly once click parses the options
    pm = get_plugin_manager(_plugins_dir(settings, _peek(args, "--plugins-dir")))
    call_hook(pm, "alphasms_register_cli_commands", cli=cli)
    cli.main(args=args, prog_name="alphasms")
