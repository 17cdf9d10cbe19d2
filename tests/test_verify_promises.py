"""Verification codes that cannot be replayed, raced or read (SQLite and a real PostgreSQL, real processes).

Each race runs separate processes (forked from a clean server process, each opening the store itself) that
meet at a barrier before every check, so their checks reach the store in the
same instant, as two web servers behind a load balancer would.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import multiprocessing
import os
import stat
import subprocess

import pytest
from helpers import ALPHASMS, sandbox_env, until

from alphasms_notify import AlphaSMS
from alphasms_notify.settings import VerifySettings
from alphasms_notify.store import Store
from alphasms_notify.verify import Verifier, key_path, verification_key

SECRET = "k" * 40
PHONES = [380970000000 + i for i in range(30)]


@pytest.fixture(params=["sqlite", "postgresql"])
def target(request, tmp_path):
    if request.param == "sqlite":
        return str(tmp_path / "store.sqlite3")
    return request.getfixturevalue("postgres_url")


def _save_codes(target: str, phones: list[int], code: str) -> None:
    """Pending codes as Verifier.start leaves them (without sending: the races are about checking)."""
    from alphasms_notify.verify import digest as _digest

    store = Store(target)
    try:
        for phone in phones:
            store.codes.save(phone, _digest(SECRET.encode(), phone, code, "salt"), "salt", "sms", 1.0, 1e12)
    finally:
        store.close()


def _checker(target: str, phones: list[int], codes: list[str], barrier, results) -> None:
    store = Store(target)
    verifier = Verifier(None, store, VerifySettings(secret=SECRET, max_attempts=5))
    try:
        for phone, code in zip(phones, codes, strict=True):
            barrier.wait(timeout=60)
            results.put((phone, verifier.check(phone, code).reason))
    finally:
        store.close()


def _engine(target: str) -> str:
    return "postgresql" if "://" in target else "sqlite"


def _race(target: str, workers: int, phones: list[int], codes: list[str]) -> list[tuple[int, str]]:
    # forked from one server process that imported the package once: separate processes, each with its
    # own store connection, without paying a Python start-up each
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["alphasms_notify.verify", "alphasms_notify.store", "test_verify_promises"])
    barrier, results = ctx.Barrier(workers), ctx.Queue()
    procs = [ctx.Process(target=_checker, args=(target, phones, codes, barrier, results)) for _ in range(workers)]
    for p in procs:
        p.start()
    got = [results.get(timeout=120) for _ in range(workers * len(phones))]
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    return got


def test_one_code_approves_once_when_two_processes_check_it_at_once(target):
    _save_codes(target, PHONES, "123456")
    answers = _race(target, 2, PHONES, ["123456"] * len(PHONES))
    approved = [phone for phone, reason in answers if reason == "approved"]
    twice = len(approved) - len(set(approved))
    print(f"\n{_engine(target)}: {len(PHONES)} codes checked by two processes at once: "
          f"{len(set(approved))} approved, {twice} approved twice")
    assert sorted(approved) == PHONES  # each exactly once
    assert all(reason.startswith("no code was sent") for _, reason in answers if reason != "approved")


def test_the_attempt_limit_holds_when_eight_processes_guess_at_once(target):
    phone = PHONES[0]
    _save_codes(target, [phone], "123456")
    guesses = [f"{n:06d}" for n in range(3)]  # three wrong guesses each, 24 in all, against a limit of 5
    answers = _race(target, 8, [phone] * 3, guesses)
    judged = [reason for _, reason in answers if reason.startswith("wrong code")]
    print(f"\n{_engine(target)}: 8 processes, 24 wrong guesses at once against a limit of 5: "
          f"{len(judged)} judged")
    assert len(judged) == 5
    assert sum("too many wrong codes" in reason for _, reason in answers) == 24 - 5 + 1  # the 5th says so too
    # and the right code, now, is refused: the limit voided it
    store = Store(target)
    try:
        assert not Verifier(None, store, VerifySettings(secret=SECRET)).check(phone, "123456").ok
    finally:
        store.close()


def test_a_copy_of_the_store_does_not_reveal_a_pending_code(alphasms_sandbox, tmp_path):
    """The row alone (hash, salt, phone) against every 4-digit code: no match; with the key (not in the
    store): the code. The tracked SMS holds the code masked."""
    store = Store(tmp_path / "s.sqlite3")
    settings = VerifySettings(code_length=4)
    with AlphaSMS(alphasms_sandbox.key, alphasms_sandbox.api_url, sms_sender="Shop") as client:
        from alphasms_notify.plugins import make_plugin_manager
        from alphasms_notify.tracking import ensure_tracking

        pm = make_plugin_manager(defaults=())
        ensure_tracking(pm, store.path)
        client.plugins = pm
        assert Verifier(client, store, settings, plugins=pm).start("0971234567").ok
    sms = alphasms_sandbox.messages()[-1]["item"]["sms_message"]
    code = sms.split(": ")[1][:4]
    row = store.codes.get(380971234567)
    candidates = [f"{n:04d}" for n in range(10_000)]
    row_keys = [row["salt"].encode(), b"", str(row["phone"]).encode()]
    found = [c for c in candidates for key in row_keys for msg in (c, f"{row['phone']}:{row['salt']}:{c}")
             if hmac.compare_digest(hmac.new(key, msg.encode(), hashlib.sha256).hexdigest(), row["code_hash"])]
    assert found == []
    key = verification_key(settings)  # the key file, made on first use, readable by its owner only
    assert stat.S_IMODE(os.stat(key_path()).st_mode) == 0o600
    assert key.decode() not in str(row)
    from alphasms_notify.verify import digest as _digest

    assert [c for c in candidates if _digest(key, 380971234567, c, row["salt"]) == row["code_hash"]] == [code]
    [tracked] = store.messages.latest_to(380971234567)
    assert code not in tracked.text and tracked.text == "Ваш код: ****. Your code: ****"
    database = open(store.path, "rb").read() + (open(store.path + "-wal", "rb").read()
                                                if os.path.exists(store.path + "-wal") else b"")
    assert f"код: {code}".encode() not in database
    store.close()


def test_two_processes_making_the_key_file_at_once_agree(tmp_path):
    env = {**os.environ, "XDG_CONFIG_HOME": str(tmp_path / "config")}
    script = ("from alphasms_notify.settings import VerifySettings\n"
              "from alphasms_notify.verify import verification_key\n"
              "print(verification_key(VerifySettings()).decode())")
    procs = [subprocess.Popen(["python", "-c", script], env=env, stdout=subprocess.PIPE, text=True) for _ in range(4)]
    keys = {p.communicate(timeout=60)[0].strip() for p in procs}
    assert len(keys) == 1 and len(keys.pop()) == 64
    assert [p.name for p in (tmp_path / "config" / "alphasms-notify").iterdir()] == ["verify.key"]


async def test_operators_never_see_a_code_in_a_topic_or_the_log(make_bot, telegram, alphasms_sandbox, tmp_path,
                                                              caplog):
    from test_topics import FORUM, bot_texts, topic_of

    from alphasms_notify.bot import running

    caplog.set_level(logging.DEBUG)
    telegram.make_forum(FORUM)
    env = sandbox_env(alphasms_sandbox, ALPHASMS_STORE_PATH=str(tmp_path / "bot.sqlite3"))
    async with running(make_bot(topics_chat=FORUM)):
        done = subprocess.run([ALPHASMS, "verify", "start", "0971234567"], env=env, capture_output=True, text=True,
                              timeout=60)
        assert done.returncode == 0, done.stdout + done.stderr
        code = alphasms_sandbox.messages()[-1]["item"]["sms_message"].split(": ")[1][:6]
        topic = await until(lambda: topic_of(telegram, "97 123 45 67"))
        [notice] = await until(lambda: bot_texts(telegram, topic["message_thread_id"], "sent from verify"))
    assert code not in notice and "Ваш код: ******. Your code: ******" in notice
    assert code not in caplog.text and code not in done.stdout + done.stderr
