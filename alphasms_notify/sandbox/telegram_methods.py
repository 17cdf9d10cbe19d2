"""The Bot API methods the bot calls, as Telegram answers them (``/bot<TOKEN>/<method>``), and long polling."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any, cast

from aiohttp import web

from .telegram_state import _INT_FIELDS, _JSON_FIELDS, BOT_USER, STATE, State, _fail, _ok, menu_key

__all__ = ["bot_api"]


async def _params(request: web.Request) -> tuple[dict[str, Any], dict[str, tuple[str, bytes]]]:
    """Bot API parameters from a form, multipart or JSON body; nested values arrive as JSON text."""
    params: dict[str, Any] = {}
    files: dict[str, tuple[str, bytes]] = {}
    if request.content_type == "application/json":
        params = await request.json()
    elif request.can_read_body:
        form = await request.post()
        for key, value in form.items():
            if isinstance(value, web.FileField):
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


# the emoji Telegram takes as reactions (Bot API ReactionTypeEmoji)
REACTIONS = frozenset((
    "👍 👎 ❤ 🔥 🥰 👏 😁 🤔 🤯 😱 🤬 😢 🎉 🤩 🤮 💩 🙏 👌 🕊 🤡 "
    "🥱 🥴 😍 🐳 ❤‍🔥 🌚 🌭 💯 🤣 ⚡ 🍌 🏆 💔 🤨 😐 🍓 🍾 💋 🖕 "
    "😈 😴 😭 🤓 👻 👨‍💻 👀 🎃 🙈 😇 😨 🤝 ✍ 🤗 🫡 🎅 🎄 ☃ 💅 "
    "🤪 🗿 🆒 💘 🙉 🦄 😘 💊 🙊 😎 👾 🤷‍♂ 🤷 🤷‍♀ 😡 "
).split())


def _reply_target(params: dict[str, Any]) -> int | None:
    if isinstance(params.get("reply_parameters"), dict):
        return cast(int | None, params["reply_parameters"].get("message_id"))
    return params.get("reply_to_message_id")


class _Methods:
    """The Bot API methods the bot uses; each returns the ``result`` object."""

    def __init__(self, state: State) -> None:
        self.s = state

    def getMe(self, p: dict[str, Any], files: dict[str, Any]) -> Any:  # noqa: N802 - Bot API names
        return BOT_USER

    def deleteWebhook(self, p: dict[str, Any], files: dict[str, Any]) -> Any:  # noqa: N802
        self.s.webhook = {}
        return True

    def setWebhook(self, p: dict[str, Any], files: dict[str, Any]) -> Any:  # noqa: N802
        self.s.webhook = {k: v for k, v in p.items() if k != "certificate"}
        return True

    def getWebhookInfo(self, p: dict[str, Any], files: dict[str, Any]) -> Any:  # noqa: N802
        return {"url": self.s.webhook.get("url", ""), "has_custom_certificate": False, "pending_update_count": 0}

    def setMyCommands(self, p: dict[str, Any], files: dict[str, Any]) -> Any:  # noqa: N802
        """A menu for one scope and language (``language_code`` empty: for every language without its own)."""
        scope = p.get("scope") or {"type": "default"}
        self.s.commands = list(p.get("commands", []))
        self.s.command_scopes.append(scope)
        self.s.menus[menu_key(scope, p.get("language_code"))] = list(p.get("commands", []))
        return True

    def getMyCommands(self, p: dict[str, Any], files: dict[str, Any]) -> Any:  # noqa: N802
        return self.s.menus.get(menu_key(p.get("scope") or {"type": "default"}, p.get("language_code")), [])

    def deleteMyCommands(self, p: dict[str, Any], files: dict[str, Any]) -> Any:  # noqa: N802
        self.s.commands = []
        self.s.menus.pop(menu_key(p.get("scope") or {"type": "default"}, p.get("language_code")), None)
        return True

    def sendChatAction(self, p: dict[str, Any], files: dict[str, Any]) -> Any:  # noqa: N802
        return True

    def getChat(self, p: dict[str, Any], files: dict[str, Any]) -> Any:  # noqa: N802
        """A ChatFullInfo: the chat and the fields Telegram always sends with it."""
        gifts = dict.fromkeys(("unlimited_gifts", "limited_gifts", "unique_gifts", "premium_subscription",
                               "gifts_from_channels"), False)
        return {**self.s.chat(p["chat_id"]), "accent_color_id": 0, "max_reaction_count": 11,
                "accepted_gift_types": gifts}

    def _forum(self, p: dict[str, Any]) -> int:
        chat_id = p["chat_id"]
        if chat_id not in self.s.forums:
            raise web.HTTPBadRequest(text="the chat is not a forum")
        return cast(int, chat_id)

    def _service(self, chat_id: int, thread_id: int, extra: dict[str, Any], message_id: int | None = None
                 ) -> dict[str, Any]:
        message = {"message_id": message_id or self.s.message_id(chat_id), "date": int(time.time()),
                   "from": BOT_USER, "chat": self.s.chat(chat_id), "message_thread_id": thread_id,
                   "is_topic_message": True, **extra}
        self.s.chats[chat_id].append(message)
        return message

    def createForumTopic(self, p: dict[str, Any], files: dict[str, Any]) -> Any:  # noqa: N802
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

    def editForumTopic(self, p: dict[str, Any], files: dict[str, Any]) -> Any:  # noqa: N802
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

    def _set_closed(self, p: dict[str, Any], closed: bool) -> Any:
        chat_id = self._forum(p)
        topic = self.s.topic(chat_id, p["message_thread_id"])
        if topic["closed"] == closed:
            raise web.HTTPBadRequest(text="TOPIC_NOT_MODIFIED")
        topic["closed"] = closed
        kind = "forum_topic_closed" if closed else "forum_topic_reopened"
        self._service(chat_id, topic["message_thread_id"], {kind: {}})
        return True

    def closeForumTopic(self, p: dict[str, Any], files: dict[str, Any]) -> Any:  # noqa: N802
        return self._set_closed(p, True)

    def reopenForumTopic(self, p: dict[str, Any], files: dict[str, Any]) -> Any:  # noqa: N802
        return self._set_closed(p, False)

    def deleteForumTopic(self, p: dict[str, Any], files: dict[str, Any]) -> Any:  # noqa: N802
        chat_id = self._forum(p)
        self.s.topic(chat_id, p["message_thread_id"])["deleted"] = True
        return True

    def _bot_message(self, p: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
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

    def sendMessage(self, p: dict[str, Any], files: dict[str, Any]) -> Any:  # noqa: N802
        if not str(p.get("text", "")).strip():
            raise web.HTTPBadRequest(text="message text is empty")
        return self._bot_message(p, {"text": p["text"]})

    def sendDocument(self, p: dict[str, Any], files: dict[str, Any]) -> Any:  # noqa: N802
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

    def editMessageText(self, p: dict[str, Any], files: dict[str, Any]) -> Any:  # noqa: N802
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

    def setMessageReaction(self, p: dict[str, Any], files: dict[str, Any]) -> Any:  # noqa: N802
        """The bot's reaction on a message (a list of one emoji; empty removes it), as Telegram keeps it:
        only the emoji Telegram allows as reactions are taken."""
        message = self.s.find(p["chat_id"], p["message_id"])
        if message is None:
            raise web.HTTPBadRequest(text="Bad Request: message to react not found")
        reaction = p.get("reaction") or []
        if isinstance(reaction, str):
            reaction = json.loads(reaction)
        emoji = [r.get("emoji") for r in reaction if isinstance(r, dict) and r.get("type") == "emoji"]
        if len(emoji) != len(reaction) or any(e not in REACTIONS for e in emoji) or len(emoji) > 1:
            raise web.HTTPBadRequest(text="Bad Request: REACTION_INVALID")
        message["reactions"] = emoji
        return True

    def editMessageReplyMarkup(self, p: dict[str, Any], files: dict[str, Any]) -> Any:  # noqa: N802
        message = self.s.find(p["chat_id"], p["message_id"])
        if message is None:
            raise web.HTTPBadRequest(text="message to edit not found")
        message["reply_markup"] = p.get("reply_markup")
        return message

    def answerCallbackQuery(self, p: dict[str, Any], files: dict[str, Any]) -> Any:  # noqa: N802
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


async def _call(state: State, method: str, request: web.Request) -> web.Response:
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


async def _get_updates(state: State, params: dict[str, Any]) -> list[dict[str, Any]]:
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


