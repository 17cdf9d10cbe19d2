"""Follow tracked messages: poll ``status`` in batches, fire the status and reply hooks, return events.

One poll cycle asks the provider about every active message in
``ceil(n / batch_size)`` requests. SMS stop being polled once final; Viber
messages are polled for ``reply_window`` seconds after sending even when
delivered, since two-way replies can come later. Anything older than
``max_age`` ages out. Replies are stored before their hook runs, and a hook
that did not finish (a crash) runs again on the next cycle, so plugins see
every reply.

A cycle also returns what it found (:class:`StatusChanged`,
:class:`ReplyReceived`) for a consumer such as the bot's forwarder.

Several bot instances on one store share the polling: a cycle claims the
messages due (a lease of ``lease`` seconds, about one poll interval, in the
store), polls them, and claims again until none is due, so in one cycle each
id is polled once in total, by whichever instance claimed it. A crashed
instance's messages fall due again when its leases end.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field

import pluggy

from .autoreply import auto_answer
from .client import AsyncAlphaSMS
from .consent import confirm_pending, handle_reply
from .errors import RequestError
from .plugins import acall_hook, has_impls
from .results import MessageStatus, StatusResult
from .sections import ConsentSettings, DeskSettings
from .store import HOOK, POLL, Store, StoredReply, TrackedMessage, instance_id

__all__ = ["Tracker", "PollStats", "StatusChanged", "ReplyReceived", "Event"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StatusChanged:
    """A tracked message has a new status (``old`` None: the first one seen)."""

    message: TrackedMessage
    old: MessageStatus | str | None
    new: MessageStatus | str
    status: StatusResult


@dataclass(frozen=True)
class ReplyReceived:
    """A Viber reply to a tracked message, stored and not yet forwarded."""

    message: TrackedMessage
    reply: StoredReply


Event = StatusChanged | ReplyReceived


@dataclass
class PollStats:
    checked: int = 0
    requests: int = 0
    changed: int = 0
    replies: int = 0
    finished: int = 0
    error: str | None = None
    events: list[Event] = field(default_factory=list, repr=False)


class Tracker:
    """``lease``: seconds a claimed message is this instance's (about the poll interval);
    ``claim_size``: messages claimed at a time (several status requests' worth)."""

    def __init__(self, store: Store, client: AsyncAlphaSMS, plugins: pluggy.PluginManager | None, *,
                 reply_window: float = 24 * 3600, max_age: float = 3 * 24 * 3600, lease: float = 27.0,
                 claim_size: int = 2000, owner: str | None = None, consent: ConsentSettings | None = None,
                 desk: DeskSettings | None = None) -> None:
        self.store, self.client, self.plugins, self.consent, self.desk = store, client, plugins, consent, desk
        self.reply_window, self.max_age = reply_window, max_age
        self.lease, self.claim_size = max(lease, 0.5), claim_size
        self.owner = owner or instance_id()

    async def _hook_reply(self, stored: StoredReply) -> None:
        """A new reply's consequences, each once: a STOP reply opts its phone out, any other outside office
        hours gets the automatic answer, then the plugins' hook."""
        if self.consent is not None or self.desk is not None:
            try:
                tracked = await self.store.run(self.store.messages.get, stored.message_id)
                said = None
                if tracked is not None and self.consent is not None:
                    said = await handle_reply(self.store, self.client, self.consent, tracked, stored.reply.message)
                if tracked is not None and self.desk is not None and said is None:
                    await auto_answer(self.store, self.client, self.desk, tracked, stored.reply.datetime)
            except Exception as exc:  # noqa: BLE001 - the opt-out is stored first; a confirmation is retried
                log.error("reply to message %s: opt-out or automatic answer failed: %s: %s", stored.message_id,
                          type(exc).__name__, exc)
        await acall_hook(self.plugins, "alphasms_reply_received", message_id=stored.message_id, reply=stored.reply)
        await self.store.run(self.store.replies.mark_hooked, stored.message_id, stored.seq)

    def _done(self, row: TrackedMessage, result: StatusResult, now: float) -> bool:
        status = result.status
        if not isinstance(status, MessageStatus) or not status.is_final:
            return now - row.created_at > self.max_age
        if status.is_failure or ((result.type == "sms" or row.type == "sms") and not row.follow_replies):
            return True
        # Viber, and an SMS with the provider's unsubscribe link: replies (an unsubscribe) may still come
        return now - row.created_at > self.reply_window

    async def _recover_hooks(self) -> None:
        """Hooks a crash interrupted: replies stored over a lease ago and never hooked."""
        claimed = await self.store.run(self.store.leases.claim, HOOK, self.owner, self.lease,
                                       older_than=time.time() - self.lease)
        try:
            for stored in await self.store.run(self.store.replies.unhooked, claimed):
                await self._hook_reply(stored)
        finally:
            await self.store.run(self.store.leases.release, HOOK, claimed, self.owner)

    async def poll_once(self) -> PollStats:
        """One cycle over every tracked message that is due (claimed from the store, batch by batch)."""
        stats = PollStats()
        await self._recover_hooks()
        if self.consent is not None and self.consent.confirm_text:
            await confirm_pending(self.store, self.client, self.consent)
        seen: set[int] = set()
        before = self.client.requests_made

        def claim(after: tuple[float, int] | None) -> asyncio.Task[list[TrackedMessage]]:
            return asyncio.ensure_future(self.store.run(self.store.leases.claim_polls, self.owner, self.lease,
                                                        self.claim_size, after=after))

        coming: asyncio.Task[list[TrackedMessage]] | None = claim(None)
        try:
            while coming is not None:
                claimed, coming = await coming, None
                rows = [r for r in claimed if r.id not in seen]
                if not rows:
                    break
                seen.update(r.id for r in rows)
                # the next claim runs in the store while these are polled (the store and the provider in turn
                # left each idle half the time: 3.6 s for 100,000 on PostgreSQL)
                coming = claim(max((r.created_at, r.id) for r in rows))
                if not await self._poll(rows, stats):
                    break
        finally:
            stats.requests = self.client.requests_made - before
            if coming is not None:  # the provider failed, or polling raised: the next claim's rows go back
                await self._give_back(coming)
        return stats

    async def _give_back(self, coming: asyncio.Task[list[TrackedMessage]]) -> None:
        """The provider failed: what the next claim took goes back at once, for whoever polls next."""
        try:
            rows = await coming
            await self.store.run(self.store.leases.release, POLL, [r.id for r in rows], self.owner)
        except Exception as exc:  # noqa: BLE001 - a store that fails now: the leases expire on their own
            log.debug("claimed polls not given back (%s); their leases expire", exc)

    async def _poll(self, rows: list[TrackedMessage], stats: PollStats) -> bool:
        """Poll these claimed messages; False when the provider failed (the rest waits for the next cycle)."""
        if not rows:
            return True
        stats.checked += len(rows)
        try:
            outcomes = await self.client.status([row.id for row in rows])
        except RequestError as exc:
            stats.error = str(exc)
            log.warning("status poll failed, will retry next cycle: %s", exc)
            return False
        now = time.time()
        updates: list[tuple[int, str, str, bool]] = []  # written in one transaction, before the hooks run
        changes: list[tuple[TrackedMessage, StatusResult]] = []
        for row, outcome in zip(rows, outcomes, strict=True):
            if not outcome.ok:
                log.warning("status of message %s: %s", row.id, outcome.error)
                if outcome.error == "Message not found" and row.status is None:
                    # an unknown outcome settled: the provider never got it
                    updates.append((row.id, "NOT SENT", "", True))
                    stats.finished += 1
                elif now - row.created_at > self.max_age or outcome.error == "Message not found":
                    updates.append((row.id, row.status or "", row.status_type or "", True))
                    stats.finished += 1
                continue
            result: StatusResult = outcome.unwrap()
            done = self._done(row, result, now)
            if str(result.status) != row.status or result.type != row.status_type or done:
                updates.append((row.id, str(result.status), result.type, done))
                stats.finished += done
            if str(result.status) != row.status or result.replies:
                changes.append((row, result))
        await self.store.run(self.store.messages.set_statuses, updates)
        listened = has_impls(self.plugins, "alphasms_status_changed")  # else no call per message
        for row, result in changes:
            if str(result.status) != row.status:
                stats.changed += 1
                old = MessageStatus.parse(row.status) if row.status else None
                stats.events.append(StatusChanged(row, old, result.status, result))
                if listened:
                    await acall_hook(self.plugins, "alphasms_status_changed", message_id=row.id, old=old,
                                     new=result.status, status=result)
            for stored in await self.store.run(self.store.replies.add, row.id,
                                               result.replies) if result.replies else ():
                stats.replies += 1
                stats.events.append(ReplyReceived(row, stored))
                await self._hook_reply(stored)
        return True
