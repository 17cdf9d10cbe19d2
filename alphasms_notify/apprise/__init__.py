"""The ``alphasms://`` Apprise backend and how Apprise finds it.

Importing this package does not import Apprise: ``plugin`` holds the
``NotifyBase`` subclass, ``pth_hook`` the import hook that registers it when
any program imports Apprise, ``shim`` the file ``alphasms apprise install``
writes for an Apprise in another environment.
"""

from .pth_hook import install as install_import_hook

__all__ = ["install_import_hook", "SCHEMA"]

SCHEMA = "alphasms"
