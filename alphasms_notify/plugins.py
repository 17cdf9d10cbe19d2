"""The plugin manager: built-in plugins, then entry points, then a plugins folder.

As in llm and datasette, the package's own features are plugins of the same
hooks (``default_plugins``), so the core stays small. External plugins come
from the ``alphasms_notify`` entry-point group and from ``.py`` files in a
plugins folder. ``ALPHASMS_NOTIFY_LOAD_PLUGINS=a,b`` loads only the named
external plugins (an empty value loads none). A plugin that fails to import
or implements a hook that does not exist is recorded in ``load_errors`` and
left out; it never takes the program down.
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.metadata
import importlib.util
import inspect
import logging
import os
import sys
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pluggy

from . import hookspecs
from .errors import MessageRejected

__all__ = [
    "DEFAULT_PLUGINS",
    "PluginManager",
    "get_plugin_manager",
    "make_plugin_manager",
    "call_hook",
    "acall_hook",
    "plugin_info",
]

log = logging.getLogger(__name__)

DEFAULT_PLUGINS = (
    "alphasms_notify.default_plugins.sandbox_cli",
    "alphasms_notify.default_plugins.apprise_cli",
    "alphasms_notify.default_plugins.bot_cli",
    "alphasms_notify.default_plugins.demo_cli",
)
ENV_LOAD = "ALPHASMS_NOTIFY_LOAD_PLUGINS"


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


def _load_entry_points(pm: PluginManager, wanted: set[str] | None) -> None:
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


def _load_dir(pm: PluginManager, plugins_dir: str | os.PathLike, wanted: set[str] | None) -> None:
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
    plugins_dir: str | os.PathLike | None = None, *, defaults: Iterable[str] = DEFAULT_PLUGINS
) -> PluginManager:
    """A fresh manager with the defaults, entry points and ``plugins_dir`` loaded."""
    pm = PluginManager()
    for module_name in defaults:
        pm.register_checked(importlib.import_module(module_name), module_name)
    wanted = _wanted()
    _load_entry_points(pm, wanted)
    if plugins_dir:
        _load_dir(pm, plugins_dir, wanted)
    return pm


_shared: dict[str | None, PluginManager] = {}
_shared_lock = threading.Lock()


def get_plugin_manager(plugins_dir: str | os.PathLike | None = None) -> PluginManager:
    """The process-wide manager for ``plugins_dir``, loaded once on first use."""
    key = str(plugins_dir) if plugins_dir else None
    with _shared_lock:
        if key not in _shared:
            _shared[key] = make_plugin_manager(plugins_dir)
        return _shared[key]


def _impls(pm: pluggy.PluginManager, name: str) -> list[Any]:
    # pluggy calls the last registered first; keep that order
    return list(reversed(getattr(pm.hook, name).get_hookimpls()))


def _run_coroutine(coro: Any) -> Any:
    """Run an async hook from sync code, also when this thread already runs a loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    result: list[Any] = []

    def target() -> None:
        result.append(asyncio.run(coro))

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    return result[0] if result else None


def _failed_impl(name: str, impl: Any, exc: BaseException) -> None:
    if isinstance(exc, MessageRejected):
        raise exc
    log.exception("plugin %s failed in %s: %s", impl.plugin_name, name, exc, exc_info=exc)


def call_hook(pm: pluggy.PluginManager | None, name: str, **kwargs: Any) -> list[Any]:
    """Call every implementation of hook ``name``; async ones are run to completion.

    A plugin's exception is logged with its name and the others still run;
    ``MessageRejected`` is raised to the caller.
    """
    if pm is None:
        return []
    results = []
    for impl in _impls(pm, name):
        try:
            value = impl.function(*[kwargs[a] for a in impl.argnames])
            if inspect.isawaitable(value):
                value = _run_coroutine(value)
            results.append(value)
        except Exception as exc:
            _failed_impl(name, impl, exc)
    return results


async def acall_hook(pm: pluggy.PluginManager | None, name: str, **kwargs: Any) -> list[Any]:
    """``call_hook`` for async code: awaitable results are awaited on this loop."""
    if pm is None:
        return []
    results = []
    for impl in _impls(pm, name):
        try:
            value = impl.function(*[kwargs[a] for a in impl.argnames])
            if inspect.isawaitable(value):
                value = await value
            results.append(value)
        except Exception as exc:
            _failed_impl(name, impl, exc)
    return results


def plugin_info(pm: PluginManager, *, include_defaults: bool = False) -> list[dict[str, Any]]:
    """What ``alphasms plugins`` shows: name, version and hooks of each loaded plugin."""
    rows = []
    for plugin in pm.get_plugins():
        name = pm.get_name(plugin) or repr(plugin)
        if name in DEFAULT_PLUGINS and not include_defaults:
            continue
        hooks = sorted(h.name for h in pm.get_hookcallers(plugin) or [])
        row: dict[str, Any] = {"name": name, "hooks": hooks}
        if name in pm.plugin_dists:
            row["package"], row["version"] = pm.plugin_dists[name]
        if name in DEFAULT_PLUGINS:
            from ._version import __version__

            row.update(default=True, package="alphasms-notify", version=__version__)
        rows.append(row)
    return sorted(rows, key=lambda r: r["name"])
