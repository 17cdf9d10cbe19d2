"""Turn operators' command text into messages; pure functions, no Telegram.

``/send 380971234567,0501234567 Text`` and ``/viber PHONES [image=URL]
[link=URL] [button=TEXT] Text``; ``/vibersms`` takes ``sms=TEXT`` too. An
option value with spaces goes in double quotes: ``button="Open site"``.
Options come right after the phones; everything after them is the text,
kept as typed (spaces and new lines included).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..i18n import gettext as _
from ..messages import Channel, SendMessage, build

__all__ = ["ParsedSend", "CommandError", "parse_send"]

_OPTION = re.compile(r'^(image|link|button|sms)=(?:"([^"]*)"|(\S+))(?:\s+|$)')
_CHANNEL: dict[str, Channel] = {"send": "sms", "viber": "viber", "vibersms": "viber+sms", "rcs": "rcs",
                                 "rcssms": "rcs+sms"}
_OPTIONS_FOR = {"send": set(), "viber": {"image", "link", "button"}, "vibersms": {"image", "link", "button", "sms"},
                "rcs": {"image", "link", "button"}, "rcssms": {"image", "link", "button", "sms"}}


class CommandError(ValueError):
    """The command text cannot be understood; the text says how to write it."""


@dataclass
class ParsedSend:
    channel: str
    phones: list[str]
    text: str
    options: dict[str, str] = field(default_factory=dict)

    def messages(self, **meta: object) -> list[SendMessage]:
        """The messages, through the one factory every front end uses."""
        o = self.options
        return build(_CHANNEL[self.channel], self.phones, self.text, image=o.get("image"), link=o.get("link"),
                     button=o.get("button"), sms_text=o.get("sms"), meta=meta)


def parse_send(command: str, args_text: str) -> ParsedSend:
    """Parse the text after ``/send``, ``/viber`` or ``/vibersms``."""
    usage = _("Usage: /{command} PHONE[,PHONE...] {rest}").format(command=command, rest={
        "send": "TEXT",
        "viber": "[image=URL] [link=URL button=TEXT] TEXT",
        "vibersms": '[sms="SMS text"] [image=URL] [link=URL button=TEXT] TEXT',
        "rcs": "[image=URL] [link=URL button=TEXT] TEXT",
        "rcssms": '[sms="SMS text"] [image=URL] [link=URL button=TEXT] TEXT',
    }[command])
    rest = args_text.strip()
    if not rest:
        raise CommandError(usage)
    first, rest = (re.split(r"\s+", rest, maxsplit=1) + [""])[:2]
    phones = [p.strip() for p in first.split(",") if p.strip()]
    if not phones:
        raise CommandError(usage)
    options: dict[str, str] = {}
    rest = rest.lstrip()
    while match := _OPTION.match(rest):
        name, value = match.group(1), match.group(2) if match.group(2) is not None else match.group(3)
        if name not in _OPTIONS_FOR[command]:
            raise CommandError(_("/{command} has no option {name}=.").format(command=command, name=name) + " " + usage)
        options[name] = value
        rest = rest[match.end():]
    text = rest.strip()
    if not text and not (command in ("viber", "rcs") and "image" in options):
        raise CommandError(_("The message text is empty.") + " " + usage)
    return ParsedSend(command, phones, text, options)
