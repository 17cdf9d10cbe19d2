"""Sending from the command line: a preview and a confirmation for large sends, a progress bar.

The preview and the question count what will go out: the messages are
prepared first (the plugins' ``alphasms_prepare_message``, then the checks),
and what is sent are those prepared copies. The question and the bar only
on a terminal: piped or scripted runs are never asked anything. ``--yes``
skips the question. The send itself is the async client's, with
``[alphasms] max_concurrency`` requests in flight (the outcomes keep the
order of the recipients), over httpx's own transport: httpx is loaded
anyway, so a campaign from cron pays for no second HTTP stack.
"""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

import click

from ..defaults import DEFAULT_BATCH_SIZE
from ..errors import RequestError
from ..i18n import gettext as _
from ..i18n import ngettext
from .output import Context, guarded, report_outcomes, without_trio

if TYPE_CHECKING:  # pragma: no cover
    from ..results import Outcome

__all__ = ["send_and_report", "confirm_large_send", "preview", "bulk_mode", "exits_after_command",
           "blocking_async_client"]

T = TypeVar("T")


def _interactive() -> bool:
    return sys.stdin.isatty() and sys.stderr.isatty()


def _sms_texts(messages: list[Any]) -> list[str]:
    """The texts that go (or may go, as a fallback) by SMS."""
    from ..messages import Sms

    texts = [m.text if isinstance(m, Sms) else getattr(m, "fallback_text", None) for m in messages]
    return [t for t in texts if t]


def preview(ctx: Context, messages: list[Any]) -> None:
    """One line on stderr: how many recipients and SMS parts, counted on the prepared messages."""
    texts = _sms_texts(messages)
    if ctx.json or not texts:
        return
    from ..segments import count_segments

    if len(set(texts)) == 1:
        click.echo(ngettext("Sending to {n} recipient, SMS {parts} each", "Sending to {n} recipients, SMS {parts} each",
                            len(messages)).format(n=len(messages), parts=count_segments(texts[0])), err=True)
    else:
        parts = sum(count_segments(t).parts for t in texts)
        click.echo(ngettext("Sending to {n} recipient, {parts} SMS part(s) in all",
                            "Sending to {n} recipients, {parts} SMS part(s) in all", len(messages)).format(
                                n=len(messages), parts=parts), err=True)


def confirm_large_send(ctx: Context, messages: list[Any], summary: str, yes: bool) -> None:
    """Above ``[cli] confirm_above`` recipients on a terminal: show what goes out and ask."""
    limit = ctx.settings.cli.confirm_above
    if yes or len(messages) <= limit or not _interactive():
        return
    from ..segments import count_segments

    phones = ", ".join(str(m.phone) for m in messages[:10]) + (" …" if len(messages) > 10 else "")
    parts = sum(count_segments(t).parts for t in _sms_texts(messages))
    click.echo(_("About to send {what}: {phones}").format(what=summary, phones=phones), err=True)
    click.echo(_("{n} message(s), {parts} SMS part(s) in all if sent by SMS.").format(n=len(messages), parts=parts),
               err=True)
    if not click.confirm(_("Send?"), default=False, err=True):
        click.echo(_("Nothing sent."), err=True)
        sys.exit(1)


_last_act = False  # True in the ``alphasms`` process itself: it exits when its command returns


def exits_after_command() -> None:
    """Said by the ``alphasms`` entry point: this process ends with its command (see :func:`bulk_mode`)."""
    global _last_act
    _last_act = True


@contextmanager
def bulk_mode() -> Iterator[None]:
    """Pause the cyclic garbage collector for a one-shot send command, and resume it after.

    A campaign makes about ten objects per message, all freed by reference counting; the
    collector's repeated passes over them (and over everything imported) cost more than
    checking and encoding them (measured: a third of the CPU time of sending 10,000). What
    exists already (the imports) is frozen: never looked at again, at exit either. In the
    ``alphasms`` process, what the send made is frozen too on the way out (the process ends
    now and frees it; one more pass over it was 7% of sending 10,000); a caller in-process
    (``main([...])`` from Python) gets the collector back as it was. Only for the send
    commands, never for the bot or the sandbox.
    """
    import gc

    was_enabled = gc.isenabled()
    gc.disable()
    gc.freeze()
    try:
        yield
    finally:
        if _last_act:
            gc.freeze()  # resets the collector's count: no pass over the send's objects on the way out
        if was_enabled:
            gc.enable()


def _async_client(ctx: Context) -> Any:
    """The async client with a pool of ``max_concurrency`` connections, kept open (made in its event loop)."""
    import httpx

    from ..service import make_async_client
    from ..tls import context_for

    limit = ctx.settings.alphasms.max_concurrency
    with without_trio():
        transport = httpx.AsyncHTTPTransport(limits=httpx.Limits(max_connections=limit,
                                                                 max_keepalive_connections=limit),
                                             verify=context_for(ctx.settings.alphasms.api_url))
    return make_async_client(ctx.settings, plugins=ctx.plugins, transport=transport)


def _with_client(ctx: Context, work: Callable[[Any], Awaitable[T]]) -> T:
    """``work(client)`` with the async client, ``max_concurrency`` requests in flight."""
    import asyncio

    async def run() -> T:
        async with _async_client(ctx) as client:
            return await work(client)

    return asyncio.run(run())


class _Blocking:
    """The async client driven from blocking code: its event loop runs on a thread of its own, so a
    send goes on while the caller does other work (``submit``)."""

    def __init__(self, loop: Any, client: Any) -> None:
        self._loop, self._client = loop, client
        self.plugins, self.batch_size, self.max_concurrency = client.plugins, client.batch_size, client.max_concurrency
        self.max_batch_size = client.max_batch_size

    def submit(self, messages: list[Any], **options: Any) -> Any:
        """Start sending; a ``concurrent.futures.Future`` of the outcomes."""
        import asyncio

        return asyncio.run_coroutine_threadsafe(self._client.send(messages, **options), self._loop)


@contextmanager
def blocking_async_client(ctx: Context) -> Iterator[Any]:
    """A client for the campaign runner: ``max_concurrency`` requests in flight, and sending while the
    runner claims and records in the store (one request at a time, and the store and the provider
    taking turns, made a campaign of 100,000 spend twice as long as ``alphasms send``)."""
    import asyncio
    import threading

    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="alphasms-send", daemon=True)
    thread.start()

    async def start() -> Any:
        return _async_client(ctx)

    client = asyncio.run_coroutine_threadsafe(start(), loop).result()
    try:
        yield _Blocking(loop, client)
    finally:
        asyncio.run_coroutine_threadsafe(client.aclose(), loop).result()
        loop.call_soon_threadsafe(loop.stop)
        thread.join()
        loop.close()


def _in_order(messages: list[Any], sent: list[Outcome[Any]], refused: list[Outcome[Any]]) -> list[Outcome[Any]]:
    """The outcomes in the recipients' order: a plugin's refusals where their messages were, the sent between."""
    by_message = {id(o.message): o for o in refused}
    rest = iter(sent)
    return [by_message[id(m)] if id(m) in by_message else next(rest) for m in messages]


@contextmanager
def _progress(ctx: Context, total: int) -> Iterator[Callable[[int], None] | None]:
    """A progress bar on a terminal for more than one batch (``advance(n)``), else nothing."""
    first = ctx.settings.alphasms.batch_size or DEFAULT_BATCH_SIZE
    if total <= first or not sys.stderr.isatty() or ctx.json:
        yield None
        return
    from rich.progress import Progress

    with Progress(transient=True) as bar:
        task = bar.add_task("Sending", total=total)
        yield lambda n: bar.advance(task, n)


def send_and_report(ctx: Context, messages: list[Any], *, yes: bool, summary: str,
                    describe: Callable[[Outcome[Any]], str], verbose: bool = False) -> None:
    """Prepare, preview, confirm if large, send with a progress bar on a terminal, print the outcomes, exit.

    One client does it all: the question is asked between its prepare and its send (nothing else runs
    on the event loop then), and only the prepared copies are sent, so the hooks run once.
    """
    async def work(client: Any) -> list[Outcome[Any]]:
        ready, refused = await client.prepare(messages)
        preview(ctx, ready)
        confirm_large_send(ctx, ready, summary, yes)
        with _progress(ctx, len(ready)) as advance:
            try:
                sent = await client.send(ready, prepared=True, progress=advance)
            except RequestError as exc:
                exc.outcomes = _in_order(messages, exc.outcomes, refused)
                raise
        return _in_order(messages, sent, refused)

    outcomes = guarded(ctx, lambda: _with_client(ctx, work), describe)
    report_outcomes(ctx, outcomes, describe, verbose=verbose)
