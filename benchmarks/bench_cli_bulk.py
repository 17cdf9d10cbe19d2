"""8. ``alphasms send --to-file`` with N recipients, whole process, beside the floor of a bare request loop.

The floor is a Python process that imports only httpx and orjson and posts
the same N items, built before its clock starts, in batches of 100 with the
same number of requests in flight (``[alphasms] max_concurrency``): what
any client of this API must at least spend (no more imported than that: trio, which httpcore
imports when installed, is kept out, and a plain http:// URL loads no CA bundle, as in the CLI). The
one-request floor is the
same process posting all N items in one request (as a client that does not
batch, such as a public PHP one, does). All run against one ``alphasms
sandbox`` process (``latency_ms``: each answer waits that long, a provider a
network away), alternating, five times each; the figures are the medians and
their ratios, with the requests the CLI made and the round trips it waited.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from alphasms_notify.defaults import DEFAULT_BATCH_SIZE, DEFAULT_MAX_CONCURRENCY

from .common import Figure, SandboxProcess, median

TEXT = "Знижка 20% до неділі: alphasms.ua/sale"

FLOOR = r'''
import asyncio, sys, time
start = time.perf_counter()
sys.modules["trio"] = None  # as lean as the CLI: httpcore's optional trio import (selenium's) not paid
import httpx, orjson
api_url, key, phones_file = sys.argv[1], sys.argv[2], sys.argv[3]
batch, concurrency = int(sys.argv[4]), int(sys.argv[5])
phones = [int(p) for p in open(phones_file).read().split()]
text = sys.argv[6]
items = [{"type": "sms", "id": i + 1, "phone": p, "sms_signature": "Shop", "sms_message": text}
         for i, p in enumerate(phones)]
bodies = [orjson.dumps({"auth": key, "data": items[i:i + batch]}) for i in range(0, len(items), batch)]

async def main():
    limit = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient(timeout=60, verify=False) as client:  # plain http: no CA bundle loaded
        async def post(body):
            async with limit:
                r = await client.post(api_url, content=body, headers={"Content-Type": "application/json"})
                return orjson.loads(r.content)
        answers = await asyncio.gather(*(post(b) for b in bodies))
    return sum(len(a["data"]) for a in answers)

done = asyncio.run(main())
assert done == len(items), done
'''


def _time(command: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"{command[:3]} failed ({done.returncode}): {done.stderr[-2000:]}")
    return seconds


def run(n: int = 10_000, rounds: int = 5, latency_ms: float = 0.0, warm: bool = True) -> list[Figure]:
    alphasms = str(Path(sys.executable).parent / "alphasms")
    with SandboxProcess(latency_ms=latency_ms) as sandbox, tempfile.TemporaryDirectory() as folder:
        phones = Path(folder) / "phones.txt"
        phones.write_text("\n".join(str(380970000000 + i) for i in range(n)) + "\n")
        floor_script = Path(folder) / "floor.py"
        floor_script.write_text(FLOOR)
        # as users run it: bytecode written (the warm-up runs write it), no settings from this shell
        env = {**{k: v for k, v in os.environ.items()
                  if not k.startswith(("ALPHASMS", "TELEGRAM")) and k != "PYTHONDONTWRITEBYTECODE"},
               "ALPHASMS_API_KEY": sandbox.key, "ALPHASMS_API_URL": sandbox.api_url, "ALPHASMS_SMS_SENDER": "Shop",
               "ALPHASMS_NOTIFY_LOAD_PLUGINS": ""}
        cli = [alphasms, "send", "--to-file", str(phones), "--yes", TEXT]
        floor = [sys.executable, str(floor_script), sandbox.api_url, sandbox.key, str(phones),
                 str(DEFAULT_BATCH_SIZE), str(DEFAULT_MAX_CONCURRENCY), TEXT]
        single = floor[:5] + [str(n), "1"] + floor[7:]  # every item in one request
        cli_times, floor_times, single_times = [], [], []
        if warm:  # the sandbox and the page cache, not counted
            _time(floor, env)
            _time(cli, env)
        requests = 0
        for _ in range(rounds):
            floor_times.append(_time(floor, env))
            single_times.append(_time(single, env))
            before = sandbox.request_count()
            cli_times.append(_time(cli, env))
            requests = sandbox.request_count() - before
    round_trips = -(-requests // DEFAULT_MAX_CONCURRENCY)
    where = f" with {latency_ms:g} ms latency" if latency_ms else ""
    name = f"alphasms send --to-file with {n:,} recipients{where}, whole process, vs a bare request loop"
    ratios = [c / f for c, f in zip(cli_times, floor_times, strict=True)]
    return [
        Figure(name, "floor: httpx + orjson, pre-built items", median(floor_times), "s",
               f"median of {rounds}; batches of {DEFAULT_BATCH_SIZE}, {DEFAULT_MAX_CONCURRENCY} in flight"),
        Figure(name, "one-request floor: every item in one request", median(single_times), "s",
               f"median of {rounds}: {', '.join(f'{t:.2f}' for t in single_times)}"),
        Figure(name, "alphasms send --to-file", median(cli_times), "s",
               f"median of {rounds}: {', '.join(f'{t:.2f}' for t in cli_times)}; {requests} requests, "
               f"{round_trips} round trips waited"),
        Figure(name, "ratio cli / floor", median(cli_times) / median(floor_times), "x",
               f"target <= 1.3; per-round ratios {', '.join(f'{r:.2f}' for r in ratios)}"),
        Figure(name, "ratio cli / one-request floor", median(cli_times) / median(single_times), "x",
               "target <= 1.2 (issue 28)"),
    ]
