"""Equity of access: the (population-weighted) Gini coefficient and the Palma ratio."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

__all__ = ["gini", "palma"]


def gini(values: NDArray[np.floating], weights: NDArray[np.floating] | None = None) -> float:
    """Return the (population-weighted) Gini coefficient of non-negative values.

    Examples
    --------
    >>> gini(np.array([1.0, 1.0, 1.0]))
    0.0
    >>> round(gini(np.array([0.0, 0.0, 0.0, 1.0])), 3)
    0.75
    """
    v = np.asarray(values, dtype=np.float64)
    w = np.ones_like(v) if weights is None else np.asarray(weights, dtype=np.float64)
    ok = np.isfinite(v) & (w > 0)
    v, w = v[ok], w[ok]
    if v.size == 0 or (v * w).sum() <= 0:
        return float("nan")
    o = np.argsort(v, kind="stable")
    v, w = v[o], w[o]
    cw = np.cumsum(w)
    cvw = np.cumsum(v * w)
    # area under the Lorenz curve by trapezoids
    x = np.concatenate([[0.0], cw / cw[-1]])
    y = np.concatenate([[0.0], cvw / cvw[-1]])
    area = np.sum((x[1:] - x[:-1]) * (y[1:] + y[:-1]) / 2.0)
    return float(1.0 - 2.0 * area)


def palma(values: NDArray[np.floating], weights: NDArray[np.floating] | None = None) -> float:
    """Return the Palma ratio: share held by the top 10 % of people / share of the bottom 40 %."""
    v = np.asarray(values, dtype=np.float64)
    w = np.ones_like(v) if weights is None else np.asarray(weights, dtype=np.float64)
    ok = np.isfinite(v) & (w > 0)
    v, w = v[ok], w[ok]
    if v.size == 0:
        return float("nan")
    o = np.argsort(v, kind="stable")
    v, w = v[o], w[o]
    cw = np.cumsum(w) / w.sum()
    tot = (v * w).sum()
    bottom = (v * w)[cw <= 0.4].sum()
    top = (v * w)[cw > 0.9].sum()
    return float(top / bottom) if bottom > 0 else float("inf") if tot > 0 else float("nan")
