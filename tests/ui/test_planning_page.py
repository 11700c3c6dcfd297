"""AppTest tests of the planning page: edits, save and open, suggested sites, comparison.

Every figure shown is checked against the engine run directly on the same fixture: a full
recompute (:func:`gisapp.metrics.service.run_service` on :func:`gisapp.planning.scenario.apply_edits`),
:func:`gisapp.planning.suggest.suggest` and :func:`gisapp.planning.scenario.compare_scenarios`.
The state module of the page holds no engine logic of its own (checked on its source).
"""

from __future__ import annotations

import ast
import io
import json
import re
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pyproj import Transformer
from streamlit.testing.v1 import AppTest

from gisapp.config.spec import Standard
from gisapp.i18n import fmt_number, t
from gisapp.metrics.service import run_service
from gisapp.metrics.tables import coverage_by_district, summary
from gisapp.planning import suggest
from gisapp.planning.scenario import (
    Edit,
    Scenario,
    ScenarioStore,
    apply_edits,
    compare_scenarios,
    comparison_workbook,
    save_scenario,
)
from gisapp.ui import keys
from gisapp.ui import planning_state as ps
from gisapp.workspace import Workspace, load_workspace
from tests.conftest import DEMO, ROOT, TINY

from .test_app import _metric, _ok

APP = str(ROOT / "streamlit_app.py")
PAGE = "gisapp/ui/pages/planning.py"
TIMEOUT_S = 300


def _planning(monkeypatch: pytest.MonkeyPatch, workspace: Path, user_dir: Path) -> AppTest:
    monkeypatch.setenv("GISAPP_WORKSPACE", str(workspace))
    monkeypatch.setenv(ps.USER_DIR_ENV, str(user_dir))
    at = AppTest.from_file(APP, default_timeout=TIMEOUT_S)
    at.run()
    _ok(at)
    at.switch_page(PAGE).run()
    _ok(at)
    return at


def _lonlat(ws: Workspace, r: int, c: int) -> tuple[float, float]:
    """Return WGS84 lon, lat of the centre of grid cell (r, c)."""
    g = ws.grid
    x = g.transform.c + (c + 0.5) * g.res_m
    y = g.transform.f - (r + 0.5) * g.res_m
    lon, lat = Transformer.from_crs(ws.crs, 4326, always_xy=True).transform(x, y)
    return round(float(lon), 6), round(float(lat), 6)


def _full_covered(ws: Workspace, service: str, edits: list[Edit]) -> float:
    w2 = ws.with_facilities(apply_edits(ws, edits))
    return summary(w2, run_service(w2, service))["covered"]


def _add_by_coordinates(at: AppTest, lon: float, lat: float, *, kind: str, capacity: float) -> None:
    at.number_input(key=ps.LON).set_value(lon)
    at.number_input(key=ps.LAT).set_value(lat)
    at.selectbox(key=ps.KIND).set_value(kind)
    at.number_input(key=ps.CAPACITY).set_value(capacity)
    at.button(key=ps.ADD).click().run()
    _ok(at)


def _frame_with(at: AppTest, column: str) -> pd.DataFrame:
    found = [d.value for d in at.dataframe if column in d.value.columns]
    assert found, f"no table with column {column!r}"
    return found[0]


def test_add_a_facility_by_coordinates_equals_a_full_recompute(monkeypatch: pytest.MonkeyPatch,
                                                                tmp_path: Path, tiny_ws: Workspace) -> None:
    at = _planning(monkeypatch, TINY, tmp_path)
    covered = t("word.covered", "zh")
    before = _metric(at, covered)
    assert before == fmt_number(_full_covered(tiny_ws, "clinic", []), "zh")
    lon, lat = _lonlat(tiny_ws, 2, 7)
    _add_by_coordinates(at, lon, lat, kind="village_clinic", capacity=2.0)
    edits = [Edit("add", "NEW-1", lon=lon, lat=lat, kind="village_clinic", name="NEW-1", capacity={"doctors": 2.0})]
    assert at.session_state[ps.EDITS] == [ps.as_dict(e) for e in edits]
    assert _metric(at, covered) == fmt_number(_full_covered(tiny_ws, "clinic", edits), "zh")
    assert _metric(at, covered) != before
    # the district table before / after shows the engine's district figures
    table = _frame_with(at, t("word.district", "zh")).set_index(t("word.district", "zh"))
    w2 = tiny_ws.with_facilities(apply_edits(tiny_ws, edits))
    full = coverage_by_district(w2, run_service(w2, "clinic"))
    after_col = f"{covered} ({t('plan.after', 'zh')})"
    for _, row in full.iterrows():
        assert table.loc[row["district_name"], after_col] == pytest.approx(row["covered"])
    assert any("NEW-1" in c.value for c in at.caption)  # "last edit" caption with its update time
    # undo returns to the baseline
    at.button(key=ps.UNDO).click().run()
    _ok(at)
    assert _metric(at, covered) == before


def test_close_a_facility_equals_a_full_recompute(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                  tiny_ws: Workspace) -> None:
    at = _planning(monkeypatch, TINY, tmp_path)
    at.selectbox(key=ps.FACILITY).set_value("C2")
    at.button(key=ps.CLOSE).click().run()
    _ok(at)
    edits = [Edit("close", "C2")]
    assert _metric(at, t("word.covered", "zh")) == fmt_number(_full_covered(tiny_ws, "clinic", edits), "zh")
    assert _metric(at, t("word.facilities", "zh")) == "1"
    # the closed facility can no longer be chosen
    assert "C2" not in at.selectbox(key=ps.FACILITY).options


def test_a_saved_scenario_that_does_not_apply_is_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    at = _planning(monkeypatch, TINY, tmp_path)
    save_scenario(tmp_path / "scenarios" / "tiny", Scenario("坏", [Edit("close", "NOPE")]))
    at.run()  # the compare tab shows why it cannot use the file; the page still renders
    assert not at.exception
    assert any("NOPE" in e.value for e in at.error)
    at.selectbox(key=ps.LOAD_CHOICE).set_value("坏")
    at.button(key=ps.LOAD).click().run()
    assert not at.exception
    assert any("NOPE" in e.value for e in at.error)
    assert at.session_state[ps.EDITS] == []


def test_save_then_open_round_trips(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, tiny_ws: Workspace) -> None:
    at = _planning(monkeypatch, TINY, tmp_path)
    lon, lat = _lonlat(tiny_ws, 7, 2)
    _add_by_coordinates(at, lon, lat, kind="village_clinic", capacity=3.0)
    at.selectbox(key=ps.FACILITY).set_value("C2")
    at.button(key=ps.CLOSE).click().run()
    _ok(at)
    saved_edits = list(at.session_state[ps.EDITS])
    covered = _metric(at, t("word.covered", "zh"))
    at.text_input(key=ps.NAME).set_value("方案甲").run()
    at.button(key=ps.SAVE).click().run()
    _ok(at)
    assert any("方案甲" in s.value for s in at.success)
    assert [(v.name, v.version) for v in ScenarioStore(tmp_path / "scenarios" / "tiny").list()] == [("方案甲", 1)]
    at.button(key=ps.CLEAR).click().run()
    _ok(at)
    assert at.session_state[ps.EDITS] == []
    assert _metric(at, t("word.covered", "zh")) != covered
    at.selectbox(key=ps.LOAD_CHOICE).set_value("方案甲")
    at.button(key=ps.LOAD).click().run()
    _ok(at)
    assert at.session_state[ps.EDITS] == saved_edits
    assert at.session_state[ps.NAME] == "方案甲"
    assert _metric(at, t("word.covered", "zh")) == covered


def test_suggested_sites_equal_the_engine_and_can_be_added(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                           tiny_ws: Workspace) -> None:
    at = _planning(monkeypatch, TINY, tmp_path)
    at.number_input(key=ps.SUG_K).set_value(2)
    at.button(key=ps.SUG_RUN).click().run()
    _ok(at)
    sug = suggest.suggest(tiny_ws, "clinic", k=2, candidates="grid", method="auto")
    table = _frame_with(at, t("sug.people_added", "zh"))
    assert len(table) == len(sug.sites)
    assert table[t("sug.people_added", "zh")].iloc[0] == pytest.approx(float(sug.sites["people_added"].iloc[0]))
    assert at.session_state[ps.SUG_PARAMS]
    # add them to the scenario: the covered metric becomes the suggestion's cumulative figure
    at.button(key=ps.SUG_ADD).click().run()
    _ok(at)
    assert len(at.session_state[ps.EDITS]) == len(sug.sites)
    assert _metric(at, t("word.covered", "zh")) == fmt_number(float(sug.sites["people_covered"].iloc[-1]), "zh")


def test_suggested_sites_from_an_uploaded_csv(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                              tiny_ws: Workspace) -> None:
    pts = pd.DataFrame([_lonlat(tiny_ws, 2, 7), _lonlat(tiny_ws, 7, 7)], columns=["lon", "lat"])
    # what the page does with an upload: the engine reads it, the rows go into the run's parameters
    rows = suggest.read_candidate_points(pts.to_csv(index=False).encode("utf-8")).to_numpy().tolist()
    assert [r[:2] for r in rows] == pts.to_numpy().tolist()
    assert [r[2] for r in rows] == ["", ""]  # no names in the file: the sites are named where they are
    # file_uploader cannot be driven by AppTest: set the run's parameters as the button would
    at = _planning(monkeypatch, TINY, tmp_path)
    at.session_state[ps.SUG_PARAMS] = json.dumps({"candidates": "points", "k": 1, "method": "auto",
                                                  "points": rows}, sort_keys=True)
    at.run()
    _ok(at)
    sug = suggest.suggest(tiny_ws, "clinic", k=1, candidates="points", candidate_points=pts)
    table = _frame_with(at, t("sug.people_added", "zh"))
    assert table[t("sug.people_added", "zh")].iloc[0] == pytest.approx(float(sug.sites["people_added"].iloc[0]))
    assert list(table[t("sug.site", "zh")]) == list(sug.sites["name"]) and all(table[t("sug.site", "zh")])


def test_compare_shows_the_saved_scenario_and_exports_xlsx(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                           tiny_ws: Workspace) -> None:
    at = _planning(monkeypatch, TINY, tmp_path)
    lon, lat = _lonlat(tiny_ws, 2, 7)
    _add_by_coordinates(at, lon, lat, kind="village_clinic", capacity=2.0)
    at.text_input(key=ps.NAME).set_value("A").run()
    at.button(key=ps.SAVE).click().run()
    _ok(at)
    edits = [Edit(**d) for d in at.session_state[ps.EDITS]]
    at.button(key=ps.CLEAR).click().run()
    _ok(at)
    assert at.multiselect(key=ps.CMP_CHOICE).value == ["A"]
    expected = compare_scenarios(tiny_ws, "clinic", {"A": edits})
    table = _frame_with(at, f"A · {t('cmp.covered', 'zh')}")
    got = table[f"A · {t('cmp.covered', 'zh')}"].to_numpy()
    assert got.tolist() == pytest.approx(expected[("A", "covered")].to_numpy().tolist())
    base = table[f"{t('plan.baseline', 'zh')} · {t('cmp.covered', 'zh')}"].to_numpy()
    assert base.tolist() == pytest.approx(expected[("baseline", "covered")].to_numpy().tolist())
    # the export: numbers stay numbers
    for lang in ("zh", "en"):  # sheet names and headers in the language of the page
        xl = comparison_workbook(expected, {"A": edits}, service="clinic", lang=lang)
        book = pd.read_excel(io.BytesIO(xl), sheet_name=None)
        assert list(book) == [t(f"cmp.sheet.{k}", lang) for k in ("compare", "edits", "about")]
        back = book[t("cmp.sheet.compare", lang)]
        col = f"A · {t('col.covered', lang)}"
        assert back[col].tolist() == pytest.approx(expected[("A", "covered")].tolist())
        assert pd.api.types.is_numeric_dtype(back[col])
        assert f"{t('plan.baseline', lang)} · {t('col.covered', lang)}" in back.columns
        ed = book[t("cmp.sheet.edits", lang)]
        assert ed[t("col.facility_id", lang)].tolist() == ["NEW-1"]
        assert ed[t("col.op", lang)].tolist() == [t("plan.op.add", lang)]
        if lang == "zh":  # no English header left
            assert not any(c.isascii() and c.strip() for c in [*back.columns, *ed.columns]), back.columns


def test_compare_at_a_changed_standard_shows_the_engine_figures(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                                tiny_ws: Workspace) -> None:
    edits = [Edit("close", "C2")]
    save_scenario(tmp_path / "scenarios" / "tiny", Scenario("B", edits))
    at = _planning(monkeypatch, TINY, tmp_path)
    at.slider(key=keys.STANDARD).set_value(250.0).run()
    _ok(at)
    expected = compare_scenarios(tiny_ws, "clinic", {"B": edits}, standard=Standard(distance_m=250.0))
    own = compare_scenarios(tiny_ws, "clinic", {"B": edits})
    assert expected[("baseline", "covered")].tolist() != own[("baseline", "covered")].tolist()
    table = _frame_with(at, f"B · {t('cmp.covered', 'zh')}")
    assert table[f"B · {t('cmp.covered', 'zh')}"].tolist() == pytest.approx(expected[("B", "covered")].tolist())
    base = table[f"{t('plan.baseline', 'zh')} · {t('cmp.covered', 'zh')}"].tolist()
    assert base == pytest.approx(expected[("baseline", "covered")].tolist())


def test_saves_are_versions_with_author_and_a_conflict_keeps_the_edits(monkeypatch: pytest.MonkeyPatch,
                                                                        tmp_path: Path) -> None:
    monkeypatch.setenv("USER", "规划员甲")  # no sign-in: the server's system user name is the author
    monkeypatch.setenv("LOGNAME", "规划员甲")
    at = _planning(monkeypatch, TINY, tmp_path)
    at.selectbox(key=ps.FACILITY).set_value("C2")
    at.button(key=ps.CLOSE).click().run()
    at.text_input(key=ps.NAME).set_value("方案乙").run()
    at.button(key=ps.SAVE).click().run()
    _ok(at)
    assert any("方案乙" in s.value and "1" in s.value and "规划员甲" in s.value for s in at.success)
    shown = at.selectbox(key=ps.LOAD_CHOICE)
    label = t("plan.version_label", "zh", name="方案乙", version=1, author="规划员甲", time="")
    assert any(o.startswith(label.strip()) for o in shown.options)
    at.button(key=ps.SAVE).click().run()  # a second save from the version just saved: version 2
    _ok(at)
    assert any(t("plan.version_label", "zh", name="方案乙", version=2, author="规划员甲", time="").strip() in o
               for o in at.selectbox(key=ps.LOAD_CHOICE).options)
    assert at.download_button(key=ps.DOWNLOAD) is not None
    # another planner saves version 3 meanwhile; this planner's next save is refused, the edits stay
    folder = tmp_path / "scenarios" / "tiny"
    ScenarioStore(folder).save_version("方案乙", [], workspace="tiny", author="规划员乙", base_version=2)
    mine = list(at.session_state[ps.EDITS])
    at.button(key=ps.SAVE).click().run()
    assert not at.exception
    assert any("规划员乙" in e.value and "方案乙" in e.value for e in at.error)
    assert at.session_state[ps.EDITS] == mine
    assert [v.author for v in ScenarioStore(folder).history("方案乙")] == ["规划员甲", "规划员甲", "规划员乙"]


#: what the engine does once (gisapp.planning, gisapp.io): the page state must not do it again
ENGINE_JOBS = {"compare", "saved", "read_points", "xlsx", "flat", "before_after", "_fork"}
ENGINE_CALLS = {"read_csv", "glob", "is_dir", "iterdir", "ExcelWriter", "to_excel", "concat", "MultiIndex",
                "to_numeric", "apply_edits", "run_service"}


def _called(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {n.func.attr if isinstance(n.func, ast.Attribute) else getattr(n.func, "id", "")
            for n in ast.walk(tree) if isinstance(n, ast.Call)}


def test_the_page_state_holds_no_engine_logic() -> None:
    state_py = ROOT / "gisapp" / "ui" / "planning_state.py"
    page_py = ROOT / "gisapp" / "ui" / "pages" / "planning.py"
    tree = ast.parse(state_py.read_text(encoding="utf-8"))
    defined = {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)}
    assert not defined & ENGINE_JOBS, f"engine jobs in the UI: {sorted(defined & ENGINE_JOBS)}"
    for path in (state_py, page_py):
        assert not _called(path) & ENGINE_CALLS, f"engine work in {path.name}: {sorted(_called(path) & ENGINE_CALLS)}"
    # the engine functions the page calls instead
    assert {"compare_scenarios", "ScenarioStore", "read_candidate_points", "comparison_workbook"} <= \
        _called(state_py) | _called(page_py)


def test_english_labels(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    at = _planning(monkeypatch, TINY, tmp_path)
    at.radio(key="lang").set_value("en").run()
    _ok(at)
    assert at.title[0].value.startswith("Planning")
    assert [tab.label for tab in at.tabs] == ["Scenario", "Suggested sites", "Compare"]


@pytest.mark.slow
def test_an_edit_on_the_demo_is_fast_and_equals_a_full_recompute(monkeypatch: pytest.MonkeyPatch,
                                                                  tmp_path: Path) -> None:
    if not (ROOT / "data" / "panzhihua" / "population_100m.tif").exists():
        pytest.skip("demo data not built (python data/build_demo.py)")
    ws = load_workspace(DEMO)
    service = next(iter(ws.spec.services))
    at = _planning(monkeypatch, DEMO, tmp_path)
    # a new facility in the most populous uncovered cell
    res = run_service(ws, service)
    i = int(np.argmax(np.where(res.covered | ~res.eligible, 0.0, res.demand)))
    r, c = (int(v[0]) for v in np.nonzero(ws.grid.cell_index == i))
    lon, lat = _lonlat(ws, r, c)
    kind = ws.spec.services[service].kinds[0]
    t0 = time.perf_counter()
    _add_by_coordinates(at, lon, lat, kind=kind, capacity=1.0)
    wall = time.perf_counter() - t0
    cap = ws.spec.services[service].capacity
    edits = [Edit("add", ps.new_id([], []), lon=lon, lat=lat, kind=kind, name="NEW-1",
                  capacity={cap: 1.0} if cap else {})]
    assert _metric(at, t("word.covered", "zh")) == fmt_number(_full_covered(ws, service, edits), "zh")
    shown = [float(m.group(1)) for c in at.caption if (m := re.search(r"([0-9.]+) 秒", c.value))]
    assert shown, "no update time shown"
    assert shown[0] < 1.0  # the incremental update itself
    print(f"demo edit: update {shown[0]:.3f} s, page rerun {wall:.2f} s")
