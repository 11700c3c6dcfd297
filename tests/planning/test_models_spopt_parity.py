"""Parity of set covering and p-center with PySAL spopt, run live (CBC through PuLP).

spopt's own test data: ``TestRealWorldLSCP`` / ``TestRealWorldPCenter``
(spopt/tests/test_locate/) build a 205 x 16 matrix of network distances from San Francisco
census tracts to candidate stores (a long table pivoted, rows sorted by tract name), with a
service distance of 5,000 m and p = 4.  The CSVs are installed with the package; when they
are missing the tests skip locally and FAIL under CI.  Random instances compare the objective
on uniform points.  spopt counts predefined (existing) facilities in its objective (LSCP) and
in p (p-center); ours do not: the mapping is objective + n_fixed and p + n_fixed.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.spatial.distance import cdist

from gisapp.planning.lscp import lscp
from gisapp.planning.pcenter import p_center

spopt = pytest.importorskip("spopt")
pulp = pytest.importorskip("pulp")
from spopt.locate import LSCP, PCenter  # noqa: E402

DATA = Path(spopt.__file__).parent / "tests" / "test_locate" / "data"
DISTANCES = DATA / "SF_network_distance_candidateStore_16_censusTract_205_new.csv"
DEMAND = DATA / "SF_demand_205_centroid_uniform_weight.csv"
SERVICE_DIST_M = 5000.0
P_FACILITIES = 4


@pytest.fixture(scope="module")
def sf_problem() -> tuple[np.ndarray, np.ndarray]:
    """(cost matrix in metres, 205 x 16; POP2000 weights), built as spopt's tests do."""
    if not (DISTANCES.exists() and DEMAND.exists()):
        msg = f"spopt's San Francisco test data are not installed under {DATA}"
        if os.environ.get("CI"):
            pytest.fail(msg)
        pytest.skip(msg)
    network = pd.read_csv(DISTANCES)
    pivot = network.pivot_table(values="distance", index="DestinationName", columns="name")
    demand = pd.read_csv(DEMAND).sort_values(by=["NAME"]).reset_index()
    assert (pivot.index.to_numpy() == demand["NAME"].to_numpy()).all()
    weights = demand["POP2000"].to_numpy().astype(float)
    assert (weights > 0).all()  # every tract counts in spopt's p-center, so in ours too
    return pivot.to_numpy(), weights


def _cbc() -> object:
    return pulp.PULP_CBC_CMD(msg=False)


def _spopt_lscp(cost: np.ndarray, radius: float, fixed: list[int] | None = None,
                demand: np.ndarray | None = None, capacity: np.ndarray | None = None) -> float:
    pre = None if fixed is None else np.isin(np.arange(cost.shape[1]), fixed).astype(int)
    model = LSCP.from_cost_matrix(cost, radius, predefined_facilities_arr=pre,
                                  demand_quantity_arr=demand, facility_capacity_arr=capacity)
    model = model.solve(_cbc())
    assert model.problem.status == pulp.LpStatusOptimal
    return float(pulp.value(model.problem.objective))


def _spopt_pcenter(cost: np.ndarray, p: int, fixed: list[int] | None = None) -> float:
    """spopt's p-center optimum, as the worst nearest-open-site cost of its chosen sites."""
    pre = None if fixed is None else np.isin(np.arange(cost.shape[1]), fixed).astype(int)
    model = PCenter.from_cost_matrix(cost, p, predefined_facilities_arr=pre).solve(_cbc())
    assert model.problem.status == pulp.LpStatusOptimal
    chosen = [j for j, var in enumerate(model.fac_vars) if var.value() > 0.5]
    assert len(chosen) == p
    value = float(cost[:, chosen].min(axis=1).max())
    assert value == pytest.approx(float(pulp.value(model.problem.objective)), rel=1e-6)
    return value


# --------------------------------------------------------------------------- spopt's data


def test_sf_lscp_matches_spopt(sf_problem: tuple[np.ndarray, np.ndarray]) -> None:
    cost, weights = sf_problem
    theirs = _spopt_lscp(cost, SERVICE_DIST_M)
    ours = lscp(cost, weights, SERVICE_DIST_M, method="exact")
    assert ours.proven
    assert ours.objective == pytest.approx(theirs, rel=1e-6)
    assert lscp(cost, weights, SERVICE_DIST_M, method="heuristic").objective == pytest.approx(
        theirs, rel=1e-6)
    # with two stores already there (spopt counts them in its objective)
    fixed = [2, 11]
    theirs = _spopt_lscp(cost, SERVICE_DIST_M, fixed)
    ours = lscp(cost, weights, SERVICE_DIST_M, fixed=fixed, method="exact")
    assert ours.objective + len(fixed) == pytest.approx(theirs, rel=1e-6)


def test_sf_lscp_infeasible_radius(sf_problem: tuple[np.ndarray, np.ndarray]) -> None:
    cost, weights = sf_problem
    # spopt's own infeasibility test: 20 m reaches almost nobody
    model = LSCP.from_cost_matrix(cost, 20.0)
    with pytest.raises(RuntimeError, match="Infeasible"):
        model.solve(_cbc())
    ours = lscp(cost, weights, 20.0)
    assert ours.status == "infeasible"


def test_sf_pcenter_matches_spopt(sf_problem: tuple[np.ndarray, np.ndarray]) -> None:
    cost, weights = sf_problem
    theirs = _spopt_pcenter(cost, P_FACILITIES)
    ours = p_center(cost, weights, P_FACILITIES, method="exact")
    assert ours.proven
    assert ours.objective == pytest.approx(theirs, rel=1e-6)
    fixed = [5]
    theirs = _spopt_pcenter(cost, P_FACILITIES, fixed)
    ours = p_center(cost, weights, P_FACILITIES - len(fixed), fixed=fixed, method="exact")
    assert ours.objective == pytest.approx(theirs, rel=1e-6)


# --------------------------------------------------------------------------- random instances


def _instance(seed: int, m: int = 150, n: int = 25) -> tuple[np.ndarray, np.ndarray, float]:
    rng = np.random.default_rng(seed)
    cost = cdist(rng.random((m, 2)), rng.random((n, 2))) * 10_000
    radius = max(10_000 * math.sqrt(0.1 / math.pi), 1.02 * float(cost.min(axis=1).max()))
    return cost, rng.integers(1, 1000, m).astype(float), radius  # everyone within reach


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_random_lscp_matches_spopt(seed: int) -> None:
    cost, weights, radius = _instance(seed)
    assert (cost.min(axis=1) <= radius).all()  # spopt's LSCP must be feasible
    theirs = _spopt_lscp(cost, radius)
    assert lscp(cost, weights, radius).objective == pytest.approx(theirs, rel=1e-6)
    fixed = [0, 7]
    theirs = _spopt_lscp(cost, radius, fixed)
    ours = lscp(cost, weights, radius, fixed=fixed)
    assert ours.objective + 2 == pytest.approx(theirs, rel=1e-6)


@pytest.mark.parametrize("seed", [0, 1])
def test_random_capacitated_lscp_matches_spopt(seed: int) -> None:
    cost, weights, radius = _instance(seed, 60, 15)
    radius *= 1.3
    capacity = np.full(15, weights.sum() / 4)
    theirs = _spopt_lscp(cost, radius, demand=weights, capacity=capacity)
    ours = lscp(cost, weights, radius, capacity=capacity, method="exact")
    assert ours.proven
    assert ours.objective == pytest.approx(theirs, rel=1e-6)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_random_pcenter_matches_spopt(seed: int) -> None:
    cost, weights, _ = _instance(seed, 80, 15)
    theirs = _spopt_pcenter(cost, 4)
    assert p_center(cost, weights, 4).objective == pytest.approx(theirs, rel=1e-6)
    theirs = _spopt_pcenter(cost, 4, [3])
    assert p_center(cost, weights, 3, fixed=[3]).objective == pytest.approx(theirs, rel=1e-6)
