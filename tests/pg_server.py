"""A throwaway PostgreSQL + PostGIS server on loopback for the tests that need a real database.

``scripts/setup.sh --system`` installs Debian's ``postgresql`` and ``postgresql-15-postgis-3``;
this module makes a new cluster in a temporary folder (as the ``postgres`` user when the tests
run as root: the server refuses to run as root), starts it on 127.0.0.1 at a free port with its
socket in that folder, creates a database with the PostGIS extension, and stops and removes
everything at the end.  Nothing listens beyond loopback.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

DB = "gisapp_test"
USER = "gisapp"


def _bin(name: str) -> str | None:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found[-1] if found else shutil.which(name)


def missing() -> str | None:
    """Return why no server can be started here (None when it can)."""
    if _bin("initdb") is None or _bin("pg_ctl") is None:
        return "PostgreSQL is not installed (scripts/setup.sh --system installs it)"
    if not glob.glob("/usr/share/postgresql/*/extension/postgis.control"):
        return "PostGIS is not installed (scripts/setup.sh --system installs postgresql-postgis)"
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "psycopg is not installed (pip install -e '.[test]')"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _run(cmd: list[str], as_postgres: bool) -> None:
    if as_postgres:
        cmd = ["runuser", "-u", "postgres", "--", *cmd]
    subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=120)


@contextlib.contextmanager
def server() -> Iterator[str]:
    """Start a server with a PostGIS database; yield its URL; stop and remove it after."""
    why = missing()
    if why is not None:
        raise RuntimeError(why)
    import psycopg

    as_postgres = os.geteuid() == 0
    root = Path(tempfile.mkdtemp(prefix="gisapp-pg-"))
    data = root / "data"
    if as_postgres:
        shutil.chown(root, "postgres")
    port = _free_port()
    try:
        _run([str(_bin("initdb")), "-D", str(data), "-U", USER, "-A", "trust", "--no-sync", "-E", "UTF8",
              "--locale", "C"], as_postgres)
        _run([str(_bin("pg_ctl")), "-D", str(data), "-l", str(root / "log"), "-w", "-t", "60", "-o",
              f"-c listen_addresses=127.0.0.1 -p {port} -k {root} -c fsync=off", "start"], as_postgres)
        try:
            admin = f"postgresql://{USER}@127.0.0.1:{port}/postgres"
            with psycopg.connect(admin, autocommit=True) as con:
                con.execute(f"CREATE DATABASE {DB}")
            url = f"postgresql://{USER}@127.0.0.1:{port}/{DB}"
            with psycopg.connect(url, autocommit=True) as con:
                con.execute("CREATE EXTENSION postgis")
            yield url
        finally:
            with contextlib.suppress(subprocess.SubprocessError):
                _run([str(_bin("pg_ctl")), "-D", str(data), "-m", "immediate", "-w", "stop"], as_postgres)
    finally:
        shutil.rmtree(root, ignore_errors=True)
