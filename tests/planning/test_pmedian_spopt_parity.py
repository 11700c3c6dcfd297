"""Parity of gisapp.planning.pmedian with PySAL spopt's PMedian, run live (CBC), offline.

Data: spopt's own test data, installed with the package (spopt/tests/test_locate/data):

* San Francisco (spopt's ``test_p_median.py::TestRealWorldLocate``): network distances from
  205 census tracts to 16 candidate stores pivoted to a 205 x 16 matrix (rows sorted by tract
  name), POP2000 weights sorted by tract name, p = 4; spopt's own expected mean distance is
  2982.1268579890657.
* Students and schools (spopt's ``test_c_p_median.py::TestRealWorldLocate``): travel times
  of 10 students to 74 schools (missing pairs filled with 10,000 as spopt does), each
  student weight 1, school capacities from ``Count``, p = 10, the priority-1 schools
  predefined.  spopt's ``p_facilities`` counts predefined sites; ours does not.

And random instances (uncapacitated, capacitated, with an existing site).  Objectives must
agree to 1e-6 relative.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.spatial.distance import cdist

from gisapp.planning.pmedian import p_median

spopt = pytest.importorskip("spopt")
pulp = pytest.importorskip("pulp")
from spopt.locate import PMedian  # noqa: E402

DATA = Path(spopt.__file__).parent / "tests" / "test_locate" / "data"
SF_DISTANCES = DATA / "SF_network_distance_candidateStore_16_censusTract_205_new.csv"
SF_DEMAND = DATA / "SF_demand_205_centroid_uniform_weight.csv"
JOURNEYS = DATA / "example_subject_student_school_journeys.csv"
STUDENTS = DATA / "example_subject_students.csv"
SCHOOLS = DATA / "example_subject_schools.csv"
SF_P = 4
SF_SPOPT_MEAN = 2982.1268579890657  # spopt's expected mean distance (its test)
SCHOOLS_P = 10
REL = 1e-6


def _need(*paths: Path) -> None:
    missing = [p.name for p in paths if not p.exists()]
    if missing:
        msg = f"spopt's test data are not installed under {DATA}: {missing}"
        if os.environ.get("CI"):
            pytest.fail(msg)
        pytest.skip(msg)


def _spopt(cost: np.ndarray, weights: np.ndarray, p_total: int, *,
           predefined: np.ndarray | None = None, capacity: np.ndarray | None = None
           ) -> tuple[float, float, list[int]]:
    """Solve spopt's PMedian with CBC: (objective, mean distance, open columns)."""
    kwargs: dict[str, object] = {}
    if predefined is not None:
        kwargs["predefined_facilities_arr"] = predefined
    if capacity is not None:
        kwargs["facility_capacities"] = capacity
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = PMedian.from_cost_matrix(cost, weights, p_total, **kwargs)
        model = model.solve(pulp.PULP_CBC_CMD(msg=False))
    assert model.problem.status == pulp.LpStatusOptimal
    opened = [j for j, v in enumerate(model.fac_vars) if (v.value() or 0) > 0.5]
    return float(pulp.value(model.problem.objective)), float(model.mean_dist), opened


@pytest.fixture(scope="module")
def sf_problem() -> tuple[np.ndarray, np.ndarray]:
    """(205 x 16 network distances in metres, POP2000), built as spopt's test does."""
    _need(SF_DISTANCES, SF_DEMAND)
    network = pd.read_csv(SF_DISTANCES)
    pivot = network.pivot_table(values="distance", index="DestinationName", columns="name")
    demand = pd.read_csv(SF_DEMAND).sort_values(by=["NAME"]).reset_index()
    assert (pivot.index.to_numpy() == demand["NAME"].to_numpy()).all()
    return pivot.to_numpy(), demand["POP2000"].to_numpy().astype(float)


@pytest.fixture(scope="module")
def schools_problem() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(10 x 74 travel minutes, weights, capacities, priority-1 school columns)."""
    _need(JOURNEYS, STUDENTS, SCHOOLS)
    table = pd.read_csv(JOURNEYS)
    cost = table.pivot_table(columns="school", fill_value=10000, index="student", sort=False,
                             values="time").astype(int).to_numpy().astype(float)
    schools = pd.read_csv(SCHOOLS)
    weights = np.ones(len(pd.read_csv(STUDENTS)))
    capacity = schools["Count"].to_numpy().astype(float)
    priority = np.asarray(schools[schools["priority"] == 1].index.tolist(), dtype=np.int64)
    return cost, weights, capacity, priority


def test_sf_uncapacitated_matches_spopt(sf_problem: tuple[np.ndarray, np.ndarray]) -> None:
    cost, weights = sf_problem
    objective, mean, opened = _spopt(cost, weights, SF_P)
    assert mean == pytest.approx(SF_SPOPT_MEAN, rel=1e-9)  # spopt's own expected value
    ours = p_median(cost, weights, SF_P, method="exact")
    assert ours.status == "optimal" and ours.optimal
    assert ours.objective == pytest.approx(objective, rel=REL)
    assert ours.objective / weights.sum() == pytest.approx(SF_SPOPT_MEAN, rel=REL)
    assert sorted(ours.opened.tolist()) == sorted(opened)
    heur = p_median(cost, weights, SF_P, method="heuristic")
    assert heur.objective <= objective * 1.01


def test_sf_with_existing_site_matches_spopt(sf_problem: tuple[np.ndarray, np.ndarray]) -> None:
    cost, weights = sf_problem
    objective, _, _ = _spopt(cost, weights, SF_P + 1, predefined=np.array([3]))
    ours = p_median(cost, weights, SF_P, fixed=[3], method="exact")  # fixed not counted in p
    assert ours.status == "optimal"
    assert ours.objective == pytest.approx(objective, rel=REL)


def test_sf_capacitated_matches_spopt(sf_problem: tuple[np.ndarray, np.ndarray]) -> None:
    cost, weights = sf_problem
    capacity = np.full(cost.shape[1], weights.sum() / 3.0)  # 4 sites must share the load
    objective, _, _ = _spopt(cost, weights, SF_P, capacity=capacity)
    ours = p_median(cost, weights, SF_P, capacity=capacity, method="exact")
    assert ours.model == "p_median_capacitated" and ours.status == "optimal"
    assert ours.objective == pytest.approx(objective, rel=REL)
    assert ours.objective > p_median(cost, weights, SF_P).objective  # the capacity binds


def test_schools_capacitated_with_predefined_matches_spopt(
        schools_problem: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]) -> None:
    cost, weights, capacity, priority = schools_problem
    objective, _, _ = _spopt(cost, weights, SCHOOLS_P, predefined=priority, capacity=capacity)
    ours = p_median(cost, weights, SCHOOLS_P - priority.size, fixed=priority,
                    capacity=capacity, method="exact")
    assert ours.status == "optimal"
    assert ours.objective == pytest.approx(objective, rel=REL)
    assert len(ours.opened) == SCHOOLS_P - priority.size
    assert not set(ours.opened.tolist()) & set(priority.tolist())
    assert ours.flows is not None
    assert (ours.flows.toarray().sum(axis=0) <= capacity + 1e-9).all()


def test_schools_uncapacitated_matches_spopt(
        schools_problem: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]) -> None:
    cost, weights, _, _ = schools_problem
    objective, _, _ = _spopt(cost, weights, 3)
    ours = p_median(cost, weights, 3, method="exact")
    assert ours.objective == pytest.approx(objective, rel=REL)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_random_instances_match_spopt(seed: int) -> None:
    rng = np.random.default_rng(seed)
    cost = cdist(rng.random((120, 2)) * 10_000, rng.random((15, 2)) * 10_000)
    weights = rng.integers(1, 1000, 120).astype(float)
    objective, _, _ = _spopt(cost, weights, 4)
    assert p_median(cost, weights, 4, method="exact").objective == pytest.approx(objective, rel=REL)
    # with an existing site (spopt counts it in p)
    objective, _, _ = _spopt(cost, weights, 4, predefined=np.array([seed]))
    ours = p_median(cost, weights, 3, fixed=[seed], method="exact")
    assert ours.objective == pytest.approx(objective, rel=REL)
    # capacitated: every site holds 30 % of the demand
    capacity = np.full(15, 0.3 * weights.sum())
    objective, _, _ = _spopt(cost, weights, 4, capacity=capacity)
    ours = p_median(cost, weights, 4, capacity=capacity, method="exact")
    assert ours.status == "optimal"
    assert ours.objective == pytest.approx(objective, rel=REL)


@pytest.mark.parametrize("seed", [3, 4])
def test_capacitated_loose_capacity_matches_spopt(seed: int) -> None:
    # capacities of 1.5 x (total / p), as in benchmarks/bench_models.py: the exact solver
    # starts from the capacitated heuristic and leaves out what the Lagrangian bound excludes
    rng = np.random.default_rng(seed)
    cost = cdist(rng.random((150, 2)) * 10_000, rng.random((20, 2)) * 10_000)
    weights = rng.integers(1, 1001, 150).astype(float)
    capacity = np.full(20, 1.5 * weights.sum() / 4)
    objective, _, _ = _spopt(cost, weights, 4, capacity=capacity)
    ours = p_median(cost, weights, 4, capacity=capacity, method="exact")
    assert ours.status == "optimal"
    assert ours.objective == pytest.approx(objective, rel=REL)


# --------------------------------------------------------------------------- the benchmark's peer child


def _bench_models():  # type: ignore[no-untyped-def]
    import importlib.util
    import sys

    path = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_models.py"
    spec = importlib.util.spec_from_file_location("bench_models", path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules["bench_models"] = mod
    spec.loader.exec_module(mod)
    return mod


def _peer_record(capsys: pytest.CaptureFixture[str], *extra: str) -> dict[str, object]:
    import json

    bench = _bench_models()
    assert bench.main(["--size", "600x200", "--p", "5", "--models", "p_median", "--runners",
                       "spopt", "--peer-child", "always", "--solvers", "highs", "--json",
                       *extra]) == 0
    lines = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("{")]
    assert len(lines) == 1
    return json.loads(lines[0])  # type: ignore[no-any-return]


def test_bench_peer_child_stopped_at_its_wall_limit_says_so(
        capsys: pytest.CaptureFixture[str]) -> None:
    # spopt's 120,000-variable build takes seconds; a 1 s wall limit stops it mid-build
    rec = _peer_record(capsys, "--peer-timeout", "1", "--peer-grace", "0", "--peer-every",
                       "0.1")
    assert rec["runner"] == "spopt_highs"
    status = str(rec["status"])
    assert status.startswith("stopped at the 1 s wall limit during the build"), status
    assert rec["treatment"] == "1 run in a child, stopped"
    assert not np.isfinite(float(rec["objective"]))  # type: ignore[arg-type]


def test_bench_peer_child_that_cannot_start_under_its_memory_limit_is_reported(
        capsys: pytest.CaptureFixture[str]) -> None:
    # 0.2 GiB of address space: the child cannot even import its libraries
    rec = _peer_record(capsys, "--peer-mem-gib", "0.2")
    status = str(rec["status"])
    assert status.startswith("died (exit "), status
    assert "under a 0.2 GiB limit" in status
    assert not np.isfinite(float(rec["objective"]))  # type: ignore[arg-type]


def test_bench_peer_child_that_finishes_reports_spopt_objective(
        capsys: pytest.CaptureFixture[str]) -> None:
    bench = _bench_models()
    rec = _peer_record(capsys, "--size", "120x15", "--p", "4")
    assert rec["status"] == "optimal"
    inst = bench.make_instance(120, 15, 4, 0.02, 1.5, 0)
    ours = p_median(inst.cost, inst.weights, 4, method="exact")
    assert float(rec["objective"]) == pytest.approx(ours.objective, rel=REL)  # type: ignore[arg-type]
