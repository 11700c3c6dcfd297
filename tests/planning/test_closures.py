"""Closures and the mixed budget (gisapp.planning.closures): hand-computed answers, brute force,
dense == sparse, the time limit, and the heuristic against the exact solver."""

from __future__ import annotations

import math
from itertools import combinations

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.spatial.distance import cdist

from gisapp._errors import GisAppError
from gisapp.planning.closures import closures, mixed_budget

# row 0 (10 people) reached by sites 0 and 1, row 1 (5) by site 1, row 2 (1) by site 2
COST = np.array([[1.0, 1.0, 9.0], [9.0, 1.0, 9.0], [9.0, 9.0, 1.0]])
W = np.array([10.0, 5.0, 1.0])


def _random(seed: int, m: int = 600, n: int = 60) -> tuple[np.ndarray, np.ndarray, float]:
    rng = np.random.default_rng(seed)
    cost = cdist(rng.random((m, 2)), rng.random((n, 2)))
    return cost, rng.integers(1, 100, m).astype(float), math.sqrt(0.03 / math.pi)


def _covered(cost: np.ndarray, w: np.ndarray, r: float, cols: list[int]) -> float:
    return float(w[(cost[:, cols] <= r).any(axis=1)].sum()) if cols else 0.0


def test_close_one_and_two() -> None:
    res = closures(COST, W, 2.0, 1, existing=[0, 1, 2])
    assert res.model == "closures"
    assert res.closed.tolist() == [0] and res.objective == 0.0 and res.status == "optimal"
    res = closures(COST, W, 2.0, 2, existing=[0, 1, 2])
    # closing {0, 2} loses row 2 (1 person); {0, 1} loses 15; {1, 2} loses 6
    assert res.closed.tolist() == [0, 2] and res.objective == 1.0
    assert res.assignment.tolist() == [1, 1, 1]  # the only site left, nearest for every row
    assert res.opened.size == 0


def test_close_none_or_all() -> None:
    assert closures(COST, W, 2.0, 0, existing=[0, 1, 2]).objective == 0.0
    res = closures(COST, W, 2.0, 3, existing=[0, 1, 2])
    assert res.objective == 16.0 and res.closed.tolist() == [0, 1, 2]
    assert (res.assignment == -1).all()


def test_non_existing_columns_are_ignored() -> None:
    cost = np.hstack([COST, np.ones((3, 1))])  # column 3 reaches everyone but is not a facility
    res = closures(cost, W, 2.0, 2, existing=np.array([True, True, True, False]))
    assert res.closed.tolist() == [0, 2] and res.objective == 1.0


def test_closures_match_brute_force() -> None:
    cost, w, r = _random(7, 300, 30)
    existing = list(range(0, 30, 2))  # 15 facilities
    before = _covered(cost, w, r, existing)
    best = min(before - _covered(cost, w, r, [e for e in existing if e not in c])
               for c in combinations(existing, 3))
    res = closures(cost, w, r, 3, existing=existing, method="exact")
    assert res.optimal and res.objective == pytest.approx(best)
    kept = [e for e in existing if e not in res.closed.tolist()]
    assert before - _covered(cost, w, r, kept) == pytest.approx(res.objective)


def test_mixed_budget_hand_computed() -> None:
    cost = np.array([[1.0, 9.0, 9.0], [9.0, 1.0, 1.0], [9.0, 9.0, 1.0]])
    res = mixed_budget(cost, [10.0, 5.0, 4.0], 2.0, existing=[0, 1], n_open=1, n_close=1)
    assert res.model == "mixed"
    assert res.opened.tolist() == [2] and res.closed.tolist() == [1] and res.objective == 19.0
    res = mixed_budget(cost, [10.0, 5.0, 4.0], 2.0, existing=[0, 1], n_open=0, n_close=1)
    assert res.closed.tolist() == [1] and res.objective == 10.0


def test_mixed_budget_matches_brute_force() -> None:
    cost, w, r = _random(8, 300, 24)
    existing = list(range(8))
    cands = list(range(8, 24))
    best = max(_covered(cost, w, r, [e for e in existing if e not in c] + list(o))
               for c in combinations(existing, 2) for o in combinations(cands, 2))
    res = mixed_budget(cost, w, r, existing=existing, n_open=2, n_close=2, method="exact")
    assert res.optimal and res.objective == pytest.approx(best)
    assert len(res.opened) == 2 and len(res.closed) == 2
    assert set(res.opened.tolist()) <= set(cands) and set(res.closed.tolist()) <= set(existing)


def test_dense_equals_sparse() -> None:
    cost, w, r = _random(3)
    existing = np.arange(0, 60, 3)
    masked = np.where(cost <= 0.25, cost, np.inf)
    finite = np.isfinite(masked)
    sparse = sp.csr_array((masked[finite], np.nonzero(finite)), shape=cost.shape)
    a = closures(cost, w, r, 5, existing=existing)
    b = closures(sparse, w, r, 5, existing=existing)
    assert a.objective == b.objective and np.array_equal(a.closed, b.closed)
    c = mixed_budget(cost, w, r, existing=existing, n_open=3, n_close=3)
    d = mixed_budget(sparse, w, r, existing=existing, n_open=3, n_close=3)
    assert c.objective == d.objective and np.array_equal(c.opened, d.opened)


def test_time_limit_reports_not_optimal() -> None:
    cost, w, r = _random(1, 3000, 300)
    res = mixed_budget(cost, w, r, existing=np.arange(0, 300, 2), n_open=20, n_close=40,
                       method="exact", time_limit_s=1e-6)  # a deadline no solve can meet
    assert res.status == "time_limit" and not res.optimal
    assert len(res.opened) == 20 and len(res.closed) == 40


def test_heuristics_within_one_percent_of_exact() -> None:
    ratios_close, ratios_mixed = [], []
    for seed in range(3):
        cost, w, r = _random(seed, 800, 80)
        existing = np.arange(0, 80, 2)
        ex = closures(cost, w, r, 10, existing=existing, method="exact")
        he = closures(cost, w, r, 10, existing=existing, method="heuristic")
        assert ex.optimal and ex.objective > 0 and he.objective >= ex.objective - 1e-9
        ratios_close.append(he.objective / ex.objective)  # weight losing coverage
        em = mixed_budget(cost, w, r, existing=existing, n_open=6, n_close=8, method="exact")
        hm = mixed_budget(cost, w, r, existing=existing, n_open=6, n_close=8, method="heuristic")
        assert em.optimal and hm.objective <= em.objective + 1e-9
        ratios_mixed.append(hm.objective / em.objective)
    assert np.mean(ratios_close) <= 1.01
    assert np.mean(ratios_mixed) >= 0.99


def test_bad_counts() -> None:
    with pytest.raises(GisAppError) as err:
        closures(COST, W, 2.0, 4, existing=[0, 1, 2])
    assert err.value.code == "model_bad_count"
    with pytest.raises(GisAppError) as err:
        mixed_budget(COST, W, 2.0, existing=[0, 1], n_open=2, n_close=0)
    assert err.value.code == "model_bad_count"
