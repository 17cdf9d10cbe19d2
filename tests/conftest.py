"""Shared fixtures: clients pointed at the sandbox of the ``alphasms_sandbox`` fixture.

The sandbox fixture itself comes from this package's pytest plugin (entry
point ``pytest11``), the same one other projects get.
"""

from __future__ import annotations

import pytest

from alphasms_notify import AlphaSMS, AsyncAlphaSMS

pytest_plugins = ["pytester"]


@pytest.fixture
def client(alphasms_sandbox):
    with AlphaSMS(alphasms_sandbox.key, alphasms_sandbox.api_url, sms_sender="Shop",
                  viber_sender="ShopViber", backoff=0.01, timeout=2.0) as sms:
        yield sms


@pytest.fixture
async def aclient(alphasms_sandbox):
    async with AsyncAlphaSMS(alphasms_sandbox.key, alphasms_sandbox.api_url, sms_sender="Shop",
                             viber_sender="ShopViber", backoff=0.01, timeout=2.0) as sms:
        yield sms
