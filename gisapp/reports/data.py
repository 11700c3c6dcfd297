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
from gisapp.i18n import TEXT, Term, t
from gisapp.metrics.consortia import consortia_members, consortia_summary
from gisapp.metrics.findings import ServiceFindings, capacity_columns, district_people, findings
from gisapp.metrics.gaps import gap_polygons
from gisapp.metrics.people import whole
from gisapp.metrics.places import gap_places, has_places
from gisapp.metrics.served import (
    ServedWithinCapacity,
    served_total_text,
    served_whole,
    served_within_capacity,
)
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
    "CLASS_ROWS",
    "capacity_note",
    "check_services",
    "class_table",
    "collect",
    "consortia_table",
    "district_metric_column",
    "district_table",
    "facility_metric_column",
    "findings_table",
    "format_value",
    "gap_table",
    "short_title",
    "grid_metric_column",
    "layer_name",
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
    "capacity_gap": "capacity units", "shortfall": "capacity units", "surplus": "capacity units",
    "access_per_1000": "per 1,000 people",
}
#: Per-service cell metrics in the GeoPackage ``coverage_grid`` layer (suffix -> unit).
GRID_METRICS: Final = {"covered": "0/1", "nearest_m": "m", "travel_m": "m", "travel_min": "min",
                       "access_per_1000": "per 1,000 people"}
#: Per-service facility metrics in the GeoPackage ``facilities`` layer (suffix -> unit).
FACILITY_METRICS: Final = {"served": "people", "served_covered": "people"}

#: Places beyond the standard listed in the HTML and PDF reports (the workbook holds all).
TOP_GAPS: Final = 20
#: Places in the workbook's gap sheet hold at least this many people beyond the standard.
XLSX_GAP_MIN_PEOPLE: Final = 1.0
#: The rows of the town and country table, in order (``country`` of older tables is the same as ``rural``).
CLASS_ROWS: Final = ("urban_centre", "urban_cluster", "rural", "town", "all")
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
    places: pd.DataFrame
    findings: ServiceFindings
    served: ServedWithinCapacity | None = None  # issue 11: people served within capacity (services with one)

    @property
    def unit(self) -> str:
        """Return the unit of the travel cost ("m" or "min"; minutes in terrain mode)."""
        return self.result.unit

    @property
    def town_country_ratio(self) -> float:
        """Return covered share in town / covered share in the country (rural; NaN if undefined)."""
        return self.findings.ratio


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
        lang = self.lang
        none = t("rep.none", lang)
        sep = t("rep.list_sep", lang)

        def names(roles: list[str]) -> str:
            return sep.join(layer_name(r, lang) for r in roles) or none

        lines = [t("rep.layers_real", lang, layers=names(by["real"])),
                 t("rep.layers_synthetic", lang, layers=names(by["synthetic"]))]
        if by["other"]:
            lines.append(t("rep.layers_other", lang, layers=names(by["other"])))
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
        cov, cap, cls = coverage_by_district(ws, res), capacity_by_district(ws, res), coverage_by_class(ws, res)
        places = gap_places(ws, res)
        fnd = findings(ws, res, coverage=cov, classes=cls, capacity=cap,
                       places=places if has_places(ws) else None)
        out.append(ServiceReport(
            name=name, spec=res.service, result=res, summary=service_summary(ws, res),
            coverage=cov, capacity=cap, classes=cls,
            curve=cumulative_curve(res), gaps=gaps, places=places, findings=fnd,
            served=served_within_capacity(ws, res) if res.service.capacity else None))
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
    extra: dict[str, Any] = {"scenarios": compare} if compare else {}
    extra.update(index_extra(ws, out, lang=lang, travel=travel, standards=standards))  # issue 14: index (D)
    return ReportData(ws=ws, lang=lang, generated=gen, services=out, consortia=cons, members=members,
                      extra=extra)


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


def short_title(svc: ServiceSpec, lang: str) -> str:
    """Return a service's title without its parenthesised detail ("基层医疗（15分钟…）" -> "基层医疗").

    Examples
    --------
    >>> from gisapp.config.spec import Standard
    >>> svc = ServiceSpec(name="kg", kinds=("kindergarten",), standard=Standard(distance_m=300),
    ...                   titles={"zh": "幼儿园（步行300米）", "en": "Kindergarten (300 m walk)"})
    >>> short_title(svc, "zh"), short_title(svc, "en")
    ('幼儿园', 'Kindergarten')
    """
    title = svc.title(lang)
    for mark in ("（", " ("):
        head = title.split(mark, 1)[0].strip()
        if head and head != title:
            return head
    return title


def layer_name(role: str, lang: str) -> str:
    """Return the name of a layer role in ``lang`` ("population" -> "人口格网"), else the role."""
    return Term(f"layer.{role}", role).text(lang)


def _people(values: Any) -> list[int]:
    return [int(v) for v in whole(np.asarray(values, dtype=float))]


def summary_table(data: ReportData) -> Table:
    """Return one row per service: standard, people covered and not, median travel, equity.

    People are whole people and equal the totals of the district tables.
    """
    lang = data.lang
    headers = [t("col.service_name", lang), t("rep.item.standard", lang),
               t("col.population", lang), t("col.covered", lang), t("col.uncovered", lang),
               t("col.covered_pct", lang), t("col.median_m", lang), t("col.median_min", lang),
               t("col.facilities", lang), t("col.gini", lang), t("col.palma", lang)]
    rows = []
    for sr in data.services:
        s, f = sr.summary, sr.findings
        med = _num(s["median_cost"])
        rows.append([sr.spec.title(lang), standard_text(sr.spec, lang), f.population,
                     int(f.districts["covered"].sum()), f.beyond, _num(s["covered_pct"]),
                     med if sr.unit == "m" else None, med if sr.unit == "min" else None,
                     _num(s["facilities"]), _num(s["gini_access"]), _num(s["palma_access"])])
    return Table(headers, rows, ["text", "text", "int", "int", "int", "f1", "int", "f1", "int", "f2", "f2"])


def findings_table(data: ReportData) -> Table:
    """Return the key findings (主要结论): one row per service.

    People beyond the standard in all and in each district (whole people, the figures of the
    district tables), the district with the lowest coverage, the town / country coverage ratio
    and the capacity shortfall against the norm (the sum of the short districts' shortfalls,
    never netted against surpluses) with its unit.
    """
    lang = data.lang
    ws = data.ws
    names = ws.districts["district_name"].astype(str).tolist()
    headers = [t("col.service_name", lang), t("col.people_beyond", lang), t("col.covered_pct", lang),
               *[t("col.district_beyond", lang, district=n) for n in names],
               t("col.worst_district", lang), t("col.worst_pct", lang), t("col.town_rural_ratio", lang),
               t("col.shortfall_total", lang), t("col.capacity_unit", lang)]
    per_district: list[Fmt] = ["int"] * len(names)
    fmts: list[Fmt] = ["text", "int", "f1", *per_district, "text", "f1", "f2", "f1", "text"]
    rows: list[list[Any]] = []
    for sr in data.services:
        f = sr.findings
        d = f.districts
        per = [int(b) if p > 0 else None for b, p in zip(d["beyond"], d["exact_population"], strict=True)]
        rows.append([sr.spec.title(lang), f.beyond, _num(f.covered_pct), *per, f.worst or None,
                     _num(f.worst_pct), _num(f.ratio), f.shortfall,
                     f.capacity_unit(lang) if f.shortfall is not None else None])
    return Table(headers, rows, fmts)


def district_table(sr: ServiceReport, lang: str) -> Table:
    """Return coverage (and capacity, when the service has one) by district, with a total row.

    People are whole people (rows add up to the total).  With a norm, the capacity shortfall
    and surplus of each district are separate columns; each total adds its own column only,
    so shortfalls are never netted against surpluses.
    """
    cov, cap = district_people(sr.coverage), sr.capacity
    headers = [t("col.district_id", lang), t("col.district_name", lang), t("col.population", lang),
               t("col.covered", lang), t("col.uncovered", lang), t("col.covered_pct", lang),
               t("col.facilities", lang)]
    fmts: list[Fmt] = ["text", "text", "int", "int", "int", "f1", "int"]
    has_cap = bool(sr.spec.capacity)
    has_norm = has_cap and sr.spec.norm_per_1000 is not None
    short, plus = capacity_columns(cap)
    if has_cap:
        c = cap_label(sr.spec.capacity, lang)
        headers += [t("col.capacity", lang, cap=c), t("col.capacity_per_1000", lang, cap=c)]
        fmts += ["int", "f2"]
        if has_norm:
            headers += [t("col.norm_per_1000", lang, cap=c), t("col.shortfall", lang, cap=c),
                        t("col.surplus", lang, cap=c)]
            fmts += ["f2", "f1", "f1"]
        headers.append(t("col.access_per_1000", lang, cap=c))
        fmts.append("f2")
    rows = []
    pop_i, cov_i, unc_i = (cov[c].to_numpy(np.int64) for c in ("population", "covered", "uncovered"))
    for i in range(len(cov)):
        r: list[Any] = [str(cov["district_id"].iat[i]), str(cov["district_name"].iat[i]),
                        int(pop_i[i]), int(cov_i[i]), int(unc_i[i]), _num(cov["covered_pct"].iat[i]),
                        int(cap["facilities"].to_numpy()[i])]
        if has_cap:
            r += [_num(cap["capacity"].iat[i]), _num(cap["capacity_per_1000"].iat[i])]
            if has_norm:
                r += [_num(cap["norm_per_1000"].iat[i]), _num(short[i]), _num(plus[i])]
            r.append(_num(cap["access_per_1000"].iat[i]))
        rows.append(r)
    pop_f = float(sr.coverage["population"].sum())
    tot: list[Any] = ["", t("rep.total", lang), int(cov["population"].sum()), int(cov["covered"].sum()),
                      int(cov["uncovered"].sum()),
                      100.0 * float(sr.coverage["covered"].sum()) / pop_f if pop_f > 0 else None,
                      int(cap["facilities"].sum())]
    if has_cap:
        capsum = float(cap["capacity"].sum())
        tot += [capsum, capsum * 1000.0 / pop_f if pop_f > 0 else None]
        if has_norm:
            tot += [_num(sr.spec.norm_per_1000), float(np.nansum(short)), float(np.nansum(plus))]
        acc = cap["access_per_1000"].to_numpy(float)
        w = cap["population"].to_numpy(float)
        ok = np.isfinite(acc) & (w > 0)
        tot.append(float((acc[ok] * w[ok]).sum() / w[ok].sum()) if ok.any() else None)
    rows.append(tot)
    return Table(headers, rows, fmts, total=True)


def capacity_note(sr: ServiceReport, lang: str) -> str:
    """Return what the capacity columns of a district table mean ("" without a norm)."""
    if not sr.spec.capacity or sr.spec.norm_per_1000 is None:
        return ""
    return t("rep.capacity_note", lang, cap=cap_label(sr.spec.capacity, lang), norm=f"{sr.spec.norm_per_1000:g}")


def served_table(sr: ServiceReport, lang: str) -> Table | None:
    """Return people served within capacity (AccessMod style) by district with a total row (issue 11).

    None when the service has no capacity or no way to turn it into people (:func:`served_lines`
    then says why).  Whole people; rows add up to the total row.
    """
    sv = sr.served
    if sv is None or not sv.applicable:
        return None
    d = served_whole(sv)
    headers = [t("col.district_id", lang), t("col.district_name", lang), t("col.population", lang),
               t("col.capacity_people", lang), t("col.served", lang), t("col.unserved", lang),
               t("col.served_pct", lang)]
    ints = {c: d[c].to_numpy(np.int64) for c in ("population", "capacity_people", "served", "unserved")}
    rows: list[list[Any]] = [[str(d["district_id"].iat[i]), str(d["district_name"].iat[i]),
                              *(int(ints[c][i]) for c in ("population", "capacity_people", "served", "unserved")),
                              _num(d["served_pct"].iat[i])] for i in range(len(d))]
    rows.append(["", t("rep.total", lang), int(d["population"].sum()), int(d["capacity_people"].sum()),
                 int(d["served"].sum()), int(d["unserved"].sum()), _num(sv.share_pct)])
    return Table(headers, rows, ["text", "text", "int", "int", "int", "int", "f1"], total=True)


def served_lines(sr: ServiceReport, lang: str) -> list[str]:
    """Return what goes with :func:`served_table`: what it is, the totals, the conversion and every notice.

    Empty for a service without a capacity field.
    """
    sv = sr.served
    if sv is None:
        return []
    head = [t("served.about", lang), served_total_text(sv, lang)] if sv.applicable else []
    return head + sv.texts(lang)


def class_table(sr: ServiceReport, lang: str) -> Table:
    """Return coverage by Degree of Urbanisation class, the town subtotal and all, each class explained.

    One row per class (:data:`CLASS_ROWS`); the country is the rural class (no second row).
    """
    headers = [t("col.class", lang), t("col.population", lang), t("col.covered", lang),
               t("col.uncovered", lang), t("col.covered_pct", lang), t("col.description", lang)]
    by = sr.classes.set_index("class")
    names = [c for c in CLASS_ROWS if c in by.index]
    cls = by.loc[names]
    # whole people: the three classes add up to "all", town is the sum of its two classes
    base = [c for c in ("urban_centre", "urban_cluster", "rural") if c in cls.index]
    cov: dict[str, int] = dict(zip(base, _people(cls.loc[base, "covered"]), strict=True))
    unc: dict[str, int] = dict(zip(base, _people(cls.loc[base, "uncovered"]), strict=True))
    parts: dict[str, list[str]] = {"town": [c for c in ("urban_centre", "urban_cluster") if c in cov], "all": base}
    for c, members in parts.items():
        cov[c] = sum(cov[m] for m in members)
        unc[c] = sum(unc[m] for m in members)
    rows = [[t(f"class.{c}", lang), cov[c] + unc[c], cov[c], unc[c], _num(cls.at[c, "covered_pct"]),
             t(f"rep.class_note.{c}", lang)] for c in names]
    return Table(headers, rows, ["text", "int", "int", "int", "f1", "text"])


def gap_table(sr: ServiceReport, lang: str, *, top: int | None = None, with_service: bool = False,
              min_people: float = 0.0, coordinates: bool = False) -> Table:
    """Return the places with people beyond the standard, most people first.

    One row per place (district, township, village or community; district only when the
    workspace has no settlements layer): whole people, the mean distance and travel time to
    the nearest facility of the service and that facility's name.  ``top`` keeps the first
    places; ``min_people`` keeps places with at least that many people; ``coordinates`` adds
    the place's longitude and latitude.
    """
    g = sr.places
    if min_people > 0:
        g = g[g["people"] >= min_people]
    g = g if top is None else g.head(top)
    named = sr.findings.places is not None
    headers = [t("col.rank", lang), t("col.district_name", lang)]
    fmts: list[Fmt] = ["int", "text"]
    if named:
        headers += [t("col.township", lang), t("col.place", lang)]
        fmts += ["text", "text"]
    headers += [t("col.people_beyond", lang), t("col.place_distance_m", lang), t("col.place_travel_min", lang),
                t("col.nearest_facility", lang)]
    fmts += ["int", "int", "f1", "text"]
    if coordinates:
        headers += [t("col.lon", lang), t("col.lat", lang)]
        fmts += ["deg", "deg"]
    rows: list[list[Any]] = []
    rank, people = g["rank"].to_numpy(np.int64), g["people"].to_numpy(np.int64)
    lon, lat = np.round(g["lon"].to_numpy(float), 5), np.round(g["lat"].to_numpy(float), 5)
    for i in range(len(g)):
        row: list[Any] = [int(rank[i]), str(g["district_name"].iat[i])]
        if named:
            row += [str(g["township"].iat[i]), str(g["place"].iat[i])]
        row += [int(people[i]), _num(g["distance_m"].iat[i]), _num(g["travel_min"].iat[i]),
                str(g["facility_name"].iat[i])]
        if coordinates:
            row += [_num(lon[i]), _num(lat[i])]
        rows.append(row)
    if with_service:
        headers = [t("col.service_name", lang), *headers]
        fmts = ["text", *fmts]
        rows = [[sr.spec.title(lang), *r] for r in rows]
    return Table(headers, rows, fmts)


def consortia_table(data: ReportData) -> Table:
    """Return one row per consortium: sector, lead, members, time to lead, people served."""
    lang = data.lang
    headers = [t("col.consortium_id", lang), t("col.sector", lang), t("col.lead_name", lang),
               t("col.members", lang), t("col.mean_travel_min", lang), t("col.max_travel_min", lang),
               t("col.beyond_referral", lang), t("col.population_served", lang)]
    served = _people(data.consortia["population_served"]) if len(data.consortia) else []
    rows = [[str(r["consortium_id"]), t(f"sector.{r['sector']}", lang), str(r["lead_name"]),
             int(r["members"]), _num(r["mean_travel_min"]), _num(r["max_travel_min"]),
             int(r["beyond_referral"]), n] for (_, r), n in zip(data.consortia.iterrows(), served, strict=True)]
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
    headers = [t("col.service_name", lang), t("col.item", lang), t("col.value", lang), t("col.source", lang)]
    rows: list[list[Any]] = []
    for sr in data.services:
        s = sr.spec
        group = data.ws.spec.demand_groups.get(s.demand)
        gname = (group.zh if lang == "zh" else group.en) or s.demand if group else s.demand
        items: list[tuple[str, str, str]] = [
            ("standard", f"{s.standard.label(lang)} ({t('rep.demand', lang, group=gname)})",
             s.source_text("standard", lang))]
        if s.rural_standard is not None:
            items.append(("rural_standard", s.rural_standard.label(lang), s.source_text("rural_standard", lang)))
        if s.norm_per_1000 is not None:
            unit = Term(f"capunit.{s.capacity}", cap_label(s.capacity, lang)).text(lang)
            items.append(("norm", t("rep.norm_value", lang, v=f"{s.norm_per_1000:g}", unit=unit),
                          s.source_text("norm", lang)))
        for key, val in s.source_items(lang):
            if key not in ("standard", "rural_standard", "norm"):
                items.append((key, "", val))
        for item, val, src in items:
            label = t(f"rep.item.{item}", lang) if f"rep.item.{item}" in TEXT else item
            rows.append([s.title(lang), label, val, src])
    ref: Standard | None = data.ws.spec.referral_standard
    if ref is not None:
        rows.append([t("rep.consortia", lang), t("rep.item.referral", lang), ref.label(lang),
                     data.ws.spec.referral_source_text(lang)])
    return Table(headers, rows, ["text"] * 4)


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
    pop = _people(cmp_[("", "population")])
    covered = {n: _people(cmp_[(n, "covered")]) for n in names}
    for i, ((did, dname), r) in enumerate(cmp_.iterrows()):
        row: list[Any] = [str(did), str(dname), pop[i]]
        for n in names:
            row += [covered[n][i], _num(r[(n, "covered_pct")])]
        rows.append(row)
    return Table(headers, rows, formats)


def provenance_table(data: ReportData) -> Table:
    """Return one row per layer: file, real or synthetic, description and source; then one per notice.

    A notice (``ws.notices``) is what the engine substituted while reading a layer, e.g. blank
    capacities read as 0: its file, its text and fix, and its field.
    """
    lang = data.lang
    headers = [t("col.layer", lang), t("col.file", lang), t("col.status", lang), t("col.description", lang),
               t("col.source", lang)]
    layers = data.ws.spec.layers
    rows = [[layer_name(r["layer"], lang), r["file"], t(f"word.{r['status']}", lang),
             layers[r["layer"]].provenance.about(lang), layers[r["layer"]].provenance.source_text(lang)]
            for r in data.ws.provenance()]
    # what the engine substituted while reading the layers (e.g. blank capacities read as 0): said, not hidden
    rows += [["", p.file_name, t("rep.notice", lang), f"{p.text(lang)} {p.fix_text(lang)}".strip(), p.field]
             for p in data.ws.notices]
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


# --- issue 14: index (D) ---------------------------------------------------------------
# The equalisation index (gisapp.metrics.index) and its trend: computed in :func:`collect`, kept in
# ``ReportData.extra`` ("index", "index_sensitivity", "trend") and shown after the key findings.

#: The most years the trend section shows (the first, the last and years evenly between).
TREND_YEARS: Final = 6


def trend_years(years: Sequence[int], most: int = TREND_YEARS) -> list[int]:
    """Return the years of the trend section: all of them, or the first, the last and some evenly between.

    Examples
    --------
    >>> trend_years([2020, 2025]), trend_years(range(2010, 2026), most=4)
    ([2020, 2025], [2010, 2015, 2020, 2025])
    """
    ys = sorted(int(y) for y in years)
    if len(ys) <= most:
        return ys
    picks = np.linspace(0, len(ys) - 1, most).round().astype(int)
    return [ys[i] for i in dict.fromkeys(picks.tolist())]


def index_extra(ws: Workspace, services: Sequence[ServiceReport], *, lang: str, travel: str | None = None,
                standards: Mapping[str, Standard] | None = None) -> dict[str, Any]:
    """Return the index, its sensitivity and (with years) its trend for :attr:`ReportData.extra`.

    The index takes every service at its own standard: a service of the report whose standard was
    overridden (``standards``) is run again at its own.
    """
    from gisapp.metrics.index import equalisation_index, index_by_year, sensitivity

    own = {sr.name: sr.result for sr in services if sr.name not in (standards or {})}
    everything = {s: own[s] if s in own else run_service(ws, s, travel=travel) for s in ws.spec.services}
    out: dict[str, Any] = {"index": equalisation_index(ws, results=everything, lang=lang),
                           "index_sensitivity": sensitivity(ws, results=everything, lang=lang)}
    years = trend_years(getattr(ws, "years", ()))
    if len(years) >= 2:
        out["trend"] = index_by_year(ws, years, lang=lang, travel=travel)
    return out


def index_table(data: ReportData) -> Table | None:
    """Return the index per district, highest first: rank, district, index and each indicator's score (0-100)."""
    from gisapp.metrics.index import indicator_label

    idx = data.extra.get("index")
    if idx is None:
        return None
    lang = data.lang
    d = idx.by_district.sort_values(["index", "district_id"], ascending=[False, True], kind="stable",
                                    na_position="last")
    headers = [t("idx.col.rank", lang), t("col.district_id", lang), t("col.district_name", lang),
               t("idx.col.index", lang), *[indicator_label(data.ws.spec, c, lang) for c in idx.columns]]
    rows = [[_num(r["rank"]), str(r["district_id"]), str(r["district_name"]), _num(r["index"]),
             *[_num(r[c]) for c in idx.columns]] for _, r in d.iterrows()]
    scores: list[Fmt] = ["f1"] * len(idx.columns)
    return Table(headers, rows, ["int", "text", "text", "f1", *scores])


def index_class_table(data: ReportData) -> Table | None:
    """Return the index per town/country class (urban centre, urban cluster, rural, town, all) and its components."""
    from gisapp.metrics.index import indicator_label

    idx = data.extra.get("index")
    if idx is None:
        return None
    lang = data.lang
    headers = [t("idx.col.class", lang), t("idx.col.index", lang),
               *[indicator_label(data.ws.spec, c, lang) for c in idx.columns]]
    rows = [[t(f"class.{r['class']}", lang), _num(r["index"]), *[_num(r[c]) for c in idx.columns]]
            for _, r in idx.by_class.iterrows()]
    scores: list[Fmt] = ["f1"] * len(idx.columns)
    return Table(headers, rows, ["text", "f1", *scores])


def index_sensitivity_table(data: ReportData) -> Table | None:
    """Return each district's rank under every weight scenario and its largest rank change."""
    from gisapp.metrics.index import sensitivity_table

    sens = data.extra.get("index_sensitivity")
    if sens is None:
        return None
    lang = data.lang
    wide = sensitivity_table(sens)
    labels = [c for c in wide.columns if c not in ("district_id", "district_name", "max_shift")]
    headers = [t("col.district_id", lang), t("col.district_name", lang), *labels, t("idx.col.max_shift", lang)]
    rows = [[str(r["district_id"]), str(r["district_name"]), *[_num(r[c]) for c in labels], _num(r["max_shift"])]
            for _, r in wide.iterrows()]
    ranks: list[Fmt] = ["int"] * len(labels)
    return Table(headers, rows, ["text", "text", *ranks, "int"])


def index_lines(data: ReportData) -> list[str]:
    """Return the index's summary sentence (spread, town/country gap), then its method written out."""
    from gisapp.metrics.index import method_lines

    idx = data.extra.get("index")
    if idx is None:
        return []
    lang = data.lang
    r = idx.town_country_ratio
    ratio = t("rep.index_ratio", lang, ratio=f"{r:.2f}") if math.isfinite(r) else t("rep.index_no_ratio", lang)
    sp = idx.spread
    summary = t("rep.index_summary", lang, range=format_value(_num(sp["range"]), "f1") or "—",
                cv=format_value(_num(sp["cv"]), "f2") or "—", ratio=ratio)
    return [summary, *method_lines(data.ws.spec, idx.indicators, idx.floor, lang)]


def trend_tables(data: ReportData) -> list[tuple[str, Table]]:
    """Return the trend section: the index, then each service's coverage (%), by district and year, with the change.

    One table per measure: district, one column per year, and the change from the first year to
    the last (points).  Empty when the workspace has no years.
    """
    from gisapp.metrics.index import short_service_title

    tr = data.extra.get("trend")
    if tr is None or tr.empty:
        return []
    lang = data.lang
    years = sorted(int(y) for y in tr["year"].unique())
    cols = ["index", *[c for c in tr.columns if c.endswith(":coverage")]]
    out: list[tuple[str, Table]] = []
    for c in cols:
        wide = tr.pivot(index="district_id", columns="year", values=c)
        names = tr.drop_duplicates("district_id").set_index("district_id")["district_name"]
        order = list(dict.fromkeys(tr["district_id"]))
        headers = [t("col.district_id", lang), t("col.district_name", lang), *[str(y) for y in years],
                   t("rep.trend_change", lang, first=years[0], last=years[-1])]
        rows = []
        for did in order:
            vals = [_num(wide.at[did, y]) for y in years]
            first, last = vals[0], vals[-1]
            rows.append([str(did), str(names[did]), *vals,
                         last - first if first is not None and last is not None else None])
        title = t("rep.trend_index", lang) if c == "index" else \
            t("rep.trend_coverage", lang, service=short_service_title(data.ws.spec, c.split(":")[0], lang))
        per_year: list[Fmt] = ["f1"] * len(years)
        out.append((title, Table(headers, rows, ["text", "text", *per_year, "f1"])))
    return out


def trend_note(data: ReportData) -> str:
    """Return what the trend section shows ("" without years)."""
    tr = data.extra.get("trend")
    if tr is None or tr.empty:
        return ""
    return t("rep.trend_note", data.lang, years=t("rep.list_sep", data.lang).join(
        str(y) for y in sorted(int(v) for v in tr["year"].unique())))
