"""The scenario store in a PostgreSQL (+ PostGIS) database, for a bureau's server.

The same rows as the embedded store (:mod:`gisapp.io.scenario_store`): every save appends a
version (scenario name, version, author, time saved in UTC, workspace, notes, the edits as
JSON, a hash of the content) to the table ``gisapp_scenario_versions``; nothing is overwritten.
A save runs in one transaction holding a transaction-level advisory lock on the scenario's
name, so two planners saving the same scenario at once are serialised: the check that nobody
saved a newer version since the planner's base version and the insert see the same state, and
the second save is refused (``scenario_conflict``) instead of lost.  The primary key
``(name, version)`` guards the rest.  The database is named by a URL
(``postgresql://user:password@host:port/dbname``), from the workspace file or
``$GISAPP_SCENARIO_DB``.

This module only moves rows; :mod:`gisapp.planning.scenario` turns them into scenarios.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from gisapp._errors import GisAppError
from gisapp.io.scenario_store import COLUMNS, next_version

__all__ = ["TABLE", "append_version", "history_rows", "is_database_url", "latest_rows", "redact",
           "version_row"]

#: the table of versions
TABLE = "gisapp_scenario_versions"
#: seconds to wait for the database to answer a connection
CONNECT_TIMEOUT_S = 10

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS {TABLE} (
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


def is_database_url(where: object) -> bool:
    """Return True when ``where`` names a PostgreSQL database rather than a folder.

    Examples
    --------
    >>> is_database_url("postgresql://planner@127.0.0.1:5432/bureau"), is_database_url("/srv/scenarios")
    (True, False)
    """
    return isinstance(where, str) and where.startswith(("postgresql://", "postgres://"))


def redact(url: str) -> str:
    """Return ``url`` without its password, for messages.

    Examples
    --------
    >>> redact("postgresql://planner:secret@db:5432/bureau")
    'postgresql://planner:***@db:5432/bureau'
    """
    head, sep, tail = url.partition("@")
    if not sep or ":" not in head.split("//", 1)[-1]:
        return url
    scheme, _, cred = head.partition("//")
    user = cred.split(":", 1)[0]
    return f"{scheme}//{user}:***@{tail}"


@contextlib.contextmanager
def _connect(url: str) -> Iterator[Any]:
    """Yield an autocommit connection with the table created; close it after."""
    try:
        import psycopg
    except ImportError as exc:  # the optional dependency of a PostgreSQL store
        raise GisAppError(code="scenario_db_driver_missing") from exc
    try:
        con = psycopg.connect(url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S)
    except psycopg.Error as exc:
        raise GisAppError(code="scenario_db_unreachable", params={"url": redact(url)}) from exc
    try:
        con.execute(_SCHEMA)
        yield con
    except psycopg.Error as exc:
        raise GisAppError(code="scenario_db_unreachable", params={"url": redact(url)}) from exc
    finally:
        con.close()


def _rows(cur: Any) -> list[dict[str, Any]]:  # noqa: ANN401 - a psycopg cursor
    return [dict(zip(COLUMNS, r, strict=True)) for r in cur.fetchall()]


def append_version(url: str, row: dict[str, Any], base_version: int | None = None) -> int:
    """Append a new version of scenario ``row["name"]`` and return its number (1, 2, ...).

    Same contract as :func:`gisapp.io.scenario_store.append_version`.

    Raises
    ------
    GisAppError
        ``scenario_conflict`` (naming who saved the newer version and when),
        ``scenario_db_unreachable`` or ``scenario_db_driver_missing``.
    """
    with _connect(url) as con, con.transaction():
        con.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (f"{TABLE}:{row['name']}",))
        latest = con.execute(f"SELECT version, author, saved_at FROM {TABLE} WHERE name = %s "  # noqa: S608
                             "ORDER BY version DESC LIMIT 1", (row["name"],)).fetchone()
        version = next_version(row["name"], latest, base_version)
        values = {**row, "version": version}
        con.execute(f"INSERT INTO {TABLE} ({', '.join(COLUMNS)}) "  # noqa: S608 - fixed names
                    f"VALUES ({', '.join('%s' for _ in COLUMNS)})", tuple(values[c] for c in COLUMNS))
    return version


def latest_rows(url: str) -> list[dict[str, Any]]:
    """Return the latest version of every scenario in the database, by name."""
    with _connect(url) as con:
        cur = con.execute(f"SELECT DISTINCT ON (name) {', '.join(COLUMNS)} FROM {TABLE} "  # noqa: S608
                          "ORDER BY name, version DESC")
        return _rows(cur)


def history_rows(url: str, name: str) -> list[dict[str, Any]]:
    """Return every version of scenario ``name``, oldest first."""
    with _connect(url) as con:
        cur = con.execute(f"SELECT {', '.join(COLUMNS)} FROM {TABLE} WHERE name = %s "  # noqa: S608
                          "ORDER BY version", (name,))
        return _rows(cur)


def version_row(url: str, name: str, version: int | None = None) -> dict[str, Any] | None:
    """Return one version of scenario ``name`` (None: the latest), or None when there is none."""
    with _connect(url) as con:
        if version is None:
            cur = con.execute(f"SELECT {', '.join(COLUMNS)} FROM {TABLE} WHERE name = %s "  # noqa: S608
                              "ORDER BY version DESC LIMIT 1", (name,))
        else:
            cur = con.execute(f"SELECT {', '.join(COLUMNS)} FROM {TABLE} "  # noqa: S608
                              "WHERE name = %s AND version = %s", (name, int(version)))
        rows = _rows(cur)
    return rows[0] if rows else None
