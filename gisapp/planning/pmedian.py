"""p-median: the p new sites that make the total (mean) weighted trip shortest.

:func:`p_median` works on the demand x site cost matrix of :mod:`.location` (dense, ``inf``
out of reach, or sparse: a stored entry is a reachable pair).  Existing facilities (the
``fixed`` columns) are always open and are **not** counted in ``p``.

Uncapacitated model (every demand row goes to its nearest open site)::

    min  sum_ij w_i c_ij y_ij
    s.t. sum_j y_ij = 1  (each row),  y_ij <= x_j,  sum_{j new} x_j = p,  x_j = 1 (fixed j),
         x_j in {0, 1},  y_ij >= 0

Capacitated model (``capacity`` given; model name ``"p_median_capacitated"``), the same plus
``sum_i w_i y_ij <= cap_j x_j`` for every site.  As in PySAL spopt's ``PMedian`` (its
``add_client_assign_variable`` makes the assignment variables binary), a demand row goes
whole to one site (``y_ij`` binary); ``split=True`` lets a row's weight be split between
sites (``y_ij`` continuous), a relaxation that is easier to solve and never worse.

Comparing with spopt: spopt's ``p_facilities`` counts the predefined (fixed) facilities,
ours does not: spopt ``p_facilities = p + number of fixed columns``.  spopt's
``fulfill_predefined_fac=True`` (fixed sites filled exactly to capacity) has no counterpart.

Demand out of reach
    A row with no reachable site at all (no stored pair) cannot be served by any choice of
    sites: it is **left out** of the model and of the objective, and its ``assignment`` is
    -1 (count them with ``(res.assignment < 0) & (weights > 0)``).  Every other row with a
    weight must be served by an open site in its reach; when no choice of ``p`` sites does
    that (or, capacitated, the capacities cannot hold the demand) the result has status
    ``"infeasible"``.  Rows of weight 0 do not enter the model; they are assigned to their
    nearest open site afterwards.  On a dense matrix without ``inf`` (spopt's input) nothing
    is left out and the model is spopt's.

Solvers (``method``)
    ``"exact"`` builds the MIP in one step from sparse arrays and solves it with HiGHS
    (scipy).  Uncapacitated, three exact reductions keep it small: a pair no closer than the
    row's nearest fixed site is dropped (that site serves the row at no cost in ``p``); a row
    whose only useful site is fixed becomes a constant; and the pairs of a row are cut to
    those no farther than its site in the heuristic answer (and at least its 3 n / p
    nearest), the rest replaced by one
    "farther" variable costed at the nearest pair left out -- a relaxation whose optimum is a
    lower bound; when the relaxed answer's true cost equals it, it is optimal, otherwise the
    rows that went farther get all their pairs and it is solved again.  The LP relaxation
    is solved first (it is often integral for p-median: then no branching is needed), then
    branch-and-bound with an objective cut-off just below the heuristic answer.  p-median
    LPs are degenerate: HiGHS needs about a minute for 50,000 pairs, so the exact solver is
    for small and medium problems (a time limit returns the heuristic answer with its gap).
    ``"heuristic"`` is a lazy greedy add followed by the fast vertex-substitution
    interchange (Teitz-Bart with Whitaker's / Resende-Werneck's gain, loss and extra
    arrays, every (site in, site out) pair scored at once with numpy over only the pairs
    closer than each row's second-nearest open site), then an iterated local search
    (a few sites swapped at random, seeded, and the interchange again; at most half the
    time of the first descent, or half a second), typically within 0.1-1 % of the optimum.  Capacitated, the
    heuristic opens the p largest sites of the LP relaxation and solves the assignment
    exactly for them.  ``"auto"``: exact up to
    :data:`AUTO_EXACT_MAX_PAIRS` useful pairs, else heuristic.
"""

from __future__ import annotations

import heapq
import time
from typing import Literal

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import Bounds, LinearConstraint, linprog, milp

from gisapp._errors import GisAppError
from gisapp.planning.location import (
    CostInput,
    LocationResult,
    Progress,
    as_csr,
    check_weights,
    fixed_mask,
)

__all__ = ["AUTO_EXACT_MAX_PAIRS", "Method", "p_median"]

Method = Literal["auto", "exact", "heuristic"]
#: ``method="auto"`` solves exactly up to this many useful (row, new site) pairs
AUTO_EXACT_MAX_PAIRS = 100_000
_FN = "p_median"
_INT_TOL = 1e-6  # an LP value this close to 0 or 1 is integral
_REL_TOL = 1e-9  # relative objective tolerance (optimality, improvement)
_RESTARTS = 12  # heuristic: perturbation restarts after the first local optimum
_MAX_ROUNDS = 6  # relaxation rounds (pairs added back) before solving with all pairs
_DISP = False  # HiGHS log to the console (debugging)
_SPAN = 3.0  # exact: keep each row's _SPAN * n / p nearest new sites in the first round
_LP_METHOD = "highs"  # HiGHS chooses (simplex); p-median LPs are degenerate and slow either way


# --------------------------------------------------------------------------- public


def p_median(
    cost: CostInput,
    weights: ArrayLike,
    p: int,
    *,
    fixed: ArrayLike | None = None,
    capacity: ArrayLike | None = None,
    method: Method = "auto",
    time_limit_s: float | None = None,
    progress: Progress | None = None,
    split: bool = False,
) -> LocationResult:
    """Open ``p`` new sites minimising the total weighted cost of serving every demand row.

    Parameters
    ----------
    cost
        Demand x site cost matrix (see :mod:`.location`): dense with ``inf`` out of reach,
        or sparse (stored entries reachable).
    weights
        Demand per row (people), finite and non-negative.
    p
        Number of NEW sites to open, 0 <= p <= number of non-fixed columns.  Fixed
        (existing) sites are open in addition.
    fixed
        Existing facilities: a boolean mask or column indices; always open.
    capacity
        Weight each site can serve (scalar or one per column; ``inf`` for no limit).  Gives
        the capacitated model (``"p_median_capacitated"``).
    method
        ``"exact"``, ``"heuristic"`` or ``"auto"`` (see the module docstring).
    time_limit_s
        Stop after about this many seconds with the best answer found: status
        ``"time_limit"``, ``optimal=False`` and the gap to the best proven lower bound.
    progress
        Called as ``progress(fraction_done, stage)`` with stages ``"build"``,
        ``"heuristic"``, ``"solve"``, ``"done"``.
    split
        Capacitated model only: allow a row's weight to be split between sites (spopt's
        model assigns each row whole, the default).

    Returns
    -------
    LocationResult
        ``objective`` is the total weighted cost (divide by the weight of served rows for
        the mean trip); ``assignment`` the serving column per row (-1: out of every open
        site's reach, or no answer); ``flows`` (capacitated) the weight per (row, column).

    Raises
    ------
    GisAppError
        On invalid inputs, or if HiGHS fails.

    Examples
    --------
    >>> cost = np.array([[0.0, 4.0, 9.0], [3.0, 0.0, 5.0], [8.0, 4.0, 0.0]])
    >>> res = p_median(cost, [1.0, 1.0, 2.0], 2)
    >>> res.opened.tolist(), res.objective, res.assignment.tolist(), res.optimal
    ([0, 2], 3.0, [0, 0, 2], True)
    """
    t0 = time.perf_counter()
    if method not in ("auto", "exact", "heuristic"):
        raise GisAppError(code="pmedian_bad_method", params={"method": method})
    if time_limit_s is not None and not (np.isfinite(time_limit_s) and time_limit_s > 0):
        raise GisAppError(code="bad_time_limit", params={"fn": _FN, "seconds": time_limit_s})
    c = as_csr(cost)
    m, n = (int(s) for s in c.shape)
    w = check_weights(weights, m)
    fx = fixed_mask(fixed, n)
    n_new = int((~fx).sum())
    if isinstance(p, bool) or not isinstance(p, (int, np.integer)) or not 0 <= p <= n_new:
        raise GisAppError(code="pmedian_bad_p", params={"p": p, "n": n_new})
    cap = _check_capacity(capacity, n)
    deadline = None if time_limit_s is None else t0 + float(time_limit_s)
    report = progress if progress is not None else _no_progress
    report(0.0, "build")
    if cap is None:
        res = _uncapacitated(c, w, fx, int(p), method, deadline, report, t0)
    else:
        res = _capacitated(c, w, fx, int(p), cap, method, split, deadline, report, t0)
    report(1.0, "done")
    return res


# --------------------------------------------------------------------------- inputs


def _no_progress(_fraction: float, _stage: str) -> None:
    return None


def _check_capacity(capacity: ArrayLike | None, n: int) -> NDArray[np.float64] | None:
    if capacity is None:
        return None
    cap = np.asarray(capacity, dtype=np.float64).ravel()
    if cap.size == 1:
        cap = np.full(n, float(cap[0]))
    if cap.size != n:
        raise GisAppError(code="pmedian_bad_capacity_length", params={"n": cap.size, "cols": n})
    if np.isnan(cap).any() or (cap < 0).any():
        raise GisAppError(code="pmedian_bad_capacity_values")
    return cap


def _left(deadline: float | None) -> float | None:
    return None if deadline is None else deadline - time.perf_counter()


def _entry_rows(a: sp.csr_array) -> NDArray[np.int64]:
    """Row index of every stored entry of a CSR array."""
    return np.repeat(np.arange(a.shape[0], dtype=np.int64), np.diff(a.indptr))


def _row_min(a: sp.csr_array) -> NDArray[np.float64]:
    """Smallest stored value per row (``inf`` for rows with no entry; implicit zeros ignored)."""
    out = np.full(a.shape[0], np.inf)
    nonempty = np.flatnonzero(np.diff(a.indptr) > 0)
    if nonempty.size:
        out[nonempty] = np.minimum.reduceat(a.data, a.indptr[nonempty])
    return out


# --------------------------------------------------------------------------- uncapacitated


class _Reduced:
    """The uncapacitated problem after the exact reductions.

    ``pairs`` (model rows x all columns, CSR) holds the useful (row, new site) pairs: closer
    than the row's nearest fixed site ``fallback`` (``inf`` when no fixed site reaches it).
    """

    def __init__(self, c: sp.csr_array, w: NDArray[np.float64], fx: NDArray[np.bool_]):
        m, n = (int(s) for s in c.shape)
        self.n = n
        self.fx = fx
        rows_e = _entry_rows(c)
        is_fx = fx[c.indices]
        fix = sp.csr_array((c.data[is_fx], (rows_e[is_fx], c.indices[is_fx])), shape=(m, n))
        fall_all = _row_min(fix)
        keep_e = ~is_fx & (c.data < fall_all[rows_e]) & (w[rows_e] > 0)
        n_useful = np.bincount(rows_e[keep_e], minlength=m)
        self.model_rows = np.flatnonzero(n_useful > 0)
        const_rows = (n_useful == 0) & (w > 0) & np.isfinite(fall_all)
        self.const = float(np.dot(w[const_rows], fall_all[const_rows]))
        new_row = np.full(m, -1, dtype=np.int64)
        new_row[self.model_rows] = np.arange(self.model_rows.size)
        self.pairs = sp.csr_array(
            (c.data[keep_e], (new_row[rows_e[keep_e]], c.indices[keep_e])),
            shape=(self.model_rows.size, n))
        self.pairs.sort_indices()
        self.pairs_csc = sp.csc_array(self.pairs)
        self.w = w[self.model_rows]
        self.fallback = fall_all[self.model_rows]
        self.rows_e = _entry_rows(self.pairs)
        big = float(self.pairs.data.max()) if self.pairs.nnz else 1.0
        # a row nobody open serves costs this much per weight unit in the heuristic
        self.penalty = 2.0 * big + 1.0
        self._sorted: tuple[NDArray[np.int64], NDArray[np.float64],
                            NDArray[np.float64], float] | None = None

    def sorted_pairs(self) -> tuple[NDArray[np.int64], NDArray[np.float64],
                                    NDArray[np.float64], float]:
        """Pairs sorted by (row, cost): columns, costs, a sort key ``row * scale + cost``, scale."""
        if self._sorted is None:
            pr = self.pairs
            scale = self.penalty + 1.0
            key = self.rows_e * scale + pr.data  # rows already contiguous: one float sort
            order = np.argsort(key)
            key = key[order]
            data = pr.data[order]
            self._sorted = (pr.indices[order].astype(np.int64), data, key, scale)
        return self._sorted

    def nearest(self, cols: NDArray[np.int64], fallback: NDArray[np.float64]
                ) -> tuple[NDArray[np.float64], NDArray[np.int64], NDArray[np.float64]]:
        """(nearest cost, its position in ``cols`` or -1 for the fallback, second nearest)."""
        r, k = self.model_rows.size, int(cols.size)
        d = np.full((r, k + 1), np.inf)
        d[:, k] = fallback
        pc = self.pairs_csc
        for pos, j in enumerate(cols.tolist()):
            s, e = pc.indptr[j], pc.indptr[j + 1]
            d[pc.indices[s:e], pos] = pc.data[s:e]
        idx = np.argmin(d, axis=1)
        ar = np.arange(r)
        d1 = d[ar, idx].copy()
        d[ar, idx] = np.inf
        d2 = d.min(axis=1)
        pos1 = np.where(idx == k, -1, idx).astype(np.int64)
        pos1[~np.isfinite(d1)] = -1
        return d1, pos1, d2

    def true_cost(self, cols: NDArray[np.int64]) -> float:
        """Total weighted cost of the model rows when ``cols`` are open (``inf``: some unserved)."""
        d1, _, _ = self.nearest(cols, self.fallback)
        if not np.isfinite(d1).all():
            return float("inf")
        return float(np.dot(self.w, d1))


def _uncapacitated(c: sp.csr_array, w: NDArray[np.float64], fx: NDArray[np.bool_], p: int,
                   method: str, deadline: float | None, report: Progress, t0: float
                   ) -> LocationResult:
    red = _Reduced(c, w, fx)
    build_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    if method == "auto":
        method = "exact" if red.pairs.nnz <= AUTO_EXACT_MAX_PAIRS else "heuristic"
    report(0.05, "heuristic")
    sites = _heuristic(red, p, deadline)
    value = red.true_cost(sites)
    bound, optimal, status = float("nan"), False, "feasible"
    if method == "exact" and red.model_rows.size:
        report(0.3, "solve")
        sites, value, bound, optimal = _exact(red, p, sites, value, deadline)
        status = "optimal" if optimal else "time_limit"
    elif red.model_rows.size == 0:
        bound, optimal, status = value, True, "optimal"
    if method == "heuristic" and _left(deadline) is not None and (_left(deadline) or 0) <= 0:
        status = "time_limit"
    if not np.isfinite(value):
        if optimal or status == "optimal":  # proven: no p sites reach every row
            status = "infeasible"
        return _result("p_median", c, w, fx, np.zeros(0, np.int64), float("nan"),
                       "exact" if method == "exact" else "heuristic", False, float("nan"),
                       "infeasible" if status != "time_limit" else "time_limit",
                       build_s, time.perf_counter() - t1)
    objective = red.const + value
    lower = red.const + bound if np.isfinite(bound) else float("nan")
    return _result("p_median", c, w, fx, sites, objective, method, optimal, lower, status,
                   build_s, time.perf_counter() - t1)


def _result(model: str, c: sp.csr_array, w: NDArray[np.float64], fx: NDArray[np.bool_],
            sites: NDArray[np.int64], objective: float, method: str, optimal: bool,
            bound: float, status: str, build_s: float, solve_s: float,
            flows: sp.csr_array | None = None
            ) -> LocationResult:
    """Assemble the result: assignment to the nearest open site (largest flow if capacitated)."""
    m = int(c.shape[0])
    is_open = fx.copy()
    is_open[sites] = True
    assignment = np.full(m, -1, dtype=np.int64)
    if status != "infeasible":
        open_cols = np.flatnonzero(is_open)
        if open_cols.size:
            sub = sp.csr_array(sp.csc_array(c)[:, open_cols])
            sub.sort_indices()
            has = np.flatnonzero(np.diff(sub.indptr) > 0)
            order = np.lexsort((sub.data, _entry_rows(sub)))  # by row, then by cost
            assignment[has] = open_cols[sub.indices[order[sub.indptr[has]]]]
        if flows is not None:
            served = np.diff(flows.indptr) > 0
            assignment[served] = np.asarray(flows.argmax(axis=1)).ravel()[served]
    # order: weight served, largest first
    load = np.bincount(assignment[assignment >= 0], weights=w[assignment >= 0], minlength=len(fx))
    order = np.asarray(sites, dtype=np.int64)
    order = order[np.lexsort((order, -load[order]))] if order.size else order
    if optimal and np.isfinite(objective):
        bound = objective
    gap = float("nan") if not (np.isfinite(bound) and np.isfinite(objective)) else \
        abs(objective - bound) / max(abs(objective), 1e-12)
    if optimal:
        gap = 0.0
    return LocationResult(model=model, opened=order, closed=np.zeros(0, np.int64),
                          assignment=assignment, objective=float(objective), method=method,
                          optimal=bool(optimal), bound=float(bound), gap=float(gap),
                          status=status, build_time_s=build_s, solve_time_s=solve_s,
                          flows=flows)


# --------------------------------------------------------------------------- heuristic


def _heuristic(red: _Reduced, p: int, deadline: float | None) -> NDArray[np.int64]:
    """Lazy greedy add, then best-improvement fast interchange; returns ``p`` new columns."""
    t0 = time.perf_counter()
    if p == 0:
        return np.zeros(0, np.int64)
    fall = np.where(np.isfinite(red.fallback), red.fallback, red.penalty)
    sites = _greedy(red, p, fall)
    if sites.size < p:  # the rest add nothing: open the first free new columns
        free = np.flatnonzero(~red.fx)
        free = free[~np.isin(free, sites)]
        sites = np.concatenate([sites, free[:p - sites.size]]).astype(np.int64)
    sites = _interchange(red, sites, fall, deadline)
    # restarts may take half as long again as the first descent (at least half a second)
    budget = max(0.5 * (time.perf_counter() - t0), 0.5)
    return _perturb_and_descend(red, sites, fall, deadline, budget)


def _cost(red: _Reduced, sites: NDArray[np.int64], fall: NDArray[np.float64]) -> float:
    d1, _, _ = red.nearest(sites, fall)
    return float(np.dot(red.w, d1))


def _perturb_and_descend(red: _Reduced, sites: NDArray[np.int64], fall: NDArray[np.float64],
                         deadline: float | None, budget_s: float) -> NDArray[np.int64]:
    """Iterated local search: swap a few random sites, descend again, keep the best.

    Leaves the 1-swap local optimum (which can be a few per cent off on small, clustered
    problems); seeded, so the answer is reproducible.
    """
    free = np.flatnonzero(~red.fx)
    k = int(sites.size)
    if k == 0 or k >= free.size:
        return sites
    rng = np.random.default_rng(0)
    best, best_val = sites, _cost(red, sites, fall)
    t0 = time.perf_counter()
    for r in range(_RESTARTS):
        left = _left(deadline)
        if (left is not None and left <= 0) or time.perf_counter() - t0 > budget_s:
            break
        q = min(1 + r % 3, k, free.size - k)
        trial = best.copy()
        out = rng.choice(k, q, replace=False)
        closed = free[~np.isin(free, best)]
        trial[out] = rng.choice(closed, q, replace=False)
        trial = _interchange(red, trial, fall, deadline)
        val = _cost(red, trial, fall)
        if val < best_val - _REL_TOL * max(best_val, 1.0):
            best, best_val = trial, val
    return best


def _greedy(red: _Reduced, p: int, fall: NDArray[np.float64]) -> NDArray[np.int64]:
    pc, w = red.pairs_csc, red.w
    d1 = fall.copy()
    pr = red.pairs
    gain0 = np.bincount(pr.indices, weights=w[red.rows_e] * np.maximum(
        d1[red.rows_e] - pr.data, 0.0), minlength=red.n)
    cand = np.flatnonzero(gain0 > 0)
    heap = list(zip((-gain0[cand]).tolist(), cand.tolist(), strict=True))
    heapq.heapify(heap)
    sel: list[int] = []
    tol = _REL_TOL * max(float(np.dot(w, fall)), 1.0)
    while len(sel) < p and heap:
        _, j = heapq.heappop(heap)
        s, e = pc.indptr[j], pc.indptr[j + 1]
        rows, vals = pc.indices[s:e], pc.data[s:e]
        gain = float(np.dot(w[rows], np.maximum(d1[rows] - vals, 0.0)))
        if gain <= tol:
            continue
        if heap and gain < -heap[0][0] - tol:
            heapq.heappush(heap, (-gain, j))
            continue
        sel.append(j)
        d1[rows] = np.minimum(d1[rows], vals)
    return np.asarray(sel, dtype=np.int64)


def _interchange(red: _Reduced, sites: NDArray[np.int64], fall: NDArray[np.float64],
                 deadline: float | None, max_iter: int | None = None) -> NDArray[np.int64]:
    """Fast vertex substitution: apply the best (in, out) swap while it lowers the cost.

    For the current open set, with ``d1``/``d2`` the nearest/second-nearest cost of each row
    (the fallback counting as a site that never closes) and ``s1`` its nearest site::

        gain[c]     = sum_i w_i max(0, d1_i - c_ic)                      (c closed)
        loss[s]     = sum_{i: s1_i = s} w_i (d2_i - d1_i)
        extra[c, s] = sum_{i: s1_i = s, c_ic < d2_i} w_i (d2_i - max(c_ic, d1_i))

    and swapping s out for c in lowers the cost by ``gain[c] - loss[s] + extra[c, s]``.
    """
    k = int(sites.size)
    if k == 0 or red.pairs.nnz == 0:
        return sites
    w, n = red.w, red.n
    s_ind, s_data, s_key, scale = red.sorted_pairs()
    starts = red.pairs.indptr[:-1].astype(np.int64)
    row_base = np.arange(red.model_rows.size, dtype=np.float64) * scale
    sites = sites.copy()
    blocked = red.fx.copy()
    max_iter = 50 * k + 100 if max_iter is None else max_iter
    for _ in range(max_iter):
        left = _left(deadline)
        if left is not None and left <= 0:
            break
        d1, pos1, d2 = red.nearest(sites, fall)
        # only pairs closer than a row's second-nearest open site can change anything:
        # with each row's pairs sorted by cost, those are a prefix of the row
        ends = np.searchsorted(s_key, row_base + np.minimum(d2, scale - 1.0), side="left")
        lengths = np.maximum(ends - starts, 0)
        take = np.repeat(starts - np.cumsum(lengths) + lengths, lengths) + np.arange(
            int(lengths.sum()))
        ind, data = s_ind[take], s_data[take]
        rows_e = np.repeat(np.arange(lengths.size), lengths)
        w_e = w[rows_e]
        d1, pos1, d2 = red.nearest(sites, fall)
        current = float(np.dot(w, d1))
        d1_e = d1[rows_e]
        gain = np.bincount(ind, weights=w_e * np.maximum(d1_e - data, 0.0), minlength=n)
        own = pos1 >= 0
        loss = np.bincount(pos1[own], weights=w[own] * (d2[own] - d1[own]), minlength=k)
        pos_e = pos1[rows_e]
        d2_e = d2[rows_e]
        hit = (pos_e >= 0) & (data < d2_e)
        extra = np.bincount(ind[hit] * k + pos_e[hit],
                            weights=w_e[hit] * (d2_e[hit] - np.maximum(data[hit], d1_e[hit])),
                            minlength=n * k).reshape(n, k)
        profit = (gain[:, None] - loss[None, :] + extra).astype(np.float64)
        closed = blocked.copy()
        closed[sites] = True
        profit[closed, :] = -np.inf
        best = int(np.argmax(profit))
        c_in, s_pos = divmod(best, k)
        if not profit[c_in, s_pos] > _REL_TOL * max(current, 1.0):
            break
        sites[s_pos] = c_in
    return sites


# --------------------------------------------------------------------------- exact


def _exact(red: _Reduced, p: int, inc: NDArray[np.int64], inc_val: float,
           deadline: float | None) -> tuple[NDArray[np.int64], float, float, bool]:
    """Exact solve by relaxation rounds: (sites, value, lower bound, proven optimal)."""
    r = red.model_rows.size
    pr = red.pairs
    # pairs kept per row: those no farther than the incumbent's serving cost, and at least
    # the row's _SPAN * (new columns) / p nearest, so that going farther is dear
    if np.isfinite(inc_val):
        limit, _, _ = red.nearest(inc, red.fallback)
        span = int(np.ceil(_SPAN * max(int((~red.fx).sum()), 1) / max(p, 1)))
        limit = np.maximum(limit, _kth_smallest(pr, span))
    else:
        limit = np.full(r, np.inf)
    best, best_val = inc, inc_val
    lower = -np.inf
    for rnd in range(_MAX_ROUNDS + 1):
        if rnd == _MAX_ROUNDS:
            limit = np.full(r, np.inf)
        keep = pr.data <= limit[red.rows_e]
        out_cost = np.full(r, np.inf)
        if (~keep).any():
            dropped = sp.csr_array((pr.data[~keep], (red.rows_e[~keep], pr.indices[~keep])),
                                   shape=pr.shape)
            out_cost = _row_min(dropped)
        rest = np.minimum(out_cost, red.fallback)  # cost of the "farther" variable
        rest_exact = ~np.isfinite(out_cost)  # "farther" is the fixed site itself
        sol = _solve_relaxation(red, p, keep, rest, best_val, deadline)
        if sol is None:  # nothing beats the incumbent: it is optimal
            return best, best_val, best_val, True
        sites, relaxed, rel_bound, proven, x_rest = sol
        lower = max(lower, rel_bound)
        val = red.true_cost(sites)
        if val < best_val:
            best, best_val = sites, val
        tol = _REL_TOL * max(abs(best_val), 1.0)
        if best_val <= lower + tol:
            return best, best_val, lower, True
        if not proven:  # time limit
            return best, best_val, lower, False
        # the relaxed answer sent some rows "farther" than their true serving site
        d1, _, _ = red.nearest(sites, red.fallback)
        bad = (x_rest > _INT_TOL) & ~rest_exact & (d1 > rest + tol)
        if not bad.any():  # relaxed == true for this answer: optimal
            return best, best_val, max(lower, relaxed), True
        limit = limit.copy()
        limit[bad] = np.where(np.isfinite(d1[bad]), d1[bad], np.inf)
        left = _left(deadline)
        if left is not None and left <= 0:
            return best, best_val, lower, False
    return best, best_val, lower, False  # pragma: no cover - the last round uses every pair


def _kth_smallest(a: sp.csr_array, k: int) -> NDArray[np.float64]:
    """The k-th smallest stored value per row (the largest one when a row has fewer)."""
    counts = np.diff(a.indptr)
    out = np.full(a.shape[0], np.inf)
    has = counts > 0
    order = np.lexsort((a.data, _entry_rows(a)))
    at = a.indptr[:-1] + np.minimum(counts, k) - 1
    out[has] = a.data[order[at[has]]]
    return out


def _solve_relaxation(red: _Reduced, p: int, keep: NDArray[np.bool_], rest: NDArray[np.float64],
                      cutoff: float, deadline: float | None
                      ) -> tuple[NDArray[np.int64], float, float, bool, NDArray[np.float64]] | None:
    """Solve the restricted model (LP first, then MIP with a cut-off below ``cutoff``).

    Returns (sites, relaxed objective, lower bound, proven, value of each "farther"
    variable), or None when no answer is below the cut-off (the incumbent is optimal).
    """
    pr = red.pairs
    r, n = red.model_rows.size, red.n
    rows = red.rows_e[keep]
    cols = pr.indices[keep].astype(np.int64)
    vals = pr.data[keep]
    has_rest = np.isfinite(rest)
    rest_rows = np.flatnonzero(has_rest)
    ny, nu = rows.size, rest_rows.size
    # variables: x (n columns), y (ny pairs), u (nu "farther" variables)
    nv = n + ny + nu
    obj = np.concatenate([np.zeros(n), red.w[rows] * vals, red.w[rest_rows] * rest[rest_rows]])
    # assignment rows: sum_j y_ij + u_i = 1
    a_rows = np.concatenate([rows, rest_rows])
    a_cols = np.concatenate([n + np.arange(ny), n + ny + np.arange(nu)])
    assign = sp.csr_array((np.ones(a_rows.size), (a_rows, a_cols)), shape=(r, nv))
    # coupling: y_ij - x_j <= 0
    k_rows = np.concatenate([np.arange(ny), np.arange(ny)])
    k_cols = np.concatenate([n + np.arange(ny), cols])
    k_vals = np.concatenate([np.ones(ny), -np.ones(ny)])
    couple = sp.csr_array((k_vals, (k_rows, k_cols)), shape=(ny, nv))
    new_cols = np.flatnonzero(~red.fx)
    count = sp.csr_array((np.ones(new_cols.size), (np.zeros(new_cols.size, np.int64), new_cols)),
                         shape=(1, nv))
    a = sp.csr_array(sp.vstack([assign, couple, count], format="csr"))
    lo = np.concatenate([np.ones(r), np.full(ny, -np.inf), [float(p)]])
    hi = np.concatenate([np.ones(r), np.zeros(ny), [float(p)]])
    ub = np.ones(nv)
    ub[:n][red.fx] = 0.0  # fixed columns carry no new pair (their service is the fallback)
    lb = np.zeros(nv)
    # LP relaxation
    opts: dict[str, float | bool] = {"disp": _DISP}
    left = _left(deadline)
    if left is not None:
        if left <= 0:
            return _timeout_answer(red)
        opts["time_limit"] = left
    a_ub = sp.csr_array(sp.vstack([couple], format="csr"))
    a_eq = sp.csr_array(sp.vstack([assign, count], format="csr"))
    b_eq = np.concatenate([np.ones(r), [float(p)]])
    lp = linprog(obj, A_ub=a_ub, b_ub=np.zeros(ny), A_eq=a_eq, b_eq=b_eq,
                 bounds=np.column_stack([lb, ub]), method=_LP_METHOD, options=opts)
    if lp.status == 2:  # infeasible: no p sites serve every row
        return np.zeros(0, np.int64), float("inf"), float("inf"), True, np.zeros(r)
    if lp.status == 0:
        x = np.asarray(lp.x)
        xs = x[:n]
        if np.all(np.minimum(np.abs(xs), np.abs(1 - xs)) <= _INT_TOL):
            sites = np.flatnonzero(xs > 0.5).astype(np.int64)
            x_rest = np.zeros(r)
            x_rest[rest_rows] = x[n + ny:]
            return sites, float(lp.fun), float(lp.fun), True, x_rest
        lp_bound = float(lp.fun)
    elif lp.status == 1:  # time limit in the LP
        return _timeout_answer(red)
    else:
        raise GisAppError(code="pmedian_solver_failed",
                          params={"status": lp.status, "message": lp.message})
    # branch-and-bound, only answers better than the incumbent
    cons = [LinearConstraint(a, lo, hi)]
    if np.isfinite(cutoff):
        cons.append(LinearConstraint(sp.csr_array(obj[None, :]), -np.inf,
                                     cutoff - max(_REL_TOL * abs(cutoff), 1e-9)))
    mopts: dict[str, float | bool] = {"disp": _DISP, "mip_rel_gap": _REL_TOL}
    left = _left(deadline)
    if left is not None:
        mopts["time_limit"] = max(left, 0.01)
    integrality = np.zeros(nv)
    integrality[:n] = 1
    res = milp(obj, integrality=integrality, bounds=Bounds(lb, ub), constraints=cons,
               options=mopts)
    if res.status == 2:
        if np.isfinite(cutoff):
            return None
        return np.zeros(0, np.int64), float("inf"), float("inf"), True, np.zeros(r)
    if res.status not in (0, 1):
        raise GisAppError(code="pmedian_solver_failed",
                          params={"status": res.status, "message": res.message})
    dual = getattr(res, "mip_dual_bound", None)
    bound = float(dual) if dual is not None and np.isfinite(dual) else lp_bound
    bound = max(bound, lp_bound)
    if res.x is None:  # time limit without a better answer
        return np.zeros(0, np.int64), float("inf"), bound, False, np.zeros(r)
    x = np.asarray(res.x)
    sites = np.flatnonzero(x[:n] > 0.5).astype(np.int64)
    x_rest = np.zeros(r)
    x_rest[rest_rows] = x[n + ny:]
    return sites, float(res.fun), bound, res.status == 0, x_rest


def _timeout_answer(red: _Reduced
                    ) -> tuple[NDArray[np.int64], float, float, bool, NDArray[np.float64]]:
    """No time left for the solver: no new answer, no new bound."""
    return np.zeros(0, np.int64), float("inf"), -np.inf, False, np.zeros(red.model_rows.size)


# --------------------------------------------------------------------------- capacitated


def _capacitated(c: sp.csr_array, w: NDArray[np.float64], fx: NDArray[np.bool_], p: int,
                 cap: NDArray[np.float64], method: str, split: bool, deadline: float | None,
                 report: Progress, t0: float) -> LocationResult:
    """The capacitated p-median by one MIP over every reachable pair of rows with weight."""
    m, n = (int(s) for s in c.shape)
    rows_all = _entry_rows(c)
    use = w[rows_all] > 0
    reached = np.diff(c.indptr) > 0
    model_rows = np.flatnonzero((w > 0) & reached)
    r = model_rows.size
    new_row = np.full(m, -1, dtype=np.int64)
    new_row[model_rows] = np.arange(r)
    rows = new_row[rows_all[use]]
    cols = c.indices[use].astype(np.int64)
    vals = c.data[use]
    wr = w[model_rows]
    ny = rows.size
    nv = n + ny
    obj = np.concatenate([np.zeros(n), wr[rows] * vals])
    assign = sp.csr_array((np.ones(ny), (rows, n + np.arange(ny))), shape=(r, nv))
    newp = ~fx[cols]
    ip = np.flatnonzero(newp)
    couple = sp.csr_array((np.concatenate([np.ones(ip.size), -np.ones(ip.size)]),
                           (np.concatenate([np.arange(ip.size), np.arange(ip.size)]),
                            np.concatenate([n + ip, cols[ip]]))), shape=(ip.size, nv))
    finite = np.flatnonzero(np.isfinite(cap))
    slot = np.full(n, -1, dtype=np.int64)
    slot[finite] = np.arange(finite.size)
    on = slot[cols] >= 0
    cap_x = finite[~fx[finite]]
    load = sp.csr_array((np.concatenate([wr[rows[on]], -cap[cap_x]]),
                         (np.concatenate([slot[cols[on]], slot[cap_x]]),
                          np.concatenate([n + np.flatnonzero(on), cap_x]))),
                        shape=(finite.size, nv))
    load_hi = np.where(fx[finite], cap[finite], 0.0)
    new_cols = np.flatnonzero(~fx)
    count = sp.csr_array((np.ones(new_cols.size), (np.zeros(new_cols.size, np.int64), new_cols)),
                         shape=(1, nv))
    a = sp.csr_array(sp.vstack([assign, couple, load, count], format="csr"))
    lo = np.concatenate([np.ones(r), np.full(ip.size + finite.size, -np.inf), [float(p)]])
    hi = np.concatenate([np.ones(r), np.zeros(ip.size), load_hi, [float(p)]])
    lb = np.zeros(nv)
    ub = np.ones(nv)
    lb[:n][fx] = 1.0
    build_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    report(0.3, "solve")
    if method == "auto":
        method = "exact" if ny <= AUTO_EXACT_MAX_PAIRS else "heuristic"
    integrality = np.zeros(nv)
    integrality[:n] = 1
    if not split:
        integrality[n:] = 1
    if method == "heuristic":
        # LP relaxation, open its p largest new sites, then the assignment exactly for them
        lp_opts: dict[str, float | bool] = {"disp": _DISP}
        left = _left(deadline)
        if left is not None:
            lp_opts["time_limit"] = max(left, 0.01)
        lp = milp(obj, integrality=np.zeros(nv), bounds=Bounds(lb, ub),
                  constraints=LinearConstraint(a, lo, hi), options=lp_opts)
        if lp.x is None:
            return _result("p_median_capacitated", c, w, fx, np.zeros(0, np.int64),
                           float("nan"), "heuristic", False, float("nan"),
                           "infeasible" if lp.status == 2 else "time_limit",
                           build_s, time.perf_counter() - t1)
        xs = np.asarray(lp.x[:n])
        order = new_cols[np.argsort(-xs[new_cols], kind="stable")][:p]
        lb2, ub2 = lb.copy(), ub.copy()
        ub2[:n] = 0.0
        ub2[:n][fx] = 1.0
        lb2[order] = 1.0
        ub2[order] = 1.0
        bounds = Bounds(lb2, ub2)
        lower = float(lp.fun) if lp.status == 0 else float("nan")
    else:
        bounds = Bounds(lb, ub)
        lower = float("nan")
    mopts: dict[str, float | bool] = {"disp": _DISP, "mip_rel_gap": _REL_TOL}
    left = _left(deadline)
    if left is not None:
        mopts["time_limit"] = max(left, 0.01)
    res = milp(obj, integrality=integrality, bounds=bounds,
               constraints=LinearConstraint(a, lo, hi), options=mopts)
    solve_s = time.perf_counter() - t1
    if res.status not in (0, 1, 2):
        raise GisAppError(code="pmedian_solver_failed",
                          params={"status": res.status, "message": res.message})
    if res.x is None:
        status = "infeasible" if res.status == 2 else "time_limit"
        return _result("p_median_capacitated", c, w, fx, np.zeros(0, np.int64), float("nan"),
                       method, False, float("nan"), status, build_s, solve_s)
    x = np.asarray(res.x)
    sites = np.flatnonzero((x[:n] > 0.5) & ~fx).astype(np.int64)
    amount = np.clip(x[n:], 0.0, None) * wr[rows]
    flows = sp.csr_array((amount, (model_rows[rows], cols)), shape=(m, n))
    flows.eliminate_zeros()
    objective = float(np.dot(obj, x))
    if method == "exact":
        dual = getattr(res, "mip_dual_bound", None)
        bound = float(dual) if dual is not None and np.isfinite(dual) else float("nan")
        optimal = res.status == 0
        status = "optimal" if optimal else "time_limit"
    else:
        bound, optimal = lower, False
        status = "feasible" if res.status == 0 else "time_limit"
    return _result("p_median_capacitated", c, w, fx, sites, objective, method, optimal, bound,
                   status, build_s, solve_s, flows=flows)
