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
    With a time limit and a first MIP over :data:`_SEARCH_FIRST_PAIRS` pairs, the same
    search as below first gets a quarter of the time left (at most three times the time
    spent so far): at 5,000 x 500, p = 20 the MIP
    (about 375,000 pairs) used 600 s without improving the answer, and the exact answer
    was 0.10 % worse than a 2 s heuristic run's; with the search first it is better than the
    best of six heuristic runs, by 0.04 % at 30 s and 0.07 % at 60 s.
    No MIP is built over more than :data:`_EXACT_MAX_PAIRS` pairs (at 20,000 x 1,000 the
    first round alone holds millions, and HiGHS ran out of memory): the exact solver then
    searches (iterated local search over the columns the Lagrangian bound does not prove
    closed) until the time limit (without one, for a few times the time spent so far),
    running the subgradient a second time after 40 % of that time, aimed at the better
    incumbent and with a slower-shrinking step (at 20,000 x 1,000, p = 20 it raised the
    bound from 0.32 % to 0.27 % below the answer), and returns its best answer with the
    proven gap, status ``"time_limit"`` (``"feasible"`` without a time limit), optimal only
    if the bound meets it.
    ``"heuristic"`` is a greedy add followed by the fast vertex-substitution
    interchange (Teitz-Bart with Resende-Werneck's gain, loss and extra arrays, every
    (site in, site out) pair scored in one compiled (numba) scan of only the pairs closer
    than each row's second-nearest open site), then an iterated local search (a few sites
    swapped at random, seeded, and the interchange again).  Then a **Lagrangian
    relaxation** (assignment constraints relaxed, subgradient optimisation, Beasley 1993,
    steps scaled by the row weights) gives a proven lower bound, for as long again as the
    heuristic took (at least a second); its relaxed answers seed more descents.  The
    result's ``bound`` is that lower bound and ``gap = (objective - bound) / objective``
    the proven gap; when the gap closes the answer is reported ``optimal``.  The exact
    solver starts from the same bound: it is optimal at once when the gap is closed, and
    otherwise the bound's reduced costs fix columns (proven closed or open in any better
    answer) before the MIP.
    Capacitated, the heuristic starts from the uncapacitated answer and swaps sites (each
    open site against the 5 closed ones that serve its rows most cheaply), every move
    scored by a transportation LP (HiGHS), first improvement; the split rows of the best
    assignment (at most about one per site) are then made whole by a small MIP.  Its bound
    is the LP relaxation's when that comes within a few seconds, else the uncapacitated
    Lagrangian bound (capacities only raise the cost).  The capacitated exact solver
    starts from that heuristic's answer and the uncapacitated Lagrangian multipliers: every
    column, and every (row, column) pair when rows go whole, whose use alone lifts the
    bound to the answer's cost is left out (a pair's cost above its row's multiplier, plus
    the rise in the p smallest ``rho``), and the MIP over the rest, with an objective
    cut-off just below the answer, finds a better one or proves it optimal (when the
    capacities bind little, most pairs go and the MIP is small; otherwise it is nearly the
    full model).  Above :data:`_CAP_MAX_PAIRS` reachable pairs the capacitated solvers
    build only each row's nearest pairs (plus its pairs to the starting answer's sites and
    the fixed ones), never the full model, and the exact one no MIP over more than
    :data:`_EXACT_MAX_PAIRS` pairs: its answer is proven only when the bound rules out
    every pair left out (and the MIP ends), else it carries the uncapacitated Lagrangian
    bound and its gap.  ``"auto"``: exact up to :data:`AUTO_EXACT_MAX_PAIRS` useful pairs,
    else heuristic.
"""

from __future__ import annotations

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
    jit,
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
_LAG_ITER = 3000  # Lagrangian bound: at most this many subgradient steps
_LAG_MU0 = 2.0  # Lagrangian: the first step factor (1 stalls early on small problems)
_LAG_STALL = 25  # ... halving the step factor after this many steps without a better bound
_LAG_MU_MIN = 1e-4  # ... and stopping when the step factor falls below this
_LAG_POOL = 4  # relaxed answers (last improvements of the bound) scored per descent from them
_EXACT_POLISH = 5  # exact: descents from relaxed answers (the heuristic: _HEUR_POLISH)
_HEUR_POLISH = 2
_LAG_SPAN = 3.0  # Lagrangian multipliers capped at the cost of the _LAG_SPAN * n / p-th pair
_LAG_LONG_STALL = 100  # exact search: the second bound halves its step after this many
_LAG_LONG_AT = 0.4  # ... and starts after this share of the search's time (a better target)
_SEARCH_FIRST_PAIRS = 200_000  # exact with a time limit: above this many model pairs ...
_SEARCH_FIRST = 0.25  # ... the search gets this share of the time left before the MIP (at
# most _EXACT_SEARCH times the time so far)
_EXACT_MAX_PAIRS = 500_000  # exact: no MIP over more pairs (HiGHS' memory and time)
_EXACT_SEARCH = 3.0  # ... above that, without a deadline, search this many times the time so far
_CAP_MAX_PAIRS = 4_000_000  # capacitated: at most this many pairs built (each row's nearest)
_CAP_TRIES = 5  # capacitated search: columns tried in place of each open site
_CAP_SEARCH_MIN_S = 2.0  # ... for at least this long (or twice the start's time)
_CAP_EXACT_LAG_S: float | None = None  # capacitated exact: the Lagrangian's budget (None: converge)
_CAP_EXACT_SEARCH = 0.5  # ... and the swap search's, times the time spent before it
_CAP_EXACT_SEARCH_MIN_S = 0.5  # ... at least
_CAP_LP_MIN_S = 3.0  # capacitated heuristic: the LP bound gets this long (or the search's time)
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
        self.w = w[self.model_rows]
        self.fallback = fall_all[self.model_rows]
        self.rows_e = _entry_rows(self.pairs)
        big = float(self.pairs.data.max()) if self.pairs.nnz else 1.0
        # a row nobody open serves costs this much per weight unit in the heuristic
        self.penalty = 2.0 * big + 1.0
        self._sorted: tuple[NDArray[np.int64], NDArray[np.int64],
                            NDArray[np.float64]] | None = None

    def sorted_pairs(self) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64]]:
        """Pairs sorted by cost within each row: (indptr, columns, costs)."""
        if self._sorted is None:
            pr = self.pairs
            indptr = pr.indptr.astype(np.int64)
            cols, costs = _K_SORT_ROWS(indptr, pr.indices.astype(np.int64),
                                       pr.data.astype(np.float64))
            self._sorted = (indptr, cols, costs)
        return self._sorted

    def heuristic_fallback(self) -> NDArray[np.float64]:
        """Each row's fallback cost, a penalty where no fixed site reaches it."""
        return np.where(np.isfinite(self.fallback), self.fallback, self.penalty)

    def nearest(self, cols: NDArray[np.int64], fallback: NDArray[np.float64]
                ) -> tuple[NDArray[np.float64], NDArray[np.int64], NDArray[np.float64]]:
        """(nearest cost, its position in ``cols`` or -1 for the fallback, second nearest)."""
        indptr, s_cols, s_costs = self.sorted_pairs()
        pos_of = np.full(self.n, -1, dtype=np.int64)
        pos_of[np.asarray(cols, dtype=np.int64)] = np.arange(int(cols.size), dtype=np.int64)
        d1, p1, d2 = _K_NEAREST2(indptr, s_cols, s_costs, pos_of,
                                 np.asarray(fallback, dtype=np.float64))
        return d1, p1, d2

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
    report(0.2, "heuristic")
    # the bound may take as long as the heuristic (at least a second), unlimited when exact
    budget = None if method == "exact" else max(time.perf_counter() - t0, 1.0)
    sites, value, bound, rho, _ = _bound_and_polish(red, p, sites, deadline, budget,
                                                    _EXACT_POLISH if method == "exact"
                                                    else _HEUR_POLISH)
    optimal = bool(np.isfinite(value) and value - bound <= _REL_TOL * max(abs(value), 1.0))
    status = "optimal" if optimal else "feasible"
    if method == "exact" and red.model_rows.size and not optimal:
        report(0.3, "solve")
        lag_bound = bound
        search_s = _EXACT_SEARCH * max(time.perf_counter() - t0, 1.0)
        sites, value, bound, optimal = _exact(red, p, sites, value, deadline, rho, lag_bound,
                                              search_s, build_s)
        if np.isfinite(lag_bound):
            bound = max(bound, lag_bound) if np.isfinite(bound) else lag_bound
        status = "optimal" if optimal else ("time_limit" if deadline is not None
                                            else "feasible")
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
    """Greedy add, then best-improvement fast interchange, then an iterated local search."""
    t0 = time.perf_counter()
    if p == 0:
        return np.zeros(0, np.int64)
    fall = red.heuristic_fallback()
    sites = _greedy(red, p, fall)
    if sites.size < p:  # the rest add nothing: open the first free new columns
        free = np.flatnonzero(~red.fx)
        free = free[~np.isin(free, sites)]
        sites = np.concatenate([sites, free[:p - sites.size]]).astype(np.int64)
    sites = _interchange(red, sites, fall, deadline)
    # restarts may take as long again as the first descent (at least half a second)
    budget = max(time.perf_counter() - t0, 0.5)
    return _perturb_and_descend(red, sites, fall, deadline, budget)


def _bound_and_polish(red: _Reduced, p: int, sites: NDArray[np.int64], deadline: float | None,
                      budget_s: float | None, polish: int = 1
                      ) -> tuple[NDArray[np.int64], float, float, NDArray[np.float64],
                                 NDArray[np.float64] | None]:
    """The Lagrangian bound, and descents from relaxed answers that differ from ``sites``.

    Descents (:func:`_interchange`) start from the best relaxed answer, then from the
    cheapest (true cost) of those met at the last ``_LAG_POOL * polish`` improvements of
    the bound, ``polish`` descents in all.
    Returns (sites, their true cost, lower bound, ``rho``, ``lam``: the multipliers of
    ``rho``, None when no subgradient step was taken), costs of the reduced problem.
    """
    value = red.true_cost(sites)
    if not np.isfinite(value):
        return sites, value, float("nan"), np.zeros(red.n), None
    pool: list[NDArray[np.int64]] = []
    bound, relaxed, rho, lam = _lagrangian(red, p, sites, deadline, budget_s=budget_s,
                                           pool=pool)
    seen = {np.sort(sites).tobytes(), relaxed.tobytes()}
    scored: list[tuple[float, int, NDArray[np.int64]]] = []
    for cand in reversed(pool[-_LAG_POOL * polish:]):
        key = cand.tobytes()
        if cand.size != p or key in seen:
            continue
        seen.add(key)
        scored.append((red.true_cost(cand), len(scored), cand))
    scored.sort(key=lambda t: (t[0], t[1]))
    starts = [relaxed] if relaxed.size == p and not np.array_equal(np.sort(sites), relaxed) \
        else []
    starts += [cand for _, _, cand in scored]
    fall = red.heuristic_fallback()
    for cand in starts[:polish]:
        left = _left(deadline)
        if left is not None and left <= 0:
            break
        other = _interchange(red, cand, fall, deadline)
        other_val = red.true_cost(other)
        if other_val < value - _REL_TOL * max(value, 1.0):
            sites, value = other, other_val
    return sites, value, min(bound, value), rho, lam


def _cost(red: _Reduced, sites: NDArray[np.int64], fall: NDArray[np.float64]) -> float:
    d1, _, _ = red.nearest(sites, fall)
    return float(np.dot(red.w, d1))


def _perturb_and_descend(red: _Reduced, sites: NDArray[np.int64], fall: NDArray[np.float64],
                         deadline: float | None, budget_s: float, restarts: int = _RESTARTS,
                         allowed: NDArray[np.bool_] | None = None, seed: int = 0
                         ) -> NDArray[np.int64]:
    """Iterated local search: swap a few random sites, descend again, keep the best.

    Leaves the 1-swap local optimum (which can be a few per cent off on small, clustered
    problems); seeded, so the answer is reproducible.  At most ``restarts`` restarts within
    ``budget_s`` seconds; only ``allowed`` columns enter (default: every new column).
    """
    free = np.flatnonzero(~red.fx if allowed is None else allowed & ~red.fx)
    k = int(sites.size)
    if k == 0 or k >= free.size:
        return sites
    rng = np.random.default_rng(seed)
    best, best_val = sites, _cost(red, sites, fall)
    t0 = time.perf_counter()
    for r in range(restarts):
        left = _left(deadline)
        if (left is not None and left <= 0) or time.perf_counter() - t0 > budget_s:
            break
        closed = free[~np.isin(free, best)]
        q = min(1 + r % 3, k, closed.size)
        if q == 0:
            break
        trial = best.copy()
        out = rng.choice(k, q, replace=False)
        trial[out] = rng.choice(closed, q, replace=False)
        trial = _interchange(red, trial, fall, deadline, allowed=allowed)
        val = _cost(red, trial, fall)
        if val < best_val - _REL_TOL * max(best_val, 1.0):
            best, best_val = trial, val
    return best


def _greedy(red: _Reduced, p: int, fall: NDArray[np.float64]) -> NDArray[np.int64]:
    """Greedy add (compiled): each step opens the new column lowering the cost most."""
    indptr, cols, costs = red.sorted_pairs()
    tol = _REL_TOL * max(float(np.dot(red.w, fall)), 1.0)
    out = _K_GREEDY(indptr, cols, costs, red.w, fall, ~red.fx, int(p), tol)
    return np.asarray(out, dtype=np.int64)


def _interchange(red: _Reduced, sites: NDArray[np.int64], fall: NDArray[np.float64],
                 deadline: float | None, max_iter: int | None = None,
                 allowed: NDArray[np.bool_] | None = None) -> NDArray[np.int64]:
    """Fast vertex substitution: apply the best (in, out) swap while it lowers the cost.

    For the current open set, with ``d1``/``d2`` the nearest/second-nearest cost of each row
    (the fallback counting as a site that never closes) and ``s1`` its nearest site::

        gain[c]     = sum_i w_i max(0, d1_i - c_ic)                      (c closed)
        loss[s]     = sum_{i: s1_i = s} w_i (d2_i - d1_i)
        extra[c, s] = sum_{i: s1_i = s, c_ic < d2_i} w_i (d2_i - max(c_ic, d1_i))

    and swapping s out for c in lowers the cost by ``gain[c] - loss[s] + extra[c, s]``
    (a compiled scan of each row's pairs closer than its second-nearest open site).
    Only ``allowed`` columns enter (default: every new column).
    """
    k = int(sites.size)
    if k == 0 or red.pairs.nnz == 0:
        return sites
    indptr, cols, costs = red.sorted_pairs()
    sites = sites.copy()
    max_iter = 50 * k + 100 if max_iter is None else max_iter
    for _ in range(max_iter):
        left = _left(deadline)
        if left is not None and left <= 0:
            break
        d1, pos1, d2 = red.nearest(sites, fall)
        current = float(np.dot(red.w, d1))
        can_enter = ~red.fx if allowed is None else allowed & ~red.fx
        can_enter[sites] = False
        c_in, s_pos, profit = _K_BEST_SWAP(indptr, cols, costs, red.w, d1, pos1, d2,
                                           can_enter, k)
        if c_in < 0 or not profit > _REL_TOL * max(current, 1.0):
            break
        sites[s_pos] = c_in
    return sites


# --------------------------------------------------------------------------- Lagrangian bound


def _lagrangian(red: _Reduced, p: int, sites: NDArray[np.int64], deadline: float | None,
                max_iter: int = _LAG_ITER, budget_s: float | None = None,
                pool: list[NDArray[np.int64]] | None = None, patience: int = _LAG_STALL
                ) -> tuple[float, NDArray[np.int64], NDArray[np.float64],
                           NDArray[np.float64] | None]:
    """A proven lower bound on the reduced problem's cost by Lagrangian relaxation.

    The assignment constraints ``sum_j y_ij = 1`` are relaxed with multipliers ``lam_i``;
    for any ``lam`` the relaxed problem is solved exactly by opening the ``p`` new columns
    of smallest ``rho_j = sum_i min(0, w_i c_ij - lam_i)``::

        L(lam) = sum_i min(lam_i, w_i f_i) + (sum of the p smallest rho_j)  <=  optimum

    (``f_i`` the row's fixed fallback, a site that never closes).  ``lam`` follows the
    subgradient ``g_i = 1 - (times row i is served)`` with Polyak steps towards the
    heuristic's cost (Beasley 1993), the step factor halved when the bound stalls; the
    step is scaled by each row's weight (``lam_i += t w_i g_i``, ``t = mu (UB - L) /
    sum_i w_i g_i^2``), so every row's radius ``lam_i / w_i`` moves alike whatever its
    weight (unscaled, the bound stalled about 1 % lower at 20,000 x 1,000).  A
    row's pairs are scanned in cost order only while ``w_i c_ij < lam_i``, so an
    iteration costs little.  Returns (bound, the columns of the best relaxed answer,
    ``rho`` at the best ``lam``, that ``lam`` or None when no step was taken) — the bound
    includes a rounding allowance.  ``pool`` (if given) receives the relaxed answer of
    every improvement of the bound, for the caller to descend from.  The step factor is
    halved after ``patience`` steps without a better bound.
    """
    fall = red.heuristic_fallback()
    n = red.n
    new_cols = np.flatnonzero(~red.fx)
    w = red.w
    wfall = w * fall
    ub = _cost(red, sites, fall)
    if p == 0 or red.model_rows.size == 0:
        return ub, sites, np.zeros(n), None
    indptr, cols, costs = red.sorted_pairs()
    # multipliers capped at the cost of each row's k-th nearest new site (any multipliers
    # give a valid bound; above that they hardly help and the scans grow long)
    k = int(np.ceil(_LAG_SPAN * new_cols.size / p))
    counts = np.diff(indptr)
    at = indptr[:-1] + np.minimum(counts, k) - 1
    kth = np.where(counts > k, costs[np.maximum(at, 0)], np.inf)
    wcap = w * np.minimum(kth, fall)
    d1, _, d2 = red.nearest(sites, fall)
    d2 = np.where(np.isfinite(d2), d2, d1)
    lam = np.minimum(w * 0.5 * (d1 + d2), wcap)
    best_l, best_sites, best_rho = -np.inf, sites, np.zeros(n)
    best_lam: NDArray[np.float64] | None = None
    mu, stall = _LAG_MU0, 0
    chosen = np.zeros(n, dtype=bool)
    tol = _REL_TOL * max(abs(ub), 1.0)
    t_stop = None if budget_s is None else time.perf_counter() + budget_s
    for _ in range(max_iter):
        left = _left(deadline)
        if (left is not None and left <= 0) or (t_stop is not None and time.perf_counter() > t_stop):
            break
        rho = _K_LAGRANGE(indptr, cols, costs, w, lam, n)
        rn = rho[new_cols]
        part = np.argpartition(rn, p - 1)[:p] if p < rn.size else np.arange(rn.size)
        value = float(np.minimum(lam, wfall).sum() + rn[part].sum())
        chosen[:] = False
        chosen[new_cols[part]] = True
        if value > best_l + tol:
            best_l, best_sites, best_rho, best_lam, stall = value, new_cols[part], rho, lam, 0
            if pool is not None:
                pool.append(np.sort(best_sites).astype(np.int64))
        else:
            stall += 1
            if stall >= patience:
                mu, stall = mu / 2.0, 0
        if ub - best_l <= tol or mu < _LAG_MU_MIN:
            break
        g = _K_SUBGRADIENT(indptr, cols, costs, w, lam, wfall, chosen)
        # the step scaled by the row's weight: every row's radius lam_i / w_i moves alike
        # (unscaled, a light row's multiplier swings far while a heavy one hardly moves)
        wg = w * g
        norm = float(np.dot(wg, g))
        if norm == 0.0:  # the relaxed answer serves every row once: it is optimal
            break
        lam = np.clip(lam + mu * max(ub - value, tol) / norm * wg, 0.0, wcap)
    bound = best_l - 1e-12 * abs(best_l) - 1e-12
    return min(bound, ub), np.sort(best_sites).astype(np.int64), best_rho, best_lam


# --------------------------------------------------------------------------- exact


def _exact(red: _Reduced, p: int, inc: NDArray[np.int64], inc_val: float,
           deadline: float | None, rho: NDArray[np.float64] | None = None,
           lag_bound: float = float("nan"), search_s: float = 0.0, reserve_s: float = 0.0
           ) -> tuple[NDArray[np.int64], float, float, bool]:
    """Exact solve by relaxation rounds: (sites, value, lower bound, proven optimal).

    When a round's model would hold more than :data:`_EXACT_MAX_PAIRS` pairs, no MIP is
    built: :func:`_search_and_bound` looks for a better answer and raises the Lagrangian
    bound until the deadline (without one, for ``search_s`` seconds); the answer is proven
    only if the bound meets it.
    """
    left = _left(deadline)
    if left is not None and left <= 0:  # no time left: not even the model build
        return inc, inc_val, -np.inf, False
    r = red.model_rows.size
    pr = red.pairs
    # pairs kept per row: those no farther than the incumbent's serving cost, and at least
    # the row's _SPAN * (new columns) / p nearest, so that going farther is dear
    if np.isfinite(inc_val):
        limit, _, _ = red.nearest(inc, red.fallback)
        span = int(np.ceil(_SPAN * max(int((~red.fx).sum()), 1) / max(p, 1)))
        indptr, _, s_costs = red.sorted_pairs()
        counts = np.diff(indptr)
        kth = np.full(r, np.inf)
        has = counts > 0
        kth[has] = s_costs[(indptr[:-1] + np.minimum(counts, span) - 1)[has]]
        limit = np.maximum(limit, kth)
    else:
        limit = np.full(r, np.inf)
    best, best_val = inc, inc_val
    lower = -np.inf
    left = _left(deadline)
    zero, one = _fix_columns(red, p, rho, lag_bound, best_val)
    first = int(np.count_nonzero((pr.data <= limit[red.rows_e]) & ~zero[pr.indices]))
    if left is not None and _SEARCH_FIRST_PAIRS < first <= _EXACT_MAX_PAIRS:
        # a large MIP may use the whole limit without an answer: search first (a relaxation
        # of any limit stays one, and a better incumbent fixes more columns; above
        # _EXACT_MAX_PAIRS no MIP is built and _search_and_bound searches anyway)
        window = min(_SEARCH_FIRST * left, search_s) if search_s > 0 else _SEARCH_FIRST * left
        best, best_val = _exact_search(red, p, best, best_val, time.perf_counter() + window,
                                       0.0, rho, lag_bound)
        zero, one = _fix_columns(red, p, rho, lag_bound, best_val)
    usable = ~zero[pr.indices]
    for rnd in range(_MAX_ROUNDS + 1):
        if rnd == _MAX_ROUNDS:
            limit = np.full(r, np.inf)
        keep = (pr.data <= limit[red.rows_e]) & usable
        if int(np.count_nonzero(keep)) > _EXACT_MAX_PAIRS:
            # too large a model for HiGHS (memory, and its LP alone would outlast any limit):
            # search for a better answer instead, with the columns the bound proves closed
            # left out, and a second, longer bound; proven only if the bound meets it
            best, best_val, lag = _search_and_bound(red, p, best, best_val, deadline, search_s,
                                                    rho, lag_bound, reserve_s)
            if np.isfinite(lag):
                lower = max(lower, lag)
            proven = bool(best_val - lower <= _REL_TOL * max(abs(best_val), 1.0))
            return best, best_val, lower, proven
        out_cost = np.full(r, np.inf)
        gone = ~keep & usable
        if gone.any():
            dropped = sp.csr_array((pr.data[gone], (red.rows_e[gone], pr.indices[gone])),
                                   shape=pr.shape)
            out_cost = _row_min(dropped)
        rest = np.minimum(out_cost, red.fallback)  # cost of the "farther" variable
        rest_exact = ~np.isfinite(out_cost)  # "farther" is the fixed site itself
        sol = _solve_relaxation(red, p, keep, rest, best_val, deadline, zero, one)
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


def _exact_search(red: _Reduced, p: int, inc: NDArray[np.int64], inc_val: float,
                  deadline: float | None, search_s: float, rho: NDArray[np.float64] | None,
                  lag_bound: float, reserve_s: float = 0.0) -> tuple[NDArray[np.int64], float]:
    """Iterated local search over the columns the Lagrangian bound does not prove closed.

    Rounds of :func:`_perturb_and_descend` (a new seed each) until the deadline, or for
    ``search_s`` seconds without one; after each better answer the columns proven closed
    (:func:`_fix_columns`, which fixes more as the incumbent improves) are recomputed.
    Returns (sites, their cost).
    """
    # stop early enough for the result's assembly (about a model build) to end in time
    t_stop = time.perf_counter() + search_s if deadline is None else deadline - reserve_s
    fall = red.heuristic_fallback()
    best, best_val = inc, inc_val
    seed = 1
    while True:
        left = t_stop - time.perf_counter()
        if left <= 0:
            break
        zero, _ = _fix_columns(red, p, rho, lag_bound, best_val)
        allowed = ~zero
        allowed[best] = True
        trial = _perturb_and_descend(red, best, fall, t_stop, left, restarts=_RESTARTS,
                                     allowed=allowed, seed=seed)
        seed += 1
        val = red.true_cost(trial)
        if val < best_val - _REL_TOL * max(abs(best_val), 1.0):
            best, best_val = trial, val
    return best, best_val


def _search_and_bound(red: _Reduced, p: int, inc: NDArray[np.int64], inc_val: float,
                      deadline: float | None, search_s: float, rho: NDArray[np.float64] | None,
                      lag_bound: float, reserve_s: float = 0.0
                      ) -> tuple[NDArray[np.int64], float, float]:
    """Iterated local search, a second (longer) Lagrangian bound, and search again.

    The search is :func:`_exact_search`'s (a new seed per round, the columns proven closed
    left out).  After :data:`_LAG_LONG_AT` of the time, the subgradient (:func:`_lagrangian`)
    runs again from the start, aimed at the improved incumbent (better-sized steps) and
    halving its step only after :data:`_LAG_LONG_STALL` steps without progress, until it
    converges or the time is up; the rest of the time searches with the columns the better
    bound proves closed left out.  Ends at the deadline (less ``reserve_s``; without one
    after ``search_s`` seconds) or when the bound meets the incumbent.
    Returns (sites, their cost, the best lower bound: ``lag_bound`` or better).
    """
    t_start = time.perf_counter()
    t_stop = t_start + search_s if deadline is None else deadline - reserve_s
    t_long = t_start + _LAG_LONG_AT * (t_stop - t_start)
    best, best_val = inc, inc_val
    bound = lag_bound
    if t_long > t_start:
        best, best_val = _exact_search(red, p, best, best_val, t_long, 0.0, rho, bound)
    tol = _REL_TOL * max(abs(best_val), 1.0)
    if rho is not None and np.isfinite(bound) and best_val - bound > tol \
            and time.perf_counter() < t_stop:
        new_b, _, new_rho, _ = _lagrangian(red, p, best, t_stop, max_iter=10**9,
                                           patience=_LAG_LONG_STALL)
        if new_b > bound:
            bound, rho = new_b, new_rho
    if best_val - bound > tol and time.perf_counter() < t_stop:
        best, best_val = _exact_search(red, p, best, best_val, t_stop, 0.0, rho, bound)
    return best, best_val, bound


def _fix_columns(red: _Reduced, p: int, rho: NDArray[np.float64] | None, lag_bound: float,
                 inc_val: float) -> tuple[NDArray[np.bool_], NDArray[np.bool_]]:
    """Columns the Lagrangian bound proves closed (``zero``) or open (``one``) in any answer
    better than the incumbent.

    With ``S`` the ``p`` new columns of smallest ``rho`` and ``L`` the bound: opening a
    column ``j`` outside ``S`` raises the bound to at least ``L - rho_(p) + rho_j``, closing
    one inside to ``L - rho_j + rho_(p+1)``; at or above the incumbent's cost, no better
    answer does that.
    """
    n = red.n
    zero = np.zeros(n, dtype=bool)
    one = np.zeros(n, dtype=bool)
    new_cols = np.flatnonzero(~red.fx)
    if rho is None or not np.isfinite(lag_bound) or not np.isfinite(inc_val) or p == 0 \
            or p >= new_cols.size:
        return zero, one
    rn = rho[new_cols]
    order = np.argsort(rn, kind="stable")
    in_s = np.zeros(new_cols.size, dtype=bool)
    in_s[order[:p]] = True
    last_in, first_out = rn[order[p - 1]], rn[order[p]]
    margin = _REL_TOL * max(abs(inc_val), 1.0)
    # a safety margin against rounding in the bound's sums
    slack = 1e-9 * max(abs(inc_val), 1.0) + margin
    zero[new_cols[~in_s & (lag_bound - last_in + rn >= inc_val + slack)]] = True
    one[new_cols[in_s & (lag_bound - rn + first_out >= inc_val + slack)]] = True
    return zero, one


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
                      cutoff: float, deadline: float | None, zero: NDArray[np.bool_],
                      one: NDArray[np.bool_]
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
    ub[:n][zero] = 0.0  # proven closed in any better answer
    lb = np.zeros(nv)
    lb[:n][one] = 1.0  # proven open in any better answer
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
    if res.status not in (0, 1, 2):  # a HiGHS solve error (seen in presolve): once more without
        mopts["presolve"] = False
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


def _cap_arrays(rows: NDArray[np.int64], cols: NDArray[np.int64], vals: NDArray[np.float64],
                wr: NDArray[np.float64], cap: NDArray[np.float64], fx: NDArray[np.bool_],
                r: int, p: int
                ) -> tuple[NDArray[np.float64], sp.csr_array, NDArray[np.float64],
                           NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """The capacitated model over the given pairs: (objective, A, row lower and upper
    limits, variable lower and upper bounds); variables: x (n columns), then one per pair."""
    n = fx.size
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
    return obj, a, lo, hi, lb, ub


def _capacitated(c: sp.csr_array, w: NDArray[np.float64], fx: NDArray[np.bool_], p: int,
                 cap: NDArray[np.float64], method: str, split: bool, deadline: float | None,
                 report: Progress, t0: float) -> LocationResult:
    """The capacitated p-median: heuristic, exact from an incumbent and the uncapacitated
    Lagrangian bound, or one MIP over every reachable pair of rows with weight.

    Above :data:`_CAP_MAX_PAIRS` reachable pairs only each row's nearest ones are kept
    (:func:`_cap_pairs`); the full model is never built then, the exact solver checks
    whether the bound rules out every pair left out (else its answer is not proven).
    """
    m, n = (int(s) for s in c.shape)
    reached = np.diff(c.indptr) > 0
    model_rows = np.flatnonzero((w > 0) & reached)
    r = model_rows.size
    rows, cols, vals, cut = _cap_pairs(c, model_rows, _CAP_MAX_PAIRS)
    wr = w[model_rows]
    ny = rows.size
    nv = n + ny
    new_cols = np.flatnonzero(~fx)
    big = cut is not None
    build_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    report(0.3, "solve")
    if method == "auto":
        method = "exact" if ny <= AUTO_EXACT_MAX_PAIRS and not big else "heuristic"
    integrality = np.zeros(nv)
    integrality[:n] = 1
    if not split:
        integrality[n:] = 1
    if method == "exact":
        res_exact = _cap_exact(c, w, fx, p, cap, split, rows, cols, vals, model_rows, deadline,
                               build_s, t1, cut)
        if res_exact is not None:
            return res_exact
    if method == "heuristic" or big:
        # starts: the uncapacitated answer (whose Lagrangian bound is a bound here too)
        starts: list[NDArray[np.int64]] = []
        lower = float("nan")
        red = _Reduced(c, w, fx)
        if red.model_rows.size:
            un = _heuristic(red, p, deadline)
            lag_s = max(time.perf_counter() - t0, 1.0)
            un, _, un_bound, _, _ = _bound_and_polish(red, p, un, deadline, lag_s,
                                                      _HEUR_POLISH)
            if un.size == p:
                starts.append(un)
            if np.isfinite(un_bound):
                lower = red.const + un_bound
            del red
        if not starts:
            starts.append(new_cols[:p])
        if big:  # every row may go to the start's sites (and the fixed ones)
            rows, cols, vals = _add_pairs(c, model_rows, rows, cols, vals,
                                          np.union1d(starts[0], np.flatnonzero(fx)))
            ny = rows.size
            nv = n + ny
        budget = max(_CAP_SEARCH_MIN_S, 2.0 * (time.perf_counter() - t1))
        fit = _nearest_fit(rows, cols, vals, wr, cap, fx, starts[0], r)
        y: NDArray[np.float64] | None
        if fit is not None:  # the uncapacitated local optimum fits: no swap can do better
            open_mask, y = fit
        else:
            open_mask, _, y = _cap_search(rows, cols, vals, wr, cap, fx, starts, r, deadline,
                                          budget)
        share = y if (y is None or split) else _whole_rows(rows, cols, wr, wr[rows] * vals, cap,
                                                           y, open_mask, r, deadline)
        lp = None
        if not big:  # the LP relaxation's bound, when it comes within a short time
            obj, a, lo, hi, lb, ub = _cap_arrays(rows, cols, vals, wr, cap, fx, r, p)
            lp_opts: dict[str, float | bool] = {"disp": _DISP}
            left = _left(deadline)
            lp_s = max(_CAP_LP_MIN_S, time.perf_counter() - t1)
            lp_opts["time_limit"] = lp_s if left is None else max(min(left, lp_s), 0.01)
            lp = milp(obj, integrality=np.zeros(nv), bounds=Bounds(lb, ub),
                      constraints=LinearConstraint(a, lo, hi), options=lp_opts)
            if lp.status == 0:
                lower = max(float(lp.fun), lower) if np.isfinite(lower) else float(lp.fun)
            elif lp.status == 2:
                return _result("p_median_capacitated", c, w, fx, np.zeros(0, np.int64),
                               float("nan"), "heuristic", False, float("nan"), "infeasible",
                               build_s, time.perf_counter() - t1)
        left = _left(deadline)
        status = "time_limit" if left is not None and left <= 0 else "feasible"
        if share is not None:
            sites = np.flatnonzero(open_mask & ~fx).astype(np.int64)
            amount = np.clip(share, 0.0, None) * wr[rows]
            flows = sp.csr_array((amount, (model_rows[rows], cols)), shape=(m, n))
            flows.eliminate_zeros()
            value = float(np.dot(wr[rows] * vals, share))
            return _result("p_median_capacitated", c, w, fx, sites, value,
                           method, False, lower, status, build_s,
                           time.perf_counter() - t1, flows=flows)
        if big and y is None:  # no answer among the nearest pairs; the full model is too large
            return _result("p_median_capacitated", c, w, fx, np.zeros(0, np.int64),
                           float("nan"), method, False, lower, status, build_s,
                           time.perf_counter() - t1)
        # rows whole failed: the MIP of the assignment to the sites found (or the LP's)
        order = np.flatnonzero(open_mask & ~fx) if y is not None else starts[0]
        if y is None and lp is not None and lp.x is not None:
            xs = np.asarray(lp.x[:n])
            order = new_cols[np.argsort(-xs[new_cols], kind="stable")][:p]
        if big:  # only the pairs to those sites (rows x open sites)
            on = np.zeros(n, dtype=bool)
            on[order] = True
            on[fx] = True
            sel = np.flatnonzero(on[cols])
            rows, cols, vals = rows[sel], cols[sel], vals[sel]
            nv = n + rows.size
            obj, a, lo, hi, lb, ub = _cap_arrays(rows, cols, vals, wr, cap, fx, r, p)
            integrality = np.zeros(nv)
            integrality[:n] = 1
            if not split:
                integrality[n:] = 1
        sites_fixed = True
        lb2, ub2 = lb.copy(), ub.copy()
        ub2[:n] = 0.0
        ub2[:n][fx] = 1.0
        lb2[order] = 1.0
        ub2[order] = 1.0
        bounds = Bounds(lb2, ub2)
    else:
        obj, a, lo, hi, lb, ub = _cap_arrays(rows, cols, vals, wr, cap, fx, r, p)
        bounds = Bounds(lb, ub)
        lower = float("nan")
        sites_fixed = False
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
        no_bound = float("nan")
        if not sites_fixed:
            status = "infeasible" if res.status == 2 else "time_limit"
        else:  # infeasible with these sites says nothing of other sites
            left = _left(deadline)
            status = "time_limit" if left is not None and left <= 0 else "feasible"
            no_bound = lower
        return _result("p_median_capacitated", c, w, fx, np.zeros(0, np.int64), float("nan"),
                       method, False, no_bound, status, build_s, solve_s)
    x = np.asarray(res.x)
    sites = np.flatnonzero((x[:n] > 0.5) & ~fx).astype(np.int64)
    amount = np.clip(x[n:], 0.0, None) * wr[rows]
    flows = sp.csr_array((amount, (model_rows[rows], cols)), shape=(m, n))
    flows.eliminate_zeros()
    objective = float(np.dot(obj, x))
    if method == "exact" and not sites_fixed:
        dual = getattr(res, "mip_dual_bound", None)
        bound = float(dual) if dual is not None and np.isfinite(dual) else float("nan")
        optimal = res.status == 0
        status = "optimal" if optimal else "time_limit"
    else:
        bound, optimal = lower, False
        status = "feasible" if res.status == 0 else "time_limit"
    return _result("p_median_capacitated", c, w, fx, sites, objective, method, optimal, bound,
                   status, build_s, solve_s, flows=flows)


def _cap_pairs(c: sp.csr_array, model_rows: NDArray[np.int64], limit: int
               ) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64],
                          NDArray[np.float64] | None]:
    """The (row, column) pairs of the capacitated model: (rows, columns, costs, cut).

    Every reachable pair of the model rows when they number at most ``limit``; otherwise
    each row's ``max(1, limit // rows)`` nearest (ties: lower column first), so that at most
    ``limit`` pairs are built, and ``cut`` gives each row's cheapest pair left out (``inf``
    when none is).  ``rows`` count the model rows from 0.  The solvers then add every pair
    to their starting answer's sites and the fixed ones (:func:`_add_pairs`; at most
    rows x (p + fixed) more), so that answer stays feasible; ``cut`` stays a lower limit
    on the cost of any pair left out.
    """
    counts = np.diff(c.indptr)[model_rows]
    r = model_rows.size
    if int(counts.sum()) <= limit:
        sub = sp.csr_array(c[model_rows]) if r else sp.csr_array((0, c.shape[1]))
        return (_entry_rows(sub), sub.indices.astype(np.int64), sub.data.astype(np.float64),
                None)
    k = max(1, limit // max(r, 1))
    starts = c.indptr[model_rows].astype(np.int64)
    rows, cols, vals, cut = _K_NEAREST_K(starts, counts.astype(np.int64),
                                         c.indices.astype(np.int64), c.data.astype(np.float64),
                                         k)
    return rows, cols, vals, cut


def _add_pairs(c: sp.csr_array, model_rows: NDArray[np.int64], rows: NDArray[np.int64],
               cols: NDArray[np.int64], vals: NDArray[np.float64], add: NDArray[np.int64]
               ) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64]]:
    """The pairs plus every reachable pair of the model rows to the columns ``add`` (at most
    rows x ``add.size`` more), each pair once."""
    n = int(c.shape[1])
    sub = sp.csr_array(sp.csc_array(c)[:, add])[model_rows]
    r_new = _entry_rows(sub)
    c_new = add[sub.indices].astype(np.int64)
    fresh = ~np.isin(r_new * n + c_new, rows * n + cols)
    return (np.concatenate([rows, r_new[fresh]]), np.concatenate([cols, c_new[fresh]]),
            np.concatenate([vals, sub.data[fresh].astype(np.float64)]))


def _cap_exact(c: sp.csr_array, w: NDArray[np.float64], fx: NDArray[np.bool_], p: int,
               cap: NDArray[np.float64], split: bool, rows: NDArray[np.int64],
               cols: NDArray[np.int64], vals: NDArray[np.float64], model_rows: NDArray[np.int64],
               deadline: float | None, build_s: float, t1: float,
               cut: NDArray[np.float64] | None = None) -> LocationResult | None:
    """Exact capacitated p-median from an incumbent and the uncapacitated Lagrangian bound.

    The uncapacitated heuristic and its Lagrangian multipliers (a bound here too: capacities
    only raise the cost) give a bound ``L``; the capacitated swap search and the rounding of
    split rows give an incumbent.  Every column, and (rows whole) every pair, whose use
    alone raises the bound to the incumbent's cost is left out (:func:`_cap_fix`); the MIP
    over what is left, with an objective cut-off just below the incumbent, either finds a
    better answer or proves the incumbent optimal.  Returns None when there is no incumbent
    or no multipliers (the caller solves the full MIP).

    ``cut`` (the pairs are each row's nearest only, see :func:`_cap_pairs`): each row's
    cheapest pair left out.  The restriction is exact when the bound rules every left-out
    pair out (rows whole: ``L + w_i cut_i - (row i's term of L) >= inc_val``, the pair's
    excess being at least that); otherwise the answer is not proven and ``bound`` is ``L``.
    No MIP is built over more than :data:`_EXACT_MAX_PAIRS` pairs: the answer is then the
    incumbent, unproven, with the bound ``L``; when the uncapacitated answer fitted the
    capacities, the time left goes to :func:`_exact_search` on the uncapacitated problem
    and a better answer that fits replaces it.
    """
    m, n = (int(s) for s in c.shape)
    r = model_rows.size
    wr = w[model_rows]
    red = _Reduced(c, w, fx)
    if red.model_rows.size == 0 or p == 0:
        return None
    un = _heuristic(red, p, deadline)
    un, un_val, un_bound, rho, lam = _bound_and_polish(red, p, un, deadline, _CAP_EXACT_LAG_S)
    if un.size != p or lam is None:
        return None
    if cut is not None:  # every row may go to the start's sites (and the fixed ones)
        rows, cols, vals = _add_pairs(c, model_rows, rows, cols, vals,
                                      np.union1d(un, np.flatnonzero(fx)))
    budget = max(_CAP_EXACT_SEARCH_MIN_S, _CAP_EXACT_SEARCH * (time.perf_counter() - t1))
    fit = _nearest_fit(rows, cols, vals, wr, cap, fx, un, r)
    y: NDArray[np.float64] | None
    if fit is not None:  # the uncapacitated local optimum fits: no swap can do better
        open_mask, y = fit
    else:
        open_mask, _, y = _cap_search(rows, cols, vals, wr, cap, fx, [un], r, deadline, budget)
    if y is None:
        return None
    cost_e = wr[rows] * vals
    share = y if split else _whole_rows(rows, cols, wr, cost_e, cap, y, open_mask, r, deadline)
    if share is None:
        return None
    inc_val = float(np.dot(cost_e, share))
    lower, keep, zero, one = _cap_fix(red, c, w, fx, p, rho, lam, model_rows, rows, cols, vals,
                                      cost_e, inc_val, pairs=not split)
    best_share, best_open, best_val = share, open_mask, inc_val
    margin = max(_REL_TOL * abs(inc_val), 1e-9)
    exact_cut = cut is None or _cut_ruled_out(red, lam, model_rows, rows, vals, wr, cut, lower,
                                              inc_val, split)
    kept_rows = np.bincount(rows[keep], minlength=r)
    left = _left(deadline)
    n_keep = int(np.count_nonzero(keep))
    unproven = "time_limit" if deadline is not None else "feasible"
    if lower >= inc_val - margin or (exact_cut and kept_rows.min(initial=1) == 0):
        optimal, status, bound = True, "optimal", inc_val
    elif left is not None and left <= 0:  # no time left: not even the model build
        optimal, status, bound = False, "time_limit", lower
    elif n_keep > _EXACT_MAX_PAIRS or kept_rows.min(initial=1) == 0:
        # too large a MIP for HiGHS (or a row whose kept pairs are all ruled out while the
        # restriction is not exact): the incumbent, unproven.  When the uncapacitated answer
        # fitted the capacities, a better uncapacitated one that fits is a better answer here
        if fit is not None:
            search_s = _EXACT_SEARCH * max(time.perf_counter() - t1 + build_s, 1.0)
            # reserve: the pairs of the new sites, the fit and the result (about two builds)
            more, more_val = _exact_search(red, p, un, un_val, deadline, search_s, rho,
                                           un_bound, 2.0 * build_s + 1.0)
            if more_val < un_val - _REL_TOL * max(abs(un_val), 1.0):
                rows2, cols2, vals2 = _add_pairs(c, model_rows, rows, cols, vals,
                                                 np.union1d(more, np.flatnonzero(fx)))
                fit2 = _nearest_fit(rows2, cols2, vals2, wr, cap, fx, more, r)
                if fit2 is not None:
                    rows, cols, vals = rows2, cols2, vals2
                    best_open, best_share = fit2
                    best_val = float(np.dot(wr[rows] * vals, best_share))
        optimal, status, bound = False, unproven, lower
    else:
        sel = np.flatnonzero(keep)
        obj, a, lo, hi, lb, ub = _cap_arrays(rows[sel], cols[sel], vals[sel], wr, cap, fx, r, p)
        ub[:n][zero] = 0.0
        lb[:n][one & ~zero] = 1.0
        nv = obj.size
        integrality = np.zeros(nv)
        integrality[:n] = 1
        if not split:
            integrality[n:] = 1
        cons = [LinearConstraint(a, lo, hi),
                LinearConstraint(sp.csr_array(obj[None, :]), -np.inf, inc_val - margin)]
        mopts: dict[str, float | bool] = {"disp": _DISP, "mip_rel_gap": _REL_TOL}
        left = _left(deadline)
        if left is not None:
            mopts["time_limit"] = max(left, 0.01)
        res = milp(obj, integrality=integrality, bounds=Bounds(lb, ub), constraints=cons,
                   options=mopts)
        if res.status not in (0, 1, 2):
            raise GisAppError(code="pmedian_solver_failed",
                              params={"status": res.status, "message": res.message})
        if res.x is not None:
            x = np.asarray(res.x)
            best_open = x[:n] > 0.5
            best_share = np.zeros(rows.size)
            best_share[sel] = np.clip(x[n:], 0.0, 1.0)
            best_val = float(np.dot(obj, x))
        if res.status in (0, 2) and exact_cut:  # solved, or nothing below the cut-off
            optimal, status, bound = True, "optimal", best_val
        elif res.status in (0, 2):  # the best among the nearest pairs only
            optimal, status, bound = False, unproven, lower
        else:
            dual = getattr(res, "mip_dual_bound", None)
            mip_b = float(dual) if dual is not None and np.isfinite(dual) else -np.inf
            optimal, status = False, "time_limit"
            bound = max(lower, min(inc_val, mip_b)) if exact_cut else lower
    sites = np.flatnonzero(best_open & ~fx).astype(np.int64)
    amount = np.clip(best_share, 0.0, None) * wr[rows]
    flows = sp.csr_array((amount, (model_rows[rows], cols)), shape=(m, n))
    flows.eliminate_zeros()
    return _result("p_median_capacitated", c, w, fx, sites, best_val, "exact", optimal, bound,
                   status, build_s, time.perf_counter() - t1, flows=flows)


def _cut_ruled_out(red: _Reduced, lam: NDArray[np.float64], model_rows: NDArray[np.int64],
                   rows: NDArray[np.int64], vals: NDArray[np.float64], wr: NDArray[np.float64],
                   cut: NDArray[np.float64], lower: float, inc_val: float, split: bool) -> bool:
    """True when the bound proves no capacitated answer cheaper than ``inc_val`` uses a pair
    left out of the nearest pairs (rows whole only; see :func:`_cap_exact`).

    A row's term of ``L`` is ``min(lam_i, w_i f_i)`` (a row of the reduced problem) or its
    nearest (fixed) site's cost; a pair costing ``w_i c`` exceeds it by at least
    ``w_i c - term``, which grows with ``c``, so the row's cheapest left-out pair decides.
    """
    has = np.isfinite(cut)
    if not has.any():
        return True
    if split:
        return False
    r = wr.size
    size = max(int(model_rows.max(initial=0)), int(red.model_rows.max(initial=0))) + 1
    red_of = np.full(size, -1, dtype=np.int64)
    red_of[red.model_rows] = np.arange(red.model_rows.size)
    k = red_of[model_rows]
    base = np.minimum(lam, red.w * red.heuristic_fallback())
    nearest = np.full(r, np.inf)
    np.minimum.at(nearest, rows, vals)
    term = np.where(k >= 0, base[np.maximum(k, 0)], wr * nearest)
    slack = 1e-9 * max(abs(inc_val), 1.0)
    excess = wr[has] * cut[has] - term[has]
    return bool(np.all(lower + np.maximum(excess, 0.0) >= inc_val + slack))


def _cap_fix(red: _Reduced, c: sp.csr_array, w: NDArray[np.float64], fx: NDArray[np.bool_],
             p: int, rho: NDArray[np.float64], lam: NDArray[np.float64],
             model_rows: NDArray[np.int64], rows: NDArray[np.int64], cols: NDArray[np.int64],
             vals: NDArray[np.float64], cost_e: NDArray[np.float64], inc_val: float,
             pairs: bool = True
             ) -> tuple[float, NDArray[np.bool_], NDArray[np.bool_], NDArray[np.bool_]]:
    """What the uncapacitated Lagrangian bound proves unused by any capacitated answer
    cheaper than ``inc_val``: (bound, pairs kept, columns closed, columns open).

    With ``f_i`` the row's fixed fallback and ``L(lam) = sum_i min(lam_i, w_i f_i) + (the p
    smallest rho_j)`` (plus the constant rows), any answer with exactly p new sites costs at
    least ``L + e_ij + pen_j`` when row i goes whole to column j, where::

        e_ij  = w_i c_ij - min(lam_i, w_i f_i) - min(0, w_i c_ij - lam_i)   (a useful pair)
        e_ij  = w_i c_ij - min(lam_i, w_i f_i)   (a pair no closer than the fallback)
        pen_j = max(0, rho_j - rho_(p))           (j outside the p smallest; 0 inside)

    because every row's cost splits into its term of ``L`` and a non-negative rest, and
    opening ``j`` raises the sum of the open ``rho`` by ``pen_j``.  Capacities only remove
    answers, so a pair (a column) at or above ``inc_val`` that way is not in any cheaper
    answer.  ``pairs=False`` (split rows: a share pays only part of ``e_ij``) fixes columns
    only.
    """
    n = fx.size
    m = int(c.shape[0])
    ny = rows.size
    new = np.flatnonzero(~fx)
    keep = np.ones(ny, dtype=bool)
    zero = np.zeros(n, dtype=bool)
    one = np.zeros(n, dtype=bool)
    fall_h = red.heuristic_fallback()
    base = np.minimum(lam, red.w * fall_h)
    rn = rho[new]
    order = np.argsort(rn, kind="stable")
    if p == 0 or p > new.size:
        return -np.inf, keep, zero, one
    p_th = rn[order[p - 1]]
    terms = float(base.sum()) + float(rn[order[:p]].sum())
    lower = red.const + terms
    lower -= 1e-10 * (abs(red.const) + float(np.abs(base).sum()) + float(np.abs(rn).sum())) + 1e-9
    in_s = np.zeros(n, dtype=bool)
    in_s[new[order[:p]]] = True
    pen = np.zeros(n)
    pen[new] = np.maximum(rho[new] - p_th, 0.0)
    pen[in_s] = 0.0
    slack = 1e-9 * max(abs(inc_val), 1.0)
    zero[new] = lower + pen[new] >= inc_val + slack
    if p < new.size:
        p1_th = rn[order[p]]
        one = in_s & (lower - rho + p1_th >= inc_val + slack)
    keep &= ~zero[cols]
    if not pairs:
        return lower, keep, zero, one
    red_of = np.full(m, -1, dtype=np.int64)
    red_of[red.model_rows] = np.arange(red.model_rows.size)
    g = model_rows[rows]
    k = red_of[g]
    excess = np.empty(ny)
    inr = k >= 0
    kk = k[inr]
    wc = cost_e[inr]
    useful = ~fx[cols[inr]] & (vals[inr] < red.fallback[kk])
    excess[inr] = wc - base[kk] - np.where(useful, np.minimum(wc - lam[kk], 0.0), 0.0)
    if not inr.all():  # rows served by a fixed site at no cost in p: L counts w_i f_i
        is_fx = fx[c.indices]
        rows_e = _entry_rows(c)
        fix = sp.csr_array((c.data[is_fx], (rows_e[is_fx], c.indices[is_fx])), shape=c.shape)
        f_true = _row_min(fix)
        out = ~inr
        excess[out] = cost_e[out] - w[g[out]] * f_true[g[out]]
    keep &= lower + np.maximum(excess, 0.0) + pen[cols] < inc_val + slack
    return lower, keep, zero, one


def _transport(rows: NDArray[np.int64], cols: NDArray[np.int64], vals: NDArray[np.float64],
               wr: NDArray[np.float64], cap: NDArray[np.float64], is_open: NDArray[np.bool_],
               r: int, deadline: float | None) -> tuple[float, NDArray[np.float64] | None]:
    """Cheapest split assignment of every row to the open columns within capacity (an LP).

    Returns (cost, share of each pair; 0 for pairs to closed columns) or (inf, None).
    """
    sel = np.flatnonzero(is_open[cols])
    rs, cs = rows[sel], cols[sel]
    if np.bincount(rs, minlength=r).min(initial=1) == 0:
        return float("inf"), None
    ne = sel.size
    a_eq = sp.csr_array((np.ones(ne), (rs, np.arange(ne))), shape=(r, ne))
    lim = np.flatnonzero(np.isfinite(cap[cs]))
    opts: dict[str, float | bool] = {"disp": False}
    left = _left(deadline)
    if left is not None:
        opts["time_limit"] = max(left, 0.01)
    slot = np.full(cap.size, -1, dtype=np.int64)
    used = np.unique(cs[lim])
    slot[used] = np.arange(used.size)
    a_ub = sp.csr_array((wr[rs[lim]], (slot[cs[lim]], lim)), shape=(used.size, ne)) \
        if used.size else None
    lp = linprog(wr[rs] * vals[sel], A_ub=a_ub, b_ub=cap[used] if used.size else None,
                 A_eq=a_eq, b_eq=np.ones(r), bounds=(0.0, 1.0), method="highs", options=opts)
    if lp.status != 0:
        return float("inf"), None
    y = np.zeros(rows.size)
    y[sel] = np.clip(np.asarray(lp.x), 0.0, 1.0)
    return float(lp.fun), y


def _nearest_fit(rows: NDArray[np.int64], cols: NDArray[np.int64], vals: NDArray[np.float64],
                 wr: NDArray[np.float64], cap: NDArray[np.float64], fx: NDArray[np.bool_],
                 sites: NDArray[np.int64], r: int
                 ) -> tuple[NDArray[np.bool_], NDArray[np.float64]] | None:
    """(open mask, 0/1 share of each pair) when every row going whole to its nearest open
    site (fixed or ``sites``) fits the capacities; None otherwise.

    When ``sites`` are a swap local optimum of the uncapacitated problem, no swap finds a
    cheaper capacitated answer (capacities only raise a cost), so the swap search is moot.
    """
    is_open = fx.copy()
    is_open[sites] = True
    sel = np.flatnonzero(is_open[cols])
    order = sel[np.lexsort((cols[sel], vals[sel], rows[sel]))]
    first = np.ones(order.size, dtype=bool)
    first[1:] = rows[order[1:]] != rows[order[:-1]]
    pick = order[first]
    if pick.size != r:  # a row no open site reaches
        return None
    load = np.bincount(cols[pick], weights=wr[rows[pick]], minlength=cap.size)
    if (load > cap * (1.0 + 1e-12)).any():
        return None
    y = np.zeros(rows.size)
    y[pick] = 1.0
    return is_open, y


def _cap_search(rows: NDArray[np.int64], cols: NDArray[np.int64], vals: NDArray[np.float64],
                wr: NDArray[np.float64], cap: NDArray[np.float64], fx: NDArray[np.bool_],
                starts: list[NDArray[np.int64]], r: int, deadline: float | None,
                budget_s: float) -> tuple[NDArray[np.bool_], float, NDArray[np.float64] | None]:
    """Swap local search for the capacitated p-median, each move scored by a transportation LP.

    For each open new site (largest cost first), the closed columns that would serve its
    rows most cheaply are tried in its place (first improvement), until a full pass
    improves nothing or the time budget is spent.  Returns (open mask, cost, shares).
    """
    t_stop = time.perf_counter() + budget_s
    n = fx.size
    best_open, best_val, best_y = fx.copy(), float("inf"), None
    for start in starts:
        is_open = fx.copy()
        is_open[start] = True
        val, y = _transport(rows, cols, vals, wr, cap, is_open, r, deadline)
        if val < best_val:
            best_open, best_val, best_y = is_open, val, y
    if best_y is None:
        return best_open, best_val, best_y
    cost_e = wr[rows] * vals
    improved = True
    while improved and time.perf_counter() < t_stop and best_y is not None:
        left = _left(deadline)
        if left is not None and left <= 0:
            break
        improved = False
        y = best_y
        # each row's main site; the cost each open new site carries
        main = np.full(r, -1, dtype=np.int64)
        order = np.lexsort((-y, rows))
        first = np.ones(order.size, dtype=bool)
        first[1:] = rows[order[1:]] != rows[order[:-1]]
        main[rows[order[first]]] = cols[order[first]]
        carried = np.bincount(cols, weights=cost_e * y, minlength=n)
        outs = np.flatnonzero(best_open & ~fx)
        outs = outs[np.argsort(-carried[outs], kind="stable")]
        for s_out in outs:
            mine = main[rows] == s_out
            # cost of serving s_out's rows from each column (only pairs that exist)
            score = np.bincount(cols[mine], weights=cost_e[mine], minlength=n)
            reach = np.bincount(cols[mine], minlength=n)
            need = int(np.sum(main == s_out))
            ok = ~best_open & ~fx & (reach >= max(need, 1))
            cand = np.flatnonzero(ok)
            if cand.size == 0:
                cand = np.flatnonzero(~best_open & ~fx & (reach > 0))
                score = score - reach * 1e-9  # prefer columns reaching more of them
            cand = cand[np.argsort(score[cand], kind="stable")][:_CAP_TRIES]
            for s_in in cand:
                if time.perf_counter() > t_stop:
                    break
                trial = best_open.copy()
                trial[s_out] = False
                trial[s_in] = True
                val, yt = _transport(rows, cols, vals, wr, cap, trial, r, deadline)
                if val < best_val - _REL_TOL * max(best_val, 1.0):
                    best_open, best_val, best_y = trial, val, yt
                    improved = True
                    break
            if improved:
                break
    return best_open, best_val, best_y


def _whole_rows(rows: NDArray[np.int64], cols: NDArray[np.int64], wr: NDArray[np.float64],
                cost_e: NDArray[np.float64], cap: NDArray[np.float64], y: NDArray[np.float64],
                is_open: NDArray[np.bool_], r: int, deadline: float | None) -> NDArray[np.float64] | None:
    """Round a split assignment to whole rows: rows already whole stay, the few split rows
    (a basic solution has at most one per open site) go by a small MIP within the capacity
    left.  Returns the 0/1 share of each pair, or None when that MIP finds no answer."""
    whole = np.zeros(r, dtype=bool)
    one = y > 1.0 - _INT_TOL
    whole[rows[one]] = True
    out = np.where(one, 1.0, 0.0)
    split_e = np.flatnonzero(~whole[rows] & is_open[cols])
    if split_e.size == 0:
        return out
    n = cap.size
    used = np.bincount(cols[one], weights=wr[rows[one]], minlength=n)
    room = cap - used
    split_rows = np.unique(rows[split_e])
    loc = np.full(r, -1, dtype=np.int64)
    loc[split_rows] = np.arange(split_rows.size)
    ne = split_e.size
    a_eq = sp.csr_array((np.ones(ne), (loc[rows[split_e]], np.arange(ne))),
                        shape=(split_rows.size, ne))
    ce = cols[split_e]
    lim = np.flatnonzero(np.isfinite(room[ce]))
    used_c = np.unique(ce[lim])
    slot = np.full(n, -1, dtype=np.int64)
    slot[used_c] = np.arange(used_c.size)
    a_ub = sp.csr_array((wr[rows[split_e[lim]]], (slot[ce[lim]], lim)), shape=(used_c.size, ne))
    cons = [LinearConstraint(a_eq, 1.0, 1.0)]
    if used_c.size:
        cons.append(LinearConstraint(a_ub, -np.inf, np.maximum(room[used_c], 0.0)))
    opts: dict[str, float | bool] = {"disp": False, "mip_rel_gap": 1e-6}
    left = _left(deadline)
    if left is not None:
        opts["time_limit"] = max(left, 0.01)
    res = milp(cost_e[split_e], integrality=np.ones(ne), bounds=Bounds(0.0, 1.0),
               constraints=cons, options=opts)
    if res.x is None:
        return None
    out[split_e] = np.round(np.asarray(res.x))
    return out


# --------------------------------------------------------------------------- compiled kernels
# Every kernel works on the useful pairs sorted by cost within each row (CSR order of rows,
# ``indptr`` of the reduced pairs): a scan of a row stops at the first pair too far to matter.


def _k_sort_rows(indptr: NDArray[np.int64], cols: NDArray[np.int64], costs: NDArray[np.float64]
                 ) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """Each row's pairs sorted by cost (ties: lower column first)."""
    out_c = np.empty(cols.size, dtype=np.int64)
    out_d = np.empty(costs.size, dtype=np.float64)
    for i in range(indptr.size - 1):
        s, e = indptr[i], indptr[i + 1]
        order = np.argsort(costs[s:e], kind="mergesort")
        for t in range(e - s):
            out_c[s + t] = cols[s + order[t]]
            out_d[s + t] = costs[s + order[t]]
    return out_c, out_d


def _k_nearest2(indptr: NDArray[np.int64], cols: NDArray[np.int64], costs: NDArray[np.float64],
                pos_of: NDArray[np.int64], fall: NDArray[np.float64]
                ) -> tuple[NDArray[np.float64], NDArray[np.int64], NDArray[np.float64]]:
    """Per row: nearest open cost, its position among the open sites (-1: the fallback), second."""
    r = indptr.size - 1
    d1 = np.empty(r)
    d2 = np.empty(r)
    p1 = np.full(r, -1, dtype=np.int64)
    for i in range(r):
        found = 0
        a = fall[i]
        b = fall[i]
        for t in range(indptr[i], indptr[i + 1]):
            q = pos_of[cols[t]]
            if q >= 0:
                if found == 0:
                    a = costs[t]
                    p1[i] = q
                    found = 1
                else:
                    b = costs[t]
                    found = 2
                    break
        d1[i] = a
        d2[i] = b if found > 0 else np.inf
    return d1, p1, d2


def _k_greedy(indptr: NDArray[np.int64], cols: NDArray[np.int64], costs: NDArray[np.float64],
              w: NDArray[np.float64], fall: NDArray[np.float64], allowed: NDArray[np.bool_],
              p: int, tol: float) -> NDArray[np.int64]:
    """Greedy add: ``p`` times the column lowering the total cost most (fewer if none helps)."""
    r = indptr.size - 1
    n = allowed.size
    d1 = fall.copy()
    free = allowed.copy()
    out = np.full(p, -1, dtype=np.int64)
    for it in range(p):
        gain = np.zeros(n)
        for i in range(r):
            for t in range(indptr[i], indptr[i + 1]):
                c = costs[t]
                if c >= d1[i]:
                    break
                gain[cols[t]] += w[i] * (d1[i] - c)
        best = -1
        bv = tol
        for j in range(n):
            if free[j] and gain[j] > bv:
                bv = gain[j]
                best = j
        if best < 0:
            return out[:it]
        out[it] = best
        free[best] = False
        for i in range(r):
            for t in range(indptr[i], indptr[i + 1]):
                if costs[t] >= d1[i]:
                    break
                if cols[t] == best:
                    d1[i] = costs[t]
                    break
    return out


def _k_best_swap(indptr: NDArray[np.int64], cols: NDArray[np.int64], costs: NDArray[np.float64],
                 w: NDArray[np.float64], d1: NDArray[np.float64], p1: NDArray[np.int64],
                 d2: NDArray[np.float64], can_enter: NDArray[np.bool_], k: int
                 ) -> tuple[int, int, float]:
    """Best (column in, open position out) swap and its profit (Resende-Werneck gain/loss/extra).

    ``gain[c] - loss[s] + extra[c, s]`` is the cost saved by opening ``c`` and closing the
    ``s``-th open site; only pairs closer than a row's second-nearest open site count.
    """
    r = indptr.size - 1
    n = can_enter.size
    gain = np.zeros(n)
    loss = np.zeros(k)
    extra = np.zeros((n, k))
    for i in range(r):
        s = p1[i]
        wi = w[i]
        if s >= 0:
            loss[s] += wi * (d2[i] - d1[i])
            lim = d2[i]
        else:
            lim = d1[i]
        for t in range(indptr[i], indptr[i + 1]):
            c = costs[t]
            if c >= lim:
                break
            j = cols[t]
            if c < d1[i]:
                gain[j] += wi * (d1[i] - c)
            if s >= 0:
                extra[j, s] += wi * (d2[i] - max(c, d1[i]))
    best_c, best_s, best_v = -1, -1, 0.0
    for j in range(n):
        if can_enter[j]:
            for s in range(k):
                v = gain[j] - loss[s] + extra[j, s]
                if v > best_v:
                    best_v = v
                    best_c = j
                    best_s = s
    return best_c, best_s, best_v


def _k_lagrange(indptr: NDArray[np.int64], cols: NDArray[np.int64], costs: NDArray[np.float64],
                w: NDArray[np.float64], lam: NDArray[np.float64], n: int) -> NDArray[np.float64]:
    """Reduced cost of opening each column: ``rho[j] = sum_i min(0, w_i c_ij - lam_i)``."""
    rho = np.zeros(n)
    for i in range(indptr.size - 1):
        li = lam[i]
        wi = w[i]
        for t in range(indptr[i], indptr[i + 1]):
            v = wi * costs[t] - li
            if v >= 0.0:
                break
            rho[cols[t]] += v
    return rho


def _k_subgradient(indptr: NDArray[np.int64], cols: NDArray[np.int64], costs: NDArray[np.float64],
                   w: NDArray[np.float64], lam: NDArray[np.float64], wfall: NDArray[np.float64],
                   chosen: NDArray[np.bool_]) -> NDArray[np.float64]:
    """``1 - (times row i is served in the relaxed answer)`` per row."""
    r = indptr.size - 1
    g = np.ones(r)
    for i in range(r):
        li = lam[i]
        wi = w[i]
        if wfall[i] < li:
            g[i] -= 1.0
        for t in range(indptr[i], indptr[i + 1]):
            if wi * costs[t] - li >= 0.0:
                break
            if chosen[cols[t]]:
                g[i] -= 1.0
    return g


def _k_nearest_k(starts: NDArray[np.int64], counts: NDArray[np.int64], cols: NDArray[np.int64],
                 costs: NDArray[np.float64], k: int
                 ) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64],
                            NDArray[np.float64]]:
    """Each listed row's ``k`` cheapest entries (rows numbered from 0), and its cheapest
    entry left out (``inf`` when none is)."""
    r = starts.size
    total = 0
    for i in range(r):
        total += min(counts[i], k)
    out_r = np.empty(total, dtype=np.int64)
    out_c = np.empty(total, dtype=np.int64)
    out_d = np.empty(total, dtype=np.float64)
    cut = np.full(r, np.inf)
    at = 0
    for i in range(r):
        s = starts[i]
        e = s + counts[i]
        if counts[i] <= k:
            for t in range(s, e):
                out_r[at] = i
                out_c[at] = cols[t]
                out_d[at] = costs[t]
                at += 1
            continue
        order = np.argsort(costs[s:e], kind="mergesort")
        for t in range(k):
            out_r[at] = i
            out_c[at] = cols[s + order[t]]
            out_d[at] = costs[s + order[t]]
            at += 1
        cut[i] = costs[s + order[k]]
    return out_r, out_c, out_d, cut


_K_SORT_ROWS = jit(_k_sort_rows)
_K_NEAREST_K = jit(_k_nearest_k)
_K_NEAREST2 = jit(_k_nearest2)
_K_GREEDY = jit(_k_greedy)
_K_BEST_SWAP = jit(_k_best_swap)
_K_LAGRANGE = jit(_k_lagrange)
_K_SUBGRADIENT = jit(_k_subgradient)

