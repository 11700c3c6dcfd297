"""What every location model shares: its input (a demand x site cost matrix) and its result.

The models of :mod:`.lscp` (set covering), :mod:`.pmedian` (p-median, uncapacitated and
capacitated), :mod:`.pcenter` (p-center) and :mod:`.closures` (closures and a mixed budget of
opens and closes), like maximal covering in :mod:`.mclp`, work on one cost matrix: a row per
demand unit (a populated cell, a village), a column per site (existing facilities and
candidate sites alike), the travel cost of each pair in minutes or metres.  Existing
facilities are the columns flagged ``fixed``: kept open (set covering, p-median, p-center)
or the only columns that may close (closures).

The matrix is dense (``numpy`` array, ``inf`` where a site is out of reach) or sparse (a
``scipy.sparse`` array or a :class:`~gisapp.travel.cost.CostMatrix`: a stored entry is a
reachable pair, explicit zeros included; a pair not stored is out of reach).
:func:`as_csr` turns any of them into one CSR array of reachable pairs.

Every model returns a :class:`LocationResult`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeAlias

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike, NDArray

from gisapp._errors import GisAppError
from gisapp.travel.cost import CostMatrix

__all__ = [
    "CostInput",
    "LocationResult",
    "Progress",
    "as_csr",
    "check_weights",
    "fixed_mask",
    "jit",
]

#: a cost matrix as the models take it
CostInput: TypeAlias = NDArray[np.floating] | sp.sparray | sp.spmatrix | CostMatrix

#: a progress callback: ``progress(fraction_done, stage)`` with ``0 <= fraction_done <= 1``
#: and ``stage`` one of ``"build"``, ``"heuristic"``, ``"solve"``, ``"done"``
Progress: TypeAlias = Callable[[float, str], None]


@dataclass(frozen=True)
class LocationResult:
    """The answer of one location model.

    Attributes
    ----------
    model
        ``"lscp"``, ``"p_median"``, ``"p_median_capacitated"``, ``"p_center"``, ``"mclp"``,
        ``"closures"`` or ``"mixed"``.
    opened
        Columns of the non-fixed (candidate) sites the model opens, in the order the model
        ranks them (most useful first where the model has an order, else ascending).
    closed
        Columns of fixed (existing) sites the model closes (closure models; else empty).
    assignment
        Per demand row, the open column that serves it (its nearest open site, or for a
        capacitated model the site serving the largest share of it); -1 when none can.
    objective
        The model's objective value: number of new sites (LSCP), total weighted cost
        (p-median), the longest cost of any served demand (p-center), weight covered (MCLP),
        weight losing coverage (closures), weight covered after the opens and closes (mixed).
    method
        ``"exact"`` (a MIP or an exact combinatorial search) or ``"heuristic"``.
    optimal
        True when the objective is proven optimal (within ``gap``, see below).
    bound
        The best proven bound on the objective (a lower bound when minimising, an upper
        bound when maximising); ``nan`` when unknown.
    gap
        ``|objective - bound| / max(|objective|, tiny)``; 0 when proven optimal; ``nan`` when
        unknown.
    status
        ``"optimal"``, ``"time_limit"`` (stopped at the time limit with a feasible answer),
        ``"feasible"`` (a heuristic answer) or ``"infeasible"`` (no answer exists, e.g. some
        demand is out of every site's reach in set covering).
    build_time_s, solve_time_s
        Wall-clock seconds spent building the model and solving it.
    flows
        Capacitated models: the demand x column CSR array of weight assigned; else None.
    """

    model: str
    opened: NDArray[np.int64]
    closed: NDArray[np.int64]
    assignment: NDArray[np.int64]
    objective: float
    method: str
    optimal: bool
    bound: float
    gap: float
    status: str
    build_time_s: float
    solve_time_s: float
    flows: sp.csr_array | None = None

    @property
    def proven(self) -> bool:
        """Return True when the answer is proven optimal."""
        return self.optimal and self.status == "optimal"


def as_csr(cost: CostInput) -> sp.csr_array:
    """Return the reachable pairs of ``cost`` as a CSR array (explicit zeros kept).

    A dense input keeps every finite entry (zeros included); a sparse input or a
    :class:`CostMatrix` keeps its stored entries.

    Examples
    --------
    >>> m = as_csr(np.array([[0.0, np.inf], [2.0, 3.0]]))
    >>> m.nnz, m.toarray().tolist()
    (3, [[0.0, 0.0], [2.0, 3.0]])
    """
    if isinstance(cost, CostMatrix):
        return sp.csr_array(cost.matrix)
    if sp.issparse(cost):
        out = sp.csr_array(cost)
        out.sort_indices()
        return out
    a = np.asarray(cost, dtype=np.float64)
    if a.ndim != 2:
        raise GisAppError(code="bad_cost_matrix", params={"shape": str(a.shape)})
    if np.isnan(a).any() or (a < 0).any():
        raise GisAppError(code="bad_cost_values")
    m, n = a.shape
    finite = np.isfinite(a)
    # built directly in CSR (row-major order is CSR order): no COO round trip
    indptr = np.zeros(m + 1, dtype=np.int64)
    if finite.all():
        indptr[1:] = np.arange(1, m + 1, dtype=np.int64) * n
        indices = np.tile(np.arange(n, dtype=np.int32), m)
        data = a.ravel().copy()
    else:
        np.cumsum(finite.sum(axis=1), out=indptr[1:])
        indices = np.nonzero(finite)[1].astype(np.int32)
        data = a[finite]
    return sp.csr_array((data, indices, indptr), shape=a.shape)


def jit(fn: Callable[..., Any]) -> Any:
    """numba.njit with an on-disk cache when one can be written, without otherwise.

    The first call of a process compiles (a second or two); later processes load the cache.
    """
    import numba

    try:
        return numba.njit(cache=True, nogil=True)(fn)
    except RuntimeError:  # no writable cache location
        return numba.njit(cache=False, nogil=True)(fn)


def check_weights(weights: ArrayLike, n_rows: int) -> NDArray[np.float64]:
    """Return the demand weights as floats, checked: one per row, finite and non-negative."""
    w = np.asarray(weights, dtype=np.float64).ravel()
    if w.size != n_rows:
        raise GisAppError(code="bad_weights_length", params={"n": w.size, "rows": n_rows})
    if not np.isfinite(w).all() or (w < 0).any():
        raise GisAppError(code="bad_weights_values")
    return w


def fixed_mask(fixed: ArrayLike | None, n_cols: int) -> NDArray[np.bool_]:
    """Return the fixed (existing) columns as a boolean mask; ``fixed`` is a mask or column indices."""
    if fixed is None:
        return np.zeros(n_cols, dtype=bool)
    f = np.asarray(fixed)
    if f.dtype == bool:
        if f.size != n_cols:
            raise GisAppError(code="bad_fixed_length", params={"n": f.size, "cols": n_cols})
        return f.astype(bool)
    mask = np.zeros(n_cols, dtype=bool)
    idx = f.astype(np.int64).ravel()
    if idx.size and (idx.min() < 0 or idx.max() >= n_cols):
        raise GisAppError(code="bad_fixed_index", params={"cols": n_cols})
    mask[idx] = True
    return mask
