"""The sandbox's web inbox: every phone's messages as the phone would see them, in a browser.

What Mailpit is for email, for SMS, Viber and RCS. ``GET /`` renders the page
on the server (so ``curl`` or ``chromium --dump-dom`` already show what the
sandbox holds); ``inbox.js`` adds live updates (server-sent events from
``/_sandbox/events``) and the controls: set a message's outcome, reply as the
recipient, turn faults on and off, clear everything. The JSON behind it
(``/_sandbox/phones``, ``/_sandbox/conversation``) is documented in
docs/sandbox.md. No CDN, no build step: the assets are files of this package.
"""

from __future__ import annotations

import asyncio
import html
import time
from datetime import datetime
from importlib import resources
from typing import Any

from aiohttp import web

from ..segments import count_segments
from .faults import FAULT_KINDS
from .keys import CONTROL_PREFIX, FAULTS, PROVIDER
from .responses import error as _error
from .responses import json_response as _json
from .state import Provider

__all__ = ["add_inbox_routes", "phones", "conversation"]

PHONES_PAGE, MESSAGES_PAGE = 100, 50  # what one view shows: 10,000 messages still open at once
_VIEWED = web.AppKey("viewed", dict)
_KINDS = {"sms": "SMS", "viber": "Viber", "viber+sms": "Viber → SMS", "rcs": "RCS", "rcs+sms": "RCS → SMS"}


def _provider(request: web.Request) -> Provider:
    return request.app[PROVIDER]


# -- the data -------------------------------------------------------------------


def _entries(provider: Provider) -> list[dict[str, Any]]:
    """Everything that reached a phone, as (phone, when, kind, ...) records, oldest first."""
    entries = [{"phone": m.phone, "at": m.sent_wall, "kind": "message", "id": m.id, "message": m}
               for m in provider.messages.values()]
    entries += [{"phone": c["phone"], "at": c["at"], "kind": "call", "code": c["code"], "price": c["price"]}
                for c in provider.calls]
    entries += [{"phone": h["phone"], "at": h["at"], "kind": "hlr", "status": h["status"]}
                for h in provider.lookups]
    entries.sort(key=lambda e: float(e["at"]))  # type: ignore[arg-type]  # "at" is always a timestamp
    return entries


def _text_of(entry: dict[str, Any]) -> str:
    if entry["kind"] == "call":
        return f"verification call, code {entry['code']}"
    if entry["kind"] == "hlr":
        return f"HLR look-up: {entry['status']}"
    item = entry["message"].item
    return item.get("sms_message") or item.get("viber_message") or item.get("rcs_message") or (
        "image" if item.get("viber_image") or item.get("rcs_image") else "")


def phones(provider: Provider, viewed: dict[int, int], query: str = "", offset: int = 0,
           limit: int = PHONES_PAGE) -> dict[str, Any]:
    """Every phone that got something, newest first, with counts, unread counts and the last text."""
    by_phone: dict[int, dict[str, Any]] = {}
    needle = query.strip().lower()
    for entry in _entries(provider):
        row = by_phone.setdefault(entry["phone"], {"phone": entry["phone"], "count": 0, "matches": not needle})
        row["count"] += 1
        row["last_at"], row["last_text"] = entry["at"], _text_of(entry)
        if needle and (needle in str(entry["phone"]) or needle in _text_of(entry).lower()):
            row["matches"] = True
    rows = sorted((r for r in by_phone.values() if r.pop("matches")), key=lambda r: r["last_at"], reverse=True)
    for row in rows:
        row["unread"] = max(0, row["count"] - viewed.get(row["phone"], 0))
    return {"total": len(rows), "offset": offset, "phones": rows[offset:offset + limit]}


def conversation(provider: Provider, phone: int, before: int | None = None, limit: int = MESSAGES_PAGE
                 ) -> dict[str, Any]:
    """A phone's entries, oldest to newest: the last ``limit`` (before position ``before``)."""
    now = time.monotonic()
    mine = [e for e in _entries(provider) if e["phone"] == phone]
    end = len(mine) if before is None else max(0, min(before, len(mine)))
    start = max(0, end - limit)
    items = []
    for entry in mine[start:end]:
        row = {k: v for k, v in entry.items() if k != "message"}
        if entry["kind"] == "message":
            row.update(entry["message"].to_json(provider.step, now))
            row["replies"] = [provider.reply_view(r, "") for r in entry["message"].replies]
        items.append(row)
    return {"phone": phone, "total": len(mine), "start": start, "items": items}


# -- the page ---------------------------------------------------------------------

e = html.escape


def _when(at: float) -> str:
    return datetime.fromtimestamp(at).strftime("%H:%M:%S")


def _message_html(row: dict[str, Any]) -> str:
    item, kind = row["item"], row["type"]
    rich = kind != "sms"
    sender = item.get("viber_signature") or item.get("rcs_signature") or item.get("sms_signature") or ""
    parts = []
    text = item.get("viber_message") or item.get("rcs_message")
    sms_text = item.get("sms_message")
    image = item.get("viber_image") or item.get("rcs_image")
    link = item.get("viber_link") or item.get("rcs_link")
    button = item.get("viber_button") or item.get("rcs_button")
    if text:
        parts.append(f'<p class="text">{e(text)}</p>')
    if image:
        parts.append(f'<img class="image" src="{e(image)}" alt="image sent with the message" loading="lazy">')
    if link:
        parts.append(f'<a class="button" href="{e(link)}" rel="noopener noreferrer">{e(button or link)}</a>')
    if sms_text is not None:
        seg = count_segments(sms_text)
        label = "SMS fallback" if rich else ""
        prefix = f"<b>{label}:</b> " if label else ""
        options = "".join(f" · {label}" for key, label in (("unsubscribe_link", "unsubscribe link added"),
                                                           ("short_link", "links shortened")) if item.get(key))
        if item.get("hook"):
            options += f" · hook {e(str(item['hook']))}"
        parts.append(f'<p class="text sms">{prefix}{e(sms_text)}</p>'
                     f'<p class="meta">{seg.parts} part(s), {seg.encoding}{options}</p>')
    history = ", ".join(f"{h['status']} +{h['after']:g} s" for h in row["history"])
    replies = "".join(_reply_html(r) for r in row["replies"])
    options = "".join(f"<option{' selected' if s == row['status'] else ''}>{e(s)}</option>"
                      for s in Provider.OUTCOMES)
    if item.get("unsubscribe_link") and kind == "sms":  # the recipient may follow the link the provider added
        parts.append(f'<form class="unsubscribe-form" data-id="{row["id"]}"><button type="submit">'
                     f'Unsubscribe (as +{row["phone"]})</button></form>')
    reply_form = "" if kind not in ("viber", "viber+sms") else (  # the reference has replies for Viber only
        f'<form class="reply-form" data-id="{row["id"]}">'
        f'<label>Reply as +{row["phone"]} <input name="message" autocomplete="off"></label>'
        f'<label>Media URL <input name="media_url" type="url" placeholder="https://"></label>'
        f'<button type="submit">Reply</button></form>')
    final = row["status"] not in ("QUEUED", "ROUTING", "WAIT")
    name, msg_id, status = e(_KINDS.get(kind, kind)), row["id"], e(row["status"])
    css = e(kind.replace("+", "-"))
    campaign = f' · campaign <b class="campaign">{e(row["campaign"])}</b>' if row.get("campaign") else ""
    return (f'<article class="msg msg-{css}" id="m-{msg_id}" data-id="{msg_id}"'
            f' data-final="{"yes" if final else "no"}" aria-label="{name} message {msg_id}">'
            f'<header><span class="kind">{name}</span> from <b>{e(sender)}</b>'
            f' <span class="meta">· id {msg_id} · {_when(row["sent_at"])}{campaign}</span>'
            f' <span class="status" data-status="{status}">{status}</span></header>'
            f'{"".join(parts)}<p class="meta history">{e(history)}</p>{replies}'
            f'<div class="controls"><form class="outcome-form" data-id="{msg_id}">'
            f'<label>Outcome <select name="status">{options}</select></label>'
            f'<button type="submit">Set</button></form>{reply_form}</div></article>')


def _reply_html(reply: dict[str, Any]) -> str:
    text = f"<p>{e(reply['message'])}</p>" if reply.get("message") else ""
    return (f'<div class="reply"><span class="meta">reply {e(reply["datetime"])}</span>{text}'
            f"{_media_html(reply.get('media'))}</div>")


def _media_html(media: dict[str, Any] | None) -> str:
    if not media:
        return ""
    return f'<a class="media" href="{e(media["url"])}">📎 {e(media.get("filename") or "file")}</a>'


def _entry_html(row: dict[str, Any]) -> str:
    if row["kind"] == "call":
        return (f'<article class="call"><header><span class="kind">Call</span>'
                f' <span class="meta">· {_when(row["at"])}</span></header>'
                f'<p>📞 Incoming call, the number ends with <b class="code">{e(row["code"])}</b>'
                f' (price {row["price"]:g})</p></article>')
    if row["kind"] == "hlr":
        return (f'<article class="hlr"><header><span class="kind">HLR</span>'
                f' <span class="meta">· {_when(row["at"])}</span></header>'
                f'<p>Network look-up: {e(row["status"])}</p></article>')
    return _message_html(row)


def _phones_html(data: dict[str, Any], current: int | None, query: str) -> str:
    items = []
    for row in data["phones"]:
        count = row["unread"]
        unread = f' <span class="unread" aria-label="{count} unread">{count}</span>' if count else ""
        selected = ' aria-current="page"' if row["phone"] == current else ""
        href = f"/?phone={row['phone']}" + (f"&q={e(query)}" if query else "")
        items.append(f'<li><a href="{href}"{selected}><b>+{row["phone"]}</b>{unread}'
                     f'<span class="last">{e(row["last_text"][:60])}</span></a></li>')
    more = ""
    if data["offset"] + len(data["phones"]) < data["total"]:
        more = f'<a class="more" href="/?offset={data["offset"] + PHONES_PAGE}&q={e(query)}">More phones</a>'
    empty = "" if items else '<p class="empty">Nothing received yet. Send something to this sandbox.</p>'
    return f'<ul class="phones">{"".join(items)}</ul>{more}{empty}'


def _conversation_html(data: dict[str, Any] | None) -> str:
    if data is None:
        return '<p class="empty">Choose a phone.</p>'
    earlier = ""
    if data["start"] > 0:
        earlier = f'<a class="more" href="/?phone={data["phone"]}&before={data["start"]}">Earlier messages</a>'
    pending = any(i.get("status") in ("QUEUED", "ROUTING", "WAIT") for i in data["items"])
    return (f'<h2>+{data["phone"]} <span class="meta">({data["total"]})</span></h2>{earlier}'
            f'<div class="thread" data-phone="{data["phone"]}" data-pending="{"yes" if pending else "no"}">'
            f'{"".join(_entry_html(i) for i in data["items"])}</div>')


def _faults_html(request: web.Request) -> str:
    active = {f.kind for f in request.app[FAULTS].rules}
    boxes = "".join(f'<label><input type="checkbox" class="fault" value="{k}"{" checked" if k in active else ""}>'
                    f" {k}</label>" for k in FAULT_KINDS)
    return f'<fieldset class="faults"><legend>Faults on every request</legend>{boxes}</fieldset>'


def _fragments(request: web.Request) -> dict[str, str]:
    provider, viewed = _provider(request), request.app[_VIEWED]
    query = request.query.get("q", "")
    offset = _int(request.query.get("offset")) or 0
    listing = phones(provider, viewed, query, offset)
    current = _int(request.query.get("phone"))
    if current is None and listing["phones"]:
        current = listing["phones"][0]["phone"]
    talk = None
    if current is not None:
        talk = conversation(provider, current, _int(request.query.get("before")))
        viewed[current] = talk["total"]
        for row in listing["phones"]:
            if row["phone"] == current:
                row["unread"] = 0
    return {"phones": _phones_html(listing, current, query), "conversation": _conversation_html(talk),
            "faults": _faults_html(request), "version": str(provider.version)}


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>AlphaSMS sandbox inbox</title>
<link rel="stylesheet" href="/_sandbox/static/inbox.css">
</head>
<body data-version="{version}">
<header class="top">
<h1>AlphaSMS sandbox inbox</h1>
<form class="search" role="search" action="/" method="get">
<label for="q">Search phones and texts</label>
<input id="q" name="q" type="search" value="{query}">
<button type="submit">Search</button>
</form>
<div id="faults">{faults}</div>
<button type="button" id="clear">Clear everything</button>
<p id="live" class="meta" aria-live="polite"></p>
</header>
<main>
<nav aria-label="Phones" id="phones">{phones}</nav>
<section aria-label="Conversation" aria-live="polite" id="conversation">{conversation}</section>
</main>
<script src="/_sandbox/static/inbox.js" defer></script>
</body>
</html>
"""


async def page(request: web.Request) -> web.Response:
    parts = _fragments(request)
    return web.Response(text=PAGE.format(query=e(request.query.get("q", "")), **parts), content_type="text/html")


async def fragment(request: web.Request) -> web.Response:
    return _json(_fragments(request))


async def phones_json(request: web.Request) -> web.Response:
    query, offset = request.query.get("q", ""), _int(request.query.get("offset")) or 0
    return _json(phones(_provider(request), request.app[_VIEWED], query, offset))


async def conversation_json(request: web.Request) -> web.Response:
    phone = _int(request.query.get("phone"))
    if phone is None:
        return _error(400, "phone must be digits")
    return _json(conversation(_provider(request), phone, _int(request.query.get("before"))))


async def events(request: web.Request) -> web.StreamResponse:
    """Server-sent events: ``version`` each time the sandbox changes, and every ``step`` while time moves."""
    provider = _provider(request)
    answer = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
    await answer.prepare(request)
    last = None
    try:
        while True:
            if provider.version != last:
                last = provider.version
                await answer.write(f"event: change\ndata: {last}\n\n".encode())
            else:
                await answer.write(b": keep-alive\n\n")
            await asyncio.sleep(0.25)
    except (ConnectionResetError, asyncio.CancelledError):
        pass
    return answer


async def asset(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    types = {"inbox.js": "application/javascript", "inbox.css": "text/css"}
    if name not in types:
        raise web.HTTPNotFound()
    body = resources.files(__package__).joinpath("static", name).read_text(encoding="utf-8")
    return web.Response(text=body, content_type=types[name])


def add_inbox_routes(app: web.Application) -> None:
    p = CONTROL_PREFIX
    app[_VIEWED] = {}
    app.router.add_get("/", page)
    app.router.add_get(p + "/fragment", fragment)
    app.router.add_get(p + "/phones", phones_json)
    app.router.add_get(p + "/conversation", conversation_json)
    app.router.add_get(p + "/events", events)
    app.router.add_get(p + "/static/{name}", asset)
