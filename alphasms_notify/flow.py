"""The two drivers of every sans-I/O flow in the package: one for sync code, one for async.

A flow is a generator that yields actions ("post this body", "sleep", "await
what this plugin returned") and receives their results; an action that
fails is thrown back into the flow, which decides what the failure means.
The client's send, its retries and the plugin hooks are written once as
flows, and these two functions are the only place where sync and async
differ in how the work is carried out.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Generator
from typing import Any, TypeVar, cast

__all__ = ["drive", "adrive"]

R = TypeVar("R")
Flow = Generator[Any, Any, R]


def drive(flow: Flow[R], do: Callable[[Any], Any]) -> R:
    """Run ``flow`` to its end, carrying out each action with ``do``."""
    try:
        action = next(flow)
        while True:
            try:
                result = do(action)
            except Exception as exc:
                action = flow.throw(exc)
            else:
                action = flow.send(result)
    except StopIteration as stop:
        return cast(R, stop.value)


async def adrive(flow: Flow[R], do: Callable[[Any], Awaitable[Any]]) -> R:
    """:func:`drive` for async code: ``do`` returns an awaitable."""
    try:
        action = next(flow)
        while True:
            try:
                result = await do(action)
            except Exception as exc:
                action = flow.throw(exc)
            else:
                action = flow.send(result)
    except StopIteration as stop:
        return cast(R, stop.value)
