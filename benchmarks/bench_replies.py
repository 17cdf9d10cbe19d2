"""4. Reply forwarding: N replies posted to the sandbox, seconds from post to the Telegram message.

The real bot runs here against the Bot API stand-in; replies are posted at
random moments over ``spread`` seconds (under Telegram's ~30 messages a
second), and a watcher notes when each appears in the operator's chat.
"""

from __future__ import annotations

import asyncio
import random
import tempfile
import time
from pathlib import Path

from alphasms_notify import AsyncAlphaSMS, Viber
from alphasms_notify.bot import build_application, running
from alphasms_notify.plugins import make_plugin_manager
from alphasms_notify.sandbox.telegram import TelegramStandIn
from alphasms_notify.settings import AlphaSMSSettings, Settings, StoreSettings, TelegramSettings
from alphasms_notify.store import Store

from .common import Figure, SandboxProcess, median, percentile

OPERATOR = 5151


async def _measure(sandbox: SandboxProcess, telegram: TelegramStandIn, n: int, poll: float, spread: float,
                   folder: str) -> list[float]:
    store_path = Path(folder) / "replies.sqlite3"
    async with AsyncAlphaSMS(sandbox.key, sandbox.api_url, viber_sender="Shop") as client:
        outcomes = await client.send([Viber(380970000000 + i, f"Question {i}?") for i in range(n)])
    store = Store(store_path)
    store.messages.track(outcomes, source="bench", chat_id=OPERATOR)
    store.close()
    ids = [o.result.id for o in outcomes]
    settings = Settings(
        alphasms=AlphaSMSSettings(api_key=sandbox.key, api_url=sandbox.api_url, viber_sender="Shop"),
        telegram=TelegramSettings(token=telegram.token, api_url=telegram.api_url, operators=frozenset({OPERATOR}),
                                  poll_interval=poll),
        store=StoreSettings(path=str(store_path)))
    posted: dict[str, float] = {}
    arrived: dict[str, float] = {}
    async with running(build_application(settings, plugins=make_plugin_manager(defaults=()))):
        rng = random.Random(7)
        offsets = sorted(rng.uniform(0, spread) for _ in range(n))
        start = time.monotonic()

        async def post_all() -> None:
            for i, offset in enumerate(offsets):
                await asyncio.sleep(max(0.0, start + offset - time.monotonic()))
                posted[f"answer-{i}"] = time.monotonic()
                await asyncio.to_thread(sandbox.reply, ids[i], f"answer-{i}")

        async def watch() -> None:
            deadline = start + spread + poll * 4 + 30
            while len(arrived) < n and time.monotonic() < deadline:
                messages = await asyncio.to_thread(telegram.bot_messages, OPERATOR)
                now = time.monotonic()
                for m in messages:
                    token = m.get("text", "").split("\n")[1] if "💬" in m.get("text", "") else None
                    if token and token not in arrived:
                        arrived[token] = now
                await asyncio.sleep(0.02)

        await asyncio.gather(post_all(), watch())
    if len(arrived) != n:
        raise AssertionError(f"only {len(arrived)} of {n} replies reached Telegram")
    return [arrived[k] - posted[k] for k in posted]


def run(n: int = 200, poll: float = 1.0, spread: float = 10.0) -> list[Figure]:
    with SandboxProcess() as sandbox, TelegramStandIn() as telegram, tempfile.TemporaryDirectory() as folder:
        latencies = asyncio.run(_measure(sandbox, telegram, n, poll, spread, folder))
    name = f"forward {n} Viber replies (poll_interval {poll} s)"
    return [
        Figure(name, "median latency", median(latencies), "s", f"posted over {spread:.0f} s"),
        Figure(name, "95th percentile latency", percentile(latencies, 95), "s", f"target <= {poll + 1:.1f} s"),
        Figure(name, "forwarded", len(latencies), "replies", "each exactly once"),
    ]
