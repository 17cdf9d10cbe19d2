"""The Bot API stand-in's state: chats, forums and topics, the updates waiting, faults; and its answers."""

from __future__ import annotations

import asyncio
import itertools
import json
import random
from collections import defaultdict
from typing import Any

from aiohttp import web

__all__ = ["BOT_USER", "THREAD_NOT_FOUND", "STATE", "State"]

BOT_USER = {"id": 7000000001, "is_bot": True, "first_name": "AlphaSMS", "username": "alphasms_test_bot"}
_INT_FIELDS = {"chat_id", "message_id", "offset", "limit", "timeout", "reply_to_message_id", "message_thread_id",
               "icon_color"}
THREAD_NOT_FOUND = "message thread not found"
_JSON_FIELDS = {"reply_markup", "reply_parameters", "entities", "commands", "allowed_updates",
                "link_preview_options", "scope", "caption_entities"}


def menu_key(scope: dict[str, Any], language_code: str | None) -> str:
    """One menu's key: its scope (the fields that name it) and its language."""
    fields = {k: int(v) if k in ("chat_id", "user_id") else v for k, v in scope.items()}
    return json.dumps([fields, language_code or ""], sort_keys=True)


class State:
    def __init__(self, token: str) -> None:
        self.token = token
        self.updates: list[dict[str, Any]] = []
        self.update_ids = itertools.count(random.randint(10**8, 9 * 10**8))  # as Telegram: not from 1
        self.message_ids: dict[int, itertools.count[int]] = defaultdict(lambda: itertools.count(1))
        self.chats: dict[int, list[dict[str, Any]]] = defaultdict(list)
        self.documents: dict[str, tuple[str, bytes]] = {}
        self.commands: list[dict[str, Any]] = []
        self.command_scopes: list[dict[str, Any]] = []  # the scope of each setMyCommands call
        self.menus: dict[str, list[dict[str, Any]]] = {}  # menu_key(scope, language): the commands
        self.faults: list[dict[str, Any]] = []
        self.calls: list[str] = []
        self.callback_answers: list[dict[str, Any]] = []
        self.webhook: dict[str, Any] = {}
        self.forums: dict[int, str] = {}  # chat id -> title of the forum supergroups
        self.topics: dict[int, dict[int, dict[str, Any]]] = defaultdict(dict)  # chat -> thread -> topic
        self.new_update = asyncio.Event()

    def menu_seen(self, chat_id: int, user_id: int, language_code: str | None) -> list[dict[str, Any]]:
        """The menu a user sees in a chat, found as Telegram documents: the narrowest scope first (a member of
        the chat, the chat, then the default), in each the user's language before the scope's menu for all."""
        scopes: list[dict[str, Any]] = [{"type": "chat", "chat_id": chat_id}, {"type": "default"}]
        if chat_id < 0:
            scopes.insert(0, {"type": "chat_member", "chat_id": chat_id, "user_id": user_id})
        for scope in scopes:
            for language in ([language_code] if language_code else []) + [None]:
                if (menu := self.menus.get(menu_key(scope, language))) is not None:
                    return menu
        return []

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


STATE = web.AppKey("state", State)


def _ok(result: Any) -> web.Response:
    return web.json_response({"ok": True, "result": result})


def _fail(code: int, description: str, **parameters: Any) -> web.Response:
    body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
    if parameters:
        body["parameters"] = parameters
    return web.json_response(body, status=code)


