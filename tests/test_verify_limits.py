"""Verification from a web app (AsyncVerifier over real HTTP), and the limits that stop SMS pumping.

The web app is a real aiohttp server on 127.0.0.1 whose handlers verify phones
with AsyncAlphaSMS against the sandbox, as a sign-up form would; the caller is
the address the app sees (here a header, since every test client is 127.0.0.1).
The per-caller and global limits are raced by real processes on SQLite and
PostgreSQL: however many ask at once, no more codes go out than the limit.
"""

from __future__ import annotations

import asyncio
import multiprocessing

import httpx
import pytest
from aiohttp import web

from alphasms_notify import AlphaSMS, AsyncAlphaSMS
from alphasms_notify.settings import VerifySettings
from alphasms_notify.store import Store
from alphasms_notify.verify import AsyncVerifier, Verifier

SECRET = "s" * 40
PHONES = [380970000100 + i for i in range(16)]


def _code(sandbox) -> str:
    return sandbox.messages()[-1]["item"]["sms_message"].split(": ")[1][:6]


async def _serve(verifier: AsyncVerifier) -> tuple[web.AppRunner, str]:
    async def start(request: web.Request) -> web.Response:
        body = await request.json()
        answer = await verifier.start(body["phone"], caller=request.headers["X-Caller"])
        return web.json_response(answer.to_dict(), status=200 if answer.ok else 429
                                 if answer.status == "rate_limited" else 400)

    async def check(request: web.Request) -> web.Response:
        body = await request.json()
        answer = await verifier.check(body["phone"], body["code"], caller=request.headers["X-Caller"])
        return web.json_response(answer.to_dict(), status=200 if answer.ok else 400)

    async def cancel(request: web.Request) -> web.Response:
        body = await request.json()
        return web.json_response({"canceled": await verifier.cancel(body["phone"])})

    app = web.Application()
    app.add_routes([web.post("/start", start), web.post("/check", check), web.post("/cancel", cancel)])
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    return runner, f"http://127.0.0.1:{port}"


async def test_a_web_app_verifies_phones_with_the_async_client(alphasms_sandbox, tmp_path):
    store = Store(tmp_path / "web.sqlite3")
    settings = VerifySettings(secret=SECRET, caller_hourly_limit=5, cooldown=0, caller_hourly_checks=20)
    async with AsyncAlphaSMS(alphasms_sandbox.key, alphasms_sandbox.api_url, sms_sender="Shop") as sms:
        runner, url = await _serve(AsyncVerifier(sms, store, settings))
        try:
            async with httpx.AsyncClient(base_url=url) as web_client:
                me = {"X-Caller": "198.51.100.1"}
                started = await web_client.post("/start", json={"phone": "+380 97 123 45 67"}, headers=me)
                assert started.status_code == 200 and started.json()["status"] == "pending"
                assert started.json()["via"] == "sms" and started.json()["expires_at"] > 0
                wrong = await web_client.post("/check", json={"phone": "0971234567", "code": "x"}, headers=me)
                assert wrong.json()["status"] == "wrong_code" and wrong.json()["attempts_left"] == 4
                right = await web_client.post("/check", json={"phone": "0971234567",
                                                             "code": _code(alphasms_sandbox)}, headers=me)
                assert right.status_code == 200 and right.json()["status"] == "approved"
                again = await web_client.post("/check", json={"phone": "0971234567",
                                                             "code": _code(alphasms_sandbox)}, headers=me)
                assert again.json()["status"] == "not_found"

                # a canceled code no longer works
                await web_client.post("/start", json={"phone": "0501234567"}, headers=me)
                assert (await web_client.post("/cancel", json={"phone": "0501234567"})).json()["canceled"]
                canceled = await web_client.post("/check", json={"phone": "0501234567",
                                                                "code": _code(alphasms_sandbox)}, headers=me)
                assert canceled.json()["status"] == "canceled"

                # one caller pumping codes to many numbers, ten at once: the limit (5 an hour) holds
                sent_before = len(alphasms_sandbox.messages())
                pump = {"X-Caller": "203.0.113.7"}
                answers = await asyncio.gather(*(web_client.post("/start", json={"phone": str(p)}, headers=pump)
                                                 for p in PHONES[:10]))
                statuses = sorted(a.json()["status"] for a in answers)
                assert statuses == ["pending"] * 5 + ["rate_limited"] * 5
                limited = next(a for a in answers if a.status_code == 429).json()
                assert limited["message"].startswith("caller limit: 5 codes an hour") and limited["retry_after"] > 0
                assert len(alphasms_sandbox.messages()) == sent_before + 5
                # another caller is not held up by it
                other = await web_client.post("/start", json={"phone": str(PHONES[10])},
                                              headers={"X-Caller": "192.0.2.9"})
                assert other.json()["status"] == "pending"

                # a number outside [verify] countries is refused before anything reaches the provider
                requests_before = len(alphasms_sandbox.requests())
                for foreign in ("+48 601 234 567", "+44 7911 123456", "+1 650 253 0000"):
                    refused = await web_client.post("/start", json={"phone": foreign}, headers=me)
                    assert refused.status_code == 400 and refused.json()["status"] == "refused"
                    assert "codes go only to UA" in refused.json()["message"]
                assert len(alphasms_sandbox.requests()) == requests_before
        finally:
            await runner.cleanup()
    store.close()


async def test_checks_are_limited_per_caller_and_countries_can_be_widened(alphasms_sandbox, tmp_path):
    store = Store(tmp_path / "checks.sqlite3")
    settings = VerifySettings(secret=SECRET, caller_hourly_checks=3, countries=["UA", "pl"])
    events = []

    class Audit:
        from alphasms_notify.hookspecs import hookimpl

        @hookimpl
        def alphasms_verification_started(self, phone, status):
            events.append(("started", phone, status))

        @hookimpl
        def alphasms_verification_checked(self, phone, status):
            events.append(("checked", phone, status))

    from alphasms_notify.plugins import make_plugin_manager

    pm = make_plugin_manager(defaults=())
    pm.register(Audit())
    async with AsyncAlphaSMS(alphasms_sandbox.key, alphasms_sandbox.api_url, sms_sender="Shop") as sms:
        verifier = AsyncVerifier(sms, store, settings, plugins=pm)
        assert (await verifier.start("+48 601 234 567")).status == "pending"  # Poland allowed now
        guesses = [await verifier.check("+48601234567", f"{n:06d}", caller="203.0.113.8") for n in range(4)]
        assert [g.status for g in guesses[:3]] == ["wrong_code"] * 3
        assert guesses[3].status == "rate_limited" and guesses[3].attempts_left is None
        assert (await verifier.check("+48601234567", _code(alphasms_sandbox), caller="192.0.2.1")).ok
    assert events == [("started", 48601234567, "pending")] + [("checked", 48601234567, "wrong_code")] * 3 + [
        ("checked", 48601234567, "rate_limited"), ("checked", 48601234567, "approved")]
    store.close()


# -- the limits raced by real processes ------------------------------------------------------------


@pytest.fixture(params=["sqlite", "postgresql"])
def target(request, tmp_path):
    if request.param == "sqlite":
        return str(tmp_path / "store.sqlite3")
    return request.getfixturevalue("postgres_url")


def _starter(target, api, phones, callers, settings, barrier, results) -> None:
    store = Store(target)
    try:
        with AlphaSMS(api[0], api[1], sms_sender="Shop") as client:
            verifier = Verifier(client, store, settings)
            for phone, caller in zip(phones, callers, strict=True):
                barrier.wait(timeout=60)
                results.put(verifier.start(phone, caller=caller).status)
    finally:
        store.close()


def _race(target, sandbox, settings, callers) -> list[str]:
    Store(target).close()  # made (and migrated) once, before the race
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["alphasms_notify.verify", "alphasms_notify.store", "alphasms_notify.client"])
    workers, per_worker = 4, len(PHONES) // 4
    barrier, results = ctx.Barrier(workers), ctx.Queue()
    procs = [ctx.Process(target=_starter, args=(target, (sandbox.key, sandbox.api_url),
                                                PHONES[w * per_worker:(w + 1) * per_worker],
                                                callers[w * per_worker:(w + 1) * per_worker],
                                                settings, barrier, results))
             for w in range(workers)]
    for p in procs:
        p.start()
    got = [results.get(timeout=120) for _ in range(len(PHONES))]
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    return got


@pytest.mark.parametrize("limit", ["caller", "global"])
def test_four_processes_asking_at_once_cannot_pass_a_limit_together(target, alphasms_sandbox, limit):
    if limit == "caller":
        settings = VerifySettings(secret=SECRET, caller_hourly_limit=6)
        callers = ["203.0.113.7"] * len(PHONES)  # one pumping caller behind four app servers
    else:
        settings = VerifySettings(secret=SECRET, global_hourly_limit=6)
        callers = [f"198.51.100.{i}" for i in range(len(PHONES))]  # many callers, one ceiling
    statuses = _race(target, alphasms_sandbox, settings, callers)
    engine = "postgresql" if "://" in target else "sqlite"
    print(f"\n{engine}: 4 processes asked for {len(PHONES)} codes at once against a {limit} limit of 6: "
          f"{statuses.count('pending')} sent")
    assert statuses.count("pending") == 6 and statuses.count("rate_limited") == len(PHONES) - 6
    assert len(alphasms_sandbox.messages()) == 6


async def test_a_verifier_given_the_other_kind_of_client_says_which_to_use(tmp_path):
    from alphasms_notify.verify import VerificationError

    store = Store(tmp_path / "kinds.sqlite3")
    async with AsyncAlphaSMS("key") as async_client:
        with pytest.raises(VerificationError, match=r"Verifier was given an async client \(AsyncAlphaSMS\): "
                                                    "use AsyncVerifier"):
            Verifier(async_client, store, VerifySettings(secret=SECRET))
    with AlphaSMS("key") as client, pytest.raises(VerificationError, match="use Verifier with it"):
        AsyncVerifier(client, store, VerifySettings(secret=SECRET))
    store.close()
