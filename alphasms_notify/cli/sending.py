"""Sending from the command line: a preview and a confirmation for large sends, a progress bar.

Both only on a terminal: piped or scripted runs are never asked anything and
print plain lines. ``--yes`` skips the question.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

from .output import Context, call_provider, report_outcomes

if TYPE_CHECKING:  # pragma: no cover
    from ..results import Outcome

__all__ = ["send_and_report", "confirm_large_send"]


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


def send_and_report(ctx: Context, messages: list[Any], *, yes: bool, summary: str,
                    describe: Callable[[Outcome], str]) -> None:
    """Confirm if large, send with a progress bar on a terminal, print the outcomes, exit."""
    confirm_large_send(ctx, messages, summary, yes)
    batches = -(-len(messages) // ctx.settings.alphasms.batch_size)
    if batches > 1 and sys.stderr.isatty() and not ctx.json:
        from rich.progress import Progress

        with Progress(transient=True) as bar:
            task = bar.add_task("Sending", total=len(messages))
            outcomes = call_provider(ctx, lambda c: c.send(messages, progress=lambda n: bar.advance(task, n)),
                                     describe)
    else:
        outcomes = call_provider(ctx, lambda c: c.send(messages), describe)
    report_outcomes(ctx, outcomes, describe)
