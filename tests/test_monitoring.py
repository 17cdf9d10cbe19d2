"""The bot process serves /healthz, /readyz and /metrics: what monitoring points at.

A real ``alphasms bot`` against the sandbox and the Bot API stand-in; the
metrics are checked against what the sandbox received and by Prometheus' own
``promtool check metrics``; the store is taken away (SQLite: the file moved;
PostgreSQL: the database refusing connections) and given back.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from pathlib import Path

import httpx
import pytest
from helpers import OPERATOR, texts, wait_for
from prometheus_client.parser import text_string_to_metric_families


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _with_metrics(config: Path, extra: str = "") -> str:
    url = f"http://127.0.0.1:{_free_port()}"
    config.write_text(config.read_text() + extra + f'\n[metrics]\naddress = "{url[7:]}"\n')
    return url


def _get(url: str) -> httpx.Response:
    return httpx.get(url, timeout=10)


def _sends(body: str) -> dict[tuple[str, str], float]:
    found = {}
    for family in text_string_to_metric_families(body):
        for sample in family.samples:
            if sample.name == "alphasms_sends_total":
                found[(sample.labels["channel"], sample.labels["outcome"])] = sample.value
    return found


def _promtool(body: str) -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        if os.environ.get("ALPHASMS_REQUIRE_PROMTOOL"):
            pytest.fail("promtool is missing and CI requires it (apt-get install prometheus)")
        pytest.skip("promtool (Debian's prometheus package) is not installed: apt-get install prometheus")
    checked = subprocess.run([promtool, "check", "metrics"], input=body, capture_output=True, text=True, timeout=60)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_metrics_count_what_the_provider_received_and_readyz_follows_the_store(bot_process, bot_config, telegram,
                                                                             alphasms_sandbox, tmp_path):
    url = _with_metrics(bot_config)
    bot_process()
    assert _get(f"{url}/healthz").status_code == 200
    assert wait_for(lambda: _get(f"{url}/readyz").status_code == 200), _get(f"{url}/readyz").text
    telegram.send(OPERATOR, "/send 0971234567,0501234567 Meeting at 10")
    telegram.send(OPERATOR, "/viber 0631234567 Hello")
    telegram.send(OPERATOR, "/send 0441234567 To a landline")  # the provider refuses SMS to it
    wait_for(lambda: texts(telegram, OPERATOR, "Sent 2 of 2") and texts(telegram, OPERATOR, "Sent 1 of 1")
             and texts(telegram, OPERATOR, "0 of 1"))
    body = _get(f"{url}/metrics").text
    sends = _sends(body)
    received = alphasms_sandbox.messages()
    assert sends[("sms", "sent")] == sum(m["type"] == "sms" for m in received) == 2
    assert sends[("viber", "sent")] == sum(m["type"] == "viber" for m in received) == 1
    assert sends[("sms", "failed")] == 1
    values = {s.name: s.value for f in text_string_to_metric_families(body) for s in f.samples}
    assert values["alphasms_balance"] == float(alphasms_sandbox.balance())  # read from the provider
    assert 0 <= values["alphasms_tracked_messages"] <= 3  # the three accepted, until their final status
    assert "SECRET-BOT-TOKEN" not in body and alphasms_sandbox.key not in body
    _promtool(body)

    # the store goes away: not ready (with the reason), still alive; and back
    store = tmp_path / "bot.sqlite3"
    store.rename(tmp_path / "elsewhere.sqlite3")
    ready = _get(f"{url}/readyz")
    assert ready.status_code == 503 and "store: OperationalError" in ready.text, ready.text
    assert _get(f"{url}/healthz").status_code == 200
    (tmp_path / "elsewhere.sqlite3").rename(store)
    assert _get(f"{url}/readyz").status_code == 200


def test_readyz_shows_a_postgresql_outage_and_its_end(bot_process, bot_config, telegram, postgres_server):
    from alphasms_notify.sandbox.postgres import PASSWORD

    store_url = postgres_server.new_database()
    database = store_url.rsplit("/", 1)[1]
    url = _with_metrics(bot_config)
    bot_config.write_text(bot_config.read_text().replace(f'path = "{bot_config.parent / "bot.sqlite3"}"',
                                                         f'url = "{store_url}"'))
    bot_process()
    assert wait_for(lambda: _get(f"{url}/readyz").status_code == 200), _get(f"{url}/readyz").text
    with postgres_server.admin() as conn:
        conn.execute(f"ALTER DATABASE {database} ALLOW_CONNECTIONS false")
        conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (database,))
    try:
        ready = wait_for(lambda: (r := _get(f"{url}/readyz")).status_code == 503 and r, timeout=30)
        assert "store: " in ready.text and PASSWORD not in ready.text, ready.text
        assert _get(f"{url}/healthz").status_code == 200  # alive: a restart would not bring the database back
    finally:
        with postgres_server.admin() as conn:
            conn.execute(f"ALTER DATABASE {database} ALLOW_CONNECTIONS true")
    assert wait_for(lambda: _get(f"{url}/readyz").status_code == 200, timeout=30), _get(f"{url}/readyz").text


def test_json_logs_are_one_object_a_line_with_the_secrets_masked(bot_process, telegram, alphasms_sandbox):
    import json

    proc = bot_process(args=("--log-format", "json"))
    telegram.send(OPERATOR, "/balance")
    wait_for(lambda: texts(telegram, OPERATOR, "Balance"))
    proc.terminate()
    proc.wait(timeout=30)
    lines = Path(proc.log_path).read_text().splitlines()
    entries = [json.loads(line) for line in lines]  # every line is one JSON object
    assert any(e["message"].startswith("bot starting") and e["level"] == "info" for e in entries)
    assert all({"time", "level", "logger", "message"} <= set(e) for e in entries)
    text = "\n".join(lines)
    assert telegram.token not in text and alphasms_sandbox.key not in text
