"""p-center (gisapp.planning.pcenter): hand-computed answers, existing sites, rows out of reach,
dense == sparse, the time limit, and the heuristic against the exact solver."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.spatial.distance import cdist

from gisapp._errors import GisAppError
from gisapp.planning.pcenter import p_center

COST = np.array([[1.0, 5.0, 9.0], [2.0, 4.0, 8.0], [9.0, 3.0, 1.0], [9.0, 6.0, 2.0]])
ONES = np.ones(4)


def _random(seed: int, m: int = 500, n: int = 60) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return cdist(rng.random((m, 2)), rng.random((n, 2))), rng.integers(1, 100, m).astype(float)


def test_two_centres() -> None:
    res = p_center(COST, ONES, 2)
    assert res.model == "p_center"
    assert res.opened.tolist() == [0, 2] and res.objective == 2.0
    assert res.status == "optimal" and res.optimal and res.gap == 0.0
    assert res.assignment.tolist() == [0, 0, 2, 2]


def test_one_centre() -> None:
    # maxima per column: 9, 6, 9
    res = p_center(COST, ONES, 1)
    assert res.opened.tolist() == [1] and res.objective == 6.0


def test_fixed_site_kept_and_not_counted() -> None:
    # with column 1 open: adding 0 gives max 6, adding 2 gives max 5
    res = p_center(COST, ONES, 1, fixed=[1])
    assert res.opened.tolist() == [2] and res.objective == 5.0
    assert set(res.assignment.tolist()) <= {1, 2}
    # no new site: the existing ones alone
    res = p_center(COST, ONES, 0, fixed=[1])
    assert res.opened.size == 0 and res.objective == 6.0


def test_weightless_rows_do_not_count() -> None:
    # without row 3: column maxima 9, 5, 9
    res = p_center(COST, [1.0, 1.0, 1.0, 0.0], 1)
    assert res.opened.tolist() == [1] and res.objective == 5.0


def test_rows_out_of_every_reach_are_left_out() -> None:
    dense = np.vstack([COST, [np.inf, np.inf, np.inf]])
    res = p_center(dense, np.ones(5), 2)
    assert res.objective == 2.0 and res.assignment[4] == -1
    finite = np.isfinite(dense)
    sparse = sp.csr_array((dense[finite], np.nonzero(finite)), shape=dense.shape)
    assert p_center(sparse, np.ones(5), 2).objective == 2.0


def test_sparse_costs_that_p_sites_cannot_reach_are_infeasible() -> None:
    # each row reaches one different column only: two sites cannot serve three rows
    cost = sp.csr_array((np.ones(3), (np.arange(3), np.arange(3))), shape=(3, 3))
    assert p_center(cost, np.ones(3), 2).status == "infeasible"
    assert p_center(cost, np.ones(3), 3).objective == 1.0


def test_dense_equals_sparse() -> None:
    cost, w = _random(4)
    dense = p_center(cost, w, 6)
    sparse = p_center(sp.csr_array(cost), w, 6)
    assert dense.objective == sparse.objective
    assert np.array_equal(dense.opened, sparse.opened)
    # the objective is the worst nearest-open-site cost
    assert dense.objective == pytest.approx(cost[np.arange(500), dense.assignment].max())


def test_exact_matches_brute_force() -> None:
    from itertools import combinations
    rng = np.random.default_rng(9)
    cost = cdist(rng.random((40, 2)), rng.random((9, 2)))
    best = min(cost[:, list(c)].min(axis=1).max() for c in combinations(range(9), 3))
    assert p_center(cost, np.ones(40), 3, method="exact").objective == pytest.approx(best)
    best_fixed = min(cost[:, [4, *c]].min(axis=1).max()
                     for c in combinations([0, 1, 2, 3, 5, 6, 7, 8], 2))
    assert p_center(cost, np.ones(40), 2, fixed=[4]).objective == pytest.approx(best_fixed)


def test_time_limit_reports_not_optimal() -> None:
    cost, w = _random(1, 2000, 200)
    res = p_center(cost, w, 10, method="exact", time_limit_s=1e-6)
    assert res.status == "time_limit" and not res.optimal
    assert res.objective >= res.bound
    assert len(res.opened) == 10


def test_heuristic_within_one_percent_of_exact() -> None:
    ratios = []
    for seed in range(3):
        cost, w = _random(seed, 600, 80)
        exact = p_center(cost, w, 8, method="exact")
        heur = p_center(cost, w, 8, method="heuristic")
        assert exact.optimal and heur.objective >= exact.objective - 1e-12
        assert heur.bound <= exact.objective  # a proven bound
        assert heur.optimal == (heur.bound == heur.objective)
        ratios.append(heur.objective / exact.objective)
    assert np.mean(ratios) <= 1.01


def test_progress_is_reported() -> None:
    seen: list[tuple[float, str]] = []
    cost, w = _random(2, 200, 30)
    p_center(cost, w, 4, progress=lambda f, s: seen.append((f, s)))
    assert seen[0] == (0.0, "build") and seen[-1] == (1.0, "done")
    assert all(0.0 <= f <= 1.0 for f, _ in seen)


@pytest.mark.parametrize(("p", "fixed", "code"), [
    (0, None, "model_bad_p"), (-1, None, "model_bad_p"), (4, None, "model_p_exceeds"),
    (3, [0], "model_p_exceeds"),
])
def test_bad_p(p: int, fixed: list[int] | None, code: str) -> None:
    with pytest.raises(GisAppError) as err:
        p_center(COST, ONES, p, fixed=fixed)
    assert err.value.code == code
