"""The ``alphasms`` click group and its built-in commands.

Plugins add subcommands through ``alphasms_register_cli_commands``; since
click needs the commands before it parses, ``main`` reads the settings
(``--config``, ``--plugins-dir``, the environment) first and loads the plugins.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import click

from ..channels import CHANNELS, Channel
from ..errors import ValidationError
from ..i18n import gettext as _
from ..i18n import language_from_env, set_language
from ..logs import cli_logging
from ..plugins import call_hook, get_plugin_manager, plugin_info
from ..settings import CONFIG_ENV, ConfigError, Settings, load_settings
from .campaigns import campaign
from .config_commands import config
from .contacts import contacts, open_store
from .optouts import optout
from .output import EXIT_INVALID, Context, call_provider, describe_sent, echo_results, fail, invalid, report_outcomes
from .senders import message_extras, message_options, sender_options, senders_for
from .store_commands import store
from .templates import send_template

if TYPE_CHECKING:  # pragma: no cover
    from ..results import Outcome

# What a command needs beyond click is imported inside it, so `alphasms --help` starts fast.

__all__ = ["cli", "main"]

MAX_ID = 2**63 - 1  # the provider's ids are signed 64-bit integers


def _settings(config_path: str | None, plugins_dir: str | None) -> Settings:
    settings = load_settings(config_path)
    if plugins_dir:
        settings.plugins.dir = plugins_dir
    return settings


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "config_path", type=click.Path(dir_okay=False), envvar=CONFIG_ENV,
              help="TOML settings file ([alphasms], [telegram], [store], ...): `alphasms config example` prints one.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document with every item's result.")
@click.option("--plugins-dir", type=click.Path(file_okay=False), help="Also load the .py plugins in this folder.")
@click.version_option(package_name="alphasms-notify")
@click.pass_context
def cli(ctx: click.Context, config_path: str | None, as_json: bool, plugins_dir: str | None) -> None:
    """Send SMS and Viber through AlphaSMS, look up numbers, follow delivery."""
    try:
        settings = _settings(config_path, plugins_dir)
    except ConfigError as exc:
        fail(str(exc), EXIT_INVALID)
    cli_logging([settings.alphasms.api_key, settings.telegram.token, settings.telegram.webhook_secret,
                 settings.verify.secret, *settings.store.secrets()])
    pm = get_plugin_manager(settings)
    for name, reason in pm.load_errors:
        click.echo(f"warning: plugin {name} not loaded: {reason}", err=True)
    ctx.obj = Context(settings, as_json, pm)


@cli.command()
@click.pass_obj
def balance(ctx: Context) -> None:
    """Show the account balance."""
    from ..messages import Balance

    result = call_provider(ctx, lambda c: c.request([Balance()]))
    report_outcomes(ctx, result, lambda o: str(o.result))


@cli.command()
@click.option("--to", "to", multiple=True, help="Recipient; repeat for several. +380..., 0..., 380...")
@click.option("--to-file", type=click.Path(dir_okay=False, allow_dash=True),
              help="Recipients from a file: one phone per line, or a CSV with a 'phone' column ('-': stdin).")
@click.option("--channel", type=click.Choice(CHANNELS), default="sms", show_default=True)
@sender_options
@message_options(None)
@click.option("--image", help="Viber image URL (http/https).")
@click.option("--link", help="Viber button link (http/https); needs --button.")
@click.option("--button", help="Viber button text; needs --link.")
@click.option("--sms-text", help="viber+sms, rcs+sms: the SMS fallback text (default: TEXT).")
@click.option("--id", "id", type=click.IntRange(min=1, max=MAX_ID),
              help="Message id (one recipient only); default: generated.")
@click.option("--yes", "-y", is_flag=True, help="Do not ask before a large send (asked only on a terminal).")
@click.option("--verbose", "-v", is_flag=True,
              help="A line for every recipient (by default, past 20: the failed and unknown ones and a summary).")
@click.argument("text", required=False, default="")
@click.pass_obj
def send(ctx: Context, /, to: tuple[str, ...], to_file: str | None, channel: Channel, text: str, yes: bool,
         verbose: bool, **opts: Any) -> None:
    """Send TEXT by SMS, Viber, or Viber with SMS fallback. TEXT '-' reads it from standard input.

    The Viber type follows from what is given: TEXT alone is "text"; --image
    alone "image"; TEXT with --link and --button "text+link"; all of them
    "text+image+link".
    """
    from .sending import bulk_mode

    with bulk_mode():
        _send(ctx, to, to_file, channel, text, yes, verbose, opts)


def _send(ctx: Context, to: tuple[str, ...], to_file: str | None, channel: Channel, text: str, yes: bool,
          verbose: bool, opts: dict[str, Any]) -> None:
    from ..messages import build
    from .recipients import RecipientsError, read_recipients, read_text_argument, unique_phones, warn_given_again
    from .sending import send_and_report

    if text == "-" and to_file == "-":
        fail("TEXT and --to-file cannot both come from standard input", EXIT_INVALID)
    phones = list(to)
    try:
        if to_file:
            phones += [row["phone"] for row in read_recipients(to_file)]
        text = read_text_argument(text)
    except RecipientsError as exc:
        fail(str(exc), EXIT_INVALID)
    if not phones:
        fail("no recipient: give --to PHONE or --to-file FILE", EXIT_INVALID)
    phones, repeated = unique_phones(phones)
    warn_given_again(repeated)
    try:
        extras = message_extras(opts, "cli")
        messages = build(channel, phones, text, image=opts["image"], link=opts["link"], button=opts["button"],
                         sms_text=opts["sms_text"], id=opts["id"], **extras,
                         **senders_for(channel, opts, ctx.settings.alphasms.sms_sender))
    except ValidationError as exc:
        invalid(ctx, exc, options=True)
    send_and_report(ctx, messages, yes=yes, summary=f"{channel} to {len(messages)} recipient(s)",
                    describe=describe_sent, verbose=verbose)


@cli.command()
@click.argument("phones", nargs=-1, required=True)
@click.pass_obj
def hlr(ctx: Context, phones: tuple[str, ...]) -> None:
    """Look up PHONE in the network: live or not, operator, ported."""
    from ..render import hlr_network, hlr_ported

    def line(outcome: Outcome[Any]) -> str:
        r = outcome.unwrap()
        ported = hlr_ported(r)
        return f"{r.phone}: {r.status}, {hlr_network(r)}{f', ported to {ported}' if ported else ''} (mccmnc {r.mccmnc})"

    report_outcomes(ctx, call_provider(ctx, lambda c: c.hlr_many(phones)), line)


@cli.command()
@click.argument("ids", nargs=-1, required=True, type=click.IntRange(min=1, max=MAX_ID))
@click.pass_obj
def status(ctx: Context, ids: tuple[int, ...]) -> None:
    """Show the delivery status (and Viber replies) of message IDs."""
    from ..render import status_lines

    report_outcomes(ctx, call_provider(ctx, lambda c: c.status(ids)), lambda o: "\n".join(status_lines(o.unwrap())))


@cli.command(name="call-otp")
@click.argument("phones", nargs=-1, required=True)
@click.pass_obj
def call_otp(ctx: Context, phones: tuple[str, ...]) -> None:
    """Verify PHONE by a call: the number that calls it ends with the code printed."""
    report_outcomes(ctx, call_provider(ctx, lambda c: c.call_otp_many(phones)),
                    lambda o: f"{o.message.phone}: code {o.unwrap().code}, price {o.unwrap().price}")


@cli.group()
def verify() -> None:
    """Verify a phone: send a one-time code (start), then check what the person typed (check)."""


def _verifier(ctx: Context) -> Any:
    from ..verify import Verifier

    store = open_store(ctx)
    return Verifier(ctx.client(), store, ctx.settings.verify, plugins=ctx.plugins), store


def _verify_report(ctx: Context, result: Any) -> None:
    """One line, or with --json the envelope every command prints: ``ok`` and ``results`` (with ``status``)."""
    if ctx.json:
        click.echo(json.dumps({"ok": result.ok, "results": [result.to_dict()]}, ensure_ascii=False, indent=2))
    else:
        click.echo(f"{result.phone}: {result.message}", err=not result.ok)
    sys.exit(0 if result.ok else 1)


@verify.command(name="start")
@click.argument("phone")
@click.option("--via", type=click.Choice([*CHANNELS, "call"]),
              help="The channel (default: [verify] via, tried in order).")
@click.pass_obj
def verify_start(ctx: Context, phone: str, via: str | None) -> None:
    """Send a code to PHONE. Exit 0 when sent, 1 when a limit applied or it could not go out."""
    from ..errors import RequestError
    from ..verify import VerificationError

    verifier, store = _verifier(ctx)
    try:
        with verifier.client:
            result = verifier.start(phone, via)
    except VerificationError as exc:
        fail(f"phone: {exc}", EXIT_INVALID)
    except RequestError as exc:
        fail(str(exc), 3)
    finally:
        store.close()
    _verify_report(ctx, result)


@verify.command(name="check")
@click.argument("phone")
@click.argument("code")
@click.pass_obj
def verify_check(ctx: Context, phone: str, code: str) -> None:
    """Check CODE for PHONE. Exit 0 when right; 1 when wrong, expired or over a limit (the reason is printed)."""
    from ..verify import VerificationError

    verifier, store = _verifier(ctx)
    try:
        result = verifier.check(phone, code)
    except VerificationError as exc:
        fail(f"phone: {exc}", EXIT_INVALID)
    finally:
        verifier.client.close()
        store.close()
    _verify_report(ctx, result)


@cli.command()
@click.option("--all", "show_all", is_flag=True, help="Include the built-in default plugins.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def plugins(ctx: Context, show_all: bool, as_json: bool) -> None:
    """List loaded plugins, their versions and the hooks each implements."""
    rows = plugin_info(ctx.plugins, include_defaults=show_all)
    if ctx.json or as_json:
        echo_results(rows)
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


_GLOBAL_VALUED, _GLOBAL_FLAGS = ("--config", "--plugins-dir"), ("--json",)


def hoist_global_options(args: list[str], commands: Sequence[str]) -> list[str]:
    """``alphasms send --json ...`` and ``alphasms bot --config F`` as users write them: the group's
    options found after the command move in front of it (up to a ``--``), where click expects them."""
    position = next((i for i, a in enumerate(args) if a in commands), None)
    if position is None:
        return args
    head, tail, moved = args[:position + 1], args[position + 1:], []
    kept: list[str] = []
    i = 0
    while i < len(tail):
        arg = tail[i]
        if arg == "--":
            kept += tail[i:]
            break
        name = arg.split("=", 1)[0]
        if name in _GLOBAL_VALUED:
            take = 1 if "=" in arg else 2
            moved += tail[i:i + take]
            i += take
            continue
        if arg in _GLOBAL_FLAGS and not (head[-1] == "plugins" and arg == "--json"):
            moved.append(arg)
        else:
            kept.append(arg)
        i += 1
    return head[:position] + moved + head[position:] + kept


cli.add_command(contacts)
cli.add_command(send_template)
cli.add_command(store)
cli.add_command(config)
cli.add_command(campaign)
cli.add_command(optout)


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point: load plugins (for their subcommands), then run click."""
    args = list(sys.argv[1:] if argv is None else argv)
    if argv is None:  # the alphasms command itself, not a caller in-process
        from .sending import exits_after_command

        exits_after_command()
    set_language(language_from_env())  # the CLI speaks the terminal's language (LANG): Ukrainian or English
    _without_httpx_cli()
    try:
        settings = _settings(_peek(args, "--config") or os.environ.get(CONFIG_ENV), _peek(args, "--plugins-dir"))
    except ConfigError:
        settings = Settings()  # reported properly once click parses the options
    call_hook(get_plugin_manager(settings), "alphasms_register_cli_commands", cli=cli)
    args = hoist_global_options(args, list(cli.commands))
    try:
        cli.main(args=args, prog_name="alphasms")
    except Exception as exc:  # an unforeseen failure: one line, with every secret masked
        _crash(exc, [settings.alphasms.api_key, settings.telegram.token, settings.telegram.webhook_secret,
                     settings.verify.secret, os.environ.get("ALPHASMS_VERIFY_SECRET"),
                     *settings.store.secrets(), os.environ.get("ALPHASMS_STORE_URL"),
                     os.environ.get("ALPHASMS_API_KEY"), os.environ.get("TELEGRAM_BOT_TOKEN")])


def _without_httpx_cli() -> None:
    """Let httpx load without its own command line, which it imports eagerly when rich and pygments are
    installed (they are: rich is ours): 80 ms of a 300 ms send, measured with ``python -X importtime``.
    Only in the ``alphasms`` process, which never runs httpx's command line; httpx itself is imported only
    by the commands that use it (``alphasms --help`` does not)."""
    if "httpx" not in sys.modules:
        sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]  # `from ._main import ...` fails


def _crash(exc: BaseException, secrets: list[str | None]) -> None:
    """Print the failure as one line (the traceback with ALPHASMS_DEBUG=1), secrets masked; exit 1."""
    import traceback

    from ..logs import RedactSecrets

    redact = RedactSecrets(secrets).redact
    if os.environ.get("ALPHASMS_DEBUG"):
        click.echo(redact("".join(traceback.format_exception(exc))), err=True)
    click.echo(redact(_("Error: unexpected {error}").format(error=f"{type(exc).__name__}: {exc}")) +
               ("" if os.environ.get("ALPHASMS_DEBUG") else " " + _("(ALPHASMS_DEBUG=1 shows the traceback)")),
               err=True)
    sys.exit(1)
