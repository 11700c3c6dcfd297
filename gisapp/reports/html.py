"""Write report.html: one self-contained page (inline Leaflet, maps, tables, PNG charts).

The page comes from the jinja2 templates in ``gisapp/reports/templates`` with autoescape on:
every name, label and number is escaped by the template engine, never by hand.  The
interactive maps come from :func:`gisapp.maps.build_map`; each is rendered to its own HTML
document in which every CDN ``<script src>`` / ``<link href>`` folium adds is removed and the
vendored Leaflet (and d3, for the colour-scale legend) from ``gisapp/static`` is inlined
(:mod:`gisapp.io.assets` reads them), then embedded with ``<iframe srcdoc>`` (escaped as an
attribute value) so the map's own page styles stay inside it.  Base tiles are an overlay that
is off by default: without a network the map still shows the districts, facilities, coverage
grid and gap areas.
"""

from __future__ import annotations

import base64
import functools
import math
import re
from pathlib import Path
from typing import Any, Final

import folium
import jinja2
from markupsafe import Markup

from gisapp import maps
from gisapp.i18n import fmt_pct, t
from gisapp.io.assets import STATIC, static_bytes, static_text
from gisapp.io.atomic import write_text
from gisapp.metrics.findings import fmt_people
from gisapp.reports.data import (
    MAP_GAPS,
    TOP_GAPS,
    Fmt,
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

__all__ = ["STATIC", "inline_assets", "map_document", "render_html", "write_html"]

_REMOTE_SCRIPT = re.compile(r"<script[^>]*\bsrc\s*=\s*[\"']?(?:https?:)?//[^>]*>\s*</script>", re.I)
_REMOTE_LINK = re.compile(r"<link[^>]*\bhref\s*=\s*[\"']?(?:https?:)?//[^>]*>", re.I)
#: a use of the d3 library (not the end of a folium element id such as ``geo_json_...aed3.addTo``)
_USES_D3 = re.compile(r"(?<![\w$])d3\.")


def _png_data_url(png: bytes) -> str:
    """Return PNG bytes as a ``data:`` URL (base64 needs no escaping in an attribute)."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _script_body(js: str) -> Markup:
    """Return a vendored script as the raw text of a ``<script>`` element.

    Script text is not HTML: entities are not decoded there, so it cannot be HTML-escaped;
    the only sequence that could end the element early, ``</script``, is written ``<\\/script``.
    """
    return Markup(js.replace("</script", "<\\/script"))  # noqa: S704 - our vendored script, made inert above


def _cell(v: Any, fmt: Fmt) -> str:
    return format_value(v, fmt)


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("gisapp.reports", "templates"),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html", "j2"), default_for_string=True,
                                            default=True),
        trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters.update(cell=_cell, png_data_url=_png_data_url, script_body=_script_body)
    return env


#: The template environment of the report page (autoescape on, undefined names fail).
ENV: Final = _environment()


@functools.lru_cache(maxsize=1)
def _leaflet_css() -> str:
    css = static_text("leaflet/leaflet.css")

    def data_uri(m: re.Match[str]) -> str:
        return "url(" + _png_data_url(static_bytes(f"leaflet/images/{m.group(1)}")) + ")"

    return re.sub(r"url\(images/([\w.-]+\.png)\)", data_uri, css)


def inline_assets(doc: str) -> str:
    """Strip every remote ``<script src>`` / ``<link href>`` from ``doc``; inline Leaflet (and d3).

    Examples
    --------
    >>> out = inline_assets('<html><head><script src="https://x/leaflet.js"></script></head></html>')
    >>> "https://x" in out, "L.map" in out or "Leaflet" in out
    (False, True)
    >>> inline_assets("<head></head><script>d3.select('svg')</script>").count("<script>")  # Leaflet, d3, ours
    3
    >>> inline_assets("<head></head><script>geo_json_aed3.addTo(m)</script>").count("<script>")  # an id, not d3
    2
    """
    needs_d3 = _USES_D3.search(doc) is not None
    doc = _REMOTE_SCRIPT.sub("", doc)
    doc = _REMOTE_LINK.sub("", doc)
    head = ENV.get_template("map_assets.html.j2").render(
        leaflet_css=_leaflet_css(), leaflet_js=static_text("leaflet/leaflet.js"),
        d3_js=static_text("d3/d3.min.js") if needs_d3 else "").strip()
    m = re.search(r"<head[^>]*>", doc, re.I)
    if m is None:
        return head + doc
    return doc[: m.end()] + head + doc[m.end():]


def map_document(data: ReportData, sr: ServiceReport, *, base_tiles: bool = True,
                 show_population: bool = False) -> str:
    """Return the self-contained HTML document of one service's interactive map."""
    gaps = sr.gaps.head(MAP_GAPS).copy()
    # one-cell tolerance removes the pixel staircase and keeps the page small
    gaps["geometry"] = gaps.geometry.simplify(data.ws.grid.res_m, preserve_topology=True)
    m = maps.build_map(data.ws, sr.result, lang=data.lang, gaps=gaps, tiles=False,
                       show_population=show_population)
    if base_tiles:
        folium.TileLayer("OpenStreetMap", name=t("rep.layer.tiles", data.lang), overlay=True,
                         show=False, control=True).add_to(m)
        # the layer control and the zoom must come after every layer in the map's script
        for key, child in list(m._children.items()):  # noqa: SLF001
            if isinstance(child, (folium.LayerControl, folium.map.FitBounds)):
                m._children.move_to_end(key)  # noqa: SLF001
    return inline_assets(m.get_root().render())


def _kpis(data: ReportData, sr: ServiceReport) -> list[tuple[str, str]]:
    lang, s, f = data.lang, sr.summary, sr.findings
    unit = t(f"unit.{sr.unit}", lang)
    med = s["median_cost"]
    people = t("unit.people", lang)
    items = [(t("word.population", lang), f"{fmt_people(f.population)} {people}"),
             (t("word.covered", lang), f"{fmt_people(int(f.districts['covered'].sum()))} {people}"),
             (t("word.uncovered", lang), f"{fmt_people(f.beyond)} {people}"),
             (t("word.covered_pct", lang), fmt_pct(s["covered_pct"], lang)),
             (t("col.median_m" if sr.unit == "m" else "col.median_min", lang),
              (f"{med:,.0f}" if sr.unit == "m" else f"{med:,.1f}") + f" {unit}" if math.isfinite(med) else "—")]
    if math.isfinite(s["gini_access"]):
        items.append((t("col.gini", lang), f"{s['gini_access']:.2f}"))
    return items


def _service_section(data: ReportData, sr: ServiceReport, charts: dict[str, bytes], *, base_tiles: bool,
                     first: bool) -> dict[str, Any]:
    """Return what ``service.html.j2`` shows of one service."""
    lang = data.lang
    f = sr.findings
    total = len(sr.places)
    named = f.places is not None
    return {
        "name": sr.name, "title": sr.spec.title(lang), "standard": standard_text(sr.spec, lang),
        "sources": sr.spec.source_items(lang, labels=True), "kpis": _kpis(data, sr),
        "map_doc": map_document(data, sr, base_tiles=base_tiles, show_population=first),
        "charts": charts,
        "district_table": district_table(sr, lang), "capacity_note": capacity_note(sr, lang),
        "served_table": served_table(sr, lang), "served_lines": served_lines(sr, lang),  # issue 11 (B2)
        "class_table": class_table(sr, lang), "class_method": t("rep.class_method", lang),
        "ratio": (t("find.ratio", lang, town=fmt_pct(f.town_pct, lang), rural=fmt_pct(f.rural_pct, lang),
                    ratio=f"{f.ratio:.2f}") if math.isfinite(f.ratio) else t("find.no_ratio", lang)),
        "gaps_top": t("rep.places_top", lang, n=min(TOP_GAPS, total), total=total) if total else "",
        "places_note": "" if named else t("rep.places_none_layer", lang),
        "gap_table": gap_table(sr, lang, top=TOP_GAPS) if total else None,
    }


def _findings(data: ReportData) -> list[tuple[str, list[str]]]:
    """Return each service's title and its key-finding sentences."""
    return [(sr.spec.title(data.lang), sr.findings.sentences(data.lang)) for sr in data.services]


def _index_section(data: ReportData) -> tuple[dict[str, Any] | None, list[tuple[str, Table]]]:
    """Return what ``index.html.j2`` shows: the index tables and lines, and the trend tables (issue 14)."""
    table = index_table(data)
    index = None
    if table is not None:
        index = {"table": table, "classes": index_class_table(data), "sensitivity": index_sensitivity_table(data),
                 "lines": index_lines(data)}
    return index, trend_tables(data)


def render_html(data: ReportData, *, charts: dict[str, dict[str, bytes]], base_tiles: bool = True) -> str:
    """Return the report page as one HTML string (no external resource needed to render)."""
    lang = data.lang
    lines = data.provenance_lines()
    synthetic = bool(data.layers_by_status()["synthetic"])
    toc = [("findings", t("rep.findings", lang)), ("summary", t("rep.summary", lang))]
    index, trend = _index_section(data)  # issue 14: index (D), after the key findings
    toc[1:1] = ([("index", t("rep.index", lang))] if index is not None else []) + \
        ([("trend", t("rep.trend", lang))] if trend else [])
    toc += [(f"svc-{sr.name}", sr.spec.title(lang)) for sr in data.services]
    toc += [("consortia", t("rep.consortia", lang)), ("standards", t("rep.standards", lang)),
            ("provenance", t("rep.provenance", lang))]
    scenarios = [(sr.name, sr.spec.title(lang), st_) for sr in data.services
                 if (st_ := scenario_table(data, sr.name)) is not None]
    ref = data.ws.spec.referral_standard

    def text(key: str, **params: object) -> str:
        return t(key, lang, **params)

    return ENV.get_template("report.html.j2").render(
        t=text,
        html_lang="zh-CN" if lang == "zh" else "en",
        title=f"{t('app.title', lang)} · {t('rep.title', lang)}",
        workspace=data.ws.spec.title(lang), generated=data.generated,
        notice=[(line, synthetic and i == len(lines) - 1) for i, line in enumerate(lines)],
        toc=toc,
        findings_table=findings_table(data), findings=_findings(data),
        index=index, trend=trend, trend_note=trend_note(data),
        summary_table=summary_table(data),
        services=[_service_section(data, sr, charts.get(sr.name, {}), base_tiles=base_tiles, first=i == 0)
                  for i, sr in enumerate(data.services)],
        scenarios=scenarios,
        referral=ref.label(lang) if ref is not None else None,
        referral_source=data.ws.spec.referral_source_text(lang),
        consortia_table=consortia_table(data) if len(data.consortia) else None,
        standards_table=standards_table(data),
        provenance_table=provenance_table(data),
    )


def write_html(data: ReportData, path: str | Path, *, charts: dict[str, dict[str, bytes]],
               base_tiles: bool = True) -> Path:
    """Write the self-contained report page (:func:`render_html`) to ``path`` atomically and return it."""
    return write_text(path, render_html(data, charts=charts, base_tiles=base_tiles))
