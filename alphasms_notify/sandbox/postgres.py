"""A throwaway PostgreSQL server on 127.0.0.1 in a temporary folder, for tests and benchmarks.

It runs Debian's server binaries (``apt-get install postgresql``; found on
PATH or in /usr/lib/postgresql/N/bin), so the PostgreSQL store is tested
against the real thing.

``initdb`` refuses to run as root, so as root the server runs as the
``postgres`` user the Debian package creates (or ``nobody``). Each test gets
a fresh database, owned by a login role with a password, so the tests go
through password authentication as a deployment would.
"""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:  # pragma: no cover
    import psycopg

__all__ = ["PostgresServer", "server_bin", "PASSWORD", "ROLE", "REQUIRE_ENV"]

PASSWORD = "pg-s3cret-Pa55"  # tests look for it in every output: it must never show
ROLE = "alphasms"
REQUIRE_ENV = "ALPHASMS_REQUIRE_POSTGRES"  # set by .ci/run: a missing server fails instead of skipping


def server_bin() -> Path | None:
    """The folder with pg_ctl and initdb: on PATH, or Debian's /usr/lib/postgresql/N/bin (newest)."""
    found = shutil.which("pg_ctl")
    if found and shutil.which("initdb"):
        return Path(os.path.realpath(found)).parent
    for pg_ctl in sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(p.split("/")[4]),
                         reverse=True):
        return Path(pg_ctl).parent
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return cast(int, s.getsockname()[1])


USERS = ("postgres", "nobody")  # PostgreSQL refuses to run as root


class PostgresServer:
    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.folder = Path(tempfile.mkdtemp(prefix="alphasms-pg-"))
        self.data = self.folder / "data"
        self.port = _free_port()
        self._names = itertools.count(1)
        self.user: pwd.struct_passwd | None = None
        if os.geteuid() == 0:
            for name in USERS:
                try:
                    self.user = pwd.getpwnam(name)
                    break
                except KeyError:
                    continue
            if self.user is None:
                raise RuntimeError(f"no unprivileged user to run PostgreSQL as (tried: {', '.join(USERS)})")
            os.chown(self.folder, self.user.pw_uid, self.user.pw_gid)
        self.folder.chmod(0o700)

    def _run(self, *args: str) -> None:
        command = [str(self.bindir / args[0]), *args[1:]]
        if self.user is not None:
            command = ["setpriv", f"--reuid={self.user.pw_uid}", f"--regid={self.user.pw_gid}", "--clear-groups",
                       *command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=self.folder)
        if done.returncode != 0:
            raise RuntimeError(f"{args[0]} failed: {done.stdout}{done.stderr}")

    def start(self) -> None:
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth-local=trust",
                  "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync")
        options = (f"-c listen_addresses=127.0.0.1 -c port={self.port} -c unix_socket_directories={self.folder}"
                   " -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200")
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.folder / "server.log"), "-w",
                  "-t", "60", "start")
        with self.admin() as conn:
            conn.execute(f"CREATE ROLE {ROLE} LOGIN PASSWORD '{PASSWORD}'")

    def admin(self) -> psycopg.Connection[Any]:
        import psycopg

        return psycopg.connect(host=str(self.folder), port=self.port, user="postgres", dbname="postgres",
                               autocommit=True)

    def new_database(self) -> str:
        """A fresh, empty database; its URL (with the role's password)."""
        name = f"t{next(self._names)}_{os.getpid()}"
        with self.admin() as conn:
            conn.execute(f"CREATE DATABASE {name} OWNER {ROLE}")
        return f"postgresql://{ROLE}:{PASSWORD}@127.0.0.1:{self.port}/{name}"

    def describe(self) -> dict[str, object]:
        """What another process needs to use this server (:meth:`attach`)."""
        return {"bindir": str(self.bindir), "folder": str(self.folder), "port": self.port}

    @classmethod
    def attach(cls, described: dict[str, object]) -> PostgresServer:
        """The server another process started (the test workers share one): new databases, and stop."""
        server = cls.__new__(cls)
        server.bindir, server.folder = Path(str(described["bindir"])), Path(str(described["folder"]))
        server.data, server.port = server.folder / "data", int(str(described["port"]))
        server._names = itertools.count(1)
        server.user = None
        if os.geteuid() == 0:
            owner = server.folder.stat().st_uid
            server.user = pwd.getpwuid(owner) if owner != 0 else None
        return server

    def __enter__(self) -> PostgresServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)
