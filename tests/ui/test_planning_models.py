"""AppTest tests of the suggestions tab's planning models (issue 11): choose a model, run it, read its summary.

Every figure shown is checked against :func:`gisapp.planning.suggest.suggest` run directly on the
same fixture with the same parameters.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from gisapp.i18n import t
from gisapp.planning import suggest
from gisapp.ui import keys
from gisapp.ui import planning_state as ps
from gisapp.workspace import Workspace
from tests.conftest import TINY

from .test_app import _ok
from .test_planning_page import _frame_with, _planning


def _texts(at: AppTest) -> list[str]:
    return [s.value for s in at.success] + [c.value for c in at.caption]


def _run_model(at: AppTest, model: str, **numbers: float) -> None:
    at.selectbox(key=ps.SUG_MODEL).set_value(model).run()
    _ok(at)
    for key, value in numbers.items():
        at.number_input(key=key).set_value(value)
    at.number_input(key=ps.SUG_SPACING).set_value(100.0)
    at.button(key=ps.SUG_RUN).click().run()
    _ok(at)


def test_p_median_on_the_school_service_shows_the_engines_mean_trip(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                                     tiny_ws: Workspace) -> None:
    at = _planning(monkeypatch, TINY, tmp_path)
    at.selectbox(key=keys.SERVICE).set_value("school").run()
    _ok(at)
    assert at.selectbox(key=ps.SUG_MODEL).options == [t(f"sug.model.{m}", "zh") for m in
                                                      ("mclp", "lscp", "p_median", "p_center", "closures", "mixed")]
    _run_model(at, "p_median", **{ps.SUG_P: 2})
    assert at.selectbox(key=keys.SERVICE).value == "school"  # the chosen service stays chosen after the click
    sug = suggest.suggest(tiny_ws, "school", model="p_median", k=2, spacing_m=100, travel="straight_line",
                          time_limit_s=30.0)
    lines = suggest.summary_lines(sug, "zh")
    shown = "\n".join(_texts(at))
    assert lines[1] in shown  # "新增 2 个站点后，平均路程 … 米"
    assert lines[0] in shown and t("sug.proof.optimal", "zh") in shown
    assert t("sug.model_help.p_median", "zh") in [c.value for c in at.caption]
    table = _frame_with(at, t("sug.people_served", "zh"))
    assert table[t("sug.people_served", "zh")].tolist() == pytest.approx(sug.sites["people_served"].tolist())
    assert 0 < table[t("sug.people_served", "zh")].sum() < sug.total  # existing schools serve the others
    assert list(table[t("sug.site", "zh")]) == list(sug.sites["name"])


def test_lscp_in_english_and_in_terrain_mode(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                              tiny_ws: Workspace) -> None:
    at = _planning(monkeypatch, TINY, tmp_path)
    at.radio(key="lang").set_value("en").run()
    _ok(at)
    # the tiny workspace has travel speeds: terrain is offered
    assert at.selectbox(key=ps.SUG_TRAVEL).options == ["Straight line", t("travel.terrain", "en")]
    at.selectbox(key=ps.SUG_TRAVEL).set_value("terrain")
    _run_model(at, "lscp", **{ps.SUG_TARGET_LSCP: 100.0})
    sug = suggest.suggest(tiny_ws, "clinic", model="lscp", target_share=100.0, spacing_m=100, travel="terrain",
                          time_limit_s=30.0, lang="en")
    lines = suggest.summary_lines(sug, "en")
    shown = "\n".join(_texts(at))
    assert "Fewest new sites to cover everyone" in lines[0] and lines[0] in shown
    assert lines[1] in shown and "100.0%" in lines[1]
    assert "proven optimal" in shown
    assert len(_frame_with(at, t("sug.people_served", "en"))) == len(sug.sites)


def test_closures_name_the_facilities_and_can_be_applied(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                         tiny_ws: Workspace) -> None:
    at = _planning(monkeypatch, TINY, tmp_path)
    _run_model(at, "closures", **{ps.SUG_CLOSE: 1})
    sug = suggest.suggest(tiny_ws, "clinic", model="closures", k_close=1, spacing_m=100, travel="straight_line",
                          time_limit_s=30.0)
    shown = "\n".join(_texts(at))
    assert suggest.summary_lines(sug, "zh")[1] in shown  # "撤并 1 个设施（…），失去覆盖 … 人"
    closed = _frame_with(at, t("plan.fac_name", "zh"))
    assert closed[t("plan.fac_name", "zh")].tolist() == sug.closed_names
    at.button(key=ps.SUG_ADD).click().run()
    _ok(at)
    assert [(d["op"], d["facility_id"]) for d in at.session_state[ps.EDITS]] == \
        [("close", str(f)) for f in sug.closed["facility_id"]]
