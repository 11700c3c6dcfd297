"""Parity of gisapp.planning.mclp with PySAL spopt's MCLP, on spopt's own San Francisco test data.

spopt's ``TestRealWorldLocate`` (spopt/tests/test_locate/test_mclp.py) builds the problem
from three CSVs installed with the package: a long table of network distances from 205
census-tract centroids to 16 candidate stores, pivoted to a 205 x 16 matrix (rows sorted by
tract name), and the tracts' POP2000 as weights (sorted by tract name); p = 4 stores, 5,000 m.
We rebuild that matrix the same way, solve spopt's model with CBC in the test, and compare.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.spatial.distance import cdist

from gisapp.planning.cover import coverage_sets
from gisapp.planning.mclp import mclp_exact, mclp_greedy

spopt = pytest.importorskip("spopt")
pulp = pytest.importorskip("pulp")
from spopt.locate import MCLP  # noqa: E402

DATA = Path(spopt.__file__).parent / "tests" / "test_locate" / "data"
DISTANCES = DATA / "SF_network_distance_candidateStore_16_censusTract_205_new.csv"
DEMAND = DATA / "SF_demand_205_centroid_uniform_weight.csv"
SERVICE_DIST_M = 5000.0
P_FACILITIES = 4
# spopt's own expected value for this problem (share of tracts covered, per cent)
SPOPT_PERC_COV = 89.75609756097561


@pytest.fixture(scope="module")
def sf_problem() -> tuple[np.ndarray, np.ndarray]:
    """(cost matrix in metres, 205 x 16; POP2000 weights), built as spopt's test does."""
    if not (DISTANCES.exists() and DEMAND.exists()):
        pytest.skip(f"spopt's San Francisco test data are not installed under {DATA}")
    network = pd.read_csv(DISTANCES)
    pivot = network.pivot_table(values="distance", index="DestinationName", columns="name")
    demand = pd.read_csv(DEMAND).sort_values(by=["NAME"]).reset_index()
    assert (pivot.index.to_numpy() == demand["NAME"].to_numpy()).all()
    return pivot.to_numpy(), demand["POP2000"].to_numpy()


def _spopt_mclp(cost: np.ndarray, weights: np.ndarray, radius: float, p: int
                ) -> tuple[list[int], float, float]:
    """Solve spopt's MCLP with CBC: (selected columns, objective, perc_cov)."""
    model = MCLP.from_cost_matrix(cost, weights, radius, p)
    model = model.solve(pulp.PULP_CBC_CMD(msg=False))
    assert model.problem.status == pulp.LpStatusOptimal
    selected = [j for j, var in enumerate(model.fac_vars) if var.value() > 0.5]
    return selected, float(pulp.value(model.problem.objective)), float(model.perc_cov)


def test_sf_data_covered_share_matches_spopt(sf_problem: tuple[np.ndarray, np.ndarray]) -> None:
    cost, weights = sf_problem
    selected, objective, perc_cov = _spopt_mclp(cost, weights, SERVICE_DIST_M, P_FACILITIES)
    assert perc_cov == pytest.approx(SPOPT_PERC_COV)

    cover = coverage_sets(cost, SERVICE_DIST_M)
    ours = mclp_exact(cover, weights, P_FACILITIES)
    assert ours.optimal
    total = float(weights.sum())
    assert ours.covered_share == pytest.approx(objective / total, abs=1e-6)
    assert ours.covered_weight == pytest.approx(objective)
    # share of tracts (not people) covered, spopt's perc_cov
    tracts = cover[:, ours.selected].toarray().any(axis=1).mean() * 100
    assert tracts == pytest.approx(perc_cov, abs=1e-6)
    assert sorted(ours.selected.tolist()) == sorted(selected)
    # the heuristic finds the optimum here too
    assert mclp_greedy(cover, weights, P_FACILITIES).covered_share == pytest.approx(
        objective / total, abs=1e-6)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_random_instances_match_spopt_objective(seed: int) -> None:
    rng = np.random.default_rng(seed)
    demand = rng.random((300, 2)) * 10_000
    sites = rng.random((30, 2)) * 10_000
    weights = rng.integers(1, 1000, 300).astype(float)
    cost = cdist(demand, sites)
    radius = 10_000 * math.sqrt(0.05 / math.pi)  # each site reaches ~5 % of the square
    _, objective, _ = _spopt_mclp(cost, weights, radius, 5)
    ours = mclp_exact(coverage_sets(cost, radius), weights, 5)
    assert ours.covered_weight == pytest.approx(objective, rel=1e-9)
