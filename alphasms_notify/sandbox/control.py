"""The sandbox's control calls over HTTP: one client for the in-process ``Sandbox``, a sandbox
in another process (the benchmarks'), and the Telegram stand-in's own control calls.

The helpers talk to the documented endpoints under ``/_sandbox/`` the same
way another language's test suite would.
"""

from __future__ import annotations

import base64
from decimal import Decimal
from typing import Any, cast

import httpx

from ..tls import ssl_context

__all__ = ["ControlClient", "SandboxControl", "RemoteSandbox"]


class ControlClient:
    """Calls a local server's control endpoints (under ``control_prefix``) over HTTP."""

    control_prefix = ""
    _http: httpx.Client | None = None

    @property
    def url(self) -> str:
        """The server's base URL (``http://127.0.0.1:PORT``)."""
        raise NotImplementedError

    def _control(self, method: str, path: str, **kwargs: Any) -> Any:
        if self._http is None:
            self._http = httpx.Client(base_url=self.url + self.control_prefix, timeout=60, verify=ssl_context())
        if method == "POST" and "json" not in kwargs:
            kwargs["json"] = {}  # control calls that change something are JSON (see sandbox.guard)
        response = self._http.request(method, path, **kwargs)
        if response.status_code >= 400:
            try:
                text = response.json().get("error", response.text)
            except ValueError:
                text = response.text
            raise RuntimeError(f"{type(self).__name__} {method} {path}: {text}")
        return response.json()

    def close_control(self) -> None:
        if self._http is not None:
            self._http.close()
            self._http = None


class SandboxControl(ControlClient):
    """The AlphaSMS sandbox's control calls (see docs/sandbox.md)."""

    control_prefix = "/_sandbox"

    def messages(self, phone: int | None = None) -> list[dict[str, Any]]:
        """Every message received (or those to ``phone``), with its status now and replies."""
        return cast(list[dict[str, Any]], self._control("GET", "/messages", params={"phone": phone} if phone else None))

    def calls(self) -> list[dict[str, Any]]:
        """The verification calls placed (``call/otp``): phone, code shown, price."""
        return cast(list[dict[str, Any]], self._control("GET", "/calls"))

    def requests(self) -> list[dict[str, Any]]:
        """Every API request received, in order: items, size, which fault hit it."""
        return cast(list[dict[str, Any]], self._control("GET", "/requests"))

    def reply(self, message_id: int, text: str | None = None, *, media: tuple[str, bytes] | None = None,
              content_type: str = "application/octet-stream", at: str | None = None) -> dict[str, Any]:
        """Play the recipient: answer Viber message ``message_id`` with text, a file, or both (``at``: when, as
        ISO 8601 with its offset; now by default)."""
        payload: dict[str, Any] = {"id": message_id, "message": text, **({"at": at} if at else {})}
        if media is not None:
            payload["media"] = {"filename": media[0], "content_type": content_type,
                                "content_base64": base64.b64encode(media[1]).decode()}
        return cast(dict[str, Any], self._control("POST", "/replies", json=payload))

    def set_outcome(self, message_id: int, status: str) -> dict[str, Any]:
        """How message ``message_id`` ends, from now on (what the inbox's Outcome button does)."""
        return cast(dict[str, Any], self._control("POST", "/outcomes", json={"id": message_id, "status": status}))

    def unsubscribe(self, message_id: int) -> dict[str, Any]:
        """Play the recipient: follow the unsubscribe link of SMS ``message_id`` (sent with unsubscribe_link)."""
        return cast(dict[str, Any], self._control("POST", "/unsubscribe", json={"id": message_id}))

    def fault(self, kind: str, count: int | None = 1, **options: Any) -> dict[str, Any]:
        """Make the next ``count`` API requests fail as ``kind`` (see FAULT_KINDS)."""
        return cast(dict[str, Any], self._control("POST", "/faults", json={"kind": kind, "count": count, **options}))

    def faults(self) -> dict[str, Any]:
        return cast(dict[str, Any], self._control("GET", "/faults"))

    def clear_faults(self) -> None:
        self._control("DELETE", "/faults")

    def balance(self, amount: Decimal | str | None = None) -> Decimal:
        if amount is None:
            return Decimal(self._control("GET", "/balance")["amount"])
        return Decimal(self._control("POST", "/balance", json={"amount": str(amount)})["amount"])

    def reset(self) -> None:
        self._control("POST", "/reset")


class RemoteSandbox(SandboxControl):
    """A sandbox already running elsewhere (``alphasms sandbox`` in another process), by its URL."""

    def __init__(self, url: str, key: str) -> None:
        self._url, self.key = url.rstrip("/"), key

    @property
    def url(self) -> str:
        return self._url

    @property
    def inbox_url(self) -> str:
        return self.url + "/"

    @property
    def api_url(self) -> str:
        return self.url + "/api/json.php"
