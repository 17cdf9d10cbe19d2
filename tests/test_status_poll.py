"""The status poll's cycle: claims taken ahead while a batch is polled, and given back when the provider fails."""

from __future__ import annotations

from alphasms_notify import AsyncAlphaSMS, Sms
from alphasms_notify.status_poll import Tracker
from alphasms_notify.store import POLL, Store


async def _tracked(alphasms_sandbox, store: Store, n: int) -> list[int]:
    async with AsyncAlphaSMS(alphasms_sandbox.key, alphasms_sandbox.api_url, sms_sender="Shop") as sms:
        outcomes = await sms.send([Sms(380971000000 + i, f"m{i}") for i in range(n)])
    store.messages.track(outcomes, source="test")
    return [o.result.id for o in outcomes]


async def test_a_cycle_polls_every_message_once_with_the_next_claim_taken_meanwhile(alphasms_sandbox, tmp_path):
    store = Store(str(tmp_path / "s.sqlite3"))
    ids = await _tracked(alphasms_sandbox, store, 250)
    async with AsyncAlphaSMS(alphasms_sandbox.key, alphasms_sandbox.api_url) as client:
        stats = await Tracker(store, client, None, lease=600, claim_size=100, owner="a").poll_once()
    asked = [item["id"] for r in alphasms_sandbox.requests() for item in r.get("data", []) if item["type"] == "status"]
    assert stats.error is None and stats.checked == 250 and sorted(asked) == sorted(ids)  # each once
    store.close()


async def test_a_failed_poll_gives_back_what_the_next_claim_took(alphasms_sandbox, tmp_path):
    """The next claim runs while a batch is polled; when the provider fails, the messages it took are free
    again at once for another instance (not held until their lease ends), and those of the failed batch wait."""
    store = Store(str(tmp_path / "s.sqlite3"))
    ids = await _tracked(alphasms_sandbox, store, 250)
    alphasms_sandbox.fault("http500", count=1)  # the first status request: the first batch fails
    async with AsyncAlphaSMS(alphasms_sandbox.key, alphasms_sandbox.api_url, retries=0) as client:
        stats = await Tracker(store, client, None, lease=600, claim_size=100, owner="a").poll_once()
    assert stats.error and "HTTP 500" in stats.error and stats.checked == 100
    free = store.leases.claim(POLL, "b", 600, limit=1000)
    assert sorted(free) == sorted(ids[100:])  # the prefetched hundred given back, the last fifty never taken
    store.close()
