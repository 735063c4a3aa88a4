"""A throwaway PostgreSQL server for tests and benchmarks: a real one, from the machine's packages.

``PostgresCluster`` runs ``initdb`` into a temporary directory and starts the server with
``pg_ctl``, listening on a unix socket in that directory only (no TCP port to collide with),
``trust`` authentication, and fsync off (a test's data need not survive a power cut; the
listener's durability against a killed process does not depend on it). PostgreSQL refuses to run
as root, so as root the cluster belongs to the ``postgres`` user (Debian's ``postgresql`` package
creates it) and its tools run through ``runuser``. The binaries are found with ``pg_config
--bindir``, on ``PATH``, or in ``/usr/lib/postgresql/*/bin`` (Debian keeps them there).

    with PostgresCluster() as cluster:
        url = cluster.create_database("hooks")   # postgresql://postgres@/hooks?host=/tmp/...
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Self

__all__ = ["PostgresCluster", "PostgresUnavailable", "find_bindir"]


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL server binaries on this machine (or no user to run them as)."""


def find_bindir() -> Path | None:
    """The directory holding ``initdb`` and ``pg_ctl``, newest major version first; None if absent."""
    candidates: list[Path] = []
    pg_config = shutil.which("pg_config")
    if pg_config:
        done = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False)
        candidates.append(Path(done.stdout.strip()))
    if found := shutil.which("pg_ctl"):
        candidates.append(Path(found).parent)

    def major(path: Path) -> int:
        return int(path.parent.name) if path.parent.name.isdigit() else 0

    candidates += sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=major, reverse=True)
    return next((c for c in candidates if (c / "initdb").exists() and (c / "pg_ctl").exists()), None)


class PostgresCluster:
    """A PostgreSQL server in a temporary directory, started by ``start`` and removed by ``stop``."""

    def __init__(self, port: int = 5432) -> None:
        bindir = find_bindir()
        if bindir is None:
            raise PostgresUnavailable(
                "PostgreSQL's server binaries (initdb, pg_ctl) are not installed: "
                "apt-get install -y postgresql"
            )
        self.bindir, self.port = bindir, port
        self._root: Path | None = None
        self._as: list[str] = []
        if os.geteuid() == 0:
            runuser = shutil.which("runuser")
            if runuser is None or subprocess.run(["id", "postgres"], capture_output=True).returncode != 0:
                raise PostgresUnavailable("as root, PostgreSQL needs the postgres user and runuser")
            self._as = [runuser, "-u", "postgres", "--"]

    @property
    def socket_dir(self) -> Path:
        if self._root is None:
            raise RuntimeError("the cluster is not started")
        return self._root

    def url(self, database: str = "postgres") -> str:
        """A libpq URL for ``database`` over the cluster's unix socket."""
        return f"postgresql://postgres@/{database}?host={self.socket_dir}&port={self.port}"

    def _tool(self, name: str, *args: str) -> None:
        done = subprocess.run(
            [*self._as, str(self.bindir / name), *args],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            cwd="/",
        )
        if done.returncode != 0:
            raise PostgresUnavailable(f"{name} failed ({done.returncode}): {done.stderr.strip()[-2000:]}")

    def start(self) -> Self:
        root = Path(tempfile.mkdtemp(prefix="claude-runner-pg-"))
        self._root = root
        if self._as:
            subprocess.run(["chown", "postgres", str(root)], check=True)
        data = root / "data"
        try:
            self._tool("initdb", "-D", str(data), "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8")
            options = (
                f"-k {root} -p {self.port} -c listen_addresses='' -c fsync=off "
                "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
            )
            log = str(root / "log")
            self._tool("pg_ctl", "start", "-w", "-t", "60", "-D", str(data), "-l", log, "-o", options)
        except BaseException:
            self.stop()
            raise
        return self

    def create_database(self, name: str) -> str:
        """Create database ``name`` (a plain identifier) and return its URL."""
        import psycopg

        if not name.replace("_", "").isalnum():
            raise ValueError(f"not a plain identifier: {name!r}")
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return self.url(name)

    def stop(self) -> None:
        root, self._root = self._root, None
        if root is None:
            return
        data = root / "data"
        if (data / "postmaster.pid").exists():
            with contextlib.suppress(PostgresUnavailable):
                self._tool("pg_ctl", "stop", "-w", "-m", "immediate", "-D", str(data))
        shutil.rmtree(root, ignore_errors=True)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
