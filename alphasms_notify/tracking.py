"""Follow tracked messages: poll ``status`` in batches, fire the status and reply hooks, return events.

One poll cycle asks the provider about every active message in
``ceil(n / batch_size)`` requests. SMS stop being polled once final; Viber
messages are polled for ``reply_window`` seconds after sending even when
delivered, since two-way replies can come later. Anything older than
``max_age`` ages out. Replies are stored before their hook runs, and a hook
that did not finish (a crash) runs again on the next cycle, so plugins see
every reply.

A cycle also returns what it found (:class:`StatusChanged`,
:class:`ReplyReceived`), so a consumer such as the bot's forwarder takes
them directly instead of rescanning the store; the forwarder's own flag in
the store makes forwarding exactly-once.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import pluggy

from .client import AsyncAlphaSMS
from .errors import RequestError
from .plugins import acall_hook
from .results import MessageStatus, StatusResult
from .store import Store, StoredReply, TrackedMessage

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
    def __init__(self, store: Store, client: AsyncAlphaSMS, plugins: pluggy.PluginManager | None, *,
                 reply_window: float = 24 * 3600, max_age: float = 3 * 24 * 3600) -> None:
        self.store, self.client, self.plugins = store, client, plugins
        self.reply_window, self.max_age = reply_window, max_age

    async def _hook_reply(self, stored: StoredReply) -> None:
        await acall_hook(self.plugins, "alphasms_reply_received", message_id=stored.message_id, reply=stored.reply)
        self.store.mark_hooked(stored.message_id, stored.seq)

    def _done(self, row: TrackedMessage, result: StatusResult, now: float) -> bool:
        status = result.status
        if not isinstance(status, MessageStatus) or not status.is_final:
            return now - row.created_at > self.max_age
        if status.is_failure or result.type == "sms" or row.type == "sms":
            return True
        return now - row.created_at > self.reply_window  # Viber: replies may still come

    async def poll_once(self) -> PollStats:
        """One cycle over every active tracked message."""
        stats = PollStats()
        for stored in self.store.unhooked_replies():  # hooks a crash interrupted
            await self._hook_reply(stored)
        rows = self.store.active()
        if not rows:
            return stats
        stats.checked = len(rows)
        before = self.client.requests_made
        try:
            outcomes = await self.client.status([row.id for row in rows])
        except RequestError as exc:
            stats.error = str(exc)
            log.warning("status poll failed, will retry next cycle: %s", exc)
            return stats
        finally:
            stats.requests = self.client.requests_made - before
        now = time.time()
        for row, outcome in zip(rows, outcomes, strict=True):
            if not outcome.ok:
                log.warning("status of message %s: %s", row.id, outcome.error)
                if outcome.error == "Message not found" and row.status is None:
                    # an unknown outcome settled: the provider never got it
                    self.store.set_status(row.id, "NOT SENT", "", done=True)
                    stats.finished += 1
                elif now - row.created_at > self.max_age or outcome.error == "Message not found":
                    self.store.finish([row.id])
                    stats.finished += 1
                continue
            result: StatusResult = outcome.result
            done = self._done(row, result, now)
            if str(result.status) != row.status or result.type != row.status_type or done:
                self.store.set_status(row.id, str(result.status), result.type, done=done)
                stats.finished += done
            if str(result.status) != row.status:
                stats.changed += 1
                old = MessageStatus.parse(row.status) if row.status else None
                stats.events.append(StatusChanged(row, old, result.status, result))
                await acall_hook(self.plugins, "alphasms_status_changed", message_id=row.id, old=old,
                                 new=result.status, status=result)
            for stored in self.store.add_replies(row.id, result.replies):
                stats.replies += 1
                stats.events.append(ReplyReceived(row, stored))
                await self._hook_reply(stored)
        return stats
