"""Reliability: exactly-once sending under every fault kind, and bad input at every entry point.

The SIGKILL-and-restart case of the bot lives in test_bot_process.py; the
parser, phone and segment property tests in test_wire.py and test_messages.py.
"""

from __future__ import annotations

import collections

import pytest

from alphasms_notify import AlphaSMS, MessageRejected, RequestError, Sms, ValidationError, hookimpl
from alphasms_notify.plugins import make_plugin_manager
from alphasms_notify.sandbox.faults import FAULT_KINDS

N = 1000


@pytest.mark.parametrize("kind", FAULT_KINDS)
def test_1000_messages_with_10_percent_faults_arrive_exactly_once(alphasms_sandbox, kind):
    alphasms_sandbox.fault(kind, count=None, rate=0.1, seconds=0.6)
    messages = [Sms(380970000000 + i, f"message {i}") for i in range(N)]
    whole_request_failures = 0
    with AlphaSMS(alphasms_sandbox.key, alphasms_sandbox.api_url, sms_sender="Shop", batch_size=10, timeout=0.25,
                  retries=6, backoff=0.005) as sms:
        pending = messages
        for _ in range(200):  # what a careful caller does: resend what did not go out, same objects
            try:
                outcomes = sms.send(pending)
            except RequestError:
                whole_request_failures += 1  # the same objects again: the client skips what was accepted
                continue
            assert all(o.ok for o in outcomes), [o.error for o in outcomes if not o.ok][:3]
            break
        else:
            raise AssertionError("messages still pending after 200 rounds")
    alphasms_sandbox.clear_faults()
    received = collections.Counter(m["id"] for m in alphasms_sandbox.messages())
    injected = alphasms_sandbox.faults()["injected"].get(kind, 0)
    twice = sum(1 for c in received.values() if c > 1)
    lost = N - len(set(received) & {m.id for m in messages})
    print(f"\n{kind}: {N} sent, {len(received)} received, {lost} lost, {twice} twice; "
          f"{injected} faults injected in {len(alphasms_sandbox.requests())} requests, "
          f"{whole_request_failures} whole-request failures resent by the caller")
    assert injected > 0
    assert len(received) == N and lost == 0 and twice == 0


def test_a_plugin_that_breaks_a_message_gets_a_clear_error_and_nothing_is_sent(alphasms_sandbox):
    class Breaks:
        @hookimpl
        def alphasms_prepare_message(self, message):
            message.phone = "not a phone"

    pm = make_plugin_manager(defaults=())
    pm.register(Breaks())
    with AlphaSMS(alphasms_sandbox.key, alphasms_sandbox.api_url, sms_sender="Shop", plugins=pm) as sms:
        with pytest.raises(ValidationError, match="phone: 'not a phone' is not a phone number"):
            sms.send([Sms("0971234567", "a"), Sms("0501234567", "b")])
    assert alphasms_sandbox.requests() == []


def test_a_plugin_rejection_stops_only_its_message(alphasms_sandbox):
    class Rejects:
        @hookimpl
        def alphasms_prepare_message(self, message):
            if "secret" in message.text:
                raise MessageRejected("texts with secrets are not sent")

    pm = make_plugin_manager(defaults=())
    pm.register(Rejects())
    with AlphaSMS(alphasms_sandbox.key, alphasms_sandbox.api_url, sms_sender="Shop", plugins=pm) as sms:
        first, second, third = sms.send([Sms("0971234567", "ok"), Sms("0971234568", "my secret"),
                                         Sms("0971234569", "fine")])
    assert first.ok and third.ok and second.error == "rejected: texts with secrets are not sent"
    assert [m["phone"] for m in alphasms_sandbox.messages()] == [380971234567, 380971234569]
