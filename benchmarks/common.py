"""What the benchmarks share: a sandbox in its own process, figures, and how they are printed.

The sandbox runs in a separate process so that it does not share the
benchmark's interpreter (and GIL); on a 2-core machine each gets a core.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from alphasms_notify.sandbox.control import RemoteSandbox

KEY = "bench-key"


@dataclass
class Figure:
    benchmark: str
    name: str
    value: float
    unit: str
    note: str = ""

    def json_line(self) -> str:
        return json.dumps({"benchmark": self.benchmark, "figure": self.name, "value": round(self.value, 4),
                           "unit": self.unit, **({"note": self.note} if self.note else {})}, ensure_ascii=False)


class SandboxProcess(RemoteSandbox):
    """``alphasms sandbox`` on a free loopback port, in its own process; control calls as ``Sandbox``'s."""

    def __init__(self, step: float = 0.05, latency_ms: float = 0.0) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "ALPHASMS_NOTIFY_LOAD_PLUGINS": ""}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "alphasms_notify", "sandbox", "--port", "0", "--key", KEY, "--step", str(step),
             "--balance", "1000000000", "--latency", str(latency_ms)], stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True, env=env)
        line = self.proc.stdout.readline()
        if "sandbox on " not in line:
            self.proc.kill()
            raise RuntimeError(f"sandbox did not start: {line}{self.proc.stdout.read()}")
        api_url = line.split("sandbox on ", 1)[1].split()[0]
        super().__init__(api_url.rsplit("/api/", 1)[0], KEY)

    def request_count(self) -> int:
        return len(self.requests())

    def close(self) -> None:
        self.close_control()
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()

    def __enter__(self) -> SandboxProcess:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def median(values: list[float]) -> float:
    return statistics.median(values)


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]


class Timer:
    def __enter__(self) -> Timer:
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.seconds = time.perf_counter() - self.start


SERVER_ENV = "ALPHASMS_BENCH_POSTGRES"  # a PostgresServer.describe() as JSON: a running server to use


@contextmanager
def postgres_server() -> Iterator[Any]:
    """The PostgreSQL server to measure on: the one ``ALPHASMS_BENCH_POSTGRES`` describes (the tests share
    theirs), else one of our own while the block runs, else None (no server binaries installed)."""
    from alphasms_notify.sandbox.postgres import PostgresServer, server_bin

    given = os.environ.get(SERVER_ENV)
    if given:
        yield PostgresServer.attach(json.loads(given))
        return
    bindir = server_bin()
    if bindir is None:
        yield None
        return
    server = PostgresServer(bindir)
    server.start()
    try:
        yield server
    finally:
        server.stop()
