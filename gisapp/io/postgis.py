"""Read a layer (facilities, districts, settlements) from a PostGIS table or query.

A workspace file may name a database instead of a file for a vector layer::

    facilities:
      database: postgresql://reader@10.0.0.5:5432/bureau   # or ${GISAPP_LAYER_DB}
      table: health.facilities                             # or  sql: SELECT ... FROM ...
      fields: {id: code, name: name, kind: kind, capacity: [beds, doctors]}

The rows come back as a GeoDataFrame with the geometry column's SRID as its CRS, and go through
the same field mapping and validation as a file (:mod:`gisapp.io.layers`), so a missing field
or a bad value gives the same message, naming the table instead of the file.  The geometry
column is found by its type; a query with no geometry column or with several is refused with a
message that says so.
"""

from __future__ import annotations

import re
from typing import Any

import geopandas as gpd
import numpy as np
import shapely

from gisapp._errors import GisAppError
from gisapp.io.scenario_store_pg import redact

__all__ = ["layer_label", "read_postgis"]

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$")


def layer_label(table: str | None, sql: str | None) -> str:
    """Return how a database layer is named in messages: its table, or "SQL" and the query's start.

    Examples
    --------
    >>> layer_label("health.facilities", None), layer_label(None, "SELECT * FROM  clinics WHERE open")
    ('health.facilities', 'SQL: SELECT * FROM clinics WHERE open')
    """
    if table:
        return table
    text = " ".join((sql or "").split())
    return f"SQL: {text[:60]}{'…' if len(text) > 60 else ''}"


def _query(table: str | None, sql: str | None) -> str:
    if (table is None) == (sql is None):
        raise GisAppError(code="postgis_table_or_sql")
    if table is not None:
        if not _NAME.match(table):
            raise GisAppError(code="postgis_bad_table", params={"table": table})
        return "SELECT * FROM " + ".".join(f'"{p}"' for p in table.split("."))
    return str(sql).strip().rstrip(";")


def read_postgis(url: str, *, table: str | None = None, sql: str | None = None) -> gpd.GeoDataFrame:
    """Return the rows of a PostGIS table or query as a GeoDataFrame (CRS from the geometry's SRID).

    Parameters
    ----------
    url
        ``postgresql://user:password@host:port/dbname``.
    table
        ``table`` or ``schema.table``; or give ``sql`` instead.
    sql
        A ``SELECT`` query with exactly one geometry column.

    Raises
    ------
    GisAppError
        ``postgis_table_or_sql``, ``postgis_bad_table``, ``scenario_db_unreachable`` (the
        database cannot be reached; the URL is shown without its password),
        ``postgis_query_failed`` (the table or query is wrong: the database's own words are
        kept), ``postgis_no_geometry``, ``postgis_many_geometries`` or ``postgis_mixed_srid``.
    """
    inner = _query(table, sql)
    label = layer_label(table, sql)
    try:
        import psycopg
    except ImportError as exc:
        raise GisAppError(code="scenario_db_driver_missing") from exc
    try:
        con = psycopg.connect(url, connect_timeout=10)
    except psycopg.Error as exc:
        raise GisAppError(code="scenario_db_unreachable", params={"url": redact(url)}) from exc
    try:
        with con.transaction():
            con.execute("SET TRANSACTION READ ONLY")
            geom_oids = {int(r[0]) for r in con.execute(
                "SELECT oid FROM pg_type WHERE typname IN ('geometry', 'geography')").fetchall()}
            cur = con.execute(f"SELECT * FROM ({inner}) AS q LIMIT 0")  # noqa: S608 - the user's own query
            desc = cur.description or []
            geoms = [d.name for d in desc if int(d.type_code) in geom_oids]
            if not geoms:
                raise GisAppError(code="postgis_no_geometry", params={"layer": label})
            if len(geoms) > 1:
                raise GisAppError(code="postgis_many_geometries",
                                  params={"layer": label, "columns": ", ".join(geoms)})
            g = geoms[0]
            others = [d.name for d in desc if d.name != g]
            cols = ", ".join(f'q."{c}"' for c in others)
            rows = con.execute(
                f'SELECT {cols + ", " if cols else ""}ST_AsBinary(q."{g}"::geometry), '  # noqa: S608
                f'ST_SRID(q."{g}"::geometry) FROM ({inner}) AS q').fetchall()
    except GisAppError:
        raise
    except psycopg.Error as exc:
        raise GisAppError(code="postgis_query_failed",
                          params={"layer": label, "reason": str(exc).strip().splitlines()[0]}) from exc
    finally:
        con.close()
    n = len(others)
    data: dict[str, Any] = {c: [r[i] for r in rows] for i, c in enumerate(others)}
    wkb = np.array([r[n] for r in rows], dtype=object)
    srids = {int(r[n + 1]) for r in rows if r[n] is not None}
    if len(srids) > 1:
        raise GisAppError(code="postgis_mixed_srid", params={"layer": label, "srids": ", ".join(map(str, sorted(srids)))})
    crs = f"EPSG:{srids.pop()}" if srids and 0 not in srids else None
    geometry = shapely.from_wkb([bytes(b) if b is not None else None for b in wkb])
    return gpd.GeoDataFrame(data, geometry=geometry, crs=crs)
