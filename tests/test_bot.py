"""The real python-telegram-bot application against the Bot API stand-in and the AlphaSMS sandbox."""

from __future__ import annotations

import asyncio
import time

import pytest
from conftest import BOT_POLL
from helpers import GROUP, OPERATOR, STRANGER, last_text, until

from alphasms_notify import MessageStatus, hookimpl
from alphasms_notify.bot import running
from alphasms_notify.plugins import make_plugin_manager
from alphasms_notify.sandbox.numbers import UNDELIVERABLE, VIBER_FAILS
from alphasms_notify.store import Store

POLL = BOT_POLL


async def test_balance_and_commands_registered(make_bot, telegram):
    async with running(make_bot()):
        telegram.send(OPERATOR, "/balance")
        assert await until(last_text(telegram, containing="Balance")) == "💰 Balance: 100000.0 UAH"
        names = [c["command"] for c in telegram.info()["commands"]]
        assert names == ["help", "balance", "send", "viber", "vibersms", "rcs", "rcssms", "callotp", "hlr", "status",
                         "campaigns", "campaign", "optout", "optin", "snippet", "history", "find"]
        telegram.send(OPERATOR, "/help")
        assert "/viber 0971234567 link=https://example.com" in await until(last_text(telegram, containing="/hlr"))


async def test_stranger_is_refused_once_and_nothing_reaches_the_provider(make_bot, telegram, alphasms_sandbox, caplog):
    async with running(make_bot()):
        telegram.send(STRANGER, "/send 0971234567 hi")
        refusal = await until(last_text(telegram, STRANGER, "operators only"))
        assert f"Your Telegram user id is {STRANGER}" in refusal
        await asyncio.sleep(0.3)
    assert len(telegram.bot_messages(STRANGER)) == 1
    assert alphasms_sandbox.requests() == []
    assert f"refused {STRANGER}" in caplog.text


async def test_in_groups_only_operators_commands_count(make_bot, telegram, alphasms_sandbox):
    async with running(make_bot()):
        telegram.send(GROUP, "just chatting", user_id=STRANGER)
        telegram.send(GROUP, "/balance", user_id=STRANGER)
        telegram.send(GROUP, "/balance", user_id=OPERATOR)
        await until(last_text(telegram, GROUP, "Balance"))
    texts = [m["text"] for m in telegram.bot_messages(GROUP)]
    assert len(texts) == 2 and "operators only" in texts[0] and "Balance" in texts[1]


async def test_send_sms_reports_each_recipient_and_tracks(make_bot, telegram, alphasms_sandbox, tmp_path):
    async with running(make_bot()):
        telegram.send(OPERATOR, "/send 0971234567,+380501234567 Привіт!\nДругий рядок")
        result = await until(last_text(telegram, containing="Sent 2 of 2"))
    assert "+380971234567: id" in result and "+380501234567: id" in result
    items = [m["item"] for m in alphasms_sandbox.messages()]
    assert [i["sms_message"] for i in items] == ["Привіт!\nДругий рядок"] * 2
    store = Store(tmp_path / "bot.sqlite3")
    assert sorted(m.phone for m in store.messages.active()) == [380501234567, 380971234567]


@pytest.mark.parametrize("command, needle", [
    ("/send 0971234567,12 Hi", "message 2 (sms to 12"),
    ("/send 0971234567", "The message text is empty"),
    ("/send", "Usage: /send PHONE"),
    ("/viber 0971234567 link=https://e.com Hi", "a link needs a button"),
    ("/viber 0971234567 image=ftp://e.com/a.png", "image must be an http(s) URL"),
    ("/send 0971234567 image=https://e.com/a.png Hi", "/send has no option image="),
    ("/hlr", "Usage: /hlr PHONE"),
    ("/status abc", "Usage: /status ID"),
    ("/frobnicate", "Unknown command /frobnicate"),
])
async def test_invalid_input_gets_a_clear_answer_and_nothing_half_sent(make_bot, telegram, alphasms_sandbox,
                                                                       command, needle):
    async with running(make_bot()):
        telegram.send(OPERATOR, command)
        answer = await until(last_text(telegram))
    assert needle in answer
    assert alphasms_sandbox.messages() == []


async def test_viber_with_image_link_and_button(make_bot, telegram, alphasms_sandbox):
    async with running(make_bot()):
        telegram.send(OPERATOR, '/viber 0971234567 image=https://e.com/a.png link=https://e.com button="Open site" '
                                "Sale today")
        await until(last_text(telegram, containing="Sent 1 of 1"))
    [message] = alphasms_sandbox.messages()
    assert message["item"] == {"type": "viber", "id": message["id"], "phone": 380971234567,
                               "viber_type": "text+image+link", "viber_signature": "ShopViber",
                               "viber_message": "Sale today", "viber_image": "https://e.com/a.png",
                               "viber_link": "https://e.com", "viber_button": "Open site"}


async def test_vibersms_falls_back_to_sms_and_status_shows_it(make_bot, telegram, alphasms_sandbox):
    async with running(make_bot()):
        telegram.send(OPERATOR, f'/vibersms {VIBER_FAILS} sms="Order ready (SMS)" Order ready')
        await until(last_text(telegram, containing="Sent 1 of 1"))
        [message] = alphasms_sandbox.messages()
        assert message["item"]["sms_message"] == "Order ready (SMS)"
        await asyncio.sleep(0.3)
        telegram.send(OPERATOR, f"/status {message['id']}")
        assert await until(last_text(telegram, containing="📬")) == f"📬 {message['id']}: DELIVERED (sms)"


async def test_hlr(make_bot, telegram):
    async with running(make_bot()):
        telegram.send(OPERATOR, "/hlr 0971111111")
        answer = await until(last_text(telegram, containing="📡"))
    assert answer == ("📡 +380971111111: DELIVERED\nNetwork: Kyivstar (mccmnc 25501)\n"
                      "Ported to: Vodafone Ukraine (fka MTS)")


async def test_large_sends_wait_for_confirm(make_bot, telegram, alphasms_sandbox):
    async with running(make_bot(confirm_above=2)):
        telegram.send(OPERATOR, "/send 0971234561,0971234562,0971234563 Hi")
        question = await until(lambda: next((m for m in telegram.bot_messages(OPERATOR) if "Send?" in m["text"]),
                                            None))
        assert "SMS, 1 part (GSM-7, 2 units) each to 3 recipients" in question["text"]
        assert alphasms_sandbox.messages() == []
        buttons = question["reply_markup"]["inline_keyboard"][0]
        telegram.press(OPERATOR, question["message_id"], buttons[0]["callback_data"])
        await until(last_text(telegram, containing="Sent 3 of 3"))
        assert len(alphasms_sandbox.messages()) == 3
        telegram.send(OPERATOR, "/send 0971234561,0971234562,0971234563 Again")
        # the first question became the results; the only open question now is the second
        second = await until(lambda: next((m for m in telegram.bot_messages(OPERATOR) if "Send?" in m["text"]),
                                          None))
        cancel = second["reply_markup"]["inline_keyboard"][0][1]["callback_data"]
        telegram.press(OPERATOR, second["message_id"], cancel, user_id=STRANGER)  # not an operator: refused
        await asyncio.sleep(0.3)
        assert any(m["message_id"] == second["message_id"] and "Send?" in m["text"]
                   for m in telegram.bot_messages(OPERATOR))
        assert telegram.info()["callback_answers"][-1]["text"] == "Only operators can do that."
        telegram.press(OPERATOR, second["message_id"], cancel)
        await until(last_text(telegram, containing="Cancelled"))
        telegram.press(OPERATOR, question["message_id"], buttons[0]["callback_data"])  # a second press: no resend
        await until(lambda: "Already sent" in (telegram.info()["callback_answers"][-1].get("text") or ""))
        await asyncio.sleep(0.3)
    assert len(alphasms_sandbox.messages()) == 3
    first = next(m for m in telegram.bot_messages(OPERATOR) if m["message_id"] == question["message_id"])
    assert "Sent 3 of 3" in first["text"]  # the results stay


async def test_reply_is_forwarded_once_as_an_answer_to_the_sent_message(make_bot, telegram, alphasms_sandbox):
    async with running(make_bot()):
        telegram.send(OPERATOR, "/viber 0971234567 Invoice ready?")
        await until(last_text(telegram, containing="Sent 1 of 1"))
        anchor = telegram.bot_messages(OPERATOR)[-1]
        [message] = alphasms_sandbox.messages()
        posted = time.monotonic()
        alphasms_sandbox.reply(message["id"], "Yes, thanks")
        forwarded = await until(lambda: [m for m in telegram.bot_messages(OPERATOR) if "💬" in m.get("text", "")])
        assert time.monotonic() - posted < POLL + 2
        await asyncio.sleep(POLL * 3)  # more polls: still once
        again = [m for m in telegram.bot_messages(OPERATOR) if "💬" in m.get("text", "")]
    assert len(again) == 1
    [reply] = forwarded
    assert reply["reply_to_message"]["message_id"] == anchor["message_id"]
    assert "+380971234567" in reply["text"] and "Yes, thanks" in reply["text"]


async def test_media_reply_arrives_as_a_document(make_bot, telegram, alphasms_sandbox):
    async with running(make_bot()):
        telegram.send(OPERATOR, "/viber 0971234567 Send the invoice")
        await until(last_text(telegram, containing="Sent 1 of 1"))
        [message] = alphasms_sandbox.messages()
        alphasms_sandbox.reply(message["id"], "Here", media=("Invoice.pdf", b"%PDF-1.4 invoice"),
                               content_type="application/pdf")
        doc = await until(lambda: [m for m in telegram.bot_messages(OPERATOR) if "document" in m])
    assert doc[0]["document"]["file_name"] == "Invoice.pdf" and "Here" in doc[0]["caption"]
    [stored] = telegram.documents().values()
    assert stored["content"].encode("latin-1") == b"%PDF-1.4 invoice"


async def test_operator_answer_goes_back_as_viber(make_bot, telegram, alphasms_sandbox):
    async with running(make_bot()):
        telegram.send(OPERATOR, "/viber 0971234567 Any questions?")
        await until(last_text(telegram, containing="Sent 1 of 1"))
        [message] = alphasms_sandbox.messages()
        alphasms_sandbox.reply(message["id"], "When do you open?")
        [forwarded] = await until(lambda: [m for m in telegram.bot_messages(OPERATOR) if "💬" in m.get("text", "")])
        telegram.send(OPERATOR, "At 9, see you!", reply_to=forwarded["message_id"])
        await until(lambda: len(alphasms_sandbox.messages()) == 2)
        await until(last_text(telegram, containing="Sent 1 of 1"))
    answer = alphasms_sandbox.messages()[1]
    assert answer["item"]["type"] == "viber" and answer["item"]["viber_message"] == "At 9, see you!"
    assert answer["phone"] == 380971234567


async def test_undelivered_message_is_reported_in_its_chat(make_bot, telegram):
    async with running(make_bot()):
        telegram.send(OPERATOR, f"/send {UNDELIVERABLE} Hello")
        report = await until(last_text(telegram, containing="not delivered"))
    assert f"to +{UNDELIVERABLE} was not delivered: UNDELIVERABLE (sms)" in report


async def test_telegram_429_and_5xx_do_not_lose_a_reply(make_bot, telegram, alphasms_sandbox):
    async with running(make_bot()):
        telegram.send(OPERATOR, "/viber 0971234567 Hi")
        await until(last_text(telegram, containing="Sent 1 of 1"))
        [message] = alphasms_sandbox.messages()
        telegram.fault("sendMessage", status=502, count=2)
        telegram.fault("sendMessage", status=429, count=1, retry_after=1)
        alphasms_sandbox.reply(message["id"], "Still there?")
        await until(lambda: [m for m in telegram.bot_messages(OPERATOR) if "💬" in m.get("text", "")], timeout=10)
        await asyncio.sleep(POLL * 3)
    forwarded = [m for m in telegram.bot_messages(OPERATOR) if "💬" in m.get("text", "")]
    assert len(forwarded) == 1
    assert telegram.info()["calls"].count("sendMessage") >= 4  # two 502s and a 429 came first


async def test_provider_outage_is_told_and_polling_resumes(make_bot, telegram, alphasms_sandbox):
    async with running(make_bot()):
        telegram.send(OPERATOR, "/viber 0971234567 Hi")
        await until(last_text(telegram, containing="Sent 1 of 1"))
        [message] = alphasms_sandbox.messages()
        alphasms_sandbox.fault("http500", count=None, when="before")
        telegram.send(OPERATOR, "/balance")
        assert "⚠️ AlphaSMS: AlphaSMS answered HTTP 500" in await until(last_text(telegram, containing="⚠️"),
                                                                        timeout=15)
        alphasms_sandbox.reply(message["id"], "after the outage")
        await asyncio.sleep(POLL * 2)
        alphasms_sandbox.clear_faults()
        await until(lambda: [m for m in telegram.bot_messages(OPERATOR) if "after the outage" in m.get("text", "")],
                    timeout=10)


async def test_replies_survive_a_restart_and_are_forwarded_once(make_bot, telegram, alphasms_sandbox, tmp_path):
    store_path = tmp_path / "shared.sqlite3"
    async with running(make_bot(store_path=store_path)):
        telegram.send(OPERATOR, "/viber 0971234567 Hi")
        await until(last_text(telegram, containing="Sent 1 of 1"))
        [message] = alphasms_sandbox.messages()
        alphasms_sandbox.reply(message["id"], "first")
        await until(lambda: [m for m in telegram.bot_messages(OPERATOR) if "first" in m.get("text", "")])
    alphasms_sandbox.reply(message["id"], "while the bot was down")
    async with running(make_bot(store_path=store_path)):
        await until(lambda: [m for m in telegram.bot_messages(OPERATOR) if "was down" in m.get("text", "")])
        await asyncio.sleep(POLL * 3)
    texts = [m.get("text", "") for m in telegram.bot_messages(OPERATOR) if "💬" in m.get("text", "")]
    assert sum("first" in t for t in texts) == 1 and sum("was down" in t for t in texts) == 1


async def test_cli_sends_are_tracked_and_replies_go_to_replies_chat(make_bot, telegram, alphasms_sandbox, tmp_path):
    from alphasms_notify import AlphaSMS, Viber

    store = Store(tmp_path / "bot.sqlite3")
    with AlphaSMS(alphasms_sandbox.key, alphasms_sandbox.api_url, viber_sender="Shop") as sms:
        store.messages.track(sms.send(Viber("0971234567", "from a script")), source="cli")
    store.close()
    async with running(make_bot(replies_chat=OPERATOR)):
        alphasms_sandbox.reply(alphasms_sandbox.messages()[0]["id"], "got it")
        forwarded = await until(last_text(telegram, containing="got it"))
    assert "+380971234567" in forwarded


async def test_plugins_add_bot_commands(make_bot, telegram):
    class Ping:
        @hookimpl
        def alphasms_register_bot_commands(self, register):
            async def ping(update, context):
                await update.effective_message.reply_text("pong")

            register("ping", ping, "Check the bot is alive")

    pm = make_plugin_manager(defaults=())
    pm.register(Ping())
    async with running(make_bot(plugins=pm)):
        telegram.send(OPERATOR, "/ping")
        assert await until(last_text(telegram, containing="pong")) == "pong"
        assert {"command": "ping", "description": "Check the bot is alive"} in telegram.info()["commands"]
        telegram.send(STRANGER, "/ping")
        assert "operators only" in await until(last_text(telegram, STRANGER, "operators"))


async def test_status_changes_fire_the_hook(make_bot, telegram, alphasms_sandbox):
    seen = []

    class Watch:
        @hookimpl
        def alphasms_status_changed(self, message_id, old, new, status):
            seen.append(new)

    pm = make_plugin_manager(defaults=())
    pm.register(Watch())
    async with running(make_bot(plugins=pm)):
        telegram.send(OPERATOR, "/send 0971234567 Hi")
        await until(lambda: MessageStatus.DELIVERED in seen)
    assert seen[-1] == MessageStatus.DELIVERED and len(seen) == len(set(seen))


async def test_a_confirmation_pressed_after_a_restart_sends_once(make_bot, telegram, alphasms_sandbox, tmp_path):
    store_path = tmp_path / "restart.sqlite3"
    async with running(make_bot(confirm_above=1, store_path=store_path)):
        telegram.send(OPERATOR, "/send 0971234561,0971234562 After the restart")
        question = await until(lambda: next((m for m in telegram.bot_messages(OPERATOR) if "Send?" in m["text"]),
                                            None))
    assert alphasms_sandbox.messages() == []
    assert not list(tmp_path.glob("*.pickle"))  # the pending send is in the store (0600), shared by instances
    assert oct((tmp_path / "restart.sqlite3").stat().st_mode & 0o777) == "0o600"
    confirm = question["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    async with running(make_bot(confirm_above=1, store_path=store_path)):
        telegram.press(OPERATOR, question["message_id"], confirm)
        await until(last_text(telegram, containing="Sent 2 of 2"))
        telegram.press(OPERATOR, question["message_id"], confirm)  # pressed again: nothing more goes out
        await asyncio.sleep(0.5)
    assert sorted(m["phone"] for m in alphasms_sandbox.messages()) == [380971234561, 380971234562]


async def test_a_long_reply_goes_whole_as_a_file_once(make_bot, telegram, alphasms_sandbox):
    long = "Дуже довга відповідь. " * 320  # 7,040 characters: Viber allows 7,000, Telegram 4,096 a message
    async with running(make_bot()):
        telegram.send(OPERATOR, "/viber 0971234567 Tell us everything")
        await until(last_text(telegram, containing="Sent 1 of 1"))
        [message] = alphasms_sandbox.messages()
        alphasms_sandbox.reply(message["id"], long)
        alphasms_sandbox.reply(message["id"], "and a short one")
        await until(last_text(telegram, containing="and a short one"))
        await asyncio.sleep(POLL * 3)
    docs = [m for m in telegram.bot_messages(OPERATOR) if m.get("document", {}).get("file_name") == "reply.txt"]
    assert len(docs) == 1 and "the whole reply is in the attached file" in docs[0]["caption"]
    [stored] = [d for d in telegram.documents().values() if d["file_name"] == "reply.txt"]
    assert long.strip() in stored["content"].encode("latin-1").decode("utf-8")
    assert len([m for m in telegram.bot_messages(OPERATOR) if "and a short one" in (m.get("text") or "")]) == 1


async def test_a_reply_telegram_refuses_does_not_hold_up_the_others(make_bot, telegram, alphasms_sandbox):
    async with running(make_bot()):
        telegram.send(OPERATOR, "/viber 0971234567,0501234567 Questions?")
        await until(last_text(telegram, containing="Sent 2 of 2"))
        first, second = alphasms_sandbox.messages()
        telegram.fault("sendMessage", status=400, count=1)  # "chat not found", once
        alphasms_sandbox.reply(first["id"], "first reply")
        alphasms_sandbox.reply(second["id"], "second reply")
        await until(last_text(telegram, containing="second reply"))
        await until(last_text(telegram, containing="first reply"))  # retried on a later cycle
        await asyncio.sleep(POLL * 3)
    replies = [m["text"] for m in telegram.bot_messages(OPERATOR) if "💬" in (m.get("text") or "")]
    # each once, and the second went out while the first waited for its retry
    assert [r.split("\n")[1] for r in replies] == ["second reply", "first reply"]


@pytest.mark.parametrize("when", ["before the start", "while it runs"])
async def test_a_confirm_question_an_older_version_pickled_is_sent_once(make_bot, telegram, alphasms_sandbox,
                                                                        tmp_path, when):
    """A rolling upgrade: the question was asked by a bot that pickled its pending send into the store."""
    import base64
    import pickle

    from alphasms_notify.bot import context, pending

    store_path = tmp_path / "upgrade.sqlite3"
    async with running(make_bot(confirm_above=1, store_path=store_path)):
        telegram.send(OPERATOR, "/send 0971234561,0971234562 Asked before the upgrade")
        question = await until(lambda: next((m for m in telegram.bot_messages(OPERATOR) if "Send?" in m["text"]),
                                            None))
    store = Store(store_path)
    [(pending_id, payload)] = store.bot.pending_payloads()

    def as_the_old_version_wrote_it():
        old = pending.decode(payload)
        saved = pending.PendingSend.__module__
        pending.PendingSend.__module__ = "alphasms_notify.bot.context"  # where the old version kept the class
        try:
            assert context.PendingSend is pending.PendingSend
            return base64.b64encode(pickle.dumps(old)).decode("ascii")
        finally:
            pending.PendingSend.__module__ = saved

    legacy = as_the_old_version_wrote_it()
    assert b"alphasms_notify.bot.context" in base64.b64decode(legacy)
    confirm = question["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    if when == "before the start":
        assert store.bot.replace_pending(pending_id, payload, legacy)
    async with running(make_bot(confirm_above=1, store_path=store_path)):
        if when == "while it runs":
            assert store.bot.replace_pending(pending_id, payload, legacy)
        else:
            assert store.bot.pending_payloads()[0][1].startswith("{")  # rewritten as JSON at the start
        telegram.press(OPERATOR, question["message_id"], confirm)
        await until(last_text(telegram, containing="Sent 2 of 2"))
        telegram.press(OPERATOR, question["message_id"], confirm)  # pressed again: nothing more goes out
        await until(lambda: "Already sent" in (telegram.info()["callback_answers"][-1].get("text") or ""))
    store.close()
    assert sorted(m["phone"] for m in alphasms_sandbox.messages()) == [380971234561, 380971234562]


def test_a_pending_send_that_is_not_ours_is_refused():
    import base64
    import pickle

    from alphasms_notify.bot import pending

    evil = base64.b64encode(pickle.dumps(__import__("os").system)).decode("ascii")
    with pytest.raises(pickle.UnpicklingError, match="may not hold"):
        pending.decode(evil)
    with pytest.raises(ValueError, match="newer than this bot knows"):
        pending.decode('{"v": 2, "messages": []}')
