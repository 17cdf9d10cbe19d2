"""Where the store lives, who may open its file, and who holds its work (instance and lease owners)."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["default_store_path", "create_private", "StoreBusy", "StoreLock", "instance_id", "lease_owner"]


def instance_id() -> str:
    """Who holds a lease: this host and process, and a random part (pids repeat across restarts)."""
    global _INSTANCE
    if _INSTANCE is None:
        import secrets
        import socket

        _INSTANCE = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
    return _INSTANCE


_INSTANCE: str | None = None


def lease_owner() -> str:
    """An owner for one call's lease: held as a mutex, so not even another call of this process shares it
    (:func:`instance_id` alone would let it renew the lease, which is right only for one instance's work)."""
    import secrets

    return f"{instance_id()}:{secrets.token_hex(4)}"


def default_store_path() -> Path:
    """Where the store lives when ``[store] path`` is not set: the user's data folder, never the working one."""
    import platformdirs

    return platformdirs.user_data_path("alphasms-notify") / "store.sqlite3"


def create_private(path: str | os.PathLike[str]) -> None:
    """Create ``path`` (and its folder) readable by the owner only, if it does not exist: it holds phone numbers."""
    target = Path(path)
    if not target.parent.exists():
        target.parent.mkdir(parents=True, mode=0o700)
    os.close(os.open(target, os.O_CREAT | os.O_RDWR, 0o600))

class StoreBusy(RuntimeError):
    """Another bot already runs on this store."""


class StoreLock:
    """An exclusive lock on ``<store>.lock`` held while a bot runs: one forwarder per store.

    Two bots on one store would both forward a reply that arrives while the
    other is still waiting for Telegram. The operating system drops the lock
    when the process ends, also on SIGKILL, so a crash never leaves it stale.
    """

    def __init__(self, store_path: str | os.PathLike[str]) -> None:
        self.path = f"{store_path}.lock"
        self._fd: int | None = None

    def acquire(self) -> None:
        import fcntl

        if self._fd is not None:
            return
        create_private(self.path)
        fd = os.open(self.path, os.O_RDWR)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "another process"
            os.close(fd)
            raise StoreBusy(f"another bot (pid {holder}) is already running on the store "
                            f"{str(self.path)[:-5]}; stop it, or give this one its own [store] path") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing drops the flock
            self._fd = None
