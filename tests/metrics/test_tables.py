"""District and class tables, the summary and the cumulative curve on the tiny workspace, by hand.

The tiny grid (tests/data/make_fixtures.py): 10 x 10 cells of 100 m, 10 people per cell and
1,000 in cell (7, 7); district A = columns 0-4, B = columns 5-9; clinic C1 (4 doctors) at
cell (2, 2), clinic C2 (1 doctor) at cell (7, 7), school S1 (300 seats) at cell (2, 7).
"""

from __future__ import annotations

import pandas as pd
import pytest

from gisapp.metrics import tables
from gisapp.metrics.service import run_service


def test_clinic_coverage_by_district(tiny_ws):
    res = run_service(tiny_ws, "clinic")
    t = tables.coverage_by_district(tiny_ws, res)
    assert list(t.columns) == tables.COVERAGE_COLUMNS
    # 150 m reaches the facility's cell and its 8 neighbours (diagonal 141 m)
    assert t["covered"].tolist() == [90.0, 1080.0]
    assert t["population"].tolist() == [500.0, 1490.0]
    assert t["uncovered"].tolist() == [410.0, 410.0]
    assert t["covered_pct"].tolist() == pytest.approx([18.0, 1080 / 1490 * 100])


def test_capacity_gap_against_norm(tiny_ws):
    res = run_service(tiny_ws, "clinic")
    c = tables.capacity_by_district(tiny_ws, res)
    assert c["capacity"].tolist() == [4.0, 1.0]
    assert c["capacity_per_1000"].tolist() == pytest.approx([8.0, 1000 / 1490])
    # norm 2 per 1,000: A needs 1 doctor and has 4; B needs 2.98 and has 1
    assert c["capacity_gap"].tolist() == pytest.approx([-3.0, 1.98])


def test_by_class_all_rural(tiny_ws):
    res = run_service(tiny_ws, "clinic")
    t = tables.coverage_by_class(tiny_ws, res).set_index("class")
    # 1,990 people on 1 km^2: dense enough but far below 5,000 people: rural
    assert t.loc["rural", "population"] == 1990 and t.loc["town", "population"] == 0
    assert t.loc["all", "covered"] == 1170


def test_summary_and_equity(tiny_ws):
    res = run_service(tiny_ws, "clinic")
    s = tables.summary(tiny_ws, res)
    assert s["covered"] == 1170 and s["uncovered"] == 820
    assert s["capacity_per_1000"] == pytest.approx(5 / 1990 * 1000)
    assert 0 < s["gini_access"] < 1
    # median distance: people sorted by distance; the 1,000-person cell sits at 0 m
    assert s["median_cost"] <= 200


def test_cumulative_curve(tiny_ws):
    res = run_service(tiny_ws, "clinic")
    cur = tables.cumulative_curve(res)
    assert isinstance(cur, pd.DataFrame)
    assert cur["share_pct"].is_monotonic_increasing
    # at each cost, the share equals the people within that cost, counted directly
    for x, share in zip(cur["cost"].to_numpy()[::20], cur["share_pct"].to_numpy()[::20], strict=True):
        within = res.demand[res.travel_cost <= x].sum() / res.demand.sum() * 100
        assert share == pytest.approx(within, abs=100 * 10 / 1990 + 1e-9)  # interpolation within one cell
