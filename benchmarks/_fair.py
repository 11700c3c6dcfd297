"""One treatment for every engine a benchmark compares: a warm-up run, then the median of n.

Every benchmark in this folder times ours and the peer through :func:`timed` with the same
``warmup`` and ``repeats``, and prints :func:`treatment` with its results, so that a ratio
never compares a warm, best-of-3 run of ours with one cold run of the peer.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

WARMUP = 1
REPEATS = 3


def timed(fn: Callable[[], Any], *, warmup: int = WARMUP, repeats: int = REPEATS,
          clock: Callable[[], float] = time.perf_counter) -> tuple[float, Any]:
    """Run ``fn`` ``warmup`` times untimed, then ``repeats`` times; return (median seconds, last result)."""
    out: Any = None
    for _ in range(warmup):
        out = fn()
    times = []
    for _ in range(repeats):
        t0 = clock()
        out = fn()
        times.append(clock() - t0)
    return statistics.median(times), out


def treatment(warmup: int = WARMUP, repeats: int = REPEATS) -> dict[str, object]:
    """Return the treatment both engines got, for the benchmark's output."""
    return {"treatment": f"both engines: {warmup} warm-up run(s), then the median of {repeats}"}
