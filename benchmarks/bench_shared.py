"""7. One status cycle over N tracked messages: SQLite, PostgreSQL with one instance, and with two.

Each instance is a process of its own with its own store connection and
client, as two bots would be; both start the cycle together. Printed per
setup: requests made, ids polled twice (must be 0: the leases in the store
give each id to one instance), and the seconds until every instance is done.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from alphasms_notify import AlphaSMS, Viber
from alphasms_notify.store import Store

from .common import Figure, SandboxProcess


def _instance(target: str, key: str, api_url: str, start_at: float, out: Any) -> None:
    """One bot instance's status cycle; reports (ids it polled, requests, seconds from the common start)."""
    from alphasms_notify import AsyncAlphaSMS
    from alphasms_notify.status_poll import Tracker

    polled: list[int] = []

    class Recording(Tracker):
        async def _poll(self, rows, stats):  # type: ignore[override]
            polled.extend(r.id for r in rows)
            return await super()._poll(rows, stats)

    async def cycle() -> tuple[int, float]:
        store = Store(target)
        async with AsyncAlphaSMS(key, api_url, timeout=60) as client:
            tracker = Recording(store, client, None, lease=600)
            time.sleep(max(0.0, start_at - time.time()))
            stats = await tracker.poll_once()
        store.close()
        return stats.requests, time.time() - start_at

    requests, seconds = asyncio.run(cycle())
    out.put((polled, requests, seconds))


def _cycle(target: str, sandbox: SandboxProcess, instances: int) -> tuple[int, int, int, float]:
    """(ids polled, ids polled twice, requests, seconds) of one cycle shared by ``instances`` processes."""
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    start_at = time.time() + 3.0  # after the processes have imported and connected
    procs = [ctx.Process(target=_instance, args=(target, sandbox.key, sandbox.api_url, start_at, out))
             for _ in range(instances)]
    for p in procs:
        p.start()
    results = [out.get(timeout=600) for _ in procs]
    for p in procs:
        p.join()
    ids = [i for polled, _, _ in results for i in polled]
    return len(set(ids)), len(ids) - len(set(ids)), sum(r for _, r, _ in results), max(s for _, _, s in results)


SERVER_ENV = "ALPHASMS_BENCH_POSTGRES"  # a PostgresServer.describe() as JSON


def run(n: int = 100_000) -> list[Figure]:
    from alphasms_notify.sandbox.postgres import PostgresServer, server_bin

    name = f"one status cycle over {n:,} tracked messages, shared by bot instances"
    figures: list[Figure] = []
    with SandboxProcess() as sandbox, tempfile.TemporaryDirectory() as folder:
        with AlphaSMS(sandbox.key, sandbox.api_url, viber_sender="Shop", timeout=60) as client:
            outcomes = client.send([Viber(380970000000 + i, f"Offer {i}") for i in range(n)])
        targets: list[tuple[str, str, int]] = [("SQLite, 1 instance", str(Path(folder) / "s.sqlite3"), 1)]
        bindir = server_bin()
        given = os.environ.get(SERVER_ENV)  # a running server to use (the tests share theirs), else our own
        server = PostgresServer.attach(json.loads(given)) if given else PostgresServer(bindir) if bindir else None
        try:
            if server is not None and not given:
                server.start()
                targets += [("PostgreSQL, 1 instance", server.new_database(), 1),
                            ("PostgreSQL, 2 instances", server.new_database(), 2)]
            for label, target, instances in targets:
                store = Store(target)
                store.messages.track(outcomes, source="bench")
                store.close()
                polled, twice, requests, seconds = _cycle(target, sandbox, instances)
                assert polled == n, f"{label}: {polled} of {n} polled"
                figures += [
                    Figure(name, f"{label}: requests", requests, "requests", f"{polled:,} ids polled"),
                    Figure(name, f"{label}: ids polled twice", twice, "ids", "must be 0"),
                    Figure(name, f"{label}: seconds", seconds, "s", "until every instance finished its cycle"),
                ]
        finally:
            if server is not None and not given:
                server.stop()
        if server is None:
            figures.append(Figure(name, "PostgreSQL", 0, "-", "skipped: no PostgreSQL server binaries "
                                                              "(apt-get install postgresql)"))
    return figures
