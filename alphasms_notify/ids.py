"""Message ids that stay unique across processes and restarts.

The ``id`` a client gives each message is how the provider recognises a
retry of the same message, so two processes must never pick the same one.
Ids are Snowflake-style 63-bit integers: milliseconds since 2025-01-01 (41
bits, good until 2094), a random per-process tag (10 bits) and a counter (12
bits) that, when exhausted within one millisecond, borrows the next one.
"""

from __future__ import annotations

import os
import secrets
import threading
import time

__all__ = ["new_message_id"]

_EPOCH_MS = 1_735_689_600_000  # 2025-01-01T00:00:00Z
_lock = threading.Lock()
_state = {"ms": 0, "seq": 0, "tag": secrets.randbelow(1024), "pid": os.getpid()}


def new_message_id() -> int:
    """A fresh positive id, strictly increasing within this process."""
    with _lock:
        if _state["pid"] != os.getpid():  # forked: take a new tag so parent and child differ
            _state.update(pid=os.getpid(), tag=secrets.randbelow(1024), ms=0, seq=0)
        now = int(time.time() * 1000) - _EPOCH_MS
        if now > _state["ms"]:
            _state["ms"], _state["seq"] = now, 0
        else:
            _state["seq"] += 1
            if _state["seq"] >= 4096:
                _state["ms"], _state["seq"] = _state["ms"] + 1, 0
        return (_state["ms"] << 22) | (_state["tag"] << 12) | _state["seq"]
