"""AppTest of the overview's tables and the data page: shortfall and surplus apart, one row per
town/country class, whole people with each unit once, and every label in the chosen language."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from gisapp.i18n import t
from gisapp.metrics.service import run_service
from gisapp.metrics.tables import capacity_by_district, capacity_totals, coverage_by_district
from gisapp.ui import keys
from gisapp.ui.tables import district_columns
from gisapp.workspace import load_workspace
from tests.conftest import DEMO, ROOT, TINY

APP = str(ROOT / "streamlit_app.py")
DATA_PAGE = "gisapp/ui/pages/data.py"
#: a number written with a decimal part of zeros ("5.0", "1,234.00"): people must not read so
ZERO_DECIMALS = re.compile(r"(?<![\d.])\d[\d,]*\.0+(?![\d])")


def _app(monkeypatch: pytest.MonkeyPatch, workspace: Path, lang: str = "zh") -> AppTest:
    monkeypatch.setenv("GISAPP_WORKSPACE", str(workspace))
    at = AppTest.from_file(APP, default_timeout=300)
    at.run()
    if lang != "zh":
        at.radio(key=keys.LANG).set_value(lang).run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    return at


def _frame(at: AppTest, header: str) -> pd.DataFrame:
    """Return the first table whose first column is ``header``."""
    found = [d.value for d in at.dataframe if len(d.value.columns) and d.value.columns[0] == header]
    assert found, [list(d.value.columns) for d in at.dataframe]
    return found[0]


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_district_table_shows_shortfall_and_surplus_apart(monkeypatch: pytest.MonkeyPatch, lang: str) -> None:
    at = _app(monkeypatch, TINY, lang)  # the clinic: 2 doctors per 1,000
    table = _frame(at, t("ov.col.district", lang))
    assert list(table.columns) == [t(k, lang) for k in district_columns("doctors", norm=True).values()]
    short, plus = t("ov.col.short.doctors", lang), t("ov.col.plus.doctors", lang)
    # by hand: A needs 1 doctor and has 4 (3 over); B needs 2.98 and has 1 (1.98 short)
    assert table[short].tolist() == pytest.approx([0.0, 1.98, 1.98])
    assert table[plus].tolist() == pytest.approx([3.0, 0.0, 3.0])
    assert (table[[short, plus]] >= 0).all().all()
    # the total row adds shortfalls only: not the net -1.02 of the signed gap
    ws = load_workspace(TINY)
    cap = capacity_by_district(ws, run_service(ws, "clinic"))
    assert table[short].iloc[-1] == pytest.approx(capacity_totals(cap)["shortfall"])
    assert cap["capacity_gap"].sum() == pytest.approx(-1.02)
    # what the columns mean is written next to the table, and the totals
    captions = [c.value for c in at.caption]
    assert t("ov.capacity_note", lang, norm="2", unit=t("capunit.doctors", lang)) in captions
    unit = t("capunit.doctors", lang)
    assert t("ov.capacity_totals", lang, short="2.0", unit=unit, k=1, plus="3.0") in captions  # 1.98 short, 3 over


def test_people_are_whole_and_each_unit_written_once(monkeypatch: pytest.MonkeyPatch) -> None:
    at = _app(monkeypatch, DEMO)
    at.selectbox(key=keys.SERVICE).set_value("kindergarten").run()  # children: 3.4 % of the people
    table = _frame(at, t("ov.col.district", "zh"))
    ws = load_workspace(DEMO)
    exact = coverage_by_district(ws, run_service(ws, "kindergarten"))
    assert (exact["covered"] % 1 != 0).any()  # the engine's people are not whole here
    for key in ("ov.col.population", "ov.col.covered", "ov.col.uncovered"):
        col = table[t(key, "zh")]
        assert pd.api.types.is_integer_dtype(col), key
        assert "（人）" in t(key, "zh")  # the unit in the header ...
    # ... and the rows add up to the total row, which is the engine's total rounded
    cov = table[t("ov.col.covered", "zh")]
    assert int(cov.iloc[:-1].sum()) == int(cov.iloc[-1]) == round(float(exact["covered"].sum()))
    for m in at.metric:
        assert not ZERO_DECIMALS.search(m.value), (m.label, m.value)
        assert "人" not in m.value, m.value  # no unit in a card's number
    people = [c.value for c in at.caption if c.value.endswith(f" {t('unit.people', 'zh')}")]
    assert people and not any(ZERO_DECIMALS.search(c) for c in people), people


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_class_table_has_one_row_per_class_each_explained(monkeypatch: pytest.MonkeyPatch, lang: str) -> None:
    at = _app(monkeypatch, TINY, lang)
    table = next(tb.value for tb in at.table if t("ov.col.about", lang) in tb.value.columns)
    names = table[t("ov.col.class", lang)].tolist()
    assert names == [t("class.urban_centre", lang), t("class.urban_cluster", lang), t("class.town_subtotal", lang),
                     t("class.rural", lang), t("class.all", lang)]
    assert len(set(names)) == len(names)
    assert t("class.country", lang) not in names  # the old duplicate of the rural row
    about = table[t("ov.col.about", lang)].tolist()
    assert about == [t(f"class.about.{c}", lang) for c in ("urban_centre", "urban_cluster", "town", "rural", "all")]
    # all the tiny grid is rural: the ratio is undefined, and the page says why
    assert t("ov.town_rural_none", lang) in [c.value for c in at.caption]


def test_service_without_norm_has_no_shortfall_columns(monkeypatch: pytest.MonkeyPatch) -> None:
    at = _app(monkeypatch, TINY)
    at.selectbox(key=keys.SERVICE).set_value("school").run()  # seats, no norm
    table = _frame(at, t("ov.col.district", "zh"))
    assert list(table.columns) == [t(k, "zh") for k in district_columns("seats", norm=False).values()]
    assert t("ov.capacity_no_norm", "zh") in [c.value for c in at.caption]


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_data_page_names_layers_and_sources_in_the_language(monkeypatch: pytest.MonkeyPatch, lang: str) -> None:
    at = _app(monkeypatch, DEMO, lang)
    at.switch_page(DATA_PAGE).run()
    assert not at.exception, [e.value for e in at.exception]
    layers = next(tb.value for tb in at.table if t("data.layer", lang) in tb.value.columns)
    shown = layers[t("data.layer", lang)].tolist()
    spec = load_workspace(DEMO).spec
    assert shown == [t(f"layer.{role}", lang) for role in spec.layers]
    assert not set(shown) & set(spec.layers)  # never a layer's key as its name
    sources = layers[t("word.source", lang)].tolist()
    assert sources == [lay.provenance.source_text(lang) for lay in spec.layers.values()]
    services = next(d.value for d in at.dataframe if t("word.standard", lang) in d.value.columns)
    src = services[t("word.source", lang)].tolist()
    assert src == ["; ".join(v for _, v in s.source_items(lang)) for s in spec.services.values()]
    if lang == "zh":
        cjk = re.compile(r"[\u3400-\u9fff]")
        english = re.compile(r"[A-Za-z]+(?: +[A-Za-z]+){2,}")
        for text in [*sources, *src, *shown, *layers[t("data.col.fields", lang)].tolist()]:
            assert not english.search(text), text
        assert all(cjk.search(s) for s in src), src


def test_key_findings_equal_the_district_table(monkeypatch: pytest.MonkeyPatch) -> None:
    from gisapp.metrics.findings import findings

    at = _app(monkeypatch, DEMO)
    service = next(iter(load_workspace(DEMO).spec.services))  # the first: primary care, 2.77 doctors per 1,000
    table = _frame(at, t("ov.col.district", "zh"))
    ws = load_workspace(DEMO)
    f = findings(ws, run_service(ws, service), places=None)
    rows = table.iloc[:-1]
    assert rows[t("ov.col.uncovered", "zh")].tolist() == f.districts["beyond"].tolist()
    assert int(table[t("ov.col.uncovered", "zh")].iloc[-1]) == f.beyond
    short = table[t("ov.col.short.doctors", "zh")]
    assert f.shortfall is not None and short.iloc[-1] == pytest.approx(f.shortfall)
    assert int((rows[t("ov.col.short.doctors", "zh")] > 0).sum()) == f.short_districts
