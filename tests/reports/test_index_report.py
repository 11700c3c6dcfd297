"""The report's equalisation index (after the key findings) has the numbers of gisapp.metrics.index; with years, a trend.

Read back from the written files of the Chinese tiny workspace (tests/reports/conftest.py): the index
sheet of coverage.xlsx, the index tables of report.html and the text of report.pdf.
"""

from __future__ import annotations

import html as htmllib
import re
import shutil
from io import BytesIO
from typing import Any

import pytest
import yaml
from openpyxl import load_workbook
from pypdf import PdfReader

from gisapp.i18n import t
from gisapp.metrics.index import equalisation_index, sensitivity, sensitivity_table
from gisapp.reports import data as report_data
from gisapp.reports.html import render_html
from gisapp.reports.xlsx import xlsx_bytes
from gisapp.workspace import at_year, load_workspace
from tests.conftest import TINY


def _html_table(page: str, table_id: str) -> tuple[list[str], list[list[str]]]:
    m = re.search(rf'<table[^>]*id="{re.escape(table_id)}"[^>]*>(.*?)</table>', page, re.S)
    assert m, table_id
    rows = [[htmllib.unescape(re.sub(r"<[^>]+>", "", c)).strip()
             for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", tr, re.S)]
            for tr in re.findall(r"<tr[^>]*>(.*?)</tr>", m.group(1), re.S)]
    return rows[0], rows[1:]


def _sheet(wb: Any, name: str) -> tuple[list[Any], list[list[Any]], list[str]]:
    rows = [list(r) for r in wb[name].iter_rows(values_only=True)]
    head = next(i for i, r in enumerate(rows) if sum(v is not None for v in r) > 1)
    return rows[head], rows[head + 1:], [str(r[0]) for r in rows[:head] if r and r[0]]


def test_the_workbook_index_sheet_has_the_numbers_of_the_engine(tiny_zh_report):
    ws, out = tiny_zh_report
    idx = equalisation_index(ws)
    wb = load_workbook(out / "coverage.xlsx", read_only=True)
    assert wb.sheetnames[:2] == [t("rep.sheet.findings", "zh"), t("rep.sheet.index", "zh")], \
        "the index comes right after the key findings"
    headers, rows, notes = _sheet(wb, t("rep.sheet.index", "zh"))
    jn, ji, jr = (headers.index(t(k, "zh")) for k in ("col.district_name", "idx.col.index", "idx.col.rank"))
    by = idx.by_district.set_index("district_name")
    districts = [r for r in rows if r[jr] is not None]
    assert [r[jn] for r in districts] == ["乙区", "甲区"], "highest first"
    for r in districts:
        assert r[ji] == pytest.approx(by.at[r[jn], "index"], rel=1e-9)
        assert r[jr] == by.at[r[jn], "rank"]
    # the class rows under the districts: all rural, the whole area's index
    cls = {r[jn]: r[ji] for r in rows if r[jr] is None}
    assert cls[t("class.rural", "zh")] == pytest.approx(float(idx.by_class.set_index("class").at["rural", "index"]))
    assert cls[t("class.town", "zh")] is None
    # the method is written out above the table: formula, the floor, the weights
    text = " ".join(notes)
    assert t("idx.method.combine", "zh", floor="1") in text
    assert "33.3%" in text and "16.7%" in text, "each indicator's weight share"
    # the sensitivity sheet: each district's rank in every scenario
    sh, srows, _ = _sheet(wb, t("rep.sheet.index_sensitivity", "zh"))
    wide = sensitivity_table(sensitivity(ws))
    assert len(srows) == len(wide)
    for r, (_, w) in zip(srows, wide.iterrows(), strict=True):
        assert r[sh.index(t("col.district_name", "zh"))] == w["district_name"]
        assert r[sh.index(t("idx.col.max_shift", "zh"))] == w["max_shift"]
        assert r[2:-1] == w.iloc[2:-1].tolist()
    wb.close()


def test_the_html_index_section_follows_the_findings_with_the_engine_numbers(tiny_zh_report):
    ws, out = tiny_zh_report
    page = (out / "report.html").read_text(encoding="utf-8")
    assert page.index('id="findings"') < page.index('id="index"') < page.index('id="summary"')
    assert '<a href="#index">' in page
    idx = equalisation_index(ws)
    headers, rows = _html_table(page, "index-table")
    by = idx.by_district.set_index("district_name")
    jn, ji = headers.index(t("col.district_name", "zh")), headers.index(t("idx.col.index", "zh"))
    assert {r[jn]: r[ji] for r in rows} == {n: f"{by.at[n, 'index']:,.1f}" for n in by.index}
    school = next(h for h in headers if h.endswith(t("idx.ind.coverage", "zh")) and h.startswith("学校"))
    assert {r[jn]: r[headers.index(school)] for r in rows} == {"甲区": "0.0", "乙区": "14.1"}
    method = re.search(r'<ul[^>]*id="index-method"[^>]*>(.*?)</ul>', page, re.S)
    assert method and len(re.findall(r"<li>", method.group(1))) == 4
    assert htmllib.escape(t("idx.method.indicators", "zh"), quote=False) in method.group(1)
    _, srows = _html_table(page, "index-sensitivity-table")
    assert len(srows) == 2
    assert 'id="trend"' not in page, "the tiny workspace has no years"


def test_the_pdf_has_the_index_after_the_findings(tiny_zh_report):
    ws, out = tiny_zh_report
    text = re.sub(r"\s+", " ", "\n".join(p.extract_text() for p in PdfReader(out / "report.pdf").pages))
    start = text.index(t("rep.index", "zh") + " ")
    assert text.index(t("rep.findings", "zh")) < start < text.index(t("rep.summary", "zh"))
    section = text[start:text.index(t("rep.summary", "zh"))]
    for _, r in equalisation_index(ws).by_district.iterrows():
        assert f"{r['district_name']} {r['index']:,.1f}" in section, (r["district_name"], section[:300])
    assert t("rep.index_sensitivity", "zh") in section and t("idx.method_title", "zh") in section


# --- the trend section, with years --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def years_ws(tmp_path_factory):
    """The tiny workspace with years: 乙区's clinic opened in 2022, its school closed in 2024."""
    d = tmp_path_factory.mktemp("tiny_years") / "ws"
    shutil.copytree(TINY.parent, d)
    csv = (d / "facilities.csv").read_text(encoding="utf-8").splitlines()
    years = {"C2": ",2022,", "S1": ",,2024"}
    rows = [csv[0] + ",opened,closed"] + [line + years.get(line.split(",")[0], ",,") for line in csv[1:]]
    (d / "facilities.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    p = d / "workspace.yaml"
    raw = yaml.safe_load(p.read_text(encoding="utf-8"))
    raw["layers"]["facilities"]["fields"].update(opened="opened", closed="closed")
    p.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return load_workspace(p)


def test_the_trend_section_shows_the_index_and_coverage_by_year_with_the_change(years_ws: Any) -> None:
    ws = years_ws
    assert ws.years == (2022, 2024)
    data = report_data.collect(ws, lang="en", generated="2024-06-01 12:00")
    tables = dict(report_data.trend_tables(data))
    assert list(tables)[0] == t("rep.trend_index", "en")
    by = {y: equalisation_index(at_year(ws, y)).by_district for y in (2022, 2024)}
    idx = tables[t("rep.trend_index", "en")]
    assert idx.headers[2:] == ["2022", "2024", t("rep.trend_change", "en", first=2022, last=2024)]
    for r, (_, a), (_, b) in zip(idx.rows, by[2022].iterrows(), by[2024].iterrows(), strict=True):
        assert r[2:4] == pytest.approx([a["index"], b["index"]])
        assert r[4] == pytest.approx(b["index"] - a["index"])
    # by hand: 乙区's school closed in 2024, so its school coverage fell from 21 / 149 children to none
    school = tables[t("rep.trend_coverage", "en", service="School")]
    yi = next(r for r in school.rows if r[1] == "乙区")
    assert yi[2:] == pytest.approx([100 * 21 / 149, 0.0, -100 * 21 / 149])
    clinic = tables[t("rep.trend_coverage", "en", service="Clinic")]
    assert next(r for r in clinic.rows if r[1] == "乙区")[4] == pytest.approx(0.0), "open in both years"
    page = render_html(data, charts={}, base_tiles=False)
    assert page.index('id="index"') < page.index('id="trend"') < page.index('id="summary"')
    _, rows = _html_table(page, "trend-0")
    assert rows[1][2:] == [f"{v:,.1f}" for v in idx.rows[1][2:]]
    wb = load_workbook(BytesIO(xlsx_bytes(data)), read_only=True)
    assert t("rep.sheet.trend", "en") in wb.sheetnames
    _, trows, notes = _sheet(wb, t("rep.sheet.trend", "en"))
    assert [r[0] for r in trows].count(t("rep.trend_index", "en")) == len(ws.districts)
    assert "2022, 2024" in " ".join(notes)
    wb.close()
