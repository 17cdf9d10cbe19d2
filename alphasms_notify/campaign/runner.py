"""Running a campaign: every recipient exactly once, whatever kills the runner and whenever.

Each recipient's message and id were stored at creation, after the plugins'
prepare hooks and the checks. A runner claims a batch (a lease in the store,
so runners on one PostgreSQL never hold the same recipient), checks it against
the opt-outs again (one may have come since), sends it with the client (the
checks again, the sent hooks, retries and reconcile by id), and records how
each ended and tracks what went, in its own store. What a dead runner held, and what
ended *unknown*, is claimed again as *maybe sent*: the message object is
marked so, and the client asks the provider about its id before anything is
resent (see ``client.flow``), so an accepted message is never sent again and
a message that never arrived is sent. "Insufficient funds" pauses the
campaign with the rest pending; a request that failed as a whole leaves its
recipients to the next run.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, cast

import orjson

from ..client.actions import UNKNOWN, stops_later_batches
from ..consent import category_of, refusal
from ..errors import AccessDenied, RequestError
from ..messages import from_data, replaced
from ..plugins import call_hook
from ..results import Outcome
from ..store import Store, lease_owner
from ..store.campaigns import Claimed
from ..tracking import TRACKED_BY
from .plan import opens_at

__all__ = ["run_campaign", "RunResult", "CLAIM", "LEASE"]

log = logging.getLogger("alphasms_notify.campaign")

CLAIM = 200  # recipients a runner takes, and records, at a time (the client posts them in batches of batch_size)
LEASE = 120.0  # seconds a claim is this runner's: well over a send with its retries and reconcile


@dataclass(frozen=True)
class RunResult:
    state: str  # finished, paused, canceled, held, waiting (other runners hold the rest), failed (a request)
    message: str
    sent: int = 0


def _end(outcome: Outcome[Any]) -> tuple[str, str | None]:
    if outcome.ok:
        return "sent", None
    if outcome.unknown:
        return "unknown", outcome.error
    if outcome.error and (outcome.error.startswith("not sent:") or "insufficient funds" in outcome.error.lower()):
        return "pending", None  # not sent (never posted, or refused for the money): it goes in a later run
    return "failed", outcome.error


@dataclass(frozen=True)
class _Claim:
    batch: list[Claimed]
    paced: bool  # the campaign has a rate: send it before claiming more (the rate counts sends as they go)


@dataclass(frozen=True)
class _Hold:
    until: float  # nothing to claim before then (its start or its window)
    seconds: float  # how long to sleep (with ``wait``) before looking again


def run_campaign(store: Store, client: Any, name: str, *, wait: bool = False, clock: Callable[[], float] = time.time,
                 sleep: Callable[[float], None] = time.sleep, claim: int | None = None,
                 progress: Callable[[int], None] | None = None) -> RunResult:
    """Send what is left of campaign ``name`` until it is finished, paused, canceled or held (by its start
    or its window; with ``wait`` it sleeps through those instead).

    ``claim``: recipients taken at a time; by default two rounds of every request the client keeps in
    flight at its largest batch (``max_concurrency`` x ``max_batch_size``: 8,000 for the CLI's), at least
    ``CLAIM``: each claim and settle costs a few statements whatever its size, and a send of a claim ends
    with its slowest request (a 100,000-recipient run took 8.8 s claiming 400 at a time, 5.7 s claiming
    2,000; later, 4.1 s claiming 2,000 and 3.3 s claiming 10,000). A client with ``submit`` (the CLI's: the
    async client on its own thread) sends one claim while the next is claimed, and the next while the
    last is recorded, so the store's work and the provider's overlap; what would stop the campaign (the
    money, the key, a failed request, an operator's pause) is judged before the next goes. A campaign
    with ``--rate`` sends each claim before taking the next.
    """
    owner, sent, after = lease_owner(), 0, -1  # after: where our last claim of the never tried ended
    if claim is None:
        batch = getattr(client, "batch_size", 1)
        claim = max(CLAIM, 2 * getattr(client, "max_batch_size", batch) * getattr(client, "max_concurrency", 1))
    plugins = getattr(client, "plugins", None)
    in_flight: tuple[list[Claimed], Future[Any]] | None = None
    pipelined = hasattr(client, "submit")

    def record(batch: list[Claimed], answered: tuple[list[Outcome[Any]], RequestError | None]) -> RunResult:
        """Record how a sent batch ended (``answered``: its outcomes, and a failed request's error)."""
        nonlocal sent
        result = _settle(store, client, name, owner, batch, *answered, clock)
        sent += result.sent
        if progress is not None:
            progress(len(batch))
        return result

    def finish() -> RunResult:
        """Wait for the batch in flight and record it."""
        nonlocal in_flight
        assert in_flight is not None
        (batch, answer), in_flight = in_flight, None
        return record(batch, _outcomes(answer))

    def send(claimed: _Claim) -> None:
        nonlocal in_flight
        batch, messages = _consented(store, name, owner, claimed.batch, clock)
        if batch:
            in_flight = (batch, _submit(client, messages))

    try:
        while True:
            step = _next(store, name, owner, claim, clock(), plugins, after)
            if isinstance(step, _Claim):
                after = max((c.seq for c in step.batch if not c.maybe_sent), default=after)
            if in_flight is not None:
                (batch, answer), in_flight = in_flight, None
                answered = _outcomes(answer)
                stopped, went = None, False
                if isinstance(step, _Claim) and answered[1] is None and stops_later_batches(answered[0]) is None:
                    stopped = _unless_stopped(store, name)  # paused while we claimed ahead?
                    if stopped is None:  # the next batch goes out while this one is recorded: the store's work
                        send(step)  # and the provider's overlap (recorded first, they took turns: 1.3x as long)
                        went = True
                result = record(batch, answered)
                if result.state == "running" and stopped is not None:
                    result = stopped
                if result.state != "running":  # (never when the next went: only a failure or a stop ends it)
                    if isinstance(step, _Claim) and not went:  # claimed ahead and not sent: back to the others
                        store.campaigns.settle(name, owner, [(c.seq, "pending", None) for c in step.batch],
                                               clock())
                    return RunResult(result.state, result.message, sent)
                if went or not isinstance(step, _Claim):
                    continue  # judged while a batch of ours was in flight: judge again now it is settled
            if isinstance(step, RunResult):
                return RunResult(step.state, step.message, sent)
            if isinstance(step, _Hold):
                if not wait:
                    opens = time.strftime("%Y-%m-%d %H:%M", time.localtime(step.until))
                    return RunResult("held", f"held until {opens} (its start or its window)", sent)
                sleep(step.seconds)
                continue
            if step is None:  # the rate's minute is used up, or other runners hold the rest
                sleep(1.0)
                continue
            send(step)
            if in_flight is None:  # all of it opted out since
                continue
            if step.paced or not pipelined:  # settled before claiming more
                result = finish()
                if result.state != "running":
                    return RunResult(result.state, result.message, sent)
    finally:
        if in_flight is not None:  # interrupted (Ctrl-C): what was in flight ends as the client says
            finish()


def _unless_stopped(store: Store, name: str) -> RunResult | None:
    """The campaign's end if it was paused or canceled meanwhile (by an operator, another runner)."""
    campaign = store.campaigns.get(name)
    if campaign is None or campaign.state not in ("running", "scheduled"):
        state = campaign.state if campaign is not None else "failed"
        return RunResult(state, (campaign.reason if campaign else None) or state)
    return None


def _next(store: Store, name: str, owner: str, claim: int, now: float, plugins: Any, after: int
          ) -> _Claim | RunResult | _Hold | None:
    """What to do next: a batch claimed to send, a reason to stop, a hold, or None (look again in a second)."""
    campaigns = store.campaigns
    campaign = campaigns.get(name)
    if campaign is None:
        return RunResult("failed", f"no campaign named {name!r}")
    if campaign.state in ("paused", "canceled", "finished"):
        return RunResult(campaign.state, campaign.reason or campaign.state)
    if campaign.until_at is not None and now >= campaign.until_at:
        expired = campaigns.expire(name, now)
        if campaigns.todo(name) == 0:
            _finish(store, name, plugins, f"its end passed: {expired} recipient(s) expired")
            return RunResult("finished", f"its end passed: {expired} recipient(s) expired")
    opens = opens_at(now, campaign.daily_window, campaign.tz, campaign.start_at)
    if opens > now:
        return _Hold(opens, min(opens - now, 60.0))
    if campaign.state == "scheduled" and campaigns.set_state(name, "running", only_from=("scheduled",)):
        call_hook(plugins, "alphasms_campaign_started", campaign=name, total=campaign.total)
    want = claim
    if campaign.rate:
        want = campaigns.take_rate(name, campaign.rate, min(claim, campaign.rate), now)
        if want == 0:
            return None
    batch = campaigns.claim(name, owner, LEASE, want, now, after=after)
    if campaign.rate and len(batch) < want:
        campaigns.give_back(name, now, want - len(batch))
    if batch:
        return _Claim(batch, bool(campaign.rate))
    if campaigns.todo(name) == 0:
        _finish(store, name, plugins, None)
        return RunResult("finished", "finished")
    return RunResult("waiting", "the rest is held by other runners (or their leases)")


def _finish(store: Store, name: str, plugins: Any, reason: str | None) -> None:
    if store.campaigns.set_state(name, "finished", reason, only_from=("running", "scheduled")):
        call_hook(plugins, "alphasms_campaign_finished", campaign=name, counts=store.campaigns.counts(name))


def _messages(batch: list[Claimed], store: Store) -> list[Any]:
    """The stored messages, each payload read once (a campaign of one text has one)."""
    read: dict[str, Any] = {}
    messages = []
    for claimed in batch:
        model = read.get(claimed.payload)
        if model is None:
            data = orjson.loads(claimed.payload)
            data["fields"].update(phone=claimed.phone, id=claimed.id)  # older payloads have their own
            model = read[claimed.payload] = from_data(data)
        message = replaced(model, phone=claimed.phone, id=claimed.id, meta=dict(model.meta))
        message.meta[TRACKED_BY] = store.target  # tracked where the batch is settled (see _settle)
        if claimed.maybe_sent:
            message.sent = UNKNOWN  # the client asks the provider about this id before sending it again
        messages.append(message)
    return messages


def _consented(store: Store, name: str, owner: str, batch: list[Claimed], clock: Callable[[], float]
               ) -> tuple[list[Claimed], list[Any]]:
    """The batch's messages, less those whose phone opted out since the campaign was made (checked again
    now: the plugins ran at creation); those are settled ``skipped``, with since when."""
    messages = _messages(batch, store)
    opted = store.optouts.among(m.phone for m in messages)
    if not opted:
        return batch, messages
    kept: list[tuple[Claimed, Any]] = []
    ends: list[tuple[int, str, str | None]] = []
    for claimed, message in zip(batch, messages, strict=True):
        found = opted.get(message.phone)
        if found is not None and found.blocks(category_of(message)):
            ends.append((claimed.seq, "skipped", refusal(found)))
        else:
            kept.append((claimed, message))
    store.campaigns.settle(name, owner, ends, clock())
    return [c for c, _ in kept], [m for _, m in kept]


def _submit(client: Any, messages: list[Any]) -> Future[Any]:
    """Start sending (prepared, with the hooks and checks, when the campaign was made)."""
    if hasattr(client, "submit"):
        return cast("Future[Any]", client.submit(messages, prepared=True))
    done: Future[Any] = Future()
    try:
        done.set_result(client.send(messages, prepared=True))
    except RequestError as exc:
        done.set_exception(exc)
    return done


def _outcomes(answer: Future[Any]) -> tuple[list[Outcome[Any]], RequestError | None]:
    """A sent batch's outcomes, and the failure of a request of it (its outcomes say which went)."""
    try:
        return answer.result(), None
    except RequestError as exc:
        return exc.outcomes, exc


def _settle(store: Store, client: Any, name: str, owner: str, batch: list[Claimed], outcomes: list[Outcome[Any]],
            failure: RequestError | None, clock: Callable[[], float]) -> RunResult:
    """Record how each recipient of a sent batch ended; pause the campaign for the money or the key."""
    ends = [(c.seq, *_end(o)) for c, o in zip(batch, outcomes, strict=True)]
    # tracked here, not by the tracking plugin in the client's flow: its write would hold up the event loop
    # with the next requests in flight (and the status poll follows them from this store all the same)
    store.messages.track([o for o in outcomes if o.ok or o.unknown], source=f"campaign:{name}")
    store.campaigns.settle(name, owner, ends, clock())
    sent = sum(state == "sent" for _, state, _ in ends)
    plugins = getattr(client, "plugins", None)
    if isinstance(failure, AccessDenied):
        return _pause(store, name, plugins, f"AlphaSMS refused the key: {failure}", sent)
    if failure is not None:
        return RunResult("failed", f"a request failed: {failure}; run again to go on (nothing is sent twice)",
                         sent)
    if (reason := stops_later_batches(outcomes)) is not None:
        return _pause(store, name, plugins, f"{reason}: top up, then resume", sent)
    return RunResult("running", "", sent)


def _pause(store: Store, name: str, plugins: Any, reason: str, sent: int) -> RunResult:
    if store.campaigns.set_state(name, "paused", reason):
        call_hook(plugins, "alphasms_campaign_paused", campaign=name, reason=reason)
    return RunResult("paused", f"paused: {reason}", sent)
