"""The real client over real HTTP against the sandbox: shapes, batches, errors, retries."""

from __future__ import annotations

import logging
import math
from decimal import Decimal

import httpx
import pytest

from alphasms_notify import (
    AccessDenied,
    AlphaSMS,
    AsyncAlphaSMS,
    MessageStatus,
    ProtocolError,
    Sms,
    TransportError,
    ValidationError,
    Viber,
    ViberSms,
)

IMG = "https://example.com/promo.png"


def sent_items(sandbox):
    return [item for request in sandbox.requests() for item in request.get("data", [])]


def test_every_send_type_goes_out_in_the_reference_shape(client, alphasms_sandbox):
    messages = [
        Sms("+380 97 123 45 67", "Hello"),
        Viber("0971234567", "Text only"),
        Viber("0971234567", image=IMG),
        Viber("0971234567", "With link", link="https://example.com", button="Open"),
        Viber("0971234567", "All", image=IMG, link="https://example.com", button="Open"),
        ViberSms("0971234567", "Viber text", sms_text="SMS text", image=IMG, link="https://example.com",
                 button="Open"),
    ]
    outcomes = client.send(messages)
    assert [o.ok for o in outcomes] == [True] * 6
    items = sent_items(alphasms_sandbox)
    assert len(alphasms_sandbox.requests()) == 1
    ids = [m.id for m in messages]
    assert items[0] == {"type": "sms", "id": ids[0], "phone": 380971234567, "sms_signature": "Shop",
                        "sms_message": "Hello"}
    base = {"type": "viber", "phone": 380971234567, "viber_signature": "ShopViber"}
    assert items[1] == {**base, "id": ids[1], "viber_type": "text", "viber_message": "Text only"}
    assert items[2] == {**base, "id": ids[2], "viber_type": "image", "viber_image": IMG}
    assert items[3] == {**base, "id": ids[3], "viber_type": "text+link", "viber_message": "With link",
                        "viber_link": "https://example.com", "viber_button": "Open"}
    assert items[4] == {**base, "id": ids[4], "viber_type": "text+image+link", "viber_message": "All",
                        "viber_image": IMG, "viber_link": "https://example.com", "viber_button": "Open"}
    assert items[5] == {"type": "viber+sms", "id": ids[5], "phone": 380971234567, "sms_signature": "Shop",
                        "sms_message": "SMS text", "viber_type": "text+image+link",
                        "viber_signature": "ShopViber", "viber_message": "Viber text", "viber_image": IMG,
                        "viber_link": "https://example.com", "viber_button": "Open"}
    assert [o.result.id for o in outcomes] == ids
    assert len(set(o.result.msg_id for o in outcomes)) == 6


def test_balance_hlr_status(client, alphasms_sandbox):
    assert str(client.balance()) == "100000.0 UAH"
    hlr = client.hlr("0971111111")
    assert hlr.ported and hlr.origin.name == "Kyivstar" and hlr.ported_network.prefix == 66
    [outcome] = client.send(Sms("0971234567", "Hi"))
    [status] = client.status(outcome.result.id)
    assert status.result.status in (MessageStatus.QUEUED, MessageStatus.ROUTING, MessageStatus.DELIVERED)
    assert client.balance().amount == Decimal("100000") - Decimal("0.05") - Decimal("1.50")  # hlr + 1 part


def test_one_bad_item_does_not_hide_the_others(client, alphasms_sandbox):
    messages = [Sms("0971234567", "one"), Sms("0971234568", "two", sender="Шоп"), Sms("0971234569", "three")]
    outcomes = client.send(messages)
    assert [o.ok for o in outcomes] == [True, False, True]
    assert outcomes[1].error == "Error in sms alphaname" and outcomes[1].message.phone == 380971234568
    assert sorted(m["phone"] for m in alphasms_sandbox.messages()) == [380971234567, 380971234569]


def test_invalid_input_sends_nothing(client, alphasms_sandbox):
    with pytest.raises(ValidationError) as info:
        client.send([Sms("0971234567", "fine"), Sms("12", "bad phone"), Viber("0971234567", "x", link="https://a.b")])
    text = str(info.value)
    assert "message 2 (sms to 12" in text and "phone" in text and "message 3" in text and "button" in text
    assert alphasms_sandbox.requests() == []


def test_duplicate_ids_in_one_call_are_refused_before_sending(client, alphasms_sandbox):
    with pytest.raises(ValidationError, match="id 5 is also used by message 1"):
        client.send([Sms("0971234567", "a", id=5), Sms("0971234568", "b", id=5)])
    assert alphasms_sandbox.requests() == []


def test_access_denied_raises_with_the_server_text(alphasms_sandbox):
    with AlphaSMS("wrong-key", alphasms_sandbox.api_url, sms_sender="Shop") as sms:
        with pytest.raises(AccessDenied, match="Access denied"):
            sms.send(Sms("0971234567", "Hi"))
    assert alphasms_sandbox.messages() == []


@pytest.mark.parametrize("batch_size", [100, 37])
def test_sms_go_out_in_ceil_n_over_batch_size_requests(alphasms_sandbox, batch_size):
    with AlphaSMS(alphasms_sandbox.key, alphasms_sandbox.api_url, sms_sender="Shop", batch_size=batch_size) as sms:
        outcomes = sms.send([Sms(380970000000 + i, f"n{i}") for i in range(1000)])
    assert all(o.ok for o in outcomes)
    assert len(alphasms_sandbox.requests()) == math.ceil(1000 / batch_size) == sms.requests_made
    assert len(alphasms_sandbox.messages()) == 1000


async def test_async_client_batches_with_bounded_concurrency(alphasms_sandbox):
    async with AsyncAlphaSMS(alphasms_sandbox.key, alphasms_sandbox.api_url, sms_sender="Shop",
                             batch_size=50, max_concurrency=3) as sms:
        outcomes = await sms.send([Sms(380970000000 + i, "hi") for i in range(1000)])
        statuses = await sms.status([o.result.id for o in outcomes])
        assert (await sms.balance()).currency == "UAH"
    assert [o.message.phone for o in outcomes] == [380970000000 + i for i in range(1000)]
    assert all(s.ok for s in statuses) and [s.result.id for s in statuses] == [o.result.id for o in outcomes]
    assert len(alphasms_sandbox.requests()) == 20 + 20 + 1


def test_status_of_many_ids_is_batched(client, alphasms_sandbox):
    outcomes = client.send([Sms(380670000000 + i, "x") for i in range(250)])
    before = len(alphasms_sandbox.requests())
    statuses = client.status([o.result.id for o in outcomes] + [999])
    assert len(alphasms_sandbox.requests()) - before == 3
    assert all(s.ok for s in statuses[:-1]) and statuses[-1].error == "Message not found"


@pytest.mark.parametrize("kind", ["http500", "invalid_json", "delay", "drop"])
@pytest.mark.parametrize("when", ["before", "after"])
def test_retries_after_each_fault_never_send_twice(alphasms_sandbox, kind, when):
    alphasms_sandbox.fault(kind, count=2, when=when, seconds=1.0)
    with AlphaSMS(alphasms_sandbox.key, alphasms_sandbox.api_url, sms_sender="Shop", timeout=0.4, deadline=5.0,
                  backoff=0.01, retries=4) as sms:
        messages = [Sms(380971000000 + i, f"m{i}") for i in range(5)]
        outcomes = sms.send(messages)
    assert all(o.ok for o in outcomes)
    received = alphasms_sandbox.messages()
    assert sorted(m["id"] for m in received) == sorted(m.id for m in messages)  # each exactly once
    assert alphasms_sandbox.faults()["injected"] == {kind: 2}
    if when == "after":
        assert all(o.result.recovered for o in outcomes)  # found by status, not sent again


async def test_async_retries_never_send_twice(alphasms_sandbox):
    alphasms_sandbox.fault("drop", count=1)
    async with AsyncAlphaSMS(alphasms_sandbox.key, alphasms_sandbox.api_url, sms_sender="Shop",
                             backoff=0.01, batch_size=10) as sms:
        outcomes = await sms.send([Sms(380971000000 + i, "x") for i in range(30)])
    assert all(o.ok for o in outcomes)
    assert len(alphasms_sandbox.messages()) == 30


def test_resending_the_same_messages_after_a_request_failure_is_idempotent(client, alphasms_sandbox):
    messages = [Sms(380971000000 + i, "x") for i in range(3)]
    alphasms_sandbox.fault("access_denied", count=1)
    with pytest.raises(AccessDenied):
        client.send(messages)
    assert all(m.id for m in messages)  # ids were assigned in place
    assert all(o.ok for o in client.send(messages))
    requests = len(alphasms_sandbox.requests())
    again = client.send(messages)  # a careless second resend: answered from what the client knows
    assert all(o.ok for o in again) and [o.result.id for o in again] == [m.id for m in messages]
    assert len(alphasms_sandbox.requests()) == requests
    assert len(alphasms_sandbox.messages()) == 3


def test_retries_give_up_with_a_clear_error(alphasms_sandbox):
    alphasms_sandbox.fault("http500", count=None)
    with AlphaSMS(alphasms_sandbox.key, alphasms_sandbox.api_url, retries=2, backoff=0.01) as sms:
        with pytest.raises(ProtocolError, match="HTTP 500"):
            sms.balance()
    assert len(alphasms_sandbox.requests()) == 3


def test_unreachable_provider_is_a_transport_error_without_the_key(caplog):
    secret = "s3cr3t-key-value"
    caplog.set_level(logging.DEBUG)
    with AlphaSMS(secret, "http://127.0.0.1:9/api/json.php", retries=1, backoff=0.01) as sms:
        assert secret not in repr(sms)
        with pytest.raises(TransportError, match="could not reach AlphaSMS") as info:
            sms.balance()
    assert secret not in str(info.value) and secret not in repr(info.value)
    assert secret not in caplog.text


def test_key_never_in_logs_of_a_successful_send(alphasms_sandbox, caplog):
    caplog.set_level(logging.DEBUG)
    with AlphaSMS(alphasms_sandbox.key, alphasms_sandbox.api_url, sms_sender="Shop") as sms:
        sms.send(Sms("0971234567", "Hi"))
    assert caplog.records and alphasms_sandbox.key not in caplog.text


def test_one_connection_is_reused(alphasms_sandbox):
    connections = []

    class Counting(httpx.HTTPTransport):
        def handle_request(self, request):
            response = super().handle_request(request)
            connections.append(len(self._pool.connections))
            return response

    with AlphaSMS(alphasms_sandbox.key, alphasms_sandbox.api_url, transport=Counting()) as sms:
        for _ in range(5):
            sms.balance()
    assert connections == [1] * 5


def test_codec_unit_with_mock_transport():
    def handler(request):
        assert request.headers["content-type"] == "application/json"
        return httpx.Response(200, json={"success": True, "data": [{"success": True,
                                                                    "data": {"amount": 5, "currency": "UAH"}}]})

    with AlphaSMS("k", "http://provider.test/api/json.php", transport=httpx.MockTransport(handler)) as sms:
        assert str(sms.balance()) == "5 UAH"


def test_generated_ids_are_unique_across_processes_and_increase():
    import subprocess
    import sys

    code = "from alphasms_notify import new_message_id; print(' '.join(str(new_message_id()) for _ in range(5000)))"
    procs = [subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True) for _ in range(3)]
    runs = [[int(x) for x in p.communicate(timeout=60)[0].split()] for p in procs]
    assert all(run == sorted(run) and len(set(run)) == 5000 for run in runs)
    assert len(set().union(*runs)) == 15000
    assert all(0 < i < 2**63 for run in runs for i in run)


@pytest.mark.parametrize("asynchronous", [False, True])
async def test_skip_invalid_sends_the_valid_ones_and_reports_the_others(alphasms_sandbox, asynchronous):
    messages = [Sms("0971234567", "one"), Sms("12", "bad phone"), Sms("0501234567", "  "), Sms("0631234567", "ok")]
    options = dict(sms_sender="Shop")
    if asynchronous:
        async with AsyncAlphaSMS(alphasms_sandbox.key, alphasms_sandbox.api_url, **options) as sms:
            outcomes = await sms.send(messages, skip_invalid=True)
    else:
        with AlphaSMS(alphasms_sandbox.key, alphasms_sandbox.api_url, **options) as sms:
            outcomes = sms.send(messages, skip_invalid=True)
    assert [o.ok for o in outcomes] == [True, False, False, True]
    assert outcomes[1].error == "invalid: phone: '12' is not a valid phone number"
    assert outcomes[2].error == "invalid: text: SMS text is empty"
    assert sorted(m["phone"] for m in alphasms_sandbox.messages()) == [380631234567, 380971234567]


@pytest.mark.parametrize("kind", ["http500", "invalid_json", "delay", "drop"])
async def test_async_client_on_its_aiohttp_transport_retries_every_fault_without_sending_twice(alphasms_sandbox,
                                                                                              kind):
    alphasms_sandbox.fault(kind, count=2, seconds=1.0)
    async with AsyncAlphaSMS(alphasms_sandbox.key, alphasms_sandbox.api_url, sms_sender="Shop", timeout=0.4,
                             backoff=0.01, retries=4, batch_size=5) as sms:
        messages = [Sms(380971000000 + i, f"m{i}") for i in range(10)]
        outcomes = await sms.send(messages)
    assert all(o.ok for o in outcomes)
    assert sorted(m["id"] for m in alphasms_sandbox.messages()) == sorted(m.id for m in messages)
    assert alphasms_sandbox.faults()["injected"] == {kind: 2}


async def test_async_transport_errors_are_httpx_errors_and_keep_the_key_out():
    secret = "async-s3cret-key"
    async with AsyncAlphaSMS(secret, "http://127.0.0.1:9/api/json.php", retries=1, backoff=0.01) as sms:
        with pytest.raises(TransportError, match="could not reach AlphaSMS.*ConnectError") as info:
            await sms.balance()
    assert secret not in str(info.value)


async def test_async_client_can_use_plain_httpx_transport(alphasms_sandbox):
    async with AsyncAlphaSMS(alphasms_sandbox.key, alphasms_sandbox.api_url, sms_sender="Shop",
                             transport=httpx.AsyncHTTPTransport()) as sms:
        [outcome] = await sms.send(Sms("0971234567", "via httpx"))
    assert outcome.ok and alphasms_sandbox.messages()[0]["item"]["sms_message"] == "via httpx"


async def test_both_async_roads_send_the_same_request_head():
    """The async client posts to its own aiohttp transport directly, and through httpx to a caller's
    transport: the provider sees the same method, path, type, agent and campaign either way."""
    import json

    from aiohttp import web

    from alphasms_notify import __version__
    from alphasms_notify.wire import CAMPAIGN_HEADER

    heads: list[dict[str, str]] = []

    async def api(request: web.Request) -> web.Response:
        body = json.loads(await request.read())
        heads.append({"method": request.method, "path": request.path, **{k.lower(): v for k, v in
                                                                          request.headers.items()}})
        return web.json_response({"success": True, "data": [
            {"success": True, "data": {"id": item["id"], "msg_id": 7, "parts": 1}} for item in body["data"]]})

    app = web.Application()
    app.router.add_post("/api/json.php", api)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}/api/json.php"
    try:
        for transport in (None, httpx.AsyncHTTPTransport()):
            async with AsyncAlphaSMS("KEY", url, sms_sender="Shop", transport=transport) as sms:
                message = Sms("0971234567", "hi", meta={"source": "campaign:Осінь"})
                [outcome] = await sms.send(message)
            assert outcome.ok and outcome.result.msg_id == 7
    finally:
        await runner.cleanup()
    ours, theirs = heads
    for head in (ours, theirs):
        assert head["method"] == "POST" and head["path"] == "/api/json.php"
        assert head["content-type"] == "application/json"
        assert head["user-agent"] == f"alphasms-notify/{__version__}"
        assert head[CAMPAIGN_HEADER.lower()] == "%D0%9E%D1%81%D1%96%D0%BD%D1%8C"


def test_outcomes_are_records_the_garbage_collector_need_not_walk():
    """A send keeps an Outcome and a SendResult a message: untracked by the cyclic collector, compared and
    shown without the provider's raw item (as before), and freed as soon as nothing refers to them."""
    import gc
    import weakref

    from alphasms_notify.results import Outcome, SendResult

    message = Sms("0971234567", "hi", id=5)
    one = Outcome(message, True, SendResult(5, 50, 1), raw={"success": True, "data": {"id": 5}})
    other = Outcome(message, True, SendResult(5, 50, 1), raw={"success": True}, warnings=["store down"])
    assert not gc.is_tracked(one) and not gc.is_tracked(one.result)
    assert one == other and one != Outcome(message, False, error="no")
    assert "raw" not in repr(one) and "msg_id=50" in repr(one) and "store down" in repr(other)
    held = weakref.ref(message)
    del message, one, other
    assert held() is None  # no cycle: reference counting alone frees them


def test_the_connection_pool_is_made_at_the_first_request_once_and_a_closed_client_sends_nothing(alphasms_sandbox):
    import subprocess
    import sys
    from concurrent.futures import ThreadPoolExecutor

    only_checks = ("import sys; from alphasms_notify import AlphaSMS, Sms\n"
                   "with AlphaSMS('k', 'http://127.0.0.1:9/', sms_sender='Shop') as sms:\n"
                   "    sms.prepare([Sms('380971234567', 'hi')])\n"
                   "print('httpcore' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", only_checks], capture_output=True, text=True,
                          timeout=60).stdout.strip() == "False"  # prepared and checked: no pool loaded
    sms = AlphaSMS(alphasms_sandbox.key, alphasms_sandbox.api_url)
    with ThreadPoolExecutor(4) as pool:  # four threads' first requests at once: one pool for all
        assert len({b.amount for b in pool.map(lambda _: sms.balance(), range(4))}) == 1
    assert sms._pool is not None and sms._http is sms._pool
    sms.close()
    with pytest.raises(RuntimeError, match="closed"):
        sms.balance()
    unused = AlphaSMS(alphasms_sandbox.key, alphasms_sandbox.api_url)
    unused.close()
    with pytest.raises(RuntimeError, match="closed"):  # closed before its first request: the same
        unused.balance()
