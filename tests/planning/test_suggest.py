"""Suggested sites on a workspace: by hand on the tiny grid, and as scenario edits."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from gisapp._errors import GisAppError
from gisapp.metrics.service import run_service
from gisapp.metrics.tables import summary
from gisapp.planning import scenario, suggest
from tests.conftest import cell_lonlat as lonlat


def test_one_site_from_points_by_hand(tiny_ws):
    # candidates: the cell next to C1 (adds little) and an empty corner (adds 9 cells x 10 people)
    pts = pd.DataFrame([dict(zip(["lon", "lat"], lonlat(tiny_ws, 2, 3), strict=True)) | {"name": "near C1"},
                        dict(zip(["lon", "lat"], lonlat(tiny_ws, 8, 1), strict=True)) | {"name": "corner"}])
    s = suggest.suggest(tiny_ws, "clinic", k=1, candidates="points", candidate_points=pts, method="exact")
    assert s.sites["name"].tolist() == ["corner"]
    assert s.sites["people_added"].tolist() == [90.0]
    assert s.baseline_covered == 1170.0 and s.total == 1990.0
    assert s.curve["people_covered"].tolist() == [1170.0, 1260.0]
    assert s.sites["district_id"].tolist() == ["510001"]


def test_suggested_sites_as_edits_give_the_promised_coverage(tiny_ws):
    s = suggest.suggest(tiny_ws, "clinic", k=3, candidates="grid", spacing_m=100, method="exact")
    assert s.optimal
    edits = suggest.to_edits(s, "village_clinic")
    ws2 = tiny_ws.with_facilities(scenario.apply_edits(tiny_ws, edits))
    cov = summary(ws2, run_service(ws2, "clinic"))["covered"]
    assert cov == pytest.approx(s.sites["people_covered"].iloc[-1])
    # each of 3 sites adds at most 9 cells x 10 people
    assert 0 < s.sites["people_added"].max() <= 90.0


def test_target_share(tiny_ws):
    s = suggest.suggest(tiny_ws, "clinic", target_share=70.0, candidates="grid", spacing_m=100)
    assert s.curve["share_pct"].iloc[-1] >= 70.0
    assert s.curve["share_pct"].iloc[-2] < 70.0


def test_greedy_close_to_exact_on_grid(tiny_ws):
    e = suggest.suggest(tiny_ws, "school", k=4, candidates="grid", spacing_m=100, method="exact")
    g = suggest.suggest(tiny_ws, "school", k=4, candidates="grid", spacing_m=100, method="greedy")
    assert g.curve["people_covered"].iloc[-1] >= (1 - 1 / np.e) * e.curve["people_covered"].iloc[-1]
    assert g.curve["people_covered"].iloc[-1] <= e.curve["people_covered"].iloc[-1] + 1e-9


def test_demo_settlements(demo_ws):
    s = suggest.suggest(demo_ws, "primary_school", k=5, candidates="settlements")
    assert len(s.sites) == 5
    assert s.sites["people_added"].is_monotonic_decreasing
    assert set(s.sites["district_name"]) <= {"东区", "西区", "仁和区", "米易县", "盐边县"}


@pytest.mark.parametrize(("kwargs", "match"), [
    ({}, "Give either k"),
    ({"k": 2, "target_share": 50}, "Give either k"),
    ({"k": 1, "candidates": "settlements"}, "no `settlements` layer"),
    ({"k": 1, "candidates": "points", "candidate_points": pd.DataFrame({"x": [1]})}, "lack column"),
])
def test_errors(tiny_ws, kwargs, match):
    with pytest.raises(GisAppError, match=match):
        suggest.suggest(tiny_ws, "clinic", **kwargs)


@pytest.mark.parametrize(("kwargs", "code"), [
    ({"k": 0}, "bad_site_count"),
    ({"target_share": 120.0}, "bad_target_share"),
    ({"k": 1, "capacity": -5.0}, "bad_site_capacity"),
    ({"k": 1, "spacing_m": -100.0}, "bad_spacing"),
    ({"k": 3, "candidates": "points", "candidate_points": pd.DataFrame({"lon": [102.0], "lat": [26.5]})},
     "too_many_sites"),
    ({"k": 1, "candidates": "settlements"}, "no_settlements_layer"),
    ({"k": 1, "candidates": "points", "candidate_points": pd.DataFrame({"lon": ["x"], "lat": [1.0]})},
     "candidate_coordinates"),
])
def test_user_errors_carry_codes(tiny_ws, kwargs, code):
    with pytest.raises(GisAppError) as ei:
        suggest.suggest(tiny_ws, "clinic", **kwargs)
    assert ei.value.code == code
    assert ei.value.text("zh") != ei.value.text("en")


def test_read_candidate_points_from_a_csv(tiny_ws, tmp_path):
    a, b = lonlat(tiny_ws, 2, 3), lonlat(tiny_ws, 8, 1)
    text = f" LON ,Lat,name\n{a[0]},{a[1]},卫生室甲\n{b[0]},{b[1]},角落\n"
    pts = suggest.read_candidate_points(text.encode("utf-8-sig"))
    assert pts.columns.tolist() == ["lon", "lat", "name"]
    assert pts["lon"].tolist() == pytest.approx([a[0], b[0]])
    assert pts["name"].tolist() == ["卫生室甲", "角落"]
    # the same from a GBK file on disk
    f = tmp_path / "points.csv"
    f.write_bytes(text.encode("gb18030"))
    pd.testing.assert_frame_equal(suggest.read_candidate_points(f), pts)
    # a point without a name is named by the place it is in (here, without settlements: its coordinates)
    no_names = suggest.read_candidate_points(f"lon,lat\n{a[0]},{a[1]}\n".encode())
    assert no_names["name"].tolist() == [""]
    unnamed = suggest.suggest(tiny_ws, "clinic", k=1, candidates="points", candidate_points=no_names)
    assert unnamed.sites["name"].str.startswith("东经").all() and unnamed.named_by == "coordinates"
    s = suggest.suggest(tiny_ws, "clinic", k=1, candidates="points", candidate_points=pts, method="exact")
    assert s.sites["name"].tolist() == ["角落"]


@pytest.mark.parametrize(("data", "code"), [
    (b"x,y\n1,2\n", "candidate_columns"),
    (b"lon,lat\n", "no_candidate_points"),
    (b"lon,lat\n101.7,\n", "candidate_coordinates"),
    (b"\xff\xfe\x00\x00\x81", "candidate_csv_unreadable"),
])
def test_read_candidate_points_errors(data, code):
    with pytest.raises(GisAppError) as ei:
        suggest.read_candidate_points(data)
    assert ei.value.code == code

