"""Suggest new facility sites that cover the most uncovered people (maximal covering location).

The core works on one boolean sparse matrix, ``cover`` (demand rows x candidate columns, True
where the candidate site would serve the demand cell), a weight per demand row (people) and,
optionally, the rows that existing facilities already cover.  Existing facilities are kept:
rows they cover add nothing when covered again, so they are dropped before solving.

Two solvers share that input and return one :class:`SitingResult`:

* :func:`mclp_exact` builds the whole mixed-integer programme in one step from sparse
  arrays and hands it to HiGHS through :func:`scipy.optimize.milp` (no constraint-by-
  constraint modelling layer).  Demand rows with the same set of candidates are merged
  first, which is exact and often shrinks grid data a lot.
* :func:`mclp_greedy` adds sites one at a time with lazy evaluation (a priority queue of
  upper bounds on each candidate's gain, re-evaluated only when a candidate reaches the top),
  then improves the set by 1-swaps (drop one site, add another) computed for all
  (candidate, site) pairs at once with sparse products, until no swap improves coverage.

:func:`coverage_sets` and :func:`covered_by` are the thin adapters from the
:class:`~gisapp.travel.CostMatrix` of :mod:`gisapp.travel`; :func:`candidate_grid` makes a
regular grid of candidate points over populated cells.

Weights are people in the app, but any non-negative quantity works; "people" below means
"weight units".
"""

from __future__ import annotations

import heapq
import time
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
import scipy.sparse as sp
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import Bounds, LinearConstraint, milp

from ._errors import GisAppError
from .travel import CostMatrix

__all__ = [
    "COL_CANDIDATE_ID",
    "COL_PEOPLE_ADDED",
    "COL_PEOPLE_COVERED",
    "COL_SHARE_COVERED",
    "INDEX_RANK",
    "SitingResult",
    "candidate_grid",
    "coverage_sets",
    "covered_by",
    "mclp_exact",
    "mclp_greedy",
    "mclp_target",
    "suggest_sites",
]

INDEX_RANK = "rank"
COL_CANDIDATE_ID = "candidate_id"
COL_PEOPLE_ADDED = "people_added"
COL_PEOPLE_COVERED = "people_covered"
COL_SHARE_COVERED = "share_covered"

Method = Literal["auto", "exact", "greedy"]
_AUTO_EXACT_MAX_NNZ = 300_000  # "auto" solves exactly below this many reduced cover pairs
_REL_TOL = 1e-12  # improvements smaller than this share of the total weight are noise


# --------------------------------------------------------------------------- result type


@dataclass(frozen=True)
class SitingResult:
    """Sites proposed by a maximal-covering solver, in the order they are added.

    Attributes
    ----------
    selected
        Candidate (column) indices, in order of addition.  For the greedy this is the order
        it chose them; for an exact or swapped set it is the greedy order within the set
        (each next site is the one adding most, given the earlier ones).  Sites that would
        add nobody are never proposed, so there may be fewer than ``k``.
    gains
        People added by each site given the sites before it (same order as ``selected``).
        With capacities these are the people each site serves.
    curve
        People covered (including those already covered by existing facilities) after
        1, 2, ..., ``len(selected)`` sites: ``base_weight + cumsum(gains)``.  For a greedy
        result this is the greedy coverage curve for every smaller k; for an exact result
        it is the curve of the optimal k-set taken in greedy order (an optimal set for a
        smaller k may be different and better).
    base_weight
        People already covered by the existing facilities.
    total_weight
        All people (weights of every demand row).
    method
        ``"exact"``, ``"greedy"`` or ``"greedy+swap"`` (with ``"+capacity"`` when
        capacities were given).
    optimal
        True when the solver proved the set optimal.
    upper_bound
        Proven upper bound on the people coverable with k new sites, including
        ``base_weight`` (the MIP dual bound; for the uncapacitated greedy the submodular
        bound ``f(S) + sum of the k largest remaining gains``); ``nan`` when unknown.
    gap
        ``(upper_bound - covered_weight) / upper_bound``; 0 when proven optimal, ``nan``
        when unknown.
    solve_time_s
        Wall-clock time of the solve, seconds.
    n_swaps
        Improving swaps applied after the greedy (0 for other methods).
    target_share
        The share asked for by :func:`mclp_target`, else None.
    """

    selected: NDArray[np.int64]
    gains: NDArray[np.float64]
    curve: NDArray[np.float64]
    base_weight: float
    total_weight: float
    method: str
    optimal: bool
    upper_bound: float
    gap: float
    solve_time_s: float
    n_swaps: int = 0
    target_share: float | None = None

    @property
    def k(self) -> int:
        """Return the number of proposed sites."""
        return int(self.selected.size)

    @property
    def added_weight(self) -> float:
        """Return the people added by all proposed sites together."""
        return float(self.gains.sum())

    @property
    def covered_weight(self) -> float:
        """Return the people covered with the new sites, existing coverage included."""
        return self.base_weight + self.added_weight

    @property
    def covered_share(self) -> float:
        """Return ``covered_weight / total_weight`` (0 when the total weight is 0)."""
        return self.covered_weight / self.total_weight if self.total_weight > 0 else 0.0

    @property
    def curve_share(self) -> NDArray[np.float64]:
        """Return :attr:`curve` as shares of the total weight."""
        if self.total_weight <= 0:
            return np.zeros_like(self.curve)
        return self.curve / self.total_weight

    @property
    def target_reached(self) -> bool | None:
        """Return whether :attr:`covered_share` reaches :attr:`target_share` (None if unset)."""
        if self.target_share is None:
            return None
        return self.covered_share >= self.target_share - _REL_TOL

    def to_frame(self, candidate_ids: ArrayLike | None = None) -> pd.DataFrame:
        """Return one row per proposed site, in order of addition.

        Parameters
        ----------
        candidate_ids
            Identifier of every candidate (indexed by column); default the column index.

        Returns
        -------
        pandas.DataFrame
            Indexed by ``rank`` (1 = first site added), with columns ``candidate_id``,
            ``people_added`` (people the site adds), ``people_covered`` (cumulative, existing
            coverage included) and ``share_covered`` (0-1).
        """
        ids = self.selected if candidate_ids is None else np.asarray(candidate_ids)[self.selected]
        frame = pd.DataFrame(
            {
                COL_CANDIDATE_ID: ids,
                COL_PEOPLE_ADDED: self.gains,
                COL_PEOPLE_COVERED: self.curve,
                COL_SHARE_COVERED: self.curve_share,
            },
            index=pd.RangeIndex(1, self.k + 1, name=INDEX_RANK),
        )
        return frame


# --------------------------------------------------------------------------- adapters


def coverage_sets(
    cost: CostMatrix | sp.sparray | sp.spmatrix | NDArray[np.floating],
    threshold: float | ArrayLike,
) -> sp.csc_array:
    """Return which demand rows each candidate covers: cost at most ``threshold``.

    Parameters
    ----------
    cost
        Demand x candidate costs: a :class:`~gisapp.travel.CostMatrix`, a scipy sparse
        matrix (stored entries are pairs within reach, explicit zeros included; entries not
        stored are out of reach) or a dense array (every entry is a cost; ``nan`` and
        ``inf`` never cover).
    threshold
        Largest cost that still counts as covered, in the cost's unit (metres or minutes);
        a scalar or one value per demand row.

    Returns
    -------
    scipy.sparse.csc_array
        Boolean, shape (n_demand, n_candidates), sorted indices, no stored False.

    Raises
    ------
    GisAppError
        If ``threshold`` is negative or not finite, has the wrong length, or exceeds the
        cut-off of a :class:`~gisapp.travel.CostMatrix` (pairs beyond the cut-off were never
        stored, so coverage would be under-counted).

    Examples
    --------
    >>> from gisapp.travel import cost_matrix_from_pairs
    >>> cm = cost_matrix_from_pairs(np.array([0, 1, 1]), np.array([0, 0, 1]),
    ...                             np.array([0.0, 900.0, 300.0]), shape=(2, 2), unit="m",
    ...                             cutoff=1000)
    >>> coverage_sets(cm, 500).toarray().tolist()
    [[True, False], [False, True]]
    """
    thr = np.asarray(threshold, dtype=np.float64)
    if isinstance(cost, CostMatrix):
        if np.any(thr > cost.cutoff * (1 + 1e-12)):
            msg = (f"coverage_sets: `threshold` ({float(np.max(thr))} {cost.unit}) exceeds the "
                   f"cost matrix cut-off ({cost.cutoff} {cost.unit}); rebuild the cost matrix "
                   "with a cut-off at least as large as the threshold.")
            raise GisAppError(msg)
        mat: sp.sparray | sp.spmatrix | NDArray[np.floating] = cost.matrix
    else:
        mat = cost
    n_rows = int(mat.shape[0])
    if not np.all(np.isfinite(thr)) or np.any(thr < 0):
        msg = "coverage_sets: `threshold` must be finite and non-negative."
        raise GisAppError(msg)
    if thr.ndim and thr.shape != (n_rows,):
        msg = (f"coverage_sets: a per-row `threshold` needs one value per demand row "
               f"({n_rows}), got shape {thr.shape}.")
        raise GisAppError(msg)
    if sp.issparse(mat):
        coo = sp.coo_array(mat)
        row = np.asarray(coo.row, dtype=np.int64)
        keep = np.asarray(coo.data, dtype=np.float64) <= (thr[row] if thr.ndim else thr)
        out = sp.csc_array(
            (np.ones(int(keep.sum()), dtype=bool), (row[keep], np.asarray(coo.col)[keep])),
            shape=coo.shape,
        )
    else:
        dense = np.asarray(mat, dtype=np.float64)
        if dense.ndim != 2:
            msg = f"coverage_sets: `cost` must be 2-D, got {dense.ndim}-D."
            raise GisAppError(msg)
        out = sp.csc_array(dense <= (thr[:, None] if thr.ndim else thr))
    out.sum_duplicates()
    out.sort_indices()
    return out


def covered_by(cost: CostMatrix | sp.sparray | sp.spmatrix | NDArray[np.floating],
               threshold: float | ArrayLike) -> NDArray[np.bool_]:
    """Return, for each demand row, whether any facility of ``cost`` covers it.

    Use it on the cost matrix of the existing facilities to get ``already_covered``.

    Parameters
    ----------
    cost
        Demand x facility costs, as for :func:`coverage_sets`.
    threshold
        Largest cost that counts as covered, in the cost's unit.

    Returns
    -------
    numpy.ndarray
        Boolean, one value per demand row.

    Examples
    --------
    >>> covered_by(np.array([[100.0, 900.0], [800.0, 700.0]]), 500).tolist()
    [True, False]
    """
    cov = sp.csr_array(coverage_sets(cost, threshold))
    return np.asarray(np.diff(cov.indptr) > 0)


def candidate_grid(
    cell_x: ArrayLike,
    cell_y: ArrayLike,
    pop: ArrayLike,
    *,
    spacing_m: float,
    min_pop: float = 0.0,
    at: Literal["centre", "pop_centroid"] = "centre",
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Candidate sites on a regular grid over populated cells.

    The plane is cut into square blocks of ``spacing_m`` (aligned on multiples of the
    spacing); a block becomes a candidate when the people of the cells whose centres fall in
    it exceed ``min_pop`` (and are positive).

    Parameters
    ----------
    cell_x, cell_y
        Cell centre coordinates in a projected CRS, metres.
    pop
        People per cell.
    spacing_m
        Grid spacing, metres.
    min_pop
        Fewest people a block must hold to get a candidate.
    at
        ``"centre"``: the block centre (a regular grid); ``"pop_centroid"``: the
        population-weighted centroid of the block's cells (always near people).

    Returns
    -------
    x, y, block_pop
        Candidate coordinates (metres) and the people of each candidate's block, sorted by
        block (row-major from the lower-left).

    Raises
    ------
    GisAppError
        If ``spacing_m`` is not positive or the arrays differ in length.

    Examples
    --------
    >>> x, y, p = candidate_grid([50, 150, 1050], [50, 50, 50], [10, 5, 0], spacing_m=1000)
    >>> x.tolist(), y.tolist(), p.tolist()
    ([500.0], [500.0], [15.0])
    """
    cx = np.asarray(cell_x, dtype=np.float64)
    cy = np.asarray(cell_y, dtype=np.float64)
    pp = np.asarray(pop, dtype=np.float64)
    if not (np.isfinite(spacing_m) and spacing_m > 0):
        msg = f"candidate_grid: `spacing_m` must be a positive number of metres, got {spacing_m}."
        raise GisAppError(msg)
    if not (cx.shape == cy.shape == pp.shape and cx.ndim == 1):
        msg = (f"candidate_grid: `cell_x`, `cell_y` and `pop` must be 1-D of equal length, got "
               f"{cx.shape}, {cy.shape}, {pp.shape}.")
        raise GisAppError(msg)
    if at not in ("centre", "pop_centroid"):
        msg = f"candidate_grid: `at` must be 'centre' or 'pop_centroid', got {at!r}."
        raise GisAppError(msg)
    ok = np.isfinite(pp) & (pp > 0)
    cx, cy, pp = cx[ok], cy[ok], pp[ok]
    if cx.size == 0:
        empty = np.zeros(0, dtype=np.float64)
        return empty, empty.copy(), empty.copy()
    bx = np.floor(cx / spacing_m).astype(np.int64)
    by = np.floor(cy / spacing_m).astype(np.int64)
    keys, inv = np.unique(np.column_stack([by, bx]), axis=0, return_inverse=True)
    inv = inv.ravel()
    block_pop = np.bincount(inv, weights=pp, minlength=keys.shape[0])
    if at == "centre":
        x = (keys[:, 1] + 0.5) * spacing_m
        y = (keys[:, 0] + 0.5) * spacing_m
    else:
        x = np.bincount(inv, weights=pp * cx, minlength=keys.shape[0]) / block_pop
        y = np.bincount(inv, weights=pp * cy, minlength=keys.shape[0]) / block_pop
    keep = block_pop >= min_pop
    return x[keep].astype(np.float64), y[keep].astype(np.float64), block_pop[keep]


# --------------------------------------------------------------------------- preparation


@dataclass(frozen=True)
class _Problem:
    """The reduced problem: uncovered, coverable, weighted rows, identical rows merged."""

    cover: sp.csc_array  # reduced rows x candidates, bool
    w: NDArray[np.float64]  # weight of each reduced row
    n_cand: int
    base_weight: float
    total_weight: float
    capacity: NDArray[np.float64] | None  # per candidate, finite (inf replaced by column total)

    @property
    def tol(self) -> float:
        return _REL_TOL * max(self.total_weight, 1.0)


def _check_inputs(cover: sp.sparray | sp.spmatrix | NDArray[np.bool_], weights: ArrayLike,
                  already_covered: ArrayLike | None, capacity: ArrayLike | None,
                  fn: str) -> tuple[sp.csr_array, NDArray[np.float64], NDArray[np.bool_],
                                    NDArray[np.float64] | None]:
    problems: list[str] = []
    if sp.issparse(cover):
        if np.dtype(cover.dtype) != np.bool_:
            msg = (f"{fn}: `cover` must be a boolean matrix, got dtype {cover.dtype}; build it "
                   "with gisapp.siting.coverage_sets(cost, threshold).")
            raise GisAppError(msg)
        a = sp.csr_array(cover)
    else:
        arr = np.asarray(cover)
        if arr.ndim != 2 or arr.dtype != np.bool_:
            msg = (f"{fn}: `cover` must be a 2-D boolean matrix, got {arr.ndim}-D {arr.dtype}; "
                   "build it with gisapp.siting.coverage_sets(cost, threshold).")
            raise GisAppError(msg)
        a = sp.csr_array(arr)
    a.sum_duplicates()
    a.eliminate_zeros()
    a.sort_indices()
    n_dem, n_cand = (int(s) for s in a.shape)
    w = np.asarray(weights, dtype=np.float64)
    if w.shape != (n_dem,):
        problems.append(f"`weights` needs one value per demand row ({n_dem}), got shape {w.shape}.")
    elif not np.all(np.isfinite(w)) or np.any(w < 0):
        problems.append("`weights` must be finite and non-negative.")
    if already_covered is None:
        done = np.zeros(n_dem, dtype=bool)
    else:
        done = np.asarray(already_covered)
        if done.shape != (n_dem,) or done.dtype != np.bool_:
            problems.append(f"`already_covered` must be a boolean array with one value per "
                            f"demand row ({n_dem}), got {done.dtype} of shape {done.shape}.")
    cap: NDArray[np.float64] | None = None
    if capacity is not None:
        cap = np.asarray(capacity, dtype=np.float64)
        if cap.ndim == 0:
            cap = np.full(n_cand, float(cap))
        if cap.shape != (n_cand,):
            problems.append(f"`capacity` needs one value per candidate ({n_cand}) or a scalar, "
                            f"got shape {cap.shape}.")
        elif np.any(np.isnan(cap)) or np.any(cap < 0):
            problems.append("`capacity` must be non-negative (people); use inf for no limit.")
    if problems:
        msg = f"{fn}: " + " ".join(problems)
        raise GisAppError(msg)
    return a, w, done, cap


def _merge_identical_rows(a: sp.csr_array, w: NDArray[np.float64]
                          ) -> tuple[sp.csr_array, NDArray[np.float64]]:
    """Merge rows with the same candidate set, summing their weights (exact, vectorised)."""
    n = int(a.shape[0])
    if n < 2:
        return a, w
    rng = np.random.default_rng(20240611)
    hashes = sp.csr_array((np.ones(a.nnz), a.indices, a.indptr), shape=a.shape) @ \
        rng.random((int(a.shape[1]), 2))
    counts = np.diff(a.indptr)
    keys = np.column_stack([counts.astype(np.float64), hashes])
    _, first, inv = np.unique(keys, axis=0, return_index=True, return_inverse=True)
    inv = inv.ravel()
    if first.size == n:
        return a, w
    # verify the hash grouping exactly: every row equals its group's representative
    rep = first[inv]
    off = np.arange(a.nnz) - np.repeat(a.indptr[:-1], counts)
    rep_pos = np.repeat(a.indptr[rep], counts) + off
    if not np.array_equal(a.indices, a.indices[rep_pos]):  # a hash collision: do not merge
        return a, w
    merged_w = np.bincount(inv, weights=w, minlength=first.size)
    return sp.csr_array(a[first]), merged_w


def _prepare(cover: sp.sparray | sp.spmatrix | NDArray[np.bool_], weights: ArrayLike,
             already_covered: ArrayLike | None, capacity: ArrayLike | None, fn: str,
             *, merge: bool = True) -> _Problem:
    a, w, done, cap = _check_inputs(cover, weights, already_covered, capacity, fn)
    total = float(w.sum())
    base = float(w[done].sum())
    keep = ~done & (w > 0) & (np.diff(a.indptr) > 0)
    a_red = sp.csr_array(a[np.flatnonzero(keep)])
    w_red = w[keep]
    if merge:
        a_red, w_red = _merge_identical_rows(a_red, w_red)
    csc = sp.csc_array(a_red)
    csc.sort_indices()
    if cap is not None:
        col_total = csc.T @ w_red
        cap = np.minimum(cap, col_total)  # a site never serves more than it reaches
    return _Problem(csc, np.asarray(w_red, dtype=np.float64), int(a.shape[1]), base, total, cap)


def _check_k(k: int, n_cand: int, fn: str) -> int:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        msg = f"{fn}: `k` must be a positive integer (number of new sites), got {k!r}."
        raise GisAppError(msg)
    if k > n_cand:
        msg = (f"{fn}: `k` ({k}) exceeds the number of candidate sites ({n_cand}); add "
               "candidates or ask for fewer sites.")
        raise GisAppError(msg)
    return int(k)


# --------------------------------------------------------------------------- helpers


def _column_rows(cover: sp.csc_array, j: int) -> NDArray[np.int32]:
    return cover.indices[cover.indptr[j]:cover.indptr[j + 1]]


def _greedy_order(prob: _Problem, sites: NDArray[np.int64]
                  ) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """Order a fixed set of sites greedily (largest marginal gain first); drop zero gains."""
    sub = _Problem(sp.csc_array(prob.cover[:, sites]), prob.w, int(sites.size),
                   prob.base_weight, prob.total_weight, None)
    order, gains = _lazy_greedy(sub, int(sites.size), prob.w.copy())
    return sites[np.asarray(order, dtype=np.int64)], np.asarray(gains, dtype=np.float64)


def _result(prob: _Problem, sel: NDArray[np.int64], gains: NDArray[np.float64], *, method: str,
            optimal: bool, upper_bound: float, t0: float, n_swaps: int = 0,
            target_share: float | None = None) -> SitingResult:
    covered = prob.base_weight + float(gains.sum())
    if optimal:
        upper_bound = covered
    gap = (upper_bound - covered) / upper_bound if upper_bound > 0 else (
        0.0 if upper_bound == 0 else float("nan"))
    return SitingResult(
        selected=np.asarray(sel, dtype=np.int64),
        gains=np.asarray(gains, dtype=np.float64),
        curve=prob.base_weight + np.cumsum(gains),
        base_weight=prob.base_weight,
        total_weight=prob.total_weight,
        method=method,
        optimal=optimal,
        upper_bound=float(upper_bound),
        gap=float(max(gap, 0.0)) if np.isfinite(gap) else float("nan"),
        solve_time_s=time.perf_counter() - t0,
        n_swaps=n_swaps,
        target_share=target_share,
    )


# --------------------------------------------------------------------------- exact


def mclp_exact(
    cover: sp.sparray | sp.spmatrix | NDArray[np.bool_],
    weights: ArrayLike,
    k: int,
    *,
    already_covered: ArrayLike | None = None,
    capacity: ArrayLike | None = None,
    time_limit_s: float | None = None,
    mip_rel_gap: float = 1e-9,
) -> SitingResult:
    """Maximal covering location solved exactly as a MIP with HiGHS (scipy ``milp``).

    Uncapacitated model (after dropping rows already covered, rows nobody can cover and
    zero-weight rows, and merging rows with the same candidate set)::

        max  sum_i w_i y_i
        s.t. y_i <= sum_j a_ij x_j   (each row)
             sum_j x_j <= k,  x_j in {0, 1},  0 <= y_i <= 1

    With ``capacity`` an assignment variable ``z_ij >= 0`` (people of row i served by
    site j) is added for every covering pair::

        max  sum_ij z_ij
        s.t. sum_j z_ij <= w_i,   sum_i z_ij <= cap_j x_j,   sum_j x_j <= k

    (people of one row may be split between sites).  Both are assembled from sparse arrays
    in one step; no per-constraint Python objects are built.

    Parameters
    ----------
    cover
        Boolean demand x candidate matrix (see :func:`coverage_sets`).
    weights
        People per demand row, non-negative.
    k
        Number of new sites, 1 <= k <= number of candidates.
    already_covered
        Boolean per demand row: True where an existing (kept) facility already covers it.
    capacity
        People each new site can serve (scalar or one per candidate; ``inf`` for no limit).
    time_limit_s
        Stop HiGHS after this many seconds; the result then holds the better of the best
        MIP solution found and the greedy+swap solution, with ``optimal=False`` and the gap
        to HiGHS' dual bound.
    mip_rel_gap
        Relative optimality gap at which HiGHS stops.

    Returns
    -------
    SitingResult
        ``method="exact"`` (``"exact+capacity"``); sites in greedy order within the optimal
        set (capacitated: by people served).

    Raises
    ------
    GisAppError
        On invalid inputs or if HiGHS fails.

    Examples
    --------
    >>> cover = np.array([[1, 0, 0], [1, 1, 0], [0, 1, 0], [0, 0, 1]], dtype=bool)
    >>> res = mclp_exact(cover, [5.0, 1.0, 4.0, 3.0], 2)
    >>> res.selected.tolist(), res.gains.tolist(), res.optimal
    ([0, 1], [6.0, 4.0], True)
    """
    t0 = time.perf_counter()
    fn = "mclp_exact"
    prob = _prepare(cover, weights, already_covered, capacity, fn)
    k = _check_k(k, prob.n_cand, fn)
    if prob.w.size == 0:  # nothing left to cover
        return _result(prob, np.zeros(0, np.int64), np.zeros(0), method="exact",
                       optimal=True, upper_bound=prob.base_weight, t0=t0)
    if prob.capacity is None:
        x_sol, dual_bound, status = _solve_uncapacitated(prob, k, time_limit_s, mip_rel_gap)
    else:
        x_sol, dual_bound, status = _solve_capacitated(prob, k, time_limit_s, mip_rel_gap)
    method = "exact" if prob.capacity is None else "exact+capacity"
    optimal = status == 0  # optimal within mip_rel_gap
    if x_sol is None:
        sel = np.zeros(0, dtype=np.int64)
        gains = np.zeros(0)
    else:
        sites = np.flatnonzero(x_sol[: prob.n_cand] > 0.5).astype(np.int64)
        sel, gains = _order_exact(prob, sites, x_sol)
    upper = prob.base_weight + dual_bound if np.isfinite(dual_bound) else float("nan")
    if not optimal:  # time limit: never return worse than the heuristic
        heur = _greedy_core(prob, k, swap=True, t0=t0)
        if x_sol is None or heur.added_weight > float(gains.sum()):
            return _result(prob, heur.selected, heur.gains,
                           method=f"{heur.method} (exact timed out)", optimal=False,
                           upper_bound=upper, t0=t0, n_swaps=heur.n_swaps)
    return _result(prob, sel, gains, method=method, optimal=optimal, upper_bound=upper, t0=t0)


def _milp_options(time_limit_s: float | None, mip_rel_gap: float) -> dict[str, float | bool]:
    opts: dict[str, float | bool] = {"disp": False, "mip_rel_gap": float(mip_rel_gap)}
    if time_limit_s is not None:
        if not time_limit_s > 0:
            msg = f"mclp_exact: `time_limit_s` must be positive seconds, got {time_limit_s}."
            raise GisAppError(msg)
        opts["time_limit"] = float(time_limit_s)
    return opts


def _run_milp(c: NDArray[np.float64], integrality: NDArray[np.int8], lb: NDArray[np.float64],
              ub: NDArray[np.float64], a: sp.csr_array, cl: NDArray[np.float64],
              cu: NDArray[np.float64], opts: dict[str, float | bool]
              ) -> tuple[NDArray[np.float64] | None, float, int]:
    res = milp(c, integrality=integrality, bounds=Bounds(lb, ub),
               constraints=LinearConstraint(a, cl, cu), options=opts)
    if res.status not in (0, 1):  # 0 optimal, 1 iteration/time limit
        msg = f"mclp_exact: HiGHS failed (status {res.status}): {res.message}"
        raise GisAppError(msg)
    x = None if res.x is None else np.asarray(res.x, dtype=np.float64)
    bound = getattr(res, "mip_dual_bound", None)
    dual = -float(bound) if bound is not None and np.isfinite(bound) else float("nan")
    if res.status == 0 and x is not None:
        dual = -float(res.fun) if not np.isfinite(dual) else dual
    return x, dual, int(res.status)


def _solve_uncapacitated(prob: _Problem, k: int, time_limit_s: float | None,
                         mip_rel_gap: float) -> tuple[NDArray[np.float64] | None, float, int]:
    m, n = prob.w.size, prob.n_cand
    a = sp.csr_array(prob.cover, dtype=np.float64)
    # rows 0..m-1: y_i - sum_j a_ij x_j <= 0 ;  row m: sum_j x_j <= k
    coupling = sp.hstack([-a, sp.identity(m, format="csr")], format="csr")
    count = sp.csr_array((np.ones(n), np.arange(n), np.array([0, n])), shape=(1, n + m))
    big = sp.vstack([coupling, count], format="csr")
    cl = np.full(m + 1, -np.inf)
    cu = np.concatenate([np.zeros(m), [float(k)]])
    c = np.concatenate([np.zeros(n), -prob.w])
    integrality = np.concatenate([np.ones(n, np.int8), np.zeros(m, np.int8)])
    return _run_milp(c, integrality, np.zeros(n + m), np.ones(n + m), big, cl, cu,
                     _milp_options(time_limit_s, mip_rel_gap))


def _solve_capacitated(prob: _Problem, k: int, time_limit_s: float | None,
                       mip_rel_gap: float) -> tuple[NDArray[np.float64] | None, float, int]:
    assert prob.capacity is not None  # noqa: S101 - internal invariant, not input validation
    a = sp.csr_array(prob.cover)
    a.sort_indices()
    m, n, nnz = prob.w.size, prob.n_cand, int(a.nnz)
    pair_col = a.indices.astype(np.int64)
    # variables: x (n) then z (nnz, one per covering pair in CSR order)
    row_sum = sp.csr_array((np.ones(nnz), np.arange(nnz) + n, a.indptr), shape=(m, n + nnz))
    col_sum = sp.csr_array(
        (np.concatenate([-prob.capacity, np.ones(nnz)]),
         (np.concatenate([np.arange(n), pair_col]), np.concatenate([np.arange(n), n + np.arange(nnz)]))),
        shape=(n, n + nnz),
    )
    count = sp.csr_array((np.ones(n), np.arange(n), np.array([0, n])), shape=(1, n + nnz))
    big = sp.vstack([row_sum, col_sum, count], format="csr")
    cl = np.full(m + n + 1, -np.inf)
    cu = np.concatenate([prob.w, np.zeros(n), [float(k)]])
    c = np.concatenate([np.zeros(n), -np.ones(nnz)])
    integrality = np.concatenate([np.ones(n, np.int8), np.zeros(nnz, np.int8)])
    ub = np.concatenate([np.ones(n), np.repeat(prob.w, np.diff(a.indptr))])
    return _run_milp(c, integrality, np.zeros(n + nnz), ub, big, cl, cu,
                     _milp_options(time_limit_s, mip_rel_gap))


def _order_exact(prob: _Problem, sites: NDArray[np.int64], x_sol: NDArray[np.float64]
                 ) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    if prob.capacity is None:
        return _greedy_order(prob, sites)
    a = sp.csr_array(prob.cover)
    a.sort_indices()
    z = np.clip(x_sol[prob.n_cand:], 0.0, None)
    served = np.bincount(a.indices, weights=z, minlength=prob.n_cand)[sites]
    order = np.argsort(-served, kind="stable")
    keep = served[order] > prob.tol
    return sites[order][keep], served[order][keep]


# --------------------------------------------------------------------------- greedy


def mclp_greedy(
    cover: sp.sparray | sp.spmatrix | NDArray[np.bool_],
    weights: ArrayLike,
    k: int,
    *,
    already_covered: ArrayLike | None = None,
    capacity: ArrayLike | None = None,
    swap: bool = True,
) -> SitingResult:
    """Maximal covering location by lazy greedy, then 1-swap improvement.

    Lazy greedy: every candidate sits in a priority queue keyed by an upper bound on its
    gain (its gain when last evaluated; gains only shrink as sites are added).  The top
    candidate is re-evaluated on its own column; if it still beats the next bound it is
    added, else it goes back with its new bound.  The greedy set is within ``1 - 1/e`` of
    the optimum.

    Swap: for the current set S, with ``count_i`` the number of sites in S covering row i,
    dropping site s loses ``sum w_i`` over its rows with ``count_i = 1`` and adding candidate
    c gains ``sum w_i`` over its rows with ``count_i = 0`` plus its rows covered only by s.
    All (c, s) pairs are scored at once with two sparse products; the best improving swap is
    applied, until none improves.  The swapped set is never worse than the greedy one.

    Parameters
    ----------
    cover
        Boolean demand x candidate matrix (see :func:`coverage_sets`).
    weights
        People per demand row, non-negative.
    k
        Number of new sites, 1 <= k <= number of candidates.
    already_covered
        Boolean per demand row: True where an existing (kept) facility already covers it.
    capacity
        People each new site can serve (scalar or per candidate; ``inf`` for no limit).  A
        site's gain is then ``min(capacity, uncovered people it reaches)`` and, once added,
        it serves that many, taken in proportion from the rows it reaches (people left over
        stay available to other sites).  The swap step is skipped with capacities.
    swap
        Run the swap improvement after the greedy.

    Returns
    -------
    SitingResult
        ``method`` is ``"greedy"`` or ``"greedy+swap"`` (``"+capacity"`` appended with
        capacities); :attr:`SitingResult.upper_bound` is the submodular bound (uncapacitated).

    Raises
    ------
    GisAppError
        On invalid inputs.

    Examples
    --------
    >>> cover = np.array([[1, 0, 0], [1, 1, 0], [0, 1, 0], [0, 0, 1]], dtype=bool)
    >>> res = mclp_greedy(cover, [5.0, 1.0, 4.0, 3.0], 2)
    >>> res.selected.tolist(), res.gains.tolist(), res.covered_share
    ([0, 1], [6.0, 4.0], 0.7692307692307693)
    """
    t0 = time.perf_counter()
    fn = "mclp_greedy"
    prob = _prepare(cover, weights, already_covered, capacity, fn, merge=False)
    k = _check_k(k, prob.n_cand, fn)
    return _greedy_core(prob, k, swap=swap, t0=t0)


def _lazy_greedy(prob: _Problem, k: int, resid: NDArray[np.float64]
                 ) -> tuple[list[int], list[float]]:
    """Add up to ``k`` sites by lazy greedy; ``resid`` (uncovered people per row) is updated."""
    cover, cap, tol = prob.cover, prob.capacity, prob.tol
    bound = prob.cover.T @ resid
    if cap is not None:
        bound = np.minimum(bound, cap)
    cand = np.flatnonzero(bound > tol)
    heap = list(zip((-bound[cand]).tolist(), cand.tolist(), strict=True))
    heapq.heapify(heap)
    sel: list[int] = []
    gains: list[float] = []
    while len(sel) < k and heap:
        _, j = heapq.heappop(heap)
        rows = _column_rows(cover, j)
        avail = float(resid[rows].sum())
        gain = avail if cap is None else min(avail, float(cap[j]))
        if gain <= tol:
            continue  # adds nobody any more; drop it for good
        if heap and gain < -heap[0][0] - tol:
            heapq.heappush(heap, (-gain, j))
            continue
        sel.append(j)
        gains.append(gain)
        if cap is None or gain >= avail:
            resid[rows] = 0.0
        else:  # a full site serves its capacity, in proportion from the rows it reaches
            resid[rows] *= 1.0 - gain / avail
    return sel, gains


def _swap(prob: _Problem, sites: NDArray[np.int64], max_iter: int) -> tuple[NDArray[np.int64], int]:
    """Best-improvement 1-swap on an uncapacitated set until no swap improves coverage."""
    cover, w, tol = prob.cover, prob.w, prob.tol
    cover_t = sp.csr_array(cover.T)
    sites = sites.copy()
    kk = sites.size
    count = np.asarray(sp.csr_array(cover[:, sites]).sum(axis=1)).ravel()
    is_sel = np.zeros(prob.n_cand, dtype=bool)
    is_sel[sites] = True
    n_swaps = 0
    for _ in range(max_iter):
        gain_add = cover_t @ np.where(count == 0, w, 0.0)  # per candidate, with S as is
        only = np.flatnonzero(count == 1)
        sub = sp.csr_array(cover[:, sites])[only]  # each row holds exactly one stored entry
        owner = sub.indices  # position in `sites` of the site covering that row alone
        loss = np.bincount(owner, weights=w[only], minlength=kk)
        # H[c, s]: weight covered by c among rows covered only by s
        h = cover_t @ sp.csr_array((w[only], (only, owner)), shape=(w.size, kk))
        delta = gain_add[:, None] - loss[None, :] + h.toarray()
        delta[is_sel, :] = -np.inf
        best = int(np.argmax(delta))
        c, s_pos = divmod(best, kk)
        if not delta[c, s_pos] > tol:
            break
        out = int(sites[s_pos])
        count[_column_rows(cover, out)] -= 1
        count[_column_rows(cover, c)] += 1
        is_sel[out], is_sel[c] = False, True
        sites[s_pos] = c
        n_swaps += 1
    return sites, n_swaps


def _greedy_core(prob: _Problem, k: int, *, swap: bool, t0: float) -> SitingResult:
    resid = prob.w.copy()
    sel_list, gain_list = _lazy_greedy(prob, k, resid)
    sel = np.asarray(sel_list, dtype=np.int64)
    gains = np.asarray(gain_list, dtype=np.float64)
    suffix = "" if prob.capacity is None else "+capacity"
    n_swaps = 0
    if prob.capacity is not None:
        return _result(prob, sel, gains, method="greedy" + suffix, optimal=False,
                       upper_bound=float("nan"), t0=t0)
    method = "greedy"
    if swap and 0 < sel.size < prob.n_cand:
        method = "greedy+swap"
        sites, n_swaps = _swap(prob, sel, max_iter=20 * k + 100)
        if n_swaps:
            sel, gains = _greedy_order(prob, sites)
    upper = _submodular_bound(prob, sel, k)
    optimal = upper - (prob.base_weight + float(gains.sum())) <= prob.tol
    return _result(prob, sel, gains, method=method, optimal=optimal, upper_bound=upper, t0=t0,
                   n_swaps=n_swaps)


def _submodular_bound(prob: _Problem, sel: NDArray[np.int64], k: int) -> float:
    """f(S) + sum of the k largest gains given S: an upper bound on the optimum (submodularity)."""
    uncovered = np.ones(prob.w.size, dtype=bool)
    if sel.size:
        uncovered[sp.csr_array(prob.cover[:, sel]).sum(axis=1) > 0] = False
    g = prob.cover.T @ np.where(uncovered, prob.w, 0.0)
    top = np.sort(g)[::-1][:k]
    return prob.base_weight + float(prob.w[~uncovered].sum()) + float(top.sum())


# --------------------------------------------------------------------------- target share


def mclp_target(
    cover: sp.sparray | sp.spmatrix | NDArray[np.bool_],
    weights: ArrayLike,
    target_share: float,
    *,
    already_covered: ArrayLike | None = None,
    capacity: ArrayLike | None = None,
    max_k: int | None = None,
    swap: bool = True,
) -> SitingResult:
    """Fewest new sites (by greedy, then swap) whose coverage reaches a target share.

    The greedy runs until the covered share (existing coverage included) reaches
    ``target_share``, giving k.  Without capacities, the swap step is then tried at k - 1,
    k - 2, ... (from the greedy prefix) while it still reaches the target, so the answer can
    need fewer sites than the greedy alone.

    Parameters
    ----------
    cover
        Boolean demand x candidate matrix (see :func:`coverage_sets`).
    weights
        People per demand row, non-negative.
    target_share
        Share of all people (0-1] to cover, existing coverage included.
    already_covered
        Boolean per demand row: True where an existing facility already covers it.
    capacity
        People each new site can serve, as in :func:`mclp_greedy`.
    max_k
        Most new sites to propose (default: all candidates).
    swap
        Try the swap step to reach the target with fewer sites.

    Returns
    -------
    SitingResult
        With ``target_share`` set; check :attr:`SitingResult.target_reached` (False when
        even ``max_k`` sites, or every site that adds people, fall short: the result then
        holds those sites).

    Raises
    ------
    GisAppError
        On invalid inputs.

    Examples
    --------
    >>> cover = np.array([[1, 0, 0], [1, 1, 0], [0, 1, 0], [0, 0, 1]], dtype=bool)
    >>> res = mclp_target(cover, [5.0, 1.0, 4.0, 3.0], 0.7)
    >>> res.selected.tolist(), res.target_reached
    ([0, 1], True)
    """
    t0 = time.perf_counter()
    fn = "mclp_target"
    if not (np.isfinite(target_share) and 0 < target_share <= 1):
        msg = f"{fn}: `target_share` must lie in (0, 1], got {target_share}."
        raise GisAppError(msg)
    prob = _prepare(cover, weights, already_covered, capacity, fn, merge=False)
    k_max = _check_k(prob.n_cand if max_k is None else min(max_k, prob.n_cand), prob.n_cand, fn)
    need = target_share * prob.total_weight - prob.base_weight - prob.tol
    if need <= 0:
        return _result(prob, np.zeros(0, np.int64), np.zeros(0), method="greedy", optimal=True,
                       upper_bound=prob.base_weight, t0=t0, target_share=target_share)
    resid = prob.w.copy()
    sel_list, gain_list = _lazy_greedy(prob, k_max, resid)
    gains = np.asarray(gain_list, dtype=np.float64)
    reach = np.flatnonzero(np.cumsum(gains) >= need)
    k_star = int(reach[0]) + 1 if reach.size else gains.size
    sel = np.asarray(sel_list[:k_star], dtype=np.int64)
    gains = gains[:k_star]
    suffix = "" if prob.capacity is None else "+capacity"
    method = "greedy" + suffix
    n_swaps = 0
    if swap and prob.capacity is None and reach.size:
        method = "greedy+swap"
        for kk in range(k_star - 1, 0, -1):  # can fewer sites reach the target after swaps?
            sites, ns = _swap(prob, np.asarray(sel_list[:kk], dtype=np.int64), 20 * kk + 100)
            s2, g2 = _greedy_order(prob, sites)
            if g2.sum() < need:
                break
            sel, gains, n_swaps = s2, g2, ns
    upper = _submodular_bound(prob, sel, max(sel.size, 1)) if prob.capacity is None \
        else float("nan")
    return _result(prob, sel, gains, method=method, optimal=False, upper_bound=upper, t0=t0,
                   n_swaps=n_swaps, target_share=target_share)


# --------------------------------------------------------------------------- dispatcher


def suggest_sites(
    cover: sp.sparray | sp.spmatrix | NDArray[np.bool_],
    weights: ArrayLike,
    k: int,
    *,
    method: Method = "auto",
    already_covered: ArrayLike | None = None,
    capacity: ArrayLike | None = None,
    time_limit_s: float | None = 30.0,
) -> SitingResult:
    """Propose ``k`` new sites, choosing the solver by problem size.

    Parameters
    ----------
    cover
        Boolean demand x candidate matrix (see :func:`coverage_sets`).
    weights
        People per demand row.
    k
        Number of new sites.
    method
        ``"exact"`` (:func:`mclp_exact`), ``"greedy"`` (:func:`mclp_greedy` with swap) or
        ``"auto"``: exact when the cover matrix holds at most 300,000 pairs, else greedy.
    already_covered
        Boolean per demand row, True where existing facilities already cover it.
    capacity
        People each new site can serve (scalar or per candidate).
    time_limit_s
        Time limit of the exact solver, seconds (it then returns its best solution or the
        greedy one, whichever covers more).

    Returns
    -------
    SitingResult

    Raises
    ------
    GisAppError
        On invalid inputs or an unknown ``method``.
    """
    if method not in ("auto", "exact", "greedy"):
        msg = f"suggest_sites: `method` must be 'auto', 'exact' or 'greedy', got {method!r}."
        raise GisAppError(msg)
    if method == "auto":
        nnz = int(cover.nnz) if sp.issparse(cover) else int(np.count_nonzero(cover))
        method = "exact" if nnz <= _AUTO_EXACT_MAX_NNZ else "greedy"
    if method == "exact":
        return mclp_exact(cover, weights, k, already_covered=already_covered, capacity=capacity,
                          time_limit_s=time_limit_s)
    return mclp_greedy(cover, weights, k, already_covered=already_covered, capacity=capacity)
