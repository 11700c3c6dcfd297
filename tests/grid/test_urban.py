"""Degree of Urbanisation rules on the 1 km grid."""

from __future__ import annotations

import numpy as np

from gisapp.grid import urban as urban


def classify(density_blocks: np.ndarray, res_m: float = 100.0):
    """Spread a 1 km block density grid (people/km^2) onto 100 m cells and classify."""
    f = int(1000 / res_m)
    cells = np.kron(density_blocks, np.ones((f, f))) / (f * f)
    r, c = np.nonzero(np.ones_like(cells, dtype=bool))
    _, blocks, _ = urban.degree_of_urbanisation(r, c, cells[r, c], shape=cells.shape, res_m=res_m)
    return blocks


def test_centre_needs_50000_people():
    d = np.zeros((6, 6))
    d[1:4, 1:4] = 6000.0  # 9 km^2 x 6,000 = 54,000
    b = classify(d)
    assert (b[1:4, 1:4] == urban.URBAN_CENTRE).all()
    d[1:4, 1:4] = 5000.0  # 45,000: only a cluster
    b = classify(d)
    assert (b[1:4, 1:4] == urban.URBAN_CLUSTER).all()


def test_cluster_needs_5000_people_and_diagonals_connect():
    d = np.zeros((5, 5))
    d[0, 0] = d[1, 1] = d[2, 2] = 2000.0  # diagonal chain, 6,000 people, 8-connected
    b = classify(d)
    assert b[0, 0] == urban.URBAN_CLUSTER
    d2 = np.zeros((5, 5))
    d2[0, 0] = 4000.0
    d2[4, 4] = 4000.0
    b2 = classify(d2)
    assert (b2 == urban.RURAL).all()


def test_centre_uses_four_connectivity():
    d = np.zeros((12, 12))
    d[0:3, 0:3] = 3000.0   # 27,000
    d[3:6, 3:6] = 3000.0   # touches only diagonally: 27,000
    b = classify(d)
    # not one centre of 54,000, but both are urban clusters (8-connected, >= 300/km2)
    assert b[1, 1] == urban.URBAN_CLUSTER and b[4, 4] == urban.URBAN_CLUSTER


def test_town_flag():
    assert urban.is_town(np.array([1, 2, 3])).tolist() == [False, True, True]
