"""Write coverage.xlsx: the summary, per-service district and class sheets, gaps, scenarios, consortia, standards, provenance.

:func:`xlsx_bytes` builds the workbook in memory (a write-only :mod:`openpyxl` workbook saved
to a buffer); :func:`write_xlsx` hands the bytes to :mod:`gisapp.io.atomic`.
"""

from __future__ import annotations

import datetime as _dt
import io as _io
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

from gisapp._errors import GisAppError
from gisapp.i18n import fmt_pct, t
from gisapp.io.atomic import write_bytes
from gisapp.reports.data import (
    XLSX_GAP_MIN_PEOPLE,
    ReportData,
    Table,
    capacity_note,
    class_table,
    consortia_table,
    district_table,
    findings_table,
    gap_table,
    index_class_table,
    index_lines,
    index_sensitivity_table,
    index_table,
    members_table,
    provenance_table,
    scenario_table,
    served_lines,
    served_table,
    short_title,
    standard_text,
    standards_table,
    summary_table,
    trend_note,
    trend_tables,
)

__all__ = ["write_xlsx", "xlsx_bytes"]

_XLSX_FORMATS: Final = {"int": "#,##0", "f1": "#,##0.0", "f2": "#,##0.00", "pct": "0.0", "deg": "0.00000"}
_ROUND: Final = {"int": 0, "f1": 2, "f2": 3, "pct": 1, "deg": 6}
#: Tables longer than this are written without per-cell number formats (speed).
_STYLED_ROWS: Final = 2000


def _sheet_title(text: str, used: set[str]) -> str:
    bad = '[]:*?/\\'
    s = "".join("_" if ch in bad else ch for ch in text)[:31] or "sheet"
    base, i = s, 2
    while s.lower() in used:
        suffix = f" ({i})"
        s = base[: 31 - len(suffix)] + suffix
        i += 1
    used.add(s.lower())
    return s


def _write_sheet(wb: Any, title: str, table: Table, used: set[str], *, notes: Sequence[str] = ()) -> None:
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Font, PatternFill

    ws = wb.create_sheet(_sheet_title(title, used))
    for i, h in enumerate(table.headers):
        width = max(10, min(60, int(sum(2 if ord(c) > 0x2E80 else 1 for c in h) * 1.1) + 2))
        ws.column_dimensions[_col_letter(i)].width = width
    ws.freeze_panes = f"A{len(notes) + 2}"
    for note in notes:
        c = WriteOnlyCell(ws, value=note)
        c.font = Font(italic=True, color="9C0006")
        ws.append([c])
    head_font, fill = Font(bold=True), PatternFill("solid", fgColor="DDEBF7")
    hdr = []
    for h in table.headers:
        c = WriteOnlyCell(ws, value=h)
        c.font, c.fill = head_font, fill
        c.alignment = Alignment(wrap_text=True, vertical="top")
        hdr.append(c)
    ws.append(hdr)
    nfmt = [_XLSX_FORMATS.get(f) for f in table.formats]
    last = len(table.rows) - 1
    if len(table.rows) > _STYLED_ROWS:
        # long tables (gap areas): plain numeric cells, rounded; styling every cell is slow
        digits = [_ROUND.get(f) for f in table.formats]
        for row in table.rows:
            ws.append([None if v is None or (isinstance(v, float) and not math.isfinite(v))
                       else round(v, d) if d is not None and isinstance(v, float) else v
                       for v, d in zip(row, digits, strict=True)])
        return
    for k, row in enumerate(table.rows):
        cells = []
        for v, nf in zip(row, nfmt, strict=True):
            val = None if v is None or (isinstance(v, float) and not math.isfinite(v)) else v
            if nf is None and not (table.total and k == last):
                cells.append(val)
                continue
            c = WriteOnlyCell(ws, value=val)
            if nf is not None:
                c.number_format = nf
            if table.total and k == last:
                c.font = head_font
            cells.append(c)
        ws.append(cells)


def _col_letter(i: int) -> str:
    from openpyxl.utils import get_column_letter

    return str(get_column_letter(i + 1))


def _index_sheets(wb: Any, data: ReportData, used: set[str]) -> None:
    """Write the equalisation index, its sensitivity and (with years) the trend sheets (issue 14)."""
    lang = data.lang
    table = index_table(data)
    if table is not None:
        classes = index_class_table(data)
        lines = index_lines(data)
        both = Table(table.headers, table.rows, table.formats)
        if classes is not None:  # the classes under the districts, the class in the district-name column
            width = len(table.headers)
            both = Table(table.headers, [*table.rows, *[[None, None, r[0], *r[1:]][:width] for r in classes.rows]],
                         table.formats)
        _write_sheet(wb, t("rep.sheet.index", lang), both, used, notes=lines)
        sens = index_sensitivity_table(data)
        if sens is not None:
            _write_sheet(wb, t("rep.sheet.index_sensitivity", lang), sens, used, notes=[t("idx.sens_note", lang)])
    trend = trend_tables(data)
    if trend:
        headers = [t("rep.trend", lang), *trend[0][1].headers]
        rows = [[title, *r] for title, tb in trend for r in tb.rows]
        _write_sheet(wb, t("rep.sheet.trend", lang), Table(headers, rows, ["text", *trend[0][1].formats]), used,
                     notes=[trend_note(data)])


def xlsx_bytes(data: ReportData) -> bytes:
    """Return the workbook: key findings, summary, per-service district and class sheets, gaps by place, ...

    Numbers are written as numbers (formatted, never as text); every header carries its unit.
    The provenance statement (which layers are real, which synthetic) heads the summary sheet.
    """
    from openpyxl import Workbook

    lang = data.lang
    wb = Workbook(write_only=True)
    when = _parse_generated(data.generated)
    if when is not None:
        wb.properties.created = when
        wb.properties.modified = when
    wb.properties.title = t("rep.title", lang)
    used: set[str] = set()
    notes = [f"{t('app.title', lang)} · {t('rep.title', lang)} · {data.ws.spec.title(lang)}",
             t("rep.generated", lang, when=data.generated), *data.provenance_lines()]
    _write_sheet(wb, t("rep.sheet.findings", lang), findings_table(data), used,
                 notes=[*notes, t("rep.findings_note", lang)])
    _index_sheets(wb, data, used)  # issue 14: index (D), after the key findings
    _write_sheet(wb, t("rep.sheet.summary", lang), summary_table(data), used, notes=notes[:2])
    for sr in data.services:
        name = short_title(sr.spec, lang)
        cap = capacity_note(sr, lang)
        _write_sheet(wb, t("rep.sheet.district", lang, service=name), district_table(sr, lang), used,
                     notes=[f"{sr.spec.title(lang)} · {standard_text(sr.spec, lang)}", *([cap] if cap else [])])
        f = sr.findings
        ratio = (t("find.ratio", lang, town=fmt_pct(f.town_pct, lang), rural=fmt_pct(f.rural_pct, lang),
                   ratio=f"{f.ratio:.2f}") if math.isfinite(f.ratio) else t("find.no_ratio", lang))
        _write_sheet(wb, t("rep.sheet.class", lang, service=name), class_table(sr, lang), used,
                     notes=[f"{sr.spec.title(lang)} · {ratio}", t("rep.class_method", lang)])
        served = served_table(sr, lang)  # issue 11: people served within capacity (B2)
        if served is not None:
            _write_sheet(wb, t("rep.sheet.served", lang, service=name), served, used,
                         notes=[f"{sr.spec.title(lang)} · {t('served.title', lang)}", *served_lines(sr, lang)])
    gap_rows: list[list[Any]] = []
    gt: Table | None = None
    n_all = 0
    for sr in data.services:
        gt = gap_table(sr, lang, with_service=True, min_people=XLSX_GAP_MIN_PEOPLE, coordinates=True)
        gap_rows.extend(gt.rows)
        n_all += len(sr.places)
    if gt is None:  # pragma: no cover - collect() always yields at least one service
        raise GisAppError(code="report_no_service")
    gap_notes = [t("rep.places_sheet_note", lang, min=f"{XLSX_GAP_MIN_PEOPLE:g}", n=len(gap_rows), total=n_all)]
    if data.services and data.services[0].findings.places is None:
        gap_notes.append(t("rep.places_none_layer", lang))
    _write_sheet(wb, t("rep.sheet.gaps", lang), Table(gt.headers, gap_rows, gt.formats), used, notes=gap_notes)
    for sr in data.services:
        st_ = scenario_table(data, sr.name)
        if st_ is not None:
            _write_sheet(wb, t("rep.sheet.scenarios", lang, service=short_title(sr.spec, lang)), st_, used,
                         notes=[f"{sr.spec.title(lang)} · {t('rep.scenarios', lang)}"])
    _write_sheet(wb, t("rep.sheet.consortia", lang), consortia_table(data), used)
    _write_sheet(wb, t("rep.sheet.members", lang), members_table(data), used)
    _write_sheet(wb, t("rep.sheet.standards", lang), standards_table(data), used)
    _write_sheet(wb, t("rep.sheet.provenance", lang), provenance_table(data), used,
                 notes=data.provenance_lines())
    buf = _io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def write_xlsx(data: ReportData, path: str | Path) -> Path:
    """Write the workbook (:func:`xlsx_bytes`) to ``path`` atomically and return it."""
    return write_bytes(path, xlsx_bytes(data))


def _parse_generated(s: str) -> _dt.datetime | None:
    try:
        return _dt.datetime.strptime(s, "%Y-%m-%d %H:%M")
    except ValueError:
        return None

