"""Scenario edits in a workspace whose default travel mode is terrain equal a full recompute.

The workspace is a copy of the tiny fixture with ``travel.default: terrain``, a motorized speed
table and a service whose rural standard is driven (another travel mode than its walked town
standard); the left half of the grid is made town so that both standards apply.
"""

from __future__ import annotations

import dataclasses
import shutil

import geopandas as gpd
import numpy as np
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from gisapp.metrics.service import ServiceResult, run_service
from gisapp.metrics.tables import coverage_by_district
from gisapp.planning import scenario
from gisapp.planning.scenario import Edit, IncrementalService
from gisapp.workspace import Workspace, load_workspace
from tests.conftest import TINY
from tests.conftest import cell_lonlat as lonlat

SERVICES = ["clinic", "clinic_time", "school", "mixed"]


@pytest.fixture(scope="module")
def terrain_ws(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    """The tiny workspace, terrain by default, its columns 0-4 town, with a two-mode service."""
    folder = tmp_path_factory.mktemp("tiny_terrain")
    for f in TINY.parent.iterdir():
        shutil.copy(f, folder / f.name)
    spec = yaml.safe_load(TINY.read_text(encoding="utf-8"))
    spec["travel"]["default"] = "terrain"
    spec["travel"]["speeds"]["motorized"] = {"offroad": [15.0, "MOTORIZED"]}
    spec["services"]["mixed"] = {
        "kinds": ["township_health_centre", "village_clinic", "primary_school"],
        "standard": {"distance_m": 200, "mode": "walking"},
        "rural_standard": {"time_min": 1.5, "mode": "motorized", "speed_kph": 20},
        "capacity": "beds"}
    (folder / "workspace.yaml").write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
    ws = load_workspace(folder / "workspace.yaml")
    cols = np.arange(ws.grid.n) % ws.grid.shape[1]
    return dataclasses.replace(ws, urban_class=np.where(cols < 5, 3, 1).astype(np.int8))


def assert_equal_results(r: ServiceResult, full: ServiceResult, ws: Workspace, table: gpd.GeoDataFrame) -> None:
    """Covered cells, travel cost, nearest facility, 2SFCA access and the cost matrix agree (1e-9)."""
    assert r.mode == full.mode
    np.testing.assert_array_equal(r.covered, full.covered)
    np.testing.assert_allclose(r.travel_cost, full.travel_cost, rtol=0, atol=1e-9)
    np.testing.assert_allclose(np.nan_to_num(r.access_per_1000), np.nan_to_num(full.access_per_1000),
                               rtol=1e-9, atol=1e-9)
    np.testing.assert_array_equal(r.facility_idx, full.facility_idx)
    reached = np.isfinite(full.travel_cost)
    if full.mode == "terrain":  # the facility of least travel time (ties: the lowest row)
        np.testing.assert_array_equal(r.nearest_facility[reached], full.nearest_facility[reached])
    # elsewhere the straight-line nearest: the same distance (equidistant facilities may swap)
    f = table
    g = ws.grid
    for res in (r, full):
        assert ((res.nearest_facility >= 0) == np.isfinite(res.nearest_m)).all()
    has = r.nearest_facility >= 0
    d_inc = np.hypot(g.x[has] - f["x"].to_numpy()[r.nearest_facility[has]],
                     g.y[has] - f["y"].to_numpy()[r.nearest_facility[has]])
    d_full = np.hypot(g.x[has] - f["x"].to_numpy()[full.nearest_facility[has]],
                      g.y[has] - f["y"].to_numpy()[full.nearest_facility[has]])
    np.testing.assert_allclose(d_inc, d_full, rtol=0, atol=1e-6)
    np.testing.assert_allclose(r.nearest_m, full.nearest_m, rtol=0, atol=1e-6)
    assert r.cost.unit == full.cost.unit and r.cost.shape == full.cost.shape
    np.testing.assert_allclose(r.cost.matrix.toarray(), full.cost.matrix.toarray(), rtol=0, atol=1e-9)
    np.testing.assert_array_equal(r.cost.matrix.toarray() > 0, full.cost.matrix.toarray() > 0)
    np.testing.assert_array_equal(coverage_by_district(ws, r)["covered"], coverage_by_district(ws, full)["covered"])


EDIT = st.tuples(st.sampled_from(["add", "close", "move", "capacity"]), st.integers(0, 9), st.integers(0, 9),
                 st.integers(0, 20))


def run_edits(ws: Workspace, service: str, ops: list[tuple[str, int, int, int]],
              travel: str | None = None) -> IncrementalService:
    """Apply the edits the draws describe (ids that exist, positions on cell centres) incrementally."""
    inc = IncrementalService(ws, service, travel=travel)
    kinds = inc.svc.kinds
    ids = ["C1", "C2", "S1"]
    added = 0
    for op, r, c, v in ops:
        lon, lat = lonlat(ws, r, c)
        open_ids = [i for i in ids if not inc.facilities.loc[inc.facilities.facility_id == i, "closed"].all()]
        if op == "add":
            added += 1
            fid = f"N{added}"
            ids.append(fid)
            e = Edit("add", fid, lon=lon, lat=lat, kind=kinds[v % len(kinds)],
                     capacity={"doctors": v, "seats": 10 * v, "beds": 3 * v})
        elif not open_ids:
            continue
        elif op == "close":
            e = Edit("close", open_ids[v % len(open_ids)])
        elif op == "move":
            e = Edit("move", open_ids[v % len(open_ids)], lon=lon, lat=lat)
        else:
            e = Edit("capacity", open_ids[v % len(open_ids)], capacity={"doctors": float(v), "beds": 2.0 * v})
        inc.apply(e)
    return inc


def check(ws: Workspace, inc: IncrementalService, service: str, travel: str | None = None) -> None:
    table = scenario.apply_edits(ws, inc.edits)
    full = run_service(ws.with_facilities(table), service, travel=travel)
    assert_equal_results(inc.result(), full, ws, table)


@settings(max_examples=30, deadline=None)
@given(st.lists(EDIT, min_size=1, max_size=6), st.sampled_from(SERVICES))
def test_terrain_edits_equal_full_recompute(terrain_ws, ops, service):
    inc = run_edits(terrain_ws, service, ops)
    assert inc.mode == "terrain"  # the workspace's default
    check(terrain_ws, inc, service)


@settings(max_examples=15, deadline=None)
@given(st.lists(EDIT, min_size=1, max_size=6), st.sampled_from(SERVICES))
def test_straight_line_edits_equal_full_recompute(terrain_ws, ops, service):
    inc = run_edits(terrain_ws, service, ops, travel="straight_line")
    assert inc.mode == "straight_line"
    check(terrain_ws, inc, service, travel="straight_line")


def test_the_capacity_edit_of_the_issue(terrain_ws):
    # issue 11: one capacity edit gave 1,170 covered incrementally and 1,250 recomputed
    inc = IncrementalService(terrain_ws, "clinic")
    inc.apply(Edit("capacity", "C1", capacity={"doctors": 9}))
    t = coverage_by_district(inc.workspace(), inc.result())
    # within 2 min walked at 6 km/h: the facility's cell, 4 at 1 min, 4 diagonals, 4 at 2 min
    # around each clinic (C2's district B holds the 1,000-people cell)
    assert t["covered"].tolist() == [130.0, 1120.0]
    check(terrain_ws, inc, "clinic")
    g = terrain_ws.grid
    # 2SFCA: C1 (row 2, col 2) reaches 13 cells of 10 people, nobody else does: 9 doctors / 130 people
    assert inc.result().access_per_1000[g.cell_index[2, 2]] == pytest.approx(9 / 130 * 1000)


def test_the_two_mode_service_searches_both_surfaces(terrain_ws):
    inc = IncrementalService(terrain_ws, "mixed")
    inc.apply(Edit("close", "C2"))
    inc.apply(Edit("close", "S1"))
    lon, lat = lonlat(terrain_ws, 8, 8)  # a country cell
    inc.apply(Edit("add", "N1", lon=lon, lat=lat, kind="village_clinic", capacity={"beds": 5}))
    r = inc.result()
    g = terrain_ws.grid
    # country cell 300 m away: driven at 15 km/h (250 m/min), 1.2 min, within the rural 1.5 min
    assert r.travel_cost[g.cell_index[8, 5]] == pytest.approx(1.2)
    assert r.covered[g.cell_index[8, 5]] and r.nearest_facility[g.cell_index[8, 5]] == 3
    # the town cell next to it, 400 m away, is walked: 4 min, beyond its 200 m walk (2.67 min)
    assert np.isinf(r.travel_cost[g.cell_index[8, 4]]) and not r.covered[g.cell_index[8, 4]]
    check(terrain_ws, inc, "mixed")


def test_close_then_move_back_restores_the_baseline(terrain_ws):
    inc = IncrementalService(terrain_ws, "clinic_time")
    base = inc.result()
    f = terrain_ws.facilities.set_index("facility_id")
    inc.apply(Edit("move", "C2", lon=101.99, lat=26.56))
    inc.apply(Edit("move", "C2", lon=float(f.loc["C2", "lon"]), lat=float(f.loc["C2", "lat"])))
    r = inc.result()
    np.testing.assert_array_equal(r.covered, base.covered)
    np.testing.assert_allclose(r.travel_cost, base.travel_cost, rtol=0, atol=1e-9)
    np.testing.assert_array_equal(r.nearest_facility, base.nearest_facility)
