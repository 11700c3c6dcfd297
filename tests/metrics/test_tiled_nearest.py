"""Nearest-facility travel time over the whole grid, in tiles, by boundary relaxation (issue 12, point 2).

The reference is the single-machine search (:func:`gisapp.travel.grid_search.nearest`, scipy's
Dijkstra on the whole grid's graph, and the compiled kernel), run in the test on the same
surface: the tiled result must give the same times (path by path the same additions) and the
same facility for every cell, whatever the tile, with roads that leave and re-enter tiles,
barriers, a DEM, 8 and 16 neighbours, and facilities sharing a cell or off the grid.
"""

from __future__ import annotations

import numpy as np
import pytest
from affine import Affine
from distributed import Client, LocalCluster
from hypothesis import given, settings
from hypothesis import strategies as st

from gisapp.metrics.dask_engine import DaskRun
from gisapp.metrics.tiled_nearest import nearest_tiled
from gisapp.travel.friction import FrictionSurface
from gisapp.travel.grid_search import nearest


def _surface(rng: np.random.Generator, h: int, w: int, *, dem: bool) -> tuple[FrictionSurface, np.ndarray | None]:
    """Walking and driving cells, a fast road winding across the grid, a river with one bridge."""
    speed = rng.uniform(2.0, 8.0, (h, w)).astype(np.float32)
    mode = np.full((h, w), 1, dtype=np.int8)  # walking
    # a road: a random walk across the grid at 60 km/h, driven
    r = h // 2
    for c in range(w):
        r = int(np.clip(r + rng.integers(-1, 2), 0, h - 1))
        speed[r, c] = 60.0
        mode[r, c] = 3
    barrier = np.zeros((h, w), dtype=bool)
    river = int(rng.integers(1, w - 1)) if w > 2 else 0
    barrier[:, river] = True
    barrier[int(rng.integers(0, h)), river] = False  # the bridge
    speed[barrier] = 0.0
    mode[barrier] = 0
    holes = rng.random((h, w)) < 0.05  # no data
    speed[holes] = 0.0
    mode[holes] = 0
    z = rng.normal(0.0, 8.0, (h, w)).cumsum(axis=1) + 1000.0 if dem else None
    t = Affine(100.0, 0.0, 500_000.0, 0.0, -100.0, 3_000_000.0)
    return FrictionSurface(speed, mode, np.zeros((h, w), dtype=np.int32), t, barrier), z


def _sources(rng: np.random.Generator, h: int, w: int, n: int) -> np.ndarray:
    src = np.column_stack([rng.integers(0, h, n), rng.integers(0, w, n)])
    src = np.vstack([src, src[:1], [[-3, 2]], [[h + 1, w + 5]]])  # two in one cell, two off the grid
    return src.astype(np.int64)


def _assert_same(surface, src, tiled, *, dem, neighbours, max_minutes=None):  # noqa: ANN001, ANN202
    t_ref, l_ref = nearest(surface, src, dem=dem, neighbours=neighbours, engine="csr", on_impassable="skip",
                           max_minutes=max_minutes)
    np.testing.assert_array_equal(np.isfinite(tiled.minutes), np.isfinite(t_ref))
    np.testing.assert_allclose(tiled.minutes[np.isfinite(t_ref)], t_ref[np.isfinite(t_ref)], rtol=1e-12, atol=0)
    np.testing.assert_array_equal(tiled.allocation, l_ref)
    t_k, _ = nearest(surface, src, dem=dem, neighbours=neighbours, on_impassable="skip", max_minutes=max_minutes)
    np.testing.assert_allclose(tiled.minutes[np.isfinite(t_k)], t_k[np.isfinite(t_k)], rtol=1e-9, atol=0)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), h=st.integers(3, 45), w=st.integers(3, 45), tile=st.integers(2, 20),
       neighbours=st.sampled_from([8, 16]), dem=st.booleans(), n=st.integers(1, 6))
def test_tiles_equal_the_whole_grid_search(seed, h, w, tile, neighbours, dem, n):
    rng = np.random.default_rng(seed)
    surface, z = _surface(rng, h, w, dem=dem)
    src = _sources(rng, h, w, n)
    tiled = nearest_tiled(surface, src, DaskRun(tile=tile, inline=True), dem=z, neighbours=neighbours)
    _assert_same(surface, src, tiled, dem=z, neighbours=neighbours)


def test_a_road_across_many_tiles_needs_several_rounds_and_a_bound_is_kept():
    rng = np.random.default_rng(5)
    surface, z = _surface(rng, 80, 120, dem=True)
    src = _sources(rng, 80, 120, 3)
    tiled = nearest_tiled(surface, src, DaskRun(tile=9, inline=True), dem=z, neighbours=16)
    assert tiled.rounds > 5 and tiled.tasks > 100  # the times came across tile borders, round after round
    _assert_same(surface, src, tiled, dem=z, neighbours=16)
    bounded = nearest_tiled(surface, src, DaskRun(tile=9, inline=True), dem=z, neighbours=16, max_minutes=20.0)
    assert np.isinf(bounded.minutes).sum() > np.isinf(tiled.minutes).sum()
    _assert_same(surface, src, bounded, dem=z, neighbours=16, max_minutes=20.0)


@pytest.mark.parametrize("workers", [1, 2])
def test_on_a_cluster(workers):
    rng = np.random.default_rng(11)
    surface, z = _surface(rng, 60, 90, dem=True)
    src = _sources(rng, 60, 90, 4)
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=False, dashboard_address=":0") as cl, \
            Client(cl) as client:
        tiled = nearest_tiled(surface, src, DaskRun(scheduler=client, tile=16), dem=z, neighbours=8)
    _assert_same(surface, src, tiled, dem=z, neighbours=8)
