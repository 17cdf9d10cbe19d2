"""Make ``alphasms://`` known to Apprise in every program of this environment.

Apprise has no entry-point discovery, so the wheel installs this file as the
top-level module ``_alphasms_notify_apprise_hook``, imported by
``alphasms_notify_apprise.pth`` at interpreter start (it must not import the
package: that would cost every program ~0.3 s). At start it only puts a finder at the front of ``sys.meta_path``
(a few microseconds; it imports nothing). The finder does nothing until a
program imports ``apprise``; then, once Apprise's own ``__init__`` has run,
it registers our plugin class. Any failure there is swallowed (and logged at
debug level): a broken or absent alphasms-notify never breaks Apprise or
any other program.

PYTEST_DONT_REWRITE: already imported at start-up, so pytest must not try to
rewrite it (pytest would warn in every suite of this environment).
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: importing typing at every interpreter start costs ~5 ms
if TYPE_CHECKING:  # pragma: no cover
    from typing import Any

_MARK = "_alphasms_notify_apprise_finder"


def _register() -> None:
    try:
        from alphasms_notify.apprise.plugin import register

        register()
    except Exception as exc:  # never break the program that imported apprise
        import logging

        logging.getLogger("alphasms_notify").debug("alphasms:// not registered with Apprise: %r", exc)


class _AppriseFinder:
    """A meta-path finder that only watches for the top-level ``apprise`` import."""

    _busy = False

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:  # importlib's protocol
        if fullname != "apprise" or self._busy:
            return None
        try:
            import importlib.util

            self._busy = True
            try:
                spec = importlib.util.find_spec(fullname)
            finally:
                self._busy = False
            loader = spec.loader if spec is not None else None
            if loader is None or not hasattr(loader, "exec_module"):
                return None
            original = loader.exec_module

            def exec_module(module: Any, _original: Any = original) -> None:
                _original(module)
                _register()

            loader.exec_module = exec_module  # type: ignore[method-assign]  # run ours after Apprise loads
            return spec
        except Exception:
            return None


def install() -> None:
    """Arrange for registration: now if Apprise is already imported, else on its import."""
    if "apprise" in sys.modules:
        _register()
        return
    if not any(getattr(finder, _MARK, False) for finder in sys.meta_path):
        finder = _AppriseFinder()
        setattr(finder, _MARK, True)
        sys.meta_path.insert(0, finder)  # before PathFinder, which would find apprise first


try:
    install()
except Exception:  # pragma: no cover - must never break interpreter start
    pass
