"""The stencil cost matrix equals a brute-force / KD-tree computation and keeps zero costs."""

from __future__ import annotations

import numpy as np
import pytest
from affine import Affine
from hypothesis import given, settings
from hypothesis import strategies as st

from gisapp._errors import UnitsError
from gisapp.travel import straight


def grid(nrow, ncol, res=100.0, holes=None):
    idx = np.arange(nrow * ncol, dtype=np.int64).reshape(nrow, ncol)
    if holes is not None:
        idx = np.where(holes, -1, 0)
        flat = idx.ravel()
        flat[flat == 0] = np.arange(int((flat == 0).sum()))
        idx = flat.reshape(nrow, ncol)
    return idx, Affine(res, 0, 1000.0, 0, -res, 9000.0)


def brute(idx, T, fx, fy, cutoff):
    rr, cc = np.nonzero(idx >= 0)
    x = T.c + (cc + 0.5) * T.a
    y = T.f + (rr + 0.5) * T.e
    d = np.hypot(x[:, None] - fx[None, :], y[:, None] - fy[None, :])
    out = np.full((int(idx.max()) + 1, fx.size), np.nan)
    out[idx[rr, cc]] = np.where(d <= cutoff, d, np.nan)
    return out


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 25), st.integers(1, 25), st.floats(50, 900), st.integers(0, 2**31 - 1))
def test_stencil_equals_brute_force(nrow, ncol, cutoff, seed):
    rng = np.random.default_rng(seed)
    holes = rng.random((nrow, ncol)) < 0.3
    if holes.all():
        holes[0, 0] = False
    idx, T = grid(nrow, ncol, holes=holes)
    nf = int(rng.integers(1, 6))
    # facilities anywhere around and inside the grid, some exactly on cell centres
    fx = rng.uniform(T.c - 300, T.c + ncol * 100 + 300, nf)
    fy = rng.uniform(T.f - nrow * 100 - 300, T.f + 300, nf)
    fx[0] = T.c + 50.0
    fy[0] = T.f - 50.0
    cm = straight.straight_line_cost(idx, T, fx, fy, cutoff_m=cutoff)
    expect = brute(idx, T, fx, fy, cutoff)
    got = np.full(expect.shape, np.nan)
    r, c, v = cm.pairs()
    got[r, c] = v
    np.testing.assert_allclose(got, expect, rtol=0, atol=1e-9)
    assert cm.unit == "m"


def test_zero_cost_pair_is_kept():
    idx, T = grid(3, 3)
    cm = straight.straight_line_cost(idx, T, np.array([1150.0]), np.array([8850.0]), cutoff_m=10)
    r, c, v = cm.pairs()
    assert (r.tolist(), v.tolist()) == ([4], [0.0])
    assert cm.nnz == 1


def test_minutes_and_circuity():
    idx, T = grid(1, 11)
    cm = straight.straight_line_cost(idx, T, np.array([1050.0]), np.array([8950.0]), cutoff_m=1000,
                                   circuity=1.5, speed_kph=6.0)
    r, _, v = cm.pairs()
    # 1,000 m straight x 1.5 at 6 km/h (100 m/min) = 15 min
    assert cm.unit == "min" and v[r == 10][0] == pytest.approx(15.0)
    assert cm.cutoff == pytest.approx(15.0)


def test_kdtree_variant_agrees_with_stencil():
    rng = np.random.default_rng(1)
    idx, T = grid(40, 50)
    fx = rng.uniform(1000, 6000, 30)
    fy = rng.uniform(5000, 9000, 30)
    a = straight.straight_line_cost(idx, T, fx, fy, cutoff_m=700).matrix.toarray()
    rr, cc = np.nonzero(idx >= 0)
    b = straight.straight_line_cost_kdtree(T.c + (cc + 0.5) * 100, T.f - (rr + 0.5) * 100, fx, fy,
                                         cutoff_m=700).matrix.toarray()
    np.testing.assert_allclose(a, b, atol=1e-9)


def test_within_per_cell_threshold():
    idx, T = grid(1, 5)
    cm = straight.straight_line_cost(idx, T, np.array([1050.0]), np.array([8950.0]), cutoff_m=1000)
    w = cm.within(np.array([0, 0, 300, 300, 300.0]))
    r, _, _ = w.pairs()
    assert r.tolist() == [0, 2, 3]


@pytest.mark.parametrize(("kwargs", "match"), [({"cutoff_m": 0}, "cutoff_m must be positive"),
                                               ({"cutoff_m": 10, "speed_kph": 0}, "speed_kph must be positive"),
                                               ({"cutoff_m": 10, "circuity": 0.5}, "circuity must be at least 1")])
def test_bad_units(kwargs, match):
    idx, T = grid(2, 2)
    with pytest.raises(UnitsError, match=match):
        straight.straight_line_cost(idx, T, np.array([1000.0]), np.array([9000.0]), **kwargs)
