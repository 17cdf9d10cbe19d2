"""``alphasms config example``: the commented sample configuration, from the installed package.

A wheel install has no repository folder to look in, so the sample travels in
the package and the command prints it (``alphasms config example > alphasms.toml``).
"""

from __future__ import annotations

import click

__all__ = ["config", "example_text"]


def example_text() -> str:
    from importlib import resources  # here: importing it costs every other command 7 ms

    return resources.files("alphasms_notify").joinpath("config.example.toml").read_text(encoding="utf-8")


@click.group()
def config() -> None:
    """The configuration file: a commented sample to start from."""


@config.command()
def example() -> None:
    """Print a commented sample config (every setting, its default and its environment variable)."""
    click.echo(example_text(), nl=False)
