"""``alphasms sandbox``: the local AlphaSMS simulator, as a built-in plugin."""

from __future__ import annotations

import click

from ..hookspecs import hookimpl


@hookimpl
def alphasms_register_cli_commands(cli: click.Group) -> None:
    @cli.command()
    @click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (loopback by default).")
    @click.option("--port", default=8025, show_default=True, type=int)
    @click.option("--key", default="sandbox-key", show_default=True, help="The API key the sandbox accepts.")
    @click.option("--step", default=1.0, show_default=True, type=float, help="Seconds per status stage.")
    @click.option("--balance", default="100000.00", show_default=True, help="Starting balance, UAH.")
    @click.option("--allow-host", "allow_hosts", multiple=True, metavar="NAME",
                  help="A name (besides loopback and --host) that requests may call it by, e.g. a container's.")
    @click.option("--latency", default=0.0, show_default=True, type=click.FloatRange(min=0, max=60_000),
                  metavar="MS", help="Milliseconds each API answer waits, as a provider a network away would.")
    def sandbox(host: str, port: int, key: str, step: float, balance: str, allow_hosts: tuple[str, ...],
                latency: float) -> None:
        """Run a local AlphaSMS simulator (see docs/sandbox.md)."""
        import asyncio

        from ..sandbox import Sandbox

        async def serve() -> None:
            box = await Sandbox(host, port, key=key, step=step, balance=balance, allow_hosts=allow_hosts,
                                latency=latency / 1000).astart()
            click.echo(f"AlphaSMS sandbox on {box.api_url} (key {key!r}); control calls under {box.url}/_sandbox/")
            click.echo(f"  web inbox: {box.inbox_url}")
            click.echo(f"  export ALPHASMS_API_URL={box.api_url} ALPHASMS_API_KEY={key}")
            try:
                await asyncio.Event().wait()
            finally:
                await box.astop()

        try:
            asyncio.run(serve())
        except KeyboardInterrupt:
            click.echo("sandbox stopped")
