"""Who may use the bot, and which updates run at all: checked before any handler, failing closed.

Who may act is decided first, from the settings alone, so a store that fails
cannot let a stranger through; only then is the store asked whether the update
ran already (Telegram may deliver one again), and a command older than
``[telegram] max_command_age`` (sent while the bot was down) is not run.
"""

from __future__ import annotations

import logging
import time

from telegram import Update
from telegram.ext import ApplicationHandlerStop

from ..i18n import gettext as _
from ..i18n import normalize, set_language
from ..logs import RedactSecrets
from .context import BotContext

__all__ = ["gate"]

log = logging.getLogger(__name__)


async def gate(update: Update, context: BotContext) -> None:
    """Let an update through only when everything says yes; any error in here says no.

    Who may act is decided first, from the settings alone, so a store that fails
    cannot let a stranger through; only then is the store asked whether the update
    ran already. An exception anywhere stops the update (python-telegram-bot would
    otherwise go on to the handlers after reporting it).
    """
    try:
        _speak(update, context)
        await _gate(update, context)
    except ApplicationHandlerStop:
        raise
    except Exception as exc:
        log.error("the operator gate failed, update %s not run: %s: %s", update.update_id,
                  type(exc).__name__, RedactSecrets(context.services.settings.store.secrets()).redact(f"{exc}"))
        message = update.effective_message
        try:
            if update.callback_query is not None:
                await update.callback_query.answer(_("Not run: the bot cannot check this right now; try again."),
                                                   show_alert=True)
            elif message is not None and _is_operator(update, context):
                await message.reply_text(_("⚠️ Not run: the bot's store is not answering, so it cannot tell "
                                           "whether this was handled already. Nothing was sent; try again in a "
                                           "moment."))
        except Exception as told:  # noqa: BLE001 - the refusal stands whether or not it could be told
            log.warning("could not tell the operator that an update was not run: %s", told)
        raise ApplicationHandlerStop from None


def _speak(update: Update, context: BotContext) -> None:
    """Everything this update's handlers say is in its sender's language (``[telegram] language`` wins);
    an operator's is remembered for what the bot later posts by itself in that chat."""
    forced = context.services.settings.telegram.language
    user = update.effective_user
    language = forced or normalize(user.language_code if user else None) or "en"
    set_language(language)
    if update.effective_chat is not None and _is_operator(update, context):
        context.services.heard(update.effective_chat.id, language)


def _is_operator(update: Update, context: BotContext) -> bool:
    user = update.effective_user
    return user is not None and user.id in context.services.settings.telegram.operators


async def _gate(update: Update, context: BotContext) -> None:
    settings = context.services.settings.telegram
    user = update.effective_user
    if _is_operator(update, context):
        if not await context.services.store.run(context.services.store.bot.first_sight, context.bot.id,
                                                update.update_id):
            log.info("update %s was handled already (delivered again): not run twice", update.update_id)
            raise ApplicationHandlerStop
        await _too_old(update, settings.max_command_age)
        return
    message = update.effective_message
    chat = update.effective_chat
    is_command = bool(message and message.text and message.text.startswith("/"))
    if chat is not None and chat.type != "private" and not is_command and update.callback_query is None:
        if chat.id == settings.topics_chat and user is not None:
            log.info("ignored a message from non-operator %s in the topics chat %s", user.id, chat.id)
        raise ApplicationHandlerStop  # group chatter from non-operators is simply not for us
    who = f"{user.id} (@{user.username})" if user else "unknown user"
    log.warning("refused %s in chat %s", who, chat.id if chat else "?")
    if update.callback_query is not None:
        await update.callback_query.answer(_("Only operators can do that."), show_alert=True)
    elif message is not None and user is not None:
        await message.reply_text(_("⛔ This bot is for operators only. Your Telegram user id is {id}; "
                                   "ask an administrator to add it to [telegram] operators.").format(id=user.id))
    raise ApplicationHandlerStop


async def _too_old(update: Update, max_age: float) -> None:
    """Stop a new message older than ``max_age`` that would act (a command, an answer to a reply)."""
    message = update.message
    if message is None or message.date is None:
        return
    age = time.time() - message.date.timestamp()
    if age <= max_age:
        return
    acts = bool(message.text and (message.text.startswith("/") or message.reply_to_message is not None
                                  or message.is_topic_message))
    if acts:
        log.warning("not running a message %.0f s old from %s: %s", age, message.chat_id, (message.text or "")[:40])
        await message.reply_text(_("⏰ Not run: this message is {age} old (the bot was not running when it was "
                                   "sent; the limit is {limit} s). Send it again if it is still wanted.").format(
                                       age=_ago(age), limit=f"{max_age:g}"))
    raise ApplicationHandlerStop


def _ago(seconds: float) -> str:
    if seconds < 120:
        return _("{n} s").format(n=f"{seconds:.0f}")
    if seconds < 7200:
        return _("{n} min").format(n=f"{seconds / 60:.0f}")
    return _("{n} h").format(n=f"{seconds / 3600:.1f}")
