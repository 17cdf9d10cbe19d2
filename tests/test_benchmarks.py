"""A small-N run of every benchmark, so they don't rot. Figures are printed, never asserted as timings."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import clean_env

ROOT = Path(__file__).parent.parent


GROUPS = [["send", "apprise"], ["poll", "replies"], ["startup", "inbox"], ["shared"], ["cli-bulk", "campaign"]]


@pytest.mark.parametrize("group", GROUPS, ids=["+".join(g) for g in GROUPS])
def test_every_benchmark_runs_and_prints_its_figures(group, request):
    env = clean_env()  # the processes the benchmarks start import what a user's install has (no trio)
    if "shared" in group or "campaign" in group:  # the run's PostgreSQL server, instead of one more of its own
        env["ALPHASMS_BENCH_POSTGRES"] = json.dumps(request.getfixturevalue("postgres_server").describe())
    latency = ["--latency", "20"] if "shared" in group else []  # the shared cycle as with a distant provider
    result = subprocess.run([sys.executable, "-m", "benchmarks", "--smoke", *latency, *group], capture_output=True,
                            text=True, timeout=300, cwd=ROOT, env=env)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    figures = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    names = {(f["benchmark"].split(" ")[0], f["figure"]) for f in figures}
    expected = {"send": [("send", "ratio a/b"), ("send", "ratio a/c"), ("send", "requests (a)")],
                "apprise": [("Apprise", "requests")], "poll": [("status", "requests")],
                "replies": [("forward", "95th percentile latency")],
                "startup": [("start-up", "alphasms import hook (-X importtime)"), ("start-up", "alphasms --help")]}
    for name in group:
        for pair in expected.get(name, []):
            assert pair in names, pair
    by_name = {(f["benchmark"], f["figure"]): f["value"] for f in figures}
    # counts, not timings: batching must hold even at small N
    checks = {
        "send": [(("send 300 SMS", "requests (a)"), 3)],
        "apprise": [(("Apprise notify to 150 targets", "requests"), 2)],
        "poll": [(("status poll of 250 tracked Viber messages", "requests"), 3)],
        "replies": [(("forward 5 Viber replies (poll_interval 0.3 s)", "forwarded"), 5)],
    }
    for name in group:
        for key, value in checks.get(name, []):
            assert by_name[key] == value, key
    if "shared" in group:
        shared = "one status cycle over 500 tracked messages with 20 ms latency, shared by bot instances"
        assert by_name[(shared, "SQLite, 1 instance: ids polled twice")] == 0
        if (shared, "PostgreSQL, 2 instances: ids polled twice") in by_name:  # when PostgreSQL is installed
            assert by_name[(shared, "PostgreSQL, 2 instances: ids polled twice")] == 0
            assert by_name[(shared, "PostgreSQL, 1 instance: requests")] == 5
            # two instances whose first claims run at the same moment may split the 500 (the one that locks
            # first takes what it locked, the other the rest): then each ends on a partial request of its own
            assert by_name[(shared, "PostgreSQL, 2 instances: requests")] in (5, 6)
    if "cli-bulk" in group:
        bulk = "alphasms send --to-file with 300 recipients, whole process, vs a bare request loop"
        assert (bulk, "ratio cli / floor") in by_name and (bulk, "ratio cli / one-request floor") in by_name
    if "campaign" in group:
        campaign = "a campaign to 300 recipients (create + run) vs alphasms send of the same list"
        assert (campaign, "ratio campaign / send (the same store)") in by_name
        assert (campaign, "PostgreSQL: ratio campaign / send") in by_name  # .ci/run installs PostgreSQL


def test_run_py_works_as_a_script_too():
    result = subprocess.run([sys.executable, "benchmarks/run.py", "--help"], capture_output=True, text=True,
                            timeout=60, cwd=ROOT)
    assert result.returncode == 0 and "--smoke" in result.stdout
