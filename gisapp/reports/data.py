"""The report data: every service computed once, and the language-aware tables of the writers.

:func:`collect` runs each chosen service (coverage, capacity, town and country, the cumulative
curve, gap areas) and the consortia into one :class:`ReportData`; the table builders
(:func:`summary_table`, :func:`district_table`, ...) turn it into :class:`Table` objects with
headers (and units) in the report's language and values kept as numbers.  The writers of
:mod:`gisapp.reports` (HTML, XLSX, GeoPackage, PDF) and its charts all read this module only.
"""

from __future__ import annotations

import datetime as _dt
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal

import geopandas as gpd
import numpy as np
import pandas as pd

from gisapp._errors import GisAppError
from gisapp.config.spec import FACILITY_KINDS, ServiceSpec, Standard
from gisapp.i18n import TEXT, t
from gisapp.metrics.consortia import consortia_members, consortia_summary
from gisapp.metrics.gaps import gap_polygons
from gisapp.metrics.service import ServiceResult, run_service
from gisapp.metrics.tables import (
    capacity_by_district,
    coverage_by_class,
    coverage_by_district,
    cumulative_curve,
)
from gisapp.metrics.tables import summary as service_summary
from gisapp.planning.scenario import compare_scenarios
from gisapp.workspace import Workspace

__all__ = [
    "DISTRICT_METRICS",
    "FACILITY_METRICS",
    "GRID_METRICS",
    "LANGS",
    "MAP_GAPS",
    "TOP_GAPS",
    "XLSX_GAP_MIN_PEOPLE",
    "Fmt",
    "ReportData",
    "ServiceReport",
    "Table",
    "cap_label",
    "check_lang",
    "check_services",
    "class_table",
    "collect",
    "consortia_table",
    "district_metric_column",
    "district_table",
    "facility_metric_column",
    "format_value",
    "gap_table",
    "grid_metric_column",
    "members_table",
    "provenance_table",
    "scenario_table",
    "standard_text",
    "standards_table",
    "summary_table",
]

#: The languages of a report.
LANGS: Final = ("zh", "en")

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

Fmt = Literal["text", "int", "f1", "f2", "pct", "deg"]


def _metric_column(service: str, metric: str, allowed: dict[str, str]) -> str:
    if metric not in allowed:
        raise GisAppError(code="report_unknown_metric", params={"metric": metric, "known": ", ".join(allowed)})
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
    result: ServiceResult
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


def check_lang(lang: str) -> str:
    """Return ``lang`` if a report can be written in it ("zh" or "en").

    Raises
    ------
    GisAppError
        Code ``report_lang``.

    Examples
    --------
    >>> check_lang("en")
    'en'
    """
    if lang not in LANGS:
        raise GisAppError(code="report_lang", params={"lang": lang})
    return lang


def check_services(ws: Workspace, services: Sequence[str] | None) -> list[str]:
    """Return the services of a report, in order and once each (default: every service of ``ws``).

    Raises
    ------
    GisAppError
        Code ``report_unknown_services`` when the workspace lacks one of them.
    """
    names = list(services) if services else list(ws.spec.services)
    unknown = [n for n in names if n not in ws.spec.services]
    if unknown:
        raise GisAppError(code="report_unknown_services",
                          params={"names": ", ".join(map(repr, unknown)), "known": ", ".join(ws.spec.services)})
    return list(dict.fromkeys(names))


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
        "straight_line" or "terrain" (see :func:`gisapp.metrics.service.run_service`).
    standards
        Service name -> a standard that overrides the workspace's (e.g. the app's slider).
    scenarios
        Scenario name -> list of :class:`gisapp.planning.scenario.Edit`; each service's report then
        compares covered people by district for the baseline and each scenario.

    Returns
    -------
    ReportData

    Raises
    ------
    GisAppError
        If a service does not exist or the language is unknown.
    """
    check_lang(lang)
    names = check_services(ws, services)
    if generated is None:
        generated = _dt.datetime.now().replace(second=0, microsecond=0)
    gen = generated.strftime("%Y-%m-%d %H:%M") if isinstance(generated, _dt.datetime) else str(generated)
    out = []
    for name in names:
        res = run_service(ws, name, travel=travel,
                                   standard=(standards or {}).get(name))
        gaps = gap_polygons(ws, res)
        out.append(ServiceReport(
            name=name, spec=res.service, result=res, summary=service_summary(ws, res),
            coverage=coverage_by_district(ws, res),
            capacity=capacity_by_district(ws, res),
            classes=coverage_by_class(ws, res),
            curve=cumulative_curve(res), gaps=gaps))
        if step:
            step(t("rep.step.service", lang, service=res.service.title(lang)))
    compare: dict[str, pd.DataFrame] = {}
    if scenarios:
        for sr in out:
            compare[sr.name] = compare_scenarios(ws, sr.name, {k: list(v) for k, v in scenarios.items()})
    cons = consortia_summary(ws)
    members = consortia_members(ws)
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

