"""Sends waiting for an operator's Confirm, kept in the store as versioned JSON.

Any instance may get the press, so the prepared send lives in the store, not
in one process. It is stored as data (``{"v": 1, ...}``: each message's type
and fields, the outcomes of those refused), never pickled: a row outlives the
classes that wrote it, and two bot versions share one PostgreSQL during a
rolling upgrade. Rows an older version pickled (base64 of a pickle) are still
read, through an unpickler that admits only this package's message and result
classes, and :func:`convert_legacy` rewrites them as JSON at start-up.
"""

from __future__ import annotations

import base64
import io
import json
import pickle
import secrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..messages import SendMessage, from_data, to_data
from ..results import Outcome

if TYPE_CHECKING:  # pragma: no cover
    from ..store import Store

__all__ = ["PendingSend", "encode", "decode", "save", "take", "convert_legacy", "FORMAT_VERSION"]

FORMAT_VERSION = 1
_LEGACY_OWN_ID = "_alphasms_own_id"  # where an older client marked an id it drew (now the field id_drawn)


@dataclass
class PendingSend:
    """A send waiting for the operator's Confirm.

    ``messages`` are already prepared by the plugins and checked (ids set), so
    what the operator confirmed is exactly what goes out; ``refused`` are
    those a plugin or a check stopped, reported with the results.
    """

    messages: list[SendMessage]
    refused: list[Outcome[Any]] = field(default_factory=list)
    created_at: float = 0.0


def _message(message: Any) -> dict[str, Any]:
    return to_data(message)


def _unmessage(data: dict[str, Any]) -> SendMessage:
    try:
        return from_data(data)
    except ValueError:
        raise ValueError(f"a pending send holds a message of unknown type {data.get('type')!r}") from None


def encode(pending: PendingSend) -> str:
    return json.dumps({
        "v": FORMAT_VERSION,
        "created_at": pending.created_at,
        "messages": [_message(m) for m in pending.messages],
        "refused": [{"message": _message(o.message), "error": o.error, "unknown": o.unknown}
                    for o in pending.refused],
    }, ensure_ascii=False)


def _is_json(payload: str) -> bool:
    return payload.lstrip().startswith("{")  # else base64 of a pickle, which never starts with "{"


def decode(payload: str) -> PendingSend:
    """A stored send: JSON (any version this code knows), or a pickle an older version wrote."""
    if not _is_json(payload):
        return _unpickle(payload)
    data = json.loads(payload)
    if data.get("v") != FORMAT_VERSION:
        raise ValueError(f"a pending send in format {data.get('v')!r}, newer than this bot knows "
                         f"({FORMAT_VERSION}): let the newer version answer it")
    return PendingSend([_unmessage(m) for m in data["messages"]],
                       [Outcome(_unmessage(r["message"]), False, error=r.get("error"), unknown=bool(r.get("unknown")))
                        for r in data.get("refused", [])],
                       float(data.get("created_at", 0.0)))


class _Legacy(pickle.Unpickler):
    """Only what an older bot pickled: the pending send, its messages and results, plain containers."""

    ALLOWED = {("alphasms_notify.bot.context", "PendingSend"), ("alphasms_notify.bot.pending", "PendingSend")}
    MODULES = ("alphasms_notify.messages", "alphasms_notify.results")

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in self.ALLOWED:
            return PendingSend
        if module in self.MODULES or (module == "builtins" and name in ("set", "frozenset", "tuple", "list", "dict")):
            return super().find_class(module, name)
        if module == "copyreg" and name == "_reconstructor":
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"a pending send may not hold {module}.{name}")


def _unpickle(payload: str) -> PendingSend:
    value = _Legacy(io.BytesIO(base64.b64decode(payload))).load()
    if not isinstance(value, PendingSend):
        raise ValueError("a stored pending send is not one")
    for message in [*value.messages, *(o.message for o in value.refused)]:
        if message.__dict__.pop(_LEGACY_OWN_ID, False):
            message.id_drawn = True
    return PendingSend(list(value.messages), list(value.refused), float(value.created_at))


def save(store: Store, pending: PendingSend) -> str:
    """Keep ``pending`` until Confirm or Cancel; the buttons carry only the id returned."""
    pending_id = secrets.token_urlsafe(12)
    store.bot.save_pending(pending_id, encode(pending), pending.created_at)
    return pending_id


def take(store: Store, pending_id: str, state: str) -> PendingSend | None:
    """Move the send to ``state`` (``sending``, ``cancelled``) and return it; None when it was not pending."""
    payload = store.bot.take_pending(pending_id, state)
    return decode(payload) if payload is not None else None


def convert_legacy(store: Store) -> int:
    """Rewrite the pickled sends still pending as JSON (a bot of this version starting on an older store)."""
    converted = 0
    for pending_id, payload in store.bot.pending_payloads():
        if _is_json(payload):
            continue
        try:
            store.bot.replace_pending(pending_id, payload, encode(_unpickle(payload)))
            converted += 1
        except (pickle.UnpicklingError, ValueError, TypeError, AttributeError, EOFError):
            continue  # left for decode() to refuse when it is pressed: the operator is told
    return converted
