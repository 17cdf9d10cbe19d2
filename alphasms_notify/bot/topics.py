"""One forum topic per phone in ``[telegram] topics_chat``: where a conversation lives.

Support teams on Telegram work in forum supergroups, a topic per customer.
The mapping phone -> topic is kept in the store, so it survives restarts; a
topic deleted in Telegram answers "message thread not found", and the next
post creates a new one. Topic names are ``+380 97 123 45 67``, or
``Name · +380 97 123 45 67`` once the contact has a name.

Two posts for a new phone must not make two topics: a lock in this process,
and a lease on the phone in the store for bot instances sharing one store;
whoever holds it creates the topic, the others wait and use it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from telegram import Bot
from telegram.error import BadRequest

from ..phone import format_phone
from ..settings import ConfigError
from ..store import Store, Topic, lease_owner

__all__ = ["Topics", "topic_name", "check_forum", "thread_gone"]

log = logging.getLogger(__name__)
T = TypeVar("T")
NAME_MAX = 128  # Telegram's limit for a topic name
TOPIC = "topic"  # the store lease kind: making a phone's topic
CREATE_WAIT = 15.0  # seconds to wait for another instance making the same topic


def topic_name(phone: int, name: str | None, claimed_by: str | None = None) -> str:
    number = format_phone(phone) + (f" · 🙋 {claimed_by[:30]}" if claimed_by else "")
    if not name:
        return number
    room = NAME_MAX - len(number) - 3
    short = name if len(name) <= room else name[: room - 1] + "…"
    return f"{short} · {number}"


def thread_gone(exc: BadRequest) -> bool:
    """Telegram's answer for a post to a topic that was deleted."""
    text = str(exc).lower()
    return "thread not found" in text or "topic_deleted" in text or "topic_id_invalid" in text


def _not_modified(exc: BadRequest) -> bool:
    return "not_modified" in str(exc).lower() or "not modified" in str(exc).lower()


async def check_forum(bot: Bot, chat_id: int) -> None:
    """Raise ConfigError unless ``chat_id`` is a forum supergroup the bot can see."""
    try:
        chat = await bot.get_chat(chat_id)
    except BadRequest as exc:
        raise ConfigError(f"[telegram] topics_chat {chat_id}: Telegram answered {exc.message!r}; add the bot to "
                          "that group as an administrator allowed to manage topics") from None
    if not getattr(chat, "is_forum", False):
        raise ConfigError(f"[telegram] topics_chat {chat_id} is not a forum: turn Topics on in the group's "
                          "settings (it becomes a supergroup), and make the bot an administrator "
                          "allowed to manage topics")


class Topics:
    """The conversation topics of one forum chat."""

    def __init__(self, bot: Bot, store: Store, chat_id: int) -> None:
        self.bot, self.store, self.chat_id = bot, store, chat_id
        self._lock = asyncio.Lock()

    async def name_for(self, phone: int) -> str:
        contact = await self.store.run(self.store.contacts.get, phone)
        return topic_name(phone, contact.name if contact else None)

    async def phone_of(self, thread_id: int | None) -> int | None:
        """The phone whose conversation topic ``thread_id`` is (None: not a conversation)."""
        if thread_id is None:
            return None
        topic = await self.store.run(self.store.topics.by_thread, self.chat_id, thread_id)
        return topic.phone if topic else None

    async def ensure(self, phone: int, *, fresh: bool = False) -> Topic:
        """The topic of ``phone``, created when it has none (or ``fresh``: its old one is gone)."""
        async with self._lock:
            stale = await self.store.run(self.store.topics.get, self.chat_id, phone)
            if stale is not None and not fresh:
                return stale
            owner, waited = lease_owner(), 0.0
            while not await self.store.run(self.store.leases.try_lease, TOPIC, phone, owner, CREATE_WAIT * 2):
                if waited >= CREATE_WAIT:
                    raise TimeoutError(f"another bot instance has been making the topic of +{phone} "
                                       f"for {CREATE_WAIT:g} s")
                await asyncio.sleep(0.2)
                waited += 0.2
            try:
                topic = await self.store.run(self.store.topics.get, self.chat_id,
                                             phone)  # made by another instance meanwhile?
                if topic is not None and (stale is None or topic.thread_id != stale.thread_id):
                    return topic
                name = await self.name_for(phone)
                created = await self.bot.create_forum_topic(self.chat_id, name)
                log.info("created topic %s for +%s", created.message_thread_id, phone)
                return await self.store.run(self.store.topics.save, self.chat_id, phone, created.message_thread_id,
                                            name)
            finally:
                await self.store.run(self.store.leases.release, TOPIC, [phone], owner)

    async def post(self, phone: int, send: Callable[[Topic], Awaitable[T]], *, reopen: bool = False) -> T:
        """``send`` into the topic of ``phone``; a deleted topic is made again and ``send`` retried once.
        ``reopen``: a closed topic is opened first (a new message from the phone)."""
        topic = await self.ensure(phone)
        if reopen and topic.closed:
            await self.set_closed(topic, False)
        try:
            return await send(topic)
        except BadRequest as exc:
            if "topic_closed" in str(exc).lower():  # closed in Telegram and the bot may not post there
                await self.set_closed(topic, False)
                return await send(topic)
            if not thread_gone(exc):
                raise
            log.info("topic %s of +%s is gone (%s): making a new one", topic.thread_id, phone, exc.message)
            return await send(await self.ensure(phone, fresh=True))

    async def set_closed(self, topic: Topic, closed: bool) -> None:
        try:
            if closed:
                await self.bot.close_forum_topic(self.chat_id, topic.thread_id)
            else:
                await self.bot.reopen_forum_topic(self.chat_id, topic.thread_id)
        except BadRequest as exc:
            if not _not_modified(exc):  # already so in Telegram: the store just catches up
                raise
        await self.store.run(self.store.topics.update, self.chat_id, topic.phone, closed=closed)

    async def rename(self, phone: int, name: str) -> str:
        """Name the contact ``name`` and its topic after it (when it has one); returns the topic's name."""
        await self.store.run(self.store.contacts.set_name, phone, name)
        return await self.retitle(phone)

    async def retitle(self, phone: int) -> str:
        """The topic's title from what is known now: the contact's name, the phone, who claimed it."""
        import time

        contact = await self.store.run(self.store.contacts.get, phone)
        claim = await self.store.run(self.store.desk.claim_of, self.chat_id, phone, time.time())
        new = topic_name(phone, contact.name if contact else None, claim.operator_name if claim else None)
        topic = await self.store.run(self.store.topics.get, self.chat_id, phone)
        if topic is not None and topic.name != new:
            try:
                await self.bot.edit_forum_topic(self.chat_id, topic.thread_id, name=new)
            except BadRequest as exc:
                if thread_gone(exc):
                    # made anew, with the name, on the next post
                    await self.store.run(self.store.topics.forget, self.chat_id, phone)
                    return new
                if not _not_modified(exc):
                    raise
            await self.store.run(self.store.topics.update, self.chat_id, phone, name=new)
        return new
