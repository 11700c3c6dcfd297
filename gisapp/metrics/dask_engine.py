"""``engine="dask"``: one service computed in tiles on a dask.distributed cluster, same results.

The single-machine path (:func:`gisapp.metrics.service.run_service` with ``engine="local"``)
builds the whole cells x facilities cost matrix at once: its memory follows the number of
pairs, which sets the limit of one machine.  This engine cuts the work into tasks that each
hold a bounded part of it:

- **Catchment tasks**: the facilities are grouped by the ``tile`` x ``tile`` block of grid
  cells they stand in; a task takes one group and a *window* of the grid around it of
  +/- the maximal reach (the cut-off distance, or the cut-off time x the fastest speed of
  the friction surface x the largest slope factor).  No path within the cut-off can leave
  the window, so its catchments are exact: straight-line pairs come from the same stencil
  with the whole grid's transform (the same floating-point distances), travel times from the
  compiled kernel on the window's friction surface.  Each task emits, for the cells of its
  window, the nearest of its facilities and its travel time (terrain), and its facilities'
  share of the 2SFCA sum: a catchment lies whole in its window, so R_j = S_j / demand within
  reach is final inside the task (pass 1), and the task adds R_j to every cell within
  reach (pass 2, summed over tasks on the client).  Optionally (``keep_cost``) the pairs.
- **Nearest tasks**: straight-line distance to the nearest facility over the whole grid, on
  chunks of cells against a tree of every facility (nearest across tile borders, exact).
- The client merges the tasks as they finish, keeping at most ``2 x workers`` in flight, so
  that the windows it cuts out are never all held at once (:func:`map_tasks`).
- District tables and gap areas are reduced per tile of the grid in a second pass
  (:mod:`gisapp.metrics.gap_tiles`); people served within capacity are swept on the client
  over catchments that the workers compute and hold (:func:`capacity_tiled`).

A window larger than ``max_window_cells`` fails loudly (a guard against an unbounded task:
a reach much larger than the tile) instead of quietly exhausting a worker.  Runs on a
:class:`distributed.LocalCluster` started for the call, or on an existing scheduler
(``scheduler="tcp://host:8786"`` or a :class:`distributed.Client`).  A task whose worker
dies is run again on another worker (dask's ``allowed-failures``); when that is exhausted
the run fails with a message that says so.
"""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp
from affine import Affine
from numpy.typing import NDArray

from gisapp._errors import GisAppError
from gisapp.travel.cost import CostMatrix, cost_matrix_from_pairs
from gisapp.travel.friction import BICYCLE_MAX_FACTOR, Mode
from gisapp.travel.straight import nearest_straight_line, stencil_pairs

__all__ = ["DEFAULT_TILE", "DaskRun", "TilePlan", "TiledResult", "capacity_tiled", "map_tasks", "plan_tiles",
           "release_held", "run_tiled", "window_bounds"]

#: Edge of the block of grid cells whose facilities form one catchment task, cells.
DEFAULT_TILE = 512
#: The tile of the single-machine path without the matrix (one window's pairs at a time).
INLINE_TILE = 256
#: Largest window (cells) a task may cut out; beyond it the run fails loudly.
DEFAULT_MAX_WINDOW_CELLS = 64_000_000
#: Cells per nearest-facility task.
NEAREST_CHUNK = 500_000
#: Times a task is run again after its worker died, before the run fails with a message.
RETRIES = 2
# Tobler's walking speed at its fastest slope relative to flat ground (1 / exp(-3.5 x 0.05)).
_TOBLER_MAX = 1.0 / math.exp(-3.5 * 0.05)


@dataclass(frozen=True)
class DaskRun:
    """How to run: where (scheduler) and in what pieces.

    Attributes
    ----------
    scheduler
        None: a LocalCluster for the call; a ``tcp://`` address; or a ``distributed.Client``.
    workers
        Workers of the LocalCluster (default 2).
    memory_limit
        Memory limit per worker of the LocalCluster (bytes or "4GiB"; default dask's "auto").
    tile
        Edge of a facility block, cells.
    keep_cost
        Gather every pair into the result's cost matrix (city scale); False keeps only the
        per-cell results (province scale: the pairs would not fit).
    max_window_cells
        Guard on the window of one task.
    progress
        Called with (tasks done, tasks in all) as tasks finish.
    inline
        No cluster: run the same tasks one after another in this process (the single-machine
        path without the whole matrix: its memory is the per-cell arrays and one window).
    hold
        A dict the caller keeps for the run: the catchment tasks then also keep each group's
        catchments within the standard on its worker (futures stored here), and the capacity
        pass (:func:`capacity_tiled`) uses them instead of computing them again.  Release them
        with :func:`release_held`.
    """

    scheduler: Any = None
    workers: int | None = None
    memory_limit: int | str | None = None
    tile: int = DEFAULT_TILE
    keep_cost: bool = True
    max_window_cells: int = DEFAULT_MAX_WINDOW_CELLS
    progress: Callable[[int, int], None] | None = None
    inline: bool = False
    hold: dict[Any, Any] | None = field(default=None, compare=False, repr=False)


@dataclass
class TiledResult:
    """Per-cell arrays merged from the tasks (aligned with the grid's cells)."""

    nearest_m: NDArray[np.float64]
    nearest_j: NDArray[np.int32]
    travel: NDArray[np.float64]  # terrain: minutes to the nearest facility (inf beyond the cut-off); empty otherwise
    travel_j: NDArray[np.int32]  # terrain: its column (-1 where none); empty otherwise
    access: NDArray[np.float64]  # 2SFCA sum of R_j (not yet x 1000); empty without capacity
    cost: CostMatrix | None
    n_pairs: int
    tasks: int
    windows: list[tuple[int, int, int, int]] = field(default_factory=list)


@dataclass(frozen=True)
class TerrainInput:
    """What a terrain task needs per travel mode: the friction surface and the cells it serves."""

    speed_kph: NDArray[np.float32]
    mode: NDArray[np.int8]
    klass: NDArray[np.int32]
    barrier: NDArray[np.bool_]
    dem: NDArray[np.float64] | None
    selector: NDArray[np.float64] | None  # per cell: the threshold of cells this mode serves (-1: none)
    bicycle_cap: float = BICYCLE_MAX_FACTOR


# --------------------------------------------------------------------------- windows


def window_bounds(rows: NDArray[np.int64], cols: NDArray[np.int64], reach: int,
                  shape: tuple[int, int]) -> tuple[int, int, int, int]:
    """Return the window (row0, row1, col0, col1) around cells ``rows, cols`` +/- ``reach``, clipped.

    Examples
    --------
    >>> window_bounds(np.array([5]), np.array([0]), 3, (100, 100))
    (2, 9, 0, 4)
    """
    r0 = max(int(rows.min()) - reach, 0)
    r1 = min(int(rows.max()) + reach + 1, shape[0])
    c0 = max(int(cols.min()) - reach, 0)
    c1 = min(int(cols.max()) + reach + 1, shape[1])
    return r0, r1, c0, c1


def _groups(rows: NDArray[np.int64], cols: NDArray[np.int64], tile: int,
            shape: tuple[int, int]) -> list[NDArray[np.int64]]:
    """Facility positions grouped by the tile their (clipped) cell lies in, in tile order."""
    if rows.size == 0:
        return []
    tr = np.clip(rows, 0, shape[0] - 1) // tile
    tc = np.clip(cols, 0, shape[1] - 1) // tile
    key = tr * (shape[1] // tile + 1) + tc
    order = np.argsort(key, kind="stable")
    bounds = np.flatnonzero(np.diff(key[order])) + 1
    return [g.astype(np.int64) for g in np.split(order, bounds)]


def terrain_reach_cells(cutoff_min: float, surfaces: list[TerrainInput],
                        cell_size_m: tuple[float, float], neighbours: int) -> int:
    """Return how many cells a search bounded by ``cutoff_min`` can travel at most.

    The fastest flat speed of the surfaces, times Tobler's largest factor when walking cells
    have a DEM, or the bicycle's downhill cap when bicycling ones do; plus the move padding.
    """
    vmax = 0.0
    for s in surfaces:
        passable = (s.mode > 0) & (s.speed_kph > 0)
        if not passable.any():
            continue
        walking = s.dem is not None and bool((s.mode[passable] == int(Mode.WALKING)).any())
        bicycling = s.dem is not None and bool((s.mode[passable] == int(Mode.BICYCLING)).any())
        vmax = max(vmax, fastest(float(s.speed_kph[passable].max()), walking=walking, bicycling=bicycling,
                                 bicycle_cap=s.bicycle_cap))
    return reach_of_speed(cutoff_min, vmax, cell_size_m, neighbours)


def fastest(vmax_kph: float, *, walking: bool, bicycling: bool, bicycle_cap: float = BICYCLE_MAX_FACTOR) -> float:
    """The fastest speed on a surface whose flat maximum is ``vmax_kph``, with the slope's largest factor
    when it has walking (Tobler) or bicycling cells and a DEM (say so with ``walking`` / ``bicycling``)."""
    factor = 1.0
    if walking:
        factor = max(factor, _TOBLER_MAX)
    if bicycling:
        factor = max(factor, bicycle_cap)
    return vmax_kph * factor


def reach_of_speed(cutoff_min: float, vmax_kph: float, cell_size_m: tuple[float, float], neighbours: int) -> int:
    """Cells a search bounded by ``cutoff_min`` can travel at most at ``vmax_kph``, plus the move padding."""
    metres = cutoff_min * vmax_kph * 1000.0 / 60.0
    return int(math.ceil(metres / min(cell_size_m))) + (2 if neighbours == 16 else 1) + 1


# --------------------------------------------------------------------------- the tasks (run on workers)


def _row_min(p: NDArray[np.int64], cols: NDArray[np.int64], cost: NDArray[np.float64]
             ) -> tuple[NDArray[np.int64], NDArray[np.float64], NDArray[np.int64]]:
    """Per cell: the smallest cost and its column (the smallest column among equal costs)."""
    if p.size == 0:
        return p, cost, cols
    order = np.lexsort((cols, cost, p))
    ps = p[order]
    first = np.ones(ps.size, dtype=bool)
    first[1:] = ps[1:] != ps[:-1]
    pick = order[first]
    return p[pick], cost[pick], cols[pick]


def _task_pairs(spec: dict[str, Any]) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64],
                                                NDArray[np.float64]]:
    """The pairs of one group of facilities on its window: (window cell ids ascending, local cell
    position, local facility position, cost); every pair within the cut-off."""
    ci_w: NDArray[np.int64] = spec["cell_index"]
    ids = np.sort(ci_w[ci_w >= 0])
    cols: NDArray[np.int64] = spec["cols"]
    if spec["kind"] == "straight":
        rows, counts, dist = stencil_pairs(ci_w, spec["transform"], spec["fx"], spec["fy"],
                                           cutoff_m=spec["cutoff"], origin=spec["origin"])
        p = np.searchsorted(ids, rows.astype(np.int64))
        f = np.repeat(np.arange(cols.size, dtype=np.int64), counts)
        c = dist * 1.0  # straight_line_cost's circuity of 1 (the same floating-point values)
        return ids, p, f, c
    from gisapp.travel.friction import FrictionSurface
    from gisapp.travel.kernel import cost_matrix, kernel_grid

    local = np.full(ci_w.shape, -1, dtype=np.int64)
    local[ci_w >= 0] = np.searchsorted(ids, ci_w[ci_w >= 0])
    ps, fs, cs = [], [], []
    for s in spec["surfaces"]:
        surf = FrictionSurface(speed_kph=s.speed_kph, mode=s.mode, klass=s.klass,
                               transform=spec["transform_w"], barrier=s.barrier)
        kg = kernel_grid(surf, dem=s.dem, direction="towards", neighbours=spec["neighbours"],
                         bicycle_max_factor=s.bicycle_cap)
        cm = cost_matrix(kg, spec["rc"], local, max_minutes=spec["cutoff"], on_impassable="skip")
        del kg
        r, cc, v = cm.pairs()
        if s.selector is not None:
            keep = v <= s.selector[r]
            r, cc, v = r[keep], cc[keep], v[keep]
        ps.append(r)
        fs.append(cc)
        cs.append(v)
    return ids, np.concatenate(ps), np.concatenate(fs), np.concatenate(cs)


def catchment_task(spec: dict[str, Any]) -> dict[str, Any]:
    """One group of facilities on its window: nearest, 2SFCA share and (optionally) pairs.

    ``spec`` holds numpy arrays only (it is shipped to a worker); see :func:`run_tiled`.
    """
    ids, p, f, c = _task_pairs(spec)
    n_local = ids.size
    cols: NDArray[np.int64] = spec["cols"]
    out: dict[str, Any] = {"n_pairs": int(p.size)}
    gcol = cols[f]
    if spec["kind"] == "terrain":
        bp, bc, bj = _row_min(p, gcol, c)
        out["best_ids"], out["best_cost"], out["best_col"] = ids[bp], bc, bj
    supply = spec["supply"]
    if supply is not None:
        keep = c <= spec["thr"][p]
        pk, fk = p[keep], f[keep]
        denom = np.bincount(fk, weights=spec["demand"][pk], minlength=cols.size)
        r_j = np.zeros(cols.size)
        np.divide(supply, denom, out=r_j, where=denom > 0)
        acc = np.bincount(pk, weights=r_j[fk], minlength=n_local)
        nz = np.flatnonzero(np.bincount(pk, minlength=n_local))
        out["acc_ids"], out["acc"] = ids[nz], acc[nz]
    if spec["keep_cost"]:
        out["pairs"] = (ids[p], gcol, c)
    if spec.get("hold"):  # the catchments within the standard stay on this worker for the capacity pass
        return {"summary": out, "within": _within(ids, p, f, c, spec)}
    return out


def _summary(res: dict[str, Any]) -> dict[str, Any]:
    """What the client gathers of a held catchment task (its catchments stay on the worker)."""
    return dict(res["summary"])


def _held_within(res: dict[str, Any]) -> dict[str, Any]:
    return dict(res["within"])


def within_task(spec: dict[str, Any]) -> dict[str, Any]:
    """One group's catchments within each cell's standard, by facility, cells ascending.

    Kept on its worker for the capacity pass (:func:`capacity_tiled`); returns also the
    people within reach of each facility (summed in ascending cell order, as the sparse
    product of one machine sums them, so the processing order is the same).
    """
    ids, p, f, c = _task_pairs(spec)
    return _within(ids, p, f, c, spec)


def _within(ids: NDArray[np.int64], p: NDArray[np.int64], f: NDArray[np.int64], c: NDArray[np.float64],
            spec: dict[str, Any]) -> dict[str, Any]:
    """The pairs within each cell's standard, by facility then cell (see :func:`within_task`)."""
    keep = c <= spec["thr"][p]
    p, f, c = p[keep], f[keep], c[keep]
    order = np.lexsort((p, f))
    p, f, c = p[order], f[order], c[order]
    n_f = int(spec["cols"].size)
    ptr = np.zeros(n_f + 1, dtype=np.int64)
    np.cumsum(np.bincount(f, minlength=n_f), out=ptr[1:])
    total = np.bincount(f, weights=spec["demand"][p], minlength=n_f)
    cells = ids[p]
    if ids.size and int(ids[-1]) < 2**31:  # held until the sweep ends: 12 bytes a pair, not 16
        cells = cells.astype(np.int32)
    return {"cells": cells, "t": c, "ptr": ptr, "total": np.asarray(total, dtype=np.float64)}


def _within_total(held: dict[str, Any]) -> NDArray[np.float64]:
    return np.asarray(held["total"])


def _within_slices(held: dict[str, Any], local: list[int]) -> list[tuple[NDArray[np.int64], NDArray[np.float64]]]:
    """The catchments (cells, costs) of the group's facilities at positions ``local``."""
    ptr = held["ptr"]
    return [(held["cells"][ptr[k]:ptr[k + 1]].astype(np.int64), held["t"][ptr[k]:ptr[k + 1]]) for k in local]


def nearest_task(x: NDArray[np.float64], y: NDArray[np.float64], fx: NDArray[np.float64],
                 fy: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """Straight-line nearest facility of a chunk of cells, against every facility."""
    return nearest_straight_line(x, y, fx, fy)


def map_tasks(run: DaskRun, items: list[Any], task: Callable[[Any], tuple[Callable[[Any], Any], Any]],
              merge: Callable[[Any, Any], None], *, keep: Callable[[Any], Any] | None = None) -> None:
    """Run ``fn(data)`` for each item (``fn, data = task(item)``) and ``merge(item, result)`` as each finishes.

    ``run.inline``: one after another in this process.  Otherwise on the cluster of ``run``,
    at most two tasks per worker in flight (the client prepares a task's data only when it is
    sent, so it never holds all of them), each task's data sent to a worker by ``scatter`` (not
    inside the task graph); a task whose worker died (or whose data died with it) is run again,
    at most :data:`RETRIES` times, then the run fails with ``dask_worker_died``.

    ``keep``: for an item it names (a key, not None), the task's whole result stays on its
    worker (its future is stored in ``run.hold[key]``) and only its ``"summary"`` is gathered
    and merged.
    """
    if run.inline:
        for item in items:
            fn, data = task(item)
            merge(item, fn(data))
        return
    distributed = _distributed()
    todo = list(reversed(items))
    with client_for(run) as client:
        in_flight = max(2, 2 * len(client.scheduler_info().get("workers", {})))
        seq = distributed.as_completed()
        meta: dict[str, Any] = {}
        lost = _worker_lost(distributed)
        tries: dict[int, int] = {}

        def failed(item: Any, exc: BaseException) -> None:
            # a worker died (killed, out of memory) with the task or its data: run it again
            # (scattered data has no lineage, so dask cannot); fail with a message after RETRIES
            n_try = tries.get(id(item), 0) + 1
            tries[id(item)] = n_try
            if n_try > RETRIES:
                raise GisAppError(code="dask_worker_died",
                                  params={"tries": n_try, "detail": f"{type(exc).__name__}: {str(exc)[:160]}"}) from exc

        def submit(item: Any) -> None:
            while True:
                try:
                    fn, data = task(item)
                    [ref] = client.scatter([data], hash=False)
                    fut = client.submit(fn, ref, pure=False)
                    key = keep(item) if keep is not None else None
                    if key is not None and run.hold is not None:
                        run.hold[key] = fut
                        fut = client.submit(_summary, fut, pure=False)
                except lost as exc:  # the worker died while receiving the data
                    failed(item, exc)
                    client.wait_for_workers(1, timeout=120)
                    continue
                meta[fut.key] = item
                seq.add(fut)
                return

        for _ in range(min(in_flight, len(todo))):
            submit(todo.pop())
        for fut in seq:
            item = meta.pop(fut.key)
            try:
                res = fut.result()
            except lost as exc:
                fut.release()
                failed(item, exc)
                submit(item)
                continue
            fut.release()
            if todo:
                submit(todo.pop())
            merge(item, res)
            del res


def _worker_lost(distributed: Any) -> tuple[type[BaseException], ...]:
    """The exceptions of a task whose worker (or the worker holding its data) died."""
    import asyncio
    import concurrent.futures

    # FutureCancelledError (data lost with its worker) is a concurrent.futures.CancelledError
    return (distributed.KilledWorker, asyncio.CancelledError, concurrent.futures.CancelledError,
            distributed.comm.CommClosedError)


def _nearest_packed(data: tuple[NDArray[np.float64], ...]) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    return nearest_task(*data)


# --------------------------------------------------------------------------- the client


def _distributed() -> Any:
    try:
        import distributed
    except ImportError as exc:  # an install without the cluster extra
        raise GisAppError(code="dask_missing") from exc
    return distributed


@contextlib.contextmanager
def client_for(run: DaskRun) -> Iterator[Any]:
    """Yield a ``distributed.Client``: the one given, one on ``run.scheduler``, or a LocalCluster's."""
    distributed = _distributed()
    if isinstance(run.scheduler, distributed.Client):
        yield run.scheduler
        return
    if isinstance(run.scheduler, str) and run.scheduler:
        try:
            client = distributed.Client(run.scheduler, timeout="20s")
        except OSError as exc:
            raise GisAppError(code="dask_no_scheduler", params={"address": run.scheduler}) from exc
        with client:
            yield client
        return
    os.environ.setdefault("NUMBA_NUM_THREADS", "1")
    with distributed.LocalCluster(n_workers=run.workers or 2, threads_per_worker=1, processes=True,
                                  memory_limit=run.memory_limit if run.memory_limit is not None else "auto",
                                  dashboard_address=":0", silence_logs=40) as cluster, \
            distributed.Client(cluster) as client:
        client.wait_for_workers(run.workers or 2, timeout=120)
        yield client


def _facility_rc(fx: NDArray[np.float64], fy: NDArray[np.float64],
                 transform: Affine) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """The cell (row, col) of each facility as the stencil finds it (may lie off the grid)."""
    res = float(transform.a)
    c = np.rint((fx - transform.c) / res - 0.5).astype(np.int64)
    r = np.rint((transform.f - fy) / res - 0.5).astype(np.int64)
    return r, c


@dataclass
class TilePlan:
    """The catchment tasks of one service: facility groups and their windows, and how to cut a task's data."""

    kind: str
    cell_index: NDArray[np.int64]
    transform: Affine
    fx: NDArray[np.float64]
    fy: NDArray[np.float64]
    fr: NDArray[np.int64]
    fc: NDArray[np.int64]
    demand: NDArray[np.float64]
    threshold: NDArray[np.float64]
    cutoff: float
    supply: NDArray[np.float64] | None
    keep_cost: bool
    surfaces: list[TerrainInput]
    neighbours: int
    specs: list[tuple[NDArray[np.int64], tuple[int, int, int, int]]]

    def make(self, g: NDArray[np.int64], win: tuple[int, int, int, int]) -> dict[str, Any]:
        """The data of the task of facilities ``g`` on window ``win`` (numpy arrays, shipped to a worker)."""
        r0, r1, c0, c1 = win
        ci_w = np.ascontiguousarray(self.cell_index[r0:r1, c0:c1])
        ids = np.sort(ci_w[ci_w >= 0])
        spec: dict[str, Any] = {
            "kind": self.kind, "cell_index": ci_w, "cols": g, "cutoff": float(self.cutoff),
            "keep_cost": self.keep_cost, "thr": self.threshold[ids], "demand": self.demand[ids],
            "supply": None if self.supply is None else np.asarray(self.supply, dtype=np.float64)[g],
        }
        if self.kind == "straight":
            spec.update(transform=self.transform, fx=self.fx[g], fy=self.fy[g], origin=(r0, c0))
        else:
            spec.update(transform_w=self.transform * Affine.translation(c0, r0), neighbours=self.neighbours,
                        rc=np.column_stack([self.fr[g] - r0, self.fc[g] - c0]),
                        surfaces=[TerrainInput(
                            speed_kph=np.ascontiguousarray(s.speed_kph[r0:r1, c0:c1]),
                            mode=np.ascontiguousarray(s.mode[r0:r1, c0:c1]),
                            klass=np.ascontiguousarray(s.klass[r0:r1, c0:c1]),
                            barrier=np.ascontiguousarray(s.barrier[r0:r1, c0:c1]),
                            dem=None if s.dem is None else np.ascontiguousarray(s.dem[r0:r1, c0:c1]),
                            selector=None if s.selector is None else s.selector[ids],
                            bicycle_cap=s.bicycle_cap) for s in self.surfaces])
        return spec


def plan_tiles(*, kind: str, cell_index: NDArray[np.int64], transform: Affine, fx: NDArray[np.float64],
               fy: NDArray[np.float64], demand: NDArray[np.float64], threshold: NDArray[np.float64],
               cutoff: float, supply: NDArray[np.float64] | None, run: DaskRun,
               surfaces: list[TerrainInput] | None = None, neighbours: int = 16) -> TilePlan:
    """Group the facilities by tile and give each group its window (see :func:`run_tiled`).

    Raises
    ------
    GisAppError
        ``dask_bad_tile`` for a tile below one cell; ``dask_window_too_large`` when a window
        exceeds ``run.max_window_cells``.
    """
    shape = (int(cell_index.shape[0]), int(cell_index.shape[1]))
    n_fac = int(fx.size)
    tile = int(run.tile)
    if tile < 1:
        raise GisAppError(code="dask_bad_tile", params={"tile": tile})
    if kind == "straight":
        fr, fc = _facility_rc(fx, fy, transform)
        usable = np.ones(n_fac, dtype=bool)
        reach = int(math.ceil(cutoff / float(transform.a))) + 2
    else:
        from gisapp.travel.grid_search import points_to_rc

        rc = points_to_rc(fx, fy, transform)
        fr, fc = rc[:, 0].astype(np.int64), rc[:, 1].astype(np.int64)
        usable = (fr >= 0) & (fr < shape[0]) & (fc >= 0) & (fc < shape[1])
        cell_size = (abs(float(transform.a)), abs(float(transform.e)))
        reach = terrain_reach_cells(cutoff, surfaces or [], cell_size, neighbours)
    cand = np.flatnonzero(usable)
    groups = [cand[g] for g in _groups(fr[cand], fc[cand], tile, shape)]
    specs: list[tuple[NDArray[np.int64], tuple[int, int, int, int]]] = []
    for g in groups:
        r0, r1, c0, c1 = window_bounds(fr[g], fc[g], reach, shape)
        if r1 <= r0 or c1 <= c0:
            continue  # facilities far off the grid: they reach no cell
        cells = (r1 - r0) * (c1 - c0)
        if cells > run.max_window_cells:
            raise GisAppError(code="dask_window_too_large",
                              params={"cells": f"{cells:,}", "max": f"{run.max_window_cells:,}",
                                      "tile": tile, "reach": reach})
        specs.append((g, (r0, r1, c0, c1)))
    return TilePlan(kind=kind, cell_index=cell_index, transform=transform, fx=fx, fy=fy, fr=fr, fc=fc,
                    demand=demand, threshold=threshold, cutoff=float(cutoff), supply=supply,
                    keep_cost=bool(run.keep_cost), surfaces=list(surfaces or []), neighbours=neighbours, specs=specs)


def run_tiled(
    *,
    kind: str,
    cell_index: NDArray[np.int64],
    transform: Affine,
    cell_row: NDArray[np.int64],
    cell_col: NDArray[np.int64],
    fx: NDArray[np.float64],
    fy: NDArray[np.float64],
    demand: NDArray[np.float64],
    threshold: NDArray[np.float64],
    cutoff: float,
    supply: NDArray[np.float64] | None,
    run: DaskRun,
    surfaces: list[TerrainInput] | None = None,
    neighbours: int = 16,
    cost_unit: str = "m",
) -> TiledResult:
    """Compute one service in tiles on a cluster (see the module's text).

    Parameters
    ----------
    kind
        ``"straight"`` or ``"terrain"``.
    cell_index
        (rows, cols) population cell id per grid cell, -1 where none.
    transform
        The grid's transform.
    cell_row, cell_col
        Grid row and column of each cell (their centres, computed by chunk as
        :attr:`gisapp.grid.population.PopulationGrid.x` does, give the straight-line nearest facility).
    fx, fy
        The serving facilities' coordinates (their order is the columns').
    demand
        Demand per cell counted by 2SFCA (0 for cells that are not eligible).
    threshold
        Per cell: the standard, in the cost's unit (metres straight line, minutes terrain).
    cutoff
        The largest threshold (the catchments' bound).
    supply
        Capacity per facility, or None (no 2SFCA).
    surfaces
        Terrain: one :class:`TerrainInput` per travel mode.
    """
    plan = plan_tiles(kind=kind, cell_index=cell_index, transform=transform, fx=fx, fy=fy, demand=demand,
                      threshold=threshold, cutoff=cutoff, supply=supply, run=run, surfaces=surfaces,
                      neighbours=neighbours)
    specs, make = plan.specs, plan.make
    n = int(cell_row.size)
    n_fac = int(fx.size)

    def cell_xy(a: int, b: int) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        x = np.asarray(transform.c + (cell_col[a:b] + 0.5) * transform.a, dtype=np.float64)
        y = np.asarray(transform.f + (cell_row[a:b] + 0.5) * transform.e, dtype=np.float64)
        return x, y

    # the client's per-cell arrays: only those the kind of run needs (each is 4-8 bytes a cell)
    terrain = kind == "terrain"
    near_m = np.full(n, np.inf)
    near_j = np.full(n, -1, dtype=np.int32)
    travel = np.full(n if terrain else 0, np.inf)
    travel_j = np.full(n if terrain else 0, -1, dtype=np.int32)
    access = np.zeros(n if supply is not None else 0)
    pairs: list[tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64]]] = []
    chunks = [(a, min(a + NEAREST_CHUNK, n)) for a in range(0, n, NEAREST_CHUNK)] if n_fac else []
    total = len(specs) + len(chunks)
    counter = {"pairs": 0, "done": 0}

    def merge(item: Any, res: Any) -> None:
        if item[0] == "near":
            _, a, b = item
            near_m[a:b], near_j[a:b] = res
        else:
            counter["pairs"] += res["n_pairs"]
            if "best_ids" in res:
                ids, bc, bj = res["best_ids"], res["best_cost"], res["best_col"]
                cur, curj = travel[ids], travel_j[ids]
                better = (bc < cur) | ((bc == cur) & ((curj < 0) | (bj < curj)))
                travel[ids[better]] = bc[better]
                travel_j[ids[better]] = bj[better]
            if "acc_ids" in res:
                access[res["acc_ids"]] += res["acc"]
            if "pairs" in res:
                pairs.append(res["pairs"])
        counter["done"] += 1
        if run.progress is not None:
            run.progress(counter["done"], total)

    todo: list[Any] = [("near", a, b) for a, b in chunks] + [("catch", g, w) for g, w in specs]

    hold = run.hold is not None and not run.inline and not run.keep_cost

    def task(item: Any) -> tuple[Callable[[Any], Any], Any]:
        if item[0] == "near":
            return _nearest_packed, (*cell_xy(item[1], item[2]), fx, fy)
        spec = make(item[1], item[2])
        spec["hold"] = hold
        return catchment_task, spec

    map_tasks(run, todo, task, merge, keep=(lambda item: _held_key(item[1], item[2]) if item[0] == "catch" else None)
              if hold else None)
    cost: CostMatrix | None = None
    if run.keep_cost:
        r = np.concatenate([p[0] for p in pairs]) if pairs else np.zeros(0, np.int64)
        cidx = np.concatenate([p[1] for p in pairs]) if pairs else np.zeros(0, np.int64)
        v = np.concatenate([p[2] for p in pairs]) if pairs else np.zeros(0)
        pairs.clear()
        cost = cost_matrix_from_pairs(r, cidx, v, shape=(n, n_fac), unit=cost_unit,  # type: ignore[arg-type]
                                      cutoff=float(cutoff))
    return TiledResult(nearest_m=near_m, nearest_j=near_j, travel=travel, travel_j=travel_j,
                       access=access, cost=cost, n_pairs=counter["pairs"], tasks=len(specs),
                       windows=[w for _, w in specs])



# --------------------------------------------------------------------------- capacity-limited coverage


def _held_key(g: NDArray[np.int64], win: tuple[int, int, int, int]) -> tuple[Any, ...]:
    """The key of a group's held catchments: its window and its facilities."""
    return (*win, g.size, int(g[0]) if g.size else -1, int(g[-1]) if g.size else -1)


def release_held(run: DaskRun) -> None:
    """Let the workers drop the catchments ``run.hold`` keeps."""
    if run.hold:
        for fut in run.hold.values():
            with contextlib.suppress(Exception):
                fut.release()
        run.hold.clear()


def capacity_tiled(plan: TilePlan, run: DaskRun, *, n_cells: int, pop: NDArray[np.float64],
                   capacity: NDArray[np.float64], unit: str, ring_minutes: float | None,
                   zone: NDArray[np.int64] | None = None, zone_ids: list[Any] | None = None,
                   facility_ids: list[Any] | None = None) -> Any:
    """Capacity-limited coverage (AccessMod style) with the catchments held by the workers.

    The order of the facilities is global (most people within reach first) and each facility
    takes from what earlier ones left, so the sweep itself runs on the client, facility by
    facility, as on one machine (:func:`gisapp.metrics.capacity.capacity_coverage`).  What is
    distributed is what does not fit on one machine: each task computes its group's catchments
    within each cell's standard and *keeps* them on its worker (pass 1, which also gives each
    facility's people within reach, hence the order); the sweep then asks the workers for the
    catchments of the next :data:`~gisapp.metrics.capacity.COLUMN_BATCH` facilities in order
    (pass 2).  The client holds the per-cell residual and one batch of catchments; the workers
    hold the catchments, each a share.  Same results as one machine: the same pairs, summed in
    the same order.  A worker that dies takes its groups' catchments with it: they are computed
    again (at most :data:`RETRIES` times).

    ``pop`` is the demand counted (0 where not eligible), ``capacity`` people per facility
    (the plan's columns), ``unit`` the cost's unit ("m" or "min").
    """
    from gisapp.metrics.capacity import capacity_coverage
    from gisapp.travel.cost import CostMatrix

    n_fac = int(plan.fx.size)
    owner = np.full(n_fac, -1, dtype=np.int64)
    pos = np.zeros(n_fac, dtype=np.int64)
    for k, (g, _) in enumerate(plan.specs):
        owner[g] = k
        pos[g] = np.arange(g.size)
    total = np.zeros(n_fac)
    empty = (np.zeros(0, dtype=np.int64), np.zeros(0))
    dummy = CostMatrix(sp.csr_array((n_cells, n_fac)), unit, plan.cutoff)  # type: ignore[arg-type]

    Cols = list[tuple[NDArray[np.int64], NDArray[np.float64]]]

    def sweep(fetch: Callable[[dict[int, list[int]]], dict[int, Cols]]) -> Any:
        order = np.asarray(np.lexsort((np.arange(n_fac), -total)), dtype=np.int64)  # population_order

        def columns(batch: NDArray[np.int64]) -> Iterator[tuple[NDArray[np.int64], NDArray[np.float64]]]:
            ks = owner[batch]
            want = {k: pos[batch[ks == k]].tolist() for k in np.unique(ks[ks >= 0]).tolist()}
            got_k = fetch(want)
            got: dict[int, tuple[NDArray[np.int64], NDArray[np.float64]]] = {}
            for k, cols in got_k.items():
                got.update(zip(batch[ks == k].tolist(), cols, strict=True))
            for j in batch.tolist():
                yield got.get(j, empty)

        return capacity_coverage(pop, dummy, capacity, order=order, ring_minutes=ring_minutes, zone=zone,
                                 zone_ids=zone_ids, facility_ids=facility_ids, columns=columns,
                                 keep_allocation=False)

    if run.inline:
        held_local = []
        for k, (g, win) in enumerate(plan.specs):
            held_local.append(within_task(plan.make(g, win)))
            total[g] = held_local[k]["total"]
        return sweep(lambda want: {k: _within_slices(held_local[k], locs) for k, locs in want.items()})

    distributed = _distributed()
    lost = _worker_lost(distributed)
    kept = run.hold if run.hold is not None else {}
    reuse = [kept.get(_held_key(g, win)) for g, win in plan.specs]
    with client_for(run) as client:
        in_flight = max(2, 2 * len(client.scheduler_info().get("workers", {})))
        held: dict[int, Any] = {}
        tries: dict[int, int] = {}

        def hold(k: int) -> Any:
            g, win = plan.specs[k]
            while True:
                try:
                    [ref] = client.scatter([plan.make(g, win)], hash=False)
                    held[k] = client.submit(within_task, ref, pure=False)
                    return client.submit(_within_total, held[k], pure=False)
                except lost as exc:
                    again(k, exc)

        def again(k: int, exc: BaseException) -> None:
            tries[k] = tries.get(k, 0) + 1
            if tries[k] > RETRIES:
                raise GisAppError(code="dask_worker_died",
                                  params={"tries": tries[k], "detail": f"{type(exc).__name__}: {str(exc)[:160]}"}) from exc
            client.wait_for_workers(1, timeout=120)

        # pass 1: every group's catchments, kept on the workers; at most two tasks per worker in flight
        # (those the catchment pass already keeps are used as they are, if their worker is alive)
        todo = []
        seq = distributed.as_completed()
        which: dict[str, int] = {}
        for k in range(len(plan.specs) - 1, -1, -1):
            fut = reuse[k]
            if fut is not None and fut.status == "finished":
                held[k] = client.submit(_held_within, fut, pure=False)
                tot = client.submit(_within_total, held[k], pure=False)
                which[tot.key] = k
                seq.add(tot)
            else:
                todo.append(k)
        for _ in range(min(in_flight, len(todo))):
            k = todo.pop()
            fut = hold(k)
            which[fut.key] = k
            seq.add(fut)
        for fut in seq:
            k = which.pop(fut.key)
            try:
                total[plan.specs[k][0]] = fut.result()
            except lost as exc:
                again(k, exc)
                fut = hold(k)
                which[fut.key] = k
                seq.add(fut)
                continue
            if todo:
                nk = todo.pop()
                nf = hold(nk)
                which[nf.key] = nk
                seq.add(nf)

        def fetch(want: dict[int, list[int]]) -> dict[int, Cols]:
            futs = {k: client.submit(_within_slices, held[k], locs, pure=False) for k, locs in want.items()}
            out: dict[int, Cols] = {}
            for k, fut in futs.items():
                while True:
                    try:
                        out[k] = fut.result()
                        break
                    except lost as exc:  # the worker holding them died: compute them again
                        again(k, exc)
                        hold(k).result()
                        fut = client.submit(_within_slices, held[k], want[k], pure=False)
            return out

        try:
            return sweep(fetch)
        finally:
            for fut in held.values():
                fut.release()
