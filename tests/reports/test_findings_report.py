"""The key findings (主要结论) open every report, and each figure equals the figure of its district table.

Both sides are read back from the written files: the findings sheet and the district sheets of
coverage.xlsx, the findings table and the district tables of report.html, and page 1 of
report.pdf (text extracted with pypdf).
"""

from __future__ import annotations

import html as htmllib
import re
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader

from gisapp.i18n import t
from gisapp.reports.data import short_title

REPORTS = ["tiny_zh_report", pytest.param("demo_zh_report", marks=pytest.mark.slow)]


def _sheet(wb: Any, name: str) -> tuple[list[Any], list[list[Any]]]:
    rows = [list(r) for r in wb[name].iter_rows(values_only=True)]
    head = next(i for i, r in enumerate(rows) if sum(v is not None for v in r) > 1)
    return rows[head], rows[head + 1:]


def _districts(ws: Any, wb: Any, svc: str) -> tuple[list[Any], list[list[Any]], list[Any]]:
    spec = ws.spec.services[svc]
    headers, rows = _sheet(wb, t("rep.sheet.district", "zh", service=short_title(spec, "zh")))
    return headers, rows[:-1], rows[-1]


def _html_table(page: str, table_id: str) -> tuple[list[str], list[list[str]]]:
    m = re.search(rf'<table[^>]*id="{re.escape(table_id)}"[^>]*>(.*?)</table>', page, re.S)
    assert m, table_id
    rows = [[htmllib.unescape(re.sub(r"<[^>]+>", "", c)).strip()
             for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", tr, re.S)]
            for tr in re.findall(r"<tr[^>]*>(.*?)</tr>", m.group(1), re.S)]
    return rows[0], rows[1:]


@pytest.fixture(params=REPORTS)
def report(request) -> tuple[Any, Path]:
    return request.getfixturevalue(request.param)


def test_the_workbook_opens_with_the_findings_and_each_figure_equals_its_district_table(report):
    ws, out = report
    wb = load_workbook(out / "coverage.xlsx", read_only=True)
    assert wb.sheetnames[0] == t("rep.sheet.findings", "zh")
    fh, frows = _sheet(wb, t("rep.sheet.findings", "zh"))
    assert len(frows) == len(ws.spec.services)
    names = ws.districts["district_name"].tolist()
    for svc, frow in zip(ws.spec.services, frows, strict=True):
        spec = ws.spec.services[svc]
        assert frow[fh.index(t("col.service_name", "zh"))] == spec.title("zh")
        headers, body, total = _districts(ws, wb, svc)
        unc = {r[headers.index(t("col.district_name", "zh"))]: r[headers.index(t("col.uncovered", "zh"))]
               for r in body}
        pop = {r[headers.index(t("col.district_name", "zh"))]: r[headers.index(t("col.population", "zh"))]
               for r in body}
        for name in names:
            got = frow[fh.index(t("col.district_beyond", "zh", district=name))]
            assert got == (unc[name] if pop[name] > 0 else None), (svc, name)
        assert frow[fh.index(t("col.people_beyond", "zh"))] == total[headers.index(t("col.uncovered", "zh"))]
        pct = {r[headers.index(t("col.district_name", "zh"))]: r[headers.index(t("col.covered_pct", "zh"))]
               for r in body if r[headers.index(t("col.population", "zh"))] > 0}
        worst = min(pct, key=lambda k: pct[k])
        assert frow[fh.index(t("col.worst_pct", "zh"))] == pytest.approx(pct[worst])
        assert pct[frow[fh.index(t("col.worst_district", "zh"))]] == pytest.approx(pct[worst])
        if spec.capacity and spec.norm_per_1000 is not None:
            c = t(f"cap.{spec.capacity}", "zh")
            js, jp = headers.index(t("col.shortfall", "zh", cap=c)), headers.index(t("col.surplus", "zh", cap=c))
            assert all(r[js] >= 0 and r[jp] >= 0 for r in body), "both columns are positive or zero"
            assert total[js] == pytest.approx(sum(r[js] for r in body)), "the total adds shortfalls only"
            assert total[jp] == pytest.approx(sum(r[jp] for r in body))
            assert frow[fh.index(t("col.shortfall_total", "zh"))] == pytest.approx(total[js])
            assert frow[fh.index(t("col.capacity_unit", "zh"))] == t(f"capunit.{spec.capacity}", "zh")
            assert t("col.capacity_gap", "zh", cap=c) not in headers, "no netted gap column"
        else:
            assert frow[fh.index(t("col.shortfall_total", "zh"))] is None
    wb.close()


def test_the_html_opens_with_the_findings_and_each_figure_equals_its_district_table(report):
    ws, out = report
    page = (out / "report.html").read_text(encoding="utf-8")
    body = re.sub(r'srcdoc="[^"]*"', "", page)
    assert body.index('id="findings"') < body.index('id="summary"') < body.index('id="svc-')
    fh, frows = _html_table(body, "findings-table")
    for svc, frow in zip(ws.spec.services, frows, strict=True):
        headers, rows = _html_table(body, f"districts-{svc}")
        rows, total = rows[:-1], rows[-1]
        j = headers.index(t("col.uncovered", "zh"))
        jp = headers.index(t("col.population", "zh"))
        for r in rows:
            name = r[headers.index(t("col.district_name", "zh"))]
            got = frow[fh.index(t("col.district_beyond", "zh", district=name))]
            assert got == (r[j] if r[jp] != "0" else ""), (svc, name)
        assert frow[fh.index(t("col.people_beyond", "zh"))] == total[j]
        spec = ws.spec.services[svc]
        if spec.capacity and spec.norm_per_1000 is not None:
            c = t(f"cap.{spec.capacity}", "zh")
            assert frow[fh.index(t("col.shortfall_total", "zh"))] == total[headers.index(t("col.shortfall", "zh", cap=c))]
            assert f'id="capacity-note-{svc}"' in body, "the meaning of the capacity columns is written next to them"
    # the sentences follow the table, one block per service
    for svc in ws.spec.services:
        assert ws.spec.services[svc].title("zh") + "：" in body


def _page_one(out: Path) -> str:
    """The findings: page 1 of the PDF and, with many services, the pages they run on to (up to the index)."""
    pages = PdfReader(out / "report.pdf").pages
    text = pages[0].extract_text()
    assert text.lstrip().startswith(t("app.title", "zh")) or t("rep.findings", "zh") in text
    end = t("rep.index", "zh")
    for p in pages[1:4]:
        if end in re.sub(r"\s+", " ", text):
            break
        text += "\n" + p.extract_text()
    text = re.sub(r"\s+", " ", text)
    return text.split(end)[0] if end in text else text


def test_page_one_of_the_pdf_names_each_district_with_its_people_beyond_the_standard(report):
    ws, out = report
    page = _page_one(out)
    assert t("rep.findings", "zh") in page
    wb = load_workbook(out / "coverage.xlsx", read_only=True)
    titles = [ws.spec.services[s].title("zh") for s in ws.spec.services]
    for i, svc in enumerate(ws.spec.services):
        # the sentences of this service: from "<title>：" to the next service's
        start = page.index(titles[i] + "：")
        end = page.find(titles[i + 1] + "：", start) if i + 1 < len(titles) else len(page)
        part = page[start:end]
        headers, body, total = _districts(ws, wb, svc)
        jn, ju, jp = (headers.index(t(k, "zh")) for k in ("col.district_name", "col.uncovered", "col.population"))
        assert f"{total[ju]:,} 人超出服务标准" in part.replace("  ", " "), (svc, part[:80])
        for r in body:
            if r[jp] > 0:
                assert f"{r[jn]} {r[ju]:,} 人" in part, (svc, r[jn], r[ju], part)
    wb.close()
