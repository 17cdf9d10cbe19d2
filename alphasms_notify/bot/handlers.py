"""The operator commands. Each answer says what happened per recipient.

Every send goes the one road: the command text is parsed into messages by
the one factory, the plugins' ``alphasms_prepare_message`` and the checks run
(``client.prepare``) before the preview and the Confirm question, and the
client sends with the hooks; the tracking plugin keeps each accepted message
with the chat and the bot's own "sent" message (``meta["telegram"]``), so
replies come back as answers to it.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, ReplyParameters, Update
from telegram.error import TelegramError

from ..errors import RequestError, ValidationError
from ..messages import Rcs, RcsSms, Sms, Viber, build
from ..phone import InvalidPhone, normalize_phone
from ..render import hlr_network, hlr_ported, status_lines
from ..results import Outcome
from ..segments import count_segments
from . import pending as pending_store
from .context import BotContext
from .parsing import CommandError, parse_send
from .pending import PendingSend

__all__ = ["COMMANDS", "HELP"]

log = logging.getLogger(__name__)
CONFIRM_TTL = 3600.0  # seconds a "Send?" question stays answerable

COMMANDS = {
    "help": "How to use the bot, with examples",
    "balance": "Account balance",
    "send": "SMS: /send PHONE[,PHONE...] TEXT",
    "viber": "Viber: /viber PHONE[,PHONE...] [image=URL] [link=URL button=TEXT] TEXT",
    "vibersms": "Viber with SMS fallback: /vibersms PHONES [sms=\"TEXT\"] ... TEXT",
    "rcs": "RCS: /rcs PHONE[,PHONE...] [image=URL] [link=URL button=TEXT] TEXT",
    "rcssms": "RCS with SMS fallback: /rcssms PHONES [sms=\"TEXT\"] ... TEXT",
    "callotp": "Verification call: /callotp PHONE (shows the code the phone will see)",
    "hlr": "Network look-up: /hlr PHONE",
    "status": "Delivery status and replies: /status ID",
}
TOPIC_COMMANDS = {
    "close": "In a conversation topic: close it (a new reply reopens it)",
    "name": "In a conversation topic: /name NAME names the contact (elsewhere: /name PHONE NAME)",
}

HELP = """AlphaSMS bot. Phones as you write them: +380971234567, 0971234567; several with commas, no spaces.

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

Sends to more than {confirm_above} recipients wait for your Confirm.
Viber replies appear here as answers to the message that sent them; answer a reply to send
your text back to that phone by Viber."""

TOPICS_HELP = """

Conversations: every phone has its own topic in the support group. Everything sent to it and
every reply from it appears there. Type in a topic to answer that phone by {channel}.
In a topic, commands take its phone when you leave PHONE out: /send TEXT, /viber TEXT, /hlr, /status.
/close closes the topic (a new reply reopens it); /name NAME names the contact."""


def _args(message: Message) -> str:
    parts = (message.text or "").split(None, 1)
    return parts[1] if len(parts) > 1 else ""


async def _provider_failed(message: Message, exc: RequestError) -> None:
    await message.reply_text(f"⚠️ AlphaSMS: {exc}")


async def help_command(update: Update, context: BotContext) -> None:
    telegram = context.services.settings.telegram
    text = HELP.format(confirm_above=telegram.confirm_above)
    if context.services.topics is not None:
        text += TOPICS_HELP.format(channel=telegram.topic_channel)
    await update.effective_message.reply_text(text)


async def topic_phone(update: Update, context: BotContext) -> int | None:
    """The phone whose conversation topic this message is in (None: anywhere else)."""
    topics, message = context.services.topics, update.effective_message
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


async def _command_args(update: Update, context: BotContext) -> str:
    """The text after the command; in a conversation topic, with its phone first when PHONE was left out."""
    args = _args(update.effective_message)
    phone = await topic_phone(update, context)
    if phone is not None and not _starts_with_phones(args):
        return f"{phone} {args}".strip()
    return args


async def balance(update: Update, context: BotContext) -> None:
    try:
        result = await context.services.client.balance()
    except RequestError as exc:
        return await _provider_failed(update.effective_message, exc)
    await update.effective_message.reply_text(f"💰 Balance: {result.amount} {result.currency}")


async def _one_phone(update: Update, context: BotContext, command: str, ask: Any) -> Outcome | None:
    """The outcome of ``ask([PHONE])`` for ``/command PHONE``; None once the operator was told why not."""
    message = update.effective_message
    phone = (await _command_args(update, context)).strip()
    if not phone or " " in phone:
        await message.reply_text(f"Usage: /{command} PHONE, for example /{command} 0971234567")
        return None
    try:
        [outcome] = await ask([phone])
    except ValidationError as exc:
        await message.reply_text(f"❗ {exc.reason}")
        return None
    except RequestError as exc:
        await _provider_failed(message, exc)
        return None
    if not outcome.ok:
        await message.reply_text(f"❌ +{outcome.message.phone}: {outcome.error}")
        return None
    return outcome


async def hlr(update: Update, context: BotContext) -> None:
    outcome = await _one_phone(update, context, "hlr", context.services.client.hlr_many)
    if outcome is None:
        return
    r = outcome.result
    ported = hlr_ported(r)
    await update.effective_message.reply_text(
        f"📡 +{r.phone}: {r.status}\nNetwork: {hlr_network(r)} (mccmnc {r.mccmnc})\n"
        + (f"Ported to: {ported}" if ported else "Not ported"))


async def callotp(update: Update, context: BotContext) -> None:
    """Place a verification call; the operator sees the code the phone will see."""
    outcome = await _one_phone(update, context, "callotp", context.services.client.call_otp_many)
    if outcome is None:
        return
    await update.effective_message.reply_text(
        f"📞 Calling +{outcome.message.phone}: the incoming number ends with {outcome.result.code} "
        f"(price {outcome.result.price})")


async def status(update: Update, context: BotContext) -> None:
    text = _args(update.effective_message).strip()
    phone = await topic_phone(update, context)
    if not text and phone is not None:
        return await _topic_status(update, context, phone)
    if not text.isdigit():
        return await update.effective_message.reply_text("Usage: /status ID (the id a send reported)")
    if not 0 < int(text) < 2**63:
        return await update.effective_message.reply_text(f"❗ {text} is not a message id: ids are from 1 to 2^63-1.")
    try:
        [outcome] = await context.services.client.status(int(text))
    except RequestError as exc:
        return await _provider_failed(update.effective_message, exc)
    if not outcome.ok:
        return await update.effective_message.reply_text(f"❌ {text}: {outcome.error}")
    await update.effective_message.reply_text("📬 " + "\n".join(status_lines(outcome.result)))


async def _topic_status(update: Update, context: BotContext, phone: int) -> None:
    """/status in a conversation topic: the latest messages to its phone."""
    latest = await context.services.store.run(context.services.store.messages.latest_to, phone, limit=5)
    if not latest:
        return await update.effective_message.reply_text(f"No tracked messages to +{phone} yet.")
    try:
        outcomes = await context.services.client.status([m.id for m in latest])
    except RequestError as exc:
        return await _provider_failed(update.effective_message, exc)
    lines = []
    for tracked, outcome in zip(latest, outcomes, strict=True):
        ok = outcome.ok
        lines.append("📬 " + "\n".join(status_lines(outcome.result)) if ok else f"❌ {tracked.id}: {outcome.error}")
    await update.effective_message.reply_text("\n\n".join(lines))


def _describe(messages: list[Any]) -> str:
    first = messages[0]
    phones = ", ".join(f"+{m.phone}" for m in messages[:20]) + (" …" if len(messages) > 20 else "")
    if isinstance(first, Sms):
        what = f"SMS, {count_segments(first.text)} each"
    elif isinstance(first, Viber):
        what = f"Viber {first.viber_type()}"
    elif isinstance(first, Rcs):
        what = "RCS"
    elif isinstance(first, RcsSms):
        what = f"RCS with SMS fallback ({count_segments(first.fallback_text or '')})"
    else:
        what = f"Viber {first.viber_type()} with SMS fallback ({count_segments(first.fallback_text or '')})"
    return f"{what} to {len(messages)} recipient(s): {phones}"


def _not_sent(exc: ValidationError) -> str:
    return "❗ Not sent:\n" + "\n".join(f"• {m}: {f}: {r}" for m, f, r in exc.problems)


TELEGRAM_TEXT_MAX = 4096  # a longer text is refused by Telegram: the full list goes as a file instead


def _outcome_line(o: Outcome) -> str:
    phone = o.message.phone if isinstance(o.message.phone, str) else f"+{o.message.phone}"
    if o.ok:
        parts = f", {o.result.parts} part(s)" if o.result.parts else ""
        return f"• {phone}: id {o.result.id}{parts}"
    if o.unknown:
        return f"• ❓ {phone}: id {o.message.id} may have been sent (the answer was lost); /status {o.message.id}"
    return f"• ❌ {phone}: {o.error}"


def _headline(outcomes: list[Outcome]) -> str:
    ok = sum(o.ok for o in outcomes)
    unknown = sum(o.unknown for o in outcomes)
    head = f"{'✅' if ok == len(outcomes) else '⚠️'} Sent {ok} of {len(outcomes)}"
    if unknown:
        head += f"; {unknown} may have been sent (tracked: their status will show here)"
    return head


def format_outcomes(outcomes: list[Outcome]) -> str:
    """Every outcome on its own line: sent, failed (❌) or unknown (❓, with the id to check)."""
    lines = [_headline(outcomes) + ":"] + [_outcome_line(o) for o in outcomes]
    warnings = sorted({w for o in outcomes for w in (o.warnings or ())})
    lines += [f"⚠️ after sending: {w}" for w in warnings]
    return "\n".join(lines)


async def show_outcomes(anchor: Message, outcomes: list[Outcome], prefix: str = "") -> None:
    """The results as the anchor's text; past Telegram's limit, a summary with the full list as a file."""
    text = prefix + format_outcomes(outcomes)
    try:
        await _show(anchor, outcomes, prefix, text)
    except TelegramError as exc:  # the edit failed: the results must still reach the operator
        log.warning("could not edit the sending message %s: %s", anchor.message_id, exc)
        await anchor.get_bot().send_message(anchor.chat_id, text if len(text) <= TELEGRAM_TEXT_MAX else
                                            prefix + _headline(outcomes) + " (the full list could not be shown)",
                                            reply_parameters=ReplyParameters(anchor.message_id,
                                                                             allow_sending_without_reply=True))


async def _show(anchor: Message, outcomes: list[Outcome], prefix: str, text: str) -> None:
    if len(text) <= TELEGRAM_TEXT_MAX:
        await anchor.edit_text(text)
        return
    problems = [o for o in outcomes if not o.ok]
    summary = [prefix + _headline(outcomes) + ". The full list is in the attached file."]
    for o in problems:
        line = _outcome_line(o)
        if sum(len(x) + 1 for x in summary) + len(line) > TELEGRAM_TEXT_MAX - 100:
            summary.append(f"… and more not sent or unknown: see the file ({len(problems)} in all).")
            break
        summary.append(line)
    await anchor.edit_text("\n".join(summary))
    await anchor.reply_document(text.encode("utf-8"), filename="results.txt", caption="All results")


async def deliver(context: BotContext, pending: PendingSend, anchor: Message) -> None:
    """Send what was prepared; the tracking plugin anchors it to ``anchor``, whose text becomes the results."""
    thread_id = anchor.message_thread_id if anchor.is_topic_message else None
    for message in pending.messages:
        message.meta["telegram"] = {"chat_id": anchor.chat_id, "anchor_id": anchor.message_id, "thread_id": thread_id}
    try:
        outcomes = await context.services.client.send(pending.messages, prepared=True) if pending.messages else []
    except ValidationError as exc:
        await anchor.edit_text(_not_sent(exc))
        return
    except RequestError as exc:
        await show_outcomes(anchor, pending.refused + exc.outcomes, prefix=f"⚠️ AlphaSMS: {exc}\n")
        return
    await show_outcomes(anchor, pending.refused + outcomes)


async def _prepare(context: BotContext, message: Message, messages: list[Any]) -> PendingSend | None:
    try:
        ready, refused = await context.services.client.prepare(messages)
    except ValidationError as exc:
        await message.reply_text(_not_sent(exc))
        return None
    return PendingSend(ready, refused, time.time())


async def _prepare_to_send(context: BotContext, message: Message, messages: list[Any]) -> PendingSend | None:
    """:func:`_prepare`, and when every message was refused, those outcomes told: None then."""
    pending = await _prepare(context, message, messages)
    if pending is not None and not pending.messages:
        await message.reply_text(format_outcomes(pending.refused))
        return None
    return pending


async def send_command(update: Update, context: BotContext) -> None:
    message = update.effective_message
    command = (message.text or "/send").split(None, 1)[0].lstrip("/").split("@")[0].lower()
    try:
        parsed = parse_send(command, await _command_args(update, context)).messages(source="bot")
    except CommandError as exc:
        return await message.reply_text(f"❗ {exc}")
    except ValidationError as exc:
        return await message.reply_text(_not_sent(exc))
    pending = await _prepare_to_send(context, message, parsed)
    if pending is None:
        return
    summary = _describe(pending.messages)
    if len(pending.messages) > context.services.settings.telegram.confirm_above:
        pending_id = await save_pending(context, pending)
        buttons = InlineKeyboardMarkup([[
            InlineKeyboardButton(f"✅ Send to {len(pending.messages)}", callback_data=f"send:{pending_id}"),
            InlineKeyboardButton("✖ Cancel", callback_data=f"cancel:{pending_id}"),
        ]])
        await message.reply_text(f"❓ {summary}\nSend?", reply_markup=buttons)
        return
    anchor = await message.reply_text(f"📤 Sending {summary}")
    await deliver(context, pending, anchor)


NO_LONGER_PENDING = ("This send is no longer pending (already answered, or expired after an hour). "
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
    query = update.callback_query
    action, _, pending_id = (query.data or "").partition(":")
    pending = None
    if action in ("send", "cancel") and pending_id:
        pending = await _take_pending(context, pending_id, "sending" if action == "send" else "cancelled")
        if pending is None:
            state = await context.services.store.run(context.services.store.bot.pending_state, pending_id)
            if state in ("sending", "cancelled"):
                await query.answer(f"Already {'sent' if state == 'sending' else 'cancelled'}: "
                                   "this question was answered by an earlier press.")
                return
    await query.answer()
    if pending is None or time.time() - pending.created_at > CONFIRM_TTL:
        await query.edit_message_text(NO_LONGER_PENDING)
        return
    if action != "send":
        await query.edit_message_text(f"✖ Cancelled: {_describe(pending.messages)}")
        return
    anchor = await query.edit_message_text(f"📤 Sending {_describe(pending.messages)}")
    await deliver(context, pending, anchor)


async def answer_reply(update: Update, context: BotContext) -> None:
    """An operator answered a forwarded Viber reply: send the text back to that phone by Viber."""
    message = update.effective_message
    answered = message.reply_to_message
    tracked = await context.services.store.run(context.services.store.replies.message_for_forward, message.chat_id,
                                               answered.message_id)
    if tracked is None:
        if answered.from_user is not None and answered.from_user.id == context.bot.id:
            await message.reply_text("ℹ️ Nothing was sent: that message is not a forwarded Viber reply. "
                                     "Answer a 💬 reply to send your text back by Viber.")
        return  # an answer to someone else's message: not for the bot
    text = (message.text or "").strip()
    if not text:
        return await message.reply_text("❗ Only text can be sent back by Viber.")
    pending = await _prepare(context, message, build("viber", tracked.phone, text, meta={"source": "bot"}))
    if pending is None:
        return
    anchor = await message.reply_text(f"📤 Sending Viber text to +{tracked.phone}")
    await deliver(context, pending, anchor)


async def topic_message(update: Update, context: BotContext) -> None:
    """An operator typed in a conversation topic: the text goes to its phone by ``[telegram] topic_channel``.

    Routed by the topic, never by ``reply_to_message``: in a forum every message in a topic
    "replies" to the topic's creation message.
    """
    message = update.effective_message
    phone = await topic_phone(update, context)
    if phone is None:
        return  # the General topic, or a topic that is not a conversation: talk among operators
    text = (message.text or "").strip()
    if not text:
        return await message.reply_text("❗ Only text can be sent from a topic; nothing was sent.")
    channel = context.services.settings.telegram.topic_channel
    try:
        messages = build(channel, phone, text, meta={"source": "bot"})
    except ValidationError as exc:
        return await message.reply_text(_not_sent(exc))
    pending = await _prepare_to_send(context, message, messages)
    if pending is None:
        return
    anchor = await message.reply_text(f"📤 Sending {_describe(pending.messages)}")
    await deliver(context, pending, anchor)


async def close_topic(update: Update, context: BotContext) -> None:
    topics, phone = context.services.topics, await topic_phone(update, context)
    if topics is None or phone is None:
        return await update.effective_message.reply_text("/close works in a conversation topic.")
    topic = await context.services.store.run(context.services.store.topics.get, topics.chat_id, phone)
    if topic is None:
        return
    await topics.set_closed(topic, True)
    log.info("topic of +%s closed by %s", phone, update.effective_user.id if update.effective_user else "?")


async def name_contact(update: Update, context: BotContext) -> None:
    """/name NAME in a topic, /name PHONE NAME anywhere: the contact's name, and its topic's."""
    message, topics = update.effective_message, context.services.topics
    args = await _command_args(update, context)
    first, _, name = args.partition(" ")
    name = " ".join(name.split())
    try:
        phone = normalize_phone(first) if first else None
    except InvalidPhone:
        phone = None
    if phone is None or not name:
        return await message.reply_text("Usage: /name NAME in a conversation topic, or /name PHONE NAME")
    if topics is not None:
        shown = await topics.rename(phone, name)
    else:
        await context.services.store.run(context.services.store.contacts.set_name, phone, name)
        shown = name
    await message.reply_text(f"📇 +{phone} is now {shown}")


async def unknown(update: Update, context: BotContext) -> None:
    command = (update.effective_message.text or "").split(None, 1)[0]
    _, _, addressee = command.partition("@")
    if addressee and addressee.lower() != (context.bot.username or "").lower():
        return  # /send@OtherBot in a group: a command for another bot
    await update.effective_message.reply_text(f"Unknown command {command}. /help lists the commands.")


async def edited(update: Update, context: BotContext) -> None:
    """An edited command is never run (it ran, or was refused, as first sent)."""
    await update.effective_message.reply_text(
        "✏️ Edited commands are not run: the command was handled as first sent. "
        "Send the corrected command as a new message.")
