"""The rules a message must meet before it is sent, each once: :func:`check` and its parts.

:func:`check` returns a normalized copy of a message (phone as an integer) or the
list of problems, each naming the message (``messages.label_of``), the field and the
reason; a text that would show nothing is empty (:func:`is_blank`). The client
runs it on every message (in one pass, per distinct text, for large sends).
"""

from __future__ import annotations

import unicodedata
from typing import Any
from urllib.parse import urlsplit

from .i18n import gettext as _
from .messages import (
    RICH,
    SMS_SENDER_MAX,
    VIBER_BUTTON_MAX,
    VIBER_SENDER_MAX,
    VIBER_TEXT_MAX,
    WITH_SMS_FALLBACK,
    Message,
    Rcs,
    RcsSms,
    Sms,
    Viber,
    ViberSms,
    label_of,
    replaced,
)
from .phone import InvalidPhone, normalize_phone

__all__ = ["check", "is_blank"]


def _is_http_url(value: str) -> bool:
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in value):
        return False  # a space or new line would reach the recipient as a broken link
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


_TEXT_FIELDS = ("text", "sms_text", "image", "link", "button", "sender", "sms_sender")


def _not_utf8(message: Message, problems: list[Any]) -> bool:
    """Text that cannot be sent as UTF-8 (bytes that were not UTF-8, kept as lone surrogates by Python)."""
    bad = False
    for name in _TEXT_FIELDS:
        value = getattr(message, name, None)
        if isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError as exc:
                problems.append((name, _("is not valid UTF-8 text (character {n})").format(n=exc.start + 1)))
                bad = True
    return bad


def _check_sender(value: str | None, field_name: str, limit: int, problems: list[Any], kind: str) -> None:
    """``kind``: whose sender it is (SMS, Viber, RCS), so "empty" says which one is missing and where its
    default is set."""
    if value is not None and any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        problems.append((field_name, _("{kind} sender name {value} has control characters").format(
            kind=kind, value=repr(value))))
    elif value is None or not value.strip():
        problems.append((field_name, _("{kind} sender name is empty (pass one or set [alphasms] {setting})").format(
            kind=kind, setting=f"{kind.lower()}_sender")))
    elif len(value) > limit:
        problems.append((field_name, _("{kind} sender name {value} is longer than {limit} characters").format(
            kind=kind, value=repr(value), limit=limit)))


# What shows nothing on a phone: spaces and controls, format characters (zero-width, bidi marks such as
# U+202E), combining marks with nothing to combine with, and the fillers that fonts draw blank.
_INVISIBLE = frozenset({"Cc", "Cf", "Zs", "Zl", "Zp", "Mn", "Me", "Cn"})
_BLANK_GLYPHS = frozenset("\u115f\u1160\u3164\uffa0\u2800")


def is_blank(text: str | None) -> bool:
    """True when ``text`` would show nothing to its recipient: a message of it is refused as empty."""
    if not text:
        return True
    for ch in text:
        if ch not in _BLANK_GLYPHS and unicodedata.category(ch) not in _INVISIBLE:
            return False
    return True


def _empty(text: str | None, what: str) -> str:
    """``what``: whose text (already in the current language)."""
    if text and text.strip():
        return _("{what} is empty (only invisible characters)").format(what=what)
    return _("{what} is empty").format(what=what)


def _check_lifetime(value: int | None, field_name: str, problems: list[Any]) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value <= 0):
        problems.append((field_name, _("must be a positive number of seconds, not {value}").format(value=repr(value))))


def _check_viber(message: Viber | ViberSms | Rcs | RcsSms, problems: list[Any]) -> None:
    text = message.text
    what = "RCS" if isinstance(message, Rcs | RcsSms) else "Viber"
    if text is not None and is_blank(text):
        problems.append(("text", _empty(text, _("{what} text").format(what=what))))
    elif text and len(text) > VIBER_TEXT_MAX:
        problems.append(("text", _("{what} text is {n} characters, over the limit of {limit}").format(
            what=what, n=len(text), limit=VIBER_TEXT_MAX)))
    if message.image is not None and not _is_http_url(message.image):
        problems.append(("image", _("image must be an http(s) URL, not {value}").format(value=repr(message.image))))
    if message.link is not None and not _is_http_url(message.link):
        problems.append(("link", _("link must be an http(s) URL, not {value}").format(value=repr(message.link))))
    if message.link and not message.button:
        problems.append(("button", _("a link needs a button text")))
    if message.button and not message.link:
        problems.append(("link", _("a button needs a link")))
    if message.button and len(message.button) > VIBER_BUTTON_MAX:
        problems.append(("button", _("button text is longer than {limit} characters").format(limit=VIBER_BUTTON_MAX)))
    if not problems and message.viber_type() is None:
        if not text and (message.image or message.link):
            problems.append(("text", _("text+image+link and text+link need a text")))
        elif message.image and not message.link:
            problems.append(("link", _("an image with text needs a link and a button (text+image+link)")))
        else:
            problems.append(("text", _("a {what} message needs a text or an image").format(what=what)))


def check(message: Message, index: int | None = None) -> tuple[Message, list[tuple[str, str, str]]]:
    """Validate ``message``; return a normalized copy and the problems found.

    Problems are ``(label, field, reason)``; an empty list means it can be sent.
    """
    problems: list[tuple[str, str]] = []
    updates: dict[str, Any] = {}
    if _not_utf8(message, problems):
        return message, [(label_of(message, index), f, r) for f, r in problems]
    if hasattr(message, "phone"):
        try:
            phone = normalize_phone(message.phone)
        except InvalidPhone as exc:
            problems.append(("phone", str(exc)))
        else:
            if phone != message.phone or type(message.phone) is not int:
                updates["phone"] = phone
    msg_id = getattr(message, "id", None)
    if msg_id is not None and (isinstance(msg_id, bool) or not isinstance(msg_id, int) or not 0 < msg_id < 2**63):
        problems.append(("id", _("must be a positive integer below 2**63, not {value}").format(value=repr(msg_id))))
    if isinstance(message, Sms):
        if is_blank(message.text):
            problems.append(("text", _empty(message.text, _("SMS text"))))
        _check_sender(message.sender, "sender", SMS_SENDER_MAX, problems, "SMS")
        _check_lifetime(message.lifetime, "lifetime", problems)
        for name in ("unsubscribe_link", "short_link"):
            if not isinstance(getattr(message, name), bool):
                problems.append((name, _("must be true or false, not {value}").format(
                    value=repr(getattr(message, name)))))
        if message.hook is not None and not _is_http_url(message.hook):
            problems.append(("hook", _("hook must be an http(s) URL, not {value}").format(value=repr(message.hook))))
    elif isinstance(message, RICH):
        _check_viber(message, problems)
        _check_sender(message.sender, "sender", VIBER_SENDER_MAX, problems,
                      "RCS" if isinstance(message, Rcs | RcsSms) else "Viber")
        if isinstance(message, WITH_SMS_FALLBACK):
            sms_text = message.fallback_text
            if is_blank(sms_text):
                problems.append(("sms_text", _empty(sms_text, _("the SMS fallback text"))))
            _check_sender(message.sms_sender, "sms_sender", SMS_SENDER_MAX, problems, "SMS")
        for name in ("lifetime", "viber_lifetime", "sms_lifetime"):
            if hasattr(message, name):
                _check_lifetime(getattr(message, name), name, problems)
    if problems:
        label = label_of(message, index)
        return message, [(label, f, r) for f, r in problems]
    if not updates:
        return message, []
    return replaced(message, **updates), []
