"""Tests of gisapp.metrics.capacity (AccessMod's capacity-limited coverage) on hand-computed cases."""

from __future__ import annotations

import numpy as np
import pytest

from gisapp._errors import GisAppError, UnitsError
from gisapp.metrics.capacity import (
    CAPACITY_RESIDUAL_COL,
    INNER_RING_COL,
    OUTER_RING_COL,
    OUTER_SHARE_COL,
    POP_COVERED_COL,
    POP_WITHIN_MAX_COL,
    capacity_coverage,
    population_order,
)
from gisapp.travel.cost import CostMatrix, cost_matrix_from_pairs


def matrix(pairs: dict[tuple[int, int], float], shape: tuple[int, int],
           cutoff: float = 60.0) -> CostMatrix:
    rows, cols = zip(*pairs, strict=True)
    return cost_matrix_from_pairs(np.array(rows), np.array(cols), np.array(list(pairs.values())),
                                  shape=shape, unit="min", cutoff=cutoff)


def test_catchment_grows_ring_by_ring_until_capacity():
    # 4 cells of 10 people at 0, 1, 2 and 2 minutes; capacity 25
    cm = matrix({(0, 0): 0.0, (1, 0): 1.0, (2, 0): 2.0, (3, 0): 2.0}, (4, 1))
    r = capacity_coverage(np.full(4, 10.0), cm, [25.0], ring_minutes=1.0)
    assert r.covered.tolist() == [10.0, 10.0, 2.5, 2.5]  # the outer ring shares what is left
    assert r.residual.tolist() == [0.0, 0.0, 7.5, 7.5]
    f = r.facilities.loc[0]
    assert f[POP_COVERED_COL] == 25.0 and f[CAPACITY_RESIDUAL_COL] == 0.0
    assert f[POP_WITHIN_MAX_COL] == 40.0
    assert (f[INNER_RING_COL], f[OUTER_RING_COL], f[OUTER_SHARE_COL]) == (1.0, 2.0, 0.25)
    assert r.allocation.toarray().ravel().tolist() == r.covered.tolist()


def test_rings_are_whole_seconds_by_default():
    # people at 10.2 s and 10.8 s fall in the same one-second ring (10, 11]
    cm = matrix({(0, 0): 10.2 / 60, (1, 0): 10.8 / 60, (2, 0): 5 / 60}, (3, 1))
    r = capacity_coverage(np.array([4.0, 4.0, 4.0]), cm, [8.0])
    assert r.covered.tolist() == pytest.approx([2.0, 2.0, 4.0])
    f = r.facilities.loc[0]
    assert f[INNER_RING_COL] * 60 == pytest.approx(5.0)
    assert f[OUTER_RING_COL] * 60 == pytest.approx(11.0)
    exact = capacity_coverage(np.array([4.0, 4.0, 4.0]), cm, [8.0], ring_minutes=None)
    assert exact.covered.tolist() == pytest.approx([4.0, 0.0, 4.0])


def test_time_limit_before_capacity_leaves_residual_capacity():
    cm = matrix({(0, 0): 1.0, (1, 0): 5.0, (2, 0): 9.0}, (3, 1), cutoff=10.0)
    r = capacity_coverage(np.array([3.0, 4.0, 5.0]), cm, [100.0], max_minutes=6.0, ring_minutes=1.0)
    assert r.covered.tolist() == [3.0, 4.0, 0.0]
    f = r.facilities.loc[0]
    assert f[POP_COVERED_COL] == 7.0 and f[CAPACITY_RESIDUAL_COL] == 93.0
    assert f[INNER_RING_COL] == 5.0 and np.isnan(f[OUTER_RING_COL])


def test_capacity_met_exactly_at_a_ring_edge():
    cm = matrix({(0, 0): 1.0, (1, 0): 2.0}, (2, 1))
    r = capacity_coverage(np.array([10.0, 10.0]), cm, [10.0], ring_minutes=1.0)
    f = r.facilities.loc[0]
    assert r.covered.tolist() == [10.0, 0.0]
    assert (f[INNER_RING_COL], f[OUTER_RING_COL], f[OUTER_SHARE_COL]) == (1.0, 1.0, 1.0)


def test_processing_order_decides_who_serves_whom():
    # cells X (1 min from both) and Y (2 min from both), 10 people each; A: 15, B: 10
    cm = matrix({(0, 0): 1.0, (1, 0): 2.0, (0, 1): 1.0, (1, 1): 2.0}, (2, 2))
    pop = np.array([10.0, 10.0])
    ab = capacity_coverage(pop, cm, [15.0, 10.0], order=[0, 1], ring_minutes=1.0)
    ba = capacity_coverage(pop, cm, [15.0, 10.0], order=[1, 0], ring_minutes=1.0)
    assert ab.facilities[POP_COVERED_COL].tolist() == [15.0, 5.0]
    assert ba.facilities[POP_COVERED_COL].tolist() == [10.0, 10.0]
    assert ab.allocation.toarray().tolist() == [[10.0, 0.0], [5.0, 5.0]]
    assert ba.allocation.toarray().tolist() == [[0.0, 10.0], [10.0, 0.0]]
    assert ab.covered.sum() == ba.covered.sum() == 20.0
    assert ab.facilities["order"].tolist() == [0, 1] and ba.facilities["order"].tolist() == [1, 0]


def test_zone_table():
    cm = matrix({(0, 0): 1.0, (1, 0): 2.0, (2, 0): 3.0}, (4, 1))
    r = capacity_coverage(np.array([10.0, 10.0, 10.0, 5.0]), cm, [15.0], ring_minutes=1.0,
                          zone=np.array([0, 0, 1, 1]), zone_ids=["north", "south"],
                          facility_ids=["clinic"])
    assert r.zones is not None
    assert r.zones.index.tolist() == ["north", "south"]
    assert r.zones["pop"].tolist() == [20.0, 15.0]
    assert r.zones[POP_COVERED_COL].tolist() == [15.0, 0.0]
    assert r.zones["pop_covered_pct"].tolist() == pytest.approx([75.0, 0.0])
    assert r.facilities.index.tolist() == ["clinic"] and r.facilities.index.name == "facility_id"


def test_population_is_conserved_on_a_random_case():
    rng = np.random.default_rng(0)
    n_cells, n_fac = 300, 6
    rows = np.repeat(np.arange(n_cells), n_fac)
    cols = np.tile(np.arange(n_fac), n_cells)
    keep = rng.uniform(size=rows.size) < 0.5
    cm = cost_matrix_from_pairs(rows[keep], cols[keep], rng.uniform(0, 30, keep.sum()),
                                shape=(n_cells, n_fac), unit="min", cutoff=30.0)
    pop = rng.uniform(0, 20, n_cells)
    cap = rng.uniform(50, 900, n_fac)
    order = population_order(pop, cm, within_minutes=10.0)
    r = capacity_coverage(pop, cm, cap, order=order, max_minutes=20.0)
    assert r.covered + r.residual == pytest.approx(pop)
    assert (r.residual >= 0).all()
    by_fac = np.asarray(r.allocation.sum(axis=0)).ravel()
    assert by_fac == pytest.approx(r.facilities[POP_COVERED_COL].to_numpy())
    assert (r.facilities[POP_COVERED_COL] <= cap + 1e-9).all()
    assert r.covered.sum() == pytest.approx(by_fac.sum())
    # nobody is served by a facility more than 20 minutes away
    ar, ac = r.allocation.nonzero()
    assert (cm.matrix[ar, ac] <= 20.0).all()


def test_population_order():
    cm = matrix({(0, 0): 1.0, (1, 1): 1.0, (2, 1): 5.0, (0, 2): 9.0}, (3, 3), cutoff=10.0)
    pop = np.array([10.0, 4.0, 4.0])
    within_all = population_order(pop, cm)  # A 10, B 8, C 10: ties keep input order
    assert within_all.tolist() == [0, 2, 1]
    assert population_order(pop, cm, within_minutes=2.0).tolist() == [0, 1, 2]
    assert population_order(pop, cm, descending=False).tolist() == [1, 0, 2]


def test_errors():
    cm = matrix({(0, 0): 1.0}, (2, 1))
    pop = np.array([1.0, 2.0])
    with pytest.raises(UnitsError, match="minutes"):
        capacity_coverage(pop, cost_matrix_from_pairs(np.array([0]), np.array([0]), np.array([5.0]),
                                                      shape=(2, 1), unit="m", cutoff=10), [1.0])
    with pytest.raises(GisAppError, match="3 values but the cost matrix has 2 cells"):
        capacity_coverage(np.ones(3), cm, [1.0])
    with pytest.raises(GisAppError, match=r"facilities \[0\] are not"):
        capacity_coverage(pop, cm, [-1.0])
    with pytest.raises(GisAppError, match="exactly once"):
        capacity_coverage(pop, cm, [1.0], order=[0, 0])
    with pytest.raises(UnitsError, match="ring_minutes"):
        capacity_coverage(pop, cm, [1.0], ring_minutes=0.0)
