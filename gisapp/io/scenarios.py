"""The scenario store: scenario GeoPackages read, written atomically and listed; the comparison workbook.

A scenario file is a GeoPackage with two layers: ``scenario`` (one row: name, workspace,
notes, created, format) and ``edits`` (one row per edit).  This module only moves those frames
to and from disk; :mod:`gisapp.planning.scenario` turns them into a
:class:`~gisapp.planning.scenario.Scenario` and back.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from pathlib import Path

import geopandas as gpd
import pandas as pd

from gisapp.io.atomic import atomic_path, sweep

__all__ = [
    "EDITS_LAYER",
    "META_LAYER",
    "SUFFIX",
    "present",
    "read_scenario",
    "scenario_file",
    "scenario_files",
    "workbook_bytes",
    "write_scenario",
]

#: file suffix of a scenario GeoPackage
SUFFIX = ".gpkg"
#: layer holding the scenario's one row of metadata
META_LAYER = "scenario"
#: layer holding the edits, one row each
EDITS_LAYER = "edits"


def scenario_file(folder: str | Path, stem: str) -> Path:
    """Return the path of the scenario file ``stem`` in ``folder`` (``folder/<stem>.gpkg``)."""
    return Path(folder) / f"{stem}{SUFFIX}"


def write_scenario(dest: str | Path, meta: gpd.GeoDataFrame, edits: gpd.GeoDataFrame) -> Path:
    """Write the two layers of a scenario to ``dest`` atomically and return ``dest``.

    A failed write leaves any earlier file at ``dest`` intact (the ``edits`` layer is written
    even when it has no rows, so that the file always has both layers).  Both layers go into
    one hidden temporary GeoPackage beside ``dest``, which is synced and renamed over ``dest``
    (:func:`gisapp.io.atomic.atomic_path`): a process killed at any moment of a save leaves
    the previous scenario file whole, and the next save or listing removes the temporary file.
    """
    dest = Path(dest)
    with atomic_path(dest) as tmp:
        meta.to_file(tmp, layer=META_LAYER, driver="GPKG", engine="pyogrio")
        edits.to_file(tmp, layer=EDITS_LAYER, driver="GPKG", engine="pyogrio", mode="a")
    return dest


def present(path: str | Path) -> bool:
    """Return whether ``path`` is an existing file."""
    return Path(path).is_file()


def read_scenario(path: str | Path) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Return the ``scenario`` and ``edits`` layers of a scenario file.

    Raises
    ------
    Exception
        Whatever the GeoPackage reader raises when the file is missing, unreadable or lacks
        a layer (the caller reports it).
    """
    p = Path(path)
    meta = gpd.read_file(p, layer=META_LAYER, engine="pyogrio")
    edits = gpd.read_file(p, layer=EDITS_LAYER, engine="pyogrio")
    return meta, edits


def scenario_files(folder: str | Path) -> list[Path]:
    """Return the GeoPackages in ``folder``, sorted by name (hidden and half-written files skipped).

    The temporary files of a save that was killed are hidden (their names start with a dot),
    so they are never listed; they are also removed here (:func:`gisapp.io.atomic.sweep`).
    A folder that does not exist holds none.
    """
    folder = Path(folder)
    if not folder.is_dir():
        return []
    sweep(folder)
    return [p for p in sorted(folder.glob(f"*{SUFFIX}")) if not p.name.startswith(".") and p.is_file()]


def workbook_bytes(sheets: Mapping[str, pd.DataFrame]) -> bytes:
    """Return an XLSX workbook with one sheet per frame (numbers stay numbers, no index)."""
    buf = io.BytesIO()
    with pd.ExcelWriter(buf, engine="openpyxl") as xw:
        for name, frame in sheets.items():
            frame.to_excel(xw, sheet_name=name, index=False)
    return buf.getvalue()
