"""Results shared by every session of the server, computed once per key, in caches bounded in bytes.

``st.cache_resource`` bounds a cache by its number of entries; a workspace, a service's
per-cell results or a map differ in size by orders of magnitude (a map of the demo is a few
MB, a service result about 100 MB), so a count says nothing of the memory a bureau's server
needs.  A :class:`ByteCache` keeps entries until their measured size (:func:`nbytes`: every
numpy array, pandas frame, string and container reachable from the value, each counted once)
passes its budget, then drops the least recently used.  A key asked for by several sessions at
once is computed once: the others wait for it (one lock per key), so twenty planners opening
the same service cost one computation.

Budgets come from ``$GISAPP_CACHE_MB`` (default 2,048 MB in all, split between workspaces,
results and maps as :data:`SHARES` says).
"""

from __future__ import annotations

import functools
import gc
import os
import sys
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, ParamSpec, TypeVar

import numpy as np
import pandas as pd

__all__ = ["CACHE_ENV", "FREEZE_RUNS", "SHARES", "ByteCache", "cache", "freeze_heap", "nbytes", "shared"]

P = ParamSpec("P")
R = TypeVar("R")

#: environment variable with the total budget of the shared caches, MB
CACHE_ENV = "GISAPP_CACHE_MB"
DEFAULT_MB = 2048
#: share of the budget of each cache
SHARES = {"workspaces": 0.25, "results": 0.5, "maps": 0.25}


def nbytes(obj: object, *, _seen: set[int] | None = None, _depth: int = 0) -> int:
    """Return the memory an object holds: arrays, frames, strings and containers, each counted once.

    Examples
    --------
    >>> a = np.zeros(1000)
    >>> nbytes({"a": a, "b": [a, a]}) - nbytes({"a": np.zeros(0), "b": []}) >= 8000
    True
    >>> nbytes({"a": a, "b": [a, a]}) < 2 * 8000
    True
    """
    seen = set() if _seen is None else _seen
    if id(obj) in seen or _depth > 60:
        return 0
    seen.add(id(obj))
    if isinstance(obj, np.ndarray):
        base = obj.base if isinstance(obj.base, np.ndarray) else None
        if base is not None:  # a view: count the array it looks into, once
            return nbytes(base, _seen=seen, _depth=_depth + 1)
        return int(obj.nbytes)
    if isinstance(obj, (pd.DataFrame, pd.Series)):
        mem = obj.memory_usage(deep=True)
        return int(mem.sum() if isinstance(mem, pd.Series) else mem)
    if isinstance(obj, (str, bytes, bytearray, int, float, bool, type(None))):
        return sys.getsizeof(obj)
    size = sys.getsizeof(obj)
    nxt = _depth + 1
    if isinstance(obj, dict):
        return size + sum(nbytes(k, _seen=seen, _depth=nxt) + nbytes(v, _seen=seen, _depth=nxt)
                          for k, v in obj.items())
    if isinstance(obj, (list, tuple, set, frozenset)):
        return size + sum(nbytes(v, _seen=seen, _depth=nxt) for v in obj)
    fields = getattr(obj, "__dict__", None)
    if isinstance(fields, dict):
        size += nbytes(fields, _seen=seen, _depth=nxt)
    for slot in getattr(type(obj), "__slots__", ()):
        if isinstance(slot, str) and hasattr(obj, slot):
            size += nbytes(getattr(obj, slot), _seen=seen, _depth=nxt)
    return size


class ByteCache:
    """A least-recently-used cache bounded in bytes, computing each key once across threads.

    Parameters
    ----------
    name
        The cache's name (for :meth:`stats`).
    max_bytes
        Budget; the newest entry is always kept, even when it alone is larger.
    sizeof
        How an entry is measured (default :func:`nbytes`).
    """

    def __init__(self, name: str, max_bytes: int, *, sizeof: Callable[[object], int] = nbytes) -> None:
        self.name = name
        self.max_bytes = int(max_bytes)
        self._sizeof = sizeof
        self._lock = threading.Lock()
        self._key_locks: dict[Hashable, threading.Lock] = {}
        self._entries: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()
        self.total = 0
        self.hits = self.misses = self.evictions = 0

    def get(self, key: Hashable, compute: Callable[[], R]) -> R:
        """Return the value of ``key``, computing it with ``compute()`` once if it is not kept."""
        with self._lock:
            if key in self._entries:
                self._entries.move_to_end(key)
                self.hits += 1
                return self._entries[key][0]  # type: ignore[no-any-return]
            key_lock = self._key_locks.setdefault(key, threading.Lock())
        with key_lock:
            with self._lock:
                if key in self._entries:  # another session computed it while this one waited
                    self._entries.move_to_end(key)
                    self.hits += 1
                    return self._entries[key][0]  # type: ignore[no-any-return]
            try:
                value = compute()
                size = self._sizeof(value)
                with self._lock:
                    self.misses += 1
                    self._entries[key] = (value, size)
                    self.total += size
                    while self.total > self.max_bytes and len(self._entries) > 1:
                        _, (_, old) = self._entries.popitem(last=False)
                        self.total -= old
                        self.evictions += 1
            finally:
                with self._lock:
                    self._key_locks.pop(key, None)
        return value

    def clear(self) -> None:
        """Drop every entry."""
        with self._lock:
            self._entries.clear()
            self.total = 0

    def stats(self) -> dict[str, int | str]:
        """Return the cache's name, entries, bytes kept, budget, hits, misses and evictions."""
        with self._lock:
            return {"name": self.name, "entries": len(self._entries), "bytes": self.total,
                    "max_bytes": self.max_bytes, "hits": self.hits, "misses": self.misses,
                    "evictions": self.evictions}


def _budget_mb() -> float:
    try:
        return max(64.0, float(os.environ.get(CACHE_ENV, DEFAULT_MB)))
    except ValueError:
        return float(DEFAULT_MB)


#: the server's shared caches
cache: dict[str, ByteCache] = {name: ByteCache(name, int(_budget_mb() * share * 2**20))
                               for name, share in SHARES.items()}


def shared(group: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Decorate a function whose result every session shares, kept in cache ``group`` (a key of :data:`SHARES`).

    The key is the function and its arguments (which must be hashable: strings, numbers, tuples).
    """
    store = cache[group]

    def deco(fn: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(fn)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            key = (fn.__module__, fn.__qualname__, args, tuple(sorted(kwargs.items())))
            return store.get(key, lambda: fn(*args, **kwargs))

        wrapper.cache = store  # type: ignore[attr-defined]
        return wrapper

    return deco


# --- the long-lived heap out of every garbage collection ------------------------------------------

#: how many of the process's first completed script runs end by freezing the heap
FREEZE_RUNS = 3
_freeze_lock = threading.Lock()
_freezes = 0


def freeze_heap() -> bool:
    """Move the objects alive now out of every future garbage collection (the first few calls only).

    Streamlit collects garbage in full after every script run (``runner.postScriptGC``), and a
    full collection walks every tracked object: the modules of pandas, geopandas, altair, folium
    and Streamlit and the loaded workspace, about 200,000 objects, 0.1-0.15 s each run.  Measured
    with py-spy on the load benchmark (5 sessions), these collections were 73 % of the server's
    CPU.  Called at the end of a script run, the first :data:`FREEZE_RUNS` calls of the process
    collect once more and then :func:`gc.freeze` what is left: what is alive then (the imported
    modules, the workspace, the first sessions) is long-lived, and later collections walk only
    the objects created after it.  Objects frozen are still freed when nothing refers to them;
    only a frozen reference cycle that becomes garbage later stays (a first session's own
    cycles, a few MB at most).  Returns True when this call froze the heap.
    """
    global _freezes  # noqa: PLW0603 - one counter per process
    with _freeze_lock:
        if _freezes >= FREEZE_RUNS:
            return False
        _freezes += 1
        gc.collect()
        gc.freeze()
    return True
