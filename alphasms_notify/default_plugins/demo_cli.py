"""``alphasms demo``: the project end to end on loopback (sandbox, Bot API stand-in, bot, Apprise)."""

from __future__ import annotations

import sys

import click

from ..hookspecs import hookimpl


@hookimpl
def alphasms_register_cli_commands(cli: click.Group) -> None:
    @cli.command()
    @click.option("--limit", default=30.0, show_default=True, help="Seconds the whole session may take.")
    def demo(limit: float) -> None:
        """Play an operator session against a local sandbox: no account, no network."""
        from ..demo import run_demo

        sys.exit(0 if run_demo(limit) else 1)
