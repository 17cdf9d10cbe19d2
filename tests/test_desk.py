"""The operators' desk: snippets with the contact's fields filled in, office hours' automatic answers,
history and search (the stand-in plays Telegram, the sandbox plays the provider)."""

from __future__ import annotations

import asyncio

from conftest import BOT_POLL
from helpers import OPERATOR, last_text, until
from test_topics import FORUM, PHONE_A, bot_texts, forum_bot, start_conversations, topic_of  # noqa: F401

from alphasms_notify.bot import running


async def test_a_snippet_reaches_the_phone_with_the_contacts_name_filled_in(forum_bot, telegram,  # noqa: F811
                                                                            alphasms_sandbox):
    async with running(forum_bot()):
        await start_conversations(telegram, alphasms_sandbox, phones=("0971234567",))
        thread = topic_of(telegram, "97 123 45 67")["message_thread_id"]
        telegram.send(OPERATOR, "/snippet add thanks Дякуємо, {name}! Your order {order} ships today.")
        assert "📝 Snippet thanks saved. Use it in a topic: /s thanks" == await until(
            last_text(telegram, containing="Snippet thanks"))
        telegram.send(OPERATOR, "/snippet add hello Добрий день, {name}!")
        telegram.send(OPERATOR, "/snippet add broken Hi {name!r}")
        assert "Not saved" in await until(last_text(telegram, containing="Not saved"))
        telegram.send(OPERATOR, "/snippet list")
        listed = await until(last_text(telegram, containing="• hello"))
        assert "• thanks: Дякуємо, {name}!" in listed and "broken" not in listed
        telegram.send(FORUM, "/s hello", user_id=OPERATOR, thread_id=thread)  # no name yet: nothing sent
        assert await until(lambda: bot_texts(telegram, thread, "needs") or bot_texts(telegram, thread, "no value"))
        telegram.send(FORUM, "/name Олена", user_id=OPERATOR, thread_id=thread)
        await until(lambda: bot_texts(telegram, thread, "is now Олена"))
        telegram.send(FORUM, "/s hello", user_id=OPERATOR, thread_id=thread)
        await until(lambda: len(alphasms_sandbox.messages(PHONE_A)) == 2)
        telegram.send(OPERATOR, "/snippet del hello")
        assert "deleted" in await until(last_text(telegram, containing="deleted"))
    texts = [m["item"].get("viber_message") for m in alphasms_sandbox.messages(PHONE_A)]
    assert texts[-1] == "Добрий день, Олена!"


async def test_a_reply_at_night_gets_the_automatic_answer_once_and_one_in_office_hours_none(
        make_bot, telegram, alphasms_sandbox):
    from alphasms_notify.sections import DeskSettings

    telegram.make_forum(FORUM)
    closed = "Дякуємо! Ми відповімо з 09:00. We answer from 09:00."
    desk = DeskSettings(hours="Mon-Fri 09:00-18:00", auto_reply=closed)
    async with running(make_bot(topics_chat=FORUM, desk=desk)):
        sent = await start_conversations(telegram, alphasms_sandbox, phones=("0971234567",))
        first = sent[PHONE_A]
        thread = topic_of(telegram, "97 123 45 67")["message_thread_id"]

        def answers():
            return [m for m in alphasms_sandbox.messages(PHONE_A) if m["item"].get("viber_message") == closed]

        alphasms_sandbox.reply(first, "Are you open?", at="2026-12-01T22:00:00+02:00")  # Tuesday night
        await until(lambda: bot_texts(telegram, thread, "Are you open?"))
        await until(answers)
        await until(lambda: bot_texts(telegram, thread, "sent from auto-reply"))  # the topic shows it went out
        alphasms_sandbox.reply(first, "Hello??", at="2026-12-02T01:30:00+02:00")  # the same night
        await until(lambda: bot_texts(telegram, thread, "Hello??"))
        alphasms_sandbox.reply(first, "Good morning", at="2026-12-02T10:00:00+02:00")  # open
        await until(lambda: bot_texts(telegram, thread, "Good morning"))
        alphasms_sandbox.reply(first, "And now?", at="2026-12-05T11:00:00+02:00")  # Saturday: a new period
        await until(lambda: len(answers()) == 2)
        await asyncio.sleep(BOT_POLL * 4)
    assert len(answers()) == 2


async def test_history_and_find_show_both_ways_with_statuses_and_topic_links(forum_bot, telegram,  # noqa: F811
                                                                             alphasms_sandbox):
    async with running(forum_bot()):
        sent = await start_conversations(telegram, alphasms_sandbox)
        thread = topic_of(telegram, "97 123 45 67")["message_thread_id"]
        alphasms_sandbox.reply(sent[PHONE_A], "Where is my ПОСИЛКА?")
        await until(lambda: bot_texts(telegram, thread, "Where is my"))
        await until(lambda: alphasms_sandbox.messages(PHONE_A)[0]["status"] in ("DELIVERED", "READ", "REPLIED"))
        telegram.send(FORUM, "/history", user_id=OPERATOR, thread_id=thread)
        shown = await until(lambda: bot_texts(telegram, thread, "🗂"))
        lines = shown[-1].splitlines()
        assert lines[0] == "🗂 +380971234567, the last 2:"
        assert "📤" in lines[1] and "Your order is ready" in lines[1] and "💬 Where is my ПОСИЛКА?" in lines[2]
        telegram.send(OPERATOR, "/find посилка")  # any case, Cyrillic too
        found = await until(last_text(telegram, containing="🔎"))
        assert "+380971234567" in found and "Where is my ПОСИЛКА?" in found
        assert f"https://t.me/c/{str(FORUM).removeprefix('-100')}/{thread}" in found
        assert "380501234567" not in found
        telegram.send(OPERATOR, "/find nothing-like-this")
        assert "Nothing sent or received" in await until(last_text(telegram, containing="Nothing sent"))


async def test_an_answer_typed_in_a_topic_shows_its_delivery_as_reactions(forum_bot, telegram,  # noqa: F811
                                                                         alphasms_sandbox):
    from test_topics import reaction_of

    async with running(forum_bot()):
        await start_conversations(telegram, alphasms_sandbox, phones=("0971234567",))
        thread = topic_of(telegram, "97 123 45 67")["message_thread_id"]
        before = len(bot_texts(telegram, thread))
        typed = telegram.send(FORUM, "Your parcel is at the post office.", user_id=OPERATOR, thread_id=thread)
        seen = []

        def moved_to(emoji):
            now = reaction_of(telegram, FORUM, typed["message_id"])
            if now and (not seen or seen[-1] != now):
                seen.append(now)
            return now == emoji

        await until(lambda: moved_to("👀"), timeout=10)  # the sandbox moves it on: sent, delivered, read
        assert seen[-1] == "👀" and set(seen) <= {"🕊", "👌", "👀"}
        assert len(bot_texts(telegram, thread)) == before  # the happy path posts nothing
        answer = [m for m in alphasms_sandbox.messages(PHONE_A) if "parcel" in str(m["item"])][0]
        failing = telegram.send(FORUM, "Second answer", user_id=OPERATOR, thread_id=thread)
        second = await until(lambda: [m for m in alphasms_sandbox.messages(PHONE_A) if "Second" in str(m["item"])])
        alphasms_sandbox.set_outcome(second[0]["id"], "UNDELIVERABLE")
        assert await until(lambda: reaction_of(telegram, FORUM, failing["message_id"]) == "👎", timeout=10)
        reason = await until(lambda: bot_texts(telegram, thread, "was not delivered"))
        assert "UNDELIVERABLE" in reason[-1]
        assert reaction_of(telegram, FORUM, typed["message_id"]) == "👀" and answer


async def test_a_claimed_conversation_asks_another_operator_before_an_answer_goes(forum_bot, telegram,  # noqa: F811
                                                                                 alphasms_sandbox):
    from test_topics import SECOND_OPERATOR, reaction_of

    async with running(forum_bot()):
        await start_conversations(telegram, alphasms_sandbox, phones=("0971234567",))
        thread = topic_of(telegram, "97 123 45 67")["message_thread_id"]
        telegram.send(FORUM, "/claim", user_id=OPERATOR, thread_id=thread)
        await until(lambda: bot_texts(telegram, thread, "has this conversation for"))
        [title] = [t["name"] for t in telegram.topics(FORUM)]
        assert title.startswith("+380 97 123 45 67 · 🙋 ")  # the title shows who has it
        before = len(alphasms_sandbox.messages(PHONE_A))
        asked = telegram.send(FORUM, "I can help too", user_id=SECOND_OPERATOR, thread_id=thread)
        [question] = await until(lambda: [m for m in telegram.thread_messages(FORUM, thread)
                                          if "Send your answer anyway?" in (m.get("text") or "")])
        assert len(alphasms_sandbox.messages(PHONE_A)) == before and not reaction_of(telegram, FORUM,
                                                                                      asked["message_id"])
        telegram.press(FORUM, question["message_id"], question["reply_markup"]["inline_keyboard"][0][0]
                       ["callback_data"], user_id=SECOND_OPERATOR)
        await until(lambda: len(alphasms_sandbox.messages(PHONE_A)) == before + 1)
        mine = telegram.send(FORUM, "Mine, thanks", user_id=OPERATOR, thread_id=thread)  # the claimer: no question
        await until(lambda: reaction_of(telegram, FORUM, mine["message_id"]))
        telegram.send(OPERATOR, "/mine")
        assert "+380971234567 until" in await until(last_text(telegram, containing="🙋 Yours"))
        telegram.send(FORUM, "/unclaim", user_id=OPERATOR, thread_id=thread)
        await until(lambda: bot_texts(telegram, thread, "no longer claimed"))
        assert "🙋" not in topic_of(telegram, "97 123 45 67")["name"]
