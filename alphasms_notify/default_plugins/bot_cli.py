"""``alphasms bot``: the Telegram operator bot, as a built-in plugin (Telegram loads only when it runs)."""

from __future__ import annotations

import logging

import click

from ..hookspecs import hookimpl


@hookimpl
def alphasms_register_cli_commands(cli: click.Group) -> None:
    @cli.command()
    @click.option("-v", "--verbose", is_flag=True, help="Log at debug level.")
    @click.pass_obj
    def bot(ctx, verbose: bool) -> None:
        """Run the Telegram operator bot (settings: --config, sections [telegram] and [store])."""
        from ..bot import run_bot
        from ..cli.output import EXIT_INVALID, fail
        from ..logs import setup_logging
        from ..settings import ConfigError

        settings = ctx.settings
        try:
            telegram = settings.telegram.require()
            settings.alphasms.require_key()
        except ConfigError as exc:
            fail(str(exc), EXIT_INVALID)
        setup_logging(logging.DEBUG if verbose else logging.INFO,
                      secrets=[telegram.token, settings.alphasms.api_key, telegram.webhook_secret])
        logging.getLogger(__name__).info("bot starting: %s, %d operator(s), polling AlphaSMS every %ss",
                                         "webhook" if telegram.webhook_url else "long polling",
                                         len(telegram.operators), telegram.poll_interval)
        run_bot(settings, plugins=ctx.plugins)  # with --plugins-dir / [plugins] dir too
