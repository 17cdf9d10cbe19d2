"""The operator commands. Each answer says what happened per recipient.

Every provider call goes through the shared ``AsyncAlphaSMS`` client with the
plugin hooks, and every accepted send is tracked in the store, anchored to
the bot's own "sent" message so replies come back as answers to it.
"""

from __future__ import annotations

import logging
import secrets
import time
from dataclasses import dataclass
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.ext import ContextTypes

from ..client import AsyncAlphaSMS
from ..config import Settings
from ..errors import RequestError, ValidationError
from ..messages import Sms, Viber
from ..plugins import PluginManager
from ..results import Outcome
from ..segments import count_segments
from ..store import Store
from .parsing import CommandError, parse_send
from .settings import BotSettings

__all__ = ["Services", "COMMANDS", "HELP"]

log = logging.getLogger(__name__)
CONFIRM_TTL = 3600.0  # seconds a "Send?" question stays answerable


@dataclass
class Services:
    """What the handlers share, kept in ``application.bot_data["services"]``."""

    settings: BotSettings
    alphasms: Settings
    store: Store
    client: AsyncAlphaSMS
    plugins: PluginManager


COMMANDS = {
    "help": "How to use the bot, with examples",
    "balance": "Account balance",
    "send": "SMS: /send PHONE[,PHONE...] TEXT",
    "viber": "Viber: /viber PHONE[,PHONE...] [image=URL] [link=URL button=TEXT] TEXT",
    "vibersms": "Viber with SMS fallback: /vibersms PHONES [sms=\"TEXT\"] ... TEXT",
    "hlr": "Network look-up: /hlr PHONE",
    "status": "Delivery status and replies: /status ID",
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
/hlr PHONE: network, ported or not, status.
/status ID: delivery status and any Viber replies.

Sends to more than {confirm_above} recipients wait for your Confirm.
Viber replies appear here as answers to the message that sent them; answer a reply to send
your text back to that phone by Viber."""


def services(context: ContextTypes.DEFAULT_TYPE) -> Services:
    return context.application.bot_data["services"]


def _args(message: Message) -> str:
    parts = (message.text or "").split(None, 1)
    return parts[1] if len(parts) > 1 else ""


async def _provider_failed(message: Message, exc: RequestError) -> None:
    await message.reply_text(f"⚠️ AlphaSMS: {exc}")


async def help_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await update.effective_message.reply_text(HELP.format(confirm_above=services(context).settings.confirm_above))


async def balance(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    try:
        result = await services(context).client.balance()
    except RequestError as exc:
        return await _provider_failed(update.effective_message, exc)
    await update.effective_message.reply_text(f"💰 Balance: {result.amount} {result.currency}")


async def hlr(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    phone = _args(update.effective_message).strip()
    if not phone or " " in phone:
        return await update.effective_message.reply_text("Usage: /hlr PHONE, for example /hlr 0971234567")
    try:
        [outcome] = await services(context).client.hlr_many([phone])
    except ValidationError as exc:
        return await update.effective_message.reply_text(f"❗ {exc.reason}")
    except RequestError as exc:
        return await _provider_failed(update.effective_message, exc)
    if not outcome.ok:
        return await update.effective_message.reply_text(f"❌ +{outcome.message.phone}: {outcome.error}")
    r = outcome.result
    network = r.origin.name if r.origin else "unknown network"
    ported = f"\nPorted to: {r.ported_network.name}" if r.ported and r.ported_network else "\nNot ported"
    await update.effective_message.reply_text(
        f"📡 +{r.phone}: {r.status}\nNetwork: {network} (mccmnc {r.mccmnc}){ported}")


async def status(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    text = _args(update.effective_message).strip()
    if not text.isdigit():
        return await update.effective_message.reply_text("Usage: /status ID (the id a send reported)")
    try:
        [outcome] = await services(context).client.status(int(text))
    except RequestError as exc:
        return await _provider_failed(update.effective_message, exc)
    if not outcome.ok:
        return await update.effective_message.reply_text(f"❌ {text}: {outcome.error}")
    r = outcome.result
    lines = [f"📬 {r.id}: {r.status} ({r.type})"]
    for reply in r.replies:
        media = f" 📎 {reply.media.filename}" if reply.media else ""
        lines.append(f"  💬 {reply.datetime:%Y-%m-%d %H:%M} {reply.message or ''}{media}")
    await update.effective_message.reply_text("\n".join(lines))


def _describe(messages: list[Any]) -> str:
    first = messages[0]
    phones = ", ".join(f"+{m.phone}" for m in messages[:20]) + (" …" if len(messages) > 20 else "")
    if isinstance(first, Sms):
        what = f"SMS, {count_segments(first.text)} each"
    elif isinstance(first, Viber):
        what = f"Viber {first.viber_type()}"
    else:
        sms_text = first.sms_text if first.sms_text is not None else first.text
        what = f"Viber {first.viber_type()} with SMS fallback ({count_segments(sms_text or '')})"
    return f"{what} to {len(messages)} recipient(s): {phones}"


def _not_sent(exc: ValidationError) -> str:
    return "❗ Not sent:\n" + "\n".join(f"• {m}: {f}: {r}" for m, f, r in exc.problems)


def format_outcomes(outcomes: list[Outcome]) -> str:
    ok = [o for o in outcomes if o.ok]
    lines = [f"{'✅' if len(ok) == len(outcomes) else '⚠️'} Sent {len(ok)} of {len(outcomes)}:"]
    for o in outcomes:
        if o.ok:
            parts = f", {o.result.parts} part(s)" if o.result.parts else ""
            lines.append(f"• +{o.message.phone}: id {o.result.id}{parts}")
        else:
            phone = o.message.phone if isinstance(o.message.phone, str) else f"+{o.message.phone}"
            lines.append(f"• ❌ {phone}: {o.error}")
    return "\n".join(lines)


async def deliver(context: ContextTypes.DEFAULT_TYPE, messages: list[Any], anchor: Message) -> None:
    """Send, track against ``anchor`` (the bot's own message), and put the per-recipient results in it."""
    svc = services(context)
    try:
        outcomes = await svc.client.send(messages)
    except ValidationError as exc:
        await anchor.edit_text(_not_sent(exc))
        return
    except RequestError as exc:
        sent = getattr(exc, "partial", [])
        svc.store.track(sent, source="bot", chat_id=anchor.chat_id, anchor_id=anchor.message_id)
        done = f"\n{format_outcomes(sent)}" if sent else "\nNothing was sent."
        await anchor.edit_text(f"⚠️ AlphaSMS: {exc}{done}")
        return
    svc.store.track(outcomes, source="bot", chat_id=anchor.chat_id, anchor_id=anchor.message_id)
    await anchor.edit_text(format_outcomes(outcomes))


async def send_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    command = (message.text or "/send").split(None, 1)[0].lstrip("/").split("@")[0].lower()
    svc = services(context)
    try:
        parsed = parse_send(command, _args(message))
        preview = svc.client.validate(parsed.messages())
    except CommandError as exc:
        return await message.reply_text(f"❗ {exc}")
    except ValidationError as exc:
        return await message.reply_text(_not_sent(exc))
    summary = _describe(preview)
    if len(preview) > svc.settings.confirm_above:
        token = secrets.token_urlsafe(8)
        pending = context.bot_data.setdefault("pending", {})
        for stale in [t for t, (at, _) in pending.items() if time.monotonic() - at > CONFIRM_TTL]:
            del pending[stale]  # questions nobody answered do not pile up
        pending[token] = (time.monotonic(), preview)
        buttons = InlineKeyboardMarkup([[
            InlineKeyboardButton(f"✅ Send to {len(preview)}", callback_data=f"ok:{token}"),
            InlineKeyboardButton("✖ Cancel", callback_data=f"no:{token}"),
        ]])
        await message.reply_text(f"❓ {summary}\nSend?", reply_markup=buttons)
        return
    anchor = await message.reply_text(f"📤 Sending {summary}")
    await deliver(context, preview, anchor)


async def confirm(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    action, _, token = (query.data or "").partition(":")
    entry = context.bot_data.setdefault("pending", {}).pop(token, None)
    await query.answer()
    if entry is None or time.monotonic() - entry[0] > CONFIRM_TTL:
        await query.edit_message_text("This send is no longer pending (already answered, expired after an hour, "
                                      "or the bot restarted). Nothing was sent; send the command again.")
        return
    pending = entry[1]
    if action != "ok":
        await query.edit_message_text(f"✖ Cancelled: {_describe(pending)}")
        return
    anchor = await query.edit_message_text(f"📤 Sending {_describe(pending)}")
    await deliver(context, pending, anchor)


async def answer_reply(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """An operator answered a forwarded Viber reply: send the text back to that phone by Viber."""
    message = update.effective_message
    svc = services(context)
    tracked = svc.store.reply_for_telegram_message(message.chat_id, message.reply_to_message.message_id)
    if tracked is None:
        return  # an answer to something else: not ours to handle
    text = (message.text or "").strip()
    if not text:
        return await message.reply_text("❗ Only text can be sent back by Viber.")
    anchor = await message.reply_text(f"📤 Sending Viber text to +{tracked.phone}")
    await deliver(context, [Viber(tracked.phone, text)], anchor)


async def unknown(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    command = (update.effective_message.text or "").split(None, 1)[0]
    await update.effective_message.reply_text(f"Unknown command {command}. /help lists the commands.")

