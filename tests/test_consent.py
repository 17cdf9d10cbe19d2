"""Consent: an opted-out phone is refused on every road, STOP replies opt out (once confirmed), and the
provider's own unsubscribe, short-link and hook options reach it as named."""

from __future__ import annotations

import asyncio
import subprocess

import pytest
from conftest import BOT_POLL
from helpers import ALPHASMS, OPERATOR, last_text, sandbox_env, texts, until

from alphasms_notify import Sms
from alphasms_notify.consent import is_stop_word
from alphasms_notify.sections import DEFAULT_STOP_WORDS

MARKETING_OUT, ALL_OUT, FREE = "380971111111", "380972222222", "380973333333"


def _cli(env, *args, stdin=None):
    return subprocess.run([ALPHASMS, *args], capture_output=True, text=True, timeout=60, env=env, input=stdin)


def _to(sandbox, phone):
    return [m for m in sandbox.messages() if str(m["phone"]) == phone]


def test_stop_words_are_the_whole_reply_whatever_its_case_punctuation_and_look_alikes():
    for said in ("СТОП!", "стоп", " Stop 🙏", "STOP.", "CTOП", "stоp", "Відписатися", "unsubscribe!!", "«стоп»"):
        assert is_stop_word(said, DEFAULT_STOP_WORDS), said
    for said in ("can't stop laughing", "stop the order please", "стопка", "", None, "🙏", "не стоп"):
        assert not is_stop_word(said, DEFAULT_STOP_WORDS), said


def test_an_opted_out_phone_is_refused_on_every_road(alphasms_sandbox, tmp_path, monkeypatch):
    env = sandbox_env(alphasms_sandbox, ALPHASMS_STORE_PATH=str(tmp_path / "s.sqlite3"))
    imported = _cli(env, "optout", "import", "-", stdin=f"phone,scope,note\n{MARKETING_OUT},,asked by phone\n"
                                                      f"{ALL_OUT},all,\n")
    assert imported.returncode == 0 and "2 phone(s) opted out" in imported.stdout
    # CLI send: a marketing message is refused, saying since when; a service one passes a marketing opt-out
    refused = _cli(env, "send", "--category", "marketing", "--to", MARKETING_OUT, "Sale!")
    assert refused.returncode != 0 and "opted out (since 20" in refused.stdout + refused.stderr
    assert _cli(env, "send", "--to", MARKETING_OUT, "Your order shipped").returncode == 0  # service
    everything = _cli(env, "send", "--to", ALL_OUT, "Your order shipped")
    assert everything.returncode != 0 and "opted out of all messages" in everything.stdout + everything.stderr
    # templates are marketing by default
    (tmp_path / "rows.csv").write_text(f"phone,name\n{MARKETING_OUT},A\n{FREE},B\n")
    template = _cli(env, "send-template", "--csv", str(tmp_path / "rows.csv"), "--yes", "Hi {name}, sale!")
    assert "opted out" in template.stdout + template.stderr
    # Apprise, marketing by its URL
    apprise = subprocess.run(["apprise", "-vv", "-b", "Sale!", f"alphasms://{alphasms_sandbox.key}@Shop/{MARKETING_OUT}"
                              f"?category=marketing&endpoint={alphasms_sandbox.api_url}"],
                             capture_output=True, text=True, timeout=60, env=env)
    assert apprise.returncode != 0 and "opted out" in apprise.stdout + apprise.stderr
    # the library, through make_client() with the same settings
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    from alphasms_notify import make_client

    with make_client() as client:
        [outcome] = client.send(Sms(MARKETING_OUT, "Sale!", meta={"category": "marketing"}), skip_invalid=True)
    assert not outcome.ok and outcome.error.startswith("opted out (since 20")
    # a campaign: skipped in its preview, and checked again before each batch
    (tmp_path / "to.txt").write_text("\n".join([MARKETING_OUT, FREE, "380974444444"]))
    made = _cli(env, "campaign", "create", "sale", "--to-file", str(tmp_path / "to.txt"), "Sale!")
    assert made.returncode == 0 and "Skipped: 1 recipient(s), 1 of them opted out" in made.stderr, made.stderr
    assert _cli(env, "optout", "add", "380974444444").returncode == 0  # after the campaign was made
    assert _cli(env, "campaign", "run", "sale").returncode == 0
    report = _cli(env, "campaign", "report", "sale", "--csv").stdout
    assert report.count("skipped,opted out (since 20") == 2 and report.count(",sent,") == 1
    assert _to(alphasms_sandbox, ALL_OUT) == [] and _to(alphasms_sandbox, "380974444444") == []
    assert [m["item"]["sms_message"] for m in _to(alphasms_sandbox, MARKETING_OUT)] == ["Your order shipped"]
    assert len(_to(alphasms_sandbox, FREE)) == 2  # the template's row B and the campaign
    listed = _cli(env, "optout", "export").stdout.splitlines()
    assert listed[0] == "phone,scope,since,reason,note" and len(listed) == 4
    assert any(line.startswith(f"{MARKETING_OUT},marketing,") and line.endswith("import,asked by phone")
               for line in listed)


async def test_the_bot_refuses_an_opted_out_phone_and_operators_opt_out_and_in(make_bot, telegram,
                                                                                alphasms_sandbox):
    from alphasms_notify.bot import running

    async with running(make_bot()):
        telegram.send(OPERATOR, f"/optout {ALL_OUT} all")
        assert "opted out of all messages" in await until(last_text(telegram, containing="🚫"))
        telegram.send(OPERATOR, f"/send {ALL_OUT} Hello")
        assert "opted out of all messages (since 20" in await until(last_text(telegram, containing="opted out of all"
                                                                                                 " messages (since"))
        assert _to(alphasms_sandbox, ALL_OUT) == []
        telegram.send(OPERATOR, f"/optin {ALL_OUT}")
        assert "opted back in" in await until(last_text(telegram, containing="✅"))
        telegram.send(OPERATOR, f"/send {ALL_OUT} Hello")
        await until(lambda: _to(alphasms_sandbox, ALL_OUT))


async def test_a_stop_reply_opts_out_once_confirmed_and_the_next_campaign_skips_it(make_bot, telegram,
                                                                                   alphasms_sandbox, tmp_path):
    from alphasms_notify.bot import running
    from alphasms_notify.sections import ConsentSettings

    confirm = "Ви відписалися. You are unsubscribed."
    async with running(make_bot(consent=ConsentSettings(confirm_text=confirm))):
        telegram.send(OPERATOR, f"/viber {MARKETING_OUT},{FREE} Spring sale: -20%")
        sent = await until(lambda: {str(m["phone"]): m["id"] for m in alphasms_sandbox.messages()} if len(
            alphasms_sandbox.messages()) == 2 else None)
        alphasms_sandbox.reply(sent[MARKETING_OUT], "СТОП!")  # what the inbox's Reply form posts
        alphasms_sandbox.reply(sent[FREE], "can't stop laughing")
        forwarded = await until(last_text(telegram, containing="СТОП!"))
        assert "🚫 Opted out of marketing messages: a STOP reply" in forwarded
        laughing = await until(last_text(telegram, containing="can't stop laughing"))
        assert "Opted out" not in laughing
        await until(lambda: [m for m in _to(alphasms_sandbox, MARKETING_OUT) if m["type"] == "viber" and
                             m["item"].get("viber_message") == confirm])
        await asyncio.sleep(BOT_POLL * 5)  # more cycles, and the retry sweep: still one
    confirmations = [m for m in _to(alphasms_sandbox, MARKETING_OUT) if m["item"].get("viber_message") == confirm]
    assert len(confirmations) == 1
    env = sandbox_env(alphasms_sandbox, ALPHASMS_STORE_PATH=str(tmp_path / "bot.sqlite3"))
    listed = _cli(env, "optout", "list").stdout
    assert f"+{MARKETING_OUT}  marketing" in listed and "reply  СТОП!" in listed and FREE not in listed
    (tmp_path / "to.txt").write_text(f"{MARKETING_OUT}\n{FREE}\n")
    made = _cli(env, "campaign", "create", "next", "--to-file", str(tmp_path / "to.txt"), "Summer sale")
    assert "Skipped: 1 recipient(s), 1 of them opted out" in made.stderr
    assert _cli(env, "campaign", "run", "next").returncode == 0
    assert [m for m in _to(alphasms_sandbox, MARKETING_OUT) if "Summer" in str(m["item"])] == []
    assert texts(telegram, OPERATOR, "🚫") and len(_to(alphasms_sandbox, FREE)) == 2


def test_the_providers_sms_options_reach_it_as_named(alphasms_sandbox, tmp_path):
    from alphasms_notify import AlphaSMS

    wanted = {"unsubscribe_link": True, "short_link": True, "hook": "https://hooks.example.com/alphasms"}
    with AlphaSMS(alphasms_sandbox.key, alphasms_sandbox.api_url, sms_sender="Shop") as sms:
        assert sms.send(Sms(FREE, "Library https://example.com/a", **wanted))[0].ok
    env = sandbox_env(alphasms_sandbox)
    assert _cli(env, "send", "--to", FREE, "--unsubscribe-link", "--short-links", "--hook", wanted["hook"],
                "CLI https://example.com/b").returncode == 0
    assert subprocess.run(["apprise", "-b", "Apprise https://example.com/c",
                           f"alphasms://{alphasms_sandbox.key}@Shop/{FREE}?unsubscribe=yes&shortlinks=yes"
                           f"&hook={wanted['hook']}&endpoint={alphasms_sandbox.api_url}"],
                          capture_output=True, text=True, timeout=60, env=env).returncode == 0
    plain = _cli(env, "send", "--to", FREE, "Plain")
    assert plain.returncode == 0
    items = [m["item"] for m in _to(alphasms_sandbox, FREE)]
    for item in items[:3]:
        assert {k: item.get(k) for k in wanted} == wanted, item
    assert not {"unsubscribe_link", "short_link", "hook"} & set(items[3])  # sent only when asked for
    viber = _cli(env, "send", "--channel", "viber", "--to", FREE, "--short-links", "Hi")
    assert viber.returncode == 2 and "--short-links is not used by the viber channel" in viber.stderr
    page = __import__("httpx").get(alphasms_sandbox.inbox_url + f"?phone={FREE}").text
    assert "unsubscribe link added" in page and "links shortened" in page and "Unsubscribe (as +" in page


def test_a_store_that_cannot_be_read_holds_marketing_back_and_lets_service_go(alphasms_sandbox, tmp_path):
    broken = tmp_path / "corrupt.sqlite3"
    broken.write_bytes(b"this is not a database" * 100)
    env = sandbox_env(alphasms_sandbox, ALPHASMS_STORE_PATH=str(broken))
    held = _cli(env, "send", "--category", "marketing", "--to", FREE, "Sale!")
    assert held.returncode != 0 and "the opt-out list cannot be read" in held.stderr, held.stderr
    assert _to(alphasms_sandbox, FREE) == []
    alarm = _cli(env, "send", "--to", FREE, "Door open")
    assert alarm.returncode == 0 and "tracking failed" in alarm.stderr
    assert [m["item"]["sms_message"] for m in _to(alphasms_sandbox, FREE)] == ["Door open"]


async def test_the_unsubscribe_link_followed_in_the_sandbox_opts_out_like_a_stop_reply(make_bot, telegram,
                                                                                       alphasms_sandbox, tmp_path):
    from alphasms_notify.bot import running

    env = sandbox_env(alphasms_sandbox, ALPHASMS_STORE_PATH=str(tmp_path / "bot.sqlite3"))
    async with running(make_bot(replies_chat=OPERATOR)):
        sent = _cli(env, "send", "--category", "marketing", "--unsubscribe-link", "--to", FREE, "Sale! -20%")
        assert sent.returncode == 0, sent.stderr
        [message] = _to(alphasms_sandbox, FREE)
        alphasms_sandbox.unsubscribe(message["id"])  # the inbox's Unsubscribe button
        told = await until(last_text(telegram, containing="followed the unsubscribe link"), timeout=10)
        assert "🚫 Opted out of marketing messages" in told
    listed = _cli(env, "optout", "list").stdout
    assert f"+{FREE}  marketing" in listed and "unsubscribe" in listed
    again = _cli(env, "send", "--category", "marketing", "--to", FREE, "Sale again")
    assert again.returncode != 0 and "opted out" in again.stdout + again.stderr
    assert len(_to(alphasms_sandbox, FREE)) == 1


ANNOUNCE = r'''
import sys, time
from alphasms_notify.store import Store
store = Store(sys.argv[1])
deadline = float(sys.argv[2])
while time.time() < deadline:  # both processes ask at the same moment
    pass
print(store.campaigns.announce("c", -100, "running", "finished"), flush=True)
'''


@pytest.fixture(params=["sqlite", "postgresql"])
def target(request, tmp_path):
    return str(tmp_path / "s.sqlite3") if request.param == "sqlite" else request.getfixturevalue("postgres_url")


def test_opt_outs_and_announcements_on_sqlite_and_postgresql_by_processes_at_once(target):
    import sys
    import time

    from helpers import clean_env

    from alphasms_notify.store import Store
    from alphasms_notify.store.campaigns import CampaignRow

    store = Store(target)
    try:
        version = store.optouts.version()
        first = store.optouts.add(380971111111, "marketing", "reply", 1000.0, "стоп", confirm_id=7)
        again = store.optouts.add(380971111111, "marketing", "operator", 2000.0)  # keeps its date and id
        wider = store.optouts.add(380971111111, "all", "operator", 3000.0)
        assert (first.at, again.at, again.confirm_id, wider.scope, wider.at) == (1000.0, 1000.0, 7, "all", 1000.0)
        assert store.optouts.version() == version + 2  # added, widened; not the repeat
        assert set(store.optouts.among([380971111111, 380972222222, 380971111111])) == {380971111111}
        assert [o.phone for o in store.optouts.unconfirmed(0)] == [380971111111]
        store.optouts.confirmed(380971111111, 4000.0)
        assert store.optouts.unconfirmed(0) == [] and store.optouts.remove(380971111111)
        assert not store.optouts.remove(380971111111) and store.optouts.get(380971111111) is None
        store.campaigns.create(CampaignRow("c", 0, "sms", "running", None, None, None, None, "Europe/Kyiv", None,
                                           1), [(1, 380971111111, "{}")])
        assert store.campaigns.take_post("c", -100, None, "running")
        assert not store.campaigns.take_post("c", -100, None, "running")  # one instance posts it
        store.campaigns.set_post("c", -100, None, 55, "shown", "running")
    finally:
        store.close()
    moment = str(time.time() + 1.5)
    racers = [subprocess.Popen([sys.executable, "-c", ANNOUNCE, target, moment], stdout=subprocess.PIPE, text=True,
                               env=clean_env()) for _ in range(4)]
    said = [r.communicate(timeout=60)[0].strip() for r in racers]
    assert sorted(said) == ["False", "False", "False", "True"]  # the end is told once, by one of them


def test_an_import_names_what_it_cannot_read_and_adds_nothing(tmp_path):
    from helpers import clean_env

    env = clean_env(ALPHASMS_STORE_PATH=str(tmp_path / "s.sqlite3"))
    missing = _cli(env, "optout", "import", str(tmp_path / "nope.csv"))
    assert missing.returncode == 2 and "nope.csv: cannot be read" in missing.stderr
    assert "Traceback" not in missing.stderr
    bad = _cli(env, "optout", "import", "-", stdin="phone,scope\n0971234567,all\n12,all\n")
    assert bad.returncode == 2 and "standard input: line 3:" in bad.stderr and "nothing imported" in bad.stderr
    assert _cli(env, "optout", "list").stdout == ""
    listed = _cli(env, "optout", "import", "-", stdin="0971234567\n# a comment\n0501234567\n")
    assert listed.returncode == 0 and "2 phone(s) opted out" in listed.stdout
