"""The Telegram operator bot (python-telegram-bot 22): ``alphasms bot --config FILE``."""

from .app import build_application, run_bot, running
from .settings import BotSettings

__all__ = ["BotSettings", "build_application", "run_bot", "running"]
