"""Tests of gisapp.maps: the folium map of a service result, built from engine objects only."""

from __future__ import annotations

import base64
import dataclasses
import io
import json
import re
from html import unescape

import folium
import numpy as np
import pandas as pd
import pytest
from PIL import Image

from gisapp import maps
from gisapp._errors import GisAppError
from gisapp.metrics import gaps, places, service, tables


@pytest.fixture(scope="module")
def clinic(tiny_ws):
    return service.run_service(tiny_ws, "clinic")


def _decode(url: str) -> np.ndarray:
    assert url.startswith("data:image/png;base64,")
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))))


def test_build_map_has_every_layer(tiny_ws, clinic) -> None:
    polygons = gaps.gap_polygons(tiny_ws, clinic)
    m = maps.build_map(tiny_ws, clinic, lang="en", gaps=polygons)
    assert isinstance(m, folium.Map)
    html = m.get_root().render()
    assert html.count("data:image/png;base64,") == 2  # population + coverage, one image each
    assert "gisapp-facility" in html and "gisapp-kind-village_clinic" in html
    assert "gisapp-legend" in html
    assert "L.control.layers" in html
    assert "Population grid" in html and "Gap areas" in html and "Districts" in html
    # every facility is drawn once (as a GeoJSON point), with a popup naming it
    for name in tiny_ws.facilities["name"]:
        assert json.dumps(name)[1:-1] in html  # GeoJSON escapes non-ASCII
    # one GeoJSON layer per kind (not one marker object per facility, never one per cell)
    assert 0 < html.count("new L.CircleMarker(") <= tiny_ws.facilities["kind"].nunique()


def test_build_map_needs_no_d3_and_no_tiles(tiny_ws, clinic) -> None:
    m = maps.build_map(tiny_ws, clinic, tiles=False)
    html = m.get_root().render()
    assert "tile.openstreetmap.org" not in html
    assert "d3js.org" not in html and "libs/d3" not in html  # plain-HTML legend, no branca colour scale
    assert "图例" in html


def test_labels_follow_the_language(tiny_ws, clinic) -> None:
    zh = maps.build_map(tiny_ws, clinic, lang="zh").get_root().render()
    en = maps.build_map(tiny_ws, clinic, lang="en").get_root().render()
    assert "在服务标准内" in zh and "Within the standard" not in zh
    assert "Within the standard" in en and "在服务标准内" not in en
    pop_zh = maps.build_map(tiny_ws, clinic, lang="zh", overlay="none").get_root().render()
    assert "人口格网" in pop_zh  # the population legend appears when that layer is on


def test_access_overlay_and_fallback_without_capacity(tiny_ws, clinic) -> None:
    acc = maps.build_map(tiny_ws, clinic, overlay="access", metric="access_per_1000", show_population=False)
    assert acc.get_root().render().count("data:image/png;base64,") == 1
    no_cap = service.run_service(tiny_ws, "clinic_time")
    m = maps.build_map(tiny_ws, no_cap, overlay="access", show_population=False)
    assert "Coverage" in maps.build_map(tiny_ws, no_cap, lang="en", overlay="access",
                                        show_population=False).get_root().render()
    assert isinstance(m, folium.Map)


def test_bad_arguments_name_the_argument(tiny_ws, clinic) -> None:
    with pytest.raises(ValueError, match="`metric` must be one of") as ei:
        maps.build_map(tiny_ws, clinic, metric="nope")
    assert isinstance(ei.value, GisAppError) and ei.value.code == "map_metric"
    assert "nope" in ei.value.text("zh") and "covered_pct" in ei.value.text("zh")
    with pytest.raises(ValueError, match="`overlay` must be one of") as ei:
        maps.build_map(tiny_ws, clinic, overlay="nope")  # type: ignore[arg-type]
    assert isinstance(ei.value, GisAppError) and ei.value.code == "map_overlay"


def test_names_are_escaped_for_the_tooltips(tiny_ws, clinic) -> None:
    """folium's tooltips and Leaflet's layer control insert text as HTML: names arrive escaped."""
    hostile = "<img src=x onerror=alert(1)>"
    ws = dataclasses.replace(tiny_ws, facilities=tiny_ws.facilities.assign(name=hostile),
                             districts=tiny_ws.districts.assign(district_name=hostile), cache={})
    doc = maps.build_map(ws, clinic, lang="en", gaps=gaps.gap_polygons(ws, clinic)).get_root().render()
    assert json.dumps(hostile)[1:-1] not in doc
    assert json.dumps(hostile).replace("<", "\\u003c").replace(">", "\\u003e")[1:-1] not in doc
    assert "&lt;img src=x onerror=alert(1)&gt;" in doc.replace("\\u0026", "&")


def test_raster_png_places_cells_inside_the_districts_bounds(tiny_ws, clinic) -> None:
    rgba = np.zeros((tiny_ws.grid.n, 4), dtype=np.uint8)
    rgba[:] = (255, 0, 0, 255)
    url, bounds = maps.raster_png(tiny_ws, rgba)
    img = _decode(url)
    assert img.shape[2] == 4
    opaque = (img[..., 3] > 0).mean()
    assert 0.5 < opaque <= 1.0  # the 10 x 10 fixture fills (almost) its whole extent
    (s, w), (n, e) = bounds
    dw, ds, de, dn = tiny_ws.districts.to_crs(4326).total_bounds
    tol = 0.002  # one 100 m cell, degrees
    assert w <= dw + tol and s <= ds + tol and e >= de - tol and n >= dn - tol
    assert e - w < 0.05 and n - s < 0.05


def test_coverage_colours_match_the_result(tiny_ws, clinic) -> None:
    rgba = maps._coverage_rgba(clinic)
    people = clinic.eligible & (clinic.demand > 0)
    assert (rgba[people & clinic.covered, 1] == maps._COVERED[1]).all()
    assert (rgba[people & ~clinic.covered, 0] == maps._UNCOVERED[0]).all()
    assert (rgba[~people, 3] == 0).all()


def test_district_metrics_equal_the_engine_tables(tiny_ws, clinic) -> None:
    table = maps.district_metrics(tiny_ws, clinic)
    cov = tables.coverage_by_district(tiny_ws, clinic)
    cap = tables.capacity_by_district(tiny_ws, clinic)
    np.testing.assert_allclose(table["covered"], cov["covered"])
    np.testing.assert_allclose(table["capacity_per_1000"], cap["capacity_per_1000"])
    assert set(maps.DISTRICT_METRICS) <= set(table.columns)


def test_focus_zooms_to_the_given_bounds(tiny_ws, clinic) -> None:
    focus = (102.0, 26.56, 102.01, 26.57)
    m = maps.build_map(tiny_ws, clinic, focus=focus)
    html = m.get_root().render()
    assert "fitBounds" in html and "[[26.56, 102.0], [26.57, 102.01]]" in html  # the target the script fits
    # the initial view (before any script runs) is already the focus, computed on the server
    assert m.location == pytest.approx([26.565, 102.005])
    assert m.options["zoom"] == maps.zoom_for_bounds(focus, 800, 560) >= 14


def test_maps_module_never_imports_streamlit() -> None:
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", "import sys, gisapp.maps; print('streamlit' in sys.modules)"],
                         capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def _text(doc: str) -> str:
    """The map document with JSON's ``\\uXXXX`` escapes decoded (labels and legends sit in JSON strings)."""
    return re.sub(r"\\u([0-9a-fA-F]{4})", lambda g: chr(int(g.group(1), 16)), doc).replace("<\\/", "</")


def _district_fills(doc: str, n: int) -> list[str]:
    """Return the fill colour of each district (in workspace order) from the districts' style function."""
    block = next(b for b in re.findall(r"_styler\(feature\) \{(.*?)\n        \}", doc, re.S) if "#333333" in b)
    cases = dict(re.findall(r'case "(\d+)":\s*return \{[^}]*"fillColor": "(#[0-9a-f]{6})"', block))
    default = re.search(r'default:\s*return \{[^}]*"fillColor": "(#[0-9a-f]{6})"', block)
    return [cases.get(str(i), default.group(1) if default else "") for i in range(n)]


def test_coverage_classes_are_fixed_and_tied_to_the_standard() -> None:
    bounds = [lo for lo, _hi, _c in maps.COVERAGE_CLASSES]
    assert bounds == [0.0, 60.0, 80.0, 90.0, 95.0, 99.0]
    colours = [c for _lo, _hi, c in maps.COVERAGE_CLASSES]
    assert len(set(colours)) == len(colours)
    assert [maps.coverage_class(v) for v in (0.0, 38.0, 59.9, 60.0, 85.0, 94.9, 97.0, 99.0, 99.3, 100.0)] == \
        [0, 0, 0, 1, 2, 3, 4, 5, 5, 5]


def test_the_same_share_has_the_same_colour_in_every_service(tiny_ws, clinic) -> None:
    """99.3 % is green whatever the other districts of its service hold (no colour scale per service)."""
    school = service.run_service(tiny_ws, "school")
    fills = []
    for res, other in ((clinic, 38.0), (school, 99.9)):
        table = maps.district_metrics(tiny_ws, res)
        table["covered_pct"] = [99.3, other]
        doc = maps.build_map(tiny_ws, res, district_table=table, tiles=False).get_root().render()
        fills.append(_district_fills(doc, 2))
    green = maps.COVERAGE_CLASSES[maps.coverage_class(99.3)][2]
    assert fills[0][0] == fills[1][0] == green
    assert fills[0][1] == maps.COVERAGE_CLASSES[0][2]  # 38 %: the lowest class
    assert fills[1][1] == green


def test_the_legend_lists_each_class_with_its_unit(tiny_ws, clinic) -> None:
    zh = _text(maps.build_map(tiny_ws, clinic, lang="zh").get_root().render())
    legend = unescape(zh[zh.index("gisapp-legend';"):])
    for label in ("< 60%", "60–80%", "80–90%", "90–95%", "95–99%", "≥ 99%"):
        assert label in legend, label
    assert "区县：覆盖率（%）" in legend
    un = unescape(_text(maps.build_map(tiny_ws, clinic, lang="zh", metric="uncovered").get_root().render()))
    for label in ("0 人", "1–99 人", "100–999 人", "1,000–9,999 人", "≥ 10,000 人"):
        assert label in un, label
    # per 1,000: classes relative to the norm (clinic: 2 doctors per 1,000), values and shares
    cap = unescape(_text(maps.build_map(tiny_ws, clinic, lang="en", metric="capacity_per_1000")
                              .get_root().render()))
    for label in ("< 1.00 per 1,000 (< 50% of the norm)", "1.00–1.60 per 1,000 (50–80% of the norm)",
                  "1.60–2.00 per 1,000 (80–100% of the norm)", "≥ 2.00 per 1,000 (≥ 100% of the norm)",
                  "Norm: 2.00 per 1,000"):
        assert label in cap, label
    # a service without a norm: quartile classes, and the legend says so
    no_norm = service.run_service(tiny_ws, "school")
    q = _text(maps.build_map(tiny_ws, no_norm, lang="zh", metric="capacity_per_1000").get_root().render())
    assert "按四分位数分级" in q


def test_district_classes_per_1000_follow_the_norm() -> None:
    values = pd.Series([0.5, 1.2, 1.9, 2.0, 3.5, float("nan")])
    cls, legend, note = maps.district_classes(values, "capacity_per_1000", "zh", norm_per_1000=2.0)
    assert cls == [0, 1, 2, 3, 3, -1]  # < 50 %, 50–80 %, 80–100 %, ≥ 100 % of the norm, no data
    assert len(legend) == len(maps.NORM_CLASSES)
    assert "标准" in note and "2.00" in note
    cls_u, _, _ = maps.district_classes(pd.Series([0.3, 1.0, 150.0, 999.6, 12_000.0]), "uncovered", "zh")
    assert cls_u == [0, 1, 2, 3, 4]  # whole people: 0, 1–99, 100–999, 1,000–9,999, ≥ 10,000


def test_the_scale_bar_is_metric_only_and_never_imperial(tiny_ws, clinic) -> None:
    doc = _text(maps.build_map(tiny_ws, clinic).get_root().render())
    assert "new Scale({metric: true, imperial: false" in doc
    assert "L.control.scale()" not in doc and "imperial: true" not in doc
    assert "'{n} 公里'" not in doc and '"{n} 公里"' in doc and '"{n} 米"' in doc  # units in the map's language
    en = maps.build_map(tiny_ws, clinic, lang="en").get_root().render()
    assert '"{n} km"' in en and '"{n} m"' in en
    # the legend is a Leaflet control in the scale bar's corner, stacked above it (never over it)
    assert doc.index("new Scale(") < doc.index("var legend = L.control({position: 'bottomleft'})")
    assert "position:fixed" not in doc


def test_district_names_are_drawn_on_the_map(tiny_ws, clinic) -> None:
    doc = _text(maps.build_map(tiny_ws, clinic, lang="zh", tiles=False).get_root().render())
    for name in tiny_ws.districts["district_name"]:
        assert f"<div class='gisapp-label-district'>{name}<small>" in doc
    assert "gisapp-label-township'>" not in doc  # the tiny workspace has no settlements layer
    # the labels never catch a click meant for a facility
    assert doc.count('"interactive": false,\n  "keyboard": false') >= len(tiny_ws.districts)
    none = _text(maps.build_map(tiny_ws, clinic, labels=False).get_root().render())
    assert "<div class='gisapp-label-district'>" not in none


def test_township_names_are_drawn_from_the_places(demo_ws) -> None:
    res = service.run_service(demo_ws, "primary_care")
    doc = _text(maps.build_map(demo_ws, res, lang="zh", tiles=False, show_population=False).get_root().render())
    tw = places.place_index(demo_ws).townships
    assert len(tw) > 10
    for name in tw["township"].head(10):
        assert f"<div class='gisapp-label-township'>{name}</div>" in doc
    # shown from a zoom level on, by a class the map's container takes
    assert f"map.getZoom() >= {maps.TOWNSHIP_LABEL_ZOOM}" in doc and ".gisapp-show-townships .gisapp-label-township" in doc


def test_highlight_marks_a_found_place(tiny_ws, clinic) -> None:
    doc = _text(maps.build_map(tiny_ws, clinic, focus=(102.0, 26.56, 102.01, 26.57),
                               highlight=(26.565, 102.005, "大田镇<b>")).get_root().render())
    assert "<span class='gisapp-highlight-label'>大田镇&lt;b&gt;</span>" in doc
    assert "[26.565, 102.005]" in doc


def test_popups_show_whole_capacities_with_units_and_the_consortium(tiny_ws, clinic) -> None:
    fac = tiny_ws.facilities.copy()
    fac.loc[0, "doctors"] = 12.6
    ws = dataclasses.replace(tiny_ws, facilities=fac, cache={})
    zh = _text(maps.build_map(ws, clinic, lang="zh").get_root().render())
    assert "医生：13 名" in zh and "12.6" not in zh
    lead = str(fac.loc[0, "name"])
    assert "YGT-1（牵头单位）" in zh and f"YGT-1（牵头：{lead}）" in zh
    en = _text(maps.build_map(ws, clinic, lang="en").get_root().render())
    assert "Doctors: 13" in en and "YGT-1 (lead)" in en


def test_larger_facility_kinds_are_drawn_on_top(tiny_ws, clinic) -> None:
    """Each kind has its own pane; a hospital or a health centre is above a clinic at the same place."""
    doc = maps.build_map(tiny_ws, clinic).get_root().render()
    z = dict(re.findall(r'createPane\(\s*"(gisapp-kind-\d+)"\);\s*\S+\.style\.zIndex = (\d+);', doc))
    assert len(z) == tiny_ws.facilities["kind"].nunique()
    assert int(z["gisapp-kind-0"]) > int(z["gisapp-kind-1"]) > 400  # above the districts' overlay pane
    assert '"pane": "gisapp-kind-0"' in doc


def test_gap_tooltips_name_the_place_in_whole_people(tiny_ws, clinic) -> None:
    polys = gaps.gap_polygons(tiny_ws, clinic)
    polys = polys.assign(township="大田镇", place="大田村", people=[7] * len(polys))
    doc = _text(maps.build_map(tiny_ws, clinic, lang="zh", gaps=polys).get_root().render())
    assert f"{polys['district_name'].iloc[0]} 大田镇 大田村" in doc
    assert '"_people": "7 人"' in doc and "米" in doc
    # an older frame without place columns still draws
    old = gaps.gap_polygons(tiny_ws, clinic).drop(columns=["township", "place", "people"], errors="ignore")
    assert "_where" in maps.build_map(tiny_ws, clinic, gaps=old).get_root().render()


def test_zoom_for_bounds_matches_leaflet() -> None:
    city = (101.1, 26.0, 102.3, 27.3)
    assert maps.zoom_for_bounds(city, 900, 600) == 9
    assert maps.zoom_for_bounds(city, 1800, 1200) == 10  # twice the size: one level more
    assert maps.zoom_for_bounds(city, 450, 300) == 8
    assert maps.zoom_for_bounds(city, 0, 600) == 0


def test_the_map_refits_its_bounds_once_its_container_has_a_size(tiny_ws, clinic) -> None:
    doc = maps.build_map(tiny_ws, clinic).get_root().render()
    assert "new ResizeObserver" in doc and "invalidateSize" in doc
    assert "touched" in doc  # not once the user has moved the map
    w, s, e, n = tiny_ws.districts.to_crs(4326).total_bounds
    m = maps.build_map(tiny_ws, clinic)
    assert m.options["zoom"] == maps.zoom_for_bounds((w, s, e, n), 800, 560)
