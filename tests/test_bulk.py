"""Bulk sends from the command line: the async road keeps every guarantee, the output scales.

``alphasms send --to-file`` sends with the async client (``max_concurrency``
requests in flight); these run the real command against the sandbox.
"""

from __future__ import annotations

import json
import subprocess
import sys

from helpers import ALPHASMS, sandbox_env

HOOK_PLUGIN = '''
import json, os
from alphasms_notify import hookimpl

@hookimpl
def alphasms_prepare_message(message):
    message.meta["prepared"] = True

@hookimpl
def alphasms_message_sent(message, result):
    with open(os.environ["SEEN_FILE"], "a") as f:
        f.write(json.dumps([message.id, message.phone, result.ok, message.meta.get("prepared")]) + "\\n")
'''


def phones(n: int, start: int = 0) -> list[str]:
    return [str(380970000000 + start + i) for i in range(n)]


def run(sandbox, *args, stdin=None, **env):
    return subprocess.run([ALPHASMS, *args], capture_output=True, text=True, timeout=120, input=stdin,
                          env=sandbox_env(sandbox, **env))


def test_hooks_and_tracking_see_every_message_and_results_keep_the_order(alphasms_sandbox, tmp_path):
    from alphasms_notify.store import Store

    (tmp_path / "plugins").mkdir()
    (tmp_path / "plugins" / "watch.py").write_text(HOOK_PLUGIN)
    numbers = phones(1500)
    (tmp_path / "to.txt").write_text("\n".join(numbers))
    done = run(alphasms_sandbox, "--json", "send", "--to-file", str(tmp_path / "to.txt"), "Sale!",
               ALPHASMS_NOTIFY_PLUGINS_DIR=str(tmp_path / "plugins"), SEEN_FILE=str(tmp_path / "seen.jsonl"),
               ALPHASMS_STORE_PATH=str(tmp_path / "s.sqlite3"), ALPHASMS_NOTIFY_LOAD_PLUGINS="watch")
    assert done.returncode == 0, done.stderr
    results = json.loads(done.stdout)["results"]
    assert [str(r["phone"]) for r in results] == numbers  # the request order, though 4 requests were in flight
    seen = [json.loads(line) for line in (tmp_path / "seen.jsonl").read_text().splitlines()]
    assert sorted(str(s[1]) for s in seen) == numbers and all(s[2] and s[3] for s in seen)  # each once
    assert sorted(s[0] for s in seen) == sorted(r["id"] for r in results)
    store = Store(tmp_path / "s.sqlite3")
    assert sorted(m.id for m in store.messages.active()) == sorted(r["id"] for r in results)
    sent = alphasms_sandbox.messages()
    assert len(sent) == 1500 and len({m["id"] for m in sent}) == 1500  # none twice
    requests = [r for r in alphasms_sandbox.requests() if r.get("data")]
    assert len(requests) == 4  # batches that grow: 100, 200, 400, 800


def test_batches_grow_unless_a_batch_size_is_set(alphasms_sandbox):
    from alphasms_notify import AlphaSMS, Sms

    def sizes(**options):
        alphasms_sandbox.reset()
        with AlphaSMS(alphasms_sandbox.key, alphasms_sandbox.api_url, sms_sender="Shop", **options) as client:
            outcomes = client.send([Sms(p, "Sale") for p in phones(3700)])
        assert all(o.ok for o in outcomes) and [o.message.phone for o in outcomes] == [int(p) for p in phones(3700)]
        assert len({m["id"] for m in alphasms_sandbox.messages()}) == 3700  # each once
        return [len(r["data"]) for r in alphasms_sandbox.requests() if r.get("data")]

    assert sizes() == [100, 200, 400, 800, 1000, 1000, 200]  # up to DEFAULT_MAX_BATCH_SIZE
    assert sizes(batch_size=500) == [500] * 7 + [200]  # a batch_size set keeps its meaning
    assert sizes(max_batch_size=300) == [100, 200] + [300] * 11 + [100]


def test_a_clients_next_send_starts_where_its_last_one_got_to_unless_a_request_failed(alphasms_sandbox):
    """A client that keeps sending (a campaign runner, a bot) posts its next send at the size its last one
    reached, not from 100 again; after a failed request it starts small again, and a small send resets it."""
    from alphasms_notify import AlphaSMS, RequestError, Sms

    def sizes(client, n, start=0, fault=False):
        alphasms_sandbox.reset()
        if fault:
            alphasms_sandbox.fault("http500", count=1)
        try:
            client.send([Sms(p, "Sale") for p in phones(n, start)])
        except RequestError:
            pass
        return [len(r["data"]) for r in alphasms_sandbox.requests() if r.get("data")]

    with AlphaSMS(alphasms_sandbox.key, alphasms_sandbox.api_url, sms_sender="Shop", retries=0) as client:
        assert sizes(client, 1500) == [100, 200, 400, 800]
        assert sizes(client, 2500, 10_000) == [800, 1000, 700]  # from where the last send got to
        assert sizes(client, 2500, 20_000) == [1000, 1000, 500]
        assert sizes(client, 2500, 30_000, fault=True) == [1000]  # failed: the rest not sent, the next starts small
        assert sizes(client, 400, 40_000) == [100, 200, 100]
        assert sizes(client, 3, 50_000) == [3]
        assert sizes(client, 400, 60_000) == [100, 200, 100]  # a send of three reached three: from 100


def test_above_a_screenful_a_summary_and_the_problems_verbose_every_line(alphasms_sandbox, tmp_path):
    REJECTED = 380441234567  # noqa: N806 - a Kyiv landline: a valid number, which the provider refuses for SMS
    numbers = phones(30) + [str(REJECTED)]
    (tmp_path / "to.txt").write_text("\n".join(numbers))
    short = run(alphasms_sandbox, "send", "--to-file", str(tmp_path / "to.txt"), "Hi")
    assert short.returncode == 1
    assert short.stdout.count("\n") == 1 and "sent 30 of 31, 1 failed; 30 parts" in short.stdout
    assert f"FAILED {REJECTED}" in short.stderr and "sent 380970000000" not in short.stdout
    verbose = run(alphasms_sandbox, "send", "--verbose", "--to-file", str(tmp_path / "to.txt"), "Hi")
    assert verbose.stdout.count("\nsent 3809") + verbose.stdout.startswith("sent 3809") == 30
    assert f"FAILED {REJECTED}" in verbose.stderr
    small = run(alphasms_sandbox, "send", "--to", "0971234567", "--to", "0501234567", "Hi")
    assert small.stdout.count("sent 380") == 2  # up to a screenful: a line each, as always


def test_a_batch_with_one_bad_number_sends_nothing_and_names_it(alphasms_sandbox, tmp_path):
    numbers = phones(250)
    numbers[137] = "+380 12"
    (tmp_path / "to.txt").write_text("\n".join(numbers))
    done = run(alphasms_sandbox, "send", "--to-file", str(tmp_path / "to.txt"), "Hi")
    assert done.returncode == 2 and "message 138" in done.stderr and "'+380 12'" in done.stderr
    assert alphasms_sandbox.messages() == []


def test_one_text_checked_once_but_too_long_for_everyone_is_refused_for_everyone(alphasms_sandbox, tmp_path):
    (tmp_path / "to.txt").write_text("\n".join(phones(40)))
    done = run(alphasms_sandbox, "send", "--to-file", str(tmp_path / "to.txt"), "ї" * 2000)
    assert done.returncode == 2 and done.stderr.count("max_parts") >= 1
    assert alphasms_sandbox.messages() == []


ECO_PLUGIN = '''
from alphasms_notify import hookimpl

@hookimpl
def alphasms_prepare_message(message):
    message.text = message.text + " [eco]"
'''


def test_the_preview_counts_what_the_plugins_made_of_the_text(alphasms_sandbox, tmp_path):
    (tmp_path / "plugins").mkdir()
    (tmp_path / "plugins" / "eco.py").write_text(ECO_PLUGIN)
    done = run(alphasms_sandbox, "send", "--to", "0971234567", "x" * 158,
               ALPHASMS_NOTIFY_PLUGINS_DIR=str(tmp_path / "plugins"), ALPHASMS_NOTIFY_LOAD_PLUGINS="eco")
    assert done.returncode == 0, done.stderr
    assert "SMS 2 parts" in done.stderr, done.stderr  # 158 + 6 characters: two parts, as sent
    [sent] = alphasms_sandbox.messages()
    assert sent["item"]["sms_message"].endswith(" [eco]") and sent["parts"] == 2


def test_when_the_balance_runs_out_the_rest_is_not_posted_and_the_failures_are_grouped(alphasms_sandbox, tmp_path):
    alphasms_sandbox.balance("225.00")  # 150 one-part SMS at 1.50
    numbers = phones(3000)
    (tmp_path / "to.txt").write_text("\n".join(numbers))
    done = run(alphasms_sandbox, "send", "--to-file", str(tmp_path / "to.txt"), "Sale!")
    assert done.returncode == 1
    posted = [r for r in alphasms_sandbox.requests() if r.get("data")]
    assert len(alphasms_sandbox.messages()) == 150
    assert len(posted) <= 8, len(posted)  # the batches in flight when the money ran out, not all 30
    lines = done.stderr.splitlines()
    assert len(lines) <= 4, done.stderr  # one line per reason, not 2,850
    funds = next(line for line in lines if "failed: Insufficient funds (" in line)
    later = next(line for line in lines if "not sent: an earlier message of this send got 'Insufficient funds'" in line)
    counted = [int(line.split(" failed")[0].replace(",", "")) for line in (funds, later)]
    assert sum(counted) == 2850 and "..." in later
    assert "sent 150 of 3000, 2850 failed" in done.stdout
    # every one in --json, and the ones not posted can simply be sent again later
    alphasms_sandbox.reset()
    alphasms_sandbox.balance("3.00")
    as_json = run(alphasms_sandbox, "--json", "send", "--to-file", str(tmp_path / "to.txt"), "Sale!")
    results = json.loads(as_json.stdout)["results"]
    assert len(results) == 3000 and sum(r["ok"] for r in results) == 2
    assert sum("send it again later" in r.get("error", "") for r in results) >= 200


def test_the_library_stops_posting_batches_after_insufficient_funds(alphasms_sandbox):
    from alphasms_notify import AlphaSMS, Sms

    alphasms_sandbox.balance("22.50")  # 15 SMS
    with AlphaSMS(alphasms_sandbox.key, alphasms_sandbox.api_url, sms_sender="Shop", batch_size=10) as sms:
        outcomes = sms.send([Sms(p, "Sale!") for p in phones(100)])
    assert [o.ok for o in outcomes] == [True] * 15 + [False] * 85
    assert [o.error for o in outcomes[15:20]] == ["Insufficient funds"] * 5
    assert all(o.error.startswith("not sent: an earlier message") and not o.unknown for o in outcomes[20:])
    assert len([r for r in alphasms_sandbox.requests() if r.get("data")]) == 2


GC_PROBE = '''
import gc, sys, weakref
from alphasms_notify.cli.sending import bulk_mode, exits_after_command

class Node:
    pass

def send_like():
    with bulk_mode():
        assert not gc.isenabled()
        node = Node()
        node.me = node  # a cycle: only the collector frees it
        ref = weakref.ref(node)
        del node
    gc.collect()
    return gc.isenabled(), ref() is None

if sys.argv[1] == "command":
    exits_after_command()
print(*send_like())
'''


def test_a_send_command_leaves_the_collector_on_and_skips_its_last_pass_only_in_its_own_process(tmp_path):
    """The send commands pause the collector; it is on again after (an in-process caller keeps collecting
    what the send made), and only the alphasms process itself skips a last pass over what it will free."""
    probe = tmp_path / "probe.py"
    probe.write_text(GC_PROBE)
    caller = subprocess.run([sys.executable, str(probe), "caller"], capture_output=True, text=True, timeout=60)
    assert caller.returncode == 0, caller.stderr
    assert caller.stdout.split() == ["True", "True"]  # collecting again, and the cycle is freed
    command = subprocess.run([sys.executable, str(probe), "command"], capture_output=True, text=True, timeout=60)
    assert command.returncode == 0, command.stderr
    assert command.stdout.split() == ["True", "False"]  # collecting, but what the send made is left for the exit
