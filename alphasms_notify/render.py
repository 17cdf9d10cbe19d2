"""Results as text, the same in every front end (the CLI prints them, the bot decorates them).

Pure functions of the result types: no click, no Telegram.
"""

from __future__ import annotations

from .i18n import gettext as _
from .results import HlrResult, Reply, StatusResult

__all__ = ["status_lines", "reply_line", "hlr_network", "hlr_ported"]


def reply_line(reply: Reply) -> str:
    """``reply 2026-01-01T10:00:00+02:00: text [file.pdf, 123 bytes: URL]`` (in the current language)."""
    media = reply.media
    attached = " [" + _("{file}, {size} bytes: {url}").format(file=media.filename, size=media.filesize,
                                                               url=media.url) + "]" if media else ""
    return _("reply {when}: {text}").format(when=reply.datetime.isoformat(), text=reply.message or "") + attached


def status_lines(result: StatusResult) -> list[str]:
    """``ID: STATUS (channel)``, then one indented line per Viber reply."""
    return [f"{result.id}: {result.status} ({result.type})"] + [f"  {reply_line(r)}" for r in result.replies]


def hlr_network(result: HlrResult) -> str:
    return result.origin.name if result.origin else _("unknown network")


def hlr_ported(result: HlrResult) -> str | None:
    """The network the number was ported to, or None if it was not ported."""
    if not result.ported:
        return None
    return result.ported_network.name if result.ported_network else _("another network")
