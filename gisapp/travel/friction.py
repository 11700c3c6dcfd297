"""Build a friction (speed) surface from land cover, roads and barriers, as AccessMod does.

A :class:`FrictionSurface` holds, for every cell of the analysis grid, the class that
governs travel there, the speed on flat ground (km/h) and the travel mode
(:class:`Mode`); a cell with mode 0 is impassable.  It is built the way AccessMod 5
"merges" its land-cover stack (module 1):

1. land cover, each class looked up in a speed table (class -> speed, mode);
2. line barriers (rivers ...) on top of it: the cells they touch become impassable;
3. roads on top of that, burned in by class, all cells a road touches ("dense" lines), the
   faster road winning where two meet; so a road crossing a river is a bridge;
4. polygon barriers (restricted areas, lakes ...) on top of everything: the cells whose
   centre lies inside become impassable, roads included;
5. one-cell diagonal "bridges" cleaned: a road cell that touches passable ground only
   diagonally across two impassable cells (a road slipping between the cells of a
   rasterised barrier) becomes impassable, so that no path leaks through a barrier corner.

The slope models that turn a flat speed into a speed on a slope also live here:
:func:`tobler_factor` (walking) and :func:`bicycle_factor` (a rider-power model);
motorized travel ignores slope.  :mod:`gisapp.travel.grid_search` applies them per move.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from affine import Affine
from numpy.typing import NDArray
from pyproj import CRS
from rasterio import features
from shapely.geometry.base import BaseGeometry

from gisapp._errors import CRSMismatchError, LayerSchemaError, MissingCRSError, Problem, UnitsError
from gisapp.io.tables import read_sheet

__all__ = [
    "BICYCLE_MAX_FACTOR",
    "FrictionSurface",
    "Mode",
    "SpeedTable",
    "bicycle_factor",
    "bicycle_factor_uncapped",
    "read_speed_table",
    "speed_surface",
    "speed_table_from_frame",
    "tobler_factor",
    "uniform_surface",
]


class Mode(IntEnum):
    """Travel mode of a cell; 0 (``IMPASSABLE``) marks a cell nobody can enter."""

    IMPASSABLE = 0
    WALKING = 1
    BICYCLING = 2
    MOTORIZED = 3


_MODE_NAMES = {
    "WALKING": Mode.WALKING, "WALK": Mode.WALKING, "FOOT": Mode.WALKING,
    "BICYCLING": Mode.BICYCLING, "BICYCLE": Mode.BICYCLING, "BIKE": Mode.BICYCLING,
    "CYCLING": Mode.BICYCLING,
    "MOTORIZED": Mode.MOTORIZED, "MOTORISED": Mode.MOTORIZED, "CAR": Mode.MOTORIZED,
    "VEHICLE": Mode.MOTORIZED,
}

# --------------------------------------------------------------------------- slope models

_TOBLER_FLAT = float(np.exp(-3.5 * 0.05))

#: Bicycling speed on a slope never exceeds this multiple of the flat speed.
BICYCLE_MAX_FACTOR = 2.0
_G = 9.81  # m/s2
_BIKE_MASS_KG = 95.0  # rider 80 kg + bicycle 15 kg
_BIKE_CRR = 0.012  # rolling-resistance coefficient
_BIKE_CDA_M2 = 0.445  # drag area (drag coefficient x frontal area)
_AIR_DENSITY = 1.14  # kg/m3 at 20 degC and about 500 m above sea level


def tobler_factor(slope: NDArray[np.floating] | float) -> NDArray[np.float64]:
    """Walking speed on a slope relative to the speed on flat ground (Tobler 1993).

    Tobler's hiking function ``6 exp(-3.5 |s + 0.05|)`` km/h, normalised so that the
    factor is 1 on flat ground: the speed table's walking speed holds on the flat, the
    fastest walking (x1.19) is on a 5 % descent, a 10 % climb walks at 0.70 x.

    Parameters
    ----------
    slope
        Rise over run in the direction of travel (dimensionless; 0.1 is a 10 % climb,
        negative descends).

    Returns
    -------
    numpy.ndarray
        Speed factor (dimensionless, > 0).

    Examples
    --------
    >>> float(tobler_factor(0.0))
    1.0
    >>> round(float(tobler_factor(-0.05)), 4), round(float(tobler_factor(0.1)), 4)
    (1.1912, 0.7047)
    """
    s = np.asarray(slope, dtype=np.float64)
    return np.exp(-3.5 * np.abs(s + 0.05)) / _TOBLER_FLAT


def bicycle_factor(slope: NDArray[np.floating] | float,
                   flat_speed_kph: NDArray[np.floating] | float, *,
                   max_factor: float | None = BICYCLE_MAX_FACTOR) -> NDArray[np.float64]:
    """Bicycling speed on a slope relative to the flat speed (constant rider power).

    The flat speed gives the rider's power, spent on rolling resistance and air drag
    (``P = v (m g Crr) + rho CdA v^3 / 2``); on a slope the same power also lifts the
    rider (``m g sin(theta)``), and the speed solving that cubic is returned relative to
    the flat speed, capped downhill at ``max_factor``.  Rider and bicycle 95 kg, ``Crr``
    0.012, ``CdA`` 0.445 m2, air 1.14 kg/m3, no wind: a 15 km/h rider (65 W) climbs 5 %
    at 4 km/h and would free-wheel down 20 % at 94 km/h without the cap.

    Parameters
    ----------
    slope
        Rise over run in the direction of travel (dimensionless).
    flat_speed_kph
        Speed on flat ground, km/h (> 0); broadcast against ``slope``.
    max_factor
        Downhill cap, a multiple of the flat speed (default 2); None for no cap (AccessMod
        5 on its demo).

    Returns
    -------
    numpy.ndarray
        Speed factor (dimensionless, > 0).

    Examples
    --------
    >>> round(float(bicycle_factor(0.0, 15.0)), 6)
    1.0
    >>> round(float(bicycle_factor(0.05, 15.0)), 3), float(bicycle_factor(-0.2, 15.0))
    (0.269, 2.0)
    """
    factor = bicycle_factor_uncapped(slope, flat_speed_kph)
    cap = np.inf if max_factor is None else max_factor
    return np.asarray(np.clip(factor, 1e-9, cap), dtype=np.float64)


def bicycle_factor_uncapped(slope: NDArray[np.floating] | float,
                            flat_speed_kph: NDArray[np.floating] | float) -> NDArray[np.float64]:
    """:func:`bicycle_factor` before the downhill cap (a smooth function of the slope)."""
    s = np.asarray(slope, dtype=np.float64)
    v0 = np.maximum(np.asarray(flat_speed_kph, dtype=np.float64) / 3.6, 1e-9)
    hyp = np.sqrt(1.0 + s * s)
    a = 0.5 * _AIR_DENSITY * _BIKE_CDA_M2
    power = v0 * (_BIKE_MASS_KG * _G * _BIKE_CRR) + a * v0**3
    # a v^3 + b v - power = 0 with b = m g (sin + Crr cos): exactly one positive root
    p = (_BIKE_MASS_KG * _G / a) * (s + _BIKE_CRR) / hyp
    q = -power / a
    disc = (q / 2.0) ** 2 + (p / 3.0) ** 3
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        sq = np.sqrt(np.maximum(disc, 0.0))
        v = np.cbrt(-q / 2.0 + sq) + np.cbrt(-q / 2.0 - sq)
        three = disc < 0  # only when p < 0 (downhill): take the largest root
        if np.any(three):
            pn = np.where(three, p, -1.0)
            arg = np.clip((1.5 * q / pn) * np.sqrt(-3.0 / pn), -1.0, 1.0)
            v = np.where(three, 2.0 * np.sqrt(-pn / 3.0) * np.cos(np.arccos(arg) / 3.0), v)
    return np.asarray(v / v0, dtype=np.float64)


# --------------------------------------------------------------------------- speed table


@dataclass(frozen=True)
class SpeedTable:
    """Speed on flat ground and travel mode per land-cover or road class.

    Attributes
    ----------
    classes
        Class codes (int64, unique).
    speed_kph
        Flat-ground speed per class, km/h (0 makes the class impassable).
    mode
        :class:`Mode` code per class (int8).
    labels
        A label per class ("" where none was given).
    """

    classes: NDArray[np.int64]
    speed_kph: NDArray[np.float64]
    mode: NDArray[np.int8]
    labels: tuple[str, ...] = ()

    def lookup(self, klass: NDArray[np.integer]) -> tuple[NDArray[np.float32], NDArray[np.int8],
                                                          NDArray[np.bool_]]:
        """Return (speed km/h, mode, found) for every value of a class raster."""
        k = np.asarray(klass)
        order = np.argsort(self.classes)
        sorted_classes = self.classes[order]
        pos = np.clip(np.searchsorted(sorted_classes, k), 0, max(sorted_classes.size - 1, 0))
        found = sorted_classes[pos] == k if sorted_classes.size else np.zeros(k.shape, bool)
        idx = order[pos]
        speed = np.where(found, self.speed_kph[idx], 0.0).astype(np.float32)
        mode = np.where(found, self.mode[idx], 0).astype(np.int8)
        return speed, mode, found

    def to_frame(self) -> pd.DataFrame:
        """Return the table as a DataFrame (class, label, speed_kph, mode)."""
        return pd.DataFrame({
            "class": self.classes,
            "label": list(self.labels) if self.labels else [""] * self.classes.size,
            "speed_kph": self.speed_kph,
            "mode": [Mode(int(m)).name for m in self.mode],
        })


def speed_table_from_frame(frame: pd.DataFrame, *, source: str = "speed table",
                           class_column: str = "class", speed_column: str | None = None,
                           mode_column: str = "mode", label_column: str = "label") -> SpeedTable:
    """Validate a class -> (speed, mode) table held in a DataFrame.

    Parameters
    ----------
    frame
        One row per class.
    source
        Name used in error messages (the file name).
    class_column, mode_column, label_column
        Column names; the label column is optional.
    speed_column
        Column of speeds in km/h; default ``speed_kph`` or else ``speed`` (AccessMod's name).

    Returns
    -------
    SpeedTable

    Raises
    ------
    LayerSchemaError
        Listing every problem found: a missing column, a non-integer or repeated class, a
        negative or missing speed, an unknown mode.

    Examples
    --------
    >>> t = speed_table_from_frame(pd.DataFrame({"class": [1, 1001], "speed": [4, 60],
    ...                                          "mode": ["WALKING", "MOTORIZED"]}))
    >>> t.speed_kph.tolist(), [Mode(m).name for m in t.mode]
    ([4.0, 60.0], ['WALKING', 'MOTORIZED'])
    """
    cols = {str(c).strip().lower(): c for c in frame.columns}
    if speed_column is None:
        speed_column = "speed_kph" if "speed_kph" in cols else "speed"
    problems: list[Problem] = []
    for name in (class_column, speed_column, mode_column):
        if name.lower() not in cols:
            problems.append(Problem(source, name, "speed_column_missing",
                                    {"column": name, "columns": ", ".join(map(str, frame.columns))}))
    if problems:
        raise LayerSchemaError(problems, title_code="speed_table_invalid", title_params={"source": source})
    kc = frame[cols[class_column.lower()]]
    sc = frame[cols[speed_column.lower()]]
    mc = frame[cols[mode_column.lower()]]
    klass = pd.to_numeric(kc, errors="coerce")
    speed = pd.to_numeric(sc, errors="coerce")
    bad_class = klass.isna() | (klass != np.round(klass))
    if bad_class.any():
        problems.append(Problem(source, class_column, "speed_class_not_integer", {"rows": _rows(bad_class)}))
    dup = klass.duplicated(keep=False) & ~klass.isna()
    if dup.any():
        problems.append(Problem(source, class_column, "speed_class_repeated",
                                {"classes": sorted(set(klass[dup].astype(int)))}))
    bad_speed = speed.isna() | (speed < 0) | ~np.isfinite(speed.to_numpy(dtype=float, na_value=np.nan))
    if bad_speed.any():
        problems.append(Problem(source, speed_column, "speed_invalid", {"rows": _rows(bad_speed)}))
    names = mc.astype(str).str.strip().str.upper()
    mode = names.map(lambda m: int(_MODE_NAMES.get(m, -1)))
    bad_mode = mode < 0
    if bad_mode.any():
        problems.append(Problem(source, mode_column, "speed_mode_unknown", {"modes": sorted(set(names[bad_mode]))}))
    if problems:
        raise LayerSchemaError(problems, title_code="speed_table_invalid", title_params={"source": source})
    labels: tuple[str, ...] = ()
    if label_column.lower() in cols:
        labels = tuple(frame[cols[label_column.lower()]].fillna("").astype(str))
    return SpeedTable(klass.to_numpy(np.int64), speed.to_numpy(np.float64),
                      mode.to_numpy(np.int8), labels)


def _rows(mask: pd.Series) -> list[int]:
    return [int(i) + 2 for i in np.flatnonzero(mask.to_numpy())][:10]  # spreadsheet rows


def read_speed_table(path: str | Path, *, sheet: str | int = 0, **columns: str) -> SpeedTable:
    """Read a speed table (CSV or XLSX, AccessMod's layout: class, label, speed, mode).

    Parameters
    ----------
    path
        A ``.csv`` or ``.xlsx`` file, one row per class.
    sheet
        Sheet name or position for XLSX files.
    **columns
        Column names, as accepted by :func:`speed_table_from_frame`.

    Returns
    -------
    SpeedTable

    Raises
    ------
    LayerSchemaError
        If the file cannot be read as a table or its rows are invalid.
    """
    frame = read_sheet(path, sheet=sheet)  # gisapp.io reads the file
    return speed_table_from_frame(frame, source=str(Path(path)), **columns)


# --------------------------------------------------------------------------- the surface


@dataclass(frozen=True)
class FrictionSurface:
    """Speed, mode and class of every cell of a grid.

    Attributes
    ----------
    speed_kph
        (rows, cols) float32: speed on flat ground, km/h; 0 where impassable.
    mode
        (rows, cols) int8 :class:`Mode` code; 0 where impassable.
    klass
        (rows, cols) int32: the class that governs the cell (land cover or road), -1 where
        impassable (barrier, land-cover nodata, unknown class).
    transform
        Affine transform of the grid (north-up; cells may be rectangular), metres.
    barrier
        (rows, cols) bool: cells made impassable by a barrier (or a cleaned bridge).
    crs
        The grid's CRS, if known.
    """

    speed_kph: NDArray[np.float32]
    mode: NDArray[np.int8]
    klass: NDArray[np.int32]
    transform: Affine
    barrier: NDArray[np.bool_] = field(repr=False)
    crs: CRS | None = None

    @property
    def shape(self) -> tuple[int, int]:
        """Return (rows, cols)."""
        r, c = self.speed_kph.shape
        return int(r), int(c)

    @property
    def passable(self) -> NDArray[np.bool_]:
        """Return the cells that can be entered."""
        return np.asarray((self.mode > 0) & (self.speed_kph > 0))

    @property
    def cell_size_m(self) -> tuple[float, float]:
        """Return (width, height) of a cell, metres."""
        return abs(float(self.transform.a)), abs(float(self.transform.e))


def _check_grid(transform: Affine) -> None:
    if transform.b != 0 or transform.d != 0 or transform.a <= 0 or transform.e >= 0:
        msg = ("The friction grid must be north-up (no rotation, positive x step, negative y "
               f"step); got transform {tuple(transform)[:6]}. Warp the rasters first.")
        raise UnitsError(msg)


def _check_layer_crs(gdf: gpd.GeoDataFrame | gpd.GeoSeries, name: str, crs: CRS | None) -> None:
    if crs is None:
        return
    if gdf.crs is None:
        raise MissingCRSError(code="grid_layer_without_crs", params={"name": name, "grid_crs": crs.name})
    if not CRS.from_user_input(gdf.crs).equals(crs):
        raise CRSMismatchError(code="grid_crs_mismatch", params={"name": name, "grid_crs": crs.name,
                                                                 "crs": gdf.crs.name})


#: Edge of the grid-aligned blocks in which lines and polygons are burnt (cells); see :func:`_burn`.
BURN_BLOCK = 512


def _burn(geoms: Sequence[BaseGeometry | None], shape: tuple[int, int], transform: Affine,
          *, all_touched: bool, origin: tuple[int, int] = (0, 0),
          grid_shape: tuple[int, int] | None = None, cache: dict[Any, Any] | None = None,
          key: Any = None) -> NDArray[np.bool_]:
    """Burn ``geoms`` on a window (``shape``, ``transform``) whose first cell is the grid's cell ``origin``.

    GDAL decides a cell that a line runs exactly along (or a polygon edge through its centre)
    from floating-point pixel coordinates, which depend on the raster's origin.  So that a window
    of the grid (the chunked engine's) burns exactly the cells the whole grid does, the burning
    is done in blocks of :data:`BURN_BLOCK` cells aligned on the grid (``grid_shape``; default:
    the window is the grid), each with its own origin, and the window takes its part of them.
    ``cache`` (with a ``key`` naming the geometries) keeps the burnt blocks for the next windows.
    """
    shapes = [(g, 1) for g in geoms if g is not None and not g.is_empty]
    out = np.zeros(shape, dtype=bool)
    if not shapes:
        return out
    gh, gw = grid_shape if grid_shape is not None else shape
    o_r, o_c = origin
    grid_t = transform * Affine.translation(-o_c, -o_r)
    b = BURN_BLOCK
    for br in range(o_r // b, (o_r + shape[0] - 1) // b + 1):
        for bc in range(o_c // b, (o_c + shape[1] - 1) // b + 1):
            r0, c0 = br * b, bc * b
            h, w = min(b, gh - r0), min(b, gw - c0)
            ck = (key, all_touched, br, bc)
            block = cache.get(ck) if cache is not None else None
            if block is None:
                block = features.rasterize(shapes, out_shape=(h, w), transform=grid_t * Affine.translation(c0, r0),
                                           fill=0, all_touched=all_touched, dtype="uint8")
                if cache is not None:
                    cache[ck] = block
            rr0, rr1 = max(r0, o_r), min(r0 + h, o_r + shape[0])
            cc0, cc1 = max(c0, o_c), min(c0 + w, o_c + shape[1])
            out[rr0 - o_r:rr1 - o_r, cc0 - o_c:cc1 - o_c] = block[rr0 - r0:rr1 - r0, cc0 - c0:cc1 - c0] > 0
    return out


def _diagonal_bridges(passable: NDArray[np.bool_], road: NDArray[np.bool_]) -> NDArray[np.bool_]:
    """Road cells that touch passable ground only diagonally across two impassable cells."""
    p = np.pad(passable, 1, constant_values=False)
    n = ~p
    nr, nc = passable.shape

    def at(a: NDArray[np.bool_], dr: int, dc: int) -> NDArray[np.bool_]:
        return a[1 + dr:1 + dr + nr, 1 + dc:1 + dc + nc]

    out = np.zeros_like(passable)
    for dr, dc in ((1, 1), (1, -1), (-1, 1), (-1, -1)):
        out |= at(n, 0, dc) & at(n, dr, 0) & at(p, dr, dc)
    return out & road & passable


def speed_surface(
    landcover: NDArray[np.integer],
    speed_table: SpeedTable,
    *,
    transform: Affine,
    roads: gpd.GeoDataFrame | None = None,
    road_class_column: str = "class",
    barriers: gpd.GeoDataFrame | gpd.GeoSeries | None = None,
    landcover_nodata: int | None = None,
    road_priority: Sequence[int] | None = None,
    bridges: bool = True,
    clean_bridges: bool = True,
    crs: CRS | str | int | None = None,
    origin: tuple[int, int] = (0, 0),
    grid_shape: tuple[int, int] | None = None,
    burn_cache: dict[Any, Any] | None = None,
) -> FrictionSurface:
    """Merge land cover, roads and barriers into a speed surface (AccessMod's merge).

    Parameters
    ----------
    landcover
        (rows, cols) integer raster of land-cover classes on the analysis grid.
    speed_table
        Speed (km/h) and mode for every land-cover and road class
        (see :func:`read_speed_table`).
    transform
        Affine transform of the grid (north-up, metres).
    roads
        Lines with an integer class column, in the grid's CRS; every cell a line touches
        takes the road's class.
    road_class_column
        Name of that column.
    barriers
        Lines, polygons or points that cannot be crossed, in the grid's CRS.  Lines and
        points block every cell they touch; polygons block the cells whose centre is inside.
    landcover_nodata
        Land-cover value meaning "no data" (impassable).
    road_priority
        Road classes from the top of the stack down, for cells where roads meet; by
        default the faster class wins (ties: the lower class code).
    bridges
        If True (default), roads are stacked over line barriers (a road crossing a river
        is a bridge); polygon barriers always close the roads inside them.  If False, line
        barriers also cut roads.
    clean_bridges
        Make impassable the road cells that meet passable ground only diagonally between
        two impassable cells (AccessMod's bridge cleaning).
    crs
        The grid's CRS; when given, ``roads`` and ``barriers`` must share it.
    origin, grid_shape
        When ``landcover`` is a window of a larger grid: the grid cell of its first cell, and
        the grid's shape (lines and polygons are then burnt exactly as on the whole grid).
    burn_cache
        A dict that keeps the burnt grid blocks between calls on neighbouring windows.

    Returns
    -------
    FrictionSurface

    Raises
    ------
    LayerSchemaError
        If a land-cover or road class has no row in the speed table, or the road layer has
        no class column.
    CRSMismatchError, MissingCRSError
        If a vector layer is not in the grid's CRS.
    UnitsError
        If the grid is rotated.

    Examples
    --------
    >>> t = speed_table_from_frame(pd.DataFrame({"class": [1], "speed": [6], "mode": ["WALKING"]}))
    >>> s = speed_surface(np.ones((2, 3), int), t, transform=Affine(10, 0, 0, 0, -10, 20))
    >>> s.speed_kph.tolist()
    [[6.0, 6.0, 6.0], [6.0, 6.0, 6.0]]
    """
    _check_grid(transform)
    lc = np.asarray(landcover)
    if lc.ndim != 2:
        msg = f"`landcover` must be a 2-D class raster; got shape {lc.shape}."
        raise UnitsError(msg)
    shape = (int(lc.shape[0]), int(lc.shape[1]))
    grid_crs = CRS.from_user_input(crs) if crs is not None else None
    klass = lc.astype(np.int64)
    nodata = np.zeros(shape, dtype=bool)
    if landcover_nodata is not None:
        nodata = lc == landcover_nodata
    problems: list[Problem] = []
    found = np.isin(klass, speed_table.classes) | nodata
    if not found.all():
        missing = sorted(int(v) for v in np.unique(klass[~found]))
        problems.append(Problem("landcover", "class", "landcover_class_unknown", {"classes": missing[:20]}))
    klass = np.where(nodata, -1, klass)
    blocked = np.zeros(shape, dtype=bool)

    line_barrier = np.zeros(shape, dtype=bool)
    poly_barrier = np.zeros(shape, dtype=bool)
    if barriers is not None and len(barriers) > 0:
        _check_layer_crs(barriers, "barriers", grid_crs)
        geoms = barriers.geometry if isinstance(barriers, gpd.GeoDataFrame) else barriers
        kinds = geoms.geom_type.fillna("")
        is_poly = kinds.str.contains("Polygon").to_numpy()
        poly_barrier = _burn(list(geoms[is_poly]), shape, transform, all_touched=False, origin=origin,
                             grid_shape=grid_shape, cache=burn_cache, key="barrier_polygons")
        line_barrier = _burn(list(geoms[~is_poly]), shape, transform, all_touched=True, origin=origin,
                             grid_shape=grid_shape, cache=burn_cache, key="barrier_lines")

    road_class = np.full(shape, -1, dtype=np.int64)
    if roads is not None and len(roads) > 0:
        _check_layer_crs(roads, "roads", grid_crs)
        if road_class_column not in roads.columns:
            problems.append(Problem("roads", road_class_column, "road_class_column_missing",
                                    {"columns": ", ".join(map(str, roads.columns))}))
        else:
            rc = pd.to_numeric(roads[road_class_column], errors="coerce")
            present = sorted(int(v) for v in rc.dropna().unique())
            unknown = [c for c in present if c not in set(speed_table.classes.tolist())]
            if rc.isna().any():
                problems.append(Problem("roads", road_class_column, "road_class_empty", {"n": int(rc.isna().sum())}))
            if unknown:
                problems.append(Problem("roads", road_class_column, "road_class_unknown", {"classes": unknown[:20]}))
            if not problems:
                if road_priority is None:
                    sp_, _, _ = speed_table.lookup(np.asarray(present))
                    order = [present[i] for i in
                             np.lexsort((np.asarray(present), -sp_.astype(np.float64)))]
                else:
                    order = [int(c) for c in road_priority] + [c for c in present
                                                               if c not in set(road_priority)]
                for c in reversed(order):  # bottom of the stack first
                    sel = (rc == c).to_numpy()
                    if sel.any():
                        road_class[_burn(list(roads.geometry[sel]), shape, transform, all_touched=True,
                                         origin=origin, grid_shape=grid_shape, cache=burn_cache,
                                         key=("roads", c))] = c
    if problems:
        raise LayerSchemaError(problems, title_code="friction_invalid")

    road = road_class >= 0
    if bridges:
        klass = np.where(line_barrier, -1, klass)
        klass = np.where(road, road_class, klass)
        blocked = line_barrier & ~road
    else:
        klass = np.where(road, road_class, klass)
        klass = np.where(line_barrier, -1, klass)
        blocked = line_barrier.copy()
    klass = np.where(poly_barrier, -1, klass)
    blocked |= poly_barrier
    speed, mode, _ = speed_table.lookup(klass)
    passable = (mode > 0) & (speed > 0) & (klass >= 0)
    if clean_bridges and road.any():
        bridge = _diagonal_bridges(passable, road & (klass == road_class))
        if bridge.any():
            klass = np.where(bridge, -1, klass)
            blocked |= bridge
            passable &= ~bridge
    out_speed = np.where(passable, speed, 0).astype(np.float32)
    out_mode = np.where(passable, mode, 0).astype(np.int8)
    out_klass = np.where(passable, klass, -1).astype(np.int32)
    return FrictionSurface(out_speed, out_mode, out_klass, transform, blocked, grid_crs)


def uniform_surface(shape: tuple[int, int], transform: Affine, *, speed_kph: float,
                    mode: Mode = Mode.WALKING,
                    passable: NDArray[np.bool_] | None = None,
                    crs: CRS | str | int | None = None) -> FrictionSurface:
    """Return a surface of one speed and mode (optionally with impassable cells).

    Parameters
    ----------
    shape
        (rows, cols).
    transform
        Affine transform of the grid (north-up, metres).
    speed_kph
        Speed on flat ground, km/h (> 0).
    mode
        Travel mode of every passable cell.
    passable
        Cells that can be entered (default: all).
    crs
        The grid's CRS, if known.

    Returns
    -------
    FrictionSurface

    Examples
    --------
    >>> s = uniform_surface((2, 2), Affine(100, 0, 0, 0, -100, 200), speed_kph=5.0)
    >>> s.passable.all(), s.cell_size_m
    (np.True_, (100.0, 100.0))
    """
    _check_grid(transform)
    if not speed_kph > 0:
        msg = f"`speed_kph` must be positive (km/h), got {speed_kph}."
        raise UnitsError(msg)
    ok = np.ones(shape, dtype=bool) if passable is None else np.asarray(passable, dtype=bool)
    speed = np.where(ok, speed_kph, 0).astype(np.float32)
    m = np.where(ok, int(mode), 0).astype(np.int8)
    klass = np.where(ok, 0, -1).astype(np.int32)
    return FrictionSurface(speed, m, klass, transform, ~ok,
                           CRS.from_user_input(crs) if crs is not None else None)
