"""``Sandbox``: the AlphaSMS simulator in-process, with helpers for tests.

The helper methods talk to the documented control calls over HTTP, the same
way another language's test suite would.
"""

from __future__ import annotations

import base64
from decimal import Decimal
from typing import Any

from .provider import Provider
from .server import API_PATH, CONTROL_PREFIX, make_app
from .serving import ServedApp

__all__ = ["Sandbox", "DEFAULT_KEY"]

DEFAULT_KEY = "sandbox-key"


class Sandbox(ServedApp):
    """A running AlphaSMS simulator (``start()`` or ``with``; ``astart()`` in a running loop).

    >>> with Sandbox(step=0.05) as sandbox:                 # doctest: +SKIP
    ...     client = AlphaSMS(sandbox.key, sandbox.api_url, sms_sender="Test")
    """

    thread_name = "alphasms-sandbox"
    control_prefix = CONTROL_PREFIX

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, key: str = DEFAULT_KEY,
                 step: float = 1.0, balance: Decimal | str = "100000.00", senders: set[str] | None = None,
                 strict: bool = True, fault_seed: int | None = None) -> None:
        super().__init__(host, port)
        self.key = key
        self.provider = Provider(key, balance=Decimal(balance), step=step, senders=senders, strict=strict)
        self._fault_seed = fault_seed

    @property
    def api_url(self) -> str:
        return self.url + API_PATH

    def make_app(self) -> Any:
        return make_app(self.provider, fault_seed=self._fault_seed)

    # -- control helpers (over HTTP, like any other client) ----------------------

    def messages(self, phone: int | None = None) -> list[dict[str, Any]]:
        """Every message received (or those to ``phone``), with its status now and replies."""
        return self._control("GET", "/messages", params={"phone": phone} if phone else None)

    def requests(self) -> list[dict[str, Any]]:
        """Every API request received, in order: items, size, which fault hit it."""
        return self._control("GET", "/requests")

    def reply(self, message_id: int, text: str | None = None, *, media: tuple[str, bytes] | None = None,
              content_type: str = "application/octet-stream") -> dict[str, Any]:
        """Play the recipient: answer Viber message ``message_id`` with text, a file, or both."""
        payload: dict[str, Any] = {"id": message_id, "message": text}
        if media is not None:
            payload["media"] = {"filename": media[0], "content_type": content_type,
                                "content_base64": base64.b64encode(media[1]).decode()}
        return self._control("POST", "/replies", json=payload)

    def fault(self, kind: str, count: int | None = 1, **options: Any) -> dict[str, Any]:
        """Make the next ``count`` API requests fail as ``kind`` (see FAULT_KINDS)."""
        return self._control("POST", "/faults", json={"kind": kind, "count": count, **options})

    def faults(self) -> dict[str, Any]:
        return self._control("GET", "/faults")

    def clear_faults(self) -> None:
        self._control("DELETE", "/faults")

    def balance(self, amount: Decimal | str | None = None) -> Decimal:
        if amount is None:
            return Decimal(self._control("GET", "/balance")["amount"])
        return Decimal(self._control("POST", "/balance", json={"amount": str(amount)})["amount"])

    def reset(self) -> None:
        self._control("POST", "/reset")
