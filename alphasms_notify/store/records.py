"""What the store gives back: plain records, made from rows (never pickled: rows outlive classes)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..results import Media, Reply

__all__ = ["TrackedMessage", "Topic", "Contact", "StoredReply", "message_row", "message_tuple", "MESSAGE_COLUMNS",
           "topic_row", "contact_row", "reply_row", "stored_text", "tracked_text"]


@dataclass(frozen=True)
class TrackedMessage:
    id: int
    type: str
    phone: int
    text: str | None
    source: str
    chat_id: int | None
    anchor_id: int | None
    status: str | None
    status_type: str | None
    created_at: float
    done: bool
    thread_id: int | None = None  # the forum topic the bot's "sent" message is in
    notice_chat_id: int | None = None  # where the message was shown in its phone's topic (None: not yet)
    notice_id: int | None = None
    notice_thread_id: int | None = None
    follow_replies: bool = False  # an SMS with the provider's unsubscribe link: its unsubscribe comes as a reply
    react: bool = False  # anchor_id is an operator's answer in a topic: its reaction follows the status


@dataclass(frozen=True)
class Topic:
    """The forum topic of one phone's conversation in ``chat_id``."""

    chat_id: int
    phone: int
    thread_id: int
    name: str
    closed: bool


@dataclass(frozen=True)
class Contact:
    phone: int
    name: str | None
    fields: dict[str, str]


@dataclass(frozen=True)
class StoredReply:
    message_id: int
    seq: int
    reply: Reply
    received_at: float
    attempts: int


def stored_text(text: str | None) -> str | None:
    """A reply's text as the store gives it back (PostgreSQL keeps NUL as U+FFFD; see db._pg_args)."""
    return text.replace("\x00", "\ufffd") if text and "\x00" in text else text


def tracked_text(message: object) -> str | None:
    """What the store keeps of a message's text: each of its ``meta["redact"]`` strings (a verification
    code) masked, so neither the store nor what is shown from it (a topic's notice) holds them."""
    text: str | None = getattr(message, "text", None)
    if text:
        for secret in (getattr(message, "meta", None) or {}).get("redact", ()):
            if secret:
                text = text.replace(secret, "*" * len(secret))
        return text
    image = getattr(message, "image", None)
    return f"[image {image}]" if image else text


def message_row(row: dict[str, Any]) -> TrackedMessage:
    return TrackedMessage(row["id"], row["type"], row["phone"], row["text"], row["source"], row["chat_id"],
                          row["anchor_id"], row["status"], row["status_type"], row["created_at"], bool(row["done"]),
                          row["thread_id"], row["notice_chat_id"], row["notice_id"], row["notice_thread_id"],
                          bool(row.get("follow_replies")), bool(row.get("react")))


# The columns of a TrackedMessage in its fields' order, for reading thousands as tuples (claims)
MESSAGE_COLUMNS = ("id, type, phone, text, source, chat_id, anchor_id, status, status_type, created_at, done,"
                   " thread_id, notice_chat_id, notice_id, notice_thread_id, follow_replies, react")


def message_tuple(row: tuple[Any, ...]) -> TrackedMessage:
    """A row of :data:`MESSAGE_COLUMNS`: no dict made a row, which was half of a claim's time in Python."""
    (id_, type_, phone, text, source, chat_id, anchor_id, status, status_type, created_at, done, thread_id,
     notice_chat_id, notice_id, notice_thread_id, follow_replies, react) = row
    return TrackedMessage(id_, type_, phone, text, source, chat_id, anchor_id, status, status_type, created_at,
                          bool(done), thread_id, notice_chat_id, notice_id, notice_thread_id, bool(follow_replies),
                          bool(react))


def contact_row(row: dict[str, Any]) -> Contact:
    return Contact(row["phone"], row["name"], json.loads(row["fields"] or "{}"))


def topic_row(row: dict[str, Any]) -> Topic:
    return Topic(row["chat_id"], row["phone"], row["thread_id"], row["name"], bool(row["closed"]))


def reply_row(row: dict[str, Any]) -> StoredReply:
    media = Media(row["media_url"], row["media_filename"], row["media_filesize"]) if row["media_url"] else None
    reply = Reply(datetime.fromisoformat(row["datetime"]), row["text"], media)
    return StoredReply(row["message_id"], row["seq"], reply, row["received_at"], row["attempts"])
