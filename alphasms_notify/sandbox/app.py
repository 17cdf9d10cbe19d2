"""The sandbox's routes, on aiohttp: the provider's endpoint plus control calls.

``POST /api/json.php`` answers exactly as the reference shows. Everything a
test or a person needs to play the recipient lives under ``/_sandbox/``
(documented in docs/sandbox.md; ``GET /_sandbox/`` lists it too).
"""

from __future__ import annotations

import asyncio
import base64
import time
import urllib.parse
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import orjson
from aiohttp import web

from ..wire import CAMPAIGN_HEADER
from .faults import FAULT_KINDS, Fault, Faults
from .guard import browser_guard
from .inbox import add_inbox_routes
from .keys import API_PATH, CONTROL_PREFIX, FAULTS, LATENCY, PROVIDER, RECEIVED
from .responses import error as _error
from .responses import json_response as _json
from .state import Provider

__all__ = ["make_app", "CONTROL_PREFIX", "API_PATH"]


_HTML_500 = (b"<!DOCTYPE html><html><head><title>500 Internal Server Error</title></head>"
             b"<body><h1>Internal Server Error</h1><p>The server encountered an error.</p></body></html>")


def _refuse(error: str) -> web.Response:
    return _json({"success": False, "error": error})


def _base_url(request: web.Request) -> str:
    return f"{request.scheme}://{request.host}"


async def _fail(request: web.Request, fault: Fault) -> web.StreamResponse:
    if fault.kind == "http500":
        return web.Response(body=_HTML_500, status=500, content_type="text/html")
    if fault.kind == "invalid_json":
        return web.Response(body=b'{"success": true, "data": [', content_type="application/json")
    if fault.kind == "access_denied":
        return _refuse("Access denied")
    if fault.kind == "drop":
        if request.transport is not None:
            request.transport.abort()
        raise asyncio.CancelledError  # aiohttp drops the connection without an answer
    await asyncio.sleep(fault.seconds)  # "delay"
    raise AssertionError("unreachable")


async def api(request: web.Request) -> web.StreamResponse:
    provider, faults = request.app[PROVIDER], request.app[FAULTS]
    raw = await request.read()
    fault = faults.draw()
    record: dict[str, Any] = {"at": time.time(), "content_type": request.content_type, "size": len(raw),
                              "fault": fault.kind if fault else None}
    request.app[RECEIVED].append(record)
    if fault is not None and fault.when == "before":
        return await _fail(request, fault)
    if request.content_type != "application/json":
        return _refuse("Invalid Content-Type: expected application/json")
    try:
        body = orjson.loads(raw)  # rejects bytes that are not UTF-8, as the provider does
    except (UnicodeDecodeError, ValueError):
        return _refuse("Invalid request body: expected UTF-8 JSON")
    if not isinstance(body, dict) or not isinstance(body.get("data"), list):
        return _refuse("Invalid request: expected {\"auth\": ..., \"data\": [...]}")
    record["data"] = body["data"]
    if body.get("auth") != provider.key:
        return _refuse("Access denied")
    campaign = urllib.parse.unquote(request.headers.get(CAMPAIGN_HEADER, ""))[:100] or None
    answer = {"success": True, "data": provider.handle_items(body["data"], _base_url(request), campaign)}
    if request.app[LATENCY]:
        await asyncio.sleep(request.app[LATENCY])
    if fault is not None:
        if fault.kind == "delay":
            await asyncio.sleep(fault.seconds)
        else:
            return await _fail(request, fault)
    return _json(answer)


async def media(request: web.Request) -> web.StreamResponse:
    item = request.app[PROVIDER].media.get(request.query.get("url", ""))
    if item is None:
        raise web.HTTPNotFound(text="no such media")
    filename, content_type, content = item
    return web.Response(body=content, content_type=content_type,
                        headers={"Content-Disposition": f'attachment; filename="{filename}"'})


# -- control calls --------------------------------------------------------------


async def _body(request: web.Request) -> dict[str, Any]:
    try:
        data = await request.json()
    except ValueError:
        raise web.HTTPBadRequest(text="expected a JSON object") from None
    if not isinstance(data, dict):
        raise web.HTTPBadRequest(text="expected a JSON object")
    return data


async def control_index(request: web.Request) -> web.Response:
    return _json({
        "api": API_PATH,
        "inbox": "/ (the web inbox; its JSON: /_sandbox/phones, /_sandbox/conversation, /_sandbox/events)",
        "control": {
            "GET /_sandbox/messages[?phone=N]": "messages received, with their status now and replies",
            "GET /_sandbox/requests": "every API request received (items, fault injected), key left out",
            "POST /_sandbox/unsubscribe": '{"id": ID}: the recipient follows an SMS\'s unsubscribe link',
            "POST /_sandbox/replies": '{"id": ID, "message": "text", '
                                      '"media": {"filename", "content_type", "content_base64"}}',
            "POST /_sandbox/faults": '{"kind": one of ' + ", ".join(FAULT_KINDS)
                                     + ', "count": 1, "rate": 1.0, "when": "after", "seconds": 30}',
            "GET /_sandbox/faults": "active fault rules and counts injected",
            "DELETE /_sandbox/faults": "clear fault rules",
            "GET|POST /_sandbox/balance": '{"amount": "100.00"}',
            "POST /_sandbox/reset": "forget messages, requests and faults; balance back to its start",
        },
    })


async def list_messages(request: web.Request) -> web.Response:
    phone = request.query.get("phone")
    if phone is not None and not phone.isdigit():
        return _error(400, "phone must be digits")
    return _json(request.app[PROVIDER].snapshot(int(phone) if phone else None))


async def list_calls(request: web.Request) -> web.Response:
    """The call/otp calls placed: each phone and the code its incoming call shows."""
    return _json(request.app[PROVIDER].calls)


async def list_requests(request: web.Request) -> web.Response:
    return _json(request.app[RECEIVED])


def _message_id(data: dict[str, Any]) -> int | None:
    """The ``id`` of a control body, as an integer or digits (ids pass what a JavaScript number holds)."""
    msg_id = data.get("id")
    if isinstance(msg_id, str) and msg_id.isdigit():
        return int(msg_id)
    return msg_id if isinstance(msg_id, int) and not isinstance(msg_id, bool) else None


async def post_reply(request: web.Request) -> web.Response:
    data = await _body(request)
    msg_id = _message_id(data)
    if msg_id is None:
        return _error(400, "id must be the message id")
    media_in = data.get("media")
    media_item: Any = None
    if isinstance(data.get("media_url"), str) and data["media_url"].strip():
        media_item = data["media_url"].strip()
    elif media_in is not None:
        if not isinstance(media_in, dict) or not media_in.get("filename"):
            return _error(400, "media needs a filename")
        try:
            content = base64.b64decode(media_in.get("content_base64", ""), validate=True)
        except ValueError:
            return _error(400, "media content_base64 is not base64")
        media_item = (str(media_in["filename"]), str(media_in.get("content_type", "application/octet-stream")), content)
    text = data.get("message")
    if text is not None and not isinstance(text, str):
        return _error(400, "message must be a string")
    at = None
    if data.get("at") is not None:
        try:
            at = datetime.fromisoformat(str(data["at"]))
        except ValueError:
            return _error(400, "at must be an ISO 8601 date and time, such as 2026-12-02T22:00:00+02:00")
        if at.tzinfo is None:
            return _error(400, "at needs its UTC offset, such as +02:00")
    try:
        reply = request.app[PROVIDER].add_reply(msg_id, text, media_item, at)
    except KeyError as exc:
        return _error(404, str(exc.args[0]))
    except ValueError as exc:
        return _error(409, str(exc))
    return _json(request.app[PROVIDER].reply_view(reply, _base_url(request)), status=201)


async def post_unsubscribe(request: web.Request) -> web.Response:
    msg_id = _message_id(await _body(request))
    if msg_id is None:
        return _error(400, "id must be the message id")
    try:
        reply = request.app[PROVIDER].unsubscribe(msg_id)
    except KeyError as exc:
        return _error(404, str(exc.args[0]))
    except ValueError as exc:
        return _error(409, str(exc))
    return _json(reply, status=201)


async def post_fault(request: web.Request) -> web.Response:
    try:
        fault = Fault.from_json(await _body(request))
    except ValueError as exc:
        return _error(400, str(exc))
    request.app[FAULTS].add(fault)
    return _json(fault.to_json(), status=201)


async def get_faults(request: web.Request) -> web.Response:
    faults = request.app[FAULTS]
    return _json({"rules": [f.to_json() for f in faults.rules], "injected": faults.injected})


async def clear_faults(request: web.Request) -> web.Response:
    """Clear every rule, or with ``?kind=K`` those of one kind."""
    faults, kind = request.app[FAULTS], request.query.get("kind")
    if kind:
        faults.rules[:] = [f for f in faults.rules if f.kind != kind]
    else:
        faults.clear()
    return _json({"rules": [f.to_json() for f in faults.rules]})


async def post_outcome(request: web.Request) -> web.Response:
    """``{"id": ID, "status": "UNDELIVERABLE"}``: how the message ends, from now on."""
    data = await _body(request)
    msg_id = _message_id(data)
    if msg_id is None:
        return _error(400, "id must be the message id")
    provider = request.app[PROVIDER]
    try:
        message = provider.set_outcome(msg_id, str(data.get("status", "")))
    except KeyError as exc:
        return _error(404, str(exc.args[0]))
    except ValueError as exc:
        return _error(409, str(exc))
    return _json(message.to_json(provider.step, time.monotonic()), status=201)


async def balance(request: web.Request) -> web.Response:
    provider = request.app[PROVIDER]
    if request.method == "POST":
        try:
            provider.set_balance(Decimal(str((await _body(request))["amount"])))
        except (KeyError, InvalidOperation):
            return _error(400, "amount must be a number")
    return _json({"amount": str(provider.balance), "currency": "UAH"})


async def reset(request: web.Request) -> web.Response:
    provider = request.app[PROVIDER]
    provider.reset()
    request.app[FAULTS].clear()
    request.app[FAULTS].injected.clear()
    request.app[RECEIVED].clear()
    return _json({"reset": True})


def make_app(provider: Provider, *, fault_seed: int | None = None, listen_host: str = "127.0.0.1",
             allow_hosts: tuple[str, ...] = (), latency: float = 0.0) -> web.Application:
    """The sandbox's app; ``listen_host`` and ``allow_hosts``: the names its ``Host`` may be (see :mod:`.guard`);
    ``latency``: seconds each API answer waits (a round trip to a distant provider), requests in flight
    waiting side by side as they would on a network."""
    app = web.Application(client_max_size=64 * 1024 * 1024,
                          middlewares=[browser_guard((CONTROL_PREFIX,), listen_host, allow_hosts)])
    app[PROVIDER] = provider
    app[FAULTS] = Faults(fault_seed)
    app[RECEIVED] = []
    app[LATENCY] = max(0.0, float(latency))
    app.router.add_post(API_PATH, api)
    app.router.add_get("/home/vibermedia/", media)
    p = CONTROL_PREFIX
    app.router.add_get(p + "/", control_index)
    app.router.add_get(p + "/messages", list_messages)
    app.router.add_get(p + "/requests", list_requests)
    app.router.add_get(p + "/calls", list_calls)
    app.router.add_post(p + "/replies", post_reply)
    app.router.add_post(p + "/unsubscribe", post_unsubscribe)
    app.router.add_get(p + "/faults", get_faults)
    app.router.add_post(p + "/faults", post_fault)
    app.router.add_delete(p + "/faults", clear_faults)
    app.router.add_get(p + "/balance", balance)
    app.router.add_post(p + "/balance", balance)
    app.router.add_post(p + "/reset", reset)
    app.router.add_post(p + "/outcomes", post_outcome)
    add_inbox_routes(app)  # the web inbox: "/" and its JSON, fragments, events, assets
    return app
