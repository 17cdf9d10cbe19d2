"""The ``alphasms://`` Apprise backend and how Apprise finds it.

Importing this package does not import Apprise: ``plugin`` holds the
``NotifyBase`` subclass, ``startup_hook`` the import hook that registers it
when any program imports Apprise, ``shim`` the file ``alphasms apprise
install`` writes for an Apprise in another environment.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType
from typing import cast

__all__ = ["install_import_hook"]


def _hook_module() -> ModuleType:
    """The startup hook: installed top-level by the wheel, or from this folder in a source tree."""
    try:
        import _alphasms_notify_apprise_hook as hook  # type: ignore[import-untyped]  # our own, installed top-level
    except ImportError:
        spec = importlib.util.spec_from_file_location("_alphasms_notify_apprise_hook",
                                                      Path(__file__).with_name("startup_hook.py"))
        assert spec is not None and spec.loader is not None
        hook = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(hook)
    return cast(ModuleType, hook)


def install_import_hook() -> None:
    """Register ``alphasms://`` now if Apprise is imported, else as soon as it is (idempotent)."""
    _hook_module().install()
