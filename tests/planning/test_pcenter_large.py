"""p-center's exact tests on some rows (row generation, used above a size limit): forced on
small instances and checked against a plain assignment MIP (HiGHS through scipy)."""

from __future__ import annotations

import time

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.spatial.distance import cdist

from gisapp.planning import pcenter as pcenter_mod
from gisapp.planning.location import expired
from gisapp.planning.pcenter import p_center


def _instance(seed: int, m: int = 120, n: int = 20) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return cdist(rng.random((m, 2)), rng.random((n, 2))), rng.integers(1, 100, m).astype(float)


def _mip_optimum(cost: np.ndarray, p: int, fixed: list[int] | None = None) -> float:
    """The classic p-center MIP: assignment x_ij, open y_j, the longest trip W (minimised)."""
    m, n = cost.shape
    nx = m * n
    iy, iw = nx, nx + n  # variable offsets
    nv = nx + n + 1
    rows, cols, vals, lo, hi = [], [], [], [], []

    def add(c: list[int], v: list[float], low: float, up: float) -> None:
        r = len(lo)
        rows.extend([r] * len(c))
        cols.extend(c)
        vals.extend(v)
        lo.append(low)
        hi.append(up)

    for i in range(m):
        add([i * n + j for j in range(n)], [1.0] * n, 1.0, 1.0)  # each row assigned once
        add([i * n + j for j in range(n)] + [iw], [*cost[i].tolist(), -1.0], -np.inf, 0.0)
        for j in range(n):
            add([i * n + j, iy + j], [1.0, -1.0], -np.inf, 0.0)  # only to open sites
    fx = [] if fixed is None else list(fixed)
    free = [j for j in range(n) if j not in fx]
    add([iy + j for j in free], [1.0] * len(free), p, p)
    a = sp.csr_array((vals, (rows, cols)), shape=(len(lo), nv))
    lower = np.zeros(nv)
    lower[[iy + j for j in fx]] = 1.0
    upper = np.ones(nv)
    upper[iw] = np.inf
    c = np.zeros(nv)
    c[iw] = 1.0
    integ = np.zeros(nv)
    integ[iy:iw] = 1
    res = milp(c, integrality=integ, bounds=Bounds(lower, upper),
               constraints=LinearConstraint(a, lo, hi), options={"time_limit": 120})
    assert res.status == 0
    return float(cost.flat[np.argmin(np.abs(cost - res.fun))])  # the cost it is (W has a tolerance)


@pytest.fixture
def forced(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Row generation for every exact test, from few rows, adding few; counts its calls."""
    monkeypatch.setattr(pcenter_mod, "_RG_MIN_PAIRS", 0)
    monkeypatch.setattr(pcenter_mod, "_RG_START", 3)
    monkeypatch.setattr(pcenter_mod, "_RG_ADD", 2)
    calls = [0]
    orig = pcenter_mod._Problem._row_generation

    def counted(self: pcenter_mod._Problem, *args: object, **kwargs: object
                ) -> tuple[int, np.ndarray | None]:
        calls[0] += 1
        return orig(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(pcenter_mod._Problem, "_row_generation", counted)
    # no proof by the heuristic's bounds: the exact tests must prove the optimum
    monkeypatch.setattr(pcenter_mod._Problem, "infeasible", lambda *_a, **_k: False)
    return calls


@pytest.mark.parametrize(("seed", "p", "fixed"), [(0, 4, None), (1, 5, None), (2, 3, [5, 17])])
def test_row_generation_exact_matches_the_mip(seed: int, p: int, fixed: list[int] | None,
                                              forced: list[int]) -> None:
    cost, w = _instance(seed)
    opt = _mip_optimum(cost, p, fixed)
    res = p_center(cost, w, p, fixed=fixed, method="exact")
    assert forced[0] > 0  # the path under test ran
    assert res.optimal and res.status == "optimal"
    assert res.objective == pytest.approx(opt, rel=1e-9)
    assert res.bound <= opt + 1e-9


@pytest.mark.parametrize("seed", [3, 4])
def test_row_generation_decides_each_side_of_the_optimum(seed: int, forced: list[int]) -> None:
    cost, _ = _instance(seed, 150, 25)
    p = 5
    opt = _mip_optimum(cost, p)
    fx = np.zeros(cost.shape[1], dtype=bool)
    prob = pcenter_mod._Problem(sp.csr_array(cost), fx, np.arange(cost.shape[0]), p)
    st, sites = prob.decide(opt, None, 1)
    assert st == 0 and sites is not None and np.unique(sites).size == p
    assert cost[:, sites].min(axis=1).max() <= opt + 1e-12  # a cover within the optimum
    below = float(np.max(cost[cost < opt - 1e-9]))  # the distinct cost just below it
    assert prob.decide(below, None, 1) == (2, None)
    assert forced[0] >= 1


def test_time_limited_exact_bound_is_proven(forced: list[int]) -> None:
    cost, w = _instance(5, 150, 25)
    opt = _mip_optimum(cost, 5)
    res = p_center(cost, w, 5, method="exact", time_limit_s=0.3)
    assert res.bound <= opt + 1e-9 <= res.objective + 2e-9
    assert res.optimal == (res.status == "optimal")


@pytest.mark.parametrize("seed", range(3))
def test_minimal_rows_keep_the_covering_optimum(seed: int) -> None:
    # the rows kept: one of each site set, none including another's (checked by brute force),
    # and the fewest sites covering them all (a plain MIP) is that of every row
    rng = np.random.default_rng(seed)
    cost = cdist(rng.random((80, 2)), rng.random((15, 2)))
    a = sp.csr_array(cost <= 0.3)
    a = sp.csr_array(a[np.diff(a.indptr) > 0])
    rows = np.arange(int(a.shape[0])) + 7
    red, kept = pcenter_mod._minimal_rows(a, rows)
    dense = a.toarray()
    sets = [frozenset(np.flatnonzero(r)) for r in dense]
    want = {s for s in sets if not any(o < s for o in sets)}
    got = [frozenset(np.flatnonzero(r)) for r in red.toarray()]
    assert len(got) == len(set(got)) and set(got) == want
    assert all(sets[k - 7] == g for k, g in zip(kept, got, strict=True))

    def fewest(m: sp.csr_array) -> float:
        n = int(m.shape[1])
        res = milp(np.ones(n), integrality=np.ones(n), bounds=Bounds(0, 1),
                   constraints=LinearConstraint(sp.csr_array(m, dtype=float), 1, np.inf))
        assert res.status == 0
        return float(res.fun)

    assert fewest(red) == fewest(a)


def test_exact_with_a_short_limit_still_ends_with_the_quick_bound(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """With a time limit that the MIP tests use up, the exact method's proven bound is no
    weaker than the heuristic's (it runs the same quick bound first) and still valid."""
    rng = np.random.default_rng(2)
    cost = cdist(rng.random((400, 2)), rng.random((60, 2)))
    w = rng.integers(1, 100, 400).astype(float)
    heur = p_center(cost, w, 6, method="heuristic")
    opt = p_center(cost, w, 6, method="exact")
    assert heur.status == "feasible" and opt.status == "optimal"  # the MIP tests are needed
    assert heur.bound > float(cost.min(axis=1).max())  # the quick bound proved something

    def stalled(_self: object, _t: float, stop: float | None, _seed: int = 0
                ) -> tuple[int, None]:
        while not expired(stop):
            time.sleep(0.01)
        return 1, None  # a MIP test that reaches its time limit

    monkeypatch.setattr(pcenter_mod._Problem, "decide", stalled)
    monkeypatch.setattr(pcenter_mod, "_RG_SHARE", 1.0)  # the MIP tests take all the time
    res = p_center(cost, w, 6, method="exact", time_limit_s=2.0)
    assert res.status == "time_limit"
    assert heur.bound <= res.bound <= opt.objective + 1e-12
    assert res.objective >= opt.objective - 1e-12


@pytest.mark.parametrize(("seed", "fixed"), [(0, None), (1, [3, 11])])
def test_search_on_the_rows_that_matter_covers_every_row(seed: int, fixed: list[int] | None) -> None:
    """The heuristic's long covering tests run on the rows that matter only: a success there
    must bring every row (fixed sites included) within the radius, and a radius below the
    optimum (the MIP's) must fail; the kept reduction is that of the radius asked."""
    rng = np.random.default_rng(seed)
    cost = cdist(rng.random((150, 2)), rng.random((25, 2)))
    p = 5
    opt = _mip_optimum(cost, p, fixed)
    fx = np.zeros(cost.shape[1], dtype=bool)
    if fixed is not None:
        fx[fixed] = True
    prob = pcenter_mod._Problem(sp.csr_array(cost), fx, np.arange(cost.shape[0]), p)
    start = np.arange(p, dtype=np.int64) + (0 if fixed is None else 15)
    below = float(np.max(cost[cost < opt - 1e-9]))
    for t, must in [(opt * 1.15, True), (opt, None), (below, False)]:
        got = prob.rows_at(t)  # None: some row has no site within t
        assert got is not None or not must
        if got is not None:
            open_rows = (cost[:, fx].min(axis=1) > t) if fx.any() else np.ones(cost.shape[0], bool)
            assert 0 < got[0].shape[0] < int(open_rows.sum())  # the test is on fewer rows
        ok, sel = prob.search_rows(t, start, 1, 20_000)
        assert prob.rows_at(t) is got  # kept for the same radius
        if must is not None:
            assert ok == must
        if ok:
            mask = fx.copy()
            mask[prob.cand[sel]] = True
            assert np.unique(sel).size == p and cost[:, mask].min(axis=1).max() <= t + 1e-12
