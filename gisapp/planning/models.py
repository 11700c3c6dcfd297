"""One entry to every location model: :func:`solve` dispatches by model name.

The models share one input, a demand x site cost matrix (see :mod:`.location`): a row per
demand unit with its weight (people), a column per site, the ``fixed`` columns being the
existing facilities.  :func:`solve` checks the parameters each model needs and calls

* ``"mclp"``: maximal covering, :func:`.mclp.suggest_sites` (or :func:`.mclp.mclp_target`
  with ``target_share``), its :class:`~gisapp.planning.cover.SitingResult` wrapped into a
  :class:`~gisapp.planning.location.LocationResult` (:func:`mclp_result` gives both);
* ``"lscp"``: set covering, :func:`.lscp.lscp`;
* ``"p_median"``: :func:`.pmedian.p_median` (capacitated when ``capacity`` is given);
* ``"p_center"``: :func:`.pcenter.p_center`;
* ``"closures"``: :func:`.closures.closures` (close ``k_close`` of the fixed columns);
* ``"mixed"``: :func:`.closures.mixed_budget` (open ``p``, close ``k_close``).

The workspace adapter that builds the matrix from a workspace, in straight-line or terrain
travel, is :func:`gisapp.planning.suggest.suggest`.
"""

from __future__ import annotations

import time
from typing import Any, TypeVar

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike, NDArray

from gisapp._errors import GisAppError
from gisapp.planning import mclp
from gisapp.planning.cover import SitingResult, coverage_sets
from gisapp.planning.location import (
    CostInput,
    LocationResult,
    Progress,
    as_csr,
    check_weights,
    fixed_mask,
)

__all__ = ["METHODS", "MODELS", "assignment_of", "mclp_result", "solve"]

#: the models :func:`solve` runs, in the order a planner meets them
MODELS = ("mclp", "lscp", "p_median", "p_center", "closures", "mixed")
#: the solver choices: "auto" (exact when small enough), "exact", "heuristic" ("greedy" for MCLP)
METHODS = ("auto", "exact", "heuristic", "greedy")
#: the time limit of the exact MCLP solve when none is given (as :func:`.mclp.suggest_sites`)
MCLP_DEFAULT_TIME_LIMIT_S = 30.0
_TIME_LIMIT = " (time limit)"
_T = TypeVar("_T")


def _need(model: str, name: str, value: _T | None) -> _T:
    """Return ``value``; raise ``model_needs`` when this parameter ``name`` the model needs is missing."""
    if value is None:
        raise GisAppError(code="model_needs", params={"model": model, "param": name})
    return value


def _threshold(model: str, threshold: float | ArrayLike | None) -> float | ArrayLike:
    """Return the standard ``threshold``; raise ``model_needs`` when it is missing."""
    if threshold is None:
        raise GisAppError(code="model_needs", params={"model": model, "param": "threshold"})
    return threshold


def _count(model: str, name: str, value: object) -> int:
    """Return ``value`` as a non-negative whole count, else raise ``bad_model_count``."""
    _need(model, name, value)
    if isinstance(value, bool) or not isinstance(value, (int, np.integer, float)) or int(value) != value \
            or value < 0:
        raise GisAppError(code="bad_model_count", params={"model": model, "param": name, "value": value})
    return int(value)


def _column_capacity(capacity: ArrayLike | None, n_cols: int) -> NDArray[np.float64] | None:
    """Return per-column capacities (a scalar repeated), or None."""
    if capacity is None:
        return None
    cap = np.asarray(capacity, dtype=np.float64)
    return np.full(n_cols, float(cap)) if cap.ndim == 0 else cap.ravel()


def assignment_of(cost: sp.csr_array, open_cols: NDArray[np.bool_]) -> NDArray[np.int64]:
    """Return, per row, the open column nearest to it among the reachable pairs; -1 when none.

    Examples
    --------
    >>> c = sp.csr_array(np.array([[1.0, 2.0], [0.0, 3.0], [0.0, 0.0]]))
    >>> c.eliminate_zeros()
    >>> assignment_of(c, np.array([False, True])).tolist()
    [1, 1, -1]
    """
    m = sp.csr_array(cost)
    n = int(m.shape[0])
    out = np.full(n, -1, dtype=np.int64)
    rows = np.repeat(np.arange(n), np.diff(m.indptr))
    keep = open_cols[m.indices]
    r, c, v = rows[keep], m.indices[keep], m.data[keep]
    if r.size == 0:
        return out
    order = np.lexsort((c, v, r))  # by row, then cost, then column
    first = np.ones(order.size, dtype=bool)
    first[1:] = r[order][1:] != r[order][:-1]
    pick = order[first]
    out[r[pick]] = c[pick]
    return out


def mclp_result(cost: CostInput, weights: ArrayLike, threshold: float | ArrayLike, *, p: int | None = None,
                target_share: float | None = None, fixed: ArrayLike | None = None,
                capacity: ArrayLike | None = None, method: str = "auto", time_limit_s: float | None = None,
                already_covered: ArrayLike | None = None, progress: Progress | None = None
                ) -> tuple[LocationResult, SitingResult, NDArray[np.int64]]:
    """Maximal covering on a cost matrix: (the location result, the solver's siting result, candidate columns).

    Existing (``fixed``) columns are kept open: the rows they cover within ``threshold`` add
    nothing (``already_covered`` overrides which rows those are).  ``p`` new sites among the
    other columns (``target_share``, a fraction: the fewest that reach it, at most ``p`` when
    given).  ``SitingResult.selected`` indexes the candidate columns returned third;
    ``LocationResult.opened`` holds matrix columns.  ``capacity`` is per column (or a scalar),
    people a new site can serve.
    """
    t0 = time.perf_counter()
    if progress is not None:
        progress(0.0, "build")
    csr = as_csr(cost)
    n_rows, n_cols = (int(s) for s in csr.shape)
    w = check_weights(weights, n_rows)
    fix = fixed_mask(fixed, n_cols)
    cover = sp.csc_array(coverage_sets(csr, threshold))
    cand = np.flatnonzero(~fix).astype(np.int64)
    if already_covered is None:
        already = np.asarray(sp.csr_array(cover[:, np.flatnonzero(fix)]).sum(axis=1)).ravel() > 0
    else:
        already = np.asarray(already_covered, dtype=bool).ravel()
    cover_c = sp.csc_array(cover[:, cand])
    caps = _column_capacity(capacity, n_cols)
    cap_c = None if caps is None else caps[cand]
    t1 = time.perf_counter()
    if progress is not None:
        progress(0.1, "solve")
    if target_share is not None:
        sr = mclp.mclp_target(cover_c, w, float(target_share), already_covered=already, capacity=cap_c,
                              max_k=None if p is None else int(p))
    else:
        m = "greedy" if method == "heuristic" else method
        if m not in ("auto", "exact", "greedy"):
            raise GisAppError(code="bad_model_method", params={"method": method})
        sr = mclp.suggest_sites(cover_c, w, int(p or 0), method=m, already_covered=already,  # type: ignore[arg-type]
                                capacity=cap_c,
                                time_limit_s=MCLP_DEFAULT_TIME_LIMIT_S if time_limit_s is None else time_limit_s)
    opened = cand[np.asarray(sr.selected, dtype=np.int64)]
    open_cols = fix.copy()
    open_cols[opened] = True
    stopped = sr.method.endswith(_TIME_LIMIT)
    status = "optimal" if sr.optimal else ("time_limit" if stopped else "feasible")
    res = LocationResult(
        model="mclp", opened=opened.astype(np.int64), closed=np.zeros(0, np.int64),
        assignment=assignment_of(csr, open_cols), objective=float(sr.covered_weight),
        method="exact" if sr.method.startswith("exact") else "heuristic", optimal=bool(sr.optimal),
        bound=float(sr.upper_bound), gap=0.0 if sr.optimal else float(sr.gap), status=status,
        build_time_s=t1 - t0, solve_time_s=float(sr.solve_time_s))
    if progress is not None:
        progress(1.0, "done")
    return res, sr, cand


def solve(model: str, cost: CostInput, weights: ArrayLike, *, threshold: float | ArrayLike | None = None,
          p: int | None = None, k_close: int | None = None, fixed: ArrayLike | None = None,
          capacity: ArrayLike | None = None, target_share: float | None = None, method: str = "auto",
          time_limit_s: float | None = None, progress: Progress | None = None) -> LocationResult:
    """Run the location model ``model`` on a demand x site cost matrix.

    Parameters
    ----------
    model
        One of :data:`MODELS`.
    cost
        Demand x site costs (dense with ``inf`` out of reach, sparse, or a CostMatrix).
    weights
        Weight (people) per demand row.
    threshold
        The standard, in the cost's unit (scalar or per row): MCLP, LSCP, closures, mixed.
    p
        New sites to open: MCLP, p-median, p-center, mixed (``n_open``); for LSCP and MCLP with
        ``target_share`` the most new sites allowed (MCLP only).
    k_close
        Existing (fixed) sites to close: closures, mixed (``n_close``).
    fixed
        Existing sites (mask or column indices): kept open, or for closures and mixed the
        only ones that may close.
    capacity
        People each site can serve (scalar or per column): capacitated p-median, LSCP and
        MCLP (new sites only).
    target_share
        Share (0-1] of all weight to cover: LSCP (default 1) and MCLP instead of ``p``.
    method
        ``"auto"``, ``"exact"`` or ``"heuristic"`` (``"greedy"`` is MCLP's name for it).
    time_limit_s
        Stop after about this many seconds with the best answer found (``status`` then says
        ``"time_limit"`` and ``gap`` how far from proven it may be).
    progress
        Called with ``(fraction_done, stage)``.

    Returns
    -------
    LocationResult

    Raises
    ------
    GisAppError
        ``unknown_model``, ``model_needs`` (a parameter the model needs is missing),
        ``bad_model_count``, ``bad_model_method`` or any error of the model itself.

    Examples
    --------
    >>> c = np.array([[0.0, 5.0], [5.0, 0.0], [1.0, 9.0]])
    >>> r = solve("mclp", c, [1, 1, 1], threshold=1.0, p=1)
    >>> r.opened.tolist(), r.objective, r.proven
    ([0], 2.0, True)
    """
    if model not in MODELS:
        raise GisAppError(code="unknown_model", params={"model": model, "known": ", ".join(MODELS)})
    if method not in METHODS:
        raise GisAppError(code="bad_model_method", params={"method": method})
    common: dict[str, Any] = {"method": "heuristic" if method == "greedy" else method,
                              "time_limit_s": time_limit_s, "progress": progress}
    if model == "mclp":
        thr = _threshold(model, threshold)
        if target_share is None:
            _count(model, "p", p)
        return mclp_result(cost, weights, thr, p=p, target_share=target_share, fixed=fixed, capacity=capacity,
                           method=method, time_limit_s=time_limit_s, progress=progress)[0]
    if model == "lscp":
        from gisapp.planning.lscp import lscp

        thr = _threshold(model, threshold)
        return lscp(cost, weights, thr, fixed=fixed, target_share=1.0 if target_share is None else float(target_share),
                    capacity=capacity, **common)
    if model == "p_median":
        from gisapp.planning.pmedian import p_median

        return p_median(cost, weights, _count(model, "p", p), fixed=fixed, capacity=capacity, **common)
    if model == "p_center":
        from gisapp.planning.pcenter import p_center

        return p_center(cost, weights, _count(model, "p", p), fixed=fixed, **common)
    from gisapp.planning.closures import closures, mixed_budget

    thr = _threshold(model, threshold)
    if fixed is None:
        raise GisAppError(code="model_needs", params={"model": model, "param": "fixed"})
    existing = fixed
    out: LocationResult
    if model == "closures":
        out = closures(cost, weights, thr, _count(model, "k_close", k_close), existing=existing, **common)
    else:
        out = mixed_budget(cost, weights, thr, existing=existing, n_open=_count(model, "p", p),
                           n_close=_count(model, "k_close", k_close), **common)
    return out
