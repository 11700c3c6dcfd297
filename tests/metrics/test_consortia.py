"""Consortia on the tiny workspace, by hand.

The tiny grid (tests/data/make_fixtures.py): 10 x 10 cells of 100 m, 10 people per cell and
1,000 in cell (7, 7); district A = columns 0-4, B = columns 5-9; clinic C1 (4 doctors) at
cell (2, 2), clinic C2 (1 doctor) at cell (7, 7), school S1 (300 seats) at cell (2, 7).
"""

from __future__ import annotations

import numpy as np
import pytest

from gisapp.metrics import consortia


def test_consortia(tiny_ws):
    m = consortia.consortia_members(tiny_ws)
    assert m["facility_id"].tolist() == ["C1", "C2"]
    c2 = m.set_index("facility_id").loc["C2"]
    assert c2["distance_m"] == pytest.approx(np.hypot(500, 500), abs=1e-3)
    # referral standard 5 min at 6 km/h: 707 m takes 7.07 min
    assert c2["travel_min"] == pytest.approx(np.hypot(500, 500) / 100.0, abs=1e-4)
    assert bool(c2["beyond_referral"]) is True
    s = consortia.consortia_summary(tiny_ws)
    assert s.loc[0, "population_served"] == pytest.approx(1990.0)
    assert s.loc[0, "members"] == 2
