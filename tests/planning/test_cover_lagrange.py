"""Lagrangian set covering (gisapp.planning.cover_lagrange): the bound never exceeds the optimum
(an independent MIP, HiGHS through scipy), it comes close to the LP relaxation, the covers found
are covers, and the models built on it (LSCP, p-center) report proven bounds."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, linprog, milp
from scipy.spatial.distance import cdist

from gisapp.planning import pcenter as pcenter_mod
from gisapp.planning.cover_lagrange import cover_search, lagrange_bound, lagrange_cover
from gisapp.planning.lscp import lscp
from gisapp.planning.pcenter import p_center


def _instance(seed: int, m: int = 300, n: int = 60, share: float = 0.04
              ) -> tuple[np.ndarray, np.ndarray, float]:
    rng = np.random.default_rng(seed)
    cost = cdist(rng.random((m, 2)), rng.random((n, 2)))
    radius = max(math.sqrt(share / math.pi), float(cost.min(axis=1).max()))
    return cost, rng.integers(1, 100, m).astype(float), radius


def _optimum(a: sp.csr_array) -> float:
    """Fewest columns covering every row: a plain MIP, no reduction, no heuristic start."""
    n = int(a.shape[1])
    res = milp(np.ones(n), integrality=np.ones(n), bounds=Bounds(0, 1),
               constraints=LinearConstraint(sp.csr_array(a, dtype=float), 1, np.inf),
               options={"time_limit": 120})
    assert res.status == 0
    return float(res.fun)


def _lp(a: sp.csr_array) -> float:
    n, m = int(a.shape[1]), int(a.shape[0])
    res = linprog(np.ones(n), A_ub=-sp.csr_array(a, dtype=float), b_ub=-np.ones(m),
                  bounds=(0, 1), method="highs")
    assert res.status == 0
    return float(res.fun)


def _is_cover(a: sp.csr_array, cols: np.ndarray) -> bool:
    x = np.zeros(int(a.shape[1]))
    x[cols] = 1.0
    return bool((np.asarray(sp.csr_array(a, dtype=float) @ x) >= 1).all())


@pytest.mark.parametrize("seed", range(5))
def test_bound_is_below_the_optimum_and_near_the_lp(seed: int) -> None:
    cost, _, radius = _instance(seed)
    a = sp.csr_array(cost <= radius)
    opt, lp = _optimum(a), _lp(a)
    res = lagrange_bound(a)
    assert res.bound <= lp + 1e-6  # the Lagrangian dual is at most the LP value
    assert res.lower <= opt
    assert res.bound >= 0.97 * lp  # and the subgradient gets close to it
    assert (res.u >= 0).all()
    # L(u) recomputed from the multipliers
    rc = 1.0 - np.asarray(sp.csr_array(a, dtype=float).T @ res.u)
    assert res.bound == pytest.approx(res.u.sum() + rc[rc < 0].sum(), abs=1e-9)


@pytest.mark.parametrize("seed", range(5))
def test_covers_are_covers_and_not_below_the_optimum(seed: int) -> None:
    cost, _, radius = _instance(seed, 400, 80)
    a = sp.csr_array(cost <= radius)
    opt = _optimum(a)
    res = lagrange_cover(a)
    assert _is_cover(a, res.cover)
    assert res.lower <= opt <= res.cover.size
    assert res.cover.size <= opt + 1  # the local search is good on these
    plain = cover_search(a, seed=seed)
    assert _is_cover(a, plain) and plain.size >= opt


def test_stop_at_stops_with_a_proof() -> None:
    cost, _, radius = _instance(2)
    a = sp.csr_array(cost <= radius)
    lp = _lp(a)
    res = lagrange_bound(a, stop_at=0.5 * lp)
    assert 0.5 * lp < res.bound <= lp + 1e-6


def test_a_row_without_column_gives_an_infinite_bound() -> None:
    a = sp.csr_array(np.array([[1, 0], [0, 0]], dtype=bool))
    assert lagrange_bound(a).bound == math.inf
    assert cover_search(a).size == 0


@pytest.mark.parametrize("seed", range(4))
def test_lscp_bound_with_existing_sites_is_below_the_optimum(seed: int) -> None:
    cost, w, radius = _instance(seed, 600, 80, 0.03)
    fixed = [3, 17, 40]
    heur = lscp(cost, w, radius, fixed=fixed, method="heuristic")
    # the optimum without our code: rows an existing site covers need nothing
    cover = cost <= radius
    left = ~cover[:, fixed].any(axis=1)
    cand = np.setdiff1d(np.arange(80), fixed)
    opt = _optimum(sp.csr_array(cover[left][:, cand]))
    assert heur.bound <= opt <= heur.objective
    assert not set(heur.opened.tolist()) & set(fixed)
    assert cover[:, np.concatenate([heur.opened, fixed])].any(axis=1).all()
    assert heur.optimal == (heur.bound == heur.objective)
    if heur.optimal:
        assert heur.status == "optimal" and heur.gap == 0.0
    exact = lscp(cost, w, radius, fixed=fixed, method="exact", time_limit_s=120)
    assert exact.optimal and exact.objective == opt


@pytest.mark.parametrize("seed", range(3))
def test_pcenter_lagrangian_bound_alone_is_proven(seed: int, monkeypatch: pytest.MonkeyPatch
                                                  ) -> None:
    rng = np.random.default_rng(seed)
    cost = cdist(rng.random((500, 2)), rng.random((60, 2)))
    w = np.ones(500)
    exact = p_center(cost, w, 8, method="exact")
    assert exact.optimal
    weak = float(cost.min(axis=1).max())  # every row needs some site
    # the LP bound switched off: the Lagrangian bound alone
    monkeypatch.setattr(pcenter_mod, "_LP_MAX_PAIRS", 0)
    heur = p_center(cost, w, 8, method="heuristic")
    assert heur.bound <= exact.objective + 1e-12
    assert heur.bound > weak
    assert heur.gap < 0.2
    assert heur.optimal == (heur.bound == heur.objective)
    if heur.optimal:
        assert heur.status == "optimal" and heur.objective == pytest.approx(exact.objective)


def test_pcenter_bound_with_existing_sites() -> None:
    from itertools import combinations

    rng = np.random.default_rng(11)
    cost = cdist(rng.random((60, 2)), rng.random((10, 2)))
    fixed = [2, 7]
    others = [j for j in range(10) if j not in fixed]
    best = min(cost[:, [*fixed, *c]].min(axis=1).max() for c in combinations(others, 3))
    res = p_center(cost, np.ones(60), 3, fixed=fixed, method="heuristic")
    assert res.bound <= best + 1e-12 <= res.objective + 1e-12


@pytest.mark.parametrize("seed", range(3))
def test_pcenter_proofs_at_a_radius_agree_with_the_covering_optimum(
        seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(100 + seed)
    cost = cdist(rng.random((400, 2)), rng.random((50, 2)))
    p = 6
    # every proof path: the Lagrangian bound alone, then with the LP of some rows
    monkeypatch.setattr(pcenter_mod, "_LP_MAX_PAIRS", 0)
    exact = p_center(cost, np.ones(400), p, method="exact")
    assert exact.optimal
    below = np.unique(cost[cost < exact.objective])[-60::4]  # just below the optimum
    radii = np.concatenate([below, np.unique(cost[cost >= exact.objective])[:20:4]])
    proven = 0
    for lp_rows in (False, True):
        prob = pcenter_mod._Problem(sp.csr_array(cost), np.zeros(50, dtype=bool),
                                    np.arange(400), p)
        prob.lp_rows = lp_rows
        for t in radii:
            # the fewest sites covering every row within t, by an independent MIP
            need = _optimum(sp.csr_array(cost <= t))
            assert (need > p) == (t < exact.objective)
            if prob.infeasible(float(t), None):
                proven += 1
                assert need > p
    assert proven > 0


@pytest.mark.parametrize("seed", range(3))
def test_lscp_mip_with_reduced_cost_fixing_keeps_the_optimum(seed: int) -> None:
    from gisapp.planning.lscp import _FullCover

    cost, _, radius = _instance(seed, 500, 70, 0.03)
    a = sp.csr_array(cost <= radius)
    opt = _optimum(a)
    fc = _FullCover(a, None)
    assert fc.bound <= opt <= fc.best.size and _is_cover(a, fc.best)
    # with an incumbent two columns above the optimum (only its size, the cut-off, counts)
    # the MIP, columns fixed by reduced cost left out, must still find the optimum ...
    fc.best = np.arange(int(opt) + 2)
    sites, lb, status = fc.mip(None)
    assert status == 0 and sites is not None and _is_cover(a, sites)
    assert sites.size == opt and lb <= opt
    # ... and from an optimal cover prove that nothing smaller exists
    fc.best = sites
    sites, _, status = fc.mip(None)
    assert status == 2 and sites is None


@pytest.mark.parametrize("blocks", [[1], [1, 1], [1] * 8, [2, 3, 1, 4]])
def test_bound_stays_below_the_optimum_when_the_lp_is_integral(blocks: list[int]) -> None:
    # disjoint rows (blocks of rows sharing their own columns): the LP is integral, the
    # subgradient vanishes at the optimum; the bound must not drift above it with a high target
    a = sp.csr_array(sp.block_diag([np.ones((1, k), dtype=bool) for k in blocks], format="csr"))
    opt = _optimum(a)
    for target in (None, opt + 1.0, 21.0):
        res = lagrange_bound(a, target=target, iters=2_000)
        assert res.bound <= opt + 1e-9 and res.lower == opt
        assert lagrange_bound(a, stop_at=opt + 1e-6, target=target).lower <= opt
