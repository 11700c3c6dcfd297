"""Reports: open every output and check its content against the engine's numbers."""

from __future__ import annotations

import html
import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
from geopandas.testing import assert_geodataframe_equal
from openpyxl import load_workbook
from pypdf import PdfReader

from gisapp._errors import GisAppError
from gisapp.i18n import t
from gisapp.io import assets
from gisapp.io import atomic as atomic_io
from gisapp.metrics import gaps, service, tables
from gisapp.reports import charts
from gisapp.reports import data as report_data
from gisapp.reports import write as reports

GENERATED = "2024-06-01 12:00"
REMOTE_TAG = re.compile(r"<(?:script|link)\b[^>]*\b(?:src|href)\s*=\s*[\"']?(?:https?:)?//", re.I)


@pytest.fixture(scope="module")
def tiny_report(tiny_ws, tmp_path_factory):
    out = tmp_path_factory.mktemp("tiny_report")
    paths = reports.write_report(tiny_ws, out, lang="zh", progress=False, generated=GENERATED)
    return out, paths


def _sheet_rows(ws_xl):
    """Return (headers, data rows) of a report sheet: notes, one header row, then data."""
    rows = [list(r) for r in ws_xl.iter_rows(values_only=True)]
    head = next(i for i, r in enumerate(rows) if sum(v is not None for v in r) > 1)
    return rows[head], rows[head + 1:]


def _col(headers, key, **kw):
    return headers.index(t(key, "zh", **kw))


def test_writes_the_four_files(tiny_report):
    out, paths = tiny_report
    assert [p.name for p in paths] == ["report.html", "coverage.xlsx", "layers.gpkg", "report.pdf"]
    assert all(p.is_file() and p.stat().st_size > 0 for p in paths)
    assert not list(out.glob(".*part*")), "no temporary file may remain"


def test_xlsx_totals_equal_the_engine(tiny_ws, tiny_report):
    out, _ = tiny_report
    wb = load_workbook(out / "coverage.xlsx", read_only=True)
    names = wb.sheetnames
    for key in ("rep.sheet.summary", "rep.sheet.gaps", "rep.sheet.standards", "rep.sheet.provenance",
                "rep.sheet.consortia"):
        assert t(key, "zh") in names
    assert names[0] == t("rep.sheet.findings", "zh"), "the key findings come first"
    for svc in tiny_ws.spec.services:
        res = service.run_service(tiny_ws, svc)
        cov = tables.coverage_by_district(tiny_ws, res)
        spec = tiny_ws.spec.services[svc]
        headers, rows = _sheet_rows(wb[t("rep.sheet.district", "zh", service=report_data.short_title(spec, "zh"))])
        assert "需求人口 (人)" in headers and "覆盖率 (%)" in headers
        body, total = rows[:-1], rows[-1]
        assert total[_col(headers, "col.district_name")] == t("rep.total", "zh")
        assert [r[_col(headers, "col.district_name")] for r in body] == cov["district_name"].tolist()
        for key, col in (("col.population", "population"), ("col.covered", "covered"),
                         ("col.uncovered", "uncovered")):
            j = _col(headers, key)
            vals = [r[j] for r in body]
            assert all(isinstance(v, int) for v in vals), "people are whole numbers, stored as numbers"
            assert sum(vals) == total[j]
            # each row within one person of the exact figure; the total within one person of the exact total
            assert vals == pytest.approx(cov[col].tolist(), abs=1.0)
            assert total[j] == pytest.approx(cov[col].sum(), abs=1.0)
        for r in body:
            assert r[_col(headers, "col.population")] == r[_col(headers, "col.covered")] + r[_col(headers, "col.uncovered")]
        s = tables.summary(tiny_ws, res)
        assert total[_col(headers, "col.covered_pct")] == pytest.approx(s["covered_pct"])
        headers, rows = _sheet_rows(wb[t("rep.sheet.class", "zh", service=report_data.short_title(spec, "zh"))])
        cls = tables.coverage_by_class(tiny_ws, res).set_index("class")
        assert [r[0] for r in rows] == [t(f"class.{c}", "zh") for c in report_data.CLASS_ROWS], "one row per class"
        got = [r[_col(headers, "col.covered")] for r in rows]
        assert got == pytest.approx(cls.loc[list(report_data.CLASS_ROWS), "covered"].tolist(), abs=1.0)
        assert all(r[_col(headers, "col.description")] for r in rows), "each class is explained"
    # gaps by place: every place with at least one person beyond the standard, per service
    from gisapp.metrics.places import gap_places

    headers, rows = _sheet_rows(wb[t("rep.sheet.gaps", "zh")])
    for svc in tiny_ws.spec.services:
        g = gap_places(tiny_ws, service.run_service(tiny_ws, svc))
        g = g[g["people"] >= report_data.XLSX_GAP_MIN_PEOPLE]
        mine = [r for r in rows if r[0] == tiny_ws.spec.services[svc].title("zh")]
        assert len(mine) == len(g)
        assert sum(r[_col(headers, "col.people_beyond")] for r in mine) == g["people"].sum()
    headers, rows = _sheet_rows(wb[t("rep.sheet.provenance", "zh")])
    assert {r[0] for r in rows} == {t(f"layer.{k}", "zh") for k in ("population", "districts", "facilities")}
    assert all(r[_col(headers, "col.status")] == t("word.synthetic", "zh") for r in rows)
    headers, rows = _sheet_rows(wb[t("rep.sheet.standards", "zh")])
    assert any(r[_col(headers, "col.source")] == "test" for r in rows)
    wb.close()


def test_gpkg_layers_crs_and_counts(tiny_ws, tiny_report):
    out, _ = tiny_report
    path = out / "layers.gpkg"
    assert {name for name, _ in pyogrio.list_layers(path)} == {"districts", "facilities", "gaps", "coverage_grid"}
    expected_gaps = 0
    for svc in tiny_ws.spec.services:
        expected_gaps += len(gaps.gap_areas(tiny_ws, service.run_service(tiny_ws, svc)))
    counts = {"districts": len(tiny_ws.districts), "facilities": len(tiny_ws.facilities), "gaps": expected_gaps,
              "coverage_grid": int((tiny_ws.grid.pop > 0).sum())}
    layers = {}
    for name, n in counts.items():
        gdf = gpd.read_file(path, layer=name, engine="pyogrio")
        assert gdf.crs is not None and gdf.crs.equals(tiny_ws.crs), name
        assert len(gdf) == n, name
        layers[name] = gdf
    res = service.run_service(tiny_ws, "clinic")
    cov = tables.coverage_by_district(tiny_ws, res)
    d = layers["districts"]
    np.testing.assert_allclose(d[report_data.district_metric_column("clinic", "covered")], cov["covered"])
    grid = layers["coverage_grid"]
    sel = np.flatnonzero(tiny_ws.grid.pop > 0)
    np.testing.assert_array_equal(grid[report_data.grid_metric_column("clinic", "covered")].to_numpy(),
                                  res.covered[sel].astype(int))
    assert set(layers["gaps"]["service"]) <= set(tiny_ws.spec.services)
    served = layers["facilities"][report_data.facility_metric_column("clinic", "served")]
    assert np.nansum(served) == pytest.approx(res.demand[res.eligible].sum())


def test_pdf_has_the_chinese_text(tiny_ws, tiny_report):
    out, _ = tiny_report
    text = "".join(p.extract_text() for p in PdfReader(out / "report.pdf").pages)
    for name in tiny_ws.districts["district_name"]:
        assert name in text
    for needle in ("数据说明", "合成数据", "服务标准及来源", "医共体与教共体", "诊所"):
        assert needle in text


def test_html_is_self_contained_with_map_and_tables(tiny_ws, tiny_report):
    out, _ = tiny_report
    page = (out / "report.html").read_text(encoding="utf-8")
    docs = [html.unescape(d) for d in re.findall(r'srcdoc="([^"]*)"', page)]
    assert len(docs) == len(tiny_ws.spec.services)
    for doc in [page, *docs]:
        assert not REMOTE_TAG.search(doc), "no script or stylesheet may load from the network"
    for doc in docs:
        assert "L.map(" in doc and "leaflet" in doc.lower()
    # provenance notice comes first, then the tables
    assert page.index('id="data-notice"') < page.index('id="summary-table"')
    for svc in tiny_ws.spec.services:
        assert f'id="districts-{svc}"' in page and f'id="classes-{svc}"' in page
    for name in tiny_ws.districts["district_name"]:
        assert name in page
    assert 'id="provenance-table"' in page and 'id="standards-table"' in page
    assert page.count("data:image/png;base64,") >= 3 * len(tiny_ws.spec.services)


def test_same_inputs_give_the_same_tables(tiny_ws, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    for d in (a, b):
        reports.write_report(tiny_ws, d, formats=("xlsx", "gpkg"), progress=False, generated=GENERATED)
    wa, wb = load_workbook(a / "coverage.xlsx"), load_workbook(b / "coverage.xlsx")
    assert wa.sheetnames == wb.sheetnames
    for name in wa.sheetnames:
        assert list(wa[name].values) == list(wb[name].values), name
    for layer, _ in pyogrio.list_layers(a / "layers.gpkg"):
        ga = gpd.read_file(a / "layers.gpkg", layer=layer, engine="pyogrio")
        gb = gpd.read_file(b / "layers.gpkg", layer=layer, engine="pyogrio")
        assert_geodataframe_equal(ga, gb, check_crs=True)


def test_failed_export_leaves_the_old_files(tiny_ws, tmp_path, monkeypatch):
    reports.write_report(tiny_ws, tmp_path, formats=("xlsx", "gpkg"), services=["clinic"], progress=False,
                         generated=GENERATED)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}

    def broken(path, layers, options):
        path.write_bytes(b"half a geopackage")
        msg = "disk full"
        raise OSError(msg)

    monkeypatch.setattr(atomic_io, "_write_gpkg", broken)
    with pytest.raises(OSError, match="disk full"):
        reports.write_report(tiny_ws, tmp_path, formats=("xlsx", "gpkg"), services=["school"], progress=False)
    after = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    assert after == before, "the good files stay, byte for byte, and no temporary file remains"
    # a first export that fails leaves nothing behind
    fresh = tmp_path / "fresh"
    with pytest.raises(OSError):
        reports.write_report(tiny_ws, fresh, formats=("xlsx", "gpkg"), progress=False)
    assert not fresh.exists() or not list(fresh.iterdir())


def test_progress_callback_reaches_one(tiny_ws, tmp_path):
    seen: list[tuple[float, str]] = []
    reports.write_report(tiny_ws, tmp_path, formats=("xlsx",), services=["clinic"], progress=False,
                         on_progress=lambda f, m: seen.append((f, m)), lang="en")
    fractions = [f for f, _ in seen]
    assert fractions == sorted(fractions) and fractions[-1] == pytest.approx(1.0)
    assert all(isinstance(m, str) and m for _, m in seen)
    wb = load_workbook(tmp_path / "coverage.xlsx", read_only=True)
    headers, _ = _sheet_rows(wb["Clinic districts"])
    assert "Demand population (people)" in headers and "Covered share (%)" in headers
    wb.close()


def test_errors_are_clear(tiny_ws, tmp_path, monkeypatch):
    with pytest.raises(GisAppError, match="Unknown service") as ei:
        reports.write_report(tiny_ws, tmp_path, services=["nope"], formats=("xlsx",), progress=False)
    assert ei.value.code == "report_unknown_services" and "nope" in ei.value.text("zh")
    with pytest.raises(GisAppError, match="formats must be") as ei:
        reports.write_report(tiny_ws, tmp_path, formats=("docx",), progress=False)
    assert ei.value.code == "report_formats"
    with pytest.raises(GisAppError, match="lang must be") as ei:
        reports.write_report(tiny_ws, tmp_path, formats=("xlsx",), lang="fr", progress=False)
    assert ei.value.code == "report_lang"

    monkeypatch.setattr(assets, "CJK_FONT_PATHS", ("/nonexistent/font.ttf",))
    charts.find_cjk_font.cache_clear()
    try:
        with pytest.raises(GisAppError, match="fonts-droid-fallback") as ei:
            reports.write_report(tiny_ws, tmp_path, formats=("pdf",), progress=False)
        assert ei.value.code == "report_no_cjk_font" and "fonts-droid-fallback" in ei.value.text("zh")
    finally:
        monkeypatch.undo()
        charts.find_cjk_font.cache_clear()
    assert not list(Path(tmp_path).iterdir())


def test_an_output_folder_that_is_a_file_is_a_clear_error(tiny_ws, tmp_path):
    not_a_folder = tmp_path / "out"
    not_a_folder.write_text("a file", encoding="utf-8")
    with pytest.raises(GisAppError) as ei:
        reports.write_report(tiny_ws, not_a_folder, formats=("xlsx",), services=["clinic"], progress=False)
    assert ei.value.code == "output_is_file"
    for lang in ("zh", "en"):  # the file's name, never the server's folders
        assert "out" in ei.value.text(lang) and str(tmp_path) not in ei.value.text(lang)
    assert not_a_folder.read_text(encoding="utf-8") == "a file"


@pytest.mark.slow
def test_demo_pdf_and_xlsx(demo_ws, tmp_path):
    svc = "primary_care"
    reports.write_report(demo_ws, tmp_path, services=[svc], formats=("xlsx", "pdf"), progress=False,
                         generated=GENERATED)
    text = "".join(p.extract_text() for p in PdfReader(tmp_path / "report.pdf").pages)
    for name in ("东区", "西区", "仁和区", "米易县", "盐边县"):
        assert name in text
    assert "合成数据" in text and "真实数据" in text
    res = service.run_service(demo_ws, svc)
    cov = tables.coverage_by_district(demo_ws, res)
    wb = load_workbook(tmp_path / "coverage.xlsx", read_only=True)
    headers, rows = _sheet_rows(wb[t("rep.sheet.district", "zh", service="基层医疗")])
    body, total = rows[:-1], rows[-1]
    for key, col in (("col.population", "population"), ("col.covered", "covered"), ("col.uncovered", "uncovered")):
        j = _col(headers, key)
        assert sum(r[j] for r in body) == total[j]
        assert total[j] == pytest.approx(cov[col].sum(), abs=1.0)
    wb.close()


def test_map_layers_are_defined_before_the_layer_control(tiny_report):
    """Every layer the layer control lists is created earlier in the map's script."""
    out, _ = tiny_report
    page = (out / "report.html").read_text(encoding="utf-8")
    for doc in (html.unescape(d) for d in re.findall(r'srcdoc="([^"]*)"', page)):
        script = re.findall(r"<script>(.*?)</script>", doc, re.S)[-1]
        control = script.index("L.control.layers(")
        listed = re.findall(r'"[^"]*"\s*:\s*(\w+),', script[script.rindex("overlays", 0, control):control])
        assert listed, "the layer control lists the overlays"
        for var in listed:
            assert script.index(f"var {var} =") < control, var
        assert "tile.openstreetmap.org" in script, "base tiles are offered as an optional layer"


@pytest.mark.parametrize("module", ["gisapp.reports.data", "gisapp.reports.write", "gisapp.reports.html",
                                    "gisapp.io.assets", "gisapp.io.atomic"])
def test_docstring_examples(module):
    import doctest
    import importlib

    res = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS)
    assert res.failed == 0


def test_cli_report_prints_the_paths(tiny_path, tmp_path, capsys):
    from gisapp.cli import main

    assert main(["report", "--out", str(tmp_path), "--workspace", str(tiny_path), "--services", "clinic",
                 "--lang", "en", "--quiet"]) == 0
    printed = capsys.readouterr().out.split()
    assert [Path(p).name for p in printed] == ["report.html", "coverage.xlsx", "layers.gpkg", "report.pdf"]
    text = "".join(p.extract_text() for p in PdfReader(tmp_path / "report.pdf").pages)
    assert "Real layers" in text and "Synthetic layers" in text


def test_report_in_terrain_mode_uses_minutes(tmp_path, tiny_ws):
    import openpyxl

    from gisapp.reports.write import write_report

    paths = write_report(tiny_ws, tmp_path, services=["clinic"], lang="en", progress=False,
                         formats=("xlsx",), travel="terrain")
    wb = openpyxl.load_workbook(paths[0], data_only=True)
    text = " ".join(str(c.value) for ws_ in wb.worksheets for row in ws_.iter_rows() for c in row if c.value)
    assert "1120" in text.replace(",", "").replace(".0", "")  # covered people in district B, terrain mode


def test_scenarios_exported_with_the_report(tmp_path, tiny_ws):
    import openpyxl

    from gisapp.planning.scenario import Edit, compare_scenarios
    from gisapp.reports.write import write_report

    scen = {"关闭C2": [Edit("close", "C2")]}
    paths = write_report(tiny_ws, tmp_path, services=["clinic"], lang="zh", progress=False,
                         formats=("xlsx", "html"), scenarios=scen)
    by = {p.suffix: p for p in paths}
    wb = openpyxl.load_workbook(by[".xlsx"], data_only=True)
    sheet = [s for s in wb.sheetnames if "情景" in s]
    assert sheet, wb.sheetnames
    rows = [r for r in wb[sheet[0]].iter_rows(values_only=True) if r and r[0] in ("510001", "510002")]
    expect = compare_scenarios(tiny_ws, "clinic", scen)
    assert [r[5] for r in rows] == expect[("关闭C2", "covered")].tolist()  # [90, 0]
    assert [r[3] for r in rows] == expect[("baseline", "covered")].tolist()  # [90, 1080]
    html = by[".html"].read_text(encoding="utf-8")
    assert "规划情景对比" in html and "关闭C2" in html
