"""The sandbox's JSON answers, shared by its provider routes, control calls and the web inbox."""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web

__all__ = ["json_response", "error"]


def json_response(data: Any, status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(data), status=status, content_type="application/json")


def error(status: int, text: str) -> web.Response:
    """A control call's refusal: ``{"error": text}`` with ``status``."""
    return json_response({"error": text}, status=status)
