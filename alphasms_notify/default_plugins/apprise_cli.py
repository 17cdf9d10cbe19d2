"""``alphasms apprise install|uninstall``: the shim for an Apprise in another environment."""

from __future__ import annotations

from pathlib import Path

import click

from ..hookspecs import hookimpl


@hookimpl
def alphasms_register_cli_commands(cli: click.Group) -> None:
    @cli.group()
    def apprise() -> None:
        """Make alphasms:// known to an Apprise installed elsewhere.

        In this environment nothing is needed: installing alphasms-notify
        already makes `apprise` understand alphasms:// URLs.
        """

    folder_option = click.option("--path", "folder", type=click.Path(file_okay=False, path_type=Path),
                                 help="Apprise plugin folder (default: ~/.apprise/plugins).")

    @apprise.command()
    @folder_option
    def install(folder: Path | None) -> None:
        """Write the shim file into Apprise's plugin folder."""
        from ..apprise.shim import install_shim

        click.echo(f"wrote {install_shim(folder)}")

    @apprise.command()
    @folder_option
    def uninstall(folder: Path | None) -> None:
        """Remove the shim file written by install."""
        from ..apprise.shim import uninstall_shim

        try:
            path = uninstall_shim(folder)
        except FileExistsError as exc:
            raise click.ClickException(str(exc)) from None
        click.echo(f"removed {path}" if path else "no shim installed")
