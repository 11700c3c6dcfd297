"""Capacity-aware access: 2SFCA, enhanced 2SFCA and Gaussian 2SFCA on the sparse cost matrix.

R_j = S_j / sum_k P_k W(c_kj) over c_kj <= c0;  A_i = sum_j R_j W(c_ij) over c_ij <= c0.

A facility whose catchment holds no demand (the denominator is 0) gets R_j = 0: its supply
reaches nobody, so it adds nothing to anyone's access (PySAL ``access`` yields inf or NaN
there and drops it).  With the same weights in both steps and every facility reaching some
demand, sum_i P_i A_i = sum_j S_j (conservation).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from numpy.typing import ArrayLike, NDArray

from gisapp.travel import decay as _decay
from gisapp.travel.cost import CostMatrix

__all__ = ["e2sfca", "g2sfca", "supply_ratio", "two_sfca", "weighted_two_sfca"]


def _weights(cost: CostMatrix, fn: _decay.DecayFn, max_cost: float | None) -> NDArray[np.float64]:
    data = np.asarray(cost.matrix.data, dtype=np.float64)
    w = np.asarray(fn(data), dtype=np.float64)
    if max_cost is not None:
        w = np.where(data <= max_cost, w, 0.0)
    return w


def supply_ratio(cost: CostMatrix, demand: ArrayLike, supply: ArrayLike, *,
                 weight: _decay.DecayFn | None = None,
                 max_cost: float | None = None) -> NDArray[np.float64]:
    """Return R_j, the supply-to-weighted-demand ratio of each facility (step 1 of 2SFCA).

    Parameters
    ----------
    cost
        Cells x facilities cost matrix.
    demand
        People (or demand) per cell, length n_cells.
    supply
        Capacity per facility (beds, doctors, seats), length n_facilities.
    weight
        Distance-decay function of the cost (default: 1 inside the catchment).
    max_cost
        Catchment size, in the cost's unit (default: the matrix's cut-off).

    Returns
    -------
    ndarray
        R_j per facility; 0 where the catchment holds no demand.
    """
    fn = weight or _decay.uniform()
    W = cost.with_data(_weights(cost, fn, max_cost))
    p = np.asarray(demand, dtype=np.float64)
    s = np.asarray(supply, dtype=np.float64)
    denom = W.T @ p
    out = np.zeros_like(s)
    np.divide(s, denom, out=out, where=denom > 0)
    return out


def weighted_two_sfca(cost: CostMatrix, demand: ArrayLike, supply: ArrayLike, *,
                      weight: _decay.DecayFn | None = None,
                      max_cost: float | None = None) -> NDArray[np.float64]:
    """Return A_i, the 2SFCA access of each cell with a given distance-decay function.

    Parameters
    ----------
    cost
        Cells x facilities cost matrix (its unit is the unit of ``max_cost`` and ``weight``).
    demand
        People per cell.
    supply
        Capacity per facility.
    weight
        Decay function applied in both steps (default: uniform).
    max_cost
        Catchment size (default: the matrix's cut-off).

    Returns
    -------
    ndarray
        Supply per person reachable from each cell (multiply by 1,000 for "per 1,000").

    Examples
    --------
    >>> from gisapp.travel.cost import cost_matrix_from_pairs
    >>> cm = cost_matrix_from_pairs(np.array([0, 1]), np.array([0, 0]), np.array([1.0, 2.0]),
    ...                             shape=(2, 1), unit="min", cutoff=30)
    >>> weighted_two_sfca(cm, [100, 300], [4]).tolist()
    [0.01, 0.01]
    """
    fn = weight or _decay.uniform()
    wdata = _weights(cost, fn, max_cost)
    W = cost.with_data(wdata)
    p = np.asarray(demand, dtype=np.float64)
    s = np.asarray(supply, dtype=np.float64)
    denom = W.T @ p
    r = np.zeros_like(s)
    np.divide(s, denom, out=r, where=denom > 0)
    return np.asarray(W @ r, dtype=np.float64)


def two_sfca(cost: CostMatrix, demand: ArrayLike, supply: ArrayLike, *,
             max_cost: float | None = None) -> NDArray[np.float64]:
    """Classic 2SFCA: weight 1 inside the catchment (``cost <= max_cost``), 0 outside."""
    return weighted_two_sfca(cost, demand, supply, weight=_decay.uniform(), max_cost=max_cost)


def e2sfca(cost: CostMatrix, demand: ArrayLike, supply: ArrayLike, *,
           steps: Mapping[float, float] | None = None,
           max_cost: float | None = None) -> NDArray[np.float64]:
    """Enhanced 2SFCA with step weights (default ``{10: 1, 20: 0.68, 30: 0.22}``, as PySAL)."""
    st = steps if steps is not None else {10.0: 1.0, 20.0: 0.68, 30.0: 0.22}
    return weighted_two_sfca(cost, demand, supply, weight=_decay.step(st), max_cost=max_cost)


def g2sfca(cost: CostMatrix, demand: ArrayLike, supply: ArrayLike, *, sigma: float,
           max_cost: float | None = None) -> NDArray[np.float64]:
    """Gaussian 2SFCA: weight ``exp(-c^2 / (2 sigma^2))`` inside the catchment."""
    return weighted_two_sfca(cost, demand, supply, weight=_decay.gaussian(sigma), max_cost=max_cost)
