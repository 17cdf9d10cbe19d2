"""Sending from the command line: a preview and a confirmation for large sends, a progress bar.

Both only on a terminal: piped or scripted runs are never asked anything.
``--yes`` skips the question. The send itself is the async client's, with
``[alphasms] max_concurrency`` requests in flight (the outcomes keep the
order of the recipients), over httpx's own transport: httpx is loaded
anyway, so a campaign from cron pays for no second HTTP stack.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import click

from .output import Context, guarded, report_outcomes

if TYPE_CHECKING:  # pragma: no cover
    from ..results import Outcome

__all__ = ["send_and_report", "confirm_large_send", "send_concurrently", "bulk_mode"]


def _interactive() -> bool:
    return sys.stdin.isatty() and sys.stderr.isatty()


def confirm_large_send(ctx: Context, messages: list[Any], summary: str, yes: bool) -> None:
    """Above ``[cli] confirm_above`` recipients on a terminal: show what goes out and ask."""
    limit = ctx.settings.cli.confirm_above
    if yes or len(messages) <= limit or not _interactive():
        return
    from ..segments import count_segments

    phones = ", ".join(str(m.phone) for m in messages[:10]) + (" …" if len(messages) > 10 else "")
    texts = [getattr(m, "text", None) or getattr(m, "fallback_text", None) or "" for m in messages]
    parts = sum(count_segments(t).parts for t in texts if t)
    click.echo(f"About to send {summary}: {phones}", err=True)
    click.echo(f"{len(messages)} message(s), {parts} SMS part(s) in all if sent by SMS.", err=True)
    if not click.confirm("Send?", default=False, err=True):
        click.echo("Nothing sent.", err=True)
        sys.exit(1)


@contextmanager
def bulk_mode() -> Iterator[None]:
    """Pause the cyclic garbage collector for a one-shot send command, and resume it after.

    A campaign makes about ten objects per message, all freed by reference counting; the
    collector's repeated passes over them (and over everything imported) cost more than
    checking and encoding them (measured: a third of the CPU time of sending 10,000). What
    exists already (the imports) is frozen: never looked at again, at exit either. Only for
    the send commands, never for the bot or the sandbox.
    """
    import gc

    was_enabled = gc.isenabled()
    gc.disable()
    gc.freeze()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def send_concurrently(ctx: Context, messages: list[Any], progress: Callable[[int], None] | None = None
                      ) -> list[Outcome[Any]]:
    """Send with the async client, ``max_concurrency`` batches in flight; outcomes in the messages' order."""
    import asyncio

    import httpx

    from ..service import make_async_client

    limit = ctx.settings.alphasms.max_concurrency

    async def run() -> list[Outcome[Any]]:
        transport = httpx.AsyncHTTPTransport(limits=httpx.Limits(max_connections=limit,
                                                                 max_keepalive_connections=limit))
        async with make_async_client(ctx.settings, plugins=ctx.plugins, transport=transport) as client:
            return await client.send(messages, progress=progress)

    return asyncio.run(run())


def send_and_report(ctx: Context, messages: list[Any], *, yes: bool, summary: str,
                    describe: Callable[[Outcome[Any]], str], verbose: bool = False) -> None:
    """Confirm if large, send with a progress bar on a terminal, print the outcomes, exit."""
    confirm_large_send(ctx, messages, summary, yes)
    batches = -(-len(messages) // ctx.settings.alphasms.batch_size)
    if batches > 1 and sys.stderr.isatty() and not ctx.json:
        from rich.progress import Progress

        with Progress(transient=True) as bar:
            task = bar.add_task("Sending", total=len(messages))
            outcomes = guarded(ctx, lambda: send_concurrently(ctx, messages, lambda n: bar.advance(task, n)),
                               describe)
    else:
        outcomes = guarded(ctx, lambda: send_concurrently(ctx, messages), describe)
    report_outcomes(ctx, outcomes, describe, verbose=verbose)
