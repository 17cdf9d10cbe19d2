"""One road for every message: each front end loads the same plugins folder and tracks into the same store.

The plugins folder is set only through ``ALPHASMS_NOTIFY_PLUGINS_DIR`` and the
store only through ``ALPHASMS_STORE_PATH``; a message goes out through each
front end (``alphasms send``, ``alphasms send-template``, the real ``apprise``
CLI, a bot ``/send``), and the folder plugin must see ``alphasms_prepare_message``
and ``alphasms_message_sent`` for each, and the store must track each.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from helpers import texts, until

from alphasms_notify.bot import build_application, running
from alphasms_notify.sandbox.telegram import TelegramStandIn
from alphasms_notify.settings import load_settings
from alphasms_notify.store import Store

ROOT = Path(__file__).parent.parent
BIN = Path(sys.executable).parent
OPERATOR = 4242

RECORDER = '''
import json, os
from alphasms_notify import hookimpl

def _log(event):
    with open(os.environ["ROAD_RECORD"], "a", encoding="utf-8") as fh:
        fh.write(json.dumps(event) + "\\n")

@hookimpl
def alphasms_prepare_message(message):
    _log({"hook": "prepare", "phone": str(message.phone), "source": message.meta.get("source")})

@hookimpl
def alphasms_message_sent(message, result):
    _log({"hook": "sent", "phone": message.phone, "id": message.id, "ok": result.ok,
          "source": message.meta.get("source")})
'''


async def test_every_front_end_loads_the_folder_plugins_and_tracks(alphasms_sandbox, tmp_path, monkeypatch):
    folder = tmp_path / "plugins"
    folder.mkdir()
    (folder / "road.py").write_text(RECORDER)
    record, store_path = tmp_path / "record.jsonl", tmp_path / "store.sqlite3"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ALPHASMS", "APPRISE", "TELEGRAM"))}
    env.update(ALPHASMS_NOTIFY_PLUGINS_DIR=str(folder), ALPHASMS_STORE_PATH=str(store_path),
               ALPHASMS_API_URL=alphasms_sandbox.api_url, ALPHASMS_API_KEY=alphasms_sandbox.key,
               ALPHASMS_SMS_SENDER="Shop", ROAD_RECORD=str(record), HOME=str(tmp_path))

    def run(*args):
        result = subprocess.run(args, capture_output=True, text=True, timeout=60, env=env, cwd=tmp_path)
        assert result.returncode == 0, (args, result.stdout, result.stderr)

    run(str(BIN / "alphasms"), "send", "--to", "0971234567", "From the CLI")
    (tmp_path / "people.csv").write_text("phone,name\n0501234567,Olena\n")
    run(str(BIN / "alphasms"), "send-template", "--csv", str(tmp_path / "people.csv"), "Hi {name}")
    run(str(BIN / "apprise"), "-b", "From Apprise",
        f"alphasms://{alphasms_sandbox.key}@Shop/0631234567?endpoint={alphasms_sandbox.api_url}")

    with TelegramStandIn() as telegram:
        config = tmp_path / "bot.toml"
        config.write_text(f'[telegram]\ntoken = "{telegram.token}"\napi_url = "{telegram.api_url}"\n'
                          f"operators = [{OPERATOR}]\npoll_interval = 0.3\n")
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        monkeypatch.setenv("ALPHASMS_CONFIG", str(config))
        async with running(build_application(load_settings())):
            telegram.send(OPERATOR, "/send 0671234567 From the bot")
            await until(lambda: texts(telegram, OPERATOR, "Sent 1 of 1"), timeout=10.0)

    events = [json.loads(line) for line in record.read_text().splitlines()]
    sources = {"380971234567": "cli", "380501234567": "template", "380631234567": "apprise", "380671234567": "bot"}
    assert sorted(str(e["phone"]) for e in events if e["hook"] == "sent") == sorted(sources)
    assert all(e["ok"] for e in events if e["hook"] == "sent")
    for source in sources.values():
        prepared = [e for e in events if e["hook"] == "prepare" and e["source"] == source]
        assert len(prepared) == 1, (source, events)
    sent = {str(e["phone"]): e for e in events if e["hook"] == "sent"}
    store = Store(store_path)
    try:
        for phone, source in sources.items():
            tracked = store.messages.get(sent[phone]["id"])
            assert tracked is not None and tracked.source == source and str(tracked.phone) == phone
        assert store.messages.get(sent["380671234567"]["id"]).chat_id == OPERATOR  # the bot's replies come back here
    finally:
        store.close()
    assert [m["phone"] for m in alphasms_sandbox.messages()] == [int(p) for p in sources]
