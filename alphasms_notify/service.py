"""Client factories: a client wired to the settings and the plugins (tracking among them when a store is set).

The road every message travels is the client's flow (``alphasms_prepare_message``
-> checks -> batches with retries -> ``alphasms_message_sent`` and ``alphasms_batch_sent``, where
the tracking plugin keeps each batch in the store); what a front end needs is a client
assembled the same way every time. These two functions are that assembly, so
the CLI, the bot, Apprise and the templates command cannot drift apart: the
same settings, the same plugin discovery, the same API-key check.
"""

from __future__ import annotations

from typing import Any

import pluggy

from .client import AlphaSMS, AsyncAlphaSMS
from .plugins import get_plugin_manager
from .settings import Settings, load_settings

__all__ = ["make_client", "make_async_client"]


def _options(settings: Settings | None, plugins: pluggy.PluginManager | None, overrides: dict[str, Any]
             ) -> tuple[Settings, dict[str, Any]]:
    settings = settings if settings is not None else load_settings()
    options = settings.alphasms.client_options()  # raises ConfigError when there is no API key
    options["plugins"] = plugins if plugins is not None else get_plugin_manager(settings)
    options.update(overrides)
    return settings, options


def make_client(settings: Settings | None = None, *, plugins: pluggy.PluginManager | None = None,
           **overrides: Any) -> AlphaSMS:
    """A sync client from ``settings`` (default: the environment and ``ALPHASMS_CONFIG``) with its plugins."""
    return AlphaSMS(**_options(settings, plugins, overrides)[1])


def make_async_client(settings: Settings | None = None, *, plugins: pluggy.PluginManager | None = None,
                 **overrides: Any) -> AsyncAlphaSMS:
    """The async twin of :func:`make_client`, ``[alphasms] max_concurrency`` requests in flight."""
    settings, options = _options(settings, plugins, overrides)
    options.setdefault("max_concurrency", settings.alphasms.max_concurrency)
    return AsyncAlphaSMS(**options)
