"""The shared caches: measured in bytes, least recently used dropped, each key computed once across sessions."""

from __future__ import annotations

import threading
import time

import numpy as np
import pandas as pd

from gisapp.ui.memo import ByteCache, nbytes, shared


def test_sizes_count_arrays_frames_and_views_once() -> None:
    a = np.zeros(100_000)  # 800 kB
    frame = pd.DataFrame({"x": np.zeros(50_000)})  # 400 kB
    assert 800_000 <= nbytes(a) < 801_000
    assert 800_000 <= nbytes({"a": a, "again": a, "view": a[10:20]}) < 810_000
    assert 1_200_000 <= nbytes([a, frame]) < 1_220_000

    class Holder:
        def __init__(self) -> None:
            self.grid = a
            self.table = frame

    assert 1_200_000 <= nbytes(Holder()) < 1_220_000


def test_entries_go_by_bytes_least_recently_used_first() -> None:
    c = ByteCache("t", max_bytes=2_500_000)
    mb = lambda: np.zeros(125_000)  # noqa: E731 - 1 MB
    c.get("a", mb)
    c.get("b", mb)
    c.get("a", mb)  # a is now the most recent
    c.get("c", mb)  # 3 MB > 2.5 MB: b goes
    s = c.stats()
    assert s["entries"] == 2 and s["evictions"] == 1 and s["bytes"] <= 2_500_000
    calls = []
    c.get("a", lambda: calls.append("a") or mb())
    c.get("b", lambda: calls.append("b") or mb())
    assert calls == ["b"]  # a was kept, b was computed again
    big = ByteCache("big", max_bytes=100)
    assert big.get("x", mb).size == 125_000 and big.stats()["entries"] == 1  # the newest stays


def test_a_key_asked_by_many_sessions_at_once_is_computed_once() -> None:
    c = ByteCache("t", max_bytes=10**9)
    computed = []
    barrier = threading.Barrier(12)

    def slow() -> np.ndarray:
        computed.append(1)
        time.sleep(0.3)
        return np.arange(10)

    results = []

    def session(key: str) -> None:
        barrier.wait()
        results.append(c.get(key, slow))

    threads = [threading.Thread(target=session, args=("svc" if i < 10 else f"other{i}",)) for i in range(12)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert len(computed) == 3  # "svc" once for ten sessions, and the two others
    assert len({id(r) for r in results}) == 3  # the ten got the very same object


def test_the_decorator_keys_on_the_arguments() -> None:
    calls = []

    @shared("results")
    def square(x: int, *, plus: int = 0) -> int:
        calls.append(x)
        return x * x + plus

    square.cache.clear()  # type: ignore[attr-defined]
    assert [square(3), square(3), square(4), square(3, plus=1)] == [9, 9, 16, 10]
    assert calls == [3, 4, 3]


def test_the_heap_is_frozen_at_the_end_of_the_first_runs_only(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import gc

    from gisapp.ui import memo

    calls: list[str] = []
    monkeypatch.setattr(memo, "_freezes", 0)
    monkeypatch.setattr(gc, "collect", lambda *a: calls.append("collect") or 0)
    monkeypatch.setattr(gc, "freeze", lambda: calls.append("freeze"))
    done = [memo.freeze_heap() for _ in range(memo.FREEZE_RUNS + 2)]
    assert done == [True] * memo.FREEZE_RUNS + [False, False]
    assert calls == ["collect", "freeze"] * memo.FREEZE_RUNS, "garbage is collected before each freeze"
