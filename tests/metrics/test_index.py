"""The equalisation index: 100 at the standard, local changes stay local, hand computation, weights, ranks, years."""

from __future__ import annotations

import dataclasses
import math
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from gisapp._errors import GisAppError, WorkspaceError
from gisapp.metrics.index import (
    equalisation_index,
    geometric_mean,
    index_by_year,
    index_weights,
    sensitivity,
    sensitivity_table,
)
from gisapp.metrics.service import run_service
from gisapp.workspace import at_year, load_workspace
from tests.conftest import TINY


def _gm(parts: list[tuple[float, float]]) -> float:
    """Weighted geometric mean of (score, weight) written out: exp(sum w ln x / sum w)."""
    return math.exp(sum(w * math.log(x) for x, w in parts) / sum(w for _, w in parts))


@pytest.fixture(scope="module")
def ws():
    return load_workspace(TINY)


@pytest.fixture(scope="module")
def results(ws):
    return {s: run_service(ws, s) for s in ws.spec.services}


def _everywhere(ws):
    """The tiny workspace with a health centre and a school (ample capacity) in every populated cell."""
    g = ws.grid
    ids = ws.districts["district_id"].to_numpy()[g.district]
    rows = []
    template = ws.facilities.iloc[0]
    for kind in ("township_health_centre", "primary_school"):
        for i in range(g.n):
            r = template.copy()
            r["facility_id"], r["name"], r["kind"] = f"{kind}-{i}", f"{kind}-{i}", kind
            r["x"], r["y"], r["district_id"] = float(g.x[i]), float(g.y[i]), ids[i]
            r["doctors"], r["seats"], r["beds"] = 1000, 1000, 1000
            r["consortium_id"], r["is_lead"] = "", False
            rows.append(r)
    fac = ws.facilities.iloc[:0].copy()
    fac = pd.concat([fac, pd.DataFrame(rows)], ignore_index=True)
    return ws.with_facilities(fac.set_geometry(fac.geometry))


# --- 100 at the standard ---------------------------------------------------------------------------


def test_every_service_at_its_standard_everywhere_scores_100(ws):
    full = _everywhere(ws)
    idx = equalisation_index(full)
    assert idx.by_district["index"].tolist() == pytest.approx([100.0, 100.0], abs=1e-9)
    assert (idx.by_district[idx.columns].to_numpy() == pytest.approx(100.0, abs=1e-9))
    cls = idx.by_class.set_index("class")["index"]
    assert cls["rural"] == pytest.approx(100.0) and cls["all"] == pytest.approx(100.0)
    assert math.isnan(cls["town"]), "the tiny grid has no town: no town index"
    assert idx.spread["range"] == pytest.approx(0.0, abs=1e-9) and idx.spread["cv"] == pytest.approx(0.0, abs=1e-9)
    # the real tiny fixture is far from it
    assert equalisation_index(ws).by_district["index"].max() < 50


def test_worsening_one_service_in_one_district_lowers_only_that_district(ws, results):
    before = equalisation_index(ws, results=results)
    school = results["school"]
    in_b = ws.grid.district == 1  # 乙区
    worse = dataclasses.replace(school, covered=np.where(in_b & (ws.grid.x > np.median(ws.grid.x[in_b])), False,
                                                         school.covered))
    after = equalisation_index(ws, results={**results, "school": worse})
    b, a = before.by_district.set_index("district_name"), after.by_district.set_index("district_name")
    assert a.at["乙区", "school:coverage"] < b.at["乙区", "school:coverage"]
    assert a.at["乙区", "index"] < b.at["乙区", "index"]
    assert a.at["甲区", "index"] == b.at["甲区", "index"], "the other district does not move"
    assert a.at["甲区", "school:coverage"] == b.at["甲区", "school:coverage"]


# --- the hand computation on the tiny fixture --------------------------------------------------------


def test_the_index_per_district_equals_the_hand_computation(ws):
    """Tiny fixture, equal weights: clinic (coverage + capacity, weight 1/2 each), school 1, clinic_time 1.

    甲区: clinic 90 of 500 people within 150 m = 18 %; 4 doctors / 500 people = 8 per 1,000 against a
    norm of 2 -> min(100, 400) = 100; school 0 of 50 children = 0 % -> floor 1; clinic_time 130 / 500 = 26 %.
    乙区: clinic 1,080 / 1,490 = 72.48 %; 1 doctor / 1,490 = 0.671 per 1,000 -> 33.56; school 21 / 149 =
    14.09 %; clinic_time 1,120 / 1,490 = 75.17 %.
    """
    jia = _gm([(18.0, 0.5), (100.0, 0.5), (1.0, 1.0), (26.0, 1.0)])
    yi = _gm([(100 * 1080 / 1490, 0.5), (100 * (1000 / 1490) / 2.0, 0.5), (100 * 21 / 149, 1.0),
              (100 * 1120 / 1490, 1.0)])
    assert jia == pytest.approx((math.sqrt(1800.0) * 26.0) ** (1 / 3))  # the same, written another way
    assert round(jia, 2) == 10.33 and round(yi, 2) == 37.38
    idx = equalisation_index(ws)
    d = idx.by_district.set_index("district_name")
    assert d.at["甲区", "index"] == pytest.approx(jia, rel=1e-12)
    assert d.at["乙区", "index"] == pytest.approx(yi, rel=1e-12)
    assert d["rank"].to_dict() == {"甲区": 2.0, "乙区": 1.0}
    assert d.at["甲区", "school:coverage"] == 0.0 and d.at["甲区", "clinic:capacity"] == 100.0
    # the whole area (all rural): 1,170 / 1,990 clinic; 5 doctors / 1,990 -> 2.51 per 1,000 -> 100;
    # school 21 / 199; clinic_time 1,250 / 1,990
    everyone = _gm([(100 * 1170 / 1990, 0.5), (100.0, 0.5), (100 * 21 / 199, 1.0), (100 * 1250 / 1990, 1.0)])
    cls = idx.by_class.set_index("class")["index"]
    assert cls["rural"] == pytest.approx(everyone) and cls["all"] == pytest.approx(everyone)
    assert math.isnan(idx.town_country_ratio), "no town in the tiny grid"
    assert idx.spread["range"] == pytest.approx(yi - jia)
    assert idx.spread["cv"] == pytest.approx(np.std([jia, yi]) / np.mean([jia, yi]))
    comp = idx.district_components("510001").set_index(["service", "indicator"])
    assert comp.at[("clinic", "capacity"), "value"] == pytest.approx(8.0)
    assert comp.at[("clinic", "capacity"), "standard"] == 2.0
    assert comp["share"].sum() == pytest.approx(1.0)


def test_a_zero_counts_as_the_floor_and_a_missing_value_is_left_out():
    s = np.array([[0.0, 100.0], [np.nan, 64.0], [np.nan, np.nan]])
    assert geometric_mean(s, np.array([1.0, 1.0])).tolist()[:2] == pytest.approx([10.0, 64.0])
    assert geometric_mean(s, np.array([1.0, 1.0]), floor=4.0)[0] == pytest.approx(20.0)
    assert math.isnan(geometric_mean(s, np.array([1.0, 1.0]))[2])


# --- weights from the workspace YAML ------------------------------------------------------------------


def _tiny_copy(tmp_path: Path, index: dict | None = None, facilities: str | None = None) -> Path:
    d = tmp_path / "ws"
    shutil.copytree(TINY.parent, d)
    p = d / "workspace.yaml"
    raw = yaml.safe_load(p.read_text(encoding="utf-8"))
    if index is not None:
        raw["index"] = index
    if facilities is not None:
        (d / "facilities.csv").write_text(facilities, encoding="utf-8")
        raw["layers"]["facilities"]["fields"]["opened"] = "opened"
    p.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return p


def test_weights_from_the_yaml_change_the_index(tmp_path, ws):
    p = _tiny_copy(tmp_path, {"weights": {"school": 0, "clinic_time": 0, "clinic": {"weight": 3, "capacity": 1,
                                                                                    "coverage": 3}}})
    mine = load_workspace(p)
    assert [(i.column, i.share) for i in index_weights(mine.spec)] == [("clinic:coverage", 0.75),
                                                                        ("clinic:capacity", 0.25)]
    d = equalisation_index(mine).by_district.set_index("district_name")["index"]
    assert d["甲区"] == pytest.approx(_gm([(18.0, 3.0), (100.0, 1.0)]))
    assert d["甲区"] != pytest.approx(equalisation_index(ws).by_district["index"].iloc[0])
    # weights given in Python override the file's
    again = equalisation_index(mine, weights={"clinic": 1, "school": 1, "clinic_time": 1})
    assert again.by_district["index"].tolist() == pytest.approx(equalisation_index(ws).by_district["index"].tolist())
    # the floor from the file
    p2 = _tiny_copy(tmp_path / "f", {"floor": 10})
    d2 = equalisation_index(load_workspace(p2)).by_district.set_index("district_name")["index"]
    assert d2["甲区"] == pytest.approx(_gm([(18.0, 0.5), (100.0, 0.5), (10.0, 1.0), (26.0, 1.0)]))


@pytest.mark.parametrize(("index", "field", "code"), [
    ({"weights": {"library": 1}}, "index.weights.library", "spec_index_unknown_service"),
    ({"weights": {"school": {"capacity": 1}}}, "index.weights.school.capacity", "spec_index_no_norm"),
    ({"weights": {"clinic": 0, "school": 0, "clinic_time": 0}}, "index.weights", "spec_index_all_zero"),
    ({"weights": {"clinic": -1}}, "index.weights.clinic.weight", "spec_below_minimum"),
    ({"weights": {"clinic": "a lot"}}, "index.weights.clinic", "spec_not_mapping"),
    ({"floor": 0}, "index.floor", "spec_must_exceed"),
    ({"weight": {"clinic": 1}}, "index.weight", "spec_unknown_key"),
])
def test_a_bad_index_section_is_a_problem_naming_its_key(tmp_path, index, field, code):
    with pytest.raises(WorkspaceError) as err:
        load_workspace(_tiny_copy(tmp_path, index))
    assert [(p.field, p.code) for p in err.value.problems] == [(field, code)]
    assert all(p.text("zh") and p.fix_text("en") for p in err.value.problems)


def test_bad_weights_from_python_raise(ws):
    with pytest.raises(GisAppError) as e:
        equalisation_index(ws, weights={"library": 1})
    assert e.value.code == "index_unknown_service"
    with pytest.raises(GisAppError) as e:
        equalisation_index(ws, weights={"clinic": 0, "school": 0, "clinic_time": 0})
    assert e.value.code == "index_no_weight"


# --- sensitivity -----------------------------------------------------------------------------------------


def test_sensitivity_rank_shifts_on_a_constructed_case(ws, results):
    """甲区 has every clinic user covered, 乙区 none; school and clinic_time as in the fixture.

    Scores: 甲区 clinic 100 (capacity 100), school 0 -> 1, clinic_time 26;
            乙区 clinic 0 -> 1 (capacity 33.56), school 14.09, clinic_time 75.17.
    Configured weights: the clinic's capacity 0 (so clinic, school and clinic_time weigh 1 each).
    """
    clinic = dataclasses.replace(results["clinic"], covered=ws.grid.district == 0)
    res = {**results, "clinic": clinic}
    weights = {"clinic": {"capacity": 0}}
    s_b, t_b, cap_b = 100 * 21 / 149, 100 * 1120 / 1490, 100 * (1000 / 1490) / 2.0
    expected = {  # scenario -> (甲区, 乙区) index, written out
        "configured": (_gm([(100, 1), (1, 1), (26, 1)]), _gm([(1, 1), (s_b, 1), (t_b, 1)])),
        "equal": (_gm([(100, .5), (100, .5), (1, 1), (26, 1)]), _gm([(1, .5), (cap_b, .5), (s_b, 1), (t_b, 1)])),
        "double:clinic": (_gm([(100, 2), (1, 1), (26, 1)]), _gm([(1, 2), (s_b, 1), (t_b, 1)])),
        "drop:clinic": (_gm([(1, 1), (26, 1)]), _gm([(s_b, 1), (t_b, 1)])),
        "double:school": (_gm([(100, 1), (1, 2), (26, 1)]), _gm([(1, 1), (s_b, 2), (t_b, 1)])),
        "drop:school": (_gm([(100, 1), (26, 1)]), _gm([(1, 1), (t_b, 1)])),
        "double:clinic_time": (_gm([(100, 1), (1, 1), (26, 2)]), _gm([(1, 1), (s_b, 1), (t_b, 2)])),
        "drop:clinic_time": (_gm([(100, 1), (1, 1)]), _gm([(1, 1), (s_b, 1)])),
    }
    sens = sensitivity(ws, results=res, weights=weights)
    assert list(dict.fromkeys(sens["scenario"])) == list(expected)
    for key, (a, b) in expected.items():
        got = sens[sens["scenario"] == key].set_index("district_name")
        assert got["index"].tolist() == pytest.approx([a, b], rel=1e-12), key
        ranks = [1.0, 2.0] if a > b else [2.0, 1.0]
        assert got["rank"].tolist() == ranks, key
        assert got["shift"].tolist() == [ranks[0] - 1.0, ranks[1] - 2.0], key  # configured: 甲区 1, 乙区 2
    # by hand: 甲区 leads with the configured weights and loses the lead with equal weights, without
    # the clinic, with the school doubled and with clinic_time doubled (16.1 against 16.8)
    moved = {k for k, (a, b) in expected.items() if b > a}
    assert moved == {"equal", "drop:clinic", "double:school", "double:clinic_time"}
    table = sensitivity_table(sens)
    assert table["max_shift"].tolist() == [1.0, 1.0]
    assert table.columns.tolist()[:4] == ["district_id", "district_name", "设定权重", "等权重"]
    assert table.iloc[0, 2:-1].tolist() == [1.0, 2.0, 1.0, 2.0, 2.0, 1.0, 2.0, 1.0]


def test_sensitivity_in_english_labels_each_scenario(ws, results):
    sens = sensitivity(ws, results=results, lang="en")
    assert "Clinic weight doubled" in set(sens["label"]) and "Without School" in set(sens["label"])
    # the configured weights of the tiny fixture are the equal weights: no shift there
    assert sens[sens["scenario"] == "equal"]["shift"].tolist() == [0.0, 0.0]


# --- year by year -------------------------------------------------------------------------------------------


def test_index_by_year_uses_the_workspace_of_each_year(tmp_path):
    csv = TINY.parent.joinpath("facilities.csv").read_text(encoding="utf-8").splitlines()
    rows = [csv[0] + ",opened"] + [line + (",2022" if line.startswith("C2") else ",") for line in csv[1:]]
    mine = load_workspace(_tiny_copy(tmp_path, facilities="\n".join(rows) + "\n"))
    assert mine.years == (2022,)
    by = index_by_year(mine, [2025, 2020])
    assert by["year"].tolist() == [2020, 2020, 2025, 2025]
    for y in (2020, 2025):
        own = equalisation_index(at_year(mine, y)).by_district
        got = by[by["year"] == y].reset_index(drop=True)
        assert got["index"].tolist() == pytest.approx(own["index"].tolist())
    # 乙区's only clinic opened in 2022: its clinic coverage and index were lower in 2020
    b = by[by["district_name"] == "乙区"].set_index("year")
    assert b.at[2020, "clinic:coverage"] < b.at[2025, "clinic:coverage"]
    assert b.at[2020, "index"] < b.at[2025, "index"]
    assert by[by["year"] == 2025]["index"].tolist() == pytest.approx(equalisation_index(mine).by_district["index"].tolist())
