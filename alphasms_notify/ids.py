"""Message ids that stay unique across processes, hosts and restarts.

The ``id`` a client gives each message is how the provider recognises a
retry of the same message, so two processes must not pick the same one, and
nothing coordinates them (they may run on different hosts). An id is a
positive 63-bit integer:

- 20 bits: the hour since 2025-01-01 UTC (good until 2144), so ids of
  different hours can never be equal;
- 43 bits: a random starting point, drawn per process and hour from the
  operating system's CSPRNG, that counts up by one per id.

Two processes can only collide if their ranges overlap within one hour.
For *P* processes taking *c* ids each in the same hour, the chance of any
collision is at most about ``P² · c / 2^43``: 100 processes x 40 ids at once,
6·10^-8; 1,000 processes x 1,000 ids in one hour, 1.1·10^-4. That is the
bound 63 bits allow. A collision is never sent twice nor reported as sent:
the provider refuses the second id as a duplicate, or the client's check
before a resend sees a record that is not this message and fails it naming
the id (see ``client._reconcile``).

Within one process ids are unique and increase (a new start is drawn only
after 2^32 ids in one hour, or on a new hour).
"""

from __future__ import annotations

import os
import secrets
import threading
import time

__all__ = ["new_message_id", "new_message_ids", "HOUR_BITS", "COUNTER_BITS"]

_EPOCH = 1_735_689_600  # 2025-01-01T00:00:00Z
HOUR_BITS, COUNTER_BITS = 20, 43
_RUN = 2**32  # ids one start serves before a new one is drawn (keeps ids increasing: no wrap-around)
_lock = threading.Lock()
_state: dict[str, int] = {"hour": -1, "start": 0, "seq": 0, "pid": -1}


def new_message_id() -> int:
    """A fresh positive id below 2**63."""
    return new_message_ids(1)[0]


def new_message_ids(count: int) -> list[int]:
    """``count`` fresh ids at once (a campaign's worth, under one lock), increasing."""
    with _lock:
        taken: list[int] = []
        while len(taken) < count:
            taken += _take(count - len(taken))
        return taken


def _take(count: int) -> list[int]:
    """Up to ``count`` ids from the current run (a new run drawn when needed); the lock is held."""
    hour = (int(time.time()) - _EPOCH) // 3600
    if hour != _state["hour"] or _state["pid"] != os.getpid() or _state["seq"] >= _RUN:
        # a new hour, a forked child (which must not reuse its parent's range), or a spent run
        start = secrets.randbelow(2**COUNTER_BITS - _RUN)
        if hour == _state["hour"] and _state["pid"] == os.getpid():
            start = max(start, _state["start"] + _RUN) % (2**COUNTER_BITS - _RUN)
        _state.update(hour=hour, start=start, seq=0, pid=os.getpid())
    n = min(count, _RUN - _state["seq"])
    first = (hour << COUNTER_BITS) | (_state["start"] + _state["seq"])
    _state["seq"] += n
    return list(range(first, first + n))
