"""Coverage, 2SFCA, capacity, gaps, consortia and equity on the tiny workspace, by hand.

The tiny grid (tests/data/make_fixtures.py): 10 x 10 cells of 100 m, 10 people per cell and
1,000 in cell (7, 7); district A = columns 0-4, B = columns 5-9; clinic C1 (4 doctors) at
cell (2, 2), clinic C2 (1 doctor) at cell (7, 7), school S1 (300 seats) at cell (2, 7).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from gisapp._errors import GisAppError
from gisapp.config.spec import Standard
from gisapp.metrics import service as analysis


def test_clinic_coverage_by_district(tiny_ws):
    res = analysis.run_service(tiny_ws, "clinic")
    t = analysis.coverage_by_district(tiny_ws, res)
    assert list(t.columns) == analysis.COVERAGE_COLUMNS
    # 150 m reaches the facility's cell and its 8 neighbours (diagonal 141 m)
    assert t["covered"].tolist() == [90.0, 1080.0]
    assert t["population"].tolist() == [500.0, 1490.0]
    assert t["uncovered"].tolist() == [410.0, 410.0]
    assert t["covered_pct"].tolist() == pytest.approx([18.0, 1080 / 1490 * 100])


def test_school_uses_demand_group(tiny_ws):
    res = analysis.run_service(tiny_ws, "school")
    t = analysis.coverage_by_district(tiny_ws, res)
    # 250 m: 21 cells around S1 in district B; children are 10 % of residents
    assert t["covered"].tolist() == pytest.approx([0.0, 21.0])
    assert t["population"].tolist() == pytest.approx([50.0, 149.0])


def test_time_standard_with_circuity(tiny_ws):
    res = analysis.run_service(tiny_ws, "clinic_time")
    # 3.3 min at 6 km/h over a route 1.5 x the straight line = 220 m straight: 13 cells each
    t = analysis.coverage_by_district(tiny_ws, res)
    assert t["covered"].tolist() == [130.0, 1120.0]
    g = tiny_ws.grid
    cell = g.cell_index[2, 4]  # 200 m east of C1
    assert res.travel_cost[cell] == pytest.approx(200 * 1.5 / 100.0)
    assert res.unit == "min"


def test_standard_override(tiny_ws):
    res = analysis.run_service(tiny_ws, "clinic", standard=Standard(distance_m=50))
    assert analysis.coverage_by_district(tiny_ws, res)["covered"].tolist() == [10.0, 1000.0]


def test_two_sfca_values_and_conservation(tiny_ws):
    res = analysis.run_service(tiny_ws, "clinic")
    g = tiny_ws.grid
    assert res.access_per_1000[g.cell_index[2, 2]] == pytest.approx(4 / 90 * 1000)
    assert res.access_per_1000[g.cell_index[7, 7]] == pytest.approx(1 / 1080 * 1000)
    assert res.access_per_1000[g.cell_index[9, 0]] == 0.0
    assert float(np.sum(res.demand * res.access_per_1000)) == pytest.approx(5 * 1000)


def test_capacity_gap_against_norm(tiny_ws):
    res = analysis.run_service(tiny_ws, "clinic")
    c = analysis.capacity_by_district(tiny_ws, res)
    assert c["capacity"].tolist() == [4.0, 1.0]
    assert c["capacity_per_1000"].tolist() == pytest.approx([8.0, 1000 / 1490])
    # norm 2 per 1,000: A needs 1 doctor and has 4; B needs 2.98 and has 1
    assert c["capacity_gap"].tolist() == pytest.approx([-3.0, 1.98])


def test_gap_areas(tiny_ws):
    res = analysis.run_service(tiny_ws, "clinic")
    gaps = analysis.gap_areas(tiny_ws, res)
    assert len(gaps) == 1
    assert gaps.loc[0, "population"] == pytest.approx(820.0)
    assert gaps.loc[0, "cells"] == 82
    assert gaps.loc[0, "min_distance_m"] == pytest.approx(200.0, abs=1e-3)
    res2 = analysis.run_service(tiny_ws, "school")
    g2 = analysis.gap_areas(tiny_ws, res2)
    assert g2["population"].sum() == pytest.approx(199.0 - 21.0)
    poly = analysis.gap_polygons(tiny_ws, res)
    assert poly.crs.to_epsg() == 4543
    assert poly.geometry.area.sum() == pytest.approx(82 * 100 * 100)


def test_gaps_split_into_ranked_areas(tiny_ws):
    # a 50 m standard leaves everything but the facility cells uncovered: one area
    # a huge standard leaves nothing
    res = analysis.run_service(tiny_ws, "clinic", standard=Standard(distance_m=5000))
    assert analysis.gap_areas(tiny_ws, res).empty


def test_by_class_all_rural(tiny_ws):
    res = analysis.run_service(tiny_ws, "clinic")
    t = analysis.coverage_by_class(tiny_ws, res).set_index("class")
    # 1,990 people on 1 km^2: dense enough but far below 5,000 people: rural
    assert t.loc["rural", "population"] == 1990 and t.loc["town", "population"] == 0
    assert t.loc["all", "covered"] == 1170


def test_consortia(tiny_ws):
    m = analysis.consortia_members(tiny_ws)
    assert m["facility_id"].tolist() == ["C1", "C2"]
    c2 = m.set_index("facility_id").loc["C2"]
    assert c2["distance_m"] == pytest.approx(np.hypot(500, 500), abs=1e-3)
    # referral standard 5 min at 6 km/h: 707 m takes 7.07 min
    assert c2["travel_min"] == pytest.approx(np.hypot(500, 500) / 100.0, abs=1e-4)
    assert bool(c2["beyond_referral"]) is True
    s = analysis.consortia_summary(tiny_ws)
    assert s.loc[0, "population_served"] == pytest.approx(1990.0)
    assert s.loc[0, "members"] == 2


def test_summary_and_equity(tiny_ws):
    res = analysis.run_service(tiny_ws, "clinic")
    s = analysis.summary(tiny_ws, res)
    assert s["covered"] == 1170 and s["uncovered"] == 820
    assert s["capacity_per_1000"] == pytest.approx(5 / 1990 * 1000)
    assert 0 < s["gini_access"] < 1
    # median distance: people sorted by distance; the 1,000-person cell sits at 0 m
    assert s["median_cost"] <= 200


def test_gini_known_values():
    assert analysis.gini(np.array([5.0, 5.0])) == 0.0
    # two people, one has everything: G = 0.5 for n = 2 (discrete Lorenz)
    assert analysis.gini(np.array([0.0, 1.0])) == pytest.approx(0.5)
    # weights behave like repeated people
    a = analysis.gini(np.array([1.0, 3.0]), np.array([2.0, 1.0]))
    b = analysis.gini(np.array([1.0, 1.0, 3.0]))
    assert a == pytest.approx(b)


def test_cumulative_curve(tiny_ws):
    res = analysis.run_service(tiny_ws, "clinic")
    cur = analysis.cumulative_curve(res)
    assert isinstance(cur, pd.DataFrame)
    assert cur["share_pct"].is_monotonic_increasing
    # at each cost, the share equals the people within that cost, counted directly
    for x, share in zip(cur["cost"].to_numpy()[::20], cur["share_pct"].to_numpy()[::20], strict=True):
        within = res.demand[res.travel_cost <= x].sum() / res.demand.sum() * 100
        assert share == pytest.approx(within, abs=100 * 10 / 1990 + 1e-9)  # interpolation within one cell


def test_unknown_service(tiny_ws):
    with pytest.raises(GisAppError, match="Unknown service 'dentist'; the workspace has: clinic"):
        analysis.run_service(tiny_ws, "dentist")
