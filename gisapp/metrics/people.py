"""People as whole numbers: rounding a column of people so that its rows add up to its total.

The engine computes people as real numbers (a demand group is a share of each cell's
residents), but a planner reads whole people.  Rounding each row on its own makes the rows
disagree with the rounded total ("3 + 3 + 3 = 10"); :func:`whole` rounds by the largest
remainder (Hamilton's method) instead, so the rounded rows always sum to the rounded total and
no row moves by a whole person or more.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["whole"]


def whole(values: ArrayLike) -> NDArray[np.int64]:
    """Return ``values`` rounded to whole people whose sum is the rounded sum of ``values``.

    Each value is rounded down, then the people still missing from the rounded total go one
    each to the values with the largest remainders (ties: the earlier row).  NaN counts as 0.

    Examples
    --------
    >>> whole([3.4, 3.3, 3.3]).tolist()
    [4, 3, 3]
    >>> whole([0.2, 0.2, 0.2, 0.2, 0.2]).tolist()
    [1, 0, 0, 0, 0]
    >>> int(whole([12.6, 7.7, 0.4]).sum()) == round(12.6 + 7.7 + 0.4)
    True
    >>> whole([]).tolist()
    []
    """
    v = np.nan_to_num(np.asarray(values, dtype=np.float64).ravel(), nan=0.0, posinf=0.0, neginf=0.0)
    if v.size == 0:
        return np.zeros(0, dtype=np.int64)
    base = np.floor(v)
    missing = int(round(float(v.sum())) - base.sum())
    out = base.astype(np.int64)
    if missing > 0:
        order = np.argsort(-(v - base), kind="stable")[:missing]
        out[order] += 1
    return out
