"""Tests of the covering problem's inputs (gisapp.planning.cover): coverage sets, candidate grids."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from gisapp._errors import GisAppError
from gisapp.planning.cover import candidate_grid, coverage_sets, covered_by
from gisapp.travel.cost import cost_matrix_from_pairs

# --------------------------------------------------------------------------- adapters


def test_coverage_sets_keeps_explicit_zeros_and_applies_threshold() -> None:
    cm = cost_matrix_from_pairs(np.array([0, 1, 1, 2]), np.array([0, 0, 1, 1]),
                                np.array([0.0, 900.0, 300.0, 500.0]), shape=(3, 2), unit="m",
                                cutoff=1000)
    cov = coverage_sets(cm, 500)
    assert isinstance(cov, sp.csc_array)
    assert cov.dtype == bool
    assert cov.toarray().tolist() == [[True, False], [False, True], [False, True]]
    # the same from a scipy sparse matrix and from a dense matrix
    assert (coverage_sets(cm.matrix, 500).toarray() == cov.toarray()).all()
    dense = np.array([[0.0, np.nan], [900.0, 300.0], [np.inf, 500.0]])
    assert (coverage_sets(dense, 500).toarray() == cov.toarray()).all()


def test_coverage_sets_per_row_threshold() -> None:
    dense = np.array([[100.0, 200.0], [100.0, 200.0]])
    cov = coverage_sets(dense, np.array([150.0, 250.0]))
    assert cov.toarray().tolist() == [[True, False], [True, True]]


def test_coverage_sets_threshold_beyond_cutoff_raises() -> None:
    cm = cost_matrix_from_pairs(np.array([0]), np.array([0]), np.array([10.0]), shape=(1, 1),
                                unit="min", cutoff=15)
    with pytest.raises(GisAppError, match="exceeds the cost matrix cut-off"):
        coverage_sets(cm, 20)


@pytest.mark.parametrize("threshold", [-1.0, float("nan"), np.array([1.0, 2.0, 3.0])])
def test_coverage_sets_bad_threshold_raises(threshold: float | np.ndarray) -> None:
    with pytest.raises(GisAppError, match="threshold"):
        coverage_sets(np.zeros((2, 2)), threshold)


def test_covered_by_marks_rows_any_facility_reaches() -> None:
    cost = np.array([[100.0, 900.0], [800.0, 700.0], [600.0, 50.0]])
    assert covered_by(cost, 500).tolist() == [True, False, True]


def test_candidate_grid_centres_and_min_pop() -> None:
    x = [50.0, 150.0, 1050.0, 2500.0, -10.0]
    y = [50.0, 50.0, 50.0, 2500.0, 50.0]
    pop = [10.0, 5.0, 1.0, 0.0, 2.0]
    gx, gy, gp = candidate_grid(x, y, pop, spacing_m=1000)
    # blocks (x index, y index): (-1, 0) 2 people, (0, 0) 15, (1, 0) 1; (2, 2) is empty
    assert gx.tolist() == [-500.0, 500.0, 1500.0]
    assert gy.tolist() == [500.0, 500.0, 500.0]
    assert gp.tolist() == [2.0, 15.0, 1.0]
    gx, gy, gp = candidate_grid(x, y, pop, spacing_m=1000, min_pop=2)
    assert gx.tolist() == [-500.0, 500.0]
    assert gp.sum() == 17.0


def test_candidate_grid_pop_centroid() -> None:
    gx, gy, gp = candidate_grid([0.0, 100.0], [0.0, 300.0], [1.0, 3.0], spacing_m=1000,
                                at="pop_centroid")
    assert gx.tolist() == [75.0]
    assert gy.tolist() == [225.0]
    assert gp.tolist() == [4.0]


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"spacing_m": 0.0}, "spacing_m"),
    ({"spacing_m": 100.0, "at": "middle"}, "`at`"),
])
def test_candidate_grid_errors(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(GisAppError, match=match):
        candidate_grid([0.0], [0.0], [1.0], **kwargs)  # type: ignore[arg-type]


def test_candidate_grid_length_mismatch() -> None:
    with pytest.raises(GisAppError, match="equal length"):
        candidate_grid([0.0, 1.0], [0.0], [1.0], spacing_m=100)
