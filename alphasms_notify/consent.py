"""Consent as a plugin: an opted-out phone gets no message of the category it refused, on any road.

Every message has a category: ``meta["category"]`` is ``marketing`` (campaigns and ``send-template``
by default) or ``service`` (verification codes, one-off sends, Apprise; what ``[consent]
default_category`` says for a message without one). A ``marketing`` opt-out stops marketing messages;
``all`` stops both. The check is ``alphasms_prepare_message``, so the CLI, the templates, campaigns
(at creation; the runner checks again before each batch), Apprise, the bot and ``make_client()``
callers all refuse such a message the same way: a failed outcome ``opted out (since DATE)``.

The list is kept in memory and read again when the store's version of it changed (looked at no more
than every ``REFRESH`` seconds), so a send of 100,000 asks the store a few times, not 100,000. When
the store cannot be read, a marketing message is refused (it must not go without the list) and a
service message goes (an alarm or a code is not held up by a broken store; tracking reports it).

A Viber reply that is only a stop word ("СТОП!", "stop", "відписатися" ...: :func:`is_stop_word`)
opts its phone out (:func:`handle_reply`, from the status poll) and, with ``[consent] confirm_text``,
gets one confirmation. Its id is stored with the opt-out before it is sent, so a crash and a second
try send the same message, which the provider takes once.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import threading
import time
import unicodedata
from typing import Any

import pluggy

from .errors import MessageRejected, OptedOut
from .hookspecs import hookimpl
from .phone import InvalidPhone, normalize_phone
from .sections import ConsentSettings
from .store import OptOut, Store

__all__ = ["Consent", "ensure_consent", "is_stop_word", "category_of", "refusal", "handle_reply", "confirm_pending",
           "CONSENT",
           "MARKETING", "SERVICE", "CONFIRMATION"]

log = logging.getLogger("alphasms_notify.consent")

CONSENT = "consent"  # the plugin's name in the manager
MARKETING, SERVICE = "marketing", "service"
CONFIRMATION = "optout-confirmation"  # meta["consent"]: the confirmation a STOP reply gets passes the check
REFRESH = 0.05  # seconds between looks at the store's version of the list (a query of one row)

# Latin letters that look like Cyrillic ones (and the Ukrainian і, ї): "CTOП" and "stор" are read as typed
_LOOK_ALIKES = str.maketrans({"a": "а", "c": "с", "e": "е", "o": "о", "p": "р", "x": "х", "y": "у", "k": "к",
                              "m": "м", "t": "т", "h": "н", "b": "в", "i": "і", "s": "ѕ", "j": "ј"})


def _skeleton(text: str) -> str:
    """``text`` without case, accents, look-alike differences, and what surrounds its letters."""
    folded = unicodedata.normalize("NFKC", text).casefold().translate(_LOOK_ALIKES)
    letters = [ch for ch in folded if ch.isalnum() or ch.isspace()]
    return " ".join("".join(letters).split())


def is_stop_word(text: str | None, words: list[str]) -> bool:
    """Whether a reply is one of ``words`` and nothing else ("СТОП!", " stop 🙏"; not "can't stop laughing")."""
    if not text:
        return False
    said = _skeleton(text)
    return bool(said) and any(said == _skeleton(word) for word in words)


def category_of(message: Any, default: str = SERVICE) -> str:
    meta = getattr(message, "meta", None) or {}
    category = meta.get("category")
    return category if category in (MARKETING, SERVICE) else default


def _since(opt_out: OptOut) -> str:
    return dt.datetime.fromtimestamp(opt_out.at, dt.UTC).strftime("%Y-%m-%d")


def refusal(opt_out: OptOut) -> str:
    scope = "" if opt_out.scope == MARKETING else " of all messages"
    return f"opted out{scope} (since {_since(opt_out)})"


class Consent:
    """The consent plugin for one store."""

    def __init__(self, target: str | os.PathLike[str], settings: ConsentSettings | None = None) -> None:
        self.target = str(target)
        self.settings = settings or ConsentSettings()
        self._store: Store | None = None
        self._lock = threading.Lock()
        self._list: dict[int, OptOut] = {}
        self._version = -1
        self._looked = 0.0

    def close(self) -> None:
        with self._lock:
            if self._store is not None:
                self._store.close()
                self._store = None

    def _current(self) -> dict[int, OptOut]:
        with self._lock:
            now = time.monotonic()
            if now - self._looked >= REFRESH:
                if self._store is None:
                    self._store = Store(self.target)
                version = self._store.optouts.version()
                if version != self._version:
                    self._list = {o.phone: o for o in self._store.optouts.all()}
                    self._version = version
                self._looked = now
            return self._list

    @hookimpl(tryfirst=True)
    def alphasms_prepare_message(self, message: Any) -> None:
        if (message.meta or {}).get("consent") == CONFIRMATION:
            return
        try:
            opted = self._current()
        except Exception as exc:  # noqa: BLE001 - a store that cannot be read: decided by the category
            if category_of(message, self.settings.default_category) == MARKETING:  # the message the law is about
                raise MessageRejected(f"not sent: the opt-out list cannot be read ({type(exc).__name__}: {exc}); "
                                      "a marketing message waits for it", field="phone") from None
            log.info("opt-out list not read (%s: %s): a service message goes", type(exc).__name__, exc)
            return  # a door alarm or a code is not held up by a broken store (tracking reports it)
        if not opted:
            return  # nobody opted out: no phone to read (a send of 100,000 pays nothing here)
        try:
            phone = normalize_phone(message.phone)
        except (InvalidPhone, TypeError):
            return  # the checks name what is wrong with it
        found = opted.get(phone)
        if found is not None and found.blocks(category_of(message, self.settings.default_category)):
            raise OptedOut(refusal(found), field="phone")


def ensure_consent(pm: pluggy.PluginManager, target: str | os.PathLike[str],
                   settings: ConsentSettings | None = None) -> Consent:
    """The manager's consent plugin, registered for ``target`` if it has none yet."""
    plugin = pm.get_plugin(CONSENT)
    if plugin is None:
        plugin = Consent(target, settings)
        pm.register(plugin, name=CONSENT)
    return plugin


async def handle_reply(store: Store, client: Any, settings: ConsentSettings, tracked: Any, text: str | None
                       ) -> str | None:
    """A reply's effect on consent: ``"out"`` (a stop word: opted out, confirmed once), ``"in"`` (a start
    word, with ``allow_restart``), or None. Safe to run twice for one reply (after a crash)."""
    phone = int(tracked.phone)
    if settings.allow_restart and is_stop_word(text, settings.start_words):
        await store.run(store.optouts.remove, phone)
        return "in"
    if not is_stop_word(text, settings.stop_words):
        return None
    from .ids import new_message_id

    wanted = new_message_id() if settings.confirm_text else None
    # an SMS has no replies: its "reply" is the provider's unsubscribe link followed
    reason = "unsubscribe" if tracked.type == "sms" else "reply"
    opted = await store.run(store.optouts.add, phone, settings.stop_scope, reason, time.time(), text, wanted)
    if settings.confirm_text and opted.confirm_id is not None and opted.confirmed_at is None:
        await _confirm(store, client, settings.confirm_text, str(tracked.type), opted,
                       first=opted.confirm_id == wanted)
    return "out"


async def confirm_pending(store: Store, client: Any, settings: ConsentSettings) -> int:
    """Send again the confirmations a failure left unsent (the same id: never two); how many went."""
    if not settings.confirm_text:
        return 0
    sent = 0
    for opted in await store.run(store.optouts.unconfirmed, time.time() - 3 * 86400):
        try:
            sent += await _confirm(store, client, settings.confirm_text, "viber", opted, first=False)
        except Exception as exc:  # noqa: BLE001 - the next cycle tries again
            log.warning("opt-out confirmation to +%s not sent yet: %s: %s", opted.phone, type(exc).__name__, exc)
    return sent


async def _confirm(store: Store, client: Any, text: str, kind_of: str, opted: OptOut, *, first: bool) -> bool:
    from .client.actions import UNKNOWN
    from .messages import Sms, Viber

    meta = {"consent": CONFIRMATION, "category": SERVICE, "source": "consent"}
    kind = Viber if kind_of.startswith("viber") else Sms  # by the channel the reply came by
    message = kind(opted.phone, text, id=opted.confirm_id, meta=meta)
    message.id_drawn = True
    if not first:
        message.sent = UNKNOWN  # an earlier try may have reached the provider: it is asked about the id first
    [outcome] = await client.send([message])
    if outcome.ok:
        await store.run(store.optouts.confirmed, opted.phone, time.time())
    elif not outcome.unknown:
        log.warning("opt-out confirmation to +%s refused: %s", opted.phone, outcome.error)
    return bool(outcome.ok)
