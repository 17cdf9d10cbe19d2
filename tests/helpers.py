"""What several test modules share: the chat's people, waiting for the bot, and the reliability report."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path

ALPHASMS = str(Path(sys.executable).parent / "alphasms")
APPRISE = str(Path(sys.executable).parent / "apprise")
OPERATOR, STRANGER, GROUP = 111, 222, -1001


WITHOUT_TRIO = str(Path(__file__).parent / "without_trio")  # see without_trio/trio/__init__.py


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without any ALPHASMS_/TELEGRAM_ setting, plus ``extra``; the programs
    started with it import what a user's install has (not selenium's trio)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ALPHASMS", "TELEGRAM"))}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [WITHOUT_TRIO, env.get("PYTHONPATH")]))
    env.update(extra)
    return env


def sandbox_env(sandbox, **extra: str) -> dict[str, str]:
    """An environment for the CLI pointed at the sandbox (sender "Shop", no external plugins), plus ``extra``."""
    settings = dict(ALPHASMS_API_KEY=sandbox.key, ALPHASMS_API_URL=sandbox.api_url, ALPHASMS_SMS_SENDER="Shop",
                    ALPHASMS_NOTIFY_LOAD_PLUGINS="")
    return clean_env(**{**settings, **extra})


def wait_for(check, timeout=15.0):
    """Wait (blocking) until ``check()`` is truthy; return its value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {getattr(check, '__name__', check)}")


async def until(check, timeout=5.0):
    """Wait (without blocking a bot running in this loop) until ``check()`` is truthy."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = await asyncio.to_thread(check)
        if value:
            return value
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {getattr(check, '__name__', check)}")


def texts(telegram, chat, needle=""):
    """The bot's messages (texts and captions) in ``chat`` that contain ``needle``."""
    found = [m.get("text") or m.get("caption") or "" for m in telegram.bot_messages(chat)]
    return [t for t in found if needle in t]


def last_text(telegram, chat=OPERATOR, containing=""):
    def check():
        return next(reversed(texts(telegram, chat, containing)), None)

    return check


def report(scenario: str, *, messages: int, received: int, lost: int, twice: int, note: str = "") -> None:
    """One line per scenario for ``pytest tests/test_reliability.py -s`` (README's reliability table)."""
    print(f"\n[reliability] {scenario}: {messages} messages, {received} received, {lost} lost, {twice} twice"
          + (f"; {note}" if note else ""))
