"""AppTest tests of the Streamlit app: every page renders, shown figures equal the engine's, uploads.

The app reads its workspace from ``$GISAPP_WORKSPACE``; these tests point it at the tiny
fixture (fast) and at the Panzhihua demo (skipped when the demo data is not built).
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from streamlit.testing.v1 import AppTest

from gisapp.config.spec import Standard
from gisapp.i18n import CATALOGUES, fmt_number, fmt_pct, t
from gisapp.metrics.consortia import consortia_summary
from gisapp.metrics.gaps import gap_areas
from gisapp.metrics.people import whole
from gisapp.metrics.places import gap_places
from gisapp.metrics.service import run_service
from gisapp.metrics.tables import coverage_by_district, summary
from gisapp.ui import keys
from gisapp.workspace import load_workspace
from tests.conftest import DEMO, ROOT, TINY

APP = str(ROOT / "streamlit_app.py")
PAGES = ["gisapp/ui/pages/overview.py", "gisapp/ui/pages/map.py", "gisapp/ui/pages/gaps.py",
         "gisapp/ui/pages/places.py", "gisapp/ui/pages/consortia.py", "gisapp/ui/pages/data.py"]
TIMEOUT_S = 300


def _app(monkeypatch: pytest.MonkeyPatch, workspace: Path) -> AppTest:
    monkeypatch.setenv("GISAPP_WORKSPACE", str(workspace))
    at = AppTest.from_file(APP, default_timeout=TIMEOUT_S)
    at.run()
    _ok(at)
    return at


def _ok(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def _metric(at: AppTest, label: str) -> str:
    found = [m.value for m in at.metric if m.label == label or m.label.startswith(label + " (")]
    assert found, f"no metric {label!r} among {[m.label for m in at.metric]}"
    return found[0]


def _demo_available() -> bool:
    return (ROOT / "data" / "panzhihua" / "population_100m.tif").exists()


# --- tiny fixture -------------------------------------------------------------------------------


def test_every_page_renders_on_the_tiny_workspace(monkeypatch: pytest.MonkeyPatch) -> None:
    at = _app(monkeypatch, TINY)
    assert at.title[0].value == "诊所"
    for page in PAGES[1:]:
        at.switch_page(page).run()
        _ok(at)
        assert at.title, page


def test_overview_metrics_equal_the_engine_after_changing_the_standard(monkeypatch: pytest.MonkeyPatch) -> None:
    at = _app(monkeypatch, TINY)
    at.selectbox(key=keys.SERVICE).set_value("school").run()
    _ok(at)
    assert at.slider(key=keys.STANDARD).value == 250.0  # the service's own standard
    at.slider(key=keys.STANDARD).set_value(400.0).run()
    _ok(at)
    ws = load_workspace(TINY)
    s = summary(ws, run_service(ws, "school", standard=Standard(distance_m=400.0)))
    assert _metric(at, t("word.covered", "zh")) == f"{round(s['covered']):,}"
    assert _metric(at, t("word.uncovered", "zh")) == f"{round(s['uncovered']):,}"
    assert _metric(at, t("word.covered_pct", "zh")) == fmt_pct(s["covered_pct"], "zh")
    assert _metric(at, t("metric.capacity_per_1000", "zh")) == fmt_number(s["capacity_per_1000"], "zh", digits=2)
    # the district table shows the engine's numbers too (the first table is the equalisation index)
    table = next(d.value for d in at.dataframe if d.value.columns[0] == t("ov.col.district", "zh"))
    dist = coverage_by_district(ws, run_service(ws, "school", standard=Standard(distance_m=400.0)))
    shown = table.set_index(t("ov.col.district", "zh"))[t("ov.col.covered", "zh")]
    for name, covered in zip(dist["district_name"], whole(dist["covered"].to_numpy(float)), strict=True):
        assert shown[name] == covered  # whole people


def test_switching_service_resets_the_standard_to_its_default(monkeypatch: pytest.MonkeyPatch) -> None:
    at = _app(monkeypatch, TINY)
    at.slider(key=keys.STANDARD).set_value(500.0).run()
    at.selectbox(key=keys.SERVICE).set_value("clinic_time").run()
    _ok(at)
    assert at.slider(key=keys.STANDARD).value == pytest.approx(3.3)


def test_language_switch_translates_labels_and_numbers(monkeypatch: pytest.MonkeyPatch) -> None:
    at = _app(monkeypatch, TINY)
    assert any(m.label == "覆盖人口" for m in at.metric)
    at.radio(key=keys.LANG).set_value("en").run()
    _ok(at)
    assert at.title[0].value == "Clinic"
    assert any(m.label == "Covered" for m in at.metric)
    assert "Coverage by district" in [h.value for h in at.subheader]
    for page in PAGES[1:]:
        at.switch_page(page).run()
        _ok(at)
    assert at.title[0].value == "Data"


def test_the_sidebar_choices_survive_a_page_change_that_drops_widget_state(monkeypatch: pytest.MonkeyPatch) -> None:
    """A page change (``st.switch_page`` from the gaps page, a link) can drop the state of keyed widgets.

    The browser then draws every sidebar widget at its default: the first service.  Each choice
    is kept under a plain session key too and written back (tests/ui/test_browser.py drives the
    real button on the demo).
    """
    at = _app(monkeypatch, TINY)
    at.selectbox(key=keys.SERVICE).set_value("school").run()
    at.slider(key=keys.STANDARD).set_value(400.0).run()
    at.radio(key=keys.TRAVEL).set_value("terrain").run()
    at.radio(key=keys.LANG).set_value("en").run()
    _ok(at)
    # what a page change does to widgets without kept state: each drawn at its default again
    at.session_state[keys.SERVICE] = "clinic"
    at.session_state[keys.STANDARD] = 150.0
    at.session_state[keys.TRAVEL] = "straight_line"
    at.session_state[keys.LANG] = "zh"
    at.switch_page("gisapp/ui/pages/map.py").run()
    _ok(at)
    assert at.selectbox(key=keys.SERVICE).value == "school"
    assert at.slider(key=keys.STANDARD).value == 400.0
    assert at.radio(key=keys.TRAVEL).value == "terrain"
    assert at.radio(key=keys.LANG).value == "en"
    assert at.title[0].value.startswith("Map · School")
    # a change made after that is kept as well
    at.selectbox(key=keys.SERVICE).set_value("clinic").run()
    at.session_state[keys.SERVICE] = "school"
    at.switch_page("gisapp/ui/pages/gaps.py").run()
    _ok(at)
    assert at.selectbox(key=keys.SERVICE).value == "clinic"
    assert at.slider(key=keys.STANDARD).value == 150.0  # the new service's own standard


def test_gaps_and_consortia_pages_show_the_engine_values(monkeypatch: pytest.MonkeyPatch) -> None:
    at = _app(monkeypatch, TINY)
    ws = load_workspace(TINY)
    gaps = gap_areas(ws, run_service(ws, "clinic"), min_people=0)
    at.switch_page("gisapp/ui/pages/gaps.py").run()
    _ok(at)
    # the tiny workspace has no settlements: one row per district, whole people
    places = gap_places(ws, run_service(ws, "clinic"))
    assert _metric(at, t("gaps.districts_count", "zh")) == fmt_number(len(places), "zh")
    assert _metric(at, t("gaps.people_beyond", "zh")) == f"{int(places['people'].sum()):,}"
    assert int(places["people"].sum()) == round(float(gaps["population"].sum()))
    assert len(at.get("download_button")) == 2
    at.switch_page("gisapp/ui/pages/consortia.py").run()
    _ok(at)
    summ = consortia_summary(ws)
    health = summ[summ["sector"] == "health"]
    assert _metric(at, t("cons.count", "zh")) == fmt_number(len(health), "zh")
    assert _metric(at, t("cons.beyond", "zh")) == fmt_number(float(health["beyond_referral"].sum()), "zh")


# --- uploads ------------------------------------------------------------------------------------

GOOD_CSV = (
    "编号,名称,类型,经度,纬度,医生数\n"
    "N1,新卫生院,乡镇卫生院,102.002509247,26.567867877,5\n"
    "N2,新卫生室,村卫生室,102.007527448,26.563354931,1\n"
    "N3,新小学,小学,102.007527742,26.567867700,0\n"
    "N4,新卫生室二,village_clinic,102.0030,26.5640,2\n"
)
BAD_CSV = (
    "id,name,kind,lon,lat,doctors\n"
    "B1,坏卫生院,township_health_centre,abc,26.567867877,5\n"
    "B1,坏卫生室,village_clinic,102.007527448,26.563354931,-1\n"
)


def _to_data_page(at: AppTest) -> AppTest:
    at.switch_page("gisapp/ui/pages/data.py").run()
    _ok(at)
    return at


def test_a_bad_upload_shows_every_problem_and_keeps_the_previous_data(monkeypatch: pytest.MonkeyPatch) -> None:
    at = _to_data_page(_app(monkeypatch, TINY))
    before = _metric(at, t("data.facilities", "zh"))
    at.file_uploader(key=keys.UP_FAC_FILE).set_value(("bad.csv", BAD_CSV.encode("utf-8"), "text/csv"))
    at.run()
    _ok(at)  # mapping is shown, nothing applied yet
    at.button(key=keys.UP_FAC_APPLY).click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.error, "the failed upload must show an error"
    assert t("data.upload_failed", "zh", n=1).split("（")[0] in at.error[0].value
    problems = at.dataframe[-1].value
    assert any("坐标" in str(m) for m in problems[t("prob.message", "zh")])  # shown in Chinese
    assert keys.UPLOADS not in at.session_state or not at.session_state[keys.UPLOADS]
    # the workspace in use is unchanged, on this page and on the overview
    assert _metric(at, t("data.facilities", "zh")) == before
    at.switch_page("gisapp/ui/pages/overview.py").run()
    _ok(at)
    ws = load_workspace(TINY)
    s = summary(ws, run_service(ws, "clinic"))
    assert _metric(at, t("word.covered", "zh")) == f"{round(s['covered']):,}"


def test_an_unreadable_upload_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    at = _to_data_page(_app(monkeypatch, TINY))
    at.file_uploader(key=keys.UP_FAC_FILE).set_value(("broken.gpkg", b"not a geopackage", "application/octet-stream"))
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.error
    assert _metric(at, t("data.facilities", "zh")) == "3"


def test_a_good_upload_with_chinese_columns_and_kind_labels_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    at = _to_data_page(_app(monkeypatch, TINY))
    at.file_uploader(key=keys.UP_FAC_FILE).set_value(("mine.csv", GOOD_CSV.encode("utf-8"), "text/csv"))
    at.run()
    _ok(at)
    # the column mapping was guessed from the Chinese headers
    assert at.selectbox(key=keys.UP_FAC_FIELD + "lon").value == "经度"
    assert at.selectbox(key=keys.UP_FAC_FIELD + "doctors").value == "医生数"
    # the file has no beds or seats column: the user is told that they count as 0
    told = [i.value for i in at.info if t("cap.beds", "zh") in i.value]
    assert told and t("cap.seats", "zh") in told[0] and t("cap.doctors", "zh") not in told[0]
    at.button(key=keys.UP_FAC_APPLY).click().run()
    _ok(at)
    assert _metric(at, t("data.facilities", "zh")) == "4"
    assert at.session_state[keys.UPLOADS]
    # the overview now computes on the upload
    at.switch_page("gisapp/ui/pages/overview.py").run()
    _ok(at)
    assert _metric(at, t("metric.capacity_per_1000", "zh")) != "—"
    # and the reset button brings the workspace's own data back
    at.switch_page("gisapp/ui/pages/data.py").run()
    at.button(key=keys.UP_RESET).click().run()
    _ok(at)
    assert _metric(at, t("data.facilities", "zh")) == "3"


def test_a_population_upload_without_crs_needs_a_coordinate_system(monkeypatch: pytest.MonkeyPatch) -> None:
    import numpy as np
    import rasterio
    from rasterio.transform import from_origin

    buf = io.BytesIO()
    with rasterio.MemoryFile() as mem:
        with mem.open(driver="GTiff", width=4, height=4, count=1, dtype="float32",
                      transform=from_origin(102.0, 26.57, 0.002, 0.002)) as dst:
            dst.write(np.full((1, 4, 4), 10.0, dtype="float32"))
        buf.write(mem.read())
    at = _to_data_page(_app(monkeypatch, TINY))
    at.file_uploader(key=keys.UP_POP_FILE).set_value(("pop.tif", buf.getvalue(), "image/tiff"))
    at.run()
    at.button(key=keys.UP_POP_APPLY).click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.error  # no CRS in the file and "as in the file" chosen
    assert _metric(at, t("data.population_total", "zh")) == fmt_number(load_workspace(TINY).grid.pop.sum(), "zh")
    at.selectbox(key=keys.UP_POP_CRS).set_value("WGS84").run()
    at.button(key=keys.UP_POP_APPLY).click().run()
    _ok(at)
    assert at.session_state[keys.UPLOADS]


# --- the demo -----------------------------------------------------------------------------------


@pytest.mark.slow
def test_every_page_renders_on_the_demo_and_metrics_equal_the_engine(monkeypatch: pytest.MonkeyPatch,
                                                                     demo_ws) -> None:
    if not _demo_available():
        pytest.skip("demo data not built (python data/build_demo.py)")
    at = _app(monkeypatch, DEMO)
    service = next(iter(demo_ws.spec.services))
    s = summary(demo_ws, run_service(demo_ws, service))
    assert _metric(at, t("word.covered", "zh")) == f"{round(s['covered']):,}"
    assert _metric(at, t("word.uncovered", "zh")) == f"{round(s['uncovered']):,}"
    for page in PAGES[1:]:
        at.switch_page(page).run()
        _ok(at)
    # another service and standard, in English
    at.radio(key=keys.LANG).set_value("en").run()
    at.switch_page("gisapp/ui/pages/overview.py").run()
    at.selectbox(key=keys.SERVICE).set_value("kindergarten").run()
    at.slider(key=keys.STANDARD).set_value(500.0).run()
    _ok(at)
    s = summary(demo_ws, run_service(demo_ws, "kindergarten",
                                                       standard=Standard(distance_m=500.0)))
    assert _metric(at, "Covered") == f"{round(s['covered']):,}"
    assert _metric(at, "Covered share") == fmt_pct(s["covered_pct"], "en")
    # the district table (the equalisation index's table comes first on the overview, issue 14)
    col = t("ov.col.district", "en")
    tables = [d.value for d in at.dataframe if col in d.value.columns and len(d.value) == len(demo_ws.districts) + 1]
    assert tables, [list(d.value.columns) for d in at.dataframe]
    table = tables[0]
    assert list(table[col])[:-1] == list(demo_ws.districts["district_name"])
    assert isinstance(table, pd.DataFrame)


def test_a_geojson_upload_in_gcj02_is_converted_and_used(monkeypatch: pytest.MonkeyPatch) -> None:
    import geopandas as gpd
    from shapely.geometry import Point

    from gisapp.grid.coords import wgs84_to_gcj02

    tiny = load_workspace(TINY).facilities
    lon, lat = wgs84_to_gcj02(tiny["lon"].to_numpy(), tiny["lat"].to_numpy())
    gdf = gpd.GeoDataFrame({"code": ["G1", "G2", "G3"], "title": ["甲", "乙", "丙"],
                            "type": ["乡镇卫生院", "Village clinic", "primary_school"], "医生": [3, 1, 0]},
                           geometry=[Point(x, y) for x, y in zip(lon, lat, strict=True)], crs=4326)
    at = _to_data_page(_app(monkeypatch, TINY))
    at.file_uploader(key=keys.UP_FAC_FILE).set_value(("gcj.geojson", gdf.to_json().encode("utf-8"),
                                                      "application/geo+json"))
    at.run()
    _ok(at)
    at.selectbox(key=keys.UP_FAC_CRS).set_value("GCJ02")
    at.selectbox(key=keys.UP_FAC_FIELD + "id").set_value("code")
    at.selectbox(key=keys.UP_FAC_FIELD + "name").set_value("title")
    at.selectbox(key=keys.UP_FAC_FIELD + "kind").set_value("type")
    at.selectbox(key=keys.UP_FAC_FIELD + "doctors").set_value("医生")
    at.run()
    at.button(key=keys.UP_FAC_APPLY).click().run()
    _ok(at)
    assert at.session_state[keys.UPLOADS]
    # converted back to WGS84: the same positions as the fixture, within a metre
    ws = load_workspace(TINY)
    from gisapp.ui import state

    used = state.load_ws(str(TINY), at.session_state[keys.UPLOADS])
    assert list(used.facilities["kind"]) == ["township_health_centre", "village_clinic", "primary_school"]
    np.testing.assert_allclose(used.facilities["x"], ws.facilities["x"], atol=1.0)
    np.testing.assert_allclose(used.facilities["doctors"], [3, 1, 0])


def _broken_workspace_app(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, *, districts: str) -> AppTest:
    """Run the app on the tiny workspace with a missing facilities file (and ``districts`` from TINY's folder)."""
    bad = tmp_path / "workspace.yaml"
    bad.write_text((TINY.read_text(encoding="utf-8")
                    .replace("path: facilities.csv", f"path: {TINY.parent / 'missing.csv'}")
                    .replace("path: population.tif", f"path: {TINY.parent / 'population.tif'}")
                    .replace("path: districts.geojson", f"path: {TINY.parent / districts}")),
                   encoding="utf-8")
    monkeypatch.setenv("GISAPP_WORKSPACE", str(bad))
    at = AppTest.from_file(APP, default_timeout=TIMEOUT_S)
    at.run()
    return at


def test_a_broken_workspace_shows_its_problems_instead_of_crashing(monkeypatch: pytest.MonkeyPatch,
                                                                   tmp_path: Path) -> None:
    at = _broken_workspace_app(monkeypatch, tmp_path, districts="districts.geojson")
    assert not at.exception, [e.value for e in at.exception]
    assert at.error and "1" in at.error[0].value
    problems = at.dataframe[0].value
    assert any("不存在" in str(m) for m in problems[t("prob.message", "zh")])  # "does not exist", in Chinese



def test_travel_time_mode_matches_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    """Switching to travel-time mode shows the engine's terrain-mode figures (tiny: 130 / 1,120)."""
    at = _app(monkeypatch, TINY)
    at.radio(key=keys.TRAVEL).set_value("terrain").run()
    _ok(at)
    ws = load_workspace(TINY)
    s = summary(ws, run_service(ws, "clinic", travel="terrain"))
    assert s["covered"] == 1250.0  # differs from straight line (1,170)
    assert _metric(at, t("word.covered", "zh")) == f"{round(s['covered']):,}"


# --- every text in the chosen language ------------------------------------------------------------

#: three or more ASCII words in a row: an English sentence, not a code, a field or a file name
ENGLISH_RUN = re.compile(r"[A-Za-z][A-Za-z'’-]*(?:[ ,]+[A-Za-z][A-Za-z'’-]*){2,}")
#: what a missing key looks like on screen: a catalogue prefix, a dot, an identifier (not a file name)
_PREFIXES = "|".join(sorted({k.split(".", 1)[0] for k in CATALOGUES["en"] if "." in k}))
RAW_KEY = re.compile(r"\b(?:" + _PREFIXES + r")\.[a-z_][A-Za-z0-9_]*(?:\.[a-z0-9_]+)*\b"
                     r"(?<!\.csv)(?<!\.tif)(?<!\.yaml)(?<!\.geojson)")
#: the fields of an element's message that a user reads
_TEXT_FIELDS = {"body", "label", "placeholder", "help", "options", "text", "delta", "title"}


def _proto_texts(msg: Any) -> Iterator[str]:
    for fd, value in msg.ListFields():
        items = [value] if isinstance(value, str) or hasattr(value, "ListFields") else value
        if fd.type == fd.TYPE_MESSAGE:
            for sub in items:
                if hasattr(sub, "ListFields"):
                    yield from _proto_texts(sub)
        elif fd.name in _TEXT_FIELDS and not isinstance(value, (bytes, int, float)):
            yield from (v for v in items if isinstance(v, str))


def _texts(at: AppTest) -> list[str]:
    """Every text the page shows: labels, bodies, options, placeholders and the cells of its tables."""
    out: list[str] = []
    for node in at._tree:  # noqa: SLF001 - the whole element tree, sidebar included
        if getattr(node, "type", "") == "html":  # stylesheets
            continue
        proto = getattr(node, "proto", None)
        if proto is not None and hasattr(proto, "ListFields"):
            out.extend(_proto_texts(proto))
        if getattr(node, "type", "") in ("arrow_data_frame", "table", "dataframe"):
            df = node.value
            out.extend(str(c) for c in df.columns)
            out.extend(str(v) for v in df.to_numpy().ravel() if isinstance(v, str))
    return [s for s in out if s.strip()]


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_placeholders_and_uploader_texts_are_in_the_chosen_language(monkeypatch: pytest.MonkeyPatch, lang: str) -> None:
    at = _app(monkeypatch, TINY)
    if lang == "en":
        at.radio(key=keys.LANG).set_value("en").run()
        _ok(at)
    assert at.selectbox(key=keys.SERVICE).placeholder == t("widget.choose_option", lang)
    at = _to_data_page(at)
    assert at.selectbox(key=keys.UP_FAC_CRS).placeholder == t("widget.choose_option", lang)
    at.file_uploader(key=keys.UP_FAC_FILE).set_value(("mine.csv", GOOD_CSV.encode("utf-8"), "text/csv"))
    at.run()
    _ok(at)
    assert at.selectbox(key=keys.UP_FAC_FIELD + "lon").placeholder == t("widget.choose_option", lang)
    # Streamlit's uploader texts: hidden and replaced by the catalogue's (a stylesheet per language)
    css = "\n".join(h.value for h in at.get("html"))
    for key in ("widget.upload", "widget.drop_file"):
        assert f'content: "{t(key, lang)}"' in css, key
    assert t("widget.upload_limit_types", lang, size="200MB", types="CSV, XLSX, XLS, GEOJSON, JSON, GPKG, ZIP") in css
    assert "stFileUploaderDropzone" in css and "display: none" in css
    other = "en" if lang == "zh" else "zh"
    assert f'content: "{t("widget.upload", other)}"' not in css


def test_a_broken_workspace_in_chinese_shows_chinese_only(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    at = _broken_workspace_app(monkeypatch, tmp_path, districts="no_districts.geojson")
    assert not at.exception, [e.value for e in at.exception]
    assert at.error and t("msg.workspace_failed", "zh", n=2) == at.error[0].value
    problems = at.dataframe[0].value
    assert set(problems[t("prob.file", "zh")]) == {"workspace.yaml"}  # the file's name, no folders
    assert {"missing.csv", "no_districts.geojson"} <= {w for m in problems[t("prob.message", "zh")]
                                                       for w in re.split(r"[\s“”：，。（）]+", m)}
    texts = _texts(at)
    assert [s for s in texts if ENGLISH_RUN.search(s)] == []
    assert [s for s in texts if str(TINY.parent) in s] == []  # no server folder anywhere


def test_the_data_page_shows_no_raw_key(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    raw = yaml.safe_load(TINY.read_text(encoding="utf-8"))
    for lay in raw["layers"].values():
        lay["path"] = str(TINY.parent / lay["path"])
    # a settlements layer (known to the app) and a layer of the user's own making
    raw["layers"]["settlements"] = {"path": str(TINY.parent / "facilities.csv"), "crs": "WGS84",
                                    "provenance": {"status": "real", "en": "fixture", "zh": "测试数据"}}
    raw["layers"]["wells"] = {"path": str(TINY.parent / "facilities.csv"), "provenance": {"status": "real"}}
    ws = tmp_path / "workspace.yaml"
    ws.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    for lang in ("zh", "en"):
        at = _app(monkeypatch, ws)
        if lang == "en":
            at.radio(key=keys.LANG).set_value("en").run()
        at = _to_data_page(at)
        texts = _texts(at)
        assert t("layer.settlements", lang) in texts and "wells" in texts
        assert [m.group(0) for s in texts for m in RAW_KEY.finditer(s)] == [], lang
        assert not any(s.startswith(("layer.", "kind.", "word.")) for s in texts)
    assert RAW_KEY.search("图层 layer.settlements") and not RAW_KEY.search("facilities.csv · data.csv")
