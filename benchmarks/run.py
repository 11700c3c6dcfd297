"""Benchmark our 2SFCA / E2SFCA against PySAL ``access`` on identical data, in one process.

Each case: n demand cells on a regular 100 m grid, 500 facilities placed at random in the
same square, a 5 km catchment.  The peer's time is its cost-table build
(``Access.create_euclidean_distance``) plus the measure; ours is our sparse cost matrix
(:func:`gisapp.travel.straight_line_cost`) plus the measure.  A third engine is the plain
baseline a good engineer would write: a KD-tree sparse distance table
(``scipy.spatial.cKDTree.sparse_distance_matrix``) fed to the same 2SFCA, so the ratio
``baseline_s / ours_s`` shows what our cost-matrix method adds beyond "use a KD-tree".

Every engine gets the same treatment (``_fair.timed``: one warm-up run, then the median of
3), printed in each line.  Prints one JSON line per case: ``bench, size, ours_s, peer_s,
ratio (peer / ours), baseline_s, baseline_ratio, max_rel_diff, treatment``.  Absolute times
on a shared 2-core machine are noise; the ratios are the result.

Sizes where the peer may run out of memory (``--peer-sizes``) run the peer in a child
process; what it did (finished, or died and how) is measured and printed, never written in.

Usage::

    python benchmarks/run.py --quick      # 10k and 50k cells
    python benchmarks/run.py              # + 100k and 1M (the peer tried in a child) + demo pipeline
"""

from __future__ import annotations

import argparse
import gc
import json
import resource
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from affine import Affine

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import scipy.sparse as sp  # noqa: E402
from _fair import timed, treatment  # noqa: E402
from scipy.spatial import cKDTree  # noqa: E402

from gisapp.metrics import access as gacc  # noqa: E402
from gisapp.travel.cost import CostMatrix  # noqa: E402
from gisapp.travel.straight import straight_line_cost  # noqa: E402

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


def _cells_xy(cell_index, T) -> tuple[np.ndarray, np.ndarray]:
    rr, cc = np.nonzero(cell_index >= 0)
    order = np.argsort(cell_index[rr, cc])
    return (T.c + (cc + 0.5) * RES)[order], (T.f - (rr + 0.5) * RES)[order]


def _measure(cm: CostMatrix, pop, sup, method: str) -> np.ndarray:
    if method == "2sfca":
        return gacc.two_sfca(cm, pop, sup, max_cost=CATCH)
    return gacc.e2sfca(cm, pop, sup, steps=STEPS, max_cost=CATCH)


def ours(case, method: str) -> np.ndarray:
    cell_index, T, fx, fy, pop, sup = case
    cm = straight_line_cost(cell_index, T, fx, fy, cutoff_m=CATCH)
    return _measure(cm, pop, sup, method)


def baseline(case, method: str, xy: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """The plain baseline: a KD-tree sparse distance table fed to the same 2SFCA.

    ``sparse_distance_matrix`` drops zero distances (a facility on a cell centre); at random
    real positions that never happens, so the table equals ours.
    """
    _, T, fx, fy, pop, sup = case
    cells = cKDTree(np.column_stack(xy))
    facs = cKDTree(np.column_stack([fx, fy]))
    d = cells.sparse_distance_matrix(facs, CATCH, output_type="coo_matrix")
    cm = CostMatrix(sp.csr_array(d), "m", CATCH)
    return _measure(cm, pop, sup, method)


def peer(case, method: str) -> np.ndarray:
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
    vals = out.iloc[:, 0].reindex(np.arange(pop.size)).to_numpy(float)
    return np.nan_to_num(vals)


def max_rel(a: np.ndarray, b: np.ndarray) -> float:
    nz = np.abs(b) > 0
    rel = np.abs(a[nz] - b[nz]) / np.abs(b[nz])
    zero_mismatch = float(np.abs(a[~nz]).max()) if (~nz).any() else 0.0
    return float(max(rel.max() if rel.size else 0.0, zero_mismatch))


def peer_in_child(n: int, n_fac: int, method: str, mem_gib: float) -> dict[str, object]:
    """Run the peer on one case in a child process with an address-space limit; report what happened."""
    cmd = [sys.executable, __file__, "--peer-child", str(n), str(n_fac), method]
    limit = int(mem_gib * 2**30)

    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, preexec_fn=cap, check=False)
    wall = time.perf_counter() - t0
    if proc.returncode == 0:
        return {"peer_child": "finished", "peer_s": json.loads(proc.stdout.strip().splitlines()[-1])["peer_s"]}
    tail = (proc.stderr.strip().splitlines() or [""])[-1][:200]
    return {"peer_child": f"failed (exit {proc.returncode}) after {wall:.0f} s under a {mem_gib:g} GiB limit: {tail}"}


def run_case(n: int, n_fac: int, with_peer: bool, mem_gib: float = 20.0) -> None:
    case = make_case(n, n_fac)
    xy = _cells_xy(case[0], case[1])
    for method in ("2sfca", "e2sfca"):
        t_ours, a_ours = timed(lambda m=method: ours(case, m))
        t_base, a_base = timed(lambda m=method: baseline(case, m, xy))
        row: dict[str, object] = {"bench": method, "size": f"{n}x{n_fac}", "ours_s": round(t_ours, 4),
                                  "baseline_s": round(t_base, 4), "baseline_ratio": round(t_base / t_ours, 2),
                                  "baseline_max_rel_diff": max_rel(a_ours, a_base)}
        if with_peer:
            gc.collect()
            t_peer, a_peer = timed(lambda m=method: peer(case, m))
            row.update(peer_s=round(t_peer, 3), ratio=round(t_peer / t_ours, 1),
                       max_rel_diff=max_rel(a_ours, a_peer))
        else:
            out = peer_in_child(n, n_fac, method, mem_gib)
            row.update(out)
            if "peer_s" in out:
                row["ratio"] = round(float(out["peer_s"]) / t_ours, 1)  # type: ignore[arg-type]
        row.update(treatment())
        print(json.dumps(row), flush=True)


def _peer_child(n: int, n_fac: int, method: str) -> None:
    case = make_case(n, n_fac)
    t_peer, _ = timed(lambda: peer(case, method))
    print(json.dumps({"peer_s": round(t_peer, 3)}), flush=True)


def run_pipeline() -> None:
    from gisapp.cli import main

    main(["pipeline"])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="10k and 50k cells only")
    ap.add_argument("--no-pipeline", action="store_true", help="skip the demo pipeline timing")
    ap.add_argument("--peer-mem-gib", type=float, default=20.0,
                    help="address-space limit of the peer's child process at large sizes")
    ap.add_argument("--peer-child", nargs=3, metavar=("N", "N_FAC", "METHOD"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.peer_child:
        _peer_child(int(args.peer_child[0]), int(args.peer_child[1]), args.peer_child[2])
        return 0
    sizes = [10_000, 50_000] if args.quick else [10_000, 50_000, 100_000]
    for n in sizes:
        run_case(n, 500, with_peer=True)
    if not args.quick:
        run_case(1_000_000, 500, with_peer=False, mem_gib=args.peer_mem_gib)
        if not args.no_pipeline:
            run_pipeline()
    return 0


if __name__ == "__main__":
    sys.exit(main())
