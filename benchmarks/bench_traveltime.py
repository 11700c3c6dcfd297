"""Benchmark: friction travel time, ours (compiled kernel; CSR graph) vs scikit-image.

Runs scikit-image's ``MCP_Geometric``, :func:`gisapp.travel.grid_search.nearest` with
``engine="csr"`` (scipy's Dijkstra on the CSR graph of moves) and the compiled kernel of
:mod:`gisapp.travel.kernel` (numba, no graph; the default engine) on the same
random friction grid (isotropic: no DEM, 8 neighbours, the cost of a move = its length x the
mean of the two cells' minutes per metre, which is exactly MCP_Geometric's rule) from the
same 300 sources, in one process, and prints one JSON line per grid size with the keys
``bench``, ``size``, ``ours_s`` (graph build + search), ``peer_s`` (MCP construction +
search), ``ratio`` (peer / ours: > 1 means ours is faster), ``max_rel_diff`` (largest
relative difference of the travel times), and ``ours_wall_s`` / ``peer_wall_s``; a
``traveltime_query_...`` line gives the search alone (graph / MCP object built before).
The ``..._kernel`` lines give the kernel (``ours_s``: grid preparation + search) against
MCP (``ratio``) and against the CSR path (``ratio_vs_csr``), and ``kernel_bytes_per_cell``:
the peak of numpy's and numba's allocations (tracemalloc) of one end-to-end kernel run
(surface in, times and allocation out) divided by the number of cells.
The kernel is compiled once per process (numba, cached on disk): the warm-up run that both
engines get excludes compile time, as it excludes the peer's first-run costs.
Both engines run on one thread, so the times compared are CPU seconds
(``time.process_time``); both get the same treatment, printed in every line: one warm-up
run, then the median of 3 alternating runs (wall-clock medians are printed too: on a shared
machine they swing by tens of percent with the other load).

A second case per size times per-facility catchments bounded at 15 minutes (20 facilities):
:func:`gisapp.travel.grid_search.cost_matrix` against one ``MCP_Geometric.find_costs`` run per
facility with ``max_cumulative_cost``.

Usage: ``python benchmarks/bench_traveltime.py [--quick]`` (``--quick``: 1,000 x 1,000 only).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import tracemalloc
import warnings
from pathlib import Path

import numpy as np
from affine import Affine
from skimage.graph import MCP_Geometric

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _fair import REPEATS, WARMUP, timed, treatment  # noqa: E402

from gisapp.travel import kernel
from gisapp.travel.friction import FrictionSurface
from gisapp.travel.grid_search import cost_matrix, grid_graph, nearest

CELL_M = 100.0
N_SOURCES = 300
N_CATCHMENTS = 20  # facilities whose bounded catchments are computed one by one
CATCHMENT_MIN = 15.0


def make_case(size: int, seed: int = 0) -> tuple[FrictionSurface, np.ndarray]:
    """A size x size surface of random walking/driving speeds (2-60 km/h) and 300 sources."""
    rng = np.random.default_rng(seed)
    speed = rng.uniform(2.0, 60.0, (size, size)).astype(np.float32)
    mode = np.full((size, size), 3, dtype=np.int8)
    klass = np.zeros((size, size), dtype=np.int32)
    transform = Affine(CELL_M, 0, 0, 0, -CELL_M, size * CELL_M)
    surface = FrictionSurface(speed, mode, klass, transform, np.zeros((size, size), bool))
    sources = np.column_stack([rng.integers(0, size, N_SOURCES), rng.integers(0, size, N_SOURCES)])
    return surface, sources


def run(size: int, repeats: int) -> list[dict[str, object]]:
    """Time both engines on one grid size (a warm-up, then the median of ``repeats``, alternating).

    Returns two cases: end to end (MCP construction + search; our graph build + search)
    and query only (the MCP object / our graph built beforehand, as when a planner edits
    a scenario and only the search is run again).
    """
    surface, sources = make_case(size)
    starts = [tuple(s) for s in sources.tolist()]
    pace = 60.0 / (surface.speed_kph.astype(np.float64) * 1000.0)  # minutes per metre
    runs: dict[str, list[float]] = {k: [] for k in ("peer_build", "peer_query", "ours_build",
                                                    "ours_query", "peer_wall", "ours_wall",
                                                    "kern_build", "kern_query", "kern_wall")}
    peer = ours = kern = np.zeros(0)

    def keep(key: str, value: float) -> None:
        if warm_done:
            runs[key].append(value)

    warm_done = False
    for i in range(WARMUP + repeats):
        warm_done = i >= WARMUP
        w0, c0 = time.perf_counter(), time.process_time()
        mcp = MCP_Geometric(pace, fully_connected=True, sampling=(CELL_M, CELL_M))
        c1 = time.process_time()
        costs, _ = mcp.find_costs(starts)
        c2, w2 = time.process_time(), time.perf_counter()
        peer = np.asarray(costs)
        keep("peer_build", c1 - c0)
        keep("peer_query", c2 - c1)
        keep("peer_wall", w2 - w0)
        del mcp, costs
        w0, c0 = time.perf_counter(), time.process_time()
        graph = grid_graph(surface, neighbours=8)
        c1 = time.process_time()
        ours, _ = nearest(graph, sources, engine="csr")
        c2, w2 = time.process_time(), time.perf_counter()
        keep("ours_build", c1 - c0)
        keep("ours_query", c2 - c1)
        keep("ours_wall", w2 - w0)
        del graph
        w0, c0 = time.perf_counter(), time.process_time()
        grid = kernel.kernel_grid(surface, neighbours=8)
        c1 = time.process_time()
        kern, _ = kernel.nearest(grid, sources)
        c2, w2 = time.process_time(), time.perf_counter()
        keep("kern_build", c1 - c0)
        keep("kern_query", c2 - c1)
        keep("kern_wall", w2 - w0)
        del grid
    best = {k: statistics.median(v) for k, v in runs.items()}
    both = np.isfinite(ours) & np.isfinite(peer) & (peer > 0)
    rel = float((np.abs(ours[both] - peer[both]) / peer[both]).max())
    rel_k = float((np.abs(kern[both] - peer[both]) / peer[both]).max())
    end_ours = best["ours_build"] + best["ours_query"]
    end_peer = best["peer_build"] + best["peer_query"]
    end_kern = best["kern_build"] + best["kern_query"]
    tracemalloc.start()
    kernel.nearest(surface, sources, neighbours=8)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return [
        {"bench": "traveltime_isotropic_8n_300src_kernel", "size": f"{size}x{size}",
         "ours_s": round(end_kern, 3), "peer_s": round(end_peer, 3),
         "ratio": round(end_peer / end_kern, 3), "csr_s": round(end_ours, 3),
         "ratio_vs_csr": round(end_ours / end_kern, 3), "max_rel_diff": rel_k,
         "ours_wall_s": round(best["kern_wall"], 3), "peer_wall_s": round(best["peer_wall"], 3),
         "kernel_bytes_per_cell": round(peak / surface.speed_kph.size, 2),
         **treatment(WARMUP, repeats)},
        {"bench": "traveltime_query_8n_300src_kernel", "size": f"{size}x{size}",
         "ours_s": round(best["kern_query"], 3), "peer_s": round(best["peer_query"], 3),
         "ratio": round(best["peer_query"] / best["kern_query"], 3),
         "ratio_vs_csr": round(best["ours_query"] / best["kern_query"], 3), "max_rel_diff": rel_k,
         **treatment(WARMUP, repeats)},
        {"bench": "traveltime_isotropic_8n_300src", "size": f"{size}x{size}",
         "ours_s": round(end_ours, 3), "peer_s": round(end_peer, 3),
         "ratio": round(end_peer / end_ours, 3), "max_rel_diff": rel,
         "ours_wall_s": round(best["ours_wall"], 3), "peer_wall_s": round(best["peer_wall"], 3),
         **treatment(WARMUP, repeats)},
        {"bench": "traveltime_query_8n_300src", "size": f"{size}x{size}",
         "ours_s": round(best["ours_query"], 3), "peer_s": round(best["peer_query"], 3),
         "ratio": round(best["peer_query"] / best["ours_query"], 3), "max_rel_diff": rel,
         **treatment(WARMUP, repeats)},
    ]


def _mcp_bounded(mcp: MCP_Geometric, start: tuple[int, int]) -> np.ndarray:
    """One bounded MCP search (``max_cumulative_cost`` is deprecated in scikit-image 0.26)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        try:
            costs, _ = mcp.find_costs([start], max_cumulative_cost=CATCHMENT_MIN)
        except TypeError:  # removed (scikit-image >= 0.28): an unbounded search
            costs, _ = mcp.find_costs([start])
    return np.asarray(costs).ravel()


def run_catchments(size: int) -> dict[str, object]:
    """Per-facility catchments bounded at 15 minutes: cost_matrix vs one MCP run per facility."""
    surface, sources = make_case(size)
    sources = sources[:N_CATCHMENTS]
    pace = 60.0 / (surface.speed_kph.astype(np.float64) * 1000.0)
    cell_index = np.arange(size * size).reshape(size, size)

    def peer_run() -> list[np.ndarray]:
        mcp = MCP_Geometric(pace, fully_connected=True, sampling=(CELL_M, CELL_M))
        return [_mcp_bounded(mcp, (r, c)) for r, c in sources.tolist()]

    def ours_run():  # noqa: ANN202
        graph = grid_graph(surface, neighbours=8)
        return cost_matrix(graph, sources, cell_index, max_minutes=CATCHMENT_MIN, engine="csr")

    def kern_run():  # noqa: ANN202
        return kernel.cost_matrix(surface, sources, cell_index, max_minutes=CATCHMENT_MIN,
                                  neighbours=8)

    peer_s, peer_cols = timed(peer_run, clock=time.process_time)
    ours_s, cm = timed(ours_run, clock=time.process_time)
    kern_s, km = timed(kern_run, clock=time.process_time)
    peer_wall, _ = timed(peer_run, warmup=0)
    ours_wall, _ = timed(ours_run, warmup=0)
    kern_wall, _ = timed(kern_run, warmup=0)
    same = (km.nnz == cm.nnz and np.array_equal(km.matrix.indices, cm.matrix.indices)
            and np.allclose(km.matrix.data, cm.matrix.data, rtol=1e-9, atol=0))
    rows, cols, ours = cm.pairs()
    peer = np.array([peer_cols[j][i] for i, j in zip(rows[:200_000:97], cols[:200_000:97],
                                                    strict=True)])
    rel = np.abs(ours[:200_000:97] - peer) / np.maximum(peer, 1e-12)
    n_peer = sum(int(((col <= CATCHMENT_MIN) & np.isfinite(col)).sum()) for col in peer_cols)
    return {"bench": "catchments_8n_20fac_15min", "size": f"{size}x{size}",
            "ours_s": round(ours_s, 3), "peer_s": round(peer_s, 3),
            "ratio": round(peer_s / ours_s, 3), "max_rel_diff": float(rel.max()),
            "ours_wall_s": round(ours_wall, 3), "peer_wall_s": round(peer_wall, 3),
            "kernel_s": round(kern_s, 3), "kernel_ratio": round(peer_s / kern_s, 3),
            "kernel_ratio_vs_csr": round(ours_s / kern_s, 3), "kernel_wall_s": round(kern_wall, 3),
            "kernel_equals_csr_1e-9": bool(same),
            "pairs": int(cm.nnz), "peer_pairs": n_peer, **treatment()}


def main() -> None:
    """Parse arguments and print one JSON line per case."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="only 1,000 x 1,000")
    args = parser.parse_args()
    for size in (1000,) if args.quick else (1000, 2000):
        for case in run(size, repeats=REPEATS):
            print(json.dumps(case), flush=True)
        print(json.dumps(run_catchments(size)), flush=True)


if __name__ == "__main__":
    main()
