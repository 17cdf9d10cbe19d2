"""A local stand-in for the Telegram Bot API, for the bot's tests and the demo.

python-telegram-bot talks to it through ``api_url`` exactly as to Telegram:
form-encoded or multipart POSTs to ``/bot<TOKEN>/<method>``, long-polling
``getUpdates``. Tests play the users through control calls under
``/_telegram/``: a user sends a message or presses a button, and every
message the bot sent can be read back per chat. Faults (429 with
``retry_after``, 5xx) can be injected per method.

Forum supergroups as Telegram has them: a chat made a forum
(``POST /_telegram/forums``) is a ``supergroup`` with ``is_forum``; the bot
creates, renames, closes and reopens topics; messages carry
``message_thread_id`` and ``is_topic_message``; and, Telegram's quirk, a
user's message in a topic arrives with ``reply_to_message`` set to the
topic's creation message even when it answers nothing. A topic deleted
(``DELETE /_telegram/forums/{chat}/topics/{thread}``, as a user would)
answers "message thread not found".
"""

from __future__ import annotations

import asyncio
import itertools
import json
import random
import time
from collections import defaultdict
from typing import Any

from aiohttp import web

from .inprocess import ServedApp

__all__ = ["TelegramStandIn", "BOT_USER"]

BOT_USER = {"id": 7000000001, "is_bot": True, "first_name": "AlphaSMS", "username": "alphasms_test_bot"}
_INT_FIELDS = {"chat_id", "message_id", "offset", "limit", "timeout", "reply_to_message_id", "message_thread_id",
               "icon_color"}
THREAD_NOT_FOUND = "message thread not found"
_JSON_FIELDS = {"reply_markup", "reply_parameters", "entities", "commands", "allowed_updates",
                "link_preview_options", "scope", "caption_entities"}


class _State:
    def __init__(self, token: str) -> None:
        self.token = token
        self.updates: list[dict[str, Any]] = []
        self.update_ids = itertools.count(random.randint(10**8, 9 * 10**8))  # as Telegram: not from 1
        self.message_ids: dict[int, itertools.count] = defaultdict(lambda: itertools.count(1))
        self.chats: dict[int, list[dict[str, Any]]] = defaultdict(list)
        self.documents: dict[str, tuple[str, bytes]] = {}
        self.commands: list[dict[str, Any]] = []
        self.command_scopes: list[dict[str, Any]] = []  # the scope of each setMyCommands call
        self.faults: list[dict[str, Any]] = []
        self.calls: list[str] = []
        self.callback_answers: list[dict[str, Any]] = []
        self.webhook: dict[str, Any] = {}
        self.forums: dict[int, str] = {}  # chat id -> title of the forum supergroups
        self.topics: dict[int, dict[int, dict[str, Any]]] = defaultdict(dict)  # chat -> thread -> topic
        self.new_update = asyncio.Event()

    def message_id(self, chat_id: int) -> int:
        return next(self.message_ids[chat_id])

    def chat(self, chat_id: int, chat_type: str | None = None) -> dict[str, Any]:
        if chat_id in self.forums:
            return {"id": chat_id, "type": "supergroup", "title": self.forums[chat_id], "is_forum": True}
        return {"id": chat_id, "type": chat_type or ("private" if chat_id > 0 else "group")}

    def topic(self, chat_id: int, thread_id: int) -> dict[str, Any]:
        """The live topic, or a Bad Request as Telegram answers for a deleted or unknown one."""
        topic = self.topics[chat_id].get(thread_id)
        if topic is None or topic["deleted"]:
            raise web.HTTPBadRequest(text=THREAD_NOT_FOUND)
        return topic

    def find(self, chat_id: int, message_id: int) -> dict[str, Any] | None:
        return next((m for m in self.chats[chat_id] if m["message_id"] == message_id), None)

    def push(self, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
        update = {"update_id": next(self.update_ids), kind: payload}
        self.updates.append(update)
        self.new_update.set()
        return update

    def fault_for(self, method: str) -> dict[str, Any] | None:
        for fault in self.faults:
            if fault["method"] in (method, "*"):
                fault["count"] -= 1
                if fault["count"] <= 0:
                    self.faults.remove(fault)
                return fault
        return None


STATE = web.AppKey("state", _State)


def _ok(result: Any) -> web.Response:
    return web.json_response({"ok": True, "result": result})


def _fail(code: int, description: str, **parameters: Any) -> web.Response:
    body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
    if parameters:
        body["parameters"] = parameters
    return web.json_response(body, status=code)


async def _params(request: web.Request) -> tuple[dict[str, Any], dict[str, tuple[str, bytes]]]:
    """Bot API parameters from a form, multipart or JSON body; nested values arrive as JSON text."""
    params: dict[str, Any] = {}
    files: dict[str, tuple[str, bytes]] = {}
    if request.content_type == "application/json":
        params = await request.json()
    elif request.can_read_body:
        form = await request.post()
        for key, value in form.items():
            if hasattr(value, "file"):
                files[key] = (value.filename or key, value.file.read())
            else:
                params[key] = value
    for key in list(params):
        value = params[key]
        if key in _INT_FIELDS and isinstance(value, str) and value.lstrip("-").isdigit():
            params[key] = int(value)
        elif key in _JSON_FIELDS and isinstance(value, str):
            params[key] = json.loads(value)
    return params, files


def _reply_target(params: dict[str, Any]) -> int | None:
    if isinstance(params.get("reply_parameters"), dict):
        return params["reply_parameters"].get("message_id")
    return params.get("reply_to_message_id")


class _Methods:
    """The Bot API methods the bot uses; each returns the ``result`` object."""

    def __init__(self, state: _State) -> None:
        self.s = state

    def getMe(self, p: dict, files: dict) -> Any:  # noqa: N802 - Bot API names
        return BOT_USER

    def deleteWebhook(self, p: dict, files: dict) -> Any:  # noqa: N802
        self.s.webhook = {}
        return True

    def setWebhook(self, p: dict, files: dict) -> Any:  # noqa: N802
        self.s.webhook = {k: v for k, v in p.items() if k != "certificate"}
        return True

    def getWebhookInfo(self, p: dict, files: dict) -> Any:  # noqa: N802
        return {"url": self.s.webhook.get("url", ""), "has_custom_certificate": False, "pending_update_count": 0}

    def setMyCommands(self, p: dict, files: dict) -> Any:  # noqa: N802
        self.s.commands = list(p.get("commands", []))
        self.s.command_scopes.append(p.get("scope") or {"type": "default"})
        return True

    def getMyCommands(self, p: dict, files: dict) -> Any:  # noqa: N802
        return self.s.commands

    def deleteMyCommands(self, p: dict, files: dict) -> Any:  # noqa: N802
        self.s.commands = []
        return True

    def sendChatAction(self, p: dict, files: dict) -> Any:  # noqa: N802
        return True

    def getChat(self, p: dict, files: dict) -> Any:  # noqa: N802
        """A ChatFullInfo: the chat and the fields Telegram always sends with it."""
        gifts = dict.fromkeys(("unlimited_gifts", "limited_gifts", "unique_gifts", "premium_subscription",
                               "gifts_from_channels"), False)
        return {**self.s.chat(p["chat_id"]), "accent_color_id": 0, "max_reaction_count": 11,
                "accepted_gift_types": gifts}

    def _forum(self, p: dict) -> int:
        chat_id = p["chat_id"]
        if chat_id not in self.s.forums:
            raise web.HTTPBadRequest(text="the chat is not a forum")
        return chat_id

    def _service(self, chat_id: int, thread_id: int, extra: dict[str, Any], message_id: int | None = None
                 ) -> dict[str, Any]:
        message = {"message_id": message_id or self.s.message_id(chat_id), "date": int(time.time()),
                   "from": BOT_USER, "chat": self.s.chat(chat_id), "message_thread_id": thread_id,
                   "is_topic_message": True, **extra}
        self.s.chats[chat_id].append(message)
        return message

    def createForumTopic(self, p: dict, files: dict) -> Any:  # noqa: N802
        chat_id = self._forum(p)
        name = str(p.get("name", ""))
        if not 1 <= len(name) <= 128:
            raise web.HTTPBadRequest(text="TOPIC_TITLE_EMPTY" if not name else "topic name is too long")
        thread_id = self.s.message_id(chat_id)  # a topic's id is its creation message's id
        icon_color = int(p.get("icon_color") or 7322096)
        self.s.topics[chat_id][thread_id] = {"message_thread_id": thread_id, "name": name, "icon_color": icon_color,
                                             "closed": False, "deleted": False}
        self._service(chat_id, thread_id, {"forum_topic_created": {"name": name, "icon_color": icon_color}},
                      message_id=thread_id)
        return {"message_thread_id": thread_id, "name": name, "icon_color": icon_color}

    def editForumTopic(self, p: dict, files: dict) -> Any:  # noqa: N802
        chat_id = self._forum(p)
        topic = self.s.topic(chat_id, p["message_thread_id"])
        if "name" in p:
            if not 1 <= len(str(p["name"])) <= 128:
                raise web.HTTPBadRequest(text="topic name is empty or too long")
            if p["name"] == topic["name"]:
                raise web.HTTPBadRequest(text="TOPIC_NOT_MODIFIED")
            topic["name"] = p["name"]
        self._service(chat_id, topic["message_thread_id"], {"forum_topic_edited": {"name": topic["name"]}})
        return True

    def _set_closed(self, p: dict, closed: bool) -> Any:
        chat_id = self._forum(p)
        topic = self.s.topic(chat_id, p["message_thread_id"])
        if topic["closed"] == closed:
            raise web.HTTPBadRequest(text="TOPIC_NOT_MODIFIED")
        topic["closed"] = closed
        kind = "forum_topic_closed" if closed else "forum_topic_reopened"
        self._service(chat_id, topic["message_thread_id"], {kind: {}})
        return True

    def closeForumTopic(self, p: dict, files: dict) -> Any:  # noqa: N802
        return self._set_closed(p, True)

    def reopenForumTopic(self, p: dict, files: dict) -> Any:  # noqa: N802
        return self._set_closed(p, False)

    def deleteForumTopic(self, p: dict, files: dict) -> Any:  # noqa: N802
        chat_id = self._forum(p)
        self.s.topic(chat_id, p["message_thread_id"])["deleted"] = True
        return True

    def _bot_message(self, p: dict, extra: dict[str, Any]) -> dict[str, Any]:
        chat_id = p["chat_id"]
        message = {"message_id": self.s.message_id(chat_id), "date": int(time.time()), "from": BOT_USER,
                   "chat": self.s.chat(chat_id), **extra}
        target = _reply_target(p)
        original = None
        if target is not None:
            original = self.s.find(chat_id, target)
            if original is None and not (p.get("reply_parameters") or {}).get("allow_sending_without_reply"):
                raise web.HTTPBadRequest(text="message to be replied not found")
        thread_id = p.get("message_thread_id") or (original or {}).get("message_thread_id")
        if thread_id and chat_id in self.s.forums:
            self.s.topic(chat_id, thread_id)  # a bot administrator may post in a closed topic, not a deleted one
            if original is not None and original.get("message_thread_id") != thread_id:
                original = None  # a reply cannot cross topics: Telegram posts it without the quote
            message["message_thread_id"], message["is_topic_message"] = thread_id, True
        if original is not None:
            message["reply_to_message"] = {k: v for k, v in original.items() if k != "reply_to_message"}
        if p.get("reply_markup"):
            message["reply_markup"] = p["reply_markup"]
        self.s.chats[chat_id].append(message)
        return message

    def sendMessage(self, p: dict, files: dict) -> Any:  # noqa: N802
        if not str(p.get("text", "")).strip():
            raise web.HTTPBadRequest(text="message text is empty")
        return self._bot_message(p, {"text": p["text"]})

    def sendDocument(self, p: dict, files: dict) -> Any:  # noqa: N802
        if "document" not in files:
            raise web.HTTPBadRequest(text="there is no document in the request")
        filename, content = files["document"]
        file_id = f"doc{len(self.s.documents) + 1}"
        self.s.documents[file_id] = (filename, content)
        extra: dict[str, Any] = {"document": {"file_id": file_id, "file_unique_id": file_id, "file_name": filename,
                                              "file_size": len(content)}}
        if p.get("caption"):
            extra["caption"] = p["caption"]
        return self._bot_message(p, extra)

    def editMessageText(self, p: dict, files: dict) -> Any:  # noqa: N802
        message = self.s.find(p["chat_id"], p["message_id"])
        if message is None:
            raise web.HTTPBadRequest(text="message to edit not found")
        message["text"] = p["text"]
        message["edit_date"] = int(time.time())
        if "reply_markup" in p:
            message["reply_markup"] = p["reply_markup"]
        else:
            message.pop("reply_markup", None)
        return message

    def editMessageReplyMarkup(self, p: dict, files: dict) -> Any:  # noqa: N802
        message = self.s.find(p["chat_id"], p["message_id"])
        if message is None:
            raise web.HTTPBadRequest(text="message to edit not found")
        message["reply_markup"] = p.get("reply_markup")
        return message

    def answerCallbackQuery(self, p: dict, files: dict) -> Any:  # noqa: N802
        self.s.callback_answers.append(p)
        return True


async def bot_api(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE]
    if request.match_info["token"] != state.token:
        return _fail(401, "Unauthorized")
    method = request.match_info["method"]
    state.calls.append(method)
    fault = state.fault_for(method)
    if fault is not None and fault["status"] == 200:  # slow: do it, then take `delay` seconds to answer
        response = await _call(state, method, request)
        await asyncio.sleep(fault["delay"])
        return response
    if fault is not None:
        if fault["status"] == 400:
            return _fail(400, "Bad Request: chat not found")
        if fault["status"] == 429:
            return _fail(429, f"Too Many Requests: retry after {fault['retry_after']}",
                         retry_after=fault["retry_after"])
        return _fail(fault["status"], "Bad Gateway" if fault["status"] == 502 else "Internal Server Error")
    return await _call(state, method, request)


async def _call(state: _State, method: str, request: web.Request) -> web.Response:
    params, files = await _params(request)
    if method == "getUpdates":
        return _ok(await _get_updates(state, params))
    handler = getattr(_Methods(state), method, None)
    if handler is None or method.startswith("_"):
        return _fail(404, "Not Found: method not found")
    try:
        return _ok(handler(params, files))
    except web.HTTPBadRequest as exc:
        return _fail(400, f"Bad Request: {exc.text}")
    except KeyError as exc:
        return _fail(400, f"Bad Request: parameter {exc.args[0]} is required")


async def _get_updates(state: _State, params: dict[str, Any]) -> list[dict[str, Any]]:
    offset = params.get("offset") or 0
    if offset:
        state.updates = [u for u in state.updates if u["update_id"] >= offset]  # confirmed ones are gone
    deadline = time.monotonic() + float(params.get("timeout") or 0)
    while True:
        pending = [u for u in state.updates if u["update_id"] >= offset]
        if pending or time.monotonic() >= deadline:
            return pending[: int(params.get("limit") or 100)]
        state.new_update.clear()
        try:
            await asyncio.wait_for(state.new_update.wait(), timeout=max(0.0, deadline - time.monotonic()))
        except TimeoutError:
            pass


# -- control calls: play the users ------------------------------------------------


def _user(body: dict[str, Any]) -> dict[str, Any]:
    user_id = int(body.get("user_id", body.get("chat_id", 1)))
    return {"id": user_id, "is_bot": False, "first_name": body.get("first_name", f"User{user_id}"),
            "username": body.get("username", f"user{user_id}")}


async def user_message(request: web.Request) -> web.Response:
    state, body = request.app[STATE], await request.json()
    chat_id = int(body["chat_id"])
    date = int(time.time() - float(body.get("age") or 0))  # age: sent that many seconds ago
    message: dict[str, Any] = {"message_id": state.message_id(chat_id), "date": date,
                               "from": _user(body), "text": body["text"],
                               "chat": state.chat(chat_id, body.get("chat_type"))}
    if body["text"].startswith("/"):
        command = body["text"].split()[0]
        message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
    reply_to = body.get("reply_to_message_id")
    thread_id = body.get("thread_id")
    if thread_id:
        topic = state.topics[chat_id].get(int(thread_id))
        if topic is None or topic["deleted"]:
            return web.json_response({"error": THREAD_NOT_FOUND}, status=404)
        message["message_thread_id"], message["is_topic_message"] = int(thread_id), True
        reply_to = reply_to or int(thread_id)  # Telegram's quirk: "a reply" to the topic's creation message
    if reply_to:
        original = state.find(chat_id, int(reply_to))
        if original is None:
            return web.json_response({"error": "no such message to reply to"}, status=404)
        message["reply_to_message"] = {k: v for k, v in original.items() if k != "reply_to_message"}
    state.chats[chat_id].append(message)
    state.push("message", message)
    return web.json_response(message, status=201)


async def user_edit(request: web.Request) -> web.Response:
    """A user edits their message ``message_id``: the bot gets an ``edited_message`` update."""
    state, body = request.app[STATE], await request.json()
    chat_id = int(body["chat_id"])
    message = state.find(chat_id, int(body["message_id"]))
    if message is None:
        return web.json_response({"error": "no such message"}, status=404)
    message["text"], message["edit_date"] = body["text"], int(time.time())
    if body["text"].startswith("/"):
        message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(body["text"].split()[0])}]
    state.push("edited_message", dict(message))
    return web.json_response(message, status=201)


async def user_callback(request: web.Request) -> web.Response:
    state, body = request.app[STATE], await request.json()
    chat_id = int(body["chat_id"])
    message = state.find(chat_id, int(body["message_id"]))
    if message is None:
        return web.json_response({"error": "no such message"}, status=404)
    query = {"id": str(next(state.update_ids) + 10**6), "from": _user(body), "chat_instance": str(chat_id),
             "message": message, "data": body["data"]}
    state.push("callback_query", query)
    return web.json_response(query, status=201)


async def make_forum(request: web.Request) -> web.Response:
    """Make ``chat_id`` a forum supergroup (as an administrator would switch Topics on)."""
    state, body = request.app[STATE], await request.json()
    state.forums[int(body["chat_id"])] = str(body.get("title", "Support"))
    return web.json_response(state.chat(int(body["chat_id"])), status=201)


async def forum_topics(request: web.Request) -> web.Response:
    state = request.app[STATE]
    topics = state.topics.get(int(request.match_info["chat_id"]), {})
    return web.json_response([t for t in topics.values() if not t["deleted"]])


async def delete_topic(request: web.Request) -> web.Response:
    """A user deletes a topic in Telegram (with its messages, as far as the bot can tell)."""
    state = request.app[STATE]
    topic = state.topics[int(request.match_info["chat_id"])].get(int(request.match_info["thread_id"]))
    if topic is None:
        return web.json_response({"error": "no such topic"}, status=404)
    topic["deleted"] = True
    return web.json_response(topic)


async def chat_messages(request: web.Request) -> web.Response:
    return web.json_response(request.app[STATE].chats.get(int(request.match_info["chat_id"]), []))


async def documents(request: web.Request) -> web.Response:
    state = request.app[STATE]
    return web.json_response({fid: {"file_name": name, "size": len(data), "content": data.decode("latin-1")}
                              for fid, (name, data) in state.documents.items()})


async def faults(request: web.Request) -> web.Response:
    state, body = request.app[STATE], await request.json()
    fault = {"method": body.get("method", "*"), "status": int(body.get("status", 429)),
             "count": int(body.get("count", 1)), "retry_after": int(body.get("retry_after", 1)),
             "delay": float(body.get("delay", 0))}
    if fault["status"] not in (200, 400, 429, 500, 502):
        return web.json_response({"error": "status must be 200 (slow: with delay), 400, 429, 500 or 502"},
                                 status=400)
    state.faults.append(fault)
    return web.json_response(fault, status=201)


async def clear_faults(request: web.Request) -> web.Response:
    request.app[STATE].faults.clear()
    return web.json_response({"faults": []})


async def info(request: web.Request) -> web.Response:
    state = request.app[STATE]
    return web.json_response({"commands": state.commands, "command_scopes": state.command_scopes,
                              "calls": state.calls, "webhook": state.webhook,
                              "callback_answers": state.callback_answers,
                              "pending_updates": len(state.updates)})


class TelegramStandIn(ServedApp):
    """A running Bot API stand-in; ``api_url`` is what the bot's ``[telegram] api_url`` takes."""

    thread_name = "telegram-stand-in"
    control_prefix = "/_telegram"

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, token: str = "123456:TEST-TOKEN") -> None:
        super().__init__(host, port)
        self.token = token
        self.state: _State | None = None

    @property
    def api_url(self) -> str:
        return self.url + "/bot"

    def make_app(self) -> web.Application:
        from .guard import browser_guard

        app = web.Application(middlewares=[browser_guard((self.control_prefix,), self.host)])
        app[STATE] = self.state = _State(self.token)
        app.router.add_post("/bot{token}/{method}", bot_api)
        app.router.add_get("/bot{token}/{method}", bot_api)
        p = self.control_prefix
        app.router.add_post(p + "/messages", user_message)
        app.router.add_post(p + "/callbacks", user_callback)
        app.router.add_post(p + "/edits", user_edit)
        app.router.add_get(p + "/chats/{chat_id}", chat_messages)
        app.router.add_post(p + "/forums", make_forum)
        app.router.add_get(p + "/forums/{chat_id}/topics", forum_topics)
        app.router.add_delete(p + "/forums/{chat_id}/topics/{thread_id}", delete_topic)
        app.router.add_get(p + "/documents", documents)
        app.router.add_post(p + "/faults", faults)
        app.router.add_delete(p + "/faults", clear_faults)
        app.router.add_get(p + "/info", info)
        return app

    # -- helpers for tests and the demo ---------------------------------------------

    def send(self, chat_id: int, text: str, *, user_id: int | None = None, reply_to: int | None = None,
             **extra: Any) -> dict[str, Any]:
        """A user writes ``text`` in ``chat_id`` (optionally as a reply to message ``reply_to``;
        ``thread_id=N``: in forum topic N)."""
        body = {"chat_id": chat_id, "user_id": user_id or chat_id, "text": text, "reply_to_message_id": reply_to,
                **extra}
        return self._control("POST", "/messages", json=body)

    def make_forum(self, chat_id: int, title: str = "Support") -> dict[str, Any]:
        """Make ``chat_id`` a forum supergroup."""
        return self._control("POST", "/forums", json={"chat_id": chat_id, "title": title})

    def topics(self, chat_id: int) -> list[dict[str, Any]]:
        """The live topics of forum ``chat_id`` (``message_thread_id``, ``name``, ``closed``)."""
        return self._control("GET", f"/forums/{chat_id}/topics")

    def delete_topic(self, chat_id: int, thread_id: int) -> dict[str, Any]:
        return self._control("DELETE", f"/forums/{chat_id}/topics/{thread_id}")

    def thread_messages(self, chat_id: int, thread_id: int) -> list[dict[str, Any]]:
        """Every message in one topic, service messages included, in order."""
        return [m for m in self.messages(chat_id) if m.get("message_thread_id") == thread_id]

    def edit(self, chat_id: int, message_id: int, text: str) -> dict[str, Any]:
        """The user edits their message ``message_id`` to ``text``."""
        return self._control("POST", "/edits", json={"chat_id": chat_id, "message_id": message_id, "text": text})

    def press(self, chat_id: int, message_id: int, data: str, *, user_id: int | None = None) -> dict[str, Any]:
        """A user presses the inline button with callback ``data`` on ``message_id``."""
        return self._control("POST", "/callbacks", json={"chat_id": chat_id, "message_id": message_id,
                                                          "data": data, "user_id": user_id or chat_id})

    def messages(self, chat_id: int) -> list[dict[str, Any]]:
        return self._control("GET", f"/chats/{chat_id}")

    def bot_messages(self, chat_id: int) -> list[dict[str, Any]]:
        return [m for m in self.messages(chat_id) if m["from"]["id"] == BOT_USER["id"]]

    def documents(self) -> dict[str, Any]:
        return self._control("GET", "/documents")

    def fault(self, method: str = "*", status: int = 429, count: int = 1, retry_after: int = 1,
              delay: float = 0.0) -> None:
        """The next ``count`` calls of ``method`` fail with ``status``; status 200: done, answered ``delay`` s late."""
        self._control("POST", "/faults", json={"method": method, "status": status, "count": count,
                                               "retry_after": retry_after, "delay": delay})

    def clear_faults(self) -> None:
        self._control("DELETE", "/faults")

    def info(self) -> dict[str, Any]:
        return self._control("GET", "/info")
