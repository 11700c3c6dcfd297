"""The embedded scenario store: one SQLite file of scenario versions in a folder.

Every save appends a row (scenario name, version, author, time saved in UTC, workspace, notes,
the edits as JSON, a hash of the content) to the table ``scenario_versions`` of
``<folder>/scenarios.sqlite``; nothing is ever overwritten, so no save is lost.  A save runs in
one ``BEGIN IMMEDIATE`` transaction: the check that nobody saved a newer version since the
planner's base version and the insert happen under SQLite's write lock, so two planners saving
the same scenario at once cannot both pass the check.  A process killed during a save leaves
the store as it was (SQLite's rollback journal, ``scenarios.sqlite-journal``, is rolled back by
the next connection).  The store's files do not start with a dot, so
:func:`gisapp.io.atomic.sweep` never touches them.

This module only moves rows; :mod:`gisapp.planning.scenario` turns them into scenarios.
"""

from __future__ import annotations

import contextlib
import sqlite3
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd

from gisapp._errors import GisAppError
from gisapp.io.scenarios import EDITS_LAYER, META_LAYER, read_scenario

__all__ = ["STORE_FILE", "append_version", "gpkg_bytes", "history_rows", "latest_rows", "next_version", "read_gpkg_bytes",
           "store_file", "version_row"]

#: the store's file name inside its folder
STORE_FILE = "scenarios.sqlite"
#: columns of a version row, in table order
COLUMNS = ("name", "version", "author", "saved_at", "workspace", "notes", "edits", "content_hash")
#: seconds a writer waits for another writer's lock before giving up
BUSY_TIMEOUT_S = 30.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS scenario_versions (
    name TEXT NOT NULL,
    version INTEGER NOT NULL,
    author TEXT NOT NULL,
    saved_at TEXT NOT NULL,
    workspace TEXT NOT NULL,
    notes TEXT NOT NULL,
    edits TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    PRIMARY KEY (name, version)
)
"""


def store_file(folder: str | Path) -> Path:
    """Return the path of the store in ``folder`` (``folder/scenarios.sqlite``)."""
    return Path(folder) / STORE_FILE


@contextlib.contextmanager
def _connect(folder: str | Path, *, create: bool) -> Iterator[sqlite3.Connection | None]:
    """Yield a connection to the store (None: no store and ``create`` is false); close it after."""
    path = store_file(folder)
    if not create and not path.is_file():
        yield None
        return
    if create:
        path.parent.mkdir(parents=True, exist_ok=True)
    try:
        con = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
    except sqlite3.Error as exc:
        raise GisAppError(code="scenario_store_unreadable", params={"file": path.name}) from exc
    try:
        con.execute("PRAGMA synchronous=FULL")
        if create:
            con.execute(_SCHEMA)
        yield con
    except sqlite3.Error as exc:  # not a SQLite file, a store of another program, a full disk
        raise GisAppError(code="scenario_store_unreadable", params={"file": path.name}) from exc
    finally:
        con.close()


def _row(values: tuple[Any, ...]) -> dict[str, Any]:
    return dict(zip(COLUMNS, values, strict=True))


def next_version(name: str, latest: Sequence[Any] | None, base_version: int | None) -> int:
    """Return the number of the next version of ``name`` given its latest (version, author, saved_at) row.

    Raises ``scenario_conflict`` (naming who saved the newer version and when) when the store holds
    a version newer than ``base_version``.  Shared by the embedded and the PostgreSQL store.
    """
    last = int(latest[0]) if latest else 0
    if base_version is not None and latest and last > base_version:
        raise GisAppError(code="scenario_conflict",
                          params={"name": name, "version": last, "base": base_version,
                                  "author": latest[1], "saved_at": latest[2]})
    return last + 1


def append_version(folder: str | Path, row: dict[str, Any], base_version: int | None = None) -> int:
    """Append a new version of scenario ``row["name"]`` and return its number (1, 2, ...).

    ``row`` holds every column of :data:`COLUMNS` but ``version``.  With ``base_version`` (the
    version the planner's edits started from; 0: a scenario new to the planner), a store whose
    latest version of that name is newer refuses the save and is left unchanged.

    Raises
    ------
    GisAppError
        ``scenario_conflict`` (naming who saved the newer version and when) or
        ``scenario_store_unreadable``.
    """
    with _connect(folder, create=True) as con:
        assert con is not None  # noqa: S101 - create=True always connects
        con.execute("BEGIN IMMEDIATE")
        try:
            latest = con.execute("SELECT version, author, saved_at FROM scenario_versions WHERE name = ? "
                                 "ORDER BY version DESC LIMIT 1", (row["name"],)).fetchone()
            version = next_version(row["name"], latest, base_version)
            values = {**row, "version": version}
            con.execute(f"INSERT INTO scenario_versions ({', '.join(COLUMNS)}) "  # noqa: S608 - fixed names
                        f"VALUES ({', '.join('?' for _ in COLUMNS)})", tuple(values[c] for c in COLUMNS))
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
    return version


def latest_rows(folder: str | Path) -> list[dict[str, Any]]:
    """Return the latest version of every scenario in the store, by name (no store: none)."""
    with _connect(folder, create=False) as con:
        if con is None:
            return []
        rows = con.execute(f"SELECT {', '.join(COLUMNS)} FROM scenario_versions v "  # noqa: S608 - fixed names
                           "WHERE version = (SELECT MAX(version) FROM scenario_versions w WHERE w.name = v.name) "
                           "ORDER BY name").fetchall()
    return [_row(r) for r in rows]


def history_rows(folder: str | Path, name: str) -> list[dict[str, Any]]:
    """Return every version of scenario ``name``, oldest first (none: an empty list)."""
    with _connect(folder, create=False) as con:
        if con is None:
            return []
        rows = con.execute(f"SELECT {', '.join(COLUMNS)} FROM scenario_versions "  # noqa: S608 - fixed names
                           "WHERE name = ? ORDER BY version", (name,)).fetchall()
    return [_row(r) for r in rows]


def version_row(folder: str | Path, name: str, version: int | None = None) -> dict[str, Any] | None:
    """Return one version of scenario ``name`` (None: its latest); None when there is no such version."""
    rows = history_rows(folder, name)
    if version is None:
        return rows[-1] if rows else None
    return next((r for r in rows if int(r["version"]) == version), None)


def gpkg_bytes(meta: gpd.GeoDataFrame, edits: gpd.GeoDataFrame) -> bytes:
    """Return a scenario GeoPackage (layers ``scenario`` and ``edits``) as bytes, for a download."""
    with tempfile.TemporaryDirectory(prefix="gisapp-scenario-") as d:
        p = Path(d) / "scenario.gpkg"
        meta.to_file(p, layer=META_LAYER, driver="GPKG", engine="pyogrio")
        edits.to_file(p, layer=EDITS_LAYER, driver="GPKG", engine="pyogrio", mode="a")
        return p.read_bytes()


def read_gpkg_bytes(data: bytes) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Return the ``scenario`` and ``edits`` layers of a scenario GeoPackage given as bytes (an upload).

    Raises
    ------
    Exception
        Whatever the GeoPackage reader raises on bytes that are not a scenario GeoPackage.
    """
    with tempfile.TemporaryDirectory(prefix="gisapp-upload-") as d:
        p = Path(d) / "upload.gpkg"
        p.write_bytes(data)
        return read_scenario(p)
