"""The covering problem shared by every siting model: coverage sets, candidate grids, the prepared problem.

Every model family (:mod:`.mclp`: maximal covering) works on one boolean sparse matrix,
``cover`` (demand rows x candidate columns, True where the candidate site would serve the
demand cell), a weight per demand row (people) and, optionally, the rows that existing
facilities already cover.  This module builds that input and checks it:

* :func:`coverage_sets` and :func:`covered_by` are the thin adapters from the
  :class:`~gisapp.travel.cost.CostMatrix` of :mod:`gisapp.travel`;
* :func:`candidate_grid` makes a regular grid of candidate points over populated cells;
* :func:`prepare` validates the inputs and reduces the problem (rows already covered,
  uncoverable or weightless dropped; identical rows merged), giving a :class:`CoverProblem`;
* :class:`SitingResult` is what every solver returns (:func:`siting_result` builds it).

Weights are people in the app, but any non-negative quantity works; "people" below means
"weight units".
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
import scipy.sparse as sp
from numpy.typing import ArrayLike, NDArray

from gisapp._errors import GisAppError, Message, Messages
from gisapp.i18n import Term
from gisapp.travel.cost import CostMatrix

__all__ = [
    "COL_CANDIDATE_ID",
    "COL_PEOPLE_ADDED",
    "COL_PEOPLE_COVERED",
    "COL_SHARE_COVERED",
    "INDEX_RANK",
    "REL_TOL",
    "CoverProblem",
    "SitingResult",
    "candidate_grid",
    "check_k",
    "column_rows",
    "coverage_sets",
    "covered_by",
    "prepare",
    "siting_result",
]

INDEX_RANK = "rank"
COL_CANDIDATE_ID = "candidate_id"
COL_PEOPLE_ADDED = "people_added"
COL_PEOPLE_COVERED = "people_covered"
COL_SHARE_COVERED = "share_covered"

REL_TOL = 1e-12  # improvements smaller than this share of the total weight are noise


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
        capacities were given, and ``" (time limit)"`` when the exact solve was stopped).
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
        The share asked for by :func:`.mclp.mclp_target`, else None.
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
        return self.covered_share >= self.target_share - REL_TOL

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
    >>> from gisapp.travel.cost import cost_matrix_from_pairs
    >>> cm = cost_matrix_from_pairs(np.array([0, 1, 1]), np.array([0, 0, 1]),
    ...                             np.array([0.0, 900.0, 300.0]), shape=(2, 2), unit="m",
    ...                             cutoff=1000)
    >>> coverage_sets(cm, 500).toarray().tolist()
    [[True, False], [False, True]]
    """
    thr = np.asarray(threshold, dtype=np.float64)
    if isinstance(cost, CostMatrix):
        if np.any(thr > cost.cutoff * (1 + 1e-12)):
            raise GisAppError(code="cover_beyond_cutoff", params={
                "threshold": float(np.max(thr)), "cutoff": cost.cutoff, "unit": Term(f"unit.{cost.unit}", cost.unit)})
        mat: sp.sparray | sp.spmatrix | NDArray[np.floating] = cost.matrix
    else:
        mat = cost
    n_rows = int(mat.shape[0])
    if not np.all(np.isfinite(thr)) or np.any(thr < 0):
        raise GisAppError(code="cover_bad_threshold")
    if thr.ndim and thr.shape != (n_rows,):
        raise GisAppError(code="cover_threshold_shape", params={"n": n_rows, "shape": thr.shape})
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
            raise GisAppError(code="cover_cost_not_2d", params={"ndim": dense.ndim})
        mask = dense <= (thr[:, None] if thr.ndim else thr)
        cols = np.nonzero(mask)[1]  # row-major: sorted by row, then column
        indptr = np.zeros(n_rows + 1, dtype=np.int64)
        np.cumsum(np.count_nonzero(mask, axis=1), out=indptr[1:])
        idx = np.int32 if cols.size < 2**31 - 1 else np.int64
        csr = sp.csr_array((np.ones(cols.size, dtype=bool), cols.astype(idx), indptr.astype(idx)),
                           shape=mask.shape)
        return sp.csc_array(csr)  # CSR -> CSC leaves sorted indices
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
        raise GisAppError(code="grid_bad_spacing", params={"spacing": spacing_m})
    if not (cx.shape == cy.shape == pp.shape and cx.ndim == 1):
        raise GisAppError(code="grid_shapes", params={"shapes": f"{cx.shape}, {cy.shape}, {pp.shape}"})
    if at not in ("centre", "pop_centroid"):
        raise GisAppError(code="grid_bad_at", params={"at": at})
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
    return (x[keep].astype(np.float64), y[keep].astype(np.float64),
            block_pop[keep].astype(np.float64))


# --------------------------------------------------------------------------- preparation


@dataclass(frozen=True)
class CoverProblem:
    """The reduced problem: uncovered, coverable, weighted rows, identical rows merged."""

    cover: sp.csc_array  # reduced rows x candidates, bool
    w: NDArray[np.float64]  # weight of each reduced row
    n_cand: int
    base_weight: float
    total_weight: float
    capacity: NDArray[np.float64] | None  # per candidate, finite (inf replaced by column total)

    @property
    def tol(self) -> float:
        """Return the smallest change of covered people that counts (not rounding noise)."""
        return REL_TOL * max(self.total_weight, 1.0)


def _check_inputs(cover: sp.sparray | sp.spmatrix | NDArray[np.bool_], weights: ArrayLike,
                  already_covered: ArrayLike | None, capacity: ArrayLike | None,
                  fn: str) -> tuple[sp.csr_array, NDArray[np.float64], NDArray[np.bool_],
                                    NDArray[np.float64] | None]:
    problems: list[Message] = []
    if sp.issparse(cover):
        if np.dtype(cover.dtype) != np.bool_:
            raise GisAppError(code="cover_not_boolean", params={"fn": fn, "dtype": str(cover.dtype)})
        a = sp.csr_array(cover, copy=True)  # canonicalised in place below: never the input
    else:
        arr = np.asarray(cover)
        if arr.ndim != 2 or arr.dtype != np.bool_:
            raise GisAppError(code="cover_not_2d_boolean", params={"fn": fn, "ndim": arr.ndim, "dtype": str(arr.dtype)})
        a = sp.csr_array(arr)
    a.sum_duplicates()
    a.eliminate_zeros()
    a.sort_indices()
    n_dem, n_cand = (int(s) for s in a.shape)
    w = np.asarray(weights, dtype=np.float64)
    if w.shape != (n_dem,):
        problems.append(Message(code="weights_shape", params={"n": n_dem, "shape": w.shape}))
    elif not np.all(np.isfinite(w)) or np.any(w < 0):
        problems.append(Message(code="weights_negative"))
    if already_covered is None:
        done = np.zeros(n_dem, dtype=bool)
    else:
        done = np.asarray(already_covered)
        if done.shape != (n_dem,) or done.dtype != np.bool_:
            problems.append(Message(code="already_covered_shape",
                                    params={"n": n_dem, "dtype": str(done.dtype), "shape": done.shape}))
    cap: NDArray[np.float64] | None = None
    if capacity is not None:
        cap = np.asarray(capacity, dtype=np.float64)
        if cap.ndim == 0:
            cap = np.full(n_cand, float(cap))
        if cap.shape != (n_cand,):
            problems.append(Message(code="capacity_shape", params={"n": n_cand, "shape": cap.shape}))
        elif np.any(np.isnan(cap)) or np.any(cap < 0):
            problems.append(Message(code="capacity_negative"))
    if problems:
        raise GisAppError(code="siting_inputs", params={"fn": fn, "problems": Messages(tuple(problems))})
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
    merged_w = np.bincount(inv, weights=w, minlength=first.size).astype(np.float64)
    return sp.csr_array(a[first]), merged_w


def prepare(cover: sp.sparray | sp.spmatrix | NDArray[np.bool_], weights: ArrayLike,
            already_covered: ArrayLike | None, capacity: ArrayLike | None, fn: str,
            *, merge: bool = True) -> CoverProblem:
    """Check the inputs of a solver and return the reduced problem.

    Rows already covered, rows no candidate reaches and zero-weight rows are dropped; with
    ``merge`` rows with the same candidate set are merged (weights summed).  Capacities are
    capped at the people each candidate reaches.  ``fn`` names the solver in error messages.

    Raises
    ------
    GisAppError
        If ``cover`` is not a 2-D boolean matrix or the other arrays do not fit it.
    """
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
    return CoverProblem(csc, np.asarray(w_red, dtype=np.float64), int(a.shape[1]), base, total, cap)


def check_k(k: int, n_cand: int, fn: str) -> int:
    """Return ``k`` as an int if it is a number of sites from 1 to ``n_cand``; else raise GisAppError."""
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise GisAppError(code="k_not_positive", params={"fn": fn, "k": k})
    if k > n_cand:
        raise GisAppError(code="k_exceeds_candidates", params={"fn": fn, "k": k, "n": n_cand})
    return int(k)


def column_rows(cover: sp.csc_array, j: int) -> NDArray[np.integer]:
    """Return the rows covered by candidate ``j`` of a CSC cover matrix."""
    rows: NDArray[np.integer] = cover.indices[cover.indptr[j]:cover.indptr[j + 1]]
    return rows


def siting_result(prob: CoverProblem, sel: NDArray[np.int64], gains: NDArray[np.float64], *,
                  method: str, optimal: bool, upper_bound: float, t0: float, n_swaps: int = 0,
                  target_share: float | None = None) -> SitingResult:
    """Return the :class:`SitingResult` of sites ``sel`` adding ``gains`` (solve started at ``t0``)."""
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
