"""``AlphaSMS`` and ``AsyncAlphaSMS``: batching, retries that never send twice, hooks.

Both clients run one sans-I/O flow (:class:`_Core`): ``send`` and ``request``
are generators that yield "post this body", "sleep this long", "run these
batches" or "await what this plugin returned" and receive the answers, so the
hooks, the checks, the batching and the retry logic are written once and the
sync and async clients differ only in how they carry out those few actions
(``_do``; the drivers are in :mod:`alphasms_notify.flow`).

Never twice: a send item's ``id`` is its idempotency key. When an attempt
may have reached the provider (a timeout after sending, a 5xx, a dropped
connection, a garbled answer), the retry first asks ``status`` for those ids
and resends only the ones the provider does not know. A known id counts as
this message only if the provider's record fits it (its type, and its phone
when the record has one); otherwise the message fails naming the id, since
another message holds it. When every retry is spent, the messages of that
request are reported *unknown*, not failed: the caller's own retry of the
same objects (Apprise's ``retry=``, a loop around ``send``) asks the provider
first, because each message object remembers how its last send ended.

Bounds: ``timeout`` is for a whole exchange (connect to last byte), and an
answer larger than ``max_answer_bytes`` after decompression is refused.
"""

from __future__ import annotations

from ..settings import DEFAULT_API_URL, DEFAULT_BATCH_SIZE
from .actions import MAX_ANSWER_BYTES
from .aio import AsyncAlphaSMS
from .sync import AlphaSMS

__all__ = ["AlphaSMS", "AsyncAlphaSMS", "DEFAULT_API_URL", "DEFAULT_BATCH_SIZE", "MAX_ANSWER_BYTES"]
