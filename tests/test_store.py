"""The store's behaviour, run against both engines: a SQLite file and a real PostgreSQL server.

Each test gets a ``target`` (a path or a ``postgresql://`` URL) and opens as
many ``Store`` objects on it as it needs: two of them are two bot instances.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest

from alphasms_notify import Sms, Viber
from alphasms_notify.migrations import LATEST
from alphasms_notify.results import Media, Outcome, Reply, SendResult
from alphasms_notify.store import FORWARD, NOTICE, POLL, Contact, Store
from alphasms_notify.store.codes import Limits


@pytest.fixture(params=["sqlite", "postgresql"])
def target(request, tmp_path):
    if request.param == "sqlite":
        return str(tmp_path / "store.sqlite3")
    return request.getfixturevalue("postgres_url")


def sent(message, message_id: int) -> Outcome:
    message.id = message_id
    return Outcome(message, True, SendResult(message_id, None, 1, message.phone, None))


def reply(text: str | None, minute: int = 0, media: Media | None = None) -> Reply:
    return Reply(datetime(2026, 11, 29, 10, minute, tzinfo=UTC), text, media)


@pytest.fixture
def store(target):
    opened = Store(target)
    yield opened
    opened.close()


def test_a_new_store_is_migrated_to_the_latest_version_once(target):
    first = Store(target)
    assert first.schema_version() == LATEST
    assert all(applied for _, _, applied in first.migrations())
    assert first.migrate() == []  # nothing left to do
    first.close()
    untouched = Store(target, migrate=False)
    assert untouched.schema_version() == LATEST
    untouched.close()


def test_two_processes_opening_a_new_store_at_once_both_work(target):
    errors = []

    def open_it():
        try:
            Store(target).close()
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=open_it) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    store = Store(target)
    assert [v for v, _, _ in store.migrations()] == list(range(1, LATEST + 1))
    store.close()


def test_tracked_messages_round_trip_in_order(store):
    outcomes = [sent(Sms(380971234560 + i, f"text {i} ✓"), 1000 + i) for i in range(5)]
    assert store.messages.track(outcomes, source="cli", chat_id=-100, anchor_id=7, thread_id=3) == 5
    assert store.messages.track(outcomes, source="cli") == 5  # again: ignored, not doubled
    active = store.messages.active()
    assert [m.id for m in active] == [1000, 1001, 1002, 1003, 1004]
    assert (active[0].text, active[0].source, active[0].chat_id, active[0].anchor_id, active[0].thread_id) == (
        "text 0 ✓", "cli", -100, 7, 3)
    assert [m.id for m in store.messages.by_ids([1003, 1001, 999])] == [1003, 1001]
    store.messages.set_status(1001, "DELIVERED", "sms", done=True)
    store.messages.finish([1002])
    assert [m.id for m in store.messages.active()] == [1000, 1003, 1004]
    assert store.messages.get(1001).status == "DELIVERED" and store.messages.get(1001).done
    assert [m.id for m in store.messages.latest_to(380971234563)] == [1003]
    big = 2**63 - 1  # the largest id the provider takes
    store.messages.track([sent(Viber(380501234567, "x"), big)], source="bot")
    assert store.messages.get(big).type == "viber"


def test_text_the_engines_might_choke_on_is_kept(store):
    odd = "nul\x00byte 😀 " + "ї" * 5000
    store.messages.track([sent(Sms(380971234567, "ok"), 5)], source="cli")
    [added] = store.replies.add(5, [reply(odd)])
    [back] = store.replies.unforwarded()
    assert back.reply.message.replace("\ufffd", "\x00") == odd  # PostgreSQL keeps a NUL's place as U+FFFD


def test_replies_are_stored_once_also_when_two_instances_add_them_at_once(target):
    a, b = Store(target), Store(target)
    a.messages.track([sent(Viber(380971234567, "hi"), 77)], source="bot")
    replies = [reply(f"r{i}", i) for i in range(20)]
    with ThreadPoolExecutor(2) as pool:
        got = list(pool.map(lambda s: s.replies.add(77, replies), [a, b]))
    assert sorted(r.seq for batch in got for r in batch) == list(range(20))  # each inserted (and hooked) once
    assert a.replies.add(77, replies + [reply("new", 30)])[0].seq == 20
    media = Media("https://x/a.jpg", "a.jpg", 123)
    a.replies.add(77, replies + [reply("new", 30), reply(None, 31, media)])
    assert a.replies.unforwarded([77])[-1].reply.media == media
    a.close()
    b.close()


def test_forwarding_marks(store):
    store.messages.track([sent(Viber(380971234567, "hi"), 9)], source="bot", chat_id=42)
    store.replies.add(9, [reply("a"), reply("b", 1)])
    store.replies.mark_forwarding(9, 0)
    assert store.replies.is_inflight(9, 0)
    store.replies.forward_failed(9, 0, "timed out", refused=False)
    assert store.replies.is_inflight(9, 0)  # it may have been posted: the mark stays
    store.replies.forward_failed(9, 0, "Bad Request", refused=True)
    assert not store.replies.is_inflight(9, 0)
    store.replies.mark_forwarded(9, 0, 42, 555, 8)
    assert store.replies.is_forwarded(9, 0) and not store.replies.is_forwarded(9, 1)
    assert store.replies.message_for_forward(42, 555).id == 9
    assert [r.seq for r in store.replies.unforwarded()] == [1]
    store.replies.mark_hooked(9, 0)
    assert [r.seq for r in store.replies.unhooked()] == [1]


def test_two_instances_claim_disjoint_work_that_covers_everything(target):
    a, b = Store(target), Store(target)
    a.messages.track([sent(Sms(380970000000 + i, "x"), i + 1) for i in range(3000)], source="bench")
    taken: dict[str, list[int]] = {"a": [], "b": []}

    def drain(name, store):
        while ids := store.leases.claim(POLL, name, 60, limit=250):
            taken[name] += ids

    threads = [threading.Thread(target=drain, args=(n, s)) for n, s in (("a", a), ("b", b))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not set(taken["a"]) & set(taken["b"])
    assert sorted(taken["a"] + taken["b"]) == list(range(1, 3001))
    assert a.leases.claim(POLL, "a", 60) == [] and b.leases.claim(POLL, "b", 60) == []  # all held until the leases end
    a.close()
    b.close()


def test_a_dead_instances_lease_is_taken_over_when_it_ends_and_a_released_one_at_once(target):
    a, b = Store(target), Store(target)
    a.messages.track([sent(Sms(380971234567, "x"), 1), sent(Sms(380971234568, "y"), 2)], source="cli")
    assert a.leases.claim(POLL, "dead", 0.5) == [1, 2]
    assert b.leases.claim(POLL, "alive", 10) == []
    time.sleep(0.6)
    assert b.leases.claim(POLL, "alive", 10) == [1, 2]
    b.leases.release(POLL, [1], "alive")
    assert a.leases.claim(POLL, "other", 10) == [1]
    b.leases.release(POLL, [2], "not-the-owner")  # only the owner gives a lease back
    assert a.leases.claim(POLL, "other", 10) == []
    a.close()
    b.close()


def test_try_lease_is_a_mutex_the_owner_renews(store):
    assert store.leases.try_lease(FORWARD, 5, "a", 10)
    assert not store.leases.try_lease(FORWARD, 5, "b", 10)
    assert store.leases.try_lease(FORWARD, 5, "a", 10)  # renewed
    store.leases.release(FORWARD, [5], "a")
    assert store.leases.try_lease(FORWARD, 5, "b", 10)


def test_notices_are_claimed_from_a_moment_on(store):
    store.messages.track([sent(Sms(380971234567, "old"), 1)], source="cli")
    since = time.time()
    time.sleep(0.01)
    store.messages.track([sent(Sms(380971234567, "new"), 2)], source="cli")
    assert store.leases.claim(NOTICE, "a", 10, since=since) == [2]
    store.messages.mark_noticed(2, -100, 50, 7)
    store.leases.release(NOTICE, [2], "a")
    assert store.leases.claim(NOTICE, "a", 10, since=since) == []
    assert store.messages.get(2).notice_id == 50


def test_a_pending_send_is_taken_by_one_of_many_presses(target):
    first = Store(target)
    first.bot.save_pending("abc", "payload", time.time())
    stores = [Store(target) for _ in range(6)]
    with ThreadPoolExecutor(6) as pool:
        got = list(pool.map(lambda s: s.bot.take_pending("abc", "sending"), stores))
    assert got.count("payload") == 1 and got.count(None) == 5
    assert first.bot.take_pending("abc", "cancelled") is None
    for s in [first, *stores]:
        s.close()


def test_an_update_is_seen_first_by_one_instance(target):
    a, b = Store(target), Store(target)
    assert a.bot.first_sight(1, 500) and not b.bot.first_sight(1, 500) and not a.bot.first_sight(1, 500)
    assert b.bot.first_sight(2, 500)  # another bot's update 500
    a.close()
    b.close()


def test_topics_contacts_settings_and_codes(store):
    store.topics.save(-100, 380971234567, 11, "+380 97 123 45 67")
    store.topics.update(-100, 380971234567, closed=True, name="Olena · +380 97 123 45 67")
    topic = store.topics.get(-100, 380971234567)
    assert (topic.thread_id, topic.closed, topic.name) == (11, True, "Olena · +380 97 123 45 67")
    assert store.topics.by_thread(-100, 11).phone == 380971234567
    store.topics.save(-100, 380971234567, 12, "+380 97 123 45 67")  # made anew
    assert store.topics.get(-100, 380971234567).thread_id == 12 and store.topics.by_thread(-100, 11) is None
    store.topics.forget(-100, 380971234567)
    assert store.topics.all(-100) == []
    store.contacts.save([Contact(380971234567, "Олена", {"city": "Київ"}), Contact(380501234567, None, {})])
    store.contacts.set_name(380501234567, "Taras")
    assert [(c.phone, c.name, c.fields) for c in store.contacts.all()] == [
        (380501234567, "Taras", {}), (380971234567, "Олена", {"city": "Київ"})]
    assert store.bot.setting_once("k", "1") == "1" and store.bot.setting_once("k", "2") == "1"
    now = time.time()
    limits = Limits(cooldown=0.5, phone_hourly=2, caller_hourly=10, global_hourly=100)
    assert store.codes.reserve(380971234567, "1.2.3.4", now, limits) == ("ok", 0)
    assert store.codes.reserve(380971234567, "1.2.3.4", now + 0.1, limits) == ("cooldown", pytest.approx(0.4))
    store.codes.save(380971234567, "hash", "salt", "sms", now, now + 300)
    never = lambda row: False  # noqa: E731
    assert store.codes.check(380971234567, now, 5, never) == ("wrong", 1)
    assert store.codes.check(380971234567, now, 5, never) == ("wrong", 2)
    assert store.codes.check(380971234567, now + 301, 5, never) == ("expired", 2)
    assert store.codes.check(380971234567, now, 2, never) == ("locked", 2)
    assert store.codes.reserve(380971234567, None, now + 1, limits) == ("ok", 0)
    store.codes.save(380971234567, "hash2", "salt2", "sms", now + 1, now + 301)
    row = store.codes.get(380971234567)
    assert (row["code_hash"], row["attempts"]) == ("hash2", 0)
    assert store.codes.sends_since(380971234567, now - 1) == [now, now + 1]
    assert store.codes.check(380971234567, now + 1, 5, lambda row: row["code_hash"] == "hash2") == (
        "approved", 0)
    assert store.codes.check(380971234567, now + 1, 5, lambda row: True) == ("none", 0)
    assert store.codes.get(380971234567) is None
    assert store.codes.reserve(380971234567, None, now + 2, limits) == ("phone", pytest.approx(3598))
    store.codes.release(380971234567, now + 1)  # a claimed send that did not go out
    assert store.codes.reserve(380971234567, None, now + 2, limits) == ("ok", 0)
    store.codes.save(380971234567, "hash3", "salt3", "sms", now + 2, now + 302)
    assert store.codes.cancel(380971234567, now + 3) and not store.codes.cancel(380971234567, now + 3)
    assert store.codes.check(380971234567, now + 3, 5, lambda row: True) == ("canceled", 0)
    assert store.codes.count_check("5.6.7.8", now, 2) and store.codes.count_check("5.6.7.8", now, 2)
    assert not store.codes.count_check("5.6.7.8", now, 2) and store.codes.count_check("other", now, 2)
    assert store.counts()["tracked messages"] == 0


def test_rows_written_in_statements_of_many_rows_each_are_all_written_as_one_by_one(store, monkeypatch):
    """SQLite writes a batch of rows as statements of many rows each (not one step a row); cut into small
    statements here, the result is what row by row gives: every row, duplicates resolved in order."""
    import alphasms_notify.sqltext as sqltext

    monkeypatch.setattr(sqltext, "MAX_VARIABLES", 40)  # ten contacts, or three messages, a statement
    contacts = [Contact(380970000000 + i, f"n{i}", {"i": str(i)}) for i in range(95)]
    contacts.append(Contact(380970000007, "again", {}))  # later in the same batch: it wins
    assert store.contacts.save(contacts) == 96
    assert len(store.contacts.all()) == 95 and store.contacts.get(380970000007).name == "again"
    outcomes = [sent(Sms(380970000000 + i, f"hi {i}"), 10_000 + i) for i in range(50)]
    assert store.messages.track(outcomes + outcomes[:5], source="cli") == 55  # a retry's repeats: no error
    assert [m.id for m in store.messages.by_ids([10_000 + i for i in range(50)])] == [10_000 + i for i in range(50)]
    with store._db.tx() as tx:  # an UPDATE of many rows goes row by row, as before
        tx.many("UPDATE messages SET done = 1 WHERE id = ?", [(10_000 + i,) for i in range(10)])
    assert store.messages.count_active() == 40


def test_a_poll_claim_gives_the_stored_messages_and_statuses_are_kept_as_the_provider_said(store):
    """A claim reads its rows as tuples (not dicts), and PostgreSQL's status updates go as one JSON text:
    neither may change a field, whatever a provider (or someone posing as one) puts in a status."""
    sms = Sms(380971234567, "link", unsubscribe_link=True)
    store.messages.track([sent(sms, 1)], source="cli", chat_id=-100, anchor_id=7, thread_id=3, react=True)
    store.messages.track([sent(Viber(380501234567, None, image="https://x/a.png"), 2),
                          sent(Viber(380501234568, "ok"), 3)], source="campaign:sale")
    store.messages.set_statuses([(3, "DELIVERED", "viber", False)])
    claimed = store.leases.claim_polls("me", 60, 10)
    assert claimed == [store.messages.get(i) for i in (1, 2, 3)]
    assert (claimed[0].follow_replies, claimed[0].react, claimed[0].thread_id, claimed[2].status) == (
        True, True, 3, "DELIVERED")
    odd = ['NOT SENT', 'a"b\\c,{x}\'', "nul\x00byte", "ї😀 " * 300]
    store.messages.set_statuses([(1, odd[0], "sms", True), (2, odd[1], "vi\\ber", False), (3, odd[2], odd[3], False)])
    got = [store.messages.get(i) for i in (1, 2, 3)]
    nul = odd[2].replace("\x00", "\ufffd") if store._db.engine == "postgresql" else odd[2]  # as for replies
    assert [(m.status, m.status_type, m.done) for m in got] == [
        (odd[0], "sms", True), (odd[1], "vi\\ber", False), (nul, odd[3], False)]
    assert store.leases.claim_polls("other", 60, 10) == []  # all three are mine until the lease ends


def test_status_updates_and_lease_renewals_leave_indexes_alone_on_postgresql(target):
    """Migration 15: half of each new page of messages and leases is room for their rows' new versions."""
    store = Store(target)
    if store._db.engine != "postgresql":
        assert store.schema_version() == LATEST  # recorded, with nothing to do on SQLite
        store.close()
        return
    options = {r["relname"]: r["reloptions"] for r in store._db.all(
        "SELECT relname, reloptions FROM pg_class WHERE relname IN ('messages', 'leases')")}
    assert options == {"messages": ["fillfactor=50"], "leases": ["fillfactor=50"]}
    store.messages.track([sent(Viber(380501234567 + i, "x"), 100 + i) for i in range(500)], source="bot")

    def pages() -> dict[int, str]:
        return {r["id"]: r["page"] for r in store._db.all("SELECT id, split_part(ctid::text, ',', 1) AS page"
                                                          " FROM messages")}

    before = pages()
    store.messages.set_statuses([(100 + i, "DELIVERED", "viber", False) for i in range(500)])
    after = pages()
    store.close()
    stayed = sum(before[i] == after[i] for i in before)
    # 401 here; on full pages (fillfactor 100) none stays: 0, measured
    assert stayed >= 300, f"{stayed} of 500 updated rows stayed on their page"


def test_a_poll_claim_that_loses_every_row_it_found_to_another_instance_goes_on(store, monkeypatch):
    """On PostgreSQL a claim can find free rows whose lease another instance commits before this claim leases
    them: it gets none of them. An empty answer would end this instance's cycle with work left (one of two
    instances stopped early and the other polled alone); the claim goes on from the last row it found."""
    from alphasms_notify.store.leases import Leases

    store.messages.track([sent(Viber(380501234567 + i, "x"), 1 + i) for i in range(6)], source="bot")
    real = Leases._lease
    raced: list[list[int]] = []

    def lease(tx, kind, keys, owner, now, until, *, renew=False):
        if not raced:  # the other instance's lease commits first
            raced.append(list(keys))
            real(tx, kind, keys, "other", now, until)
        return real(tx, kind, keys, owner, now, until, renew=renew)

    monkeypatch.setattr(Leases, "_lease", staticmethod(lease))
    claimed = store.leases.claim_polls("me", 60, 3)
    assert raced == [[1, 2, 3]]
    assert [m.id for m in claimed] == [4, 5, 6]
    assert store.leases.claim_polls("me", 60, 3, after=(claimed[-1].created_at, 6)) == []  # nothing left


def test_claims_on_postgresql_are_not_compiled_with_llvm_first(postgres_url):
    """The plans a claim turns off still get a cost, so high that the server compiled the statement with LLVM
    (JIT) before running it: 115 ms of a hook claim that takes 0.1 ms, each instance, each poll cycle."""
    from alphasms_notify.store.leases import _CANDIDATES, HOOK

    store = Store(postgres_url)
    store.messages.track([sent(Viber(380501234567 + i, "x"), 1 + i) for i in range(200)], source="bot")
    store._db.all("ANALYZE messages")
    now = time.time()
    explain = "EXPLAIN (ANALYZE) " + _CANDIDATES[HOOK] + store._db.skip_locked

    def plan(prelude: tuple[str, ...]) -> str:
        with store._db.tx() as tx:
            for statement in prelude:
                tx.run(statement)
            return "\n".join(r["QUERY PLAN"] for r in tx.all(explain, (HOOK, now, now, 1000)))

    with_jit = plan(tuple(s.replace("set_config('jit', 'off', true), ", "") for s in store._db.claim_prelude))
    if store._db.one("SELECT pg_jit_available() AS yes")["yes"]:  # Debian's server has it: the test means something
        assert "JIT:" in with_jit
    assert "JIT:" not in plan(store._db.claim_prelude)
    store.close()


def test_rows_inserted_together_keep_every_value_as_given(store, monkeypatch):
    """On PostgreSQL an INSERT of many rows reads them from one JSON text; each value must come back as a
    row-by-row insert stores it (a NUL in text as U+FFFD, as always there), and a value JSON would change
    (a NaN) sends the rows one by one instead."""
    import math

    import alphasms_notify.sqltext as sqltext

    odd = "nul\x00 \"quoted\" back\\slash ї😀 {a,b} " + "x" * 3000
    now = time.time()
    monkeypatch.setattr(time, "time", lambda: now)
    big = 2**63 - 1
    pg = store._db.engine == "postgresql"
    calls: list[object] = []
    real = sqltext._json_value
    monkeypatch.setattr(sqltext, "_json_value", lambda v: calls.append(v) or real(v))
    outcomes = [sent(Sms(380971234567, odd), big), sent(Sms(380971234568, "ok", unsubscribe_link=True), 1)]
    assert store.messages.track(outcomes + outcomes[:1], source="src'; --", chat_id=-100, thread_id=None) == 3
    assert bool(calls) == pg  # PostgreSQL's rows went as JSON
    back = store.messages.get(big)
    assert back.text == (odd.replace("\x00", "\ufffd") if pg else odd)
    assert (back.source, back.chat_id, back.thread_id, back.created_at, back.follow_replies) == (
        "src'; --", -100, None, now, False)
    assert store.messages.get(1).follow_replies is True
    if pg:  # a NaN goes row by row (JSON would make it null)
        calls.clear()
        with store._db.tx() as tx:
            tx.run("CREATE TABLE floats (id BIGINT PRIMARY KEY, x DOUBLE PRECISION)")
            tx.many("INSERT INTO floats (id, x) VALUES (?, ?)", [(1, 0.1), (2, math.nan), (3, None)])
        rows = store._db.all("SELECT id, x FROM floats ORDER BY id")
        assert [r["x"] for r in rows][0] == 0.1 and math.isnan(rows[1]["x"]) and rows[2]["x"] is None
        assert calls  # the JSON path was tried first


def test_rows_named_by_number_are_compared_as_their_own_type(target):
    """``int_among``: on PostgreSQL one array, read as the column's own type (an INTEGER column against a bigint
    array is compared without hashing, each of 8,000 values against every row: 2.4 s a claim); on SQLite lists
    of at most 500 placeholders."""
    from alphasms_notify.sqltext import int_among

    store = Store(target)
    assert list(int_among("postgresql", "seq", [])) == list(int_among("sqlite", "seq", [])) == []  # no statement
    if store._db.engine == "sqlite":
        parts = list(int_among("sqlite", "seq", list(range(1200))))
        assert [len(args) for _, args in parts] == [500, 500, 200] and parts[0][0].startswith("seq IN (?, ?")
        store.close()
        return
    with store._db.tx() as tx:
        tx.run("CREATE TABLE numbered (seq INTEGER PRIMARY KEY, big BIGINT NOT NULL)")
        tx.many("INSERT INTO numbered (seq, big) VALUES (?, ?)", [(i, 2**40 + i) for i in range(100)])
    for column, kind in (("seq", "integer[]"), ("big", "bigint[]")):
        [(among, args)] = int_among("postgresql", column, [3, 5, 2**40 + 7] if column == "big" else [3, 5, 7])
        plan = "\n".join(r["QUERY PLAN"] for r in store._db.all(f"EXPLAIN VERBOSE SELECT * FROM numbered WHERE {among}",
                                                                 args))
        assert f"::{kind}" in plan, plan
        assert len(store._db.all(f"SELECT * FROM numbered WHERE {among}", args)) == (1 if column == "big" else 3)
    store.close()
