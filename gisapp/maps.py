"""Build folium maps of a service result: districts, population, coverage or access, facilities, gaps.

A pure function of engine objects (no streamlit): the app shows the map through
streamlit-folium and the reports embed the same map in HTML.  Per-cell layers are drawn as one
PNG image each (warped to Web Mercator, so Leaflet places it exactly), never one marker per
cell; the map is meaningful without base tiles (the tile layer is only a backdrop).
"""

from __future__ import annotations

import base64
import html
import io as _bytes_io
from typing import Final, Literal, cast

import branca.colormap as bcm
import folium
import geopandas as gpd
import numpy as np
import pandas as pd
from branca.element import Figure
from matplotlib import colormaps
from numpy.typing import NDArray
from PIL import Image
from pyproj import Transformer
from rasterio.warp import Resampling, calculate_default_transform, reproject

from gisapp._errors import GisAppError
from gisapp.config.spec import FACILITY_KINDS
from gisapp.i18n import fmt_number, fmt_pct, t
from gisapp.metrics.service import ServiceResult
from gisapp.metrics.tables import capacity_by_district, coverage_by_district
from gisapp.workspace import Workspace

__all__ = [
    "DISTRICT_METRICS",
    "KIND_COLOURS",
    "OVERLAYS",
    "build_map",
    "district_metrics",
    "raster_png",
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
}
_OTHER_COLOUR = "#636363"
_COVERED = (26, 152, 80, 150)
_UNCOVERED = (215, 48, 39, 190)
_MAX_IMAGE_PX = 1600
_WEB_MERCATOR = "EPSG:3857"


def district_metrics(ws: Workspace, res: ServiceResult) -> pd.DataFrame:
    """Return one row per district with coverage and capacity columns (see :data:`DISTRICT_METRICS`).

    Columns: ``district_id, district_name, population, covered, uncovered, covered_pct``
    (people, %), ``facilities, capacity, capacity_per_1000, norm_per_1000, capacity_gap,
    access_per_1000``.
    """
    cov = coverage_by_district(ws, res)
    cap = capacity_by_district(ws, res).drop(columns=["district_name", "population"])
    return cov.merge(cap, on="district_id", how="left")


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


def _escaped(values: pd.Series) -> list[str]:
    """Return user text (names) HTML-escaped: folium's tooltips and Leaflet's layer control insert it as HTML."""
    return [html.escape(str(v)) for v in values]


def _popup_html(row: pd.Series, capacities: list[str], lang: str) -> str:
    kind = FACILITY_KINDS.get(str(row["kind"]), {}).get(lang, str(row["kind"]))
    lines = [f"<b>{html.escape(str(row['name']))}</b>",
             f"{html.escape(t('map.kind', lang))}: {html.escape(kind)}"]
    for cap in capacities:
        v = float(row.get(cap, 0.0) or 0.0)
        if v > 0:
            lines.append(f"{html.escape(t('cap.' + cap, lang))}: {fmt_number(v, lang)}")
    cons = str(row.get("consortium_id", "") or "")
    if cons:
        lead = f" ({t('map.lead', lang)})" if bool(row.get("is_lead", False)) else ""
        lines.append(f"{html.escape(t('map.consortium', lang))}: {html.escape(cons)}{html.escape(lead)}")
    lines.append(f"<span style='color:#777'>{html.escape(str(row['facility_id']))}</span>")
    return "<br>".join(lines)


def _legend_html(lang: str, *, kinds: list[str], overlay: str, show_population: bool, pop_max: float,
                 access_max: float, unit_access: str, show_gaps: bool,
                 choropleth: tuple[str, list[str], str, str] | None = None) -> str:
    def grad(cmap: str) -> str:
        stops = ", ".join(
            "#{:02x}{:02x}{:02x}".format(*(int(c * 255) for c in colormaps[cmap](x)[:3]))
            for x in np.linspace(0, 1, 6))
        return f"<div style='height:9px;width:150px;background:linear-gradient(to right, {stops})'></div>"

    def swatch(colour: str, label: str, *, round_: bool = False, border: str = "none") -> str:
        r = "50%" if round_ else "2px"
        return (f"<div><span style='display:inline-block;width:11px;height:11px;border-radius:{r};"
                f"background:{colour};border:{border};margin-right:5px;vertical-align:middle'></span>"
                f"{html.escape(label)}</div>")

    parts = [f"<div style='font-weight:600;margin-bottom:3px'>{html.escape(t('map.legend', lang))}</div>"]
    if choropleth is not None:
        title, colours, lo, hi = choropleth
        parts.append(f"<div>{html.escape(t('map.districts_layer', lang))}: {html.escape(title)}</div>")
        parts.append("<div style='height:9px;width:150px;background:linear-gradient(to right, "
                     + ", ".join(colours) + ")'></div>")
        parts.append(f"<div style='width:150px;display:flex;justify-content:space-between'>"
                     f"<span>{html.escape(lo)}</span><span>{html.escape(hi)}</span></div>")
    if overlay == "coverage":
        parts.append(swatch("rgba({},{},{},0.75)".format(*_COVERED[:3]), t("map.cell_covered", lang)))
        parts.append(swatch("rgba({},{},{},0.8)".format(*_UNCOVERED[:3]), t("map.cell_uncovered", lang)))
    elif overlay == "access":
        parts.append(f"<div>{html.escape(t('metric.access_per_1000', lang))} (0 – {fmt_number(access_max, lang, digits=1)} {html.escape(unit_access)})</div>")
        parts.append(grad("viridis"))
    if show_population:
        parts.append(f"<div style='margin-top:3px'>{html.escape(t('map.population_layer', lang))} "
                     f"(1 – {fmt_number(pop_max, lang)} {html.escape(t('map.people_per_cell', lang))})</div>")
        parts.append(grad("YlOrBr"))
    if show_gaps:
        parts.append(swatch("transparent", t("map.gap_areas", lang), border="2px solid #7f0000"))
    for k in kinds:
        parts.append(swatch(KIND_COLOURS.get(k, _OTHER_COLOUR),
                            FACILITY_KINDS.get(k, {}).get(lang, k), round_=True, border="1px solid #333"))
    style = ("<style>.leaflet-control-layers-expanded{font:12px/1.45 sans-serif;max-height:70%;"
             "overflow-y:auto}</style>")
    return (style + "<div id='gisapp-legend' style='position:fixed;bottom:24px;left:10px;z-index:9999;"
            "background:rgba(255,255,255,0.92);padding:6px 9px;border-radius:4px;font:12px/1.35 sans-serif;"
            "box-shadow:0 1px 4px rgba(0,0,0,0.3);max-width:240px'>" + "".join(parts) + "</div>")


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
        District choropleth metric, a key of :data:`DISTRICT_METRICS`.
    overlay
        Per-cell layer: "coverage" (covered / uncovered people), "access" (2SFCA capacity
        per 1,000 people) or "none".
    show_population
        Add the population grid layer; it is switched on only when ``overlay`` is "none"
        (the coverage and access layers already colour every populated cell), otherwise
        it waits in the layer control.
    gaps
        Gap-area polygons to draw (e.g. ``gisapp.metrics.gaps.gap_polygons(ws, res, top=30)``), any CRS.
    focus
        ``(west, south, east, north)`` degrees to zoom to; default the districts' extent.
    tiles
        Add the OpenStreetMap base layer (loaded by the user's browser).
    district_table
        Precomputed :func:`district_metrics` (computed here when None).
    compact
        For small maps: collapse the layer control and leave out the legend.

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
    m = folium.Map(location=[(s + n) / 2, (w + e) / 2], zoom_start=9, tiles=None, control_scale=True)
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

    # --- district choropleth -----------------------------------------------------------------
    table = district_table if district_table is not None else district_metrics(ws, res)
    vals = table.set_index("district_id")[metric].astype(float)
    fin = vals[np.isfinite(vals)]
    key, higher_better = DISTRICT_METRICS[metric]
    caption = t(key, lang) + (" (%)" if metric == "covered_pct" else "")
    if len(fin):
        lo, hi = float(fin.min()), float(fin.max())
        if hi <= lo:
            hi = lo + 1.0
        colours = ["#d7191c", "#fdae61", "#ffffbf", "#a6d96a", "#1a9641"]
        ramp = colours if higher_better else colours[::-1]
        cmap = bcm.LinearColormap(ramp, vmin=lo, vmax=hi)
        legend_scale = (caption, ramp, _fmt_metric(lo, metric, lang), _fmt_metric(hi, metric, lang))
    else:
        cmap = None
        legend_scale = None
    d_wgs = d_wgs.merge(table.drop(columns=["district_name"]), on="district_id", how="left")
    d_wgs["district_name"] = _escaped(d_wgs["district_name"])  # the tooltip shows it as HTML
    d_wgs["_value"] = [_fmt_metric(v, metric, lang) for v in d_wgs[metric]]
    d_wgs["_covered"] = [fmt_pct(v, lang) for v in d_wgs["covered_pct"]]
    d_wgs["_uncovered"] = [fmt_number(v, lang) for v in d_wgs["uncovered"]]
    d_wgs["_population"] = [fmt_number(v, lang) for v in d_wgs["population"]]
    colour_of = {did: (cmap(float(v)) if cmap is not None and np.isfinite(v) else "#bdbdbd")
                 for did, v in vals.items()}
    gj_data = d_wgs[["district_id", "district_name", "_value", "_population", "_covered", "_uncovered", "geometry"]]

    def district_style(feature: dict[str, dict[str, str]]) -> dict[str, object]:
        return {"fillColor": colour_of.get(feature["properties"]["district_id"], "#bdbdbd"),
                "color": "#333333", "weight": 1.5, "fillOpacity": 0.25}

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
        g4["district_name"] = _escaped(g4["district_name"])
        g4["_population"] = [fmt_number(v, lang) for v in g4["population"]]
        g4["_distance"] = [fmt_number(v, lang) + " " + t("unit.m", lang) for v in g4["min_distance_m"]]
        folium.GeoJson(
            g4[["_rank", "district_name", "_population", "_distance", "geometry"]].to_json(),
            name=t("map.gap_areas", lang),
            style_function=lambda _f: {"color": "#7f0000", "weight": 2, "fillColor": "#d73027",
                                       "fillOpacity": 0.15},
            tooltip=folium.GeoJsonTooltip(
                fields=["_rank", "district_name", "_population", "_distance"],
                aliases=[t("gaps.rank", lang), t("word.district", lang), t("word.uncovered", lang),
                         t("gaps.min_distance", lang)]),
        ).add_to(m)

    # --- facilities by kind -------------------------------------------------------------------
    fac = ws.facilities
    serving = set(res.service.kinds)
    caps = [c for c in ("beds", "doctors", "seats") if c in fac.columns]
    kinds = [k for k in FACILITY_KINDS if k in set(fac["kind"])] + sorted(set(fac["kind"]) - set(FACILITY_KINDS))
    for kind in kinds:
        sub = fac[fac["kind"] == kind]
        label = FACILITY_KINDS.get(kind, {}).get(lang, kind)
        # Leaflet's layer control shows the name as HTML
        fg = folium.FeatureGroup(name=f"{html.escape(str(label))} ({len(sub)})", show=kind in serving)
        colour = KIND_COLOURS.get(kind, _OTHER_COLOUR)
        radius = 7 if kind == "hospital" else 5 if kind in ("township_health_centre", "community_health_centre",
                                                            "middle_school") else 4
        pts = gpd.GeoDataFrame(
            {"name": _escaped(sub["name"]),
             "_popup": [_popup_html(row, caps, lang) for _, row in sub.iterrows()]},
            geometry=gpd.points_from_xy(sub["lon"].to_numpy(float), sub["lat"].to_numpy(float)), crs=4326)
        style = {"color": "#222222", "weight": 1, "fillColor": colour, "fillOpacity": 0.95,
                 "className": f"gisapp-facility gisapp-kind-{kind}"}
        folium.GeoJson(
            pts.to_json(), name=label, marker=folium.CircleMarker(radius=radius, fill=True),
            style_function=lambda _f, st=style: st,
            tooltip=folium.GeoJsonTooltip(fields=["name"], labels=False),
            popup=folium.GeoJsonPopup(fields=["_popup"], labels=False, max_width=300),
            control=False,
        ).add_to(fg)
        fg.add_to(m)

    if not compact:
        root = cast(Figure, m.get_root())  # a folium map always sits in a Figure
        root.html.add_child(folium.Element(_legend_html(
            lang, kinds=[k for k in kinds if k in serving], overlay=overlay,
            show_population=show_population and overlay == "none",
            pop_max=pop_max, access_max=access_max, unit_access=t("unit.per_1000", lang), show_gaps=show_gaps,
            choropleth=legend_scale)))
    folium.LayerControl(collapsed=compact).add_to(m)
    if focus is not None:
        fw, fs, fe, fn = focus
        m.fit_bounds([[fs, fw], [fn, fe]])
    else:
        m.fit_bounds([[s, w], [n, e]])
    return m


def _fmt_metric(v: float, metric: str, lang: str) -> str:
    if metric == "covered_pct":
        return fmt_pct(v, lang)
    if metric in ("capacity_per_1000", "access_per_1000"):
        return fmt_number(v, lang, digits=2)
    return fmt_number(v, lang)
