"""Tests of the maximal-covering models (gisapp.planning.mclp): hand instances, brute force, bounds, errors."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from scipy.spatial import cKDTree

from gisapp._errors import GisAppError
from gisapp.planning import mclp
from gisapp.planning.cover import (
    COL_CANDIDATE_ID,
    COL_PEOPLE_ADDED,
    COL_PEOPLE_COVERED,
    COL_SHARE_COVERED,
    INDEX_RANK,
    SitingResult,
)
from gisapp.planning.mclp import (
    mclp_exact,
    mclp_greedy,
    mclp_target,
    suggest_sites,
)

GREEDY_RATIO = 1.0 - 1.0 / math.e

# Hand instance: 4 demand rows, 3 candidates.
#   candidate 0 covers rows {0, 1} (5 + 1 = 6 people)
#   candidate 1 covers rows {1, 2} (1 + 4 = 5 people)
#   candidate 2 covers row  {3}    (3 people)
HAND_COVER = np.array([[1, 0, 0], [1, 1, 0], [0, 1, 0], [0, 0, 1]], dtype=bool)
HAND_W = np.array([5.0, 1.0, 4.0, 3.0])

# A tiny instance whose LP relaxation is fractional (LP bound above the integer optimum), so
# mclp_exact goes on to reduced-cost fixing and branch-and-bound; optimum 45 with k = 3.
FRACTIONAL_COVER = np.array(
    [[0, 1, 0, 1, 0, 1, 1], [1, 0, 0, 1, 0, 0, 1], [0, 0, 1, 0, 0, 0, 0],
     [0, 0, 0, 0, 1, 0, 1], [0, 0, 1, 0, 0, 0, 0], [0, 0, 0, 0, 1, 0, 1],
     [1, 0, 0, 0, 0, 0, 0], [1, 0, 0, 0, 0, 0, 0], [0, 0, 1, 0, 1, 0, 1],
     [0, 0, 0, 0, 1, 1, 0], [0, 0, 1, 0, 0, 0, 0], [0, 0, 0, 1, 0, 1, 1]], dtype=bool)
FRACTIONAL_W = np.array([5.0, 2.0, 2.0, 0.0, 1.0, 5.0, 0.0, 8.0, 9.0, 6.0, 9.0, 3.0])


def brute_force(cover: np.ndarray, w: np.ndarray, k: int,
                done: np.ndarray | None = None) -> float:
    """Best people added by any k-subset of candidates (itertools over all subsets)."""
    todo = np.ones(cover.shape[0], dtype=bool) if done is None else ~done
    return max(
        float(w[todo & cover[:, list(c)].any(axis=1)].sum())
        for c in itertools.combinations(range(cover.shape[1]), k)
    )


def random_instance(rng: np.random.Generator, m: int, n: int, share: float
                    ) -> tuple[sp.csc_array, np.ndarray]:
    """Uniform demand and candidates in the unit square; each candidate reaches ~share."""
    d = rng.random((m, 2))
    c = rng.random((n, 2))
    w = rng.integers(1, 100, m).astype(float)
    radius = math.sqrt(share / math.pi)
    dist = cKDTree(d).sparse_distance_matrix(cKDTree(c), radius, output_type="coo_matrix")
    cover = sp.csc_array((np.ones(dist.nnz, bool), (dist.row, dist.col)), shape=(m, n))
    return cover, w


def assert_consistent(res: SitingResult, cover: np.ndarray, w: np.ndarray,
                      done: np.ndarray | None = None) -> None:
    """Gains, curve and totals agree with the coverage recomputed from scratch."""
    done = np.zeros(cover.shape[0], dtype=bool) if done is None else done
    base = float(w[done].sum())
    covered = done.copy()
    for i, j in enumerate(res.selected):
        new = cover[:, j] & ~covered
        if res.method.endswith("capacity"):
            break
        assert res.gains[i] == pytest.approx(float(w[new].sum()))
        covered |= cover[:, j]
        assert res.curve[i] == pytest.approx(base + float(w[covered].sum() - base))
    assert res.base_weight == pytest.approx(base)
    assert res.total_weight == pytest.approx(float(w.sum()))
    assert res.covered_weight == pytest.approx(base + float(res.gains.sum()))
    assert len(set(res.selected.tolist())) == res.k
    assert np.all(np.diff(res.curve) >= -1e-9)


# --------------------------------------------------------------------------- hand instance


@pytest.mark.parametrize("solver", [mclp_exact, mclp_greedy])
def test_hand_instance(solver: object) -> None:
    res = solver(HAND_COVER, HAND_W, 2)  # type: ignore[operator]
    assert res.selected.tolist() == [0, 1]
    assert res.gains.tolist() == [6.0, 4.0]
    assert res.curve.tolist() == [6.0, 10.0]
    assert res.covered_weight == 10.0
    assert res.covered_share == pytest.approx(10 / 13)
    assert res.optimal == (solver is mclp_exact)  # the greedy cannot prove optimality here
    assert res.upper_bound >= 10.0


def test_hand_instance_k3_and_k1() -> None:
    res = mclp_exact(HAND_COVER, HAND_W, 3)
    assert res.selected.tolist() == [0, 1, 2]
    assert res.curve.tolist() == [6.0, 10.0, 13.0]
    assert res.covered_share == 1.0
    assert mclp_exact(HAND_COVER, HAND_W, 1).selected.tolist() == [0]


def test_already_covered_rows_add_nothing() -> None:
    # an existing facility covers rows 0 and 1: candidate 0 adds nobody, candidate 1 adds 4
    done = np.array([True, True, False, False])
    for solver in (mclp_exact, mclp_greedy):
        res = solver(HAND_COVER, HAND_W, 2, already_covered=done)
        assert res.selected.tolist() == [1, 2]
        assert res.gains.tolist() == [4.0, 3.0]
        assert res.base_weight == 6.0
        assert res.curve.tolist() == [10.0, 13.0]
        assert res.covered_share == 1.0


def test_sites_adding_nobody_are_not_proposed() -> None:
    done = np.array([True, True, True, False])
    res = mclp_exact(HAND_COVER, HAND_W, 2, already_covered=done)
    assert res.selected.tolist() == [2]
    assert res.covered_share == 1.0
    res = mclp_greedy(HAND_COVER, HAND_W, 2, already_covered=done)
    assert res.selected.tolist() == [2]


def test_to_frame() -> None:
    res = mclp_greedy(HAND_COVER, HAND_W, 2)
    frame = res.to_frame(["a", "b", "c"])
    assert frame.index.name == INDEX_RANK
    assert frame.index.tolist() == [1, 2]
    assert frame.columns.tolist() == [COL_CANDIDATE_ID, COL_PEOPLE_ADDED, COL_PEOPLE_COVERED,
                                      COL_SHARE_COVERED]
    pd.testing.assert_series_equal(frame[COL_CANDIDATE_ID],
                                   pd.Series(["a", "b"], index=frame.index,
                                             name=COL_CANDIDATE_ID))
    assert frame[COL_SHARE_COVERED].iloc[-1] == pytest.approx(10 / 13)


# --------------------------------------------------------------------------- brute force


def test_exact_matches_brute_force_on_tiny_random_instances() -> None:
    rng = np.random.default_rng(7)
    for _ in range(40):
        m, n, k = int(rng.integers(5, 16)), int(rng.integers(3, 9)), int(rng.integers(1, 4))
        k = min(k, n)
        cover = rng.random((m, n)) < 0.3
        w = rng.integers(0, 10, m).astype(float)
        done = rng.random(m) < 0.2
        best = brute_force(cover, w, k, done)
        res = mclp_exact(cover, w, k, already_covered=done)
        assert res.added_weight == pytest.approx(best)
        assert res.optimal
        assert_consistent(res, cover, w, done)
        greedy = mclp_greedy(cover, w, k, already_covered=done, swap=False)
        swapped = mclp_greedy(cover, w, k, already_covered=done)
        assert greedy.added_weight >= GREEDY_RATIO * best - 1e-9
        assert swapped.added_weight >= greedy.added_weight - 1e-9
        assert swapped.added_weight <= best + 1e-9
        assert swapped.upper_bound >= best + res.base_weight - 1e-9
        assert_consistent(greedy, cover, w, done)
        assert_consistent(swapped, cover, w, done)


def test_exact_with_fractional_lp_uses_branch_and_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    real = mclp._milp

    def spy(*args: object, **kwargs: object) -> object:
        calls.append(1)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(mclp, "_milp", spy)
    res = mclp_exact(FRACTIONAL_COVER, FRACTIONAL_W, 3)
    assert calls, "the LP relaxation was expected to be fractional"
    assert res.added_weight == brute_force(FRACTIONAL_COVER, FRACTIONAL_W, 3) == 45.0
    assert res.optimal
    assert mclp_greedy(FRACTIONAL_COVER, FRACTIONAL_W, 3, swap=False).added_weight == 44.0


def test_identical_rows_are_merged_exactly() -> None:
    cover = np.repeat(HAND_COVER, 3, axis=0)
    w = np.repeat(HAND_W, 3) / 3
    res = mclp_exact(sp.csc_array(cover), w, 2)
    assert res.selected.tolist() == [0, 1]
    assert res.gains == pytest.approx([6.0, 4.0])


def test_heuristic_within_one_percent_on_random_instances() -> None:
    rng = np.random.default_rng(2024)
    gaps = []
    for _ in range(30):
        m, n = int(rng.integers(500, 2001)), int(rng.integers(50, 101))
        k = int(rng.integers(3, 11))
        cover, w = random_instance(rng, m, n, share=float(rng.uniform(0.03, 0.15)))
        opt = mclp_exact(cover, w, k)
        assert opt.optimal
        greedy = mclp_greedy(cover, w, k, swap=False)
        heur = mclp_greedy(cover, w, k)
        assert greedy.added_weight >= GREEDY_RATIO * opt.added_weight
        assert heur.added_weight >= greedy.added_weight
        assert heur.added_weight <= opt.added_weight + 1e-6
        gaps.append(1.0 - heur.added_weight / opt.added_weight)
    assert float(np.mean(gaps)) < 0.01
    assert max(gaps) < 0.05


def test_swap_ends_in_a_one_swap_local_optimum() -> None:
    rng = np.random.default_rng(12)
    for _ in range(5):
        cover_sp, w = random_instance(rng, 300, 20, share=0.12)
        cover = cover_sp.toarray()
        res = mclp_greedy(cover_sp, w, 4, tabu_iter=0)
        chosen = res.selected.tolist()
        value = float(w[cover[:, chosen].any(axis=1)].sum())
        assert value == pytest.approx(res.covered_weight)
        for pos, c in itertools.product(range(len(chosen)), range(20)):
            if c in chosen:
                continue
            trial = chosen.copy()
            trial[pos] = c
            assert float(w[cover[:, trial].any(axis=1)].sum()) <= value + 1e-9


def test_tabu_walk_never_worse_than_plain_swap() -> None:
    rng = np.random.default_rng(13)
    for _ in range(5):
        cover, w = random_instance(rng, 600, 60, share=0.1)
        plain = mclp_greedy(cover, w, 6, tabu_iter=0)
        tabu = mclp_greedy(cover, w, 6, tabu_iter=30)
        assert tabu.added_weight >= plain.added_weight - 1e-9


def test_greedy_curve_is_the_greedy_prefix() -> None:
    rng = np.random.default_rng(3)
    cover, w = random_instance(rng, 800, 60, share=0.05)
    res = mclp_greedy(cover, w, 8, swap=False)
    for i in range(1, 9):
        prefix = mclp_greedy(cover, w, i, swap=False)
        assert prefix.selected.tolist() == res.selected[:i].tolist()
        assert prefix.covered_weight == pytest.approx(res.curve[i - 1])


def test_exact_time_limit_falls_back_to_heuristic() -> None:
    rng = np.random.default_rng(11)
    cover, w = random_instance(rng, 1000, 80, share=0.08)
    res = mclp_exact(cover, w, 6, time_limit_s=1e-9)
    heur = mclp_greedy(cover, w, 6)
    assert not res.optimal
    assert res.method == "exact (time limit)"
    assert res.added_weight >= heur.added_weight - 1e-9
    assert res.upper_bound >= res.covered_weight


# --------------------------------------------------------------------------- capacity


def test_greedy_capacity_caps_each_site() -> None:
    # capacity 3 per site: candidate 0 serves 3 of its 6; candidate 1 then serves 3 of
    # 4 + 1 * (1 - 3/6) = 4.5 still unserved in its rows; candidate 2 serves 3
    res = mclp_greedy(HAND_COVER, HAND_W, 3, capacity=3.0)
    assert res.method == "greedy+capacity"
    assert res.selected.tolist() == [0, 1, 2]
    assert res.gains.tolist() == [3.0, 3.0, 3.0]
    assert res.covered_weight == 9.0


def test_exact_capacity_hand_instance() -> None:
    # capacities 2, 5, 3 and k = 2: best is {1, 2}: 5 + 3 = 8 (site 0 could serve only 2)
    res = mclp_exact(HAND_COVER, HAND_W, 2, capacity=np.array([2.0, 5.0, 3.0]))
    assert res.method == "exact+capacity"
    assert res.optimal
    assert sorted(res.selected.tolist()) == [1, 2]
    assert res.gains.tolist() == [5.0, 3.0]
    assert res.covered_weight == 8.0


def test_infinite_capacity_is_uncapacitated() -> None:
    rng = np.random.default_rng(5)
    cover, w = random_instance(rng, 300, 25, share=0.1)
    plain = mclp_exact(cover, w, 4)
    capped = mclp_exact(cover, w, 4, capacity=np.inf)
    assert capped.covered_weight == pytest.approx(plain.covered_weight)
    greedy_capped = mclp_greedy(cover, w, 4, capacity=np.inf)
    assert greedy_capped.covered_weight == pytest.approx(
        mclp_greedy(cover, w, 4, swap=False).covered_weight)


def test_exact_capacity_beats_greedy_capacity() -> None:
    rng = np.random.default_rng(8)
    cover, w = random_instance(rng, 300, 25, share=0.15)
    cap = np.full(25, 1500.0)
    exact = mclp_exact(cover, w, 4, capacity=cap)
    greedy = mclp_greedy(cover, w, 4, capacity=cap)
    assert exact.optimal
    assert exact.covered_weight >= greedy.covered_weight - 1e-6
    assert np.all(exact.gains <= 1500.0 + 1e-6)


# --------------------------------------------------------------------------- target share


def test_target_share_smallest_k() -> None:
    res = mclp_target(HAND_COVER, HAND_W, 0.7)
    assert res.selected.tolist() == [0, 1]
    assert res.target_reached
    assert res.target_share == 0.7
    res = mclp_target(HAND_COVER, HAND_W, 0.4)
    assert res.selected.tolist() == [0]
    res = mclp_target(HAND_COVER, HAND_W, 1.0, max_k=2)
    assert res.k == 2
    assert res.target_reached is False


def test_target_already_met_by_existing_facilities() -> None:
    res = mclp_target(HAND_COVER, HAND_W, 0.4, already_covered=np.array([1, 1, 0, 0], bool))
    assert res.k == 0
    assert res.target_reached


def test_target_matches_greedy_curve() -> None:
    rng = np.random.default_rng(9)
    cover, w = random_instance(rng, 1000, 80, share=0.04)
    res = mclp_target(cover, w, 0.5, swap=False)
    assert res.covered_share >= 0.5
    shorter = mclp_greedy(cover, w, res.k - 1, swap=False)
    assert shorter.covered_share < 0.5
    swapped = mclp_target(cover, w, 0.5)
    assert swapped.target_reached
    assert swapped.k <= res.k


# --------------------------------------------------------------------------- dispatcher


def test_suggest_sites_dispatch() -> None:
    assert suggest_sites(HAND_COVER, HAND_W, 2).method == "exact"
    assert suggest_sites(HAND_COVER, HAND_W, 2, method="greedy").method == "greedy+swap"
    with pytest.raises(GisAppError, match="`method`"):
        suggest_sites(HAND_COVER, HAND_W, 2, method="fast")  # type: ignore[arg-type]


# --------------------------------------------------------------------------- error contract


@pytest.mark.parametrize(("args", "kwargs", "match"), [
    ((HAND_COVER.astype(float), HAND_W, 1), {}, "must be a 2-D boolean matrix"),
    ((sp.csc_array(HAND_COVER.astype(float)), HAND_W, 1), {}, "must be a boolean matrix"),
    ((HAND_COVER, HAND_W, 0), {}, "`k` must be a positive integer"),
    ((HAND_COVER, HAND_W, 4), {}, r"`k` \(4\) exceeds the number of candidate sites \(3\)"),
    ((HAND_COVER, HAND_W[:3], 1), {}, "`weights` needs one value per demand row"),
    ((HAND_COVER, -HAND_W, 1), {}, "`weights` must be finite and non-negative"),
    ((HAND_COVER, HAND_W, 1), {"already_covered": np.zeros(4)}, "`already_covered` must be"),
    ((HAND_COVER, HAND_W, 1), {"capacity": np.ones(2)}, "`capacity` needs one value"),
    ((HAND_COVER, HAND_W, 1), {"capacity": -1.0}, "`capacity` must be non-negative"),
])
@pytest.mark.parametrize("solver", [mclp_exact, mclp_greedy])
def test_input_errors(solver: object, args: tuple[object, ...], kwargs: dict[str, object],
                      match: str) -> None:
    with pytest.raises(GisAppError, match=match):
        solver(*args, **kwargs)  # type: ignore[operator]


def test_tabu_iter_must_be_non_negative() -> None:
    with pytest.raises(GisAppError, match="`tabu_iter` must be a non-negative integer"):
        mclp_greedy(HAND_COVER, HAND_W, 1, tabu_iter=-1)


def test_exact_time_limit_must_be_positive() -> None:
    with pytest.raises(GisAppError, match="`time_limit_s` must be a positive"):
        mclp_exact(HAND_COVER, HAND_W, 1, time_limit_s=0)


@pytest.mark.parametrize("share", [0.0, 1.5, float("nan")])
def test_target_share_range(share: float) -> None:
    with pytest.raises(GisAppError, match="`target_share` must lie in"):
        mclp_target(HAND_COVER, HAND_W, share)
