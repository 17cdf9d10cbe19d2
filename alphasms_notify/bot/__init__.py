"""The Telegram operator bot (python-telegram-bot 22): ``alphasms bot --config FILE``."""

from .app import build_application, run_bot, running

__all__ = ["build_application", "run_bot", "running"]
