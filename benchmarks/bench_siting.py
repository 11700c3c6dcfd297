"""Benchmark gisapp.planning.mclp (exact MIP and greedy + swap) against PySAL spopt's MCLP.

Runs both on the same random instances in one process and prints one JSON line per case::

    {"bench": "mclp_exact" | "mclp_greedy", "size": "20000x1000", "k": 20,
     "ours_s": ..., "peer_s": ..., "ratio": peer_s / ours_s,
     "objective_gap": (peer_objective - ours_objective) / peer_objective, ...}

``objective_gap`` > 0 means ours covers fewer people than spopt (whose CBC solve is exact).
Extra keys: ``ours_objective``, ``peer_objective``, ``ours_optimal``, ``ours_cover_s`` (time
to build the cover matrix, included in ``ours_s``), ``peer_build_s``, ``peer_solve_s`` and
``peer_status`` (``"optimal"``, ``"feasible (time limit)"``, ``"skipped: ..."``).

Instances: demand points uniform in a 10 km square with integer weights 1-1,000, candidate
sites uniform in the same square, and coverage = Euclidean distance <= a radius at which one
site reaches about 2 % of the square (a bit less near the edges).  Both solvers start from
the same dense cost matrix (metres), which is what spopt's ``MCLP.from_cost_matrix`` takes;
ours thresholds it with :func:`gisapp.planning.cover.coverage_sets` (timed).

spopt's time is ``MCLP.from_cost_matrix`` (PuLP model build) plus ``solve`` with CBC.  With
``--peer-timeout`` the build is interrupted (SIGALRM) when it alone exceeds the budget, and
CBC gets what is left as its time limit; skipped peers are reported with ``peer_s: null``.

Usage::

    python benchmarks/bench_siting.py --quick               # 1,000 demand points only
    python benchmarks/bench_siting.py                       # 5,000 and 20,000 demand points
    python benchmarks/bench_siting.py --sizes 20000x1000 --ks 20 --peer-timeout 1800
"""

from __future__ import annotations

import argparse
import json
import math
import signal
import sys
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import FrameType
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.spatial.distance import cdist

from gisapp.planning.cover import SitingResult, coverage_sets
from gisapp.planning.mclp import mclp_exact, mclp_greedy

SIDE_M = 10_000.0
SITE_REACH_SHARE = 0.02  # share of the square one site reaches
QUICK_SIZES = [(1000, 100), (1000, 500), (1000, 1000)]
FULL_SIZES = [(5000, 100), (5000, 500), (5000, 1000), (20000, 100), (20000, 500), (20000, 1000)]
KS = [5, 10, 20]


@dataclass(frozen=True)
class Instance:
    """A random MCLP instance: dense cost (metres), weights and coverage radius (metres)."""

    cost_m: NDArray[np.float64]
    weights: NDArray[np.float64]
    radius_m: float

    @property
    def size(self) -> str:
        m, n = self.cost_m.shape
        return f"{m}x{n}"


@dataclass(frozen=True)
class Peer:
    """Outcome of one spopt run."""

    seconds: float | None
    build_s: float | None
    solve_s: float | None
    selected: NDArray[np.int64] | None
    status: str


class _PeerTimeoutError(Exception):
    pass


def make_instance(n_demand: int, n_sites: int, seed: int) -> Instance:
    """Uniform demand and candidate sites in a square, coverage radius reaching ~2 %."""
    rng = np.random.default_rng([seed, n_demand, n_sites])
    demand = rng.random((n_demand, 2)) * SIDE_M
    sites = rng.random((n_sites, 2)) * SIDE_M
    weights = rng.integers(1, 1001, n_demand).astype(np.float64)
    radius = SIDE_M * math.sqrt(SITE_REACH_SHARE / math.pi)
    return Instance(cdist(demand, sites), weights, radius)


@contextmanager
def _alarm(seconds: float) -> Iterator[None]:
    def _raise(_signum: int, _frame: FrameType | None) -> None:
        raise _PeerTimeoutError

    old = signal.signal(signal.SIGALRM, _raise)
    signal.setitimer(signal.ITIMER_REAL, max(seconds, 0.001))
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def run_spopt(inst: Instance, k: int, timeout_s: float) -> Peer:
    """spopt MCLP: PuLP model build + CBC solve, within ``timeout_s`` seconds."""
    import pulp
    from spopt.locate import MCLP

    t0 = time.perf_counter()
    try:
        with warnings.catch_warnings(), _alarm(timeout_s):
            warnings.simplefilter("ignore", DeprecationWarning)  # PuLP 3 -> 4 API notices
            model = MCLP.from_cost_matrix(inst.cost_m, inst.weights, inst.radius_m, k)
    except _PeerTimeoutError:
        return Peer(None, None, None, None, f"skipped: model build exceeded {timeout_s:.0f} s")
    build_s = time.perf_counter() - t0
    left = timeout_s - build_s
    if left <= 1:
        return Peer(None, build_s, None, None, f"skipped: no time left after build ({build_s:.0f} s)")
    t1 = time.perf_counter()
    try:
        model.solve(pulp.PULP_CBC_CMD(msg=False, timeLimit=left), results=False)
    except RuntimeError as err:  # spopt raises when the model is not solved
        return Peer(None, build_s, time.perf_counter() - t1, None, f"skipped: {err}")
    solve_s = time.perf_counter() - t1
    status = "optimal" if model.problem.sol_status == pulp.LpSolutionOptimal \
        else "feasible (time limit)"
    selected = np.array([j for j, v in enumerate(model.fac_vars) if (v.value() or 0) > 0.5],
                        dtype=np.int64)
    return Peer(build_s + solve_s, build_s, solve_s, selected, status)


def covered_weight(inst: Instance, selected: NDArray[np.int64]) -> float:
    """People within the radius of any selected site."""
    near = (inst.cost_m[:, selected] <= inst.radius_m).any(axis=1)
    return float(inst.weights[near].sum())


def run_ours(inst: Instance, k: int, exact: bool) -> tuple[SitingResult, float, float]:
    """Our solver from the dense cost matrix: (result, total seconds, cover-build seconds)."""
    t0 = time.perf_counter()
    cover = coverage_sets(inst.cost_m, inst.radius_m)
    t1 = time.perf_counter()
    res = mclp_exact(cover, inst.weights, k) if exact else mclp_greedy(cover, inst.weights, k)
    t2 = time.perf_counter()
    return res, t2 - t0, t1 - t0


def bench_case(inst: Instance, k: int, peer_timeout_s: float) -> list[dict[str, Any]]:
    """Run ours (exact, greedy) and spopt on one instance and k; one record per solver."""
    ours = {name: run_ours(inst, k, exact=(name == "mclp_exact"))
            for name in ("mclp_exact", "mclp_greedy")}
    peer = run_spopt(inst, k, peer_timeout_s)
    peer_obj = covered_weight(inst, peer.selected) if peer.selected is not None else None
    out = []
    for name, (res, seconds, cover_s) in ours.items():
        ours_obj = covered_weight(inst, res.selected)
        out.append({
            "bench": name,
            "size": inst.size,
            "k": k,
            "ours_s": round(seconds, 4),
            "peer_s": None if peer.seconds is None else round(peer.seconds, 3),
            "ratio": None if peer.seconds is None else round(peer.seconds / seconds, 1),
            "objective_gap": None if not peer_obj else (peer_obj - ours_obj) / peer_obj,
            "ours_objective": ours_obj,
            "peer_objective": peer_obj,
            "ours_optimal": res.optimal,
            "ours_cover_s": round(cover_s, 4),
            "peer_build_s": None if peer.build_s is None else round(peer.build_s, 3),
            "peer_solve_s": None if peer.solve_s is None else round(peer.solve_s, 3),
            "peer_status": peer.status,
        })
    return out


def _parse_sizes(text: str) -> list[tuple[int, int]]:
    sizes = []
    for part in text.split(","):
        m, n = part.lower().split("x")
        sizes.append((int(m), int(n)))
    return sizes


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, run the cases, print one JSON line each."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="only 1,000 demand points")
    parser.add_argument("--sizes", type=_parse_sizes, default=None,
                        help="comma-separated DEMANDxSITES, e.g. 5000x500,20000x1000")
    parser.add_argument("--ks", type=lambda s: [int(x) for x in s.split(",")], default=KS,
                        help="comma-separated numbers of new sites (default 5,10,20)")
    parser.add_argument("--peer-timeout", type=float, default=900.0,
                        help="seconds allowed to spopt (build + solve) per case (default 900)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    sizes = args.sizes or (QUICK_SIZES if args.quick else FULL_SIZES)
    for m, n in sizes:
        inst = make_instance(m, n, args.seed)
        for k in args.ks:
            if k > n:
                continue
            for record in bench_case(inst, k, args.peer_timeout):
                print(json.dumps(record), flush=True)
                if record["peer_s"] is None and record["bench"] == "mclp_exact":
                    print(f"# peer skipped at {record['size']} k={k}: {record['peer_status']}",
                          file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
