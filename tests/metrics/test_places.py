"""Places: every populated cell named by its village or community, within its township and district.

The tiny workspace (10 x 10 cells of 100 m; district 甲区 = columns 0-4, 乙区 = columns 5-9) is
copied with a settlements layer: 甲村 at cell (0, 0) and 甲社区 at cell (9, 4) in 甲镇 of 甲区,
乙村 at cell (0, 9) in 乙镇 of 乙区, and the seat of 乙镇 at cell (5, 5) (a township row, not a
place).  A cell of 甲区 belongs to 甲村 when it is nearer to (0, 0) than to (9, 4), every cell
of 乙区 to 乙村 (the seat is not a place, and places never cross a district border).
"""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest
from pyproj import Transformer

from gisapp.metrics import places
from gisapp.metrics.gaps import gap_areas, gap_place_export
from gisapp.metrics.people import whole
from gisapp.metrics.service import run_service
from gisapp.metrics.tables import coverage_by_district
from gisapp.workspace import load_workspace
from tests.conftest import DEMO, ROOT, TINY

X0, Y1, RES = 500_000.0, 2_940_000.0, 100.0
SETTLEMENTS = [("甲村", "village", "甲镇", 0, 0), ("甲社区", "community", "甲镇", 9, 4),
               ("乙村", "village", "乙镇", 0, 9), ("乙镇", "township", "乙镇", 5, 5)]


def _centre(r: int, c: int) -> tuple[float, float]:
    return X0 + (c + 0.5) * RES, Y1 - (r + 0.5) * RES


@pytest.fixture(scope="module")
def ws_places(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    d = tmp_path_factory.mktemp("tiny_places")
    for f in TINY.parent.iterdir():
        shutil.copy(f, d / f.name)
    tr = Transformer.from_crs(4543, 4326, always_xy=True)
    lines = ["name,level,township,lon,lat"]
    for name, level, tw, r, c in SETTLEMENTS:
        lon, lat = tr.transform(*_centre(r, c))
        lines.append(f"{name},{level},{tw},{lon:.9f},{lat:.9f}")
    (d / "settlements.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    text = (d / "workspace.yaml").read_text(encoding="utf-8").replace("demand_groups:", """  settlements:
    path: settlements.csv
    crs: WGS84
    fields: {name: name, lon: lon, lat: lat, township: township, level: level}
    provenance: {status: synthetic, en: test fixture}
demand_groups:""", 1)
    (d / "workspace.yaml").write_text(text, encoding="utf-8")
    return load_workspace(d / "workspace.yaml")


def _expected_place(r: int, c: int) -> str:
    if c >= 5:
        return "乙村"
    return "甲村" if r * r + c * c < (r - 9) ** 2 + (c - 4) ** 2 else "甲社区"


def test_whole_people_sum_to_the_rounded_total() -> None:
    rng = np.random.default_rng(7)
    for _ in range(50):
        v = rng.exponential(3.0, size=rng.integers(1, 40))
        w = whole(v)
        assert int(w.sum()) == round(float(v.sum()))
        assert np.all(np.abs(w - v) < 1.0)


def test_each_cell_belongs_to_the_nearest_place_of_its_own_district(ws_places) -> None:  # type: ignore[no-untyped-def]
    idx = places.place_index(ws_places)
    assert sorted(idx.places["place"]) == ["乙村", "甲村", "甲社区"]  # the township seat is not a place
    g = ws_places.grid
    got = idx.places["place"].to_numpy()[idx.cell_place]
    want = np.array([_expected_place(int(r), int(c)) for r, c in zip(g.row, g.col, strict=True)])
    assert (got == want).all()
    tw = idx.townships.set_index("township")
    # the seat of 乙镇 is its label position; 甲镇 has no seat row: the mean of its places
    lon, lat = Transformer.from_crs(4543, 4326, always_xy=True).transform(*_centre(5, 5))
    assert tw.loc["乙镇", "lon"] == pytest.approx(lon) and tw.loc["乙镇", "lat"] == pytest.approx(lat)
    assert tw.loc["甲镇", "district_name"] == "甲区"


def test_gap_places_fold_every_uncovered_person_into_its_place(ws_places) -> None:  # type: ignore[no-untyped-def]
    res = run_service(ws_places, "clinic")
    gp = places.gap_places(ws_places, res)
    g = ws_places.grid
    unc = res.eligible & ~res.covered & (res.demand > 0)
    assert unc.any() and (~unc).any()
    want = pd.Series(res.demand[unc], index=[_expected_place(int(r), int(c))
                                             for r, c in zip(g.row[unc], g.col[unc], strict=True)])
    want = want.groupby(level=0).sum()
    assert set(gp["place"]) == set(want.index)  # one row per place, no fragments listed alone
    assert not gp.duplicated(["district_name", "township", "place"]).any()
    assert gp["people"].dtype.kind == "i"
    assert int(gp["people"].sum()) == round(float(res.demand[unc].sum()))
    for row in gp.itertuples():
        assert abs(row.people - want[row.place]) < 1.0
    assert list(gp["people"]) == sorted(gp["people"], reverse=True)
    assert list(gp["rank"]) == list(range(1, len(gp) + 1))
    # distance and time: people-weighted means over the place's uncovered cells
    for row in gp.itertuples():
        m = unc & (places.place_index(ws_places).places["place"].to_numpy()[places.place_index(ws_places).cell_place]
                   == row.place)
        d = np.average(res.nearest_m[m], weights=res.demand[m])
        assert row.distance_m == pytest.approx(d)
        # a walking distance standard: route metres walked at the standard's speed
        minutes = np.average(res.travel_cost[m], weights=res.demand[m]) / (res.service.standard.speed * 1000 / 60)
        assert row.travel_min == pytest.approx(minutes)
        assert row.facility_name in ("甲卫生院", "乙卫生室")
        assert row.district_name == ("乙区" if row.place == "乙村" else "甲区")
        assert row.township == ("乙镇" if row.place == "乙村" else "甲镇")


def test_gap_place_export_is_headed_in_the_language(ws_places) -> None:  # type: ignore[no-untyped-def]
    gp = places.gap_places(ws_places, run_service(ws_places, "clinic"))
    zh, en = gap_place_export(gp, "zh"), gap_place_export(gp, "en")
    assert "超出标准人口（人）" in zh.columns and "People beyond the standard (people)" in en.columns
    assert "west" not in zh.columns and zh["超出标准人口（人）"].sum() == gp["people"].sum()


def test_coverage_by_place_adds_up_to_the_districts(ws_places) -> None:  # type: ignore[no-untyped-def]
    res = run_service(ws_places, "clinic")
    dist = coverage_by_district(ws_places, res).set_index("district_name")
    for level in ("township", "village"):
        tab = places.coverage_by_place(ws_places, res, level)
        assert (tab["population"] == tab["covered"] + tab["uncovered"]).all()
        sums = tab.groupby("district_name")[["population", "uncovered"]].sum()
        for name in ("甲区", "乙区"):
            assert abs(sums.loc[name, "population"] - dist.loc[name, "population"]) <= 1
            assert abs(sums.loc[name, "uncovered"] - dist.loc[name, "uncovered"]) <= 1
    vil = places.coverage_by_place(ws_places, res, "village").set_index("place")
    assert vil.loc["乙村", "township"] == "乙镇"


def test_gap_areas_are_named_by_their_place(ws_places) -> None:  # type: ignore[no-untyped-def]
    areas = gap_areas(ws_places, run_service(ws_places, "clinic"))
    assert set(areas["place"]) <= {"甲村", "甲社区", "乙村"} and (areas["place"] != "").all()
    assert int(areas["people"].sum()) == round(float(areas["population"].sum()))


def test_place_label_and_search(ws_places) -> None:  # type: ignore[no-untyped-def]
    x, y = _centre(8, 3)
    assert places.place_label(ws_places, [x], [y], "zh") == ["甲区 · 甲镇 · 甲社区"]
    assert places.place_label(ws_places, [x], [y], "en") == ["甲社区, 甲镇, 甲区"]
    hits = places.search_places(ws_places, "乙", "zh")
    # exact names first, then names starting with the query; districts before townships before villages
    assert list(hits["name"][:3]) == ["乙区", "乙镇", "乙村"]
    assert list(hits["kind"][:3]) == ["district", "township", "village"]
    lon, lat = Transformer.from_crs(4543, 4326, always_xy=True).transform(*_centre(0, 9))
    row = hits[hits["name"] == "乙村"].iloc[0]
    assert row["west"] < lon < row["east"] and row["south"] < lat < row["north"]
    assert places.search_places(ws_places, "c2", "en")["name"].tolist() == ["乙卫生室"]  # by facility id
    assert places.search_places(ws_places, "  ", "zh").empty


def test_without_settlements_there_are_no_places(tiny_ws) -> None:  # type: ignore[no-untyped-def]
    assert not places.has_places(tiny_ws)
    gp = places.gap_places(tiny_ws, run_service(tiny_ws, "clinic"))
    assert (gp["place"] == "").all() and set(gp["district_name"]) <= {"甲区", "乙区"}


def test_demo_gaps_are_real_named_places() -> None:
    ws = load_workspace(DEMO)
    gp = places.gap_places(ws, run_service(ws, "primary_care"))
    villages = pd.read_csv(ROOT / "data" / "reference" / "villages_nbs2023.csv", dtype=str)
    townships = pd.read_csv(ROOT / "data" / "reference" / "townships_nbs2023.csv", dtype=str)
    assert set(gp["township"]) <= set(townships["name"])
    # village names are the NBS names without 村民委员会 / 居民委员会
    full = set(villages["name"])
    assert all(any(f.startswith(p) for f in full) for p in gp["place"])
    assert not gp.duplicated(["district_id", "township", "place"]).any()
    assert gp["people"].iloc[0] >= 100  # the first row is a place worth a meeting, not a 5-person fragment
