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

With ``[telegram] topics_chat`` everything about a phone goes into its forum
topic instead (:mod:`.topics`): first a notice for each message sent to it
from any front end (each once: the store records the notice), then its
delivery failures, then its replies, reopening a closed topic.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import httpx
from telegram import Bot, Message, ReplyParameters
from telegram.error import NetworkError, TelegramError, TimedOut

from ..results import MessageStatus, Reply
from ..store import Store, StoredReply, TrackedMessage
from ..tracking import Event, ReplyReceived, StatusChanged
from .topics import Topics

__all__ = ["TelegramForwarder", "format_reply", "format_notice", "POSSIBLE_REPEAT"]

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


def format_reply(message: TrackedMessage, reply: Reply, *, in_topic: bool = False) -> str:
    when = reply.datetime.strftime("%Y-%m-%d %H:%M:%S %z")
    lines = [f"💬 Viber reply from +{message.phone} at {when} (to message {message.id})"]
    if reply.message:
        lines.append(reply.message)
    if reply.media is not None:
        lines.append(f"📎 {reply.media.filename or 'file'} ({reply.media.filesize or '?'} bytes)")
    lines.append("Type in this topic to answer." if in_topic else "Answer this message to reply by Viber.")
    return "\n".join(lines)


KINDS = {"sms": "SMS", "viber": "Viber", "viber+sms": "Viber (SMS fallback)", "rcs": "RCS",
         "rcs+sms": "RCS (SMS fallback)"}


def format_notice(message: TrackedMessage) -> str:
    """A message sent to the phone from elsewhere (CLI, Apprise, the bot's private chat), shown in its topic."""
    head = f"📤 {KINDS.get(message.type, message.type)} sent from {message.source}, id {message.id}"
    return f"{head}:\n{message.text}" if message.text else head


Post = Callable[[int, int | None, ReplyParameters | None], Awaitable[Message]]


class TelegramForwarder:
    """Forwards replies to the chat a message was sent from (or ``replies_chat``)."""

    def __init__(self, bot: Bot, store: Store, replies_chat: int | None, topics: Topics | None = None) -> None:
        self.bot, self.store, self.replies_chat, self.topics = bot, store, replies_chat, topics
        # notices only for messages sent since topics were turned on: no flood of history
        self._since = float(store.setting_once(f"topics_since:{topics.chat_id}", repr(time.time()))) if topics else 0.0
        self._lock = asyncio.Lock()
        self._queue: deque[ReplyReceived] = deque()
        self._loaded = False
        self._http = httpx.AsyncClient(timeout=20, follow_redirects=True)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def handle(self, events: Iterable[Event]) -> int:
        """Post notices (topics), report failures, queue the replies, forward what is queued;
        return how many replies went out."""
        failures = []
        for event in events:
            if isinstance(event, StatusChanged):
                failures.append(event)
            else:
                self._queue.append(event)
        if self.topics is not None and not await self.post_notices():
            return 0  # the replies wait: they must come after the messages they answer
        for event in failures:
            await self._report_failure(event)
        return await self.forward_pending()

    async def post_notices(self) -> bool:
        """Show in each phone's topic the messages sent to it from elsewhere, in order, each once.
        False when Telegram refused one (the rest wait for the next cycle)."""
        assert self.topics is not None
        chat = self.topics.chat_id
        async with self._lock:
            for tracked in self.store.unnoticed(self._since):
                topic = self.store.topic(chat, tracked.phone)
                if (topic is not None and tracked.chat_id == chat and tracked.thread_id == topic.thread_id
                        and tracked.anchor_id is not None):  # sent from its own topic: the bot answered there
                    self.store.mark_noticed(tracked.id, chat, tracked.anchor_id, topic.thread_id)
                    continue
                text = format_notice(tracked)

                async def post(topic: Any, text: str = text) -> Message:
                    return await self.bot.send_message(chat, text, message_thread_id=topic.thread_id)

                try:
                    posted = await self.topics.post(tracked.phone, post)
                except TelegramError as exc:
                    log.warning("could not show message %s in its topic, will retry: %s", tracked.id, exc)
                    return False
                self.store.mark_noticed(tracked.id, chat, posted.message_id, posted.message_thread_id)
        return True

    async def _report_failure(self, event: StatusChanged) -> None:
        new = event.new
        if not (isinstance(new, MessageStatus) and new.is_failure):
            return
        tracked = event.message
        text = f"❌ Message {tracked.id} to +{tracked.phone} was not delivered: {new} ({event.status.type})"

        async def post(chat_id: int, thread_id: int | None, anchor: ReplyParameters | None) -> Message:
            return await self.bot.send_message(chat_id, text, reply_parameters=anchor, message_thread_id=thread_id)

        try:
            await self._deliver(tracked, post)
        except TelegramError as exc:
            log.warning("could not report undelivered message %s: %s", tracked.id, exc)

    async def _deliver(self, tracked: TrackedMessage, post: Post, *, reopen: bool = False) -> Message | None:
        """``post`` where news of ``tracked`` goes: its phone's topic, or the chat it was sent from."""
        if self.topics is None:
            chat_id = self._chat(tracked)
            return None if chat_id is None else await post(chat_id, None, self._anchor(tracked))
        chat = self.topics.chat_id

        async def into(topic: Any) -> Message:
            return await post(chat, topic.thread_id, self._topic_anchor(tracked, topic.thread_id))

        return await self.topics.post(tracked.phone, into, reopen=reopen)

    def _topic_anchor(self, tracked: TrackedMessage, thread_id: int) -> ReplyParameters | None:
        """The message's own post in this topic to answer: the bot's "sent" message, or its notice."""
        chat = self.topics.chat_id if self.topics else None
        if tracked.notice_id is None:
            tracked = self.store.message(tracked.id) or tracked  # the notice may be newer than the event
        if tracked.chat_id == chat and tracked.thread_id == thread_id and tracked.anchor_id is not None:
            target = tracked.anchor_id
        elif tracked.notice_chat_id == chat and tracked.notice_thread_id == thread_id and tracked.notice_id:
            target = tracked.notice_id
        else:
            return None
        return ReplyParameters(message_id=target, allow_sending_without_reply=True)

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
                if self.topics is None and self._chat(tracked) is None:
                    log.warning("reply to message %s has no chat to go to (set [telegram] replies_chat)", tracked.id)
                    self._queue.popleft()
                    continue
                repeat = self.store.is_inflight(stored.message_id, stored.seq)
                self.store.mark_forwarding(stored.message_id, stored.seq)
                try:
                    posted = await self._deliver(tracked, await self._reply_post(tracked, stored, repeat=repeat),
                                                 reopen=True)
                except TelegramError as exc:
                    refused = not _maybe_posted(exc)
                    self.store.forward_failed(stored.message_id, stored.seq, str(exc), refused=refused)
                    log.warning("forwarding reply %s/%s failed, will retry: %s", stored.message_id, stored.seq, exc)
                    break  # Telegram is unhappy: keep the order, try again on the next cycle
                assert posted is not None
                self.store.mark_forwarded(stored.message_id, stored.seq, posted.chat_id, posted.message_id,
                                          posted.message_thread_id)
                self._queue.popleft()
                sent += 1
        return sent

    async def _reply_post(self, tracked: TrackedMessage, stored: StoredReply, *, repeat: bool = False) -> Post:
        """How to post this reply, wherever it goes (the media fetched once, before any retry)."""
        text = format_reply(tracked, stored.reply, in_topic=self.topics is not None)
        if repeat:
            text = f"{POSSIBLE_REPEAT}\n{text}"
        media = stored.reply.media
        content = None
        if media is not None:
            content = await self._fetch(media.url, media.filesize)
            if content is None:
                text += f"\n🔗 {media.url}"

        async def post(chat_id: int, thread_id: int | None, anchor: ReplyParameters | None) -> Message:
            if content is not None:
                return await self.bot.send_document(chat_id, content, filename=media.filename or "file",
                                                    caption=text[:1024], reply_parameters=anchor,
                                                    message_thread_id=thread_id)
            return await self.bot.send_message(chat_id, text, reply_parameters=anchor, message_thread_id=thread_id)

        return post

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
