"""Run every benchmark: ``python -m benchmarks`` (or ``python benchmarks/run.py``).

Prints a table per benchmark and one JSON line per figure. ``--smoke`` runs
each with a tiny N so the tests can check the benchmarks still work; its
figures mean nothing.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make "benchmarks" importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from benchmarks import (  # noqa: E402
    bench_apprise,
    bench_campaign,
    bench_cli_bulk,
    bench_inbox,
    bench_poll,
    bench_replies,
    bench_send,
    bench_shared,
    bench_startup,
)
from benchmarks.common import Figure  # noqa: E402

FULL = {
    "send": lambda: bench_send.run(20_000),
    "apprise": lambda: bench_apprise.run(1000),
    "poll": lambda: bench_poll.run(10_000),
    "replies": lambda: bench_replies.run(200, poll=1.0, spread=10.0),
    "startup": lambda: bench_startup.run(30),
    "inbox": lambda: bench_inbox.run(10_000),
    "shared": lambda: bench_shared.run(100_000),
    "cli-bulk": lambda: bench_cli_bulk.run(10_000),
    "campaign": lambda: bench_campaign.run(100_000),
}
SMOKE = {
    "send": lambda: bench_send.run(300, rounds=2),
    "apprise": lambda: bench_apprise.run(150),
    "poll": lambda: bench_poll.run(250),
    "replies": lambda: bench_replies.run(5, poll=0.3, spread=0.5),
    "startup": lambda: bench_startup.run(1),
    "inbox": lambda: bench_inbox.run(300),
    "shared": lambda: bench_shared.run(500, rounds=1),
    "cli-bulk": lambda: bench_cli_bulk.run(300, rounds=1, warm=False),
    "campaign": lambda: bench_campaign.run(300, rounds=1, warm=False),
}


def machine() -> str:
    return (f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
            f", {platform.processor() or 'cpu'}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--smoke", action="store_true", help="tiny N, only to check the benchmarks run")
    parser.add_argument("--latency", type=float, default=0.0, metavar="MS",
                        help="cli-bulk and shared: the sandbox answers after this many milliseconds (a distant "
                             "provider)")
    parser.add_argument("only", nargs="*", choices=[[], *FULL], help="run only these")
    args = parser.parse_args(argv)
    console = Console()
    console.print(f"machine: {machine()}")
    plan = dict(SMOKE if args.smoke else FULL)
    if args.latency:
        n, rounds = (300, 1) if args.smoke else (10_000, 5)
        plan["cli-bulk"] = lambda: bench_cli_bulk.run(n, rounds=rounds, latency_ms=args.latency, warm=not args.smoke)
        tracked, cycles = (500, 1) if args.smoke else (100_000, 3)
        plan["shared"] = lambda: bench_shared.run(tracked, rounds=cycles, latency_ms=args.latency)
    figures: list[Figure] = []
    for name, bench in plan.items():
        if args.only and name not in args.only:
            continue
        results = bench()
        figures += results
        table = Table(title=results[0].benchmark)
        for column in ("figure", "value", "unit", "note"):
            table.add_column(column)
        for f in results:
            table.add_row(f.name, f"{f.value:,.3f}" if f.value < 100 else f"{f.value:,.0f}", f.unit, f.note)
        console.print(table)
    for f in figures:
        print(f.json_line(), flush=True)


if __name__ == "__main__":
    main()
