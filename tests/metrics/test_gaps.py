"""Gap areas and their polygons on the tiny workspace, by hand.

The tiny grid (tests/data/make_fixtures.py): 10 x 10 cells of 100 m, 10 people per cell and
1,000 in cell (7, 7); district A = columns 0-4, B = columns 5-9; clinic C1 (4 doctors) at
cell (2, 2), clinic C2 (1 doctor) at cell (7, 7), school S1 (300 seats) at cell (2, 7).
"""

from __future__ import annotations

import numpy as np
import pytest

from gisapp.config.spec import Standard
from gisapp.metrics.gaps import gap_areas, gap_polygons
from gisapp.metrics.service import run_service


def test_gap_areas(tiny_ws):
    res = run_service(tiny_ws, "clinic")
    gaps = gap_areas(tiny_ws, res)
    assert len(gaps) == 1
    assert gaps.loc[0, "population"] == pytest.approx(820.0)
    assert gaps.loc[0, "cells"] == 82
    assert gaps.loc[0, "min_distance_m"] == pytest.approx(200.0, abs=1e-3)
    res2 = run_service(tiny_ws, "school")
    g2 = gap_areas(tiny_ws, res2)
    assert g2["population"].sum() == pytest.approx(199.0 - 21.0)
    poly = gap_polygons(tiny_ws, res)
    assert poly.crs.to_epsg() == 4543
    assert poly.geometry.area.sum() == pytest.approx(82 * 100 * 100)


def test_gaps_split_into_ranked_areas(tiny_ws):
    # a 50 m standard leaves everything but the facility cells uncovered: one area
    # a huge standard leaves nothing
    res = run_service(tiny_ws, "clinic", standard=Standard(distance_m=5000))
    assert gap_areas(tiny_ws, res).empty


def test_gap_export_headers_in_each_language_and_numbers_unchanged(tiny_ws):
    from gisapp.i18n import t
    from gisapp.metrics.gaps import gap_areas, gap_export
    from gisapp.metrics.service import run_service

    g = gap_areas(tiny_ws, run_service(tiny_ws, "clinic"))
    for lang in ("zh", "en"):
        out = gap_export(g, lang)
        assert "label" not in out.columns and len(out) == len(g)
        assert out[t("col.gap_population", lang)].tolist() == g["population"].tolist()
        assert out[t("col.district_name", lang)].tolist() == g["district_name"].tolist()
    zh = gap_export(g, "zh")
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in c) for c in zh.columns), list(zh.columns)


def test_pieces_of_one_area_become_its_union() -> None:
    """Pieces touching at a corner (one 8-connected area) give the same geometry as their union."""
    import shapely
    from shapely.geometry import box

    from gisapp.metrics.gaps import _by_label

    parts = np.array([box(0, 0, 1, 1), box(1, 1, 2, 2), box(5, 5, 6, 6), box(2, 2, 3, 3)], dtype=object)
    labels = np.array([1, 1, 2, 1])
    out = _by_label(labels, parts)
    whole = shapely.union_all(parts[labels == 1])
    assert all(g.equals(whole) for g in out[labels == 1])
    assert out[2].equals(parts[2])
    assert out[0].area == 3.0


def test_vectorised_pieces_equal_shapely_shapes_of_the_traced_rings() -> None:
    """Polygons with holes, built in two vectorised calls, equal shape() of each traced piece."""
    import shapely
    from affine import Affine
    from rasterio import features
    from shapely.geometry import shape

    from gisapp.metrics.gap_tiles import trace_pieces

    rng = np.random.default_rng(3)
    grid = (rng.random((60, 70)) < 0.45).astype(np.int32) * rng.integers(1, 9, (60, 70)).astype(np.int32)
    grid[10:30, 10:30] = 5
    grid[15:20, 15:20] = 0  # a hole
    transform = Affine(100, 0, 0, 0, -100, 6000)
    ref, ref_val = [], []
    for geom, val in features.shapes(grid, mask=grid > 0, transform=transform):
        ref.append(shape(geom))
        ref_val.append(int(val))
    out, labels = trace_pieces(grid, transform)
    assert labels.tolist() == ref_val
    assert len(out) == len(ref) > 100
    assert any(len(g.interiors) > 0 for g in ref)  # holes occur
    assert all(shapely.equals_exact(a, b, tolerance=0) for a, b in zip(out, ref, strict=True))
