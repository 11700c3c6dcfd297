"""Straight-line travel cost: cells within a radius of each facility, as a :class:`~.cost.CostMatrix`.

Population cells lie on a regular grid, so the cells within reach of a facility are a
precomputed *stencil* of row/column offsets around the facility's cell: building the matrix
costs O(facilities x stencil) array operations, with no tree search and no Python loop over
cells or pairs.  :func:`straight_line_cost_kdtree` covers demand points that are not on a grid.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from affine import Affine
from numpy.typing import NDArray
from scipy.spatial import cKDTree

from gisapp._errors import UnitsError
from gisapp.travel.cost import CostMatrix, CostUnit, cost_matrix_from_pairs, distance_to_minutes

__all__ = ["nearest_straight_line", "stencil_pairs", "straight_line_cost", "straight_line_cost_kdtree"]

_PAIR_BUDGET = 1_000_000  # pairs per chunk while scanning the stencil (bounds memory)


def _stencil(radius_cells: float) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    r = int(np.ceil(radius_cells)) + 1
    dr, dc = np.mgrid[-r : r + 1, -r : r + 1]
    # a cell centre within radius of the point lies within radius + 1 cell of the point's cell
    keep = (dr * dr + dc * dc) <= (radius_cells + 1.5) ** 2
    return dr[keep].astype(np.int64), dc[keep].astype(np.int64)


def straight_line_cost(
    cell_index: NDArray[np.integer],
    transform: Affine,
    fac_x: NDArray[np.floating],
    fac_y: NDArray[np.floating],
    *,
    cutoff_m: float,
    circuity: float = 1.0,
    speed_kph: float | None = None,
) -> CostMatrix:
    """Straight-line cost from every population cell to every facility within a cut-off.

    Parameters
    ----------
    cell_index
        2-D array over the raster grid: the cell's row in the population arrays, or -1 where
        the grid cell is not a population cell.
    transform
        Affine transform of that grid (north-up, square cells, metres).
    fac_x, fac_y
        Facility coordinates in the grid's CRS, metres.
    cutoff_m
        Largest straight-line distance kept, metres (before circuity).
    circuity
        Route length / straight-line length (>= 1); multiplies every distance.
    speed_kph
        If given, costs are minutes at this speed; otherwise metres.

    Returns
    -------
    CostMatrix
        Rows are population cells, columns facilities; unit "m" (distance x circuity) or
        "min".  Distances run from the facility point to the cell centre.

    Raises
    ------
    UnitsError
        If the grid's cells are not square or the cut-off is not positive.
    """
    n_cells = int(cell_index.max()) + 1 if cell_index.size else 0
    rows, counts, dist = stencil_pairs(cell_index, transform, fac_x, fac_y, cutoff_m=cutoff_m)
    return _facility_major(rows, counts, dist, n_cells, cutoff_m, circuity, speed_kph)


def stencil_pairs(
    cell_index: NDArray[np.integer],
    transform: Affine,
    fac_x: NDArray[np.floating],
    fac_y: NDArray[np.floating],
    *,
    cutoff_m: float,
    origin: tuple[int, int] = (0, 0),
) -> tuple[NDArray[np.integer], NDArray[np.int64], NDArray[np.float64]]:
    """Pairs (cell, distance) within ``cutoff_m`` of each facility, listed facility by facility.

    ``cell_index`` may be a window of the grid whose first cell is the grid's cell
    ``origin`` (row, col), with ``transform`` the whole grid's: the distances are then the
    same floating-point numbers as on the whole grid (the dask engine's tiles rely on it).

    Returns
    -------
    rows
        The ``cell_index`` value of each pair's cell (int32 when it fits).
    counts
        Pairs per facility (the pairs are grouped by facility, in facility order).
    dist
        Straight-line distance of each pair, metres.
    """
    if cutoff_m <= 0:
        raise UnitsError(code="cutoff_not_positive", params={"cutoff": cutoff_m})
    res = float(transform.a)
    if not np.isclose(abs(transform.e), res) or transform.b != 0 or transform.d != 0:
        msg = "straight_line_cost needs a north-up grid with square cells."
        raise UnitsError(msg)
    nrow, ncol = cell_index.shape
    n_cells = int(cell_index.max()) + 1 if cell_index.size else 0
    row_off, col_off = int(origin[0]), int(origin[1])
    fx = np.asarray(fac_x, dtype=np.float64)
    fy = np.asarray(fac_y, dtype=np.float64)
    x0, y0 = transform.c, transform.f
    fcol = (fx - x0) / res - 0.5
    frow = (y0 - fy) / res - 0.5  # transform.e is negative
    c0 = np.rint(fcol).astype(np.int64)
    r0 = np.rint(frow).astype(np.int64)
    dr, dc = _stencil(cutoff_m / res)
    # exact offsets of the stencil relative to the facility's own cell centre, metres
    flat_index = cell_index.ravel()
    cut2 = cutoff_m * cutoff_m
    # sub-cell position of each facility relative to its cell centre
    ox = fx - (x0 + (c0 + 0.5) * res)
    oy = fy - (y0 - (r0 + 0.5) * res)
    sdx = dc.astype(np.float64) * res
    sdy = -dr.astype(np.float64) * res
    per = max(1, _PAIR_BUDGET // max(1, dr.size))
    row_dtype = np.int32 if n_cells < 2**31 - 1 else np.int64  # row indices of the matrix
    out_r: list[NDArray[np.integer]] = []
    out_d: list[NDArray[np.float64]] = []
    counts = np.zeros(fx.size, dtype=np.int64)
    for start in range(0, fx.size, per):  # chunks of facilities, to bound memory
        stop = min(start + per, fx.size)
        rr = (r0[start:stop, None] - row_off) + dr[None, :]
        cc = (c0[start:stop, None] - col_off) + dc[None, :]
        ok = (rr >= 0) & (rr < nrow) & (cc >= 0) & (cc < ncol)
        ddx = sdx[None, :] - ox[start:stop, None]
        ddy = sdy[None, :] - oy[start:stop, None]
        d2 = ddx * ddx + ddy * ddy
        ok &= d2 <= cut2
        flat = np.where(ok, rr * ncol + cc, 0)
        cell = np.where(ok, flat_index[flat], -1)
        ok = cell >= 0
        counts[start:stop] = ok.sum(axis=1)
        out_r.append(cell[ok].astype(row_dtype))
        out_d.append(np.sqrt(d2[ok]))
        del rr, cc, ok, ddx, ddy, d2, flat, cell
    rows: NDArray[np.integer] = np.concatenate(out_r) if out_r else np.zeros(0, row_dtype)
    out_r.clear()  # the chunks are no longer held beside their concatenation
    dist = np.concatenate(out_d) if out_d else np.zeros(0, np.float64)
    out_d.clear()
    return rows, counts, dist


def _facility_major(rows: NDArray[np.integer], counts: NDArray[np.int64], dist: NDArray[np.float64],
                    n_cells: int, cutoff_m: float, circuity: float, speed_kph: float | None) -> CostMatrix:
    """Build the matrix from pairs listed facility by facility, in compact arrays.

    The costs are computed in place in ``dist`` (the same floating-point operations as
    :func:`_finish`, so the same values), the columns come from ``counts`` (no per-pair
    column array) and the CSC arrays are handed to scipy without a copy; the transpose to CSR
    is the only other array of pairs.  Peak memory is about 3 x 12 bytes per pair.
    """
    if circuity < 1.0:
        raise UnitsError(code="circuity_below_one", params={"circuity": circuity})
    if speed_kph is None:
        dist *= circuity
        unit: CostUnit = "m"
        cut = cutoff_m * circuity
    else:
        if speed_kph <= 0:
            raise UnitsError(code="speed_not_positive", params={"speed": speed_kph})
        dist *= circuity
        dist /= speed_kph * 1000.0 / 60.0
        unit = "min"
        cut = float(distance_to_minutes(cutoff_m, speed_kph=speed_kph, circuity=circuity))
    n_fac = counts.size
    small = max(n_cells, rows.size) < 2**31 - 1
    it = np.int32 if small else np.int64
    cptr = np.zeros(n_fac + 1, dtype=it)
    np.cumsum(counts, out=cptr[1:])
    csc = sp.csc_array((dist, rows.astype(it, copy=False), cptr), shape=(n_cells, n_fac), copy=False)
    csr = sp.csr_array(csc.tocsr())
    del csc
    csr.has_sorted_indices = False
    csr.sort_indices()
    return CostMatrix(csr, unit, float(cut))


def _finish(rows: NDArray[np.int64], cols: NDArray[np.int64], dist: NDArray[np.float64],
            n_cells: int, n_fac: int, cutoff_m: float, circuity: float,
            speed_kph: float | None) -> CostMatrix:
    if speed_kph is None:
        if circuity < 1.0:
            raise UnitsError(code="circuity_below_one", params={"circuity": circuity})
        return cost_matrix_from_pairs(rows, cols, dist * circuity, shape=(n_cells, n_fac),
                                      unit="m", cutoff=cutoff_m * circuity)
    minutes = distance_to_minutes(dist, speed_kph=speed_kph, circuity=circuity)
    cut = float(distance_to_minutes(cutoff_m, speed_kph=speed_kph, circuity=circuity))
    return cost_matrix_from_pairs(rows, cols, minutes, shape=(n_cells, n_fac), unit="min",
                                  cutoff=cut)


def straight_line_cost_kdtree(
    cell_x: NDArray[np.floating],
    cell_y: NDArray[np.floating],
    fac_x: NDArray[np.floating],
    fac_y: NDArray[np.floating],
    *,
    cutoff_m: float,
    circuity: float = 1.0,
    speed_kph: float | None = None,
) -> CostMatrix:
    """Straight-line cost for demand points that are not on a grid (KD-tree search).

    Same contract as :func:`straight_line_cost`, for arbitrary demand points.
    """
    cx = np.asarray(cell_x, dtype=np.float64)
    cy = np.asarray(cell_y, dtype=np.float64)
    fx = np.asarray(fac_x, dtype=np.float64)
    fy = np.asarray(fac_y, dtype=np.float64)
    tree_c = cKDTree(np.column_stack([cx, cy]))
    tree_f = cKDTree(np.column_stack([fx, fy]))
    dok = tree_c.sparse_distance_matrix(tree_f, cutoff_m, output_type="coo_matrix")
    # sparse_distance_matrix drops zero distances; add them back explicitly
    zero_pairs = tree_c.query_ball_tree(tree_f, 0.0) if cx.size else []
    zr = np.repeat(np.arange(len(zero_pairs)), [len(z) for z in zero_pairs]).astype(np.int64)
    zc = np.fromiter((j for z in zero_pairs for j in z), dtype=np.int64, count=zr.size)
    rows = np.concatenate([dok.row.astype(np.int64), zr])
    cols = np.concatenate([dok.col.astype(np.int64), zc])
    dist = np.concatenate([dok.data.astype(np.float64), np.zeros(zr.size)])
    return _finish(rows, cols, dist, cx.size, fx.size, cutoff_m, circuity, speed_kph)


def nearest_straight_line(
    cell_x: NDArray[np.floating],
    cell_y: NDArray[np.floating],
    fac_x: NDArray[np.floating],
    fac_y: NDArray[np.floating],
) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """Distance (metres, straight line) to and index of the nearest facility, for every cell.

    With no facility, distances are ``inf`` and indices -1.
    """
    cx = np.asarray(cell_x, dtype=np.float64)
    if np.asarray(fac_x).size == 0:
        return np.full(cx.size, np.inf), np.full(cx.size, -1, dtype=np.int64)
    tree = cKDTree(np.column_stack([np.asarray(fac_x, float), np.asarray(fac_y, float)]))
    d, j = tree.query(np.column_stack([cx, np.asarray(cell_y, float)]), k=1, workers=-1)
    return np.asarray(d, dtype=np.float64), np.asarray(j, dtype=np.int64)
