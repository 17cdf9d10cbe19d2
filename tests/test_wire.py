"""The codec against the reference: every item shape, every response example, bad answers."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from reference import IMAGE, REQUESTS, RESPONSES

from alphasms_notify import (
    AccessDenied,
    APIError,
    Balance,
    Hlr,
    MessageStatus,
    ProtocolError,
    Sms,
    Status,
    Viber,
    ViberSms,
)
from alphasms_notify.results import BalanceResult, SendResult
from alphasms_notify.wire import decode_response, encode_item, encode_request

PHONE = 380971234567
V_TEXT = "Message text to be sent via Viber"

MESSAGES = {
    "balance": Balance(),
    "sms": Sms(PHONE, "Message text to be sent via SMS", sender="SMSTest", id=100500),
    "viber_text": Viber(PHONE, "Message text to send via Viber", sender="ViberTest", id=100500),
    "viber_image": Viber(PHONE, image=IMAGE, sender="ViberTest", id=100500),
    "viber_text_link": Viber(PHONE, V_TEXT, link="https://alphasms.ua", button="Test", sender="ViberTest", id=100500),
    "viber_text_image_link": Viber(PHONE, V_TEXT, image=IMAGE, link="https://alphasms.ua", button="Test",
                                   sender="ViberTest", id=100500),
    "viber_sms": ViberSms(PHONE, V_TEXT, sms_text="Message text to be sent via SMS", image=IMAGE,
                          link="https://alphasms.ua", button="Test", sender="ViberTest", sms_sender="SMSTest",
                          id=100500),
    "hlr": Hlr(PHONE),
    "status": Status(100500),
}


@pytest.mark.parametrize("name", sorted(REQUESTS))
def test_every_item_is_the_reference_shape_key_for_key(name):
    item = encode_item(MESSAGES[name])
    assert item == REQUESTS[name]
    assert list(item) == list(REQUESTS[name])  # same keys, same order as the reference


def test_lifetimes_only_when_asked():
    assert "sms_lifetime" not in encode_item(MESSAGES["sms"])
    item = encode_item(Sms(PHONE, "x", sender="A", id=1, lifetime=3600))
    assert item["sms_lifetime"] == 3600
    item = encode_item(ViberSms(PHONE, "x", sender="A", sms_sender="A", id=1, viber_lifetime=60, sms_lifetime=600))
    assert (item["viber_lifetime"], item["sms_lifetime"]) == (60, 600)


def test_request_body_is_utf8_json_with_integers():
    body = encode_request("KEY", [Sms(PHONE, "Привіт", sender="Shop", id=7)])
    decoded = json.loads(body.decode("utf-8"))
    assert decoded == {"auth": "KEY", "data": [{"type": "sms", "id": 7, "phone": PHONE, "sms_signature": "Shop",
                                                 "sms_message": "Привіт"}]}
    assert "Привіт".encode() in body  # real UTF-8, not \u escapes


def _decode(name, messages):
    return decode_response(200, json.dumps(RESPONSES[name]).encode(), messages)


def test_balance_example_parses():
    [outcome] = _decode("balance", [Balance()])
    assert outcome.ok and outcome.result == BalanceResult(Decimal("100500.0123"), "UAH")


@pytest.mark.parametrize("name", ["sms", "viber_text", "viber_image", "viber_text_link",
                                  "viber_text_image_link", "viber_sms"])
def test_send_example_parses_for_every_send_type(name):
    [outcome] = _decode("send", [MESSAGES[name]])
    assert outcome.result == SendResult(id=100500, msg_id=123456789, parts=1, data=1)


def test_hlr_example_parses():
    [outcome] = _decode("hlr", [Hlr(PHONE)])
    r = outcome.result
    assert (r.phone, r.status, r.imsi, r.mccmnc, r.ported) == (PHONE, MessageStatus.DELIVERED, 255010000000000,
                                                               25501, True)
    assert (r.origin.name, r.origin.prefix, r.origin.country.name, r.origin.country.prefix) == (
        "Kyivstar", 97, "Ukraine", 380)
    assert (r.ported_network.name, r.ported_network.prefix) == ("Vodafone Ukraine (fka MTS)", 66)


def test_status_examples_parse():
    [plain] = _decode("status", [Status(100500)])
    assert (plain.result.id, plain.result.type, plain.result.status) == (100500, "viber", MessageStatus.READ)
    [two_way] = _decode("status_2way", [Status(100500)])
    r = two_way.result
    assert r.status is MessageStatus.REPLIED and len(r.replies) == 3
    tz = timezone(timedelta(hours=3))
    assert r.replies[0].datetime == datetime(2022, 5, 1, 12, 1, 2, tzinfo=tz)
    assert r.replies[0].message == "Please wait" and r.replies[0].media is None
    assert r.replies[1].message is None and r.replies[1].media.filename == "Invoice.pdf"
    assert r.replies[1].media.filesize == 67983
    assert r.replies[2].message == "Correct invoice" and r.replies[2].media.filesize == 197265


def test_request_error_example_raises_access_denied():
    with pytest.raises(AccessDenied, match="Access denied") as info:
        _decode("request_error", [Balance()])
    assert info.value.error == "Access denied"


def test_other_request_errors_keep_the_server_text():
    with pytest.raises(APIError, match="Insufficient rights") as info:
        decode_response(200, b'{"success": false, "error": "Insufficient rights"}', [Balance()])
    assert not isinstance(info.value, AccessDenied)


def test_item_error_example_is_an_outcome_not_an_exception():
    [outcome] = _decode("item_error", [MESSAGES["viber_text"]])
    assert not outcome.ok and outcome.error == "Error in viber alphaname"


@pytest.mark.parametrize("status", ["QUEUED", "DELIVERED", "SIM FULL", "WAIT"])
def test_known_statuses_become_the_enum(status):
    body = json.dumps({"success": True, "data": [{"success": True,
                                                  "data": {"id": 1, "type": "sms", "status": status}}]})
    [outcome] = decode_response(200, body.encode(), [Status(1)])
    assert outcome.result.status is MessageStatus(status)


def test_unknown_status_is_kept_as_text():
    body = b'{"success": true, "data": [{"success": true, "data": {"id": 1, "type": "sms", "status": "NEW THING"}}]}'
    [outcome] = decode_response(200, body, [Status(1)])
    assert outcome.result.status == "NEW THING" and not outcome.result.is_final


def test_answers_are_matched_to_messages_by_id():
    messages = [Sms(PHONE, "a", sender="A", id=1), Sms(PHONE, "b", sender="A", id=2)]
    body = {"success": True, "data": [
        {"success": True, "data": {"id": 2, "msg_id": 20, "data": 1, "parts": 1}},
        {"success": False, "error": "Duplicate message id", "data": {"id": 1}},
    ]}
    first, second = decode_response(200, json.dumps(body).encode(), messages)
    assert first.message.id == 1 and first.error == "Duplicate message id"
    assert second.message.id == 2 and second.result.msg_id == 20


@pytest.mark.parametrize("status_code, body, needle", [
    (500, b"<html><body>Internal Server Error</body></html>", "HTTP 500"),
    (200, b"{not json", "expected JSON"),
    (200, b"\xff\xfe", "expected JSON"),
    (200, b"[]", "'success'"),
    (200, b'{"success": true}', "no 'data' list"),
    (200, b'{"success": true, "data": []}', "sent 1 items but the answer has 0"),
    (200, b'{"success": true, "data": [{"success": true}]}', "missing key 'data'"),
    (200, b'{"success": true, "data": [{"success": true, "data": {"amount": 1}}]}', "missing key 'currency'"),
    (200, b'{"success": true, "data": [{"success": true, "data": {"amount": "x", "currency": "UAH"}}]}', "amount"),
    (200, b'{"success": true, "data": [{"data": {}}]}', "missing key 'success'"),
    (200, b'{"success": true, "data": ["oops"]}', "expected an object"),
])
def test_malformed_answers_raise_a_clear_protocol_error(status_code, body, needle):
    with pytest.raises(ProtocolError, match=needle):
        decode_response(status_code, body, [Balance()])


def test_id_mismatch_is_a_protocol_error():
    body = b'{"success": true, "data": [{"success": true, "data": {"id": 9, "msg_id": 1, "data": 1, "parts": 1}}]}'
    with pytest.raises(ProtocolError, match="for id 9, not 1"):
        decode_response(200, body, [Sms(PHONE, "a", sender="A", id=1)])


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
        st.sampled_from(["success", "data", "error", "id", "msg_id", "parts", "amount", "currency", "status",
                         "type", "replies", "datetime", "message", "media", "url", "phone", "network",
                         "origin", "ported", "name", "prefix", "country", "imsi", "mccmnc"]) | st.text(max_size=5),
        inner, max_size=6),
    max_leaves=30,
)


@settings(max_examples=400, deadline=None)
@given(body=json_values, kind=st.sampled_from(list(MESSAGES)))
def test_parser_on_arbitrary_json_returns_outcomes_or_raises_only_protocol_errors(body, kind):
    message = MESSAGES[kind]
    try:
        outcomes = decode_response(200, json.dumps(body).encode(), [message])
    except (ProtocolError, APIError):
        return
    assert len(outcomes) == 1 and outcomes[0].message is message


@settings(max_examples=200, deadline=None)
@given(raw=st.binary(max_size=64))
def test_parser_on_arbitrary_bytes_never_crashes(raw):
    try:
        decode_response(200, raw, [Balance()])
    except (ProtocolError, APIError):
        pass


_answer_items = st.fixed_dictionaries({"success": st.sampled_from([True, True, True, False, "true", None])}, optional={
    "data": st.one_of(
        st.fixed_dictionaries({}, optional={
            "id": st.sampled_from([1, 2, 3, True, "1", None, 2**70]),
            "msg_id": st.sampled_from([10, -1, True, 1.5, "10", None]),
            "parts": st.sampled_from([1, 2, None, True, "1", 0.5]),
            "data": st.sampled_from([None, 1, "x"]),
            "type": st.sampled_from(["sms", "viber", 1]),
            "status": st.sampled_from(["DELIVERED", "READ", "", None]),
        }),
        json_values),
    "error": st.sampled_from(["Duplicate message id", "", 5]),
})


@settings(max_examples=400, deadline=None)
@given(items=st.lists(_answer_items, min_size=3, max_size=3), kinds=st.lists(
    st.sampled_from(["sms", "viber_text", "viber_sms", "status"]), min_size=3, max_size=3))
def test_the_quick_pass_over_sends_answers_as_the_full_decoder_does(items, kinds):
    """A batch is decoded in one quick pass (a bulk send's every request, a status poll's); whatever the
    items and the mix of kinds, it must answer what the item-by-item decoder answers, or step aside for it."""
    from dataclasses import replace

    import alphasms_notify.wire as wire

    messages = [replace(MESSAGES[kind], id=position + 1) for position, kind in enumerate(kinds)]
    body = json.dumps({"success": True, "data": items}).encode()

    def decoded(usual):
        saved, wire._decode_usual = wire._decode_usual, usual
        try:
            return [(o.ok, o.error, o.result, o.unknown) for o in decode_response(200, body, messages)]
        except (ProtocolError, APIError) as exc:
            return (type(exc), str(exc))
        finally:
            wire._decode_usual = saved

    assert decoded(wire._decode_usual) == decoded(lambda items, messages: None)


def test_decoding_leaves_the_garbage_collector_as_it_found_it():
    """Decoding a batch pauses the cyclic collector (thousands of objects that all survive); it is on again
    afterwards, also when the answer was garbled, and stays off for a caller who had turned it off."""
    import gc

    messages = [Sms(PHONE, "a", sender="A", id=i) for i in range(1, 1001)]
    good = json.dumps({"success": True, "data": [
        {"success": True, "data": {"id": i, "msg_id": i, "parts": 1}} for i in range(1, 1001)]}).encode()
    assert gc.isenabled()
    assert len(decode_response(200, good, messages)) == 1000 and gc.isenabled()
    with pytest.raises(ProtocolError):
        decode_response(200, b'{"success": true, "data": "garbled"}', messages)
    assert gc.isenabled()
    gc.disable()
    try:
        decode_response(200, good, messages)
        assert not gc.isenabled()
    finally:
        gc.enable()
