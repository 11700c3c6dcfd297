"""Run one service on a loaded workspace: nearest facility, coverage within the standard, 2SFCA access.

Everything is computed on flat per-cell arrays and the sparse cost matrix.  The tables built
from a :class:`ServiceResult` live in :mod:`.tables` (districts, classes, summary), :mod:`.gaps`,
:mod:`.equity` and :mod:`.consortia`.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

import geopandas as gpd
import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from gisapp._errors import GisAppError
from gisapp.config.spec import ServiceSpec, Standard
from gisapp.metrics import access as _access
from gisapp.travel.cost import CostMatrix, cost_matrix_from_pairs
from gisapp.travel.straight import nearest_straight_line, straight_line_cost
from gisapp.workspace import Workspace

if TYPE_CHECKING:
    from gisapp.metrics.dask_engine import DaskRun

__all__ = [
    "ENGINES",
    "TRAVEL_MODES",
    "ServiceResult",
    "run_service",
    "standard_minutes",
    "straight_line_travel",
    "per_cell_threshold",
    "terrain_thresholds",
    "tile_plan",
]


@dataclass(frozen=True)
class ServiceResult:
    """Per-cell results of one service (arrays are aligned with ``ws.grid`` cells).

    Attributes
    ----------
    service
        The service (with any standard overrides applied).
    facility_idx
        Rows of ``ws.facilities`` that serve this service.
    demand
        People of the service's demand group per cell.
    eligible
        Cells that count for this service (town cells only when ``urban_only``).
    nearest_m
        Straight-line distance to the nearest serving facility, metres.
    nearest_facility
        Row in ``ws.facilities`` of that facility (-1 if none).
    travel_cost
        Travel to it in the standard's unit (metres route length, or minutes).
    threshold_m
        Straight-line radius of the standard that applies to each cell, metres.
    covered
        Eligible cells within their standard.
    access_per_1000
        2SFCA capacity per 1,000 people reachable within the standard (NaN without capacity).
    cost
        The cells x serving-facilities cost matrix (metres, straight line x circuity).
    engine
        ``"local"`` (one machine) or ``"dask"`` (tiles on a cluster).
    cost_kept
        False when the dask engine was asked not to gather the pairs (province scale):
        :attr:`cost` is then empty and what needs it (capacity-limited coverage, siting)
        refuses to run rather than count nobody.
    """

    service: ServiceSpec
    facility_idx: NDArray[np.int64]
    demand: NDArray[np.float64]
    eligible: NDArray[np.bool_]
    nearest_m: NDArray[np.float64]
    nearest_facility: NDArray[np.int64]
    travel_cost: NDArray[np.float64]
    threshold_m: NDArray[np.float64]
    covered: NDArray[np.bool_]
    access_per_1000: NDArray[np.float64]
    cost: CostMatrix
    mode: str = "straight_line"
    cost_unit: str = ""
    timings_s: dict[str, float] = field(default_factory=dict)
    engine: str = "local"
    cost_kept: bool = True

    @property
    def unit(self) -> str:
        """Return the unit of :attr:`travel_cost`: "m" or "min" (always "min" in terrain mode)."""
        return self.cost_unit or self.service.standard.unit


def _standard_cost(dist_m: NDArray[np.float64], std: Standard) -> NDArray[np.float64]:
    if std.unit == "m":
        return dist_m * std.circuity
    return dist_m * std.circuity / (std.speed * 1000.0 / 60.0)


def straight_line_travel(near_m: NDArray[np.float64], svc: ServiceSpec,
                         town: NDArray[np.bool_]) -> NDArray[np.float64]:
    """Return travel to the nearest facility in the standard's unit, from straight-line metres.

    Town cells use the service's standard, country cells its rural standard when it has one
    in the same unit (route metres = distance x circuity; minutes = that / speed).
    """
    travel = _standard_cost(near_m, svc.standard)
    if svc.rural_standard is not None:
        rural = ~np.asarray(town, dtype=bool)
        rs = svc.rural_standard if svc.rural_standard.unit == svc.standard.unit else svc.standard
        travel[rural] = _standard_cost(near_m[rural], rs)
    return travel


def standard_minutes(std: Standard) -> float:
    """Return a standard as a travel time, minutes (a distance standard is walked at its speed).

    Examples
    --------
    >>> standard_minutes(Standard(distance_m=500, mode="walking", speed_kph=5.0))
    6.0
    """
    if std.time_min is not None:
        return float(std.time_min)
    return float(std.distance_m or 0.0) / (std.speed * 1000.0 / 60.0)


def terrain_thresholds(svc: ServiceSpec, town: NDArray[np.bool_]) -> NDArray[np.float64]:
    """Return the standard of each cell as a travel time, minutes (terrain mode; rural cells: the rural standard).

    Examples
    --------
    >>> svc = ServiceSpec(name="s", kinds=("k",), standard=Standard(time_min=15),
    ...                   rural_standard=Standard(time_min=30))
    >>> terrain_thresholds(svc, np.array([True, False])).tolist()
    [15.0, 30.0]
    """
    thr_min = np.full(np.asarray(town).size, standard_minutes(svc.standard))
    if svc.rural_standard is not None:
        thr_min[~np.asarray(town, dtype=bool)] = standard_minutes(svc.rural_standard)
    return thr_min


def _row_min(cost: CostMatrix) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """Return the smallest cost per row and its column (inf / -1 for empty rows).

    One pass over the CSR arrays (no sort of the pairs); among equal costs, the smallest column.
    """
    m = cost.matrix
    n = m.shape[0]
    best = np.full(n, np.inf)
    arg = np.full(n, -1, dtype=np.int64)
    if m.nnz == 0:
        return best, arg
    counts = np.diff(m.indptr)
    nz = counts > 0
    starts = m.indptr[:-1][nz]
    data = np.asarray(m.data, dtype=np.float64)
    mins = np.minimum.reduceat(data, starts)
    best[nz] = mins
    cols = np.where(data == np.repeat(mins, counts[nz]), m.indices, np.iinfo(m.indices.dtype).max)
    arg[nz] = np.minimum.reduceat(cols, starts)
    return best, arg


def per_cell_threshold(thr: NDArray[np.float64]) -> float | NDArray[np.float64]:
    """Return a threshold that is the same for every cell as one number (no copy of the matrix in
    :meth:`CostMatrix.within`), else the array."""
    if thr.size and float(thr.min()) == float(thr.max()):
        return float(thr[0])
    return thr


TRAVEL_MODES: Final = ("straight_line", "terrain")
ENGINES: Final = ("local", "dask")


def run_service(ws: Workspace, name: str, *, standard: Standard | None = None,
                rural_standard: Standard | None = None,
                facilities: gpd.GeoDataFrame | None = None,
                travel: str | None = None, engine: str = "local",
                dask: DaskRun | None = None, keep_cost: bool = True) -> ServiceResult:
    """Compute coverage and access of one service on a workspace.

    Parameters
    ----------
    ws
        The loaded workspace.
    name
        Service name (a key of the workspace's ``services``).
    standard, rural_standard
        Overrides of the service's standards (e.g. from the app's slider).
    facilities
        Another facility table to use (a scenario), same columns as ``ws.facilities``.
    travel
        ``"straight_line"`` (distance x circuity / speed) or ``"terrain"`` (travel time over
        the workspace's friction surface: roads, land cover, barriers, slope); default: the
        workspace's ``travel.default``, else straight line.  In terrain mode costs are
        minutes and a distance standard is walked at its mode's speed.
    engine
        ``"local"`` (default: the whole matrix on this machine) or ``"dask"``: tiles of
        facilities and their windows on a dask.distributed cluster
        (:mod:`gisapp.metrics.dask_engine`), the same results.
    dask
        How the dask engine runs (scheduler, workers, tile, whether to keep the pairs).
    keep_cost
        False: the result needs no cost matrix (coverage, access, tables, gaps), so none is
        built whole: on one machine the engine's tiles run one after another in this process
        and its memory is the per-cell arrays and one window's pairs (``cost_kept`` is then
        False).  With ``engine="dask"`` this is ``dask.keep_cost``.

    Returns
    -------
    ServiceResult

    Raises
    ------
    GisAppError
        If the service does not exist, or terrain mode is asked of a workspace without
        travel speeds.
    """
    t0 = time.perf_counter()
    if name not in ws.spec.services:
        raise GisAppError(code="unknown_service", params={"name": name, "known": ", ".join(ws.spec.services)})
    if engine not in ENGINES:
        raise GisAppError(code="unknown_engine", params={"engine": engine, "known": ", ".join(ENGINES)})
    mode = travel or ws.spec.travel.get("default", "straight_line")
    if mode not in TRAVEL_MODES:
        raise GisAppError(code="unknown_travel_mode", params={"mode": mode, "known": ", ".join(TRAVEL_MODES)})
    svc = ws.spec.services[name]
    if standard is not None or rural_standard is not None:
        svc = dataclasses.replace(svc, standard=standard or svc.standard,
                                  rural_standard=rural_standard if rural_standard is not None else svc.rural_standard)
    fac = ws.facilities if facilities is None else facilities
    serving = fac["kind"].isin(svc.kinds).to_numpy()
    if "closed" in fac.columns:  # scenario tables keep closed facilities, flagged
        serving = serving & ~fac["closed"].to_numpy(bool)
    idx = np.flatnonzero(serving)
    fx = fac["x"].to_numpy(float)[idx]
    fy = fac["y"].to_numpy(float)[idx]
    g = ws.grid
    demand = ws.demand(svc.demand)
    town = ws.town
    eligible = town.copy() if svc.urban_only else np.ones(g.n, dtype=bool)
    thr = np.full(g.n, svc.standard.straight_line_m)
    if svc.rural_standard is not None:
        thr[~town] = svc.rural_standard.straight_line_m
    t1 = time.perf_counter()
    if engine == "dask":
        return _run_dask(ws, svc, fac, idx, fx, fy, demand, town, eligible, thr, mode, dask, t0, t1)
    if not keep_cost:  # one machine, in tiles, the pairs never all held
        from gisapp.metrics.dask_engine import INLINE_TILE
        from gisapp.metrics.dask_engine import DaskRun as _Run

        res = _run_dask(ws, svc, fac, idx, fx, fy, demand, town, eligible, thr, mode,
                        _Run(inline=True, keep_cost=False, tile=INLINE_TILE), t0, t1)
        return dataclasses.replace(res, engine="local")
    near_m, near_j = nearest_straight_line(g.x, g.y, fx, fy)
    t2 = time.perf_counter()
    if mode == "straight_line":
        cutoff = float(thr.max())
        cost = straight_line_cost(g.cell_index, g.transform, fx, fy, cutoff_m=cutoff) if idx.size else \
            CostMatrix(sp.csr_array((g.n, 0)), "m", cutoff)
        t3 = time.perf_counter()
        covered = eligible & (near_m <= thr)
        travel_cost = straight_line_travel(near_m, svc, town)
        within = cost.within(per_cell_threshold(thr))
        unit = svc.standard.unit
        nearest_global = np.where(near_j >= 0, idx[np.clip(near_j, 0, max(idx.size - 1, 0))] if idx.size else -1, -1)
    else:
        from gisapp.travel import terrain as terrain

        thr_min = terrain_thresholds(svc, town)
        cutoff = float(thr_min.max())
        # one friction surface per travel mode; the rural standard may use another mode
        modes = {svc.standard.mode} | ({svc.rural_standard.mode} if svc.rural_standard else set())
        if len(modes) > 1 and svc.rural_standard is not None:
            urb = terrain.terrain_cost(ws, svc.standard.mode, fx, fy, max_minutes=cutoff).within(
                np.where(town, thr_min, -1.0))
            rur = terrain.terrain_cost(ws, svc.rural_standard.mode, fx, fy, max_minutes=cutoff).within(
                np.where(town, -1.0, thr_min))
            r1, c1, v1 = urb.pairs()
            r2, c2, v2 = rur.pairs()
            cost = cost_matrix_from_pairs(np.concatenate([r1, r2]), np.concatenate([c1, c2]),
                                          np.concatenate([v1, v2]), shape=urb.shape, unit="min", cutoff=cutoff)
        else:
            cost = terrain.terrain_cost(ws, svc.standard.mode, fx, fy, max_minutes=cutoff)
        t3 = time.perf_counter()
        travel_cost, arg = _row_min(cost)
        covered = eligible & (travel_cost <= thr_min)
        within = cost.within(per_cell_threshold(thr_min))
        unit = "min"
        nearest_global = np.where(arg >= 0, idx[np.clip(arg, 0, max(idx.size - 1, 0))] if idx.size else -1,
                                  np.where(near_j >= 0, idx[np.clip(near_j, 0, max(idx.size - 1, 0))] if idx.size else -1, -1))
    if svc.capacity and idx.size:
        supply = fac[svc.capacity].to_numpy(float)[idx]
        acc = _access.two_sfca(within, np.where(eligible, demand, 0.0), supply) * 1000.0
        acc = np.where(eligible, acc, np.nan)
    else:
        acc = np.full(g.n, np.nan)
    t4 = time.perf_counter()
    return ServiceResult(
        service=svc, facility_idx=idx, demand=demand, eligible=eligible, nearest_m=near_m,
        nearest_facility=np.asarray(nearest_global, dtype=np.int64), travel_cost=travel_cost, threshold_m=thr,
        covered=covered, access_per_1000=acc, cost=cost, mode=mode, cost_unit=unit,
        timings_s={"prepare": t1 - t0, "nearest": t2 - t1, "cost_matrix": t3 - t2, "coverage_2sfca": t4 - t3},
    )


def _nearest_rows(idx: NDArray[np.int64], j: NDArray[np.integer]) -> NDArray[np.int64]:
    """Rows of ``ws.facilities`` for serving-facility columns ``j`` (-1 stays -1)."""
    if idx.size == 0:
        return np.full(j.size, -1, dtype=np.int64)
    return np.where(j >= 0, idx[np.clip(j, 0, idx.size - 1)], -1)


def _tiled_kwargs(ws: Workspace, svc: ServiceSpec, town: NDArray[np.bool_], thr: NDArray[np.float64],
                  mode: str) -> dict[str, Any]:
    """What the dask engine's tasks need beyond the cells and facilities: the kind of cost, each
    cell's threshold in its unit, the cut-off, and in terrain mode the friction surfaces."""
    if mode == "straight_line":
        return {"kind": "straight", "threshold": thr, "cutoff": float(thr.max()), "cost_unit": "m"}
    from gisapp.metrics import dask_engine as _dk
    from gisapp.travel import terrain as terrain

    thr_min = terrain_thresholds(svc, town)
    modes = [svc.standard.mode]
    selectors: list[NDArray[np.float64] | None] = [None]
    if svc.rural_standard is not None and svc.rural_standard.mode != svc.standard.mode:
        modes = [svc.standard.mode, svc.rural_standard.mode]
        selectors = [np.where(town, thr_min, -1.0), np.where(town, -1.0, thr_min)]
    dem = terrain.dem_for(ws)
    surfaces = []
    for m, sel in zip(modes, selectors, strict=True):
        surf = terrain.surface_for(ws, m)
        surfaces.append(_dk.TerrainInput(speed_kph=surf.speed_kph, mode=surf.mode, klass=surf.klass,
                                         barrier=surf.barrier, dem=dem, selector=sel))
    return {"kind": "terrain", "threshold": thr_min, "cutoff": float(thr_min.max()), "cost_unit": "min",
            "surfaces": surfaces, "neighbours": int(ws.spec.travel.get("neighbours", 16))}


def tile_plan(ws: Workspace, res: ServiceResult, run: DaskRun) -> Any:
    """The dask engine's catchment tasks of ``res``'s service, within each cell's standard (a
    :class:`~gisapp.metrics.dask_engine.TilePlan`; for the capacity pass over the same catchments)."""
    from gisapp.metrics import dask_engine as _dk

    fac = ws.facilities
    idx = np.asarray(res.facility_idx, dtype=np.int64)
    kw = _tiled_kwargs(ws, res.service, ws.town, res.threshold_m, res.mode)
    kw.pop("cost_unit")
    g = ws.grid
    return _dk.plan_tiles(cell_index=g.cell_index, transform=g.transform, fx=fac["x"].to_numpy(float)[idx],
                          fy=fac["y"].to_numpy(float)[idx], demand=np.where(res.eligible, res.demand, 0.0),
                          supply=None, run=run, **kw)


def _run_dask(ws: Workspace, svc: ServiceSpec, fac: gpd.GeoDataFrame, idx: NDArray[np.int64],
              fx: NDArray[np.float64], fy: NDArray[np.float64], demand: NDArray[np.float64],
              town: NDArray[np.bool_], eligible: NDArray[np.bool_], thr: NDArray[np.float64],
              mode: str, run: DaskRun | None, t0: float, t1: float) -> ServiceResult:
    """:func:`run_service` on the dask engine (same results; see :mod:`.dask_engine`)."""
    from gisapp.metrics import dask_engine as _dk

    run = run or _dk.DaskRun()
    g = ws.grid
    supply = fac[svc.capacity].to_numpy(float)[idx] if (svc.capacity and idx.size) else None
    dem_eff = np.where(eligible, demand, 0.0)
    common: dict[str, Any] = {"cell_index": g.cell_index, "transform": g.transform, "cell_row": g.row, "cell_col": g.col,
              "fx": fx, "fy": fy, "demand": dem_eff, "supply": supply, "run": run}
    kw = _tiled_kwargs(ws, svc, town, thr, mode)
    tr = _dk.run_tiled(**kw, **common)
    if mode == "straight_line":
        covered = eligible & (tr.nearest_m <= thr)
        travel_cost = straight_line_travel(tr.nearest_m, svc, town)
        unit = svc.standard.unit
        nearest_global = _nearest_rows(idx, tr.nearest_j)
    else:
        travel_cost = tr.travel
        covered = eligible & (travel_cost <= kw["threshold"])
        unit = "min"
        nearest_global = np.where(tr.travel_j >= 0, _nearest_rows(idx, tr.travel_j),
                                  _nearest_rows(idx, tr.nearest_j))
    cost_unit, cutoff = kw["cost_unit"], kw["cutoff"]
    if supply is not None:
        acc = np.where(eligible, tr.access * 1000.0, np.nan)
    else:
        acc = np.full(g.n, np.nan)
    cost = tr.cost if tr.cost is not None else CostMatrix(sp.csr_array((g.n, idx.size)), cost_unit, cutoff)
    t4 = time.perf_counter()
    return ServiceResult(
        service=svc, facility_idx=idx, demand=demand, eligible=eligible, nearest_m=tr.nearest_m,
        nearest_facility=np.asarray(nearest_global, dtype=np.int64), travel_cost=travel_cost, threshold_m=thr,
        covered=covered, access_per_1000=acc, cost=cost, mode=mode, cost_unit=unit,
        timings_s={"prepare": t1 - t0, "tiled_total": t4 - t1, "tasks": float(tr.tasks),
                   "pairs": float(tr.n_pairs)},
        engine="dask", cost_kept=tr.cost is not None,
    )
