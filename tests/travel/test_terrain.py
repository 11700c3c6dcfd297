"""Terrain (travel-time) mode of run_service on the tiny workspace's uniform walking surface."""

from __future__ import annotations

import numpy as np
import pytest

from gisapp._errors import GisAppError
from gisapp.config.spec import Standard
from gisapp.metrics import service
from gisapp.metrics import tables as tables
from gisapp.travel import terrain as terrain

KNIGHT = 16  # neighbours in the tiny workspace


def test_terrain_times_on_uniform_surface(tiny_ws):
    res = service.run_service(tiny_ws, "clinic_time", travel="terrain")
    assert res.mode == "terrain" and res.unit == "min" and res.cost.unit == "min"
    g = tiny_ws.grid
    # 6 km/h = 100 m/min: straight, diagonal and knight's moves from C1 at cell (2, 2)
    for (r, c), minutes in {(2, 2): 0.0, (2, 3): 1.0, (3, 3): np.sqrt(2), (3, 4): np.sqrt(5),
                            (2, 4): 2.0}.items():
        assert res.travel_cost[g.cell_index[r, c]] == pytest.approx(minutes, abs=1e-4)


def test_terrain_coverage_brackets_straight_line(tiny_ws):
    res = service.run_service(tiny_ws, "clinic_time", travel="terrain")
    thr = 3.3  # minutes
    g = tiny_ws.grid
    fac = tiny_ws.facilities[tiny_ws.facilities.kind.isin(res.service.kinds)]
    d = np.min(np.hypot(g.x[:, None] - fac.x.to_numpy()[None, :], g.y[:, None] - fac.y.to_numpy()[None, :]), axis=1)
    euclid_min = d / 100.0
    # a 16-neighbour path is at most 1.0824 x the straight line, never shorter
    assert np.all(res.covered <= (euclid_min <= thr + 1e-5))
    assert np.all(res.covered >= (euclid_min * 1.0824 <= thr - 1e-5))
    assert np.all(res.travel_cost[np.isfinite(res.travel_cost)] >= euclid_min[np.isfinite(res.travel_cost)] - 1e-5)  # facilities sit within 1 mm of cell centres


def test_distance_standard_is_walked_at_its_speed(tiny_ws):
    # 150 m at 4.5 km/h = 2 min; the surface walks at 6 km/h: 200 m of path
    res = service.run_service(tiny_ws, "clinic", travel="terrain")
    assert service.standard_minutes(res.service.standard) == pytest.approx(2.0)
    t = tables.coverage_by_district(tiny_ws, res)
    # within 2 min: facility cell, 4 neighbours (1 min), 4 diagonals (1.41), 4 cells at 2 min
    assert t["covered"].tolist() == [130.0, 1120.0]
    assert float(np.sum(res.demand * np.nan_to_num(res.access_per_1000))) == pytest.approx(5000.0)


def test_missing_mode_table_names_the_fix(tiny_ws):
    with pytest.raises(GisAppError, match="travel.speeds has no 'motorized' table"):
        service.run_service(tiny_ws, "clinic", travel="terrain",
                             standard=Standard(time_min=5, mode="motorized"))


def test_surface_is_cached(tiny_ws):
    a = terrain.surface_for(tiny_ws, "walking")
    assert terrain.surface_for(tiny_ws, "walking") is a
    assert terrain.available(tiny_ws)


def test_unknown_travel_mode(tiny_ws):
    with pytest.raises(GisAppError, match="Unknown travel mode 'teleport'"):
        service.run_service(tiny_ws, "clinic", travel="teleport")


def test_terrain_costs_come_from_the_kernel_without_a_graph_and_equal_the_graph_search(tiny_ws):
    from gisapp.travel.grid_search import cost_matrix, points_to_rc

    f = tiny_ws.facilities
    cm = terrain.terrain_cost(tiny_ws, "walking", f["x"].to_numpy(), f["y"].to_numpy(), max_minutes=5.0)
    assert ("kernel", "walking") in tiny_ws.cache and ("graph", "walking") not in tiny_ws.cache
    g = tiny_ws.grid
    rc = points_to_rc(f["x"].to_numpy(), f["y"].to_numpy(), g.transform)
    ref = cost_matrix(terrain.graph_for(tiny_ws, "walking"), rc, g.cell_index, max_minutes=5.0, engine="csr")
    assert cm.nnz == ref.nnz > 0
    assert np.array_equal(cm.matrix.indices, ref.matrix.indices)
    assert np.allclose(cm.matrix.data, ref.matrix.data, rtol=1e-9, atol=0)
