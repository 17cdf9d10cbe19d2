"""9. A campaign to N recipients on SQLite, from ``campaign create`` to all sent, beside ``alphasms send``.

All are whole CLI processes against one ``alphasms sandbox`` process, with the same list and text:
``alphasms send --to-file`` with the same ``[store]`` as the campaign (so it tracks what it sends, as it
does for a team that has campaigns), the same without a store (a one-off send, the least work), and
``alphasms campaign create`` then ``alphasms campaign run`` on a fresh SQLite store (the plan stored before
anything is sent, each batch's outcome recorded). Where a PostgreSQL server can run, the send with a store
and the campaign again with a fresh PostgreSQL database each (the store of several instances). They
alternate, ``rounds`` times each; the figures are the medians and their ratios.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .common import Figure, SandboxProcess, median, postgres_server

TEXT = "Знижка 20% до неділі: alphasms.ua/sale"


def _time(commands: list[list[str]], env: dict[str, str]) -> float:
    start = time.perf_counter()
    for command in commands:
        done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=1200)
        if done.returncode != 0:
            raise RuntimeError(f"{command[1:3]} failed ({done.returncode}): {done.stderr[-2000:]}")
    return time.perf_counter() - start


def run(n: int = 100_000, rounds: int = 3, warm: bool = True) -> list[Figure]:
    alphasms = str(Path(sys.executable).parent / "alphasms")
    with SandboxProcess() as sandbox, tempfile.TemporaryDirectory() as folder, postgres_server() as server:
        phones = Path(folder) / "phones.txt"
        phones.write_text("\n".join(str(380970000000 + i) for i in range(n)) + "\n")
        # as users run it: bytecode written (the warm-up round writes it), no settings from this shell
        env = {**{k: v for k, v in os.environ.items()
                  if not k.startswith(("ALPHASMS", "TELEGRAM")) and k != "PYTHONDONTWRITEBYTECODE"},
               "ALPHASMS_API_KEY": sandbox.key, "ALPHASMS_API_URL": sandbox.api_url, "ALPHASMS_SMS_SENDER": "Shop",
               "ALPHASMS_NOTIFY_LOAD_PLUGINS": ""}
        send = [alphasms, "send", "--to-file", str(phones), "--yes", TEXT]
        times: dict[str, list[float]] = {"send": [], "tracked": [], "campaign": [], "pg tracked": [], "pg campaign": []}
        first = 0 if warm else 1  # round 0 warms the sandbox and the bytecode: not counted
        for i in range(first, rounds + 1):
            store = {**env, "ALPHASMS_STORE_PATH": str(Path(folder) / f"store-{i}.sqlite3")}
            campaign = [[alphasms, "campaign", "create", "sale", "--to-file", str(phones), "--yes", TEXT],
                        [alphasms, "campaign", "run", "sale"]]
            plan = {"send": ([send], env), "tracked": ([send], store), "campaign": (campaign, store)}
            if server is not None:
                plan["pg tracked"] = ([send], {**env, "ALPHASMS_STORE_URL": server.new_database()})
                plan["pg campaign"] = (campaign, {**env, "ALPHASMS_STORE_URL": server.new_database()})
            for what, (commands, with_env) in plan.items():
                sandbox.reset()
                took = _time(commands, with_env)
                if len(sandbox.messages()) != n:
                    raise RuntimeError(f"{what} sent {len(sandbox.messages())} messages to {n} recipients")
                if i:
                    times[what].append(took)
    name = f"a campaign to {n:,} recipients (create + run) vs alphasms send of the same list"
    medians = {what: median(t) for what, t in times.items() if t}

    def listed(what: str) -> str:
        return f"median of {rounds}: {', '.join(f'{t:.2f}' for t in times[what])}"

    ratios = [c / s for c, s in zip(times["campaign"], times["tracked"], strict=True)]
    return [
        Figure(name, "alphasms send --to-file, no store", medians["send"], "s", listed("send")),
        Figure(name, "alphasms send --to-file, the same store", medians["tracked"], "s", listed("tracked")),
        Figure(name, "campaign create + run", medians["campaign"], "s", listed("campaign")),
        Figure(name, "ratio campaign / send (the same store)", medians["campaign"] / medians["tracked"], "x",
               f"target <= 1.5; per-round ratios {', '.join(f'{r:.2f}' for r in ratios)}"),
        Figure(name, "ratio campaign / send (no store)", medians["campaign"] / medians["send"], "x"),
    ] + ([
        Figure(name, "PostgreSQL: alphasms send --to-file, a store", medians["pg tracked"], "s", listed("pg tracked")),
        Figure(name, "PostgreSQL: campaign create + run", medians["pg campaign"], "s", listed("pg campaign")),
        Figure(name, "PostgreSQL: ratio campaign / send", medians["pg campaign"] / medians["pg tracked"], "x",
               "the same, each with a fresh PostgreSQL database"),
        Figure(name, "ratio campaign PostgreSQL / SQLite", medians["pg campaign"] / medians["campaign"], "x"),
    ] if times["pg campaign"] else [Figure(name, "PostgreSQL", 0, "-", "skipped: no PostgreSQL server binaries "
                                                                      "(apt-get install postgresql)")])
