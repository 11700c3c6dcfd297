"""AppTest tests of places in the app: gaps by place, the drill-down page, search, the map's focus.

A copy of the tiny fixture with a settlements layer (two townships, four villages and
communities) gives named places in a few seconds; every figure shown is compared with the
engine (:mod:`gisapp.metrics.places`) run on the same workspace.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd
import pytest
import yaml
from streamlit.testing.v1 import AppTest

from gisapp.i18n import fmt_number, t
from gisapp.metrics.places import coverage_by_place, gap_places, search_places
from gisapp.metrics.service import run_service
from gisapp.ui import keys, state
from gisapp.workspace import load_workspace
from tests.conftest import DEMO, ROOT, TINY

from .test_app import _metric, _ok

APP = str(ROOT / "streamlit_app.py")
TIMEOUT_S = 300

SETTLEMENTS = (
    "name,township,level,lon,lat\n"
    "一镇,一镇,township,102.0025,26.5660\n"
    "东村,一镇,village,102.0010,26.5690\n"
    "西村,一镇,village,102.0040,26.5625\n"
    "二镇,二镇,township,102.0080,26.5660\n"
    "南村,二镇,village,102.0080,26.5620\n"
    "北社区,二镇,community,102.0085,26.5690\n"
)


@pytest.fixture
def named(tmp_path: Path) -> Path:
    """The tiny workspace with a settlements layer (names, townships, levels)."""
    raw = yaml.safe_load(TINY.read_text(encoding="utf-8"))
    for lay in raw["layers"].values():
        lay["path"] = str(TINY.parent / lay["path"])
    (tmp_path / "settlements.csv").write_text(SETTLEMENTS, encoding="utf-8")
    raw["layers"]["settlements"] = {
        "path": str(tmp_path / "settlements.csv"), "crs": "WGS84",
        "fields": {"name": "name", "lon": "lon", "lat": "lat", "township": "township", "level": "level"},
        "provenance": {"status": "synthetic", "en": "fixture", "zh": "测试数据"}}
    ws = tmp_path / "workspace.yaml"
    ws.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return ws


def _app(monkeypatch: pytest.MonkeyPatch, workspace: Path, page: str | None = None) -> AppTest:
    monkeypatch.setenv("GISAPP_WORKSPACE", str(workspace))
    at = AppTest.from_file(APP, default_timeout=TIMEOUT_S)
    at.run()
    _ok(at)
    if page:
        at.switch_page(page).run()
        _ok(at)
    return at


def test_the_gaps_page_lists_places_with_the_engine_figures(monkeypatch: pytest.MonkeyPatch, named: Path) -> None:
    at = _app(monkeypatch, named, "gisapp/ui/pages/gaps.py")
    ws = load_workspace(named)
    exp = gap_places(ws, run_service(ws, "clinic"))
    assert len(exp) >= 2 and set(exp["place"]) <= {"东村", "西村", "南村", "北社区"}
    assert _metric(at, t("gaps.places_count", "zh")) == fmt_number(len(exp), "zh")
    assert _metric(at, t("gaps.people_beyond", "zh")) == f"{int(exp['people'].sum()):,}"
    table = at.dataframe[0].value
    assert list(table[t("col.place", "zh")]) == list(exp["place"])
    assert list(table[t("col.township", "zh")]) == list(exp["township"])
    assert list(table[t("col.people_beyond", "zh")]) == [int(v) for v in exp["people"]]  # whole people
    assert list(table[t("col.nearest_facility", "zh")]) == list(exp["facility_name"])
    # the CSV is by place, headed in Chinese
    csv = at.get("download_button")[0]
    assert csv.label == t("gaps.download_places_csv", "zh")


def test_the_drill_down_shows_townships_then_villages(monkeypatch: pytest.MonkeyPatch, named: Path) -> None:
    at = _app(monkeypatch, named, "gisapp/ui/pages/places.py")
    ws = load_workspace(named)
    res = run_service(ws, "clinic")
    tw = coverage_by_place(ws, res, "township")
    vil = coverage_by_place(ws, res, "village")
    at.selectbox(key=keys.PLACES_DISTRICT).set_value("乙区").run()
    _ok(at)
    table = at.dataframe[0].value
    mine = tw[tw["district_name"] == "乙区"]
    assert list(table[t("col.township", "zh")]) == list(mine["township"])
    assert list(table[t("word.covered", "zh")]) == [int(v) for v in mine["covered"]]
    assert at.selectbox(key=keys.PLACES_TOWNSHIP).value == "二镇"
    villages = at.dataframe[1].value
    exp = vil[(vil["district_name"] == "乙区") & (vil["township"] == "二镇")]
    assert sorted(villages[t("col.place", "zh")]) == sorted(exp["place"]) == ["北社区", "南村"]
    shown = villages.set_index(t("col.place", "zh"))
    for _, r in exp.iterrows():
        assert shown.loc[r["place"], t("word.population", "zh")] == r["population"]
        assert shown.loc[r["place"], t("word.uncovered", "zh")] == r["uncovered"]
        assert shown.loc[r["place"], t("word.covered_pct", "zh")] == pytest.approx(r["covered_pct"])


def test_searching_a_village_opens_its_township_and_focuses_the_map(monkeypatch: pytest.MonkeyPatch,
                                                                     named: Path) -> None:
    at = _app(monkeypatch, named, "gisapp/ui/pages/places.py")
    at.text_input(key=keys.PLACES_SEARCH).input("南村").run()
    _ok(at)
    assert at.selectbox(key=keys.PLACES_DISTRICT).value == "乙区"
    assert at.selectbox(key=keys.PLACES_TOWNSHIP).value == "二镇"
    hit = search_places(load_workspace(named), "南村", "zh").iloc[0]
    focus = state.Focus(**at.session_state[keys.FOCUS])
    assert focus.west <= hit["lon"] <= focus.east and focus.south <= hit["lat"] <= focus.north
    assert (focus.lat, focus.lon) == (hit["lat"], hit["lon"]) and focus.label.startswith("南村")
    assert not focus.service  # a search hit holds for every service
    # the map page shows where it is zoomed to, for any service
    at.switch_page("gisapp/ui/pages/map.py").run()
    at.selectbox(key=keys.SERVICE).set_value("school").run()
    _ok(at)
    assert any(c.value == t("map.focused_on", "zh", label=focus.label) for c in at.caption)
    # the map page's own search: a facility, found by its id
    at.text_input(key=keys.SEARCH).input("S1").run()
    _ok(at)
    assert state.Focus(**at.session_state[keys.FOCUS]).label.startswith("乙小学")
    at.button(key=keys.SEARCH_CLEAR).click().run()
    _ok(at)
    assert keys.FOCUS not in at.session_state
    assert not any(c.value.startswith(t("map.focused_on", "zh", label="")) for c in at.caption)


def test_a_gap_focus_holds_for_its_service_only(monkeypatch: pytest.MonkeyPatch, named: Path) -> None:
    at = _app(monkeypatch, named)
    value = float(at.slider(key=keys.STANDARD).value)
    f = state.Focus(102.0, 26.56, 102.01, 26.57, lat=26.565, lon=102.005, label="东村：12 人超出标准",
                    service="clinic", value=value, travel="straight_line")
    at.session_state[keys.FOCUS] = dataclasses.asdict(f)
    at.switch_page("gisapp/ui/pages/map.py").run()
    _ok(at)
    assert any(c.value == t("map.focused_on", "zh", label=f.label) for c in at.caption)
    at.selectbox(key=keys.SERVICE).set_value("school").run()
    _ok(at)
    assert not any(f.label in c.value for c in at.caption)


def test_without_settlements_the_pages_say_so(monkeypatch: pytest.MonkeyPatch) -> None:
    at = _app(monkeypatch, TINY, "gisapp/ui/pages/places.py")
    assert [i.value for i in at.info] == [t("find.no_places", "zh")]
    at.switch_page("gisapp/ui/pages/gaps.py").run()
    _ok(at)
    assert t("find.no_places", "zh") in [i.value for i in at.info]
    ws = load_workspace(TINY)
    exp = gap_places(ws, run_service(ws, "clinic"))  # one row per district
    assert _metric(at, t("gaps.districts_count", "zh")) == fmt_number(len(exp), "zh")


@pytest.mark.slow
def test_the_demo_gap_list_is_by_named_place(monkeypatch: pytest.MonkeyPatch, demo_ws) -> None:  # type: ignore[no-untyped-def]
    if not (ROOT / "data" / "panzhihua" / "population_100m.tif").exists():
        pytest.skip("demo data not built (python data/build_demo.py)")
    at = _app(monkeypatch, DEMO)
    at.selectbox(key=keys.SERVICE).set_value("hospital_beds").run()
    at.switch_page("gisapp/ui/pages/gaps.py").run()
    _ok(at)
    exp = gap_places(demo_ws, run_service(demo_ws, "hospital_beds"))
    table: pd.DataFrame = at.dataframe[0].value
    assert (table[t("col.place", "zh")] != "").all()  # every row a named village or community
    assert list(table[t("col.place", "zh")])[:10] == list(exp["place"])[:10]
    assert table[t("col.people_beyond", "zh")].is_monotonic_decreasing
    assert _metric(at, t("gaps.people_beyond", "zh")) == f"{int(exp['people'].sum()):,}"


def test_suggested_sites_are_shown_with_the_place_they_are_in(monkeypatch: pytest.MonkeyPatch, named: Path,
                                                              tmp_path: Path) -> None:
    import json

    from gisapp.planning import suggest
    from gisapp.ui import planning_state as ps

    monkeypatch.setenv(ps.USER_DIR_ENV, str(tmp_path / "user"))
    at = _app(monkeypatch, named, "gisapp/ui/pages/planning.py")
    at.session_state[ps.SUG_PARAMS] = json.dumps({"candidates": "grid", "k": 2, "method": "auto"}, sort_keys=True)
    at.run()
    _ok(at)
    sug = suggest.suggest(load_workspace(named), "clinic", k=2, candidates="grid", lang="zh")
    table = next(d.value for d in at.dataframe if t("sug.site", "zh") in d.value.columns)
    names = list(table[t("sug.site", "zh")])
    assert names == list(sug.sites["name"])
    assert all(any(p in n for p in ("东村", "西村", "南村", "北社区")) for n in names), names
