"""``alphasms campaign``: create a campaign (the plan stored first), run it, pause, resume, cancel, report.

The campaign lives in the store (``[store]``, SQLite or PostgreSQL, the bot's too), so ``run`` can be
killed and run again, on this host or several, and each recipient gets its message once.
"""

from __future__ import annotations

import csv
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import click

from ..channels import CHANNELS, Channel
from ..i18n import gettext as _
from .contacts import open_store
from .output import EXIT_INVALID, Context, echo_results, fail
from .senders import message_extras, message_options, sender_options, senders_for

__all__ = ["campaign"]

EXIT_STOPPED = 1  # run ended paused, canceled, or with a request failed: said why


@click.group()
def campaign() -> None:
    """Campaigns: a send to many, stored first, crash-safe, in hours you choose (see `create --help`)."""


@campaign.command()
@click.argument("name")
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False, allow_dash=True),
              help="Recipients with fields: a CSV with a 'phone' column; TEXT is a template with {column} fields.")
@click.option("--to-file", type=click.Path(dir_okay=False, allow_dash=True),
              help="Recipients: one phone per line (or a CSV with a 'phone' column).")
@click.option("--channel", type=click.Choice(CHANNELS), default="sms", show_default=True)
@sender_options
@message_options("marketing")
@click.option("--at", "start", help="Not before this local time (YYYY-MM-DD HH:MM, in --tz).")
@click.option("--until", "until", help="Never after this local time: what is left then is reported expired.")
@click.option("--window", help="Send only between these hours each day, e.g. 09:00-21:00 (in --tz).")
@click.option("--tz", default="Europe/Kyiv", show_default=True, help="The recipients' time zone.")
@click.option("--rate", type=click.IntRange(min=1), help="At most this many messages a minute (all runners).")
@click.option("--force", is_flag=True, help="Store it even when its estimated cost ([pricing]) exceeds the balance.")
@click.option("--yes", "-y", is_flag=True, help="Do not ask after the preview (asked only on a terminal).")
@click.argument("text")
@click.pass_obj
def create(ctx: Context, /, name: str, csv_path: str | None, to_file: str | None, channel: Channel,
           start: str | None, until: str | None, window: str | None, tz: str, rate: int | None, force: bool,
           yes: bool, text: str, **senders: Any) -> None:
    """Store campaign NAME: every recipient's TEXT rendered, checked and given its id; nothing is sent yet."""
    from .sending import bulk_mode

    with bulk_mode():  # a message and a row per recipient: as for a send, no collector passes over them
        _create(ctx, name, csv_path, to_file, channel, start, until, window, tz, rate, force, yes, text, senders)


def _create(ctx: Context, name: str, csv_path: str | None, to_file: str | None, channel: Channel,
            start: str | None, until: str | None, window: str | None, tz: str, rate: int | None, force: bool,
            yes: bool, text: str, senders: dict[str, Any]) -> None:
    from ..campaign import PlanError, create_campaign, parse_moment
    from ..errors import MessageRejected, ValidationError
    from ..messages import build
    from ..store.campaigns import CampaignExists
    from ..templates import TemplateError, render
    from .output import guarded, invalid
    from .recipients import RecipientsError, read_recipients, read_text_argument

    if bool(csv_path) == bool(to_file):
        fail("give the recipients with --csv FILE or --to-file FILE (one of them)", EXIT_INVALID)
    try:
        rows = read_recipients(csv_path or to_file or "", need_csv=bool(csv_path))
        text = read_text_argument(text)
        start_at = parse_moment(start, tz) if start else None
        until_at = parse_moment(until, tz) if until else None
    except (RecipientsError, PlanError) as exc:
        fail(str(exc), EXIT_INVALID)
    rows = _once_each(rows, per_row=bool(csv_path))
    extras = message_extras(senders, f"campaign:{name}")
    chosen = senders_for(channel, senders, ctx.settings.alphasms.sms_sender)
    by_body: dict[str, list[int]] = {}  # the rows of each text: one build() a text (a plain list: one in all)
    for index, row in enumerate(rows):
        try:
            body = render(text, row) if csv_path else text
        except (TemplateError, MessageRejected) as exc:
            fail(f"line {getattr(row, 'line', '?')} ({row.get('phone') or 'no phone'}): {exc}; nothing stored",
                 EXIT_INVALID)
        by_body.setdefault(body, []).append(index)
    messages: list[Any] = [None] * len(rows)
    for body, indexes in by_body.items():
        try:
            built = build(channel, [rows[i]["phone"] or "" for i in indexes], body, **extras, **chosen)
        except ValidationError as exc:
            invalid(ctx, exc, options=True)
        assert len(built) == len(indexes)  # one message a phone (an image is never split here)
        for i, message in zip(indexes, built, strict=True):
            messages[i] = message
    try:
        with open_store(ctx) as store, ctx.client() as client:
            def review(ready: list[Any], refused: list[Any]) -> None:
                _review(ctx, client, ready, refused, force=force, yes=yes)

            made = guarded(ctx, lambda: create_campaign(store, client, name, messages, channel=channel,
                                                        start_at=start_at, until_at=until_at, window=window, tz=tz,
                                                        rate=rate, review=review))
    except (PlanError, CampaignExists) as exc:
        fail(str(exc), EXIT_INVALID)
    if ctx.json:
        echo_results([{"name": made.name, "recipients": made.recipients, "skipped": made.skipped,
                       "state": made.state}])
    else:
        click.echo(f"campaign {made.name}: {made.recipients} recipient(s) stored"
                   + (f", {made.skipped} skipped by a plugin" if made.skipped else "")
                   + f"; {made.state}. Send with: alphasms campaign run {made.name}")


def _once_each(rows: list[Any], *, per_row: bool) -> list[Any]:
    """A list of phones (one text for all) gets each phone once, however often or however it is written, as
    ``alphasms send`` does (a second SMS to one customer is billed and annoys); a CSV's rows are each sent,
    as ``send-template`` does, and a phone on several rows is named."""
    from .recipients import first_of_each, warn_given_again
    from .templates import warn_repeated_phones

    if per_row:
        warn_repeated_phones(rows, [getattr(row, "line", None) for row in rows])
        return rows
    kept, repeated = first_of_each([row["phone"] or "" for row in rows])
    warn_given_again(repeated)
    return [rows[i] for i in kept]


def _review(ctx: Context, client: Any, ready: list[Any], refused: list[Any], *, force: bool, yes: bool) -> None:
    """The preview before the plan is stored: what it costs, next to the balance; over it, nothing is stored
    unless ``--force``."""
    from ..campaign.estimate import estimate

    found = estimate(ready, ctx.settings.pricing)
    balance = client.balance().amount if found.cost is not None else None
    if not ctx.json:
        click.echo(_("Preview: {what}").format(what=found.line())
                   + (" " + _("(balance {balance})").format(balance=f"{balance:.2f}") if balance is not None else ""),
                   err=True)
        if refused:
            opted = sum(1 for o in refused if (o.error or "").startswith("opted out"))
            click.echo(_("Skipped: {n} recipient(s)").format(n=len(refused))
                       + (", " + _("{n} of them opted out").format(n=opted) if opted else "")
                       + " " + _("(stored as skipped, with the reason; `campaign report` lists them)"), err=True)
    if balance is not None and found.cost is not None and found.cost > balance and not force:
        fail(_("the estimated cost {cost} is more than the balance {balance}: top up, or store it anyway with --force "
               "(it pauses when the money runs out); nothing stored").format(cost=f"{found.cost:.2f}",
                                                                             balance=f"{balance:.2f}"), EXIT_STOPPED)
    if not (yes or ctx.json) and sys.stdin.isatty() and sys.stderr.isatty():
        if not click.confirm(_("Store this campaign?"), default=False, err=True):
            fail(_("nothing stored"), EXIT_STOPPED)


@campaign.command()
@click.argument("name")
@click.option("--wait", is_flag=True, help="Keep going through closed windows and a later start, until finished.")
@click.pass_obj
def run(ctx: Context, name: str, wait: bool) -> None:
    """Send what is left of NAME; each recipient once, however often this is stopped and run again."""
    from ..campaign import run_campaign
    from .sending import blocking_async_client, bulk_mode

    with open_store(ctx) as store:
        with bulk_mode(), blocking_async_client(ctx) as client, _run_bar(ctx, store, name) as advance:
            result = run_campaign(store, client, name, wait=wait, progress=advance)
        counts = store.campaigns.counts(name)
    line = f"campaign {name}: {result.state} ({result.message}); sent now {result.sent}; " + _counts(counts)
    if ctx.json:
        echo_results([{"name": name, "state": result.state, "message": result.message, "sent_now": result.sent,
                       "counts": counts}])
    else:
        click.echo(line, err=result.state in ("paused", "failed", "canceled"))
    sys.exit(0 if result.state in ("finished", "held", "waiting") else EXIT_STOPPED)


@contextmanager
def _run_bar(ctx: Context, store: Any, name: str) -> Iterator[Callable[[int], None] | None]:
    """On a terminal, a bar of the campaign's recipients done (by every runner), advanced after each batch."""
    found = store.campaigns.get(name)
    if found is None or ctx.json or not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import Progress

    from ..store.campaigns import done_count

    with Progress(console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(f"Sending {name}", total=found.total, completed=done_count(store.campaigns.counts(name)))
        yield lambda n: bar.advance(task, n)


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{n} {state}" for state, n in counts.items() if n) or "no recipients"


def _move(ctx: Context, name: str, state: str, only_from: tuple[str, ...], reason: str | None) -> None:
    with open_store(ctx) as store:
        found = store.campaigns.get(name)
        if found is None:
            fail(f"no campaign named {name!r}", EXIT_INVALID)
        if not store.campaigns.set_state(name, state, reason, only_from=only_from):
            fail(f"campaign {name} is {found.state}: it cannot be {state} now", EXIT_INVALID)
    if state == "paused":
        from ..plugins import call_hook

        call_hook(ctx.plugins, "alphasms_campaign_paused", campaign=name, reason=reason or "paused")
    click.echo(f"campaign {name}: {state}")


@campaign.command()
@click.argument("name")
@click.pass_obj
def pause(ctx: Context, name: str) -> None:
    """Stop sending NAME after the batch in flight; `resume` goes on."""
    _move(ctx, name, "paused", ("scheduled", "running"), "paused by an operator")


@campaign.command()
@click.argument("name")
@click.pass_obj
def resume(ctx: Context, name: str) -> None:
    """Let NAME send again (after a pause, or a top-up when the money ran out); then `run` it."""
    _move(ctx, name, "running", ("paused",), None)


@campaign.command()
@click.argument("name")
@click.pass_obj
def cancel(ctx: Context, name: str) -> None:
    """Send nothing more of NAME (what went out stays sent)."""
    _move(ctx, name, "canceled", ("scheduled", "running", "paused"), "canceled by an operator")


@campaign.command(name="retry-failed")
@click.argument("name")
@click.pass_obj
def retry_failed(ctx: Context, name: str) -> None:
    """Make NAME's failed recipients pending again, each with a new message id; then `run` it."""
    from ..ids import new_message_id

    with open_store(ctx) as store:
        again = store.campaigns.retry_failed(name, new_message_id)
        if again:
            store.campaigns.set_state(name, "running", None, only_from=("finished",))
    click.echo(f"campaign {name}: {again} failed recipient(s) pending again")


@campaign.command()
@click.argument("name")
@click.option("--watch", is_flag=True, help="Follow it with a live progress bar until it stops running (Ctrl-C ends).")
@click.pass_obj
def status(ctx: Context, name: str, watch: bool) -> None:
    """NAME's state and its recipients by state (and, from the status poll, delivered, read, replied)."""
    from ..store.campaigns import done_count

    with open_store(ctx) as store:
        found, state, counts = _status(store, name)
        if watch and not ctx.json:
            found, state, counts = _watch(store, name, found, state, counts)
    if ctx.json:
        echo_results([{"name": name, "state": state, "reason": found.reason, "channel": found.channel,
                       "total": found.total, "done": done_count(counts), "counts": counts}])
        return
    click.echo(f"campaign {name}: {state}{f' ({found.reason})' if found.reason else ''}; {found.total} "
               f"recipient(s): {_counts(counts)}")
    if state in ("running", "held", "scheduled", "paused"):
        click.echo(_bar(done_count(counts), found.total))


def _status(store: Any, name: str) -> tuple[Any, str, dict[str, int]]:
    import time

    from ..campaign import opens_at

    found = store.campaigns.get(name)
    if found is None:
        fail(f"no campaign named {name!r}", EXIT_INVALID)
    counts = {**store.campaigns.counts(name), **store.campaigns.delivery(name)}
    state = found.state
    if state in ("scheduled", "running") and opens_at(time.time(), found.daily_window, found.tz,
                                                      found.start_at) > time.time():
        state = "held"
    return found, state, counts


def _bar(done: int, total: int, width: int = 30) -> str:
    filled = round(width * done / max(total, 1))
    return f"[{'#' * filled}{'.' * (width - filled)}] {done} of {total} done ({100 * done // max(total, 1)}%)"


def _watch(store: Any, name: str, found: Any, state: str, counts: dict[str, int]
           ) -> tuple[Any, str, dict[str, int]]:
    """A live bar (on stderr) until the campaign is no longer running or held; what it ended with."""
    import time

    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from ..store.campaigns import done_count

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    try:
        with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
            task = bar.add_task(f"{name}: {state}", total=found.total, completed=done_count(counts))
            while state in ("running", "held", "scheduled"):
                time.sleep(1.0)
                found, state, counts = _status(store, name)
                bar.update(task, description=f"{name}: {state}", completed=done_count(counts))
    except KeyboardInterrupt:
        pass  # the status as it is now is printed below
    return found, state, counts


@campaign.command(name="list")
@click.pass_obj
def list_campaigns(ctx: Context) -> None:
    """Every campaign: name, state, recipients."""
    with open_store(ctx) as store:
        found = store.campaigns.all()
    if ctx.json:
        echo_results([{"name": c.name, "state": c.state, "total": c.total, "channel": c.channel} for c in found])
        return
    for c in found:
        click.echo(f"{c.name}  {c.state}  {c.total} recipient(s)  {c.channel}")


@campaign.command()
@click.argument("name")
@click.option("--csv", "as_csv", is_flag=True, required=True, help="One CSV row per recipient (standard output).")
@click.pass_obj
def report(ctx: Context, name: str, as_csv: bool) -> None:
    """NAME's recipients, one CSV row each: order, id, phone, state, error, tries, when, delivery status."""
    with open_store(ctx) as store:
        if store.campaigns.get(name) is None:
            fail(f"no campaign named {name!r}", EXIT_INVALID)
        out = csv.writer(sys.stdout)
        out.writerow(["seq", "id", "phone", "state", "error", "tries", "done_at", "delivery"])
        for r in store.campaigns.recipients(name):
            out.writerow([r["seq"], r["id"], r["phone"], r["state"], r["error"] or "", r["tried"],
                          r["done_at"] or "", r["delivery"] or ""])
