"""Reading an answer whole, but never more than allowed: the size cap and the overall deadline.

Kept apart from the transports so that the sync client does not import aiohttp.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterable, Iterable

import httpx

__all__ = ["AnswerTooLarge", "read_capped", "read_capped_async"]


class AnswerTooLarge(Exception):
    """The answer grew past the size allowed (counted after decompression): refused, not kept."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        super().__init__(f"answer larger than {limit} bytes")


def read_capped(chunks: Iterable[bytes], limit: int, deadline: float) -> bytes:
    """Join ``chunks`` (already decompressed), refusing more than ``limit`` bytes or a read past ``deadline``.

    A body trickled a byte a second never hits a read timeout; the deadline bounds it.
    """
    body = bytearray()
    for chunk in chunks:
        body += chunk
        if len(body) > limit:
            raise AnswerTooLarge(limit)
        if time.monotonic() > deadline:
            raise httpx.ReadTimeout("the answer did not complete in time (overall timeout)")
    return bytes(body)


async def read_capped_async(chunks: AsyncIterable[bytes], limit: int) -> bytes:
    """As :func:`read_capped`; the caller bounds the time with ``asyncio.timeout``."""
    body = bytearray()
    async for chunk in chunks:
        body += chunk
        if len(body) > limit:
            raise AnswerTooLarge(limit)
    return bytes(body)
