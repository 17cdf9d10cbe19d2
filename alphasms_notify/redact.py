"""Secrets kept out of what is shown: the one rule for a URL's password.

Lower rooms (the store's engines, the settings, the client) show URLs in
reprs and errors; each masks them here, so none of them needs the logging
set-up in :mod:`alphasms_notify.logs` to do it.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

__all__ = ["safe_url"]


def safe_url(url: str) -> str:
    """``url`` with any ``user:password@`` masked (``user:***@``), for messages, logs and reprs."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if "@" not in parts.netloc:
        return url
    userinfo, _, host = parts.netloc.rpartition("@")
    user = userinfo.split(":", 1)[0] if ":" in userinfo else ""
    masked = f"{user}:***" if user else "***"
    return urlunsplit(parts._replace(netloc=f"{masked}@{host}"))
