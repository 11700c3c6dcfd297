"""District and class tables, the summary and the cumulative curve on the tiny workspace, by hand.

The tiny grid (tests/data/make_fixtures.py): 10 x 10 cells of 100 m, 10 people per cell and
1,000 in cell (7, 7); district A = columns 0-4, B = columns 5-9; clinic C1 (4 doctors) at
cell (2, 2), clinic C2 (1 doctor) at cell (7, 7), school S1 (300 seats) at cell (2, 7).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd
import pytest

from gisapp import i18n
from gisapp.grid.urban import RURAL, URBAN_CLUSTER
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
    assert c["need"].tolist() == pytest.approx([1.0, 2.98])
    # shortfall and surplus apart, both >= 0: A is 3 doctors over, B 1.98 short
    assert c["shortfall"].tolist() == pytest.approx([0.0, 1.98])
    assert c["surplus"].tolist() == pytest.approx([3.0, 0.0])


def test_capacity_totals_add_shortfalls_only(tiny_ws):
    c = tables.capacity_by_district(tiny_ws, run_service(tiny_ws, "clinic"))
    tot = tables.capacity_totals(c)
    # the signed sum would be -1.02 (a surplus of 1.02 doctors); B is still 1.98 short
    assert c["capacity_gap"].sum() == pytest.approx(-1.02)
    assert tot["shortfall"] == pytest.approx(1.98) and tot["surplus"] == pytest.approx(3.0)
    assert tot["short_districts"] == 1 and tot["surplus_districts"] == 1
    assert tot["capacity"] == 5 and tot["need"] == pytest.approx(3.98)
    assert tot["need"] - tot["capacity"] == pytest.approx(tot["shortfall"] - tot["surplus"])


def test_capacity_without_norm_has_no_totals(tiny_ws):
    c = tables.capacity_by_district(tiny_ws, run_service(tiny_ws, "school"))  # seats, no norm
    assert c["shortfall"].isna().all() and c["surplus"].isna().all()
    tot = tables.capacity_totals(c)
    assert math.isnan(tot["shortfall"]) and tot["short_districts"] == 0


def test_by_class_all_rural(tiny_ws):
    res = run_service(tiny_ws, "clinic")
    t = tables.coverage_by_class(tiny_ws, res).set_index("class")
    # 1,990 people on 1 km^2: dense enough but far below 5,000 people: rural
    assert t.loc["rural", "population"] == 1990 and t.loc["town", "population"] == 0
    assert t.loc["all", "covered"] == 1170


def test_class_table_has_one_row_per_class(tiny_ws):
    t = tables.coverage_by_class(tiny_ws, run_service(tiny_ws, "clinic"))
    assert t["class"].tolist() == ["urban_centre", "urban_cluster", "rural", "town", "all"]
    assert t["row"].tolist() == ["class", "class", "class", "subtotal", "total"]
    assert t["class"].is_unique
    # one name per row in each language (the old table had 农村 and 乡村, both the rural cells)
    for lang in ("zh", "en"):
        names = [i18n.t(f"class.{c}", lang) for c in t["class"]]
        assert len(set(names)) == len(names), names
    classes = t[t["row"] == "class"]
    assert classes["population"].sum() == t.set_index("class").loc["all", "population"]


def _with_classes(ws):
    """The tiny workspace with district A (columns 0-4) made an urban cluster, B rural."""
    ucls = np.where(ws.grid.district == 0, URBAN_CLUSTER, RURAL).astype(np.int8)
    return dataclasses.replace(ws, urban_class=ucls, cache={})


def test_town_subtotal_and_ratio(tiny_ws):
    ws = _with_classes(tiny_ws)
    t = tables.coverage_by_class(ws, run_service(ws, "clinic")).set_index("class")
    # A: 500 people, 90 covered (18 %); B: 1,490 people, 1,080 covered
    assert t.loc["urban_cluster", ["population", "covered"]].tolist() == [500, 90]
    assert t.loc["town", ["population", "covered"]].tolist() == [500, 90]
    assert t.loc["rural", ["population", "covered"]].tolist() == [1490, 1080]
    tc = tables.town_country(t.reset_index())
    assert tc["town_pct"] == pytest.approx(18.0)
    assert tc["rural_pct"] == pytest.approx(1080 / 1490 * 100)
    assert tc["ratio"] == pytest.approx(18.0 / (1080 / 1490 * 100))
    assert tc["gap_pts"] == pytest.approx(18.0 - 1080 / 1490 * 100)


def test_ratio_undefined_without_town(tiny_ws):
    tc = tables.town_country(tables.coverage_by_class(tiny_ws, run_service(tiny_ws, "clinic")))
    assert math.isnan(tc["town_pct"]) and math.isnan(tc["ratio"])


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
