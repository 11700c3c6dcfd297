"""The overview opens with the equalisation index per district, in the chosen language, with a way to its services."""

from __future__ import annotations

import re

import pytest
from streamlit.testing.v1 import AppTest

from gisapp.i18n import t
from gisapp.metrics.index import equalisation_index, indicator_label, sensitivity
from gisapp.ui import index_view, keys
from gisapp.workspace import load_workspace
from tests.conftest import ROOT, TINY

APP = str(ROOT / "streamlit_app.py")
TIMEOUT_S = 300
CJK = re.compile(r"[\u3400-\u9fff]")
#: three or more ASCII words in a row: an English sentence (as tests/ui/test_app.py)
ENGLISH_RUN = re.compile(r"[A-Za-z][A-Za-z'’-]*(?:[ ,]+[A-Za-z][A-Za-z'’-]*){2,}")
RAW_KEY = re.compile(r"\b(?:idx|rep|ov|fv|word|col)\.[a-z_]+(?:\.[a-z0-9_]+)*\b")


def _app(monkeypatch: pytest.MonkeyPatch, lang: str = "zh") -> AppTest:
    monkeypatch.setenv("GISAPP_WORKSPACE", str(TINY))
    at = AppTest.from_file(APP, default_timeout=TIMEOUT_S)
    at.run()
    if lang != "zh":
        at.radio(key=keys.LANG).set_value(lang).run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    return at


def _index_texts(at: AppTest) -> list[str]:
    """Every text of the index block: headings, table headers and text cells, cards, captions, expanders."""
    out: list[str] = [at.subheader[0].value]
    for d in at.dataframe[:3]:  # the index, the district's components, the sensitivity
        out += [str(c) for c in d.value.columns]
        out += [str(v) for v in d.value.to_numpy().ravel() if isinstance(v, str)]
    for m in at.metric[:3]:
        out += [m.label, m.help or ""]
    out += [c.value for c in at.caption if t("idx.caption", "zh", n=4)[:6] in c.value or "0-100" in c.value]
    out += [e.label for e in at.expander]
    out += [m.value for m in at.markdown]
    out += [at.selectbox(key=index_view.DISTRICT_KEY).label, at.selectbox(key=index_view.SERVICE_KEY).label,
            at.button(key=index_view.OPEN_KEY).label]
    out += list(at.selectbox(key=index_view.SERVICE_KEY).options)
    return [s for s in out if s]


def test_the_overview_opens_with_the_index_per_district(monkeypatch):
    at = _app(monkeypatch)
    ws = load_workspace(TINY)
    idx = equalisation_index(ws)
    # the first heading, the first table and the first card of the page are the index's
    assert at.subheader[0].value == t("idx.title", "zh")
    assert [h.value for h in at.subheader].index(t("fv.title", "zh")) > 0, "the index comes before the key findings"
    first = at.dataframe[0].value
    assert list(first.columns[:3]) == [t("idx.col.rank", "zh"), t("idx.col.district", "zh"), t("idx.col.index", "zh")]
    assert list(first.columns[3:]) == [t("idx.col.weakest", "zh"), t("idx.col.weakest_score", "zh")]
    # each district's weakest indicator is its lowest component
    for _, row in first.iterrows():
        comps = idx.by_district.set_index("district_name").loc[row[t("idx.col.district", "zh")], list(idx.columns)]
        low = comps.astype(float).idxmin()
        assert row[t("idx.col.weakest", "zh")] == indicator_label(ws.spec, low, "zh")
        assert row[t("idx.col.weakest_score", "zh")] == pytest.approx(float(comps[low]))
    # sorted, highest first, with the engine's numbers
    assert first[t("idx.col.district", "zh")].tolist() == ["乙区", "甲区"]
    by = idx.by_district.set_index("district_name")
    assert first[t("idx.col.index", "zh")].tolist() == pytest.approx([by.at["乙区", "index"], by.at["甲区", "index"]])
    assert first[t("idx.col.rank", "zh")].tolist() == [1.0, 2.0]
    assert at.metric[0].label == t("idx.ratio", "zh") and at.metric[0].value == "—"  # the tiny grid is all rural
    assert at.metric[1].label == t("idx.range", "zh")
    assert at.metric[1].value == f"{idx.spread['range']:,.1f}"
    assert at.metric[2].value == f"{idx.spread['cv']:,.2f}"
    # the lowest district's services are shown first: 甲区, its school at 0 %
    assert at.selectbox(key=index_view.DISTRICT_KEY).value == "甲区"
    comp = at.dataframe[1].value
    score = dict(zip(comp[t("idx.comp.indicator", "zh")] + "/" + comp[t("word.service", "zh")],
                     comp[t("idx.comp.score", "zh")], strict=True))
    assert score["覆盖率/学校"] == 0.0 and score["千人容量/诊所"] == 100.0 and score["覆盖率/诊所"] == pytest.approx(18.0)
    assert at.selectbox(key=index_view.SERVICE_KEY).value == "school", "the weakest service of the district"
    # the sensitivity table (built only while its expander is open): each district's rank under every scenario
    n_closed = len(at.dataframe)
    assert t("idx.col.max_shift", "zh") not in [c for d in at.dataframe for c in d.value.columns]
    at.session_state[index_view.SENSITIVITY_KEY] = True  # the planner opens the expander
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert len(at.dataframe) == n_closed + 1
    sens = at.dataframe[2].value
    expected = sensitivity(ws)
    assert len(sens.columns) == expected["scenario"].nunique() + 1
    assert sens.index.tolist() == ["甲区", "乙区"]
    assert sens[t("idx.col.max_shift", "zh")].tolist() == [0.0, 0.0]


def test_picking_another_district_shows_its_services(monkeypatch):
    at = _app(monkeypatch)
    at.selectbox(key=index_view.DISTRICT_KEY).set_value("乙区").run()
    assert not at.exception
    comp = at.dataframe[1].value
    cap = comp[comp[t("idx.comp.indicator", "zh")] == t("idx.ind.capacity", "zh")]
    assert cap[t("idx.comp.score", "zh")].tolist() == pytest.approx([100 * (1000 / 1490) / 2.0])
    assert cap[t("idx.comp.value", "zh")].tolist() == ["每千人 0.67 名医生"]


def test_the_button_opens_the_map_of_the_chosen_service_at_the_district(monkeypatch):
    at = _app(monkeypatch)
    assert at.selectbox(key=keys.SERVICE).value == "clinic"
    at.selectbox(key=index_view.SERVICE_KEY).set_value("school").run()
    at.button(key=index_view.OPEN_KEY).click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.selectbox(key=keys.SERVICE).value == "school", "the sidebar's service is the one chosen"
    assert "学校" in at.title[0].value, at.title[0].value
    assert at.session_state[keys.FOCUS]["label"] == "甲区", "the map is zoomed to the district"


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_word_of_the_index_is_in_the_chosen_language(monkeypatch, lang):
    at = _app(monkeypatch, lang)
    at.session_state[index_view.SENSITIVITY_KEY] = True  # the sensitivity's texts too
    at.run()
    texts = _index_texts(at)
    assert at.subheader[0].value == t("idx.title", lang)
    assert [m.group(0) for s in texts for m in RAW_KEY.finditer(s)] == []
    if lang == "zh":
        assert [s for s in texts if ENGLISH_RUN.search(s)] == []
    else:
        names = ("甲区", "乙区")  # the district names of the fixture are Chinese
        left = [s for s in texts if CJK.search(re.sub("|".join(names), "", s))]
        assert left == []
        assert t("idx.col.index", "en") in at.dataframe[0].value.columns


def test_the_index_follows_the_year_chosen_in_the_sidebar(monkeypatch, tmp_path):
    """The tiny workspace with years: 乙区's clinic opened in 2022, its school closed in 2024."""
    import shutil

    import yaml

    from gisapp.workspace import at_year

    d = tmp_path / "ws"
    shutil.copytree(TINY.parent, d)
    csv = (d / "facilities.csv").read_text(encoding="utf-8").splitlines()
    years = {"C2": ",2022,", "S1": ",,2024"}
    rows = [csv[0] + ",opened,closed"] + [line + years.get(line.split(",")[0], ",,") for line in csv[1:]]
    (d / "facilities.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    p = d / "workspace.yaml"
    raw = yaml.safe_load(p.read_text(encoding="utf-8"))
    raw["layers"]["facilities"]["fields"].update(opened="opened", closed="closed")
    p.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    ws = load_workspace(p)
    monkeypatch.setenv("GISAPP_WORKSPACE", str(p))
    at = AppTest.from_file(APP, default_timeout=TIMEOUT_S)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    shown: dict[int, dict[str, float]] = {}
    for year in (2024, 2022):
        if year != 2024:  # the latest year is the default
            at.selectbox(key=keys.YEAR).set_value(year).run()
            assert not at.exception, [e.value for e in at.exception]
        assert t("idx.year", "zh", year=year) in [c.value for c in at.caption]
        first = at.dataframe[0].value
        shown[year] = dict(zip(first[t("idx.col.district", "zh")], first[t("idx.col.index", "zh")], strict=True))
        own = equalisation_index(at_year(ws, year)).by_district
        assert shown[year] == pytest.approx(dict(zip(own["district_name"], own["index"], strict=True)))
    # the school of 乙区 closed in 2024: its index fell; 甲区 kept its facility and its index
    assert shown[2024]["乙区"] < shown[2022]["乙区"]
    assert shown[2024]["甲区"] == pytest.approx(shown[2022]["甲区"])
