"""1. Sending N SMS three ways against the same sandbox, side by side.

(a) this project's AsyncAlphaSMS with batching; (b) one request per message,
sequentially, with plain httpx (how older AlphaSMS clients and per-target
Apprise plugins send); (c) the floor: the same batch payloads, pre-built,
posted with bare httpx at the same concurrency as (a). (c) is also the
sandbox's intake rate.
"""

from __future__ import annotations

import asyncio
import json
import math
import statistics

import httpx

from alphasms_notify import AsyncAlphaSMS, Sms
from alphasms_notify.wire import encode_request

from .common import Figure, SandboxProcess, Timer

BATCH, CONCURRENCY = 100, 4


def _messages(n: int, first_id: int) -> list[Sms]:
    return [Sms(380970000000 + i % 10_000_000, f"Order {i} is ready", sender="Shop", id=first_id + i)
            for i in range(n)]


async def _ours(sandbox: SandboxProcess, n: int, first_id: int) -> tuple[float, int]:
    messages = _messages(n, first_id)
    async with AsyncAlphaSMS(sandbox.key, sandbox.api_url, batch_size=BATCH, max_concurrency=CONCURRENCY) as client:
        with Timer() as t:
            outcomes = await client.send(messages)
    assert all(o.ok for o in outcomes), "a send failed"
    return t.seconds, client.requests_made


def _per_message(sandbox: SandboxProcess, n: int) -> tuple[float, int]:
    items = [{"type": "sms", "id": 900_000_000 + i, "phone": 380970000000 + i % 10_000_000, "sms_signature": "Shop",
              "sms_message": f"Order {i} is ready"} for i in range(n)]
    with httpx.Client(timeout=30) as http, Timer() as t:
        for item in items:
            answer = http.post(sandbox.api_url, json={"auth": sandbox.key, "data": [item]}).json()
            assert answer["data"][0]["success"], answer
    return t.seconds, n


async def _floor(sandbox: SandboxProcess, n: int, first_id: int) -> tuple[float, int]:
    messages = _messages(n, first_id)  # phones already integers: encode_request takes them as they are
    bodies = [encode_request(sandbox.key, messages[i:i + BATCH]) for i in range(0, n, BATCH)]
    gate = asyncio.Semaphore(CONCURRENCY)
    limits = httpx.Limits(max_connections=CONCURRENCY)
    async with httpx.AsyncClient(timeout=30, limits=limits, headers={"Content-Type": "application/json"}) as http:

        async def post(body: bytes) -> None:
            async with gate:
                answer = json.loads((await http.post(sandbox.api_url, content=body)).content)
                assert answer["success"]

        with Timer() as t:
            await asyncio.gather(*(post(b) for b in bodies))
    return t.seconds, len(bodies)


def run(n: int = 20_000, rounds: int = 5) -> list[Figure]:
    """(a) and (c) take well under a second, so they alternate ``rounds`` times and the medians count."""
    a_times, c_times = [], []
    with SandboxProcess() as sandbox:
        for r in range(rounds):
            sandbox.reset()
            a_s, a_req = asyncio.run(_ours(sandbox, n, 1 + r * 2 * n))
            a_times.append(a_s)
            sandbox.reset()
            c_s, c_req = asyncio.run(_floor(sandbox, n, 1 + (r * 2 + 1) * n))
            c_times.append(c_s)
        sandbox.reset()
        b_s, b_req = _per_message(sandbox, n)
    a_s, c_s = statistics.median(a_times), statistics.median(c_times)
    a, b, c = n / a_s, n / b_s, n / c_s
    name = f"send {n} SMS"
    runs = f"median of {rounds}, alternating"
    return [
        Figure(name, "(a) AsyncAlphaSMS, batch 100, 4 in flight", a, "msg/s", f"{a_req} requests, {a_s:.2f} s, {runs}"),
        Figure(name, "(b) plain httpx, one request per message", b, "msg/s", f"{b_req} requests, {b_s:.2f} s"),
        Figure(name, "(c) floor: pre-built batches, bare httpx", c, "msg/s", f"{c_req} requests, {c_s:.2f} s, {runs}"),
        Figure(name, "requests (a)", a_req, "requests", f"expected ceil({n}/{BATCH}) = {math.ceil(n / BATCH)}"),
        Figure(name, "ratio a/b", a / b, "x", "target >= 30"),
        Figure(name, "ratio a/c", a / c, "x", "target >= 0.8"),
        Figure(name, "sandbox intake (c), one process", c, "items/s", "target >= 20000"),
    ]
