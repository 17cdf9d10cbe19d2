"""9. A campaign to N recipients on SQLite, from ``campaign create`` to all sent, beside ``alphasms send``.

Both are whole CLI processes against one ``alphasms sandbox`` process, with the same list and text:
``alphasms send --to-file`` (no store: what a one-off send costs), and ``alphasms campaign create`` then
``alphasms campaign run`` on a fresh SQLite store (the plan stored before anything is sent, each batch's
outcome recorded). They alternate, ``rounds`` times each; the figures are the medians and their ratio.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .common import Figure, SandboxProcess, median

TEXT = "Знижка 20% до неділі: alphasms.ua/sale"


def _time(commands: list[list[str]], env: dict[str, str]) -> float:
    start = time.perf_counter()
    for command in commands:
        done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=1200)
        if done.returncode != 0:
            raise RuntimeError(f"{command[1:3]} failed ({done.returncode}): {done.stderr[-2000:]}")
    return time.perf_counter() - start


def run(n: int = 100_000, rounds: int = 3) -> list[Figure]:
    alphasms = str(Path(sys.executable).parent / "alphasms")
    with SandboxProcess() as sandbox, tempfile.TemporaryDirectory() as folder:
        phones = Path(folder) / "phones.txt"
        phones.write_text("\n".join(str(380970000000 + i) for i in range(n)) + "\n")
        env = {**{k: v for k, v in os.environ.items()
                  if not k.startswith(("ALPHASMS", "TELEGRAM")) and k != "PYTHONDONTWRITEBYTECODE"},
               "ALPHASMS_API_KEY": sandbox.key, "ALPHASMS_API_URL": sandbox.api_url, "ALPHASMS_SMS_SENDER": "Shop",
               "ALPHASMS_NOTIFY_LOAD_PLUGINS": ""}
        send = [[alphasms, "send", "--to-file", str(phones), "--yes", TEXT]]
        send_times, campaign_times = [], []
        for i in range(rounds + 1):  # the first of each warms the sandbox and the bytecode: not counted
            sandbox.reset()
            took = _time(send, env)
            if i:
                send_times.append(took)
            sandbox.reset()
            store = {**env, "ALPHASMS_STORE_PATH": str(Path(folder) / f"campaign-{i}.sqlite3")}
            took = _time([[alphasms, "campaign", "create", "sale", "--to-file", str(phones), "--yes", TEXT],
                          [alphasms, "campaign", "run", "sale"]], store)
            if len(sandbox.messages()) != n:
                raise RuntimeError(f"the campaign sent {len(sandbox.messages())} of {n}")
            if i:
                campaign_times.append(took)
    name = f"a campaign to {n:,} recipients on SQLite (create + run) vs alphasms send of the same list"
    ratios = [c / s for c, s in zip(campaign_times, send_times, strict=True)]
    return [
        Figure(name, "alphasms send --to-file", median(send_times), "s",
               f"median of {rounds}: {', '.join(f'{t:.2f}' for t in send_times)}"),
        Figure(name, "campaign create + run", median(campaign_times), "s",
               f"median of {rounds}: {', '.join(f'{t:.2f}' for t in campaign_times)}"),
        Figure(name, "ratio campaign / send", median(campaign_times) / median(send_times), "x",
               f"target <= 1.5; per-round ratios {', '.join(f'{r:.2f}' for r in ratios)}"),
    ]
