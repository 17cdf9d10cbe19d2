"""Sends from the chat: /send and its kin, prepared on the one road, asked to Confirm above a size, then sent."""

from __future__ import annotations

import logging
import time
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.error import TelegramError

from ..errors import RequestError, ValidationError
from ..i18n import N_
from ..i18n import gettext as _
from . import pending as pending_store
from .commands import command_args
from .context import BotContext, message_of, query_of
from .outcomes import describe, format_outcomes, not_sent, show_outcomes
from .parsing import CommandError, parse_send
from .pending import PendingSend

log = logging.getLogger(__name__)

CONFIRM_TTL = 3600.0  # seconds a "Send?" question stays answerable
__all__ = ["send_command", "confirm", "deliver", "deliver_in_topic", "react", "prepare", "prepare_to_send",
           "save_pending", "CONFIRM_TTL"]


async def deliver(context: BotContext, pending: PendingSend, anchor: Message) -> None:
    """Send what was prepared; the tracking plugin anchors it to ``anchor``, whose text becomes the results."""
    thread_id = anchor.message_thread_id if anchor.is_topic_message else None
    for message in pending.messages:
        message.meta["telegram"] = {"chat_id": anchor.chat_id, "anchor_id": anchor.message_id, "thread_id": thread_id}
    try:
        outcomes = await context.services.client.send(pending.messages, prepared=True) if pending.messages else []
    except ValidationError as exc:
        await anchor.edit_text(not_sent(exc))
        return
    except RequestError as exc:
        await show_outcomes(anchor, pending.refused + exc.outcomes, prefix=f"⚠️ AlphaSMS: {exc}\n")
        return
    await show_outcomes(anchor, pending.refused + outcomes)


async def deliver_in_topic(context: BotContext, pending: PendingSend, answer: Message) -> None:
    """Send an operator's answer typed in a topic with no message of the bot's on the happy path: the
    answer gets a reaction (🕊 sent) that the status poll moves on (👌 delivered, 👀 read); a failure or
    an unknown outcome is a reaction (👎, 🤔) and a short reply saying why."""
    for message in pending.messages:
        message.meta["telegram"] = {"chat_id": answer.chat_id, "anchor_id": answer.message_id,
                                    "thread_id": answer.message_thread_id, "react": True}
    try:
        outcomes = pending.refused + await context.services.client.send(pending.messages, prepared=True)
    except ValidationError as exc:
        await react(answer, "👎")
        await answer.reply_text(not_sent(exc))
        return
    except RequestError as exc:
        outcomes = pending.refused + exc.outcomes
    if all(o.ok for o in outcomes) and not any(o.warnings for o in outcomes):
        await react(answer, "🕊")
        return
    await react(answer, "👎" if not any(o.unknown for o in outcomes) else "🤔")
    await answer.reply_text(format_outcomes(outcomes))


async def react(message: Message, emoji: str) -> None:
    """The bot's reaction on ``message``; a chat where reactions are off keeps the text replies only."""
    try:
        await message.set_reaction(emoji)
    except TelegramError as exc:
        log.info("no reaction on message %s: %s", message.message_id, exc)


async def prepare(context: BotContext, message: Message, messages: list[Any]) -> PendingSend | None:
    try:
        ready, refused = await context.services.client.prepare(messages)
    except ValidationError as exc:
        await message.reply_text(not_sent(exc))
        return None
    return PendingSend(ready, refused, time.time())


async def prepare_to_send(context: BotContext, message: Message, messages: list[Any]) -> PendingSend | None:
    """:func:`_prepare`, and when every message was refused, those outcomes told: None then."""
    pending = await prepare(context, message, messages)
    if pending is not None and not pending.messages:
        await message.reply_text(format_outcomes(pending.refused))
        return None
    return pending


async def send_command(update: Update, context: BotContext) -> None:
    message = message_of(update)
    command = (message.text or "/send").split(None, 1)[0].lstrip("/").split("@")[0].lower()
    try:
        parsed = parse_send(command, await command_args(update, context)).messages(source="bot")
    except CommandError as exc:
        await message.reply_text(f"❗ {exc}")
        return
    except ValidationError as exc:
        await message.reply_text(not_sent(exc))
        return
    pending = await prepare_to_send(context, message, parsed)
    if pending is None:
        return
    summary = describe(pending.messages)
    if len(pending.messages) > context.services.settings.telegram.confirm_above:
        pending_id = await save_pending(context, pending)
        buttons = InlineKeyboardMarkup([[
            InlineKeyboardButton(_("✅ Send to {n}").format(n=len(pending.messages)),
                                 callback_data=f"send:{pending_id}"),
            InlineKeyboardButton(_("✖ Cancel"), callback_data=f"cancel:{pending_id}"),
        ]])
        await message.reply_text(f"❓ {summary}\n" + _("Send?"), reply_markup=buttons)
        return
    anchor = await message.reply_text(_("📤 Sending {what}").format(what=summary))
    await deliver(context, pending, anchor)


NO_LONGER_PENDING = N_("This send is no longer pending (already answered, or expired after an hour). "
                     "Nothing was sent; send the command again.")


async def save_pending(context: BotContext, pending: PendingSend) -> str:
    """Keep the prepared send in the store until Confirm or Cancel; the buttons carry only its id."""
    return await context.services.store.run(pending_store.save, context.services.store, pending)


async def _take_pending(context: BotContext, pending_id: str, state: str) -> PendingSend | None:
    return await context.services.store.run(pending_store.take, context.services.store, pending_id, state)


async def confirm(update: Update, context: BotContext) -> None:
    """A Confirm or Cancel button: the send it names is taken from the store in one statement, so of
    two presses (on any bot instance) one sends and the other finds nothing pending.

    A press that comes second leaves the message alone (it shows, or is about to show, what the
    first press did) and only answers the press; a send that is unknown or expired says so.
    """
    query = query_of(update)
    action, _colon, pending_id = (query.data or "").partition(":")
    pending = None
    if action in ("send", "cancel") and pending_id:
        pending = await _take_pending(context, pending_id, "sending" if action == "send" else "cancelled")
        if pending is None:
            state = await context.services.store.run(context.services.store.bot.pending_state, pending_id)
            if state in ("sending", "cancelled"):
                await query.answer(_("Already sent: this question was answered by an earlier press.")
                                   if state == "sending" else
                                   _("Already cancelled: this question was answered by an earlier press."))
                return
    await query.answer()
    if pending is None or time.time() - pending.created_at > CONFIRM_TTL:
        await query.edit_message_text(_(NO_LONGER_PENDING))
        return
    if action != "send":
        await query.edit_message_text(_("✖ Cancelled: {what}").format(what=describe(pending.messages)))
        return
    anchor = await query.edit_message_text(_("📤 Sending {what}").format(what=describe(pending.messages)))
    assert isinstance(anchor, Message), anchor  # True only for inline-mode messages, which the bot never sends
    await deliver(context, pending, anchor)


