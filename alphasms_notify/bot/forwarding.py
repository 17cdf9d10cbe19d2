"""Viber replies into Telegram, and undelivered messages reported, from the tracker's events.

The poll job hands over what the tracker found (:class:`~alphasms_notify.tracking.ReplyReceived`,
:class:`~alphasms_notify.tracking.StatusChanged`) and the forwarder takes them
directly. Replies wait in an in-memory queue, in order; the store is read
once, at start, for replies that were not forwarded before a restart. A
reply is marked ``forwarded`` right after Telegram accepts it, so it goes out
once; one Telegram refuses stays first in the queue and is tried again on the
next cycle. A lock keeps two cycles of one process from sending the same one,
and the store's lock (:class:`~alphasms_notify.store.StoreLock`) two bots.

The one window Telegram leaves open: the Bot API has no idempotency key, so
if the bot dies (or the connection drops) after Telegram posted a forward
and before the store recorded it, nobody can know whether it arrived. The
store marks a reply *in flight* before posting it; such a reply is sent
again after a restart, headed "possibly a repeat", rather than lost.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Iterable
from typing import Any

import httpx
from telegram import Bot, ReplyParameters
from telegram.error import NetworkError, TelegramError, TimedOut

from ..results import MessageStatus, Reply
from ..store import Store, StoredReply, TrackedMessage
from ..tracking import Event, ReplyReceived, StatusChanged

__all__ = ["TelegramForwarder", "format_reply", "POSSIBLE_REPEAT"]

log = logging.getLogger(__name__)
MEDIA_LIMIT = 20 * 1024 * 1024  # what a bot may upload comfortably; larger media go as a link
POSSIBLE_REPEAT = ("🔁 Possibly a repeat: the bot stopped while forwarding this reply, "
                   "so it may already be above.")


def _maybe_posted(exc: TelegramError) -> bool:
    """Whether Telegram may have posted it anyway: no answer came (a timeout, a dropped connection).

    An HTTP answer, even a 5xx, means it was not posted; python-telegram-bot reports a lost
    connection as ``TimedOut`` or a ``NetworkError`` quoting the httpx error.
    """
    return isinstance(exc, TimedOut) or (isinstance(exc, NetworkError) and str(exc).startswith("httpx"))


def format_reply(message: TrackedMessage, reply: Reply) -> str:
    when = reply.datetime.strftime("%Y-%m-%d %H:%M:%S %z")
    lines = [f"💬 Viber reply from +{message.phone} at {when} (to message {message.id})"]
    if reply.message:
        lines.append(reply.message)
    if reply.media is not None:
        lines.append(f"📎 {reply.media.filename or 'file'} ({reply.media.filesize or '?'} bytes)")
    lines.append("Answer this message to reply by Viber.")
    return "\n".join(lines)


class TelegramForwarder:
    """Forwards replies to the chat a message was sent from (or ``replies_chat``)."""

    def __init__(self, bot: Bot, store: Store, replies_chat: int | None) -> None:
        self.bot, self.store, self.replies_chat = bot, store, replies_chat
        self._lock = asyncio.Lock()
        self._queue: deque[ReplyReceived] = deque()
        self._loaded = False
        self._http = httpx.AsyncClient(timeout=20, follow_redirects=True)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def handle(self, events: Iterable[Event]) -> int:
        """Report failures, queue the replies, and forward what is queued; return how many went out."""
        for event in events:
            if isinstance(event, StatusChanged):
                await self._report_failure(event)
            else:
                self._queue.append(event)
        return await self.forward_pending()

    async def _report_failure(self, event: StatusChanged) -> None:
        new = event.new
        if not (isinstance(new, MessageStatus) and new.is_failure):
            return
        tracked, chat_id = event.message, self._chat(event.message)
        if chat_id is None:
            return
        text = f"❌ Message {tracked.id} to +{tracked.phone} was not delivered: {new} ({event.status.type})"
        try:
            await self.bot.send_message(chat_id, text, reply_parameters=self._anchor(tracked))
        except TelegramError as exc:
            log.warning("could not report undelivered message %s: %s", tracked.id, exc)

    def _chat(self, tracked: TrackedMessage | None) -> int | None:
        if tracked is not None and tracked.chat_id is not None:
            return tracked.chat_id
        return self.replies_chat

    @staticmethod
    def _anchor(tracked: TrackedMessage) -> ReplyParameters | None:
        if tracked.anchor_id is None:
            return None
        return ReplyParameters(message_id=tracked.anchor_id, allow_sending_without_reply=True)

    def _load_backlog(self) -> None:
        """Once per process: replies stored but not forwarded (the bot was down, or Telegram refused)."""
        if self._loaded:
            return
        self._loaded = True
        queued = {(e.reply.message_id, e.reply.seq) for e in self._queue}
        backlog = []
        for stored in self.store.unforwarded_replies():
            tracked = self.store.message(stored.message_id)
            if tracked is not None and (stored.message_id, stored.seq) not in queued:
                backlog.append(ReplyReceived(tracked, stored))
        self._queue.extendleft(reversed(backlog))

    async def forward_pending(self) -> int:
        """Send every queued reply in order; stop at the first Telegram refuses (tried again next cycle)."""
        sent = 0
        async with self._lock:
            self._load_backlog()
            while self._queue:
                event = self._queue[0]
                tracked, stored = event.message, event.reply
                chat_id = self._chat(tracked)
                if chat_id is None:
                    log.warning("reply to message %s has no chat to go to (set [telegram] replies_chat)", tracked.id)
                    self._queue.popleft()
                    continue
                repeat = self.store.is_inflight(stored.message_id, stored.seq)
                self.store.mark_forwarding(stored.message_id, stored.seq)
                try:
                    posted = await self._post(chat_id, tracked, stored, repeat=repeat)
                except TelegramError as exc:
                    refused = not _maybe_posted(exc)
                    self.store.forward_failed(stored.message_id, stored.seq, str(exc), refused=refused)
                    log.warning("forwarding reply %s/%s failed, will retry: %s", stored.message_id, stored.seq, exc)
                    break  # Telegram is unhappy: keep the order, try again on the next cycle
                self.store.mark_forwarded(stored.message_id, stored.seq, chat_id, posted.message_id)
                self._queue.popleft()
                sent += 1
        return sent

    async def _post(self, chat_id: int, tracked: TrackedMessage, stored: StoredReply, *, repeat: bool = False) -> Any:
        text, anchor = format_reply(tracked, stored.reply), self._anchor(tracked)
        if repeat:
            text = f"{POSSIBLE_REPEAT}\n{text}"
        media = stored.reply.media
        if media is not None:
            content = await self._fetch(media.url, media.filesize)
            if content is not None:
                return await self.bot.send_document(chat_id, content, filename=media.filename or "file",
                                                    caption=text[:1024], reply_parameters=anchor)
            text += f"\n🔗 {media.url}"
        return await self.bot.send_message(chat_id, text, reply_parameters=anchor)

    async def _fetch(self, url: str, size: int | None) -> bytes | None:
        if size is not None and size > MEDIA_LIMIT:
            return None
        try:
            response = await self._http.get(url)
            response.raise_for_status()
        except httpx.HTTPError as exc:
            log.warning("could not fetch reply media %s: %s", url, exc)
            return None
        return response.content if len(response.content) <= MEDIA_LIMIT else None
