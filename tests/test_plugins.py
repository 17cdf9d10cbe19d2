"""The plugin core: loading from entry points and folders, hooks firing, failures contained."""

from __future__ import annotations

import inspect
import json
import logging
import os
import re
import subprocess
import sys
import textwrap
from datetime import UTC
from pathlib import Path

import pytest

from alphasms_notify import AlphaSMS, AsyncAlphaSMS, MessageRejected, Sms, hookimpl, hookspecs
from alphasms_notify.plugins import DEFAULT_PLUGINS, call_hook, make_plugin_manager

ROOT = Path(__file__).parent.parent
ALPHASMS = str(Path(sys.executable).parent / "alphasms")


def run_cli(sandbox, *args, env=None, cwd=None):
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("ALPHASMS")}
    full_env.update(ALPHASMS_API_URL=sandbox.api_url, ALPHASMS_API_KEY=sandbox.key, ALPHASMS_SMS_SENDER="Shop")
    full_env.update(env or {})
    return subprocess.run([ALPHASMS, *args], capture_output=True, text=True, timeout=60, env=full_env, cwd=cwd)


def make_dist(site: Path, name: str, module_source: str, version: str = "1.2.3") -> None:
    """An installed distribution, as pip leaves it: a module plus .dist-info with an entry point."""
    (site / f"{name}.py").write_text(textwrap.dedent(module_source))
    info = site / f"{name}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    (info / "entry_points.txt").write_text(f"[alphasms_notify]\n{name} = {name}\n")


COUNTER_PLUGIN = '''
import json, os
from alphasms_notify import hookimpl

@hookimpl
def alphasms_message_sent(message, result):
    with open(os.environ["COUNTER_FILE"], "a") as fh:
        fh.write(json.dumps({"phone": message.phone, "ok": result.ok}) + "\\n")
'''


def test_hooks_are_all_documented():
    docs = (ROOT / "docs" / "plugins.md").read_text()
    hooks = [name for name, _ in inspect.getmembers(hookspecs, inspect.isfunction) if name.startswith("alphasms_")]
    assert len(hooks) == 12
    for name in hooks:
        params = ", ".join(inspect.signature(getattr(hookspecs, name)).parameters)
        assert f"### {name}({params})" in docs, f"{name} is not documented in docs/plugins.md"
        section = docs.split(f"### {name}(")[1].split("\n### ")[0]
        assert "```python" in section and f"def {name}" in section, f"{name} has no example"


def test_entry_point_package_is_listed_and_called_for_each_item(alphasms_sandbox, tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    make_dist(site, "sms_counter", COUNTER_PLUGIN)
    env = {"PYTHONPATH": str(site), "COUNTER_FILE": str(tmp_path / "count.jsonl")}
    listed = run_cli(alphasms_sandbox, "plugins", "--json", env=env)
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout)["results"] == [{"name": "sms_counter", "hooks": ["alphasms_message_sent"],
                                          "version": "1.2.3", "package": "sms_counter"}]
    sent = run_cli(alphasms_sandbox, "send", "--to", "0971234567", "--to", "0501234567", "--sender", "Шоп", "x",
                   env=env)
    assert sent.returncode == 1  # the sandbox refuses the Cyrillic alpha-name: each item still reported
    rows = [json.loads(line) for line in (tmp_path / "count.jsonl").read_text().splitlines()]
    assert rows == [{"phone": 380971234567, "ok": False}, {"phone": 380501234567, "ok": False}]


def test_load_plugins_env_selects_external_plugins(alphasms_sandbox, tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    make_dist(site, "sms_counter", COUNTER_PLUGIN)
    only_other = run_cli(alphasms_sandbox, "plugins", "--json", env={"PYTHONPATH": str(site),
                                                                     "ALPHASMS_NOTIFY_LOAD_PLUGINS": "other"})
    assert json.loads(only_other.stdout) == {"ok": True, "results": []}
    with_all = run_cli(alphasms_sandbox, "plugins", "--all", "--json",
                       env={"PYTHONPATH": str(site), "ALPHASMS_NOTIFY_LOAD_PLUGINS": ""})
    names = [row["name"] for row in json.loads(with_all.stdout)["results"]]
    assert names == sorted(DEFAULT_PLUGINS)  # the built-in defaults always load


def test_rejecting_plugin_stops_that_message_with_its_text_and_exit_1(alphasms_sandbox, tmp_path):
    (tmp_path / "blocklist.py").write_text(textwrap.dedent('''
        from alphasms_notify import hookimpl, MessageRejected

        @hookimpl
        def alphasms_prepare_message(message):
            if message.phone == "0501234567":
                raise MessageRejected("number is on the blocklist")
    '''))
    result = run_cli(alphasms_sandbox, "--plugins-dir", str(tmp_path), "send", "--to", "0971234567",
                     "--to", "0501234567", "Hello")
    assert result.returncode == 1
    assert "FAILED 0501234567: rejected: number is on the blocklist" in result.stderr
    assert [m["phone"] for m in alphasms_sandbox.messages()] == [380971234567]


def test_broken_and_misspelled_plugins_are_reported_and_left_out(alphasms_sandbox, tmp_path):
    (tmp_path / "broken.py").write_text("import not_a_module_anywhere\n")
    (tmp_path / "typo.py").write_text(textwrap.dedent('''
        from alphasms_notify import hookimpl

        @hookimpl
        def alphasms_message_send(message, result):
            pass
    '''))
    result = run_cli(alphasms_sandbox, "--plugins-dir", str(tmp_path), "send", "--to", "0971234567", "Hi")
    assert result.returncode == 0, result.stderr
    assert "warning: plugin broken not loaded: failed to import" in result.stderr
    assert "ModuleNotFoundError" in result.stderr
    assert "warning: plugin typo not loaded: implements unknown hook(s): alphasms_message_send" in result.stderr


def test_config_plugins_dir_adds_cli_commands(alphasms_sandbox, tmp_path):
    config = tmp_path / "c.toml"
    config.write_text(f'[plugins]\ndir = "{ROOT / "plugins"}"\n')
    result = run_cli(alphasms_sandbox, "--config", str(config), "--help")
    assert "send-template" in result.stdout


class Recorder:
    def __init__(self):
        self.events = []

    @hookimpl
    def alphasms_prepare_message(self, message):
        message.text = message.text.upper()

    @hookimpl
    async def alphasms_message_sent(self, message, result):
        self.events.append((message.phone, message.text, result.ok))


class Exploding:
    @hookimpl
    def alphasms_message_sent(self, message, result):
        raise RuntimeError("plugin bug")


def manager(*plugins):
    pm = make_plugin_manager(defaults=())
    for i, plugin in enumerate(plugins):
        pm.register(plugin, name=f"p{i}")
    return pm


def test_sync_and_async_hooks_in_the_sync_client(alphasms_sandbox, caplog):
    recorder = Recorder()
    pm = manager(recorder, Exploding())
    with AlphaSMS(alphasms_sandbox.key, alphasms_sandbox.api_url, sms_sender="Shop", plugins=pm) as sms:
        sms.send([Sms("0971234567", "hi"), Sms("0501234567", "yo")])
    assert recorder.events == [(380971234567, "HI", True), (380501234567, "YO", True)]
    assert "plugin p1 failed in alphasms_message_sent: RuntimeError: plugin bug" in caplog.text
    assert [m["item"]["sms_message"] for m in alphasms_sandbox.messages()] == ["HI", "YO"]


async def test_hooks_in_the_async_client(alphasms_sandbox):
    recorder = Recorder()
    async with AsyncAlphaSMS(alphasms_sandbox.key, alphasms_sandbox.api_url, sms_sender="Shop",
                             plugins=manager(recorder)) as sms:
        await sms.send([Sms("0971234567", "hi")])
    assert recorder.events == [(380971234567, "HI", True)]


def test_message_rejected_propagates_from_call_hook():
    class Rejecting:
        @hookimpl
        def alphasms_prepare_message(self, message):
            raise MessageRejected("no")

    with pytest.raises(MessageRejected, match="no"):
        call_hook(manager(Rejecting()), "alphasms_prepare_message", message=Sms("0971234567", "x"))


def test_audit_log_plugin_writes_every_event(alphasms_sandbox, tmp_path):
    log_file = tmp_path / "audit.jsonl"
    result = run_cli(alphasms_sandbox, "--plugins-dir", str(ROOT / "plugins"), "send", "--to", "0971234567",
                     "--to", "0500000001", "Hi", env={"ALPHASMS_AUDIT_LOG": str(log_file)})
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in log_file.read_text().splitlines()]
    assert [(e["event"], e["phone"], e["ok"], e["parts"]) for e in events] == [
        ("sent", 380971234567, True, 1), ("sent", 380500000001, True, 1)]
    assert all(re.match(r"\d{4}-\d\d-\d\dT", e["at"]) for e in events)
    assert alphasms_sandbox.key not in log_file.read_text()


def test_audit_log_records_status_changes_and_replies(tmp_path, monkeypatch):
    from datetime import datetime

    from alphasms_notify import MessageStatus, Reply, StatusResult
    from alphasms_notify.results import Media

    monkeypatch.setenv("ALPHASMS_AUDIT_LOG", str(tmp_path / "a.jsonl"))
    pm = make_plugin_manager(ROOT / "plugins", defaults=())
    status = StatusResult(7, "viber", MessageStatus.READ)
    call_hook(pm, "alphasms_status_changed", message_id=7, old=MessageStatus.DELIVERED, new=MessageStatus.READ,
              status=status)
    reply = Reply(datetime(2026, 1, 1, tzinfo=UTC), "yes", Media("http://x/y", "a.pdf", 3))
    call_hook(pm, "alphasms_reply_received", message_id=7, reply=reply)
    events = [json.loads(line) for line in (tmp_path / "a.jsonl").read_text().splitlines()]
    assert [e["event"] for e in events] == ["status", "reply"]
    assert (events[0]["old"], events[0]["new"]) == ("DELIVERED", "READ")
    assert events[1]["message"] == "yes" and events[1]["media"]["filename"] == "a.pdf"


def test_templates_plugin_sends_one_message_per_csv_row(alphasms_sandbox, tmp_path):
    people = tmp_path / "people.csv"
    people.write_text("phone,name,order\n0971234567,Оксана,A-17\n+380 50 123 45 67,Taras,B-2\n0631234567,,C-3\n")
    result = run_cli(alphasms_sandbox, "send-template", "--csv", str(people), "Hi {name}, order {order} is ready")
    # the third row has no name: nothing goes (sending the others would make a rerun send them twice)
    assert result.returncode == 2
    assert f"{people}: line 4 (0631234567): template field(s) name have no value; nothing was sent" in result.stderr
    assert alphasms_sandbox.messages() == []
    people.write_text("phone,name,order\n0971234567,Оксана,A-17\n+380 50 123 45 67,Taras,B-2\n")
    assert run_cli(alphasms_sandbox, "send-template", "--csv", str(people), "Hi {name}, order {order} is ready"
                   ).returncode == 0
    texts = {m["phone"]: m["item"]["sms_message"] for m in alphasms_sandbox.messages()}
    assert texts == {380971234567: "Hi Оксана, order A-17 is ready", 380501234567: "Hi Taras, order B-2 is ready"}


def test_templates_plugin_fills_meta_fields_for_library_use(alphasms_sandbox):
    pm = make_plugin_manager(defaults=("alphasms_notify.default_plugins.templates",))
    with AlphaSMS(alphasms_sandbox.key, alphasms_sandbox.api_url, sms_sender="Shop", plugins=pm) as sms:
        [outcome] = sms.send(Sms("0971234567", "Code {code}", meta={"fields": {"code": 4242}}))
    assert outcome.ok and alphasms_sandbox.messages()[0]["item"]["sms_message"] == "Code 4242"


class BrokenPreparer:
    @hookimpl
    def alphasms_prepare_message(self, message):
        if message.phone == "0501234567":
            raise KeyError("half-way through")
        message.text += " [prepared]"


def test_a_plugin_that_fails_to_prepare_a_message_stops_it_and_only_it(alphasms_sandbox):
    with AlphaSMS(alphasms_sandbox.key, alphasms_sandbox.api_url, sms_sender="Shop",
                  plugins=manager(BrokenPreparer())) as sms:
        good, bad = sms.send([Sms("0971234567", "x"), Sms("0501234567", "y")])
    assert good.ok and not bad.ok
    assert bad.error == "rejected: plugin p0 failed: KeyError: 'half-way through'"
    assert [m["item"]["sms_message"] for m in alphasms_sandbox.messages()] == ["x [prepared]"]


def test_plugin_failures_do_not_break_sending(alphasms_sandbox, caplog):
    caplog.set_level(logging.ERROR)
    with AlphaSMS(alphasms_sandbox.key, alphasms_sandbox.api_url, sms_sender="Shop",
                  plugins=manager(Exploding())) as sms:
        assert sms.send(Sms("0971234567", "x"))[0].ok
