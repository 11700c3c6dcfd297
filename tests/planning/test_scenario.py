"""Scenarios: incremental edits equal a full recompute; saving is atomic and round-trips; comparison."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gisapp._errors import GisAppError
from gisapp.config.spec import Standard
from gisapp.metrics.service import run_service
from gisapp.metrics.tables import coverage_by_district
from gisapp.planning import scenario
from gisapp.planning.scenario import Edit, IncrementalService, Scenario
from tests.conftest import cell_lonlat as lonlat


def assert_same(inc: IncrementalService, ws, edits, service):
    r = inc.result()
    full = run_service(ws.with_facilities(scenario.apply_edits(ws, edits)), service)
    np.testing.assert_allclose(r.nearest_m, full.nearest_m, atol=1e-6)
    np.testing.assert_array_equal(r.covered, full.covered)
    np.testing.assert_allclose(np.nan_to_num(r.access_per_1000), np.nan_to_num(full.access_per_1000),
                               rtol=1e-9, atol=1e-9)
    np.testing.assert_array_equal(np.sort(r.facility_idx), np.sort(full.facility_idx))


def test_add_a_clinic_by_hand(tiny_ws):
    inc = IncrementalService(tiny_ws, "clinic")
    lon, lat = lonlat(tiny_ws, 2, 7)
    inc.apply(Edit("add", "C3", lon=lon, lat=lat, kind="village_clinic", name="新卫生室", capacity={"doctors": 2}))
    t = coverage_by_district(inc.workspace(), inc.result())
    # the new clinic covers 9 more cells of 10 people in district B
    assert t["covered"].tolist() == [90.0, 1170.0]
    g = tiny_ws.grid
    assert inc.result().access_per_1000[g.cell_index[2, 7]] == pytest.approx(2 / 90 * 1000)


def test_close_and_capacity(tiny_ws):
    inc = IncrementalService(tiny_ws, "clinic")
    inc.apply(Edit("close", "C2"))
    t = coverage_by_district(inc.workspace(), inc.result())
    assert t["covered"].tolist() == [90.0, 0.0]
    inc.apply(Edit("capacity", "C1", capacity={"doctors": 9}))
    g = tiny_ws.grid
    assert inc.result().access_per_1000[g.cell_index[2, 2]] == pytest.approx(9 / 90 * 1000)
    assert_same(inc, tiny_ws, inc.edits, "clinic")


EDIT = st.tuples(st.sampled_from(["add", "close", "move", "capacity"]), st.integers(0, 9), st.integers(0, 9),
                 st.integers(0, 20))


@settings(max_examples=25, deadline=None)
@given(st.lists(EDIT, min_size=1, max_size=6), st.sampled_from(["clinic", "clinic_time", "school"]))
def test_incremental_equals_full_recompute(tiny_ws, ops, service):
    inc = IncrementalService(tiny_ws, service)
    kinds = inc.svc.kinds
    ids = ["C1", "C2", "S1"]
    added = 0
    for op, r, c, v in ops:
        lon, lat = lonlat(tiny_ws, r, c)
        open_ids = [i for i in ids if not inc.facilities.loc[inc.facilities.facility_id == i, "closed"].all()]
        if op == "add":
            added += 1
            fid = f"N{added}"
            ids.append(fid)
            e = Edit("add", fid, lon=lon, lat=lat, kind=kinds[v % len(kinds)], capacity={"doctors": v, "seats": 10 * v})
        elif not open_ids:
            continue
        elif op == "close":
            e = Edit("close", open_ids[v % len(open_ids)])
        elif op == "move":
            e = Edit("move", open_ids[v % len(open_ids)], lon=lon, lat=lat)
        else:
            e = Edit("capacity", open_ids[v % len(open_ids)], capacity={"doctors": float(v)})
        inc.apply(e)
    assert_same(inc, tiny_ws, inc.edits, service)


def test_demo_edits_equal_full_recompute(demo_ws):
    inc = IncrementalService(demo_ws, "primary_school")
    f = demo_ws.facilities
    ids = f[f["kind"] == "primary_school"]["facility_id"].tolist()
    edits = [Edit("add", "NEW-1", lon=101.70, lat=26.55, kind="primary_school", capacity={"seats": 600}),
             Edit("close", ids[3]), Edit("capacity", ids[5], capacity={"seats": 999}),
             Edit("move", ids[7], lon=101.65, lat=26.60)]
    for e in edits:
        inc.apply(e)
    assert_same(inc, demo_ws, edits, "primary_school")


@pytest.mark.parametrize(("edit", "match"), [
    (Edit("close", "nope"), "Unknown facility 'nope'"),
    (Edit("add", "C1", lon=101.7, lat=26.5, kind="village_clinic"), "already used"),
    (Edit("add", "Z", kind="village_clinic"), "needs lon and lat"),
    (Edit("capacity", "C1", capacity={"gold": 1}), "Unknown capacity field 'gold'"),
    (Edit("capacity", "C1", capacity={"beds": -1}), "must be 0 or more"),
])
def test_bad_edits(tiny_ws, edit, match):
    with pytest.raises(GisAppError, match=match):
        scenario.apply_edits(tiny_ws, [edit])


def test_save_load_round_trip(tmp_path, tiny_ws):
    lon, lat = lonlat(tiny_ws, 5, 5)
    s = Scenario("新增卫生室 A", [Edit("add", "N1", lon=lon, lat=lat, kind="village_clinic", name="新卫生室",
                                       capacity={"doctors": 2.0}), Edit("close", "C2"),
                                  Edit("capacity", "C1", capacity={"doctors": 6.0})], workspace="tiny")
    p = scenario.save_scenario(tmp_path, s)
    back = scenario.load_scenario(p)
    assert back.name == s.name and back.edits == s.edits and back.workspace == "tiny"
    assert scenario.list_scenarios(tmp_path) == {"新增卫生室 A": p}


def test_failed_save_keeps_the_old_file(tmp_path, tiny_ws, monkeypatch):
    s = Scenario("plan", [Edit("close", "C2")])
    p = scenario.save_scenario(tmp_path, s)
    before = p.read_bytes()
    import geopandas as gpd

    calls = {"n": 0}
    real = gpd.GeoDataFrame.to_file

    def boom(self, *a, **k):
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError("disk full")
        return real(self, *a, **k)

    monkeypatch.setattr(gpd.GeoDataFrame, "to_file", boom)
    with pytest.raises(OSError, match="disk full"):
        scenario.save_scenario(tmp_path, Scenario("plan", [Edit("close", "C1")]))
    assert p.read_bytes() == before
    assert [q.name for q in tmp_path.iterdir()] == ["plan.gpkg"]


def test_compare_scenarios(tiny_ws):
    lon, lat = lonlat(tiny_ws, 2, 7)
    t = scenario.compare_scenarios(tiny_ws, "clinic", {
        "close C2": [Edit("close", "C2")],
        "add C3": [Edit("add", "C3", lon=lon, lat=lat, kind="village_clinic")]})
    assert t[("baseline", "covered")].tolist() == [90.0, 1080.0]
    assert t[("close C2", "covered")].tolist() == [90.0, 0.0]
    assert t[("add C3", "covered")].tolist() == [90.0, 1170.0]


@pytest.mark.parametrize(("edit", "code"), [
    (Edit("close", "nope"), "unknown_facility"),
    (Edit("add", "C1", lon=101.7, lat=26.5, kind="village_clinic"), "facility_id_used"),
    (Edit("add", "Z", kind="village_clinic"), "add_needs_position"),
    (Edit("move", "C1"), "move_needs_position"),
    (Edit("capacity", "C1", capacity={"gold": 1}), "unknown_capacity_field"),
    (Edit("capacity", "C1", capacity={"doctors": -1}), "negative_capacity_edit"),
    (Edit("demolish", "C1"), "unknown_edit"),  # type: ignore[arg-type]
])
def test_bad_edits_carry_codes_in_both_languages(tiny_ws, edit, code):
    with pytest.raises(GisAppError) as ei:
        scenario.apply_edits(tiny_ws, [edit])
    err = ei.value
    assert err.code == code
    assert edit.facility_id in err.text("zh") or code in ("unknown_capacity_field", "unknown_edit")
    assert err.text("zh") != err.text("en") == str(err)


def test_list_scenarios_skips_other_files_and_missing_folders(tmp_path):
    assert scenario.list_scenarios(tmp_path / "none") == {}
    b = scenario.save_scenario(tmp_path, Scenario("乙", [Edit("close", "C1")]))
    a = scenario.save_scenario(tmp_path, Scenario("甲", []))
    (tmp_path / "junk.gpkg").write_bytes(b"not a geopackage")
    (tmp_path / ".half.gpkg").write_bytes(b"")
    found = scenario.list_scenarios(tmp_path)
    assert found == {"乙": b, "甲": a}
    assert list(found) == sorted(found, key=lambda n: found[n].name)
    assert scenario.load_scenario(a).edits == []


def test_load_a_file_that_is_not_a_scenario(tmp_path):
    bad = tmp_path / "junk.gpkg"
    bad.write_bytes(b"nope")
    with pytest.raises(GisAppError, match="is not a scenario GeoPackage") as ei:
        scenario.load_scenario(bad)
    assert ei.value.code == "not_a_scenario"


def test_a_scenario_needs_a_name(tmp_path):
    with pytest.raises(GisAppError) as ei:
        scenario.save_scenario(tmp_path, Scenario(" ?? ", []))
    assert ei.value.code == "scenario_needs_name"
    assert list(tmp_path.iterdir()) == []


def test_compare_scenarios_at_another_standard_equals_run_service(tiny_ws):
    lon, lat = lonlat(tiny_ws, 2, 7)
    edits = {"close C2": [Edit("close", "C2")],
             "add C3": [Edit("add", "C3", lon=lon, lat=lat, kind="village_clinic")]}
    std = Standard(distance_m=250)
    t = scenario.compare_scenarios(tiny_ws, "clinic", edits, standard=std)
    base = coverage_by_district(tiny_ws, run_service(tiny_ws, "clinic", standard=std))
    assert t[("baseline", "covered")].tolist() == base["covered"].tolist()
    assert t[("baseline", "covered_pct")].tolist() == pytest.approx(base["covered_pct"].tolist())
    assert t[("", "population")].tolist() == base["population"].tolist()
    for name, ed in edits.items():
        w2 = tiny_ws.with_facilities(scenario.apply_edits(tiny_ws, ed))
        full = coverage_by_district(w2, run_service(w2, "clinic", standard=std))
        assert t[(name, "covered")].tolist() == full["covered"].tolist()
    # the standard matters: the service's own (150 m) covers fewer people
    own = scenario.compare_scenarios(tiny_ws, "clinic", edits)
    assert own[("baseline", "covered")].sum() < t[("baseline", "covered")].sum()
    # and the incremental service at that standard gives the same figures
    inc = IncrementalService(tiny_ws, "clinic", standard=std)
    for e in edits["add C3"]:
        inc.apply(e)
    assert coverage_by_district(inc.workspace(), inc.result())["covered"].tolist() == \
        t[("add C3", "covered")].tolist()


def test_fork_leaves_the_original_unchanged(tiny_ws):
    inc = IncrementalService(tiny_ws, "clinic")
    before = inc.result().covered.copy()
    other = inc.fork()
    other.apply(Edit("close", "C2"))
    np.testing.assert_array_equal(inc.result().covered, before)
    assert inc.edits == [] and len(other.edits) == 1
    assert_same(other, tiny_ws, other.edits, "clinic")


def test_flat_comparison_and_workbook(tiny_ws):
    edits = {"A": [Edit("close", "C2"), Edit("capacity", "C1", capacity={"doctors": 9.0})]}
    table = scenario.compare_scenarios(tiny_ws, "clinic", edits)
    flat = scenario.flat_comparison(table)
    assert flat.columns.tolist() == ["district_id", "district_name", "population", "baseline · covered",
                                     "baseline · covered_pct", "A · covered", "A · covered_pct"]
    xl = scenario.comparison_workbook(table, edits, service="clinic", lang="en")
    back = pd.read_excel(io.BytesIO(xl), sheet_name=None)
    assert list(back) == ["comparison", "edits", "service"]
    assert back["comparison"]["A · Covered (people)"].tolist() == pytest.approx(table[("A", "covered")].tolist())
    assert "Baseline · Covered (people)" in back["comparison"].columns
    assert back["edits"].columns.tolist() == ["Scenario", "No.", "Edit", "Facility", "Name", "Kind",
                                              "Longitude (WGS84, degrees)", "Latitude (WGS84, degrees)",
                                              "Capacity (per field)"]
    assert back["edits"]["Facility"].tolist() == ["C2", "C1"]
    assert back["edits"]["Edit"].tolist() == ["close", "capacity"]
    assert back["edits"]["Capacity (per field)"].fillna("").tolist() == ["", "9 doctors"]
    assert back["service"]["Service"].tolist() == ["clinic"]


def test_before_after(tiny_ws):
    before = coverage_by_district(tiny_ws, run_service(tiny_ws, "clinic"))
    w2 = tiny_ws.with_facilities(scenario.apply_edits(tiny_ws, [Edit("close", "C2")]))
    after = coverage_by_district(w2, run_service(w2, "clinic"))
    ba = scenario.before_after(before, after)
    assert ba["covered_delta"].tolist() == [0.0, -1080.0]
    assert ba["covered_pct_after"].tolist() == pytest.approx(after["covered_pct"].tolist())

