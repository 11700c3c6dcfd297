"""People served within capacity (gisapp.metrics.served) on the tiny workspace, both travel modes."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gisapp.metrics.served import SERVED_COLUMNS, people_per_unit, served_within_capacity
from gisapp.metrics.service import run_service
from gisapp.planning.scenario import Edit, IncrementalService, apply_edits
from tests.conftest import cell_lonlat as lonlat

MODES = ["straight_line", "terrain"]


def served(ws, service, travel, facilities=None):
    w = ws if facilities is None else ws.with_facilities(facilities)
    return served_within_capacity(w, run_service(w, service, travel=travel))


@pytest.mark.parametrize("travel", MODES)
@pytest.mark.parametrize("service", ["clinic", "school"])
def test_districts_add_up_to_the_total(tiny_ws, service, travel):
    r = served(tiny_ws, service, travel)
    assert r.applicable and list(r.by_district.columns) == SERVED_COLUMNS
    d = r.by_district
    assert d["served"].sum() == pytest.approx(r.served)
    assert d["population"].sum() == pytest.approx(r.population)
    assert d["capacity_people"].sum() == pytest.approx(r.capacity_people)
    assert r.facilities["served"].sum() == pytest.approx(r.served)  # each person served once
    assert (d["served"] <= d["population"] + 1e-9).all()
    assert (r.facilities["served"] <= r.facilities["capacity_people"] + 1e-9).all()
    assert r.share_pct == pytest.approx(100 * r.served / r.population)


def test_a_hand_computed_case(tiny_ws):
    # clinic, 150 m straight line, 2 doctors per 1,000: one doctor serves 500 people.
    # C2 (1 doctor: 500 people) has 1,080 people within 150 m (its own cell 1,000,
    # 8 neighbours of 10) and goes first; its first ring, its own cell, holds more than 500:
    # it serves half of that cell.  C1 (4 doctors, 2,000 people) then serves all 90 people of
    # its 9 cells in district A.
    r = served(tiny_ws, "clinic", "straight_line")
    assert r.people_per_unit == 500.0
    assert r.facilities.set_index("facility_id")["served"].to_dict() == {"C1": 90.0, "C2": 500.0}
    assert r.by_district["served"].tolist() == [90.0, 500.0]
    assert r.by_district["capacity_people"].tolist() == [2000.0, 500.0]
    assert r.served == 590.0 and r.population == 1990.0
    g = tiny_ws.grid
    assert r.coverage is not None and r.coverage.covered[g.cell_index[7, 7]] == 500.0
    # in terrain mode (2 min walked at 6 km/h) C1 reaches 13 cells: 130 people
    t = served(tiny_ws, "clinic", "terrain")
    assert t.by_district["served"].tolist() == [130.0, 500.0]
    assert [n.key for n in r.notices] == ["served.note_metres"] and t.notices == ()


def test_a_facility_without_capacity_serves_nobody(tiny_ws):
    fac = apply_edits(tiny_ws, [Edit("capacity", "C2", capacity={"doctors": 0})])
    for travel in MODES:
        r = served(tiny_ws, "clinic", travel, fac)
        f = r.facilities.set_index("facility_id")
        assert f.loc["C2", "served"] == 0.0 and f.loc["C2", "capacity_people"] == 0.0
        assert r.coverage is not None
        col = list(f.index).index("C2")
        assert r.coverage.allocation.toarray()[:, col].sum() == 0.0
        assert r.by_district["served"].tolist()[1] == 0.0  # C2's district: nobody else reaches it


@settings(max_examples=20, deadline=None)
@given(st.lists(st.floats(0, 3), min_size=2, max_size=2), st.sampled_from(MODES), st.integers(0, 2))
def test_doubling_capacity_never_lowers_people_served(tiny_ws, doctors, travel, which):
    edits = [Edit("capacity", fid, capacity={"doctors": v}) for fid, v in zip(["C1", "C2"], doctors, strict=True)]
    before = served(tiny_ws, "clinic", travel, apply_edits(tiny_ws, edits))
    more = doctors.copy()
    if which == 2:  # every facility doubled
        more = [2 * v for v in more]
    else:
        more[which] *= 2
    bigger = [Edit("capacity", fid, capacity={"doctors": v}) for fid, v in zip(["C1", "C2"], more, strict=True)]
    after = served(tiny_ws, "clinic", travel, apply_edits(tiny_ws, bigger))
    assert after.served >= before.served - 1e-9
    assert (after.by_district["served"].sum()) == pytest.approx(after.served)


def test_services_without_a_conversion_say_why(tiny_ws):
    r = served(tiny_ws, "clinic_time", "straight_line")  # no capacity field
    assert not r.applicable and r.reason is not None and r.reason.key == "served.none_no_capacity"
    assert r.by_district.empty and list(r.by_district.columns) == SERVED_COLUMNS
    assert r.texts("zh") != r.texts("en") and len(r.texts("en")) == 1
    # doctors without a norm per 1,000: no way to turn doctors into people
    svc = dataclasses.replace(tiny_ws.spec.services["clinic"], norm_per_1000=None)
    res = dataclasses.replace(run_service(tiny_ws, "clinic"), service=svc)
    r2 = served_within_capacity(tiny_ws, res)
    assert not r2.applicable and r2.reason is not None and r2.reason.key == "served.none_no_norm"
    assert "doctors" in r2.texts("en")[0] and "医生" in r2.texts("zh")[0]


def test_the_conversion_is_told(tiny_ws):
    svc = tiny_ws.spec.services["clinic"]
    per, note = people_per_unit(dataclasses.replace(svc, norm_per_1000=2.77))
    assert per == pytest.approx(1000 / 2.77)
    assert "361.01" in note.text("en") and "2.77" in note.text("zh")
    assert people_per_unit(dataclasses.replace(svc, capacity="seats", norm_per_1000=None))[0] == 1.0
    assert np.isnan(people_per_unit(dataclasses.replace(svc, capacity="beds", norm_per_1000=None))[0])
    # a norm per 1,000 residents for a service of the children (10 % of the residents): 2 per 1,000
    # residents = one unit per 500 residents, of whom 50 are children
    kids = dataclasses.replace(svc, demand="children", norm_base="total")
    groups = {**tiny_ws.spec.demand_groups}
    if "total" not in groups:
        from gisapp.config.spec import DemandGroup
        groups["total"] = DemandGroup(name="total", share=1.0)
    per, note = people_per_unit(kids, groups)
    assert per == pytest.approx(50.0)
    assert note.key == "served.conv_norm_base" and "500" in note.text("en") and "50" in note.text("zh")


def test_a_scenario_gives_what_a_full_recompute_gives(tiny_ws):
    lon, lat = lonlat(tiny_ws, 5, 5)
    edits = [Edit("add", "N1", lon=lon, lat=lat, kind="village_clinic", capacity={"doctors": 1}),
             Edit("close", "C1")]
    for travel in MODES:
        inc = IncrementalService(tiny_ws, "clinic", travel=travel)
        for e in edits:
            inc.apply(e)
        a = served_within_capacity(inc.workspace(), inc.result())
        b = served(tiny_ws, "clinic", travel, apply_edits(tiny_ws, edits))
        assert a.by_district["served"].tolist() == pytest.approx(b.by_district["served"].tolist(), abs=1e-9)
        assert a.facilities["facility_id"].tolist() == ["C2", "N1"]
