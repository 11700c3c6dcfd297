"""Load benchmark of the app: N planners at once on one server, on loopback.

Starts the app (``streamlit run streamlit_app.py``, the demo workspace unless
``$GISAPP_WORKSPACE`` says otherwise) on a free loopback port, warms it with one session's
tour, then for each N opens N sessions at once with the light websocket client
(:mod:`st_client`: a browser per session would take the CPU the server needs).  Each session
loads the overview, goes to the map and switches the service (session i takes option
1 + i % 3, so the sessions ask for a few different services, as planners do).  Printed per N,
one JSON line: p50 / p95 / max page time (every page of every session), the server's CPU
seconds during the round, the light client's own CPU seconds and the machine's load (on a
shared 2-core machine the client and other work compete with the server: read the ratios with
them), the server's peak resident memory (sampled every 0.2 s from /proc), and its resident
memory 30 s after the sessions closed against the warm level.

Two modes (``--mode``):

* ``closed``: each session asks for its next page as soon as the last one arrived, all N at
  once: the server is never idle, and every page waits for the pages of the other N - 1
  sessions.  However the pages are served, the mean page time is then at least
  N x CPU-per-page / cores the server can use: the script runs hold Python's GIL, so the
  server's scripts use about one core (measured: ``server_cores_busy`` near 1.0 under load).
  Each line prints that floor (``closed_floor_s``, with 1 core and with every core of the
  machine): with N = 20, "p95 <= 2 x one session" needs a page's CPU to be below
  2 x p95(1) x cores / 20, which no Streamlit page that draws a map or a table reaches.
* ``think``: planners as they work: each session starts at a random moment in the first
  ``--think-s`` high bound seconds and waits a random 5-15 s (``--think-s``; seeded with
  ``--seed``) before each next action, so N sessions ask for about N / 10 pages a second.

Usage::

    python benchmarks/bench_app_load.py                          # N = 1, 5, 10, 20, both modes
    python benchmarks/bench_app_load.py --sessions 1 5 --mode closed  # a quick run

Targets (issue 13): 20 sessions with p95 <= 2 x the single-session time and the server under
3 GiB; after the sessions close, memory within 20 % of its warm level.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from st_client import LightSession  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
TICK = os.sysconf("SC_CLK_TCK")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process (all its threads) so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def rss_bytes(pid: int) -> int:
    """Resident memory of a process now, bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


class Sampler:
    """Peak resident memory of a process, sampled in a thread."""

    def __init__(self, pid: int, every_s: float = 0.2) -> None:
        self.pid, self.every_s, self.peak = pid, every_s, 0
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_bytes(self.pid))
            self._stop.wait(self.every_s)

    def __enter__(self) -> Sampler:
        self._t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._t.join()


def start_server(port: int) -> subprocess.Popen[bytes]:
    """Start the app on 127.0.0.1:port and wait until it answers its health check."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "streamlit_app.py"), "--server.headless", "true",
         "--server.address", "127.0.0.1", "--server.port", str(port), "--browser.gatherUsageStats", "false",
         "--server.disconnectedSessionTTL", "5"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as r:  # noqa: S310
                if r.status == 200:
                    return proc
        except OSError:
            time.sleep(0.5)
    proc.kill()
    msg = "the app did not start within 120 s"
    raise RuntimeError(msg)


async def tour(url: str, i: int, think: tuple[float, float] | None = None, seed: int = 0) -> list[float]:
    """One planner: the overview, the map, another service; return the page times (s).

    With ``think`` = (low, high) seconds the planner starts at a random moment in the first
    ``high`` seconds and waits a random low-high seconds before each next action (seeded by
    ``seed`` and the session's number); without it every action follows the last at once.
    """
    rng = random.Random(seed * 1_000_003 + i)

    async def pause(lo: float, hi: float) -> None:
        if think is not None:
            await asyncio.sleep(rng.uniform(lo, hi))

    await pause(0.0, think[1] if think else 0.0)
    async with LightSession(url) as s:
        times = []
        r = await s.open()
        times.append(r.seconds)
        await pause(*(think or (0.0, 0.0)))
        r = await s.goto("map")
        times.append(r.seconds)
        options = list(r.widgets["service"].options)
        await pause(*(think or (0.0, 0.0)))
        r = await s.choose("service", options[(1 + i % 3) % len(options)])
        times.append(r.seconds)
        bad = list(r.exceptions)
        if bad:
            msg = f"session {i}: {bad}"
            raise RuntimeError(msg)
        return times


async def round_of(url: str, n: int, think: tuple[float, float] | None = None, seed: int = 0,
                   reps: int = 1) -> list[float]:
    """Run ``n`` sessions at once, ``reps`` times one after the other; return every page time."""
    out: list[float] = []
    for rep in range(reps):
        results = await asyncio.gather(*(tour(url, i, think, seed + 7919 * rep) for i in range(n)))
        out += [t for r in results for t in r]
    return out


def pct(values: list[float], q: float) -> float:
    v = sorted(values)
    return v[min(len(v) - 1, max(0, int(round(q * (len(v) - 1)))))]


def run_round(proc: subprocess.Popen[bytes], url: str, n: int, mode: str, think: tuple[float, float], seed: int,
              settle_s: float, reps: int = 1) -> dict[str, float | int | str]:
    """Run one round of ``n`` sessions in ``mode`` (``reps`` times over) and return what it measured."""
    c0 = cpu_seconds(proc.pid)
    u0 = resource.getrusage(resource.RUSAGE_SELF)
    w0 = time.perf_counter()
    with Sampler(proc.pid) as sampler:
        times = asyncio.run(round_of(url, n, think if mode == "think" else None, seed, reps))
    wall = time.perf_counter() - w0
    cpu = cpu_seconds(proc.pid) - c0
    u1 = resource.getrusage(resource.RUSAGE_SELF)
    client_cpu = (u1.ru_utime - u0.ru_utime) + (u1.ru_stime - u0.ru_stime)
    time.sleep(settle_s)
    after = rss_bytes(proc.pid)
    return {"bench": "app_load", "mode": mode, "sessions": n, "pages": len(times),
            "p50_s": round(statistics.median(times), 2), "p95_s": round(pct(times, 0.95), 2),
            "max_s": round(max(times), 2), "wall_s": round(wall, 1), "server_cpu_s": round(cpu, 1),
            "server_cpu_per_page_s": round(cpu / len(times), 3), "server_cores_busy": round(cpu / wall, 2),
            "client_cpu_s": round(client_cpu, 1), "load_avg_1min": round(os.getloadavg()[0], 1),
            "peak_rss_mib": round(sampler.peak / 2**20), "rss_after_close_mib": round(after / 2**20)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sessions", type=int, nargs="+", default=[1, 5, 10, 20])
    ap.add_argument("--mode", choices=["closed", "think", "both"], default="both",
                    help="closed: each session clicks again at once; think: planners wait between actions")
    ap.add_argument("--think-s", type=float, nargs=2, default=[5.0, 15.0], metavar=("LOW", "HIGH"),
                    help="think time between a session's actions, seconds (mode think)")
    ap.add_argument("--seed", type=int, default=13, help="seed of the think times and start moments")
    ap.add_argument("--settle-s", type=float, default=30.0, help="wait after the sessions close")
    ap.add_argument("--single-reps", type=int, default=5,
                    help="tours of the one-session round, one after the other (its p95 is the reference)")
    args = ap.parse_args(argv)
    think = (float(args.think_s[0]), float(args.think_s[1]))
    modes = ["closed", "think"] if args.mode == "both" else [args.mode]
    cores = os.cpu_count() or 1
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    proc = start_server(port)
    try:
        asyncio.run(round_of(url, 3))  # warm: every service the rounds ask for is computed once
        time.sleep(args.settle_s)
        warm = rss_bytes(proc.pid)
        print(json.dumps({"bench": "app_load", "warm_rss_mib": round(warm / 2**20), "cores": cores}), flush=True)
        for mode in modes:
            single: float | None = None
            cpu_page_1: float | None = None
            for n in args.sessions:
                r = run_round(proc, url, n, mode, think, args.seed, args.settle_s,
                              reps=max(1, args.single_reps) if n == 1 else 1)
                p95, cpu_page = float(r["p95_s"]), float(r["server_cpu_per_page_s"])
                if single is None:  # the first round (N = 1 by default) is the reference
                    single, cpu_page_1 = p95, cpu_page
                r["p95_vs_first_round"] = round(p95 / single, 2) if single else float("nan")
                r["after_close_vs_warm"] = round(float(r["rss_after_close_mib"]) * 2**20 / warm, 2)
                if mode == "closed":  # the floor of the mean page time when every session clicks at once
                    r["closed_floor_s"] = {"1_core": round(n * cpu_page, 2), f"{cores}_cores": round(n * cpu_page / cores, 2)}
                    r["cpu_per_page_for_2x_s"] = round(2 * (single or 0.0) * cores / n, 3)
                    r["cpu_per_page_first_round_s"] = cpu_page_1
                print(json.dumps(r), flush=True)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
    return 0


if __name__ == "__main__":
    sys.exit(main())
