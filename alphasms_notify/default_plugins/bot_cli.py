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
        from ..bot import BotSettings, run_bot
        from ..cli import EXIT_INVALID, fail
        from ..config import ConfigError
        from ..logs import setup_logging

        try:
            settings = BotSettings.from_settings(ctx.settings)
        except ConfigError as exc:
            fail(str(exc), EXIT_INVALID)
        if not ctx.settings.api_key:
            fail("no AlphaSMS API key: set ALPHASMS_API_KEY or [alphasms] api_key", EXIT_INVALID)
        setup_logging(logging.DEBUG if verbose else logging.INFO,
                      secrets=[settings.token, ctx.settings.api_key, settings.webhook_secret])
        logging.getLogger(__name__).info("bot starting: %s, %d operator(s), polling AlphaSMS every %ss",
                                         "webhook" if settings.webhook_url else "long polling",
                                         len(settings.operators), settings.poll_interval)
        run_bot(ctx.settings, settings, plugins=ctx.plugins)  # with --plugins-dir / [plugins] dir too
