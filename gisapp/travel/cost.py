"""The sparse cells x facilities cost matrix: the seam between travel and coverage.

Every travel backend (straight line in :mod:`.straight`, the grid search over a friction
surface in :mod:`.grid_search`)
returns one :class:`CostMatrix`: a CSR matrix with one row per population cell and one
column per facility, holding the cost of every pair within the cut-off.  Explicit zeros are
kept (a facility inside a cell costs 0, and that pair still counts), so never call
``eliminate_zeros`` on it and use :attr:`CostMatrix.pairs` for the long form.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from gisapp._errors import UnitsError

__all__ = [
    "CostMatrix",
    "cost_matrix_from_pairs",
    "distance_to_minutes",
]

CostUnit = Literal["m", "min"]


@dataclass(frozen=True)
class CostMatrix:
    """Sparse travel cost between population cells (rows) and facilities (columns).

    Attributes
    ----------
    matrix
        ``scipy.sparse.csr_array`` of shape (n_cells, n_facilities); stored values are costs
        in :attr:`unit`; a pair that is not stored lies beyond :attr:`cutoff`.  Explicit
        zeros are meaningful.
    unit
        ``"m"`` (metres) or ``"min"`` (minutes).
    cutoff
        Largest cost stored, in :attr:`unit`.
    """

    matrix: sp.csr_array
    unit: CostUnit
    cutoff: float

    @property
    def shape(self) -> tuple[int, int]:
        """Return (n_cells, n_facilities)."""
        r, c = self.matrix.shape
        return int(r), int(c)

    @property
    def nnz(self) -> int:
        """Return the number of stored cell-facility pairs."""
        return int(self.matrix.nnz)

    def pairs(self) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64]]:
        """Return the long form: (cell index, facility index, cost), sorted by cell."""
        m = self.matrix
        counts = np.diff(m.indptr)
        rows = np.repeat(np.arange(m.shape[0], dtype=np.int64), counts)
        return rows, m.indices.astype(np.int64), np.asarray(m.data, dtype=np.float64)

    def with_data(self, data: NDArray[np.float64]) -> sp.csr_array:
        """Return a CSR matrix with this sparsity pattern and other values (e.g. weights)."""
        m = self.matrix
        return sp.csr_array((data, m.indices, m.indptr), shape=m.shape)

    def within(self, threshold: float | NDArray[np.float64]) -> CostMatrix:
        """Keep only pairs whose cost is at most ``threshold`` (scalar or per cell).

        Works on the CSR arrays directly (one pass, no sort); zero costs are kept.
        """
        m = self.matrix
        thr = np.asarray(threshold, dtype=np.float64)
        data = np.asarray(m.data, dtype=np.float64)
        if thr.ndim == 0:
            if m.nnz == 0 or float(data.max()) <= float(thr):
                return CostMatrix(m, self.unit, min(float(thr), self.cutoff))
            keep = data <= thr
            cut = float(thr)
        else:
            rows = np.repeat(np.arange(m.shape[0]), np.diff(m.indptr))
            keep = data <= thr[rows]
            cut = float(np.max(thr)) if thr.size else 0.0
        csum = np.zeros(keep.size + 1, dtype=np.int64)
        np.cumsum(keep, out=csum[1:])
        indptr = csum[m.indptr].astype(m.indptr.dtype)
        out = sp.csr_array((data[keep], m.indices[keep], indptr), shape=m.shape)
        return CostMatrix(out, self.unit, min(cut, self.cutoff))

    def select_facilities(self, keep: NDArray[np.bool_]) -> CostMatrix:
        """Return the matrix restricted to the facilities where ``keep`` is True (columns renumbered)."""
        keep = np.asarray(keep, dtype=bool)
        return CostMatrix(sp.csr_array(self.matrix[:, keep]), self.unit, self.cutoff)


def cost_matrix_from_pairs(
    rows: NDArray[np.integer],
    cols: NDArray[np.integer],
    cost: NDArray[np.floating],
    *,
    shape: tuple[int, int],
    unit: CostUnit,
    cutoff: float,
) -> CostMatrix:
    """Build a :class:`CostMatrix` from a long (cell, facility, cost) table, keeping zeros.

    Parameters
    ----------
    rows, cols, cost
        Cell indices, facility indices and costs; each (cell, facility) pair at most once.
    shape
        (n_cells, n_facilities).
    unit
        ``"m"`` or ``"min"``.
    cutoff
        The largest cost the table may hold, in ``unit``.

    Returns
    -------
    CostMatrix

    Examples
    --------
    >>> cm = cost_matrix_from_pairs(np.array([1, 0]), np.array([0, 0]), np.array([0.0, 5.0]),
    ...                             shape=(2, 1), unit="m", cutoff=10)
    >>> cm.nnz, cm.matrix.toarray().ravel().tolist()
    (2, [5.0, 0.0])
    """
    if unit not in ("m", "min"):
        msg = f"CostMatrix unit must be 'm' or 'min', got {unit!r}."
        raise UnitsError(msg)
    rows = np.asarray(rows, dtype=np.int64)
    cols = np.asarray(cols, dtype=np.int64)
    cost = np.asarray(cost, dtype=np.float64)
    if rows.size and np.all(cols[1:] >= cols[:-1]):
        # facility-major input (as the stencil produces): build CSC, let scipy transpose in C
        ccount = np.bincount(cols, minlength=shape[1])
        cptr = np.zeros(shape[1] + 1, dtype=np.int64)
        np.cumsum(ccount, out=cptr[1:])
        small = max(shape[0], rows.size) < 2**31 - 1
        it = np.int32 if small else np.int64
        csc = sp.csc_array((cost, rows.astype(it), cptr.astype(it)), shape=shape)
        csr = sp.csr_array(csc.tocsr())
        csr.has_sorted_indices = False
        csr.sort_indices()
        return CostMatrix(csr, unit, float(cutoff))
    order = np.lexsort((cols, rows))
    counts = np.bincount(rows, minlength=shape[0]) if rows.size else np.zeros(shape[0], np.int64)
    indptr = np.zeros(shape[0] + 1, dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    idx_dtype = np.int32 if max(shape[1], rows.size) < 2**31 - 1 else np.int64
    m = sp.csr_array(
        (cost[order], cols[order].astype(idx_dtype), indptr.astype(idx_dtype)), shape=shape
    )
    return CostMatrix(m, unit, float(cutoff))


def distance_to_minutes(distance_m: NDArray[np.float64] | float, *, speed_kph: float,
                        circuity: float = 1.0) -> NDArray[np.float64]:
    """Convert straight-line metres to travel minutes: ``d * circuity / speed``.

    Examples
    --------
    >>> float(distance_to_minutes(1000.0, speed_kph=6.0, circuity=1.5))
    15.0
    """
    if speed_kph <= 0:
        raise UnitsError(code="speed_not_positive", params={"speed": speed_kph})
    if circuity < 1.0:
        raise UnitsError(code="circuity_below_one", params={"circuity": circuity})
    return np.asarray(distance_m, dtype=np.float64) * circuity / (speed_kph * 1000.0 / 60.0)
