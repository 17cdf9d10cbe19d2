"""Viber replies into Telegram, and undelivered messages reported, from the tracker's events.

The poll job hands over what the tracker found; status changes that are
failures are reported, and the replies are taken from the store: each cycle
claims the messages with replies not yet forwarded (a lease in the store, so
of several bot instances one forwards a given message's replies, in order),
posts them, and gives the leases back. A reply is marked ``forwarded`` right
after Telegram accepts it, so it goes out once; one Telegram refuses stays
and is tried again on the next cycle. The lease is renewed before each post:
an instance that lost it (it stalled past the lease) stops instead of
posting what another instance now owns.

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
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import httpx
from telegram import Bot, Message, ReplyParameters
from telegram.error import BadRequest, NetworkError, TelegramError, TimedOut

from ..consent import is_stop_word
from ..i18n import N_, use_language
from ..i18n import gettext as _
from ..results import MessageStatus, Reply
from ..sections import ConsentSettings
from ..status_poll import Event, StatusChanged
from ..store import FORWARD, NOTICE, Store, StoredReply, TrackedMessage, instance_id
from ..tls import ssl_context
from .topics import Topics

__all__ = ["TelegramForwarder", "format_reply", "format_notice", "POSSIBLE_REPEAT"]

log = logging.getLogger(__name__)
MEDIA_LIMIT = 20 * 1024 * 1024  # what a bot may upload comfortably; larger media go as a link
TEXT_LIMIT, CAPTION_LIMIT = 4096, 1024  # Telegram's, for a message and for a document's caption
POSSIBLE_REPEAT = N_("🔁 Possibly a repeat: the bot stopped while forwarding this reply, "
                     "so it may already be above.")


def _maybe_posted(exc: TelegramError) -> bool:
    """Whether Telegram may have posted it anyway: no answer came (a timeout, a dropped connection).

    An HTTP answer, even a 5xx, means it was not posted; python-telegram-bot reports a lost
    connection as ``TimedOut`` or a ``NetworkError`` quoting the httpx error.
    """
    return isinstance(exc, TimedOut) or (isinstance(exc, NetworkError) and str(exc).startswith("httpx"))


def format_reply(message: TrackedMessage, reply: Reply, *, in_topic: bool = False) -> str:
    when = reply.datetime.strftime("%Y-%m-%d %H:%M:%S %z")
    head = _("💬 Viber reply from +{phone} at {when}").format(phone=message.phone, when=when)
    if message.type == "sms":  # an SMS is not answered: this is the provider's unsubscribe link, followed
        head = _("🔗 +{phone} followed the unsubscribe link at {when}").format(phone=message.phone, when=when)
    lines = [head + " " + _("(to message {id})").format(id=message.id)]
    if message.source.startswith("campaign:"):  # campaigns post no notice in topics: say what it answers here
        sent = _cut(" ".join((message.text or "").split()), 200, "…")
        name = message.source.removeprefix("campaign:")
        lines[0] = head + " " + (_("to campaign {name} (message {id}: «{text}»)") if sent else
                                 _("to campaign {name} (message {id})")).format(name=name, id=message.id, text=sent)
    if reply.message:
        lines.append(reply.message)
    if reply.media is not None:
        lines.append("📎 " + _("{file} ({size} bytes)").format(file=reply.media.filename or _("file"),
                                                              size=reply.media.filesize or "?"))
    lines.append(_("Type in this topic to answer.") if in_topic else _("Answer this message to reply by Viber."))
    return "\n".join(lines)


_REACTIONS = {"DELIVERED": "👌", "READ": "👀", "REPLIED": "👀"}  # on an operator's answer, as its status moves

KINDS = {"sms": "SMS", "viber": "Viber", "viber+sms": N_("Viber (SMS fallback)"), "rcs": "RCS",
         "rcs+sms": N_("RCS (SMS fallback)")}


def format_notice(message: TrackedMessage) -> str:
    """A message sent to the phone from elsewhere (CLI, Apprise, the bot's private chat), shown in its topic."""
    head = "📤 " + _("{kind} sent from {source}, id {id}").format(kind=_(KINDS.get(message.type, message.type)),
                                                                  source=message.source, id=message.id)
    return f"{head}:\n{message.text}" if message.text else head


def _cut(text: str, limit: int, tail: str) -> str:
    return text if len(text) <= limit else text[: limit - len(tail)] + tail


Post = Callable[[int, int | None, ReplyParameters | None], Awaitable[Message]]


class TelegramForwarder:
    """Forwards replies to the chat a message was sent from (or ``replies_chat``)."""

    def __init__(self, bot: Bot, store: Store, replies_chat: int | None, topics: Topics | None = None, *,
                 lease: float = 60.0, owner: str | None = None, consent: ConsentSettings | None = None) -> None:
        self.consent = consent  # to mark a STOP (or START) reply as what it did
        self.bot, self.store, self.replies_chat, self.topics = bot, store, replies_chat, topics
        self.lease, self.owner = lease, owner or instance_id()
        # notices only for messages sent since topics were turned on: no flood of history
        self._since = float(store.bot.setting_once(f"topics_since:{topics.chat_id}",
                                                   repr(time.time()))) if topics else 0.0
        self._lock = asyncio.Lock()
        self._nowhere: set[tuple[int, int]] = set()  # replies with no chat to go to, told once
        self._http = httpx.AsyncClient(timeout=20, follow_redirects=True, verify=ssl_context())  # media downloads
        # what the bot posts is in the language of the chat it goes to (the bot's Services tell it)
        self.language_for: Callable[[int | None], str] = lambda chat_id: "en"

    def _destination(self, tracked: TrackedMessage) -> int | None:
        return self.topics.chat_id if self.topics is not None else self._chat(tracked)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def handle(self, events: Iterable[Event]) -> int:
        """Post notices (topics), report failures, forward the replies waiting in the store;
        return how many replies went out."""
        failures = [e for e in events if isinstance(e, StatusChanged)]
        if self.topics is not None and not await self.post_notices():
            return 0  # the replies wait: they must come after the messages they answer
        for event in failures:
            await self._react(event)
            await self._report_failure(event)
        return await self.forward_pending()

    async def post_notices(self) -> bool:
        """Show in each phone's topic the messages sent to it from elsewhere, in order, each once.
        False when Telegram refused one (the rest wait for the next cycle)."""
        assert self.topics is not None
        chat = self.topics.chat_id
        async with self._lock:
            while claimed := await self.store.run(self.store.leases.claim, NOTICE, self.owner, self.lease, 200,
                                                  since=self._since):
                try:
                    for tracked in await self.store.run(self.store.messages.by_ids, claimed):
                        if not await self._notice(chat, tracked):
                            return False
                finally:
                    await self.store.run(self.store.leases.release, NOTICE, claimed, self.owner)
        return True

    async def _notice(self, chat: int, tracked: TrackedMessage) -> bool:
        topic = await self.store.run(self.store.topics.get, chat, tracked.phone)
        if (topic is not None and tracked.chat_id == chat and tracked.thread_id == topic.thread_id
                and tracked.anchor_id is not None):  # sent from its own topic: the bot answered there
            await self.store.run(self.store.messages.mark_noticed, tracked.id, chat, tracked.anchor_id, topic.thread_id)
            return True
        with use_language(self.language_for(chat)):
            text = _cut(format_notice(tracked), TEXT_LIMIT, "…")

        async def post(topic: Any) -> Message:
            return await self.bot.send_message(chat, text, message_thread_id=topic.thread_id)

        assert self.topics is not None  # notices are posted only with [telegram] topics_chat
        try:
            posted = await self.topics.post(tracked.phone, post)
        except BadRequest as exc:  # Telegram refuses this notice for good: it must not hold up the rest
            log.error("Telegram refused the notice of message %s in its topic, not retried: %s", tracked.id, exc)
            await self.store.run(self.store.messages.mark_noticed, tracked.id, chat, 0, 0)
            return True
        except TelegramError as exc:
            log.warning("could not show message %s in its topic, will retry: %s", tracked.id, exc)
            return False
        await self.store.run(self.store.messages.mark_noticed, tracked.id, chat, posted.message_id,
                             posted.message_thread_id)
        return True

    async def _react(self, event: StatusChanged) -> None:
        """An operator's answer from a topic shows its status as the bot's reaction on it."""
        tracked, new = event.message, event.new
        if not tracked.react or tracked.chat_id is None or tracked.anchor_id is None:
            return
        emoji = "👎" if isinstance(new, MessageStatus) and new.is_failure else _REACTIONS.get(str(new))
        if emoji is None:
            return
        try:
            await self.bot.set_message_reaction(tracked.chat_id, tracked.anchor_id, emoji)
        except TelegramError as exc:
            log.info("no reaction for message %s: %s", tracked.id, exc)

    async def _report_failure(self, event: StatusChanged) -> None:
        new = event.new
        if not (isinstance(new, MessageStatus) and new.is_failure):
            return
        tracked = event.message
        with use_language(self.language_for(self._destination(tracked))):
            text = "❌ " + _("Message {id} to +{phone} was not delivered: {status} ({channel})").format(
                id=tracked.id, phone=tracked.phone, status=new, channel=event.status.type)

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
            return await post(chat, topic.thread_id, await self._topic_anchor(tracked, topic.thread_id))

        return await self.topics.post(tracked.phone, into, reopen=reopen)

    async def _topic_anchor(self, tracked: TrackedMessage, thread_id: int) -> ReplyParameters | None:
        """The message's own post in this topic to answer: the bot's "sent" message, or its notice."""
        chat = self.topics.chat_id if self.topics else None
        if tracked.notice_id is None:
            newer = await self.store.run(self.store.messages.get, tracked.id)  # the notice may be newer
            tracked = newer or tracked
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

    async def forward_pending(self) -> int:
        """Forward the replies waiting in the store, claimed message by message, in the order they came;
        stop at the first Telegram refuses (tried again next cycle)."""
        sent = 0
        async with self._lock:
            claimed = await self.store.run(self.store.leases.claim, FORWARD, self.owner, self.lease, 100)
            if not claimed:
                return 0
            refused: set[int] = set()
            try:
                tracked_by_id = {m.id: m for m in await self.store.run(self.store.messages.by_ids, claimed)}
                for stored in await self.store.run(self.store.replies.unforwarded, claimed):
                    tracked = tracked_by_id[stored.message_id]
                    key = (stored.message_id, stored.seq)
                    if self.topics is None and self._chat(tracked) is None:
                        if key not in self._nowhere:
                            self._nowhere.add(key)
                            log.warning("reply to message %s has no chat to go to (set [telegram] replies_chat)",
                                        tracked.id)
                        continue
                    if not await self.store.run(self.store.leases.try_lease, FORWARD, stored.message_id, self.owner,
                                                self.lease):
                        log.warning("message %s's replies were taken over by another instance", tracked.id)
                        break
                    if stored.message_id in refused:
                        continue  # its earlier reply was refused: keep that message's order
                    outcome = await self._forward(tracked, stored)
                    if outcome == "refused":  # Telegram said no to this one (a chat gone, a bad request):
                        refused.add(stored.message_id)  # the others still go; this one next cycle
                        continue
                    if outcome == "failed":
                        break  # Telegram is unhappy (flood limit, 5xx, no answer): try again next cycle
                    sent += 1
            finally:
                await self.store.run(self.store.leases.release, FORWARD, claimed, self.owner)
        return sent

    async def _forward(self, tracked: TrackedMessage, stored: StoredReply) -> str:
        """Post one reply: ``sent``, ``refused`` (Telegram answered 400: this one is wrong, not Telegram)
        or ``failed`` (a flood limit, a 5xx, no answer)."""
        if await self.store.run(self.store.replies.is_forwarded, stored.message_id, stored.seq):
            return "sent"  # forwarded meanwhile by the instance whose lease ran out
        repeat = await self.store.run(self.store.replies.is_inflight, stored.message_id, stored.seq)
        await self.store.run(self.store.replies.mark_forwarding, stored.message_id, stored.seq)
        try:
            with use_language(self.language_for(self._destination(tracked))):
                post = await self._reply_post(tracked, stored, repeat=repeat)
            posted = await self._deliver(tracked, post, reopen=True)
        except TelegramError as exc:
            refused = not _maybe_posted(exc)
            await self.store.run(self.store.replies.forward_failed, stored.message_id, stored.seq, str(exc),
                                 refused=refused)
            log.warning("forwarding reply %s/%s failed, will retry: %s", stored.message_id, stored.seq, exc)
            return "refused" if isinstance(exc, BadRequest) else "failed"
        assert posted is not None
        await self.store.run(self.store.replies.mark_forwarded, stored.message_id, stored.seq, posted.chat_id,
                             posted.message_id,
                                            posted.message_thread_id)
        return "sent"

    async def _reply_post(self, tracked: TrackedMessage, stored: StoredReply, *, repeat: bool = False) -> Post:
        """How to post this reply, wherever it goes (the media fetched once, before any retry).

        Always one post, so a reply is forwarded once: a text past Telegram's 4,096 characters
        (a Viber reply may have 7,000) goes whole as ``reply.txt`` with its start as the caption;
        a media caption past 1,024 is cut, saying where the rest is.
        """
        text = format_reply(tracked, stored.reply, in_topic=self.topics is not None)
        if (said := self._consent_note(stored.reply.message)) is not None:
            text = f"{text}\n{said}"
        if repeat:
            text = f"{_(POSSIBLE_REPEAT)}\n{text}"
        media = stored.reply.media
        content, filename = None, None
        if media is not None:
            content = await self._fetch(media.url, media.filesize)
            if content is None:
                text += f"\n🔗 {media.url}"
            else:
                filename = media.filename or _("file")
        caption = text
        if content is None and len(text) > TEXT_LIMIT:
            content, filename = text.encode("utf-8"), "reply.txt"
            caption = _cut(text, CAPTION_LIMIT, "… " + _("(the whole reply is in the attached file)"))
        elif content is not None and len(text) > CAPTION_LIMIT:
            caption = _cut(text, CAPTION_LIMIT, "… " + _("(the rest: /status {id})").format(id=tracked.id))

        async def post(chat_id: int, thread_id: int | None, anchor: ReplyParameters | None) -> Message:
            if content is not None:
                return await self.bot.send_document(chat_id, content, filename=filename, caption=caption,
                                                    reply_parameters=anchor, message_thread_id=thread_id)
            return await self.bot.send_message(chat_id, text, reply_parameters=anchor, message_thread_id=thread_id)

        return post

    def _consent_note(self, text: str | None) -> str | None:
        """What a reply did to its phone's consent (the status poll acted on it already), for the operators."""
        if self.consent is None:
            return None
        if self.consent.allow_restart and is_stop_word(text, self.consent.start_words):
            return _("✅ Opted back in: a START reply")
        if is_stop_word(text, self.consent.stop_words):
            if self.consent.stop_scope == "marketing":
                return _("🚫 Opted out of marketing messages: a STOP reply (alphasms optout remove, or /optin, "
                         "undoes it)")
            return _("🚫 Opted out of all messages: a STOP reply (alphasms optout remove, or /optin, undoes it)")
        return None

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
