"""``alphasms demo``: the whole project in one command, on loopback, with no account anywhere.

It starts the AlphaSMS sandbox and the Telegram Bot API stand-in in-process,
runs the real bot against them, and plays an operator session step by step,
checking that each step really happened (the bot's answer in the chat and
what the provider received). The transcript shows the chat on the left and
the provider's side on the right. Exit status 0 only if every step happened
within the time limit.
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from rich.console import Console
from rich.table import Table
from rich.text import Text

from .plugins import make_plugin_manager
from .sandbox import Sandbox
from .sandbox.numbers import VIBER_FAILS
from .sandbox.telegram import TelegramStandIn
from .settings import AlphaSMSSettings, Settings, StoreSettings, TelegramSettings

__all__ = ["run_demo"]

OPERATOR = 424242
FORUM = -1002024202420  # the support group: one forum topic per phone
IMAGE = "https://alphasms.ua/storage/images/json.png"


@dataclass
class Step:
    title: str
    chat: list[str] = field(default_factory=list)
    provider: list[str] = field(default_factory=list)
    ok: bool = False
    error: str = ""


class Demo:
    def __init__(self, sandbox: Sandbox, telegram: TelegramStandIn, deadline: float) -> None:
        self.sandbox, self.telegram, self.deadline = sandbox, telegram, deadline
        self.steps: list[Step] = []
        self._seen_chat = 0
        self._seen_forum = 0
        self._seen_items = 0

    async def call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return await asyncio.to_thread(fn, *args, **kwargs)

    async def wait(self, check: Callable[[], Any], what: str) -> Any:
        while time.monotonic() < self.deadline:
            value = await self.call(check)
            if value:
                return value
            await asyncio.sleep(0.05)
        raise TimeoutError(f"timed out waiting for {what}")

    async def bot_text(self, needle: str) -> dict[str, Any]:
        def check() -> Any:
            return next((m for m in self.telegram.bot_messages(OPERATOR)
                         if needle in (m.get("text") or m.get("caption") or "")), None)

        return cast(dict[str, Any], await self.wait(check, f"the bot to say {needle!r}"))

    async def collect(self, step: Step) -> None:
        """Everything new in the chats and at the provider since the last step."""
        chat = await self.call(self.telegram.messages, OPERATOR)
        for m in chat[self._seen_chat:]:
            step.chat.append(_line(m))
        self._seen_chat = len(chat)
        topics = {t["message_thread_id"]: t["name"] for t in await self.call(self.telegram.topics, FORUM)}
        forum = await self.call(self.telegram.messages, FORUM)
        for m in forum[self._seen_forum:]:
            if m.get("text") or m.get("caption"):
                step.chat.append(f"🧵 {topics.get(m.get('message_thread_id'), 'group')} │ {_line(m)}")
        self._seen_forum = len(forum)
        requests = await self.call(self.sandbox.requests)
        for request in requests[self._seen_items:]:
            items = request.get("data", [])
            if items and all(i.get("type") == "status" for i in items):
                step.provider.append(f"status poll of {len(items)} id(s), one request")
            else:
                step.provider.extend(_describe_item(i) for i in items)
        self._seen_items = len(requests)

    async def step(self, title: str, action: Callable[[], Any]) -> Any:
        step = Step(title)
        self.steps.append(step)
        try:
            result = await action()
            step.ok = True
            return result
        except Exception as exc:  # the transcript says which step failed and why
            step.error = str(exc)
            raise
        finally:
            await asyncio.sleep(0.1)
            await self.collect(step)

    async def say(self, text: str, **kwargs: Any) -> dict[str, Any]:
        return cast(dict[str, Any], await self.call(self.telegram.send, OPERATOR, text, **kwargs))


def _line(m: dict[str, Any]) -> str:
    who = "🤖" if m["from"]["is_bot"] else "👤"
    body = m.get("text") or f"[document {m['document']['file_name']}] {m.get('caption', '')}"
    reacted = f"  ({' '.join(m['reactions'])} by the bot)" if m.get("reactions") else ""
    return f"{who} {body}{reacted}"


def _describe_item(item: dict[str, Any]) -> str:
    kind = item.get("type")
    if kind in ("sms", "viber", "viber+sms"):
        text = item.get("viber_message") or item.get("sms_message") or item.get("viber_image", "")
        extra = f" [{item['viber_type']}]" if "viber_type" in item else ""
        return f"{kind}{extra} → {item.get('phone')}: {text}"
    if kind == "hlr":
        return f"hlr {item.get('phone')}"
    if kind == "status":
        return f"status {item.get('id')}"
    return str(kind)


async def _session(demo: Demo) -> None:
    sandbox = demo.sandbox

    async def balance() -> None:
        await demo.say("/balance")
        await demo.bot_text("Balance")

    async def hlr() -> None:
        await demo.say("/hlr 0971111111")
        await demo.bot_text("Ported to")

    async def sms() -> None:
        await demo.say("/send 0971234567,0501234567 Замовлення №1042 готове. Чекаємо вас!")
        await demo.bot_text("Sent 2 of 2")

    async def viber() -> int:
        await demo.say(f'/viber 0971234567 image={IMAGE} link=https://alphasms.ua button="Відкрити" '
                       "Нова колекція вже в магазині")
        await demo.bot_text("Sent 1 of 1:\n• +380971234567")
        sent = await demo.call(sandbox.messages)
        return cast(int, next(m["id"] for m in sent if m["item"].get("viber_type") == "text+image+link"))

    async def viber_sms() -> int:
        await demo.say(f'/vibersms {VIBER_FAILS} sms="Ваше замовлення готове" Ваше замовлення готове 📦')
        await demo.bot_text(f"+{VIBER_FAILS}: id")
        sent = await demo.call(sandbox.messages, VIBER_FAILS)
        return cast(int, sent[0]["id"])

    async def status(message_id: int) -> None:
        def delivered_by_sms() -> bool:
            return any(m["status"] == "DELIVERED" and m["status_type"] == "sms" for m in sandbox.messages(VIBER_FAILS))

        await demo.wait(delivered_by_sms, "the Viber-failed message to be delivered by SMS")
        await demo.say(f"/status {message_id}")
        await demo.bot_text(f"{message_id}: DELIVERED (sms)")

    async def reply(message_id: int) -> dict[str, Any]:
        await demo.call(sandbox.reply, message_id, "Дякую! А розмір M є?")

        def in_topic() -> Any:
            return next((m for m in demo.telegram.messages(FORUM) if "розмір M" in (m.get("text") or "")), None)

        return cast(dict[str, Any], await demo.wait(in_topic, "the reply in the phone's topic"))

    async def answer(forwarded: dict[str, Any]) -> None:
        before = len(await demo.call(sandbox.messages, 380971234567))
        # typed in the topic, not a reply: the topic says which phone
        typed = await demo.call(demo.telegram.send, FORUM, "Так, розмір M є в наявності.", user_id=OPERATOR,
                                thread_id=forwarded["message_thread_id"])
        await demo.wait(lambda: len(sandbox.messages(380971234567)) > before, "the answer to go out by Viber")
        [last] = (await demo.call(sandbox.messages, 380971234567))[-1:]
        if last["item"]["type"] != "viber":
            raise AssertionError("the answer did not go out as Viber")

        def read() -> bool:  # no message from the bot: its reaction on the answer follows the delivery
            found = next((m for m in demo.telegram.messages(FORUM) if m["message_id"] == typed["message_id"]), {})
            return found.get("reactions") == ["👀"]

        await demo.wait(read, "the answer's reaction to show it was read (👀)")

    async def apprise_notify() -> None:
        import apprise

        url = f"alphasms://{sandbox.key}@Monitor/0971234567/0631234567?endpoint={sandbox.api_url}"
        def notify() -> bool:
            backend = apprise.Apprise.instantiate(url)
            return backend is not None and bool(backend.notify("Disk 91% full", title="srv1"))

        ok = await demo.call(notify)
        if not ok:
            raise AssertionError("the Apprise notify failed")

    await demo.step("/balance", balance)
    await demo.step("/hlr of a ported number", hlr)
    await demo.step("/send: SMS to two phones", sms)
    viber_id = await demo.step("/viber with image, link and button", viber)
    fallback_id = await demo.step("/vibersms to a phone without Viber", viber_sms)
    await demo.step("/status: delivered by SMS after Viber failed", lambda: status(fallback_id))
    forwarded = await demo.step("the recipient replies on Viber: it appears in the phone's topic of the support "
                                "group", lambda: reply(viber_id))
    await demo.step("an operator types in that topic: it goes by Viber, and the bot's reaction on it shows it "
                    "was read (👀)", lambda: answer(forwarded))
    await demo.step("one notification through an alphasms:// Apprise URL", apprise_notify)


def _transcript(console: Console, demo: Demo, seconds: float) -> None:
    table = Table(title="alphasms demo: the operator's Telegram chat, the support group's topics (🧵) and what "
                  "AlphaSMS received", show_lines=True,
                  expand=True)
    table.add_column("step", ratio=2)
    table.add_column("Telegram chat", ratio=5)
    table.add_column("AlphaSMS received", ratio=4)
    for step in demo.steps:
        mark = Text("✔ ", style="green") if step.ok else Text("✘ ", style="bold red")
        title = mark + Text(step.title) + (Text(f"\n{step.error}", style="red") if step.error else Text(""))
        table.add_row(title, Text("\n".join(step.chat)), Text("\n".join(step.provider)))
    console.print(table)
    passed = sum(s.ok for s in demo.steps)
    style = "bold green" if passed == 9 and len(demo.steps) == 9 else "bold red"
    console.print(f"{passed} of 9 steps happened in {seconds:.1f} s", style=style)


async def _run(console: Console, limit: float, keep: bool = False) -> bool:
    from .bot import build_application, running

    start = time.monotonic()
    with Sandbox(step=0.2) as sandbox, TelegramStandIn() as telegram, tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            alphasms=AlphaSMSSettings(api_key=sandbox.key, api_url=sandbox.api_url, sms_sender="AlphaShop",
                                      viber_sender="AlphaShop", timeout=5.0),
            telegram=TelegramSettings(token=telegram.token, api_url=telegram.api_url, operators=frozenset({OPERATOR}),
                                      poll_interval=0.5, topics_chat=FORUM),
            store=StoreSettings(path=str(Path(tmp) / "demo.sqlite3")))
        telegram.make_forum(FORUM, "AlphaShop support")
        demo = Demo(sandbox, telegram, start + limit)
        console.print(f"AlphaSMS sandbox on {sandbox.api_url}; Telegram Bot API stand-in on {telegram.api_url}")
        console.print(f"Web inbox: {sandbox.inbox_url}")
        try:
            async with running(build_application(settings, plugins=make_plugin_manager())):
                await _session(demo)
        except Exception:
            pass  # the failed step is marked in the transcript
        _transcript(console, demo, time.monotonic() - start)
        ok = len(demo.steps) == 9 and all(s.ok for s in demo.steps) and time.monotonic() - start <= limit
        if keep:
            console.print(f"The sandbox stays open: look around at {sandbox.inbox_url} (Ctrl+C to stop).")
            try:
                while True:
                    await asyncio.sleep(3600)
            except (KeyboardInterrupt, asyncio.CancelledError):
                pass
    return ok


def run_demo(limit: float = 30.0, console: Console | None = None, *, keep: bool = False) -> bool:
    """Play the demo; True if every step happened within ``limit`` seconds. ``keep``: the sandbox
    (and its web inbox) stays open afterwards until Ctrl+C."""
    logging.getLogger("httpx").setLevel(logging.WARNING)
    try:
        return asyncio.run(_run(console or Console(), limit, keep))
    except KeyboardInterrupt:
        return True
