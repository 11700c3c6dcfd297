"""Scenarios: incremental edits equal a full recompute; saving is atomic and round-trips."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gisapp._errors import GisAppError
from gisapp.metrics import service as analysis
from gisapp.planning import scenario as scenario
from gisapp.planning.scenario import Edit, IncrementalService, Scenario
from tests.conftest import cell_lonlat as lonlat


def assert_same(inc: IncrementalService, ws, edits, service):
    r = inc.result()
    full = analysis.run_service(ws.with_facilities(scenario.apply_edits(ws, edits)), service)
    np.testing.assert_allclose(r.nearest_m, full.nearest_m, atol=1e-6)
    np.testing.assert_array_equal(r.covered, full.covered)
    np.testing.assert_allclose(np.nan_to_num(r.access_per_1000), np.nan_to_num(full.access_per_1000),
                               rtol=1e-9, atol=1e-9)
    np.testing.assert_array_equal(np.sort(r.facility_idx), np.sort(full.facility_idx))


def test_add_a_clinic_by_hand(tiny_ws):
    inc = IncrementalService(tiny_ws, "clinic")
    lon, lat = lonlat(tiny_ws, 2, 7)
    inc.apply(Edit("add", "C3", lon=lon, lat=lat, kind="village_clinic", name="新卫生室", capacity={"doctors": 2}))
    t = analysis.coverage_by_district(inc.workspace(), inc.result())
    # the new clinic covers 9 more cells of 10 people in district B
    assert t["covered"].tolist() == [90.0, 1170.0]
    g = tiny_ws.grid
    assert inc.result().access_per_1000[g.cell_index[2, 7]] == pytest.approx(2 / 90 * 1000)


def test_close_and_capacity(tiny_ws):
    inc = IncrementalService(tiny_ws, "clinic")
    inc.apply(Edit("close", "C2"))
    t = analysis.coverage_by_district(inc.workspace(), inc.result())
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
    assert scenario.list_scenarios(tmp_path) == ["新增卫生室 A"]


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
