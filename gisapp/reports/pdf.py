"""Write report.pdf with fpdf2: the report's tables, charts and static maps, Chinese included.

Latin text uses DejaVu Sans (bundled with matplotlib); Chinese glyphs come from a CJK
font found by :func:`gisapp.reports.charts.find_cjk_font` as fpdf2's fallback font.  fpdf2
embeds both as subsets, so the PDF shows and extracts the Chinese text on any machine.
:func:`pdf_bytes` builds the document in memory; :func:`write_pdf` hands it to
:mod:`gisapp.io.atomic`.
"""

from __future__ import annotations

import datetime as _dt
import io as _io
import math
from pathlib import Path
from typing import Any

from gisapp.i18n import fmt_pct, t
from gisapp.io.assets import latin_font
from gisapp.io.atomic import write_bytes
from gisapp.metrics.findings import fmt_people
from gisapp.reports.charts import find_cjk_font
from gisapp.reports.data import (
    TOP_GAPS,
    ReportData,
    ServiceReport,
    Table,
    capacity_note,
    class_table,
    consortia_table,
    district_table,
    findings_table,
    format_value,
    gap_table,
    index_class_table,
    index_lines,
    index_sensitivity_table,
    index_table,
    provenance_table,
    scenario_table,
    served_lines,
    served_table,
    standard_text,
    standards_table,
    summary_table,
    trend_note,
    trend_tables,
)

__all__ = ["pdf_bytes", "write_pdf"]

_ORANGE = (232, 89, 12)
_BLUE = (28, 126, 214)
_HEAD_FILL = (231, 245, 255)


def _new_pdf(data: ReportData) -> Any:
    from fpdf import FPDF

    title = f"{t('app.title', data.lang)} · {t('rep.title', data.lang)}"
    warn = t("rep.synthetic_warning", data.lang) if data.layers_by_status()["synthetic"] else ""

    class _PDF(FPDF):
        def footer(self) -> None:
            self.set_y(-10)
            self.set_font("body", size=7)
            self.set_text_color(110, 110, 110)
            text = f"{title} · {data.generated} · {self.page_no()}/{{nb}}"
            if warn:
                text = f"{warn}  |  {text}"
            self.cell(0, 5, text, align="C")
            self.set_text_color(0, 0, 0)

    pdf = _PDF(orientation="L", unit="mm", format="A4")
    pdf.set_margins(12, 12, 12)
    pdf.set_auto_page_break(True, margin=14)
    pdf.add_font("body", "", str(latin_font()))
    pdf.add_font("body", "B", str(latin_font(bold=True)))
    cjk = find_cjk_font()
    pdf.add_font("cjk", "", str(cjk), collection_font_number=0)
    pdf.set_fallback_fonts(["cjk"], exact_match=False)
    pdf.set_title(title)
    pdf.set_author(t("app.title", data.lang))
    pdf.set_creator("gisapp")
    pdf.set_lang("zh-CN" if data.lang == "zh" else "en")
    try:
        when = _dt.datetime.strptime(data.generated, "%Y-%m-%d %H:%M").astimezone()
        pdf.set_creation_date(when)
    except ValueError:
        pass
    return pdf


def _heading(pdf: Any, text: str, level: int = 1) -> None:
    size = {0: 18, 1: 14, 2: 11}[level]
    if (level <= 1 and pdf.get_y() > pdf.h - 50) or (level == 2 and pdf.get_y() > pdf.h - 45):
        pdf.add_page()
    pdf.ln(2 if level == 2 else 4)
    pdf.set_font("body", "B", size)
    pdf.set_text_color(*(_BLUE if level == 1 else (33, 37, 41)))
    pdf.multi_cell(0, size * 0.5, text, new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(0, 0, 0)
    if level == 1:
        pdf.set_draw_color(*_BLUE)
        pdf.line(pdf.l_margin, pdf.get_y() + 0.5, pdf.w - pdf.r_margin, pdf.get_y() + 0.5)
        pdf.ln(2)
    pdf.set_font("body", "", 9)


def _para(pdf: Any, text: str, size: float = 9, color: tuple[int, int, int] = (0, 0, 0)) -> None:
    pdf.set_font("body", "", size)
    pdf.set_text_color(*color)
    pdf.multi_cell(0, size * 0.48, text, new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(0, 0, 0)


def _width(s: str) -> float:
    return sum(2.0 if ord(c) > 0x2E80 else 1.0 for c in s)


def _table(pdf: Any, table: Table, *, size: float = 7.5, max_rows: int | None = None) -> None:
    from fpdf.fonts import FontFace

    rows = table.rows if max_rows is None else table.rows[:max_rows]
    if not rows:
        return
    texts = [[format_value(v, f) for v, f in zip(r, table.formats, strict=True)] for r in rows]
    widths = []
    for j, h in enumerate(table.headers):
        content = max((_width(r[j]) for r in texts), default=0.0)
        widths.append(max(6.0, min(60.0, max(content, min(_width(h), 18.0)))))
    avail = pdf.w - pdf.l_margin - pdf.r_margin
    total = sum(widths)
    width = min(avail, max(avail * 0.45, total * size * 0.23))
    align = tuple("LEFT" if f == "text" else "RIGHT" for f in table.formats)
    # fpdf2 does not repeat the font operator on the second line of a wrapped cell, which
    # it draws inside its own q/Q block: set the table font in the page's state first.
    pdf.set_font("body", "", size)
    font_index = getattr(pdf.current_font, "i", None)
    if font_index is not None:
        pdf._out(f"BT /F{font_index} {size:.2f} Tf ET")  # noqa: SLF001
    head = FontFace(emphasis=None, fill_color=_HEAD_FILL)
    last = len(rows) - 1
    with pdf.table(col_widths=tuple(widths), width=width, align="LEFT", text_align=align,
                   headings_style=head, line_height=size * 0.5, padding=0.8,
                   repeat_headings=1) as tb:
        hr = tb.row()
        for h in table.headers:
            hr.cell(h, align="LEFT")
        for k, r in enumerate(texts):
            style = FontFace(emphasis="BOLD", fill_color=(241, 243, 245)) if table.total and k == last and \
                max_rows is None else None
            row = tb.row()
            for c in r:
                row.cell(c, style=style)
    pdf.ln(2)


def _image(pdf: Any, png: bytes, w: float, *, x: float | None = None) -> float:
    from PIL import Image

    with Image.open(_io.BytesIO(png)) as im:
        h = w * im.height / im.width
    if pdf.get_y() + h > pdf.page_break_trigger:
        pdf.add_page()
    y = pdf.get_y()
    pdf.image(_io.BytesIO(png), x=x if x is not None else pdf.l_margin, y=y, w=w, h=h)
    pdf.set_y(y + h)
    return h


def _service(pdf: Any, data: ReportData, sr: ServiceReport, charts: dict[str, bytes]) -> None:
    lang = data.lang
    pdf.add_page()
    _heading(pdf, sr.spec.title(lang))
    _para(pdf, f"{t('word.standard', lang)}: {standard_text(sr.spec, lang)}")
    for key, src in sr.spec.source_items(lang, labels=True):
        _para(pdf, f"{t('word.source', lang)} ({key}): {src}", size=7.5, color=(90, 90, 90))
    s, f = sr.summary, sr.findings
    med = s["median_cost"]
    unit = t(f"unit.{sr.unit}", lang)
    people = t("unit.people", lang)
    line = (f"{t('word.population', lang)} {fmt_people(f.population)} {people} · "
            f"{t('word.covered', lang)} {fmt_people(int(f.districts['covered'].sum()))} {people} · "
            f"{t('word.uncovered', lang)} {fmt_people(f.beyond)} {people} · "
            f"{t('word.covered_pct', lang)} {fmt_pct(s['covered_pct'], lang)}")
    if math.isfinite(med):
        line += f" · {t('col.median_m' if sr.unit == 'm' else 'col.median_min', lang)} {med:,.1f} {unit}"
    if math.isfinite(s["gini_access"]):
        line += f" · {t('col.gini', lang)} {s['gini_access']:.2f}"
    pdf.ln(1)
    _para(pdf, line, size=9.5)
    pdf.ln(2)
    y0 = pdf.get_y()
    h_map = 0.0
    if "map" in charts:
        h_map = _image(pdf, charts["map"], 128)
        y0 = pdf.get_y() - h_map
    right_x = pdf.l_margin + 134
    y = y0
    for key in ("district", "class"):
        if key in charts:
            pdf.set_xy(right_x, y)
            y += _image(pdf, charts[key], 139, x=right_x) + 2
            pdf.set_y(y)
    pdf.set_y(max(y0 + h_map, y) + 3)
    _heading(pdf, t("rep.by_district", lang), level=2)
    _table(pdf, district_table(sr, lang))
    note = capacity_note(sr, lang)
    if note:
        _para(pdf, note, size=7.5, color=(80, 80, 80))
    served_notes = served_lines(sr, lang)  # issue 11: people served within capacity (B2)
    if served_notes:
        _heading(pdf, t("served.title", lang), level=2)
        served = served_table(sr, lang)
        if served is not None:
            _table(pdf, served)
        for line in served_notes:
            _para(pdf, line, size=7.5, color=(80, 80, 80))
    _heading(pdf, t("rep.by_class", lang), level=2)
    _table(pdf, class_table(sr, lang))
    _para(pdf, t("find.ratio", lang, town=fmt_pct(f.town_pct, lang), rural=fmt_pct(f.rural_pct, lang),
                 ratio=f"{f.ratio:.2f}") if math.isfinite(f.ratio) else t("find.no_ratio", lang))
    _para(pdf, t("rep.class_method", lang), size=7.5, color=(80, 80, 80))
    if "curve" in charts:
        pdf.ln(2)
        _image(pdf, charts["curve"], 150)
        pdf.ln(2)
    _heading(pdf, t("rep.gap_places", lang), level=2)
    if f.places is None:
        _para(pdf, t("rep.places_none_layer", lang), size=7.5, color=(80, 80, 80))
    total = len(sr.places)
    if total:
        _para(pdf, t("rep.places_top", lang, n=min(TOP_GAPS, total), total=total))
        _table(pdf, gap_table(sr, lang, top=TOP_GAPS))
    else:
        _para(pdf, t("rep.no_gaps", lang))


def _findings(pdf: Any, data: ReportData) -> None:
    """Write the key findings (主要结论): the table, then each service's sentences."""
    lang = data.lang
    _heading(pdf, t("rep.findings", lang))
    _table(pdf, findings_table(data), size=7)
    _para(pdf, t("rep.findings_note", lang), size=7, color=(80, 80, 80))
    pdf.ln(1)
    join = "" if lang == "zh" else " "
    for sr in data.services:
        _para(pdf, join.join(sr.findings.sentences(lang)), size=7.5)
        pdf.ln(0.6)


def _column_parts(table: Table, keep: int, per: int) -> list[Table]:
    """Return a wide table as several tables of at most ``per`` columns after its first ``keep`` (repeated)."""
    n = len(table.headers)
    if n <= keep + per:
        return [table]
    parts = []
    for lo in range(keep, n, per):
        cols = [*range(keep), *range(lo, min(n, lo + per))]
        parts.append(Table([table.headers[j] for j in cols], [[r[j] for j in cols] for r in table.rows],
                           [table.formats[j] for j in cols], total=table.total))
    return parts


def _index(pdf: Any, data: ReportData) -> None:
    """Write the equalisation index (tables, method, sensitivity) and, with years, the trend (issue 14)."""
    lang = data.lang
    table = index_table(data)
    if table is not None:
        lines = index_lines(data)
        _heading(pdf, t("rep.index", lang))
        _para(pdf, lines[0], size=8.5)
        for part in _column_parts(table, 4, 8):  # rank, district code and name, index; 8 indicators a table
            _table(pdf, part, size=7)
        classes = index_class_table(data)
        if classes is not None:
            _heading(pdf, t("rep.index_by_class", lang), level=2)
            for part in _column_parts(classes, 2, 8):
                _table(pdf, part, size=7)
        _heading(pdf, t("idx.method_title", lang), level=2)
        for line in lines[1:]:
            _para(pdf, line, size=7.5, color=(60, 60, 60))
        sens = index_sensitivity_table(data)
        if sens is not None:
            _heading(pdf, t("rep.index_sensitivity", lang), level=2)
            for part in _column_parts(sens, 2, 8):  # district code and name; 8 scenarios a table
                _table(pdf, part, size=6.5)
            _para(pdf, t("idx.sens_note", lang), size=7, color=(80, 80, 80))
    trend = trend_tables(data)
    if trend:
        _heading(pdf, t("rep.trend", lang))
        _para(pdf, trend_note(data), size=7.5, color=(80, 80, 80))
        for title, tb in trend:
            _heading(pdf, title, level=2)
            for part in _column_parts(tb, 2, 8):
                _table(pdf, part, size=7)


def pdf_bytes(data: ReportData, *, charts: dict[str, dict[str, bytes]]) -> bytes:
    """Return the printable report: provenance first, then every section of the HTML report."""
    lang = data.lang
    pdf = _new_pdf(data)
    pdf.add_page()
    _heading(pdf, f"{t('app.title', lang)} · {t('rep.title', lang)}", level=0)
    _para(pdf, f"{t('rep.workspace', lang, name=data.ws.spec.title(lang))} · "
               f"{t('rep.generated', lang, when=data.generated)}", color=(90, 90, 90))
    pdf.ln(3)
    # the provenance statement, framed, at the top of the first page
    pdf.set_draw_color(*_ORANGE)
    pdf.set_fill_color(255, 244, 230)
    pdf.set_line_width(0.6)
    pdf.set_font("body", "B", 10)
    lines = data.provenance_lines()
    text = t("rep.data_notice", lang) + "\n" + "\n".join(lines)
    pdf.multi_cell(0, 5.5, text, border=1, fill=True, padding=2, new_x="LMARGIN", new_y="NEXT")
    pdf.set_line_width(0.2)
    pdf.set_font("body", "", 9)
    pdf.ln(1)
    _findings(pdf, data)
    _index(pdf, data)  # issue 14: index (D), after the key findings
    _heading(pdf, t("rep.summary", lang))
    _table(pdf, summary_table(data))
    _para(pdf, t("rep.method", lang), size=8, color=(80, 80, 80))
    _heading(pdf, t("rep.provenance", lang))
    _table(pdf, provenance_table(data))
    for sr in data.services:
        _service(pdf, data, sr, charts.get(sr.name, {}))
    for sr in data.services:
        st_ = scenario_table(data, sr.name)
        if st_ is not None:
            pdf.add_page()
            _heading(pdf, f"{t('rep.scenarios', lang)} · {sr.spec.title(lang)}")
            _table(pdf, st_)
    pdf.add_page()
    _heading(pdf, t("rep.consortia", lang))
    ref = data.ws.spec.referral_standard
    if ref is not None:
        _para(pdf, t("rep.consortia_note", lang, std=ref.label(lang))
              + (f" ({data.ws.spec.referral_source_text(lang)})" if data.ws.spec.referral_source_text(lang) else ""))
    if len(data.consortia):
        _table(pdf, consortia_table(data))
    else:
        _para(pdf, t("rep.no_consortia", lang))
    _heading(pdf, t("rep.standards", lang))
    _table(pdf, standards_table(data))
    return bytes(pdf.output())


def write_pdf(data: ReportData, path: str | Path, *, charts: dict[str, dict[str, bytes]]) -> Path:
    """Write the printable report (:func:`pdf_bytes`) to ``path`` atomically and return it."""
    return write_bytes(path, pdf_bytes(data, charts=charts))
