"""The operator commands' menu and help, and what every command handler shares: its arguments and the phone
of the topic it was typed in. The handlers are by concern: :mod:`.queries` (balance, HLR, status, call),
:mod:`.sending` (/send and its kin, Confirm), :mod:`.conversations` (answers in a chat or a topic).

Every send goes the one road: the command text is parsed into messages by
the one factory, the plugins' ``alphasms_prepare_message`` and the checks run
(``client.prepare``) before the preview and the Confirm question, and the
client sends with the hooks; the tracking plugin keeps each accepted message
with the chat and the bot's own "sent" message (``meta["telegram"]``), so
replies come back as answers to it.
"""

from __future__ import annotations

import logging

from telegram import Message, Update

from ..errors import RequestError
from ..i18n import N_
from ..i18n import gettext as _
from ..phone import InvalidPhone, normalize_phone
from .context import BotContext, message_of

__all__ = ["COMMANDS", "TOPIC_COMMANDS", "HELP", "help_command", "topic_phone", "command_args",
           "command_text", "provider_failed", "unknown", "edited"]

log = logging.getLogger(__name__)

COMMANDS = {
    "help": N_("How to use the bot, with examples"),
    "balance": N_("Account balance"),
    "send": N_("SMS: /send PHONE[,PHONE...] TEXT"),
    "viber": N_("Viber: /viber PHONE[,PHONE...] [image=URL] [link=URL button=TEXT] TEXT"),
    "vibersms": N_("Viber with SMS fallback: /vibersms PHONES [sms=\"TEXT\"] ... TEXT"),
    "rcs": N_("RCS: /rcs PHONE[,PHONE...] [image=URL] [link=URL button=TEXT] TEXT"),
    "rcssms": N_("RCS with SMS fallback: /rcssms PHONES [sms=\"TEXT\"] ... TEXT"),
    "callotp": N_("Verification call: /callotp PHONE (shows the code the phone will see)"),
    "hlr": N_("Network look-up: /hlr PHONE"),
    "status": N_("Delivery status and replies: /status ID"),
}
TOPIC_COMMANDS = {
    "close": N_("In a conversation topic: close it (a new reply reopens it)"),
    "name": N_("In a conversation topic: /name NAME names the contact (elsewhere: /name PHONE NAME)"),
}

HELP = N_("""AlphaSMS bot. Phones as you write them: +380971234567, 0971234567; several with commas, no spaces.

/balance: the account balance.
/send PHONE[,PHONE...] TEXT: SMS.
  /send 0971234567,0501234567 The shop opens at 9 tomorrow
/viber PHONE[,PHONE...] [image=URL] [link=URL button=TEXT] TEXT: Viber.
  /viber 0971234567 Hello: text
  /viber 0971234567 image=https://example.com/a.png: image only
  /viber 0971234567 link=https://example.com button="Open site" New arrivals: text, link, button
  /viber 0971234567 image=https://example.com/a.png link=https://example.com button=Buy Sale!: all of them
/vibersms PHONES [sms="SMS text"] [image=...] [link=... button=...] TEXT: Viber, and SMS if Viber fails.
  /vibersms 0971234567 sms="Your order is ready" Your order is ready, see you!
/rcs, /rcssms: as /viber and /vibersms, by RCS.
/callotp PHONE: the provider calls PHONE; its number ends with the code shown here.
/hlr PHONE: network, ported or not, status.
/status ID: delivery status and any Viber replies.
/campaigns: every campaign's state and progress; /campaign NAME [pause|resume] to steer one
  (campaigns are made and run with `alphasms campaign` on the same store).

Sends to more than {confirm_above} recipients wait for your Confirm.
Viber replies appear here as answers to the message that sent them; answer a reply to send
your text back to that phone by Viber.""")

TOPICS_HELP = N_("""Conversations: every phone has its own topic in the support group. Everything sent to it and
every reply from it appears there. Type in a topic to answer that phone by {channel}.
In a topic, commands take its phone when you leave PHONE out: /send TEXT, /viber TEXT, /hlr, /status.
/close closes the topic (a new reply reopens it); /name NAME names the contact.""")


def command_text(message: Message) -> str:
    parts = (message.text or "").split(None, 1)
    return parts[1] if len(parts) > 1 else ""


async def provider_failed(message: Message, exc: RequestError) -> None:
    await message.reply_text(f"⚠️ AlphaSMS: {exc}")


async def help_command(update: Update, context: BotContext) -> None:
    telegram = context.services.settings.telegram
    text = _(HELP).format(confirm_above=telegram.confirm_above)
    if context.services.topics is not None:
        text += "\n\n" + _(TOPICS_HELP).format(channel=telegram.topic_channel)
    await message_of(update).reply_text(text)


async def topic_phone(update: Update, context: BotContext) -> int | None:
    """The phone whose conversation topic this message is in (None: anywhere else)."""
    topics, message = context.services.topics, message_of(update)
    if topics is None or message is None or message.chat_id != topics.chat_id or not message.is_topic_message:
        return None
    return await topics.phone_of(message.message_thread_id)


def _starts_with_phones(args: str) -> bool:
    first = args.split(None, 1)[0] if args.strip() else ""
    if not first:
        return False
    try:
        for part in first.split(","):
            if part:
                normalize_phone(part)
    except InvalidPhone:
        return False
    return True


async def command_args(update: Update, context: BotContext) -> str:
    """The text after the command; in a conversation topic, with its phone first when PHONE was left out."""
    args = command_text(message_of(update))
    phone = await topic_phone(update, context)
    if phone is not None and not _starts_with_phones(args):
        return f"{phone} {args}".strip()
    return args


async def unknown(update: Update, context: BotContext) -> None:
    command = (message_of(update).text or "").split(None, 1)[0]
    addressee = command.partition("@")[2]
    if addressee and addressee.lower() != (context.bot.username or "").lower():
        return  # /send@OtherBot in a group: a command for another bot
    await message_of(update).reply_text(
        _("Unknown command {command}. /help lists the commands.").format(command=command))


async def edited(update: Update, context: BotContext) -> None:
    """An edited command is never run (it ran, or was refused, as first sent)."""
    await message_of(update).reply_text(
        _("✏️ Edited commands are not run: the command was handled as first sent. "
          "Send the corrected command as a new message."))
