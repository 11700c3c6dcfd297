"""Tests of gisapp.travel.grid_search on small grids whose travel times can be worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest
from affine import Affine
from skimage.graph import MCP_Geometric

from gisapp._errors import UnitsError
from gisapp.travel.friction import (
    FrictionSurface,
    Mode,
    bicycle_factor,
    tobler_factor,
    uniform_surface,
)
from gisapp.travel.grid_search import (
    ACCESSMOD_5,
    SourceError,
    cost_matrix,
    grid_graph,
    nearest,
    points_to_rc,
)

S2, S5 = np.sqrt(2.0), np.sqrt(5.0)


def grid(shape: tuple[int, int], cell_m: float = 60.0, height_m: float | None = None) -> Affine:
    h = cell_m if height_m is None else height_m
    return Affine(cell_m, 0.0, 0.0, 0.0, -h, shape[0] * h)


def one_min_per_cell(shape: tuple[int, int], passable: np.ndarray | None = None,
                     mode: Mode = Mode.WALKING) -> FrictionSurface:
    """60 m cells at 3.6 km/h (60 m/min): one minute per straight move."""
    return uniform_surface(shape, grid(shape), speed_kph=3.6, mode=mode, passable=passable)


def test_uniform_speed_straight_diagonal_and_knight_moves():
    s = one_min_per_cell((5, 5))
    t8, a8 = nearest(s, np.array([[2, 2]]), neighbours=8)
    t16, _ = nearest(s, np.array([[2, 2]]), neighbours=16)
    assert t8[2, 2] == 0.0 and (a8 == 0).all()
    assert t8[2, 4] == pytest.approx(2.0)  # two straight moves
    assert t8[0, 0] == pytest.approx(2 * S2)  # two diagonal moves
    assert t8[0, 1] == pytest.approx(1 + S2)  # a diagonal and a straight move
    assert t16[0, 1] == pytest.approx(S5)  # one knight's move
    assert t16[0, 0] == pytest.approx(2 * S2)
    g = grid_graph(s, neighbours=16)
    assert g.max_speed_m_min == pytest.approx(60.0)  # the fastest move: 3.6 km/h
    assert g.n_moves == 2 * (4 * 5 + 5 * 4 + 2 * 4 * 4 + 2 * (3 * 4 + 4 * 3))


def test_rectangular_cells_use_their_own_width_and_height():
    shape = (3, 3)
    s = uniform_surface(shape, grid(shape, 30.0, 20.0), speed_kph=3.6)  # 60 m/min
    t, _ = nearest(s, np.array([[1, 1]]), neighbours=8)
    assert t[1, 2] == pytest.approx(30 / 60)
    assert t[0, 1] == pytest.approx(20 / 60)
    assert t[0, 0] == pytest.approx(np.hypot(30, 20) / 60)


def test_barrier_forces_a_detour():
    ok = np.ones((7, 7), bool)
    ok[0:6, 3] = False  # a wall with one gap at the bottom
    t, _ = nearest(one_min_per_cell((7, 7), ok), np.array([[0, 0]]), neighbours=8)
    assert t[0, 6] == pytest.approx(6 + 6 * S2)  # down to (6, 3) and back up
    assert np.isinf(t[0, 3])


@pytest.mark.parametrize("neighbours", [8, 16])
def test_knights_move_cannot_jump_a_wall(neighbours):
    ok = np.ones((5, 5), bool)
    ok[:, 2] = False
    t, a = nearest(one_min_per_cell((5, 5), ok), np.array([[2, 0]]), neighbours=neighbours)
    assert np.isinf(t[:, 3:]).all() and (a[:, 3:] == -1).all()


def test_max_minutes_bounds_the_search():
    t, a = nearest(one_min_per_cell((1, 6)), np.array([[0, 0]]), neighbours=8, max_minutes=3.5)
    assert t.ravel()[:4].tolist() == pytest.approx([0, 1, 2, 3])
    assert np.isinf(t.ravel()[4:]).all() and (a.ravel()[4:] == -1).all()


def test_allocation_is_the_nearest_facility():
    t, a = nearest(one_min_per_cell((1, 7)), np.array([[0, 0], [0, 6], [0, 0]]), neighbours=8)
    assert t.ravel().tolist() == pytest.approx([0, 1, 2, 3, 2, 1, 0])
    assert a[0, :3].tolist() == [0, 0, 0]  # two facilities in one cell: the first one
    assert a[0, 4:].tolist() == [1, 1, 1]
    assert a[0, 3] in (0, 1)  # a tie


# --------------------------------------------------------------------------- slope


def slope_case(mode: Mode = Mode.WALKING, speed_kph: float = 5.0):
    """1 x 3 grid of 30 m cells rising 3 m per cell eastwards (10 % slope)."""
    shape = (1, 3)
    s = uniform_surface(shape, grid(shape, 30.0), speed_kph=speed_kph, mode=mode)
    dem = np.array([[100.0, 103.0, 106.0]])
    return s, dem


def test_tobler_uphill_is_slower_than_downhill():
    s, dem = slope_case()
    v = 5000.0 / 60.0  # m/min
    # from the facility at the bottom: walking uphill
    up, _ = nearest(s, np.array([[0, 0]]), dem=dem, direction="from", neighbours=8)
    down, _ = nearest(s, np.array([[0, 0]]), dem=dem, direction="towards", neighbours=8)
    assert up[0, 2] == pytest.approx(60.0 / (v * tobler_factor(0.1)))
    assert down[0, 2] == pytest.approx(60.0 / (v * tobler_factor(-0.1)))
    assert up[0, 2] > down[0, 2]


def test_direction_towards_vs_from_differ_on_a_slope():
    s, dem = slope_case()
    towards, _ = nearest(s, np.array([[0, 2]]), dem=dem, direction="towards", neighbours=8)
    away, _ = nearest(s, np.array([[0, 2]]), dem=dem, direction="from", neighbours=8)
    # facility at the top: people walk up to it, or the facility's staff walk down
    assert towards[0, 0] > away[0, 0]
    assert towards[0, 0] == pytest.approx(away[0, 0] * tobler_factor(-0.1) / tobler_factor(0.1))


def test_bicycling_uses_the_power_model_and_motorized_ignores_slope():
    s, dem = slope_case(Mode.BICYCLING, 15.0)
    v = 15000.0 / 60.0
    t, _ = nearest(s, np.array([[0, 0]]), dem=dem, direction="from", neighbours=8)
    assert t[0, 2] == pytest.approx(60.0 / (v * bicycle_factor(0.1, 15.0)), rel=1e-4)
    flat, _ = nearest(s, np.array([[0, 0]]), dem=dem, mode=Mode.MOTORIZED, neighbours=8)
    assert flat[0, 2] == pytest.approx(60.0 / v)


def test_bicycle_cap_downhill():
    s, dem = slope_case(Mode.BICYCLING, 15.0)
    v = 15000.0 / 60.0
    capped = grid_graph(s, dem=dem, direction="towards", neighbours=8)
    free = grid_graph(s, dem=dem, direction="towards", neighbours=8, bicycle_max_factor=None)
    t_cap, _ = nearest(capped, np.array([[0, 0]]))
    t_free, _ = nearest(free, np.array([[0, 0]]))
    assert t_cap[0, 2] == pytest.approx(60.0 / (2.0 * v))  # down 10 %: capped at 2x
    assert t_free[0, 2] == pytest.approx(60.0 / (v * bicycle_factor(-0.1, 15.0, max_factor=None)),
                                         rel=1e-4)
    assert t_free[0, 2] < t_cap[0, 2]


def test_time_and_speed_averages_of_a_road_edge():
    """A grass cell next to a road: each cell's share of the move vs AccessMod's mean speed."""
    shape = (1, 2)
    speed = np.array([[80.0, 2.0]], dtype=np.float32)
    mode = np.array([[Mode.MOTORIZED, Mode.WALKING]], dtype=np.int8)
    s = FrictionSurface(speed, mode, np.zeros(shape, np.int32), grid(shape, 30.0),
                        np.zeros(shape, bool))
    t_time, _ = nearest(grid_graph(s, neighbours=8), np.array([[0, 0]]))
    t_speed, _ = nearest(grid_graph(s, **ACCESSMOD_5), np.array([[0, 0]]))
    kph_to_m_min = 1000.0 / 60.0
    assert t_time[0, 1] == pytest.approx(15 / (80 * kph_to_m_min) + 15 / (2 * kph_to_m_min))
    assert t_speed[0, 1] == pytest.approx(30 / (41 * kph_to_m_min))


# --------------------------------------------------------------------------- catchments


def random_surface(seed: int, shape: tuple[int, int] = (30, 40)) -> tuple[FrictionSurface, np.ndarray]:
    rng = np.random.default_rng(seed)
    speed = rng.uniform(2.0, 30.0, shape).astype(np.float32)
    mode = rng.choice(np.array([1, 2, 3], dtype=np.int8), size=shape)
    ok = rng.uniform(size=shape) > 0.1
    speed[~ok] = 0
    mode[~ok] = 0
    s = FrictionSurface(speed, mode, np.zeros(shape, np.int32), grid(shape, 50.0), ~ok)
    dem = rng.uniform(0, 20, shape).cumsum(axis=1)
    return s, dem


@pytest.mark.parametrize("neighbours", [8, 16])
def test_bounded_catchments_equal_the_nearest_time(neighbours):
    s, dem = random_surface(1)
    rng = np.random.default_rng(2)
    rc = np.argwhere(s.passable)[rng.choice(int(s.passable.sum()), 5, replace=False)]
    g = grid_graph(s, dem=dem, neighbours=neighbours)
    minutes, alloc = nearest(g, rc, max_minutes=20.0)
    cell_index = np.arange(s.speed_kph.size).reshape(s.shape)
    cm = cost_matrix(g, rc, cell_index, max_minutes=20.0)
    assert cm.unit == "min" and cm.cutoff == 20.0 and cm.shape == (s.speed_kph.size, 5)
    dense = np.full(cm.shape, np.inf)
    rows, cols, cost = cm.pairs()
    dense[rows, cols] = cost
    best = dense.min(axis=1).reshape(s.shape)
    assert np.array_equal(np.isfinite(best), np.isfinite(minutes))
    reached = np.isfinite(minutes)
    assert best[reached] == pytest.approx(minutes[reached])
    # where the nearest facility is unique, the allocation is the column holding the minimum
    top2 = np.minimum(np.sort(dense, axis=1)[:, :2], 1e9)
    unique = (top2[:, 0] < 1e9) & (top2[:, 1] - top2[:, 0] > 1e-9)
    assert np.array_equal(dense.argmin(axis=1)[unique], alloc.ravel()[unique])
    assert (cost <= 20.0).all()


def test_cost_matrix_keeps_zero_and_maps_rows_through_cell_index():
    s = one_min_per_cell((1, 5))
    cell_index = np.array([[-1, 2, 0, -1, 1]])  # grid columns 1, 2, 4 are cells 2, 0, 1
    cm = cost_matrix(s, np.array([[0, 1], [0, 4]]), cell_index, max_minutes=2.5, neighbours=8)
    assert cm.shape == (3, 2) and cm.nnz == 4
    rows, cols, cost = cm.pairs()
    pairs = {(int(r), int(c)): float(v) for r, c, v in zip(rows, cols, cost, strict=True)}
    # facility 0 in column 1 (cell 2), facility 1 in column 4 (cell 1); 3 minutes is too far
    assert pairs == pytest.approx({(2, 0): 0.0, (0, 0): 1.0, (1, 1): 0.0, (0, 1): 2.0})
    assert cm.matrix[[2], [0]] == 0.0  # an explicit zero: the facility's own cell


def test_isotropic_times_match_scikit_image_mcp():
    s, _ = random_surface(3, (25, 35))
    ok = s.passable
    rc = np.argwhere(ok)[[0, 100, 400]]
    pace = np.full(s.shape, np.inf)
    np.divide(60.0, s.speed_kph.astype(float) * 1000.0, out=pace, where=ok)
    mcp = MCP_Geometric(pace, fully_connected=True, sampling=(50.0, 50.0))
    peer, _ = mcp.find_costs([tuple(r) for r in rc.tolist()])
    ours, _ = nearest(s, rc, neighbours=8)
    both = np.isfinite(peer) & np.isfinite(ours)
    assert both.sum() > 0.8 * ok.sum()
    assert ours[both] == pytest.approx(peer[both], rel=1e-9)


# --------------------------------------------------------------------------- errors


def test_facility_on_an_impassable_cell():
    ok = np.ones((3, 3), bool)
    ok[1, 1] = False
    s = one_min_per_cell((3, 3), ok)
    with pytest.raises(SourceError, match=r"facilities \[1\] lie on impassable cells"):
        nearest(s, np.array([[0, 0], [1, 1]]))
    with pytest.raises(SourceError, match=r"facilities \[0\] lie outside the 3 x 3 grid"):
        nearest(s, np.array([[5, 0]]))
    t, a = nearest(s, np.array([[1, 1], [0, 0]]), on_impassable="skip")
    assert (a[ok] == 1).all()
    cm = cost_matrix(s, np.array([[1, 1], [0, 0]]), np.zeros((3, 3), int) - 1 + np.eye(3, dtype=int),
                     max_minutes=10, on_impassable="skip")
    assert cm.shape[1] == 2 and cm.matrix[:, [0]].nnz == 0


def test_prebuilt_graph_fixes_its_settings():
    s = one_min_per_cell((3, 3))
    g = grid_graph(s, neighbours=8)
    nearest(g, np.array([[0, 0]]), neighbours=8, direction="towards")  # same settings: fine
    with pytest.raises(UnitsError, match="prebuilt GridGraph"):
        nearest(g, np.array([[0, 0]]), neighbours=16)


def test_invalid_settings():
    s = one_min_per_cell((3, 3))
    with pytest.raises(UnitsError, match="8 or 16"):
        grid_graph(s, neighbours=4)
    with pytest.raises(UnitsError, match="'towards' or 'from'"):
        grid_graph(s, direction="to")  # type: ignore[arg-type]
    with pytest.raises(UnitsError, match="shape"):
        grid_graph(s, dem=np.zeros((2, 2)))
    with pytest.raises(UnitsError, match="positive"):
        nearest(s, np.array([[0, 0]]), max_minutes=0)
    with pytest.raises(UnitsError, match="cell_index"):
        cost_matrix(s, np.array([[0, 0]]), np.zeros((2, 2), int), max_minutes=5)


def test_points_to_rc():
    t = Affine(10.0, 0.0, 100.0, 0.0, -10.0, 200.0)
    rc = points_to_rc(np.array([105.0, 119.9, 90.0]), np.array([195.0, 180.1, 195.0]), t)
    assert rc.tolist() == [[0, 0], [1, 1], [0, -1]]


@pytest.mark.parametrize("average", ["time", "speed"])
def test_slope_models_agree_whether_grouped_or_per_cell(monkeypatch, average):
    """Few bicycling speeds are tabulated per speed; many are evaluated cell by cell."""
    import gisapp.travel.grid_search as tt

    s, dem = random_surface(4)
    speed = np.where(s.passable, np.round(s.speed_kph / 10.0) * 10.0 + 5.0, 0).astype(np.float32)
    s = FrictionSurface(speed, s.mode, s.klass, s.transform, s.barrier)
    grouped = grid_graph(s, dem=dem, average=average)
    monkeypatch.setattr(tt, "_GROUP_SUMS_MAX", 0)
    per_cell = grid_graph(s, dem=dem, average=average)
    assert np.array_equal(grouped.csr.indices, per_cell.csr.indices)
    np.testing.assert_allclose(grouped.csr.data, per_cell.csr.data, rtol=1e-4)


@pytest.mark.parametrize("neighbours", [8, 16])
def test_windowed_catchments_equal_full_grid_searches(monkeypatch, neighbours):
    """Small catchments are searched on a window around the facility: same result."""
    import gisapp.travel.grid_search as tt

    s, dem = random_surface(5, (60, 80))
    rng = np.random.default_rng(6)
    rc = np.argwhere(s.passable)[rng.choice(int(s.passable.sum()), 8, replace=False)]
    rc[0] = [0, 0] if s.passable[0, 0] else rc[0]  # one facility at a corner of the grid
    g = grid_graph(s, dem=dem, neighbours=neighbours)
    cell_index = np.where(s.passable, np.arange(s.speed_kph.size).reshape(s.shape), -1)
    monkeypatch.setattr(tt, "_WINDOW_FRACTION", 0)  # always windows
    windowed = cost_matrix(g, rc, cell_index, max_minutes=3.0, engine="csr")
    monkeypatch.setattr(tt, "_WINDOW_FRACTION", 10**12)  # never
    full = cost_matrix(g, rc, cell_index, max_minutes=3.0, engine="csr")
    assert windowed.nnz == full.nnz > 8
    assert np.array_equal(windowed.matrix.indices, full.matrix.indices)
    np.testing.assert_allclose(windowed.matrix.data, full.matrix.data, rtol=1e-12)
