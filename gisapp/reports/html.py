"""Write report.html: one self-contained page (inline Leaflet, maps, tables, PNG charts).

The interactive maps come from :func:`gisapp.maps.build_map`; each is rendered to its own
HTML document in which every CDN ``<script src>`` / ``<link href>`` folium adds is removed
and the vendored Leaflet (and d3, for the colour-scale legend) from ``gisapp/static`` is
inlined, then embedded with ``<iframe srcdoc>`` so the map's own page styles stay inside it.
Base tiles are an overlay that is off by default: without a network the map still shows the
districts, facilities, coverage grid and gap areas.
"""

from __future__ import annotations

import base64
import html
import math
import re
from functools import lru_cache
from pathlib import Path
from typing import Final

from gisapp.i18n import fmt_number, fmt_pct, t
from gisapp.reports.write import (
    MAP_GAPS,
    TOP_GAPS,
    ReportData,
    ServiceReport,
    Table,
    class_table,
    consortia_table,
    district_table,
    format_value,
    gap_table,
    provenance_table,
    scenario_table,
    standard_text,
    standards_table,
    summary_table,
)

__all__ = ["STATIC", "inline_assets", "map_document", "write_html"]

#: Folder of the vendored assets (see its README.md for versions and licences).
STATIC: Final = Path(__file__).resolve().parents[1] / "static"

_REMOTE_SCRIPT = re.compile(r"<script[^>]*\bsrc\s*=\s*[\"']?(?:https?:)?//[^>]*>\s*</script>", re.I)
_REMOTE_LINK = re.compile(r"<link[^>]*\bhref\s*=\s*[\"']?(?:https?:)?//[^>]*>", re.I)


@lru_cache(maxsize=4)
def _asset(rel: str) -> str:
    return (STATIC / rel).read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def _leaflet_css() -> str:
    css = _asset("leaflet/leaflet.css")

    def data_uri(m: re.Match[str]) -> str:
        png = (STATIC / "leaflet" / "images" / m.group(1)).read_bytes()
        return "url(data:image/png;base64," + base64.b64encode(png).decode("ascii") + ")"

    return re.sub(r"url\(images/([\w.-]+\.png)\)", data_uri, css)


def _script(js: str) -> str:
    return "<script>" + js.replace("</script", "<\\/script") + "</script>"


def inline_assets(doc: str) -> str:
    """Strip every remote ``<script src>`` / ``<link href>`` from ``doc``; inline Leaflet (and d3).

    Examples
    --------
    >>> out = inline_assets('<html><head><script src="https://x/leaflet.js"></script></head></html>')
    >>> "https://x" in out, "L.map" in out or "Leaflet" in out
    (False, True)
    """
    needs_d3 = "d3." in doc
    doc = _REMOTE_SCRIPT.sub("", doc)
    doc = _REMOTE_LINK.sub("", doc)
    head = ("<style>" + _leaflet_css() + "</style>" + _script(_asset("leaflet/leaflet.js"))
            + (_script(_asset("d3/d3.min.js")) if needs_d3 else "")
            + "<style>.leaflet-image-layer{image-rendering:pixelated}</style>")
    m = re.search(r"<head[^>]*>", doc, re.I)
    if m is None:
        return head + doc
    return doc[: m.end()] + head + doc[m.end():]


def map_document(data: ReportData, sr: ServiceReport, *, base_tiles: bool = True,
                 show_population: bool = False) -> str:
    """Return the self-contained HTML document of one service's interactive map."""
    import folium

    from gisapp import maps

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


def _table_html(table: Table, *, css_id: str = "", cls: str = "data") -> str:
    ident = f' id="{html.escape(css_id)}"' if css_id else ""
    num = [f != "text" for f in table.formats]
    head = "".join(f"<th{' class=num' if n else ''}>{html.escape(h)}</th>" for h, n in
                   zip(table.headers, num, strict=True))
    body = []
    last = len(table.rows) - 1
    for k, row in enumerate(table.rows):
        tr = ' class="total"' if table.total and k == last else ""
        cells = "".join(f"<td{' class=num' if n else ''}>{html.escape(format_value(v, f))}</td>"
                        for v, f, n in zip(row, table.formats, num, strict=True))
        body.append(f"<tr{tr}>{cells}</tr>")
    return (f'<div class="tablewrap"><table class="{cls}"{ident}><thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(body)}</tbody></table></div>")


def _img(png: bytes, alt: str, cls: str = "chart") -> str:
    return (f'<img class="{cls}" alt="{html.escape(alt)}" '
            f'src="data:image/png;base64,{base64.b64encode(png).decode("ascii")}">')


_CSS: Final = """
html,body{height:auto;margin:0;padding:0}
body{font-family:"Noto Sans CJK SC","Microsoft YaHei","PingFang SC","Droid Sans Fallback",system-ui,sans-serif;
 color:#212529;background:#f8f9fa;line-height:1.5}
main{max-width:1180px;margin:0 auto;padding:16px 24px 48px;background:#fff}
h1{font-size:1.7em;margin:.2em 0}h2{border-bottom:2px solid #1c7ed6;padding-bottom:4px;margin-top:2em}
h3{margin-top:1.4em}
.meta{color:#555}
.notice{border:2px solid #e8590c;background:#fff4e6;padding:10px 14px;border-radius:6px;margin:12px 0}
.notice b{color:#d9480f}
.notice p{margin:.2em 0}
nav ul{columns:2;margin:.3em 0}
.tablewrap{overflow-x:auto}
table.data{border-collapse:collapse;font-size:.86em;margin:.6em 0}
table.data th,table.data td{border:1px solid #dee2e6;padding:3px 7px;vertical-align:top}
table.data th{background:#e7f5ff;text-align:left}
td.num,th.num{text-align:right;white-space:nowrap}
tr.total td{font-weight:bold;background:#f1f3f5}
.kpis{display:flex;flex-wrap:wrap;gap:10px;margin:.6em 0}
.kpi{background:#f1f3f5;border-radius:6px;padding:6px 12px;min-width:140px}
.kpi .v{font-size:1.3em;font-weight:bold}
.charts{display:flex;flex-wrap:wrap;gap:8px}
img.chart{max-width:100%;width:560px;border:1px solid #eee}
iframe.map{width:100%;height:560px;border:1px solid #ced4da;border-radius:4px}
img.printmap{display:none;max-width:100%}
.small{font-size:.85em;color:#555}
@media print{iframe.map{display:none}img.printmap{display:block;width:16cm}main{max-width:none}
 h2{break-before:page}}
"""


def _kpis(data: ReportData, sr: ServiceReport) -> str:
    lang, s = data.lang, sr.summary
    unit = t(f"unit.{sr.unit}", lang)
    med = s["median_cost"]
    items = [(t("word.population", lang), fmt_number(s["population"], lang) + " " + t("unit.people", lang)),
             (t("word.covered", lang), fmt_number(s["covered"], lang)),
             (t("word.uncovered", lang), fmt_number(s["uncovered"], lang)),
             (t("word.covered_pct", lang), fmt_pct(s["covered_pct"], lang)),
             (t("col.median_m" if sr.unit == "m" else "col.median_min", lang),
              (f"{med:,.0f}" if sr.unit == "m" else f"{med:,.1f}") + f" {unit}" if math.isfinite(med) else "—")]
    if math.isfinite(s["gini_access"]):
        items.append((t("col.gini", lang), f"{s['gini_access']:.2f}"))
    return '<div class="kpis">' + "".join(
        f'<div class="kpi"><div class="small">{html.escape(k)}</div><div class="v">{html.escape(v)}</div></div>'
        for k, v in items) + "</div>"


def _service_section(data: ReportData, sr: ServiceReport, charts: dict[str, bytes], *, base_tiles: bool,
                     first: bool) -> str:
    lang = data.lang
    e = html.escape
    parts = [f'<section id="svc-{e(sr.name)}"><h2>{e(sr.spec.title(lang))}</h2>',
             f"<p><b>{e(t('word.standard', lang))}</b>: {e(standard_text(sr.spec, lang))}"]
    for key, src in sr.spec.source.items():
        parts.append(f'<br><span class="small">{e(t("word.source", lang))} ({e(key)}): {e(src)}</span>')
    parts.append("</p>")
    parts.append(_kpis(data, sr))
    doc = map_document(data, sr, base_tiles=base_tiles, show_population=first)
    parts.append(f"<h3>{e(t('rep.map', lang))}</h3>")
    parts.append(f'<iframe class="map" id="map-{e(sr.name)}" title="{e(sr.spec.title(lang))}" '
                 f'srcdoc="{html.escape(doc, quote=True)}"></iframe>')
    if "map" in charts:
        parts.append(_img(charts["map"], t("rep.map_static", lang), "printmap"))
    parts.append(f'<p class="small">{e(t("rep.map_note", lang))}</p>')
    parts.append(f"<h3>{e(t('rep.by_district', lang))}</h3>")
    parts.append(_table_html(district_table(sr, lang), css_id=f"districts-{sr.name}"))
    parts.append(f"<h3>{e(t('rep.by_class', lang))}</h3>")
    parts.append(_table_html(class_table(sr, lang), css_id=f"classes-{sr.name}"))
    ratio = sr.town_country_ratio
    parts.append(f"<p>{e(t('rep.ratio', lang, v=f'{ratio:.2f}' if math.isfinite(ratio) else '—'))}</p>")
    parts.append(f"<h3>{e(t('rep.charts', lang))}</h3><div class='charts'>")
    for key in ("district", "class", "curve"):
        if key in charts:
            parts.append(_img(charts[key], f"{sr.spec.title(lang)} {key}"))
    parts.append("</div>")
    total = len(sr.gaps)
    parts.append(f"<h3>{e(t('rep.gaps', lang))}</h3>")
    if total:
        parts.append(f"<p>{e(t('rep.gaps_top', lang, n=min(TOP_GAPS, total), total=total))}</p>")
        parts.append(_table_html(gap_table(sr, lang, top=TOP_GAPS), css_id=f"gaps-{sr.name}"))
    else:
        parts.append(f"<p>{e(t('rep.no_gaps', lang))}</p>")
    parts.append("</section>")
    return "".join(parts)


def render_html(data: ReportData, *, charts: dict[str, dict[str, bytes]], base_tiles: bool = True) -> str:
    """Return the report page as one HTML string (no external resource needed to render)."""
    lang = data.lang
    e = html.escape
    title = f"{t('app.title', lang)} · {t('rep.title', lang)}"
    by = data.layers_by_status()
    notice = "".join(f"<p>{'<b>' if i == len(data.provenance_lines()) - 1 and by['synthetic'] else ''}"
                     f"{e(line)}{'</b>' if i == len(data.provenance_lines()) - 1 and by['synthetic'] else ''}</p>"
                     for i, line in enumerate(data.provenance_lines()))
    toc = [("summary", t("rep.summary", lang))]
    toc += [(f"svc-{sr.name}", sr.spec.title(lang)) for sr in data.services]
    toc += [("consortia", t("rep.consortia", lang)), ("standards", t("rep.standards", lang)),
            ("provenance", t("rep.provenance", lang))]
    body = [f"<header><h1>{e(title)}</h1>",
            f"<div class='meta'>{e(t('rep.workspace', lang, name=data.ws.spec.title(lang)))} · "
            f"{e(t('rep.generated', lang, when=data.generated))}</div></header>",
            f"<section class='notice' id='data-notice'><b>{e(t('rep.data_notice', lang))}</b>{notice}</section>",
            f"<nav><b>{e(t('rep.contents', lang))}</b><ul>"
            + "".join(f"<li><a href='#{e(a)}'>{e(b)}</a></li>" for a, b in toc) + "</ul></nav>",
            f"<section id='summary'><h2>{e(t('rep.summary', lang))}</h2>",
            _table_html(summary_table(data), css_id="summary-table"),
            f"<p class='small'>{e(t('rep.method', lang))}</p></section>"]
    for i, sr in enumerate(data.services):
        body.append(_service_section(data, sr, charts.get(sr.name, {}), base_tiles=base_tiles, first=i == 0))
    for sr in data.services:
        st_ = scenario_table(data, sr.name)
        if st_ is not None:
            body.append(f"<section id='scenarios-{e(sr.name)}'><h2>{e(t('rep.scenarios', lang))} · "
                        f"{e(sr.spec.title(lang))}</h2>" + _table_html(st_, css_id=f"scenarios-{sr.name}")
                        + "</section>")
    body.append(f"<section id='consortia'><h2>{e(t('rep.consortia', lang))}</h2>")
    ref = data.ws.spec.referral_standard
    if ref is not None:
        body.append(f"<p>{e(t('rep.consortia_note', lang, std=ref.label(lang)))}"
                    + (f" <span class='small'>({e(data.ws.spec.referral_source)})</span>" if data.ws.spec.referral_source else "")
                    + "</p>")
    if len(data.consortia):
        body.append(_table_html(consortia_table(data), css_id="consortia-table"))
    else:
        body.append(f"<p>{e(t('rep.no_consortia', lang))}</p>")
    body.append("</section>")
    body.append(f"<section id='standards'><h2>{e(t('rep.standards', lang))}</h2>"
                + _table_html(standards_table(data), css_id="standards-table") + "</section>")
    body.append(f"<section id='provenance'><h2>{e(t('rep.provenance', lang))}</h2>"
                + _table_html(provenance_table(data), css_id="provenance-table") + "</section>")
    return (f"<!DOCTYPE html>\n<html lang='{'zh-CN' if lang == 'zh' else 'en'}'><head><meta charset='utf-8'>"
            f"<meta name='viewport' content='width=device-width, initial-scale=1'><title>{e(title)}</title>"
            f"<style>{_CSS}</style></head><body><main>{''.join(body)}</main></body></html>\n")


def write_html(data: ReportData, path: Path, *, charts: dict[str, dict[str, bytes]], base_tiles: bool = True) -> None:
    """Write the self-contained report page to ``path`` (UTF-8)."""
    path.write_text(render_html(data, charts=charts, base_tiles=base_tiles), encoding="utf-8")
