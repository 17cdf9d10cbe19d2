"""7. One status cycle over N tracked messages: SQLite, PostgreSQL with one instance, and with two.

Each instance is a process of its own with its own store connection and
client, as two bots would be; both start the cycle together. Printed per
setup: requests made, ids polled twice (must be 0: the leases in the store
give each id to one instance), and the seconds until every instance is done.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import tempfile
import time
from pathlib import Path
from typing import Any

from alphasms_notify import AlphaSMS, Viber
from alphasms_notify.store import Store

from .common import Figure, SandboxProcess, median, postgres_server


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


def run(n: int = 100_000, rounds: int = 3, latency_ms: float = 0.0) -> list[Figure]:
    """The three setups in turn, ``rounds`` times (fresh stores each round); medians, and the ratios
    the issue sets: PostgreSQL one instance within 1.5x of SQLite, two instances 1.7x faster than one.

    ``latency_ms``: the sandbox answers each request after that long, as a provider across a network
    does. On loopback the sandbox, the database server and the instances share this machine's cores,
    so the figure says how much CPU a cycle costs; with latency it also says how much of the waiting
    a second instance takes over, which is what instances on their own machines add."""
    where = f" with {latency_ms:g} ms latency" if latency_ms else ""
    name = f"one status cycle over {n:,} tracked messages{where}, shared by bot instances"
    setups = [("SQLite, 1 instance", 1), ("PostgreSQL, 1 instance", 1), ("PostgreSQL, 2 instances", 2)]
    seconds: dict[str, list[float]] = {label: [] for label, _ in setups}
    counts: dict[str, tuple[int, int, int]] = {}
    figures: list[Figure] = []
    with SandboxProcess(latency_ms=latency_ms) as sandbox, tempfile.TemporaryDirectory() as folder, \
            postgres_server() as server:
        with AlphaSMS(sandbox.key, sandbox.api_url, viber_sender="Shop", timeout=60) as client:
            outcomes = client.send([Viber(380970000000 + i, f"Offer {i}") for i in range(n)])
        usable = [(label, k) for label, k in setups if server is not None or label.startswith("SQLite")]
        for round_ in range(rounds):
            for label, instances in usable:
                target = (str(Path(folder) / f"s{round_}.sqlite3") if label.startswith("SQLite")
                          else server.new_database())
                store = Store(target)
                store.messages.track(outcomes, source="bench")
                store.close()
                polled, twice, requests, took = _cycle(target, sandbox, instances)
                assert polled == n, f"{label}: {polled} of {n} polled"
                seconds[label].append(took)
                before = counts.get(label, (0, 0, 0))
                counts[label] = (requests, max(before[1], twice), polled)
    runs = f"median of {rounds}, the setups in turn"
    for label, times in seconds.items():
        if not times:
            continue
        requests, twice, polled = counts[label]
        figures += [
            Figure(name, f"{label}: requests", requests, "requests", f"{polled:,} ids polled"),
            Figure(name, f"{label}: ids polled twice", twice, "ids", "must be 0 (the most of any round)"),
            Figure(name, f"{label}: seconds", median(times), "s",
                   f"{runs}: {', '.join(f'{t:.2f}' for t in times)}; until every instance finished its cycle"),
        ]
    sqlite, pg1, pg2 = (seconds[label] for label, _ in setups)
    if pg1 and pg2:
        figures += [
            Figure(name, "ratio PostgreSQL 1 instance / SQLite", median(pg1) / median(sqlite), "x",
                   f"target <= 1.5; per round {', '.join(f'{p / q:.2f}' for p, q in zip(pg1, sqlite, strict=True))}"),
            Figure(name, "ratio PostgreSQL 1 instance / 2 instances", median(pg1) / median(pg2), "x",
                   f"target >= 1.7; per round {', '.join(f'{p / q:.2f}' for p, q in zip(pg1, pg2, strict=True))}"),
        ]
    else:
        figures.append(Figure(name, "PostgreSQL", 0, "-", "skipped: no PostgreSQL server binaries "
                                                          "(apt-get install postgresql)"))
    return figures
