"""``alphasms bot --config FILE`` as a real process: the issue's acceptance run, secrets, SIGTERM, SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from conftest import PROCESS_POLL
from helpers import ALPHASMS, OPERATOR, STRANGER, report, texts, wait_for

POLL = PROCESS_POLL


@pytest.fixture
def bot(bot_process):
    return bot_process


def test_acceptance_balance_refusal_viber_and_one_forwarded_reply(bot, telegram, alphasms_sandbox):
    proc = bot()
    telegram.send(OPERATOR, "/balance")
    assert wait_for(lambda: texts(telegram, OPERATOR, "Balance")) == ["💰 Balance: 100000.0 UAH"]
    requests_before = len(alphasms_sandbox.requests())
    telegram.send(STRANGER, "/balance")
    assert "Your Telegram user id is 222" in wait_for(lambda: texts(telegram, STRANGER))[0]
    time.sleep(0.3)
    assert len(alphasms_sandbox.requests()) == requests_before  # the stranger reached no provider call
    telegram.send(OPERATOR, "/viber 380971234567 Hello")
    wait_for(lambda: texts(telegram, OPERATOR, "Sent 1 of 1"))
    [message] = alphasms_sandbox.messages()
    assert message["item"]["viber_message"] == "Hello"
    posted = time.monotonic()
    alphasms_sandbox.reply(message["id"], "Hi back")
    wait_for(lambda: texts(telegram, OPERATOR, "Hi back"))
    took = time.monotonic() - posted
    print(f"reply forwarded {took:.2f} s after it was posted (poll_interval {POLL} s)")
    assert took < POLL + 2
    time.sleep(POLL * 4)
    assert len(texts(telegram, OPERATOR, "Hi back")) == 1
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=20) == 0  # a clean stop
    log = Path(proc.log_path).read_text()
    assert "refused 222" in log
    assert telegram.token not in log and alphasms_sandbox.key not in log


def test_sigkill_with_replies_pending_then_restart_forwards_each_once(bot, telegram, alphasms_sandbox):
    proc = bot()
    telegram.send(OPERATOR, "/viber 380971234567,380501234567 Questions?")
    wait_for(lambda: texts(telegram, OPERATOR, "Sent 2 of 2"))
    ids = [m["id"] for m in alphasms_sandbox.messages()]
    telegram.fault("sendMessage", status=502, count=1000)  # Telegram is down: replies pile up
    for n in range(5):
        alphasms_sandbox.reply(ids[n % 2], f"reply {n}")
    time.sleep(POLL * 3)
    proc.kill()
    proc.wait()
    assert texts(telegram, OPERATOR, "reply ") == []
    telegram.clear_faults()  # Telegram is back
    bot()
    wait_for(lambda: len(texts(telegram, OPERATOR, "💬")) == 5, timeout=20)
    time.sleep(POLL * 4)
    forwarded = texts(telegram, OPERATOR, "💬")
    seen = [t.split("\n")[1] for t in forwarded]
    report("bot SIGKILLed with 5 replies pending (Telegram failing), restarted", messages=5,
           received=len(set(seen)), lost=5 - len(set(seen)), twice=len(seen) - len(set(seen)))
    assert sorted(t.split("\n")[1] for t in forwarded) == [f"reply {n}" for n in range(5)]


def test_webhook_mode_answers_only_with_the_secret(alphasms_sandbox, telegram, tmp_path):
    import socket

    import httpx

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = tmp_path / "hook.toml"
    config.write_text(f"""
[alphasms]
api_key = "{alphasms_sandbox.key}"
api_url = "{alphasms_sandbox.api_url}"
[telegram]
api_url = "{telegram.api_url}"
operators = [{OPERATOR}]
webhook_url = "http://127.0.0.1:{port}/alphasms/hook"
webhook_secret = "s3cret-hook"
listen = "127.0.0.1"
port = {port}
[store]
path = "{tmp_path / 'hook.sqlite3'}"
""")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ALPHASMS", "TELEGRAM"))}
    env.update(TELEGRAM_BOT_TOKEN=telegram.token, ALPHASMS_NOTIFY_LOAD_PLUGINS="")
    proc = subprocess.Popen([ALPHASMS, "--config", str(config), "bot"], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env=env)
    try:
        wait_for(lambda: telegram.info()["webhook"].get("url"), timeout=30)
        assert telegram.info()["webhook"]["url"] == f"http://127.0.0.1:{port}/alphasms/hook"
        update = {"update_id": 1, "message": {"message_id": 1, "date": int(time.time()), "text": "/balance",
                                               "chat": {"id": OPERATOR, "type": "private"},
                                               "from": {"id": OPERATOR, "is_bot": False, "first_name": "Op"},
                                               "entities": [{"type": "bot_command", "offset": 0, "length": 8}]}}
        url = f"http://127.0.0.1:{port}/alphasms/hook"
        forged = httpx.post(url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": "wrong"})
        assert forged.status_code == 403
        ok = httpx.post(url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": "s3cret-hook"})
        assert ok.status_code == 200
        assert wait_for(lambda: texts(telegram, OPERATOR, "Balance")) == ["💰 Balance: 100000.0 UAH"]
    finally:
        proc.send_signal(signal.SIGTERM)
        output = proc.communicate(timeout=20)[0]
    assert proc.returncode == 0, output
    assert "s3cret-hook" not in output and telegram.token not in output


def test_bad_config_is_a_clear_error(alphasms_sandbox, tmp_path):
    config = tmp_path / "bot.toml"
    config.write_text('[alphasms]\napi_key = "k"\n[telegram]\ntoken = "1:x"\noperators = []\n')
    result = subprocess.run([ALPHASMS, "--config", str(config), "bot"], capture_output=True, text=True, timeout=60,
                            env={k: v for k, v in os.environ.items() if not k.startswith(("ALPHASMS", "TELEGRAM"))})
    assert result.returncode == 2 and "operators is empty" in result.stderr


def test_plugins_dir_commands_reach_the_running_bot(alphasms_sandbox, telegram, tmp_path):
    (tmp_path / "plugs").mkdir()
    (tmp_path / "plugs" / "ping.py").write_text(
        "from alphasms_notify import hookimpl\n\n"
        "@hookimpl\n"
        "def alphasms_register_bot_commands(register):\n"
        "    async def ping(update, context):\n"
        "        await update.effective_message.reply_text('pong from a plugins folder')\n"
        "    register('ping', ping, 'Answer pong')\n")
    config = tmp_path / "p.toml"
    config.write_text(f'[alphasms]\napi_key = "{alphasms_sandbox.key}"\napi_url = "{alphasms_sandbox.api_url}"\n'
                      f'[telegram]\napi_url = "{telegram.api_url}"\noperators = [{OPERATOR}]\n'
                      f'[store]\npath = "{tmp_path / "p.sqlite3"}"\n[plugins]\ndir = "{tmp_path / "plugs"}"\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ALPHASMS", "TELEGRAM"))}
    env["TELEGRAM_BOT_TOKEN"] = telegram.token
    proc = subprocess.Popen([ALPHASMS, "--config", str(config), "bot"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env=env)
    try:
        wait_for(lambda: "getUpdates" in telegram.info()["calls"], timeout=30)
        telegram.send(OPERATOR, "/ping")
        assert wait_for(lambda: texts(telegram, OPERATOR, "pong")) == ["pong from a plugins folder"]
    finally:
        proc.terminate()
        proc.wait(timeout=20)
