"""Before sending: sender defaults, ids drawn, every message checked in one pass, batches planned."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from ..checks import check, is_blank
from ..errors import ValidationError
from ..gcpause import without_gc
from ..ids import new_message_id, new_message_ids
from ..messages import (
    WITH_SMS_FALLBACK,
    Message,
    Rcs,
    RcsSms,
    SendMessage,
    Sms,
    Status,
    Viber,
    ViberSms,
    label_of,
    replaced,
)
from ..phone import InvalidPhone, canonical_number, normalize_phone
from ..results import Outcome
from ..segments import UCS2_MULTI, count_segments
from .actions import _PROBE_PHONE, SEND_TYPES, _chunks

__all__ = ["Checking"]

_FINE: tuple[Any, ...] = ()  # no problems


def _with(message: Sms, phone: Any, sender: str | None) -> Sms:
    """``message`` with this phone and sender: itself when they are its own already, else a copy."""
    if phone == message.phone and type(message.phone) is int and sender is message.sender:
        return message
    return replaced(message, phone=phone, sender=sender)


class Checking:
    """The client's checks and plans (a part of :class:`~alphasms_notify.client.flow.Core`)."""

    batch_size: int
    max_batch_size: int
    _reached: int  # the largest batch this client's last send posted without a failed request (see Core)
    max_parts: int
    sms_sender: str | None
    viber_sender: str | None
    rcs_sender: str | None
    id_factory: Callable[[], int]

    def _with_defaults(self, message: Message) -> Message:
        if isinstance(message, SEND_TYPES) and message.id is None:
            message.id = self.id_factory()  # in place: resending the same object is idempotent
            message.id_drawn = True
        updates: dict[str, Any] = {}
        if isinstance(message, Sms) and message.sender is None:
            updates["sender"] = self.sms_sender
        elif isinstance(message, Viber) and message.sender is None:
            updates["sender"] = self.viber_sender or self.sms_sender
        elif isinstance(message, ViberSms):
            if message.sender is None:
                updates["sender"] = self.viber_sender or self.sms_sender
            if message.sms_sender is None:
                updates["sms_sender"] = self.sms_sender
        elif isinstance(message, Rcs | RcsSms):
            if message.sender is None:
                updates["sender"] = self.rcs_sender or self.sms_sender
            if isinstance(message, RcsSms) and message.sms_sender is None:
                updates["sms_sender"] = self.sms_sender
        return replaced(message, **updates) if updates else message

    @without_gc
    def _check_all(self, pairs: Iterable[tuple[int, Message]]) -> tuple[list[Message], dict[int, list[Any]]]:
        """Checked copies, and the problems of each message by its position in the caller's list.

        One pass: an SMS's text, sender and lifetime are checked (and its parts counted) once per
        distinct combination, so a campaign of 10,000 checks one text and 10,000 phones.
        """
        checked: list[Message] = []
        problems: dict[int, list[Any]] = {}
        seen_ids: dict[int, int] = {}
        sms_checks: dict[tuple[Any, ...], list[tuple[str, str]]] = {}
        pairs = list(pairs)
        self._assign_ids([m for _, m in pairs])
        check_sms, append = self._check_sms, checked.append
        for index, message in pairs:
            if type(message) is Sms:
                ready, found = check_sms(message, index, sms_checks)
            elif type(message) is Status and type(message.id) is int and 0 < message.id < 2**63:
                ready, found = message, _FINE  # a status query of a valid id: nothing else to check
            else:
                ready, found = check(self._with_defaults(message), index)
                self._check_parts(ready, index, found)
            msg_id = getattr(ready, "id", None)
            if msg_id is not None and (first := seen_ids.setdefault(msg_id, index)) != index \
                    and isinstance(ready, SEND_TYPES):
                found = [*found, (f"message {index + 1}", "id", f"id {msg_id} is also used by message {first + 1}")]
            if found:
                problems[index] = list(found)
            append(ready)
        return checked, problems

    def _assign_ids(self, messages: list[Message]) -> None:
        """Ids for the sends that have none, drawn together (in place: resending the same objects is idempotent)."""
        missing = [m for m in messages if isinstance(m, SEND_TYPES) and m.id is None]
        if not missing:
            return
        fresh = (new_message_ids(len(missing)) if self.id_factory is new_message_id
                 else [self.id_factory() for _ in missing])
        for message, msg_id in zip(missing, fresh, strict=True):
            message.id = msg_id
            message.id_drawn = True

    def _check_sms(self, message: Sms, index: int, cache: dict[tuple[Any, ...], list[tuple[str, str]]]
                   ) -> tuple[Message, Sequence[Any]]:
        """:func:`check` for an SMS, with what is not the phone or id checked once per (text, sender, lifetime)."""
        sender = message.sender
        if sender is None:
            sender = self.sms_sender
        text = message.text
        options = (sender, message.lifetime, message.unsubscribe_link, message.short_link, message.hook)
        if type(text) is str and text.isprintable() and (text[:1].isalnum() or not is_blank(text)) \
                and len(text) * 2 <= UCS2_MULTI * self.max_parts:
            # the common case, every text different (an order number, a name): a text of printable characters
            # is valid UTF-8 with no controls, so only what is not the text is left to check, once per options
            key: tuple[Any, ...] = options
            text = "."
        else:
            key = (text, *options)
        common = cache.get(key)
        if common is None:
            probe = Sms(_PROBE_PHONE, text, sender=sender, lifetime=message.lifetime,
                        unsubscribe_link=message.unsubscribe_link, short_link=message.short_link, hook=message.hook)
            _, found = check(probe)
            self._check_parts(probe, 0, found)
            common = cache[key] = [(field, reason) for _, field, reason in found]
        phone = canonical_number(message.phone)  # the common case, without normalize_phone's layers
        msg_id = message.id
        if phone is not None and not common and type(msg_id) is int and 0 < msg_id < 2**63:
            return _with(message, phone, sender), _FINE
        own: list[tuple[str, str]] = []
        if phone is None:
            try:
                phone = normalize_phone(message.phone)
            except InvalidPhone as exc:
                own.append(("phone", str(exc)))
        if isinstance(msg_id, bool) or not isinstance(msg_id, int) or not 0 < msg_id < 2**63:
            own.append(("id", f"must be a positive integer below 2**63, not {msg_id!r}"))
        if common or own:
            label = label_of(message, index)
            return message, [(label, f, r) for f, r in own + common]
        return _with(message, phone, sender), _FINE

    def _check_parts(self, message: Message, index: int, found: list[Any]) -> None:
        """Refuse an SMS (or SMS fallback) longer than ``max_parts``: each part is billed."""
        text = message.text if isinstance(message, Sms) else (
            message.fallback_text if isinstance(message, WITH_SMS_FALLBACK) else None)
        if not text or len(text) * 2 <= UCS2_MULTI * self.max_parts:  # surely within: no need to count
            return
        parts = count_segments(text).parts
        if parts > self.max_parts:
            name = "text" if isinstance(message, Sms) else "sms_text"
            found.append((label_of(message, index), name, f"is {len(text)} characters, {parts} SMS parts; "
                          f"the limit is max_parts = {self.max_parts}"))

    def _validated(self, messages: Iterable[Message]) -> list[Message]:
        checked, problems = self._check_all(enumerate(messages))
        if problems:
            raise ValidationError([p for found in problems.values() for p in found])
        return checked

    def _send_plan(self, batch: list[SendMessage], settled: dict[int, Outcome[Any]],
                   skip_invalid: bool) -> list[list[Any]]:
        """Check what is left to send; invalid ones stop everything, or with skip_invalid fail alone."""
        indexes = [i for i in range(len(batch)) if i not in settled]
        checked, problems = self._check_all((i, batch[i]) for i in indexes)
        if problems and not skip_invalid:
            raise ValidationError([p for found in problems.values() for p in found])
        for index, found in problems.items():
            reasons = "; ".join(f"{field}: {reason}" for _, field, reason in found)
            settled[index] = Outcome(batch[index], False, error=f"invalid: {reasons}")
        ready = [m for i, m in zip(indexes, checked, strict=True) if i not in problems]
        return [list(chunk) for chunk in _chunks(ready, max(self.batch_size, self._reached), self.max_batch_size)]

    # -- the exchange ----------------------------------------------------------

    def validate(self, messages: Iterable[Message]) -> list[Message]:
        """Normalized copies with this client's defaults, or ValidationError; sends nothing.

        Checks only: the plugins' ``alphasms_prepare_message`` does not run. For a
        preview of what a send will really carry, use :meth:`AlphaSMS.prepare`.
        """
        return self._validated(messages)

    def _plan(self, messages: Iterable[Message]) -> list[list[Message]]:
        checked = self._validated(messages)
        return [list(chunk) for chunk in _chunks(checked, self.batch_size)]

