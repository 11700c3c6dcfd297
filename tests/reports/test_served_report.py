"""Reports show people served within capacity (AccessMod style) by district (issue 11): HTML, PDF, XLSX."""

from __future__ import annotations

import html

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader

from gisapp.i18n import t
from gisapp.metrics.served import served_total_text, served_within_capacity
from gisapp.metrics.service import run_service
from gisapp.reports import data as report_data
from gisapp.reports import write as reports

GENERATED = "2024-06-01 12:00"


@pytest.fixture(scope="module", params=["zh", "en"])
def served_report(request, tiny_ws, tmp_path_factory):
    lang = request.param
    out = tmp_path_factory.mktemp(f"served_{lang}")
    reports.write_report(tiny_ws, out, lang=lang, progress=False, generated=GENERATED, base_tiles=False)
    return lang, out


def _sheet_rows(sheet):
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    head = next(i for i, r in enumerate(rows) if sum(v is not None for v in r) > 1)
    return rows[:head], rows[head], rows[head + 1:]


def test_the_served_table_of_the_report_data(tiny_ws):
    data = report_data.collect(tiny_ws, lang="en", generated=GENERATED)
    by = {sr.name: sr for sr in data.services}
    table = report_data.served_table(by["clinic"], "en")
    assert table is not None and table.total
    j = table.headers.index(t("col.served", "en"))
    # by hand: C1 serves its 90 people in A, C2 (one doctor = 500 people) half of its 1,000-people cell in B
    assert [r[j] for r in table.rows] == [90, 500, 590]
    assert report_data.served_table(by["clinic_time"], "en") is None  # no capacity field
    assert report_data.served_lines(by["clinic_time"], "en") == []
    school = report_data.served_table(by["school"], "en")
    assert school is not None
    sv = served_within_capacity(tiny_ws, run_service(tiny_ws, "school"))
    assert school.rows[-1][j] == round(sv.served)


def test_html_pdf_and_xlsx_show_it(tiny_ws, served_report):
    lang, out = served_report
    sv = served_within_capacity(tiny_ws, run_service(tiny_ws, "clinic"))
    total = served_total_text(sv, lang)
    page = html.unescape((out / "report.html").read_text(encoding="utf-8"))
    assert 'id="served-clinic"' in page and total in page
    for line in sv.texts(lang):  # the conversion and the straight-line notice
        assert line in page
    assert 'id="served-clinic_time"' not in page
    wb = load_workbook(out / "coverage.xlsx", read_only=True)
    name = t("rep.sheet.served", lang, service=report_data.short_title(tiny_ws.spec.services["clinic"], lang))
    assert name[:31] in wb.sheetnames
    notes, headers, rows = _sheet_rows(wb[name[:31]])
    col = headers.index(t("col.served", lang))
    assert [r[col] for r in rows] == [90, 500, 590]
    assert all(isinstance(r[col], int) for r in rows)
    assert any(total in str(n[0]) for n in notes)
    text = "".join(p.extract_text() for p in PdfReader(out / "report.pdf").pages)
    assert t("served.title", lang).split(" (")[0] in text
