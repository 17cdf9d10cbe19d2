"""alphasms-notify: the AlphaSMS (alphasms.ua) JSON API from Python, the CLI, Apprise and Telegram.

The public API is what ``__all__`` lists; modules with a leading name are
free to change. Importing this package registers the ``alphasms://`` Apprise
scheme when Apprise is installed (see ``alphasms_notify.apprise``).
"""

import logging
from typing import TYPE_CHECKING, Any

from ._version import __version__

# A library logs, the program decides where it goes: without this, Python's last-resort handler
# would print our warnings on stderr in every program that uses us (Apprise's CLI without -v).
logging.getLogger(__name__).addHandler(logging.NullHandler())

# Names are loaded on first use (PEP 562), so ``import alphasms_notify`` and the
# ``alphasms`` command start fast: httpx, aiohttp and phonenumbers load only when needed.
_LAZY = {
    "AlphaSMS": "client", "AsyncAlphaSMS": "client",
    "AccessDenied": "errors", "AlphaSMSError": "errors", "APIError": "errors", "ItemError": "errors",
    "MessageRejected": "errors", "OptedOut": "errors", "ProtocolError": "errors", "RequestError": "errors",
    "TransportError": "errors", "ValidationError": "errors",
    "hookimpl": "hookspecs", "new_message_id": "ids",
    "Balance": "messages", "Hlr": "messages", "Sms": "messages", "Status": "messages", "Viber": "messages",
    "ViberSms": "messages", "Rcs": "messages", "RcsSms": "messages", "CallOtp": "messages", "build": "messages",
    "InvalidPhone": "phone", "normalize_phone": "phone",
    "BalanceResult": "results", "Country": "results", "HlrResult": "results", "Media": "results",
    "MessageStatus": "results", "Network": "results", "Outcome": "results", "Reply": "results",
    "SendResult": "results", "StatusResult": "results", "OtpResult": "results",
    "Segments": "segments", "count_segments": "segments",
    "make_async_client": "service", "make_client": "service",
    "DEFAULT_API_URL": "settings", "DEFAULT_BATCH_SIZE": "settings", "ConfigError": "settings",
    "Settings": "settings", "load_settings": "settings",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'alphasms_notify' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value  # once loaded, a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


if TYPE_CHECKING:  # pragma: no cover - what type checkers and IDEs see
    from ._version import __version__
    from .client import AlphaSMS, AsyncAlphaSMS
    from .errors import (
        AccessDenied,
        AlphaSMSError,
        APIError,
        ItemError,
        MessageRejected,
        OptedOut,
        ProtocolError,
        RequestError,
        TransportError,
        ValidationError,
    )
    from .hookspecs import hookimpl
    from .ids import new_message_id
    from .messages import Balance, CallOtp, Hlr, Rcs, RcsSms, Sms, Status, Viber, ViberSms, build
    from .phone import InvalidPhone, normalize_phone
    from .results import (
        BalanceResult,
        Country,
        HlrResult,
        Media,
        MessageStatus,
        Network,
        OtpResult,
        Outcome,
        Reply,
        SendResult,
        StatusResult,
    )
    from .segments import Segments, count_segments
    from .service import make_async_client, make_client
    from .settings import DEFAULT_API_URL, DEFAULT_BATCH_SIZE, ConfigError, Settings, load_settings

__all__ = [
    "__version__",
    "AlphaSMS",
    "AsyncAlphaSMS",
    "DEFAULT_API_URL",
    "DEFAULT_BATCH_SIZE",
    "Settings",
    "ConfigError",
    "load_settings",
    "make_client",
    "make_async_client",
    "build",
    "Sms",
    "Viber",
    "ViberSms",
    "Rcs",
    "RcsSms",
    "CallOtp",
    "Hlr",
    "Balance",
    "Status",
    "Outcome",
    "BalanceResult",
    "SendResult",
    "HlrResult",
    "StatusResult",
    "OtpResult",
    "MessageStatus",
    "Reply",
    "Media",
    "Network",
    "Country",
    "AlphaSMSError",
    "ValidationError",
    "MessageRejected",
    "OptedOut",
    "RequestError",
    "APIError",
    "AccessDenied",
    "TransportError",
    "ProtocolError",
    "ItemError",
    "InvalidPhone",
    "normalize_phone",
    "count_segments",
    "Segments",
    "new_message_id",
    "hookimpl",
]

# Last, so the package is complete when Apprise (if already imported) loads our plugin.
from .apprise import install_import_hook as _install_apprise_hook  # noqa: E402

_install_apprise_hook()
