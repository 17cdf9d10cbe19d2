"""The plugin manager: built-in plugins, tracking, then entry points, then a plugins folder.

As in llm and datasette, the package's own features are plugins of the same
hooks (``default_plugins``), so the core stays small. External plugins come
from the ``alphasms_notify`` entry-point group and from ``.py`` files in a
plugins folder. ``ALPHASMS_NOTIFY_LOAD_PLUGINS=a,b`` loads only the named
external plugins (an empty value loads none). A plugin that fails to import
or implements a hook that does not exist is recorded in ``load_errors`` and
left out; it never takes the program down.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import os
import sys
import threading
from collections.abc import Awaitable, Generator, Iterable
from pathlib import Path
from typing import Any

import pluggy

from . import hookspecs
from .errors import MessageRejected
from .flow import adrive, drive
from .logs import REPORTED_BY_CALLER
from .settings import ConfigError, Settings, load_settings

__all__ = [
    "hook_impls",
    "DEFAULT_PLUGINS",
    "PluginManager",
    "get_plugin_manager",
    "make_plugin_manager",
    "settings_or_defaults",
    "call_hook",
    "acall_hook",
    "hook_flow",
    "has_impls",
    "run_blocking",
    "plugin_info",
]

log = logging.getLogger(__name__)

DEFAULT_PLUGINS = (
    "alphasms_notify.default_plugins.sandbox_cli",
    "alphasms_notify.default_plugins.apprise_cli",
    "alphasms_notify.default_plugins.bot_cli",
    "alphasms_notify.default_plugins.demo_cli",
    "alphasms_notify.default_plugins.templates",
)
ENV_LOAD = "ALPHASMS_NOTIFY_LOAD_PLUGINS"
TRACKING = "tracking"  # the built-in tracking plugin's name, registered when a store is configured
TRACKING_MODULE = "alphasms_notify.tracking"  # loaded by name, as the built-in plugins are (it is above us)
CONSENT_MODULE = "alphasms_notify.consent"  # the opt-outs' check, with tracking when a store is configured


class PluginManager(pluggy.PluginManager):
    """A pluggy manager that also remembers which plugins failed to load, and why."""

    def __init__(self) -> None:
        super().__init__(hookspecs.PROJECT_NAME)
        self.add_hookspecs(hookspecs)
        self.load_errors: list[tuple[str, str]] = []
        self.plugin_dists: dict[str, tuple[str, str]] = {}  # plugin name -> (package, version)

    def register_checked(self, plugin: Any, name: str) -> bool:
        """Register ``plugin`` unless it implements hooks that don't exist."""
        unknown = [
            attr
            for attr in dir(plugin)
            if attr.startswith("alphasms_")
            and self.parse_hookimpl_opts(plugin, attr) is not None
            and not hasattr(hookspecs, attr)
        ]
        if unknown:
            self._failed(name, f"implements unknown hook(s): {', '.join(unknown)}")
            return False
        try:
            self.register(plugin, name=name)
        except (ValueError, pluggy.PluginValidationError) as exc:
            self._failed(name, str(exc))
            return False
        return True

    def _failed(self, name: str, reason: str) -> None:
        self.load_errors.append((name, reason))
        log.warning("plugin %s not loaded: %s", name, reason)


def _wanted() -> set[str] | None:
    value = os.environ.get(ENV_LOAD)
    if value is None:
        return None
    return {part.strip() for part in value.split(",") if part.strip()}


def _may_have_entry_points() -> bool:
    """Whether any installed distribution declares our entry-point group (a quick look at the files).

    ``importlib.metadata`` costs ~40 ms to import and scan, a third of ``alphasms --help``;
    most installs have no external plugin, so a plain read of each ``entry_points.txt`` on
    ``sys.path`` decides first, and importlib.metadata does the real work only when one names us.
    """
    header = f"[{hookspecs.PROJECT_NAME}]"
    for entry in sys.path:
        try:
            names = os.listdir(entry or ".")
        except OSError:
            continue
        for name in names:
            if name.endswith((".dist-info", ".egg-info")):
                try:
                    with open(os.path.join(entry or ".", name, "entry_points.txt"), encoding="utf-8") as f:
                        if header in f.read():
                            return True
                except OSError:
                    continue
    return False


def _load_entry_points(pm: PluginManager, wanted: set[str] | None) -> None:
    if not _may_have_entry_points():
        return
    import importlib.metadata

    for ep in importlib.metadata.entry_points(group=hookspecs.PROJECT_NAME):
        if wanted is not None and ep.name not in wanted:
            continue
        try:
            plugin = ep.load()
        except Exception as exc:  # a broken plugin must not take the program down
            pm._failed(ep.name, f"failed to import: {type(exc).__name__}: {exc}")
            continue
        if pm.register_checked(plugin, ep.name) and ep.dist is not None:
            pm.plugin_dists[ep.name] = (ep.dist.name, ep.dist.version)


def _load_dir(pm: PluginManager, plugins_dir: str | os.PathLike[str], wanted: set[str] | None) -> None:
    folder = Path(plugins_dir)
    if not folder.is_dir():
        pm._failed(str(folder), "plugins folder does not exist")
        return
    for path in sorted(folder.glob("*.py")):
        name = path.stem
        if name.startswith("_") or (wanted is not None and name not in wanted):
            continue
        module_name = f"alphasms_notify_plugins.{name}"
        try:
            spec = importlib.util.spec_from_file_location(module_name, path)
            assert spec and spec.loader
            module = importlib.util.module_from_spec(spec)
            sys.modules[module_name] = module
            spec.loader.exec_module(module)
        except Exception as exc:
            sys.modules.pop(module_name, None)
            pm._failed(name, f"failed to import {path}: {type(exc).__name__}: {exc}")
            continue
        pm.register_checked(module, name)


def make_plugin_manager(
    plugins_dir: str | os.PathLike[str] | None = None,
    *,
    store: str | os.PathLike[str] | None = None,
    defaults: Iterable[str] = DEFAULT_PLUGINS,
    consent: Any = None,
) -> PluginManager:
    """A fresh manager: the defaults, entry points, ``plugins_dir``, and tracking into ``store`` (a SQLite
    path or a PostgreSQL URL) with the opt-outs kept there (``consent``: the ``[consent]`` settings)."""
    pm = PluginManager()
    for module_name in defaults:
        pm.register_checked(importlib.import_module(module_name), module_name)
    if store:  # found by name, as the other built-in plugins (and entry points) are
        importlib.import_module(TRACKING_MODULE).ensure_tracking(pm, store)
        importlib.import_module(CONSENT_MODULE).ensure_consent(pm, store, consent)
    wanted = _wanted()
    _load_entry_points(pm, wanted)
    if plugins_dir:
        _load_dir(pm, plugins_dir, wanted)
    return pm


_shared: dict[tuple[str | None, str | None, bytes], PluginManager] = {}
_shared_lock = threading.Lock()


def get_plugin_manager(settings: Settings | None = None) -> PluginManager:
    """The process-wide manager for these settings, loaded once on first use: the one discovery.

    Every front end (CLI, bot, Apprise, library callers of ``alphasms_notify.make_client()``)
    gets its plugins here, so they load the same ones: the built-in defaults,
    the entry points, the plugins folder (``[plugins] dir`` or
    ``ALPHASMS_NOTIFY_PLUGINS_DIR``) and, when ``[store] path`` or ``url`` (or
    ``ALPHASMS_STORE_PATH``/``ALPHASMS_STORE_URL``) is set, the tracking plugin. Without ``settings``
    they are read from the environment and ``ALPHASMS_CONFIG``.
    """
    if settings is None:
        settings = settings_or_defaults()
    import msgspec

    key = (settings.plugins.dir, settings.store.target, msgspec.json.encode(settings.consent))
    with _shared_lock:
        if key not in _shared:
            _shared[key] = make_plugin_manager(key[0], store=key[1], consent=settings.consent)
        return _shared[key]


def settings_or_defaults() -> Settings:
    """Settings from the environment and ``ALPHASMS_CONFIG``; a broken file is logged, not fatal here."""
    try:
        return load_settings()
    except ConfigError as exc:
        log.warning("settings not read, using defaults: %s", exc)
        return Settings()


def _impls(pm: pluggy.PluginManager, name: str) -> list[Any]:
    # pluggy calls the last registered first; keep that order
    return list(reversed(getattr(pm.hook, name).get_hookimpls()))


def hook_impls(pm: pluggy.PluginManager | None, name: str) -> list[Any]:
    """The implementations of ``name`` in call order, for :func:`hook_flow`'s ``impls``."""
    return _impls(pm, name) if pm is not None else []


def has_impls(pm: pluggy.PluginManager | None, name: str) -> bool:
    """Whether any plugin implements ``name`` (lets a hot path skip a hook nobody listens to)."""
    return pm is not None and bool(getattr(pm.hook, name).get_hookimpls())


def hook_flow(pm: pluggy.PluginManager | None, name: str, kwargs: dict[str, Any],
              reraise: tuple[type[BaseException], ...] = (), *, problems: list[str] | None = None,
              impls: list[Any] | None = None, refuse: bool = False) -> Generator[Awaitable[Any], Any, list[Any]]:
    """Call every implementation of ``name``: the one body behind every hook call, sync or async.

    A generator in the sans-I/O style: it yields what an ``async def``
    implementation returned and receives its result, so the caller decides
    how to await (the async client awaits on its loop; sync code runs it on
    one shared background loop). A plugin's exception is logged with its
    name and the others still run; exceptions in ``reraise`` (``MessageRejected``
    from ``alphasms_prepare_message``) reach the caller. With ``problems``, a
    plugin's failure is appended there as one line for the caller to report
    after what it has to say first; the log record carries ``REPORTED_BY_CALLER``
    so a front end that shows ``problems`` can leave it out of its log output.
    ``impls``: the implementations, looked up once by a caller that calls the hook per message.
    ``refuse``: a plugin's failure is raised as ``MessageRejected`` naming it (``alphasms_prepare_message``:
    a message a plugin failed to prepare is not sent as it was).
    """
    results: list[Any] = []
    if pm is None:
        return results
    for impl in impls if impls is not None else _impls(pm, name):
        try:
            value = impl.function(*[kwargs[a] for a in impl.argnames])
            if isinstance(value, Awaitable):
                value = yield value
            results.append(value)
        except reraise:
            raise
        except Exception as exc:
            line = f"plugin {impl.plugin_name} failed in {name}: {type(exc).__name__}: {exc}"
            if refuse:
                log.debug("traceback of %s", line, exc_info=exc)
                raise MessageRejected(f"plugin {impl.plugin_name} failed: {type(exc).__name__}: {exc}") from None
            if problems is None:
                log.error("%s", line, exc_info=exc)
            else:  # the caller shows it after its own report; the traceback is for debugging
                problems.append(line)
                log.warning("%s", line, extra={REPORTED_BY_CALLER: True})
                log.debug("traceback of the failure above", exc_info=exc)
    return results


class _BackgroundLoop:
    """One event loop on one daemon thread, for async hooks called from sync code (not a loop per call)."""

    def __init__(self) -> None:
        self._loop: Any = None  # asyncio's loop; asyncio loads on first use (it costs start-up time)
        self._lock = threading.Lock()

    def run(self, awaitable: Awaitable[Any]) -> Any:
        import asyncio

        with self._lock:
            if self._loop is None:
                self._loop = asyncio.new_event_loop()
                threading.Thread(target=self._loop.run_forever, name="alphasms-hooks", daemon=True).start()

        async def wait() -> Any:
            return await awaitable

        return asyncio.run_coroutine_threadsafe(wait(), self._loop).result()


_background = _BackgroundLoop()


def run_blocking(awaitable: Awaitable[Any]) -> Any:
    """The result of ``awaitable``, from sync code, on the shared background loop."""
    return _background.run(awaitable)


async def _await(awaitable: Awaitable[Any]) -> Any:
    return await awaitable


def call_hook(pm: pluggy.PluginManager | None, name: str, **kwargs: Any) -> list[Any]:
    """Call hook ``name`` from sync code; ``MessageRejected`` reaches the caller, other errors are logged."""
    return drive(hook_flow(pm, name, kwargs, (MessageRejected,)), run_blocking)


async def acall_hook(pm: pluggy.PluginManager | None, name: str, **kwargs: Any) -> list[Any]:
    """:func:`call_hook` for async code: awaitables are awaited on the running loop."""
    return await adrive(hook_flow(pm, name, kwargs, (MessageRejected,)), _await)


def plugin_info(pm: PluginManager, *, include_defaults: bool = False) -> list[dict[str, Any]]:
    """What ``alphasms plugins`` shows: name, version and hooks of each loaded plugin."""
    rows = []
    for plugin in pm.get_plugins():
        name = pm.get_name(plugin) or repr(plugin)
        builtin = name in DEFAULT_PLUGINS or name == TRACKING
        if builtin and not include_defaults:
            continue
        hooks = sorted(h.name for h in pm.get_hookcallers(plugin) or [])
        row: dict[str, Any] = {"name": name, "hooks": hooks}
        if name in pm.plugin_dists:
            row["package"], row["version"] = pm.plugin_dists[name]
        if builtin:
            from ._version import __version__

            row.update(default=True, package="alphasms-notify", version=__version__)
        rows.append(row)
    return sorted(rows, key=lambda r: r["name"])
