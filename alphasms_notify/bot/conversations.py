"""Answers to recipients: a reply to a forwarded Viber reply, typing in a phone's topic, /close and /name."""

from __future__ import annotations

import logging

from telegram import Message, Update

from ..errors import ValidationError
from ..i18n import gettext as _
from ..messages import build
from ..phone import InvalidPhone, normalize_phone
from .commands import command_args, topic_phone
from .context import BotContext, message_of
from .outcomes import not_sent
from .pending import PendingSend
from .sending import deliver, deliver_in_topic, prepare, prepare_to_send, save_pending

log = logging.getLogger(__name__)
__all__ = ["answer_reply", "topic_message", "send_from_topic", "close_topic", "name_contact"]


async def answer_reply(update: Update, context: BotContext) -> None:
    """An operator answered a forwarded Viber reply: send the text back to that phone by Viber."""
    message = message_of(update)
    answered = message.reply_to_message
    if answered is None:  # registered for replies only
        return
    tracked = await context.services.store.run(context.services.store.replies.message_for_forward, message.chat_id,
                                               answered.message_id)
    if tracked is None:
        if answered.from_user is not None and answered.from_user.id == context.bot.id:
            await message.reply_text(_("ℹ️ Nothing was sent: that message is not a forwarded Viber reply. "
                                       "Answer a 💬 reply to send your text back by Viber."))
        return  # an answer to someone else's message: not for the bot
    text = (message.text or "").strip()
    if not text:
        await message.reply_text(_("❗ Only text can be sent back by Viber."))
        return
    pending = await prepare(context, message, build("viber", tracked.phone, text, meta={"source": "bot"}))
    if pending is None:
        return
    anchor = await message.reply_text(_("📤 Sending Viber text to +{phone}").format(phone=tracked.phone))
    await deliver(context, pending, anchor)


async def topic_message(update: Update, context: BotContext) -> None:
    """An operator typed in a conversation topic: the text goes to its phone by ``[telegram] topic_channel``.

    Routed by the topic, never by ``reply_to_message``: in a forum every message in a topic
    "replies" to the topic's creation message.
    """
    message = message_of(update)
    phone = await topic_phone(update, context)
    if phone is None:
        return  # the General topic, or a topic that is not a conversation: talk among operators
    text = (message.text or "").strip()
    if not text:
        await message.reply_text(_("❗ Only text can be sent from a topic; nothing was sent."))
        return
    await send_from_topic(update, context, phone, text)


async def send_from_topic(update: Update, context: BotContext, phone: int, text: str) -> None:
    """``text`` to the topic's phone by ``[telegram] topic_channel``, with the Confirm rules of any send."""
    message = message_of(update)
    channel = context.services.settings.telegram.topic_channel
    try:
        messages = build(channel, phone, text, meta={"source": "bot"})
    except ValidationError as exc:
        await message.reply_text(not_sent(exc))
        return
    pending = await prepare_to_send(context, message, messages)
    if pending is None:
        return
    if await _claimed_by_another(context, message, phone, pending):
        return
    await deliver_in_topic(context, pending, message)  # a reaction on the answer, no message on the happy path


async def _claimed_by_another(context: BotContext, message: Message, phone: int, pending: PendingSend) -> bool:
    """Another operator has this conversation: ask before the answer goes (the Confirm of any send)."""
    import time

    from telegram import InlineKeyboardButton, InlineKeyboardMarkup

    topics, store = context.services.topics, context.services.store
    if topics is None or message.from_user is None:
        return False
    claim = await store.run(store.desk.claim_of, topics.chat_id, phone, time.time())
    if claim is None or claim.operator_id == message.from_user.id:
        return False
    pending_id = await save_pending(context, pending)
    buttons = InlineKeyboardMarkup([[InlineKeyboardButton(_("✅ Send anyway"), callback_data=f"send:{pending_id}"),
                                     InlineKeyboardButton(_("✖ Cancel"), callback_data=f"cancel:{pending_id}")]])
    await message.reply_text(_("🙋 {operator} has this conversation. Send your answer anyway?").format(
        operator=claim.operator_name), reply_markup=buttons)
    return True


async def close_topic(update: Update, context: BotContext) -> None:
    topics, phone = context.services.topics, await topic_phone(update, context)
    if topics is None or phone is None:
        await message_of(update).reply_text(_("/close works in a conversation topic."))
        return
    topic = await context.services.store.run(context.services.store.topics.get, topics.chat_id, phone)
    if topic is None:
        return
    await topics.set_closed(topic, True)
    log.info("topic of +%s closed by %s", phone, update.effective_user.id if update.effective_user else "?")


async def name_contact(update: Update, context: BotContext) -> None:
    """/name NAME in a topic, /name PHONE NAME anywhere: the contact's name, and its topic's."""
    message, topics = message_of(update), context.services.topics
    args = await command_args(update, context)
    first, _space, name = args.partition(" ")
    name = " ".join(name.split())
    try:
        phone = normalize_phone(first) if first else None
    except InvalidPhone:
        phone = None
    if phone is None or not name:
        await message.reply_text(_("Usage: /name NAME in a conversation topic, or /name PHONE NAME"))
        return
    if topics is not None:
        shown = await topics.rename(phone, name)
    else:
        await context.services.store.run(context.services.store.contacts.set_name, phone, name)
        shown = name
    await message.reply_text(_("📇 +{phone} is now {name}").format(phone=phone, name=shown))


