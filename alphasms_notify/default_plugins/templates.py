"""The templates plugin: ``{name}`` fields in a message's text filled from ``message.meta["fields"]``.

Library use: put the fields in ``message.meta["fields"]`` and the text is
rendered in ``alphasms_prepare_message`` just before validation, by the rules
of :mod:`alphasms_notify.templates` (plain names only). A field the fields
lack stops that message with a clear reason (``MessageRejected``) instead of
sending "Hi {name}". ``alphasms send-template`` (in :mod:`alphasms_notify.cli.templates`)
renders every CSV row before it sends any.
"""

from __future__ import annotations

from typing import Any

from ..hookspecs import hookimpl
from ..templates import render


@hookimpl
def alphasms_prepare_message(message: Any) -> None:
    fields = message.meta.get("fields")
    if fields is None:
        return
    for attr in ("text", "sms_text"):
        value = getattr(message, attr, None)
        if value:
            setattr(message, attr, render(value, fields))
