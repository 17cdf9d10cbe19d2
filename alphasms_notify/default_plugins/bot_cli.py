"""``alphasms bot``: the Telegram operator bot, as a built-in plugin (Telegram loads only when it runs)."""

from __future__ import annotations

import logging
from typing import Any

import click

from ..hookspecs import hookimpl


@hookimpl
def alphasms_register_cli_commands(cli: click.Group) -> None:
    @cli.command()
    @click.option("-v", "--verbose", is_flag=True, help="Log at debug level.")
    @click.option("--log-format", type=click.Choice(["text", "json"]), default="text", show_default=True,
                  envvar="ALPHASMS_LOG_FORMAT", help="json: one JSON object a line, for a log collector.")
    @click.pass_obj
    def bot(ctx: Any, verbose: bool, log_format: str) -> None:
        """Run the Telegram operator bot (settings: --config, sections [telegram] and [store])."""
        from telegram.error import InvalidToken, TelegramError

        from ..bot import run_bot
        from ..cli.output import EXIT_INVALID, EXIT_REQUEST_FAILED, fail
        from ..logs import setup_logging
        from ..settings import ConfigError
        from ..store import StoreBusy

        settings = ctx.settings
        try:
            telegram = settings.telegram.require()
            settings.alphasms.require_key()
        except ConfigError as exc:
            fail(str(exc), EXIT_INVALID)
        redact = setup_logging(logging.DEBUG if verbose else logging.INFO,
                               secrets=[telegram.token, settings.alphasms.api_key, telegram.webhook_secret,
                                        settings.verify.secret,
                                        *settings.store.secrets()], fmt=log_format).redact
        logging.getLogger(__name__).info("bot starting: %s, %d operator(s), polling AlphaSMS every %ss",
                                         "webhook" if telegram.webhook_url else "long polling",
                                         len(telegram.operators), telegram.poll_interval)
        try:
            run_bot(settings, plugins=ctx.plugins)  # with --plugins-dir / [plugins] dir too
        except (ConfigError, StoreBusy) as exc:
            fail(str(exc), EXIT_INVALID)
        except InvalidToken:
            fail("Telegram refused the bot token: check TELEGRAM_BOT_TOKEN or [telegram] token", EXIT_INVALID)
        except TelegramError as exc:
            fail(f"cannot start the bot, Telegram at {redact(telegram.api_url)} answered: "
                 f"{redact(str(exc))}", EXIT_REQUEST_FAILED)
