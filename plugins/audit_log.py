"""Audit log: every send, status change and Viber reply as one JSON line.

Load it with ``alphasms --plugins-dir plugins ...`` (or ``[plugins] dir``).
The file is ``ALPHASMS_AUDIT_LOG``, by default ``audit.jsonl`` in the user's
state folder (``~/.local/state/alphasms-notify/`` on Linux), never the
working folder; it is created readable by its owner only, since it holds
phone numbers. Lines are appended and flushed one by one, so a crash loses
at most the line being written; the API key is never part of an event.
"""

from __future__ import annotations

import json
import os
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import platformdirs

from alphasms_notify import hookimpl
from alphasms_notify.store import create_private

_lock = threading.Lock()


def _path() -> Path:
    configured = os.environ.get("ALPHASMS_AUDIT_LOG")
    return Path(configured) if configured else platformdirs.user_state_path("alphasms-notify") / "audit.jsonl"


def _write(event: dict[str, Any]) -> None:
    event = {"at": datetime.now(UTC).isoformat(timespec="milliseconds"), **event}
    line = json.dumps(event, ensure_ascii=False, default=str)
    path = _path()
    with _lock:
        create_private(path)
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(line + "\n")


@hookimpl
def alphasms_message_sent(message, result) -> None:
    event: dict[str, Any] = {"event": "sent", "type": message.type, "id": message.id, "phone": message.phone,
                             "ok": result.ok}
    if result.ok:
        event.update(msg_id=result.result.msg_id, parts=result.result.parts)
    else:
        event["error"] = result.error
    _write(event)


@hookimpl
def alphasms_status_changed(message_id, old, new, status) -> None:
    _write({"event": "status", "id": message_id, "old": old, "new": new, "channel": status.type})


@hookimpl
def alphasms_reply_received(message_id, reply) -> None:
    event: dict[str, Any] = {"event": "reply", "id": message_id, "datetime": reply.datetime.isoformat(),
                             "message": reply.message}
    if reply.media is not None:
        event["media"] = {"url": reply.media.url, "filename": reply.media.filename,
                          "filesize": reply.media.filesize}
    _write(event)
