"""Gini coefficient and Palma ratio: known values."""

from __future__ import annotations

import numpy as np
import pytest

from gisapp.metrics import equity


def test_gini_known_values():
    assert equity.gini(np.array([5.0, 5.0])) == 0.0
    # two people, one has everything: G = 0.5 for n = 2 (discrete Lorenz)
    assert equity.gini(np.array([0.0, 1.0])) == pytest.approx(0.5)
    # weights behave like repeated people
    a = equity.gini(np.array([1.0, 3.0]), np.array([2.0, 1.0]))
    b = equity.gini(np.array([1.0, 1.0, 3.0]))
    assert a == pytest.approx(b)


def test_palma_known_values():
    # ten people: the top one holds 5, the bottom four 1 each: 5 / 4
    v = np.array([1.0, 1.0, 1.0, 1.0, 2.0, 2.0, 2.0, 2.0, 2.0, 5.0])
    assert equity.palma(v) == pytest.approx(5.0 / 4.0)
    assert equity.palma(np.ones(10)) == pytest.approx(1.0 / 4.0)
    assert np.isnan(equity.palma(np.array([])))

