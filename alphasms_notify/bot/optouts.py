"""``/optout PHONE [all]`` and ``/optin PHONE``: operators keep the opt-out list from the chat.

The list is the store's (``alphasms optout`` edits the same one), read by every road before it sends.
In a phone's conversation topic PHONE may be left out; when forum topics are on, the phone's topic
says that it opted out (or back in), so whoever answers there next knows.
"""

from __future__ import annotations

import time

from telegram import Update
from telegram.error import TelegramError

from ..i18n import N_
from ..i18n import gettext as _
from ..phone import InvalidPhone, normalize_phone
from .commands import command_args
from .context import BotContext, message_of

__all__ = ["optout_command", "OPTOUT_COMMANDS"]

OPTOUT_COMMANDS = {
    "optout": N_("Opt a phone out of marketing: /optout PHONE [all]"),
    "optin": N_("Opt a phone back in: /optin PHONE"),
}


async def optout_command(update: Update, context: BotContext) -> None:
    message = message_of(update)
    command = (message.text or "").split(None, 1)[0].lstrip("/").split("@")[0].lower()
    words = (await command_args(update, context)).split()
    usage = _("Usage: /optout PHONE [all], /optin PHONE") if command == "optout" else _("Usage: /optin PHONE")
    if not words or len(words) > (2 if command == "optout" else 1) or (len(words) == 2 and words[1] != "all"):
        await message.reply_text(usage)
        return
    try:
        phone = normalize_phone(words[0])
    except InvalidPhone as exc:
        await message.reply_text(f"❗ {exc}")
        return
    store = context.services.store
    who = message.from_user.full_name if message.from_user else _("an operator")
    if command == "optin":
        if not await store.run(store.optouts.remove, phone):
            await message.reply_text(_("+{phone} is not opted out.").format(phone=phone))
            return
        said = _("✅ +{phone} opted back in by {who}.").format(phone=phone, who=who)
    else:
        scope = "all" if len(words) == 2 else "marketing"
        found = await store.run(store.optouts.add, phone, scope, "operator", time.time(), f"/optout by {who}")
        since = time.strftime("%Y-%m-%d %H:%M", time.gmtime(found.at))
        said = (_("🚫 +{phone} opted out of marketing messages since {since} UTC ({reason}).")
                if found.scope == "marketing" else
                _("🚫 +{phone} opted out of all messages since {since} UTC ({reason}).")).format(
                    phone=phone, since=since, reason=found.reason)
    await message.reply_text(said)
    await _tell_topic(context, phone, said, where=(message.chat_id, message.message_thread_id))


async def _tell_topic(context: BotContext, phone: int, text: str, *, where: tuple[int, int | None]) -> None:
    """The phone's topic shows it too (unless the command was typed there)."""
    topics, store = context.services.topics, context.services.store
    if topics is None:
        return
    topic = await store.run(store.topics.get, topics.chat_id, phone)
    if topic is None or where == (topics.chat_id, topic.thread_id):
        return
    try:
        await context.bot.send_message(topics.chat_id, text, message_thread_id=topic.thread_id)
    except TelegramError:
        pass  # the answer in the operator's chat said it; the topic may be gone
