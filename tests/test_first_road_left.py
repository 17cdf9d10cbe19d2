"""What was left on the first road: a deadline for a call with its retries, texts that show nothing,
and replies known by what they are rather than by their place in the provider's list."""

from __future__ import annotations

import time

import pytest
from helpers import ALPHASMS, OPERATOR, last_text, sandbox_env, until
from lying import LyingProvider

from alphasms_notify import AlphaSMS, AsyncAlphaSMS, Sms, TransportError, ValidationError, Viber
from alphasms_notify.bot import running

# -- the deadline: retries cannot multiply the timeout ----------------------------------------


@pytest.mark.parametrize("asynchronous", [False, True])
async def test_retries_end_at_the_deadline_and_what_is_unsettled_is_unknown(alphasms_sandbox, asynchronous):
    options = dict(sms_sender="Shop", timeout=1.0, retries=3, backoff=0.01)  # default deadline: 2 s
    with LyingProvider(alphasms_sandbox.api_url) as liar:
        liar.mode = "trickle"  # every answer a byte a second: each attempt ends at its timeout
        began = time.monotonic()
        with pytest.raises(TransportError) as failed:
            if asynchronous:
                async with AsyncAlphaSMS(alphasms_sandbox.key, liar.api_url, **options) as sms:
                    await sms.send(Sms("0971234567", "trickled"))
            else:
                with AlphaSMS(alphasms_sandbox.key, liar.api_url, **options) as sms:
                    sms.send(Sms("0971234567", "trickled"))
        took = time.monotonic() - began
        outcomes = failed.value.outcomes
    print(f"\ntrickling provider, timeout 1 s, 3 retries: given up after {took:.1f} s (deadline 2 s)")
    assert took < 2.8  # without the deadline: 4 attempts, over 4 s
    [outcome] = outcomes
    assert outcome.unknown and "deadline of 2 s" in outcome.error
    assert outcome.message.id is not None  # kept, so a retry or `alphasms status` can settle it


def test_the_cli_honours_a_configured_deadline(alphasms_sandbox, tmp_path):
    import subprocess

    config = tmp_path / "c.toml"
    config.write_text("[alphasms]\ntimeout = 1.0\ndeadline = 1.5\nretries = 5\n")
    with LyingProvider(alphasms_sandbox.api_url) as liar:
        liar.mode = "trickle"
        done = subprocess.run([ALPHASMS, "--config", str(config), "send", "--to", "0971234567", "hi"],
                              env=sandbox_env(alphasms_sandbox, ALPHASMS_API_URL=liar.api_url), capture_output=True,
                              text=True, timeout=60)
        took = time.time() - liar.arrivals[0]  # from the first request: a process's start-up is not bounded
    assert done.returncode == 3, done.stderr  # unknown
    assert "UNKNOWN" in done.stdout + done.stderr and "deadline of 1.5 s" in done.stdout + done.stderr
    assert took < 2.5  # the deadline, 1.5 s, and the process's exit


def test_a_deadline_must_be_positive():
    with pytest.raises(ValueError, match="deadline must be a positive number"):
        AlphaSMS("key", deadline=0)


# -- a text of invisible characters is empty ---------------------------------------------------


@pytest.mark.parametrize("text", ["\u202e\u200b", "\u200b\u200c\u200d\u2060\ufeff", " \u3164 ", "\u034f"])
def test_a_text_that_shows_nothing_is_refused_as_empty(client, alphasms_sandbox, text):
    with pytest.raises(ValidationError, match=r"SMS text is empty \(only invisible characters\)"):
        client.send(Sms("0971234567", text))
    with pytest.raises(ValidationError, match="Viber text is empty"):
        client.send(Viber("0971234567", text))
    assert client.send(Sms("0971234567", "\u202eвидимий"))[0].ok  # a visible letter is enough
    assert [m["item"]["sms_message"] for m in alphasms_sandbox.messages()] == ["\u202eвидимий"]


async def test_the_bot_refuses_a_send_of_only_invisible_characters(make_bot, telegram, alphasms_sandbox):
    async with running(make_bot()):
        telegram.send(OPERATOR, "/send 0971234567 \u202e\u200b")
        answer = await until(last_text(telegram, containing="empty"))
    assert "SMS text is empty (only invisible characters)" in answer
    assert alphasms_sandbox.messages() == []


# -- replies known by what they are --------------------------------------------------------------


async def test_a_new_reply_is_forwarded_when_the_providers_list_is_replaced(make_bot, telegram, alphasms_sandbox):
    with LyingProvider(alphasms_sandbox.api_url) as liar:
        app = make_bot()
        app.bot_data.services.client.api_url = liar.api_url  # the bot polls statuses through the liar
        async with running(app):
            telegram.send(OPERATOR, "/viber 0971234567 Coming tomorrow?")
            await until(last_text(telegram, containing="Sent 1 of 1"))
            msg_id = alphasms_sandbox.messages()[0]["id"]
            for text in ("one", "two", "three"):
                alphasms_sandbox.reply(msg_id, text)
            await until(lambda: len([t for t in _texts(telegram) if "💬" in t]) == 3, timeout=10)
            liar.mode = "last_reply"  # from now on the list holds only the newest reply
            alphasms_sandbox.reply(msg_id, "four")
            await until(lambda: any("four" in t for t in _texts(telegram)), timeout=10)
            time.sleep(1.0)  # a few more poll cycles: nothing forwarded twice
        forwarded = [t for t in _texts(telegram) if "💬" in t]
    assert [t.split("\n")[1] for t in forwarded] == ["one", "two", "three", "four"]


def _texts(telegram):
    return [m.get("text") or "" for m in telegram.bot_messages(OPERATOR)]


def test_the_store_adds_what_is_new_whatever_its_place(tmp_path):
    from datetime import datetime

    from alphasms_notify.results import Outcome, Reply, SendResult
    from alphasms_notify.store import Store

    store = Store(tmp_path / "s.sqlite3")
    message = Viber(380971234567, "hi", id=5)
    store.messages.track([Outcome(message, True, result=SendResult(5, 1, None))], source="bot")

    def reply(text, minute):
        return Reply(datetime(2026, 12, 1, 10, minute), text)

    a, b, c, d = reply("a", 1), reply("b", 2), reply("c", 3), reply("d", 4)
    assert [r.reply.message for r in store.replies.add(5, [a, b, c])] == ["a", "b", "c"]
    assert store.replies.add(5, [a, b, c]) == []  # the same list again
    assert [r.reply.message for r in store.replies.add(5, [d])] == ["d"]  # replaced by one new reply
    assert store.replies.add(5, [c, d]) == []  # shortened
    same = reply("ok", 5)
    assert len(store.replies.add(5, [same, same])) == 2  # one reply sent twice counts twice
    assert store.replies.add(5, [same]) == [] and store.replies.add(5, [same, same]) == []
    assert [r.seq for r in store.replies.unforwarded([5])] == [0, 1, 2, 3, 4, 5]
    store.close()
