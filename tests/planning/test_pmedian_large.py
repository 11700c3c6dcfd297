"""gisapp.planning.pmedian at sizes the MIP cannot hold: bounded model builds, honest bounds.

The large-instance paths (no MIP above ``_EXACT_MAX_PAIRS`` pairs, each row's nearest pairs
only above ``_CAP_MAX_PAIRS`` in the capacitated model) are driven here on small instances
by lowering those limits; every bound is checked against the optimum of our exact solver
run with the limits as shipped (proven optimal), with fixed sites and capacities.
"""

from __future__ import annotations

import time

import numpy as np
import pytest
from scipy.spatial.distance import cdist

from gisapp.planning import pmedian as pm
from gisapp.planning.location import as_csr
from gisapp.planning.pmedian import p_median

SEEDS = [0, 1, 2, 3]


def _instance(seed: int, m: int = 60, n: int = 12) -> tuple[np.ndarray, np.ndarray, list[int]]:
    rng = np.random.default_rng(seed)
    cost = cdist(rng.random((m, 2)) * 1000, rng.random((n, 2)) * 1000)
    w = rng.integers(1, 100, m).astype(float)
    fixed = rng.choice(n, int(seed % 3), replace=False).tolist()
    return cost, w, fixed


def _optimum(cost: np.ndarray, w: np.ndarray, p: int, fixed: list[int],
             capacity: np.ndarray | None = None) -> float:
    res = p_median(cost, w, p, fixed=fixed, capacity=capacity, method="exact")
    assert res.proven, res.status
    return res.objective


def _tol(x: float) -> float:
    return 1e-7 * max(abs(x), 1.0)


@pytest.mark.parametrize("seed", SEEDS)
def test_uncapacitated_bounds_are_below_the_exact_optimum(seed: int) -> None:
    cost, w, fixed = _instance(seed)
    opt = _optimum(cost, w, 3, fixed)
    heur = p_median(cost, w, 3, fixed=fixed, method="heuristic")
    assert heur.bound <= opt + _tol(opt)
    assert heur.objective >= opt - _tol(opt)
    assert heur.proven == (heur.status == "optimal")
    if heur.proven:
        assert heur.objective == pytest.approx(opt, rel=1e-9)


def _count_relaxations(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Record the number of pairs of every MIP relaxation the solver builds."""
    built: list[int] = []
    real = pm._solve_relaxation

    def spy(red, p, keep, *args, **kwargs):  # type: ignore[no-untyped-def]
        built.append(int(np.count_nonzero(keep)))
        return real(red, p, keep, *args, **kwargs)

    monkeypatch.setattr(pm, "_solve_relaxation", spy)
    return built


@pytest.mark.parametrize("seed", SEEDS)
def test_exact_without_a_mip_is_unproven_unless_the_bound_closes(
        seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    cost, w, fixed = _instance(seed)
    opt = _optimum(cost, w, 3, fixed)
    built = _count_relaxations(monkeypatch)
    monkeypatch.setattr(pm, "_EXACT_MAX_PAIRS", 5)
    for limit, unproven in ((None, "feasible"), (5.0, "time_limit")):
        res = p_median(cost, w, 3, fixed=fixed, method="exact", time_limit_s=limit)
        assert built == []  # no MIP was built
        assert res.bound <= opt + _tol(opt)
        assert res.objective >= opt - _tol(opt)
        if res.proven:  # only when the Lagrangian bound closed the gap
            assert res.gap == 0.0 and res.objective == pytest.approx(opt, rel=1e-9)
        else:
            assert res.status == unproven and not res.optimal
            assert res.gap == pytest.approx((res.objective - res.bound) / res.objective)


def test_exact_mip_never_holds_more_pairs_than_the_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    cost, w, fixed = _instance(5, m=80, n=15)
    opt = _optimum(cost, w, 4, fixed)
    built = _count_relaxations(monkeypatch)
    monkeypatch.setattr(pm, "_EXACT_MAX_PAIRS", 300)
    res = p_median(cost, w, 4, fixed=fixed, method="exact")
    assert all(b <= 300 for b in built)
    assert res.bound <= opt + _tol(opt) and res.objective >= opt - _tol(opt)


@pytest.mark.parametrize("k_rows", [1, 3, 5])
def test_capacitated_pairs_are_bounded_and_each_rows_nearest(k_rows: int) -> None:
    cost, _, _ = _instance(4, m=40, n=10)
    c = as_csr(cost)
    model_rows = np.arange(40)
    limit = 40 * k_rows
    rows, cols, vals, cut = pm._cap_pairs(c, model_rows, limit)
    assert rows.size <= limit and cut is not None
    for i in range(40):
        mine = np.sort(vals[rows == i])
        nearest = np.sort(cost[i])
        assert mine.size == k_rows
        assert np.allclose(mine, nearest[:k_rows])
        assert cut[i] == pytest.approx(nearest[k_rows])
        assert np.allclose(cost[i, cols[rows == i]], vals[rows == i])
    # under the limit: every pair, nothing cut
    rows, _, _, cut = pm._cap_pairs(c, model_rows, 400)
    assert rows.size == 400 and cut is None


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("split", [False, True])
def test_capacitated_restricted_pairs_bound_below_the_optimum(
        seed: int, split: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    cost, w, fixed = _instance(seed, m=30, n=8)
    cap = np.full(8, 1.3 * w.sum() / (3 + len(fixed)))
    opt = p_median(cost, w, 3, fixed=fixed, capacity=cap, method="exact", split=split)
    assert opt.proven
    sizes: list[int] = []
    real = pm._cap_arrays

    def spy(rows, *args, **kwargs):  # type: ignore[no-untyped-def]
        sizes.append(int(rows.size))
        return real(rows, *args, **kwargs)

    monkeypatch.setattr(pm, "_cap_arrays", spy)
    monkeypatch.setattr(pm, "_CAP_MAX_PAIRS", 30 * 3)  # each row's 3 nearest
    # built: each row's 3 nearest, plus its pairs to the start's 3 new and the fixed sites
    most = 30 * 3 + 30 * (3 + len(fixed))
    for method in ("exact", "heuristic"):
        res = p_median(cost, w, 3, fixed=fixed, capacity=cap,
                       method=method, split=split)  # type: ignore[arg-type]
        assert all(s <= most for s in sizes)  # no model over more pairs
        assert res.model == "p_median_capacitated"
        assert res.bound <= opt.objective + _tol(opt.objective)
        assert res.objective >= opt.objective - _tol(opt.objective)
        assert res.flows is not None
        load = np.asarray(res.flows.sum(axis=0)).ravel()
        assert (load <= cap + 1e-6).all()
        served = np.asarray(res.flows.sum(axis=1)).ravel()
        assert np.allclose(served, w)
        if res.proven:
            assert res.objective == pytest.approx(opt.objective, rel=1e-9)
        else:
            assert res.status in ("feasible", "time_limit") and res.gap > 0.0


def test_cut_check_never_proves_a_restriction_that_loses_the_optimum() -> None:
    # whenever _cut_ruled_out says each row's nearest pairs suffice, the optimum over them
    # is the optimum over every pair (our exact solver on both)
    checked = 0
    for seed in SEEDS:
        cost, w, fixed = _instance(seed, m=30, n=8)
        cap = np.full(8, 1.3 * w.sum() / (3 + len(fixed)))
        opt = _optimum(cost, w, 3, fixed, cap)
        c = as_csr(cost)
        fx = np.zeros(8, dtype=bool)
        fx[fixed] = True
        red = pm._Reduced(c, w, fx)
        sites = pm._heuristic(red, 3, None)
        _, _, _, rho, lam = pm._bound_and_polish(red, 3, sites, None, None)
        assert lam is not None
        model_rows = np.arange(30)
        for k in (2, 3, 4, 6):
            rows, cols, vals, cut = pm._cap_pairs(c, model_rows, 30 * k)
            assert cut is not None
            sub = np.full_like(cost, np.inf)
            sub[rows, cols] = vals
            res = p_median(sub, w, 3, fixed=fixed, capacity=cap, method="exact")
            if not res.proven:  # the restriction has no answer
                continue
            lower = pm._cap_fix(red, c, w, fx, 3, rho, lam, model_rows, rows, cols, vals,
                                w[rows] * vals, res.objective)[0]
            assert lower <= opt + _tol(opt)
            if pm._cut_ruled_out(red, lam, model_rows, rows, vals, w, cut, lower,
                                 res.objective, False):
                checked += 1
                assert res.objective == pytest.approx(opt, rel=1e-9)
            else:
                assert res.objective >= opt - _tol(opt)
    assert checked > 0  # the proof was exercised


@pytest.mark.parametrize("seed", SEEDS)
def test_capacitated_exact_without_a_mip_searches_and_stays_honest(
        seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    # loose capacities (the uncapacitated answer fits) and no MIP allowed: the exact solver
    # searches the uncapacitated problem; its answer fits, is no better than the optimum,
    # and is proven only when the bound closes the gap
    cost, w, fixed = _instance(seed, m=50, n=12)
    cap = np.full(12, 0.8 * w.sum())
    opt = _optimum(cost, w, 3, fixed, cap)
    monkeypatch.setattr(pm, "_CAP_MAX_PAIRS", 50 * 4)
    monkeypatch.setattr(pm, "_EXACT_MAX_PAIRS", 5)
    monkeypatch.setattr(pm, "_EXACT_SEARCH", 0.2)
    for limit, unproven in ((None, "feasible"), (5.0, "time_limit")):
        res = p_median(cost, w, 3, fixed=fixed, capacity=cap, method="exact",
                       time_limit_s=limit)
        assert res.bound <= opt + _tol(opt)
        assert res.objective >= opt - _tol(opt)
        assert res.flows is not None
        assert (np.asarray(res.flows.sum(axis=0)).ravel() <= cap + 1e-6).all()
        assert np.allclose(np.asarray(res.flows.sum(axis=1)).ravel(), w)
        if res.proven:
            assert res.objective == pytest.approx(opt, rel=1e-9)
        else:
            assert res.status == unproven and res.gap > 0.0


def test_exact_without_a_mip_raises_the_bound_and_keeps_it_valid(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # above the MIP limit the exact solver searches, then runs the subgradient again aimed
    # at the better incumbent: every bound met stays below the optimum (our exact solver
    # with the limits as shipped), and the result carries the best of them
    long_runs = 0
    for seed in SEEDS:
        rng = np.random.default_rng(100 + seed)
        cost = cdist(rng.random((150, 2)) * 1000, rng.random((30, 2)) * 1000)
        w = rng.integers(1, 100, 150).astype(float)
        opt = _optimum(cost, w, 5, [])
        bounds: list[tuple[int, float]] = []
        real = pm._lagrangian

        def spy(*args, real=real, bounds=bounds, **kwargs):  # type: ignore[no-untyped-def]
            out = real(*args, **kwargs)
            bounds.append((kwargs.get("patience", pm._LAG_STALL), out[0]))
            return out

        monkeypatch.setattr(pm, "_lagrangian", spy)
        monkeypatch.setattr(pm, "_EXACT_MAX_PAIRS", 5)
        monkeypatch.setattr(pm, "_EXACT_SEARCH", 0.5)
        res = p_median(cost, w, 5, method="exact")
        monkeypatch.undo()
        assert bounds and all(b <= opt + _tol(opt) for _, b in bounds)
        assert res.bound >= max(b for _, b in bounds) - _tol(opt)
        assert res.bound <= opt + _tol(opt) and res.objective >= opt - _tol(opt)
        long_runs += sum(1 for k, _ in bounds if k == pm._LAG_LONG_STALL)
        if res.proven:
            assert res.objective == pytest.approx(opt, rel=1e-9) and res.gap == 0.0
        else:
            assert res.status == "feasible" and res.gap > 0.0
    assert long_runs > 0  # the second bound was exercised


def test_exact_with_a_limit_searches_before_a_large_mip(monkeypatch: pytest.MonkeyPatch) -> None:
    """A MIP above ``_SEARCH_FIRST_PAIRS`` pairs may use the whole time limit without an
    answer (at 5,000 x 500 HiGHS did, for 600 s, while a 2 s heuristic run did better): the
    exact method first searches for a share of the time, and its answer is never worse
    than the incumbent it started from, nor than the optimum's bound."""
    cost, w, fixed = _instance(5, 200, 30)
    opt = _optimum(cost, w, 4, fixed)
    monkeypatch.setattr(pm, "_SEARCH_FIRST_PAIRS", 100)  # every model here is "large"
    started: list[float] = []
    searched: list[float] = []
    real_exact, real_search = pm._exact, pm._exact_search

    def exact(red: pm._Reduced, p: int, inc: np.ndarray, inc_val: float, *a: object,
              **k: object) -> tuple[np.ndarray, float, float, bool]:
        started.append(inc_val + red.const)
        return real_exact(red, p, inc, inc_val, *a, **k)  # type: ignore[arg-type]

    def search(red: pm._Reduced, p: int, inc: np.ndarray, inc_val: float, deadline: float | None,
               *a: object, **k: object) -> tuple[np.ndarray, float]:
        assert deadline is not None
        searched.append(deadline - time.perf_counter())
        return real_search(red, p, inc, inc_val, deadline, *a, **k)  # type: ignore[arg-type]

    monkeypatch.setattr(pm, "_exact", exact)
    monkeypatch.setattr(pm, "_exact_search", search)
    # no proof by the bound, so the exact path runs
    monkeypatch.setattr(pm, "_bound_and_polish",
                        lambda red, p, s, *a, **k: (s, red.true_cost(s), float("-inf"),
                                                    np.zeros(red.n), None))
    res = p_median(cost, w, 4, fixed=fixed, method="exact", time_limit_s=4.0)
    assert started and searched, "the search ran before the MIP"
    assert 0 < searched[0] <= pm._SEARCH_FIRST * 4.0 + 0.05  # a share of the time, not all
    assert opt - _tol(opt) <= res.objective <= started[0] + _tol(started[0])
