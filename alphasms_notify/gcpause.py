"""The cyclic garbage collector held off while a batch is built, checked or decoded.

A bulk send makes thousands of small containers at once (the answer's items,
an outcome and a result per message, checked copies) and keeps every one of
them. Each few hundred allocations wake the collector, which finds nothing
to free and, every so often, walks every live object of the process again:
measured, more than half of the time to decode 20,000 answer items. Those
sections run no I/O and return quickly, so the collector is paused for them
and resumed right after (left alone when the caller had it off already).
Reference counting still frees everything that is not a cycle meanwhile.
The switch is the interpreter's, not the thread's: a thread that turns the
collector off while another thread is inside such a section finds it on
again when that section ends (CPython offers no per-thread switch).
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import ParamSpec, TypeVar

__all__ = ["paused_gc", "without_gc"]

P = ParamSpec("P")
R = TypeVar("R")


@contextmanager
def paused_gc() -> Iterator[None]:
    """No automatic collection inside the block; never use it around an ``await`` or a wait."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def without_gc(function: Callable[P, R]) -> Callable[P, R]:
    """``function`` runs inside :func:`paused_gc` (it must be synchronous and do no I/O)."""

    @wraps(function)
    def paused(*args: P.args, **kwargs: P.kwargs) -> R:
        with paused_gc():
            return function(*args, **kwargs)

    return paused
