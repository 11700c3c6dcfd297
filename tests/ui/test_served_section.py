"""AppTest: the overview shows people served within capacity (AccessMod style) by district (issue 11)."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from gisapp.i18n import t
from gisapp.metrics.served import served_total_text, served_within_capacity
from gisapp.metrics.service import run_service
from gisapp.ui import keys
from gisapp.workspace import load_workspace
from tests.conftest import ROOT, TINY

APP = str(ROOT / "streamlit_app.py")


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_overview_shows_people_served_within_capacity(monkeypatch: pytest.MonkeyPatch, lang: str) -> None:
    monkeypatch.setenv("GISAPP_WORKSPACE", str(TINY))
    at = AppTest.from_file(APP, default_timeout=300)
    at.run()
    if lang != "zh":
        at.radio(key=keys.LANG).set_value(lang).run()
    assert not at.exception, [e.value for e in at.exception]
    served_head = t("col.served", lang)
    tables = [d.value for d in at.dataframe if served_head in d.value.columns]
    assert len(tables) == 1, [list(d.value.columns) for d in at.dataframe]
    table = tables[0]
    # by hand (the clinic, 150 m, one doctor serves 500 people): C1 serves its 90 people in district A,
    # C2 (one doctor) half of its own cell of 1,000 in B; the total row adds them
    assert table[served_head].tolist() == [90, 500, 590]
    assert table[t("col.capacity_people", lang)].tolist() == [2000, 500, 2500]
    assert table[t("col.district_name", lang)].tolist()[-1] == t("class.all", lang)
    ws = load_workspace(TINY)
    sv = served_within_capacity(ws, run_service(ws, "clinic"))
    captions = [c.value for c in at.caption]
    assert served_total_text(sv, lang) in captions
    for line in sv.texts(lang):  # the conversion and the straight-line notice
        assert line in captions
    assert any(h.value == t("served.title", lang) for h in at.subheader)
