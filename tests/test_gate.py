"""The operator gate fails closed: whatever the store does, a stranger never reaches the provider.

The gate decides who may act from the settings alone, before it asks the store
anything, and an error inside the gate stops the update. Each test breaks the
store under a running bot the way production breaks it (PostgreSQL's connections
dropped as by a restart, the database refusing connections as when the server is
down, a SQLite file locked by another process or overwritten) and then sends
``/send`` as a stranger and as an operator.
"""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
from urllib.parse import urlsplit

import pytest
from helpers import OPERATOR, STRANGER, last_text, until

from alphasms_notify.bot import running

SEND = "/send 0971234567 hi from the gate test"


async def _stranger_refused(telegram, alphasms_sandbox):
    telegram.send(STRANGER, SEND)
    refusal = await until(last_text(telegram, STRANGER, "operators only"), timeout=10)
    assert f"Your Telegram user id is {STRANGER}" in refusal
    await asyncio.sleep(0.3)  # a handler that slipped through would have reached the sandbox by now
    assert alphasms_sandbox.messages() == [], "a stranger's /send reached the provider"
    assert not [t for t in (m.get("text", "") for m in telegram.bot_messages(STRANGER)) if "Sent" in t]


async def _operator_not_run_or_run_once(telegram, alphasms_sandbox):
    """With the store failing, an operator's command is either refused (told so) or, once the store
    is back, run once: never run without the check that it was not run before."""
    telegram.send(OPERATOR, SEND)

    def settled():  # "Sending ..." is edited into the results when the send ends
        answer = last_text(telegram, OPERATOR, "")()
        return answer if answer and ("Not run" in answer or "Sent 1 of 1" in answer) else None

    assert await until(settled, timeout=15)
    assert len(alphasms_sandbox.messages()) <= 1


def _pg_break(postgres_server, url: str, *, refuse_new: bool) -> None:
    database = urlsplit(url).path.lstrip("/")
    with postgres_server.admin() as conn:
        if refuse_new:
            conn.execute(f"ALTER DATABASE {database} ALLOW_CONNECTIONS false")
        conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s"
                     " AND pid <> pg_backend_pid()", (database,))


@pytest.mark.parametrize("refuse_new", [False, True], ids=["connections-dropped", "server-refuses"])
async def test_stranger_is_refused_when_postgresql_fails(make_bot, telegram, alphasms_sandbox, postgres_server,
                                                         postgres_url, refuse_new):
    async with running(make_bot(store_url=postgres_url)):
        _pg_break(postgres_server, postgres_url, refuse_new=refuse_new)
        await _stranger_refused(telegram, alphasms_sandbox)
        await _operator_not_run_or_run_once(telegram, alphasms_sandbox)
        if refuse_new:  # every store call fails: the operator is told it was not run, and nothing went out
            assert "Not run" in last_text(telegram, OPERATOR, "")()
            assert alphasms_sandbox.messages() == []


async def test_stranger_is_refused_when_sqlite_is_locked(make_bot, telegram, alphasms_sandbox, tmp_path):
    path = tmp_path / "bot.sqlite3"
    async with running(make_bot(store_path=path)):
        # another process holds the file's write lock while the stranger tries (the bot's own store calls
        # wait for it, on SQLite inline: 3 s keeps the test short; the stranger never needs the store)
        holder = subprocess.Popen([sys.executable, "-c", (
            "import sqlite3, sys, time\n"
            f"db = sqlite3.connect({str(path)!r}, isolation_level=None)\n"
            "db.execute('BEGIN EXCLUSIVE'); print('locked', flush=True); time.sleep(3)")],
            stdout=subprocess.PIPE, text=True)
        try:
            assert holder.stdout.readline().strip() == "locked"
            await _stranger_refused(telegram, alphasms_sandbox)
        finally:
            holder.kill()
            holder.wait()


async def test_stranger_and_operator_when_sqlite_is_corrupt(make_bot, telegram, alphasms_sandbox, tmp_path):
    path = tmp_path / "bot.sqlite3"
    async with running(make_bot(store_path=path)):
        # garbage in every file, as a bad disk or a stray write leaves it
        for part in (path, *(path.with_name(path.name + end) for end in ("-wal", "-shm"))):
            if part.exists():
                size = part.stat().st_size
                with open(part, "r+b") as f:
                    f.write(b"\xde\xad\xbe\xef" * (size // 4))
        with pytest.raises(sqlite3.DatabaseError):
            sqlite3.connect(path).execute("SELECT * FROM updates_seen").fetchall()
        await _stranger_refused(telegram, alphasms_sandbox)
        telegram.send(OPERATOR, SEND)
        assert "Not run" in await until(last_text(telegram, OPERATOR, "Not run"), timeout=10)
        await asyncio.sleep(0.3)
        assert alphasms_sandbox.messages() == []
