"""6. The sandbox's web inbox with N messages: how long the page and a conversation take to open."""

from __future__ import annotations

import asyncio
import time

import httpx

from alphasms_notify import AsyncAlphaSMS, Sms

from .common import Figure, SandboxProcess, median


async def _fill(sandbox: SandboxProcess, n: int) -> None:
    async with AsyncAlphaSMS(sandbox.key, sandbox.api_url, sms_sender="Shop") as client:
        await client.send([Sms(380970000000 + i % 2000, f"Message {i}") for i in range(n)])  # 2,000 phones


def _open(url: str, runs: int = 5) -> float:
    times = []
    with httpx.Client(timeout=30) as http:
        for _ in range(runs):
            began = time.perf_counter()
            http.get(url).raise_for_status()
            times.append(time.perf_counter() - began)
    return median(times)


def run(n: int = 10_000) -> list[Figure]:
    with SandboxProcess() as sandbox:
        asyncio.run(_fill(sandbox, n))
        page = _open(sandbox.url + "/")
        busiest = _open(sandbox.url + "/?phone=380970000000")
        search = _open(sandbox.url + "/?q=Message%209999")
    name = f"web inbox with {n} messages"
    return [
        Figure(name, "open the page", page, "s", "median of 5; target < 1 s"),
        Figure(name, "open one phone's conversation", busiest, "s", "median of 5"),
        Figure(name, "search the texts", search, "s", "median of 5"),
    ]
