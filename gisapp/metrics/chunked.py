"""Coverage of a service on a grid that stays on disk: inputs larger than the client's memory.

The dask engine (:mod:`.dask_engine`) cuts the *work* into tiles, but its client still reads
the whole workspace: the population grid and the per-cell results (about 150 bytes a cell).
Here the cells never come to the client.  The grid is first written, once, to a grid store
(:func:`build_grid_store`; Zarr chunks on disk, :mod:`gisapp.io.grid_store`); then
:func:`run_chunked` runs two passes of tasks that each read their own window of it:

1. **Facility tasks** (services with a capacity): the facilities grouped by tile, each group
   on a window of +/- the maximal reach, as in :func:`.dask_engine.plan_tiles`; a catchment lies
   whole in its window, so each facility's R_j = S_j / demand within its standard is final.
   The client keeps R_j (a number per facility).
2. **Tile tasks**, one per ``tile`` x ``tile`` block of the grid: read the block and a halo of
   the maximal reach around it, take the facilities that can reach the block, and compute for
   the block's cells the nearest facility (straight line, against every facility: exact across
   tile borders), whether each is covered by its standard, and 2SFCA access (the sum of R_j
   over the facilities within its standard); then reduce the block as
   :func:`.gap_tiles.tile_task` does (district sums, gap areas labelled and traced, their
   sums and edges).  Optionally each task writes its block of the per-cell results into an
   output store (one Zarr chunk per task, so tasks never write the same chunk).

The client holds the facilities, the districts, the per-facility R_j, the 1 km blocks of the
Degree of Urbanisation (a hundredth of the cells) and what the tiles return (district sums,
gap areas), and joins the tiles with :func:`.gap_tiles.join_tiles`.  The results equal the
single-machine path's: the same district table and gap areas (people to 1e-9, the same areas
and polygons), the same per-cell nearest distance, coverage, and access to 1e-9.

Terrain mode reads each window's friction surfaces (one per travel mode) and DEM from the
store, where :func:`build_grid_store` burnt them a window at a time (roads and barriers are
burnt in grid-aligned blocks, so a window's cells are exactly the whole grid's).

What it does not do yet: people served within capacity (its sweep is global over every
catchment: the CLI says it was not computed), and more than one year of population (the store
holds the latest year's, and says so).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from affine import Affine
from numpy.typing import NDArray
from pyproj import CRS

from gisapp._errors import GisAppError, Problem, WorkspaceError
from gisapp.config.spec import ServiceSpec, WorkspaceSpec
from gisapp.grid.population import rasterize_districts
from gisapp.grid.urban import classify_blocks, is_town
from gisapp.io import grid_store as _store
from gisapp.io.workspace_file import read_workspace
from gisapp.metrics.dask_engine import (
    DaskRun,
    _facility_rc,
    _groups,
    _row_min,
    _task_pairs,
    fastest,
    map_tasks,
    reach_of_speed,
    window_bounds,
)
from gisapp.metrics.gap_tiles import TileSums, join_tiles, tile_task
from gisapp.travel.straight import nearest_straight_line, stencil_pairs
from gisapp.workspace import Workspace, load_vectors, load_workspace

__all__ = ["ChunkedResult", "build_grid_store", "run_chunked", "store_inputs"]

#: Cells per side of the grid store's chunks (and the default tile of :func:`run_chunked`).
STORE_CHUNK = 512


def population_path(spec: WorkspaceSpec) -> tuple[Path, int | None]:
    """Return the population raster a grid store is made from, and its year: the latest year's when
    the population is given per year (the year :func:`gisapp.workspace.load_workspace` opens on)."""
    layer = spec.layers["population"]
    if layer.years:
        year = max(int(y) for y in layer.years)
        return Path(layer.years[year]), year
    return Path(layer.path), None


#: the layers of the friction surfaces (written to the store when the workspace gives travel speeds)
TERRAIN_LAYERS = ("landcover", "roads", "barriers", "dem")


def store_inputs(spec: WorkspaceSpec) -> list[Path]:
    """Return the files a grid store is made from (population raster, districts, the terrain layers)."""
    more = [Path(spec.layers[r].path) for r in TERRAIN_LAYERS if r in spec.layers and spec.travel.get("speeds")]
    return [population_path(spec)[0], Path(spec.layers["districts"].path), *more]


class _TerrainWriter:
    """Writes each travel mode's friction surface and the DEM into a store, a window at a time.

    Roads and barriers (vectors) are read once and burnt per window; a land-cover or DEM raster
    on the analysis grid is read by window, another one is read onto the grid whole (a notice
    says so).  Also keeps, per mode, the fastest passable speed of the whole grid and whether it
    has walking or bicycling cells (the terrain reach: :func:`.dask_engine.terrain_reach_cells`).
    """

    def __init__(self, spec: WorkspaceSpec, crs: CRS, transform: Affine, shape: tuple[int, int],
                 notices: list[Problem]) -> None:
        from gisapp.io import layers as _io
        from gisapp.travel import terrain as _terrain

        self.modes = [str(m) for m in spec.travel.get("speeds", {})]
        self.tables = {m: _terrain.speed_table_of(spec.travel, m) for m in self.modes}
        self.transform, self.shape, self.crs = transform, shape, crs
        layers = spec.layers
        problems: list[Problem] = []
        self.roads = _io.read_lines(layers["roads"], crs, problems) if "roads" in layers and self.modes else None
        self.barriers = _io.read_lines(layers["barriers"], crs, problems) if "barriers" in layers and self.modes \
            else None
        self.cls_col = layers["roads"].fields.get("class", "class") if "roads" in layers else "class"
        self.sources: dict[str, Any] = {}
        for role, reader in (("landcover", _io.read_class_raster), ("dem", _io.read_dem)):
            if role not in layers or not self.modes:
                continue
            lay = layers[role]
            win = _store.raster_windows(lay.path, lay.band)
            if win.crs_wkt is not None and CRS.from_user_input(win.crs_wkt).equals(crs) and \
                    win.transform == transform and win.shape == shape:
                self.sources[role] = win  # on the analysis grid: read by window
            else:
                self.sources[role] = reader(lay, crs, transform, shape, problems)
                notices.append(Problem(str(lay.path), "crs", "grid_store_layer_in_memory",
                                       {"crs": crs.to_string(), "res": f"{abs(transform.a):g}"}))
        if problems:
            raise WorkspaceError(problems)
        self.burnt: dict[Any, Any] = {}  # grid blocks of roads and barriers, shared by the modes and windows
        self.vmax = dict.fromkeys(self.modes, 0.0)
        self.walking = dict.fromkeys(self.modes, False)
        self.bicycling = dict.fromkeys(self.modes, False)

    def _read(self, role: str, win: tuple[int, int, int, int]) -> NDArray[Any] | None:
        src = self.sources.get(role)
        if src is None:
            return None
        r0, r1, c0, c1 = win
        if isinstance(src, _store.RasterWindows):
            v = src.read(r0, r1, c0, c1)
            return np.where(np.isfinite(v), v, -1).astype(np.int64) if role == "landcover" else v
        return np.asarray(src[r0:r1, c0:c1])

    def window(self, writer: Any, r0: int, r1: int, c0: int, c1: int) -> None:
        """Write the friction surfaces (and DEM) of one window."""
        from gisapp.travel import terrain as _terrain
        from gisapp.travel.friction import Mode

        if not self.modes:
            return
        from gisapp.travel.friction import BURN_BLOCK

        margin = _terrain.margin_window((r0, r1, c0, c1), self.shape)
        top = margin[0] // BURN_BLOCK  # windows come row by row: blocks above this one are done
        for k in [k for k in self.burnt if k[2] < top]:
            del self.burnt[k]
        lc = self._read("landcover", margin)
        if lc is None:
            lc = np.full((margin[1] - margin[0], margin[3] - margin[2]), _terrain.OFFROAD_CLASS, dtype=np.int64)
        for m in self.modes:
            surf = _terrain.surface_window(lc, self.tables[m], transform=self.transform, window=(r0, r1, c0, c1),
                                           shape=self.shape, roads=self.roads, road_class_column=self.cls_col,
                                           barriers=self.barriers, crs=self.crs, burn_cache=self.burnt)
            writer.put(f"speed_{m}", r0, c0, surf.speed_kph, "float32", 0.0)
            writer.put(f"mode_{m}", r0, c0, surf.mode, "int8", 0)
            writer.put(f"klass_{m}", r0, c0, surf.klass, "int32", -1)
            writer.put(f"barrier_{m}", r0, c0, surf.barrier, "uint8", 0)
            ok = (surf.mode > 0) & (surf.speed_kph > 0)
            if ok.any():
                self.vmax[m] = max(self.vmax[m], float(surf.speed_kph[ok].max()))
                self.walking[m] |= bool((surf.mode[ok] == int(Mode.WALKING)).any())
                self.bicycling[m] |= bool((surf.mode[ok] == int(Mode.BICYCLING)).any())
        dem = self._read("dem", (r0, r1, c0, c1))
        if dem is not None:
            writer.put("dem", r0, c0, np.asarray(dem, dtype=np.float64), "float64", float("nan"))

    def attrs(self) -> dict[str, Any]:
        """What the store keeps of the surfaces (its ``terrain`` attribute)."""
        return {"modes": {m: {"vmax": self.vmax[m], "walking": self.walking[m], "bicycling": self.bicycling[m]}
                          for m in self.modes}, "dem": "dem" in self.sources}


def build_grid_store(workspace: str | Path | WorkspaceSpec, path: str | Path, *, chunk: int = STORE_CHUNK,
                     progress: Callable[[int, int], None] | None = None) -> tuple[_store.GridStore, list[Problem]]:
    """Write a workspace's analysis grid to a grid store, a window at a time when it can.

    When the population raster is already on the analysis grid (its CRS, its cell size, north
    up), it is read ``chunk`` x ``chunk`` cells at a time and each window's districts are burnt
    on that window alone: the memory of the step is one window, whatever the raster's size.
    Otherwise the raster must be resampled to the grid, which needs it whole: the workspace is
    loaded (:func:`gisapp.workspace.load_workspace`) and a notice (``grid_store_in_memory``)
    says so, with the fix for inputs larger than memory (resample to the analysis grid first).

    Returns
    -------
    tuple
        The store, opened, and the notices (problems that are not errors).

    Raises
    ------
    WorkspaceError
        For the problems :func:`load_workspace` finds in the population raster (NaN cells are a
        notice; infinite or negative values, or a raster without people inside the districts,
        errors), naming the file.  Nothing is left at ``path`` then (a previous store stays).
    """
    spec = workspace if isinstance(workspace, WorkspaceSpec) else read_workspace(workspace)
    pop_layer = spec.layers["population"]
    pop_path, year = population_path(spec)
    ws_v = load_vectors(spec, transform=Affine.identity(), shape=(0, 0))
    crs = ws_v.crs
    districts = ws_v.districts
    src = _store.raster_windows(pop_path, pop_layer.band)
    res = float(spec.resolution_m)
    t = src.transform
    same = (src.crs_wkt is not None and CRS.from_user_input(src.crs_wkt).equals(crs) and np.isclose(t.a, res)
            and np.isclose(-t.e, res) and t.b == 0 and t.d == 0)
    inputs = _store.fingerprint(store_inputs(spec))
    ids = [str(v) for v in districts["district_id"].tolist()]
    block = max(1, int(round(1000.0 / res)))
    notices: list[Problem] = []
    if year is not None:
        notices.append(Problem(str(pop_path), "years", "grid_store_year", {"year": year}))
    if not same:
        ws = load_workspace(spec)
        g = ws.grid
        pop_r = g.to_raster(g.pop, fill=0.0)
        dist_r = np.full(g.shape, -1, dtype=np.int64)
        dist_r[g.row, g.col] = g.district
        notices.append(Problem(str(pop_path), "crs", "grid_store_in_memory",
                               {"crs": crs.to_string(), "res": f"{res:g}"}))
        ter = _TerrainWriter(spec, crs, g.transform, g.shape, notices)
        with _store.writing_store(path, transform=g.transform, shape=g.shape, crs_wkt=crs.to_wkt(), chunk=chunk,
                                  district_ids=ids, block_cells=block, inputs=inputs) as (w, totals):
            for r0 in range(0, g.shape[0], chunk):
                for c0 in range(0, g.shape[1], chunk):
                    w.window(r0, c0, pop_r[r0:r0 + chunk, c0:c0 + chunk], dist_r[r0:r0 + chunk, c0:c0 + chunk])
                    ter.window(w, r0, min(r0 + chunk, g.shape[0]), c0, min(c0 + chunk, g.shape[1]))
            w.attrs["terrain"] = ter.attrs()
            totals["source_population"] = ws.source_population
            totals["outside_pop"] = g.outside_pop
        return _store.open_grid_store(path), notices + list(ws.notices)
    H, W = src.shape
    f = str(pop_path)
    field_ = f"band {pop_layer.band}"
    counts = {"nan": 0, "inf": 0, "neg": 0}
    vmin = math.inf
    windows = [(r0, c0) for r0 in range(0, H, chunk) for c0 in range(0, W, chunk)]
    ter = _TerrainWriter(spec, crs, t, (H, W), notices)
    with _store.writing_store(path, transform=t, shape=(H, W), crs_wkt=crs.to_wkt(), chunk=chunk,
                              district_ids=ids, block_cells=block, inputs=inputs) as (w, totals):
        inside_total = 0.0
        for k, (r0, c0) in enumerate(windows):
            r1, c1 = min(r0 + chunk, H), min(c0 + chunk, W)
            vals = src.read(r0, r1, c0, c1)
            counts["nan"] += int(np.isnan(vals).sum())
            counts["inf"] += int(np.isinf(vals).sum())
            neg = vals < 0
            if neg.any():
                counts["neg"] += int(neg.sum())
                vmin = min(vmin, float(vals[neg].min()))
            v = np.nan_to_num(np.where(np.isinf(vals), np.nan, vals), nan=0.0)
            totals["source_population"] += float(np.clip(v, 0, None).sum())
            d = rasterize_districts(districts, t * Affine.translation(c0, r0), (r1 - r0, c1 - c0))
            p = np.where(v > 0, v, 0.0)
            inside = d >= 0
            totals["outside_pop"] += float(p[~inside].sum())
            p = np.where(inside, p, 0.0)
            inside_total += float(p.sum())
            w.window(r0, c0, p, d)
            ter.window(w, r0, r1, c0, c1)
            if progress is not None:
                progress(k + 1, len(windows))
        w.attrs["terrain"] = ter.attrs()
        problems: list[Problem] = []
        if counts["inf"]:
            problems.append(Problem(f, field_, "population_infinite", {"n": f"{counts['inf']:,}"}))
        if counts["neg"]:
            problems.append(Problem(f, field_, "population_negative", {"n": f"{counts['neg']:,}", "min": f"{vmin:g}"}))
        if totals["source_population"] <= 0:
            problems.append(Problem(f, field_, "population_empty"))
        elif inside_total <= 0:
            problems.append(Problem(f, "crs", "population_outside_districts",
                                    {"total": f"{totals['source_population']:,.0f}"}))
        if problems:
            raise WorkspaceError(problems)
    if counts["nan"] and (src.nodata is None or not np.isnan(src.nodata)):
        notices.append(Problem(f, field_, "population_nan_as_empty", {"n": f"{counts['nan']:,}"}))
    return _store.open_grid_store(path), notices + list(ws_v.notices)


@dataclass
class ChunkedResult:
    """What :func:`run_chunked` returns (per-cell results stay on disk, in ``out_store``)."""

    workspace: Workspace  # districts and facilities only (grid.n == 0)
    service: ServiceSpec
    by_district: pd.DataFrame  # columns of :func:`gisapp.metrics.tables.coverage_by_district`
    tiles: TileSums
    r_j: NDArray[np.float64]  # 2SFCA ratio per serving facility (empty without capacity)
    facility_idx: NDArray[np.int64]
    cells: int
    pairs: int
    tasks: dict[str, int]
    out_store: Path | None
    timings_s: dict[str, float] = field(default_factory=dict)


def _open_checked(workspace: str | Path | WorkspaceSpec, store_path: str | Path
                  ) -> tuple[WorkspaceSpec, _store.GridStore, Workspace]:
    spec = workspace if isinstance(workspace, WorkspaceSpec) else read_workspace(workspace)
    store = _store.open_grid_store(store_path)
    changed = store.stale(store_inputs(spec))
    if changed:
        raise GisAppError(code="grid_store_stale", params={"path": str(store.path), "files": ", ".join(changed),
                                                           "workspace": str(spec.path),
                                                           "cmd": _store.rewrite_command(store.path, spec.path)})
    ws = load_vectors(spec, transform=store.transform, shape=store.shape)
    if [str(v) for v in ws.districts["district_id"]] != list(store.district_ids) or \
            not CRS.from_user_input(store.crs_wkt).equals(ws.crs):
        raise GisAppError(code="grid_store_stale", params={"path": str(store.path), "files": str(spec.path),
                                                           "workspace": str(spec.path),
                                                           "cmd": _store.rewrite_command(store.path, spec.path)})
    return spec, store, ws


def _places(ws: Workspace) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.int64], int]:
    """The places' positions and districts (each cell takes the nearest of its district's places)."""
    from gisapp.metrics.places import has_places, place_index

    if not has_places(ws):
        return np.zeros(0), np.zeros(0), np.zeros(0, np.int64), 0
    pl = place_index(ws).places
    return (pl["x"].to_numpy(float), pl["y"].to_numpy(float), pl["district"].to_numpy(np.int64), len(pl))


def _cell_place(x: NDArray[np.float64], y: NDArray[np.float64], district: NDArray[np.int64],
                px: NDArray[np.float64], py: NDArray[np.float64], pd_: NDArray[np.int64]) -> NDArray[np.int64]:
    """The place of each cell: the nearest place of its own district (as :func:`.places.place_index`)."""
    from scipy.spatial import cKDTree

    out = np.full(x.size, -1, dtype=np.int64)
    for d in np.unique(district):
        mine = np.flatnonzero(pd_ == d)
        cells = np.flatnonzero(district == d)
        if mine.size == 0 or cells.size == 0:
            continue
        tree = cKDTree(np.column_stack([px[mine], py[mine]]))
        _, j = tree.query(np.column_stack([x[cells], y[cells]]))
        out[cells] = mine[np.asarray(j, dtype=np.int64)]
    return out


def _window_cells(store_path: str, win: tuple[int, int, int, int], share: float
                  ) -> tuple[NDArray[np.int64], NDArray[np.float64], NDArray[np.int64]]:
    """A window's cell index (-1 outside every district; ids in raster order), people and districts."""
    store = _store.open_grid_store(store_path)
    r0, r1, c0, c1 = win
    pop, dist = store.read(r0, r1, c0, c1)
    inside = dist >= 0
    ci = np.full(pop.shape, -1, dtype=np.int64)
    ci[inside] = np.arange(int(inside.sum()), dtype=np.int64)
    return ci, pop[inside] * share, dist[inside]


def _thresholds(town: NDArray[np.bool_], p: dict[str, Any]) -> NDArray[np.float64]:
    thr = np.full(town.size, p["thr_town"])
    if p["thr_rural"] is not None:
        thr[~town] = p["thr_rural"]
    return thr


def _town(rows: NDArray[np.int64], cols: NDArray[np.int64], p: dict[str, Any]) -> NDArray[np.bool_]:
    blocks = p["blocks"]
    if blocks is None:
        return np.ones(rows.size, dtype=bool)
    f = int(p["block_cells"])
    return np.asarray(is_town(blocks[rows // f, cols // f]), dtype=bool)


def _rc_of(ci: NDArray[np.int64], r0: int, c0: int) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    rr, cc = np.nonzero(ci >= 0)
    return rr.astype(np.int64) + r0, cc.astype(np.int64) + c0


def _pairs(store_path: str, win: tuple[int, int, int, int], ci: NDArray[np.int64], sub: NDArray[np.int64],
           town: NDArray[np.bool_], thr: NDArray[np.float64], p: dict[str, Any]
           ) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64], NDArray[np.float64]]:
    """The pairs of facilities ``sub`` (serving columns) with the window's cells within the cut-off:
    (window cell ids, local cell, position in ``sub``, cost) -- as :func:`.dask_engine._task_pairs`."""
    r0, r1, c0, c1 = win
    tr: Affine = p["transform"]
    if p["kind"] == "straight":  # the window's ids are 0..n-1 already: the stencil's rows are the local cells
        rows, counts, dist = stencil_pairs(ci, tr, p["fx"][sub], p["fy"][sub], cutoff_m=p["cutoff"], origin=(r0, c0))
        n = int(ci.max()) + 1 if ci.size else 0
        return (np.arange(n, dtype=np.int64), rows.astype(np.int64), np.repeat(np.arange(sub.size, dtype=np.int64), counts),
                dist * 1.0)
    from gisapp.metrics.dask_engine import TerrainInput

    store = _store.open_grid_store(store_path)
    dem = store.read_array("dem", r0, r1, c0, c1).astype(np.float64) if p["dem"] else None
    modes: list[str] = p["modes"]
    surfaces = []
    for k, m in enumerate(modes):
        sel = None
        if len(modes) > 1:  # the town standard's mode serves town cells, the rural one the others
            sel = np.where(town, thr, -1.0) if k == 0 else np.where(town, -1.0, thr)
        surfaces.append(TerrainInput(speed_kph=store.read_array(f"speed_{m}", r0, r1, c0, c1),
                                     mode=store.read_array(f"mode_{m}", r0, r1, c0, c1),
                                     klass=store.read_array(f"klass_{m}", r0, r1, c0, c1),
                                     barrier=store.read_array(f"barrier_{m}", r0, r1, c0, c1).astype(bool),
                                     dem=dem, selector=sel))
    rc = np.column_stack([p["fr"][sub] - r0, p["fc"][sub] - c0])
    return _task_pairs({"kind": "terrain", "cell_index": ci, "cols": sub, "surfaces": surfaces,
                        "transform_w": tr * Affine.translation(c0, r0), "neighbours": p["neighbours"], "rc": rc,
                        "cutoff": p["cutoff"]})


def rj_task(spec: dict[str, Any]) -> dict[str, Any]:
    """Pass 1: R_j = S_j / (demand within the standard) of one group of facilities on its window."""
    p = spec["params"]
    r0, r1, c0, c1 = spec["window"]
    ci, dem, _ = _window_cells(spec["store"], spec["window"], p["share"])
    rows, cols = _rc_of(ci, r0, c0)
    town = _town(rows, cols, p)
    eligible = town if p["urban_only"] else np.ones(rows.size, dtype=bool)
    thr = _thresholds(town, p)
    _, pi, fi, c = _pairs(spec["store"], spec["window"], ci, spec["cols"], town, thr, p)
    keep = c <= thr[pi]
    n_f = int(spec["cols"].size)
    denom = np.bincount(fi[keep], weights=np.where(eligible, dem, 0.0)[pi[keep]], minlength=n_f)
    r_j = np.zeros(n_f)
    np.divide(spec["supply"], denom, out=r_j, where=denom > 0)
    return {"r_j": r_j, "n_pairs": int(pi.size)}


def block_task(spec: dict[str, Any]) -> dict[str, Any]:
    """Pass 2: one block of the grid: nearest, coverage and access of its cells, then its reduction."""
    p = spec["params"]
    tr: Affine = p["transform"]
    br0, br1, bc0, bc1 = spec["block"]
    wr0, wr1, wc0, wc1 = spec["window"]
    # only the block's own cells are read: the halo matters for the paths (friction), not for its people
    blk, dem, district = _window_cells(spec["store"], spec["block"], p["share"])
    n = int(dem.size)
    ci_core = np.full((wr1 - wr0, wc1 - wc0), -1, dtype=np.int64)  # the block's cells numbered 0..n-1, the halo's -1
    ci_core[br0 - wr0:br1 - wr0, bc0 - wc0:bc1 - wc0] = blk
    rows, cols = _rc_of(blk, br0, bc0)
    h, w = br1 - br0, bc1 - bc0
    out: dict[str, Any] = {"cells": int(n), "n_pairs": 0}
    x = np.asarray(tr.c + (cols + 0.5) * tr.a, dtype=np.float64)
    y = np.asarray(tr.f + (rows + 0.5) * tr.e, dtype=np.float64)
    town = _town(rows, cols, p)
    thr = _thresholds(town, p)
    eligible = town if p["urban_only"] else np.ones(n, dtype=bool)
    near_m, near_j = nearest_straight_line(x, y, p["fx"], p["fy"])
    terrain = p["kind"] == "terrain"
    travel = np.full(n, np.inf)
    travel_j = np.full(n, -1, dtype=np.int64)
    acc_all = np.zeros(n)
    sub = spec["sub"]
    if sub.size and (terrain or p["r_j"] is not None):
        _, lp, fi, c = _pairs(spec["store"], spec["window"], ci_core, sub, town, thr, p)  # the block's cells only
        out["n_pairs"] = int(lp.size)
        if terrain:
            bp, bc, bj = _row_min(lp, sub[fi], c)
            travel[bp], travel_j[bp] = bc, bj
        if p["r_j"] is not None:
            keep = c <= thr[lp]
            acc_all = np.asarray(np.bincount(lp[keep], weights=p["r_j"][sub][fi[keep]], minlength=n), dtype=np.float64)
    if terrain:
        covered = eligible & (travel <= thr)
        near_col = np.where(travel_j >= 0, travel_j, near_j)
    else:
        covered = eligible & (near_m <= thr)
        travel = _straight_travel(near_m, town, p)
        near_col = near_j
    acc = np.where(eligible, acc_all * 1000.0, np.nan) if p["r_j"] is not None else np.full(n, np.nan)
    place = _cell_place(x, y, district, p["px"], p["py"], p["pdistrict"]) if p["n_places"] else \
        np.full(n, -1, dtype=np.int64)
    gap = eligible & ~covered & (dem > 0)
    g = np.flatnonzero(gap)
    loc = (rows[g] - br0) * w + (cols[g] - bc0)
    red = tile_task({
        "nd": p["nd"], "np": p["n_places"], "district": district, "dem": np.where(eligible, dem, 0.0),
        "dem_cov": np.where(covered, dem, 0.0), "h": h, "w": w, "r0": br0, "c0": bc0, "W": p["W"],
        "gap_local": loc, "gdem": dem[g], "gdist": near_m[g], "gx": x[g], "gy": y[g], "gdistrict": district[g],
        "gplace": place[g], "trace": p["trace"], "transform": tr * Affine.translation(bc0, br0)})
    out.update(red)
    if spec.get("out"):
        rows_of = p["rows_of"]
        nf = np.where(near_col >= 0, rows_of[np.clip(near_col, 0, max(rows_of.size - 1, 0))] if rows_of.size else -1,
                      -1)
        _store.write_result_block(spec["out"], (br0, bc0, h, w), rows - br0, cols - bc0,
                                  {"nearest_m": near_m, "nearest_facility": nf, "travel_cost": travel,
                                   "covered": covered.astype(np.float64), "access_per_1000": acc, "demand": dem})
    return out


_OUT_ARRAYS = ("nearest_m", "nearest_facility", "travel_cost", "covered", "access_per_1000", "demand")


def _straight_travel(near_m: NDArray[np.float64], town: NDArray[np.bool_], p: dict[str, Any]) -> NDArray[np.float64]:
    """Travel to the nearest facility in the standard's unit (as :func:`.service.straight_line_travel`)."""
    from gisapp.metrics.service import straight_line_travel

    return straight_line_travel(near_m, p["service"], town)


def run_chunked(workspace: str | Path | WorkspaceSpec, store_path: str | Path, service: str, *,
                run: DaskRun | None = None, travel: str | None = None, out_store: str | Path | None = None,
                trace: bool = True) -> ChunkedResult:
    """Coverage, gaps and access of one service on a grid store; the cells never come to the client.

    Parameters
    ----------
    workspace
        The workspace (YAML path or spec) the store was made from.
    store_path
        The grid store (:func:`build_grid_store`); refused when the workspace's population or
        district file changed since.
    service
        The service's name.
    run
        Where the tasks run (a LocalCluster, a scheduler, or ``inline`` in this process) and the
        tile (default: the store's chunk).
    travel
        ``"straight_line"`` or ``"terrain"`` (default: the workspace's); terrain reads each
        window's friction surfaces and DEM from the store.
    out_store
        Write the per-cell results (nearest distance and facility row, covered, access per
        1,000, demand; NaN outside the districts) to this Zarr store, a chunk per tile.
    trace
        Trace the gap areas' polygons.
    """
    t0 = time.perf_counter()
    spec, store, ws = _open_checked(workspace, store_path)
    if service not in spec.services:
        raise GisAppError(code="unknown_service", params={"name": service, "known": ", ".join(spec.services)})
    mode = travel or spec.travel.get("default", "straight_line")
    if mode not in ("straight_line", "terrain"):
        raise GisAppError(code="unknown_travel_mode", params={"mode": mode, "known": "straight_line, terrain"})
    run = run or DaskRun(tile=store.chunk)
    tile = int(run.tile)
    if tile < 1:
        raise GisAppError(code="dask_bad_tile", params={"tile": tile})
    svc = spec.services[service]
    fac = ws.facilities
    serving = fac["kind"].isin(svc.kinds).to_numpy()
    idx = np.flatnonzero(serving)
    fx = fac["x"].to_numpy(float)[idx]
    fy = fac["y"].to_numpy(float)[idx]
    supply = fac[svc.capacity].to_numpy(float)[idx] if (svc.capacity and idx.size) else None
    H, W = store.shape
    transform = store.transform
    blocks = None
    if svc.rural_standard is not None or svc.urban_only:
        bp = store.block_pop()
        blocks = classify_blocks(bp, store.block_cells * float(transform.a))
    if mode == "terrain":
        from gisapp.metrics.service import standard_minutes

        thr_town = standard_minutes(svc.standard)
        thr_rural = standard_minutes(svc.rural_standard) if svc.rural_standard is not None else None
    else:
        thr_town = float(svc.standard.straight_line_m)
        thr_rural = float(svc.rural_standard.straight_line_m) if svc.rural_standard is not None else None
    # the largest standard of the cells (as one machine's maximum over them: town cells exist when a block is town)
    any_town = blocks is None or bool((is_town(blocks)).any())
    cutoff = max(thr_town if any_town else 0.0, thr_rural or 0.0)
    px, py, pdist, n_places = _places(ws)
    share = float(spec.demand_groups[svc.demand].share)
    params: dict[str, Any] = {"transform": transform, "cutoff": cutoff, "thr_town": thr_town, "thr_rural": thr_rural,
                              "share": share, "urban_only": bool(svc.urban_only), "blocks": blocks,
                              "block_cells": store.block_cells, "kind": "straight" if mode == "straight_line" else
                              "terrain", "fx": fx, "fy": fy, "service": svc}
    if mode == "straight_line":
        reach = int(math.ceil(cutoff / float(transform.a))) + 2
        fr, fc = _facility_rc(fx, fy, transform)
        usable = np.ones(idx.size, dtype=bool)
    else:
        from gisapp.travel.grid_search import points_to_rc

        modes = [svc.standard.mode]
        if svc.rural_standard is not None and svc.rural_standard.mode != svc.standard.mode:
            modes.append(svc.rural_standard.mode)
        info = store.terrain.get("modes", {})
        missing = [m for m in modes if m not in info]
        if missing:
            raise GisAppError(code="travel_speeds_missing",
                              params={"mode": missing[0], "have": ", ".join(info) or "-"})
        has_dem = bool(store.terrain.get("dem"))
        vmax = max(fastest(float(info[m]["vmax"]), walking=has_dem and bool(info[m]["walking"]),
                           bicycling=has_dem and bool(info[m]["bicycling"])) for m in modes)
        neighbours = int(spec.travel.get("neighbours", 16))
        reach = reach_of_speed(cutoff, vmax, (abs(float(transform.a)), abs(float(transform.e))), neighbours)
        rc = points_to_rc(fx, fy, transform)
        fr, fc = rc[:, 0].astype(np.int64), rc[:, 1].astype(np.int64)
        usable = (fr >= 0) & (fr < H) & (fc >= 0) & (fc < W)
        params.update(modes=modes, dem=has_dem, neighbours=neighbours)
    params.update(fr=fr, fc=fc)
    counter = {"pairs": 0, "done": 0, "total": 0}
    r_j = np.zeros(idx.size)
    t1 = time.perf_counter()
    n_rj = 0
    if supply is not None:
        items = []
        cand = np.flatnonzero(usable)
        for g0 in _groups(fr[cand], fc[cand], tile, (H, W)):
            g = cand[g0]
            win = window_bounds(fr[g], fc[g], reach, (H, W))
            if win[1] > win[0] and win[3] > win[2]:
                cells = (win[1] - win[0]) * (win[3] - win[2])
                if cells > run.max_window_cells:
                    raise GisAppError(code="dask_window_too_large",
                                      params={"cells": f"{cells:,}", "max": f"{run.max_window_cells:,}",
                                              "tile": tile, "reach": reach})
                items.append((g, win))
        n_rj = len(items)
        counter["total"] = n_rj + (-(-H // tile)) * (-(-W // tile))

        def rj_of(item: Any) -> tuple[Callable[[Any], Any], Any]:
            g, win = item
            return rj_task, {"store": str(store.path), "window": win, "cols": g, "supply": supply[g], "params": params}

        def rj_merge(item: Any, res: Any) -> None:
            r_j[item[0]] = res["r_j"]
            counter["pairs"] += res["n_pairs"]
            counter["done"] += 1
            if run.progress is not None:
                run.progress(counter["done"], counter["total"])

        map_tasks(run, items, rj_of, rj_merge)
    t2 = time.perf_counter()
    params2 = {**params, "r_j": r_j if supply is not None else None, "px": px, "py": py,
               "pdistrict": pdist, "n_places": n_places, "nd": len(ws.districts), "W": W, "trace": trace,
               "rows_of": idx.astype(np.float64)}
    ntr, ntc = -(-H // tile), -(-W // tile)
    counter["total"] = n_rj + ntr * ntc
    halo = (min(tile, H) + 2 * reach) * (min(tile, W) + 2 * reach)
    if halo > run.max_window_cells:  # a block and its halo: fail loudly rather than exhaust a worker
        raise GisAppError(code="dask_window_too_large", params={"cells": f"{halo:,}", "max": f"{run.max_window_cells:,}",
                                                                "tile": tile, "reach": reach})
    out_path = None
    tmp_out = None
    if out_store is not None:
        out_path = Path(out_store)
        tmp_out = _store.new_result_store(out_path, shape=(H, W), tile=tile, transform=transform,
                                          crs_wkt=store.crs_wkt, names=_OUT_ARRAYS)
    results: dict[int, dict[str, Any]] = {}
    n_cells = {"n": 0}

    def blk(k: int) -> tuple[Callable[[Any], Any], Any]:
        br, bc = divmod(k, ntc)
        r0, c0 = br * tile, bc * tile
        r1, c1 = min(r0 + tile, H), min(c0 + tile, W)
        win = (max(r0 - reach, 0), min(r1 + reach, H), max(c0 - reach, 0), min(c1 + reach, W))
        near = usable & (fr >= r0 - reach) & (fr < r1 + reach) & (fc >= c0 - reach) & (fc < c1 + reach)
        return block_task, {"store": str(store.path), "block": (r0, r1, c0, c1), "window": win,
                            "sub": np.flatnonzero(near), "params": params2,
                            "out": str(tmp_out) if tmp_out is not None else None}

    def blk_merge(k: int, res: Any) -> None:
        counter["done"] += 1
        if run.progress is not None:
            run.progress(counter["done"], counter["total"])
        counter["pairs"] += res.pop("n_pairs")
        n_cells["n"] += res.pop("cells")
        results[k] = res

    try:
        map_tasks(run, list(range(ntr * ntc)), blk, blk_merge)
    except BaseException:
        if tmp_out is not None:
            _store.drop_store(tmp_out)
        raise
    if tmp_out is not None and out_path is not None:
        _store.commit_store(tmp_out, out_path)
    t3 = time.perf_counter()
    sums = join_tiles(results, n_tile_cols=ntc, tile=tile, n_districts=len(ws.districts), n_places=n_places,
                      n_tiles=len(results), trace=trace)
    from gisapp.metrics.tables import coverage_from_sums

    table = coverage_from_sums(ws, sums.district_pop, sums.district_covered)
    t4 = time.perf_counter()
    return ChunkedResult(workspace=ws, service=svc, by_district=table, tiles=sums,
                         r_j=r_j if supply is not None else np.zeros(0), facility_idx=idx, cells=n_cells["n"],
                         pairs=counter["pairs"], tasks={"facilities": n_rj, "blocks": ntr * ntc},
                         out_store=out_path,
                         timings_s={"prepare": t1 - t0, "r_j": t2 - t1, "blocks": t3 - t2, "join": t4 - t3})
