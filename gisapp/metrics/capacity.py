"""Capacity-limited coverage as AccessMod computes it: catchments grow until capacity is met.

Facilities are processed one after another in a set order.  Each one's catchment grows
outwards in travel time, ring by ring (rings ``ring_minutes`` wide), over the population
that earlier facilities left uncovered, until the people inside reach the facility's
capacity or the time limit is reached.  The rings inside are covered in full (the *inner
ring* time is the outer edge of the last full ring); in the ring where capacity is reached
(the *outer ring*) the same share of every cell's people is covered, so that the facility
covers exactly its capacity.  What it covers is removed from the population before the
next facility grows.  Facilities whose time limit comes first cover everyone within it and
keep a residual capacity.

The travel cost is any :class:`~gisapp.travel.CostMatrix` (cells x facilities, the time
from each cell to each facility, bounded): the friction backend
(:func:`gisapp.travel.grid_search.cost_matrix`) reproduces AccessMod, the straight-line backend
works too.  Everything is vectorised per facility; there is no loop over cells.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.sparse as sp
from numpy.typing import NDArray

from gisapp._errors import GisAppError, UnitsError
from gisapp.travel.cost import CostMatrix

__all__ = [
    "COLUMN_BATCH",
    "CapacityCoverage",
    "ColumnSource",
    "capacity_coverage",
    "population_order",
    "POP_COL",
    "POP_COVERED_COL",
    "POP_COVERED_PCT_COL",
    "CAPACITY_COL",
    "CAPACITY_RESIDUAL_COL",
    "ORDER_COL",
    "POP_WITHIN_MAX_COL",
    "INNER_RING_COL",
    "OUTER_RING_COL",
    "OUTER_SHARE_COL",
]

# column names of the result tables
ORDER_COL = "order"
CAPACITY_COL = "capacity"
POP_WITHIN_MAX_COL = "pop_within_max"
POP_COVERED_COL = "pop_covered"
CAPACITY_RESIDUAL_COL = "capacity_residual"
INNER_RING_COL = "inner_ring_min"
OUTER_RING_COL = "outer_ring_min"
OUTER_SHARE_COL = "outer_ring_share_covered"
POP_COL = "pop"
POP_COVERED_PCT_COL = "pop_covered_pct"

#: Where :func:`capacity_coverage` reads each facility's catchment: given a batch of facilities
#: (in processing order), their (cells ascending, costs), one after another.
ColumnSource = Callable[[NDArray[np.int64]], Iterator[tuple[NDArray[np.int64], NDArray[np.float64]]]]
#: Facilities per batch asked of a :data:`ColumnSource`.
COLUMN_BATCH = 512

#: AccessMod rounds travel times to whole seconds before growing catchments.
ONE_SECOND_MIN = 1.0 / 60.0


@dataclass(frozen=True)
class CapacityCoverage:
    """Result of :func:`capacity_coverage`.

    Attributes
    ----------
    facilities
        One row per facility (index ``facility_id``, in input order): processing ``order``
        (0 first), ``capacity``, ``pop_within_max`` (uncovered people within the time limit
        when the facility's turn came), ``pop_covered`` (people it serves, = the capacity
        realised), ``capacity_residual``, ``inner_ring_min`` (time, minutes, within which
        everyone was covered; NaN if not even the first ring fitted), ``outer_ring_min``
        (the ring where capacity was reached; NaN if it never was) and
        ``outer_ring_share_covered`` (share of that ring's people covered, 0-1).
    covered
        People covered per cell (by any facility).
    residual
        People left uncovered per cell (``pop - covered``).
    allocation
        Sparse (cells x facilities) people of each cell served by each facility.
    zones
        Per zone (index ``zone_id``): ``pop``, ``pop_covered``, ``pop_covered_pct``; None
        when no zones were given.
    """

    facilities: pd.DataFrame
    covered: NDArray[np.float64]
    residual: NDArray[np.float64]
    allocation: sp.csr_array = field(repr=False)
    zones: pd.DataFrame | None = None


def _check(pop: NDArray[np.float64], cost: CostMatrix, capacity: NDArray[np.float64],
           ring_minutes: float | None = ONE_SECOND_MIN) -> None:
    if cost.unit != "min" and ring_minutes is not None:
        msg = (f"capacity_coverage grows rings of `ring_minutes` over travel times in minutes; the cost matrix "
               f"is in {cost.unit!r} (pass ring_minutes=None to grow over any cost, each distinct cost a ring).")
        raise UnitsError(msg)
    n_cells, n_fac = cost.shape
    if pop.shape != (n_cells,):
        msg = f"`pop` has {pop.size} values but the cost matrix has {n_cells} cells (rows)."
        raise GisAppError(msg)
    if capacity.shape != (n_fac,):
        msg = f"`capacity` has {capacity.size} values but the cost matrix has {n_fac} facilities."
        raise GisAppError(msg)
    if np.any(~np.isfinite(capacity)) or np.any(capacity < 0):
        bad = np.flatnonzero(~np.isfinite(capacity) | (capacity < 0))[:10].tolist()
        msg = f"capacities must be finite and >= 0; facilities {bad} are not. Fix the capacity field."
        raise GisAppError(msg)
    if np.any(~np.isfinite(pop)) or np.any(pop < 0):
        msg = "`pop` must be finite and >= 0 in every cell (set missing population to 0)."
        raise GisAppError(msg)


def population_order(pop: NDArray[np.floating], cost: CostMatrix, *,
                     within_minutes: float | None = None,
                     descending: bool = True) -> NDArray[np.int64]:
    """Processing order by the population within a travel time of each facility.

    AccessMod's "population" ordering: facilities with more people within
    ``within_minutes`` are processed first (``descending=True``); ties keep input order.

    Parameters
    ----------
    pop
        People per cell (rows of ``cost``).
    cost
        Travel time, minutes, cells x facilities.
    within_minutes
        The time within which people are counted (default: the matrix's cut-off).
    descending
        Most people first (default) or fewest first.

    Returns
    -------
    numpy.ndarray
        Facility indices in processing order.

    Examples
    --------
    >>> from gisapp.travel.cost import cost_matrix_from_pairs
    >>> cm = cost_matrix_from_pairs(np.array([0, 1, 1]), np.array([0, 0, 1]),
    ...                             np.array([1.0, 2.0, 1.0]), shape=(2, 2), unit="min", cutoff=5)
    >>> population_order(np.array([10.0, 5.0]), cm).tolist()
    [0, 1]
    """
    p = np.asarray(pop, dtype=np.float64)
    limit = cost.cutoff if within_minutes is None else float(within_minutes)
    m = cost.matrix
    counted = sp.csr_array(((np.asarray(m.data) <= limit).astype(np.float64), m.indices, m.indptr), shape=m.shape)
    total = np.asarray(counted.T @ p, dtype=np.float64)  # people within reach per facility, no pair list
    key = -total if descending else total
    return np.asarray(np.lexsort((np.arange(total.size), key)), dtype=np.int64)


def capacity_coverage(
    pop: NDArray[np.floating],
    cost: CostMatrix,
    capacity: NDArray[np.floating] | Sequence[float],
    *,
    order: NDArray[np.integer] | Sequence[int] | None = None,
    max_minutes: float | None = None,
    ring_minutes: float | None = ONE_SECOND_MIN,
    zone: NDArray[np.integer] | None = None,
    facility_ids: Sequence[object] | None = None,
    zone_ids: Sequence[object] | None = None,
    columns: ColumnSource | None = None,
    keep_allocation: bool = True,
) -> CapacityCoverage:
    """Cover population facility by facility until each one's capacity is used (AccessMod).

    Parameters
    ----------
    pop
        People per cell (the rows of ``cost``).
    cost
        Travel time from each cell to each facility, minutes, bounded (e.g.
        :func:`gisapp.travel.grid_search.cost_matrix` with ``direction="towards"``).
    capacity
        People each facility can serve (>= 0).
    order
        Facility indices in processing order (all facilities, each once); default input
        order.  See :func:`population_order` for AccessMod's population ordering.
    max_minutes
        Time limit of every catchment, minutes (default: the matrix's cut-off).
    ring_minutes
        Width of the rings a catchment grows by, minutes (> 0).  The default, one second,
        is AccessMod's (it grows catchments over travel times in whole seconds); None
        makes every distinct travel time its own ring.  With None the cost may be in any
        unit (e.g. straight-line metres): the catchment then grows cost value by cost value.
    zone
        Zone index per cell (-1 outside every zone), for the per-zone table.
    facility_ids, zone_ids
        Labels for the facility and zone tables (default 0..n-1).
    columns
        Where each facility's catchment comes from instead of ``cost.matrix`` (which is then
        only read for its shape, unit and cut-off): called with consecutive batches of
        facilities in processing order, it yields each one's cells (ascending) and costs.
        The dask engine fetches them from the workers that hold them
        (:func:`gisapp.metrics.dask_engine.capacity_tiled`), so the pairs are never all on
        one machine.
    keep_allocation
        Build :attr:`CapacityCoverage.allocation` (False: an empty matrix; its pairs may be
        as many as the catchments').

    Returns
    -------
    CapacityCoverage

    Raises
    ------
    GisAppError
        If the inputs disagree in size, a capacity or population is invalid, or ``order``
        is not a permutation of the facilities.
    UnitsError
        If the cost matrix is not in minutes while ``ring_minutes`` is given, or
        ``ring_minutes`` is not positive.

    Examples
    --------
    Two cells of 10 people at 1 and 2 minutes from one facility of capacity 15: the first
    ring is covered in full, half of the second one.

    >>> from gisapp.travel.cost import cost_matrix_from_pairs
    >>> cm = cost_matrix_from_pairs(np.array([0, 1]), np.array([0, 0]), np.array([1.0, 2.0]),
    ...                             shape=(2, 1), unit="min", cutoff=60)
    >>> r = capacity_coverage(np.array([10.0, 10.0]), cm, [15.0], ring_minutes=1.0)
    >>> r.covered.tolist(), r.facilities.loc[0, ["inner_ring_min", "outer_ring_min"]].tolist()
    ([10.0, 5.0], [1.0, 2.0])
    """
    p = np.asarray(pop, dtype=np.float64)
    cap = np.asarray(capacity, dtype=np.float64)
    _check(p, cost, cap, ring_minutes)
    if ring_minutes is not None and not ring_minutes > 0:
        msg = f"`ring_minutes` must be positive, got {ring_minutes}."
        raise UnitsError(msg)
    n_cells, n_fac = cost.shape
    seq = np.arange(n_fac) if order is None else np.asarray(order, dtype=np.int64)
    if seq.shape != (n_fac,) or not np.array_equal(np.sort(seq), np.arange(n_fac)):
        msg = f"`order` must list every facility index 0..{n_fac - 1} exactly once."
        raise GisAppError(msg)
    limit = cost.cutoff if max_minutes is None else float(max_minutes)

    if columns is None:
        csc = sp.csc_array(cost.matrix)

        def columns(batch: NDArray[np.int64]) -> Iterator[tuple[NDArray[np.int64], NDArray[np.float64]]]:
            for j in batch.tolist():
                lo, hi = csc.indptr[j], csc.indptr[j + 1]
                yield (np.asarray(csc.indices[lo:hi], dtype=np.int64), np.asarray(csc.data[lo:hi], dtype=np.float64))

    residual = p.copy()
    alloc_rows: list[NDArray[np.int64]] = []
    alloc_cols: list[NDArray[np.int64]] = []
    alloc_vals: list[NDArray[np.float64]] = []
    rank = np.empty(n_fac, dtype=np.int64)
    within = np.zeros(n_fac)
    covered_f = np.zeros(n_fac)
    inner = np.full(n_fac, np.nan)
    outer = np.full(n_fac, np.nan)
    share = np.full(n_fac, np.nan)
    batches = (seq[a:a + COLUMN_BATCH] for a in range(0, n_fac, COLUMN_BATCH))
    stream = ((j, col) for batch in batches for j, col in zip(batch.tolist(), columns(batch), strict=True))
    for k, (j, (cells, t)) in enumerate(stream):  # facilities one by one: each sees what earlier ones left
        rank[j] = k
        keep = t <= limit
        cells, t = cells[keep], t[keep]
        if ring_minutes is None:
            ring_time = t
        else:  # the outer edge of each cell's ring, minutes (a cell at 0 min is ring 0)
            ring_time = np.ceil(np.round(t / ring_minutes, 9)) * ring_minutes
        edges, ring = np.unique(ring_time, return_inverse=True)
        ring = ring.ravel()
        people = residual[cells]
        within[j] = float(people.sum())
        if cells.size == 0 or within[j] <= 0:
            inner[j] = float(edges[-1]) if edges.size else np.nan
            continue
        per_ring = np.bincount(ring, weights=people, minlength=edges.size)
        cum = np.cumsum(per_ring)
        if cap[j] >= cum[-1]:  # the time limit comes first: everyone within it is covered
            take = people
            inner[j] = float(edges[-1])
            covered_f[j] = float(cum[-1])
        else:
            last = int(np.searchsorted(cum, cap[j], side="left"))  # ring where capacity is met
            before = float(cum[last - 1]) if last > 0 else 0.0
            frac = (cap[j] - before) / per_ring[last] if per_ring[last] > 0 else 1.0
            take = np.where(ring < last, people, np.where(ring == last, people * frac, 0.0))
            if frac >= 1.0:  # capacity met exactly at the edge of a ring
                frac = 1.0
                inner[j] = float(edges[last])
            else:
                inner[j] = float(edges[last - 1]) if last > 0 else np.nan
            outer[j] = float(edges[last])
            share[j] = frac
            covered_f[j] = float(cap[j])
        residual[cells] = np.maximum(residual[cells] - take, 0.0)
        if not keep_allocation:
            continue
        nz = take > 0
        alloc_rows.append(cells[nz])
        alloc_cols.append(np.full(int(nz.sum()), j, dtype=np.int64))
        alloc_vals.append(take[nz])

    rows = np.concatenate(alloc_rows) if alloc_rows else np.zeros(0, np.int64)
    cols = np.concatenate(alloc_cols) if alloc_cols else np.zeros(0, np.int64)
    vals = np.concatenate(alloc_vals) if alloc_vals else np.zeros(0, np.float64)
    allocation = sp.csr_array((vals, (rows, cols)), shape=(n_cells, n_fac))
    covered = p - residual
    fac_index = pd.Index(list(facility_ids) if facility_ids is not None else range(n_fac),
                         name="facility_id")
    facilities = pd.DataFrame({
        ORDER_COL: rank,
        CAPACITY_COL: cap,
        POP_WITHIN_MAX_COL: within,
        POP_COVERED_COL: covered_f,
        CAPACITY_RESIDUAL_COL: cap - covered_f,
        INNER_RING_COL: inner,
        OUTER_RING_COL: outer,
        OUTER_SHARE_COL: share,
    }, index=fac_index)
    zones = None
    if zone is not None:
        z = np.asarray(zone, dtype=np.int64)
        if z.shape != (n_cells,):
            msg = f"`zone` has {z.size} values but there are {n_cells} cells."
            raise GisAppError(msg)
        n_zone = int(z.max()) + 1 if z.size and z.max() >= 0 else 0
        if zone_ids is not None:
            n_zone = max(n_zone, len(zone_ids))
        inz = z >= 0
        zpop = np.bincount(z[inz], weights=p[inz], minlength=n_zone)
        zcov = np.bincount(z[inz], weights=covered[inz], minlength=n_zone)
        with np.errstate(invalid="ignore", divide="ignore"):
            pct = np.where(zpop > 0, 100.0 * zcov / zpop, np.nan)
        zones = pd.DataFrame({POP_COL: zpop, POP_COVERED_COL: zcov, POP_COVERED_PCT_COL: pct},
                             index=pd.Index(list(zone_ids) if zone_ids is not None
                                            else range(n_zone), name="zone_id"))
    return CapacityCoverage(facilities, covered, residual, allocation, zones)
