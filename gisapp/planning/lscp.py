"""Set covering (LSCP): the fewest new sites that bring everyone, or a target share, within reach.

:func:`lscp` works on the demand x site cost matrix of :mod:`.location` (dense or sparse).
A demand row is *covered* when an open site's cost is at most ``threshold`` (a scalar or one
value per row).  Existing facilities (the ``fixed`` columns) are always open and not counted;
the model opens the fewest other columns so that the covered weight reaches
``target_share`` of the total weight.

Two solvers share one reduced problem (rows covered by existing sites, weightless rows and
rows no site reaches dropped; rows with the same set of covering sites merged, weights
summed):

* **exact**: one mixed-integer programme built in a single step from sparse arrays and solved
  by HiGHS through :func:`scipy.optimize.milp`.  Full cover::

      min sum_j x_j   s.t.  sum_j a_ij x_j >= 1 (each row),  x_j in {0, 1}

  partial cover (``target_share < 1``), with ``0 <= y_i <= 1`` the covered part of row i::

      min sum_j x_j   s.t.  y_i <= sum_j a_ij x_j,  sum_i w_i y_i >= need

  The heuristic runs first; the MIP then only looks for a cover with fewer sites (a cut-off
  row ``sum_j x_j <= heuristic - 1``), so an infeasible MIP proves the heuristic optimal.
  A full cover's MIP is the reduced problem without the columns that Lagrangian
  reduced-cost fixing rules out (see :meth:`_FullCover.mip`).
* **heuristic**, full cover: the rows and columns are reduced further (dominated rows and
  columns dropped, :func:`reduce_cover`), then :func:`.cover_lagrange.lagrange_cover`: the
  Lagrangian bound (subgradient optimisation, compiled) and a compiled iterated greedy
  weighted by the Lagrangian multipliers, stopping when the cover meets the bound (proven
  optimal).  When it does not and the reduced problem is small, the LP relaxation (HiGHS)
  may raise the bound.  At 20,000 x 1,000 (benchmark, seed 0) this gives 75 sites and the
  bound 69 (the LP's 68.53 rounded up; proven gap 8 %) in 14 s (the greedy/LP heuristic
  before: 80 sites in 22 s; spopt with HiGHS: 78 at its 300 s limit; the exact method's
  MIP finds nothing smaller in 300 s).
* **heuristic**, partial cover: lazy greedy (the site covering most uncovered weight),
  redundant sites removed, then an iterated greedy (drop one or two random sites, re-cover
  greedily, remove redundant sites; keep the result when it is no larger).  It then looks
  for a cover with one site fewer, again and again while the LP bound allows: a compiled
  (numba) tabu search of swaps (one site in, one out, scored by the weight covered) with
  that many sites, from the cover without its least useful site (then, two more tries,
  without a random one), until it covers the target.  On random instances (600 x 80 to
  2,000 x 200, 90 % target, seeds 0-5) it found the optimum every time.

With ``capacity`` (per column, the weight a site can serve) the capacitated covering model
(spopt's CLSCP-SO) is solved: every covered unit of weight is assigned to an open site within
reach and the weight assigned to a site is at most its capacity (a row's weight may be split
between sites)::

    min sum_{j new} x_j   s.t.  sum_j z_ij = w_i (full) or <= w_i with sum_ij z_ij >= need,
                                sum_i z_ij <= cap_j x_j,  x_j = 1 for existing sites

**Demand out of reach.**  Rows that no site reaches within the threshold (or, with capacities,
weight that even all sites open cannot serve) make a target of 1.0 impossible.  The model does
not give up: the target is lowered to the most any set of sites can cover, the answer is the
fewest sites covering that (everyone within reach of some site), and the result's ``status``
is ``"infeasible"`` so a caller can tell the target was not met (show
``error.lscp_target_unreachable`` with :func:`shortfall`).  Its ``optimal`` flag says whether
that lowered problem was solved to proven optimality.

The covering solvers of this module are shared with :mod:`.pcenter` and :mod:`.closures`;
the argument checks and result building all the models share are in :mod:`.location`.
"""

from __future__ import annotations

import heapq
import math
import time

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import Bounds, LinearConstraint, linprog, milp

from gisapp._errors import GisAppError
from gisapp.planning.cover_lagrange import lagrange_cover
from gisapp.planning.location import (
    AUTO_EXACT_MAX_NNZ,
    METHODS,
    CostInput,
    LocationResult,
    Method,
    Progress,
    as_csr,
    check_weights,
    entry_rows,
    expired,
    jit,
    make_result,
    remaining,
    report,
    start,
    thresholds,
    within,
)

__all__ = ["METHODS", "Method", "lscp", "shortfall"]

_REL_TOL = 1e-9
_SEED = 20261201
_LSCP_ITER = 1_000  # partial cover: tabu swap steps of a search for one site fewer
_LSCP_STARTS = 3  # ... from this many starts
_REDUCE_ROUNDS = 3  # full cover: rounds of row and column dominance ...
_REDUCE_MAX_OVERLAP = 60e6  # ... when the row-overlap product has at most this many pairs


def merge_rows(a: sp.csr_array, w: NDArray[np.float64]
               ) -> tuple[sp.csr_array, NDArray[np.float64], NDArray[np.int64]]:
    """Merge rows with the same set of columns, summing weights; also return row -> merged row."""
    n = int(a.shape[0])
    ident = np.arange(n, dtype=np.int64)
    if n < 2:
        return a, w, ident
    a = sp.csr_array(a)
    a.sort_indices()
    rng = np.random.default_rng(_SEED)
    ones = sp.csr_array((np.ones(a.nnz), a.indices, a.indptr), shape=a.shape)
    hashes = ones @ rng.random((int(a.shape[1]), 2))
    counts = np.diff(a.indptr)
    keys = np.column_stack([counts.astype(np.float64), hashes])
    _, first, inv = np.unique(keys, axis=0, return_index=True, return_inverse=True)
    inv = inv.ravel().astype(np.int64)
    if first.size == n:
        return a, w, ident
    rep = first[inv]
    off = np.arange(a.nnz) - np.repeat(a.indptr[:-1], counts)
    rep_pos = np.repeat(a.indptr[rep], counts) + off
    if not np.array_equal(a.indices, a.indices[rep_pos]):  # a hash collision: do not merge
        return a, w, ident
    merged = np.bincount(inv, weights=w, minlength=first.size).astype(np.float64)
    return sp.csr_array(a[first]), merged, inv


def run_milp(c: NDArray[np.float64], integrality: NDArray[np.float64], lower: NDArray[np.float64],
             upper: NDArray[np.float64], a: sp.csr_array, cl: NDArray[np.float64],
             cu: NDArray[np.float64], deadline: float | None, *, gap: float = 1e-9,
             presolve: bool = True) -> tuple[NDArray[np.float64] | None, float, int]:
    """Solve one MIP with HiGHS; return (solution or None, dual bound, status).

    Status: 0 optimal, 1 stopped at the time limit, 2 infeasible.
    """
    opts: dict[str, float | bool] = {"disp": False, "mip_rel_gap": gap, "presolve": presolve}
    left = remaining(deadline)
    if left is not None:
        opts["time_limit"] = max(left, 0.01)
    res = milp(c, integrality=integrality, bounds=Bounds(lower, upper),
               constraints=LinearConstraint(a, cl, cu), options=opts)
    if res.status not in (0, 1, 2):
        raise GisAppError(code="model_solver_failed",
                          params={"status": res.status, "message": res.message})
    dual = getattr(res, "mip_dual_bound", None)
    bound = float(dual) if dual is not None and np.isfinite(dual) else float("nan")
    if res.status == 0 and res.fun is not None:
        bound = float(res.fun) if not np.isfinite(bound) else bound
    x = None if res.x is None else np.asarray(res.x, dtype=np.float64)
    return x, bound, int(res.status)


# --------------------------------------------------------------------------- covering heuristic


class CoverState:
    """Sites of a (partial) set cover and how many sites cover each row, updated incrementally."""

    def __init__(self, csc: sp.csc_array, csr: sp.csr_array, w: NDArray[np.float64]) -> None:
        self.csc, self.csr, self.w = csc, csr, w
        self.m, self.n = (int(s) for s in csr.shape)
        self.count = np.zeros(self.m, dtype=np.int64)
        self.sel = np.zeros(self.n, dtype=bool)

    def rows(self, j: int) -> NDArray[np.int32]:
        """Return the rows column ``j`` covers."""
        rows: NDArray[np.int32] = self.csc.indices[self.csc.indptr[j]:self.csc.indptr[j + 1]]
        return rows

    def add(self, j: int) -> None:
        """Open column ``j``."""
        self.sel[j] = True
        self.count[self.rows(j)] += 1

    def drop(self, j: int) -> None:
        """Close column ``j``."""
        self.sel[j] = False
        self.count[self.rows(j)] -= 1

    def covered(self) -> float:
        """Return the weight of the covered rows."""
        return float(self.w[self.count > 0].sum())

    def copy_from(self, other: CoverState) -> None:
        """Take the sites and counts of ``other``."""
        self.count[:] = other.count
        self.sel[:] = other.sel

    def fill(self, need: float | None, score_w: NDArray[np.float64], rng: np.random.Generator,
             limit: int | None = None) -> bool:
        """Add sites by lazy greedy until ``need`` weight (None: every row) is covered.

        Scores are the ``score_w`` of the uncovered rows a site covers, with a tiny random
        tie-break.  Returns False if the target cannot be met (or ``limit`` sites are reached).
        """
        unc = np.flatnonzero(self.count == 0)
        if unc.size == 0:
            return True
        covered = float(self.w.sum() - self.w[unc].sum())
        tol = _REL_TOL * max(float(self.w.sum()), 1.0)
        if need is not None and covered >= need - tol:
            return True
        sub = self.csr[unc]
        bound = np.bincount(sub.indices, weights=np.repeat(score_w[unc], np.diff(sub.indptr)),
                            minlength=self.n)
        noise = 1.0 + 1e-7 * rng.random(self.n)
        bound[self.sel] = 0.0
        cand = np.flatnonzero(bound > 0)
        heap = list(zip((-(bound[cand] * noise[cand])).tolist(), cand.tolist(), strict=True))
        heapq.heapify(heap)
        n_sel = int(self.sel.sum())
        n_unc = int(unc.size)
        while heap:
            if limit is not None and n_sel >= limit:
                return False
            _, j = heapq.heappop(heap)
            rows = self.rows(j)
            free = rows[self.count[rows] == 0]
            gain = float(score_w[free].sum()) * noise[j]
            if gain <= 0:
                continue
            if heap and gain < -heap[0][0] * (1 - 1e-12):
                heapq.heappush(heap, (-gain, j))
                continue
            self.add(j)
            n_sel += 1
            covered += float(self.w[free].sum())
            n_unc -= int(free.size)
            if need is None:
                if n_unc == 0:
                    return True
            elif covered >= need - tol:
                return True
        return need is None and not (self.count == 0).any()

    def prune(self, need: float | None, rng: np.random.Generator) -> None:
        """Drop redundant sites (the cover stays complete, or above ``need``), one at a time."""
        tol = _REL_TOL * max(float(self.w.sum()), 1.0)
        while True:
            sel = np.flatnonzero(self.sel)
            if sel.size == 0:
                return
            sub = self.csc[:, sel]
            cnt = self.count[sub.indices]
            col = np.repeat(np.arange(sel.size), np.diff(sub.indptr))
            if need is None:
                low = np.full(sel.size, np.iinfo(np.int64).max)
                np.minimum.at(low, col, cnt)
                red = np.flatnonzero(low >= 2)
                if red.size == 0:
                    return
                self.drop(int(sel[red[rng.integers(red.size)]]))
            else:
                single = cnt == 1
                uniq = np.bincount(col[single], weights=self.w[sub.indices[single]],
                                   minlength=sel.size)
                slack = self.covered() - need + tol
                ok = np.flatnonzero(uniq <= slack)
                if ok.size == 0:
                    return
                self.drop(int(sel[ok[np.argmin(uniq[ok])]]))


def cover_heuristic(csr: sp.csr_array, w: NDArray[np.float64], need: float | None, *,
                    deadline: float | None = None, iters: int = 100, limit: int | None = None,
                    use_lp: bool = True, rf_seconds: float = 10.0, seed: int = _SEED
                    ) -> tuple[NDArray[np.int64] | None, float]:
    """Fewest columns covering every row (``need`` None) or ``need`` weight, heuristically.

    1. Lazy greedy, redundant sites removed.
    2. With ``use_lp``, LP relax-and-fix (full cover only): the LP relaxation (HiGHS) is
       solved; columns at 1 are fixed open and the rows they leave uncovered are covered by a
       small MIP restricted to the columns of the LP's support, stopped after ``rf_seconds``
       (a heuristic: other columns are not considered).
       The LP value, rounded up, is a lower bound on the optimum.
    3. An iterated greedy polishes the best cover: drop a random site and one to three sites
       sharing rows with it, re-cover greedily, remove redundant sites; keep the new cover
       when it is no larger.

    Stops after ``iters`` rounds, at ``deadline``, or as soon as the cover has at most
    ``limit`` sites.  Returns (columns or None when no cover exists, lower bound or nan).
    """
    csr = sp.csr_array(csr)
    csc = sp.csc_array(csr)
    csc.sort_indices()
    rng = np.random.default_rng(seed)
    score = np.ones_like(w) if need is None else w
    cur = CoverState(csc, csr, w)
    if not cur.fill(need, score, rng):
        return None, float("nan")
    cur.prune(need, rng)
    n_cur = int(cur.sel.sum())
    bound = float("nan")
    if use_lp and n_cur > 1 and not (limit is not None and n_cur <= limit) and not expired(deadline):
        lp_val, x = cover_relaxation(csr, w, need, deadline)
        if np.isfinite(lp_val):
            bound = float(math.ceil(lp_val - 1e-6))
        if limit is not None and lp_val > limit + 1e-7:
            return np.flatnonzero(cur.sel).astype(np.int64), bound  # no cover within limit
        if x is not None and bound < n_cur and need is None:
            sites = _relax_and_fix(csr, csc, w, need, x, deadline, rf_seconds)
            if sites is not None and sites.size < n_cur:
                cur.count[:] = 0
                cur.sel[:] = False
                for j in sites:
                    cur.add(int(j))
                cur.prune(need, rng)
                n_cur = int(cur.sel.sum())
    if need is not None and not (n_cur <= bound) and not (limit is not None and n_cur <= limit):
        tol = _REL_TOL * max(float(w.sum()), 1.0)
        sites = _shrink(csc, w, np.flatnonzero(cur.sel).astype(np.int64), need - tol, deadline)
        if sites.size < n_cur:
            cur.count[:] = 0
            cur.sel[:] = False
            for j in sites:
                cur.add(int(j))
            n_cur = int(sites.size)
    best = CoverState(csc, csr, w)
    best.copy_from(cur)
    n_best = n_cur
    trial = CoverState(csc, csr, w)
    for it in range(iters):
        if (limit is not None and n_best <= limit) or n_best <= 1 or expired(deadline) \
                or n_best <= bound:
            break
        trial.copy_from(cur)
        sel = np.flatnonzero(trial.sel)
        s = int(sel[rng.integers(sel.size)])
        near = csr[trial.rows(s)].indices
        near = np.unique(near[trial.sel[near] & (near != s)])
        r = min(int(near.size), 1 + it % 3)
        for j in [s, *rng.choice(near, size=r, replace=False).tolist()]:
            trial.drop(int(j))
        if not trial.fill(need, score, rng):
            continue
        trial.prune(need, rng)
        n_trial = int(trial.sel.sum())
        if n_trial <= int(cur.sel.sum()):
            cur.copy_from(trial)
            if n_trial < n_best:
                best.copy_from(trial)
                n_best = n_trial
    return np.flatnonzero(best.sel).astype(np.int64), bound


def _relax_and_fix(csr: sp.csr_array, csc: sp.csc_array, w: NDArray[np.float64],
                   need: float | None, x: NDArray[np.float64], deadline: float | None,
                   seconds: float) -> NDArray[np.int64] | None:
    """Columns at 1 in the LP fixed, the rest covered by a MIP on the LP's support."""
    one = np.flatnonzero(x > 1 - 1e-6)
    frac = np.flatnonzero((x > 1e-6) & (x <= 1 - 1e-6))
    covered = np.zeros(int(csr.shape[0]), dtype=bool)
    covered[sp.csc_array(csc[:, one]).indices] = True
    unc = np.flatnonzero(~covered)
    rest: float | None = None
    if need is not None:
        rest = need - float(w[covered].sum())
        if rest <= _REL_TOL * max(float(w.sum()), 1.0):
            return one
    elif unc.size == 0:
        return one
    if frac.size == 0:
        return None
    sub = sp.csr_array(csr[unc][:, frac])
    if need is None and (np.diff(sub.indptr) == 0).any():
        return None
    left = remaining(deadline)
    cap = time.perf_counter() + (seconds if left is None else min(seconds, max(left, 0.01)))
    sites, _, status = cover_mip(sub, w[unc], rest, max_sites=None, deadline=cap)
    if sites is None or status == 2:
        return None
    return np.concatenate([one, frac[sites]]).astype(np.int64)


def cover_relaxation(csr: sp.csr_array, w: NDArray[np.float64], need: float | None,
                     deadline: float | None) -> tuple[float, NDArray[np.float64] | None]:
    """LP relaxation of the covering problem: (value, x) — (inf, None) when infeasible."""
    m, n = (int(s) for s in csr.shape)
    if m == 0:
        return 0.0, np.zeros(n)
    a = sp.csr_array(csr, dtype=np.float64)
    opts: dict[str, float | bool] = {"disp": False}
    left = remaining(deadline)
    if left is not None:
        opts["time_limit"] = max(left, 0.01)
    if need is None:
        if (np.diff(csr.indptr) == 0).any():
            return float("inf"), None
        res = linprog(np.ones(n), A_ub=-a, b_ub=-np.ones(m), bounds=(0.0, 1.0), method="highs",
                      options=opts)
    else:
        coupling = sp.hstack([-a, sp.identity(m, format="csr")], format="csr")
        wrow = sp.csr_array(np.concatenate([np.zeros(n), -w])[None, :])
        res = linprog(np.concatenate([np.ones(n), np.zeros(m)]),
                      A_ub=sp.vstack([coupling, wrow], format="csr"),
                      b_ub=np.concatenate([np.zeros(m), [-need]]), bounds=(0.0, 1.0),
                      method="highs", options=opts)
    if res.status == 2:
        return float("inf"), None
    if res.status != 0 or res.x is None:
        return float("nan"), None
    return float(res.fun), np.asarray(res.x[:n], dtype=np.float64)


def swap_search(csc: sp.csc_array, w: NDArray[np.float64], open_mask: NDArray[np.bool_],
                group: NDArray[np.int64], deadline: float | None, *,
                stop_at: float | None = None, max_swaps: int = 500) -> NDArray[np.bool_]:
    """Best-improvement swaps (one column out, one in, inside a group) raising covered weight.

    For the open set S with ``cnt_i`` open columns covering row i, swapping s out and c in
    changes coverage by ``gain[c] - loss[s] + shared[c, s]``: ``gain`` the weight of
    uncovered rows c covers, ``loss`` the weight only s covers, ``shared`` the weight only s
    covers that c covers too (a sparse product ``A^T diag(w [cnt = 1]) A``).  Every swap of a
    group is scored at once; the best improving swap is applied until none improves, the
    covered weight reaches ``stop_at``, or ``max_swaps``.
    """
    open_mask = open_mask.copy()
    tol = 1e-12 * max(float(w.sum()), 1.0)
    groups = np.unique(group)
    for _ in range(max_swaps):
        if expired(deadline):
            break
        cnt = np.asarray(csc @ open_mask.astype(np.int64), dtype=np.int64)
        if stop_at is not None and float(w[cnt > 0].sum()) >= stop_at:
            break
        gain = csc.T @ np.where(cnt == 0, w, 0.0)
        single = np.where(cnt == 1, w, 0.0)
        loss = csc.T @ single
        best_d, best_pair = tol, None
        for grp in groups:
            ins = np.flatnonzero((group == grp) & ~open_mask)
            outs = np.flatnonzero((group == grp) & open_mask)
            if ins.size == 0 or outs.size == 0:
                continue
            a_in = sp.csc_array(csc[:, ins])
            a_out = sp.csc_array(csc[:, outs])
            shared = (a_in.T @ sp.diags_array(single) @ a_out).toarray() \
                if single.any() else np.zeros((ins.size, outs.size))
            delta = gain[ins][:, None] - loss[outs][None, :] + shared
            k = int(np.argmax(delta))
            ci, so = divmod(k, outs.size)
            if delta[ci, so] > best_d:
                best_d, best_pair = float(delta[ci, so]), (int(ins[ci]), int(outs[so]))
        if best_pair is None:
            break
        open_mask[best_pair[0]], open_mask[best_pair[1]] = True, False
    return open_mask


def _shrink(csc: sp.csc_array, w: NDArray[np.float64], sites: NDArray[np.int64], need: float,
            deadline: float | None) -> NDArray[np.int64]:
    """Partial cover: drop the site adding least, swap to regain ``need``; repeat while it works."""
    n = int(csc.shape[1])
    group = np.zeros(n, dtype=np.int64)
    while sites.size > 1 and not expired(deadline):
        mask = np.zeros(n, dtype=bool)
        mask[sites] = True
        cnt = np.asarray(csc @ mask.astype(np.int64), dtype=np.int64)
        uniq = (csc.T @ np.where(cnt == 1, w, 0.0))[sites]
        mask[sites[int(np.argmin(uniq))]] = False
        mask = swap_search(csc, w, mask, group, deadline, stop_at=need)
        cnt = np.asarray(csc @ mask.astype(np.int64), dtype=np.int64)
        if float(w[cnt > 0].sum()) < need:
            break
        sites = np.flatnonzero(mask).astype(np.int64)
    return sites


def reduce_cover(a: sp.csr_array, *, max_rows: int = 20_000, rounds: int = 1
                 ) -> tuple[sp.csr_array, NDArray[np.int64]]:
    """Drop dominated rows and columns of a full (unit-cost) set-cover problem.

    A row whose set of columns contains another row's set is covered whenever that row is;
    a column whose rows are a subset of another column's rows (the lower index kept among
    equal columns) is never needed.  ``rounds`` rounds of each.  Rows must have distinct sets (see
    :func:`merge_rows`).  Skipped above ``max_rows`` rows (the row-overlap product grows as
    rows squared).  Returns the reduced matrix and the original index of each kept column.
    """
    cols = np.arange(int(a.shape[1]), dtype=np.int64)
    if int(a.shape[0]) > max_rows:
        return a, cols
    for _ in range(rounds):
        ai = sp.csr_array(a, dtype=np.int32)
        size = np.diff(ai.indptr)
        ov = sp.coo_array(ai @ ai.T)
        dom = (ov.row != ov.col) & (ov.data == size[ov.row]) & (size[ov.row] < size[ov.col])
        drop_r = np.zeros(int(a.shape[0]), dtype=bool)
        drop_r[ov.col[dom]] = True
        a = sp.csr_array(a[np.flatnonzero(~drop_r)])
        ac = sp.csc_array(a, dtype=np.int32)
        csize = np.diff(ac.indptr)
        cv = sp.coo_array(ac.T @ ac)
        r, c = cv.row, cv.col  # r dominated by c when rows(r) is a subset of rows(c)
        dom_c = (r != c) & (cv.data == csize[r]) & ((csize[r] < csize[c]) | (r > c))
        drop_c = np.zeros(int(a.shape[1]), dtype=bool)
        drop_c[r[dom_c]] = True
        drop_c |= csize == 0
        keep = np.flatnonzero(~drop_c)
        a = sp.csr_array(a[:, keep])
        cols = cols[keep]
        if not drop_r.any() and not drop_c.any():
            break
    return a, cols


def cover_mip(csr: sp.csr_array, w: NDArray[np.float64], need: float | None, *,
              max_sites: int | None, deadline: float | None
              ) -> tuple[NDArray[np.int64] | None, float, int]:
    """Fewest columns covering every row (``need`` None) or ``need`` weight, by MIP.

    ``max_sites`` adds the row ``sum_j x_j <= max_sites``.  Returns (columns or None, lower
    bound on the number of columns, status: 0 optimal, 1 time limit, 2 infeasible).
    """
    m, n = (int(s) for s in csr.shape)
    a = sp.csr_array(csr, dtype=np.float64)
    count_row = sp.csr_array((np.ones(n), np.arange(n), np.array([0, n])), shape=(1, n))
    if need is None:
        big = a
        cl, cu = np.ones(m), np.full(m, np.inf)
        c = np.ones(n)
        integ = np.ones(n)
        lo, hi = np.zeros(n), np.ones(n)
        if max_sites is not None:
            big = sp.csr_array(sp.vstack([a, count_row], format="csr"))
            cl, cu = np.append(cl, 0.0), np.append(cu, float(max_sites))
    else:  # variables x (n) then y (m)
        coupling = sp.hstack([-a, sp.identity(m, format="csr")], format="csr")
        wrow = sp.csr_array(np.concatenate([np.zeros(n), w])[None, :])
        blocks = [coupling, wrow]
        cl = np.concatenate([np.full(m, -np.inf), [need]])
        cu = np.concatenate([np.zeros(m), [np.inf]])
        if max_sites is not None:
            blocks.append(sp.hstack([count_row, sp.csr_array((1, m))], format="csr"))
            cl, cu = np.append(cl, 0.0), np.append(cu, float(max_sites))
        big = sp.csr_array(sp.vstack(blocks, format="csr"))
        c = np.concatenate([np.ones(n), np.zeros(m)])
        integ = np.concatenate([np.ones(n), np.zeros(m)])
        lo, hi = np.zeros(n + m), np.ones(n + m)
    x, bound, status = run_milp(c, integ, lo, hi, big, cl, cu, deadline)
    sites = None if x is None else np.flatnonzero(x[:n] > 0.5).astype(np.int64)
    return sites, bound, status


def cover_lp(csr: sp.csr_array, deadline: float | None) -> float:
    """Return the LP relaxation of the full set cover (fewest sites, fractional); inf if none."""
    return cover_relaxation(csr, np.ones(int(csr.shape[0])), None, deadline)[0]


# --------------------------------------------------------------------------- capacitated


def _cap_array(capacity: ArrayLike, n_cols: int, total: float, fn: str) -> NDArray[np.float64]:
    cap = np.asarray(capacity, dtype=np.float64)
    if cap.ndim == 0:
        cap = np.full(n_cols, float(cap))
    if cap.shape != (n_cols,):
        raise GisAppError(code="model_capacity_shape",
                          params={"fn": fn, "n": n_cols, "shape": str(cap.shape)})
    if np.isnan(cap).any() or (cap < 0).any():
        raise GisAppError(code="model_capacity_values", params={"fn": fn})
    return np.minimum(cap, max(total, 1.0) * 2.0)


def _flow_lp(a: sp.csr_array, w: NDArray[np.float64], cap: NDArray[np.float64],
             open_mask: NDArray[np.bool_]) -> tuple[float, NDArray[np.float64]]:
    """Most weight open sites can serve within reach and capacity: (value, flow per pair of ``a``)."""
    m, n, nnz = int(a.shape[0]), int(a.shape[1]), int(a.nnz)
    pc = a.indices.astype(np.int64)
    ub = np.where(open_mask[pc], np.repeat(w, np.diff(a.indptr)), 0.0)
    rows = sp.csr_array((np.ones(nnz), np.arange(nnz), a.indptr), shape=(m, nnz))
    cols = sp.csr_array((np.ones(nnz), (pc, np.arange(nnz))), shape=(n, nnz))
    res = linprog(-np.ones(nnz), A_ub=sp.vstack([rows, cols], format="csr"),
                  b_ub=np.concatenate([w, np.where(open_mask, cap, 0.0)]),
                  bounds=np.column_stack([np.zeros(nnz), ub]), method="highs-ipm")
    if res.status != 0:
        raise GisAppError(code="model_solver_failed",
                          params={"status": res.status, "message": res.message})
    return -float(res.fun), np.asarray(res.x, dtype=np.float64)


def _cap_heuristic(a: sp.csr_array, w: NDArray[np.float64], cap: NDArray[np.float64],
                   fx: NDArray[np.bool_], need: float, deadline: float | None,
                   max_prune: int = 4) -> tuple[NDArray[np.bool_], float]:
    """Capacitated cover heuristic: greedy by capacity-limited gain, checked by a flow LP.

    Sites are added by the gain ``min(capacity, unserved weight within reach)``, each
    serving that much in proportion from the rows it reaches (existing sites first), until
    the greedy serves ``need``; the assignment LP then checks it, and while the LP serves
    less, the site gaining most from the LP's unserved weight is added.  Finally up to
    ``max_prune`` of the least-used new sites are tried for closing (one LP each).
    Returns the open sites and the weight they serve.
    """
    tol = 1e-7 * max(float(w.sum()), 1.0)
    csc = sp.csc_array(a)
    csc.sort_indices()
    open_mask = fx.copy()
    resid = w.copy()
    served = 0.0

    def drain(j: int) -> float:
        rows = csc.indices[csc.indptr[j]:csc.indptr[j + 1]]
        avail = float(resid[rows].sum())
        take = min(avail, float(cap[j]))
        if avail > 0:
            resid[rows] *= 1.0 - take / avail
        return take

    for jf in np.flatnonzero(fx).tolist():
        served += drain(jf)
    while served < need - tol:
        gain = np.minimum(csc.T @ resid, cap)
        gain[open_mask] = -1.0
        j = int(np.argmax(gain))
        if gain[j] <= tol:
            break
        open_mask[j] = True
        served += drain(j)
    value, flow = _flow_lp(a, w, cap, open_mask)
    while value < need - tol:
        got = np.bincount(entry_rows(a), weights=flow, minlength=a.shape[0])
        gain = np.minimum(csc.T @ np.clip(w - got, 0.0, None), cap)
        gain[open_mask] = -1.0
        j = int(np.argmax(gain))
        if gain[j] <= tol:
            break
        open_mask[j] = True
        value, flow = _flow_lp(a, w, cap, open_mask)
    used = np.bincount(a.indices, weights=flow, minlength=a.shape[1])
    tries = 0
    for j in np.argsort(used, kind="stable"):
        if expired(deadline) or tries >= max_prune:
            break
        if not open_mask[j] or fx[j]:
            continue
        tries += 1
        open_mask[j] = False
        v2, _ = _flow_lp(a, w, cap, open_mask)
        if v2 < need - tol:
            open_mask[j] = True
        else:
            value = v2
    return open_mask, value


def _cap_mip(a: sp.csr_array, w: NDArray[np.float64], cap: NDArray[np.float64],
             fx: NDArray[np.bool_], need: float, full: bool, max_new: int | None,
             deadline: float | None) -> tuple[NDArray[np.bool_] | None, float, int]:
    """Capacitated covering MIP: (open mask or None, lower bound on new sites, status)."""
    m, n, nnz = int(a.shape[0]), int(a.shape[1]), int(a.nnz)
    pc = a.indices.astype(np.int64)
    # variables: x (n) then z (nnz, one per covering pair, CSR order)
    rows = sp.csr_array((np.ones(nnz), np.arange(nnz) + n, a.indptr), shape=(m, n + nnz))
    cols = sp.csr_array((np.concatenate([-cap, np.ones(nnz)]),
                         (np.concatenate([np.arange(n), pc]),
                          np.concatenate([np.arange(n), n + np.arange(nnz)]))),
                        shape=(n, n + nnz))
    blocks = [rows, cols]
    cl = np.concatenate([w if full else np.full(m, -np.inf), np.full(n, -np.inf)])
    cu = np.concatenate([w, np.zeros(n)])
    if not full:
        blocks.append(sp.csr_array(np.concatenate([np.zeros(n), np.ones(nnz)])[None, :]))
        cl, cu = np.append(cl, need), np.append(cu, np.inf)
    if max_new is not None:
        blocks.append(sp.csr_array(np.concatenate([(~fx).astype(np.float64), np.zeros(nnz)])[None, :]))
        cl, cu = np.append(cl, 0.0), np.append(cu, float(max_new))
    big = sp.csr_array(sp.vstack(blocks, format="csr"))
    c = np.concatenate([(~fx).astype(np.float64), np.zeros(nnz)])
    lo = np.concatenate([fx.astype(np.float64), np.zeros(nnz)])
    hi = np.concatenate([np.ones(n), np.repeat(w, np.diff(a.indptr))])
    integ = np.concatenate([np.ones(n), np.zeros(nnz)])
    # HiGHS' presolve is slow on this model (70 s against 3 s without it on 2,000 x 200
    # random instances) and does not stop at the time limit
    x, bound, status = run_milp(c, integ, lo, hi, big, cl, cu, deadline, presolve=False)
    mask = None if x is None else (x[:n] > 0.5) | fx
    return mask, bound, status


# --------------------------------------------------------------------------- the model


def shortfall(cost: CostInput, weights: ArrayLike, threshold: float | ArrayLike) -> tuple[float, int]:
    """Return the weight and the number of rows (weight > 0) no column reaches within ``threshold``.

    Use it to explain an ``"infeasible"`` set-covering result (``error.lscp_target_unreachable``).
    """
    csr = as_csr(cost)
    w = check_weights(weights, int(csr.shape[0]))
    cov = within(csr, thresholds(threshold, int(csr.shape[0]), "lscp"))
    out = (np.diff(cov.indptr) == 0) & (w > 0)
    return float(w[out].sum()), int(out.sum())


def lscp(
    cost: CostInput,
    weights: ArrayLike,
    threshold: float | ArrayLike,
    *,
    fixed: ArrayLike | None = None,
    target_share: float = 1.0,
    capacity: ArrayLike | None = None,
    method: Method = "auto",
    time_limit_s: float | None = None,
    progress: Progress | None = None,
) -> LocationResult:
    """Set covering: the fewest new sites bringing ``target_share`` of the weight within ``threshold``.

    Parameters
    ----------
    cost
        Demand x site costs (dense with ``inf`` out of reach, sparse, or a CostMatrix).
    weights
        Weight (people) per demand row, non-negative.
    threshold
        Largest cost that counts as covered: a scalar or one value per row.
    fixed
        Existing sites (mask or column indices): always open, not counted.
    target_share
        Share (0, 1] of the total weight to cover, existing coverage included; 1.0 means
        everyone.
    capacity
        Weight each site (every column, existing ones included) can serve; scalar or per
        column, ``inf`` for no limit.  Gives the capacitated model (weight of a row may be
        split between sites within reach).
    method
        ``"exact"`` (MIP), ``"heuristic"`` (greedy + iterated greedy) or ``"auto"``: exact up
        to 400,000 covering pairs after reduction, else heuristic.
    time_limit_s
        Stop the exact solve after about this many seconds: the best cover found (never worse
        than the heuristic one) with ``status="time_limit"``, ``optimal=False`` and the gap to
        the MIP's lower bound.
    progress
        Called as ``progress(fraction, stage)``.

    Returns
    -------
    LocationResult
        ``model="lscp"``; ``opened`` the new columns; ``objective`` their number; ``bound`` a
        lower bound; ``assignment`` each row's nearest open site (capacitated: the site serving
        most of its weight); ``flows`` the weight served per pair (capacitated).  ``status`` is
        ``"infeasible"`` when the target cannot be met even with every site open: the answer
        then covers as much as possible (see the module notes).

    Raises
    ------
    GisAppError
        On invalid inputs.

    Examples
    --------
    >>> cost = np.array([[1.0, 9.0, 9.0], [1.0, 1.0, 9.0], [9.0, 1.0, 9.0], [9.0, 9.0, 1.0]])
    >>> res = lscp(cost, [1.0, 1.0, 1.0, 1.0], 2.0)
    >>> res.opened.tolist(), res.objective, res.status
    ([0, 1, 2], 3.0, 'optimal')
    >>> lscp(cost, [1.0, 1.0, 1.0, 1.0], 2.0, fixed=[2]).objective
    2.0
    """
    fn = "lscp"

    def check_share(_fx: NDArray[np.bool_]) -> None:
        if isinstance(target_share, bool) \
                or not (np.isfinite(target_share) and 0 < target_share <= 1):
            raise GisAppError(code="bad_target_fraction", params={"fn": fn, "share": target_share})

    st0 = start(fn, cost, weights, fixed, method=method, time_limit_s=time_limit_s,
                progress=progress, threshold=threshold, check=check_share)
    csr, w_all, fx, deadline, t0 = st0.csr, st0.weights, st0.fixed, st0.deadline, st0.t0
    cover = st0.within()
    m_all, n_all = (int(s) for s in csr.shape)
    total = float(w_all.sum())
    tol = _REL_TOL * max(total, 1.0)
    need_all = float(target_share) * total
    if capacity is not None:
        return _lscp_capacitated(csr, cover, w_all, fx, _cap_array(capacity, n_all, total, fn),
                                 need_all, method, deadline, progress, t0)
    reach = (np.diff(cover.indptr) > 0) & (w_all > 0)
    reach_w = float(w_all[reach].sum())
    infeasible = need_all > reach_w + tol
    need = min(need_all, reach_w)
    rows_all = entry_rows(cover)
    by_fixed = np.zeros(m_all, dtype=bool)
    by_fixed[rows_all[fx[cover.indices]]] = True
    base = float(w_all[by_fixed & reach].sum())
    left_rows = np.flatnonzero(reach & ~by_fixed)
    cand = np.flatnonzero(~fx)
    need_left = need - base
    t_build = time.perf_counter()
    status = "infeasible" if infeasible else "optimal"
    if need_left <= tol or left_rows.size == 0:
        return st0.result("lscp", fx, t_build=t_build, opened=[], closed=[], objective=0.0,
                          method="exact" if method != "heuristic" else "heuristic",
                          optimal=True, bound=0.0, status=status)
    sub = sp.csr_array(cover[left_rows][:, cand])
    sub, w_red, _ = merge_rows(sub, w_all[left_rows])
    full = need_left >= float(w_red.sum()) - tol
    target = None if full else need_left
    t_build = time.perf_counter()
    report(progress, 0.1, "heuristic")
    if method == "auto":
        method = "exact" if sub.nnz <= AUTO_EXACT_MAX_NNZ else "heuristic"
    full_cover = None
    if target is None:
        full_cover = _FullCover(sub, deadline)
        best, bound = full_cover.best, full_cover.bound
    else:
        heur, bound = cover_heuristic(sub, w_red, target, deadline=deadline)
        if heur is None:  # cannot happen: every kept row is reachable
            raise GisAppError(code="model_solver_failed",
                              params={"status": -1, "message": "cover"})
        best = heur
    optimal = bool(bound >= best.size)
    if target is not None and not optimal:
        best = _fewer_by_swaps(sub, w_red, target - tol, best, bound, deadline)
        optimal = bool(bound >= best.size)
    if method == "exact" and not optimal:
        report(progress, 0.3, "solve")
        if expired(deadline):
            status = "time_limit" if not infeasible else status
        else:
            if full_cover is not None:
                sites, lb, st = full_cover.mip(deadline)
            else:
                sites, lb, st = cover_mip(sub, w_red, target, max_sites=int(best.size) - 1,
                                          deadline=deadline)
            if st == 2:  # nothing smaller than the heuristic cover exists
                optimal, bound = True, float(best.size)
            else:
                if sites is not None and sites.size < best.size:
                    best = sites
                if np.isfinite(lb):
                    mip_lb = float(math.ceil(lb - 1e-6))
                    bound = mip_lb if math.isnan(bound) else max(bound, mip_lb)
                optimal = st == 0 or (np.isfinite(bound) and bound >= best.size)
                if not optimal and not infeasible:
                    status = "time_limit"
    elif not infeasible and not optimal:
        status = "feasible"
    opened = cand[best]
    open_mask = fx.copy()
    open_mask[opened] = True
    return st0.result("lscp", open_mask, t_build=t_build, opened=np.sort(opened), closed=[],
                      objective=float(opened.size),
                      method="exact" if method == "exact" else "heuristic", optimal=optimal,
                      bound=bound, status=status)


class _FullCover:
    """Full cover of the reduced problem: Lagrangian bound, local search, then a MIP if asked.

    The rows (already merged) and columns are reduced (:func:`reduce_cover`, skipped when the
    row-overlap product would exceed :data:`_REDUCE_MAX_OVERLAP` pairs); the Lagrangian
    bound and a cover come from :func:`.cover_lagrange.lagrange_cover`; while the cover does
    not meet the bound, the LP relaxation (HiGHS) is tried too on a reduced problem of at
    most :data:`AUTO_EXACT_MAX_NNZ` pairs (the Lagrangian bound only approaches the LP's).
    """

    def __init__(self, sub: sp.csr_array, deadline: float | None) -> None:
        a = sp.csr_array(sub)
        col_size = np.diff(sp.csc_array(a).indptr).astype(np.float64)
        cols = np.arange(int(a.shape[1]), dtype=np.int64)
        if float((col_size ** 2).sum()) <= _REDUCE_MAX_OVERLAP:
            a, cols = reduce_cover(a, rounds=_REDUCE_ROUNDS)
        self.a, self.cols = a, cols
        lag = lagrange_cover(a, deadline=deadline)
        self.lag = lag
        self.best = np.sort(cols[lag.cover]).astype(np.int64)
        self.bound = lag.lower
        if self.bound < self.best.size and a.nnz <= AUTO_EXACT_MAX_NNZ and not expired(deadline):
            lp_val, _ = cover_relaxation(a, np.ones(int(a.shape[0])), None, deadline)
            if np.isfinite(lp_val):
                self.bound = max(self.bound, float(math.ceil(lp_val - 1e-6)))

    def mip(self, deadline: float | None) -> tuple[NDArray[np.int64] | None, float, int]:
        """A cover with fewer columns than :attr:`best`, by MIP: (columns or None, bound, status).

        Lagrangian reduced-cost fixing first: with ``L`` the bound and ``rc_j`` a column's
        reduced cost, every cover uses at least ``L + sum rc_j`` (over its columns with
        ``rc_j > 0``) columns, so a column with ``rc_j > best - 1 - L`` is in no cover of
        ``best - 1`` columns and is left out.  Status 2 (infeasible) proves :attr:`best`
        optimal.
        """
        a, lag = self.a, self.lag
        k = int(self.best.size) - 1
        rc = 1.0 - np.asarray(sp.csr_array(a, dtype=np.float64).T @ lag.u)
        keep = np.flatnonzero(rc <= k - lag.bound + 1e-6)
        sub = sp.csr_array(sp.csc_array(a)[:, keep])
        if (np.diff(sub.indptr) == 0).any():  # some row has no column left
            return None, float(self.best.size), 2
        sites, lb, st = cover_mip(sub, np.ones(int(sub.shape[0])), None, max_sites=k,
                                  deadline=deadline)
        if sites is not None:
            sites = np.sort(self.cols[keep[sites]]).astype(np.int64)
        return sites, min(lb, float(self.best.size)) if np.isfinite(lb) else lb, st


def _fewer_by_swaps(sub: sp.csr_array, w: NDArray[np.float64], need: float,
                    best: NDArray[np.int64], bound: float, deadline: float | None
                    ) -> NDArray[np.int64]:
    """Partial cover: look for a cover with one site fewer, as long as the bound allows.

    Start from the cover without its least useful site (then without a random one) and
    run a compiled tabu swap search (:func:`_k_max_cover`) for that many sites reaching
    ``need``; each success is the new answer and the search goes one site lower.
    """
    csr = sp.csr_array(sub)
    csr.sort_indices()
    csc = sp.csc_array(csr)
    csc.sort_indices()
    rptr, rcol = csr.indptr.astype(np.int64), csr.indices.astype(np.int64)
    cptr, crow = csc.indptr.astype(np.int64), csc.indices.astype(np.int64)
    rng = np.random.default_rng(_SEED)
    floor = max(bound if np.isfinite(bound) else 0.0, 1.0)
    while best.size - 1 >= floor and not expired(deadline):
        mask = np.zeros(int(csr.shape[1]), dtype=bool)
        mask[best] = True
        cnt = np.asarray(csc @ mask.astype(np.int64), dtype=np.int64)
        uniq = (csc.T @ np.where(cnt == 1, w, 0.0))[best]
        found = None
        for attempt in range(_LSCP_STARTS):
            drop = int(np.argmin(uniq)) if attempt == 0 else int(rng.integers(best.size))
            start = np.delete(best, drop)
            ok, sel = _K_MAX_COVER(cptr, crow, rptr, rcol, w, start, need, _LSCP_ITER,
                                   int(rng.integers(1 << 30)))
            trial = np.zeros(int(csr.shape[1]), dtype=np.int64)
            trial[np.asarray(sel, dtype=np.int64)] = 1
            if ok and float(w[np.asarray(csr @ trial) > 0].sum()) >= need:  # recounted
                found = np.sort(np.asarray(sel, dtype=np.int64))
                break
            if expired(deadline):
                break
        if found is None:
            break
        best = found
    return best


def _lscp_capacitated(csr: sp.csr_array, cover: sp.csr_array, w_all: NDArray[np.float64],
                      fx: NDArray[np.bool_], cap: NDArray[np.float64], need_all: float,
                      method: str, deadline: float | None, progress: Progress | None,
                      t0: float) -> LocationResult:
    """Capacitated set covering (CLSCP-SO): see :func:`lscp`."""
    m_all, n_all = (int(s) for s in csr.shape)
    tol = 1e-7 * max(float(w_all.sum()), 1.0)
    keep = (np.diff(cover.indptr) > 0) & (w_all > 0)
    rows = np.flatnonzero(keep)
    sub, w_red, inv = merge_rows(sp.csr_array(cover[rows]), w_all[rows])
    sub.sort_indices()
    t_build = time.perf_counter()
    report(progress, 0.1, "heuristic")
    if method == "auto":
        method = "exact" if sub.nnz <= AUTO_EXACT_MAX_NNZ // 4 else "heuristic"
    open_mask, value = _cap_heuristic(sub, w_red, cap, fx, need_all - tol, deadline)
    need = need_all
    if value < need_all - tol:  # the heuristic stopped short: is the target out of reach?
        most, _ = _flow_lp(sub, w_red, cap, np.ones(n_all, dtype=bool))
        need = min(need_all, most)
        if value < need - tol:
            open_mask, value = _cap_heuristic(sub, w_red, cap, fx, need - tol, deadline)
    infeasible = need_all > need + tol
    full = not infeasible and need >= float(w_red.sum()) - tol
    bound, optimal = float("nan"), False
    status = "infeasible" if infeasible else ("optimal" if method == "exact" else "feasible")
    n_heur = int((open_mask & ~fx).sum())
    if method == "exact" and n_heur > 0:
        report(progress, 0.3, "solve")
        if expired(deadline):
            status = status if infeasible else "time_limit"
        else:
            mask, lb, st = _cap_mip(sub, w_red, cap, fx, need - tol, full, n_heur - 1, deadline)
            if st == 2:
                optimal, bound = True, float(n_heur)
            else:
                if mask is not None and int((mask & ~fx).sum()) < n_heur:
                    open_mask = mask
                n_new = int((open_mask & ~fx).sum())
                bound = math.ceil(lb - 1e-6) if np.isfinite(lb) else float("nan")
                optimal = st == 0 or (np.isfinite(bound) and bound >= n_new)
                if not optimal and not infeasible:
                    status = "time_limit"
    elif method == "exact":
        optimal, bound = True, 0.0
    _, flow = _flow_lp(sub, w_red, cap, open_mask)
    # spread each merged row's flow back over its rows, in proportion to their weights
    share = np.where(w_red > 0, 1.0, 0.0) / np.where(w_red > 0, w_red, 1.0)
    red = sp.csr_array((flow, sub.indices, sub.indptr), shape=sub.shape)
    per_row = sp.csr_array(red[inv].multiply((share[inv] * w_all[rows])[:, None]))
    flows = sp.csr_array(sp.vstack([per_row, sp.csr_array((m_all - rows.size, n_all))]))
    pick = np.concatenate([rows, np.setdiff1d(np.arange(m_all), rows)])
    flows = sp.csr_array(flows[np.argsort(pick)])
    flows.eliminate_zeros()
    assign = np.full(m_all, -1, dtype=np.int64)
    if flows.nnz:
        dense_rows = entry_rows(flows)
        order = np.lexsort((-flows.data, dense_rows))
        r_sorted = dense_rows[order]
        first = np.ones(r_sorted.size, dtype=bool)
        first[1:] = r_sorted[1:] != r_sorted[:-1]
        assign[r_sorted[first]] = flows.indices[order][first]
    opened = np.flatnonzero(open_mask & ~fx)
    report(progress, 1.0, "done")
    return make_result("lscp", opened=opened, closed=[], assignment=assign,
                       objective=float(opened.size),
                       method="exact" if method == "exact" else "heuristic", optimal=optimal,
                       bound=bound, status=status, t0=t0, t_build=t_build, flows=flows)


# --------------------------------------------------------------------------- compiled kernels


def _k_open_counts(cptr: NDArray[np.int64], crow: NDArray[np.int32 | np.int64],
                   clen: NDArray[np.int64],
                   active: NDArray[np.bool_], sel: NDArray[np.int64]
                   ) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Per row, how many columns of ``sel`` cover it and the sum of their indices.

    Column j covers the rows of its first ``clen[j]`` entries; rows not ``active`` count 0.
    """
    cnt = np.zeros(active.size, dtype=np.int64)
    sidx = np.zeros(active.size, dtype=np.int64)
    for j in sel:
        for t in range(cptr[j], cptr[j] + clen[j]):
            i = crow[t]
            if active[i]:
                cnt[i] += 1
                sidx[i] += j
    return cnt, sidx


def _k_max_cover(cptr: NDArray[np.int64], crow: NDArray[np.int64], rptr: NDArray[np.int64],
                 rcol: NDArray[np.int64], w: NDArray[np.float64], sel0: NDArray[np.int64],
                 need: float, max_iter: int, seed: int) -> tuple[bool, NDArray[np.int64]]:
    """Tabu swap search for ``sel0.size`` columns covering at least ``need`` weight.

    Every step makes the best swap (a column in, an open one out) by the covered weight:
    ``gain[c] - loss[s] + shared[c, s]`` with ``gain`` the uncovered weight c covers,
    ``loss`` the weight only s covers and ``shared`` the part of it c covers too, all kept
    up to date incrementally.  A column just dropped may not return (nor one just added
    leave) for 5-34 (2-11) random steps, unless the swap beats the best coverage seen.  Returns
    (reached, the columns: the first set reaching ``need``, else the best seen).
    """
    m = rptr.size - 1
    n = cptr.size - 1
    k = sel0.size
    np.random.seed(seed)
    sel = sel0.copy()
    insel = np.zeros(n, dtype=np.bool_)
    insel[sel] = True
    cnt, sidx = open_counts(cptr, crow, cptr[1:] - cptr[:-1], np.ones(m, dtype=np.bool_), sel)
    cov = 0.0
    gain = np.zeros(n)
    loss = np.zeros(n)
    for i in range(m):
        if cnt[i] == 0:
            for t in range(rptr[i], rptr[i + 1]):
                gain[rcol[t]] += w[i]
        else:
            cov += w[i]
            if cnt[i] == 1:
                loss[sidx[i]] += w[i]
    best_cov = cov
    best_sel = sel.copy()
    if cov >= need or k == 0:
        return cov >= need, sel
    shared = np.zeros((n, k))
    no_in = np.zeros(n, dtype=np.int64)
    no_out = np.zeros(n, dtype=np.int64)
    eps = 1e-12 * (1.0 + abs(need))
    for it in range(1, max_iter + 1):
        for q in range(k):
            s = sel[q]
            for t in range(cptr[s], cptr[s + 1]):
                i = crow[t]
                if cnt[i] == 1:
                    for r in range(rptr[i], rptr[i + 1]):
                        shared[rcol[r], q] += w[i]
        best = -np.inf
        bc = -1
        bq = -1
        ties = 0
        for c in range(n):
            if insel[c] or gain[c] <= 0.0:
                continue
            for q in range(k):
                s = sel[q]
                d = gain[c] - loss[s] + shared[c, q]
                if (no_in[c] > it or no_out[s] > it) and cov + d <= best_cov + eps:
                    continue
                if d > best + eps:
                    best, bc, bq, ties = d, c, q, 1
                elif d >= best - eps:
                    ties += 1
                    if np.random.randint(ties) == 0:
                        bc, bq = c, q
        shared[:, :] = 0.0
        if bc < 0:
            break
        s = sel[bq]
        for t in range(cptr[s], cptr[s + 1]):  # drop s
            i = crow[t]
            cnt[i] -= 1
            sidx[i] -= s
            if cnt[i] == 0:
                cov -= w[i]
                loss[s] -= w[i]
                for r in range(rptr[i], rptr[i + 1]):
                    gain[rcol[r]] += w[i]
            elif cnt[i] == 1:
                loss[sidx[i]] += w[i]
        for t in range(cptr[bc], cptr[bc + 1]):  # add bc
            i = crow[t]
            if cnt[i] == 0:
                cov += w[i]
                loss[bc] += w[i]
                for r in range(rptr[i], rptr[i + 1]):
                    gain[rcol[r]] -= w[i]
            elif cnt[i] == 1:
                loss[sidx[i]] -= w[i]
            cnt[i] += 1
            sidx[i] += bc
        insel[s] = False
        insel[bc] = True
        sel[bq] = bc
        no_in[s] = it + 5 + np.random.randint(30)
        no_out[bc] = it + 2 + np.random.randint(10)
        if cov > best_cov + eps:
            best_cov = cov
            best_sel[:] = sel
        if cov >= need:
            return True, sel
    return False, best_sel


open_counts = jit(_k_open_counts)
_K_MAX_COVER = jit(_k_max_cover)
