"""pytest plugin (entry point ``pytest11``): the ``alphasms_sandbox`` fixture.

Any project with alphasms-notify installed gets a running simulator per test::

    def test_signup_sends_code(alphasms_sandbox):
        my_app.send_code(api_url=alphasms_sandbox.api_url, key=alphasms_sandbox.key)
        [msg] = alphasms_sandbox.messages()
        assert "code" in msg["item"]["sms_message"]

The server is shared by the session and reset before each test; statuses move
every ``alphasms_sandbox_step`` seconds (ini option, default 0.05). Importing
this module is cheap: the server stack loads when the fixture is first used.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from .simulator import Sandbox


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini("alphasms_sandbox_step", "seconds per status stage in the AlphaSMS sandbox", default="0.05")


@pytest.fixture(scope="session")
def _alphasms_sandbox_server(pytestconfig: pytest.Config) -> Iterator[Sandbox]:
    from .simulator import Sandbox

    sandbox = Sandbox(step=float(pytestconfig.getini("alphasms_sandbox_step"))).start()
    yield sandbox
    sandbox.stop()


@pytest.fixture
def alphasms_sandbox(_alphasms_sandbox_server: Sandbox) -> Sandbox:
    """A running AlphaSMS sandbox, reset for this test: ``.api_url``, ``.key`` and helpers."""
    _alphasms_sandbox_server.reset()
    return _alphasms_sandbox_server
