"""Tests of gisapp.maps: the folium map of a service result, built from engine objects only."""

from __future__ import annotations

import base64
import dataclasses
import io
import json

import folium
import numpy as np
import pytest
from PIL import Image

from gisapp import maps
from gisapp._errors import GisAppError
from gisapp.metrics import gaps, service, tables


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
    m = maps.build_map(tiny_ws, clinic, focus=(102.0, 26.56, 102.01, 26.57))
    html = m.get_root().render()
    assert "fitBounds" in html and "26.56" in html


def test_maps_module_never_imports_streamlit() -> None:
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", "import sys, gisapp.maps; print('streamlit' in sys.modules)"],
                         capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
