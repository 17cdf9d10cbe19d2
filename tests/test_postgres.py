"""Several bot instances on one PostgreSQL: the work shared, nothing done twice, nothing lost.

Real parts throughout: a PostgreSQL server on loopback (the ``postgres_url``
fixture), ``alphasms bot`` processes, the Bot API stand-in and the sandbox.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest
from conftest import PROCESS_POLL
from helpers import ALPHASMS, OPERATOR, clean_env, report, texts, wait_for

from alphasms_notify import AlphaSMS, Viber
from alphasms_notify.bot.forwarding import POSSIBLE_REPEAT
from alphasms_notify.migrations import LATEST
from alphasms_notify.sandbox.postgres import PASSWORD
from alphasms_notify.store import Store


@pytest.fixture
def instances(bot_config, telegram, tmp_path, postgres_url):
    """``start()`` runs one more ``alphasms bot`` on the shared PostgreSQL store: ALPHASMS_STORE_URL wins over
    the config's ``[store] path``."""
    config = bot_config
    env = clean_env(TELEGRAM_BOT_TOKEN=telegram.token, ALPHASMS_STORE_URL=postgres_url,
                    ALPHASMS_NOTIFY_LOAD_PLUGINS="")
    procs: list[subprocess.Popen] = []

    def start() -> subprocess.Popen:
        log = open(tmp_path / f"bot{len(procs)}.log", "w")  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen([ALPHASMS, "--config", str(config), "bot"], stdout=log, stderr=subprocess.STDOUT,
                                env=env, cwd=tmp_path)
        proc.log_path = Path(log.name)
        procs.append(proc)
        wait_for(lambda: "bot starting" in proc.log_path.read_text() or proc.poll() is not None, timeout=30)
        assert proc.poll() is None, proc.log_path.read_text()
        return proc

    start.url = postgres_url
    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    logs = "".join(p.log_path.read_text() for p in procs)
    assert PASSWORD not in logs


def track_viber(sandbox, url: str, n: int) -> list[int]:
    """``n`` Viber messages sent and tracked in the shared store, as the bot's own would be."""
    with AlphaSMS(sandbox.key, sandbox.api_url, viber_sender="Shop") as client:
        outcomes = client.send([Viber(380970000000 + i, f"Question {i}?") for i in range(n)])
    store = Store(url)
    store.messages.track(outcomes, source="bot", chat_id=OPERATOR)
    store.close()
    return [o.result.id for o in outcomes]


def copies(telegram, n: int) -> Counter:
    found = Counter()
    for text in texts(telegram, OPERATOR, "💬"):
        for line in text.splitlines():
            if line.startswith("answer-"):
                found[int(line.split("-")[1])] += 1
    return found


def test_two_instances_forward_each_of_200_replies_once(instances, telegram, alphasms_sandbox):
    ids = track_viber(alphasms_sandbox, instances.url, 200)
    first, second = instances(), instances()
    started = time.monotonic()
    for i, message_id in enumerate(ids):
        alphasms_sandbox.reply(message_id, f"answer-{i}")
    wait_for(lambda: len(copies(telegram, 200)) == 200, timeout=90)
    time.sleep(PROCESS_POLL * 4)  # more cycles: still once
    seen = copies(telegram, 200)
    report("two bot instances on PostgreSQL forwarding replies", messages=200, received=len(seen),
           lost=200 - len(seen), twice=sum(c > 1 for c in seen.values()),
           note=f"all forwarded in {time.monotonic() - started:.1f} s")
    assert sorted(seen) == list(range(200)) and set(seen.values()) == {1}
    assert first.poll() is None and second.poll() is None
    store = Store(instances.url)
    assert store.counts()["replies not yet forwarded"] == 0
    store.close()


def test_sigkill_one_instance_mid_run_the_other_finishes_nothing_twice_or_lost(instances, telegram,
                                                                            alphasms_sandbox):
    ids = track_viber(alphasms_sandbox, instances.url, 200)
    first, second = instances(), instances()
    for i, message_id in enumerate(ids):
        alphasms_sandbox.reply(message_id, f"answer-{i}")
    wait_for(lambda: len(copies(telegram, 200)) >= 40, timeout=60)
    first.send_signal(signal.SIGKILL)  # mid-run: it holds leases, maybe a post in flight
    first.wait()
    killed_at = time.monotonic()
    wait_for(lambda: len(copies(telegram, 200)) == 200, timeout=90)
    finished = time.monotonic() - killed_at
    time.sleep(PROCESS_POLL * 4)
    seen = copies(telegram, 200)
    marked = sum(POSSIBLE_REPEAT in t for t in texts(telegram, OPERATOR, "💬"))
    unmarked = Counter()
    for text in texts(telegram, OPERATOR, "💬"):
        if POSSIBLE_REPEAT not in text:
            unmarked[next(int(line.split("-")[1]) for line in text.splitlines() if line.startswith("answer-"))] += 1
    twice = sum(c > 1 for c in unmarked.values())
    report("SIGKILL one of two bot instances on PostgreSQL mid-run", messages=200, received=len(seen),
           lost=200 - len(seen), twice=twice,
           note=f"the other finished {finished:.1f} s after the kill; {marked} sent again marked as a possible repeat")
    assert sorted(seen) == list(range(200)) and twice == 0
    # whoever polled Telegram before, the survivor answers commands now
    telegram.send(OPERATOR, "/balance")
    wait_for(lambda: texts(telegram, OPERATOR, "Balance"), timeout=15)
    assert second.poll() is None


def test_only_one_instance_polls_telegram_and_another_takes_over(instances, telegram):
    first, second = instances(), instances()
    wait_for(lambda: sum("polls Telegram now" in p.log_path.read_text() for p in (first, second)) == 1,
             timeout=20)
    leader = first if "polls Telegram now" in first.log_path.read_text() else second
    follower = second if leader is first else first
    time.sleep(3)
    assert "polls Telegram now" not in follower.log_path.read_text()
    leader.send_signal(signal.SIGKILL)
    leader.wait()
    killed = time.monotonic()
    wait_for(lambda: "polls Telegram now" in follower.log_path.read_text(), timeout=20)
    took = time.monotonic() - killed
    telegram.send(OPERATOR, "/balance")
    wait_for(lambda: texts(telegram, OPERATOR, "Balance"), timeout=15)
    report("the polling instance killed: another takes getUpdates over", messages=1, received=1, lost=0,
           twice=0, note=f"taken over {took:.1f} s after the kill")
    assert took < 10


async def test_two_instances_receiving_the_same_confirm_send_once(make_bot, telegram, alphasms_sandbox,
                                                                postgres_url):
    from telegram import Update

    one = make_bot(confirm_above=1, store_url=postgres_url)
    two = make_bot(confirm_above=1, store_url=postgres_url)
    async with one, two:  # as two webhook instances: each gets the updates the balancer gives it
        command = telegram.send(OPERATOR, "/send 0971234561,0971234562 Sale today")
        await one.process_update(Update.de_json({"update_id": 1, "message": command}, one.bot))
        [question] = [m for m in telegram.bot_messages(OPERATOR) if "Send?" in m["text"]]
        data = question["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
        presses = [telegram.press(OPERATOR, question["message_id"], data) for _ in range(2)]  # a double click
        await asyncio.gather(*(app.process_update(Update.de_json({"update_id": 2 + i, "callback_query": press},
                                                                 app.bot))
                               for i, (app, press) in enumerate(zip((one, two), presses, strict=True))))
        for app in (one, two):
            await app.bot_data.services.client.aclose()
    assert sorted(m["phone"] for m in alphasms_sandbox.messages()) == [380971234561, 380971234562]
    final = [m["text"] for m in telegram.bot_messages(OPERATOR) if m["message_id"] == question["message_id"]]
    assert "Sent 2 of 2" in final[0]  # the second press did not write over the results
    assert any("Already sent" in (a.get("text") or "") for a in telegram.info()["callback_answers"])


def test_store_commands_and_errors_never_show_the_password(postgres_url, tmp_path):
    env = clean_env(ALPHASMS_STORE_URL=postgres_url)
    done = subprocess.run([ALPHASMS, "store", "migrate"], env=env, capture_output=True, text=True, timeout=60)
    every = ", ".join(str(v) for v in range(1, LATEST + 1))
    assert done.returncode == 0 and f"applied migration(s) {every}" in done.stdout, done.stderr
    status = subprocess.run([ALPHASMS, "store", "status"], env=env, capture_output=True, text=True, timeout=60)
    assert f"(postgresql): schema version {LATEST} of {LATEST}" in status.stdout and "alphasms:***@" in status.stdout
    wrong = postgres_url.replace(PASSWORD, "wrong-Pa55word")
    for url in (wrong, postgres_url.rsplit("/", 1)[0] + "/nosuchdb"):
        bad = subprocess.run([ALPHASMS, "store", "status"], env=clean_env(ALPHASMS_STORE_URL=url),
                             capture_output=True, text=True, timeout=60)
        out = bad.stdout + bad.stderr
        assert bad.returncode == 2 and out.startswith("Error: the store postgresql://alphasms:***@"), out
        assert PASSWORD not in out and "wrong-Pa55word" not in out and "Traceback" not in out
    for args in (["--help"], ["store", "status"]):
        shown = subprocess.run([ALPHASMS, *args], env=env, capture_output=True, text=True, timeout=60)
        assert PASSWORD not in shown.stdout + shown.stderr


def test_the_bot_refuses_an_unreachable_store_in_one_line(telegram, bot_config, tmp_path, postgres_url):
    url = postgres_url.replace(PASSWORD, "wrong-Pa55word")
    env = clean_env(TELEGRAM_BOT_TOKEN=telegram.token, ALPHASMS_STORE_URL=url)
    done = subprocess.run([ALPHASMS, "--config", str(bot_config), "bot"], env=env, capture_output=True, text=True,
                          timeout=60, cwd=tmp_path)
    out = done.stdout + done.stderr
    assert done.returncode == 2 and "cannot be used" in out and "Traceback" not in out, out
    assert "wrong-Pa55word" not in out and PASSWORD not in out


async def test_two_instances_make_one_topic_for_a_new_phone(telegram, postgres_url):
    from telegram import Bot

    from alphasms_notify.bot.topics import Topics

    forum = -1001234567890
    telegram.make_forum(forum)
    stores = [Store(postgres_url), Store(postgres_url)]
    async with Bot(telegram.token, base_url=telegram.api_url) as bot:
        one, two = Topics(bot, stores[0], forum), Topics(bot, stores[1], forum)
        got = await asyncio.gather(one.ensure(380971234567), two.ensure(380971234567))
    assert got[0].thread_id == got[1].thread_id
    assert len(telegram.topics(forum)) == 1 and telegram.info()["calls"].count("createForumTopic") == 1
    for store in stores:
        store.close()


def test_two_instances_starting_a_verification_at_once_send_one_code(alphasms_sandbox, postgres_url):
    from concurrent.futures import ThreadPoolExecutor

    from alphasms_notify.verify import Verifier

    def start(_):
        store = Store(postgres_url)
        with AlphaSMS(alphasms_sandbox.key, alphasms_sandbox.api_url, sms_sender="Shop") as client:
            result = Verifier(client, store).start("0971234567")
        store.close()
        return result

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(start, range(4)))
    assert sum(r.ok for r in results) == 1  # the others: busy, or the cooldown
    assert len(alphasms_sandbox.messages()) == 1
