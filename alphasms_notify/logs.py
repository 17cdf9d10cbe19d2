"""Logging set-up that keeps secrets out: the API key and the bot token never reach a log line.

httpx logs every request URL at INFO, and a Telegram URL contains the bot
token; a filter on the handlers replaces any secret in the formatted text.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from .redact import safe_url

__all__ = ["RedactSecrets", "setup_logging", "cli_logging", "safe_url", "REPORTED_BY_CALLER"]

# A log record's attribute: the caller shows this line itself (after its outcomes), see plugins.hook_flow
REPORTED_BY_CALLER = "alphasms_reported_by_caller"


class RedactSecrets(logging.Filter):
    def __init__(self, secrets: Iterable[str | None]) -> None:
        super().__init__()
        self.secrets = sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)

    def redact(self, text: str) -> str:
        """``text`` with every secret replaced by ``***``."""
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        message = record.getMessage()
        cleaned = message
        for secret in self.secrets:
            cleaned = cleaned.replace(secret, "***")
        if cleaned != message or record.exc_info:
            if record.exc_info and record.exc_info[1] is not None:
                text = logging.Formatter().formatException(record.exc_info)
                for secret in self.secrets:
                    text = text.replace(secret, "***")
                record.exc_text, record.exc_info = text, None
            record.msg, record.args = cleaned, None
        return True


class JsonLines(logging.Formatter):
    """One JSON object a line (``time``, ``level``, ``logger``, ``message``, ``exception``), for a log
    collector that parses rather than greps. The secrets are masked before (the handler's filter)."""

    def format(self, record: logging.LogRecord) -> str:
        import json

        entry = {"time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}",
                 "level": record.levelname.lower(), "logger": record.name, "message": record.getMessage()}
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        return json.dumps(entry, ensure_ascii=False)


def setup_logging(level: int = logging.INFO, secrets: Iterable[str | None] = (), *,
                  fmt: str = "text") -> RedactSecrets:
    """Log to stderr with every secret in ``secrets`` masked, also in tracebacks; ``fmt`` ``json``: one
    JSON object a line."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonLines() if fmt == "json" else
                         logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    redact = RedactSecrets(secrets)
    handler.addFilter(redact)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # request lines are noise (and carry the token)
    if level > logging.DEBUG:
        logging.getLogger("apscheduler").setLevel(logging.WARNING)  # two INFO lines every poll cycle
    return redact


class _NotReportedByCaller(logging.Filter):
    """Leave out what the command prints itself, after its outcomes (see ``plugins.hook_flow``)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not getattr(record, REPORTED_BY_CALLER, False)


def cli_logging(secrets: Iterable[str | None] = ()) -> None:
    """Warnings to stderr as ``warning: text``, secrets masked; what a command reports itself left out.

    Leaves logging alone when the program already configured it (a plugin, a test harness).
    """
    root = logging.getLogger()
    if root.handlers and not getattr(root.handlers[0], "_alphasms_cli", False):
        return
    handler = logging.StreamHandler()
    handler.setFormatter(_LowerLevel("%(levelname)s: %(message)s"))
    handler.addFilter(RedactSecrets(secrets))
    handler.addFilter(_NotReportedByCaller())
    handler._alphasms_cli = True  # type: ignore[attr-defined]
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)


class _LowerLevel(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        return text.replace(record.levelname, record.levelname.lower(), 1)
