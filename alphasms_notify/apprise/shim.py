"""The file ``alphasms apprise install`` writes into an Apprise plugin folder.

For an Apprise that runs in another environment (a system package, another
virtualenv, a container image), the import hook of this one never runs. The
shim makes that Apprise load our plugin from this environment's
site-packages: Apprise imports every ``.py`` in its plugin paths, and the
shim's import registers ``alphasms://`` with Apprise's plugin manager.
"""

from __future__ import annotations

import os
import sysconfig
from pathlib import Path

__all__ = ["SHIM_NAME", "default_plugin_dir", "shim_source", "install_shim", "uninstall_shim"]

SHIM_NAME = "alphasms_notify_shim.py"
_MARKER = "# written by `alphasms apprise install`"

_TEMPLATE = '''{marker}: makes alphasms:// available to this Apprise.
# Remove with `alphasms apprise uninstall`. It loads alphasms-notify (and what it needs) from:
SITES = {sites!r}

import logging
import sys

for site in SITES:
    if site not in sys.path:
        sys.path.append(site)
try:
    from alphasms_notify.apprise.plugin import register

    register()
except Exception as exc:  # never break Apprise
    logging.getLogger("apprise").warning("alphasms:// is unavailable: %s", exc)
'''


def default_plugin_dir() -> Path:
    """The first of Apprise's default plugin paths (``~/.apprise/plugins``)."""
    return Path(os.path.expanduser("~/.apprise/plugins"))


def shim_source() -> str:
    """The shim, pointing at this package's folder (editable installs too) and this site-packages."""
    package_parent = str(Path(__file__).resolve().parent.parent.parent)
    sites = list(dict.fromkeys([package_parent, sysconfig.get_paths()["purelib"]]))
    return _TEMPLATE.format(marker=_MARKER, sites=sites)


def install_shim(folder: Path | None = None) -> Path:
    folder = folder or default_plugin_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / SHIM_NAME
    path.write_text(shim_source(), encoding="utf-8")
    return path


def uninstall_shim(folder: Path | None = None) -> Path | None:
    """Remove the shim if it is ours; return its path, or None if there was none."""
    path = (folder or default_plugin_dir()) / SHIM_NAME
    if not path.exists():
        return None
    if _MARKER not in path.read_text(encoding="utf-8", errors="replace"):
        raise FileExistsError(f"{path} was not written by alphasms apprise install; left alone")
    path.unlink()
    return path
