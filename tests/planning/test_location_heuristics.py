"""The p-center and partial-cover set-covering heuristics against an exact optimum computed here.

The optimum comes from small MIPs written in this file (scipy's HiGHS, independent of the
models' own code): p-center as a binary search over the distinct costs, each step "can p sites
cover every row within T?"; partial set covering as one MIP.  Over seeded random instances the
heuristics must be within 1 % of it on average, every reported bound must be a true bound (so
the reported gap covers the true one), and ``optimal`` may be claimed only when true.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.spatial.distance import cdist

from gisapp.planning.lscp import lscp
from gisapp.planning.pcenter import p_center

SEEDS = range(6)


def _points(seed: int, m: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return cdist(rng.random((m, 2)), rng.random((n, 2))), rng.integers(1, 100, m).astype(float)


def _fixed_mask(n: int, fixed: list[int] | None) -> np.ndarray:
    fx = np.zeros(n, dtype=bool)
    if fixed:
        fx[fixed] = True
    return fx


def _covers(a: np.ndarray, p: int) -> bool:
    """True when at most ``p`` columns of the boolean matrix ``a`` cover all its rows (MIP)."""
    if a.shape[0] == 0:
        return True
    if not a.any(axis=1).all():
        return False
    n = a.shape[1]
    rows = np.vstack([a.astype(float), np.ones((1, n))])
    res = milp(np.ones(n), integrality=np.ones(n), bounds=Bounds(0, 1),
               constraints=LinearConstraint(rows, np.append(np.ones(a.shape[0]), 0.0),
                                            np.append(np.full(a.shape[0], np.inf), p)))
    assert res.status in (0, 2), res.message
    return bool(res.status == 0)


def _p_center_optimum(cost: np.ndarray, p: int, fixed: list[int] | None = None) -> float:
    """Smallest distinct cost T such that p new sites (and the fixed ones) reach every row."""
    fx = _fixed_mask(cost.shape[1], fixed)

    def feasible(t: float) -> bool:
        ok = cost <= t
        left = ~ok[:, fx].any(axis=1)
        return _covers(ok[left][:, ~fx], p)

    vals = np.unique(cost[np.isfinite(cost)])
    lo = int(np.searchsorted(vals, np.min(cost, axis=1).max()))
    hi = vals.size - 1
    while lo < hi:
        mid = (lo + hi) // 2
        if feasible(float(vals[mid])):
            hi = mid
        else:
            lo = mid + 1
    return float(vals[lo])


def _lscp_optimum(cost: np.ndarray, w: np.ndarray, r: float, share: float,
                  fixed: list[int] | None = None) -> float:
    """Fewest new sites covering ``share`` of the weight within ``r`` (one MIP: x then y)."""
    m, n = cost.shape
    fx = _fixed_mask(n, fixed)
    a = (cost <= r).astype(float)
    coupling = np.hstack([-a, np.eye(m)])  # y_i <= sum_j a_ij x_j
    target = np.append(np.zeros(n), w)[None, :]
    res = milp(np.append((~fx).astype(float), np.zeros(m)),
               integrality=np.append(np.ones(n), np.zeros(m)),
               bounds=Bounds(np.append(fx.astype(float), np.zeros(m)), np.ones(n + m)),
               constraints=[LinearConstraint(coupling, -np.inf, 0.0),
                            LinearConstraint(target, share * w.sum(), np.inf)])
    assert res.status == 0, res.message
    return float(round(res.fun))


def _check_honest(objective: float, bound: float, gap: float, optimal: bool, best: float) -> None:
    """The result's bound is a true lower bound, its gap covers the true one, and it claims
    optimality only when it is optimal."""
    assert objective >= best * (1 - 1e-12)
    assert bound <= best * (1 + 1e-12)
    assert gap >= (objective - best) / objective - 1e-12
    if optimal:
        assert objective == pytest.approx(best, rel=1e-12)


def _p_center_value(cost: np.ndarray, opened: np.ndarray, fixed: list[int] | None) -> float:
    cols = sorted(set(opened.tolist()) | set(fixed or []))
    return float(cost[:, cols].min(axis=1).max())


@pytest.mark.parametrize(("m", "n", "p", "fixed"), [
    (400, 50, 6, None),
    (400, 50, 4, [3, 17, 31]),
])
def test_p_center_heuristic_is_near_exact_and_honest(m: int, n: int, p: int,
                                                     fixed: list[int] | None) -> None:
    gaps = []
    for seed in SEEDS:
        cost, w = _points(seed, m, n)
        best = _p_center_optimum(cost, p, fixed)
        res = p_center(cost, w, p, fixed=fixed, method="heuristic")
        assert res.method == "heuristic" and len(res.opened) == p
        assert res.objective == pytest.approx(_p_center_value(cost, res.opened, fixed))
        _check_honest(res.objective, res.bound, res.gap, res.optimal, best)
        exact = p_center(cost, w, p, fixed=fixed, method="exact")
        assert exact.optimal and exact.objective == pytest.approx(best, rel=1e-12)
        gaps.append((res.objective - best) / best)
    assert np.mean(gaps) < 0.01


def test_p_center_heuristic_on_sparse_costs() -> None:
    # pairs beyond 0.45 are not stored (out of reach); every row still reaches some site
    gaps = []
    for seed in SEEDS:
        cost, w = _points(seed, 300, 40)
        masked = np.where(cost <= 0.45, cost, np.inf)
        finite = np.isfinite(masked)
        sparse = sp.csr_array((masked[finite], np.nonzero(finite)), shape=cost.shape)
        best = _p_center_optimum(masked, 5)
        res = p_center(sparse, w, 5, method="heuristic")
        _check_honest(res.objective, res.bound, res.gap, res.optimal, best)
        dense = p_center(masked, w, 5, method="heuristic")
        assert dense.objective == res.objective
        gaps.append((res.objective - best) / best)
    assert np.mean(gaps) < 0.01


@pytest.mark.parametrize(("m", "n", "fixed"), [(600, 80, None), (600, 80, [5, 25, 45, 65])])
def test_partial_cover_heuristic_is_near_exact_and_honest(m: int, n: int,
                                                          fixed: list[int] | None) -> None:
    r = math.sqrt(0.05 / math.pi)
    gaps = []
    for seed in SEEDS:
        cost, w = _points(seed, m, n)
        best = _lscp_optimum(cost, w, r, 0.9, fixed)
        res = lscp(cost, w, r, target_share=0.9, fixed=fixed, method="heuristic")
        assert res.method == "heuristic" and res.objective == len(res.opened)
        cols = sorted(set(res.opened.tolist()) | set(fixed or []))
        assert w[(cost[:, cols] <= r).any(axis=1)].sum() >= 0.9 * w.sum() * (1 - 1e-9)
        _check_honest(res.objective, res.bound, res.gap, res.optimal, best)
        gaps.append((res.objective - best) / best)
    assert np.mean(gaps) < 0.01
