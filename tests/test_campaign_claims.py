"""A campaign's claims in the store, on SQLite and PostgreSQL: a claim marks its rows with the runner (their
state moves once, when settled), a dead runner's rows are taken again as *maybe sent*, rows given back
behind a runner's cursor are found, and rows a store held as ``sending`` before migration 14 are not lost; a
runner that sends its next claim while it records the last one stops as soon as it should."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

import alphasms_notify.store as store_module
from alphasms_notify import AlphaSMS
from alphasms_notify.campaign import create_campaign, run_campaign
from alphasms_notify.messages import build
from alphasms_notify.migrations import MIGRATIONS
from alphasms_notify.store import Store

A, B = "host-a:1:aaaa", "host-b:2:bbbb"  # two runners on other hosts: their leases decide


@pytest.fixture(params=["sqlite", "postgresql"])
def target(request, tmp_path):
    if request.param == "sqlite":
        return str(tmp_path / "store.sqlite3")
    return request.getfixturevalue("postgres_url")


def _plan(store, sandbox, name: str, n: int) -> None:
    with AlphaSMS(sandbox.key, sandbox.api_url, sms_sender="Shop") as sms:
        phones = [str(380970000000 + i) for i in range(n)]
        create_campaign(store, sms, name, build("sms", phones, f"{name} news"), channel="sms")


def _shown(store, name: str) -> dict[int, str]:
    return {r["seq"]: r["state"] for r in store.campaigns.recipients(name)}


def test_a_claim_holds_its_rows_as_sending_and_a_second_runner_gets_the_others(alphasms_sandbox, target):
    store = Store(target)
    _plan(store, alphasms_sandbox, "c", 10)
    first = store.campaigns.claim("c", A, 60, 6, 1000.0)
    second = store.campaigns.claim("c", B, 60, 6, 1000.0)
    assert [c.seq for c in first] == list(range(6)) and [c.seq for c in second] == [6, 7, 8, 9]
    assert not any(c.maybe_sent for c in first + second)  # never tried: sent without asking first
    counts = store.campaigns.counts("c")
    assert counts["sending"] == 10 and counts["pending"] == 0 and store.campaigns.todo("c") == 10
    assert set(_shown(store, "c").values()) == {"sending"}  # the report says so too
    assert store.campaigns.claim("c", B, 60, 6, 1000.0) == []  # nothing left that no live runner holds
    # a runner settles only what it holds
    assert store.campaigns.settle("c", A, [(c.seq, "sent", None) for c in second], 1001.0) == 4
    assert store.campaigns.counts("c")["sending"] == 10
    store.campaigns.settle("c", A, [(c.seq, "sent", None) for c in first], 1001.0)
    store.campaigns.settle("c", B, [(6, "pending", None), (7, "unknown", "timed out")]
                           + [(s, "sent", None) for s in (8, 9)], 1001.0)
    assert store.campaigns.counts("c") == {**dict.fromkeys(store_module.campaigns.STATES, 0),
                                           "sent": 8, "pending": 1, "unknown": 1}
    again = store.campaigns.claim("c", A, 60, 6, 1002.0, after=5)
    assert [(c.seq, c.maybe_sent) for c in again] == [(7, True), (6, False)]  # the unknown one is asked about
    store.close()


def test_a_dead_runners_rows_are_taken_again_as_maybe_sent_however_many_claims_it_takes(alphasms_sandbox, target):
    store = Store(target)
    _plan(store, alphasms_sandbox, "c", 12)
    held = store.campaigns.claim("c", A, 60, 10, 1000.0)
    assert len(held) == 10
    dead = lambda owner: owner != A  # noqa: E731 - A died (its lease has not even ended)
    part = store.campaigns.claim("c", B, 60, 4, 1001.0, alive=dead)
    assert [(c.seq, c.maybe_sent) for c in part] == [(s, True) for s in range(4)]
    rest = store.campaigns.claim("c", B, 60, 10, 1001.0, alive=dead)
    assert [(c.seq, c.maybe_sent) for c in rest] == [(s, True) for s in range(4, 10)] + [(10, False), (11, False)]
    assert store._db.all("SELECT owner FROM campaign_holders WHERE campaign = 'c'") == [{"owner": B}]
    # A was not dead after all, only slow: what it settles now is B's and stays so
    assert store.campaigns.settle("c", A, [(c.seq, "sent", None) for c in held], 1002.0) == 10
    assert store.campaigns.counts("c")["sending"] == 12 and store.campaigns.counts("c")["sent"] == 0
    # a lease that ended counts as a dead runner
    assert [c.seq for c in store.campaigns.claim("c", A, 60, 20, 1001.0 + 61)] == list(range(12))
    store.close()


def test_rows_given_back_behind_a_runners_cursor_are_claimed_after_the_rows_ahead(alphasms_sandbox, target):
    store = Store(target)
    _plan(store, alphasms_sandbox, "c", 8)
    first = store.campaigns.claim("c", A, 60, 4, 1000.0)
    store.campaigns.settle("c", A, [(0, "pending", None), (1, "sent", None), (2, "pending", None),
                                    (3, "sent", None)], 1000.0)  # 0 and 2 never went out (say, no money)
    after = max(c.seq for c in first)
    assert [c.seq for c in store.campaigns.claim("c", A, 60, 3, 1001.0, after=after)] == [4, 5, 6]
    assert [c.seq for c in store.campaigns.claim("c", A, 60, 3, 1001.0, after=6)] == [7, 0, 2]
    store.close()


def test_rows_a_store_held_as_sending_before_migration_14_are_sent_once(alphasms_sandbox, target, monkeypatch):
    """A runner of an older version died holding recipients in the state ``sending``; after the upgrade they are
    claimed again as maybe sent: those the provider got are not sent twice, the rest go."""
    monkeypatch.setattr(store_module, "MIGRATIONS", MIGRATIONS[:13])
    old = Store(target)
    assert old.schema_version() == 13
    _plan(old, alphasms_sandbox, "c", 20)
    rows = old._db.all("SELECT seq, id, phone FROM campaign_recipients WHERE campaign = 'c' ORDER BY seq")
    with old._db.tx() as tx:  # what an older runner's claim did, before it died
        tx.run("UPDATE campaign_recipients SET state = 'sending', owner = ?, lease_until = 1, tried = 1"
               " WHERE campaign = 'c' AND seq < 10", (A,))
    old.close()
    with AlphaSMS(alphasms_sandbox.key, alphasms_sandbox.api_url, sms_sender="Shop") as sms:
        went = build("sms", [str(r["phone"]) for r in rows[:4]], "c news")
        for message, row in zip(went, rows, strict=False):
            message.id = row["id"]
        assert all(o.ok for o in sms.send(went))  # the provider got four of them
        monkeypatch.setattr(store_module, "MIGRATIONS", MIGRATIONS)
        store = Store(target)
        assert store.schema_version() == MIGRATIONS[-1].version
        assert store.campaigns.counts("c")["sending"] == 10
        assert run_campaign(store, sms, "c").state == "finished"
    ids = [m["item"]["id"] for m in alphasms_sandbox.messages()]
    assert sorted(ids) == sorted(r["id"] for r in rows)  # each recipient once
    assert store.campaigns.counts("c")["sent"] == 20
    store.close()


class Pipelined:
    """A client that sends on a thread of its own, as the CLI's does: the runner sends the next claim while it
    records the last one."""

    def __init__(self, sms: AlphaSMS, on_submit=None) -> None:
        self._sms, self._pool, self._on_submit, self.submitted = sms, ThreadPoolExecutor(1), on_submit, 0
        self.plugins, self.batch_size, self.max_batch_size = sms.plugins, sms.batch_size, sms.max_batch_size
        self.max_concurrency = 1

    def submit(self, messages, **options):
        self.submitted += 1
        if self._on_submit is not None:
            self._on_submit(self.submitted)
        return self._pool.submit(self._sms.send, messages, **options)


def test_a_pipelined_runner_sends_nothing_past_the_money_running_out(alphasms_sandbox, tmp_path):
    store = Store(str(tmp_path / "store.sqlite3"))
    _plan(store, alphasms_sandbox, "funds", 700)
    alphasms_sandbox.balance("300.00")  # 200 one-part SMS at 1.50
    with AlphaSMS(alphasms_sandbox.key, alphasms_sandbox.api_url, sms_sender="Shop") as sms:
        client = Pipelined(sms)
        paused = run_campaign(store, client, "funds", claim=250)
        assert paused.state == "paused" and "Insufficient funds" in paused.message
        assert client.submitted == 1  # the claim taken ahead went back, unsent
        counts = store.campaigns.counts("funds")
        assert (counts["sent"], counts["pending"], counts["sending"]) == (200, 500, 0)
        alphasms_sandbox.balance("10000.00")
        assert store.campaigns.set_state("funds", "running", only_from=("paused",))
        assert run_campaign(store, client, "funds", claim=250).state == "finished"
    received = [m["phone"] for m in alphasms_sandbox.messages()]
    assert len(received) == len(set(received)) == 700
    store.close()


def test_a_pipelined_runner_paused_while_a_batch_is_out_sends_no_more(alphasms_sandbox, tmp_path):
    store = Store(str(tmp_path / "store.sqlite3"))
    _plan(store, alphasms_sandbox, "c", 1000)

    def operator(submitted: int) -> None:  # pauses it from the bot while the second batch is on its way
        if submitted == 2:
            store.campaigns.set_state("c", "paused", "paused by an operator")

    with AlphaSMS(alphasms_sandbox.key, alphasms_sandbox.api_url, sms_sender="Shop") as sms:
        client = Pipelined(sms, operator)
        result = run_campaign(store, client, "c", claim=200)
    assert result.state == "paused" and result.sent == 400 and client.submitted == 2
    counts = store.campaigns.counts("c")
    assert (counts["sent"], counts["pending"], counts["sending"]) == (400, 600, 0)
    assert len(alphasms_sandbox.messages()) == 400
    store.close()


def test_a_list_with_a_phone_twice_makes_a_campaign_that_sends_it_once(alphasms_sandbox, tmp_path):
    """As ``alphasms send``: one phone written twice (or two ways) is one recipient, and the user is told; a
    CSV's rows are each sent, as ``send-template`` does, with the phone on several rows named."""
    import subprocess

    from helpers import ALPHASMS, sandbox_env

    listed = tmp_path / "phones.txt"
    listed.write_text("380970000001\n0970000002\n380970000001\n+380 97 000 00 02\n380970000003\n")
    table = tmp_path / "people.csv"
    table.write_text("phone,name\n380970000001,Ann\n380970000001,Bob\n")
    env = {**sandbox_env(alphasms_sandbox), "ALPHASMS_STORE_PATH": str(tmp_path / "s.sqlite3")}
    made = subprocess.run([ALPHASMS, "campaign", "create", "l", "--to-file", str(listed), "--yes", "Hi"], env=env,
                          capture_output=True, text=True, timeout=60)
    assert made.returncode == 0 and "3 recipient(s) stored" in made.stdout, made.stderr
    assert "+380970000001 is given 2 times" in made.stderr and "+380970000002 is given 2 times" in made.stderr
    made = subprocess.run([ALPHASMS, "campaign", "create", "t", "--csv", str(table), "--yes", "Hi {name}"], env=env,
                          capture_output=True, text=True, timeout=60)
    assert made.returncode == 0 and "2 recipient(s) stored" in made.stdout, made.stderr
    assert "+380970000001 is on 2 rows (lines 2, 3)" in made.stderr
    for name in ("l", "t"):
        assert subprocess.run([ALPHASMS, "campaign", "run", name], env=env, capture_output=True,
                              timeout=60).returncode == 0
    assert sorted(m["phone"] for m in alphasms_sandbox.messages()) == [380970000001, 380970000001, 380970000001,
                                                                        380970000002, 380970000003]


def test_the_preview_counts_the_same_whether_the_campaign_is_all_sms_or_mixed():
    from alphasms_notify import Sms, Viber
    from alphasms_notify.campaign.estimate import estimate

    long_ua = "Знижка " * 20  # 140 characters of UCS-2: three parts of 67
    sms = [Sms(380970000001, "Sale today"), Sms(380970000002, "Sale today"), Sms(380970000003, long_ua)]
    only = estimate(sms)
    assert (only.recipients, only.texts, only.sms_parts, only.viber) == (3, 2, {"GSM-7": 2, "UCS-2": 3}, 0)
    mixed = estimate([*sms, Viber(380970000004, "Hi")])
    assert (mixed.recipients, mixed.texts, mixed.sms_parts, mixed.viber) == (4, 3, {"GSM-7": 2, "UCS-2": 3}, 1)
