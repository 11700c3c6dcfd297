"""Population is conserved through reprojection, resampling and clipping."""

from __future__ import annotations

import numpy as np
import pytest
from affine import Affine
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import CRS

from gisapp.grid import population as gpop

NONNEG = st.floats(min_value=0, max_value=1e4, allow_nan=False)


@settings(max_examples=40, deadline=None)
@given(st.integers(2, 30), st.integers(2, 30), st.integers(0, 2**31 - 1),
       st.sampled_from([30.0, 100.0, 250.0]))
def test_reprojection_and_resampling_conserve_population(nrow, ncol, seed, dst_res):
    rng = np.random.default_rng(seed)
    vals = rng.gamma(0.6, 50.0, (nrow, ncol))
    vals[rng.random((nrow, ncol)) < 0.2] = 0.0
    # source: WGS84 grid of ~3 arc-seconds around Panzhihua
    src_t = Affine(1 / 1200, 0, 101.70, 0, -1 / 1200, 26.60)
    dst_crs = CRS.from_epsg(4543)
    from pyproj import Transformer

    tr = Transformer.from_crs(4326, dst_crs, always_xy=True)
    xs, ys = tr.transform([101.69, 101.72 + ncol / 1200], [26.61, 26.59 - nrow / 1200])
    t, shape = gpop.target_grid((min(xs), min(ys), max(xs), max(ys)), dst_res)
    out, lost = gpop.resample_to_grid(vals, src_t, CRS.from_epsg(4326), t, dst_crs, shape)
    assert lost == 0.0
    assert out.sum() == pytest.approx(vals.sum(), rel=1e-12)


@settings(max_examples=40, deadline=None)
@given(st.integers(2, 20), st.integers(2, 20), st.integers(0, 2**31 - 1))
def test_clipping_accounts_for_every_person(nrow, ncol, seed):
    rng = np.random.default_rng(seed)
    pop = rng.uniform(0, 100, (nrow, ncol))
    dist = rng.integers(-1, 3, (nrow, ncol))
    g = gpop.build_grid(pop, Affine(100, 0, 0, 0, -100, 0), CRS.from_epsg(4543), dist)
    assert g.pop.sum() + g.outside_pop == pytest.approx(pop.sum(), rel=1e-12)
    # per district the cell arrays hold exactly the raster's people
    for d in range(3):
        assert g.pop[g.district == d].sum() == pytest.approx(pop[dist == d].sum(), rel=1e-12)
    # the index raster points back at the right cells
    r, c = np.nonzero(g.cell_index >= 0)
    np.testing.assert_array_equal(g.pop[g.cell_index[r, c]], np.where(pop > 0, pop, 0)[r, c])


def test_partial_overlap_reports_loss():
    vals = np.ones((4, 4))
    t = Affine(100, 0, 0, 0, -100, 400)
    dst_t = Affine(100, 0, 0, 0, -100, 200)  # covers only the lower half
    out, lost = gpop.resample_to_grid(vals, t, CRS.from_epsg(4543), dst_t, CRS.from_epsg(4543), (2, 4))
    assert out.sum() == 8 and lost == 8


def test_to_raster_round_trip():
    pop = np.arange(12, dtype=float).reshape(3, 4)
    dist = np.zeros((3, 4), dtype=int)
    dist[0, 0] = -1
    g = gpop.build_grid(pop, Affine(100, 0, 0, 0, -100, 0), CRS.from_epsg(4543), dist)
    r = g.to_raster(g.pop)
    assert np.isnan(r[0, 0]) and r[2, 3] == 11
    gdf = g.to_geodataframe()
    assert gdf.index.name == "cell_id" and gdf.crs.to_epsg() == 4543 and len(gdf) == 11
