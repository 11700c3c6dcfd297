"""p-center: p new sites minimising the longest trip of anyone.

:func:`p_center` works on the demand x site cost matrix of :mod:`.location`.  The objective
is the largest cost from a demand row with weight > 0 to its nearest open site (existing
sites, the ``fixed`` columns, always open; ``p`` new sites chosen among the others).

Rows with weight > 0 that no site can reach at all (a sparse matrix without any stored entry
in the row) are left out: they can be served by nobody, their assignment is -1 and they do
not count in the objective.  If ``p`` new sites cannot reach every other row (possible only
with sparse costs, where unstored pairs are out of reach), the result's status is
``"infeasible"`` (objective ``inf``) and its sites are the heuristic's best try.

Solvers:

* **exact** — the p-center optimum is one of the distinct costs T; it is the smallest T for
  which a set cover of the rows by sites within T needs at most p new sites.  Bounds: every
  row needs some site (T >= max over rows of the row's cheapest cost) and the heuristic gives
  a feasible T.  The LP relaxation of the covering problem, cheap, is binary-searched first
  (an LP needing more than p sites proves T infeasible); the heuristic (below) gives an
  incumbent; then covering MIPs (HiGHS, :func:`scipy.optimize.milp`; rows with the same
  sites merged, dominated rows and columns dropped) are solved at the distinct cost just
  below the incumbent until one is infeasible, which proves the incumbent optimal.  This is much smaller than the classic assignment MIP (one variable per pair plus
  the maximum), which spopt solves.
* **heuristic** — farthest-first (repeatedly open the candidate nearest the worst-served row)
  for a first answer, then a binary search between the LP bound and that answer with the
  covering heuristic of :mod:`.lscp` (greedy, LP relax-and-fix, iterated greedy) as the
  feasibility test.  Its ``bound`` is the LP bound.

A solution covering within T with fewer than p sites is topped up to p sites farthest-first
(never worse, better for the rows after the worst one).
"""

from __future__ import annotations

import math
import time

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike, NDArray

from gisapp._errors import GisAppError
from gisapp.planning.location import (
    CostInput,
    LocationResult,
    Progress,
    as_csr,
    check_weights,
    fixed_mask,
)
from gisapp.planning.lscp import (
    AUTO_EXACT_MAX_NNZ,
    Method,
    check_method,
    cover_heuristic,
    cover_lp,
    cover_mip,
    deadline_of,
    entry_rows,
    expired,
    make_result,
    merge_rows,
    nearest,
    reduce_cover,
    report,
)

__all__ = ["p_center"]


class _Problem:
    """Rows to serve (weight > 0, reachable), their costs, and covering sub-problems per T."""

    def __init__(self, csr: sp.csr_array, fx: NDArray[np.bool_], rows: NDArray[np.int64]) -> None:
        self.csr = sp.csr_array(csr[rows])
        self.csr.sort_indices()
        self.fx = fx
        self.cand = np.flatnonzero(~fx)
        self.col_of = np.full(fx.size, -1, dtype=np.int64)
        self.col_of[self.cand] = np.arange(self.cand.size)
        self.er = entry_rows(self.csr)
        self.fixed_entry = fx[self.csr.indices]
        m = int(self.csr.shape[0])
        self.w = np.ones(m)

    def cover_at(self, t: float) -> tuple[sp.csr_array, NDArray[np.float64], NDArray[np.int64]] | None:
        """Covering problem of the rows not served by a fixed site within ``t``, reduced.

        Rows with the same sites are merged, dominated rows and columns dropped
        (:func:`.lscp.reduce_cover`).  Returns (matrix, unit weights, candidate index of each
        column), or None when some row has no site at all within ``t``.
        """
        m = int(self.csr.shape[0])
        ok = self.csr.data <= t
        done = np.zeros(m, dtype=bool)
        done[self.er[ok & self.fixed_entry]] = True
        keep = ok & ~self.fixed_entry & ~done[self.er]
        counts = np.bincount(self.er[keep], minlength=m)
        if ((counts == 0) & ~done).any():
            return None
        rows = np.flatnonzero(~done)
        indptr = np.zeros(rows.size + 1, dtype=np.int64)
        np.cumsum(counts[rows], out=indptr[1:])
        sub = sp.csr_array((np.ones(int(indptr[-1]), dtype=bool),
                            self.col_of[self.csr.indices[keep]], indptr),
                           shape=(rows.size, self.cand.size))
        a, _, _ = merge_rows(sub, np.ones(rows.size))
        red, cols = reduce_cover(a)
        return red, np.ones(int(red.shape[0])), cols

    def value(self, open_mask: NDArray[np.bool_]) -> float:
        """Largest nearest-open-site cost over the rows (inf when one has none)."""
        _, best = nearest(self.csr, open_mask)
        return float(best.max()) if best.size else 0.0


def _farthest_first(prob: _Problem, start: NDArray[np.bool_], p_left: int) -> NDArray[np.bool_]:
    """Open ``p_left`` more candidates, each the one nearest to the currently worst-served row."""
    mask = start.copy()
    csc = sp.csc_array(prob.csr)
    csc.sort_indices()
    _, dist = nearest(prob.csr, mask)
    for _ in range(p_left):
        if dist.size == 0:
            break
        i = int(np.argmax(dist))
        lo, hi = prob.csr.indptr[i], prob.csr.indptr[i + 1]
        cols, costs = prob.csr.indices[lo:hi], prob.csr.data[lo:hi]
        free = ~mask[cols]
        if free.any():
            j = int(cols[free][np.argmin(costs[free])])
        else:  # the worst row has all its sites open: take the candidate improving most rows
            left = np.flatnonzero(~mask)
            if left.size == 0:
                break
            j = int(left[0])
        mask[j] = True
        col_rows = csc.indices[csc.indptr[j]:csc.indptr[j + 1]]
        dist[col_rows] = np.minimum(dist[col_rows], csc.data[csc.indptr[j]:csc.indptr[j + 1]])
    return mask


def _values(prob: _Problem, lo: float, hi: float) -> NDArray[np.float64]:
    """Distinct costs between ``lo`` and ``hi`` (both included), sorted."""
    d = prob.csr.data
    return np.unique(d[(d >= lo) & (d <= hi)])


def p_center(
    cost: CostInput,
    weights: ArrayLike,
    p: int,
    *,
    fixed: ArrayLike | None = None,
    method: Method = "auto",
    time_limit_s: float | None = None,
    progress: Progress | None = None,
) -> LocationResult:
    """p-center: open ``p`` new sites minimising the largest cost of any served demand row.

    Parameters
    ----------
    cost
        Demand x site costs (dense with ``inf`` out of reach, sparse, or a CostMatrix).
    weights
        Weight per demand row; only rows with weight > 0 count (the weight's size does not).
    p
        Number of new (non-fixed) sites, ``0 <= p <=`` number of non-fixed columns; with no
        fixed site ``p >= 1``.
    fixed
        Existing sites (mask or column indices): always open, not counted in ``p``.
    method
        ``"exact"``, ``"heuristic"`` or ``"auto"`` (exact up to 400,000 stored pairs).
    time_limit_s
        Stop the exact search after about this many seconds: the best answer so far with
        ``status="time_limit"`` and the proven lower bound.
    progress
        Called as ``progress(fraction, stage)``.

    Returns
    -------
    LocationResult
        ``model="p_center"``, ``objective`` the longest cost of any served row, ``bound`` a
        lower bound, ``assignment`` each row's nearest open site (-1 for rows no site reaches).

    Raises
    ------
    GisAppError
        On invalid inputs.

    Examples
    --------
    >>> cost = np.array([[1.0, 5.0, 9.0], [2.0, 4.0, 8.0], [9.0, 3.0, 1.0], [9.0, 6.0, 2.0]])
    >>> res = p_center(cost, [1, 1, 1, 1], 2)
    >>> res.opened.tolist(), res.objective, res.status
    ([0, 2], 2.0, 'optimal')
    """
    fn = "p_center"
    t0 = time.perf_counter()
    report(progress, 0.0, "build")
    csr = as_csr(cost)
    m_all, n_all = (int(s) for s in csr.shape)
    w_all = check_weights(weights, m_all)
    fx = fixed_mask(fixed, n_all)
    n_cand = int((~fx).sum())
    if isinstance(p, bool) or not isinstance(p, (int, np.integer)) or p < 0 \
            or (p == 0 and not fx.any()):
        raise GisAppError(code="model_bad_p", params={"fn": fn, "p": p})
    if p > n_cand:
        raise GisAppError(code="model_p_exceeds", params={"fn": fn, "p": p, "n": n_cand})
    check_method(method, fn)
    deadline = deadline_of(time_limit_s, t0, fn)
    rows = np.flatnonzero((w_all > 0) & (np.diff(csr.indptr) > 0))
    prob = _Problem(csr, fx, rows)
    t_build = time.perf_counter()
    if method == "auto":
        method = "exact" if prob.csr.nnz <= AUTO_EXACT_MAX_NNZ else "heuristic"
    label = "exact" if method == "exact" else "heuristic"

    def finish(mask: NDArray[np.bool_], optimal: bool, bound: float, status: str) -> LocationResult:
        if p > int((mask & ~fx).sum()):
            mask = _farthest_first(prob, mask, p - int((mask & ~fx).sum()))
        assign, _ = nearest(csr, mask)
        value = prob.value(mask)
        report(progress, 1.0, "done")
        return make_result("p_center", opened=np.flatnonzero(mask & ~fx), closed=[],
                           assignment=assign, objective=value, method=label, optimal=optimal,
                           bound=bound, status=status, t0=t0, t_build=t_build)

    if rows.size == 0 or p == 0:
        return finish(fx.copy(), True, float("nan"), "optimal")
    # lower bound: every row needs some site
    _, cheapest = nearest(prob.csr, np.ones(n_all, dtype=bool))
    lb = float(cheapest.max())
    report(progress, 0.05, "heuristic")
    mask_h = _farthest_first(prob, fx, p)
    ub = prob.value(mask_h)
    if not np.isfinite(ub):  # try the largest threshold with the covering heuristic
        top = float(prob.csr.data.max())
        sub = prob.cover_at(top)
        sites = None if sub is None else cover_heuristic(sub[0], sub[1], None, limit=p,
                                                         deadline=deadline)[0]
        if sites is None or sites.size > p or sub is None:
            return finish(mask_h, False, float("nan"), "infeasible")
        mask_h = fx.copy()
        mask_h[prob.cand[sub[2][sites]]] = True
        ub = prob.value(mask_h)
    vals = _values(prob, lb, ub)
    best_mask, best_val = mask_h, ub

    def accept(sites: NDArray[np.int64]) -> float:
        nonlocal best_mask, best_val
        mask = fx.copy()
        mask[prob.cand[sites]] = True
        v = prob.value(mask)
        if v < best_val:
            best_mask, best_val = mask, v
        return v

    hi = int(np.searchsorted(vals, best_val))  # vals[hi] == best_val is feasible
    if best_val <= lb:
        return finish(best_mask, True, lb, "optimal")
    # 1) LP bound: binary search for the smallest value whose LP needs <= p sites; every
    #    value below it is proven infeasible
    lo, hi_lp = 0, hi
    while lo < hi_lp and not expired(deadline):
        mid = (lo + hi_lp) // 2
        sub = prob.cover_at(float(vals[mid]))
        z = float("inf") if sub is None else cover_lp(sub[0], deadline)
        if math.isnan(z):
            break
        if z > p + 1e-7:
            lo = mid + 1
        else:
            hi_lp = mid
    report(progress, 0.15, "heuristic")
    # 2) heuristic: binary search between the LP bound and the incumbent, the covering
    #    heuristic as the test
    lo_h, top = lo, hi
    while lo_h < top and not expired(deadline):
        mid = (lo_h + top) // 2
        sub = prob.cover_at(float(vals[mid]))
        sites = None if sub is None else cover_heuristic(
            sub[0], sub[1], None, limit=p, iters=40, rf_seconds=3.0, deadline=deadline)[0]
        if sub is not None and sites is not None and sites.size <= p:
            top = int(np.searchsorted(vals, accept(sub[2][sites])))
        else:
            lo_h = mid + 1
        report(progress, 0.15 + 0.2 * (1 - (top - lo_h) / max(vals.size, 1)), "heuristic")
    hi = int(np.searchsorted(vals, best_val))
    lp_bound = float(vals[min(lo, vals.size - 1)])
    if lo >= hi:
        return finish(best_mask, True, best_val, "optimal")
    if method == "heuristic":
        return finish(best_mask, False, lp_bound, "feasible")
    report(progress, 0.4, "solve")
    # 3) exact: a covering MIP just below the incumbent; infeasible proves the incumbent
    #    optimal, feasible gives a better incumbent (its true value, often several steps
    #    lower) and the next MIP goes just below that
    while lo < hi and not expired(deadline):
        mid = hi - 1
        sub = prob.cover_at(float(vals[mid]))
        if sub is None:
            lo = mid + 1
            continue
        sites, _, st = cover_mip(sub[0], sub[1], None, max_sites=p, deadline=deadline)
        sites = None if sites is None else sub[2][sites]
        if st == 1 and (sites is None or sites.size > p):
            break  # time limit: mid unknown
        if sites is not None and sites.size <= p:
            hi = int(np.searchsorted(vals, accept(sites)))
        else:
            lo = mid + 1
        report(progress, 0.4 + 0.6 * (1 - (hi - lo) / max(vals.size, 1)), "solve")
    optimal = lo >= hi
    bound = float(vals[min(lo, vals.size - 1)]) if not optimal else best_val
    return finish(best_mask, optimal, bound, "optimal" if optimal else "time_limit")
