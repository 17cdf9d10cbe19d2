"""The bot's typed context: what every handler and job shares, as attributes instead of string keys.

As in python-telegram-bot's ``contexttypesbot.py`` example: ``bot_data`` is a
:class:`BotData` and handlers take a :class:`BotContext`, whose
``services`` gives the settings, the store, the client and the plugins.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from telegram import CallbackQuery, Message, Update
from telegram.ext import CallbackContext, ContextTypes, ExtBot

if TYPE_CHECKING:  # pragma: no cover
    from ..client import AsyncAlphaSMS
    from ..plugins import PluginManager
    from ..settings import Settings
    from ..status_poll import Tracker
    from ..store import Store, StoreLock
    from .forwarding import TelegramForwarder
    from .monitor import Monitor
    from .topics import Topics

__all__ = ["Services", "BotData", "BotContext", "CONTEXT_TYPES", "PendingSend", "message_of", "query_of"]

from .pending import PendingSend  # noqa: E402 - kept importable here for plugins of the previous version


@dataclass
class Services:
    settings: Settings
    store: Store
    client: AsyncAlphaSMS
    plugins: PluginManager
    tracker: Tracker
    forwarder: TelegramForwarder
    lock: StoreLock | None = None  # held while the bot runs: one bot per store
    topics: Topics | None = None  # [telegram] topics_chat: one forum topic per phone
    swept: float = 0.0  # when old update ids and pending sends were last cleared
    monitor: Monitor | None = None  # health, readiness and metrics ([metrics] address)
    languages: dict[int, str] = field(default_factory=dict)  # chat id: the language its operators last spoke
    last_language: str | None = None  # any operator's, for a chat none has spoken in yet

    def heard(self, chat_id: int, language: str) -> None:
        self.languages[chat_id] = self.last_language = language

    def language_for(self, chat_id: int | None) -> str:
        """The language of what the bot posts by itself (a reply forwarded, a campaign's progress):
        ``[telegram] language``, else that of the operator who last spoke in the chat, else of any."""
        if self.settings.telegram.language:
            return self.settings.telegram.language
        found = self.languages.get(chat_id) if chat_id is not None else None
        return found or self.last_language or "en"


class BotData:
    """``application.bot_data``; filled in by ``build_application``."""

    services: Services


class BotContext(CallbackContext[ExtBot[Any], dict[str, Any], dict[str, Any], BotData]):
    @property
    def services(self) -> Services:
        return self.bot_data.services


CONTEXT_TYPES: ContextTypes[Any, dict[str, Any], dict[str, Any], BotData] = ContextTypes(context=BotContext,
                                                                                       bot_data=BotData)


def message_of(update: Update) -> Message:
    """The message a command or text handler runs for. Their filters let through only updates with one;
    an update without one stops the handler loudly rather than as an AttributeError on None."""
    message = update.effective_message
    if message is None:
        raise LookupError(f"update {update.update_id} has no message")
    return message


def query_of(update: Update) -> CallbackQuery:
    """The button press a callback handler runs for (its handler is registered for those only)."""
    query = update.callback_query
    if query is None:
        raise LookupError(f"update {update.update_id} has no button press")
    return query
