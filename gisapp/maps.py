"""Build folium maps of a service result: districts, population, coverage or access, facilities, gaps.

A pure function of engine objects (no streamlit): the app shows the map through
streamlit-folium and the reports embed the same map in HTML.  Per-cell layers are drawn as one
PNG image each (warped to Web Mercator, so Leaflet places it exactly), never one marker per
cell; the map is meaningful without base tiles (the tile layer is only a backdrop): district and
township names are drawn on the map itself, with a metric scale bar and a legend of fixed classes.

District colours are fixed classes, the same for every service (:data:`COVERAGE_CLASSES` for the
covered share, :data:`UNCOVERED_CLASSES` for people beyond the standard, :data:`NORM_CLASSES`
relative to the service's norm for capacity and access per 1,000), so a colour means the same
thing on every map.  The map opens on its bounds even when drawn in a hidden container (a
Streamlit tab): the initial view is computed on the server (:func:`zoom_for_bounds`) and a
small script refits the bounds when the container first gets a size, unless the user has
moved the map.
"""

from __future__ import annotations

import base64
import html
import io as _bytes_io
import json
import math
from typing import Final, Literal, cast

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
from branca.element import Element, Figure, MacroElement
from jinja2 import Template
from matplotlib import colormaps
from numpy.typing import NDArray
from PIL import Image
from pyproj import Transformer
from rasterio.warp import Resampling, calculate_default_transform, reproject

from gisapp._errors import GisAppError
from gisapp.config.spec import FACILITY_KINDS
from gisapp.i18n import fmt_number, fmt_pct, t
from gisapp.metrics import places as _places
from gisapp.metrics.people import whole
from gisapp.metrics.service import ServiceResult
from gisapp.metrics.tables import capacity_by_district, coverage_by_district
from gisapp.workspace import Workspace

__all__ = [
    "COVERAGE_CLASSES",
    "DISTRICT_METRICS",
    "KIND_COLOURS",
    "NORM_CLASSES",
    "OVERLAYS",
    "TOWNSHIP_LABEL_ZOOM",
    "UNCOVERED_CLASSES",
    "build_change_map",
    "build_map",
    "class_colours",
    "coverage_class",
    "district_classes",
    "district_metrics",
    "raster_png",
    "zoom_for_bounds",
]

#: District metrics the choropleth can show: name -> (i18n key, higher is better).
DISTRICT_METRICS: Final[dict[str, tuple[str, bool]]] = {
    "covered_pct": ("word.covered_pct", True),
    "uncovered": ("word.uncovered", False),
    "capacity_per_1000": ("metric.capacity_per_1000", True),
    "access_per_1000": ("metric.access_per_1000", True),
}

#: Per-cell overlays: coverage (covered / uncovered) or 2SFCA access ratio.
OVERLAYS: Final = ("coverage", "access")

#: Classes of the covered share (%), tied to the standard and the same for every service:
#: ``(lower bound, upper bound, colour)``, a value in ``[lower, upper)``; red far from the standard, green at it.
COVERAGE_CLASSES: Final[tuple[tuple[float, float, str], ...]] = (
    (0.0, 60.0, "#d73027"),
    (60.0, 80.0, "#fc8d59"),
    (80.0, 90.0, "#fee08b"),
    (90.0, 95.0, "#d9ef8b"),
    (95.0, 99.0, "#91cf60"),
    (99.0, math.inf, "#1a9850"),
)
#: Classes of the people beyond the standard (whole people), the same for every service.
UNCOVERED_CLASSES: Final[tuple[tuple[float, float, str], ...]] = (
    (0.0, 1.0, "#1a9850"),
    (1.0, 100.0, "#d9ef8b"),
    (100.0, 1_000.0, "#fee08b"),
    (1_000.0, 10_000.0, "#fc8d59"),
    (10_000.0, math.inf, "#d73027"),
)
#: Classes of capacity or access per 1,000 people as a share (%) of the service's norm.
NORM_CLASSES: Final[tuple[tuple[float, float, str], ...]] = (
    (0.0, 50.0, "#d73027"),
    (50.0, 80.0, "#fc8d59"),
    (80.0, 100.0, "#fee08b"),
    (100.0, math.inf, "#1a9850"),
)
#: Colours of the quartile classes of a metric per 1,000 when the service has no norm (low to high).
_QUANTILE_COLOURS: Final = ("#fc8d59", "#fee08b", "#d9ef8b", "#91cf60")
_NO_DATA: Final = "#bdbdbd"

#: Township names are drawn from this zoom level on (district names always).
TOWNSHIP_LABEL_ZOOM: Final = 10

#: Marker colour of each facility kind.
KIND_COLOURS: Final[dict[str, str]] = {
    "hospital": "#b2182b",
    "township_health_centre": "#e6550d",
    "community_health_centre": "#d6604d",
    "community_health_station": "#f4a582",
    "village_clinic": "#fdae6b",
    "kindergarten": "#74c476",
    "primary_school": "#2171b5",
    "middle_school": "#6a51a3",
    "elderly_care_station": "#8c510a",
    "elderly_day_centre": "#bf812d",
    "nursing_home": "#543005",
    "childcare_centre": "#c51b7d",
}
_OTHER_COLOUR = "#636363"
_COVERED = (26, 152, 80, 150)
_UNCOVERED = (215, 48, 39, 190)
_MAX_IMAGE_PX = 1600
_WEB_MERCATOR = "EPSG:3857"
#: The map size the server's initial view is computed for (px); the script refits to the real size.
_VIEW_PX: Final = (800, 560)
_CAPACITIES: Final = ("beds", "doctors", "seats", "care_beds", "places")


def district_metrics(ws: Workspace, res: ServiceResult) -> pd.DataFrame:
    """Return one row per district with coverage and capacity columns (see :data:`DISTRICT_METRICS`).

    Columns: ``district_id, district_name, population, covered, uncovered, covered_pct``
    (people, %), ``facilities, capacity, capacity_per_1000, norm_per_1000, capacity_gap,
    access_per_1000``.
    """
    cov = coverage_by_district(ws, res)
    cap = capacity_by_district(ws, res).drop(columns=["district_name", "population"])
    return cov.merge(cap, on="district_id", how="left")


def _class_of(value: float, classes: tuple[tuple[float, float, str], ...]) -> int:
    if value is None or not math.isfinite(value):
        return -1
    for i, (_lo, hi, _c) in enumerate(classes):
        if value < hi:
            return i
    return len(classes) - 1


def coverage_class(pct: float) -> int:
    """Return the index in :data:`COVERAGE_CLASSES` of a covered share (%), -1 if it is not a number.

    The share is classed as it is shown, to one decimal (98.96 % reads "99.0%" and is in the
    class from 99 %).

    Examples
    --------
    >>> coverage_class(99.3), coverage_class(38.0), coverage_class(60.0), coverage_class(98.94)
    (5, 0, 1, 4)
    >>> coverage_class(98.96), coverage_class(100.0), coverage_class(float("nan"))
    (5, 5, -1)
    """
    if pct is None or not math.isfinite(pct):
        return -1
    return _class_of(round(float(pct), 1), COVERAGE_CLASSES)


def zoom_for_bounds(bounds: tuple[float, float, float, float], width_px: int, height_px: int, *,
                    max_zoom: int = 18) -> int:
    """Return the Web Mercator zoom at which ``bounds`` fit a map of this size (Leaflet's ``fitBounds``).

    ``bounds`` is ``(west, south, east, north)`` in degrees; the zoom is the largest whole level
    at which the bounds fit, between 0 and ``max_zoom`` (a point gets ``max_zoom``, a map
    without a size 0).

    Examples
    --------
    >>> zoom_for_bounds((101.1, 26.0, 102.3, 27.3), 900, 600)  # a city
    9
    >>> zoom_for_bounds((101.70, 26.55, 101.74, 26.59), 900, 600)  # a village
    14
    >>> zoom_for_bounds((-180.0, -85.0, 180.0, 85.0), 900, 600), zoom_for_bounds((101.7, 26.5, 101.7, 26.5), 900, 600)
    (1, 18)
    >>> zoom_for_bounds((101.1, 26.0, 102.3, 27.3), 0, 0)
    0
    """
    w, s, e, n = (float(v) for v in bounds)
    if width_px <= 0 or height_px <= 0:
        return 0

    def merc_y(lat: float) -> float:
        r = math.radians(min(max(lat, -85.0511287798), 85.0511287798))
        return (1.0 - math.log(math.tan(r) + 1.0 / math.cos(r)) / math.pi) / 2.0

    dx = abs(e - w) / 360.0 * 256.0
    dy = abs(merc_y(s) - merc_y(n)) * 256.0
    scale = min(width_px / dx if dx > 0 else math.inf, height_px / dy if dy > 0 else math.inf)
    if not math.isfinite(scale):
        return max_zoom
    z = math.floor(round(math.log2(scale) * 100.0) / 100.0)  # Leaflet's snap: within 1 % of a level
    return int(min(max(z, 0), max_zoom))


def raster_png(ws: Workspace, rgba: NDArray[np.uint8]) -> tuple[str, list[list[float]]]:
    """Warp a per-cell RGBA image to Web Mercator; return a PNG data URL and its WGS84 bounds.

    Parameters
    ----------
    ws
        The workspace whose grid the colours belong to.
    rgba
        ``(n_cells, 4)`` uint8 colours, one row per grid cell (alpha 0 = transparent).

    Returns
    -------
    tuple
        ``data:image/png;base64,...`` and ``[[south, west], [north, east]]`` in degrees.
    """
    g = ws.grid
    rows, cols = g.shape
    src = np.zeros((4, rows, cols), dtype=np.uint8)
    src[:, g.row, g.col] = np.asarray(rgba, dtype=np.uint8).T
    left, top = g.transform.c, g.transform.f
    right, bottom = left + cols * g.transform.a, top + rows * g.transform.e
    dst_t, w, h = calculate_default_transform(g.crs, _WEB_MERCATOR, cols, rows, left, bottom, right, top)
    scale = max(1.0, max(int(w), int(h)) / _MAX_IMAGE_PX)
    if scale > 1.0:
        dst_t, w, h = calculate_default_transform(g.crs, _WEB_MERCATOR, cols, rows, left, bottom, right,
                                                  top, dst_width=int(w / scale), dst_height=int(h / scale))
    dst = np.zeros((4, int(h), int(w)), dtype=np.uint8)
    reproject(src, dst, src_transform=g.transform, src_crs=g.crs, dst_transform=dst_t,
              dst_crs=_WEB_MERCATOR, resampling=Resampling.nearest, src_nodata=None, dst_nodata=0)
    buf = _bytes_io.BytesIO()
    Image.fromarray(np.moveaxis(dst, 0, -1), mode="RGBA").save(buf, format="PNG", optimize=False)
    url = "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")
    x0, y1 = dst_t.c, dst_t.f
    x1, y0 = x0 + int(w) * dst_t.a, y1 + int(h) * dst_t.e
    lon, lat = Transformer.from_crs(_WEB_MERCATOR, 4326, always_xy=True).transform([x0, x1], [y0, y1])
    return url, [[float(lat[0]), float(lon[0])], [float(lat[1]), float(lon[1])]]


def _colour_scale(values: NDArray[np.float64], cmap: str, vmin: float, vmax: float,
                  alpha: int) -> NDArray[np.uint8]:
    span = vmax - vmin if vmax > vmin else 1.0
    z = np.clip((np.nan_to_num(values, nan=vmin) - vmin) / span, 0.0, 1.0)
    rgba = (colormaps[cmap](z) * 255).astype(np.uint8)
    rgba[:, 3] = np.where(np.isfinite(values), alpha, 0)
    return rgba


def _population_rgba(ws: Workspace) -> tuple[NDArray[np.uint8], float]:
    pop = ws.grid.pop
    vmax = float(np.quantile(pop[pop > 0], 0.995)) if (pop > 0).any() else 1.0
    v = np.where(pop > 0, np.log10(1.0 + pop), np.nan)
    return _colour_scale(v, "YlOrBr", 0.0, float(np.log10(1.0 + max(vmax, 1.0))), 200), vmax


def _coverage_rgba(res: ServiceResult) -> NDArray[np.uint8]:
    rgba = np.zeros((res.covered.size, 4), dtype=np.uint8)
    people = res.eligible & (res.demand > 0)
    rgba[people & res.covered] = _COVERED
    rgba[people & ~res.covered] = _UNCOVERED
    return rgba


def _access_rgba(res: ServiceResult) -> tuple[NDArray[np.uint8], float]:
    acc = np.where(res.eligible & (res.demand > 0), res.access_per_1000, np.nan)
    fin = acc[np.isfinite(acc)]
    norm = res.service.norm_per_1000
    vmax = float(2.0 * norm) if norm else (float(np.quantile(fin, 0.95)) if fin.size else 1.0)
    return _colour_scale(acc, "viridis", 0.0, max(vmax, 1e-9), 190), max(vmax, 1e-9)


# --- district classes ---------------------------------------------------------------------------


class _Fmt:
    def __init__(self, digits: int) -> None:
        self.digits = digits

    def __call__(self, v: float) -> str:
        return f"{v:,.{self.digits}f}"


def _range_text(lo: float, hi: float, fmt: _Fmt, *, first: bool, last: bool) -> str:
    if first and lo <= 0.0 and math.isfinite(hi):
        return f"< {fmt(hi)}"
    if last or not math.isfinite(hi):
        return f"≥ {fmt(lo)}"
    return f"{fmt(lo)}–{fmt(hi)}"


def district_classes(values: pd.Series, metric: str, lang: str, *,
                     norm_per_1000: float | None = None) -> tuple[list[int], list[tuple[str, str]], str]:
    """Return the class of each district's value, the legend entries and a note for ``metric``.

    Parameters
    ----------
    values
        One value per district (NaN: no data).
    metric
        A key of :data:`DISTRICT_METRICS`: ``covered_pct`` in :data:`COVERAGE_CLASSES`,
        ``uncovered`` (people) in :data:`UNCOVERED_CLASSES`, a metric per 1,000 people in
        :data:`NORM_CLASSES` of ``norm_per_1000`` (quartile classes when the service has no norm).
    lang
        Language of the legend labels.

    Returns
    -------
    tuple
        ``(classes, legend, note)``: the index of each value's class (-1: no data), one
        ``(colour, label with unit)`` per class, and a line for the legend ("" when none).

    Examples
    --------
    >>> cls, legend, _ = district_classes(pd.Series([99.3, 38.0]), "covered_pct", "en")
    >>> cls, legend[5]
    ([5, 0], ('#1a9850', '≥ 99%'))
    >>> district_classes(pd.Series([0.2, 12_345.0]), "uncovered", "zh")[1][-1][1]
    '≥ 10,000 人'
    """
    v = values.astype(float).to_numpy()
    if metric == "covered_pct":
        cls = [coverage_class(float(x)) for x in v]
        n = len(COVERAGE_CLASSES)
        legend = [(c, _range_text(lo, hi, _Fmt(0), first=i == 0, last=i == n - 1) + "%")
                  for i, (lo, hi, c) in enumerate(COVERAGE_CLASSES)]
        return cls, legend, ""
    if metric == "uncovered":
        people = [float(round(x)) if math.isfinite(x) else math.nan for x in v]
        cls = [_class_of(x, UNCOVERED_CLASSES) for x in people]
        labels = ["0", "1–99", "100–999", "1,000–9,999", "≥ 10,000"]
        legend = [(c, t("map.n_people", lang, n=lab)) for (_lo, _hi, c), lab in zip(UNCOVERED_CLASSES, labels,
                                                                                    strict=True)]
        return cls, legend, ""
    unit = t("unit.per_1000", lang)
    fmt = _Fmt(2)
    if norm_per_1000 is not None and math.isfinite(norm_per_1000) and norm_per_1000 > 0:
        share = [100.0 * float(x) / norm_per_1000 if math.isfinite(x) else math.nan for x in v]
        cls = [_class_of(x, NORM_CLASSES) for x in share]
        n = len(NORM_CLASSES)
        legend = []
        for i, (lo, hi, c) in enumerate(NORM_CLASSES):
            values_txt = _range_text(lo * norm_per_1000 / 100.0, hi * norm_per_1000 / 100.0, fmt,
                                     first=i == 0, last=i == n - 1)
            share_txt = _range_text(lo, hi, _Fmt(0), first=i == 0, last=i == n - 1) + "%"
            legend.append((c, t("map.norm_class", lang, values=values_txt, unit=unit, share=share_txt)))
        return cls, legend, t("map.norm_line", lang, norm=fmt(norm_per_1000), unit=unit)
    fin = v[np.isfinite(v)]
    if fin.size == 0:
        return [-1] * len(v), [], t("map.quantile_note", lang)
    edges = np.unique(np.quantile(fin, [0.25, 0.5, 0.75]))
    bounds = [0.0, *[float(e) for e in edges], math.inf]
    classes = tuple((bounds[i], bounds[i + 1], _QUANTILE_COLOURS[i]) for i in range(len(bounds) - 1))
    cls = [_class_of(float(x), classes) for x in v]
    legend = [(c, f"{_range_text(lo, hi, fmt, first=i == 0, last=i == len(classes) - 1)} {unit}")
              for i, (lo, hi, c) in enumerate(classes)]
    return cls, legend, t("map.quantile_note", lang)


def class_colours(classes: list[int], legend: list[tuple[str, str]]) -> list[str]:
    """Return the colour of each class index (grey for -1, no data)."""
    return [legend[c][0] if 0 <= c < len(legend) else _NO_DATA for c in classes]


# --- HTML pieces ----------------------------------------------------------------------------------


def _escaped(values: pd.Series) -> list[str]:
    """Return user text (names) HTML-escaped: folium's tooltips and Leaflet's layer control insert it as HTML."""
    return [html.escape(str(v)) for v in values]


def _field(label: str, value: str, lang: str) -> str:
    return html.escape(t("map.field", lang, label=label, value=value))


def _popup_html(row: pd.Series, capacities: list[str], lang: str, leads: dict[str, str]) -> str:
    kind = FACILITY_KINDS.get(str(row["kind"]), {}).get(lang, str(row["kind"]))
    lines = [f"<b>{html.escape(str(row['name']))}</b>", _field(t("map.kind", lang), kind, lang)]
    for cap in capacities:
        v = float(row.get(cap, 0.0) or 0.0)
        if v > 0:
            lines.append(html.escape(t(f"map.cap.{cap}", lang, n=f"{round(v):,d}")))
    cons = str(row.get("consortium_id", "") or "")
    if cons:
        if bool(row.get("is_lead", False)):
            text = t("map.consortium_lead", lang, id=cons)
        elif leads.get(cons):
            text = t("map.consortium_member", lang, id=cons, lead=leads[cons])
        else:
            text = cons
        lines.append(_field(t("map.consortium", lang), text, lang))
    lines.append(f"<span style='color:#777'>{html.escape(str(row['facility_id']))}</span>")
    return "<div class='gisapp-popup'>" + "<br>".join(lines) + "</div>"


def _swatch(colour: str, label: str, *, round_: bool = False, border: str = "none") -> str:
    r = "50%" if round_ else "2px"
    return (f"<div class='gisapp-legend-item'><span style='display:inline-block;width:11px;height:11px;"
            f"border-radius:{r};background:{colour};border:{border};margin-right:5px;vertical-align:middle'>"
            f"</span>{html.escape(label)}</div>")


def _legend_html(lang: str, *, kinds: list[str], overlay: str, show_population: bool, pop_max: float,
                 access_max: float, unit_access: str, show_gaps: bool,
                 choropleth: tuple[str, list[tuple[str, str]], str] | None = None) -> str:
    def grad(cmap: str) -> str:
        stops = ", ".join(
            "#{:02x}{:02x}{:02x}".format(*(int(c * 255) for c in colormaps[cmap](x)[:3]))
            for x in np.linspace(0, 1, 6))
        return f"<div style='height:9px;width:150px;background:linear-gradient(to right, {stops})'></div>"

    parts = [f"<div style='font-weight:600;margin-bottom:3px'>{html.escape(t('map.legend', lang))}</div>"]
    if choropleth is not None:
        title, entries, note = choropleth
        parts.append(f"<div class='gisapp-legend-title'>{html.escape(title)}</div>")
        parts.extend(_swatch(colour, label, border="1px solid #555") for colour, label in entries)
        if note:
            parts.append(f"<div class='gisapp-legend-note'>{html.escape(note)}</div>")
    if overlay == "coverage":
        parts.append("<div style='margin-top:3px'></div>")
        parts.append(_swatch("rgba({},{},{},0.75)".format(*_COVERED[:3]), t("map.cell_covered", lang)))
        parts.append(_swatch("rgba({},{},{},0.8)".format(*_UNCOVERED[:3]), t("map.cell_uncovered", lang)))
    elif overlay == "access":
        hi = fmt_number(access_max, lang, digits=1)
        line = t("map.field", lang, label=t("metric.access_per_1000", lang), value=f"0 – {hi} {unit_access}")
        parts.append(f"<div style='margin-top:3px'>{html.escape(line)}</div>")
        parts.append(grad("viridis"))
    if show_population:
        line = t("map.field", lang, label=t("map.population_layer", lang),
                 value=f"1 – {fmt_number(pop_max, lang)} {t('map.people_per_cell', lang)}")
        parts.append(f"<div style='margin-top:3px'>{html.escape(line)}</div>")
        parts.append(grad("YlOrBr"))
    if show_gaps:
        parts.append(_swatch("transparent", t("map.gap_areas", lang), border="2px solid #7f0000"))
    for k in kinds:
        parts.append(_swatch(KIND_COLOURS.get(k, _OTHER_COLOUR),
                             FACILITY_KINDS.get(k, {}).get(lang, k), round_=True, border="1px solid #333"))
    return "".join(parts)


_CSS: Final = """<style>
.leaflet-control-layers-expanded{font:12px/1.45 sans-serif;max-height:70%;overflow-y:auto}
#gisapp-legend{background:rgba(255,255,255,0.93);padding:6px 9px;border-radius:4px;font:12px/1.35 sans-serif;
  box-shadow:0 1px 4px rgba(0,0,0,0.3);max-width:250px;max-height:calc(100vh - 150px);overflow-y:auto}
#gisapp-legend .gisapp-legend-note{color:#555;font-size:11px;margin-top:2px}
.gisapp-label-icon{background:transparent;border:none}
.gisapp-label-district,.gisapp-label-township,.gisapp-highlight{position:absolute;left:0;top:0;
  transform:translate(-50%,-50%);white-space:nowrap;pointer-events:none;text-align:center;
  text-shadow:0 0 3px #fff,0 0 3px #fff,0 0 2px #fff,0 0 1px #fff}
.gisapp-label-district{font:600 14px/1.2 sans-serif;color:#1d1d1d}
.gisapp-label-district small{display:block;font:600 11px/1.2 sans-serif;color:#333}
.gisapp-label-township{font:11px/1.2 sans-serif;color:#3b3b3b;display:none}
.gisapp-show-townships .gisapp-label-township{display:block}
.gisapp-highlight{transform:translate(-50%,-9px)}
.gisapp-highlight-dot{display:block;margin:0 auto;width:14px;height:14px;border-radius:50%;background:#6a1b9a;
  border:3px solid #fff;box-shadow:0 0 0 2px #6a1b9a,0 1px 5px rgba(0,0,0,0.5)}
.gisapp-highlight-label{display:block;margin-top:3px;padding:1px 6px;border-radius:3px;background:#6a1b9a;
  color:#fff;font:600 13px/1.4 sans-serif;text-shadow:none}
.gisapp-popup{font:13px/1.45 sans-serif}
</style>"""


class _MapScript(MacroElement):
    """A script run once the map exists; ``__MAP__`` in ``js`` stands for the map's variable."""

    _template = Template("{% macro script(this, kwargs) %}"
                         "{{ this.js.replace('__MAP__', this._parent.get_name()) }}"
                         "{% endmacro %}")

    def __init__(self, js: str, name: str) -> None:
        super().__init__()  # type: ignore[no-untyped-call]  # branca is untyped
        self._name = name
        self.js = js


def _js_str(text: str) -> str:
    """Return ``text`` as a JavaScript string literal that is safe inside a ``<script>`` element."""
    return json.dumps(text, ensure_ascii=False).replace("</", "<\\/")


#: Leaflet's scale bar, metric only, its units in the map's language ("30 公里").
_SCALE_JS: Final = """(function () {
  var Scale = L.Control.Scale.extend({
    _updateMetric: function (maxMeters) {
      var meters = this._getRoundNum(maxMeters);
      var label = meters < 1000 ? __M__.replace('{n}', meters) : __KM__.replace('{n}', meters / 1000);
      this._updateScale(this._mScale, label, meters / maxMeters);
    }
  });
  new Scale({metric: true, imperial: false, maxWidth: 160, position: 'bottomleft'}).addTo(__MAP__);
})();"""

_LEGEND_JS: Final = """(function () {
  var legend = L.control({position: 'bottomleft'});
  legend.onAdd = function () {
    var div = L.DomUtil.create('div', 'leaflet-control gisapp-legend');
    div.id = 'gisapp-legend';
    div.innerHTML = __HTML__;
    L.DomEvent.disableClickPropagation(div);
    L.DomEvent.disableScrollPropagation(div);
    return div;
  };
  legend.addTo(__MAP__);
})();"""

#: Fit the target bounds once the container has a size (a hidden Streamlit tab has none), refit
#: on every resize until the user touches the map; a later ``fitBounds`` (a caller's) becomes the target.
_VIEW_JS: Final = """(function () {
  var map = __MAP__;
  var target = [L.latLngBounds(__BOUNDS__), {}];
  var touched = false;
  var fit = map.fitBounds;
  map.fitBounds = function (b, o) {
    target = [L.latLngBounds(b), o || {}];
    var s = this.getSize();
    return (s.x > 0 && s.y > 0) ? fit.call(this, b, o) : this;
  };
  var box = map.getContainer();
  ['mousedown', 'wheel', 'touchstart', 'keydown', 'dblclick'].forEach(function (ev) {
    box.addEventListener(ev, function () { touched = true; }, {capture: true, passive: true});
  });
  var refit = function () {
    map.invalidateSize(false);
    var s = map.getSize();
    if (!touched && s.x > 0 && s.y > 0) { fit.call(map, target[0], target[1]); }
  };
  if (window.ResizeObserver) { new ResizeObserver(function () { refit(); }).observe(box); }
  refit();
  var zoomClass = function () {
    box.classList.toggle('gisapp-show-townships', map.getZoom() >= __TOWNSHIP_ZOOM__);
  };
  map.on('zoomend', zoomClass);
  zoomClass();
})();"""


def _label_marker(lat: float, lon: float, inner: str) -> folium.Marker:
    icon = folium.DivIcon(html=inner, icon_size=(0, 0), icon_anchor=(0, 0), class_name="gisapp-label-icon")
    return folium.Marker([lat, lon], icon=icon, interactive=False, keyboard=False)


def _district_points(ws: Workspace) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    pts = gpd.GeoSeries(ws.districts.geometry.representative_point(), crs=ws.crs).to_crs(4326)
    return pts.y.to_numpy(float), pts.x.to_numpy(float)


def build_map(
    ws: Workspace,
    res: ServiceResult,
    *,
    lang: str = "zh",
    metric: str = "covered_pct",
    overlay: Literal["coverage", "access", "none"] = "coverage",
    show_population: bool = True,
    gaps: gpd.GeoDataFrame | None = None,
    focus: tuple[float, float, float, float] | None = None,
    tiles: bool = True,
    district_table: pd.DataFrame | None = None,
    compact: bool = False,
    highlight: tuple[float, float, str] | None = None,
    labels: bool = True,
) -> folium.Map:
    """Return a folium map of one service result.

    Parameters
    ----------
    ws
        The loaded workspace.
    res
        The service result (from :func:`gisapp.metrics.service.run_service`).
    lang
        "zh" or "en": every label comes from :mod:`gisapp.i18n`.
    metric
        District choropleth metric, a key of :data:`DISTRICT_METRICS`, drawn in fixed classes
        (:func:`district_classes`).
    overlay
        Per-cell layer: "coverage" (covered / uncovered people), "access" (2SFCA capacity
        per 1,000 people) or "none".
    show_population
        Add the population grid layer; it is switched on only when ``overlay`` is "none"
        (the coverage and access layers already colour every populated cell), otherwise
        it waits in the layer control.
    gaps
        Gap-area polygons to draw (e.g. ``gisapp.metrics.gaps.gap_polygons(ws, res, top=30)``), any CRS;
        the tooltip names the place (``township``, ``place`` columns) when the frame has them.
    focus
        ``(west, south, east, north)`` degrees to open on; default the districts' extent.
    tiles
        Add the OpenStreetMap base layer (loaded by the user's browser).
    district_table
        Precomputed :func:`district_metrics` (computed here when None).
    compact
        For small maps: collapse the layer control and leave out the legend.
    highlight
        ``(lat, lon, label)``: a found place or facility, marked with a pin and its name.
    labels
        Draw district names (always visible) and township names (from zoom
        :data:`TOWNSHIP_LABEL_ZOOM`, when the workspace has a settlements layer) on the map.

    Returns
    -------
    folium.Map

    Raises
    ------
    GisAppError
        If ``metric`` or ``overlay`` is unknown (codes ``map_metric``, ``map_overlay``; a
        :class:`ValueError`).
    """
    if metric not in DISTRICT_METRICS:
        raise GisAppError(code="map_metric", params={"known": ", ".join(DISTRICT_METRICS), "metric": metric})
    if overlay not in (*OVERLAYS, "none"):
        raise GisAppError(code="map_overlay", params={"known": ", ".join(OVERLAYS), "overlay": overlay})
    if overlay == "access" and not res.service.capacity:
        overlay = "coverage"

    d_wgs = ws.districts.copy()
    d_wgs["geometry"] = d_wgs.geometry.simplify(max(ws.grid.res_m / 2.0, 25.0), preserve_topology=True)
    d_wgs = d_wgs.to_crs(4326)
    w, s, e, n = (float(v) for v in d_wgs.total_bounds)
    view = focus if focus is not None else (w, s, e, n)
    vw, vs, ve, vn = (float(v) for v in view)
    m = folium.Map(location=[(vs + vn) / 2, (vw + ve) / 2], zoom_start=zoom_for_bounds(view, *_VIEW_PX),
                   tiles=None, control_scale=False)
    root = cast(Figure, m.get_root())  # a folium map always sits in a Figure
    root.header.add_child(Element(_CSS), name="gisapp_css")
    if tiles:
        folium.TileLayer("OpenStreetMap", name=t("map.basemap", lang), control=True).add_to(m)

    # --- per-cell layers (one image each) ---------------------------------------------------
    pop_max = 0.0
    if show_population:
        rgba, pop_max = _population_rgba(ws)
        url, bounds = raster_png(ws, rgba)
        folium.raster_layers.ImageOverlay(url, bounds, name=t("map.population_layer", lang), opacity=0.8,
                                          interactive=False, zindex=2, show=overlay == "none").add_to(m)
    access_max = 0.0
    if overlay == "coverage":
        url, bounds = raster_png(ws, _coverage_rgba(res))
        folium.raster_layers.ImageOverlay(url, bounds, name=t("map.coverage_layer", lang), opacity=0.85,
                                          interactive=False, zindex=3).add_to(m)
    elif overlay == "access":
        rgba, access_max = _access_rgba(res)
        url, bounds = raster_png(ws, rgba)
        folium.raster_layers.ImageOverlay(url, bounds, name=t("metric.access_per_1000", lang), opacity=0.95,
                                          interactive=False, zindex=3).add_to(m)

    # --- district choropleth in fixed classes ------------------------------------------------
    table = district_table if district_table is not None else district_metrics(ws, res)
    key, _higher_better = DISTRICT_METRICS[metric]
    vals = table.set_index("district_id")[metric].astype(float)
    norm = res.service.norm_per_1000 if metric in ("capacity_per_1000", "access_per_1000") else None
    cls, entries, note = district_classes(vals, metric, lang, norm_per_1000=norm)
    colour_of = dict(zip(vals.index, class_colours(cls, entries), strict=True))
    unit = {"covered_pct": "%", "uncovered": t("unit.people", lang)}.get(metric, t("unit.per_1000", lang))
    caption = t(key, lang)
    legend_scale = (t("map.class_title", lang, layer=t("map.districts_layer", lang), metric=caption, unit=unit),
                    entries, note)
    d_wgs = d_wgs.merge(table.drop(columns=["district_name"]), on="district_id", how="left")
    d_wgs["district_name"] = _escaped(d_wgs["district_name"])  # the tooltip shows it as HTML
    people = t("unit.people", lang)
    d_wgs["_covered"] = [fmt_pct(v, lang) for v in d_wgs["covered_pct"]]
    d_wgs["_uncovered"] = [f"{fmt_number(int(v), lang)} {people}" for v in whole(d_wgs["uncovered"])]
    d_wgs["_value"] = (d_wgs["_uncovered"] if metric == "uncovered"
                       else [_fmt_metric(v, metric, lang) for v in d_wgs[metric]])
    d_wgs["_population"] = [f"{fmt_number(int(v), lang)} {people}" for v in whole(d_wgs["population"])]
    gj_data = d_wgs[["district_id", "district_name", "_value", "_population", "_covered", "_uncovered", "geometry"]]

    def district_style(feature: dict[str, dict[str, str]]) -> dict[str, object]:
        return {"fillColor": colour_of.get(feature["properties"]["district_id"], _NO_DATA),
                "color": "#333333", "weight": 1.5, "fillOpacity": 0.35}

    folium.GeoJson(
        gj_data.to_json(), name=t("map.districts_layer", lang), style_function=district_style,
        highlight_function=lambda _f: {"weight": 3, "fillOpacity": 0.5},
        tooltip=folium.GeoJsonTooltip(
            fields=["district_name", "_value", "_population", "_covered", "_uncovered"],
            aliases=[t("word.district", lang), caption, t("word.population", lang), t("word.covered_pct", lang),
                     t("word.uncovered", lang)], sticky=True),
        zoom_on_click=False,
    ).add_to(m)

    # --- gap areas ---------------------------------------------------------------------------
    show_gaps = gaps is not None and len(gaps) > 0
    if show_gaps and gaps is not None:
        g4 = gaps[gaps.geometry.notna()].copy()
        g4["geometry"] = g4.geometry.simplify(ws.grid.res_m / 2.0, preserve_topology=True)
        g4 = g4.to_crs(4326)
        g4["_rank"] = g4["gap_id"].astype(int).astype(str)
        where = [" ".join(str(p) for p in parts if str(p or "").strip() and str(p) != "nan")
                 for parts in zip(g4["district_name"],
                                  g4["township"] if "township" in g4.columns else [""] * len(g4),
                                  g4["place"] if "place" in g4.columns else [""] * len(g4), strict=True)]
        g4["_where"] = [html.escape(x) for x in where]
        counted = g4["people"] if "people" in g4.columns else g4["population"].astype(float).round()
        g4["_people"] = [f"{fmt_number(int(v), lang)} {people}" for v in counted]
        g4["_distance"] = [f"{fmt_number(float(v), lang)} {t('unit.m', lang)}" for v in g4["min_distance_m"]]
        folium.GeoJson(
            g4[["_rank", "_where", "_people", "_distance", "geometry"]].to_json(),
            name=t("map.gap_areas", lang),
            style_function=lambda _f: {"color": "#7f0000", "weight": 2, "fillColor": "#d73027",
                                       "fillOpacity": 0.15},
            tooltip=folium.GeoJsonTooltip(
                fields=["_rank", "_where", "_people", "_distance"],
                aliases=[t("gaps.rank", lang), t("map.place", lang), t("word.uncovered", lang),
                         t("map.nearest_distance", lang)]),
        ).add_to(m)

    # --- facilities by kind: each kind in its own pane, the larger kinds on top --------------------
    fac = ws.facilities
    serving = set(res.service.kinds)
    caps = [c for c in _CAPACITIES if c in fac.columns]
    leads = _consortium_leads(fac)
    kinds = [k for k in FACILITY_KINDS if k in set(fac["kind"])] + sorted(set(fac["kind"]) - set(FACILITY_KINDS))
    for i, kind in enumerate(kinds):
        sub = fac[fac["kind"] == kind]
        label = FACILITY_KINDS.get(kind, {}).get(lang, kind)
        pane = f"gisapp-kind-{i}"
        folium.map.CustomPane(pane, z_index=460 - i, pointer_events=True).add_to(m)
        # Leaflet's layer control shows the name as HTML
        fg = folium.FeatureGroup(name=f"{html.escape(str(label))} ({len(sub)})", show=kind in serving)
        colour = KIND_COLOURS.get(kind, _OTHER_COLOUR)
        radius = 7 if kind == "hospital" else 5 if kind in ("township_health_centre", "community_health_centre",
                                                            "middle_school") else 4
        pts = gpd.GeoDataFrame(
            {"name": _escaped(sub["name"]),
             "_popup": [_popup_html(row, caps, lang, leads) for _, row in sub.iterrows()]},
            geometry=gpd.points_from_xy(sub["lon"].to_numpy(float), sub["lat"].to_numpy(float)), crs=4326)
        style = {"color": "#222222", "weight": 1, "fillColor": colour, "fillOpacity": 0.95,
                 "className": f"gisapp-facility gisapp-kind-{kind}"}
        marker = folium.CircleMarker(radius=radius, fill=True)
        marker.options["pane"] = pane
        folium.GeoJson(
            pts.to_json(), name=label, marker=marker,
            style_function=lambda _f, st=style: st,
            tooltip=folium.GeoJsonTooltip(fields=["name"], labels=False),
            popup=folium.GeoJsonPopup(fields=["_popup"], labels=False, max_width=320),
            control=False,
        ).add_to(fg)
        fg.add_to(m)

    # --- names drawn on the map (readable without tiles; never catch a click) ---------------------
    if labels:
        lat, lon = _district_points(ws)
        by_id = dict(zip(d_wgs["district_id"], d_wgs["_value"], strict=True))
        fg_d = folium.FeatureGroup(name=html.escape(t("map.labels_district", lang)), show=True)
        for did, name, la, lo in zip(ws.districts["district_id"], ws.districts["district_name"], lat, lon,
                                     strict=True):
            value = by_id.get(did, "")
            inner = (f"<div class='gisapp-label-district'>{html.escape(str(name))}"
                     f"<small>{html.escape(str(value))}</small></div>")
            _label_marker(float(la), float(lo), inner).add_to(fg_d)
        fg_d.add_to(m)
        if _places.has_places(ws):
            tw = _places.place_index(ws).townships
            if len(tw):
                fg_t = folium.FeatureGroup(name=html.escape(t("map.labels_township", lang)), show=True)
                for name, la, lo in zip(tw["township"].astype(str), tw["lat"].to_numpy(float),
                                        tw["lon"].to_numpy(float), strict=True):
                    if name and math.isfinite(la) and math.isfinite(lo):
                        inner = f"<div class='gisapp-label-township'>{html.escape(name)}</div>"
                        _label_marker(la, lo, inner).add_to(fg_t)
                fg_t.add_to(m)
    if highlight is not None:
        hl_lat, hl_lon, hl_label = highlight
        inner = (f"<div class='gisapp-highlight'><span class='gisapp-highlight-dot'></span>"
                 f"<span class='gisapp-highlight-label'>{html.escape(str(hl_label))}</span></div>")
        mk = _label_marker(float(hl_lat), float(hl_lon), inner)
        mk.options["zIndexOffset"] = 1000
        mk.add_to(m)

    # --- controls: metric scale bar, legend above it, layers; then the view ----------------------
    m.add_child(_MapScript(_SCALE_JS.replace("__M__", _js_str(t("rep.map.m", lang)))
                           .replace("__KM__", _js_str(t("rep.map.km", lang))), "gisapp_scale"))
    if not compact:
        legend = _legend_html(
            lang, kinds=[k for k in kinds if k in serving], overlay=overlay,
            show_population=show_population and overlay == "none",
            pop_max=pop_max, access_max=access_max, unit_access=t("unit.per_1000", lang), show_gaps=show_gaps,
            choropleth=legend_scale)
        m.add_child(_MapScript(_LEGEND_JS.replace("__HTML__", _js_str(legend)), "gisapp_legend"))
    folium.LayerControl(collapsed=compact).add_to(m)
    bounds_js = json.dumps([[vs, vw], [vn, ve]])
    m.add_child(_MapScript(_VIEW_JS.replace("__BOUNDS__", bounds_js)
                           .replace("__TOWNSHIP_ZOOM__", str(TOWNSHIP_LABEL_ZOOM)), "gisapp_view"))
    return m


def _consortium_leads(fac: pd.DataFrame) -> dict[str, str]:
    """Return the name of the lead facility of each consortium id."""
    if "consortium_id" not in fac.columns or "is_lead" not in fac.columns:
        return {}
    lead = fac[fac["is_lead"].fillna(False).astype(bool) & (fac["consortium_id"].astype(str) != "")]
    return dict(zip(lead["consortium_id"].astype(str), lead["name"].astype(str), strict=True))


def _fmt_metric(v: float, metric: str, lang: str) -> str:
    if metric == "covered_pct":
        return fmt_pct(v, lang)
    if metric in ("capacity_per_1000", "access_per_1000"):
        if v is None or not math.isfinite(v):
            return fmt_number(v, lang)
        return f"{fmt_number(v, lang, digits=2)} {t('unit.per_1000', lang)}"
    if v is None or not math.isfinite(v):
        return fmt_number(v, lang)
    return t("map.n_people", lang, n=fmt_number(round(v), lang))


# --- issue 14: the change of coverage between two years ----------------------------------------

#: the colour of each class of :func:`gisapp.metrics.years.change_cells` drawn on the change map
CHANGE_COLOURS: Final[dict[str, tuple[int, int, int, int]]] = {
    "gained": (26, 152, 80, 220), "lost": (215, 48, 39, 230), "still_uncovered": (150, 150, 150, 120)}


def build_change_map(ws: Workspace, res_from: ServiceResult, res_to: ServiceResult, change: pd.DataFrame, *,
                     year_from: int, year_to: int, lang: str = "zh", tiles: bool = True,
                     focus: tuple[float, float, float, float] | None = None) -> folium.Map:
    """Return a folium map of where a service's coverage changed between two years.

    Cells that gained coverage (green), lost it (red) and stayed beyond the standard (grey), from
    :func:`gisapp.metrics.years.change_cells`; districts coloured by the change of their
    coverage (``change``: the service's rows of :func:`gisapp.metrics.years.coverage_change`),
    with both years' coverage in the tooltip; district names on the map.  ``ws`` is either
    year's workspace (the grid is the same).
    """
    from gisapp.metrics.years import CHANGE, change_cells

    d_wgs = ws.districts.copy()
    d_wgs["geometry"] = d_wgs.geometry.simplify(max(ws.grid.res_m / 2.0, 25.0), preserve_topology=True)
    d_wgs = d_wgs.to_crs(4326)
    w, s, e, n = (float(v) for v in d_wgs.total_bounds)
    view = focus if focus is not None else (w, s, e, n)
    vw, vs, ve, vn = (float(v) for v in view)
    m = folium.Map(location=[(vs + vn) / 2, (vw + ve) / 2], zoom_start=zoom_for_bounds(view, *_VIEW_PX),
                   tiles=None, control_scale=False)
    root = cast(Figure, m.get_root())
    root.header.add_child(Element(_CSS), name="gisapp_css")
    if tiles:
        folium.TileLayer("OpenStreetMap", name=t("map.basemap", lang), control=True).add_to(m)
    cls = change_cells(res_from, res_to)
    rgba = np.zeros((cls.size, 4), dtype=np.uint8)
    for name, colour in CHANGE_COLOURS.items():
        rgba[cls == CHANGE[name]] = colour
    url, bounds = raster_png(ws, rgba)
    folium.raster_layers.ImageOverlay(url, bounds, name=t("map.change_layer", lang), opacity=0.9,
                                      interactive=False, zindex=3).add_to(m)
    by = change[change["district_id"] != ""].set_index("district_id")
    d_wgs = d_wgs.join(by[["covered_pct_from", "covered_pct_to", "change_pts"]], on="district_id")
    d_wgs["district_name"] = _escaped(d_wgs["district_name"])
    d_wgs["_from"] = [fmt_pct(v, lang) for v in d_wgs["covered_pct_from"]]
    d_wgs["_to"] = [fmt_pct(v, lang) for v in d_wgs["covered_pct_to"]]
    d_wgs["_change"] = [t("map.change_pts", lang, pts=f"{round(v, 1) + 0.0:+.1f}") if math.isfinite(v) else "—"
                        for v in d_wgs["change_pts"].astype(float)]

    def style(feature: dict[str, dict[str, object]]) -> dict[str, object]:
        v = float(by["change_pts"].get(str(feature["properties"]["district_id"]), float("nan")))
        colour = _NO_DATA if not math.isfinite(v) else "#1a9850" if v >= 0.5 else "#d73027" if v <= -0.5 else "#ffffbf"
        return {"fillColor": colour, "color": "#333333", "weight": 1.5, "fillOpacity": 0.25}

    folium.GeoJson(
        d_wgs[["district_id", "district_name", "_from", "_to", "_change", "geometry"]].to_json(),
        name=t("map.districts_layer", lang), style_function=style,
        highlight_function=lambda _f: {"weight": 3, "fillOpacity": 0.4},
        tooltip=folium.GeoJsonTooltip(
            fields=["district_name", "_from", "_to", "_change"],
            aliases=[t("word.district", lang), t("map.covered_in", lang, year=year_from),
                     t("map.covered_in", lang, year=year_to), t("map.change", lang)], sticky=True),
        zoom_on_click=False).add_to(m)
    lat, lon = _district_points(ws)
    fg = folium.FeatureGroup(name=html.escape(t("map.labels_district", lang)), show=True)
    for name, ch, la, lo in zip(ws.districts["district_name"], d_wgs["_change"], lat, lon, strict=True):
        inner = f"<div class='gisapp-label-district'>{html.escape(str(name))}<small>{html.escape(ch)}</small></div>"
        _label_marker(float(la), float(lo), inner).add_to(fg)
    fg.add_to(m)
    counts = {k: int((cls == CHANGE[k]).sum()) for k in CHANGE_COLOURS}
    parts = [f"<div style='font-weight:600;margin-bottom:3px'>{html.escape(t('map.legend', lang))}</div>",
             f"<div class='gisapp-legend-title'>{html.escape(t('map.change_title', lang, a=year_from, b=year_to))}</div>"]
    parts += [_swatch("rgba({},{},{},0.85)".format(*CHANGE_COLOURS[k][:3]),
                      t(f"map.change_{k}", lang, n=fmt_number(counts[k], lang))) for k in CHANGE_COLOURS]
    m.add_child(_MapScript(_SCALE_JS.replace("__M__", _js_str(t("rep.map.m", lang)))
                           .replace("__KM__", _js_str(t("rep.map.km", lang))), "gisapp_scale"))
    m.add_child(_MapScript(_LEGEND_JS.replace("__HTML__", _js_str("".join(parts))), "gisapp_legend"))
    folium.LayerControl(collapsed=False).add_to(m)
    m.add_child(_MapScript(_VIEW_JS.replace("__BOUNDS__", json.dumps([[vs, vw], [vn, ve]]))
                           .replace("__TOWNSHIP_ZOOM__", str(TOWNSHIP_LABEL_ZOOM)), "gisapp_view"))
    return m
