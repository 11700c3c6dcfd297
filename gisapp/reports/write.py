"""Write coverage reports: report.html, coverage.xlsx, layers.gpkg and report.pdf.

:func:`write_report` computes every chosen service once, builds language-aware tables
(:class:`Table`: headers with units, values kept as numbers), and hands them to the
writers: the Excel workbook and the GeoPackage here, the HTML page in
:mod:`gisapp.report_html`, the PDF in :mod:`gisapp.report_pdf`, charts from
:mod:`gisapp.charts`.  All files are written through :func:`gisapp.io.atomic_path` inside
one :class:`contextlib.ExitStack`: the new files replace the old ones only when every one
of them is complete, so a failed or interrupted export leaves the previous set in place.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Literal

import geopandas as gpd
import numpy as np
import pandas as pd

from gisapp._errors import GisAppError
from gisapp.config.spec import ServiceSpec, Standard
from gisapp.i18n import TEXT, t
from gisapp.io.atomic import atomic_path
from gisapp.metrics import service as analysis
from gisapp.workspace import Workspace

__all__ = [
    "DISTRICT_METRICS",
    "FILE_NAMES",
    "FORMATS",
    "GRID_METRICS",
    "ReportData",
    "ServiceReport",
    "Table",
    "collect",
    "district_metric_column",
    "grid_metric_column",
    "write_gpkg",
    "write_report",
    "write_xlsx",
]

#: The outputs and their file names, in the order they are written and returned.
FILE_NAMES: Final = {"html": "report.html", "xlsx": "coverage.xlsx", "gpkg": "layers.gpkg",
                     "pdf": "report.pdf"}
FORMATS: Final = tuple(FILE_NAMES)

#: Per-service district metrics in the GeoPackage ``districts`` layer (suffix -> unit).
DISTRICT_METRICS: Final = {
    "population": "people", "covered": "people", "uncovered": "people", "covered_pct": "%",
    "capacity": "capacity units", "capacity_per_1000": "per 1,000 people",
    "capacity_gap": "capacity units", "access_per_1000": "per 1,000 people",
}
#: Per-service cell metrics in the GeoPackage ``coverage_grid`` layer (suffix -> unit).
GRID_METRICS: Final = {"covered": "0/1", "nearest_m": "m", "travel_m": "m", "travel_min": "min",
                       "access_per_1000": "per 1,000 people"}
#: Per-service facility metrics in the GeoPackage ``facilities`` layer (suffix -> unit).
FACILITY_METRICS: Final = {"served": "people", "served_covered": "people"}

#: Gap areas listed in the HTML and PDF reports (the workbook and GeoPackage hold all).
TOP_GAPS: Final = 20
#: Gap areas in the workbook's gap sheet hold at least this many people (the GeoPackage holds all).
XLSX_GAP_MIN_PEOPLE: Final = 1.0
#: Gap areas drawn per service on the interactive map (largest first).
MAP_GAPS: Final = 30

ProgressCallback = Callable[[float, str], None]
Fmt = Literal["text", "int", "f1", "f2", "pct", "deg"]


def _metric_column(service: str, metric: str, allowed: dict[str, str]) -> str:
    if metric not in allowed:
        msg = f"unknown metric {metric!r}; use one of {', '.join(allowed)}."
        raise GisAppError(msg)
    return f"{service}_{metric}"


def district_metric_column(service: str, metric: str) -> str:
    """Return the GeoPackage ``districts`` column of a service's metric.

    Examples
    --------
    >>> district_metric_column("primary_care", "covered_pct")
    'primary_care_covered_pct'
    """
    return _metric_column(service, metric, DISTRICT_METRICS)


def grid_metric_column(service: str, metric: str) -> str:
    """Return the GeoPackage ``coverage_grid`` column of a service's per-cell metric.

    Examples
    --------
    >>> grid_metric_column("clinic", "nearest_m")
    'clinic_nearest_m'
    """
    return _metric_column(service, metric, GRID_METRICS)


def facility_metric_column(service: str, metric: str) -> str:
    """Return the GeoPackage ``facilities`` column of a service's per-facility metric."""
    return _metric_column(service, metric, FACILITY_METRICS)


# --------------------------------------------------------------------------------------
# data
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ServiceReport:
    """Everything the reports show about one service."""

    name: str
    spec: ServiceSpec
    result: analysis.ServiceResult
    summary: dict[str, float]
    coverage: pd.DataFrame
    capacity: pd.DataFrame
    classes: pd.DataFrame
    curve: pd.DataFrame
    gaps: gpd.GeoDataFrame

    @property
    def unit(self) -> str:
        """Return the unit of the travel cost ("m" or "min"; minutes in terrain mode)."""
        return self.result.unit

    @property
    def town_country_ratio(self) -> float:
        """Return covered share in town / covered share in the country (NaN if undefined)."""
        c = self.classes.set_index("class")["covered_pct"]
        town, country = float(c.get("town", np.nan)), float(c.get("country", np.nan))
        return town / country if math.isfinite(town) and math.isfinite(country) and country > 0 else float("nan")


@dataclass(frozen=True)
class ReportData:
    """The computed content of one report: services, consortia and provenance."""

    ws: Workspace
    lang: str
    generated: str
    services: list[ServiceReport]
    consortia: pd.DataFrame
    members: pd.DataFrame
    extra: dict[str, Any] = field(default_factory=dict)

    def layers_by_status(self) -> dict[str, list[str]]:
        """Return the layer roles grouped by provenance status (real, synthetic, other)."""
        out: dict[str, list[str]] = {"real": [], "synthetic": [], "other": []}
        for row in self.ws.provenance():
            key = row["status"] if row["status"] in ("real", "synthetic") else "other"
            out[key].append(row["layer"])
        return out

    def provenance_lines(self) -> list[str]:
        """Return the sentences that state which layers are real and which synthetic."""
        by = self.layers_by_status()
        none = t("rep.none", self.lang)
        lines = [t("rep.layers_real", self.lang, layers=", ".join(by["real"]) or none),
                 t("rep.layers_synthetic", self.lang, layers=", ".join(by["synthetic"]) or none)]
        if by["other"]:
            lines.append(t("rep.layers_other", self.lang, layers=", ".join(by["other"])))
        lines.append(t("rep.synthetic_warning" if by["synthetic"] or by["other"] else "rep.all_real", self.lang))
        return lines


def collect(ws: Workspace, services: Sequence[str] | None = None, *, lang: str = "zh",
            generated: str | _dt.datetime | None = None,
            step: Callable[[str], None] | None = None, travel: str | None = None,
            standards: Mapping[str, Standard] | None = None,
            scenarios: Mapping[str, Sequence[Any]] | None = None) -> ReportData:
    """Compute every table of a report.

    Parameters
    ----------
    ws
        The loaded workspace.
    services
        Service names (default: every service of the workspace, in its order).
    lang
        "zh" or "en".
    generated
        The time stamp printed on the report (default: now, to the minute).
    step
        Called with a message after each service and after the consortia.
    travel
        "straight_line" or "terrain" (see :func:`gisapp.analysis.run_service`).
    standards
        Service name -> a standard that overrides the workspace's (e.g. the app's slider).
    scenarios
        Scenario name -> list of :class:`gisapp.scenario.Edit`; each service's report then
        compares covered people by district for the baseline and each scenario.

    Returns
    -------
    ReportData

    Raises
    ------
    GisAppError
        If a service does not exist or the language is unknown.
    """
    if lang not in ("zh", "en"):
        msg = f"lang must be 'zh' or 'en', got {lang!r}."
        raise GisAppError(msg)
    names = list(services) if services else list(ws.spec.services)
    unknown = [n for n in names if n not in ws.spec.services]
    if unknown:
        msg = (f"Unknown service(s) {', '.join(map(repr, unknown))}; "
               f"the workspace has: {', '.join(ws.spec.services)}.")
        raise GisAppError(msg)
    names = list(dict.fromkeys(names))
    if generated is None:
        generated = _dt.datetime.now().replace(second=0, microsecond=0)
    gen = generated.strftime("%Y-%m-%d %H:%M") if isinstance(generated, _dt.datetime) else str(generated)
    out = []
    for name in names:
        res = analysis.run_service(ws, name, travel=travel,
                                   standard=(standards or {}).get(name))
        gaps = analysis.gap_polygons(ws, res)
        out.append(ServiceReport(
            name=name, spec=res.service, result=res, summary=analysis.summary(ws, res),
            coverage=analysis.coverage_by_district(ws, res),
            capacity=analysis.capacity_by_district(ws, res),
            classes=analysis.coverage_by_class(ws, res),
            curve=analysis.cumulative_curve(res), gaps=gaps))
        if step:
            step(t("rep.step.service", lang, service=res.service.title(lang)))
    compare: dict[str, pd.DataFrame] = {}
    if scenarios:
        from gisapp.planning.scenario import compare_scenarios

        for sr in out:
            compare[sr.name] = compare_scenarios(ws, sr.name, {k: list(v) for k, v in scenarios.items()})
    cons = analysis.consortia_summary(ws)
    members = analysis.consortia_members(ws)
    if step:
        step(t("rep.step.consortia", lang))
    return ReportData(ws=ws, lang=lang, generated=gen, services=out, consortia=cons, members=members,
                      extra={"scenarios": compare} if compare else {})


# --------------------------------------------------------------------------------------
# language-aware tables
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Table:
    """A table for the writers: headers (with units), rows of values, a format per column.

    Values stay numbers (``float``/``int``) or text; ``None`` or NaN is an empty cell.
    ``total`` marks the last row as a total row.
    """

    headers: list[str]
    rows: list[list[Any]]
    formats: list[Fmt]
    total: bool = False

    def frame(self) -> pd.DataFrame:
        """Return the table as a DataFrame (headers as columns)."""
        return pd.DataFrame(self.rows, columns=self.headers)


def _num(v: Any) -> float | None:
    if v is None:
        return None
    f = float(v)
    return f if math.isfinite(f) else None


def cap_label(field: str | None, lang: str) -> str:
    """Return the label of a capacity field ("beds" -> "床" in Chinese), else the field."""
    if not field:
        return ""
    key = f"cap.{field}"
    return t(key, lang) if key in TEXT else field


def _kind_label(kind: str, lang: str) -> str:
    from gisapp.config.spec import FACILITY_KINDS

    return FACILITY_KINDS.get(kind, {}).get(lang, kind)


def standard_text(svc: ServiceSpec, lang: str) -> str:
    """Return the standard of a service as one line (with the rural standard if any)."""
    s = svc.standard.label(lang)
    if svc.rural_standard is not None:
        s += f"; {t('rep.item.rural_standard', lang)} {svc.rural_standard.label(lang)}"
    return s


def summary_table(data: ReportData) -> Table:
    """Return one row per service: standard, people covered and not, median travel, equity."""
    lang = data.lang
    headers = [t("col.service", lang), t("col.service_name", lang), t("rep.item.standard", lang),
               t("col.population", lang), t("col.covered", lang), t("col.uncovered", lang),
               t("col.covered_pct", lang), t("col.median_m", lang), t("col.median_min", lang),
               t("col.facilities", lang), t("col.gini", lang), t("col.palma", lang)]
    rows = []
    for sr in data.services:
        s = sr.summary
        med = _num(s["median_cost"])
        rows.append([sr.name, sr.spec.title(lang), standard_text(sr.spec, lang), _num(s["population"]),
                     _num(s["covered"]), _num(s["uncovered"]), _num(s["covered_pct"]),
                     med if sr.unit == "m" else None, med if sr.unit == "min" else None,
                     _num(s["facilities"]), _num(s["gini_access"]), _num(s["palma_access"])])
    return Table(headers, rows, ["text", "text", "text", "int", "int", "int", "f1", "int", "f1",
                                 "int", "f2", "f2"])


def district_table(sr: ServiceReport, lang: str) -> Table:
    """Return coverage (and capacity, when the service has one) by district, with a total row."""
    cov, cap = sr.coverage, sr.capacity
    headers = [t("col.district_id", lang), t("col.district_name", lang), t("col.population", lang),
               t("col.covered", lang), t("col.uncovered", lang), t("col.covered_pct", lang),
               t("col.facilities", lang)]
    fmts: list[Fmt] = ["text", "text", "int", "int", "int", "f1", "int"]
    has_cap = bool(sr.spec.capacity)
    has_norm = has_cap and sr.spec.norm_per_1000 is not None
    if has_cap:
        c = cap_label(sr.spec.capacity, lang)
        headers += [t("col.capacity", lang, cap=c), t("col.capacity_per_1000", lang, cap=c)]
        fmts += ["int", "f2"]
        if has_norm:
            headers += [t("col.norm_per_1000", lang, cap=c), t("col.capacity_gap", lang, cap=c)]
            fmts += ["f2", "f1"]
        headers.append(t("col.access_per_1000", lang, cap=c))
        fmts.append("f2")
    rows = []
    for i in range(len(cov)):
        r: list[Any] = [str(cov["district_id"].iat[i]), str(cov["district_name"].iat[i]),
                        _num(cov["population"].iat[i]), _num(cov["covered"].iat[i]),
                        _num(cov["uncovered"].iat[i]), _num(cov["covered_pct"].iat[i]),
                        int(cap["facilities"].to_numpy()[i])]
        if has_cap:
            r += [_num(cap["capacity"].iat[i]), _num(cap["capacity_per_1000"].iat[i])]
            if has_norm:
                r += [_num(cap["norm_per_1000"].iat[i]), _num(cap["capacity_gap"].iat[i])]
            r.append(_num(cap["access_per_1000"].iat[i]))
        rows.append(r)
    pop = float(cov["population"].sum())
    covd = float(cov["covered"].sum())
    tot: list[Any] = ["", t("rep.total", lang), pop, covd, float(cov["uncovered"].sum()),
                      100.0 * covd / pop if pop > 0 else None, int(cap["facilities"].sum())]
    if has_cap:
        capsum = float(cap["capacity"].sum())
        tot += [capsum, capsum * 1000.0 / pop if pop > 0 else None]
        if has_norm:
            tot += [_num(sr.spec.norm_per_1000), _num(cap["capacity_gap"].sum())]
        acc = cap["access_per_1000"].to_numpy(float)
        w = cap["population"].to_numpy(float)
        ok = np.isfinite(acc) & (w > 0)
        tot.append(float((acc[ok] * w[ok]).sum() / w[ok].sum()) if ok.any() else None)
    rows.append(tot)
    return Table(headers, rows, fmts, total=True)


def class_table(sr: ServiceReport, lang: str) -> Table:
    """Return coverage by Degree of Urbanisation class, town and country, and all."""
    headers = [t("col.class", lang), t("col.population", lang), t("col.covered", lang),
               t("col.uncovered", lang), t("col.covered_pct", lang)]
    rows = [[t(f"class.{r['class']}", lang), _num(r["population"]), _num(r["covered"]),
             _num(r["uncovered"]), _num(r["covered_pct"])] for _, r in sr.classes.iterrows()]
    return Table(headers, rows, ["text", "int", "int", "int", "f1"])


def gap_table(sr: ServiceReport, lang: str, *, top: int | None = None, with_service: bool = False,
              min_people: float = 0.0) -> Table:
    """Return the gap areas of a service, largest population first.

    ``top`` keeps the first areas only; ``min_people`` keeps areas with at least that many
    people of the service's demand group.
    """
    g = sr.gaps[sr.gaps["population"] >= min_people] if min_people > 0 else sr.gaps
    g = g if top is None else g.head(top)
    headers = [t("col.gap_id", lang), t("col.district_name", lang), t("col.gap_population", lang),
               t("col.cells", lang), t("col.min_distance_m", lang), t("col.mean_distance_m", lang),
               t("col.lon", lang), t("col.lat", lang)]
    fmts: list[Fmt] = ["int", "text", "f1", "int", "int", "int", "deg", "deg"]
    cols = [g["gap_id"].to_numpy(), g["district_name"].to_numpy(), g["population"].to_numpy(float),
            g["cells"].to_numpy(), g["min_distance_m"].to_numpy(float), g["mean_distance_m"].to_numpy(float),
            np.round(g["lon"].to_numpy(float), 5), np.round(g["lat"].to_numpy(float), 5)]
    rows = [[int(c0), str(c1), _num(c2), int(c3), _num(c4), _num(c5), _num(c6), _num(c7)]
            for c0, c1, c2, c3, c4, c5, c6, c7 in zip(*cols, strict=True)]
    if with_service:
        headers = [t("col.service", lang), *headers]
        fmts = ["text", *fmts]
        rows = [[sr.name, *r] for r in rows]
    return Table(headers, rows, fmts)


def consortia_table(data: ReportData) -> Table:
    """Return one row per consortium: sector, lead, members, time to lead, people served."""
    lang = data.lang
    headers = [t("col.consortium_id", lang), t("col.sector", lang), t("col.lead_name", lang),
               t("col.members", lang), t("col.mean_travel_min", lang), t("col.max_travel_min", lang),
               t("col.beyond_referral", lang), t("col.population_served", lang)]
    rows = [[str(r["consortium_id"]), t(f"sector.{r['sector']}", lang), str(r["lead_name"]),
             int(r["members"]), _num(r["mean_travel_min"]), _num(r["max_travel_min"]),
             int(r["beyond_referral"]), _num(r["population_served"])] for _, r in data.consortia.iterrows()]
    return Table(headers, rows, ["text", "text", "text", "int", "f1", "f1", "int", "int"])


def members_table(data: ReportData) -> Table:
    """Return every consortium member with its lead and member-to-lead distance and time."""
    lang = data.lang
    yes, no = t("word.yes", lang), t("word.no", lang)
    headers = [t("col.consortium_id", lang), t("col.sector", lang), t("col.facility_id", lang),
               t("col.name", lang), t("col.kind", lang), t("col.district_id", lang), t("col.is_lead", lang),
               t("col.lead_name", lang), t("col.distance_m", lang), t("col.travel_min", lang),
               t("col.beyond_referral", lang)]
    rows = [[str(r["consortium_id"]), t(f"sector.{r['sector']}", lang), str(r["facility_id"]), str(r["name"]),
             _kind_label(str(r["kind"]), lang), str(r["district_id"]), yes if r["is_lead"] else no,
             str(r["lead_name"]), _num(r["distance_m"]), _num(r["travel_min"]),
             yes if r["beyond_referral"] else no] for _, r in data.members.iterrows()]
    fmts: list[Fmt] = ["text", "text", "text", "text", "text", "text", "text", "text", "int", "f1", "text"]
    return Table(headers, rows, fmts)


def standards_table(data: ReportData) -> Table:
    """Return the standards and norms used, one row per item, each with its source."""
    lang = data.lang
    headers = [t("col.service", lang), t("col.service_name", lang), t("col.item", lang),
               t("col.value", lang), t("col.source", lang)]
    rows: list[list[Any]] = []
    for sr in data.services:
        s = sr.spec
        group = data.ws.spec.demand_groups.get(s.demand)
        gname = (group.zh if lang == "zh" else group.en) or s.demand if group else s.demand
        items: list[tuple[str, str, str]] = [
            ("standard", f"{s.standard.label(lang)} ({t('rep.demand', lang, group=gname)})",
             s.source.get("standard", ""))]
        if s.rural_standard is not None:
            items.append(("rural_standard", s.rural_standard.label(lang), s.source.get("rural_standard", "")))
        if s.norm_per_1000 is not None:
            items.append(("norm", f"{s.norm_per_1000:g} {cap_label(s.capacity, lang)} / 1000",
                          s.source.get("norm", "")))
        for key, val in s.source.items():
            if key not in ("standard", "rural_standard", "norm"):
                items.append((key, "", val))
        for item, val, src in items:
            label = t(f"rep.item.{item}", lang) if f"rep.item.{item}" in TEXT else item
            rows.append([s.name, s.title(lang), label, val, src])
    ref: Standard | None = data.ws.spec.referral_standard
    if ref is not None:
        rows.append(["consortia", t("rep.consortia", lang), t("rep.item.referral", lang), ref.label(lang),
                     data.ws.spec.referral_source])
    return Table(headers, rows, ["text"] * 5)


def scenario_table(data: ReportData, service: str) -> Table | None:
    """Return covered people by district for the baseline and each scenario of ``service``."""
    cmp_ = data.extra.get("scenarios", {}).get(service)
    if cmp_ is None:
        return None
    lang = data.lang
    names = [n for n in dict.fromkeys(a for a, _ in cmp_.columns) if n]
    headers = [t("col.district_id", lang), t("col.district_name", lang), t("col.population", lang)]
    formats: list[Fmt] = ["text", "text", "int"]
    for n in names:
        label = t("rep.baseline", lang) if n == "baseline" else n
        headers += [f"{label} · {t('col.covered', lang)}", f"{label} · {t('col.covered_pct', lang)}"]
        formats += ["int", "pct"]
    rows: list[list[Any]] = []
    for (did, dname), r in cmp_.iterrows():
        row: list[Any] = [str(did), str(dname), _num(r[("", "population")])]
        for n in names:
            row += [_num(r[(n, "covered")]), _num(r[(n, "covered_pct")])]
        rows.append(row)
    return Table(headers, rows, formats)


def provenance_table(data: ReportData) -> Table:
    """Return one row per layer: file, real or synthetic, description and source."""
    lang = data.lang
    headers = [t("col.layer", lang), t("col.file", lang), t("col.status", lang), t("col.description", lang),
               t("col.source", lang)]
    rows = [[r["layer"], r["file"], t(f"word.{r['status']}", lang), (r[lang] or r["en"] or r["zh"]), r["source"]]
            for r in data.ws.provenance()]
    return Table(headers, rows, ["text"] * 5)


def format_value(v: Any, fmt: Fmt) -> str:
    """Format one table value for HTML and PDF (thousands separators; empty for missing)."""
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return ""
    if fmt == "text":
        return str(v)
    f = float(v)
    if fmt == "int":
        return f"{f:,.0f}"
    if fmt == "f1" or fmt == "pct":
        return f"{f:,.1f}"
    if fmt == "deg":
        return f"{f:.4f}"
    return f"{f:,.2f}"


# --------------------------------------------------------------------------------------
# Excel
# --------------------------------------------------------------------------------------

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


def write_xlsx(data: ReportData, path: Path) -> None:
    """Write the workbook: summary, per-service district and class sheets, gaps, consortia, standards, provenance.

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
    _write_sheet(wb, t("rep.sheet.summary", lang), summary_table(data), used, notes=notes)
    for sr in data.services:
        _write_sheet(wb, t("rep.sheet.district", lang, service=sr.name), district_table(sr, lang), used,
                     notes=[f"{sr.spec.title(lang)} · {standard_text(sr.spec, lang)}"])
        ratio = sr.town_country_ratio
        _write_sheet(wb, t("rep.sheet.class", lang, service=sr.name), class_table(sr, lang), used,
                     notes=[f"{sr.spec.title(lang)} · " + t("rep.ratio", lang, v=f"{ratio:.2f}" if math.isfinite(ratio) else "—")])
    gap_rows: list[list[Any]] = []
    gt: Table | None = None
    n_all = 0
    for sr in data.services:
        gt = gap_table(sr, lang, with_service=True, min_people=XLSX_GAP_MIN_PEOPLE)
        gap_rows.extend(gt.rows)
        n_all += len(sr.gaps)
    if gt is None:  # pragma: no cover - collect() always yields at least one service
        msg = "a report needs at least one service"
        raise GisAppError(msg)
    _write_sheet(wb, t("rep.sheet.gaps", lang), Table(gt.headers, gap_rows, gt.formats), used,
                 notes=[t("rep.gaps_sheet_note", lang, min=f"{XLSX_GAP_MIN_PEOPLE:g}", n=len(gap_rows), total=n_all)])
    for sr in data.services:
        st_ = scenario_table(data, sr.name)
        if st_ is not None:
            _write_sheet(wb, t("rep.sheet.scenarios", lang, service=sr.name), st_, used,
                         notes=[f"{sr.spec.title(lang)} · {t('rep.scenarios', lang)}"])
    _write_sheet(wb, t("rep.sheet.consortia", lang), consortia_table(data), used)
    _write_sheet(wb, t("rep.sheet.members", lang), members_table(data), used)
    _write_sheet(wb, t("rep.sheet.standards", lang), standards_table(data), used)
    _write_sheet(wb, t("rep.sheet.provenance", lang), provenance_table(data), used,
                 notes=data.provenance_lines())
    wb.save(path)


def _parse_generated(s: str) -> _dt.datetime | None:
    try:
        return _dt.datetime.strptime(s, "%Y-%m-%d %H:%M")
    except ValueError:
        return None


# --------------------------------------------------------------------------------------
# GeoPackage
# --------------------------------------------------------------------------------------


def districts_layer(data: ReportData) -> gpd.GeoDataFrame:
    """Return the districts (analysis CRS) with each service's metrics as columns."""
    d = data.ws.districts[["district_id", "district_name", "geometry"]].copy()
    for sr in data.services:
        cov, cap = sr.coverage, sr.capacity
        src = {"population": cov["population"], "covered": cov["covered"], "uncovered": cov["uncovered"],
               "covered_pct": cov["covered_pct"], "capacity": cap["capacity"],
               "capacity_per_1000": cap["capacity_per_1000"], "capacity_gap": cap["capacity_gap"],
               "access_per_1000": cap["access_per_1000"]}
        for metric in DISTRICT_METRICS:
            d[district_metric_column(sr.name, metric)] = np.asarray(src[metric], dtype=float)
    return gpd.GeoDataFrame(d, geometry="geometry", crs=data.ws.crs)


def facilities_layer(data: ReportData) -> gpd.GeoDataFrame:
    """Return the facilities (analysis CRS) with the people each serves, per service.

    ``<service>_served``: people of the service's demand group whose nearest serving
    facility this is; ``<service>_served_covered``: those of them within the standard.
    NaN for facilities that do not serve the service.
    """
    f = data.ws.facilities
    keep = [c for c in f.columns if c not in ("geometry",)]
    out = f[keep].copy()
    out["is_lead"] = out["is_lead"].astype(bool)
    n = len(f)
    for sr in data.services:
        res = sr.result
        ok = res.eligible & (res.nearest_facility >= 0)
        served = np.bincount(res.nearest_facility[ok], weights=res.demand[ok], minlength=n)
        okc = ok & res.covered
        served_c = np.bincount(res.nearest_facility[okc], weights=res.demand[okc], minlength=n)
        mask = np.zeros(n, dtype=bool)
        mask[res.facility_idx] = True
        out[facility_metric_column(sr.name, "served")] = np.where(mask, served, np.nan)
        out[facility_metric_column(sr.name, "served_covered")] = np.where(mask, served_c, np.nan)
    if not data.members.empty:
        m = data.members.set_index("facility_id")
        out["lead_id"] = out["facility_id"].map(m["lead_id"]).fillna("").astype(str)
        out["to_lead_min"] = out["facility_id"].map(m["travel_min"]).astype(float)
    return gpd.GeoDataFrame(out, geometry=f.geometry.values, crs=data.ws.crs)


def gaps_layer(data: ReportData) -> gpd.GeoDataFrame:
    """Return every service's gap areas (analysis CRS) with a ``service`` column."""
    parts = []
    for sr in data.services:
        g = sr.gaps.drop(columns=["label"]).copy()
        g.insert(0, "service", sr.name)
        parts.append(g)
    out = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    return gpd.GeoDataFrame(out, geometry="geometry", crs=data.ws.crs)


def grid_layer(data: ReportData) -> gpd.GeoDataFrame:
    """Return populated cells as centre points with each service's covered flag and travel."""
    ws = data.ws
    g = ws.grid
    sel = np.flatnonzero(g.pop > 0)
    cols: dict[str, Any] = {
        "cell_id": sel.astype(np.int64), "pop": g.pop[sel],
        "district_id": ws.districts["district_id"].to_numpy()[g.district[sel]],
        "urban_class": ws.urban_class[sel].astype(np.int16),
    }
    for sr in data.services:
        r = sr.result
        cols[grid_metric_column(sr.name, "covered")] = r.covered[sel].astype(np.int16)
        cols[grid_metric_column(sr.name, "nearest_m")] = r.nearest_m[sel]
        cols[grid_metric_column(sr.name, "travel_m" if sr.unit == "m" else "travel_min")] = r.travel_cost[sel]
        cols[grid_metric_column(sr.name, "access_per_1000")] = r.access_per_1000[sel]
    return gpd.GeoDataFrame(cols, geometry=gpd.points_from_xy(g.x[sel], g.y[sel]), crs=ws.crs)


def write_gpkg(data: ReportData, path: Path) -> None:
    """Write the GeoPackage layers ``districts``, ``facilities``, ``gaps``, ``coverage_grid`` (analysis CRS)."""
    layers = {"districts": districts_layer(data), "facilities": facilities_layer(data),
              "gaps": gaps_layer(data), "coverage_grid": grid_layer(data)}
    for name, gdf in layers.items():
        kw: dict[str, Any] = {}
        if len(gdf) == 0:
            kw["geometry_type"] = "MultiPolygon" if name in ("gaps", "districts") else "Point"
        elif name in ("gaps", "districts"):
            kw["promote_to_multi"] = True
        gdf.to_file(path, layer=name, driver="GPKG", engine="pyogrio", **kw)


# --------------------------------------------------------------------------------------
# the whole report
# --------------------------------------------------------------------------------------


class _Progress:
    """Drive a tqdm bar and an optional ``on_progress(fraction, message)`` callback."""

    def __init__(self, total: int, *, enabled: bool, callback: ProgressCallback | None, desc: str) -> None:
        from tqdm.auto import tqdm

        self.total, self.done, self.callback = total, 0, callback
        self.bar = tqdm(total=total, disable=not enabled, desc=desc, unit="step", leave=True)

    def message(self, msg: str) -> None:
        self.bar.set_postfix_str(msg, refresh=True)
        if self.callback:
            self.callback(self.done / self.total, msg)

    def step(self, msg: str) -> None:
        self.done += 1
        self.bar.update(1)
        self.bar.set_postfix_str(msg, refresh=False)
        if self.callback:
            self.callback(min(1.0, self.done / self.total), msg)

    def close(self) -> None:
        self.bar.close()


def write_report(ws: Workspace, out_dir: str | Path, *, services: Sequence[str] | None = None,
                 lang: str = "zh", progress: bool = True, on_progress: ProgressCallback | None = None,
                 formats: Sequence[str] = FORMATS, generated: str | _dt.datetime | None = None,
                 base_tiles: bool = True, travel: str | None = None,
                 standards: Mapping[str, Standard] | None = None,
                 scenarios: Mapping[str, Sequence[Any]] | None = None) -> list[Path]:
    """Compute the chosen services and write the report files into ``out_dir``.

    Parameters
    ----------
    ws
        The loaded workspace.
    out_dir
        Output folder (created if needed).
    services
        Service names (default: all services of the workspace).
    lang
        "zh" or "en": language of the text, headers and sheet names.
    progress
        Show a tqdm progress bar on stderr.
    on_progress
        Called as ``on_progress(fraction, message)`` after each step (fraction 0-1), e.g. to
        drive a Streamlit progress bar.
    formats
        Which files to write, a subset of ``("html", "xlsx", "gpkg", "pdf")``.
    generated
        The time stamp printed on the reports (default: now); fix it for reproducible files.
    base_tiles
        Offer OpenStreetMap base tiles (switched off by default, need a network) on the
        interactive map.

    Returns
    -------
    list of Path
        The files written, in the order html, xlsx, gpkg, pdf (those requested).

    Raises
    ------
    GisAppError
        For an unknown service, language or format, or when no CJK font is installed for
        the PDF and the charts.

    Notes
    -----
    Every file is first written to a temporary file in ``out_dir``; the temporary files
    replace the targets only after all of them are complete.  If any step fails, the files
    already in ``out_dir`` are left exactly as they were and no temporary file remains.
    """
    fmts = [f for f in FORMATS if f in set(formats)]
    bad = sorted(set(formats) - set(FORMATS))
    if bad or not fmts:
        msg = f"formats must be a non-empty subset of {', '.join(FORMATS)}; got {', '.join(map(str, formats))}."
        raise GisAppError(msg)
    needs_font = bool({"html", "pdf"} & set(fmts))
    if needs_font:
        from gisapp.reports.charts import find_cjk_font

        find_cjk_font()  # fail early, before any computation
    out = Path(out_dir)
    n_services = len(services) if services else len(ws.spec.services)
    prog = _Progress(1 + n_services + 1 + len(fmts), enabled=progress, callback=on_progress,
                     desc=t("rep.title", lang) if lang in ("zh", "en") else "report")
    try:
        prog.step(t("rep.step.load", lang))
        data = collect(ws, services, lang=lang, generated=generated, step=prog.step, travel=travel,
                       standards=standards, scenarios=scenarios)
        charts: dict[str, dict[str, bytes]] = {}
        paths: list[Path] = []
        with contextlib.ExitStack() as stack:
            for fmt in fmts:
                dest = out / FILE_NAMES[fmt]
                tmp = stack.enter_context(atomic_path(dest))
                prog.message(t(f"rep.step.{fmt}", lang))
                if fmt == "xlsx":
                    write_xlsx(data, tmp)
                elif fmt == "gpkg":
                    write_gpkg(data, tmp)
                elif fmt == "html":
                    from gisapp.reports.html import write_html

                    write_html(data, tmp, charts=_charts(data, charts), base_tiles=base_tiles)
                else:
                    from gisapp.reports.pdf import write_pdf

                    write_pdf(data, tmp, charts=_charts(data, charts))
                paths.append(dest)
                prog.step(t(f"rep.step.{fmt}", lang))
        prog.message(t("rep.step.done", lang))
        return paths
    finally:
        prog.close()


def _charts(data: ReportData, cache: dict[str, dict[str, bytes]]) -> dict[str, dict[str, bytes]]:
    """Render the charts once for both the HTML and the PDF report."""
    if not cache:
        from gisapp.reports import charts as charts

        for sr in data.services:
            cache[sr.name] = charts.service_charts(data, sr)
    return cache
