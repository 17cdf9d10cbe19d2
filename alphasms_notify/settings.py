"""Typed settings for every section, from a TOML file and the environment (the environment wins).

One place defines each section (``[alphasms]``, ``[telegram]``, ``[store]``,
``[verify]``, ``[metrics]``, ``[cli]``, ``[plugins]``, ``[pricing]``, ``[consent]``, ``[desk]``; the smaller ones are
in :mod:`.sections`), each default once, and the one check that an API key is
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
from typing import Annotated, Any, ClassVar, Literal

import msgspec
from msgspec import Meta

__all__ = ["ca_bundle", "Settings", "AlphaSMSSettings", "TelegramSettings", "StoreSettings", "PluginsSettings",
           "CliSettings", "VerifySettings", "MetricsSettings", "PricingSettings", "ConsentSettings", "DeskSettings",
           "ConfigError",
           "load_settings", "ENV",
           "DEFAULT_API_URL", "DEFAULT_BATCH_SIZE", "DEFAULT_MAX_BATCH_SIZE", "DEFAULT_TIMEOUT", "DEFAULT_RETRIES",
           "DEFAULT_MAX_CONCURRENCY", "DEFAULT_MAX_PARTS", "DEFAULT_MAX_COMMAND_AGE", "TELEGRAM_API_URL"]

from .defaults import (  # noqa: E402 - the constants live in a module that imports nothing
    DEFAULT_API_URL,
    DEFAULT_BATCH_SIZE,
    DEFAULT_MAX_BATCH_SIZE,
    DEFAULT_MAX_COMMAND_AGE,
    DEFAULT_MAX_CONCURRENCY,
    DEFAULT_MAX_PARTS,
    DEFAULT_RETRIES,
    DEFAULT_TIMEOUT,
    TELEGRAM_API_URL,
)
from .errors import AlphaSMSError  # noqa: E402
from .sections import (  # noqa: E402 - the smaller sections, in a module of their own
    CliSettings,
    ConsentSettings,
    Count,
    DeskSettings,
    MetricsSettings,
    PluginsSettings,
    Positive,
    PricingSettings,
    VerifySettings,
    _Section,
)

# Environment variables, by (section, key); each wins over the file.
ENV: dict[tuple[str, str], str] = {
    ("alphasms", "api_key"): "ALPHASMS_API_KEY",
    ("alphasms", "api_url"): "ALPHASMS_API_URL",
    ("alphasms", "sms_sender"): "ALPHASMS_SMS_SENDER",
    ("alphasms", "viber_sender"): "ALPHASMS_VIBER_SENDER",
    ("alphasms", "rcs_sender"): "ALPHASMS_RCS_SENDER",
    ("telegram", "token"): "TELEGRAM_BOT_TOKEN",
    ("store", "path"): "ALPHASMS_STORE_PATH",
    ("store", "url"): "ALPHASMS_STORE_URL",
    ("plugins", "dir"): "ALPHASMS_NOTIFY_PLUGINS_DIR",
    ("verify", "secret"): "ALPHASMS_VERIFY_SECRET",
    ("metrics", "address"): "ALPHASMS_METRICS_ADDRESS",
}
CONFIG_ENV = "ALPHASMS_CONFIG"



class ConfigError(AlphaSMSError, ValueError):
    """The configuration file is missing, unreadable, or has a wrong value."""


def _check_url(value: str, key: str) -> None:
    """An http(s) URL with a host, no spaces or control characters: refused at load, not at first send."""
    from urllib.parse import urlsplit

    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise ValueError(f"{key}: {value!r} has spaces or control characters")
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError as exc:
        raise ValueError(f"{key}: {value!r} is not a valid URL ({exc})") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{key}: {value!r} is not an http(s) URL with a host")


def _check_name(value: str | None, key: str) -> None:
    if value is not None and any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise ValueError(f"{key}: {value!r} has control characters")


class AlphaSMSSettings(_Section):
    """``[alphasms]``: the provider account and the client's behaviour."""

    _secrets: ClassVar[tuple[str, ...]] = ("api_key",)
    api_key: str | None = None
    api_url: str = DEFAULT_API_URL
    sms_sender: str | None = None
    viber_sender: str | None = None
    rcs_sender: str | None = None
    # items a request; unset: a send's batches grow from 100 to max_batch_size (1,000), each twice the last
    batch_size: Count | None = None
    max_batch_size: Count | None = None
    timeout: Positive = DEFAULT_TIMEOUT
    # seconds for one request's exchange with all its retries (None: twice timeout); what is unsettled
    # then is reported unknown when it may have reached the provider, else not sent
    deadline: Positive | None = None
    retries: Annotated[int, Meta(ge=0, le=20)] = DEFAULT_RETRIES
    max_concurrency: Count = DEFAULT_MAX_CONCURRENCY
    max_parts: Annotated[int, Meta(ge=1, le=255)] = DEFAULT_MAX_PARTS  # 255: the most a concatenated SMS has

    def __post_init__(self) -> None:
        _check_url(self.api_url, "api_url")
        _check_name(self.sms_sender, "sms_sender")
        _check_name(self.viber_sender, "viber_sender")
        _check_name(self.rcs_sender, "rcs_sender")
        if self.api_key is not None and (not self.api_key.strip() or not self.api_key.isprintable()):
            raise ValueError("api_key: is empty or has spaces/control characters only")

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
            "rcs_sender": self.rcs_sender,
            "batch_size": self.batch_size,
            "max_batch_size": self.max_batch_size,
            "timeout": self.timeout,
            "deadline": self.deadline,
            "retries": self.retries,
            "max_parts": self.max_parts,
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
    max_command_age: Positive = DEFAULT_MAX_COMMAND_AGE
    topics_chat: int | None = None  # a forum supergroup: one topic per phone, answered by typing
    topic_channel: Literal["viber", "viber+sms", "sms", "rcs", "rcs+sms"] = "viber"  # how typed answers go
    # the operators' language; None: each operator's own Telegram language (Ukrainian or English)
    language: Literal["en", "uk"] | None = None

    def __post_init__(self) -> None:
        _check_url(self.api_url, "api_url")
        if self.topics_chat is not None and self.topics_chat >= 0:
            raise ValueError(f"topics_chat: {self.topics_chat} is not a group id (they start with -100)")
        if self.webhook_url is not None:
            _check_url(self.webhook_url, "webhook_url")

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
    """``[store]``: where tracked messages and replies are kept. None: no tracking.

    ``path``: a SQLite file (one machine). ``url``: ``postgresql://user:password@host:5432/db``,
    for several bot instances sharing the work; it wins over ``path``, its password is never shown.
    """

    path: str | None = None
    url: str | None = None

    def __post_init__(self) -> None:
        if self.url is not None:
            from urllib.parse import urlsplit

            try:
                parts = urlsplit(self.url)
                parts.port  # noqa: B018 - raises on a bad port
            except ValueError as exc:
                raise ValueError(f"url: not a valid URL ({exc})") from None
            if parts.scheme not in ("postgresql", "postgres") or not parts.hostname and "host=" not in parts.query:
                raise ValueError("url: must be postgresql://user:password@host:5432/database")

    def __repr__(self) -> str:
        from .redact import safe_url

        return f"StoreSettings(path={self.path!r}, url={safe_url(self.url) if self.url else None!r})"

    @property
    def target(self) -> str | None:
        """What :class:`~alphasms_notify.store.Store` opens: the URL, else the path."""
        return self.url or self.path

    def secrets(self) -> list[str]:
        """The URL's password (as written and decoded), for masking in logs and errors."""
        from urllib.parse import unquote, urlsplit

        password = urlsplit(self.url).password if self.url else None
        return [p for p in {password, unquote(password or "")} if p]


class Settings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Every section; ``source`` is the file read (None: defaults and environment only)."""

    alphasms: AlphaSMSSettings = msgspec.field(default_factory=AlphaSMSSettings)
    telegram: TelegramSettings = msgspec.field(default_factory=TelegramSettings)
    store: StoreSettings = msgspec.field(default_factory=StoreSettings)
    plugins: PluginsSettings = msgspec.field(default_factory=PluginsSettings)
    cli: CliSettings = msgspec.field(default_factory=CliSettings)
    verify: VerifySettings = msgspec.field(default_factory=VerifySettings)
    metrics: MetricsSettings = msgspec.field(default_factory=MetricsSettings)
    pricing: PricingSettings = msgspec.field(default_factory=PricingSettings)
    consent: ConsentSettings = msgspec.field(default_factory=ConsentSettings)
    desk: DeskSettings = msgspec.field(default_factory=DeskSettings)
    source: str | None = None


_WHERE = re.compile(r"^(?P<text>.*?)(?: - at `\$\.(?P<path>[^`]*)`)?$", re.S)


def _explain(exc: msgspec.ValidationError, origin: str, env: Mapping[str, str] | None = None) -> ConfigError:
    """msgspec's "Expected `int`, got `bool` - at `$.alphasms.batch_size`" as "[alphasms] batch_size: ..."."""
    match = _WHERE.match(str(exc))
    text = match.group("text") if match else str(exc)
    text = text.replace("`", "").replace(" | null", "")  # "may be left out" is not news here
    text = text[0].lower() + text[1:] if text else text
    path = (match.group("path") if match else None) or ""
    section, _, key = path.partition(".")
    own = re.match(r"^(\w+): (.*)$", text, re.S)  # a check of our own names its key first
    if section and not key and own:
        key, text = own.group(1), own.group(2)
    where = f"[{section}] {key}".strip() if section else "the file"
    var = ENV.get((section, key))
    if env is not None and var and env.get(var):  # the value came from the environment, not the file
        origin = f"{var} ({where})"
        return ConfigError(f"{origin}: {text}")
    unknown = re.match(r"object contains unknown field (\S+)", text)
    if unknown:
        return ConfigError(f"{origin}: {where} has an unknown key {unknown.group(1)!r}")
    return ConfigError(f"{origin}: {where}: {text}")


def _read(path: str | os.PathLike[str]) -> dict[str, Any]:
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


def ca_bundle(env: Mapping[str, str] | None = None) -> str | None:
    """The CA bundle requests (and so Apprise's other plugins) would use: ``REQUESTS_CA_BUNDLE``, then
    ``CURL_CA_BUNDLE``. Read here, as every other variable is, for the Apprise plugin."""
    env = os.environ if env is None else env
    return env.get("REQUESTS_CA_BUNDLE") or env.get("CURL_CA_BUNDLE") or None


def load_settings(path: str | os.PathLike[str] | None = None, env: Mapping[str, str] | None = None) -> Settings:
    """Read ``path`` (or ``$ALPHASMS_CONFIG``), overlay the environment, type-check everything."""
    env = os.environ if env is None else env
    path = path if path is not None else (env.get(CONFIG_ENV) or None)
    raw: dict[str, Any] = _read(path) if path is not None else {}
    origin = f"config file {path}" if path is not None else "settings"
    if raw:
        try:  # the file alone first: a wrong value is reported even when the environment overrides it
            msgspec.convert(raw, Settings)
        except msgspec.ValidationError as exc:
            raise _explain(exc, origin) from None
        raw = {k: dict(v) if isinstance(v, dict) else v for k, v in raw.items()}
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
        raise _explain(exc, origin, env) from None
    if path is not None:
        settings.source = str(path)
    return settings

