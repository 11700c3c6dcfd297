"""The key findings at the top of the overview: the cards and the sentences equal the district table."""

from __future__ import annotations

import re

import pytest
from streamlit.testing.v1 import AppTest

from gisapp.i18n import t
from gisapp.metrics.findings import district_people
from gisapp.metrics.service import run_service
from gisapp.metrics.tables import capacity_by_district, coverage_by_district
from gisapp.workspace import load_workspace
from tests.conftest import ROOT, TINY

APP = str(ROOT / "streamlit_app.py")
TIMEOUT_S = 300


def _ok(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def _card(at: AppTest, key: str, lang: str = "zh") -> str:
    found = [m.value for m in at.metric if m.label == t(key, lang)]
    assert len(found) == 1, (key, [m.label for m in at.metric])
    return found[0]


def _findings_script() -> None:
    """A page with only the findings of one service (the tiny workspace, from $GISAPP_WORKSPACE)."""
    import streamlit as st

    from gisapp.ui import state
    from gisapp.ui.findings_view import show_findings

    service = st.session_state.get("service_for_test", "clinic")
    lang = st.session_state.get("lang_for_test", "zh")
    path = state.workspace_path()
    show_findings(state.load_ws(path, ""), (path, "", service, None, "straight_line"), lang)


@pytest.mark.parametrize("service", ["clinic", "school"])
def test_the_cards_and_sentences_equal_the_engine_tables(monkeypatch, service):
    monkeypatch.setenv("GISAPP_WORKSPACE", str(TINY))
    at = AppTest.from_function(_findings_script, default_timeout=TIMEOUT_S)
    at.session_state["service_for_test"] = service
    at.run()
    _ok(at)
    ws = load_workspace(TINY)
    res = run_service(ws, service)
    people = district_people(coverage_by_district(ws, res))
    assert _card(at, "fv.beyond") == f"{int(people['uncovered'].sum()):,}"
    worst = coverage_by_district(ws, res).sort_values("covered_pct").iloc[0]
    assert _card(at, "fv.worst") == f"{worst['district_name']} · {worst['covered_pct']:.1f}%"
    assert _card(at, "fv.ratio") == "—", "the tiny grid is all rural"
    cap = capacity_by_district(ws, res)
    if ws.spec.services[service].norm_per_1000 is not None:
        short = cap["capacity_gap"].clip(lower=0).sum()
        assert _card(at, "fv.shortfall") == f"{short:,.1f} {t('capunit.' + str(ws.spec.services[service].capacity), 'zh')}"
    else:
        assert _card(at, "fv.shortfall") == "—"
    text = " ".join(m.value for m in at.markdown)
    for name, n in zip(people["district_name"], people["uncovered"], strict=True):
        assert f"{name} {int(n):,} 人" in text
    assert "工作区没有居民点图层" in text, "the page says when there is no settlements layer"


def test_the_findings_in_english(monkeypatch):
    monkeypatch.setenv("GISAPP_WORKSPACE", str(TINY))
    at = AppTest.from_function(_findings_script, default_timeout=TIMEOUT_S)
    at.session_state["lang_for_test"] = "en"
    at.run()
    _ok(at)
    assert _card(at, "fv.beyond", "en") == "820"
    assert _card(at, "fv.shortfall", "en") == "2.0 doctors"
    text = " ".join(m.value for m in at.markdown)
    assert "Clinic: 820 people beyond the standard" in text


def test_the_overview_opens_with_the_findings_equal_to_its_district_table(monkeypatch):
    monkeypatch.setenv("GISAPP_WORKSPACE", str(TINY))
    at = AppTest.from_file(APP, default_timeout=TIMEOUT_S)
    at.run()
    _ok(at)
    assert any(h.value == t("fv.title", "zh") for h in at.subheader), "the overview shows the key findings"
    name_col, unc_col = t("ov.col.district", "zh"), t("ov.col.uncovered", "zh")
    table = next(d.value for d in at.dataframe if name_col in d.value.columns and unc_col in d.value.columns)
    shown = dict(zip(table[name_col], table[unc_col], strict=True))
    # the card is the table's total; the sentence names each district with the table's figure
    assert _card(at, "fv.beyond") == f"{int(shown[t('class.all', 'zh')]):,}"
    text = " ".join(m.value for m in at.markdown)
    for name in load_workspace(TINY).districts["district_name"]:
        assert f"{name} {int(shown[name]):,} 人" in text, (name, text)
    assert re.search(r"\d", _card(at, "fv.worst"))
