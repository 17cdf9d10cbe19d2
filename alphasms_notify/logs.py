"""Logging set-up that keeps secrets out: the API key and the bot token never reach a log line.

httpx logs every request URL at INFO, and a Telegram URL contains the bot
token; a filter on the handlers replaces any secret in the formatted text.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

__all__ = ["RedactSecrets", "setup_logging"]


class RedactSecrets(logging.Filter):
    def __init__(self, secrets: Iterable[str | None]) -> None:
        super().__init__()
        self.secrets = sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)

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


def setup_logging(level: int = logging.INFO, secrets: Iterable[str | None] = ()) -> RedactSecrets:
    """Log to stderr with every secret in ``secrets`` masked, also in tracebacks."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    redact = RedactSecrets(secrets)
    handler.addFilter(redact)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # request lines are noise (and carry the token)
    return redact
