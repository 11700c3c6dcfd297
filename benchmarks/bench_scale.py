"""Benchmark: the ``coverage`` command at province scale: time and peak memory, local and dask engines.

For each size (synthetic workspaces of :mod:`scale_workspace`: 1 M, 4 M, 16 M, 50 M populated
100 m cells, about one facility per 1,500 cells), travel mode (``straight_line``, ``terrain``),
service (``clinic15``: 15 min at 30 km/h; ``walk1000``: a 1,000 m walk) and engine
(``local``: the single-machine path; ``dask``: ``--engine dask`` on a LocalCluster or on
``--scheduler``; ``chunked``: ``--engine dask --grid-store``, the cells kept on disk in a grid
store that each task reads a window of, written first by ``python -m gisapp grid-store`` and
measured as its own row, engine ``store``), this runs the real command in a child process::

    python -m gisapp -w <ws>/workspace.yaml coverage -s <service> -o <out> --travel <mode> \\
        [--engine dask --workers N [--scheduler URL] [--tile N]]

(workspace load, run_service, district table, gap polygons, GeoPackage, people served) and
measures

- ``seconds``: wall time from start to exit of the child (Python start-up and loading included);
- ``peak GiB total``: the child's own peak RSS from ``os.wait4`` (exact: the kernel's
  high-water mark) when it ran alone; with processes below it (dask workers and nannies),
  the peak of the RSS summed over the whole process tree, sampled every 0.2 s with psutil
  (a sample can miss a short spike: the figure is a lower bound);
- ``peak GiB main`` / ``per worker``: the sampled peak of the child itself and the largest
  sampled peak of any process below it (a LocalCluster's workers are such processes);
- ``bytes/cell``: peak total / cells; ``time/cell rel``: seconds per cell relative to the
  smallest size run of the same mode, service and engine (1.0 = linear).

``--no-served`` uses the workspace without norms (``workspace_nonorm.yaml``): no people-served
step (on one machine that step builds the whole matrix).  ``--max-gib`` stops a run
whose process tree grows above a limit (a shared machine).  ``--populated 0.3`` uses the
workspace whose rural cells are 30 % populated (``scale_workspace --populated``): a short walk
then leaves many small gap areas (137,248 at 4 M cells), the gap polygons' hard case.

A run that fails prints ``failed: <last line of its error output>`` (e.g. a MemoryError or the
timeout); a dask run whose command line is refused (the engine option not there yet) prints
``not available: <that error>``: both come from the attempt, never from a written-in note.
Every row gets the same treatment, printed with the table (``_fair.treatment``): by default
no warm-up and one run per row, each in a fresh process (a province run is a cold start).

``--profile SIZE`` instead runs the command's steps in this process with the memory of each
step: RSS sampled every 20 ms, the process's high-water mark (``ru_maxrss``) after each step
(the step in which it rises holds the new peak), tracemalloc's peak of numpy's allocations,
and the sizes of what stays alive (grid arrays, cost matrix).

Usage::

    python benchmarks/bench_scale.py --sizes 1M 4M --modes straight_line terrain
    python benchmarks/bench_scale.py --sizes 16M --modes straight_line --services clinic15 --engines local dask
    python benchmarks/bench_scale.py --profile 4M --modes straight_line --services clinic15
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _fair import timed, treatment  # noqa: E402
from scale_workspace import (  # noqa: E402
    DEFAULT_ROOT,
    NO_NORM_YAML,
    build,
    facts,
    folder_name,
    parse_size,
    size_label,
)

GIB = 1024.0**3
SAMPLE_S = 0.2


@dataclass
class Run:
    """One measured row."""

    cells: int
    size: str
    mode: str
    service: str
    engine: str
    status: str = "ok"
    seconds: float = float("nan")
    peak_total: float = float("nan")  # bytes
    peak_main: float = float("nan")
    peak_worker: float = float("nan")
    workers_seen: int = 0
    maxrss_wait4: float = float("nan")
    summary: str = ""
    workspace: str = ""
    cmd: list[str] = field(default_factory=list)


class TreeSampler(threading.Thread):
    """Sample the RSS of a process and everything below it every ``interval`` seconds."""

    def __init__(self, pid: int, interval: float = SAMPLE_S, limit: float | None = None) -> None:
        super().__init__(daemon=True)
        self.pid, self.interval, self.limit = pid, interval, limit
        self.stopped_at: float | None = None
        self.stop_event = threading.Event()
        self.peak_total = 0
        self.peak_by_pid: dict[int, int] = {}

    def run(self) -> None:
        import psutil

        try:
            root = psutil.Process(self.pid)
        except psutil.Error:
            return
        while not self.stop_event.is_set():
            try:
                procs = [root, *root.children(recursive=True)]
            except psutil.Error:
                break
            total = 0
            for p in procs:
                try:
                    rss = p.memory_info().rss
                except psutil.Error:
                    continue
                total += rss
                if rss > self.peak_by_pid.get(p.pid, 0):
                    self.peak_by_pid[p.pid] = rss
            self.peak_total = max(self.peak_total, total)
            if self.limit is not None and total > self.limit and self.stopped_at is None:
                self.stopped_at = total  # protect the shared machine: end this run's own process group
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(self.pid, 9)
            self.stop_event.wait(self.interval)


def _command(ws_yaml: Path, out: Path, a: argparse.Namespace, mode: str, service: str, engine: str) -> list[str]:
    cmd = [sys.executable, "-m", "gisapp", "--lang", "en", "-w", str(ws_yaml), "coverage",
           "-s", service, "-o", str(out), "--travel", mode]
    if engine == "chunked":  # the cells stay in the grid store: tasks read their windows (issue 12)
        cmd += ["--grid-store", str(store_path(ws_yaml))]
    if engine in ("dask", "chunked"):
        cmd += ["--engine", "dask", "--workers", str(a.workers)]
        if a.scheduler:
            cmd += ["--scheduler", a.scheduler]
        if a.tile:
            cmd += ["--tile", str(a.tile)]
    return cmd


def store_path(ws_yaml: Path) -> Path:
    """The grid store of a scale workspace (``python -m gisapp grid-store``), beside it."""
    return ws_yaml.parent / "grid.zarr"


def measure_store(ws_yaml: Path, a: argparse.Namespace) -> Run:
    """Write the workspace's grid store (a window at a time) and measure it, as one row (engine ``store``)."""
    f = facts(ws_yaml)
    run = Run(cells=int(f["cells"]), size=ws_yaml.parent.name, mode="-", service="-",  # type: ignore[call-overload]
              engine="store")
    run.cmd = [sys.executable, "-m", "gisapp", "--lang", "en", "-w", str(ws_yaml), "grid-store",
               "-o", str(store_path(ws_yaml))]
    rc, wall, sampler, maxrss, tail = run_child(run.cmd, ws_yaml.parent / "out" / "store" / "logs", a.timeout,
                                                a.max_gib * GIB if a.max_gib else None)
    run.seconds = wall
    run.status = "ok" if rc == 0 else "failed: " + tail
    run.peak_main = run.peak_total = max(float(sampler.peak_total), maxrss)
    run.maxrss_wait4 = maxrss
    return run


def run_child(cmd: list[str], log_dir: Path, timeout: float,
              max_bytes: float | None = None) -> tuple[int, float, TreeSampler, float, str]:
    """Run ``cmd`` in a new session; return (exit code, wall seconds, sampler, ru_maxrss bytes, error tail)."""
    log_dir.mkdir(parents=True, exist_ok=True)
    out_f = (log_dir / "stdout.txt").open("w", encoding="utf-8")
    err_f = (log_dir / "stderr.txt").open("w", encoding="utf-8")
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=out_f, stderr=err_f, start_new_session=True)
    sampler = TreeSampler(proc.pid, limit=max_bytes)
    sampler.start()
    timer = threading.Timer(timeout, lambda: os.killpg(proc.pid, 9))  # only the group this run started
    timer.start()
    try:
        _, status, usage = os.wait4(proc.pid, 0)
    finally:
        timer.cancel()
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    sampler.stop_event.set()
    sampler.join()
    out_f.close()
    err_f.close()
    with contextlib.suppress(ProcessLookupError, PermissionError):  # workers left behind: this run's own group
        os.killpg(proc.pid, 9)
    tail = ""
    if proc.returncode != 0:
        lines = [ln.strip() for ln in (log_dir / "stderr.txt").read_text(encoding="utf-8", errors="replace").splitlines()
                 if ln.strip()]
        tail = lines[-1] if lines else f"exit code {proc.returncode}"
        if proc.returncode == -9 and sampler.stopped_at is not None:
            tail = f"stopped at {sampler.stopped_at / GIB:.1f} GiB (above --max-gib)"
        elif proc.returncode == -9:
            tail = f"killed after the {timeout:.0f} s timeout" if wall >= timeout * 0.99 else f"killed (signal 9): {tail}"
    return proc.returncode, wall, sampler, float(usage.ru_maxrss) * 1024.0, tail


def measure(ws_yaml: Path, a: argparse.Namespace, mode: str, service: str, engine: str) -> Run:
    """Run the coverage command (``a.warmup`` untimed, then the median of ``a.repeats``) and measure it."""
    f = facts(ws_yaml)
    cells = int(f["cells"])  # type: ignore[call-overload]
    run = Run(cells=cells, size=ws_yaml.parent.name, mode=mode,
              service=service, engine=engine)
    out = ws_yaml.parent / "out" / f"{mode}_{service}_{engine}"
    run.workspace = ws_yaml.name
    run.cmd = _command(ws_yaml, out, a, mode, service, engine)
    results: list[tuple[int, float, TreeSampler, float, str]] = []

    def once() -> None:
        results.append(run_child(run.cmd, out / "logs", a.timeout, a.max_gib * GIB if a.max_gib else None))

    med, _ = timed(once, warmup=a.warmup, repeats=a.repeats)
    rc, wall, sampler, maxrss, tail = results[-1]
    if any(r[0] != 0 for r in results):
        rc, wall, sampler, maxrss, tail = next(r for r in results if r[0] != 0)
        refused = engine == "dask" and rc == 2  # argparse refused the options
        run.status = ("not available: " if refused else "failed: ") + tail
        run.seconds = wall
        return run
    run.seconds = med if a.repeats > 1 else wall
    below = {pid: v for pid, v in sampler.peak_by_pid.items() if pid != sampler.pid}
    run.workers_seen = len(below)
    run.maxrss_wait4 = maxrss
    run.peak_main = float(sampler.peak_by_pid.get(sampler.pid, 0)) or maxrss
    run.peak_worker = float(max(below.values())) if below else float("nan")
    run.peak_total = max(float(sampler.peak_total), maxrss) if below else maxrss
    stdout = (out / "logs" / "stdout.txt").read_text(encoding="utf-8", errors="replace")
    run.summary = next((ln.strip() for ln in stdout.splitlines() if ln.lower().startswith("total")), "")
    return run


def _gib(v: float) -> str:
    return "-" if v != v else f"{v / GIB:.2f}"


def print_table(runs: list[Run], treat: dict[str, object]) -> None:
    base: dict[tuple[str, str, str], Run] = {}
    for r in sorted(runs, key=lambda r: r.cells):
        if r.status == "ok":
            base.setdefault((r.mode, r.service, r.engine), r)
    head = (f"{'cells':>12} {'mode':<13} {'service':<9} {'engine':<7} {'seconds':>8} {'GiB total':>9} "
            f"{'GiB main':>8} {'GiB/worker':>10} {'bytes/cell':>10} {'time/cell rel':>13}")
    print(treat["treatment"])
    print(head)
    print("-" * len(head))
    for r in runs:
        lead = f"{r.cells:>12,} {r.mode:<13} {r.service:<9} {r.engine:<7}"
        if r.status != "ok":
            print(f"{lead} {r.seconds:>8.1f} {r.status}")
            continue
        b = base[(r.mode, r.service, r.engine)]
        rel = (r.seconds / r.cells) / (b.seconds / b.cells)
        print(f"{lead} {r.seconds:>8.1f} {_gib(r.peak_total):>9} {_gib(r.peak_main):>8} {_gib(r.peak_worker):>10} "
              f"{r.peak_total / r.cells:>10.0f} {rel:>13.2f}")


# --------------------------------------------------------------------------- profile (in process)


class PhaseMemory:
    """Peak memory per step of the coverage command, measured in this process."""

    def __init__(self, interval: float = 0.02) -> None:
        import psutil

        self.proc = psutil.Process()
        self.interval = interval
        self.stack: list[str] = []
        self.rows: list[dict[str, Any]] = []
        self.peak_in: dict[str, int] = {}
        self.tm_peak: dict[str, int] = {}
        self.tm_start: dict[str, int] = {}
        self.order = 0
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._sample, daemon=True)
        self._t.start()

    def _sample(self) -> None:
        while not self._stop.is_set():
            rss = self.proc.memory_info().rss
            for name in self.stack:  # a step's peak includes its inner steps
                if rss > self.peak_in.get(name, 0):
                    self.peak_in[name] = rss
            self._stop.wait(self.interval)

    def stop(self) -> None:
        self._stop.set()
        self._t.join()

    def wrap(self, name: str, fn: Any) -> Any:
        import tracemalloc

        def inner(*args: Any, **kw: Any) -> Any:
            depth = len(self.stack)
            rss0 = self.proc.memory_info().rss
            hw0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
            cur, peak = tracemalloc.get_traced_memory()
            for s in self.stack:  # the outer steps keep the peak seen so far
                self.tm_peak[s] = max(self.tm_peak[s], peak)
            tracemalloc.reset_peak()
            self.tm_start[name], self.tm_peak[name] = cur, cur
            self.stack.append(name)
            self.peak_in[name] = rss0
            self.order += 1
            order = self.order
            t0 = time.perf_counter()
            try:
                return fn(*args, **kw)
            finally:
                sec = time.perf_counter() - t0
                tm1, peak = tracemalloc.get_traced_memory()
                for s in self.stack:
                    self.tm_peak[s] = max(self.tm_peak[s], peak)
                self.stack.pop()
                rss1 = self.proc.memory_info().rss
                hw1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
                self.peak_in[name] = max(self.peak_in.get(name, 0), rss1)
                self.rows.append({"_order": order, "step": "  " * depth + name, "seconds": sec, "rss_before": rss0,
                                  "rss_after": rss1, "rss_peak_sampled": self.peak_in[name], "high_water_after": hw1,
                                  "new_high_water": hw1 > hw0,
                                  "numpy_peak_above_start": self.tm_peak[name] - self.tm_start[name],
                                  "numpy_kept": tm1 - self.tm_start[name]})
        return inner


def _nbytes(obj: Any) -> int:
    import numpy as np

    if isinstance(obj, np.ndarray):
        return int(obj.nbytes)
    m = getattr(obj, "matrix", obj)
    if hasattr(m, "data") and hasattr(m, "indices"):
        return int(m.data.nbytes + m.indices.nbytes + m.indptr.nbytes)
    return 0


def profile(ws_yaml: Path, mode: str, service: str) -> dict[str, Any]:
    """Run the coverage command's steps in this process, wrapped in :class:`PhaseMemory`."""
    import tracemalloc

    tracemalloc.start()
    import gisapp.metrics.access as access
    import gisapp.metrics.service as service_mod
    import gisapp.travel.cost as cost_mod
    import gisapp.travel.terrain as terrain
    from gisapp.io.atomic import write_layers
    from gisapp.metrics import gaps as gaps_mod
    from gisapp.metrics import served as served_mod
    from gisapp.metrics import tables as tables_mod
    from gisapp.workspace import load_workspace

    pm = PhaseMemory()
    # the steps inside run_service, wrapped where run_service looks them up
    service_mod.nearest_straight_line = pm.wrap("nearest", service_mod.nearest_straight_line)  # type: ignore[attr-defined]
    service_mod.straight_line_cost = pm.wrap("cost_matrix (straight line)", service_mod.straight_line_cost)  # type: ignore[attr-defined]
    terrain.terrain_cost = pm.wrap("cost_matrix (terrain)", terrain.terrain_cost)  # type: ignore[assignment]
    terrain.kernel_for = pm.wrap("terrain kernel grid", terrain.kernel_for)  # type: ignore[assignment]
    terrain.surface_for = pm.wrap("friction surface", terrain.surface_for)  # type: ignore[assignment]
    cost_mod.CostMatrix.within = pm.wrap("cost.within", cost_mod.CostMatrix.within)  # type: ignore[method-assign]
    access.two_sfca = pm.wrap("2SFCA", access.two_sfca)  # type: ignore[assignment]
    served_mod.population_order = pm.wrap("population_order", served_mod.population_order)  # type: ignore[attr-defined]
    served_mod.capacity_coverage = pm.wrap("capacity_coverage", served_mod.capacity_coverage)  # type: ignore[attr-defined]
    out = ws_yaml.parent / "out" / f"profile_{mode}_{service}"
    out.mkdir(parents=True, exist_ok=True)
    ws = pm.wrap("load_workspace", load_workspace)(ws_yaml)
    res = pm.wrap("run_service", service_mod.run_service)(ws, service, travel=mode)
    pm.wrap("district table", tables_mod.coverage_by_district)(ws, res)
    gaps = pm.wrap("gap polygons", gaps_mod.gap_polygons)(ws, res)
    pm.wrap("write gaps.gpkg", write_layers)(out / "gaps.gpkg", {"gaps": gaps},
                                             options={"gaps": {"geometry_type": "Unknown"}} if gaps.empty else None)
    if res.service.capacity:
        pm.wrap("served within capacity", served_mod.served_within_capacity)(ws, res)
    pm.stop()
    g = ws.grid
    kept = {name: _nbytes(getattr(g, name)) for name in ("row", "col", "pop", "district", "cell_index", "x", "y")
            if hasattr(g, name)}
    kept["urban_class"] = _nbytes(ws.urban_class)
    kept["urban_blocks"] = _nbytes(ws.urban_blocks)
    res_kept = {k: _nbytes(getattr(res, k)) for k in ("demand", "eligible", "nearest_m", "nearest_facility",
                                                      "travel_cost", "threshold_m", "covered", "access_per_1000",
                                                      "cost")}
    cache = {str(k): sum(_nbytes(v) for v in getattr(obj, "__dict__", {}).values()) or _nbytes(obj)
             for k, obj in ws.cache.items()}
    return {"cells": g.n, "shape": g.shape, "pairs": res.cost.nnz, "facilities": int(res.facility_idx.size),
            "gaps": len(gaps), "steps": pm.rows, "grid_arrays": kept, "result_arrays": res_kept, "ws_cache": cache,
            "timings_s": res.timings_s, "maxrss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}


def print_profile(p: dict[str, Any]) -> None:
    n = p["cells"]
    print(f"cells {n:,} (grid {p['shape'][0]} x {p['shape'][1]}), facilities {p['facilities']:,}, "
          f"pairs {p['pairs']:,} ({p['pairs'] / n:.1f} per cell), gap areas {p['gaps']:,}; "
          f"process high-water mark {p['maxrss'] / GIB:.2f} GiB = {p['maxrss'] / n:.0f} bytes/cell")
    print(f"{'step':<34} {'s':>7} {'RSS before':>10} {'RSS peak':>9} {'RSS after':>9} {'new HWM':>8} "
          f"{'numpy peak+':>11} {'numpy kept':>10}   (GiB; 'new HWM' = the process's peak rose in this step)")
    order = sorted(p["steps"], key=lambda r: r.get("_order", 0))
    for r in order:
        hw = f"{r['high_water_after'] / GIB:.2f}" if r["new_high_water"] else "-"
        print(f"{r['step']:<34} {r['seconds']:>7.1f} {r['rss_before'] / GIB:>10.2f} {r['rss_peak_sampled'] / GIB:>9.2f} "
              f"{r['rss_after'] / GIB:>9.2f} {hw:>8} {r['numpy_peak_above_start'] / GIB:>11.2f} "
              f"{r['numpy_kept'] / GIB:>10.2f}")
    for title, d in (("grid arrays kept (bytes/cell)", p["grid_arrays"]),
                     ("ServiceResult arrays (bytes/cell)", p["result_arrays"]),
                     ("workspace cache (bytes/cell)", p["ws_cache"])):
        print(title + ": " + ", ".join(f"{k} {v / n:.1f}" for k, v in d.items() if v))
    print("run_service timings: " + ", ".join(f"{k} {v:.1f}s" for k, v in p["timings_s"].items()))


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", nargs="+", default=["1M", "4M"], help="cell counts: 1M 4M 16M 50M (or 20k, 2500000)")
    ap.add_argument("--modes", nargs="+", default=["straight_line", "terrain"], choices=["straight_line", "terrain"])
    ap.add_argument("--services", nargs="+", default=["clinic15", "walk1000"])
    ap.add_argument("--engines", nargs="+", default=["local", "dask"], choices=["local", "dask", "chunked"],
                    help="chunked: --engine dask --grid-store (the cells stay on disk; the store is written first)")
    ap.add_argument("--workers", type=int, default=2, help="dask workers of the LocalCluster (default 2)")
    ap.add_argument("--scheduler", default=None, help="an existing dask scheduler, tcp://host:8786")
    ap.add_argument("--tile", type=int, default=None, help="dask tile size in cells (the command's --tile)")
    ap.add_argument("--root", default=str(DEFAULT_ROOT), help="where the workspaces are (built when missing)")
    ap.add_argument("--timeout", type=float, default=3600.0, help="seconds before a run is killed (default 3600)")
    ap.add_argument("--max-gib", type=float, default=None,
                    help="stop a run whose process tree goes above this many GiB (sampled; protects a shared machine)")
    ap.add_argument("--warmup", type=int, default=0, help="untimed runs before the timed ones (default 0: cold)")
    ap.add_argument("--repeats", type=int, default=1, help="timed runs per row, median reported (default 1)")
    ap.add_argument("--json", default=None, help="also write the rows to this JSON file")
    ap.add_argument("--profile", default=None, metavar="SIZE", help="profile the local path's steps at this size")
    ap.add_argument("--populated", type=float, default=1.0,
                    help="share of the rural cells with people (scale_workspace --populated; default 1)")
    ap.add_argument("--no-served", action="store_true",
                    help="use the workspace without norms: no people-served step")
    a = ap.parse_args(argv)
    if a.profile:
        cells = parse_size(a.profile)
        ws_yaml = build(cells, Path(a.root) / folder_name(cells, a.populated), populated=a.populated)
        if a.no_served:
            ws_yaml = ws_yaml.parent / NO_NORM_YAML
        combos = [(m, s) for m in a.modes for s in a.services]
        more = ["--populated", str(a.populated)] + (["--json", a.json] if a.json else [])
        if len(combos) > 1:  # one process per profile: a process's high-water mark never falls
            for m, s in combos:
                cmd = [sys.executable, __file__, "--profile", a.profile, "--root", a.root, "--modes", m,
                       "--services", s, *more] + (["--no-served"] if a.no_served else [])
                subprocess.run(cmd, check=False)
            return 0
        for mode, svc in combos:
            print(f"== profile {size_label(cells)} {mode} {svc} (local engine, one process, {ws_yaml.name})",
                  flush=True)
            p = profile(ws_yaml, mode, svc)
            print_profile(p)
            if a.json:
                Path(a.json).with_suffix(f".{mode}.{svc}.json").write_text(json.dumps(p, indent=1, default=str))
        return 0
    treat = treatment(a.warmup, a.repeats)
    treat["treatment"] = str(treat["treatment"]) + ", each run in a fresh process (every engine alike)"
    runs: list[Run] = []
    for s in a.sizes:
        cells = parse_size(s)
        ws_yaml = build(cells, Path(a.root) / folder_name(cells, a.populated), quiet=False, populated=a.populated)
        if a.no_served:
            ws_yaml = ws_yaml.parent / NO_NORM_YAML
        if "chunked" in a.engines:
            r = measure_store(ws_yaml, a)
            runs.append(r)
            print(json.dumps({k: v for k, v in asdict(r).items() if k != "cmd"}), flush=True)
        for mode in a.modes:
            for svc in a.services:
                for eng in a.engines:
                    r = measure(ws_yaml, a, mode, svc, eng)
                    runs.append(r)
                    print(json.dumps({k: v for k, v in asdict(r).items() if k != "cmd"}), flush=True)
    print()
    if a.no_served:
        print(f"workspace {NO_NORM_YAML}: no norms, so no people-served step on either engine (like for like)")
    else:
        print("workspace.yaml: both engines also compute the people served within capacity (local: from the "
              "whole matrix; dask: the workers hold the catchments, the client sweeps)")
    print_table(runs, treat)
    if a.json:
        Path(a.json).write_text(json.dumps([asdict(r) for r in runs], indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
