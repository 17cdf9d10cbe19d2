"""Campaigns at the operators' desk: /campaigns, /campaign NAME with a message that follows its progress,
pauses and ends announced once, replies to a campaign in their topics (the stand-in plays Telegram)."""

from __future__ import annotations

import asyncio
import subprocess

from conftest import BOT_POLL
from helpers import ALPHASMS, OPERATOR, last_text, sandbox_env, texts, until
from test_campaigns import _make, phones

from alphasms_notify import AlphaSMS
from alphasms_notify.bot import running
from alphasms_notify.campaign import run_campaign
from alphasms_notify.store import Store

DESK = -1001111111111


async def test_operators_see_pause_and_resume_campaigns_from_the_bot(make_bot, telegram, alphasms_sandbox, tmp_path):
    store = Store(tmp_path / "bot.sqlite3")
    with AlphaSMS(alphasms_sandbox.key, alphasms_sandbox.api_url, sms_sender="Shop") as sms:
        _make(store, sms, "spring", 300)
        assert run_campaign(store, sms, "spring", claim=100, wait=False).state == "finished"
        _make(store, sms, "summer", 50)
    store.close()
    async with running(make_bot(store_path=tmp_path / "bot.sqlite3")):
        telegram.send(OPERATOR, "/campaigns")
        listed = await until(last_text(telegram, containing="📣 spring"))
        assert "📣 spring: finished, 300 of 300 done: 300 sent" in listed and "📣 summer: scheduled, 0 of 50" in listed
        telegram.send(OPERATOR, "/campaign summer pause")
        paused = await until(last_text(telegram, containing="summer: paused"))
        assert "📣 summer: paused (paused by an operator in Telegram), 0 of 50 done" in paused
        telegram.send(OPERATOR, "/campaign spring pause")
        assert "is finished: it cannot be paused" in await until(last_text(telegram, containing="cannot"))
        telegram.send(OPERATOR, "/campaign summer resume")
        assert "summer: running" in await until(last_text(telegram, containing="summer: running"))
        telegram.send(OPERATOR, "/campaign nope")
        assert "No campaign named nope" in await until(last_text(telegram, containing="No campaign"))


async def test_a_reply_to_a_campaign_says_which_in_its_topic_and_the_inbox_names_it(make_bot, telegram,
                                                                                    alphasms_sandbox, tmp_path):
    import httpx
    from test_topics import FORUM, bot_texts, topic_of

    telegram.make_forum(FORUM)
    env = sandbox_env(alphasms_sandbox, ALPHASMS_STORE_PATH=str(tmp_path / "bot.sqlite3"),
                      ALPHASMS_VIBER_SENDER="Shop")
    (tmp_path / "to.txt").write_text("\n".join(phones(5, start=1234567)))
    async with running(make_bot(topics_chat=FORUM, store_path=tmp_path / "bot.sqlite3")):
        for step in (["create", "spring", "--channel", "viber", "--to-file", str(tmp_path / "to.txt"),
                      "Spring sale: -20% on everything"], ["run", "spring"]):
            done = subprocess.run([ALPHASMS, "campaign", *step], capture_output=True, text=True, timeout=60, env=env)
            assert done.returncode == 0, done.stdout + done.stderr
        sent = {m["phone"]: m for m in alphasms_sandbox.messages()}
        assert len(sent) == 5 and {m["campaign"] for m in sent.values()} == {"spring"}
        alphasms_sandbox.reply(sent[380971234567]["id"], "Is it on shoes too?")
        topic = await until(lambda: topic_of(telegram, "97 123 45 67"))
        [reply] = await until(lambda: bot_texts(telegram, topic["message_thread_id"], "💬"))
        assert (f"to campaign spring (message {sent[380971234567]['id']}: «Spring sale: -20% on everything»)"
                in reply and "Is it on shoes too?" in reply)
        assert len(telegram.topics(FORUM)) == 1  # the campaign's 5 sends posted no notice (no topic each)
        assert not bot_texts(telegram, topic["message_thread_id"], "📤")
    page = httpx.get(alphasms_sandbox.inbox_url + "?phone=380971234567").text
    assert 'campaign <b class="campaign">spring</b>' in page


async def test_a_progress_message_follows_the_campaign_and_its_pause_and_end_are_announced_once(
        make_bot, telegram, alphasms_sandbox, tmp_path):
    path = tmp_path / "bot.sqlite3"
    store = Store(path)
    sms = AlphaSMS(alphasms_sandbox.key, alphasms_sandbox.api_url, sms_sender="Shop")
    _make(store, sms, "autumn", 300)
    _make(store, sms, "winter", 40)
    try:
        async with running(make_bot(store_path=path, replies_chat=DESK)):
            telegram.send(OPERATOR, "/campaign autumn")
            first = await until(last_text(telegram, containing="📣 autumn"))
            assert first.startswith("📣 autumn: scheduled, 0 of 300 done\n░░░░░░░░░░░░░░░░░░░░ 0%")

            def pause_after_the_first_batch(n):
                store.campaigns.set_state("autumn", "paused", "paused by an operator")

            paused = await asyncio.to_thread(run_campaign, store, sms, "autumn", claim=100,
                                             progress=pause_after_the_first_batch)
            assert paused.state == "paused"
            news = await until(last_text(telegram, containing="⏸ Campaign autumn paused"))
            assert "paused by an operator. Go on with /campaign autumn resume" in news
            edited = await until(last_text(telegram, containing="📣 autumn: paused"))
            assert "100 of 300 done: 100 sent" in edited and "▓▓▓▓▓▓▓░░░░░░░░░░░░░ 33%" in edited
            telegram.send(OPERATOR, "/campaign autumn resume")
            await until(last_text(telegram, containing="📣 autumn: running"))
            assert (await asyncio.to_thread(run_campaign, store, sms, "autumn")).state == "finished"
            done = await until(last_text(telegram, containing="✅ Campaign autumn finished"))
            assert "300 sent" in done
            assert await until(last_text(telegram, containing="📣 autumn: finished, 300 of 300 done"))
            # a campaign nobody asked about: the desk (replies_chat) hears of it by itself
            assert (await asyncio.to_thread(run_campaign, store, sms, "winter")).state == "finished"
            assert "40 sent" in await until(last_text(telegram, chat=DESK, containing="✅ Campaign winter finished"))
            assert await until(last_text(telegram, chat=DESK, containing="📣 winter: finished, 40 of 40 done"))
            await asyncio.sleep(BOT_POLL * 4)  # more cycles: each told once
        # each chat that shows a campaign is told each change once: the operator's and the desk
        for chat, expected in ((OPERATOR, ["⏸ Campaign autumn", "✅ Campaign autumn"]),
                               (DESK, ["⏸ Campaign autumn", "✅ Campaign autumn", "✅ Campaign winter"])):
            told = [" ".join(t.split()[:3]) for t in texts(telegram, chat, "Campaign ")]
            assert sorted(told) == sorted(expected), (chat, told)
    finally:
        sms.close()
        store.close()


def test_a_campaign_named_in_cyrillic_or_with_markup_is_named_safely_in_the_inbox(alphasms_sandbox, tmp_path):
    import httpx

    from alphasms_notify.campaign import create_campaign
    from alphasms_notify.messages import build

    store = Store(tmp_path / "s.sqlite3")
    try:
        with AlphaSMS(alphasms_sandbox.key, alphasms_sandbox.api_url, sms_sender="Shop") as sms:
            for name in ("весна-2027", "<b>x</b>%0d%0aX-Evil:1"):
                create_campaign(store, sms, name, build("sms", phones(2, start=7654321), "Hi",
                                                        meta={"source": f"campaign:{name}"}), channel="sms")
                assert run_campaign(store, sms, name).state == "finished"
    finally:
        store.close()
    assert {m["campaign"] for m in alphasms_sandbox.messages()} == {"весна-2027", "<b>x</b>%0d%0aX-Evil:1"}
    page = httpx.get(alphasms_sandbox.inbox_url + f"?phone={phones(1, start=7654321)[0]}").text
    assert "весна-2027" in page and "<b>x</b>" not in page and "&lt;b&gt;x&lt;/b&gt;" in page
