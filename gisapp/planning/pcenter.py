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

* **heuristic** — the p-center optimum is one of the distinct costs T; it is the smallest T
  for which p new sites (with the fixed ones) bring every row within T.  Farthest-first
  (repeatedly open the candidate nearest the worst-served row) gives a first answer; then a
  galloping descent over the distinct costs below it, each step a covering test "can p
  sites cover every row within T?" by a compiled (numba) swap search with row weights (a
  random uncovered row; the best swap of a candidate covering it in and an open site out,
  by the weight left uncovered; rows that stay uncovered gain weight; the just-moved sites
  are tabu for two steps).  A success lowers the answer to its true value and the next try
  goes twice as far below; just below the answer a short search, then the LP (below), then
  a longer search (10,000 steps, on the rows that matter only: covering them covers every
  row, and a step costs about a quarter) are tried, and when all three fail the search ends.  Each row's
  and each site's pairs are sorted by cost once, so a test at any T reads prefixes.  The
  ``bound`` is proven: a radius T is infeasible when a lower bound on the fewest sites
  covering every row within T exceeds p.  That bound is the Lagrangian one of the covering
  problem (:func:`.cover_lagrange.lagrange_bound`, compiled subgradient optimisation,
  warm-started from the multipliers of the previous radius) on the rows that matter (rows
  with the same sites merged, rows whose sites include another row's dropped: at 20,000 x
  1,000 about 6,000 rows and a third of the pairs remain, in a fifth of a second) and, up
  to a million covering pairs, the LP relaxation (dominated columns dropped too; the
  Lagrangian bound only approaches it).  Just below the answer a proof makes
  the answer optimal; otherwise proof attempts 1 %, 2 %, 4 %, ... below the answer until
  one succeeds, then a bisection over the distinct costs between it and the lowest failed
  one (3 attempts in all, 6 above a million covering pairs; the exact method 2 and 10)
  find a high cost proven infeasible, and
  the next distinct cost above it is the bound (at worst the largest of the rows' cheapest
  costs).  Above a million covering pairs the exact method also tries the LP of the rows
  the multipliers weigh most, adding the rows its solution leaves uncovered (a relaxation
  too).  At 20,000 x 1,000, p = 20 (seeds 0, 1, 2) the heuristic takes 21-33 s for radii
  of 1,555.5, 1,554.3 and 1,560.4 m with proven gaps of 7 % (with 2,000 steps on every row
  the long search gave up sooner: 1,576.0, 1,572.0 and 1,560.4 m in 20-24 s).
* **exact** — the heuristic's descent first (with a time limit exactly the heuristic's,
  its quick bound included, so that a short limit still ends with a proven gap), then covering MIPs (HiGHS,
  :func:`scipy.optimize.milp`) at the distinct cost just below the incumbent until one is
  infeasible, which proves the incumbent optimal; a feasible MIP gives a better incumbent
  (its true value, often several steps lower) and the next MIP goes just below that.  This
  is much smaller than the classic assignment MIP (one variable per pair plus the maximum),
  which spopt solves.  Above 400,000 covering pairs the MIP covers some rows only (row
  generation, as Contardo, Iori and Kramer 2019 do for large p-center problems): the rows
  the Lagrangian multipliers weigh most and rows with disjoint site sets, reduced (merged,
  dominated rows and columns dropped, Lagrangian reduced-cost fixing with at most p
  sites); infeasible is a proof for every row, a cover of the rows is topped up to p sites
  and handed to the swap search of every row (a success is a better incumbent), else rows
  its sites leave out join.  With a time limit these MIP tests get 70 % of the time left
  after the heuristic's descent, then the bound's proof attempts run, then MIP tests
  again.  At 20,000 x 1,000, p = 20 (seed 0, 300 s): radius 1,555 m (the heuristic's
  1,576 m) with a proven gap of 3.2 % (before: 1,576 m, 4.5 %).

A solution covering within T with fewer than p sites is topped up to p sites farthest-first
(never worse, better for the rows after the worst one).
"""

from __future__ import annotations

import time

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike, NDArray

from gisapp._errors import GisAppError
from gisapp.planning.cover_lagrange import lagrange_bound
from gisapp.planning.location import (
    AUTO_EXACT_MAX_NNZ,
    CostInput,
    LocationResult,
    Method,
    Progress,
    expired,
    jit,
    nearest,
    remaining,
    report,
    start,
)
from gisapp.planning.lscp import (
    cover_lp,
    cover_mip,
    cover_relaxation,
    merge_rows,
    open_counts,
    reduce_cover,
)

__all__ = ["p_center"]


_SEARCH_ITER = 10_000  # swap steps of a covering test just below the answer before it gives up
# (on the rows that matter: at 20,000 x 1,000 about 5 s; 2,000 stopped 1.3 % above the best known)
_GALLOP_ITER = 300  # ... and of one further below
_BOUND_TESTS = (3, 6)  # heuristic: proof attempts for the bound, up to / above
# _LP_MAX_PAIRS covering pairs at the answer (exact: _EXACT_BOUND_TESTS, its MIPs do the rest) ...
_EXACT_BOUND_TESTS = (2, 10)
_BOUND_FIRST = 0.01  # ... the first this far below the answer
_BOUND_ITERS = 2_000  # ... each at most this many subgradient steps
_QUICK_ITERS = 500  # ... and the proof attempt of the descent, just below the answer
_LP_MAX_PAIRS = 1_000_000  # the LP bound only up to this many covering pairs (the
# reduction's row overlap product grows as rows squared: 20,000 x 1,000 took minutes and
# gigabytes); the Lagrangian bound has no such limit, and the exact method then tries the LP
_SUPPORT_ROWS = 4_000  # ... of the rows with the largest multipliers
_SUPPORT_ROUNDS = 3  # ... adding, this many times, the rows its solution leaves uncovered
_SUPPORT_ADD = 2_000  # ... at most this many each time
_RG_MIN_PAIRS = 400_000  # exact: above this many covering pairs a MIP test works on some rows
_RG_START = 300  # ... first the rows with the largest multipliers (and rows far apart)
_RG_ADD = 50  # ... adding at most this many rows, far apart, that its cover leaves out
_RG_SHARE = 0.7  # exact: the MIP tests get this share of the time left, then the bound


class _Problem:
    """Rows to serve (weight > 0, reachable), their costs sorted, and tests at a radius."""

    def __init__(self, csr: sp.csr_array, fx: NDArray[np.bool_], rows: NDArray[np.int64],
                 p: int) -> None:
        self.csr = sp.csr_array(csr[rows])
        self.csr.sort_indices()
        self.fx = fx
        self.p = p
        self.cand = np.flatnonzero(~fx)
        self.col_of = np.full(fx.size, -1, dtype=np.int64)
        self.col_of[self.cand] = np.arange(self.cand.size)
        (self.dfix, self.rptr, self.rcol, self.rcost, self.cptr, self.crow,
         self.ccost) = _K_SPLIT(self.csr.indptr.astype(np.int64), self.csr.indices,
                                self.csr.data.astype(np.float64), fx, self.col_of,
                                int(self.cand.size))
        self.m = int(self.csr.shape[0])
        self.u = np.zeros(self.m)  # Lagrangian multipliers of the last test (warm start)
        self.lp_tried: set[float] = set()  # radii whose LP was solved
        self.lp_rows = False  # above _LP_MAX_PAIRS: try the LP of some rows (see infeasible)
        self._rows_at: tuple[float, tuple[sp.csr_array, NDArray[np.int64]] | None] | None = None

    def lp_done(self, t: float) -> bool:
        """Whether :meth:`infeasible` solved the LP at ``t`` (a failed LP is final)."""
        return t in self.lp_tried

    def lower(self) -> float:
        """Every row needs some site: the largest of the rows' cheapest costs."""
        if self.m == 0:
            return 0.0
        has = np.diff(self.rptr) > 0
        first = np.full(self.m, np.inf)
        first[has] = self.rcost[self.rptr[:-1][has]]
        return float(np.minimum(first, self.dfix).max())

    def _at(self, t: float) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.bool_]]:
        return (_K_WITHIN(self.rptr, self.rcost, t), _K_WITHIN(self.cptr, self.ccost, t),
                self.dfix > t)

    def search(self, t: float, start: NDArray[np.int64], seed: int, iters: int
               ) -> tuple[bool, NDArray[np.int64]]:
        """Heuristic test: do ``start.size`` candidates (swapped) cover every row within ``t``?"""
        rlen, clen, active = self._at(t)
        ok, sel = _K_COVER_SEARCH(self.rptr, self.rcol, rlen, self.cptr, self.crow, clen,
                                  active, start, iters, seed)
        return bool(ok), np.asarray(sel, dtype=np.int64)

    def search_rows(self, t: float, start: NDArray[np.int64], seed: int, iters: int
                    ) -> tuple[bool, NDArray[np.int64]]:
        """:meth:`search` on the rows that matter at ``t`` (:meth:`rows_at`).

        Covering them covers every row, and at 20,000 x 1,000 a step costs about a quarter
        (a third of the pairs, rows that only add weight gone), so the long tests use it.
        """
        got = self.rows_at(t)
        if got is None:
            return False, start
        a = got[0]
        if int(a.shape[0]) == 0:
            return True, start
        csc = sp.csc_array(a)
        csc.sort_indices()
        m = int(a.shape[0])
        ok, sel = _K_COVER_SEARCH(a.indptr.astype(np.int64), a.indices.astype(np.int32),
                                  np.diff(a.indptr).astype(np.int64), csc.indptr.astype(np.int64),
                                  csc.indices.astype(np.int32), np.diff(csc.indptr).astype(np.int64),
                                  np.ones(m, dtype=np.bool_), start, iters, seed)
        return bool(ok), np.asarray(sel, dtype=np.int64)

    def rows_at(self, t: float) -> tuple[sp.csr_array, NDArray[np.int64]] | None:
        """:meth:`matrix_at` reduced to the rows that matter (:func:`_minimal_rows`), kept
        for the last ``t`` (a proof attempt and a long search often test the same radius)."""
        if self._rows_at is not None and self._rows_at[0] == t:
            return self._rows_at[1]
        got = self.matrix_at(t)
        red = None if got is None else _minimal_rows(*got)
        if red is not None:
            a = sp.csr_array(red[0])
            a.sort_indices()
            red = (a, red[1])
        self._rows_at = (t, red)
        return red

    def infeasible(self, t: float, deadline: float | None, iters: int = 3_000) -> bool:
        """Proof that ``p`` new sites cannot cover every row within ``t``.

        First the Lagrangian bound of the covering problem (:func:`.lagrange_bound`, at
        most ``iters`` subgradient steps, warm-started from the multipliers of the last
        test): more than ``p`` proves it.  Failing that, up to :data:`_LP_MAX_PAIRS`
        covering pairs, the LP relaxation (the bound the Lagrangian one approaches); above,
        when :attr:`lp_rows` is set (the exact method), the LP of some rows
        (:meth:`_support_lp`).  False means no proof, not that ``t`` is feasible.
        """
        rlen, _, active = self._at(t)
        big = int(rlen[active].sum()) > _LP_MAX_PAIRS
        got = self.rows_at(t)
        if got is None:
            return True
        a, rows = got
        lag = lagrange_bound(a, stop_at=self.p + 1e-6 * (self.p + 1), target=self.p + 1.0,
                             iters=iters, u0=self.u[rows], deadline=deadline)
        if np.isfinite(lag.bound):
            self.u[rows] = lag.u
        if lag.lower > self.p:
            return True
        if expired(deadline):
            return False
        if big:
            return self.lp_rows and self._support_lp(a, lag.u, deadline)
        self.lp_tried.add(t)
        sub = self.cover_at(t)
        if sub is None:
            return True
        z = cover_lp(sub[0], deadline)
        return bool(z > self.p + 1e-6 * (self.p + 1))

    def decide(self, t: float, deadline: float | None, seed: int = 0
               ) -> tuple[int, NDArray[np.int64] | None]:
        """Can ``p`` new sites cover every row within ``t``?  Exact, by MIP.

        Returns (0, the sites) when they can, (2, None) when proven they cannot, (1, None)
        at the deadline.  Up to :data:`_RG_MIN_PAIRS` covering pairs: the covering MIP
        (:func:`.lscp.cover_mip` with at most ``p`` sites) of every row, reduced
        (:meth:`cover_at`).  Above, row generation (:meth:`_row_generation`).
        """
        rlen, _, active = self._at(t)
        if int(rlen[active].sum()) > _RG_MIN_PAIRS:
            got = self.rows_at(t)
            if got is None:
                return 2, None
            return self._row_generation(t, *got, deadline, seed)
        sub = self.cover_at(t)
        if sub is None:
            return 2, None
        sites, _, st = cover_mip(sub[0], sub[1], None, max_sites=self.p, deadline=deadline)
        if sites is not None and sites.size <= self.p:
            return 0, sub[2][sites]
        return (1, None) if st == 1 else (2, None)

    def _row_generation(self, t: float, a: sp.csr_array, rows: NDArray[np.int64],
                        deadline: float | None, seed: int) -> tuple[int, NDArray[np.int64] | None]:
        """:meth:`decide` on some rows: no ``p`` sites covering them proves it for all.

        The Lagrangian bound of every row first (more than ``p``: proof); then the rows
        with the largest multipliers (:data:`_RG_START`) and rows with disjoint site sets
        (each needs its own site); their covering MIP, reduced (rows merged, dominated
        rows and columns dropped, Lagrangian reduced-cost fixing with at most ``p`` sites:
        a column whose reduced cost exceeds ``p`` minus the bound is in no such cover).
        Infeasible proves ``t`` infeasible; a cover of the rows is topped up to ``p``
        sites and handed to the swap search of every row (:meth:`search`): success proves
        ``t`` feasible, else up to :data:`_RG_ADD` rows its sites leave uncovered (with
        disjoint site sets) join and the MIP is solved again.
        """
        p = self.p
        a = sp.csr_array(a)
        a.sort_indices()
        stop = p + 1e-6 * (p + 1)
        lag = lagrange_bound(a, stop_at=stop, target=p + 1.0, iters=_QUICK_ITERS,
                             u0=self.u[rows], deadline=deadline)
        if np.isfinite(lag.bound):
            self.u[rows] = lag.u
        if lag.lower > p:
            return 2, None
        rng = np.random.default_rng(seed)
        u = lag.u
        top = np.flatnonzero(u > 0)
        top = top[np.argsort(-u[top], kind="stable")[:_RG_START]]
        part = np.union1d(top, _K_SPREAD(a.indptr.astype(np.int64), a.indices.astype(np.int32),
                                         rng.permutation(int(a.shape[0])), int(a.shape[1]),
                                         int(a.shape[0])))
        n_cand = int(self.cand.size)
        while not expired(deadline):
            sub, _, _ = merge_rows(sp.csr_array(a[part]), np.ones(part.size))
            red, cols = reduce_cover(sub, rounds=3)
            lg = lagrange_bound(red, stop_at=stop, target=p + 1.0, iters=_BOUND_ITERS,
                                deadline=deadline)
            if lg.lower > p:
                return 2, None
            rc = 1.0 - np.asarray(sp.csr_array(red, dtype=np.float64).T @ lg.u)
            keep = np.flatnonzero(rc <= p - lg.bound + 1e-6)
            red = sp.csr_array(sp.csc_array(red)[:, keep])
            if (np.diff(red.indptr) == 0).any():  # some row has no column left
                return 2, None
            sites, _, st = cover_mip(red, np.ones(int(red.shape[0])), None, max_sites=p,
                                     deadline=deadline)
            if sites is None or sites.size > p:
                return (1, None) if st == 1 else (2, None)
            sel = np.asarray(cols[keep[sites]], dtype=np.int64)
            if sel.size < p:  # top up with the first free candidates (the search swaps them)
                free = np.flatnonzero(~np.isin(np.arange(n_cand), sel))
                sel = np.concatenate([sel, free[:p - sel.size]])
            ok, found = self.search(t, sel, seed + part.size, _GALLOP_ITER)
            if ok:
                return 0, found
            # rows out of part left uncovered by the search's sites, else by the MIP's
            short = np.setdiff1d(_uncovered(a, found, n_cand), part, assume_unique=True)
            if short.size == 0:
                short = _uncovered(a, sel, n_cand)
            add = _K_SPREAD(a.indptr.astype(np.int64), a.indices.astype(np.int32),
                            rng.permutation(short), int(a.shape[1]), _RG_ADD)
            part = np.union1d(part, add)
        return 1, None

    def _support_lp(self, a: sp.csr_array, u: NDArray[np.float64], deadline: float | None
                    ) -> bool:
        """Proof by the LP relaxation of some of the rows (a relaxation too).

        The rows the Lagrangian multipliers weigh (the largest :data:`_SUPPORT_ROWS`) first;
        then, up to :data:`_SUPPORT_ROUNDS` times, the rows the LP solution leaves
        uncovered are added (row generation: with none left, the LP of every row is reached).
        """
        rows = np.flatnonzero(u > 0)
        rows = np.sort(rows[np.argsort(-u[rows], kind="stable")[:_SUPPORT_ROWS]])
        a = sp.csr_array(a, dtype=np.float64)
        for _ in range(_SUPPORT_ROUNDS):
            if rows.size == 0 or expired(deadline):
                return False
            val, x = cover_relaxation(sp.csr_array(a[rows]), np.ones(rows.size), None, deadline)
            if val > self.p + 1e-6 * (self.p + 1):
                return True
            if x is None:
                return False
            cov = np.asarray(a @ x)
            short = np.flatnonzero(cov < 1 - 1e-7)
            if short.size == 0:  # the LP of every row: no proof
                return False
            add = short[np.argsort(cov[short], kind="stable")[:_SUPPORT_ADD]]
            rows = np.union1d(rows, add)
        return False

    def matrix_at(self, t: float) -> tuple[sp.csr_array, NDArray[np.int64]] | None:
        """Which candidates cover which row within ``t`` (rows not served by a fixed site).

        Returns (the 0/1 matrix, the rows), or None when some row has no site within ``t``.
        """
        rlen, _, active = self._at(t)
        rows = np.flatnonzero(active)
        if (rlen[rows] == 0).any():
            return None
        indptr = np.zeros(rows.size + 1, dtype=np.int64)
        np.cumsum(rlen[rows], out=indptr[1:])
        indices = _K_PREFIXES(self.rptr, self.rcol, rlen, rows, indptr)
        sub = sp.csr_array((np.ones(indices.size, dtype=bool), indices, indptr),
                           shape=(rows.size, self.cand.size))
        return sub, rows

    def farthest(self, p: int) -> NDArray[np.int64]:
        """Farthest-first start: ``p`` candidates."""
        sel: NDArray[np.int64] = _K_FARTHEST(self.rptr, self.rcol, self.cptr, self.crow,
                                             self.ccost, self.dfix, p, int(self.cand.size))
        return sel

    def value_of(self, sel: NDArray[np.int64]) -> float:
        """Largest nearest-open-site cost over the rows for the candidates ``sel`` (+ fixed)."""
        return float(_K_VALUE(self.rptr, self.rcol, self.rcost, self.dfix, sel,
                              int(self.cand.size)))

    def cover_at(self, t: float) -> tuple[sp.csr_array, NDArray[np.float64], NDArray[np.int64]] | None:
        """Covering problem of the rows not served by a fixed site within ``t``, reduced.

        Rows with the same sites are merged, dominated rows and columns dropped
        (:func:`.lscp.reduce_cover`).  Returns (matrix, unit weights, candidate index of each
        column), or None when some row has no site at all within ``t``.
        """
        got = self.matrix_at(t)
        if got is None:
            return None
        sub, rows = got
        a, _, _ = merge_rows(sub, np.ones(rows.size))
        red, cols = reduce_cover(a)
        return red, np.ones(int(red.shape[0])), cols

    def value(self, open_mask: NDArray[np.bool_]) -> float:
        """Largest nearest-open-site cost over the rows (inf when one has none)."""
        _, best = nearest(self.csr, open_mask)
        return float(best.max()) if best.size else 0.0


def _minimal_rows(a: sp.csr_array, rows: NDArray[np.int64]
                  ) -> tuple[sp.csr_array, NDArray[np.int64]]:
    """The rows of a 0/1 covering matrix that matter: one of each set, no superset of another.

    A row whose sites include all of another row's is covered whenever that one is, and
    rows with the same sites are one constraint: dropping them changes neither the covering
    optimum nor its LP or Lagrangian bounds.  Returns the rows kept and their ``rows``.
    """
    if int(a.shape[0]) < 2:
        return a, rows
    merged, _, inv = merge_rows(sp.csr_array(a), np.ones(int(a.shape[0])))
    rep = np.zeros(int(merged.shape[0]), dtype=np.int64)
    rep[inv] = np.arange(inv.size)
    merged = sp.csr_array(merged)
    merged.sort_indices()
    csc = sp.csc_array(merged)
    csc.sort_indices()
    drop = _K_SUPERSETS(merged.indptr.astype(np.int64), merged.indices.astype(np.int32),
                        csc.indptr.astype(np.int64), csc.indices.astype(np.int32))
    keep = np.flatnonzero(~drop)
    return sp.csr_array(merged[keep]), rows[rep[keep]]


def _uncovered(a: sp.csr_array, sel: NDArray[np.int64], n_cand: int) -> NDArray[np.int64]:
    """Rows of the 0/1 matrix ``a`` that none of the columns ``sel`` covers."""
    x = np.zeros(n_cand, dtype=np.int64)
    x[sel] = 1
    return np.flatnonzero(np.asarray(a @ x) == 0)


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


class _Search:
    """The heuristic: a binary search over the distinct costs, each step a covering test.

    ``vals`` holds the distinct costs from the lower bound to the first answer; ``lo`` is
    the index of the proven lower bound (every cost below it is proven infeasible), ``best``
    the sites of the best answer and ``hi`` the index of its value.
    """

    def __init__(self, prob: _Problem, p: int, deadline: float | None,
                 bound_tests: tuple[int, int] = _BOUND_TESTS) -> None:
        self.prob, self.p, self.deadline = prob, p, deadline
        self.bound_tests = bound_tests
        self.best = prob.farthest(p)
        self.best_val = prob.value_of(self.best)
        self.lb = prob.lower()
        self.vals = np.empty(0)
        self.lo = self.hi = 0
        self.seed = 0
        self.proved = -1  # the index where the descent tried a proof

    def _accept(self, sel: NDArray[np.int64]) -> None:
        v = self.prob.value_of(sel)
        if v < self.best_val:
            self.best, self.best_val = sel, v
        self.hi = int(np.searchsorted(self.vals, self.best_val))

    def _test(self, k: int, iters: int = _SEARCH_ITER, rows: bool = False) -> bool:
        """Covering test at ``vals[k]`` (heuristic): True when found (and accepted).

        ``rows``: on the rows that matter only (:meth:`_Problem.search_rows`).
        """
        self.seed += 1
        test = self.prob.search_rows if rows else self.prob.search
        ok, sel = test(float(self.vals[k]), self.best, self.seed, iters)
        if ok:
            self._accept(sel)
        return ok

    def run(self) -> bool:
        """Search; return False when no answer within reach of every row was found.

        The bound (:meth:`bound_search`) is left to the caller.
        """
        prob, deadline = self.prob, self.deadline
        if not np.isfinite(self.best_val):
            self.vals = np.array([float(prob.csr.data.max())])
            if not self._test(0):
                return False
        d = prob.csr.data
        self.vals = np.unique(d[(d >= self.lb) & (d <= self.best_val)])
        self.lo, self.hi = 0, int(np.searchsorted(self.vals, self.best_val))
        # galloping descent: try further below the answer after each success, just below
        # it after a failure; the cost just below the answer is tried by the LP (which
        # may prove the answer optimal) when a short search fails, then searched longer;
        # stop when that fails
        step, proved = 1, -1
        while self.lo < self.hi and not expired(deadline):
            k = max(self.lo, self.hi - step)
            if self._test(k, _GALLOP_ITER):
                step *= 2
                continue
            if k == self.hi - 1:
                proved = k
                if prob.infeasible(float(self.vals[k]), deadline, _QUICK_ITERS):
                    self.lo = self.hi
                    break
                if not self._test(k, _SEARCH_ITER, rows=True):
                    break
                step *= 2
            else:
                step = 1
        self.proved = proved
        return True

    def bound_search(self) -> None:
        """Raise :attr:`lo` by proof attempts below the answer (see the module notes)."""
        prob, deadline, proved = self.prob, self.deadline, self.proved
        # the bound when the answer is not proven: proof attempts (Lagrangian, then LP when
        # small) 1 %, 2 %, 4 %, ... below the answer until one succeeds, then a bisection
        # between that cost and the lowest failed one; a proof at a cost proves every
        # lower cost infeasible too
        top = self.hi - 1
        if proved == top and prob.lp_done(float(self.vals[top])):
            top -= 1  # the LP there failed: the Lagrangian bound (at most the LP's) would
        tests, frac = 0, _BOUND_FIRST
        rlen, _, active = prob._at(self.best_val)
        budget = self.bound_tests[0 if int(rlen[active].sum()) <= _LP_MAX_PAIRS else 1]
        while self.lo <= top and tests < budget and not expired(deadline):
            k = int(np.searchsorted(self.vals, self.best_val * (1 - frac), side="right")) - 1
            k = max(min(k, top), self.lo)
            tests += 1
            if prob.infeasible(float(self.vals[k]), deadline, _BOUND_ITERS):
                self.lo = k + 1
                break
            top, frac = k - 1, 2 * frac
        while self.lo <= top and tests < budget and not expired(deadline):
            mid = (self.lo + top) // 2
            tests += 1
            if prob.infeasible(float(self.vals[mid]), deadline, _BOUND_ITERS):
                self.lo = mid + 1
            else:
                top = mid - 1

    @property
    def bound(self) -> float:
        """The proven lower bound."""
        return float(self.vals[min(self.lo, self.vals.size - 1)]) if self.vals.size else self.lb

    def mask(self) -> NDArray[np.bool_]:
        """Open columns of the best answer (fixed included)."""
        mask = self.prob.fx.copy()
        mask[self.prob.cand[self.best]] = True
        return mask


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

    def check_p(fx: NDArray[np.bool_]) -> None:
        n_cand = int((~fx).sum())
        if isinstance(p, bool) or not isinstance(p, (int, np.integer)) or p < 0 \
                or (p == 0 and not fx.any()):
            raise GisAppError(code="model_bad_p", params={"fn": fn, "p": p})
        if p > n_cand:
            raise GisAppError(code="model_p_exceeds", params={"fn": fn, "p": p, "n": n_cand})

    st0 = start(fn, cost, weights, fixed, method=method, time_limit_s=time_limit_s,
                progress=progress, check=check_p)
    csr, w_all, fx, deadline = st0.csr, st0.weights, st0.fixed, st0.deadline
    rows = np.flatnonzero((w_all > 0) & (np.diff(csr.indptr) > 0))
    prob = _Problem(csr, fx, rows, int(p))
    t_build = time.perf_counter()
    if method == "auto":
        method = "exact" if prob.csr.nnz <= AUTO_EXACT_MAX_NNZ else "heuristic"
    label = "exact" if method == "exact" else "heuristic"

    def finish(mask: NDArray[np.bool_], optimal: bool, bound: float, status: str) -> LocationResult:
        if p > int((mask & ~fx).sum()):
            mask = _farthest_first(prob, mask, p - int((mask & ~fx).sum()))
        return st0.result("p_center", mask, t_build=t_build, opened=np.flatnonzero(mask & ~fx),
                          closed=[], objective=prob.value(mask), method=label, optimal=optimal,
                          bound=bound, status=status)

    if rows.size == 0 or p == 0:
        return finish(fx.copy(), True, float("nan"), "optimal")
    report(progress, 0.05, "heuristic")
    # with a time limit, the exact method's descent and first bound are the heuristic's (no
    # LP of some rows, which can take many seconds): a short limit still ends with a gap
    prob.lp_rows = method == "exact" and deadline is None
    search = _Search(prob, p, deadline, _BOUND_TESTS if method == "heuristic" else _EXACT_BOUND_TESTS)
    if not search.run():
        return finish(search.mask(), False, float("nan"), "infeasible")
    if method == "heuristic":
        search.bound_search()
        if search.lo >= search.hi:
            return finish(search.mask(), True, search.best_val, "optimal")
        return finish(search.mask(), False, search.bound, "feasible")
    if deadline is not None and search.lo < search.hi:
        # with a time limit, first the heuristic's quick bound (Lagrangian proofs, no LP of
        # some rows): a short limit spent in the MIP tests below must still give a proven gap
        search.bound_tests = _BOUND_TESTS
        search.bound_search()
        search.bound_tests = _EXACT_BOUND_TESTS
    prob.lp_rows = method == "exact"
    best_mask, best_val = search.mask(), search.best_val
    vals, lo, hi = search.vals, search.lo, search.hi

    def accept(sites: NDArray[np.int64]) -> float:
        nonlocal best_mask, best_val
        mask = fx.copy()
        mask[prob.cand[sites]] = True
        v = prob.value(mask)
        if v < best_val:
            best_mask, best_val = mask, v
        return v

    if lo >= hi:
        return finish(best_mask, True, best_val, "optimal")
    report(progress, 0.4, "solve")
    # exact: a covering MIP test just below the incumbent; infeasible proves the incumbent
    # optimal, feasible gives a better incumbent (its true value, often several steps lower)
    # and the next test goes just below that; with a time limit the tests get _RG_SHARE of
    # the time left and the bound search the rest
    seed = 0

    def descend(stop: float | None) -> bool:
        """MIP tests just below the incumbent until a proof or ``stop``; False: unknown."""
        nonlocal lo, hi, seed
        while lo < hi and not expired(stop):
            seed += 1
            st, sites = prob.decide(float(vals[hi - 1]), stop, seed)
            if st == 1:
                return False  # time limit: unknown
            if st == 0 and sites is not None:
                hi = int(np.searchsorted(vals, accept(sites)))
            else:
                lo = hi
            report(progress, 0.4 + 0.6 * (1 - (hi - lo) / max(vals.size, 1)), "solve")
        return lo >= hi

    left = remaining(deadline)
    if not descend(None if left is None or deadline is None
                   else deadline - (1 - _RG_SHARE) * left) and not expired(deadline):
        # the bound: proof attempts below the (improved) incumbent; then, with time left,
        # the MIP tests again
        search.best_val, search.hi, search.lo = best_val, hi, lo
        search.proved = -1
        search.bound_search()
        lo = max(lo, search.lo)
        descend(deadline)
    optimal = lo >= hi
    bound = float(vals[min(lo, vals.size - 1)]) if not optimal else best_val
    return finish(best_mask, optimal, bound, "optimal" if optimal else "time_limit")


# --------------------------------------------------------------------------- compiled kernels


def _k_split(indptr: NDArray[np.int64], indices: NDArray[np.int32], data: NDArray[np.float64],
             fx: NDArray[np.bool_], col_of: NDArray[np.int64], n_cand: int
             ) -> tuple[NDArray[np.float64], NDArray[np.int64], NDArray[np.int32],
                        NDArray[np.float64], NDArray[np.int64], NDArray[np.int32],
                        NDArray[np.float64]]:
    """Split a cost CSR into each row's nearest fixed cost and the candidate pairs, sorted.

    Returns (nearest fixed cost per row (inf: none), the candidate pairs by row: indptr,
    candidate, cost, each row's pairs by ascending cost, and the same by candidate: indptr,
    row, cost, each candidate's pairs by ascending cost).
    """
    m = indptr.size - 1
    dfix = np.full(m, np.inf)
    rptr = np.zeros(m + 1, dtype=np.int64)
    ccount = np.zeros(n_cand + 1, dtype=np.int64)
    for i in range(m):
        k = 0
        for t in range(indptr[i], indptr[i + 1]):
            j = indices[t]
            if fx[j]:
                if data[t] < dfix[i]:
                    dfix[i] = data[t]
            else:
                k += 1
                ccount[col_of[j] + 1] += 1
        rptr[i + 1] = rptr[i] + k
    nnz = rptr[m]
    rcol = np.empty(nnz, dtype=np.int32)
    rcost = np.empty(nnz, dtype=np.float64)
    cptr = np.cumsum(ccount)
    fill = cptr[:-1].copy()
    crow = np.empty(nnz, dtype=np.int32)
    ccost = np.empty(nnz, dtype=np.float64)
    for i in range(m):
        lo = rptr[i]
        k = 0
        for t in range(indptr[i], indptr[i + 1]):
            j = indices[t]
            if not fx[j]:
                rcol[lo + k] = col_of[j]
                rcost[lo + k] = data[t]
                k += 1
                c = col_of[j]
                crow[fill[c]] = i
                ccost[fill[c]] = data[t]
                fill[c] += 1
        if k > 1:
            order = np.argsort(rcost[lo:lo + k], kind="mergesort")
            rcol[lo:lo + k] = rcol[lo:lo + k][order]
            rcost[lo:lo + k] = rcost[lo:lo + k][order]
    for c in range(n_cand):
        lo, hi = cptr[c], cptr[c + 1]
        if hi - lo > 1:
            order = np.argsort(ccost[lo:hi], kind="mergesort")
            crow[lo:hi] = crow[lo:hi][order]
            ccost[lo:hi] = ccost[lo:hi][order]
    return dfix, rptr, rcol, rcost, cptr, crow, ccost


def _k_within(ptr: NDArray[np.int64], cost: NDArray[np.float64], r: float) -> NDArray[np.int64]:
    """Per segment (sorted by cost), how many of its pairs cost at most ``r``."""
    n = ptr.size - 1
    out = np.empty(n, dtype=np.int64)
    for s in range(n):
        a, b = ptr[s], ptr[s + 1]
        while a < b:
            mid = (a + b) // 2
            if cost[mid] <= r:
                a = mid + 1
            else:
                b = mid
        out[s] = a - ptr[s]
    return out


def _k_prefixes(ptr: NDArray[np.int32 | np.int64], idx: NDArray[np.int32],
                length: NDArray[np.int64], segs: NDArray[np.int64], out_ptr: NDArray[np.int64]
                ) -> NDArray[np.int32]:
    """The first ``length`` entries of the segments ``segs``, one after the other."""
    out = np.empty(out_ptr[-1], dtype=np.int32)
    for k in range(segs.size):
        s = segs[k]
        out[out_ptr[k]:out_ptr[k + 1]] = idx[ptr[s]:ptr[s] + length[s]]
    return out


def _k_value(rptr: NDArray[np.int64], rcol: NDArray[np.int32], rcost: NDArray[np.float64],
             dfix: NDArray[np.float64], sel: NDArray[np.int64], n_cand: int) -> float:
    """Largest nearest-open-site cost over the rows (inf when a row has none)."""
    is_open = np.zeros(n_cand, dtype=np.bool_)
    for j in sel:
        is_open[j] = True
    worst = 0.0
    for i in range(rptr.size - 1):
        best = dfix[i]
        for t in range(rptr[i], rptr[i + 1]):
            if rcost[t] >= best:
                break
            if is_open[rcol[t]]:
                best = rcost[t]
                break
        if best > worst:
            worst = best
    return worst


def _k_farthest(rptr: NDArray[np.int64], rcol: NDArray[np.int32], cptr: NDArray[np.int64],
                crow: NDArray[np.int32], ccost: NDArray[np.float64], dfix: NDArray[np.float64],
                p: int, n_cand: int) -> NDArray[np.int64]:
    """Farthest-first: ``p`` candidates, each the nearest free one to the worst-served row."""
    dist = dfix.copy()
    taken = np.zeros(n_cand, dtype=np.bool_)
    sel = np.empty(p, dtype=np.int64)
    for k in range(p):
        i = int(np.argmax(dist))
        c = -1
        for t in range(rptr[i], rptr[i + 1]):
            if not taken[rcol[t]]:
                c = rcol[t]
                break
        if c < 0:
            for j in range(n_cand):
                if not taken[j]:
                    c = j
                    break
        taken[c] = True
        sel[k] = c
        for t in range(cptr[c], cptr[c + 1]):
            if ccost[t] < dist[crow[t]]:
                dist[crow[t]] = ccost[t]
    return sel


def _k_cover_search(rptr: NDArray[np.int64], rcol: NDArray[np.int32], rlen: NDArray[np.int64],
                    cptr: NDArray[np.int64], crow: NDArray[np.int32], clen: NDArray[np.int64],
                    active: NDArray[np.bool_], sel0: NDArray[np.int64], max_iter: int,
                    seed: int) -> tuple[bool, NDArray[np.int64]]:
    """Can ``sel0.size`` candidates cover every active row?  Swap search with row weights.

    A row is covered by the candidates of its first ``rlen`` pairs, a candidate covers the
    rows of its first ``clen`` pairs.  Each step takes a random uncovered row and makes the
    best swap (a candidate covering that row in, an open one out) by the weight of the rows
    left uncovered; the weight of every row still uncovered then grows by one (so rows that
    stay uncovered pull harder), and the site just added may not leave (nor the one just
    dropped return) for two steps.  Returns (success, the sites).
    """
    m = rptr.size - 1
    n = cptr.size - 1
    p = sel0.size
    np.random.seed(seed)
    sel = sel0.copy()
    # per row: open candidates covering it, the sum of their indices
    cnt, sidx = open_counts(cptr, crow, clen, active, sel)
    wt = np.ones(m, dtype=np.int64)
    loss = np.zeros(n, dtype=np.int64)
    pos = np.full(n, -1, dtype=np.int64)
    pos[sel] = np.arange(p)
    unc = np.empty(m, dtype=np.int64)
    upos = np.full(m, -1, dtype=np.int64)
    nunc = 0
    for i in range(m):
        if active[i]:
            if cnt[i] == 0:
                if rlen[i] == 0:
                    return False, sel
                unc[nunc] = i
                upos[i] = nunc
                nunc += 1
            elif cnt[i] == 1:
                loss[sidx[i]] += 1
    if nunc == 0:
        return True, sel
    if p == 0:
        return False, sel
    tmp = np.zeros(n, dtype=np.int64)
    no_in = np.zeros(n, dtype=np.int64)
    no_out = np.zeros(n, dtype=np.int64)
    for it in range(1, max_iter + 1):
        u = unc[np.random.randint(nunc)]
        best = -(1 << 62)
        bc = -1
        bs = -1
        ties = 0
        for t in range(rptr[u], rptr[u] + rlen[u]):
            c = rcol[t]
            if no_in[c] > it:
                continue
            gain = 0
            for q in range(cptr[c], cptr[c] + clen[c]):
                i = crow[q]
                if active[i]:
                    if cnt[i] == 0:
                        gain += wt[i]
                    elif cnt[i] == 1:
                        tmp[sidx[i]] += wt[i]
            for k in range(p):
                s = sel[k]
                if no_out[s] > it:
                    continue
                d = gain - loss[s] + tmp[s]
                if d > best:
                    best, bc, bs, ties = d, c, s, 1
                elif d == best:
                    ties += 1
                    if np.random.randint(ties) == 0:
                        bc, bs = c, s
            for q in range(cptr[c], cptr[c] + clen[c]):
                i = crow[q]
                if active[i] and cnt[i] == 1:
                    tmp[sidx[i]] = 0
        if bc < 0:  # every move is tabu: a random one
            bc = rcol[rptr[u] + np.random.randint(rlen[u])]
            bs = sel[np.random.randint(p)]
        # drop bs
        for q in range(cptr[bs], cptr[bs] + clen[bs]):
            i = crow[q]
            if active[i]:
                cnt[i] -= 1
                sidx[i] -= bs
                if cnt[i] == 0:
                    loss[bs] -= wt[i]
                    unc[nunc] = i
                    upos[i] = nunc
                    nunc += 1
                elif cnt[i] == 1:
                    loss[sidx[i]] += wt[i]
        # add bc
        for q in range(cptr[bc], cptr[bc] + clen[bc]):
            i = crow[q]
            if active[i]:
                if cnt[i] == 0:
                    loss[bc] += wt[i]
                    last = unc[nunc - 1]
                    unc[upos[i]] = last
                    upos[last] = upos[i]
                    upos[i] = -1
                    nunc -= 1
                elif cnt[i] == 1:
                    loss[sidx[i]] -= wt[i]
                cnt[i] += 1
                sidx[i] += bc
        k = pos[bs]
        pos[bs] = -1
        pos[bc] = k
        sel[k] = bc
        no_in[bs] = it + 2
        no_out[bc] = it + 2
        if nunc == 0:
            return True, sel
        for k in range(nunc):
            wt[unc[k]] += 1
    return False, sel


def _k_spread(indptr: NDArray[np.int64], indices: NDArray[np.int32], order: NDArray[np.int64],
              n_cols: int, k: int) -> NDArray[np.int64]:
    """Up to ``k`` rows, in ``order``, each sharing no column with the rows taken before."""
    used = np.zeros(n_cols, dtype=np.bool_)
    out = np.empty(min(k, order.size), dtype=np.int64)
    got = 0
    for i in order:
        if got >= out.size:
            break
        free = True
        for t in range(indptr[i], indptr[i + 1]):
            if used[indices[t]]:
                free = False
                break
        if free:
            for t in range(indptr[i], indptr[i + 1]):
                used[indices[t]] = True
            out[got] = i
            got += 1
    return out[:got]


def _k_supersets(rptr: NDArray[np.int64], rcol: NDArray[np.int32], cptr: NDArray[np.int64],
                 crow: NDArray[np.int32]) -> NDArray[np.bool_]:
    """Rows (distinct, sorted columns) whose columns strictly include another row's.

    For each row i the rows of its rarest column are the only candidates k with
    ``cols(i) < cols(k)``; each is checked by a merge of the two sorted lists.
    """
    m = rptr.size - 1
    drop = np.zeros(m, dtype=np.bool_)
    for i in range(m):
        a, b = rptr[i], rptr[i + 1]
        if a == b:
            continue
        best = rcol[a]
        for t in range(a, b):
            c = rcol[t]
            if cptr[c + 1] - cptr[c] < cptr[best + 1] - cptr[best]:
                best = c
        for q in range(cptr[best], cptr[best + 1]):
            k = crow[q]
            if k == i or drop[k] or rptr[k + 1] - rptr[k] <= b - a:
                continue
            s = rptr[k]
            e = rptr[k + 1]
            inside = True
            for t in range(a, b):
                c = rcol[t]
                while s < e and rcol[s] < c:
                    s += 1
                if s == e or rcol[s] != c:
                    inside = False
                    break
            if inside:
                drop[k] = True
    return drop


_K_SPLIT = jit(_k_split)
_K_WITHIN = jit(_k_within)
_K_PREFIXES = jit(_k_prefixes)
_K_VALUE = jit(_k_value)
_K_FARTHEST = jit(_k_farthest)
_K_COVER_SEARCH = jit(_k_cover_search)
_K_SPREAD = jit(_k_spread)
_K_SUPERSETS = jit(_k_supersets)
