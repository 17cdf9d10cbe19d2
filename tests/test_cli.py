"""The ``alphasms`` console script in a subprocess, against the sandbox."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import clean_env

from alphasms_notify.sandbox import Sandbox

ALPHASMS = str(Path(sys.executable).parent / "alphasms")


@pytest.fixture
def run(alphasms_sandbox, tmp_path):
    base_env = {k: v for k, v in os.environ.items() if not k.startswith("ALPHASMS")}
    base_env.update(ALPHASMS_API_URL=alphasms_sandbox.api_url, ALPHASMS_API_KEY=alphasms_sandbox.key,
                    ALPHASMS_SMS_SENDER="Shop", ALPHASMS_VIBER_SENDER="ShopViber",
                    ALPHASMS_NOTIFY_LOAD_PLUGINS="")

    def run(*args, env=None, check=None):
        result = subprocess.run([ALPHASMS, *args], capture_output=True, text=True, timeout=60,
                                env={**base_env, **(env or {})}, cwd=tmp_path)
        if check is not None:
            assert result.returncode == check, (result.stdout, result.stderr)
        return result

    return run


def test_send_sms_then_status_moves_on(run):
    with Sandbox(step=4.0) as slow:  # slower than a CLI start (also on a loaded machine): an early stage is seen
        env = {"ALPHASMS_API_URL": slow.api_url}
        sent = run("--json", "send", "--to", "+380 97 123 45 67", "Hello", env=env, check=0)
        [row] = json.loads(sent.stdout)["results"]
        assert row["ok"] and row["phone"] == 380971234567 and row["result"]["parts"] == 1
        first = run("status", str(row["id"]), env=env, check=0).stdout
        time.sleep(8.5)  # two stages of 4 s: delivered by now, whatever stage "first" saw
        later = run("status", str(row["id"]), env=env, check=0).stdout
    assert first.strip() in (f"{row['id']}: QUEUED (sms)", f"{row['id']}: ROUTING (sms)")
    assert later.strip() == f"{row['id']}: DELIVERED (sms)"


def test_human_output_and_parts_shown_before_sending(run):
    result = run("send", "--to", "0971234567", "--to", "0501234567", "Привіт, це тест", check=0)
    assert "2 recipients, SMS 1 part (UCS-2, 15 units)" in result.stderr
    assert result.stdout.count("sent 380") == 2


def test_viber_types_follow_the_options(run, alphasms_sandbox):
    run("send", "--channel", "viber", "--to", "0971234567", "--image", "https://e.com/i.png", check=0)
    run("send", "--channel", "viber", "--to", "0971234567", "--link", "https://e.com", "--button", "Go", "Hi",
        check=0)
    run("send", "--channel", "viber+sms", "--to", "0971234567", "--sms-text", "SMS", "Viber", check=0)
    items = [m["item"] for m in alphasms_sandbox.messages()]
    assert [i["viber_type"] for i in items] == ["image", "text+link", "text"]
    assert items[2]["type"] == "viber+sms" and items[2]["sms_message"] == "SMS"


def test_exit_1_when_an_item_fails_with_the_server_text(run, alphasms_sandbox):
    result = run("--json", "send", "--to", "0971234567", "--sender", "Шоп", "Hi", check=1)
    [row] = json.loads(result.stdout)["results"]
    assert row == {"type": "sms", "ok": False, "state": "failed", "id": row["id"], "phone": 380971234567,
                   "error": "Error in sms alphaname"}
    human = run("send", "--to", "0971234567", "--sender", "Шоп", "Hi", check=1)
    assert "FAILED 380971234567: Error in sms alphaname" in human.stderr


@pytest.mark.parametrize("args, needle", [
    (["send", "--to", "12", "Hi"], "phone: '12' is not a valid phone number"),
    (["send", "--to", "0971234567", "  "], "SMS text is empty"),
    (["send", "--to", "0971234567", "--channel", "viber", "--link", "https://e.com", "Hi"], "a link needs a button"),
    (["send", "--to", "0971234567", "--image", "https://e.com/i.png", "Hi"], "--image is not used by the sms channel"),
    (["send", "--to", "0971234567", "--to", "0971234568", "--id", "5", "Hi"], "--id can only be used with one"),
    (["status", "abc"], "Invalid value"),
    (["frobnicate"], "No such command"),
])
def test_exit_2_for_invalid_input_and_nothing_sent(run, alphasms_sandbox, args, needle):
    result = run(*args, check=2)
    assert needle in result.stderr
    assert alphasms_sandbox.requests() == []


def test_exit_3_for_access_denied_and_unreachable(run):
    denied = run("balance", env={"ALPHASMS_API_KEY": "wrong"}, check=3)
    assert "Access denied" in denied.stderr and "wrong" not in denied.stderr
    # the reason once: no "FAILED : not sent" line for a read, which has no phone and sends nothing
    assert denied.stderr.splitlines() == ["Error: AlphaSMS refused the request: Access denied"]
    as_json = run("--json", "balance", env={"ALPHASMS_API_KEY": "wrong"}, check=3)
    assert json.loads(as_json.stdout)["ok"] is False and json.loads(as_json.stdout)["results"][0]["state"]
    down = run("balance", env={"ALPHASMS_API_URL": "http://127.0.0.1:9/api/json.php"}, check=3)
    assert "could not reach AlphaSMS" in down.stderr


def test_balance_hlr_json(run):
    balance = json.loads(run("--json", "balance", check=0).stdout)
    assert balance["results"][0]["result"] == {"amount": "100000.0", "currency": "UAH"}
    hlr = run("hlr", "0971111111", check=0).stdout
    assert "Kyivstar, ported to Vodafone Ukraine (fka MTS)" in hlr


def test_config_file_and_env_precedence(run, alphasms_sandbox, tmp_path):
    config = tmp_path / "alphasms.toml"
    config.write_text(f'[alphasms]\napi_key = "wrong"\napi_url = "{alphasms_sandbox.api_url}"\n'
                      'sms_sender = "FromFile"\nbatch_size = 10\n')
    run("--config", str(config), "send", "--to", "0971234567", "Hi",
        env={"ALPHASMS_SMS_SENDER": ""}, check=0)  # env key wins over the file's wrong key
    assert alphasms_sandbox.messages()[0]["item"]["sms_signature"] == "FromFile"
    result = run("--config", str(config), "balance", env={"ALPHASMS_API_KEY": ""}, check=3)
    assert "Access denied" in result.stderr


@pytest.mark.parametrize("text, needle", [
    ("[alphasms]\nbatch_size = 0\n", "[alphasms] batch_size: expected int >= 1"),
    ("[alphasms]\nbogus = 1\n", "unknown key 'bogus'"),
    ("[alphasms\n", "is not valid TOML"),
])
def test_bad_config_is_exit_2(run, tmp_path, text, needle):
    config = tmp_path / "bad.toml"
    config.write_text(text)
    assert needle in run("--config", str(config), "balance", check=2).stderr


def test_missing_key_is_exit_2(run):
    assert "no API key" in run("balance", env={"ALPHASMS_API_KEY": ""}, check=2).stderr


def test_example_config_documents_every_key():
    from alphasms_notify.settings import Settings

    text = (Path(__file__).parent.parent / "alphasms_notify" / "config.example.toml").read_text()
    for section in Settings.__struct_fields__:
        if section == "source":
            continue
        assert f"[{section}]" in text, section
        for key in getattr(Settings(), section).__struct_fields__:
            assert f"{key} =" in text, f"[{section}] {key}"


def test_send_with_a_store_tracks_for_the_bot(run, alphasms_sandbox, tmp_path):
    from alphasms_notify.store import Store

    config = tmp_path / "tracked.toml"
    config.write_text(f'[store]\npath = "{tmp_path / "t.sqlite3"}"\n')
    sent = run("--config", str(config), "--json", "send", "--channel", "viber", "--to", "0971234567",
               "--to", "0500000001", "Hi", check=0)
    ids = [row["id"] for row in json.loads(sent.stdout)["results"]]
    store = Store(tmp_path / "t.sqlite3")
    tracked = {m.id: m for m in store.messages.active()}
    assert sorted(tracked) == sorted(ids)
    assert all(m.source == "cli" and m.chat_id is None and m.type == "viber" for m in tracked.values())


def test_the_cli_imports_httpx_without_httpx_own_command_line():
    code = ("import sys\nfrom alphasms_notify.cli.app import _without_httpx_cli as lean\nlean()\n"
            "assert 'httpx' not in sys.modules  # not loaded for a command that does not use it\n"
            "import httpx\nassert 'rich' not in sys.modules and 'pygments' not in sys.modules\n"
            "print(httpx.Client is not None)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                            env=clean_env())
    assert result.returncode == 0 and result.stdout.strip() == "True", result.stderr


def test_every_command_prints_one_json_envelope(run, tmp_path):
    store = {"ALPHASMS_STORE_PATH": str(tmp_path / "s.sqlite3")}
    for args in (("balance",), ("hlr", "0971234567"), ("plugins",), ("store", "status"), ("contacts", "list"),
                 ("verify", "check", "0971234567", "123456")):
        done = run("--json", *args, env=store)
        document = json.loads(done.stdout)
        assert set(document) >= {"ok", "results"} and isinstance(document["results"], list), (args, document)
