"""gisapp.planning.pmedian: hand-computed cases, brute force, inputs, capacity, heuristic, time limit."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.spatial.distance import cdist

from gisapp._errors import GisAppError
from gisapp.planning.pmedian import p_median

# 3 demand rows x 3 sites; weights 1, 1, 2
COST = np.array([[0.0, 4.0, 9.0], [3.0, 0.0, 5.0], [8.0, 4.0, 0.0]])
W = np.array([1.0, 1.0, 2.0])


def _brute(cost: np.ndarray, w: np.ndarray, p: int, fixed: tuple[int, ...] = ()) -> float:
    """Best total weighted cost over every choice of p new sites (inf if none serves all)."""
    keep = (w > 0) & np.isfinite(cost).any(axis=1)  # rows out of every reach are left out
    best = np.inf
    new = [j for j in range(cost.shape[1]) if j not in fixed]
    for chosen in itertools.combinations(new, p):
        cols = list(chosen) + list(fixed)
        if not cols:
            continue
        d = cost[np.ix_(keep, cols)].min(axis=1)
        if np.isfinite(d).all():
            best = min(best, float(np.dot(w[keep], d)))
    return best


def _random(m: int, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    cost = cdist(rng.random((m, 2)) * 1000, rng.random((n, 2)) * 1000)
    return cost, rng.integers(1, 100, m).astype(float)


def test_hand_computed_two_sites() -> None:
    # {0, 2}: rows cost 0, 3, 0 -> 3; {1, 2}: 4 + 0 + 0 = 4; {0, 1}: 0 + 0 + 2 * 4 = 8
    res = p_median(COST, W, 2, method="exact")
    assert res.model == "p_median"
    assert sorted(res.opened.tolist()) == [0, 2]
    assert res.objective == pytest.approx(3.0)
    assert res.assignment.tolist() == [0, 0, 2]
    assert res.status == "optimal" and res.optimal and res.gap == 0.0
    assert res.bound == pytest.approx(3.0)


def test_hand_computed_fixed_site_not_counted_in_p() -> None:
    # site 1 exists; one new site: + 0 -> 0 + 0 + 2 * 4 = 8; + 2 -> 4 + 0 + 0 = 4
    res = p_median(COST, W, 1, fixed=[1], method="exact")
    assert res.opened.tolist() == [2]
    assert res.objective == pytest.approx(4.0)
    assert res.assignment.tolist() == [1, 1, 2]
    # p = 0: only the existing site serves
    zero = p_median(COST, W, 0, fixed=[1])
    assert zero.opened.tolist() == [] and zero.objective == pytest.approx(4 + 0 + 8)


@pytest.mark.parametrize("method", ["exact", "heuristic"])
def test_hand_computed_by_both_methods(method: str) -> None:
    res = p_median(COST, W, 1, method=method)  # type: ignore[arg-type]
    # one site: 0 -> 0 + 3 + 16 = 19; 1 -> 4 + 0 + 8 = 12; 2 -> 9 + 5 + 0 = 14
    assert res.opened.tolist() == [1]
    assert res.objective == pytest.approx(12.0)
    assert res.method == method


def test_brute_force_small_random_instances() -> None:
    rng = np.random.default_rng(7)
    for _ in range(60):
        m, n = int(rng.integers(3, 12)), int(rng.integers(2, 7))
        cost = rng.random((m, n)) * 10
        cost[rng.random((m, n)) < 0.3] = np.inf
        w = rng.integers(0, 5, m).astype(float)
        fixed = tuple(rng.choice(n, int(rng.integers(0, 2)), replace=False).tolist())
        p = int(rng.integers(0, n - len(fixed) + 1))
        expected = _brute(cost, w, p, fixed)
        res = p_median(cost, w, p, fixed=list(fixed) or None, method="exact")
        if np.isfinite(expected):
            assert res.status == "optimal"
            assert res.objective == pytest.approx(expected, rel=1e-9, abs=1e-9)
            assert len(res.opened) == p and not set(res.opened.tolist()) & set(fixed)
        else:
            assert res.status == "infeasible" and not res.optimal


def test_dense_equals_sparse() -> None:
    cost, w = _random(120, 15, 3)
    cost[cost > 500] = np.inf  # out of reach
    cost[0, 3] = 0.0  # a reachable pair at cost 0 (explicit zero in the sparse form)
    rows, cols = np.nonzero(np.isfinite(cost))
    sparse = sp.csr_array((cost[rows, cols], (rows, cols)), shape=cost.shape)
    assert sparse.nnz == np.isfinite(cost).sum()
    dense_res = p_median(cost, w, 4, method="exact")
    sparse_res = p_median(sparse, w, 4, method="exact")
    assert dense_res.status == sparse_res.status == "optimal"
    assert sparse_res.objective == pytest.approx(dense_res.objective, rel=1e-12)
    assert sorted(sparse_res.opened.tolist()) == sorted(dense_res.opened.tolist())
    assert (sparse_res.assignment == dense_res.assignment).all()


def test_row_out_of_every_reach_is_left_out() -> None:
    cost = np.array([[1.0, 2.0], [np.inf, np.inf], [3.0, 1.0]])
    res = p_median(cost, [1.0, 100.0, 1.0], 1, method="exact")
    assert res.assignment[1] == -1
    assert res.objective == pytest.approx(3.0)  # site 0: 1 + 3; site 1: 2 + 1
    assert res.opened.tolist() == [1]


def test_no_p_sites_reach_every_row_is_infeasible() -> None:
    cost = np.array([[1.0, np.inf], [np.inf, 1.0]])
    for method in ("exact", "heuristic"):
        res = p_median(cost, [1.0, 1.0], 1, method=method)
        assert res.status == "infeasible" and not res.optimal
        assert (res.assignment == -1).all()


def test_fixed_site_serves_its_rows_and_assignment_is_nearest_open() -> None:
    cost, w = _random(200, 20, 5)
    res = p_median(cost, w, 3, fixed=[0, 1], method="exact")
    assert res.status == "optimal" and len(res.opened) == 3
    open_cols = np.concatenate([res.opened, [0, 1]])
    nearest = open_cols[np.argmin(cost[:, open_cols], axis=1)]
    assert (res.assignment == nearest).all()
    assert res.objective == pytest.approx(float(np.dot(w, cost[np.arange(200), nearest])))


def test_capacity_binding_changes_the_answer() -> None:
    cost = np.array([[0.0, 5.0], [0.0, 5.0]])
    w = np.array([10.0, 10.0])
    free = p_median(cost, w, 1)
    assert free.opened.tolist() == [0] and free.objective == 0.0
    capped = p_median(cost, w, 1, capacity=[10.0, 30.0], method="exact")
    assert capped.model == "p_median_capacitated"
    assert capped.opened.tolist() == [1]  # site 0 cannot hold both rows
    assert capped.objective == pytest.approx(100.0)
    assert capped.status == "optimal"


def test_capacitated_rows_whole_unless_split() -> None:
    cost = np.array([[0.0, 5.0], [0.0, 5.0]])
    w = np.array([10.0, 10.0])
    whole = p_median(cost, w, 2, capacity=[15.0, 100.0], method="exact")
    assert whole.objective == pytest.approx(50.0)  # one row at each site
    split = p_median(cost, w, 2, capacity=[15.0, 100.0], method="exact", split=True)
    assert split.objective == pytest.approx(25.0)  # 15 at site 0, 5 at site 1
    assert split.flows is not None
    assert split.flows.toarray().sum(axis=1) == pytest.approx(w)
    assert split.flows.toarray().sum(axis=0) == pytest.approx([15.0, 5.0])


def test_capacitated_flows_respect_capacity_and_weights() -> None:
    cost, w = _random(60, 10, 11)
    cap = np.full(10, w.sum() / 3)
    res = p_median(cost, w, 4, capacity=cap, method="exact")
    assert res.status == "optimal" and res.flows is not None
    flows = res.flows.toarray()
    assert flows.sum(axis=1) == pytest.approx(w)
    assert (flows.sum(axis=0) <= cap + 1e-6).all()
    assert set(np.flatnonzero(flows.sum(axis=0) > 0)) <= set(res.opened.tolist())
    assert res.objective == pytest.approx(float((flows * cost).sum()))
    # more room never costs more, and the uncapacitated optimum is a lower bound
    assert res.objective >= p_median(cost, w, 4, method="exact").objective - 1e-6


def test_capacitated_infeasible_when_capacity_too_small() -> None:
    res = p_median(COST, W, 1, capacity=1.0, method="exact")
    assert res.status == "infeasible" and not res.optimal


def test_capacitated_heuristic_is_feasible_and_not_better_than_exact() -> None:
    cost, w = _random(50, 8, 2)
    cap = np.full(8, w.sum() / 2.5)
    exact = p_median(cost, w, 3, capacity=cap, method="exact")
    heur = p_median(cost, w, 3, capacity=cap, method="heuristic")
    assert heur.status == "feasible" and heur.flows is not None
    assert (heur.flows.toarray().sum(axis=0) <= cap + 1e-6).all()
    assert heur.objective >= exact.objective - 1e-6


def test_heuristic_within_one_percent_of_exact_on_average() -> None:
    gaps = []
    for seed in range(6):
        cost, w = _random(250, 30, 100 + seed)
        exact = p_median(cost, w, 5, method="exact")
        heur = p_median(cost, w, 5, method="heuristic")
        assert exact.status == "optimal" and heur.status in ("feasible", "optimal")
        assert heur.objective >= exact.objective * (1 - 1e-9)
        gaps.append(heur.objective / exact.objective - 1)
    assert float(np.mean(gaps)) < 0.01


def test_heuristic_lagrangian_bound_is_below_the_optimum_and_its_gap_is_reported() -> None:
    # seeded random instances the exact solver does quickly; some with an existing site
    gaps, proven = [], 0
    for seed in range(8):
        cost, w = _random(300, 40, 300 + seed)
        fixed = [seed % 40] if seed % 2 else None
        exact = p_median(cost, w, 6, fixed=fixed, method="exact")
        heur = p_median(cost, w, 6, fixed=fixed, method="heuristic")
        assert exact.proven
        opt = exact.objective
        # the reported lower bound is a true lower bound, and the gap is (upper - bound) / upper
        assert np.isfinite(heur.bound) and heur.bound <= opt * (1 + 1e-9)
        assert heur.gap == pytest.approx((heur.objective - heur.bound) / heur.objective, abs=1e-12)
        assert heur.objective >= opt * (1 - 1e-9)
        # the proven gap covers the true one; "optimal" only when it is
        assert heur.objective - opt <= heur.gap * heur.objective + 1e-6 * opt
        if heur.optimal:
            proven += 1
            assert heur.status == "optimal" and heur.objective == pytest.approx(opt, rel=1e-9)
        gaps.append(heur.objective / opt - 1)
    assert float(np.mean(gaps)) < 0.01
    assert proven >= 1  # the bound closes the gap on some instances


def test_capacitated_heuristic_within_one_percent_of_exact_on_average() -> None:
    gaps = []
    for seed in range(4):
        cost, w = _random(120, 15, 400 + seed)
        cap = np.full(15, 1.3 * w.sum() / 4)
        exact = p_median(cost, w, 4, capacity=cap, method="exact")
        heur = p_median(cost, w, 4, capacity=cap, method="heuristic")
        assert exact.proven and heur.flows is not None
        assert (heur.flows.toarray().sum(axis=0) <= cap + 1e-6).all()
        # whole rows: each row's weight goes to one site
        assert ((heur.flows.toarray() > 0).sum(axis=1) <= 1).all()
        assert heur.objective >= exact.objective * (1 - 1e-9)
        assert heur.bound <= exact.objective * (1 + 1e-9)
        gaps.append(heur.objective / exact.objective - 1)
    assert float(np.mean(gaps)) < 0.01


def test_time_limit_returns_best_answer_with_status() -> None:
    cost, w = _random(1500, 150, 9)
    res = p_median(cost, w, 8, method="exact", time_limit_s=1e-6)
    assert res.status == "time_limit" and not res.optimal and not res.proven
    assert len(res.opened) == 8 and np.isfinite(res.objective)
    assert np.isnan(res.gap) or res.gap >= 0


def test_progress_is_reported() -> None:
    calls: list[tuple[float, str]] = []
    p_median(COST, W, 2, method="exact", progress=lambda f, s: calls.append((f, s)))
    assert calls[0] == (0.0, "build") and calls[-1] == (1.0, "done")
    assert all(0.0 <= f <= 1.0 for f, _ in calls)
    assert {s for _, s in calls} <= {"build", "heuristic", "solve", "done"}
    fractions = [f for f, _ in calls]
    assert fractions == sorted(fractions)


@pytest.mark.parametrize(("kwargs", "code"), [
    ({"p": 3, "fixed": [0]}, "pmedian_bad_p"),
    ({"p": -1}, "pmedian_bad_p"),
    ({"p": 1, "method": "fast"}, "pmedian_bad_method"),
    ({"p": 1, "capacity": [1.0, 2.0]}, "pmedian_bad_capacity_length"),
    ({"p": 1, "capacity": [1.0, -2.0, 3.0]}, "pmedian_bad_capacity_values"),
    ({"p": 1, "time_limit_s": 0}, "bad_time_limit"),
])
def test_bad_inputs(kwargs: dict[str, object], code: str) -> None:
    with pytest.raises(GisAppError) as err:
        p_median(COST, W, **kwargs)  # type: ignore[arg-type]
    assert err.value.code == code


def _brute_capacitated(cost: np.ndarray, w: np.ndarray, p: int, cap: np.ndarray
                       ) -> tuple[float, np.ndarray | None]:
    """Capacitated optimum with whole rows by enumeration: every choice of p sites, each
    an assignment MIP (scipy) of rows to the chosen sites within their capacities.
    Returns (cost, the optimal (row, column) 0/1 matrix) or (inf, None)."""
    from scipy.optimize import Bounds, LinearConstraint, milp

    m, n = cost.shape
    best, best_y = np.inf, None
    for chosen in itertools.combinations(range(n), p):
        cols = list(chosen)
        c = (w[:, None] * cost[:, cols]).ravel()  # variable (i, k) at i * p + k
        each = sp.kron(sp.eye(m), np.ones((1, p)))
        load = sp.kron(w[None, :], sp.eye(p))
        res = milp(c, integrality=np.ones(c.size), bounds=Bounds(0, 1),
                   constraints=[LinearConstraint(each, 1, 1),
                                LinearConstraint(load, -np.inf, cap[cols])])
        if res.x is not None and res.fun < best:
            best = float(res.fun)
            y = np.zeros((m, n))
            y[:, cols] = np.round(res.x).reshape(m, p)
            best_y = y
    return best, best_y


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_capacitated_exact_equals_enumeration(seed: int) -> None:
    # loose capacities (the incumbent and the Lagrangian bound fix most pairs) and
    # tight ones (little is fixed): both must reach the enumerated optimum
    cost, w = _random(30, 8, 500 + seed)
    factor = 1.6 if seed % 2 else 1.1
    cap = np.full(8, factor * w.sum() / 3)
    opt, _ = _brute_capacitated(cost, w, 3, cap)
    res = p_median(cost, w, 3, capacity=cap, method="exact")
    assert res.status == "optimal" and res.optimal
    assert res.objective == pytest.approx(opt, rel=1e-9)
    assert res.flows is not None
    assert (res.flows.toarray().sum(axis=0) <= cap + 1e-6).all()
    assert ((res.flows.toarray() > 0).sum(axis=1) == 1).all()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_capacitated_fixing_keeps_every_pair_of_an_optimal_answer(seed: int) -> None:
    # _cap_fix with the optimum as incumbent: no pair or column of an optimal answer may go
    from gisapp.planning import pmedian as pm

    cost, w = _random(30, 8, 600 + seed)
    cap = np.full(8, 1.4 * w.sum() / 3)
    opt, y = _brute_capacitated(cost, w, 3, cap)
    assert y is not None
    c = sp.csr_array(cost)
    fx = np.zeros(8, dtype=bool)
    red = pm._Reduced(c, w, fx)
    sites = pm._heuristic(red, 3, None)
    _, _, _, rho, lam = pm._bound_and_polish(red, 3, sites, None, None)
    assert lam is not None
    rows = np.repeat(np.arange(30), 8)
    cols = np.tile(np.arange(8), 30)
    vals = cost.ravel()
    lower, keep, zero, one = pm._cap_fix(red, c, w, fx, 3, rho, lam, np.arange(30), rows, cols,
                                         vals, w[rows] * vals, opt)
    assert lower <= opt * (1 + 1e-9)  # a lower bound
    used = y.ravel() > 0.5
    assert keep[used].all()
    opened = y.sum(axis=0) > 0
    assert not zero[opened].any()
    assert not one[~opened].any()
    # and it does fix something: the bound is within a few per cent here
    assert (~keep).sum() > 0
