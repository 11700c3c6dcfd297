"""Benchmark our 2SFCA / E2SFCA against PySAL ``access`` on identical data, in one process.

Each case: n demand cells on a regular 100 m grid, 500 facilities placed at random in the
same square, a 5 km catchment.  The peer's time is its cost-table build
(``Access.create_euclidean_distance``) plus the measure; ours is our sparse cost matrix
(:func:`gisapp.travel.straight_line_cost`) plus the measure.  Prints one JSON line per case:
``bench, size, ours_s, peer_s, ratio (peer / ours), max_rel_diff``.  Absolute times on a
shared 2-core machine are noise; the ratio is the result.

Usage::

    python benchmarks/run.py --quick      # 10k and 50k cells
    python benchmarks/run.py              # + 100k (peer) and 1M (ours only) + demo pipeline
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from affine import Affine

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gisapp.metrics import access as gacc
from gisapp.travel.straight import straight_line_cost

RES = 100.0
CATCH = 5000.0
STEPS = {CATCH / 3: 1.0, 2 * CATCH / 3: 0.68, CATCH: 0.22}


def make_case(n_cells: int, n_fac: int, seed: int = 0):
    side = int(round(np.sqrt(n_cells)))
    nrow, ncol = side, int(np.ceil(n_cells / side))
    rng = np.random.default_rng(seed)
    cell_index = np.full((nrow, ncol), -1, dtype=np.int64)
    flat = cell_index.ravel()
    flat[:n_cells] = np.arange(n_cells)
    T = Affine(RES, 0, 0.0, 0, -RES, nrow * RES)
    fx = rng.uniform(0, ncol * RES, n_fac)
    fy = rng.uniform(0, nrow * RES, n_fac)
    pop = rng.gamma(1.0, 20.0, n_cells)
    sup = rng.integers(1, 60, n_fac).astype(float)
    return cell_index, T, fx, fy, pop, sup


def ours(case, method: str) -> tuple[float, np.ndarray]:
    cell_index, T, fx, fy, pop, sup = case
    t0 = time.perf_counter()
    cm = straight_line_cost(cell_index, T, fx, fy, cutoff_m=CATCH)
    if method == "2sfca":
        a = gacc.two_sfca(cm, pop, sup, max_cost=CATCH)
    else:
        a = gacc.e2sfca(cm, pop, sup, steps=STEPS, max_cost=CATCH)
    return time.perf_counter() - t0, a


def peer(case, method: str) -> tuple[float, np.ndarray]:
    import geopandas as gpd

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from access import Access, weights
    cell_index, T, fx, fy, pop, sup = case
    rr, cc = np.nonzero(cell_index >= 0)
    ids = cell_index[rr, cc]
    order = np.argsort(ids)
    x = (T.c + (cc + 0.5) * RES)[order]
    y = (T.f - (rr + 0.5) * RES)[order]
    dem = gpd.GeoDataFrame({"geoid": np.arange(pop.size), "pop": pop}, geometry=gpd.points_from_xy(x, y), crs=4543)
    supdf = gpd.GeoDataFrame({"geoid": np.arange(sup.size), "cap": sup}, geometry=gpd.points_from_xy(fx, fy), crs=4543)
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = Access(demand_df=dem.set_index("geoid"), demand_index=True, demand_value="pop",
                   supply_df=supdf.set_index("geoid"), supply_index=True, supply_value="cap")
        a.create_euclidean_distance(name="euclidean", threshold=CATCH)
        if method == "2sfca":
            out = a.two_stage_fca(name="x", cost="euclidean", max_cost=CATCH)
        else:
            out = a.enhanced_two_stage_fca(name="x", cost="euclidean", max_cost=CATCH,
                                           weight_fn=weights.step_fn(STEPS))
    dt = time.perf_counter() - t0
    vals = out.iloc[:, 0].reindex(np.arange(pop.size)).to_numpy(float)
    return dt, np.nan_to_num(vals)


def max_rel(a: np.ndarray, b: np.ndarray) -> float:
    nz = np.abs(b) > 0
    rel = np.abs(a[nz] - b[nz]) / np.abs(b[nz])
    zero_mismatch = float(np.abs(a[~nz]).max()) if (~nz).any() else 0.0
    return float(max(rel.max() if rel.size else 0.0, zero_mismatch))


def run_case(n: int, n_fac: int, with_peer: bool) -> None:
    case = make_case(n, n_fac)
    for method in ("2sfca", "e2sfca"):
        ours(case, method)  # warm-up (page faults, imports)
        t_ours = min(ours(case, method)[0] for _ in range(3))
        a_ours = ours(case, method)[1]
        row = {"bench": method, "size": f"{n}x{n_fac}", "ours_s": round(t_ours, 4)}
        if with_peer:
            gc.collect()
            t_peer, a_peer = peer(case, method)
            row.update(peer_s=round(t_peer, 3), ratio=round(t_peer / t_ours, 1),
                       max_rel_diff=max_rel(a_ours, a_peer))
        else:
            row.update(peer_s=None, ratio=None, max_rel_diff=None,
                       note="peer skipped: PySAL access needs a dense cells x facilities table (out of memory at 1M x 500)")
        print(json.dumps(row), flush=True)


def run_pipeline() -> None:
    from gisapp.cli import main

    main(["pipeline"])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="10k and 50k cells only")
    ap.add_argument("--no-pipeline", action="store_true", help="skip the demo pipeline timing")
    args = ap.parse_args()
    sizes = [10_000, 50_000] if args.quick else [10_000, 50_000, 100_000]
    for n in sizes:
        run_case(n, 500, with_peer=True)
    if not args.quick:
        run_case(1_000_000, 500, with_peer=False)
        if not args.no_pipeline:
            run_pipeline()
    return 0


if __name__ == "__main__":
    sys.exit(main())
