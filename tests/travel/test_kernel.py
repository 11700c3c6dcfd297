"""The compiled travel-time kernel against the CSR graph search and scikit-image's MCP.

Every case compares :mod:`gisapp.travel.kernel` with :mod:`gisapp.travel.grid_search`'s
CSR path (scipy's Dijkstra on the explicit graph of moves; numbers it computes itself) and,
where scikit-image defines the same travel (isotropic, 8 neighbours, time average), with
``skimage.graph.MCP_Geometric``: times equal to 1e-9 relative, the same cells reached, the
same nearest facility wherever it is unique.
"""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
from affine import Affine
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from skimage.graph import MCP_Geometric

from gisapp._errors import UnitsError
from gisapp.travel import friction, grid_search, kernel
from gisapp.travel.friction import FrictionSurface, Mode

REL = 1e-9
LIM = 1.0  # minutes: bounded searches that reach part of the grid


def surface(seed: int, shape: tuple[int, int] = (30, 40), *, bike_speeds: str = "many",
            blocked: float = 0.1, cell: tuple[float, float] = (50.0, 50.0)
            ) -> tuple[FrictionSurface, np.ndarray, np.random.Generator]:
    """Random speeds 2-30 km/h, walking/bicycling/motorized cells, impassable cells, a DEM."""
    rng = np.random.default_rng(seed)
    speed = rng.uniform(2.0, 30.0, shape).astype(np.float32)
    if bike_speeds == "few":  # a few distinct speeds: bicycle factors come from tables
        speed = (np.round(speed / 10.0) * 10.0 + 5.0).astype(np.float32)
    mode = rng.choice(np.array([1, 2, 3], dtype=np.int8), size=shape)
    ok = rng.uniform(size=shape) > blocked
    speed[~ok] = 0
    mode[~ok] = 0
    w, h = cell
    s = FrictionSurface(speed, mode, np.zeros(shape, np.int32), Affine(w, 0, 0, 0, -h, shape[0] * h), ~ok)
    dem = rng.uniform(0, 20, shape).cumsum(axis=1) + rng.uniform(0, 30, shape).cumsum(axis=0)
    return s, dem, rng


def sources(s: FrictionSurface, rng: np.random.Generator, n: int = 6) -> np.ndarray:
    """Random passable cells, the four corners and two edge cells, and one cell twice."""
    ok = s.passable
    rows, cols = s.shape
    rc = np.argwhere(ok)[rng.choice(int(ok.sum()), n, replace=False)]
    edges = np.array([[0, 0], [0, cols - 1], [rows - 1, 0], [rows - 1, cols - 1],
                      [0, cols // 2], [rows // 2, 0]])
    edges = edges[ok[edges[:, 0], edges[:, 1]]]
    rc = np.vstack([rc, edges, rc[:1]])  # the last facility shares the first one's cell
    return rc


def assert_same_times(ours: np.ndarray, theirs: np.ndarray) -> None:
    assert ours.shape == theirs.shape
    assert np.array_equal(np.isfinite(ours), np.isfinite(theirs))
    f = np.isfinite(ours)
    assert f.sum() > 0
    np.testing.assert_allclose(ours[f], theirs[f], rtol=REL, atol=0)


def assert_same_allocation(times: np.ndarray, alloc: np.ndarray, other: np.ndarray,
                           rc: np.ndarray, per_facility: np.ndarray) -> None:
    """Equal where the nearest facility is unique (ties may go either way).

    Facilities sharing a cell count once: both engines give the cell's first facility.
    """
    assert np.array_equal(alloc == -1, ~np.isfinite(times))
    _, first = np.unique(rc[:, 0] * 10**6 + rc[:, 1], return_index=True)
    t = np.sort(per_facility[np.sort(first)], axis=0)
    with np.errstate(invalid="ignore"):
        unique = np.isfinite(t[0]) & ((t[1] - t[0]) > 1e-7 * np.maximum(t[0], 1e-12))
    assert unique.sum() > 0.5 * np.isfinite(times).sum()
    assert np.isin(alloc[unique], first).all()
    assert np.array_equal(alloc[unique], other[unique])


def per_facility_times(s: FrictionSurface, rc: np.ndarray, **kw: object) -> np.ndarray:
    g = grid_search.grid_graph(s, **kw)  # type: ignore[arg-type]
    return np.stack([grid_search.nearest(g, rc[j:j + 1], engine="csr")[0] for j in range(len(rc))])


CASES = [(nb, avg, d, slope) for nb in (8, 16) for avg in ("time", "speed")
         for d in ("towards", "from") for slope in (False, True)]


@pytest.mark.parametrize(("neighbours", "average", "direction", "sloped"), CASES)
@pytest.mark.parametrize("seed", [0, 1])
def test_nearest_equals_the_csr_graph_search(seed, neighbours, average, direction, sloped):
    s, dem, rng = surface(seed)
    rc = sources(s, rng)
    kw = {"dem": dem if sloped else None, "neighbours": neighbours, "average": average,
          "direction": direction}
    theirs, their_alloc = grid_search.nearest(grid_search.grid_graph(s, **kw), rc, engine="csr")
    ours, alloc = kernel.nearest(kernel.kernel_grid(s, **kw), rc)
    assert_same_times(ours, theirs)
    assert_same_allocation(ours, alloc, their_alloc, rc, per_facility_times(s, rc, **kw))
    assert (ours[rc[:, 0], rc[:, 1]] == 0).all()
    assert alloc[rc[-1, 0], rc[-1, 1]] == 0  # two facilities in one cell: the first one


@pytest.mark.parametrize("neighbours", [8, 16])
@pytest.mark.parametrize("average", ["time", "speed"])
@pytest.mark.parametrize("cap", [friction.BICYCLE_MAX_FACTOR, None])
@pytest.mark.parametrize("bike_speeds", ["few", "many"])
def test_slope_models_walking_and_bicycling(neighbours, average, cap, bike_speeds):
    """Tabulated (few bicycling speeds) and per-cell (many) bicycle factors, capped or not."""
    s, dem, rng = surface(3, bike_speeds=bike_speeds)
    rc = sources(s, rng)
    for d in ("towards", "from"):
        kw = {"dem": dem, "neighbours": neighbours, "average": average, "direction": d,
              "bicycle_max_factor": cap}
        theirs, _ = grid_search.nearest(grid_search.grid_graph(s, **kw), rc, engine="csr")
        ours, _ = kernel.nearest(kernel.kernel_grid(s, **kw), rc)
        assert_same_times(ours, theirs)
    grid = kernel.kernel_grid(s, dem=dem, bicycle_max_factor=cap)
    assert grid.exact_bicycle == (bike_speeds == "many")


@pytest.mark.parametrize("mode", [Mode.WALKING, Mode.BICYCLING, Mode.MOTORIZED])
def test_one_mode_for_every_cell(mode):
    s, dem, rng = surface(4)
    rc = sources(s, rng)
    theirs, _ = grid_search.nearest(s, rc, dem=dem, mode=mode, engine="csr")
    ours, _ = kernel.nearest(s, rc, dem=dem, mode=mode)
    assert_same_times(ours, theirs)


def test_direction_matters_on_slopes_only():
    s, dem, rng = surface(5)
    rc = sources(s, rng)
    towards, _ = kernel.nearest(s, rc, dem=dem, direction="towards")
    away, _ = kernel.nearest(s, rc, dem=dem, direction="from")
    f = np.isfinite(towards) & (towards > 0)
    assert np.abs(towards[f] / away[f] - 1).max() > 1e-3
    flat_t, _ = kernel.nearest(s, rc, direction="towards")
    flat_f, _ = kernel.nearest(s, rc, direction="from")
    assert np.array_equal(flat_t, flat_f)


@pytest.mark.parametrize("neighbours", [8, 16])
def test_walls_knights_moves_and_nan_elevations(neighbours):
    """A wall with one gap: knight's moves cannot jump it; NaN elevations are impassable."""
    s, dem, rng = surface(6, (25, 25), blocked=0.0)
    speed = s.speed_kph.copy()
    mode = s.mode.copy()
    speed[:20, 12] = 0
    mode[:20, 12] = 0
    s = FrictionSurface(speed, mode, s.klass, s.transform, speed == 0)
    dem = dem.copy()
    dem[22, 3:6] = np.nan
    rc = np.array([[0, 0], [10, 3]])
    for d in (None, dem):
        theirs, _ = grid_search.nearest(s, rc, dem=d, neighbours=neighbours, engine="csr")
        ours, alloc = kernel.nearest(s, rc, dem=d, neighbours=neighbours)
        assert_same_times(ours, theirs)
        assert np.isfinite(ours[0, 13])  # round the wall through the gap
    assert np.isinf(ours[22, 3:6]).all() and (alloc[22, 3:6] == -1).all()


def test_rectangular_cells():
    s, dem, rng = surface(7, cell=(30.0, 20.0))
    rc = sources(s, rng)
    for nb in (8, 16):
        theirs, _ = grid_search.nearest(s, rc, dem=dem, neighbours=nb, engine="csr")
        ours, _ = kernel.nearest(s, rc, dem=dem, neighbours=nb)
        assert_same_times(ours, theirs)


@pytest.mark.parametrize("neighbours", [8, 16])
@pytest.mark.parametrize("sloped", [False, True])
def test_bounded_nearest_and_catchments_equal_the_csr_path(neighbours, sloped):
    s, dem, rng = surface(8, (40, 50))
    rc = sources(s, rng)
    kw = {"dem": dem if sloped else None, "neighbours": neighbours}
    graph = grid_search.grid_graph(s, **kw)  # type: ignore[arg-type]
    grid = kernel.kernel_grid(s, **kw)  # type: ignore[arg-type]
    theirs, _ = grid_search.nearest(graph, rc, max_minutes=LIM, engine="csr")
    ours, _ = kernel.nearest(grid, rc, max_minutes=LIM)
    assert_same_times(ours, theirs)
    assert np.isinf(ours).sum() > 0.2 * ours.size and (ours[np.isfinite(ours)] <= LIM).all()
    cell_index = np.where(rng.uniform(size=s.shape) > 0.3, 0, -1)
    cell_index[cell_index == 0] = rng.permutation(int((cell_index == 0).sum()))
    cell_index[rc[0, 0], rc[0, 1]] = cell_index.max() + 1  # the first facility's cell is populated
    a = grid_search.cost_matrix(graph, rc, cell_index, max_minutes=LIM, engine="csr")
    for queue in (None, False):
        b = kernel.cost_matrix(grid, rc, cell_index, max_minutes=LIM, queue=queue)
        assert b.shape == a.shape and b.cutoff == a.cutoff == LIM and b.unit == "min"
        assert b.nnz == a.nnz > len(rc)
        assert np.array_equal(b.matrix.indptr, a.matrix.indptr)
        assert np.array_equal(b.matrix.indices, a.matrix.indices)
        np.testing.assert_allclose(b.matrix.data, a.matrix.data, rtol=REL, atol=0)
    # the first and the last facility share a cell: equal columns; its own cell an explicit 0
    m = b.matrix.tocsc()
    assert np.array_equal(m[:, [0]].toarray(), m[:, [len(rc) - 1]].toarray())
    assert m[[int(cell_index[rc[0, 0], rc[0, 1]])], [0]] == 0.0
    assert int(cell_index[rc[0, 0], rc[0, 1]]) in b.matrix.tocsc()[:, [0]].indices


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_bucket_queue_and_heap_give_the_same_answers(seed):
    s, _, rng = surface(seed, (50, 60))
    rc = sources(s, rng, 10)
    for avg in ("time", "speed"):
        grid = kernel.kernel_grid(s, neighbours=16, average=avg)
        assert kernel._queue(grid)[1].size > 0  # isotropic: buckets by default
        before = grid.per_cell.copy()
        t1, a1 = kernel.nearest(grid, rc, queue=True)
        np.testing.assert_array_equal(grid.per_cell, before)  # settled marks stay in the copy
        t2, a2 = kernel.nearest(grid, rc, queue=False)
        assert_same_times(t1, t2)
        np.testing.assert_array_equal(t1, t2)  # the same sums in the same order: bit for bit


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_isotropic_times_equal_scikit_image_mcp(seed):
    s, _, rng = surface(seed, (60, 70))
    rc = sources(s, rng, 20)
    pace = np.full(s.shape, np.inf)
    np.divide(60.0, s.speed_kph.astype(float) * 1000.0, out=pace, where=s.passable)
    peer, _ = MCP_Geometric(pace, fully_connected=True, sampling=(50.0, 50.0)).find_costs(
        [tuple(r) for r in rc.tolist()])
    for queue in (True, False):
        ours, _ = kernel.nearest(s, rc, neighbours=8, queue=queue)
        f = np.isfinite(ours)
        assert f.sum() > 0.8 * s.passable.sum()
        # MCP gives its own (finite) cost to impassable cells; compare the passable ones
        assert np.isfinite(peer[f]).all()
        np.testing.assert_allclose(ours[f], peer[f], rtol=REL, atol=0)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10**6), rows=st.integers(1, 12), cols=st.integers(1, 12),
       neighbours=st.sampled_from([8, 16]), average=st.sampled_from(["time", "speed"]),
       direction=st.sampled_from(["towards", "from"]), sloped=st.booleans(),
       limit=st.sampled_from([None, 2.0, 0.5]))
def test_random_small_grids_equal_the_csr_path(seed, rows, cols, neighbours, average, direction,
                                               sloped, limit):
    s, dem, rng = surface(seed, (rows, cols), blocked=0.25)
    if not s.passable.any():
        return
    rc = np.argwhere(s.passable)[rng.choice(int(s.passable.sum()), min(3, int(s.passable.sum())))]
    kw = {"dem": dem if sloped else None, "neighbours": neighbours, "average": average,
          "direction": direction}
    theirs, _ = grid_search.nearest(grid_search.grid_graph(s, **kw), rc, max_minutes=limit,
                                    engine="csr")
    ours, _ = kernel.nearest(kernel.kernel_grid(s, **kw), rc, max_minutes=limit)
    assert_same_times(ours, theirs)


# --------------------------------------------------------------------------- the rest


def test_the_move_set_and_slope_tables_are_grid_searchs():
    assert kernel._STEPS_8 == grid_search._STEPS_8 and kernel._KNIGHT == grid_search._KNIGHT
    assert kernel._GROUP_SUMS_MAX == grid_search._GROUP_SUMS_MAX
    np.testing.assert_array_equal(kernel._SLOPE_GRID, grid_search._SLOPE_GRID)
    assert kernel._TOBLER_FLAT == friction._TOBLER_FLAT
    s = np.linspace(-1.5, 1.5, 301)
    for v in (5.0, 15.0, 28.0):
        ours = np.array([kernel._bike_uncapped(float(x), v) for x in s])
        np.testing.assert_allclose(ours, friction.bicycle_factor_uncapped(s, v), rtol=1e-12)


@pytest.mark.parametrize("average", ["time", "speed"])
def test_per_cell_values_are_grid_searchs_formula_bit_for_bit(average):
    """The one-pass preparation: numpy's pace = 60 / (float64(kph) * 1000) (1 / pace), 0 off limits."""
    s, dem, _ = surface(13, (20, 30))
    dem = dem.copy()
    dem[4, 5:9] = np.nan
    for d, pad in ((None, 1), (dem, 2)):
        grid = kernel.kernel_grid(s, dem=d, neighbours=8 if pad == 1 else 16, average=average)
        ok = s.passable if d is None else s.passable & np.isfinite(dem)
        pace = 60.0 / (s.speed_kph.astype(np.float64)[ok] * 1000.0)
        want = np.zeros(s.shape)
        want[ok] = pace if average == "time" else 1.0 / pace
        assert (want == 0).sum() > (~s.passable).sum() - (d is None)  # impassable cells present
        np.testing.assert_array_equal(grid.unpad(grid.per_cell), want)
        padded = grid.per_cell.reshape(s.shape[0] + 2 * pad, -1)
        assert grid.pad == pad and (padded[:pad] == 0).all() and (padded[:, -pad:] == 0).all()


def test_the_prefetch_and_its_stand_in_compile():
    """The cache-prefetch intrinsic (and the stand-in used where numba lacks it) run compiled."""
    import numba

    stand_in = kernel._jit(kernel._no_prefetch)

    @numba.njit
    def touch(a: np.ndarray, f: int) -> float:
        for i in range(a.size):
            if f:
                kernel._prefetch(a, i)
            else:
                stand_in(a, i)
        return float(a.sum())

    a = np.arange(100.0)
    assert touch(a, 1) == touch(a, 0) == 4950.0

    s, _, _ = surface(9, (5, 5), blocked=0.0)
    speed = s.speed_kph.copy()
    speed[2, 2] = 0
    s = FrictionSurface(speed, s.mode, s.klass, s.transform, speed == 0)
    with pytest.raises(kernel.KernelSourceError, match=r"facilities \[1\] lie on impassable cells"):
        kernel.nearest(s, np.array([[0, 0], [2, 2]]))
    with pytest.raises(grid_search.SourceError, match=r"facilities \[0\] lie outside the 5 x 5 grid"):
        kernel.nearest(s, np.array([[5, 0]]), source_error=grid_search.SourceError)
    t, a = kernel.nearest(s, np.array([[2, 2], [0, 0]]), on_impassable="skip")
    assert (a[s.passable] == 1).all() and np.isinf(t[2, 2])
    cm = kernel.cost_matrix(s, np.array([[2, 2], [0, 0]]), np.arange(25).reshape(5, 5),
                            max_minutes=100, on_impassable="skip")
    assert cm.shape == (25, 2) and cm.matrix[:, [0]].nnz == 0 and cm.matrix[:, [1]].nnz == 24


def test_invalid_settings_and_prebuilt_grids():
    s, dem, _ = surface(10, (4, 4))
    with pytest.raises(UnitsError, match="8 or 16"):
        kernel.kernel_grid(s, neighbours=4)
    with pytest.raises(UnitsError, match="'towards' or 'from'"):
        kernel.kernel_grid(s, direction="to")  # type: ignore[arg-type]
    with pytest.raises(UnitsError, match="shape"):
        kernel.kernel_grid(s, dem=np.zeros((2, 2)))
    with pytest.raises(UnitsError, match="positive"):
        kernel.nearest(s, np.array([[0, 0]]), max_minutes=0)
    with pytest.raises(UnitsError, match="cell_index"):
        kernel.cost_matrix(s, np.array([[0, 0]]), np.zeros((2, 2), int), max_minutes=5)
    grid = kernel.kernel_grid(s, neighbours=8)
    with pytest.raises(UnitsError, match="prebuilt KernelGrid"):
        kernel.nearest(grid, np.array([[0, 0]]), neighbours=16)


def test_memory_per_cell_stays_under_40_bytes():
    """numpy's allocations (tracemalloc), from the surface to the returned arrays.

    numba's allocations (the queue, which holds the search front) are traced too.  Float64
    per-cell speeds, the float64 padded DEM and int8 slope groups, float64 times and int32
    labels while searching, then the float64 / int64 results.
    """
    s, dem, rng = surface(11, (600, 800))
    rc = sources(s, rng, 20)
    n = s.speed_kph.size
    for kw in ({}, {"dem": dem}):
        kernel.nearest(s, rc[:2], neighbours=8, **kw)  # compiled before measuring
        tracemalloc.start()
        t, a = kernel.nearest(s, rc, neighbours=8, **kw)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert peak / n <= 40, (kw.keys(), peak / n)
        assert t.nbytes + a.nbytes == 16 * n  # float64 minutes + int64 allocation


def test_uncacheable_functions_still_compile():
    """Without a place for numba's cache (here: code with no file) the kernel runs uncached."""
    f = kernel._jit(eval("lambda x: x + 1"))  # noqa: S307
    assert f(1) == 2


def test_grid_search_uses_the_kernel_by_default_and_keeps_the_csr_engine():
    """grid_search.nearest / cost_matrix: kernel by default, from a surface or a GridGraph."""
    s, dem, rng = surface(12)
    rc = sources(s, rng)
    cell_index = np.arange(s.speed_kph.size).reshape(s.shape)
    g = grid_search.grid_graph(s, dem=dem, average="speed", neighbours=8)
    csr, _ = grid_search.nearest(g, rc, engine="csr")
    via_graph, _ = grid_search.nearest(g, rc)
    ours, _ = kernel.nearest(kernel.kernel_grid(s, dem=dem, average="speed", neighbours=8), rc)
    np.testing.assert_array_equal(via_graph, ours)  # the graph's own settings (speed average)
    assert_same_times(via_graph, csr)
    assert "grid" in g.kernel_cache
    plain, _ = grid_search.nearest(s, rc, dem=dem, neighbours=16)
    assert_same_times(plain, grid_search.nearest(s, rc, dem=dem, neighbours=16, engine="csr")[0])
    a = grid_search.cost_matrix(g, rc, cell_index, max_minutes=LIM, engine="csr")
    b = grid_search.cost_matrix(g, rc, cell_index, max_minutes=LIM)
    assert np.array_equal(a.matrix.indices, b.matrix.indices) and a.nnz == b.nnz
    np.testing.assert_allclose(b.matrix.data, a.matrix.data, rtol=REL, atol=0)
    with pytest.raises(grid_search.SourceError, match="impassable"):
        grid_search.nearest(g, np.argwhere(~s.passable)[:1])
    with pytest.raises(UnitsError, match="'kernel' or 'csr'"):
        grid_search.nearest(s, rc, engine="fast")  # type: ignore[arg-type]
    # a graph assembled by hand (no inputs to prepare the kernel from) is searched as is
    bare = grid_search.GridGraph(g.csr, g.shape, g.passable, g.direction, g.neighbours, g.n_moves,
                                 g.cell_size_m, g.max_speed_m_min)
    np.testing.assert_array_equal(grid_search.nearest(bare, rc)[0], csr)
