"""AppTest of the years (issue 14): the sidebar's year selector, its survival of a page change, the change page."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import rasterio
import yaml
from streamlit.testing.v1 import AppTest

from gisapp.i18n import t
from gisapp.metrics.service import run_service
from gisapp.metrics.tables import summary
from gisapp.metrics.years import coverage_change
from gisapp.ui import keys
from gisapp.workspace import at_year, load_workspace
from tests.conftest import ROOT, TINY

APP = str(ROOT / "streamlit_app.py")
TIMEOUT_S = 300


@pytest.fixture
def years_ws(tmp_path: Path) -> Path:
    """The tiny workspace with a 2025 population (the east doubled) and facility years.

    C2 (the village clinic in the east) opens in 2021: in 2020 only C1 serves the clinic service.
    """
    d = tmp_path / "ws"
    shutil.copytree(TINY.parent, d)
    fac = pd.read_csv(d / "facilities.csv", dtype=str, keep_default_na=False)
    fac["opened"] = np.where(fac["id"] == "C2", "2021", "")
    fac["closed"] = ""
    fac.to_csv(d / "facilities.csv", index=False)
    with rasterio.open(d / "population.tif") as src:
        vals, profile = src.read(1).astype("float64"), src.profile
    vals[:, vals.shape[1] // 2:] *= 2.0
    profile.update(dtype="float64")
    with rasterio.open(d / "pop2025.tif", "w", **profile) as dst:
        dst.write(vals, 1)
    p = d / "workspace.yaml"
    raw = yaml.safe_load(p.read_text(encoding="utf-8"))
    raw["layers"]["facilities"]["fields"] |= {"opened": "opened", "closed": "closed"}
    raw["layers"]["population"]["years"] = {2020: "population.tif", 2025: "pop2025.tif"}
    p.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return p


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
    found = [m.value for m in at.metric if m.label == label]
    assert found, f"no metric {label!r} among {[m.label for m in at.metric]}"
    return found[0]


def _covered(ws, year: int) -> str:
    return f"{round(summary(at_year(ws, year), run_service(at_year(ws, year), 'clinic'))['covered']):,}"


def test_the_year_selector_changes_the_numbers_and_survives_a_page_change(monkeypatch: pytest.MonkeyPatch,
                                                                        years_ws: Path) -> None:
    ws = load_workspace(years_ws)
    assert _covered(ws, 2020) != _covered(ws, 2025)  # the fixture makes the two years differ
    at = _app(monkeypatch, years_ws)
    year = at.selectbox(key=keys.YEAR)
    assert year.options == ["2020年", "2025年"] and year.value == 2025  # the latest year first
    covered = t("word.covered", "zh")
    assert _metric(at, covered) == _covered(ws, 2025)
    at.selectbox(key=keys.YEAR).set_value(2020).run()
    _ok(at)
    assert _metric(at, covered) == _covered(ws, 2020)
    # a page change that drops the widget's state draws it at its default: the kept choice wins
    at.session_state[keys.YEAR] = 2025
    at.switch_page("gisapp/ui/pages/map.py").run()
    _ok(at)
    assert at.selectbox(key=keys.YEAR).value == 2020
    at.switch_page("gisapp/ui/pages/overview.py").run()
    _ok(at)
    assert at.selectbox(key=keys.YEAR).value == 2020
    assert _metric(at, covered) == _covered(ws, 2020)


def test_no_year_selector_without_years(monkeypatch: pytest.MonkeyPatch) -> None:
    at = _app(monkeypatch, TINY)
    assert keys.YEAR not in [s.key for s in at.selectbox]


def test_change_page_shows_both_years_and_the_change(monkeypatch: pytest.MonkeyPatch, years_ws: Path) -> None:
    ws = load_workspace(years_ws)
    at = _app(monkeypatch, years_ws)
    at.switch_page("gisapp/ui/pages/change.py").run()
    _ok(at)
    assert at.title[0].value == t("page.change", "zh")
    assert at.selectbox(key=keys.CHANGE_FROM).value == 2020 and at.selectbox(key=keys.CHANGE_TO).value == 2025
    shown = at.dataframe[0].value
    expected = coverage_change(ws, 2020, 2025)
    assert len(shown) == len(expected) == len(ws.spec.services) * (len(ws.districts) + 1)
    for col, key, year in (("covered_pct_from", "change.col.covered", 2020),
                           ("covered_pct_to", "change.col.covered", 2025)):
        np.testing.assert_allclose(shown[t(key, "zh", year=year)].to_numpy(float), expected[col].to_numpy(float))
    np.testing.assert_allclose(shown[t("change.col.change_pts", "zh")].to_numpy(float),
                               (expected["covered_pct_to"] - expected["covered_pct_from"]).to_numpy(float))
    # the clinic gained its east clinic in 2021: more facilities in 2025 in that district
    clinic = expected[(expected["service"] == "clinic") & (expected["district_id"] == "510002")].iloc[0]
    assert (clinic["facilities_from"], clinic["facilities_to"]) == (0, 1)
    at.selectbox(key=keys.CHANGE_TO).set_value(2020).run()
    _ok(at)
    assert [w.value for w in at.warning] == [t("change.same_year", "zh")]


def test_a_year_label_left_by_a_language_switch_still_reads_as_the_year() -> None:
    """A browser that switches language may send the year's old label ("2025年") back: it is still 2025."""
    from streamlit.testing.v1 import AppTest

    def script() -> None:
        import streamlit as st

        from gisapp.ui import keys, state

        st.session_state[keys.YEAR] = "2025年"
        st.write(str(state.year()))

    at = AppTest.from_function(script, default_timeout=60)
    at.run()
    assert not at.exception and at.markdown[0].value == "2025"
    from gisapp.ui import keys

    assert keys.YEAR in keys.TRANSLATED  # relabelled on a language switch like the other choices
