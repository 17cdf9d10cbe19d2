"""``alphasms demo``: the project end to end on loopback (sandbox, Bot API stand-in, bot, Apprise)."""

from __future__ import annotations

import sys

import click

from ..hookspecs import hookimpl


@hookimpl
def alphasms_register_cli_commands(cli: click.Group) -> None:
    @cli.command()
    @click.option("--limit", default=30.0, show_default=True, help="Seconds the whole session may take.")
    @click.option("--keep", is_flag=True, help="Keep the sandbox and its web inbox open afterwards (Ctrl+C stops).")
    def demo(limit: float, keep: bool) -> None:
        """Play an operator session against a local sandbox: no account, no network."""
        from ..demo import run_demo

        sys.exit(0 if run_demo(limit, keep=keep) else 1)
