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
solver time limit) is reported from that single run with its status, not repeated.  Our
exact solvers get ``--time-limit``.

Large sizes (``--peer-child auto``: spopt's model would hold more than
``--peer-max-pairs`` variables; ``always`` for every size): spopt runs once per solver in a
child process under an address-space limit (``RLIMIT_AS``, ``--peer-mem-gib``, default 16)
and a wall limit (``--peer-timeout`` + ``--peer-grace``, counted after the child's imports
and a warm-up run on a tiny instance).  The child reports every ``--peer-every`` seconds
what it is building (spopt's function, the demand row its loop has reached, constraints so
far, memory); the printed status is what was observed: solved, ``MemoryError`` in the build
or solve, stopped at the wall limit with what it had built, or died (signal / exit code).
When that run's model build did not finish, the next solver's child is not run (the build is
the same for every solver) and its line says so (``--peer-repeat-failed-build`` runs it).
``--runners ours|spopt`` runs one side only (the other side's records of the same instance
from another run).  A ratio against a spopt run that stopped without its optimum is printed
as ``>=`` (a lower bound).

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
    python benchmarks/bench_models.py --runners spopt --peer-child always --peer-timeout 1200
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import os
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
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


# --------------------------------------------------------------------------- spopt in a child


def _rss_gib(pid: int | str = "self") -> tuple[float, float]:
    """(resident, peak resident) GiB of a process, from /proc (nan when unreadable)."""
    now = peak = float("nan")
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    now = int(line.split()[1]) / 2**20
                elif line.startswith("VmHWM:"):
                    peak = int(line.split()[1]) / 2**20
    except OSError:
        pass
    return now, peak


def _where(frame: FrameType | None) -> dict[str, Any]:
    """What the main thread is doing: the spopt functions on its stack (outermost first),
    the index of the outermost comprehension loop (spopt's loop over demand rows), and the
    constraints in the model so far."""
    import pulp

    names: list[str] = []
    index: int | None = None
    constraints: int | None = None
    while frame is not None:
        code = frame.f_code
        if "spopt" in code.co_filename:
            names.append(code.co_name)
        loc = frame.f_locals
        if code.co_name == "<listcomp>":
            for key in ("i", "j"):
                if isinstance(loc.get(key), int):
                    index = int(loc[key])  # the outermost one wins
                    break
        if constraints is None:
            for val in loc.values():
                if isinstance(val, pulp.LpProblem):
                    constraints = len(val.constraints)
                    break
        frame = frame.f_back
    return {"in": " > ".join(names[::-1][:3]), "loop_index": index, "constraints": constraints}


def _emit(out: Any, event: str, **fields: Any) -> None:
    now, peak = _rss_gib()
    out.write(json.dumps({"event": event, "t": time.perf_counter(), "rss_gib": now,
                          "peak_rss_gib": peak, **fields}) + "\n")
    out.flush()


def _peer_child(model: str, inst: Instance, solver: str, timeout: float, every_s: float) -> int:
    """The child's side: build spopt's model and solve it, printing JSON events as it goes.

    Events: ``start``; ``progress`` every ``every_s`` seconds (what is on the stack, how
    many constraints the model has, resident memory); ``built`` (build seconds, PuLP
    variables and constraints); ``solved`` (a :class:`Run`); ``error`` (the exception, and
    in which stage).  Whatever stops the child, the parent reads the last event.
    """
    import pulp

    out = sys.stdout
    main = threading.main_thread().ident
    stage = {"now": "build"}
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(every_s):
            frame = sys._current_frames().get(main or 0)
            try:
                where = _where(frame)
            except Exception as err:  # noqa: BLE001 - a sample is best effort
                where = {"in": f"? {type(err).__name__}"}
            _emit(out, "progress", stage=stage["now"], **where)

    # warm: imports, PuLP and the solver loaded by one tiny run of the same model first
    tiny = make_instance(12, 4, min(inst.p, 2), 0.3, 2.0, 0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _spopt_model(model, tiny).solve(_solver(solver, 60.0), results=False)
    _emit(out, "start", model=model, solver=solver, size=inst.size, p=inst.p)
    threading.Thread(target=sample, daemon=True).start()
    t0 = time.perf_counter()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            mdl = _spopt_model(model, inst)
        build = time.perf_counter() - t0
        _emit(out, "built", build_s=build, variables=len(mdl.problem.variables()),
              constraints=len(mdl.problem.constraints))
        stage["now"] = "solve"
        left = timeout - build
        if left <= 1:
            _emit(out, "error", stage="solve", error=f"no time left after a {build:.0f} s build")
            return 0
        t1 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            mdl.solve(_solver(solver, left), results=False)
        solve = time.perf_counter() - t1
    except BaseException as err:  # noqa: BLE001 - report what stopped it, MemoryError included
        stop.set()
        tb, names = err.__traceback__, []
        while tb is not None:
            if "spopt" in tb.tb_frame.f_code.co_filename:
                names.append(tb.tb_frame.f_code.co_name)
            tb = tb.tb_next
        where = f" in {' > '.join(names[-2:])}" if names else ""
        _emit(out, "error", stage=stage["now"],
              error=f"{type(err).__name__}{where}: {err}".rstrip(": ")[:200],
              after_s=time.perf_counter() - t0)
        return 0
    stop.set()
    if mdl.problem.sol_status == pulp.LpSolutionOptimal:
        status = "optimal"
    elif mdl.problem.sol_status == pulp.LpSolutionIntegerFeasible:
        status = "feasible (time limit)"
    else:
        status = pulp.LpStatus.get(mdl.problem.status, "?")
    objective = pulp.value(mdl.problem.objective)
    _emit(out, "solved", **asdict(Run(build, solve, float("nan") if objective is None
                                      else float(objective), status)))
    return 0


def _child_status(last: dict[str, Any], stopped_by: str) -> str:
    """One line for a child run that did not finish: what stopped it and what it had built."""
    where = ""
    if last.get("event") == "progress":
        bits = [f"in {last.get('in') or '?'}"]
        if last.get("loop_index") is not None:
            bits.append(f"outer loop at {last['loop_index']:,}")
        if last.get("constraints") is not None:
            bits.append(f"{last['constraints']:,} constraints")
        where = f" during the {last.get('stage', '?')} ({', '.join(bits)})"
    elif last.get("event") == "built":
        where = (f" during the solve (built: {last.get('variables', 0):,} variables, "
                 f"{last.get('constraints', 0):,} constraints in {last.get('build_s', 0):.0f} s)")
    elif last.get("event") == "start":
        where = " at the start of the build"
    else:
        where = " before the timed run (imports and the warm-up run)"
    return stopped_by + where


def peer_in_child(model: str, args: argparse.Namespace, solver: str) -> tuple[Run, str]:
    """Run spopt on the benchmark's instance in a child process under an address-space
    limit (``--peer-mem-gib``) and a wall limit (``--peer-timeout`` + ``--peer-grace``);
    return the run as observed (finished, stopped at the wall limit, out of memory, died)."""
    m, n = args.size_mn
    cmd = [sys.executable, os.path.abspath(__file__), "--peer-run", model, solver,
           "--size", f"{m}x{n}", "--p", str(args.p_used), "--reach", str(args.reach),
           "--cap-factor", str(args.cap_factor), "--seed", str(args.seed),
           "--peer-timeout", str(args.peer_timeout), "--peer-every", str(args.peer_every)]
    limit = int(args.peer_mem_gib * 2**30)

    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        try:  # on a shared machine short of memory, the kernel kills the child first
            with open("/proc/self/oom_score_adj", "w", encoding="ascii") as fh:
                fh.write("1000")
        except OSError:
            pass

    wall = args.peer_timeout + args.peer_grace
    mem = f"{args.peer_mem_gib:g} GiB"
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        t_launch = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, preexec_fn=cap)  # noqa: S603

        def _term(_signum: int, _frame: FrameType | None) -> None:
            raise SystemExit(143)

        old_term = signal.signal(signal.SIGTERM, _term)  # killed: take the child along
        try:
            t0, peak, stopped = _watch(proc, out, wall, args.peer_warmup_s)
        except BaseException:
            proc.kill()
            proc.wait()
            raise
        finally:
            signal.signal(signal.SIGTERM, old_term)
        if not math.isfinite(t0):
            t0 = t_launch
        elapsed = time.perf_counter() - t0
        out.seek(0)
        err.seek(0)
        events = [json.loads(line) for line in out.read().splitlines() if line.startswith("{")]
        tail = (err.read().strip().splitlines() or [""])[-1][:160]
    return _peer_outcome(events, proc.returncode, stopped, elapsed, wall, peak, mem, tail)


def _watch(proc: subprocess.Popen[bytes], out: Any, wall: float, warmup_s: float
           ) -> tuple[float, float, bool]:
    """Poll the child: its peak memory, and kill it at its wall limit (counted from its
    ``start`` event; the imports and warm-up run have ``warmup_s``).  Returns (start time,
    peak RSS GiB, stopped)."""
    t_launch = time.perf_counter()
    t0 = float("nan")
    peak = float("nan")
    stopped = False
    while proc.poll() is None:
        now_peak = _rss_gib(proc.pid)[1]
        peak = now_peak if not math.isfinite(peak) else max(peak, now_peak)
        if not math.isfinite(t0):
            with open(f"/proc/self/fd/{out.fileno()}", encoding="utf-8") as fh:
                if '"event": "start"' in fh.read():
                    t0 = time.perf_counter()
        began = t0 if math.isfinite(t0) else t_launch
        # the warm-up (imports, one tiny run) has its own allowance
        limit_s = wall if math.isfinite(t0) else warmup_s
        if time.perf_counter() - began > limit_s:
            proc.kill()
            proc.wait()
            stopped = True
            break
        time.sleep(0.5)
    return t0, peak, stopped


def _peer_outcome(events: list[dict[str, Any]], code: int, stopped: bool, elapsed: float,
                  wall: float, peak: float, mem: str, tail: str) -> tuple[Run, str]:
    """The child's run as observed, from its events, exit code and what the parent saw."""
    last = events[-1] if events else {}
    start_t = events[0]["t"] if events else float("nan")
    built = next((e for e in events if e["event"] == "built"), None)
    build_s = built["build_s"] if built else (last.get("t", start_t) - start_t if events
                                              else float("nan"))
    peak = max([peak, *(e.get("peak_rss_gib", float("nan")) for e in events)],
               key=lambda v: v if math.isfinite(v) else -1.0)
    peak_s = f"peak RSS {peak:.1f} GiB" if math.isfinite(peak) else "peak RSS ?"
    if last.get("event") == "solved":
        run = Run(last["build_s"], last["solve_s"], last["objective"], last["status"])
        return run, f"1 run in a child ({mem} limit, {peak_s})"
    if last.get("event") == "error":
        why = (f"{last['error']} in the {last['stage']} after {last.get('after_s', elapsed):.0f} s"
               f" ({mem} address-space limit, {peak_s})")
        solve = float("nan")
        if built and last["stage"] == "solve":
            why += f"; built {built['variables']:,} vars, {built['constraints']:,} constraints"
            solve = last.get("after_s", elapsed) - built["build_s"]
        return Run(build_s, solve, float("nan"), why), "1 run in a child, failed"
    if stopped:
        why = _child_status(last, f"stopped at the {wall:g} s wall limit")
        return Run(build_s if built else elapsed, elapsed - build_s if built else float("nan"),
                   float("nan"), f"{why}; {peak_s}"), "1 run in a child, stopped"
    sig = f"signal {-code}" if code < 0 else f"exit {code}"
    why = _child_status(last, f"died ({sig}) after {elapsed:.0f} s under a {mem} limit")
    return Run(build_s if built else elapsed, float("nan"), float("nan"),
               f"{why}; {peak_s}; stderr: {tail}"), "1 run in a child, died"


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
        if args.runners == "spopt":
            continue
        try:
            runs[name] = _timed(partial(_ours, model, inst, exact, args.time_limit),
                                args.repeats, args.slow)
        except ImportError as err:
            runs[name] = (Run(float("nan"), float("nan"), float("nan"),
                              f"missing: {err}"[:40]), "-")
        except MemoryError:
            runs[name] = (Run(float("nan"), float("nan"), float("nan"), "MemoryError"), "-")
    pairs = _peer_pairs(model, inst)
    build_failed: tuple[str, str] | None = None
    for solver in args.solvers if args.runners != "ours" else []:
        name = f"spopt_{solver}"
        isolate = args.peer_child == "always" or (args.peer_child == "auto"
                                                  and pairs > args.peer_max_pairs)
        if isolate and build_failed is not None and not args.peer_repeat_failed_build:
            # the model build is the same whatever the solver: say so, do not run it again
            runs[name] = (Run(float("nan"), float("nan"), float("nan"),
                              f"not run: the same (solver-independent) model build did not "
                              f"finish in the {build_failed[0]} child: {build_failed[1]}"), "-")
            continue
        if isolate:
            runs[name] = peer_in_child(model, args, solver)
            run = runs[name][0]
            if not math.isfinite(run.solve_s) and not math.isfinite(run.objective) \
                    and "during the solve" not in run.status and "in the solve" not in run.status:
                build_failed = (name, run.status)
            continue
        if pairs > args.peer_max_pairs:
            runs[name] = (Run(float("nan"), float("nan"), float("nan"),
                              f"skipped: {pairs:,} PuLP variables > {args.peer_max_pairs:,}"), "-")
            continue
        runs[name] = _timed(partial(_spopt, model, inst, solver, args.peer_timeout),
                            args.repeats, args.slow)
    ref_run = runs["ours_exact"][0] if "ours_exact" in runs else None
    reference = ref_run.objective if ref_run and ref_run.status == "optimal" else float("nan")
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
                # the peer stopped (time limit) without its optimum: the ratio is a lower bound
                rec[f"x_{solver}_lower_bound"] = bool(ok and peer and peer[0].status != "optimal")
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
    rows = [[(">=" if r.get(f"{h}_lower_bound") else "") + _fmt(r.get(h)) for h in head]
            for r in records]
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
    parser.add_argument("--runners", choices=("all", "ours", "spopt"), default="all",
                        help="run ours and spopt (all), or only one side (the other side's "
                             "records of the same instance come from another run)")
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
                        help="above this many spopt variables, spopt runs once in a child "
                             "process under limits (--peer-child auto) or is skipped (never)")
    parser.add_argument("--peer-child", choices=("auto", "always", "never"), default="auto",
                        help="run spopt in a child with a memory and a wall limit: above "
                             "--peer-max-pairs (auto), always, or never (skip it instead)")
    parser.add_argument("--peer-mem-gib", type=float, default=16.0,
                        help="address-space limit (RLIMIT_AS) of spopt's child, GiB")
    parser.add_argument("--peer-grace", type=float, default=60.0,
                        help="the child is killed this long after --peer-timeout")
    parser.add_argument("--peer-warmup-s", type=float, default=300.0,
                        help="the child's imports and warm-up run must end within this")
    parser.add_argument("--peer-every", type=float, default=10.0,
                        help="the child reports its progress this often, seconds")
    parser.add_argument("--peer-repeat-failed-build", action="store_true",
                        help="run the next solver's child even when the previous one's model "
                             "build (the same for every solver) did not finish")
    parser.add_argument("--peer-run", nargs=2, metavar=("MODEL", "SOLVER"),
                        help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true", help="also print one JSON line per record")
    args = parser.parse_args(argv)
    m, n = (2000, 200) if args.quick else args.size
    p = args.p or (10 if args.quick else 20)
    args.size_mn, args.p_used = (m, n), p
    inst = make_instance(m, n, p, args.reach, args.cap_factor, args.seed)
    if args.peer_run:
        return _peer_child(args.peer_run[0], inst, args.peer_run[1], args.peer_timeout,
                           args.peer_every)
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
