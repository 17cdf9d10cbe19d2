"""A typed user's script, checked with ``mypy --strict`` in CI (not run by pytest).

What a developer adopting the library writes: mypy must see the types through
``py.typed``, infer the results below, and catch the mistakes marked with
``type: ignore[...]``: under --strict (``warn_unused_ignores``), an ignore that
is not needed fails the check, so each marked line proves mypy caught it.
"""

from __future__ import annotations

import asyncio

from alphasms_notify import (
    AlphaSMS,
    AlphaSMSError,
    AsyncAlphaSMS,
    BalanceResult,
    Outcome,
    SendResult,
    Sms,
    Viber,
    ViberSms,
    make_client,
)
from alphasms_notify.verify import AsyncVerifier, Checked, Started, Verifier


def send_one(sms: AlphaSMS) -> int | None:
    outcomes: list[Outcome[SendResult]] = sms.send([Sms("0971234567", "hello"), Viber("0971234567", "hi")])
    first = outcomes[0]
    if first.ok and first.result is not None:
        return first.result.msg_id
    return None


def mistakes(sms: AlphaSMS) -> None:
    [outcome] = sms.send(Sms("0971234567", "hello"))
    if outcome.result is not None:
        outcome.result.msg_id + 1  # type: ignore[operator]  # msg_id is int | None
    balance: BalanceResult = sms.balance()
    balance.amount.upper()  # type: ignore[attr-defined]  # amount is a Decimal
    sms.send("0971234567")  # type: ignore[arg-type]  # a phone is not a message
    AlphaSMS("KEY", timout=3.0)  # type: ignore[call-arg]  # a misspelt option
    AlphaSMS("KEY", timeout="3")  # type: ignore[arg-type]  # seconds are a number


async def send_async() -> list[Outcome[SendResult]]:
    async with AsyncAlphaSMS("key", sms_sender="Shop") as sms:
        return await sms.send([ViberSms("0971234567", "hi", sms_text="hi by SMS")])


def verify(sms: AlphaSMS, verifier: Verifier) -> bool:
    started: Started = verifier.start("0971234567")
    if started.status != "pending":
        return False
    checked: Checked = verifier.check("0971234567", "1234")
    return checked.status == "approved"


async def verify_async(verifier: AsyncVerifier) -> str:
    started = await verifier.start("0971234567", caller="203.0.113.7")
    checked = await verifier.check("0971234567", "1234", caller="203.0.113.7")
    return f"{started.status} {checked.status}"


def main() -> None:
    try:
        with make_client() as sms:
            print(send_one(sms))
    except AlphaSMSError as exc:
        print(exc)
    print(asyncio.run(send_async()))
