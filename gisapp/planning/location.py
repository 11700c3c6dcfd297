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

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, TypeAlias

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike, NDArray

from gisapp._errors import GisAppError
from gisapp.travel.cost import CostMatrix

__all__ = [
    "AUTO_EXACT_MAX_NNZ",
    "METHODS",
    "CostInput",
    "LocationResult",
    "Method",
    "Progress",
    "Start",
    "as_csr",
    "check_method",
    "check_weights",
    "deadline_of",
    "entry_rows",
    "expired",
    "fixed_mask",
    "jit",
    "make_result",
    "nearest",
    "remaining",
    "report",
    "start",
    "thresholds",
    "within",
]

Method = Literal["auto", "exact", "heuristic"]
METHODS = ("auto", "exact", "heuristic")
AUTO_EXACT_MAX_NNZ = 400_000  # "auto" solves exactly up to this many covering pairs

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


def check_method(method: str, fn: str) -> str:
    """Return ``method`` if it is one of :data:`METHODS`; else raise GisAppError."""
    if method not in METHODS:
        raise GisAppError(code="model_bad_method", params={"fn": fn, "method": method})
    return method


def deadline_of(time_limit_s: float | None, t0: float, fn: str) -> float | None:
    """Return the wall-clock deadline of a solve started at ``t0`` (None: no limit)."""
    if time_limit_s is None:
        return None
    if isinstance(time_limit_s, bool) or not (np.isfinite(time_limit_s) and time_limit_s > 0):
        raise GisAppError(code="bad_time_limit", params={"fn": fn, "seconds": time_limit_s})
    return t0 + float(time_limit_s)


def remaining(deadline: float | None) -> float | None:
    """Return the seconds left before ``deadline`` (None: no limit)."""
    return None if deadline is None else deadline - time.perf_counter()


def expired(deadline: float | None) -> bool:
    """Return True when ``deadline`` has passed."""
    return deadline is not None and time.perf_counter() >= deadline


def thresholds(threshold: float | ArrayLike, n_rows: int, fn: str) -> NDArray[np.float64]:
    """Return the coverage threshold per row, checked (finite, non-negative, scalar or per row)."""
    thr = np.asarray(threshold, dtype=np.float64)
    if not np.all(np.isfinite(thr)) or np.any(thr < 0):
        raise GisAppError(code="model_bad_threshold", params={"fn": fn})
    if thr.ndim == 0:
        return np.full(n_rows, float(thr))
    if thr.shape != (n_rows,):
        raise GisAppError(code="model_threshold_shape",
                          params={"fn": fn, "n": n_rows, "shape": str(thr.shape)})
    return thr


def entry_rows(csr: sp.csr_array) -> NDArray[np.int64]:
    """Return the row of every stored entry of a CSR array."""
    return np.repeat(np.arange(int(csr.shape[0]), dtype=np.int64), np.diff(csr.indptr))


def within(csr: sp.csr_array, thr: NDArray[np.float64]) -> sp.csr_array:
    """Return the boolean CSR array of pairs whose cost is at most the row's threshold."""
    rows = entry_rows(csr)
    keep = np.asarray(csr.data <= thr[rows])
    counts = np.bincount(rows[keep], minlength=int(csr.shape[0]))
    indptr = np.zeros(int(csr.shape[0]) + 1, dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    return sp.csr_array((np.ones(int(indptr[-1]), dtype=bool), csr.indices[keep], indptr),
                        shape=csr.shape)


def nearest(csr: sp.csr_array, open_mask: NDArray[np.bool_]
            ) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """Return each row's nearest open column (-1 when none is reachable) and its cost (inf)."""
    n = int(csr.shape[0])
    rows = entry_rows(csr)
    keep = open_mask[csr.indices]
    r, c, d = rows[keep], csr.indices[keep].astype(np.int64), csr.data[keep]
    out = np.full(n, -1, dtype=np.int64)
    best = np.full(n, np.inf)
    if r.size == 0:
        return out, best
    np.minimum.at(best, r, d)
    hit = np.flatnonzero(d <= best[r])
    rh = r[hit]
    first = np.ones(rh.size, dtype=bool)
    first[1:] = rh[1:] != rh[:-1]  # CSR order: the first (lowest column) tie of each row
    out[rh[first]] = c[hit[first]]
    return out, best


def make_result(model: str, *, opened: ArrayLike, closed: ArrayLike, assignment: NDArray[np.int64],
                objective: float, method: str, optimal: bool, bound: float, status: str,
                t0: float, t_build: float, flows: sp.csr_array | None = None) -> LocationResult:
    """Return a :class:`LocationResult`, the gap computed from objective and bound."""
    now = time.perf_counter()
    if optimal and status in ("optimal", "infeasible") and not math.isnan(objective):
        bound = objective
    if math.isnan(bound) or math.isnan(objective) or math.isinf(objective):
        gap = 0.0 if optimal else float("nan")
    else:
        gap = abs(objective - bound) / max(abs(objective), 1e-12)
        gap = 0.0 if gap < 1e-12 else gap
    return LocationResult(
        model=model,
        opened=np.asarray(opened, dtype=np.int64).ravel(),
        closed=np.asarray(closed, dtype=np.int64).ravel(),
        assignment=np.asarray(assignment, dtype=np.int64),
        objective=float(objective),
        method=method,
        optimal=bool(optimal),
        bound=float(bound),
        gap=float(gap),
        status=status,
        build_time_s=float(t_build - t0),
        solve_time_s=float(now - t_build),
        flows=flows,
    )


def report(progress: Progress | None, fraction: float, stage: str) -> None:
    """Call ``progress(fraction, stage)`` when a callback is given."""
    if progress is not None:
        progress(float(min(max(fraction, 0.0), 1.0)), stage)


@dataclass(frozen=True)
class Start:
    """A model's checked input, as :func:`start` returns it.

    Attributes
    ----------
    fn
        The model's function name (for messages).
    t0
        ``time.perf_counter()`` when the call started.
    csr
        The reachable pairs (:func:`as_csr`).
    weights
        The checked weight of every row.
    fixed
        The fixed (existing) columns as a mask.
    cover
        With a threshold: the pairs within it (:func:`within`); else None.
    deadline
        The wall-clock deadline (None: no limit).
    progress
        The progress callback (or None).
    """

    fn: str
    t0: float
    csr: sp.csr_array
    weights: NDArray[np.float64]
    fixed: NDArray[np.bool_]
    cover: sp.csr_array | None
    deadline: float | None
    progress: Progress | None

    def within(self) -> sp.csr_array:
        """Return :attr:`cover` (a model that gave :func:`start` a threshold)."""
        if self.cover is None:
            raise TypeError(f"{self.fn}: start() was given no threshold")
        return self.cover

    def result(self, model: str, open_mask: NDArray[np.bool_], *, t_build: float,
               **fields: Any) -> LocationResult:
        """Return the result: each row assigned to its nearest column of ``open_mask``.

        ``fields`` are the other arguments of :func:`make_result` (opened, closed,
        objective, method, optimal, bound, status); progress is reported done.
        """
        assign, _ = nearest(self.csr, open_mask)
        report(self.progress, 1.0, "done")
        return make_result(model, assignment=assign, t0=self.t0, t_build=t_build, **fields)


def start(fn: str, cost: CostInput, weights: ArrayLike, fixed: ArrayLike | None, *,
          method: str, time_limit_s: float | None, progress: Progress | None,
          threshold: float | ArrayLike | None = None,
          check: Callable[[NDArray[np.bool_]], None] | None = None) -> Start:
    """Check a model's common arguments and read its cost matrix (the "build" stage begins).

    In this order: the cost matrix, the weights, the fixed columns, the threshold (when
    given), the model's own arguments (``check``, called with the fixed mask), the method
    and the time limit; the first invalid one raises its GisAppError.
    """
    t0 = time.perf_counter()
    report(progress, 0.0, "build")
    csr = as_csr(cost)
    m, n = (int(s) for s in csr.shape)
    w = check_weights(weights, m)
    fx = fixed_mask(fixed, n)
    thr = None if threshold is None else thresholds(threshold, m, fn)
    if check is not None:
        check(fx)
    check_method(method, fn)
    deadline = deadline_of(time_limit_s, t0, fn)
    cover = None if thr is None else within(csr, thr)
    return Start(fn, t0, csr, w, fx, cover, deadline, progress)
