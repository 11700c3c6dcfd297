"""Travel time to the nearest facility over the whole grid, in tiles, by boundary relaxation.

The catchment tasks of :mod:`.dask_engine` are exact because each window covers the reach of
a bounded search.  A travel-time map without a bound (AccessMod's accessibility map: minutes
from every cell to its nearest facility, however far) has no such window.  Here the grid is cut
into ``tile`` x ``tile`` blocks, each with a *halo* of the cells one move away (1 cell with 8
neighbours, 2 with 16), and relaxed until nothing changes:

- the global times start at 0 on the facilities' cells and ``inf`` elsewhere;
- a round runs one task per *active* tile: a shortest-path search over the tile and its
  halo, started from every cell of the window whose current time is finite, at that time
  (a super-source joined to each such cell by an edge of its time);
- the core's new times (never larger) and the facility each comes from are merged; a tile
  whose cells within the halo's width of its edge improved makes its neighbours active;
- the rounds stop when no tile is active.

Every shortest path enters a tile's core last through its halo (moves are at most the halo's
width long), and the halo cells' times converge to their true values, so the result is the
single-machine search's (:func:`gisapp.travel.grid_search.nearest`): the same times, path by
path the same additions, and the same facility.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
from affine import Affine
from numpy.typing import NDArray
from scipy.sparse.csgraph import dijkstra

from gisapp.metrics.dask_engine import DaskRun, map_tasks
from gisapp.travel.friction import FrictionSurface, Mode
from gisapp.travel.grid_search import Direction, grid_graph

__all__ = ["TiledNearest", "nearest_tiled"]


@dataclass
class TiledNearest:
    """The result of :func:`nearest_tiled`."""

    minutes: NDArray[np.float64]  # (rows, cols), inf where no facility is reachable
    allocation: NDArray[np.int64]  # (rows, cols) index into the sources, -1 where none
    rounds: int
    tasks: int


def relax_task(spec: dict[str, Any]) -> dict[str, Any]:
    """One tile: a search over its window from every cell with a finite time, at that time."""
    surf = FrictionSurface(speed_kph=spec["speed_kph"], mode=spec["mode"], klass=spec["klass"],
                           transform=spec["transform"], barrier=spec["barrier"])
    graph = grid_graph(surf, dem=spec["dem"], mode=spec["travel_mode"], direction=spec["direction"],
                       neighbours=spec["neighbours"])
    t0: NDArray[np.float64] = spec["t"].ravel()
    lab0: NDArray[np.int64] = spec["label"].ravel()
    n = t0.size
    seeds = np.flatnonzero(np.isfinite(t0))
    csr = graph.csr
    m = csr.shape[0]
    indptr = np.concatenate([np.asarray(csr.indptr, dtype=np.int64), [int(csr.indptr[-1]) + seeds.size]])
    indices = np.concatenate([np.asarray(csr.indices, dtype=np.int64), seeds])
    data = np.concatenate([np.asarray(csr.data, dtype=np.float64), t0[seeds]])
    aug = sp.csr_array((data, indices, indptr), shape=(m + 1, m + 1))
    dist, pred = dijkstra(aug, directed=True, indices=m, return_predecessors=True, limit=spec["limit"])
    dist = np.asarray(dist[:n], dtype=np.float64)
    pred = np.asarray(pred[:n], dtype=np.int64)
    # the seed each cell's path starts from (pointer doubling on the predecessors)
    root = np.where(pred == m, np.arange(n), pred)
    root = np.where(root < 0, np.arange(n), root)
    while True:
        nxt = root[root]
        if np.array_equal(nxt, root):
            break
        root = nxt
    reached = np.isfinite(dist)
    label = np.where(reached, lab0[root], -1)
    # a seed keeps its own time and facility unless a strictly shorter path was found
    keep = np.isfinite(t0) & ~(dist < t0)
    dist = np.where(keep, t0, dist)
    label = np.where(keep, lab0, label)
    r0, r1, c0, c1 = spec["core"]  # the core within the window
    h, w = spec["t"].shape
    dist2, lab2 = dist.reshape(h, w)[r0:r1, c0:c1], label.reshape(h, w)[r0:r1, c0:c1]
    better = dist2 < spec["t"][r0:r1, c0:c1]
    hw = spec["halo"]
    edge = np.zeros(better.shape, dtype=bool)
    edge[:hw, :] = edge[-hw:, :] = edge[:, :hw] = edge[:, -hw:] = True
    return {"t": dist2, "label": lab2, "changed": bool(better.any()), "border": bool((better & edge).any())}


def nearest_tiled(surface: FrictionSurface, sources_rc: NDArray[np.integer], run: DaskRun, *,
                  dem: NDArray[np.floating] | None = None, mode: Mode | None = None,
                  direction: Direction = "towards", neighbours: int = 16,
                  max_minutes: float | None = None, max_rounds: int = 10_000) -> TiledNearest:
    """Travel time to the nearest source over the whole grid, in ``run.tile`` tiles (see the module).

    The same arguments as :func:`gisapp.travel.grid_search.nearest` (``on_impassable="skip"``:
    sources off the grid or on impassable cells are left out); ``run`` says where the tiles run
    (``inline``: in this process).  Returns the times and the facility of each cell, and how
    many rounds and tasks it took.
    """
    rows, cols = surface.shape
    tile = int(run.tile)
    halo = 2 if neighbours == 16 else 1
    t = np.full((rows, cols), np.inf)
    label = np.full((rows, cols), -1, dtype=np.int64)
    src = np.asarray(sources_rc, dtype=np.int64).reshape(-1, 2)
    passable = surface.passable.copy()  # as the graph has it (a barrier sets speed 0 where it applies)
    if dem is not None:
        passable &= np.isfinite(dem)
    for k in range(src.shape[0] - 1, -1, -1):  # where two share a cell, the first one
        r, c = int(src[k, 0]), int(src[k, 1])
        if 0 <= r < rows and 0 <= c < cols and passable[r, c]:
            t[r, c] = 0.0
            label[r, c] = k
    ntr, ntc = (rows + tile - 1) // tile, (cols + tile - 1) // tile
    active = {(int(r) // tile, int(c) // tile) for r, c in zip(*np.nonzero(t == 0.0), strict=True)}
    limit = np.inf if max_minutes is None else float(max_minutes)
    rounds = tasks = 0

    def task(item: tuple[int, int]) -> tuple[Any, dict[str, Any]]:
        tr, tc = item
        a0, a1 = tr * tile, min((tr + 1) * tile, rows)
        b0, b1 = tc * tile, min((tc + 1) * tile, cols)
        w0, w1 = max(a0 - halo, 0), min(a1 + halo, rows)
        v0, v1 = max(b0 - halo, 0), min(b1 + halo, cols)
        win = (slice(w0, w1), slice(v0, v1))
        return relax_task, {
            "speed_kph": np.ascontiguousarray(surface.speed_kph[win]), "mode": np.ascontiguousarray(surface.mode[win]),
            "klass": np.ascontiguousarray(surface.klass[win]), "barrier": np.ascontiguousarray(surface.barrier[win]),
            "transform": surface.transform * Affine.translation(v0, w0),
            "dem": None if dem is None else np.ascontiguousarray(dem[win]), "travel_mode": mode,
            "direction": direction, "neighbours": neighbours, "limit": limit, "halo": halo,
            "t": np.ascontiguousarray(t[win]), "label": np.ascontiguousarray(label[win]),
            "core": (a0 - w0, a1 - w0, b0 - v0, b1 - v0)}

    while active:
        rounds += 1
        if rounds > max_rounds:
            msg = f"nearest_tiled did not settle in {max_rounds} rounds"
            raise RuntimeError(msg)
        todo = sorted(active)
        active = set()
        results: dict[tuple[int, int], dict[str, Any]] = {}

        def merge(item: tuple[int, int], res: dict[str, Any], out: dict[Any, Any] = results) -> None:
            out[item] = res

        map_tasks(run, todo, task, merge)
        tasks += len(todo)
        for (tr, tc), res in results.items():  # the cores are disjoint: merged after the round
            if res["changed"]:
                a0, b0 = tr * tile, tc * tile
                h, w = res["t"].shape
                t[a0:a0 + h, b0:b0 + w] = res["t"]
                label[a0:a0 + h, b0:b0 + w] = res["label"]
            # the first round also announces the facilities themselves (already 0, never "improved")
            if res["border"] or rounds == 1:
                for dr in (-1, 0, 1):
                    for dc in (-1, 0, 1):
                        nr, nc = tr + dr, tc + dc
                        if (dr or dc) and 0 <= nr < ntr and 0 <= nc < ntc:
                            active.add((nr, nc))
    t[t > limit] = np.inf
    label[~np.isfinite(t)] = -1
    return TiledNearest(minutes=t, allocation=label, rounds=rounds, tasks=tasks)
