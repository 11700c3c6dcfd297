"""Suggested sites on a workspace: by hand on the tiny grid, and as scenario edits."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from gisapp._errors import GisAppError
from gisapp.metrics import service as analysis
from gisapp.planning import scenario as scenario
from gisapp.planning import suggest as planning
from tests.conftest import cell_lonlat as lonlat


def test_one_site_from_points_by_hand(tiny_ws):
    # candidates: the cell next to C1 (adds little) and an empty corner (adds 9 cells x 10 people)
    pts = pd.DataFrame([dict(zip(["lon", "lat"], lonlat(tiny_ws, 2, 3), strict=True)) | {"name": "near C1"},
                        dict(zip(["lon", "lat"], lonlat(tiny_ws, 8, 1), strict=True)) | {"name": "corner"}])
    s = planning.suggest(tiny_ws, "clinic", k=1, candidates="points", candidate_points=pts, method="exact")
    assert s.sites["name"].tolist() == ["corner"]
    assert s.sites["people_added"].tolist() == [90.0]
    assert s.baseline_covered == 1170.0 and s.total == 1990.0
    assert s.curve["people_covered"].tolist() == [1170.0, 1260.0]
    assert s.sites["district_id"].tolist() == ["510001"]


def test_suggested_sites_as_edits_give_the_promised_coverage(tiny_ws):
    s = planning.suggest(tiny_ws, "clinic", k=3, candidates="grid", spacing_m=100, method="exact")
    assert s.optimal
    edits = planning.to_edits(s, "village_clinic")
    ws2 = tiny_ws.with_facilities(scenario.apply_edits(tiny_ws, edits))
    cov = analysis.summary(ws2, analysis.run_service(ws2, "clinic"))["covered"]
    assert cov == pytest.approx(s.sites["people_covered"].iloc[-1])
    # each of 3 sites adds at most 9 cells x 10 people
    assert 0 < s.sites["people_added"].max() <= 90.0


def test_target_share(tiny_ws):
    s = planning.suggest(tiny_ws, "clinic", target_share=70.0, candidates="grid", spacing_m=100)
    assert s.curve["share_pct"].iloc[-1] >= 70.0
    assert s.curve["share_pct"].iloc[-2] < 70.0


def test_greedy_close_to_exact_on_grid(tiny_ws):
    e = planning.suggest(tiny_ws, "school", k=4, candidates="grid", spacing_m=100, method="exact")
    g = planning.suggest(tiny_ws, "school", k=4, candidates="grid", spacing_m=100, method="greedy")
    assert g.curve["people_covered"].iloc[-1] >= (1 - 1 / np.e) * e.curve["people_covered"].iloc[-1]
    assert g.curve["people_covered"].iloc[-1] <= e.curve["people_covered"].iloc[-1] + 1e-9


def test_demo_settlements(demo_ws):
    s = planning.suggest(demo_ws, "primary_school", k=5, candidates="settlements")
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
        planning.suggest(tiny_ws, "clinic", **kwargs)
