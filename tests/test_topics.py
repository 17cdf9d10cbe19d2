"""Conversations in a forum supergroup: one topic per phone, answered by typing (the stand-in plays Telegram)."""

from __future__ import annotations

import asyncio
import logging
import subprocess
import time

import pytest
from conftest import BOT_POLL
from helpers import ALPHASMS, OPERATOR, STRANGER, sandbox_env, until

from alphasms_notify.bot import running
from alphasms_notify.sandbox.telegram import BOT_USER
from alphasms_notify.settings import ConfigError
from alphasms_notify.store import Store

FORUM = -1001234567890
PHONE_A, PHONE_B = 380971234567, 380501234567
SECOND_OPERATOR = 515151


def topic_of(telegram, phone_text: str) -> dict | None:
    return next((t for t in telegram.topics(FORUM) if t["name"].endswith(phone_text)), None)


def bot_texts(telegram, thread_id: int, needle: str = "") -> list[str]:
    return [m.get("text") or m.get("caption") or "" for m in telegram.thread_messages(FORUM, thread_id)
            if m["from"]["id"] == BOT_USER["id"] and needle in (m.get("text") or m.get("caption") or "")]


def reaction_of(telegram, chat: int, message_id: int) -> str | None:
    """The bot's reaction on a message (the stand-in keeps it as Telegram does)."""
    found = next((m for m in telegram.messages(chat) if m["message_id"] == message_id), None)
    return (found or {}).get("reactions", [None])[0] if found and found.get("reactions") else None


@pytest.fixture
def forum_bot(make_bot, telegram):
    telegram.make_forum(FORUM)

    def make(**options):
        options.setdefault("operators", (OPERATOR, SECOND_OPERATOR))
        return make_bot(topics_chat=FORUM, **options)

    return make


async def start_conversations(telegram, sandbox, phones=("0971234567", "0501234567")) -> dict[int, int]:
    """The operator sends one Viber to each phone from the private chat; returns phone -> message id."""
    telegram.send(OPERATOR, f"/viber {','.join(phones)} Your order is ready")
    await until(lambda: len(telegram.topics(FORUM)) == len(phones))
    return {m["phone"]: m["id"] for m in sandbox.messages()}


async def test_replies_land_in_one_topic_per_phone_in_order_each_once(forum_bot, telegram, alphasms_sandbox):
    async with running(forum_bot()):
        sent = await start_conversations(telegram, alphasms_sandbox)
        topic_a, topic_b = topic_of(telegram, "97 123 45 67"), topic_of(telegram, "50 123 45 67")
        assert topic_a["name"] == "+380 97 123 45 67" and topic_b["name"] == "+380 50 123 45 67"
        # the send from the private chat is shown in each topic first
        assert bot_texts(telegram, topic_a["message_thread_id"], "📤 Viber sent from bot")
        thread_a, thread_b = topic_a["message_thread_id"], topic_b["message_thread_id"]
        for i in range(3):  # alternately
            started = time.monotonic()
            alphasms_sandbox.reply(sent[PHONE_A], f"A{i}")
            await until(lambda i=i: bot_texts(telegram, thread_a, f"\nA{i}\n"), timeout=BOT_POLL + 2)
            assert time.monotonic() - started < BOT_POLL + 2
            alphasms_sandbox.reply(sent[PHONE_B], f"B{i}")
            await until(lambda i=i: bot_texts(telegram, thread_b, f"\nB{i}\n"), timeout=BOT_POLL + 2)
        await asyncio.sleep(BOT_POLL * 3)  # more polls: still once
        replies_a = bot_texts(telegram, topic_a["message_thread_id"], "💬")
        replies_b = bot_texts(telegram, topic_b["message_thread_id"], "💬")
    assert [t.split("\n")[1] for t in replies_a] == ["A0", "A1", "A2"]
    assert [t.split("\n")[1] for t in replies_b] == ["B0", "B1", "B2"]
    assert all("+380971234567" in t for t in replies_a) and all("+380501234567" in t for t in replies_b)
    assert len(telegram.topics(FORUM)) == 2
    assert not [m for m in telegram.bot_messages(OPERATOR) if "💬" in (m.get("text") or "")]  # not the feed


async def test_typing_in_a_topic_sends_to_that_phone_only_by_viber(forum_bot, telegram, alphasms_sandbox):
    async with running(forum_bot()):
        sent = await start_conversations(telegram, alphasms_sandbox)
        topic_a = topic_of(telegram, "97 123 45 67")
        thread = topic_a["message_thread_id"]
        alphasms_sandbox.reply(sent[PHONE_A], "Can I pick it up at 6?")
        await until(lambda: bot_texts(telegram, thread, "pick it up"))
        before = len(alphasms_sandbox.messages())
        # a plain message, not a reply (the stand-in sets reply_to_message to the topic's start, as Telegram does)
        typed = telegram.send(FORUM, "Yes, we are open until 8.", user_id=SECOND_OPERATOR, thread_id=thread)
        assert typed["reply_to_message"]["message_id"] == thread
        assert await until(lambda: reaction_of(telegram, FORUM, typed["message_id"]))  # no message: a reaction
    new = alphasms_sandbox.messages()[before:]
    assert [(m["phone"], m["item"]["type"], m["item"]["viber_message"]) for m in new] == [
        (PHONE_A, "viber", "Yes, we are open until 8.")]
    assert not bot_texts(telegram, thread, "Sent 1 of 1")
    assert not bot_texts(telegram, thread, "not a forwarded Viber reply")
    store_msgs = [m for m in alphasms_sandbox.messages(PHONE_B)]
    assert len(store_msgs) == 1  # nothing more reached the other phone


async def test_mapping_survives_a_restart_and_a_deleted_topic_is_made_anew(forum_bot, telegram, alphasms_sandbox,
                                                                          tmp_path):
    async with running(forum_bot()):
        sent = await start_conversations(telegram, alphasms_sandbox, phones=("0971234567",))
    [topic] = telegram.topics(FORUM)
    async with running(forum_bot()):  # restart: same store
        alphasms_sandbox.reply(sent[PHONE_A], "after restart")
        await until(lambda: bot_texts(telegram, topic["message_thread_id"], "after restart"))
        assert len(telegram.topics(FORUM)) == 1  # no new topic
        telegram.delete_topic(FORUM, topic["message_thread_id"])
        alphasms_sandbox.reply(sent[PHONE_A], "after delete")
        [new] = await until(lambda: telegram.topics(FORUM))
        await until(lambda: bot_texts(telegram, new["message_thread_id"], "after delete"))
    assert new["message_thread_id"] != topic["message_thread_id"] and new["name"] == "+380 97 123 45 67"
    store = Store(tmp_path / "bot.sqlite3")
    assert store.topics.get(FORUM, PHONE_A).thread_id == new["message_thread_id"]


async def test_close_then_a_reply_reopens(forum_bot, telegram, alphasms_sandbox):
    async with running(forum_bot()):
        sent = await start_conversations(telegram, alphasms_sandbox, phones=("0971234567",))
        [topic] = telegram.topics(FORUM)
        thread = topic["message_thread_id"]
        telegram.send(FORUM, "/close", user_id=OPERATOR, thread_id=thread)
        await until(lambda: telegram.topics(FORUM)[0]["closed"])
        alphasms_sandbox.reply(sent[PHONE_A], "one more question")
        await until(lambda: bot_texts(telegram, thread, "one more question"))
        assert telegram.topics(FORUM)[0]["closed"] is False
    kinds = [next((k for k in m if k.startswith("forum_topic_")), None)
             for m in telegram.thread_messages(FORUM, thread)]
    assert [k for k in kinds if k] == ["forum_topic_created", "forum_topic_closed", "forum_topic_reopened"]


async def test_a_strangers_message_in_the_group_sends_nothing(forum_bot, telegram, alphasms_sandbox, caplog):
    caplog.set_level(logging.INFO, logger="alphasms_notify.bot")
    async with running(forum_bot()):
        sent = await start_conversations(telegram, alphasms_sandbox, phones=("0971234567",))
        [topic] = telegram.topics(FORUM)
        before = len(alphasms_sandbox.messages())
        telegram.send(FORUM, "send this to the customer", user_id=STRANGER, thread_id=topic["message_thread_id"])
        telegram.send(FORUM, "/send hello from a stranger", user_id=STRANGER, thread_id=topic["message_thread_id"])
        await until(lambda: bot_texts(telegram, topic["message_thread_id"], "operators only"))
        await asyncio.sleep(BOT_POLL * 2)
    assert len(alphasms_sandbox.messages()) == before == len(sent)
    assert f"ignored a message from non-operator {STRANGER}" in caplog.text


async def test_commands_in_a_topic_take_its_phone(forum_bot, telegram, alphasms_sandbox):
    async with running(forum_bot()):
        await start_conversations(telegram, alphasms_sandbox, phones=("0971234567",))
        thread = telegram.topics(FORUM)[0]["message_thread_id"]
        telegram.send(FORUM, "/send Your parcel is at the post office", user_id=OPERATOR, thread_id=thread)
        await until(lambda: bot_texts(telegram, thread, "Sent 1 of 1"))
        telegram.send(FORUM, "/hlr", user_id=OPERATOR, thread_id=thread)
        await until(lambda: bot_texts(telegram, thread, "📡 +380971234567"))
        telegram.send(FORUM, "/status", user_id=OPERATOR, thread_id=thread)
        await until(lambda: bot_texts(telegram, thread, "📬"))
        telegram.send(FORUM, "/send 0501234567 Another phone, named", user_id=OPERATOR, thread_id=thread)
        await until(lambda: len(telegram.topics(FORUM)) == 2)  # its own topic shows it
    sms = [m for m in alphasms_sandbox.messages() if m["item"]["type"] == "sms"]
    assert [(m["phone"], m["item"]["sms_message"]) for m in sms] == [
        (PHONE_A, "Your parcel is at the post office"), (PHONE_B, "Another phone, named")]


async def test_name_renames_the_topic_and_names_new_ones(forum_bot, telegram, alphasms_sandbox, tmp_path):
    async with running(forum_bot()):
        await start_conversations(telegram, alphasms_sandbox, phones=("0971234567",))
        thread = telegram.topics(FORUM)[0]["message_thread_id"]
        telegram.send(FORUM, "/name Олена Петренко", user_id=OPERATOR, thread_id=thread)
        await until(lambda: telegram.topics(FORUM)[0]["name"] == "Олена Петренко · +380 97 123 45 67")
        telegram.send(OPERATOR, "/name 0501234567 Taras")
        await until(lambda: [m for m in telegram.bot_messages(OPERATOR) if "Taras" in (m.get("text") or "")])
        telegram.send(OPERATOR, "/send 0501234567 hi Taras")
        await until(lambda: topic_of(telegram, "50 123 45 67"))
    assert topic_of(telegram, "50 123 45 67")["name"] == "Taras · +380 50 123 45 67"
    assert Store(tmp_path / "bot.sqlite3").contacts.get(PHONE_A).name == "Олена Петренко"


async def test_sends_from_the_cli_appear_in_the_topic_once(forum_bot, telegram, alphasms_sandbox, tmp_path):
    env = sandbox_env(alphasms_sandbox, ALPHASMS_STORE_PATH=str(tmp_path / "bot.sqlite3"))
    async with running(forum_bot()):
        await start_conversations(telegram, alphasms_sandbox, phones=("0971234567",))
        thread = telegram.topics(FORUM)[0]["message_thread_id"]
        done = subprocess.run([ALPHASMS, "send", "--to", "0971234567", "Sent from the command line"], env=env,
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        cli_id = next(m["id"] for m in alphasms_sandbox.messages()
                      if m["item"].get("sms_message", "").startswith("Sent"))
        await until(lambda: bot_texts(telegram, thread, "sent from cli"))
        await asyncio.sleep(BOT_POLL * 3)
        notices = bot_texts(telegram, thread, "sent from cli")
    assert notices == [f"📤 SMS sent from cli, id {cli_id}:\nSent from the command line"]


async def test_a_chat_that_is_not_a_forum_is_refused_clearly(make_bot, telegram):
    with pytest.raises(ConfigError, match="is not a forum: turn Topics on"):
        async with running(make_bot(topics_chat=-1009999999999)):
            pass


def test_contacts_import_list_and_templates_use_them(alphasms_sandbox, tmp_path):
    env = sandbox_env(alphasms_sandbox, ALPHASMS_STORE_PATH=str(tmp_path / "s.sqlite3"))

    def run(*args, stdin=None):
        return subprocess.run([ALPHASMS, *args], env=env, capture_output=True, text=True, timeout=60, input=stdin,
                              cwd=tmp_path)

    (tmp_path / "people.csv").write_text("phone,name,city\n0971234567,Олена,Київ\n+380501234567,Taras,\n")
    done = run("contacts", "import", str(tmp_path / "people.csv"))
    assert done.returncode == 0 and "2 contact(s) imported" in done.stdout, done.stderr
    listed = run("--json", "contacts", "list")
    assert sorted((c["phone"], c["name"], c["fields"]) for c in __import__("json").loads(listed.stdout)["results"]) == [
        (PHONE_B, "Taras", {}), (PHONE_A, "Олена", {"city": "Київ"})]
    # one bad row: nothing imported, the row and the reason named
    (tmp_path / "bad.csv").write_text("phone,name\n0671234567,Ivan\n12345,Bad\n")
    bad = run("contacts", "import", str(tmp_path / "bad.csv"))
    assert bad.returncode == 2 and "row 3: phone" in bad.stderr and "nothing imported" in bad.stderr
    assert "Ivan" not in run("contacts", "list").stdout
    # a template's {name} and {city} come from the contact when the CSV leaves them out
    sent = run("send-template", "--csv", "-", "Вітаємо, {name} ({city})!", stdin="phone,city\n0971234567,\n")
    assert sent.returncode == 0, sent.stderr
    assert alphasms_sandbox.messages()[-1]["item"]["sms_message"] == "Вітаємо, Олена (Київ)!"
    missing = run("send-template", "--csv", "-", "Hi {name} from {city}", stdin="phone\n0501234567\n")
    assert missing.returncode != 0 and "city" in (missing.stdout + missing.stderr)
    assert not list(tmp_path.glob("*.sqlite3-*")) or oct((tmp_path / "s.sqlite3").stat().st_mode & 0o777) == "0o600"


async def test_a_failed_delivery_and_a_media_reply_land_in_the_topic(forum_bot, telegram, alphasms_sandbox):
    from alphasms_notify.sandbox.numbers import UNDELIVERABLE

    async with running(forum_bot()):
        telegram.send(OPERATOR, f"/send {UNDELIVERABLE} Your parcel")
        topic = await until(lambda: next(iter(telegram.topics(FORUM)), None))
        thread = topic["message_thread_id"]
        report = await until(lambda: next(iter(bot_texts(telegram, thread, "was not delivered")), None), timeout=10)
        telegram.send(OPERATOR, "/viber 0971234567 Send a photo, please")
        await until(lambda: topic_of(telegram, "97 123 45 67"))
        sent = {m["phone"]: m["id"] for m in alphasms_sandbox.messages()}
        alphasms_sandbox.reply(sent[PHONE_A], "Here is the photo", media=("photo.jpg", b"\xff\xd8\xffjpeg"),
                               content_type="image/jpeg")
        other = topic_of(telegram, "97 123 45 67")["message_thread_id"]
        doc = await until(lambda: [m for m in telegram.thread_messages(FORUM, other) if "document" in m])
    assert "UNDELIVERABLE" in report and f"+{UNDELIVERABLE}" in report
    assert doc[0]["document"]["file_name"] == "photo.jpg" and "Here is the photo" in doc[0]["caption"]
    assert not [m for m in telegram.bot_messages(OPERATOR) if "was not delivered" in (m.get("text") or "")]
