"""A small-N run of every benchmark, so they don't rot. Figures are printed, never asserted as timings."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parent.parent


def test_every_benchmark_runs_and_prints_its_figures():
    result = subprocess.run([sys.executable, "-m", "benchmarks", "--smoke"], capture_output=True, text=True,
                            timeout=300, cwd=ROOT)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    figures = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    names = {(f["benchmark"].split(" ")[0], f["figure"]) for f in figures}
    for expected in [("send", "ratio a/b"), ("send", "ratio a/c"), ("send", "requests (a)"),
                     ("Apprise", "requests"), ("status", "requests"), ("forward", "95th percentile latency"),
                     ("start-up", "alphasms import hook (-X importtime)"), ("start-up", "alphasms --help")]:
        assert expected in names, expected
    by_name = {(f["benchmark"], f["figure"]): f["value"] for f in figures}
    # counts, not timings: batching must hold even at small N
    assert by_name[("send 300 SMS", "requests (a)")] == 3
    assert by_name[("Apprise notify to 150 targets", "requests")] == 2
    assert by_name[("status poll of 250 tracked Viber messages", "requests")] == 3
    assert by_name[("forward 5 Viber replies (poll_interval 0.3 s)", "forwarded")] == 5
    shared = "one status cycle over 500 tracked messages, shared by bot instances"
    assert by_name[(shared, "SQLite, 1 instance: ids polled twice")] == 0
    if (shared, "PostgreSQL, 2 instances: ids polled twice") in by_name:  # when PostgreSQL is installed
        assert by_name[(shared, "PostgreSQL, 2 instances: ids polled twice")] == 0
        assert by_name[(shared, "PostgreSQL, 2 instances: requests")] == 5
    bulk = "alphasms send --to-file with 300 recipients, whole process, vs a bare request loop"
    assert (bulk, "ratio cli / floor") in by_name


def test_run_py_works_as_a_script_too():
    result = subprocess.run([sys.executable, "benchmarks/run.py", "--help"], capture_output=True, text=True,
                            timeout=60, cwd=ROOT)
    assert result.returncode == 0 and "--smoke" in result.stdout
