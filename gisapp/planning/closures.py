"""Closures (撤并) and a mixed budget of opens and closes, on coverage within a standard.

:func:`closures` closes ``k`` of the existing sites (the ``existing`` columns) so that the
fewest people lose coverage (no open site within ``threshold`` any more); the other existing
sites stay open.  Columns that are not existing are ignored (they are neither open nor
candidates).  :func:`mixed_budget` opens ``n_open`` of the non-existing columns (candidates)
and closes ``n_close`` existing ones, maximising the weight covered afterwards.

Both are one problem: choose how many sites of each group are open — ``|existing| - k``
existing sites (and ``n_open`` candidates) — maximising the covered weight (a maximal
covering problem with one cardinality row per group).  Rows no column of the problem covers,
weightless rows, and rows with the same covering sites (merged) are reduced first.

* **exact** — one MIP, built in a single step from sparse arrays and solved by HiGHS
  (:func:`scipy.optimize.milp`)::

      max sum_i w_i y_i  s.t.  y_i <= sum_j a_ij x_j,  sum_{j in group g} x_j = n_g,
                               x_j in {0, 1},  0 <= y_i <= 1

  The heuristic answer is kept when the MIP stops at the time limit with nothing better.
* **heuristic** — greedy (open the candidate adding most; then close the existing site
  whose closure loses least, one at a time), then best-improvement swaps inside each group
  (one site out, another in), every swap of a group scored at once from sparse products.
"""

from __future__ import annotations

import time

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike, NDArray

from gisapp._errors import GisAppError
from gisapp.planning.location import (
    AUTO_EXACT_MAX_NNZ,
    CostInput,
    LocationResult,
    Method,
    Progress,
    Start,
    expired,
    report,
    start,
)
from gisapp.planning.lscp import merge_rows, run_milp, swap_search

__all__ = ["closures", "mixed_budget"]

_MAX_SWAPS = 500


class _Groups:
    """The reduced coverage problem of a closure / mixed budget: rows x used columns, groups."""

    def __init__(self, cover: sp.csr_array, w: NDArray[np.float64], cols: NDArray[np.int64],
                 group: NDArray[np.int64], counts: tuple[int, ...]) -> None:
        rows = np.flatnonzero((np.diff(cover.indptr) > 0) & (w > 0))
        a, self.w, _ = merge_rows(sp.csr_array(cover[rows]), w[rows])
        self.csr = sp.csr_array(a)
        self.csr.sort_indices()
        self.csc = sp.csc_array(self.csr)
        self.csc.sort_indices()
        self.cols = cols  # original column of each sub-problem column
        self.group = group  # group of each sub-problem column
        self.counts = counts  # open sites wanted per group
        self.tol = 1e-12 * max(float(self.w.sum()), 1.0)

    @property
    def m(self) -> int:
        """Return the number of (merged) rows."""
        return int(self.csr.shape[0])

    @property
    def n(self) -> int:
        """Return the number of columns."""
        return int(self.csr.shape[1])

    def count(self, open_mask: NDArray[np.bool_]) -> NDArray[np.int64]:
        """Return how many open columns cover each row."""
        return np.asarray(self.csr @ open_mask.astype(np.int64), dtype=np.int64)

    def value(self, open_mask: NDArray[np.bool_]) -> float:
        """Return the covered weight."""
        return float(self.w[self.count(open_mask) > 0].sum())


def _greedy(g: _Groups) -> NDArray[np.bool_]:
    """Open the candidates greedily, then close existing sites greedily (see the module notes)."""
    open_mask = np.zeros(g.n, dtype=bool)
    n_groups = len(g.counts)
    open_mask[g.group == 0] = True  # group 0: existing, all open at first
    cnt = g.count(open_mask)
    for grp in range(1, n_groups):  # openings
        for _ in range(g.counts[grp]):
            gain = g.csc.T @ np.where(cnt == 0, g.w, 0.0)
            gain[(g.group != grp) | open_mask] = -1.0
            j = int(np.argmax(gain))
            if gain[j] < 0:
                break
            open_mask[j] = True
            cnt[g.csc.indices[g.csc.indptr[j]:g.csc.indptr[j + 1]]] += 1
    n_close = int((g.group == 0).sum()) - g.counts[0]
    for _ in range(n_close):
        loss = g.csc.T @ np.where(cnt == 1, g.w, 0.0)
        loss[(g.group != 0) | ~open_mask] = np.inf
        j = int(np.argmin(loss))
        open_mask[j] = False
        cnt[g.csc.indices[g.csc.indptr[j]:g.csc.indptr[j + 1]]] -= 1
    return open_mask


def _swaps(g: _Groups, open_mask: NDArray[np.bool_], deadline: float | None) -> NDArray[np.bool_]:
    """Best-improvement swaps inside each group (:func:`.lscp.swap_search`)."""
    return swap_search(g.csc, g.w, open_mask, g.group, deadline, max_swaps=_MAX_SWAPS)


def _mip(g: _Groups, deadline: float | None) -> tuple[NDArray[np.bool_] | None, float, int]:
    """The exact MIP: (open mask or None, upper bound on the covered weight, status)."""
    m, n = g.m, g.n
    a = sp.csr_array(g.csr, dtype=np.float64)
    coupling = sp.hstack([-a, sp.identity(m, format="csr")], format="csr")
    n_groups = len(g.counts)
    grp_rows = sp.csr_array((np.ones(n), (g.group, np.arange(n))), shape=(n_groups, n + m))
    big = sp.csr_array(sp.vstack([coupling, grp_rows], format="csr"))
    cnt = np.asarray(g.counts, dtype=np.float64)
    cl = np.concatenate([np.full(m, -np.inf), cnt])
    cu = np.concatenate([np.zeros(m), cnt])
    c = np.concatenate([np.zeros(n), -g.w])
    x, bound, status = run_milp(c, np.concatenate([np.ones(n), np.zeros(m)]), np.zeros(n + m),
                                np.ones(n + m), big, cl, cu, deadline)
    mask = None if x is None else x[:n] > 0.5
    return mask, -bound, status


def _solve(g: _Groups, method: str, deadline: float | None, progress: Progress | None
           ) -> tuple[NDArray[np.bool_], float, float, bool, str]:
    """Solve: (open mask, covered weight, upper bound, optimal, status)."""
    if method == "auto":
        method = "exact" if g.csr.nnz <= AUTO_EXACT_MAX_NNZ else "heuristic"
    report(progress, 0.1, "heuristic")
    mask = _swaps(g, _greedy(g), deadline)
    val = g.value(mask)
    if method == "heuristic":
        return mask, val, float("nan"), False, "feasible"
    report(progress, 0.4, "solve")
    if expired(deadline) or g.m == 0:
        done = g.m == 0
        return mask, val, val if done else float("nan"), done, "optimal" if done else "time_limit"
    mip_mask, upper, status = _mip(g, deadline)
    if status == 2:
        raise GisAppError(code="model_solver_failed", params={"status": 2, "message": "infeasible"})
    if mip_mask is not None and g.value(mip_mask) >= val:
        mask, val = mip_mask, g.value(mip_mask)
    upper = max(upper, val) if np.isfinite(upper) else float("nan")
    optimal = status == 0 or (np.isfinite(upper) and upper - val <= 1e-9 * max(val, 1.0))
    return mask, val, upper, optimal, "optimal" if optimal else "time_limit"


def _run(st0: Start, g: _Groups, method: str
         ) -> tuple[NDArray[np.bool_], float, float, bool, str, str, NDArray[np.bool_]]:
    """Solve; also return the method's label and the open columns of the whole matrix."""
    mask, val, upper, optimal, status = _solve(g, method, st0.deadline, st0.progress)
    open_all = np.zeros(st0.fixed.size, dtype=bool)
    open_all[g.cols[mask]] = True
    label = "heuristic" if status == "feasible" else "exact"
    return mask, val, upper, optimal, status, label, open_all


def _count(value: object, name: str, most: int, fn: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0 \
            or value > most:
        raise GisAppError(code="model_bad_count",
                          params={"fn": fn, "name": name, "value": value, "most": most})
    return int(value)


def closures(
    cost: CostInput,
    weights: ArrayLike,
    threshold: float | ArrayLike,
    k: int,
    *,
    existing: ArrayLike,
    method: Method = "auto",
    time_limit_s: float | None = None,
    progress: Progress | None = None,
) -> LocationResult:
    """Close ``k`` existing sites so that the least weight loses coverage within ``threshold``.

    Parameters
    ----------
    cost
        Demand x site costs (dense with ``inf`` out of reach, sparse, or a CostMatrix).
    weights
        Weight (people) per demand row.
    threshold
        Largest cost that counts as covered (scalar or per row).
    k
        Number of existing sites to close, ``0 <= k <= |existing|``.
    existing
        The existing sites (mask or column indices); other columns are ignored.
    method
        ``"exact"`` (MIP), ``"heuristic"`` (greedy + swaps) or ``"auto"`` (exact up to
        400,000 covering pairs).
    time_limit_s
        Stop the exact solve after about this many seconds (best answer, ``time_limit``).
    progress
        Called as ``progress(fraction, stage)``.

    Returns
    -------
    LocationResult
        ``model="closures"``, ``closed`` the closed columns, ``objective`` the weight that
        loses coverage, ``bound`` a lower bound on it, ``assignment`` each row's nearest site
        still open (-1: none reachable).

    Raises
    ------
    GisAppError
        On invalid inputs.

    Examples
    --------
    >>> cost = np.array([[1.0, 1.0, 9.0], [9.0, 1.0, 9.0], [9.0, 9.0, 1.0]])
    >>> res = closures(cost, [10.0, 5.0, 1.0], 2.0, 1, existing=[0, 1, 2])
    >>> res.closed.tolist(), res.objective
    ([0], 0.0)
    """
    st0 = start("closures", cost, weights, existing, method=method,
                time_limit_s=time_limit_s, progress=progress, threshold=threshold)
    fn, w, ex, cover = st0.fn, st0.weights, st0.fixed, st0.within()
    cols = np.flatnonzero(ex)
    k = _count(k, "k", int(cols.size), fn)
    sub = sp.csr_array(cover[:, cols])
    g = _Groups(sub, w, cols, np.zeros(cols.size, dtype=np.int64), (int(cols.size) - k,))
    before = g.value(np.ones(g.n, dtype=bool))
    t_build = time.perf_counter()
    mask, val, upper, optimal, status, label, open_all = _run(st0, g, method)
    return st0.result("closures", open_all, t_build=t_build, opened=[], closed=cols[~mask],
                      objective=max(before - val, 0.0), method=label, optimal=optimal,
                      bound=max(before - upper, 0.0) if np.isfinite(upper) else float("nan"),
                      status=status)


def mixed_budget(
    cost: CostInput,
    weights: ArrayLike,
    threshold: float | ArrayLike,
    *,
    existing: ArrayLike,
    n_open: int,
    n_close: int,
    method: Method = "auto",
    time_limit_s: float | None = None,
    progress: Progress | None = None,
) -> LocationResult:
    """Open ``n_open`` candidates and close ``n_close`` existing sites, maximising covered weight.

    Parameters
    ----------
    cost
        Demand x site costs; the ``existing`` columns are the existing sites, every other
        column a candidate.
    weights
        Weight (people) per demand row.
    threshold
        Largest cost that counts as covered (scalar or per row).
    existing
        The existing sites (mask or column indices).
    n_open
        Candidates to open, ``0 <= n_open <=`` number of candidates.
    n_close
        Existing sites to close, ``0 <= n_close <= |existing|``.
    method, time_limit_s, progress
        As for :func:`closures`.

    Returns
    -------
    LocationResult
        ``model="mixed"``, ``opened`` and ``closed`` columns, ``objective`` the weight covered
        afterwards (``bound`` an upper bound on it), ``assignment`` each row's nearest open site.

    Raises
    ------
    GisAppError
        On invalid inputs.

    Examples
    --------
    >>> cost = np.array([[1.0, 9.0, 9.0], [9.0, 1.0, 1.0], [9.0, 9.0, 1.0]])
    >>> res = mixed_budget(cost, [10.0, 5.0, 4.0], 2.0, existing=[0, 1], n_open=1, n_close=1)
    >>> res.opened.tolist(), res.closed.tolist(), res.objective
    ([2], [1], 19.0)
    """
    st0 = start("mixed_budget", cost, weights, existing, method=method,
                time_limit_s=time_limit_s, progress=progress, threshold=threshold)
    fn, w, ex, cover = st0.fn, st0.weights, st0.fixed, st0.within()
    ex_cols, cand_cols = np.flatnonzero(ex), np.flatnonzero(~ex)
    n_close = _count(n_close, "n_close", int(ex_cols.size), fn)
    n_open = _count(n_open, "n_open", int(cand_cols.size), fn)
    cols = np.concatenate([ex_cols, cand_cols])
    group = np.concatenate([np.zeros(ex_cols.size, np.int64), np.ones(cand_cols.size, np.int64)])
    g = _Groups(sp.csr_array(cover[:, cols]), w, cols, group,
                (int(ex_cols.size) - n_close, n_open))
    t_build = time.perf_counter()
    mask, val, upper, optimal, status, label, open_all = _run(st0, g, method)
    return st0.result("mixed", open_all, t_build=t_build,
                      opened=np.sort(cols[mask & (group == 1)]),
                      closed=np.sort(cols[~mask & (group == 0)]), objective=val, method=label,
                      optimal=optimal, bound=upper, status=status)
