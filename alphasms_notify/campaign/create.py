"""Making a campaign: every recipient's message rendered, prepared, checked and given its id once, and stored.

The plan is fixed here: the plugins' ``alphasms_prepare_message`` runs now, on every message (a plugin
that refuses one makes it ``skipped``, with its reason); a message that fails the checks stops the whole
campaign before anything is stored (the message and field named). Editing the CSV afterwards changes
nothing; the runner sends exactly what is stored, with the ids drawn now.
"""

from __future__ import annotations

import dataclasses
import operator
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, cast

import orjson

from ..messages import SendMessage, to_data
from ..phone import InvalidPhone, normalize_phone
from ..results import Outcome
from ..store import Store
from ..store.campaigns import CampaignRow
from .plan import DEFAULT_TZ, PlanError, parse_window, zone

__all__ = ["create_campaign", "Created"]


@dataclass(frozen=True)
class Created:
    name: str
    recipients: int
    skipped: int
    state: str


def create_campaign(store: Store, client: Any, name: str, messages: Sequence[SendMessage], *, channel: str,
                    start_at: float | None = None, until_at: float | None = None, window: str | None = None,
                    tz: str = DEFAULT_TZ, rate: int | None = None, now: float | None = None,
                    review: Callable[[list[SendMessage], list[Outcome[Any]]], None] | None = None) -> Created:
    """Prepare and check ``messages`` with ``client`` (nothing is sent) and store the campaign.

    ``review(prepared, refused)`` sees what would be stored before it is (the CLI's preview and its balance
    check), and what the plugins refused (an opted-out phone: it is stored ``skipped``, never sent); an
    exception there stores nothing."""
    if not name or len(name) > 100 or any(c.isspace() for c in name):
        raise PlanError(f"name: expected a word of up to 100 characters without spaces, not {name!r}")
    zone(tz)
    if window:
        parse_window(window)
    if rate is not None and rate < 1:
        raise PlanError(f"--rate: expected at least 1 message a minute, not {rate}")
    if start_at is not None and until_at is not None and until_at <= start_at:
        raise PlanError("--until: must be after --at")
    if not messages:
        raise PlanError("no recipients")
    now = time.time() if now is None else now
    ready, refused = client.prepare(list(messages))  # ValidationError: nothing stored, the message named
    if review is not None:
        review(ready, refused)
    rows = _rows(ready)
    skipped = [(o.message, o.error or "refused") for o in refused]
    phones = {id(m): _phone(m.phone) for m, _ in skipped}
    state = "scheduled"  # until its first runner starts it (alphasms_campaign_started)
    store.campaigns.create(CampaignRow(name, now, channel, state, None, start_at, until_at, window, tz, rate,
                                       len(rows) + len(skipped)), rows)
    if skipped:
        store.campaigns.add_skipped(name, [(phones[id(m)], orjson.dumps(to_data(m)).decode(), why)
                                           for m, why in skipped], start=len(rows))
    return Created(name, len(rows), len(skipped), state)


def _rows(messages: list[SendMessage]) -> list[tuple[int, int, str]]:
    """(id, phone, payload) of each message; a message like the one before it (the same type, fields and
    meta: a campaign of one text is all such) takes its payload without a key made for it."""
    made: dict[tuple[Any, ...], str] = {}
    rows: list[tuple[int, int, str]] = []
    last: tuple[Any, ...] = (None, None, None)
    payload = ""
    for m in messages:
        cls = type(m)
        fields = _others(cls)(m)
        if cls is not last[0] or m.meta != last[2] or fields != last[1]:
            payload, last = _payload(m, fields, made), (cls, fields, m.meta)
        rows.append((cast(int, m.id), cast(int, m.phone), payload))
    return rows


def _payload(message: SendMessage, fields: tuple[Any, ...], made: dict[tuple[Any, ...], str]) -> str:
    """The stored message without its phone and id (they are the row's columns): a campaign of one text
    stores one payload many times, and the runner reads it once. Made once per distinct message (``made``:
    by type, its other ``fields``, and the meta as JSON), not once per recipient."""
    meta = message.meta
    key: tuple[Any, ...]
    try:
        key = (type(message), fields, orjson.dumps(meta, option=orjson.OPT_SORT_KEYS) if meta else b"")
        hash(key)
    except (TypeError, orjson.JSONEncodeError):  # a field or a plugin's meta value not hashable or not JSON
        key = (id(message),)
    payload = made.get(key)
    if payload is None:
        data = to_data(message)
        del data["fields"]["phone"], data["fields"]["id"]
        payload = made[key] = orjson.dumps(data).decode()
    return payload


def _others(cls: type) -> Callable[[Any], tuple[Any, ...]]:
    """The fields of ``cls`` a payload is made of, read in one call: all but the row's own and meta."""
    getter = _GETTERS.get(cls)
    if getter is None:
        getter = _GETTERS[cls] = operator.attrgetter(*(f.name for f in dataclasses.fields(cls)
                                                       if f.name not in _OWN))
    return getter


_GETTERS: dict[type, Callable[[Any], tuple[Any, ...]]] = {}


_OWN = frozenset({"phone", "id", "meta", "sent"})  # the row's own columns, meta (keyed as JSON), not stored


def _phone(value: Any) -> int:
    try:
        return normalize_phone(value)
    except InvalidPhone:
        return 0  # a plugin refused it before the checks: its row keeps the reason
