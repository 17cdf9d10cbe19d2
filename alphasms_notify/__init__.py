"""alphasms-notify: the AlphaSMS (alphasms.ua) JSON API from Python, the CLI, Apprise and Telegram.

The public API is what ``__all__`` lists; modules with a leading name are
free to change. Importing this package registers the ``alphasms://`` Apprise
scheme when Apprise is installed (see ``alphasms_notify.apprise``).
"""

from ._version import __version__
from .client import AlphaSMS, AsyncAlphaSMS
from .errors import (
    AccessDenied,
    AlphaSMSError,
    APIError,
    ItemError,
    MessageRejected,
    ProtocolError,
    RequestError,
    TransportError,
    ValidationError,
)
from .hookspecs import hookimpl
from .ids import new_message_id
from .messages import Balance, Hlr, Sms, Status, Viber, ViberSms, build
from .phone import InvalidPhone, normalize_phone
from .results import (
    BalanceResult,
    Country,
    HlrResult,
    Media,
    MessageStatus,
    Network,
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
    "Hlr",
    "Balance",
    "Status",
    "Outcome",
    "BalanceResult",
    "SendResult",
    "HlrResult",
    "StatusResult",
    "MessageStatus",
    "Reply",
    "Media",
    "Network",
    "Country",
    "AlphaSMSError",
    "ValidationError",
    "MessageRejected",
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
