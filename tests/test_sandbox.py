"""The sandbox speaks the reference: shapes, errors, lifecycle, replies, faults, control calls."""

from __future__ import annotations

import json
import time

import httpx
import pytest
from reference import REQUESTS, RESPONSES

from alphasms_notify import MessageStatus, Sms, Viber, ViberSms
from alphasms_notify.sandbox import Sandbox
from alphasms_notify.sandbox.numbers import EXPIRED, INVALID_DESTINATION, REJECTED, UNDELIVERABLE, VIBER_FAILS


def post(sandbox, items, *, key=None, headers=None, content=None):
    body = content if content is not None else json.dumps({"auth": key or sandbox.key, "data": items}).encode()
    response = httpx.post(sandbox.api_url, content=body,
                          headers=headers or {"Content-Type": "application/json"}, timeout=5)
    return response.json()


def shape(value):
    """The keys and value types of a JSON document, to compare with the reference."""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [shape(v) for v in value[:1]]
    return type(value).__name__


@pytest.mark.parametrize("name, response", [
    ("balance", "balance"), ("sms", "send"), ("viber_text", "send"), ("viber_image", "send"),
    ("viber_text_link", "send"), ("viber_text_image_link", "send"), ("viber_sms", "send"), ("hlr", "hlr"),
])
def test_answers_have_the_reference_shape_key_for_key(alphasms_sandbox, name, response):
    item = dict(REQUESTS[name])
    if name == "hlr":
        item["phone"] = 380971111111  # a documented ported number, so network.ported is filled in
    answer = post(alphasms_sandbox, [item])
    assert shape(answer) == shape(RESPONSES[response])
    if response == "send":
        assert answer["data"][0]["data"]["id"] == 100500


def test_status_answers_have_the_reference_shape(alphasms_sandbox):
    post(alphasms_sandbox, [REQUESTS["viber_text"]])
    assert shape(post(alphasms_sandbox, [REQUESTS["status"]])) == shape(RESPONSES["status"])
    alphasms_sandbox.reply(100500, "Correct invoice", media=("Invoice.pdf", b"%PDF-1.4 test"))
    answer = post(alphasms_sandbox, [REQUESTS["status"]])
    reference = RESPONSES["status_2way"]["data"][0]["data"]
    data = answer["data"][0]["data"]
    assert shape({k: v for k, v in data.items() if k != "replies"}) == shape(
        {k: v for k, v in reference.items() if k != "replies"})
    assert shape(data["replies"][0]) == shape(reference["replies"][2])  # text and media, as in the reference


def test_request_level_errors(alphasms_sandbox):
    assert post(alphasms_sandbox, [REQUESTS["balance"]], key="nope") == {"success": False, "error": "Access denied"}
    wrong_header = post(alphasms_sandbox, [REQUESTS["balance"]], headers={"Content-Type": "text/plain"})
    assert wrong_header["success"] is False and "Content-Type" in wrong_header["error"]
    not_utf8 = post(alphasms_sandbox, None, content='{"auth": "ключ"}'.encode("cp1251"))
    assert not_utf8["success"] is False and "UTF-8 JSON" in not_utf8["error"]
    not_json = post(alphasms_sandbox, None, content=b"auth=key")
    assert not_json["success"] is False
    no_list = post(alphasms_sandbox, None, content=b'{"auth": "sandbox-key", "data": {}}')
    assert no_list["success"] is False and "data" in no_list["error"]
    assert alphasms_sandbox.messages() == []


@pytest.mark.parametrize("item, error", [
    ({"type": "fax", "id": 1, "phone": 380971234567}, "Unknown message type: 'fax'"),
    ({"id": 1, "phone": 380971234567}, "Missing message type"),
    ({"type": "sms", "id": 1, "phone": 380971234567, "sms_signature": "Shop"}, "Empty sms_message"),
    ({"type": "sms", "phone": 380971234567, "sms_signature": "Shop", "sms_message": "x"}, "Invalid id"),
    ({"type": "sms", "id": "x1", "phone": 380971234567, "sms_signature": "Shop", "sms_message": "x"}, "Invalid id"),
    ({"type": "sms", "id": 1, "phone": "+38097abc", "sms_signature": "Shop", "sms_message": "x"},
     "Invalid phone number"),
    ({"type": "sms", "id": 1, "phone": 380121234567, "sms_signature": "Shop", "sms_message": "x"},
     "Invalid phone number"),
    ({"type": "sms", "id": 1, "phone": 380971234567, "sms_signature": "Шоп", "sms_message": "x"},
     "Error in sms alphaname"),
    ({"type": "sms", "id": 1, "phone": 380971234567, "sms_signature": "Shop", "sms_message": "x", "extra": 1},
     "Unexpected field extra for type sms"),
    ({"type": "viber", "id": 1, "phone": 380971234567, "viber_type": "text", "viber_signature": "",
      "viber_message": "x"}, "Error in viber alphaname"),
    ({"type": "viber", "id": 1, "phone": 380971234567, "viber_type": "video", "viber_signature": "S",
      "viber_message": "x"}, "Invalid viber_type: 'video'"),
    ({"type": "viber", "id": 1, "phone": 380971234567, "viber_type": "text", "viber_signature": "S",
      "viber_message": "x", "viber_image": "https://a.b/i.png"}, "viber_image does not fit viber_type text"),
    ({"type": "viber", "id": 1, "phone": 380971234567, "viber_type": "text+link", "viber_signature": "S",
      "viber_message": "x", "viber_link": "https://a.b"}, "Empty viber_button"),
    ({"type": "viber", "id": 1, "phone": 380971234567, "viber_type": "image", "viber_signature": "S",
      "viber_image": "file:///etc/passwd"}, "Invalid viber_image"),
    ({"type": "viber", "id": 1, "phone": 380971234567, "viber_type": "text", "viber_signature": "S",
      "viber_message": "x" * 1001}, "viber_message is longer than 1000 characters"),
    ({"type": "status", "id": 424242}, "Message not found"),
    ({"type": "hlr", "phone": "not a number"}, "Invalid phone number"),
])
def test_an_invalid_item_fails_alone(alphasms_sandbox, item, error):
    good = dict(REQUESTS["sms"], id=777)
    answer = post(alphasms_sandbox, [good, item, REQUESTS["balance"]])
    assert answer["success"] is True
    first, bad, last = answer["data"]
    assert first["success"] is True and last["success"] is True
    assert bad["success"] is False and bad["error"] == error
    if "id" in item:
        assert bad["data"] == {"id": item["id"]}  # the reference's per-item error shape


def test_duplicate_ids_in_a_batch_and_across_requests(alphasms_sandbox):
    answer = post(alphasms_sandbox, [REQUESTS["sms"], REQUESTS["sms"]])
    assert [i["success"] for i in answer["data"]] == [True, False]
    assert answer["data"][1] == {"success": False, "error": "Duplicate message id", "data": {"id": 100500}}
    again = post(alphasms_sandbox, [REQUESTS["viber_text"]])
    assert again["data"][0]["error"] == "Duplicate message id"
    assert len(alphasms_sandbox.messages()) == 1


def test_numeric_strings_are_accepted_like_integers(alphasms_sandbox):
    item = dict(REQUESTS["sms"], id="100501", phone="380971234567")
    answer = post(alphasms_sandbox, [item, {"type": "status", "id": "100501"}])
    assert answer["data"][0]["data"]["id"] == 100501 and answer["data"][1]["success"] is True


def test_balance_falls_by_price_times_parts(alphasms_sandbox):
    start = alphasms_sandbox.balance()
    post(alphasms_sandbox, [dict(REQUESTS["sms"], sms_message="ї" * 71)])  # UCS-2, 2 parts
    assert alphasms_sandbox.balance() == start - 2 * alphasms_sandbox.provider.prices.sms_part
    alphasms_sandbox.balance("1.00")
    answer = post(alphasms_sandbox, [dict(REQUESTS["sms"], id=5)])
    assert answer["data"][0]["error"] == "Insufficient funds"


def wait_for_status(client, msg_id, wanted, timeout=5.0):
    seen = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = client.status(msg_id)[0].result
        if not seen or seen[-1] != result.status:
            seen.append(result.status)
        if result.status == wanted:
            return seen, result
        time.sleep(0.01)
    raise AssertionError(f"{msg_id} never reached {wanted}: {seen}")


def test_sms_lifecycle(client):
    [sent] = client.send(Sms("0971234567", "Hi"))
    seen, result = wait_for_status(client, sent.result.id, MessageStatus.DELIVERED)
    assert seen == [MessageStatus.QUEUED, MessageStatus.ROUTING, MessageStatus.DELIVERED]
    assert result.type == "sms"


def test_viber_lifecycle_goes_on_to_read(client):
    [sent] = client.send(Viber("0971234567", "Hi"))
    seen, result = wait_for_status(client, sent.result.id, MessageStatus.READ)
    assert seen == [MessageStatus.QUEUED, MessageStatus.ROUTING, MessageStatus.DELIVERED, MessageStatus.READ]


@pytest.mark.parametrize("phone, status", [
    (UNDELIVERABLE, MessageStatus.UNDELIVERABLE), (EXPIRED, MessageStatus.EXPIRED),
    (REJECTED, MessageStatus.REJECTED), (INVALID_DESTINATION, MessageStatus.INVALID_DESTINATION_ADDRESS),
])
def test_magic_numbers_end_as_documented(client, phone, status):
    [sent] = client.send(Sms(phone, "Hi"))
    _, result = wait_for_status(client, sent.result.id, status)
    assert result.status.is_failure


def test_viber_fails_on_magic_number_and_viber_sms_falls_back_to_sms(client):
    viber, fallback = client.send([Viber(VIBER_FAILS, "Hi"), ViberSms(VIBER_FAILS, "Hi")])
    wait_for_status(client, viber.result.id, MessageStatus.UNDELIVERABLE)
    seen, result = wait_for_status(client, fallback.result.id, MessageStatus.DELIVERED)
    assert result.type == "sms" and MessageStatus.UNDELIVERABLE not in seen


@pytest.mark.parametrize("phone, origin, mccmnc, ported_to", [
    ("0671234567", "Kyivstar", 25503, None), ("0981234567", "Kyivstar", 25503, None),
    ("0501234567", "Vodafone Ukraine (fka MTS)", 25501, None),
    ("0991234567", "Vodafone Ukraine (fka MTS)", 25501, None),
    ("0631234567", "lifecell", 25506, None), ("0931234567", "lifecell", 25506, None),
    ("0971111111", "Kyivstar", 25501, "Vodafone Ukraine (fka MTS)"),
    ("0501111111", "Vodafone Ukraine (fka MTS)", 25506, "lifecell"),
    ("0631111111", "lifecell", 25503, "Kyivstar"),
])
def test_hlr_answers_from_the_prefix_with_ported_numbers(client, phone, origin, mccmnc, ported_to):
    result = client.hlr(phone)
    assert result.origin.name == origin and result.mccmnc == mccmnc
    assert result.ported is (ported_to is not None)
    assert (result.ported_network.name if result.ported_network else None) == ported_to
    assert str(result.imsi).startswith(str(mccmnc)) and len(str(result.imsi)) == 15


def test_two_way_viber_reply_with_text_and_media_served_by_the_sandbox(client, alphasms_sandbox):
    [sent] = client.send(Viber("0971234567", "Your invoice?"))
    alphasms_sandbox.reply(sent.result.id, "Please wait")
    alphasms_sandbox.reply(sent.result.id, media=("Invoice.pdf", b"%PDF-1.4 bytes"), content_type="application/pdf")
    [status] = client.status(sent.result.id)
    result = status.result
    assert result.status is MessageStatus.REPLIED and len(result.replies) == 2
    first, second = result.replies
    assert first.message == "Please wait" and first.datetime.utcoffset() is not None
    assert second.message is None and second.media.filename == "Invoice.pdf" and second.media.filesize == 14
    media = httpx.get(second.media.url)
    assert media.status_code == 200 and media.content == b"%PDF-1.4 bytes"
    assert media.headers["content-type"] == "application/pdf"


def test_control_calls_refuse_bad_input_clearly(client, alphasms_sandbox):
    [sms] = client.send(Sms("0971234567", "Hi"))
    with pytest.raises(RuntimeError, match="only Viber messages can be replied to"):
        alphasms_sandbox.reply(sms.result.id, "hey")
    with pytest.raises(RuntimeError, match="no message with id 1"):
        alphasms_sandbox.reply(1, "hey")
    with pytest.raises(RuntimeError, match="kind must be one of"):
        alphasms_sandbox.fault("meteor")
    index = httpx.get(alphasms_sandbox.url + "/_sandbox/").json()
    assert "POST /_sandbox/faults" in index["control"]


def test_access_denied_fault_then_normal_service(client, alphasms_sandbox):
    alphasms_sandbox.fault("access_denied", count=1)
    assert post(alphasms_sandbox, [REQUESTS["balance"]]) == {"success": False, "error": "Access denied"}
    assert post(alphasms_sandbox, [REQUESTS["balance"]])["success"] is True


def test_requests_log_keeps_everything_received_without_the_key(client, alphasms_sandbox):
    client.send([Sms("0971234567", "a"), Sms("0971234568", "b")])
    [request] = alphasms_sandbox.requests()
    assert [i["sms_message"] for i in request["data"]] == ["a", "b"]
    assert alphasms_sandbox.key not in json.dumps(request)


def test_runs_standalone_on_port_zero_and_stops_cleanly():
    with Sandbox(key="k2") as box:
        assert box.port != 0
        assert post(box, [REQUESTS["balance"]])["success"] is True
    with pytest.raises(httpx.ConnectError):
        httpx.post(box.api_url, content=b"{}", timeout=1)


def test_latency_delays_each_answer_as_a_distant_provider_would():
    import time as clock

    from alphasms_notify import AlphaSMS, Sms
    from alphasms_notify.sandbox import Sandbox

    with Sandbox(step=0.05, latency=0.2) as far, AlphaSMS(far.key, far.api_url, sms_sender="Shop") as sms:
        started = clock.monotonic()
        assert sms.balance().amount > 0
        took = clock.monotonic() - started
        assert sms.send(Sms("0971234567", "hi"))[0].ok
    assert 0.2 <= took < 2.0
