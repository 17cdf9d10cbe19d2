"""3. One status-poll cycle over N tracked Viber messages: requests and seconds."""

from __future__ import annotations

import asyncio
import math
import tempfile
from pathlib import Path

from alphasms_notify import DEFAULT_BATCH_SIZE, AsyncAlphaSMS, Viber
from alphasms_notify.status_poll import Tracker
from alphasms_notify.store import Store

from .common import Figure, SandboxProcess, Timer


async def _cycle(sandbox: SandboxProcess, n: int, folder: str) -> tuple[float, int, int]:
    store = Store(Path(folder) / "poll.sqlite3")
    async with AsyncAlphaSMS(sandbox.key, sandbox.api_url, viber_sender="Shop") as client:
        outcomes = await client.send([Viber(380970000000 + i, f"Offer {i}") for i in range(n)])
        store.messages.track(outcomes, source="bench", chat_id=1)
        tracker = Tracker(store, client, None)
        with Timer() as t:
            stats = await tracker.poll_once()
    store.close()
    return t.seconds, stats.requests, stats.checked


def run(n: int = 10_000) -> list[Figure]:
    with SandboxProcess() as sandbox, tempfile.TemporaryDirectory() as folder:
        seconds, requests, checked = asyncio.run(_cycle(sandbox, n, folder))
    assert checked == n
    name = f"status poll of {n} tracked Viber messages"
    return [
        Figure(name, "requests", requests, "requests", f"expected ceil({n}/{DEFAULT_BATCH_SIZE}) = "
               f"{math.ceil(n / DEFAULT_BATCH_SIZE)}"),
        Figure(name, "seconds", seconds, "s", "one cycle: status requests, store updates, hooks"),
    ]
