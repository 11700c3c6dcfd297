"""AppTest of the report page: generate the reports of the tiny workspace and offer four downloads."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook
from streamlit.testing.v1 import AppTest

from gisapp.i18n import t
from tests.conftest import ROOT, TINY

PAGE = str(ROOT / "gisapp" / "ui" / "pages" / "report.py")


def test_report_page_generates_and_offers_downloads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GISAPP_WORKSPACE", str(TINY))
    at = AppTest.from_file(PAGE, default_timeout=180)
    at.session_state["lang"] = "en"
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value == t("rep.page.title", "en")
    assert at.multiselect(key="report_services").placeholder == t("widget.choose_options", "en")
    at.multiselect(key="report_services").set_value(["clinic"]).run()
    at.button(key="report_generate").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert [s.value for s in at.success] == [t("rep.page.ready", "en")]
    files = at.session_state["_report_files"]["files"]
    assert sorted(files) == ["coverage.xlsx", "layers.gpkg", "report.html", "report.pdf"]
    assert len(at.get("download_button")) == 4
    wb = load_workbook(io.BytesIO(files["coverage.xlsx"]), read_only=True)
    assert "Clinic districts" in wb.sheetnames and "School districts" not in wb.sheetnames
    assert files["report.pdf"].startswith(b"%PDF")


def test_report_page_placeholders_are_chinese(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GISAPP_WORKSPACE", str(TINY))
    at = AppTest.from_file(PAGE, default_timeout=180)
    at.session_state["lang"] = "zh"
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.multiselect(key="report_services").placeholder == t("widget.choose_options", "zh") != "Choose options"


def test_report_page_includes_a_saved_scenario(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    from gisapp.planning.scenario import Edit, Scenario, save_scenario

    monkeypatch.setenv("GISAPP_WORKSPACE", str(TINY))
    monkeypatch.setenv("GISAPP_USER_DIR", str(tmp_path))
    save_scenario(tmp_path / "scenarios" / "tiny", Scenario("close C2", [Edit("close", "C2")]))
    at = AppTest.from_file(PAGE, default_timeout=180)
    at.session_state["lang"] = "en"
    at.run()
    at.multiselect(key="report_services").set_value(["clinic"]).run()
    at.multiselect(key="report_scenarios").set_value(["close C2"]).run()
    at.button(key="report_generate").click().run()
    assert not at.exception, [e.value for e in at.exception]
    wb = load_workbook(io.BytesIO(at.session_state["_report_files"]["files"]["coverage.xlsx"]), read_only=True)
    sheet = wb["Clinic scenarios"]
    rows = [r for r in sheet.iter_rows(values_only=True) if r and r[0] in ("510001", "510002")]
    # columns: code, district, population, baseline covered, share, scenario covered, share
    assert [r[3] for r in rows] == [90, 1080] and [r[5] for r in rows] == [90, 0]


def test_report_page_uses_the_latest_version_in_the_scenario_store(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    from gisapp.planning.scenario import Edit, ScenarioStore

    monkeypatch.setenv("GISAPP_WORKSPACE", str(TINY))
    monkeypatch.setenv("GISAPP_USER_DIR", str(tmp_path))
    store = ScenarioStore(tmp_path / "scenarios" / "tiny")
    # version 1 closes nothing; version 2 (a colleague's) closes C2: the report takes version 2
    store.save_version("plan", [], workspace="tiny", author="甲", base_version=0)
    store.save_version("plan", [Edit("close", "C2")], workspace="tiny", author="乙", base_version=1)
    at = AppTest.from_file(PAGE, default_timeout=180)
    at.session_state["lang"] = "en"
    at.run()
    at.multiselect(key="report_services").set_value(["clinic"]).run()
    assert at.multiselect(key="report_scenarios").options == ["plan"]
    at.multiselect(key="report_scenarios").set_value(["plan"]).run()
    at.button(key="report_generate").click().run()
    assert not at.exception, [e.value for e in at.exception]
    wb = load_workbook(io.BytesIO(at.session_state["_report_files"]["files"]["coverage.xlsx"]), read_only=True)
    rows = [r for r in wb["Clinic scenarios"].iter_rows(values_only=True) if r and r[0] in ("510001", "510002")]
    assert [r[5] for r in rows] == [90, 0]
