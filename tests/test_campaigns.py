"""Campaigns: stored first, each recipient exactly once through SIGKILLs and faults, held by the clock, paused
by the money."""

from __future__ import annotations

import json
import random
import signal
import subprocess
import time

import pytest
from helpers import ALPHASMS, clean_env, sandbox_env, wait_for

from alphasms_notify import AlphaSMS
from alphasms_notify.campaign import create_campaign, parse_moment, run_campaign
from alphasms_notify.messages import build
from alphasms_notify.store import Store

KYIV = "Europe/Kyiv"


def phones(n: int, start: int = 0) -> list[str]:
    return [str(380970000000 + start + i) for i in range(n)]


def test_a_campaign_killed_20_times_with_faults_sends_each_recipient_once(alphasms_sandbox, tmp_path):
    env = sandbox_env(alphasms_sandbox, ALPHASMS_STORE_PATH=str(tmp_path / "s.sqlite3"))
    numbers = phones(2000)
    (tmp_path / "to.txt").write_text("\n".join(numbers))
    made = subprocess.run([ALPHASMS, "campaign", "create", "sale", "--to-file", str(tmp_path / "to.txt"), "Sale!"],
                          capture_output=True, text=True, timeout=120, env=env)
    assert made.returncode == 0, made.stderr
    assert alphasms_sandbox.requests() == []  # the plan is stored, nothing sent
    chance = random.Random(2026)
    for _ in range(20):
        # the provider accepts and then garbles its answer, or fails with a 500 after accepting
        alphasms_sandbox.fault(chance.choice(["http500", "invalid_json"]), count=1, when="after")
        seen = len(alphasms_sandbox.requests())
        runner = subprocess.Popen([ALPHASMS, "campaign", "run", "sale"], stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL, env=env)
        # once it talks to the provider (however slow the machine), the kill lands anywhere in the sending
        wait_for(lambda s=seen, r=runner: len(alphasms_sandbox.requests()) > s or r.poll() is not None, timeout=60)
        time.sleep(chance.uniform(0.0, 0.8))
        runner.send_signal(signal.SIGKILL)
        runner.wait()
    alphasms_sandbox.clear_faults()
    before = json.loads(subprocess.run([ALPHASMS, "--json", "campaign", "status", "sale"], capture_output=True,
                                       text=True, timeout=60, env=env).stdout)["results"][0]["counts"]
    received_before = len(alphasms_sandbox.messages())
    assert before["sent"] <= received_before and received_before > 0  # runs made progress between the kills
    done = subprocess.run([ALPHASMS, "--json", "campaign", "run", "sale"], capture_output=True, text=True,
                          timeout=300, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    received = [m["phone"] for m in alphasms_sandbox.messages()]
    twice = len(received) - len(set(received))
    print(f"\n2,000 recipients, 20 SIGKILLs with faults after acceptance: {len(set(received))} received, "
          f"{twice} twice, {2000 - len(set(received))} lost")
    assert twice == 0 and sorted(received) == sorted(int(n) for n in numbers)
    status = json.loads(subprocess.run([ALPHASMS, "--json", "campaign", "status", "sale"], capture_output=True,
                                       text=True, timeout=60, env=env).stdout)["results"][0]
    assert status["state"] == "finished" and status["counts"]["sent"] == len(received) == 2000
    report = subprocess.run([ALPHASMS, "campaign", "report", "sale", "--csv"], capture_output=True, text=True,
                            timeout=60, env=env).stdout.splitlines()
    rows = [line.split(",") for line in report[1:]]
    assert len(rows) == 2000 and {r[3] for r in rows} == {"sent"}
    retried = sum(int(r[5]) > 1 for r in rows)  # claimed again after a kill or an unknown answer
    print(f"before the last run: {received_before} received, {before['sent']} recorded sent; "
          f"recipients tried more than once: {retried}")
    assert retried > 0
    ids = {m["id"] for m in alphasms_sandbox.messages()}
    assert {int(r[1]) for r in rows} == ids  # the ids stored at creation are the ones the provider has


class Clock:
    def __init__(self, start: float, tick: float = 0.0) -> None:
        self.now, self.tick = start, tick

    def __call__(self) -> float:
        self.now += self.tick
        return self.now


@pytest.fixture
def store(tmp_path):
    opened = Store(tmp_path / "c.sqlite3")
    yield opened
    opened.close()


def _make(store, sms, name, n, **plan):
    return create_campaign(store, sms, name, build("sms", phones(n), f"{name} news"), channel="sms", **plan)


def test_the_window_holds_at_its_end_and_opens_again_at_nine_kyiv_time_across_dst(alphasms_sandbox, store):
    # 2026-03-29 is the night Kyiv moves from +02:00 to +03:00
    clock = Clock(parse_moment("2026-03-28 20:50", KYIV), tick=60.0)  # a minute passes at each look at the clock
    with AlphaSMS(alphasms_sandbox.key, alphasms_sandbox.api_url, sms_sender="Shop") as sms:
        _make(store, sms, "evening", 3000, window="09:00-21:00", tz=KYIV, now=clock.now)
        first = run_campaign(store, sms, "evening", clock=clock, claim=200)
        assert first.state == "held" and 0 < first.sent < 3000
        held = store.campaigns.counts("evening")
        assert held["sent"] == first.sent and held["pending"] == 3000 - first.sent
        assert clock.now >= parse_moment("2026-03-28 21:00", KYIV)
        clock.now, clock.tick = parse_moment("2026-03-29 08:58", KYIV), 0.0
        assert run_campaign(store, sms, "evening", clock=clock).state == "held"  # not yet: 09:00 local
        slept = []
        clock.now = parse_moment("2026-03-29 08:59", KYIV)

        def sleep(seconds):
            slept.append(seconds)
            clock.now += seconds

        done = run_campaign(store, sms, "evening", clock=clock, sleep=sleep, wait=True)
        assert done.state == "finished" and store.campaigns.counts("evening")["sent"] == 3000
        assert clock.now == parse_moment("2026-03-29T09:00:00+03:00", KYIV)  # 09:00 after the change: +03:00
    received = [m["phone"] for m in alphasms_sandbox.messages()]
    assert len(received) == len(set(received)) == 3000


def test_what_is_left_past_until_is_expired_and_never_sent(alphasms_sandbox, store):
    clock = Clock(parse_moment("2026-12-01 20:59", KYIV), tick=30.0)
    with AlphaSMS(alphasms_sandbox.key, alphasms_sandbox.api_url, sms_sender="Shop") as sms:
        _make(store, sms, "late", 1000, window="09:00-21:00", tz=KYIV, now=clock.now,
              until_at=parse_moment("2026-12-02 08:00", KYIV))
        assert run_campaign(store, sms, "late", clock=clock, claim=100).state == "held"
        sent = store.campaigns.counts("late")["sent"]
        clock.now, clock.tick = parse_moment("2026-12-02 09:00", KYIV), 0.0
        assert run_campaign(store, sms, "late", clock=clock).state == "finished"
    counts = store.campaigns.counts("late")
    assert counts["expired"] == 1000 - sent and counts["sent"] == sent == len(alphasms_sandbox.messages())


def test_the_money_running_out_pauses_it_and_a_top_up_finishes_it_once(alphasms_sandbox, store):
    from alphasms_notify.hookspecs import hookimpl
    from alphasms_notify.plugins import make_plugin_manager

    events = []

    class Watch:
        @hookimpl
        def alphasms_campaign_started(self, campaign, total):
            events.append(("started", campaign, total))

        @hookimpl
        def alphasms_campaign_paused(self, campaign, reason):
            events.append(("paused", campaign, reason.split(":")[0]))

        @hookimpl
        def alphasms_campaign_finished(self, campaign, counts):
            events.append(("finished", campaign, counts["sent"]))

    pm = make_plugin_manager(defaults=())
    pm.register(Watch())
    alphasms_sandbox.balance("300.00")  # 200 one-part SMS at 1.50
    with AlphaSMS(alphasms_sandbox.key, alphasms_sandbox.api_url, sms_sender="Shop", plugins=pm) as sms:
        _make(store, sms, "funds", 700)
        paused = run_campaign(store, sms, "funds", claim=250)
        assert paused.state == "paused" and "Insufficient funds" in paused.message
        counts = store.campaigns.counts("funds")
        assert counts["sent"] == 200 and counts["pending"] == 500 and counts["failed"] == 0
        assert store.campaigns.get("funds").reason.startswith("Insufficient funds")
        assert run_campaign(store, sms, "funds").state == "paused"  # stays paused until resumed
        alphasms_sandbox.balance("10000.00")
        assert store.campaigns.set_state("funds", "running", only_from=("paused",))
        assert run_campaign(store, sms, "funds").state == "finished"
    received = [m["phone"] for m in alphasms_sandbox.messages()]
    assert len(received) == len(set(received)) == 700
    assert events == [("started", "funds", 700), ("paused", "funds", "Insufficient funds"), ("finished", "funds", 700)]


def test_a_plan_is_fixed_at_creation_and_bad_input_stores_nothing(alphasms_sandbox, tmp_path):
    env = sandbox_env(alphasms_sandbox, ALPHASMS_STORE_PATH=str(tmp_path / "s.sqlite3"))

    def cli(*args):
        return subprocess.run([ALPHASMS, *args], capture_output=True, text=True, timeout=60, env=env)

    people = tmp_path / "people.csv"
    people.write_text("phone,name\n0971234567,Olena\n0501234567,Taras\n")
    assert cli("campaign", "create", "hello", "--csv", str(people), "Hi {name}").returncode == 0
    people.write_text("phone,name\n0971234567,Changed\n")  # editing the CSV afterwards changes nothing
    assert cli("campaign", "run", "hello").returncode == 0
    assert sorted(m["item"]["sms_message"] for m in alphasms_sandbox.messages()) == ["Hi Olena", "Hi Taras"]
    again = cli("campaign", "create", "hello", "--csv", str(people), "Hi {name}")
    assert again.returncode == 2 and "exists already" in again.stderr
    bad = tmp_path / "bad.csv"
    bad.write_text("phone,name\n0971234567,A\n12,B\n")
    refused = cli("campaign", "create", "broken", "--csv", str(bad), "Hi {name}")
    assert refused.returncode == 2 and "'12'" in refused.stderr
    assert "broken" not in cli("campaign", "list").stdout
    window = cli("campaign", "create", "w", "--to-file", str(bad), "--window", "9-21", "Hi")
    assert window.returncode == 2 and "--window: expected HH:MM-HH:MM" in window.stderr


def test_two_runners_on_postgresql_share_a_campaign_one_killed_each_recipient_once(alphasms_sandbox, tmp_path,
                                                                                     postgres_url):
    env = sandbox_env(alphasms_sandbox, ALPHASMS_STORE_URL=postgres_url)
    numbers = phones(5000)
    (tmp_path / "to.txt").write_text("\n".join(numbers))
    made = subprocess.run([ALPHASMS, "campaign", "create", "big", "--to-file", str(tmp_path / "to.txt"),
                           "--rate", "100000", "Big sale!"], capture_output=True, text=True, timeout=120, env=env)
    assert made.returncode == 0, made.stderr

    def runner():
        return subprocess.Popen([ALPHASMS, "campaign", "run", "big"], stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, env=env)

    first, second = runner(), runner()
    time.sleep(1.2)
    first.send_signal(signal.SIGKILL)  # mid-batch: what it held is taken over when its lease ends
    first.wait()
    second.wait(timeout=300)
    while True:  # the killed runner's claim is another host's to wait for: run until it is taken over
        again = subprocess.run([ALPHASMS, "--json", "campaign", "run", "big"], capture_output=True, text=True,
                               timeout=300, env=env)
        if json.loads(again.stdout)["results"][0]["state"] == "finished":
            break
        time.sleep(1.0)
    received = [m["phone"] for m in alphasms_sandbox.messages()]
    print(f"\nPostgreSQL, two runners (one killed): {len(set(received))} of 5,000 received, "
          f"{len(received) - len(set(received))} twice")
    assert len(received) == len(set(received)) == 5000
    store = Store(postgres_url)
    try:
        assert store.campaigns.counts("big")["sent"] == 5000
        sent = store.campaigns.rate_used("big", 0)
    finally:
        store.close()
    assert sum(n for _, n in sent) >= 5000  # every send was counted against the shared rate


def test_the_rate_is_never_exceeded_over_any_minute(alphasms_sandbox, store):
    clock = Clock(parse_moment("2026-12-02 10:00", KYIV), tick=0.5)

    def sleep(seconds):
        clock.now += seconds

    with AlphaSMS(alphasms_sandbox.key, alphasms_sandbox.api_url, sms_sender="Shop") as sms:
        _make(store, sms, "slow", 1000, rate=300, now=clock.now)
        assert run_campaign(store, sms, "slow", clock=clock, sleep=sleep, claim=100).state == "finished"
    sends = store.campaigns.rate_used("slow", 0)
    busiest = max(sum(n for at, n in sends if start <= at < start + 60) for start, _ in sends)
    assert busiest <= 300 and sum(n for _, n in sends) == 1000
    assert clock.now - parse_moment("2026-12-02 10:00", KYIV) >= 180  # 1,000 at 300 a minute: over 3 minutes
    assert len({m["phone"] for m in alphasms_sandbox.messages()}) == len(alphasms_sandbox.messages()) == 1000


def test_the_preview_estimates_the_cost_and_refuses_more_than_the_balance_unless_forced(alphasms_sandbox,
                                                                                      tmp_path):
    config = tmp_path / "c.toml"
    config.write_text("[pricing]\nsms_part = 1.50\nviber = 1.20\n")
    env = sandbox_env(alphasms_sandbox, ALPHASMS_STORE_PATH=str(tmp_path / "s.sqlite3"), ALPHASMS_CONFIG=str(config))
    (tmp_path / "to.txt").write_text("\n".join(phones(100)))
    alphasms_sandbox.balance("100.00")

    def create(*extra):
        return subprocess.run([ALPHASMS, "campaign", "create", "promo", "--to-file", str(tmp_path / "to.txt"),
                               *extra, "Привіт! " + "x" * 70], capture_output=True, text=True, timeout=60, env=env)

    refused = create()
    assert refused.returncode == 1, refused.stderr
    assert "100 recipient(s), 1 distinct text(s); SMS parts: 200 UCS-2; estimated cost 300.00" in refused.stderr
    assert "(balance 100.00)" in refused.stderr and "--force" in refused.stderr and "nothing stored" in refused.stderr
    forced = create("--force")
    assert forced.returncode == 0, forced.stderr
    run = subprocess.run([ALPHASMS, "campaign", "run", "promo"], capture_output=True, text=True, timeout=60, env=env)
    assert run.returncode == 1 and "Insufficient funds" in run.stderr  # paused: 33 sent, the rest pending
    assert len(alphasms_sandbox.messages()) == 33  # 100.00 at 3.00 a recipient (two UCS-2 parts)


def test_status_shows_a_bar_and_watch_follows_a_run_to_its_end(alphasms_sandbox, tmp_path):
    import os
    import pty

    env = sandbox_env(alphasms_sandbox, ALPHASMS_STORE_PATH=str(tmp_path / "s.sqlite3"), COLUMNS="100")
    (tmp_path / "to.txt").write_text("\n".join(phones(2000)))
    subprocess.run([ALPHASMS, "campaign", "create", "watched", "--to-file", str(tmp_path / "to.txt"), "Hi"],
                   check=True, capture_output=True, timeout=60, env=env)
    before = subprocess.run([ALPHASMS, "campaign", "status", "watched"], capture_output=True, text=True, env=env)
    assert "[" + "." * 30 + "] 0 of 2000 done (0%)" in before.stdout
    alphasms_sandbox.fault("delay", count=None, seconds=1.5)  # 5 requests (100 to 800: they grow), 4 at a time: 3 s
    runner = subprocess.Popen([ALPHASMS, "campaign", "run", "watched"], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, env=env)
    wait_for(lambda: alphasms_sandbox.requests(), timeout=30)
    leader, follower = pty.openpty()  # a terminal, so rich draws the live bar
    watch = subprocess.Popen([ALPHASMS, "campaign", "status", "watched", "--watch"], stdin=follower,
                             stdout=follower, stderr=follower, env=env)
    os.close(follower)
    seen = b""
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # the watcher exited and closed the terminal
            break
        if not chunk:
            break
        seen += chunk
    assert watch.wait(timeout=60) == 0 and runner.wait(timeout=60) == 0
    alphasms_sandbox.clear_faults()
    shown = seen.decode(errors="replace")
    assert "watched: running" in shown and "/2000" in shown  # the live bar
    assert "campaign watched: finished; 2000 recipient(s): 2000 sent" in shown


PACED_RUNNER = r'''
import sys, time
from alphasms_notify import AlphaSMS
from alphasms_notify.campaign import run_campaign
from alphasms_notify.store import Store

url, key, api_url, base, speed = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4]), float(sys.argv[5])


def clock():  # the campaign's time runs `speed` times faster than the wall clock, the same in every runner
    return base + (time.time() - base) * speed


def sleep(seconds):
    time.sleep(seconds / speed)


store = Store(url)
with AlphaSMS(key, api_url, sms_sender="Shop") as sms:
    print(run_campaign(store, sms, "paced", wait=True, clock=clock, sleep=sleep, claim=100).state, flush=True)
'''


def test_two_paced_runners_on_postgresql_never_exceed_the_rate_in_any_minute(alphasms_sandbox, tmp_path,
                                                                              postgres_url):
    import sys

    store = Store(postgres_url)
    try:
        with AlphaSMS(alphasms_sandbox.key, alphasms_sandbox.api_url, sms_sender="Shop") as sms:
            _make(store, sms, "paced", 5000, rate=1500)
        base, speed = time.time(), 60.0  # a minute of the campaign's is a second of the test's

        def runner():
            return subprocess.Popen([sys.executable, "-c", PACED_RUNNER, postgres_url, alphasms_sandbox.key,
                                     alphasms_sandbox.api_url, str(base), str(speed)], stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT, text=True, env=clean_env())

        first, second = runner(), runner()
        wait_for(lambda: len(alphasms_sandbox.messages()) >= 1000, timeout=60)
        first.send_signal(signal.SIGKILL)  # mid-run: the other takes over what it held (its pid is gone)
        first.wait()
        out, _ = second.communicate(timeout=120)
        assert second.returncode == 0 and out.strip().endswith("finished"), out
        received = [m["phone"] for m in alphasms_sandbox.messages()]
        sends = store.campaigns.rate_used("paced", 0)  # every runner's reservations, on the campaign's clock
        counts = store.campaigns.counts("paced")
    finally:
        store.close()
    busiest = max(sum(n for at, n in sends if start <= at < start + 60 and n > 0) for start, _ in sends)
    minutes = (max(at for at, _ in sends) - min(at for at, _ in sends)) / 60
    print(f"\nPostgreSQL, two paced runners (one killed), 5,000 at 1,500 a minute: {len(set(received))} received, "
          f"{len(received) - len(set(received))} twice; busiest minute {busiest}; over {minutes:.1f} minutes")
    assert len(received) == len(set(received)) == 5000 and counts["sent"] == 5000
    assert busiest <= 1500 and minutes >= 3  # 5,000 at 1,500 a minute: not before the 4th minute


def test_each_distinct_message_is_stored_once_and_older_inline_payloads_still_run(alphasms_sandbox, store):
    """A campaign of one text stores that message once (not once per recipient); one of personal texts, once
    each; and a recipient stored inline by a version before that (no payload number) is still sent."""
    with AlphaSMS(alphasms_sandbox.key, alphasms_sandbox.api_url, sms_sender="Shop") as sms:
        _make(store, sms, "same", 30)
        create_campaign(store, sms, "personal", [m for i in range(3) for m in build("sms", phones(1, 100 + i),
                                                                                      f"Hi {i}")], channel="sms")
        db = store._db
        assert db.one("SELECT COUNT(*) AS n FROM campaign_payloads WHERE campaign = 'same'")["n"] == 1
        assert db.one("SELECT COUNT(*) AS n FROM campaign_payloads WHERE campaign = 'personal'")["n"] == 3
        with db.tx() as tx:  # as migration 13 found it: the payload in the row, no number
            tx.run("UPDATE campaign_recipients SET payload = (SELECT payload FROM campaign_payloads p WHERE"
                   " p.campaign = 'personal' AND p.pid = campaign_recipients.pid), pid = NULL"
                   " WHERE campaign = 'personal' AND seq = 1")
        for name in ("same", "personal"):
            assert run_campaign(store, sms, name).state == "finished"
    texts = sorted(m["item"]["sms_message"] for m in alphasms_sandbox.messages())
    assert texts == ["Hi 0", "Hi 1", "Hi 2"] + ["same news"] * 30


def test_a_store_that_lost_a_campaigns_message_claims_nothing_and_says_so(alphasms_sandbox, store):
    with AlphaSMS(alphasms_sandbox.key, alphasms_sandbox.api_url, sms_sender="Shop") as sms:
        _make(store, sms, "lost", 5)
        with store._db.tx() as tx:
            tx.run("DELETE FROM campaign_payloads WHERE campaign = 'lost'")
        with pytest.raises(ValueError, match="lost the message"):
            run_campaign(store, sms, "lost")
    assert alphasms_sandbox.messages() == [] and store.campaigns.counts("lost")["pending"] == 5
