"""Settings from a TOML file and the environment; the environment wins.

One place reads ``[alphasms]`` (and the other sections later front ends use)
so the CLI, the bot and the demo agree on names and defaults. The API key is
kept out of ``repr`` so a printed settings object never leaks it.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from .client import DEFAULT_API_URL, DEFAULT_BATCH_SIZE

__all__ = ["Settings", "ConfigError", "load_settings", "ENV"]

ENV = {
    "api_key": "ALPHASMS_API_KEY",
    "api_url": "ALPHASMS_API_URL",
    "sms_sender": "ALPHASMS_SMS_SENDER",
    "viber_sender": "ALPHASMS_VIBER_SENDER",
}


class ConfigError(ValueError):
    """The configuration file is missing, unreadable, or has a wrong value."""


@dataclass
class Settings:
    """The ``[alphasms]`` section, plus the raw file for the other sections."""

    api_key: str | None = field(default=None, repr=False)
    api_url: str = DEFAULT_API_URL
    sms_sender: str | None = None
    viber_sender: str | None = None
    batch_size: int = DEFAULT_BATCH_SIZE
    timeout: float = 10.0
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    def client_options(self) -> dict[str, Any]:
        """Keyword arguments for ``AlphaSMS`` / ``AsyncAlphaSMS``."""
        return {
            "api_key": self.api_key,
            "api_url": self.api_url,
            "sms_sender": self.sms_sender,
            "viber_sender": self.viber_sender,
            "batch_size": self.batch_size,
            "timeout": self.timeout,
        }

    def section(self, name: str) -> dict[str, Any]:
        value = self.raw.get(name, {})
        if not isinstance(value, dict):
            raise ConfigError(f"[{name}] must be a table")
        return value


def load_settings(path: str | os.PathLike | None = None, env: dict[str, str] | None = None) -> Settings:
    """Read ``path`` (if given) and overlay ``ALPHASMS_*`` variables from ``env``."""
    env = os.environ if env is None else env
    raw: dict[str, Any] = {}
    if path is not None:
        try:
            raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"config file {path} does not exist") from None
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"config file {path} cannot be read: {exc}") from None
    section = raw.get("alphasms", {})
    if not isinstance(section, dict):
        raise ConfigError("[alphasms] must be a table")
    known = {f.name: f for f in fields(Settings) if f.name != "raw"}
    values: dict[str, Any] = {}
    for key, value in section.items():
        if key not in known:
            raise ConfigError(f"[alphasms] has an unknown key {key!r} (known: {', '.join(known)})")
        values[key] = value
    for key, var in ENV.items():
        if env.get(var):
            values[key] = env[var]
    try:
        values["batch_size"] = int(values.get("batch_size", DEFAULT_BATCH_SIZE))
        values["timeout"] = float(values.get("timeout", 10.0))
    except (TypeError, ValueError):
        raise ConfigError("[alphasms] batch_size must be an integer and timeout a number") from None
    if values["batch_size"] < 1 or values["timeout"] <= 0:
        raise ConfigError("[alphasms] batch_size and timeout must be positive")
    return Settings(raw=raw, **values)
