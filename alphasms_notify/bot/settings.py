"""The bot's settings: ``[telegram]`` and ``[store]`` on top of ``[alphasms]``."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from ..config import ConfigError, Settings

__all__ = ["BotSettings", "DEFAULT_API_URL"]

DEFAULT_API_URL = "https://api.telegram.org/bot"


@dataclass
class BotSettings:
    token: str = field(repr=False)
    api_url: str = DEFAULT_API_URL
    operators: frozenset[int] = frozenset()
    replies_chat: int | None = None
    poll_interval: float = 30.0
    confirm_above: int = 10
    reply_window: float = 24 * 3600.0
    webhook_url: str | None = None
    webhook_secret: str | None = field(default=None, repr=False)
    listen: str = "127.0.0.1"
    port: int = 8443
    store_path: str = "alphasms-notify.sqlite3"

    @classmethod
    def from_settings(cls, settings: Settings, env: dict[str, str] | None = None) -> BotSettings:
        env = os.environ if env is None else env
        tg, store = settings.section("telegram"), settings.section("store")
        token = env.get("TELEGRAM_BOT_TOKEN") or tg.get("token")
        if not token:
            raise ConfigError("no bot token: set TELEGRAM_BOT_TOKEN or [telegram] token")
        operators = tg.get("operators", [])
        if not isinstance(operators, list) or not all(isinstance(o, int) for o in operators):
            raise ConfigError("[telegram] operators must be a list of Telegram user ids (integers)")
        if not operators:
            raise ConfigError("[telegram] operators is empty: nobody could use the bot")
        try:
            return cls(
                token=str(token),
                api_url=str(tg.get("api_url", DEFAULT_API_URL)),
                operators=frozenset(operators),
                replies_chat=int(tg["replies_chat"]) if tg.get("replies_chat") is not None else None,
                poll_interval=float(tg.get("poll_interval", 30.0)),
                confirm_above=int(tg.get("confirm_above", 10)),
                reply_window=float(tg.get("reply_window_hours", 24)) * 3600,
                webhook_url=tg.get("webhook_url"),
                webhook_secret=tg.get("webhook_secret"),
                listen=str(tg.get("listen", "127.0.0.1")),
                port=int(tg.get("port", 8443)),
                store_path=str(store.get("path", "alphasms-notify.sqlite3")),
            )
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"[telegram] has a wrong value: {exc}") from None
