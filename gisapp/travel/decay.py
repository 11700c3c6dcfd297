"""Distance-decay weight functions: step, Gaussian and gravity, vectorised over numpy arrays."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
from numpy.typing import NDArray

__all__ = ["DecayFn", "gaussian", "gravity", "step", "uniform"]

DecayFn = Callable[[NDArray[np.float64]], NDArray[np.float64]]


def uniform() -> DecayFn:
    """Return the weight 1 for every cost (classic 2SFCA inside the catchment).

    Examples
    --------
    >>> uniform()(np.array([0.0, 7.0])).tolist()
    [1.0, 1.0]
    """

    def fn(cost: NDArray[np.float64]) -> NDArray[np.float64]:
        return np.ones_like(np.asarray(cost, dtype=np.float64))

    return fn


def step(steps: Mapping[float, float]) -> DecayFn:
    """Return a step function: weight ``w`` for costs up to each upper bound, 0 beyond the last.

    Parameters
    ----------
    steps
        Upper bound of each band (in the cost's unit) -> weight; bounds are inclusive, as in
        PySAL ``access.weights.step_fn``.

    Raises
    ------
    ValueError
        If ``steps`` is empty or a weight is negative.

    Examples
    --------
    >>> step({10: 1.0, 20: 0.68, 30: 0.22})(np.array([0.0, 10.0, 10.5, 30.0, 31.0])).tolist()
    [1.0, 1.0, 0.68, 0.22, 0.0]
    """
    if not steps:
        msg = "`steps` must hold at least one (upper bound: weight) pair."
        raise ValueError(msg)
    if any(w < 0 for w in steps.values()):
        msg = "All step weights must be non-negative."
        raise ValueError(msg)
    bounds = np.array(sorted(steps), dtype=np.float64)
    weights = np.array([steps[b] for b in sorted(steps)] + [0.0], dtype=np.float64)

    def fn(cost: NDArray[np.float64]) -> NDArray[np.float64]:
        return weights[np.searchsorted(bounds, np.asarray(cost, dtype=np.float64), side="left")]

    return fn


def gaussian(sigma: float) -> DecayFn:
    """Return ``exp(-c^2 / (2 sigma^2))`` (not normalised: weight 1 at cost 0), as PySAL ``access``.

    Raises
    ------
    ValueError
        If ``sigma`` is zero or negative.

    Examples
    --------
    >>> round(float(gaussian(20.0)(np.array([20.0]))[0]), 6)
    0.606531
    """
    if not sigma > 0:
        msg = f"Sigma must be positive, got {sigma}."
        raise ValueError(msg)

    def fn(cost: NDArray[np.float64]) -> NDArray[np.float64]:
        c = np.asarray(cost, dtype=np.float64)
        return np.exp(-c * c / (2.0 * sigma * sigma))

    return fn


def gravity(scale: float, alpha: float, min_cost: float = 0.0) -> DecayFn:
    """Return ``(max(c, min_cost) / scale) ** alpha`` (alpha usually negative), as PySAL ``access``.

    Raises
    ------
    ValueError
        If ``scale`` is not positive.

    Examples
    --------
    >>> np.round(gravity(20.0, -2.0, 1.0)(np.array([0.0, 20.0, 40.0])), 9).tolist()
    [400.0, 1.0, 0.25]
    """
    if not scale > 0:
        msg = f"Scale must be positive, got {scale}."
        raise ValueError(msg)

    def fn(cost: NDArray[np.float64]) -> NDArray[np.float64]:
        c = np.maximum(np.asarray(cost, dtype=np.float64), min_cost)
        with np.errstate(divide="ignore"):
            return np.power(c / scale, alpha)

    return fn
