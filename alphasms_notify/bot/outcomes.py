"""How results are shown to the operator: a line per recipient, a summary and a file past Telegram's limit."""

from __future__ import annotations

import logging
from typing import Any

from telegram import Message, ReplyParameters
from telegram.error import TelegramError

from ..errors import ValidationError
from ..i18n import gettext as _
from ..i18n import ngettext
from ..messages import Rcs, RcsSms, Sms, Viber
from ..results import Outcome
from ..segments import count_segments

log = logging.getLogger(__name__)

__all__ = ["describe", "not_sent", "format_outcomes", "show_outcomes", "TELEGRAM_TEXT_MAX"]


def describe(messages: list[Any]) -> str:
    first = messages[0]
    phones = ", ".join(f"+{m.phone}" for m in messages[:20]) + (" …" if len(messages) > 20 else "")
    if isinstance(first, Sms):
        what = _("SMS, {parts} each").format(parts=count_segments(first.text))
    elif isinstance(first, Viber):
        what = f"Viber {first.viber_type()}"
    elif isinstance(first, Rcs):
        what = "RCS"
    elif isinstance(first, RcsSms):
        what = _("RCS with SMS fallback ({parts})").format(parts=count_segments(first.fallback_text or ""))
    else:
        what = _("Viber {type} with SMS fallback ({parts})").format(
            type=first.viber_type(), parts=count_segments(first.fallback_text or ""))
    return ngettext("{what} to {n} recipient: {phones}", "{what} to {n} recipients: {phones}",
                    len(messages)).format(what=what, n=len(messages), phones=phones)


def not_sent(exc: ValidationError) -> str:
    return _("❗ Not sent:") + "\n" + "\n".join(f"• {m}: {f}: {r}" for m, f, r in exc.problems)


TELEGRAM_TEXT_MAX = 4096  # a longer text is refused by Telegram: the full list goes as a file instead


def _outcome_line(o: Outcome[Any]) -> str:
    phone = o.message.phone if isinstance(o.message.phone, str) else f"+{o.message.phone}"
    if o.ok:
        sent = o.unwrap()
        parts = ", " + ngettext("{n} part", "{n} parts", sent.parts).format(n=sent.parts) if sent.parts else ""
        return "• " + _("{phone}: id {id}").format(phone=phone, id=sent.id) + parts
    if o.unknown:
        return "• ❓ " + _("{phone}: id {id} may have been sent (the answer was lost); /status {id}").format(
            phone=phone, id=o.message.id)
    return f"• ❌ {phone}: {o.error}"


def _headline(outcomes: list[Outcome[Any]]) -> str:
    ok = sum(o.ok for o in outcomes)
    unknown = sum(o.unknown for o in outcomes)
    head = ("✅ " if ok == len(outcomes) else "⚠️ ") + _("Sent {ok} of {n}").format(ok=ok, n=len(outcomes))
    if unknown:
        head += "; " + _("{n} may have been sent (tracked: their status will show here)").format(n=unknown)
    return head


def format_outcomes(outcomes: list[Outcome[Any]]) -> str:
    """Every outcome on its own line: sent, failed (❌) or unknown (❓, with the id to check)."""
    lines = [_headline(outcomes) + ":"] + [_outcome_line(o) for o in outcomes]
    warnings = sorted({w for o in outcomes for w in (o.warnings or ())})
    lines += ["⚠️ " + _("after sending: {warning}").format(warning=w) for w in warnings]
    return "\n".join(lines)


async def show_outcomes(anchor: Message, outcomes: list[Outcome[Any]], prefix: str = "") -> None:
    """The results as the anchor's text; past Telegram's limit, a summary with the full list as a file."""
    text = prefix + format_outcomes(outcomes)
    try:
        await _show(anchor, outcomes, prefix, text)
    except TelegramError as exc:  # the edit failed: the results must still reach the operator
        log.warning("could not edit the sending message %s: %s", anchor.message_id, exc)
        await anchor.get_bot().send_message(anchor.chat_id, text if len(text) <= TELEGRAM_TEXT_MAX else
                                            prefix + _headline(outcomes) + " "
                                            + _("(the full list could not be shown)"),
                                            reply_parameters=ReplyParameters(anchor.message_id,
                                                                             allow_sending_without_reply=True))


async def _show(anchor: Message, outcomes: list[Outcome[Any]], prefix: str, text: str) -> None:
    if len(text) <= TELEGRAM_TEXT_MAX:
        await anchor.edit_text(text)
        return
    problems = [o for o in outcomes if not o.ok]
    summary = [prefix + _headline(outcomes) + ". " + _("The full list is in the attached file.")]
    for o in problems:
        line = _outcome_line(o)
        if sum(len(x) + 1 for x in summary) + len(line) > TELEGRAM_TEXT_MAX - 100:
            summary.append(_("… and more not sent or unknown: see the file ({n} in all).").format(n=len(problems)))
            break
        summary.append(line)
    await anchor.edit_text("\n".join(summary))
    await anchor.reply_document(text.encode("utf-8"), filename="results.txt", caption=_("All results"))


