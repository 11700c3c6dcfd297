"""Running a service on the tiny workspace, by hand: coverage, demand groups, time standards, 2SFCA.

The tiny grid (tests/data/make_fixtures.py): 10 x 10 cells of 100 m, 10 people per cell and
1,000 in cell (7, 7); district A = columns 0-4, B = columns 5-9; clinic C1 (4 doctors) at
cell (2, 2), clinic C2 (1 doctor) at cell (7, 7), school S1 (300 seats) at cell (2, 7).
"""

from __future__ import annotations

import numpy as np
import pytest

from gisapp._errors import GisAppError
from gisapp.config.spec import Standard
from gisapp.metrics import tables
from gisapp.metrics.service import run_service


def test_school_uses_demand_group(tiny_ws):
    res = run_service(tiny_ws, "school")
    t = tables.coverage_by_district(tiny_ws, res)
    # 250 m: 21 cells around S1 in district B; children are 10 % of residents
    assert t["covered"].tolist() == pytest.approx([0.0, 21.0])
    assert t["population"].tolist() == pytest.approx([50.0, 149.0])


def test_time_standard_with_circuity(tiny_ws):
    res = run_service(tiny_ws, "clinic_time")
    # 3.3 min at 6 km/h over a route 1.5 x the straight line = 220 m straight: 13 cells each
    t = tables.coverage_by_district(tiny_ws, res)
    assert t["covered"].tolist() == [130.0, 1120.0]
    g = tiny_ws.grid
    cell = g.cell_index[2, 4]  # 200 m east of C1
    assert res.travel_cost[cell] == pytest.approx(200 * 1.5 / 100.0)
    assert res.unit == "min"


def test_standard_override(tiny_ws):
    res = run_service(tiny_ws, "clinic", standard=Standard(distance_m=50))
    assert tables.coverage_by_district(tiny_ws, res)["covered"].tolist() == [10.0, 1000.0]


def test_two_sfca_values_and_conservation(tiny_ws):
    res = run_service(tiny_ws, "clinic")
    g = tiny_ws.grid
    assert res.access_per_1000[g.cell_index[2, 2]] == pytest.approx(4 / 90 * 1000)
    assert res.access_per_1000[g.cell_index[7, 7]] == pytest.approx(1 / 1080 * 1000)
    assert res.access_per_1000[g.cell_index[9, 0]] == 0.0
    assert float(np.sum(res.demand * res.access_per_1000)) == pytest.approx(5 * 1000)


def test_unknown_service(tiny_ws):
    with pytest.raises(GisAppError, match="unknown service 'dentist' \\(known: clinic") as ei:
        run_service(tiny_ws, "dentist")
    assert ei.value.code == "unknown_service"
    assert "dentist" in ei.value.text("zh") and ei.value.text("zh") != str(ei.value)


def test_unknown_travel_mode(tiny_ws):
    with pytest.raises(GisAppError, match="Unknown travel mode 'teleport'") as ei:
        run_service(tiny_ws, "clinic", travel="teleport")
    assert ei.value.code == "unknown_travel_mode"
    assert "teleport" in ei.value.text("zh")
