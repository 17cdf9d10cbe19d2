"""``AlphaSMS`` and ``AsyncAlphaSMS``: batching, retries that never send twice, hooks.

Both run the one sans-I/O flow of :mod:`.flow` (how a send is made safe to retry is told there);
:mod:`.sync` and :mod:`.aio` only carry out its few actions, :mod:`.checking` and :mod:`.exchange`
are its two halves, before sending and on the wire.
"""

from __future__ import annotations

from ..settings import DEFAULT_API_URL, DEFAULT_BATCH_SIZE
from .actions import MAX_ANSWER_BYTES
from .aio import AsyncAlphaSMS
from .sync import AlphaSMS

__all__ = ["AlphaSMS", "AsyncAlphaSMS", "DEFAULT_API_URL", "DEFAULT_BATCH_SIZE", "MAX_ANSWER_BYTES"]
