"""Running a campaign: every recipient exactly once, whatever kills the runner and whenever.

Each recipient's message and id were stored at creation. A runner claims a
batch (a lease in the store, so runners on one PostgreSQL never hold the same
recipient), sends it through the one road (the client: prepare hooks, checks,
tracking), and records how each ended. What a dead runner held, and what
ended *unknown*, is claimed again as *maybe sent*: the message object is
marked so, and the client asks the provider about its id before anything is
resent (see ``client.flow``), so an accepted message is never sent again and
a message that never arrived is sent. "Insufficient funds" pauses the
campaign with the rest pending; a request that failed as a whole leaves its
recipients to the next run.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..client.actions import UNKNOWN, stops_later_batches
from ..errors import AccessDenied, RequestError
from ..messages import from_data
from ..plugins import call_hook
from ..results import Outcome
from ..store import Store, lease_owner
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


def run_campaign(store: Store, client: Any, name: str, *, wait: bool = False, clock: Callable[[], float] = time.time,
                 sleep: Callable[[float], None] = time.sleep, claim: int = CLAIM,
                 progress: Callable[[int], None] | None = None) -> RunResult:
    """Send what is left of campaign ``name`` until it is finished, paused, canceled or held (by its start
    or its window; with ``wait`` it sleeps through those instead)."""
    owner, sent = lease_owner(), 0
    campaigns = store.campaigns
    plugins = getattr(client, "plugins", None)
    while True:
        campaign = campaigns.get(name)
        if campaign is None:
            return RunResult("failed", f"no campaign named {name!r}")
        if campaign.state in ("paused", "canceled", "finished"):
            return RunResult(campaign.state, campaign.reason or campaign.state, sent)
        now = clock()
        if campaign.until_at is not None and now >= campaign.until_at:
            expired = campaigns.expire(name, now)
            if campaigns.todo(name) == 0:
                if campaigns.set_state(name, "finished", f"its end passed: {expired} recipient(s) expired",
                                       only_from=("scheduled", "running")):
                    call_hook(plugins, "alphasms_campaign_finished", campaign=name, counts=campaigns.counts(name))
                continue
        opens = opens_at(now, campaign.daily_window, campaign.tz, campaign.start_at)
        if opens > now:
            if not wait:
                return RunResult("held", f"held until {time.strftime('%Y-%m-%d %H:%M', time.localtime(opens))}"
                                         " (its start or its window)", sent)
            sleep(min(opens - now, 60.0))
            continue
        if campaigns.set_state(name, "running", only_from=("scheduled",)):
            call_hook(plugins, "alphasms_campaign_started", campaign=name, total=campaign.total)
        want = claim
        if campaign.rate:
            want = campaigns.take_rate(name, campaign.rate, min(claim, campaign.rate), now)
            if want == 0:
                sleep(1.0)
                continue
        batch = campaigns.claim(name, owner, LEASE, want, now)
        if campaign.rate and len(batch) < want:
            campaigns.give_back(name, now, want - len(batch))
        if not batch:
            if campaigns.todo(name) == 0:
                if campaigns.set_state(name, "finished", None, only_from=("running", "scheduled")):
                    call_hook(plugins, "alphasms_campaign_finished", campaign=name, counts=campaigns.counts(name))
                continue
            if not wait:
                return RunResult("waiting", "the rest is held by other runners (or their leases)", sent)
            sleep(1.0)
            continue
        result = _send(store, client, name, owner, batch, clock)
        sent += result.sent
        if progress is not None:
            progress(len(batch))
        if result.state == "paused":
            now_paused = campaigns.get(name)
            call_hook(plugins, "alphasms_campaign_paused", campaign=name,
                      reason=(now_paused.reason if now_paused else None) or result.message)
        if result.state != "running":
            return RunResult(result.state, result.message, sent)


def _send(store: Store, client: Any, name: str, owner: str, batch: list[Any],
          clock: Callable[[], float]) -> RunResult:
    messages = []
    for claimed in batch:
        message = from_data(json.loads(claimed.payload))
        message.id = claimed.id
        if claimed.maybe_sent:
            message.sent = UNKNOWN  # the client asks the provider about this id before sending it again
        messages.append(message)
    try:
        outcomes = client.send(messages, prepared=True)  # prepared (hooks, checks) when the campaign was made
        failure: RequestError | None = None
    except RequestError as exc:
        outcomes, failure = exc.outcomes, exc
    ends = [(c.seq, *_end(o)) for c, o in zip(batch, outcomes, strict=True)]
    store.campaigns.settle(name, owner, ends, clock())
    sent = sum(state == "sent" for _, state, _ in ends)
    if isinstance(failure, AccessDenied):
        store.campaigns.set_state(name, "paused", f"AlphaSMS refused the key: {failure}")
        return RunResult("paused", f"paused: {failure}", sent)
    if failure is not None:
        return RunResult("failed", f"a request failed: {failure}; run again to go on (nothing is sent twice)",
                         sent)
    if (reason := stops_later_batches(outcomes)) is not None:
        store.campaigns.set_state(name, "paused", f"{reason}: top up, then resume")
        return RunResult("paused", f"paused: {reason} (top up, then resume)", sent)
    return RunResult("running", "", sent)
