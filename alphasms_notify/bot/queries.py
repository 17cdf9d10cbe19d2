"""Commands that ask the provider (balance, HLR, status, a verification call) and answer in the chat."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from telegram import Update

from ..errors import RequestError, ValidationError
from ..i18n import gettext as _
from ..render import hlr_network, hlr_ported, status_lines
from ..results import Outcome
from .commands import command_args, command_text, provider_failed, topic_phone
from .context import BotContext, message_of

__all__ = ["balance", "hlr", "callotp", "status"]


async def balance(update: Update, context: BotContext) -> None:
    try:
        result = await context.services.client.balance()
    except RequestError as exc:
        await provider_failed(message_of(update), exc)
        return
    await message_of(update).reply_text(_("💰 Balance: {amount} {currency}").format(amount=result.amount,
                                                                                     currency=result.currency))


async def _one_phone(update: Update, context: BotContext, command: str,
                     ask: Callable[[list[str]], Awaitable[list[Outcome[Any]]]]) -> Outcome[Any] | None:
    """The outcome of ``ask([PHONE])`` for ``/command PHONE``; None once the operator was told why not."""
    message = message_of(update)
    phone = (await command_args(update, context)).strip()
    if not phone or " " in phone:
        await message.reply_text(
            _("Usage: /{command} PHONE, for example /{command} 0971234567").format(command=command))
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
    r = outcome.unwrap()
    ported = hlr_ported(r)
    await message_of(update).reply_text(
        f"📡 +{r.phone}: {r.status}\n" + _("Network: {network} (mccmnc {mccmnc})").format(
            network=hlr_network(r), mccmnc=r.mccmnc) + "\n"
        + (_("Ported to: {network}").format(network=ported) if ported else _("Not ported")))


async def callotp(update: Update, context: BotContext) -> None:
    """Place a verification call; the operator sees the code the phone will see."""
    outcome = await _one_phone(update, context, "callotp", context.services.client.call_otp_many)
    if outcome is None:
        return
    call = outcome.unwrap()
    await message_of(update).reply_text(
        _("📞 Calling +{phone}: the incoming number ends with {code} (price {price})").format(
            phone=outcome.message.phone, code=call.code, price=call.price))


async def status(update: Update, context: BotContext) -> None:
    text = command_text(message_of(update)).strip()
    phone = await topic_phone(update, context)
    if not text and phone is not None:
        await _topic_status(update, context, phone)
        return
    if not text.isdigit():
        await message_of(update).reply_text(_("Usage: /status ID (the id a send reported)"))
        return
    if not 0 < int(text) < 2**63:
        await message_of(update).reply_text(
            _("❗ {text} is not a message id: ids are from 1 to 2^63-1.").format(text=text))
        return
    try:
        [outcome] = await context.services.client.status(int(text))
    except RequestError as exc:
        await provider_failed(message_of(update), exc)
        return
    if not outcome.ok:
        await message_of(update).reply_text(f"❌ {text}: {outcome.error}")
        return
    await message_of(update).reply_text("📬 " + "\n".join(status_lines(outcome.unwrap())))


async def _topic_status(update: Update, context: BotContext, phone: int) -> None:
    """/status in a conversation topic: the latest messages to its phone."""
    latest = await context.services.store.run(context.services.store.messages.latest_to, phone, limit=5)
    if not latest:
        await message_of(update).reply_text(_("No tracked messages to +{phone} yet.").format(phone=phone))
        return
    try:
        outcomes = await context.services.client.status([m.id for m in latest])
    except RequestError as exc:
        await provider_failed(message_of(update), exc)
        return
    lines = []
    for tracked, outcome in zip(latest, outcomes, strict=True):
        ok = outcome.ok
        lines.append("📬 " + "\n".join(status_lines(outcome.unwrap())) if ok else f"❌ {tracked.id}: {outcome.error}")
    await message_of(update).reply_text("\n\n".join(lines))


