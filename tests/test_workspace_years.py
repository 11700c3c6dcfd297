"""Years (issue 14): facilities open in a year, the population of a year, bad years named with their fix."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import rasterio
import yaml

from gisapp._errors import WorkspaceError
from gisapp.io.workspace_file import read_workspace
from gisapp.metrics import tables
from gisapp.metrics.service import run_service
from gisapp.workspace import at_year, load_workspace

from .conftest import TINY

#: (id, opened, closed) of the hand-made fixture; blank = always open / never closed
YEARS = {"C1": ("", ""), "C2": ("2021", ""), "S1": ("", "2023"), "V3": ("2019", "2022")}
#: the facilities open in each year, by hand from YEARS (open from `opened` up to the year before `closed`)
OPEN_IN = {2018: {"C1", "S1"}, 2019: {"C1", "S1", "V3"}, 2020: {"C1", "S1", "V3"},
           2021: {"C1", "C2", "S1", "V3"}, 2022: {"C1", "C2", "S1"}, 2023: {"C1", "C2"}, 2030: {"C1", "C2"}}


def _edit(d: Path, fn) -> Path:
    p = d / "workspace.yaml"
    raw = yaml.safe_load(p.read_text(encoding="utf-8"))
    fn(raw)
    p.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return p


def _with_years(raw: dict) -> None:
    raw["layers"]["facilities"]["fields"] |= {"opened": "opened", "closed": "closed"}


@pytest.fixture
def ws_dir(tmp_path: Path) -> Path:
    """The tiny workspace with a fourth facility and opening / closing years."""
    d = tmp_path / "ws"
    shutil.copytree(TINY.parent, d)
    fac = pd.read_csv(d / "facilities.csv", dtype=str, keep_default_na=False)
    v3 = fac[fac["id"] == "C2"].assign(id="V3", name="丙卫生室", lon="102.0035")
    fac = pd.concat([fac, v3], ignore_index=True)
    fac["opened"] = fac["id"].map(lambda i: YEARS[i][0])
    fac["closed"] = fac["id"].map(lambda i: YEARS[i][1])
    fac.to_csv(d / "facilities.csv", index=False)
    return d


def _write_pop(d: Path, name: str, factor: np.ndarray | float) -> np.ndarray:
    with rasterio.open(d / "population.tif") as src:
        vals, profile = src.read(1).astype("float64"), src.profile
    new = vals * factor
    profile.update(dtype="float64")
    with rasterio.open(d / name, "w", **profile) as dst:
        dst.write(new, 1)
    return new


def test_choosing_a_year_keeps_exactly_the_facilities_open(ws_dir: Path) -> None:
    ws = load_workspace(_edit(ws_dir, _with_years))
    assert ws.years == (2019, 2021, 2022, 2023)  # no population years: the facilities' years
    assert ws.year == 2023 and at_year(ws, 2023) is ws  # it opens on its latest year
    assert set(ws.facilities["facility_id"]) == OPEN_IN[2023]
    for year, expected in OPEN_IN.items():
        w = at_year(ws, year)
        assert set(w.facilities["facility_id"]) == expected, year
        assert w.year == year and w.grid is ws.grid  # the population is not given per year
    # the same year gives the same workspace; a year's workspace starts again from the loaded one
    assert at_year(ws, 2021) is at_year(ws, 2021)
    assert at_year(at_year(ws, 2020), 2023) is at_year(ws, 2023)
    # results follow: the clinic service counts the clinics open that year
    assert run_service(at_year(ws, 2020), "clinic").facility_idx.size == 2  # C1, V3
    assert run_service(at_year(ws, 2022), "clinic").facility_idx.size == 2  # C1, C2
    assert run_service(at_year(ws, 2021), "clinic").facility_idx.size == 3


def test_population_per_year(ws_dir: Path) -> None:
    with rasterio.open(ws_dir / "population.tif") as src:
        base = src.read(1).astype("float64")
    ramp = np.linspace(0.5, 2.0, base.shape[1])[None, :]  # the east grows, the west shrinks
    pop25 = _write_pop(ws_dir, "pop2025.tif", ramp)

    def per_year(raw: dict) -> None:
        _with_years(raw)
        raw["layers"]["population"]["years"] = {2020: "population.tif", 2025: "pop2025.tif"}
    ws = load_workspace(_edit(ws_dir, per_year))
    assert ws.years == (2020, 2025)  # the population's years (the facilities' years are not listed)
    w20, w25 = at_year(ws, 2020), at_year(ws, 2025)
    assert w20.grid.pop.sum() == pytest.approx(base.sum()) == pytest.approx(1990)
    assert w25.grid.pop.sum() == pytest.approx(pop25.sum())
    # the same cells every year, so maps of the change compare cell by cell
    assert np.array_equal(w25.grid.row, ws.grid.row) and np.array_equal(w25.grid.district, ws.grid.district)
    # district totals of 2025, by hand from the raster: the district of each cell is the same as in 2020
    g = ws.grid
    for d in range(len(ws.districts)):
        cells = g.district == d
        assert w25.grid.pop[cells].sum() == pytest.approx(pop25[g.row[cells], g.col[cells]].sum())
    # a year between two given ones uses the latest before it; a year before the first, the first
    assert at_year(ws, 2023).grid.pop.sum() == pytest.approx(base.sum())
    assert at_year(ws, 2030).grid.pop.sum() == pytest.approx(pop25.sum())
    assert at_year(ws, 2010).grid.pop.sum() == pytest.approx(base.sum())
    # and the facilities are still those open in the year
    assert set(w20.facilities["facility_id"]) == OPEN_IN[2020]
    # demand and tables of a year count that year's people
    res = run_service(w25, "school")
    assert res.demand.sum() == pytest.approx(0.1 * pop25.sum())
    assert tables.coverage_by_district(w25, res)["population"].sum() == pytest.approx(0.1 * pop25.sum())


@pytest.mark.parametrize(("value", "shown"), [("2020年", "2020年"), ("abc", "abc"), ("1850", "1850"),
                                              ("2021.5", "2021.5")])
def test_bad_year_is_a_problem_with_file_field_and_fix(ws_dir: Path, value: str, shown: str) -> None:
    fac = pd.read_csv(ws_dir / "facilities.csv", dtype=str, keep_default_na=False)
    fac.loc[fac["id"] == "C2", "opened"] = value
    fac.to_csv(ws_dir / "facilities.csv", index=False)
    with pytest.raises(WorkspaceError) as ei:
        load_workspace(_edit(ws_dir, _with_years))
    [p] = [p for p in ei.value.problems if p.code == "facility_bad_year"]
    assert p.file_name == "facilities.csv" and p.field == "fields.opened (opened)"
    assert shown in p.text("zh") and "C2" in p.text("zh") and "C2" in p.text("en")
    assert "1900" in p.fix_text("zh") and "2200" in p.fix_text("en") and "留空" in p.fix_text("zh")


def test_closing_before_opening_is_a_problem(ws_dir: Path) -> None:
    fac = pd.read_csv(ws_dir / "facilities.csv", dtype=str, keep_default_na=False)
    fac.loc[fac["id"] == "V3", "closed"] = "2019"  # opened 2019: never open
    fac.to_csv(ws_dir / "facilities.csv", index=False)
    with pytest.raises(WorkspaceError) as ei:
        load_workspace(_edit(ws_dir, _with_years))
    [p] = ei.value.problems
    assert p.code == "facility_closed_before_opened" and p.field == "fields.closed (closed)"
    assert "V3" in p.text("en") and "晚于" in p.fix_text("zh")


def test_bad_population_years_in_the_yaml(ws_dir: Path) -> None:
    def bad(raw: dict) -> None:
        raw["layers"]["population"]["years"] = {"twenty": "population.tif", 1800: "population.tif",
                                                2025: "missing.tif"}
    with pytest.raises(WorkspaceError) as ei:
        read_workspace(_edit(ws_dir, bad))
    found = {(p.field, p.code) for p in ei.value.problems}
    assert ("layers.population.years.twenty", "spec_not_integer") in found
    assert ("layers.population.years.1800", "spec_below_minimum") in found

    def missing(raw: dict) -> None:
        raw["layers"]["population"]["years"] = {2020: "population.tif", 2025: "missing.tif"}
    with pytest.raises(WorkspaceError) as ei:
        read_workspace(_edit(ws_dir, missing))
    [p] = ei.value.problems
    assert (p.field, p.code) == ("layers.population.years.2025", "spec_layer_file_missing")


def test_workspace_without_years(tiny_ws) -> None:
    assert tiny_ws.years == ()
    w = at_year(tiny_ws, 2020)
    assert len(w.facilities) == len(tiny_ws.facilities) and w.grid is tiny_ws.grid


def test_norm_base_counts_the_norm_per_1000_of_another_group(ws_dir: Path) -> None:
    """Seats per 1,000 of ALL residents while the demand is the children (as childcare places)."""
    def places(raw: dict) -> None:
        raw["services"]["school_places"] = {"kinds": ["primary_school"], "demand": "children",
                                            "standard": {"distance_m": 250}, "capacity": "seats",
                                            "norm_per_1000": 100, "norm_base": "total"}
    ws = load_workspace(_edit(ws_dir, places))
    res = run_service(ws, "school_places")
    cap = tables.capacity_by_district(ws, res)
    total = np.bincount(ws.grid.district, weights=ws.grid.pop, minlength=2)
    assert cap["population"].to_numpy() == pytest.approx(0.1 * total)  # the demand: children
    assert cap["norm_population"].to_numpy() == pytest.approx(total)  # the norm's base: everyone
    assert cap["capacity_per_1000"].to_numpy() == pytest.approx([0.0, 300_000.0 / total[1]])
    assert cap["need"].to_numpy() == pytest.approx(100 * total / 1000.0)
    assert tables.summary(ws, res)["capacity_per_1000"] == pytest.approx(300_000.0 / total.sum())


def test_norm_base_problems(ws_dir: Path) -> None:
    def bad(raw: dict) -> None:
        raw["services"]["school"]["norm_base"] = "aliens"  # unknown, and the service has no norm
    with pytest.raises(WorkspaceError) as ei:
        read_workspace(_edit(ws_dir, bad))
    found = {(p.field, p.code) for p in ei.value.problems}
    assert found == {("services.school.norm_base", "spec_unknown_demand"),
                     ("services.school.norm_base", "spec_norm_base_needs_norm")}


def test_new_services_run_on_the_demo_in_each_year(demo_ws) -> None:
    """The 一老一小 services: coverage 0-100 % and a capacity row per district, in 2020 and 2025."""
    assert demo_ws.years == (2020, 2025)
    per_1000 = {}
    for year in demo_ws.years:
        w = at_year(demo_ws, year)
        for name in ("elderly_station", "elderly_day_care", "elderly_beds", "childcare", "childcare_places"):
            res = run_service(w, name)
            cov = tables.coverage_by_district(w, res)
            assert cov["covered_pct"].between(0, 100).all(), (year, name)
            assert 0 < cov["covered"].sum() < cov["population"].sum(), (year, name)
            cap = tables.capacity_by_district(w, res)
            assert len(cap) == 5 and cap["district_id"].tolist() == demo_ws.districts["district_id"].tolist()
            if name == "childcare_places":
                per_1000[year] = tables.summary(w, res)["capacity_per_1000"]
                # places per 1,000 of all residents: the base is the whole population, not the under-3s
                assert cap["norm_population"].sum() == pytest.approx(w.grid.pop.sum())
    # childcare places grew 2020 -> 2025 and stay below the 4.5 target
    assert per_1000[2020] < per_1000[2025] < 4.5
    assert at_year(demo_ws, 2025).grid.pop.sum() == 1_221_696  # synthetic 2025 totals (tests/test_demo_data.py)


def test_coverage_change_and_change_cells_on_a_fixture(ws_dir: Path) -> None:
    """The change table is the two years' coverage; each cell's class follows its coverage in both years."""
    from gisapp.metrics.years import CHANGE, change_cells, coverage_change

    ws = load_workspace(_edit(ws_dir, _with_years))
    change = coverage_change(ws, 2020, 2023, services=["clinic", "school"])
    for year, suffix in ((2020, "from"), (2023, "to")):
        w = at_year(ws, year)
        for s in ("clinic", "school"):
            cov = tables.coverage_by_district(w, run_service(w, s))
            rows = change[(change["service"] == s) & (change["district_id"] != "")]
            np.testing.assert_allclose(rows[f"covered_pct_{suffix}"], cov["covered_pct"], equal_nan=True)
            np.testing.assert_allclose(rows[f"uncovered_{suffix}"], cov["uncovered"])
    school = change[(change["service"] == "school") & (change["district_id"] == "")].iloc[0]
    assert (school["facilities_from"], school["facilities_to"]) == (1, 0)  # S1 closed in 2023
    assert school["covered_pct_to"] == 0 and school["change_pts"] == -school["covered_pct_from"]
    a, b = run_service(at_year(ws, 2020), "clinic"), run_service(at_year(ws, 2023), "clinic")
    cls = change_cells(a, b)
    people = b.demand > 0
    assert (cls[people & b.covered & ~a.covered] == CHANGE["gained"]).all()
    assert (cls[people & ~b.covered & a.covered] == CHANGE["lost"]).all()
    assert (cls == CHANGE["gained"]).any() and (cls == CHANGE["lost"]).any()  # C2 opened, V3 closed
