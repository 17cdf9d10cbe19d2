"""The bot's typed context: what every handler and job shares, as attributes instead of string keys.

As in python-telegram-bot's ``contexttypesbot.py`` example: ``bot_data`` is a
:class:`BotData` and handlers take a :class:`BotContext`, whose
``services`` gives the settings, the store, the client and the plugins.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from telegram.ext import CallbackContext, ContextTypes, ExtBot

if TYPE_CHECKING:  # pragma: no cover
    from ..client import AsyncAlphaSMS
    from ..plugins import PluginManager
    from ..settings import Settings
    from ..status_poll import Tracker
    from ..store import Store, StoreLock
    from .forwarding import TelegramForwarder
    from .topics import Topics

__all__ = ["Services", "BotData", "BotContext", "CONTEXT_TYPES", "PendingSend"]

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


class BotData:
    """``application.bot_data``; filled in by ``build_application``."""

    services: Services


class BotContext(CallbackContext[ExtBot, dict, dict, BotData]):
    @property
    def services(self) -> Services:
        return self.bot_data.services


CONTEXT_TYPES: ContextTypes[Any, dict, dict, BotData] = ContextTypes(context=BotContext, bot_data=BotData)
