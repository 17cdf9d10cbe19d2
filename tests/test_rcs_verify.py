"""RCS, RCS with SMS fallback, call/otp, and phone verification built on them.

The item shapes are the ones the issue lists (read from a public PHP client of
the same API); everything else talks to the sandbox over HTTP, the CLI as a
real process.
"""

from __future__ import annotations

import json
import re
import subprocess
from decimal import Decimal

import pytest
from helpers import ALPHASMS, sandbox_env

from alphasms_notify import AlphaSMS, AsyncAlphaSMS, ValidationError, hookimpl
from alphasms_notify.messages import CallOtp, Rcs, RcsSms, build
from alphasms_notify.plugins import make_plugin_manager
from alphasms_notify.results import OtpResult, SendResult
from alphasms_notify.sandbox.numbers import VIBER_FAILS
from alphasms_notify.settings import VerifySettings
from alphasms_notify.store import Store
from alphasms_notify.verify import Verifier
from alphasms_notify.wire import decode_response, encode_item

RCS_ITEM = {"type": "rcs", "id": 100500, "phone": 380971234567, "rcs_signature": "Sender", "rcs_message": "text",
            "rcs_image": "https://x.example/a.png", "rcs_link": "https://x.example", "rcs_button": "Open"}


# -- the codec ---------------------------------------------------------------------------------


def test_rcs_items_key_for_key():
    rcs = Rcs(380971234567, "text", image="https://x.example/a.png", link="https://x.example", button="Open",
              sender="Sender", id=100500)
    assert list(encode_item(rcs).items()) == list(RCS_ITEM.items())
    fallback = RcsSms(380971234567, "text", sms_text="sms text", sender="Sender", sms_sender="Shop", id=7)
    assert encode_item(fallback) == {"type": "rcs+sms", "id": 7, "phone": 380971234567, "rcs_signature": "Sender",
                                     "rcs_message": "text", "sms_signature": "Shop", "sms_message": "sms text"}
    image_only = Rcs(380971234567, image="https://x.example/a.png", sender="S", id=8)
    assert encode_item(image_only) == {"type": "rcs", "id": 8, "phone": 380971234567, "rcs_signature": "S",
                                       "rcs_image": "https://x.example/a.png"}  # only the fields given
    assert encode_item(CallOtp(380971234567)) == {"type": "call/otp", "phone": 380971234567}


def test_rcs_and_otp_answers_parse():
    body = json.dumps({"success": True, "data": [
        {"success": True, "data": {"id": 100500, "msg_id": 123456789, "data": 1, "parts": 1}},
        {"success": True, "data": {"code": "0471", "price": 0.2}}]}).encode()
    sent, otp = decode_response(200, body, [Rcs(380971234567, "t", sender="S", id=100500), CallOtp(380971234567)])
    assert sent.result == SendResult(100500, 123456789, 1, 1)
    assert otp.result == OtpResult("0471", Decimal("0.2"))


def test_rcs_is_checked_by_vibers_rules():
    with pytest.raises(ValidationError) as caught:
        AlphaSMS("k", sms_sender="Shop").validate([Rcs("0971234567", "Hi", link="ftp://x"),
                                                   Rcs("0971234567", "Hi", image="https://x.example/a.png")])
    fields = [(label.split(" ")[1], field) for label, field, _ in caught.value.problems]
    assert ("1", "link") in fields and ("1", "button") in fields and ("2", "link") in fields
    with pytest.raises(ValidationError, match="sms_sender: is not used by the rcs channel"):
        build("rcs", "0971234567", "Hi", sms_sender="X")


# -- sent, retried and tracked like the others ----------------------------------------------------


def test_cli_sends_exactly_the_rcs_item(alphasms_sandbox):
    result = subprocess.run([ALPHASMS, "send", "--channel", "rcs", "--to", "0971234567", "--sender", "Shop",
                             "--image", "https://x.example/a.png", "--link", "https://x.example", "--button", "Open",
                             "Hello"], capture_output=True, text=True, timeout=60, env=sandbox_env(alphasms_sandbox))
    assert result.returncode == 0, result.stderr
    [item] = alphasms_sandbox.requests()[0]["data"]
    assert isinstance(item["id"], int) and item["id"] > 0
    assert item == {**RCS_ITEM, "id": item["id"], "rcs_signature": "Shop", "rcs_message": "Hello"}
    assert list(item) == list(RCS_ITEM)


async def test_rcs_lifecycle_and_sms_fallback_in_the_sandbox(alphasms_sandbox):
    alphasms_sandbox.reset()
    async with AsyncAlphaSMS(alphasms_sandbox.key, alphasms_sandbox.api_url, sms_sender="Shop") as sms:
        sent = await sms.send([Rcs("0971234567", "Hi"), RcsSms(VIBER_FAILS, "Hi", sms_text="Hi by SMS")])
        assert all(o.ok for o in sent)
    views = {m["phone"]: m for m in alphasms_sandbox.messages()}
    assert views[380971234567]["status_type"] == "rcs"
    assert views[VIBER_FAILS]["item"]["sms_message"] == "Hi by SMS"


def test_sandbox_refuses_unknown_rcs_fields_and_bad_combinations(alphasms_sandbox):
    import httpx

    items = [{**RCS_ITEM, "id": 1, "rcs_colour": "red"},
             {"type": "rcs", "id": 2, "phone": 380971234567, "rcs_signature": "S", "rcs_link": "https://x.example"},
             {"type": "call/otp", "phone": 380971234567, "id": 3}]
    answer = httpx.post(alphasms_sandbox.api_url, json={"auth": alphasms_sandbox.key, "data": items}).json()
    errors = [i["error"] for i in answer["data"]]
    assert errors == ["Unexpected field rcs_colour for type rcs", "Invalid rcs content: rcs_link",
                      "Unexpected field id for type call/otp"]


def test_call_otp_cli_prints_each_code_and_price(alphasms_sandbox):
    result = subprocess.run([ALPHASMS, "call-otp", "0971234567", "0501234567"], capture_output=True, text=True,
                            timeout=60, env=sandbox_env(alphasms_sandbox))
    assert result.returncode == 0, result.stderr
    calls = alphasms_sandbox.calls()
    assert result.stdout.splitlines() == [f"{c['phone']}: code {c['code']}, price 0.2" for c in calls]
    assert all(re.fullmatch(r"\d{4}", c["code"]) for c in calls)


# -- verification ----------------------------------------------------------------------------------


def _last_code(sandbox) -> str:
    return re.search(r"\d{6}", sandbox.messages()[-1]["item"]["sms_message"]).group(0)


def test_verify_cli_start_then_check(alphasms_sandbox, tmp_path):
    env = sandbox_env(alphasms_sandbox, ALPHASMS_STORE_PATH=str(tmp_path / "v.sqlite3"))

    def cli(*args):
        return subprocess.run([ALPHASMS, *args], capture_output=True, text=True, timeout=60, env=env)

    started = cli("verify", "start", "0971234567", "--via", "sms")
    assert started.returncode == 0 and "code sent by sms" in started.stdout
    code = _last_code(alphasms_sandbox)
    assert "Ваш код" in alphasms_sandbox.messages()[-1]["item"]["sms_message"]
    wrong = cli("verify", "check", "0971234567", "000000" if code != "000000" else "111111")
    assert wrong.returncode == 1 and "wrong code; 4 attempt(s) left" in wrong.stderr
    right = cli("--json", "verify", "check", "0971234567", code)
    document = json.loads(right.stdout)  # the envelope every command prints
    assert right.returncode == 0 and document["ok"] and document["results"][0]["status"] == "approved"
    assert document["results"][0]["message"] == "approved"
    started = cli("--json", "verify", "start", "0971234567")  # the cooldown applies
    assert started.returncode == 1 and json.loads(started.stdout)["results"][0]["status"] == "rate_limited"
    again = cli("verify", "check", "0971234567", code)
    assert again.returncode == 1 and "already used" in again.stderr  # a code works once


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def verifier(alphasms_sandbox, tmp_path):
    clock = Clock()
    events = []

    class Audit:
        @hookimpl
        def alphasms_verification_started(self, phone, via, ok, reason):
            events.append(("started", phone, via, ok, reason))

        @hookimpl
        def alphasms_verification_checked(self, phone, ok, reason):
            events.append(("checked", phone, ok, reason))

    pm = make_plugin_manager(defaults=())
    pm.register(Audit())
    with AlphaSMS(alphasms_sandbox.key, alphasms_sandbox.api_url, sms_sender="Shop", plugins=pm) as client:
        store = Store(tmp_path / "v.sqlite3")
        v = Verifier(client, store, VerifySettings(), clock=clock)
        v.clock_, v.events = clock, events
        yield v
        store.close()


def test_verify_five_wrong_codes_void_the_right_one(verifier, alphasms_sandbox):
    assert verifier.start("0971234567").ok
    code = _last_code(alphasms_sandbox)
    wrong = "0" * 6 if code != "0" * 6 else "1" * 6
    answers = [verifier.check("0971234567", wrong) for _ in range(5)]
    assert [a.attempts_left for a in answers] == [4, 3, 2, 1, 0]
    refused = verifier.check("0971234567", code)
    assert not refused.ok and refused.reason.startswith("too many wrong codes (5)")
    assert all(code not in str(event) for event in verifier.events)  # plugins never see the code


def test_verify_an_expired_code_is_refused(verifier, alphasms_sandbox):
    assert verifier.start("0971234567").ok
    code = _last_code(alphasms_sandbox)
    verifier.clock_.now += 301
    expired = verifier.check("0971234567", code)
    assert not expired.ok and expired.reason.startswith("expired")


def test_verify_cooldown_and_hourly_limit(verifier, alphasms_sandbox):
    assert verifier.start("0971234567").ok
    verifier.clock_.now += 10
    early = verifier.start("0971234567")
    assert not early.ok and early.reason.startswith("cooldown: wait 20 s") and early.retry_after == 20
    for _ in range(4):
        verifier.clock_.now += 31
        assert verifier.start("0971234567").ok
    verifier.clock_.now += 31
    limited = verifier.start("0971234567")
    assert not limited.ok and limited.reason.startswith("hourly limit: 5 codes an hour")
    assert len(alphasms_sandbox.messages()) == 5
    verifier.clock_.now += 3600
    assert verifier.start("0971234567").ok  # an hour later


def test_verify_by_call_uses_the_providers_code_and_falls_back_in_order(verifier, alphasms_sandbox):
    started = verifier.start("0971234567", via="call")
    assert started.ok and started.via == "call"
    code = alphasms_sandbox.calls()[-1]["code"]
    assert verifier.check("0971234567", code).ok
    alphasms_sandbox.fault("access_denied", count=1)  # the first channel fails: the next is used
    verifier.clock_.now += 60
    fallback = verifier.start("0501234567", via=["call", "sms"])
    assert fallback.ok and fallback.via == "sms"
    assert ("started", 380501234567, "sms", True, fallback.reason) in verifier.events
