"""Ukrainian and English: the catalog is complete and well-formed, the bot answers each operator in their
Telegram language (menu, answers, errors, what it posts by itself), and the CLI follows ``LANG``."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from helpers import ALPHASMS, OPERATOR, STRANGER, last_text, sandbox_env, until
from test_topics import FORUM, PHONE_A, bot_texts, forum_bot, start_conversations, topic_of  # noqa: F401

from alphasms_notify.bot import running
from alphasms_notify.i18n import LOCALE_DIR, language_from_env, normalize, translations, use_language

ROOT = Path(__file__).parent.parent
CATALOG = LOCALE_DIR / "uk" / "LC_MESSAGES" / "alphasms_notify.po"
OTHER = 333  # an operator whose Telegram is in English
FIELD = re.compile(r"\{(\w*)[^{}]*\}")


def _source_messages() -> dict[str | tuple[str, ...], list[str]]:
    """Every text the code marks for translation, found the way ``pybabel extract -F babel.cfg`` finds them."""
    from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
    from babel.messages.frontend import parse_mapping_cfg

    with open(ROOT / "babel.cfg") as fp:
        method_map, options_map = parse_mapping_cfg(fp)
    found: dict[str | tuple[str, ...], list[str]] = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
            str(ROOT / "alphasms_notify"), method_map, options_map, keywords=DEFAULT_KEYWORDS):
        key = tuple(m for m in message if m) if isinstance(message, tuple) else message
        found.setdefault(key, []).append(f"{filename}:{lineno}")
    return found


def test_every_message_has_both_languages_and_the_same_fields():
    from babel.messages.pofile import read_po

    with CATALOG.open("rb") as fp:
        catalog = read_po(fp, locale="uk")
    assert catalog.num_plurals == 3  # Ukrainian: one, few, many
    translated = {m.id: m for m in catalog if m.id}
    source = _source_messages()
    assert len(source) > 150  # the extraction found the code's texts (not an empty walk)
    missing = {str(k): where for k, where in source.items() if k not in translated}
    assert not missing, f"texts with no Ukrainian (run pybabel update, see locale/README.md): {missing}"
    stale = [k for k in translated if k not in source]
    assert not stale, f"translations of texts the code no longer has: {stale}"
    for key, message in translated.items():
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        assert all(s.strip() for s in strings), f"empty translation of {key!r}"
        assert not message.fuzzy, f"fuzzy translation of {key!r}"
        wanted = {f for k in (key if isinstance(key, tuple) else (key,)) for f in FIELD.findall(k)}
        for s in strings:
            assert set(FIELD.findall(s)) <= wanted and (set(FIELD.findall(s)) == wanted or isinstance(key, tuple)), \
                f"{key!r}: the translation's fields {FIELD.findall(s)} are not the original's {sorted(wanted)}"
    problems = [(m.id, errors) for m, errors in catalog.check()]
    assert not problems, problems


def test_msgfmt_checks_the_catalog(tmp_path):
    msgfmt = shutil.which("msgfmt")
    if msgfmt is None and os.environ.get("ALPHASMS_REQUIRE_MSGFMT"):
        pytest.fail("msgfmt is required (ALPHASMS_REQUIRE_MSGFMT is set) but not installed")
    if msgfmt is None:
        pytest.skip("GNU gettext's msgfmt is not installed (apt-get install gettext); Babel's checks ran above")
    checked = subprocess.run([msgfmt, "--check", "--statistics", "-o", str(tmp_path / "uk.mo"), str(CATALOG)],
                             capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr
    assert "fuzzy" not in checked.stderr and "untranslated" not in checked.stderr, checked.stderr


def test_language_codes_and_the_terminals_language():
    assert [normalize(c) for c in ("uk", "uk-UA", "uk_UA.UTF-8", "en-GB", "ru", "", None)] == \
        ["uk", "uk", "uk", "en", None, None, None]
    assert language_from_env({"LANG": "uk_UA.UTF-8"}) == "uk"
    assert language_from_env({"LANG": "C.UTF-8"}) == "en"
    assert language_from_env({"LC_ALL": "en_US.UTF-8", "LANG": "uk_UA.UTF-8"}) == "en"  # LC_ALL wins, as gettext
    assert language_from_env({"LANGUAGE": "de:uk", "LANG": "en_US.UTF-8"}) == "uk"  # the first one we have
    assert language_from_env({}) == "en"
    with use_language("uk"):
        from alphasms_notify.i18n import gettext, ngettext

        assert gettext("Send?") == "Надіслати?"
        assert [ngettext("{n} part", "{n} parts", n).format(n=n) for n in (1, 3, 5, 21, 11)] == \
            ["1 частина", "3 частини", "5 частин", "21 частина", "11 частин"]
    assert translations("uk").gettext("Send?") == "Надіслати?"
    from datetime import UTC, datetime

    from alphasms_notify.render import reply_line
    from alphasms_notify.results import Reply

    reply = Reply(datetime(2026, 12, 1, 22, 0, tzinfo=UTC), "Дякую")
    with use_language("uk"):  # /status in the bot shows a phone's Viber replies in the operator's language
        assert reply_line(reply) == "відповідь 2026-12-01T22:00:00+00:00: Дякую"
    assert reply_line(reply) == "reply 2026-12-01T22:00:00+00:00: Дякую"


async def test_each_operator_gets_the_menu_answers_and_errors_in_their_telegram_language(make_bot, telegram,
                                                                                         alphasms_sandbox):
    async with running(make_bot(operators=(OPERATOR, OTHER), confirm_above=2)):
        await until(lambda: telegram.menu(OTHER, language_code="uk"))
        assert "/balance: Баланс рахунку" in telegram.menu(OPERATOR, language_code="uk")
        assert "/balance: Account balance" in telegram.menu(OPERATOR, language_code="en")
        assert "/balance: Account balance" in telegram.menu(OPERATOR, language_code="de")  # any other: English
        assert telegram.menu(STRANGER, language_code="uk") == []  # strangers still see none
        telegram.send(OPERATOR, "/balance", language_code="uk")
        telegram.send(OTHER, "/balance", language_code="en")
        assert await until(last_text(telegram, OPERATOR, "💰")) == "💰 Баланс: 100000.0 UAH"
        assert await until(last_text(telegram, OTHER, "💰")) == "💰 Balance: 100000.0 UAH"
        telegram.send(OPERATOR, "/hlr", language_code="uk")
        assert await until(last_text(telegram, OPERATOR, "/hlr")) == "Як: /hlr НОМЕР, наприклад /hlr 0971234567"
        telegram.send(OPERATOR, "/send 0971234567", language_code="uk")
        assert "Текст повідомлення порожній." in await until(last_text(telegram, OPERATOR, "порожній"))
        telegram.send(OPERATOR, "/send 12 Привіт", language_code="uk")  # the library's own reasons too
        assert "'12' не є дійсним номером телефону" in await until(last_text(telegram, OPERATOR, "'12'"))
        telegram.send(OPERATOR, "/nosuch", language_code="uk")
        assert await until(last_text(telegram, OPERATOR, "/nosuch")) == \
            "Невідома команда /nosuch. /help перелічує команди."
        telegram.send(OPERATOR, "/help", language_code="uk")
        assert "Надсилання більш ніж 2 одержувачам чекає" in await until(last_text(telegram, OPERATOR, "Бот AlphaSMS"))
        telegram.send(OPERATOR, "/send 0971234561,0971234562,0971234563 Знижки", language_code="uk")
        question = await until(last_text(telegram, OPERATOR, "Надіслати?"))
        assert "для 3 одержувачів" in question and "1 частина" in question
        [asked] = [m for m in telegram.bot_messages(OPERATOR) if m["text"] == question]
        confirm, cancel = asked["reply_markup"]["inline_keyboard"][0]
        assert [confirm["text"], cancel["text"]] == ["✅ Надіслати 3", "✖ Скасувати"]
        telegram.press(OPERATOR, asked["message_id"], confirm["callback_data"], language_code="uk")
        assert "✅ Надіслано 3 з 3:" in await until(last_text(telegram, OPERATOR, "Надіслано 3 з 3"))
        telegram.send(STRANGER, "/balance", language_code="uk")
        assert "Цей бот лише для операторів" in await until(last_text(telegram, STRANGER, "⛔"))
        telegram.send(OTHER, "/hlr", language_code="en")
        assert await until(last_text(telegram, OTHER, "/hlr")) == "Usage: /hlr PHONE, for example /hlr 0971234567"


async def test_the_language_can_be_forced_for_every_operator(make_bot, telegram):
    async with running(make_bot(operators=(OPERATOR, OTHER), language="uk")):
        await until(lambda: telegram.menu(OTHER))
        assert "/balance: Баланс рахунку" in telegram.menu(OTHER, language_code="en")  # one menu, for everyone
        telegram.send(OTHER, "/balance", language_code="en")
        assert await until(last_text(telegram, OTHER, "💰")) == "💰 Баланс: 100000.0 UAH"


async def test_what_the_bot_posts_by_itself_follows_the_chats_operators(forum_bot, telegram,  # noqa: F811
                                                                        alphasms_sandbox):
    async with running(forum_bot()):
        sent = await start_conversations(telegram, alphasms_sandbox, phones=("0971234567",))
        thread = topic_of(telegram, "97 123 45 67")["message_thread_id"]
        telegram.send(FORUM, "/claim", user_id=OPERATOR, thread_id=thread, language_code="uk")
        assert await until(lambda: bot_texts(telegram, thread, "веде цю розмову"))
        alphasms_sandbox.reply(sent[PHONE_A], "Коли доставка?")
        forwarded = (await until(lambda: bot_texts(telegram, thread, "Коли доставка?")))[0]
    assert forwarded.startswith(f"💬 Відповідь у Viber від +{PHONE_A} о ")
    assert forwarded.endswith("Пишіть у цій темі, щоб відповісти.")


@pytest.mark.parametrize("lang, summary, error", [
    ("uk_UA.UTF-8", "Надсилаємо 1 одержувачу, SMS 1 частина (UCS-2, 6 од.) кожному", "Помилка: "),
    ("C.UTF-8", "Sending to 1 recipient, SMS 1 part (UCS-2, 6 units) each", "Error: "),
])
def test_the_cli_follows_lang(alphasms_sandbox, lang, summary, error):
    env = sandbox_env(alphasms_sandbox, LANG=lang)
    sent = subprocess.run([ALPHASMS, "send", "--to", "0971234567", "Привіт"], capture_output=True, text=True,
                          env=env, timeout=60)
    assert sent.returncode == 0 and summary in sent.stderr, sent.stderr
    assert sent.stdout.startswith("sent 380971234567: id ")  # the lines scripts read stay as they are
    refused = subprocess.run([ALPHASMS, "send", "--to", "12", "Привіт"], capture_output=True, text=True, env=env,
                             timeout=60)
    assert refused.returncode == 2 and refused.stderr.startswith(error), refused.stderr
