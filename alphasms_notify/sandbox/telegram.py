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

from typing import Any, cast

from aiohttp import web

from .inprocess import ServedApp
from .telegram_control import (
    chat_messages,
    clear_faults,
    delete_topic,
    documents,
    faults,
    forum_topics,
    info,
    make_forum,
    menu,
    user_callback,
    user_edit,
    user_message,
)
from .telegram_methods import bot_api
from .telegram_state import BOT_USER, STATE, State

__all__ = ["TelegramStandIn", "BOT_USER"]


class TelegramStandIn(ServedApp):
    """A running Bot API stand-in; ``api_url`` is what the bot's ``[telegram] api_url`` takes."""

    thread_name = "telegram-stand-in"
    control_prefix = "/_telegram"

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, token: str = "123456:TEST-TOKEN") -> None:
        super().__init__(host, port)
        self.token = token
        self.state: State | None = None

    @property
    def api_url(self) -> str:
        return self.url + "/bot"

    def make_app(self) -> web.Application:
        from .guard import browser_guard

        app = web.Application(middlewares=[browser_guard((self.control_prefix,), self.host)])
        app[STATE] = self.state = State(self.token)
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
        app.router.add_get(p + "/menu", menu)
        return app

    # -- helpers for tests and the demo ---------------------------------------------

    def send(self, chat_id: int, text: str, *, user_id: int | None = None, reply_to: int | None = None,
             **extra: Any) -> dict[str, Any]:
        """A user writes ``text`` in ``chat_id`` (optionally as a reply to message ``reply_to``;
        ``thread_id=N``: in forum topic N)."""
        body = {"chat_id": chat_id, "user_id": user_id or chat_id, "text": text, "reply_to_message_id": reply_to,
                **extra}
        return cast(dict[str, Any], self._control("POST", "/messages", json=body))

    def make_forum(self, chat_id: int, title: str = "Support") -> dict[str, Any]:
        """Make ``chat_id`` a forum supergroup."""
        return cast(dict[str, Any], self._control("POST", "/forums", json={"chat_id": chat_id, "title": title}))

    def topics(self, chat_id: int) -> list[dict[str, Any]]:
        """The live topics of forum ``chat_id`` (``message_thread_id``, ``name``, ``closed``)."""
        return cast(list[dict[str, Any]], self._control("GET", f"/forums/{chat_id}/topics"))

    def delete_topic(self, chat_id: int, thread_id: int) -> dict[str, Any]:
        return cast(dict[str, Any], self._control("DELETE", f"/forums/{chat_id}/topics/{thread_id}"))

    def thread_messages(self, chat_id: int, thread_id: int) -> list[dict[str, Any]]:
        """Every message in one topic, service messages included, in order."""
        return [m for m in self.messages(chat_id) if m.get("message_thread_id") == thread_id]

    def edit(self, chat_id: int, message_id: int, text: str) -> dict[str, Any]:
        """The user edits their message ``message_id`` to ``text``."""
        edited = self._control("POST", "/edits", json={"chat_id": chat_id, "message_id": message_id, "text": text})
        return cast(dict[str, Any], edited)

    def press(self, chat_id: int, message_id: int, data: str, *, user_id: int | None = None,
              **extra: Any) -> dict[str, Any]:
        """A user presses the inline button with callback ``data`` on ``message_id``."""
        pressed = self._control("POST", "/callbacks", json={"chat_id": chat_id, "message_id": message_id,
                                                             "data": data, "user_id": user_id or chat_id, **extra})
        return cast(dict[str, Any], pressed)

    def messages(self, chat_id: int) -> list[dict[str, Any]]:
        return cast(list[dict[str, Any]], self._control("GET", f"/chats/{chat_id}"))

    def bot_messages(self, chat_id: int) -> list[dict[str, Any]]:
        return [m for m in self.messages(chat_id) if m["from"]["id"] == BOT_USER["id"]]

    def documents(self) -> dict[str, Any]:
        return cast(dict[str, Any], self._control("GET", "/documents"))

    def fault(self, method: str = "*", status: int = 429, count: int = 1, retry_after: int = 1,
              delay: float = 0.0) -> None:
        """The next ``count`` calls of ``method`` fail with ``status``; status 200: done, answered ``delay`` s late."""
        self._control("POST", "/faults", json={"method": method, "status": status, "count": count,
                                               "retry_after": retry_after, "delay": delay})

    def clear_faults(self) -> None:
        self._control("DELETE", "/faults")

    def menu(self, chat_id: int, *, user_id: int | None = None, language_code: str | None = None) -> list[str]:
        """The commands of the menu a user (``language_code``: their Telegram language) sees in ``chat_id``,
        as ``/name: description`` lines."""
        params: dict[str, Any] = {"chat_id": chat_id, "user_id": user_id or chat_id}
        if language_code:
            params["language_code"] = language_code
        seen = cast(list[dict[str, str]], self._control("GET", "/menu", params=params))
        return [f"/{c['command']}: {c['description']}" for c in seen]

    def info(self) -> dict[str, Any]:
        return cast(dict[str, Any], self._control("GET", "/info"))
