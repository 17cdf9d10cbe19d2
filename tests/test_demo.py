"""``alphasms demo``, the README's main job, as a user runs it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ALPHASMS = str(Path(sys.executable).parent / "alphasms")
ENV = {**{k: v for k, v in os.environ.items() if not k.startswith(("ALPHASMS", "TELEGRAM"))}, "COLUMNS": "120"}


def test_demo_plays_every_step_and_exits_0():
    result = subprocess.run([ALPHASMS, "demo"], capture_output=True, text=True, timeout=120, env=ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "9 of 9 steps happened" in out
    for needle in ("💰 Balance", "Ported to", "Sent 2 of 2", "viber [text+image+link]", "DELIVERED (sms)",
                   "Дякую! А розмір M є?", "наявності", "🧵 +380 97 123 45 67 │ 👤", "srv1"):
        assert needle in out, needle


def test_demo_exits_1_when_a_step_does_not_happen_in_time():
    result = subprocess.run([ALPHASMS, "demo", "--limit", "0.3"], capture_output=True, text=True, timeout=120,
                            env=ENV)
    assert result.returncode == 1
    assert "✘" in result.stdout and "timed out" in result.stdout and "of 9 steps happened" in result.stdout


def test_demo_prints_the_inbox_and_keeps_it_open_with_keep():
    import re
    import signal
    import time

    import httpx

    proc = subprocess.Popen([ALPHASMS, "demo", "--keep"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, env=ENV)
    try:
        seen = ""
        deadline = time.monotonic() + 90
        while "stays open" not in seen and time.monotonic() < deadline:
            seen += proc.stdout.readline()
        url = re.search(r"Web inbox: (http://127\.0\.0\.1:\d+/)", seen).group(1)
        assert "9 of 9 steps happened" in seen
        page = httpx.get(url, timeout=10)
        assert page.status_code == 200 and "+380" in page.text  # the demo's phones are there to look at
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
