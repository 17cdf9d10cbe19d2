"""Commands that ask the provider (balance, HLR, status, a verification call) and answer in the chat."""

from __future__ import annotations

from typing import Any

from telegram import Update

from ..errors import RequestError, ValidationError
from ..render import hlr_network, hlr_ported, status_lines
from ..results import Outcome
from .commands import command_args, command_text, provider_failed, topic_phone
from .context import BotContext

__all__ = ["balance", "hlr", "callotp", "status"]


async def balance(update: Update, context: BotContext) -> None:
    try:
        result = await context.services.client.balance()
    except RequestError as exc:
        return await provider_failed(update.effective_message, exc)
    await update.effective_message.reply_text(f"💰 Balance: {result.amount} {result.currency}")


async def _one_phone(update: Update, context: BotContext, command: str, ask: Any) -> Outcome | None:
    """The outcome of ``ask([PHONE])`` for ``/command PHONE``; None once the operator was told why not."""
    message = update.effective_message
    phone = (await command_args(update, context)).strip()
    if not phone or " " in phone:
        await message.reply_text(f"Usage: /{command} PHONE, for example /{command} 0971234567")
        return None
    try:
        [outcome] = await ask([phone])
    except ValidationError as exc:
        await message.reply_text(f"❗ {exc.reason}")
        return None
    except RequestError as exc:
        await provider_failed(message, exc)
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
    text = command_text(update.effective_message).strip()
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
        return await provider_failed(update.effective_message, exc)
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
        return await provider_failed(update.effective_message, exc)
    lines = []
    for tracked, outcome in zip(latest, outcomes, strict=True):
        ok = outcome.ok
        lines.append("📬 " + "\n".join(status_lines(outcome.result)) if ok else f"❌ {tracked.id}: {outcome.error}")
    await update.effective_message.reply_text("\n\n".join(lines))


