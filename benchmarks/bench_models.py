"""Benchmark every location model of gisapp.planning against PySAL spopt, fairly.

For each model -- ``mclp`` (:func:`gisapp.planning.mclp.suggest_sites`), ``lscp``
(:func:`gisapp.planning.lscp.lscp`), ``p_median`` and ``p_median_capacitated``
(:func:`gisapp.planning.pmedian.p_median`), ``p_center``
(:func:`gisapp.planning.pcenter.p_center`) -- on one random instance it runs:

* ours, exact and heuristic;
* spopt's model (``from_cost_matrix``) solved by PuLP with HiGHS (``pulp.HiGHS``, through
  ``highspy``: the same solver as ours) and with PuLP's default CBC.

Treatment: every runner is warm (one untimed warm-up run first, in the same process), then
timed ``--repeats`` times (default 3) and the median reported.  A spopt runner whose
warm-up alone exceeds ``--peer-timeout`` seconds (model build interrupted by SIGALRM, or
solver time limit) is reported from that single run with its status, not repeated; one
whose model would hold more than ``--peer-max-pairs`` assignment variables is skipped
(PuLP builds one Python object per variable).  Our exact solvers get ``--time-limit``.

Printed per model and runner: build time, solve time, total, objective, status, the gap to
the exact objective (ours when proven optimal, else spopt's optimal one), and the speed
ratio spopt-with-HiGHS / ours (``x_highs``) and spopt-with-CBC / ours (``x_cbc``).  Build
time is the model build (spopt: ``from_cost_matrix``; ours: the reductions and model
arrays, plus the cover matrix for MCLP); solve time the rest.

Instance: demand points uniform in a 10 km square (integer weights 1-1,000), candidate
sites uniform in the same square, Euclidean cost in metres, dense.  MCLP uses a radius
at which one site reaches about ``--reach`` of the square (default 2 %), LSCP the same
radius widened, if needed, until every demand point is within reach of some site; the
capacitated p-median gives every site ``--cap-factor`` (default 1.5) x total weight / p.

Usage::

    python benchmarks/bench_models.py --quick                 # 2,000 x 200
    python benchmarks/bench_models.py                         # 20,000 x 1,000
    python benchmarks/bench_models.py --size 5000x500 --models p_median,mclp --p 20
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import signal
import statistics
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from functools import partial
from types import FrameType
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray
from scipy.spatial.distance import cdist

SIDE_M = 10_000.0
MODELS = ("mclp", "lscp", "p_median", "p_median_capacitated", "p_center")
MAXIMISE = {"mclp"}


@dataclass(frozen=True)
class Instance:
    """A random instance: dense cost (metres), weights, coverage radius, p, capacities."""

    cost: NDArray[np.float64]
    weights: NDArray[np.float64]
    radius: float
    p: int
    capacity: NDArray[np.float64]

    @property
    def size(self) -> str:
        m, n = self.cost.shape
        return f"{m}x{n}"


@dataclass
class Run:
    """One timed run: build and solve seconds, objective, status."""

    build_s: float
    solve_s: float
    objective: float
    status: str
    proven_gap: float = float("nan")  # ours: (objective - proven bound) / objective

    @property
    def total_s(self) -> float:
        return self.build_s + self.solve_s


class _PeerTimeoutError(Exception):
    pass


def make_instance(m: int, n: int, p: int, reach: float, cap_factor: float, seed: int) -> Instance:
    """Uniform demand and sites in a square."""
    rng = np.random.default_rng([seed, m, n])
    demand = rng.random((m, 2)) * SIDE_M
    sites = rng.random((n, 2)) * SIDE_M
    weights = rng.integers(1, 1001, m).astype(np.float64)
    radius = SIDE_M * math.sqrt(reach / math.pi)
    capacity = np.full(n, cap_factor * float(weights.sum()) / p)
    return Instance(cdist(demand, sites), weights, radius, p, capacity)


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


# --------------------------------------------------------------------------- ours


def lscp_radius(inst: Instance) -> float:
    """The LSCP standard: the MCLP radius, widened so that every demand point can be covered."""
    return max(inst.radius, float(inst.cost.min(axis=1).max()))


def _ours(model: str, inst: Instance, exact: bool, time_limit: float) -> Run:
    """Run our solver once."""
    if model == "mclp":
        from gisapp.planning.cover import coverage_sets
        from gisapp.planning.mclp import suggest_sites

        t0 = time.perf_counter()
        cover = coverage_sets(inst.cost, inst.radius)
        t1 = time.perf_counter()
        res = suggest_sites(cover, inst.weights, inst.p, method="exact" if exact else "greedy",
                            time_limit_s=time_limit)
        t2 = time.perf_counter()
        status = "optimal" if res.optimal else ("feasible" if not exact else "time_limit")
        return Run(t1 - t0, t2 - t1, float(res.covered_weight), status)
    method: Literal["exact", "heuristic"] = "exact" if exact else "heuristic"
    t0 = time.perf_counter()
    if model == "lscp":
        fn = importlib.import_module("gisapp.planning.lscp").lscp
        loc = fn(inst.cost, inst.weights, lscp_radius(inst), method=method,
                 time_limit_s=time_limit)
    elif model == "p_center":
        fn = importlib.import_module("gisapp.planning.pcenter").p_center
        loc = fn(inst.cost, inst.weights, inst.p, method=method, time_limit_s=time_limit)
    else:
        from gisapp.planning.pmedian import p_median

        cap = inst.capacity if model == "p_median_capacitated" else None
        loc = p_median(inst.cost, inst.weights, inst.p, capacity=cap, method=method,
                       time_limit_s=time_limit)
    total = time.perf_counter() - t0
    build = min(float(loc.build_time_s), total)
    return Run(build, total - build, float(loc.objective), loc.status, float(loc.gap))


# --------------------------------------------------------------------------- spopt


def _peer_pairs(model: str, inst: Instance) -> int:
    """Number of assignment/coverage variables or pairs spopt's model builds."""
    m, n = inst.cost.shape
    if model in ("mclp", "lscp"):
        radius = inst.radius if model == "mclp" else lscp_radius(inst)
        return int((inst.cost <= radius).sum()) + int(m) + int(n)
    return int(m) * int(n) + int(n)


def _spopt_model(model: str, inst: Instance) -> Any:
    from spopt.locate import LSCP, MCLP, PCenter, PMedian

    if model == "mclp":
        return MCLP.from_cost_matrix(inst.cost, inst.weights, inst.radius, inst.p)
    if model == "lscp":
        return LSCP.from_cost_matrix(inst.cost, lscp_radius(inst))
    if model == "p_center":
        return PCenter.from_cost_matrix(inst.cost, inst.p)
    if model == "p_median_capacitated":
        return PMedian.from_cost_matrix(inst.cost, inst.weights, inst.p,
                                        facility_capacities=inst.capacity)
    return PMedian.from_cost_matrix(inst.cost, inst.weights, inst.p)


def _solver(name: str, time_limit: float) -> Any:
    import pulp

    if name == "highs":
        return pulp.HiGHS(msg=False, timeLimit=time_limit)
    return pulp.PULP_CBC_CMD(msg=False, timeLimit=time_limit)


def _spopt(model: str, inst: Instance, solver: str, timeout: float) -> Run:
    """Build spopt's model and solve it with PuLP + ``solver`` within ``timeout`` seconds."""
    import pulp

    t0 = time.perf_counter()
    try:
        with warnings.catch_warnings(), _alarm(timeout):
            warnings.simplefilter("ignore")
            mdl = _spopt_model(model, inst)
    except _PeerTimeoutError:
        return Run(time.perf_counter() - t0, float("nan"), float("nan"),
                   f"build exceeded {timeout:.0f} s")
    build = time.perf_counter() - t0
    left = timeout - build
    if left <= 1:
        return Run(build, float("nan"), float("nan"), "no time left after build")
    t1 = time.perf_counter()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            mdl.solve(_solver(solver, left), results=False)
    except Exception as err:  # noqa: BLE001 - spopt raises on a non-optimal status
        return Run(build, time.perf_counter() - t1, float("nan"), f"not solved: {err}"[:40])
    solve = time.perf_counter() - t1
    # PuLP reports "Optimal" when HiGHS stops at its time limit with a solution: trust
    # only the solution status
    if mdl.problem.sol_status == pulp.LpSolutionOptimal:
        status = "optimal"
    elif mdl.problem.sol_status == pulp.LpSolutionIntegerFeasible:
        status = "feasible (time limit)"
    else:
        status = pulp.LpStatus.get(mdl.problem.status, "?")
    return Run(build, solve, float(pulp.value(mdl.problem.objective)), status)


# --------------------------------------------------------------------------- harness


def _timed(run: Callable[[], Run], repeats: int, slow_s: float) -> tuple[Run, str]:
    """Warm-up once, then the median of ``repeats`` runs (a slow warm-up is reported alone)."""
    first = run()
    if first.total_s > slow_s or not math.isfinite(first.solve_s):
        return first, "1 run (too slow to repeat)"
    runs = [run() for _ in range(repeats)]
    mid = sorted(runs, key=lambda r: r.total_s)[len(runs) // 2]
    return Run(statistics.median(r.build_s for r in runs),
               statistics.median(r.solve_s for r in runs), mid.objective, mid.status,
               mid.proven_gap), \
        f"warm, median of {repeats}"


def _gap(model: str, objective: float, reference: float) -> float:
    if not (math.isfinite(objective) and math.isfinite(reference)) or reference == 0:
        return float("nan")
    diff = reference - objective if model in MAXIMISE else objective - reference
    return diff / abs(reference)


def bench_model(model: str, inst: Instance, args: argparse.Namespace) -> list[dict[str, Any]]:
    """All runners of one model; one record each."""
    runs: dict[str, tuple[Run, str]] = {}
    for name, exact in (("ours_exact", True), ("ours_heuristic", False)):
        try:
            runs[name] = _timed(partial(_ours, model, inst, exact, args.time_limit),
                                args.repeats, args.slow)
        except ImportError as err:
            runs[name] = (Run(float("nan"), float("nan"), float("nan"),
                              f"missing: {err}"[:40]), "-")
    pairs = _peer_pairs(model, inst)
    for solver in args.solvers:
        name = f"spopt_{solver}"
        if pairs > args.peer_max_pairs:
            runs[name] = (Run(float("nan"), float("nan"), float("nan"),
                              f"skipped: {pairs:,} PuLP variables > {args.peer_max_pairs:,}"), "-")
            continue
        runs[name] = _timed(partial(_spopt, model, inst, solver, args.peer_timeout),
                            args.repeats, args.slow)
    ref_run = runs["ours_exact"][0]
    reference = ref_run.objective if ref_run.status == "optimal" else float("nan")
    if not math.isfinite(reference):
        for name in ("spopt_highs", "spopt_cbc"):
            if name in runs and runs[name][0].status == "optimal":
                reference = runs[name][0].objective
                break
    records = []
    for name, (run, how) in runs.items():
        rec: dict[str, Any] = {"model": model, "size": inst.size, "p": inst.p, "runner": name,
                               "treatment": how, **asdict(run), "total_s": run.total_s,
                               "gap_to_exact": _gap(model, run.objective, reference)}
        if name.startswith("ours"):
            for solver in ("highs", "cbc"):
                peer = runs.get(f"spopt_{solver}")
                ok = peer is not None and math.isfinite(peer[0].solve_s) and run.total_s > 0
                rec[f"x_{solver}"] = peer[0].total_s / run.total_s if ok and peer else None
        records.append(rec)
    return records


def _fmt(x: Any, digits: int = 3) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "-"
    if isinstance(x, float):
        return f"{x:.{digits}g}" if abs(x) < 1e4 else f"{x:.6g}"
    return str(x)


def print_table(records: list[dict[str, Any]]) -> None:
    """A plain text table of the records."""
    head = ["model", "runner", "build_s", "solve_s", "total_s", "objective", "gap_to_exact",
            "proven_gap", "x_highs", "x_cbc", "status", "treatment"]
    rows = [[_fmt(r.get(h)) for h in head] for r in records]
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(head)]
    print("  ".join(h.ljust(wd) for h, wd in zip(head, widths, strict=True)))
    for row in rows:
        print("  ".join(c.ljust(wd) for c, wd in zip(row, widths, strict=True)), flush=True)


def _size(text: str) -> tuple[int, int]:
    m, n = text.lower().split("x")
    return int(m), int(n)


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, run the models, print JSON lines then a table."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--size", type=_size, default=(20_000, 1_000),
                        help="DEMANDxSITES (default 20000x1000)")
    parser.add_argument("--quick", action="store_true", help="2000x200 (overrides --size)")
    parser.add_argument("--p", type=int, default=None,
                        help="sites to open (default: 10 quick, 20 otherwise)")
    parser.add_argument("--models", type=lambda s: s.split(","), default=list(MODELS),
                        help=f"comma-separated subset of {','.join(MODELS)}")
    parser.add_argument("--solvers", type=lambda s: s.split(","), default=["highs", "cbc"],
                        help="spopt's PuLP solvers: highs, cbc (default both)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--reach", type=float, default=0.02,
                        help="share of the square one site reaches (MCLP, LSCP)")
    parser.add_argument("--cap-factor", type=float, default=1.5,
                        help="capacitated p-median: capacity = factor x total weight / p")
    parser.add_argument("--time-limit", type=float, default=600.0,
                        help="time limit of our exact solvers, seconds")
    parser.add_argument("--peer-timeout", type=float, default=600.0,
                        help="seconds allowed to one spopt run (build + solve)")
    parser.add_argument("--slow", type=float, default=60.0,
                        help="a runner whose warm-up takes longer is reported from that one run")
    parser.add_argument("--peer-max-pairs", type=int, default=2_000_000,
                        help="skip spopt when its model has more variables than this")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true", help="also print one JSON line per record")
    args = parser.parse_args(argv)
    m, n = (2000, 200) if args.quick else args.size
    p = args.p or (10 if args.quick else 20)
    inst = make_instance(m, n, p, args.reach, args.cap_factor, args.seed)
    print(f"# instance {inst.size}, p={p}, radius {inst.radius:.0f} m, seed {args.seed}; "
          f"treatment: one warm-up run each, then median of {args.repeats} "
          f"(a runner slower than its budget is reported from its single warm-up run)",
          flush=True)
    records: list[dict[str, Any]] = []
    for model in args.models:
        if model not in MODELS:
            parser.error(f"unknown model {model!r}")
        recs = bench_model(model, inst, args)
        records.extend(recs)
        if args.json:
            for rec in recs:
                print(json.dumps(rec), flush=True)
        print_table(recs)
    print("# all models")
    print_table(records)
    return 0


if __name__ == "__main__":
    sys.exit(main())
