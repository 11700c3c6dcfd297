"""District sums and gap areas reduced per tile equal the whole-grid computation (issue 12, point 2).

The whole-grid reference here is computed independently in the test (``ndimage.label`` of the
whole raster, ``bincount`` sums, ``features.shapes`` of the whole raster); the tiled path must
give the same areas in the same order, the same sums and polygons covering the same ground, for
tile sizes that cut areas along edges, at corners only, and in several tiles at once.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from affine import Affine
from distributed import Client, LocalCluster
from hypothesis import given, settings
from hypothesis import strategies as st
from rasterio import features
from scipy import ndimage

from gisapp.metrics import gaps as _gaps
from gisapp.metrics import tables as _tables
from gisapp.metrics.dask_engine import DaskRun
from gisapp.metrics.gap_tiles import reduce_tiles
from gisapp.metrics.service import run_service
from gisapp.workspace import load_workspace

ROOT = Path(__file__).resolve().parents[2]
T = Affine(100.0, 0.0, 500_000.0, 0.0, -100.0, 3_000_000.0)


def _case(rng: np.random.Generator, h: int, w: int, density: float) -> dict[str, np.ndarray]:
    """Random populated cells (most of the grid) and random gap cells among them."""
    populated = rng.random((h, w)) < 0.9
    row, col = np.nonzero(populated)
    n = row.size
    demand = np.round(rng.gamma(1.5, 20.0, n), 1) * (rng.random(n) < 0.95)
    counted = rng.random(n) < 0.97
    covered = rng.random(n) > density
    return {"row": row.astype(np.int64), "col": col.astype(np.int64), "demand": demand, "counted": counted,
            "covered": covered, "district": rng.integers(0, 3, n).astype(np.int64),
            "dist": rng.uniform(10, 9000, n), "place": rng.integers(-1, 5, n).astype(np.int64)}


def _whole(c: dict[str, np.ndarray], shape: tuple[int, int]) -> dict[str, object]:
    """The whole-grid reference: one label pass, sums, one polygon trace."""
    gap = c["counted"] & ~c["covered"] & (c["demand"] > 0)
    raster = np.zeros(shape, dtype=bool)
    raster[c["row"][gap], c["col"][gap]] = True
    lab, n = ndimage.label(raster, structure=np.ones((3, 3), dtype=bool))
    cells = np.flatnonzero(gap)
    lc = lab[c["row"][cells], c["col"][cells]]
    dem = c["demand"][cells]
    geoms: dict[int, list[object]] = {}
    for geom, val in features.shapes(lab.astype(np.int32), mask=lab > 0, transform=T):
        geoms.setdefault(int(val), []).append(shapely.geometry.shape(geom))
    eff = np.where(c["counted"], c["demand"], 0.0)
    mins = ndimage.minimum(c["dist"][cells], lc, index=np.arange(1, n + 1)) if n else []
    return {
        "n": n, "pop": np.bincount(lc, weights=dem, minlength=n + 1)[1:],
        "cells": np.bincount(lc, minlength=n + 1)[1:],
        "min": np.asarray(mins, dtype=float).reshape(n),
        "dd": np.bincount(lc, weights=c["dist"][cells] * dem, minlength=n + 1)[1:],
        "by_district": np.bincount(lc * 3 + c["district"][cells], weights=dem, minlength=(n + 1) * 3).reshape(n + 1, 3)[1:],
        "geometry": [shapely.union_all(geoms[k]) for k in range(1, n + 1)],
        "d_pop": np.bincount(c["district"], weights=eff, minlength=3),
        "d_cov": np.bincount(c["district"], weights=np.where(c["covered"], c["demand"], 0.0), minlength=3),
    }


def _tiled(c: dict[str, np.ndarray], shape: tuple[int, int], run: DaskRun):
    gap = c["counted"] & ~c["covered"] & (c["demand"] > 0)
    return reduce_tiles(shape=shape, transform=T, row=c["row"], col=c["col"], district=c["district"], n_districts=3,
                        demand=c["demand"], counted=c["counted"], covered=c["covered"], gap=gap, dist=c["dist"],
                        place=c["place"], n_places=5, run=run)


def _assert_equal(ref: dict[str, object], red) -> None:  # noqa: ANN001
    g = red.gaps
    assert g.n == ref["n"]
    np.testing.assert_array_equal(g.cells, ref["cells"])  # same areas, numbered in the same order
    np.testing.assert_allclose(g.pop, ref["pop"], rtol=1e-12)
    np.testing.assert_array_equal(g.min_dist, ref["min"])
    np.testing.assert_allclose(g.dist_dem, ref["dd"], rtol=1e-9)
    np.testing.assert_allclose(g.by_district, ref["by_district"], rtol=1e-12)
    np.testing.assert_allclose(red.district_pop, ref["d_pop"], rtol=1e-12)
    np.testing.assert_allclose(red.district_covered, ref["d_cov"], rtol=1e-12)
    eq = shapely.equals(np.asarray(ref["geometry"], dtype=object), red.geometry)
    assert eq.all(), f"{(~eq).sum()} of {eq.size} areas differ"


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), h=st.integers(1, 40), w=st.integers(1, 40), tile=st.integers(1, 17),
       density=st.floats(0.05, 0.8))
def test_tiles_equal_the_whole_grid(seed, h, w, tile, density):
    """Any grid, any tile (down to one cell: every 8-neighbour join crosses a tile edge or corner)."""
    c = _case(np.random.default_rng(seed), h, w, density)
    _assert_equal(_whole(c, (h, w)), _tiled(c, (h, w), DaskRun(tile=tile, inline=True)))


def test_a_grid_without_cells():
    """No populated cell (a district outside the raster): no tile, no area, zero sums."""
    c = {k: np.zeros(0, dtype=np.int64 if k in ("row", "col", "district", "place") else float)
         for k in ("row", "col", "demand", "district", "dist", "place")}
    c.update(counted=np.zeros(0, bool), covered=np.zeros(0, bool))
    red = _tiled(c, (4, 5), DaskRun(tile=2, inline=True))
    assert red.tiles == 0 and red.gaps.n == 0 and red.district_pop.tolist() == [0.0, 0.0, 0.0]


def test_areas_joined_only_at_a_tile_corner():
    """Two cells touching diagonally across the corner of four tiles are one area (both diagonals)."""
    row = np.array([1, 2, 1, 2, 5], dtype=np.int64)
    col = np.array([1, 2, 6, 5, 0], dtype=np.int64)  # (1,1)-(2,2) across a corner; (1,6)-(2,5) the other way
    c = {"row": row, "col": col, "demand": np.ones(5), "counted": np.ones(5, bool), "covered": np.zeros(5, bool),
         "district": np.zeros(5, np.int64), "dist": np.arange(5.0), "place": np.full(5, -1, np.int64)}
    red = _tiled(c, (6, 8), DaskRun(tile=2, inline=True))
    np.testing.assert_array_equal(red.gaps.cells, [2, 2, 1])
    assert red.geometry[0].geom_type == "MultiPolygon" and len(red.geometry[0].geoms) == 2
    _assert_equal(_whole(c, (6, 8)), red)


@pytest.fixture(scope="module")
def demo():
    ws = load_workspace(ROOT / "layers" / "panzhihua.yaml")
    return ws, run_service(ws, "primary_care")


@pytest.mark.parametrize("tile", [37, 256])
def test_demo_gap_polygons_and_district_table_per_tile(demo, tile):
    """On the demo workspace: the gap GeoDataFrame and the district table equal the one-machine ones."""
    ws, res = demo
    a = _gaps.gap_polygons(ws, res)
    red = _gaps.reduce_by_tile(ws, res, DaskRun(tile=tile, inline=True))
    b = _gaps.gap_polygons(ws, res, tiles=red)
    assert len(a) == len(b) > 100
    cols = [c for c in a.columns if c != "geometry"]
    pd.testing.assert_frame_equal(pd.DataFrame(a[cols]), pd.DataFrame(b[cols]), rtol=1e-9)
    assert shapely.equals(a.geometry.values, b.geometry.values).all()
    assert (b["place"] != "").any()  # the named places came through the tiles
    pd.testing.assert_frame_equal(_tables.coverage_by_district(ws, res),
                                  _tables.coverage_from_sums(ws, red.district_pop, red.district_covered), rtol=1e-12)
    pd.testing.assert_frame_equal(_gaps.gap_areas(ws, res), _gaps.gap_areas(ws, res, tiles=red), rtol=1e-9)


def test_demo_per_tile_on_a_cluster_of_two_workers(demo):
    """The same reduction run as tasks on two dask worker processes.

    (Processes, as the engine's LocalCluster starts them: rasterio silences a warning of its
    in-memory datasets with ``warnings.catch_warnings``, which two worker *threads* of one
    process can undo for each other.)
    """
    ws, res = demo
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
                      silence_logs=50) as cl, Client(cl) as client:
        red = _gaps.reduce_by_tile(ws, res, DaskRun(scheduler=client, tile=128))
    assert red.tiles > 20
    b = _gaps.gap_polygons(ws, res, tiles=red)
    a = _gaps.gap_polygons(ws, res)
    assert isinstance(b, gpd.GeoDataFrame) and len(a) == len(b)
    np.testing.assert_array_equal(a["cells"].to_numpy(), b["cells"].to_numpy())
    assert shapely.equals(a.geometry.values, b.geometry.values).all()
