"""Typed settings for every section, from a TOML file and the environment (the environment wins).

One place defines each section (``[alphasms]``, ``[telegram]``, ``[store]``,
``[plugins]``), each default once, and the one check that an API key is
there. The file is type-checked by msgspec rather than by hand per key, so a
wrong value is refused with its section, key and the type expected
(``[alphasms] batch_size: expected int, got bool``). Secrets (API key, bot
token, webhook secret) are kept out of every ``repr``.

This room imports nothing above it: the client and every front end read
their defaults from here.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, ClassVar

import msgspec
from msgspec import Meta

__all__ = [
    "Settings",
    "AlphaSMSSettings",
    "TelegramSettings",
    "StoreSettings",
    "PluginsSettings",
    "ConfigError",
    "load_settings",
    "ENV",
    "DEFAULT_API_URL",
    "DEFAULT_BATCH_SIZE",
    "DEFAULT_TIMEOUT",
    "DEFAULT_RETRIES",
    "DEFAULT_MAX_CONCURRENCY",
    "TELEGRAM_API_URL",
]

DEFAULT_API_URL = "https://alphasms.ua/api/json.php"
# The provider publishes no limit. 100 items keep a request near 20 KB and a
# few hundred ms of provider work, and bound what one retry has to reconcile.
DEFAULT_BATCH_SIZE = 100
DEFAULT_TIMEOUT = 10.0
DEFAULT_RETRIES = 3
DEFAULT_MAX_CONCURRENCY = 4
TELEGRAM_API_URL = "https://api.telegram.org/bot"

# Environment variables, by (section, key); each wins over the file.
ENV: dict[tuple[str, str], str] = {
    ("alphasms", "api_key"): "ALPHASMS_API_KEY",
    ("alphasms", "api_url"): "ALPHASMS_API_URL",
    ("alphasms", "sms_sender"): "ALPHASMS_SMS_SENDER",
    ("alphasms", "viber_sender"): "ALPHASMS_VIBER_SENDER",
    ("telegram", "token"): "TELEGRAM_BOT_TOKEN",
    ("store", "path"): "ALPHASMS_STORE_PATH",
    ("plugins", "dir"): "ALPHASMS_NOTIFY_PLUGINS_DIR",
}
CONFIG_ENV = "ALPHASMS_CONFIG"

Positive = Annotated[float, Meta(gt=0, le=1e6)]  # also refuses nan and inf
Count = Annotated[int, Meta(ge=1)]


class ConfigError(ValueError):
    """The configuration file is missing, unreadable, or has a wrong value."""


class _Section(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    _secrets: ClassVar[tuple[str, ...]] = ()

    def __repr__(self) -> str:
        shown = []
        for name in self.__struct_fields__:
            value = getattr(self, name)
            shown.append(f"{name}={'***' if name in type(self)._secrets and value else repr(value)}")
        return f"{type(self).__name__}({', '.join(shown)})"


class AlphaSMSSettings(_Section):
    """``[alphasms]``: the provider account and the client's behaviour."""

    _secrets: ClassVar[tuple[str, ...]] = ("api_key",)
    api_key: str | None = None
    api_url: str = DEFAULT_API_URL
    sms_sender: str | None = None
    viber_sender: str | None = None
    batch_size: Count = DEFAULT_BATCH_SIZE
    timeout: Positive = DEFAULT_TIMEOUT
    retries: Annotated[int, Meta(ge=0, le=20)] = DEFAULT_RETRIES
    max_concurrency: Count = DEFAULT_MAX_CONCURRENCY

    def require_key(self) -> str:
        """The API key, or ConfigError saying where to set it: the one check every front end uses."""
        if not self.api_key:
            raise ConfigError("no API key for AlphaSMS: set ALPHASMS_API_KEY or [alphasms] api_key in the config file")
        return self.api_key

    def client_options(self) -> dict[str, Any]:
        """Keyword arguments for ``AlphaSMS`` / ``AsyncAlphaSMS`` (``max_concurrency`` is the async one's)."""
        return {
            "api_key": self.require_key(),
            "api_url": self.api_url,
            "sms_sender": self.sms_sender,
            "viber_sender": self.viber_sender,
            "batch_size": self.batch_size,
            "timeout": self.timeout,
            "retries": self.retries,
        }


class TelegramSettings(_Section):
    """``[telegram]``: the operator bot."""

    _secrets: ClassVar[tuple[str, ...]] = ("token", "webhook_secret")
    token: str | None = None
    api_url: str = TELEGRAM_API_URL
    operators: frozenset[int] = frozenset()
    replies_chat: int | None = None
    poll_interval: Positive = 30.0
    confirm_above: Annotated[int, Meta(ge=0)] = 10
    reply_window_hours: Positive = 24.0
    webhook_url: str | None = None
    webhook_secret: str | None = None
    listen: str = "127.0.0.1"
    port: Annotated[int, Meta(ge=1, le=65535)] = 8443

    @property
    def reply_window(self) -> float:
        return self.reply_window_hours * 3600

    def require(self) -> TelegramSettings:
        """Itself, or ConfigError when the bot could not run (no token, nobody allowed in)."""
        if not self.token:
            raise ConfigError("no bot token: set TELEGRAM_BOT_TOKEN or [telegram] token")
        if not self.operators:
            raise ConfigError("[telegram] operators is empty: nobody could use the bot")
        return self


class StoreSettings(_Section):
    """``[store]``: where tracked messages and replies are kept (SQLite). None: no tracking."""

    path: str | None = None


class PluginsSettings(_Section):
    """``[plugins]``: a folder of ``.py`` plugins loaded by path."""

    dir: str | None = None


class Settings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Every section; ``source`` is the file read (None: defaults and environment only)."""

    alphasms: AlphaSMSSettings = msgspec.field(default_factory=AlphaSMSSettings)
    telegram: TelegramSettings = msgspec.field(default_factory=TelegramSettings)
    store: StoreSettings = msgspec.field(default_factory=StoreSettings)
    plugins: PluginsSettings = msgspec.field(default_factory=PluginsSettings)
    source: str | None = None


_WHERE = re.compile(r"^(?P<text>.*?)(?: - at `\$\.(?P<path>[^`]*)`)?$", re.S)


def _explain(exc: msgspec.ValidationError, origin: str) -> ConfigError:
    """msgspec's "Expected `int`, got `bool` - at `$.alphasms.batch_size`" as "[alphasms] batch_size: ..."."""
    match = _WHERE.match(str(exc))
    text = match.group("text") if match else str(exc)
    text = text.replace("`", "")
    text = text[0].lower() + text[1:] if text else text
    path = (match.group("path") if match else None) or ""
    section, _, key = path.partition(".")
    where = f"[{section}] {key}".strip() if section else "the file"
    unknown = re.match(r"object contains unknown field (\S+)", text)
    if unknown:
        return ConfigError(f"{origin}: {where} has an unknown key {unknown.group(1)!r}")
    return ConfigError(f"{origin}: {where}: {text}")


def _read(path: str | os.PathLike) -> dict[str, Any]:
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
    except OSError as exc:
        raise ConfigError(f"config file {path} cannot be read: {exc.strerror or exc}") from None
    try:
        return tomllib.loads(raw.decode("utf-8-sig"))  # a BOM, as Windows editors write it, is fine
    except UnicodeDecodeError as exc:
        raise ConfigError(f"config file {path} is not UTF-8 (byte {exc.start})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None


def load_settings(path: str | os.PathLike | None = None, env: Mapping[str, str] | None = None) -> Settings:
    """Read ``path`` (or ``$ALPHASMS_CONFIG``), overlay the environment, type-check everything."""
    env = os.environ if env is None else env
    path = path if path is not None else (env.get(CONFIG_ENV) or None)
    raw: dict[str, Any] = _read(path) if path is not None else {}
    origin = f"config file {path}" if path is not None else "settings"
    for (section, key), var in ENV.items():
        value = env.get(var)
        if value:
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                raise ConfigError(f"{var} is not valid UTF-8") from None
            table = raw.setdefault(section, {})
            if isinstance(table, dict):
                table[key] = value
    try:
        settings = msgspec.convert(raw, Settings)
    except msgspec.ValidationError as exc:
        raise _explain(exc, origin) from None
    if path is not None:
        settings.source = str(path)
    return settings
