"""The stand-in's control calls (``/_telegram/``): tests and the demo play the users and read the chats."""

from __future__ import annotations

import time
from typing import Any

from aiohttp import web

from .telegram_state import STATE, THREAD_NOT_FOUND

__all__ = ["user_message", "user_edit", "user_callback", "make_forum", "forum_topics", "delete_topic",
           "chat_messages", "documents", "faults", "clear_faults", "menu", "info"]


def _user(body: dict[str, Any]) -> dict[str, Any]:
    user_id = int(body.get("user_id", body.get("chat_id", 1)))
    user = {"id": user_id, "is_bot": False, "first_name": body.get("first_name", f"User{user_id}"),
            "username": body.get("username", f"user{user_id}")}
    if body.get("language_code"):  # the user's Telegram language, as Telegram sends it
        user["language_code"] = body["language_code"]
    return user


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


async def menu(request: web.Request) -> web.Response:
    """``?chat_id=&user_id=&language_code=``: the command menu that user sees in that chat."""
    query = request.query
    chat_id = int(query["chat_id"])
    seen = request.app[STATE].menu_seen(chat_id, int(query.get("user_id", chat_id)), query.get("language_code"))
    return web.json_response(seen)


async def info(request: web.Request) -> web.Response:
    state = request.app[STATE]
    return web.json_response({"commands": state.commands, "command_scopes": state.command_scopes,
                              "calls": state.calls, "webhook": state.webhook,
                              "callback_answers": state.callback_answers,
                              "pending_updates": len(state.updates)})


