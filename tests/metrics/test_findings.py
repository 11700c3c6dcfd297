"""Key findings (主要结论) on the tiny workspace, by hand, and on the demo against the engine's tables.

The tiny grid (tests/data/make_fixtures.py): 10 x 10 cells of 100 m, 10 people per cell and
1,000 in cell (7, 7); district 甲区 = columns 0-4, 乙区 = columns 5-9; clinic C1 (4 doctors) at
cell (2, 2), clinic C2 (1 doctor) at cell (7, 7), school S1 (300 seats) at cell (2, 7);
children are 10 % of the people.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
import pytest

from gisapp.metrics import tables
from gisapp.metrics.findings import ServiceFindings, capacity_columns, district_people, findings
from gisapp.metrics.places import gap_places
from gisapp.metrics.service import run_service


@pytest.fixture(scope="module")
def clinic(tiny_ws) -> ServiceFindings:
    return findings(tiny_ws, run_service(tiny_ws, "clinic"))


def test_people_beyond_the_standard_by_district_by_hand(clinic):
    # 150 m reaches a facility's cell and its 8 neighbours: 甲区 90 of 500 covered, 乙区 1,080 of 1,490
    d = clinic.districts
    assert d["district_name"].tolist() == ["甲区", "乙区"]
    assert d["beyond"].tolist() == [410, 410]
    assert d["population"].tolist() == [500, 1490]
    assert d["beyond"].dtype == np.int64
    assert clinic.beyond == 820 and clinic.population == 1990
    assert clinic.covered_pct == pytest.approx(1170 / 1990 * 100)


def test_worst_district_by_hand(clinic, tiny_ws):
    # 甲区 18 % against 乙区 72.5 %; both have 410 people beyond: the lower coverage wins the tie
    assert (clinic.worst, clinic.worst_pct) == ("甲区", pytest.approx(18.0))
    assert (clinic.most, clinic.most_beyond) == ("甲区", 410)
    school = findings(tiny_ws, run_service(tiny_ws, "school"))
    # S1 at (2, 7) covers the 21 cells within 250 m, all in 乙区: 21 of 149 children
    assert school.districts["beyond"].tolist() == [50, 128]
    assert (school.worst, school.worst_pct) == ("甲区", 0.0)
    assert (school.most, school.most_beyond) == ("乙区", 128)
    assert school.shortfall is None, "no norm, no shortfall"


def test_capacity_shortfall_is_never_netted(clinic, tiny_ws):
    # norm 2 per 1,000: 甲区 needs 1.0 doctor and has 4 (surplus 3); 乙区 needs 2.98 and has 1 (short 1.98)
    assert clinic.shortfall == pytest.approx(1.98)
    assert clinic.short_districts == 1
    netted = tables.capacity_by_district(tiny_ws, run_service(tiny_ws, "clinic"))["capacity_gap"].sum()
    assert netted == pytest.approx(-1.02), "the netted sum would hide the shortfall"
    assert clinic.capacity_unit("zh") == "名医生" and clinic.capacity_unit("en") == "doctors"


def test_capacity_columns_read_either_table_shape():
    old = pd.DataFrame({"capacity_gap": [-3.0, 1.98]})
    new = old.assign(shortfall=[0.0, 1.98], surplus=[3.0, 0.0])
    for table in (old, new):
        short, plus = capacity_columns(table)
        assert short.tolist() == pytest.approx([0.0, 1.98]) and plus.tolist() == pytest.approx([3.0, 0.0])


def test_town_country_ratio_reads_the_rows_by_name(tiny_ws):
    res = run_service(tiny_ws, "clinic")
    # the tiny grid is all rural: no town demand, no ratio
    assert math.isnan(findings(tiny_ws, res).ratio)
    for rows in (["urban_centre", "urban_cluster", "rural", "town", "country", "all"],
                 ["urban_centre", "urban_cluster", "rural", "town", "all"]):
        pct = {"urban_centre": 95.0, "urban_cluster": 80.0, "rural": 60.0, "town": 90.0, "country": 60.0,
               "all": 75.0}
        cls = pd.DataFrame({"class": rows, "population": 100.0, "covered": [pct[r] for r in rows],
                            "uncovered": [100 - pct[r] for r in rows], "covered_pct": [pct[r] for r in rows]})
        f = findings(tiny_ws, res, classes=cls, places=None)
        assert (f.town_pct, f.rural_pct, f.ratio) == (90.0, 60.0, pytest.approx(1.5))
        assert "1.50" in " ".join(f.sentences("zh"))


def test_district_people_add_up(tiny_ws):
    res = run_service(tiny_ws, "school")
    cov = tables.coverage_by_district(tiny_ws, res)
    d = district_people(cov)
    assert (d["population"] == d["covered"] + d["uncovered"]).all()
    assert int(d["uncovered"].sum()) == round(cov["uncovered"].sum())
    assert np.abs(d["uncovered"].to_numpy() - cov["uncovered"].to_numpy()).max() < 1.0


def test_sentences_carry_the_figures_in_both_languages(clinic):
    zh, en = clinic.sentences("zh"), clinic.sentences("en")
    assert zh[0] == "诊所：820 人超出服务标准，覆盖率 58.8%。"
    assert "甲区 410 人，乙区 410 人" in zh[1]
    assert any("2.0 名医生" in s for s in zh)
    assert any("工作区没有居民点图层" in s for s in zh), "without settlements the page says so"
    assert en[0].startswith("Clinic: 820 people beyond the standard")
    assert not any(re.search(r"[\u3400-\u9fff]", s.replace("甲区", "").replace("乙区", "")) for s in en)
    assert clinic.places is None


@pytest.mark.slow
def test_demo_findings_equal_the_tables_and_name_places(demo_ws):
    res = run_service(demo_ws, "hospital_beds")
    f = findings(demo_ws, res)
    cov = tables.coverage_by_district(demo_ws, res)
    cap = tables.capacity_by_district(demo_ws, res)
    assert f.districts["beyond"].tolist() == district_people(cov)["uncovered"].tolist()
    assert f.beyond == round(cov["uncovered"].sum())
    short = np.clip(cap["capacity_gap"].to_numpy(float), 0, None).sum()
    assert f.shortfall == pytest.approx(short)
    assert f.shortfall > cap["capacity_gap"].sum(), "shortfalls are not netted against surpluses"
    worst = cov.loc[cov["covered_pct"].idxmin()]
    assert (f.worst, f.worst_pct) == (worst["district_name"], pytest.approx(worst["covered_pct"]))
    places = gap_places(demo_ws, res)
    assert f.places is not None
    pd.testing.assert_frame_equal(f.places, places)
    assert int(places["people"].sum()) == f.beyond
    text = " ".join(f.sentences("zh"))
    for r in places.head(3).itertuples():
        assert f"{r.district_name}{r.township}{r.place}（{r.people:,} 人）" in text
