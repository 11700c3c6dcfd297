"""Travel time over a friction surface: nearest facility, allocation and bounded catchments.

The grid is a directed graph: every passable cell is a node, and a move to one of its 8
neighbours (16 with knight's moves) is an edge.  Each cell a move crosses contributes its
speed on that move's slope (flat speed from the surface times
:func:`gisapp.travel.friction.tobler_factor` for walking or
:func:`gisapp.travel.friction.bicycle_factor` for bicycling; motorized speed ignores slope).  A
straight or diagonal move crosses its two end cells; a knight's move also crosses the two
cells its segment passes between, and is impossible if either is impassable.  The time of
a move is its length divided by the cells' speeds combined in one of two ways:

``average="time"`` (default)
    the mean of the cells' minutes per metre, times the length: each cell is crossed for
    an equal share of the move at its own speed (the exact time of that straight path);
``average="speed"``
    the length over the arithmetic mean of the cells' speeds: AccessMod 5's rule, which
    makes a cell next to a fast road fast to leave (see :data:`ACCESSMOD_5` and
    docs/accessmod_parity.md).

:func:`nearest` and :func:`cost_matrix` search the grid with the compiled kernel of
:mod:`gisapp.travel.kernel` (``engine="kernel"``, the default: the moves are costed as they
are relaxed, no graph is stored; the same answers to rounding, tests/travel/test_kernel.py).
With ``engine="csr"`` the graph is built with vectorised numpy as one CSR matrix
(:func:`grid_graph`) and searched with :func:`scipy.sparse.csgraph.dijkstra` (one
multi-source ``min_only`` search for the nearest facility and its allocation; one bounded
search per facility for the cells x facilities :class:`~gisapp.travel.CostMatrix`).  "towards" facilities is the time a person needs to
travel from the cell to the facility: the slope of every move is taken in that direction,
which is the reversed graph searched from the facilities.  Times are minutes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, TypedDict

import numpy as np
import scipy.sparse as sp
from affine import Affine
from numpy.typing import NDArray
from scipy.sparse.csgraph import dijkstra

from gisapp._errors import GisAppError, UnitsError
from gisapp.travel.cost import CostMatrix, cost_matrix_from_pairs
from gisapp.travel.friction import (
    BICYCLE_MAX_FACTOR,
    FrictionSurface,
    Mode,
    bicycle_factor_uncapped,
    tobler_factor,
)
from gisapp.travel.kernel import KernelGrid, kernel_grid
from gisapp.travel.kernel import cost_matrix as _kernel_cost_matrix
from gisapp.travel.kernel import nearest as _kernel_nearest

__all__ = [
    "ACCESSMOD_5",
    "GridGraph",
    "MoveSettings",
    "SourceError",
    "cost_matrix",
    "grid_graph",
    "nearest",
    "points_to_rc",
]

Direction = Literal["towards", "from"]
Average = Literal["time", "speed"]
Engine = Literal["kernel", "csr"]


class MoveSettings(TypedDict):
    """Settings of :func:`grid_graph` that define how a move is costed."""

    neighbours: int
    average: Average
    bicycle_max_factor: float | None


#: The settings that reproduce AccessMod 5's travel times (measured on its demo, see
#: docs/accessmod_parity.md): 8 neighbours, the speeds of the two cells of a move averaged,
#: bicycling speed not capped downhill.  Use as ``grid_graph(surface, dem=dem, **ACCESSMOD_5)``.
ACCESSMOD_5: MoveSettings = {"neighbours": 8, "average": "speed", "bicycle_max_factor": None}

_STEPS_8: tuple[tuple[int, int], ...] = (
    (0, 1), (1, 1), (1, 0), (1, -1), (0, -1), (-1, -1), (-1, 0), (-1, 1),
)
_KNIGHT: tuple[tuple[int, int], ...] = (
    (1, 2), (2, 1), (2, -1), (1, -2), (-1, -2), (-2, -1), (-2, 1), (-1, 2),
)
_EDGE_BUDGET = 1 << 22  # edges computed at once while building the graph (bounds memory)
_GROUP_SUMS_MAX = 8  # up to this many slope groups, sum per group instead of looking up per cell
_DENSE_BUDGET = 1 << 24  # floats of dense Dijkstra output per batch of facilities
_WINDOW_FRACTION = 3  # search a facility's window when it is under a third of the grid
_SLOPE_MIN, _SLOPE_MAX, _SLOPE_STEP = -4.0, 4.0, 1.0 / 4096  # bicycle model tabulated here
_SLOPE_GRID = np.linspace(_SLOPE_MIN, _SLOPE_MAX, int(round((_SLOPE_MAX - _SLOPE_MIN) / _SLOPE_STEP)) + 1)


class SourceError(GisAppError):
    """A facility (source) lies outside the grid or on an impassable cell."""


@dataclass(frozen=True)
class GridGraph:
    """The directed graph of grid moves, ready for Dijkstra.

    Attributes
    ----------
    csr
        (n, n) CSR matrix over grid cells in row-major order (``row * cols + col``);
        ``csr[u, v]`` is the cost, minutes, of the search step u -> v.  With
        ``direction="towards"`` that is the time to travel from v to u.
    shape
        (rows, cols) of the grid.
    passable
        (rows, cols) bool: cells that are nodes of the graph.
    direction
        ``"towards"`` (time from each cell to the facility) or ``"from"`` (from the
        facility to each cell).
    neighbours
        8 or 16.
    n_moves
        Number of possible moves (``csr`` also stores one self-loop per impossible move,
        so that every cell has ``neighbours`` slots; Dijkstra never follows them).
    cell_size_m
        (width, height) of a cell, metres.
    max_speed_m_min
        The fastest move's speed, metres per minute (bounds how far a search can reach).
    inputs
        The arguments of :func:`grid_graph` (surface, dem, mode, average,
        bicycle_max_factor), from which the kernel engine prepares its own grid.
    """

    csr: sp.csr_array
    shape: tuple[int, int]
    passable: NDArray[np.bool_]
    direction: Direction
    neighbours: int
    n_moves: int
    cell_size_m: tuple[float, float] = (1.0, 1.0)
    max_speed_m_min: float = np.inf
    inputs: tuple[Any, ...] | None = field(default=None, repr=False, compare=False)
    kernel_cache: dict[str, KernelGrid] = field(default_factory=dict, repr=False, compare=False)


def _steps(neighbours: int) -> list[tuple[int, int, tuple[tuple[int, int], ...]]]:
    """Return (dr, dc, intermediate cells) for every move."""
    if neighbours not in (8, 16):
        msg = f"`neighbours` must be 8 or 16 (16 adds knight's moves), got {neighbours}."
        raise UnitsError(msg)
    out: list[tuple[int, int, tuple[tuple[int, int], ...]]] = [(dr, dc, ()) for dr, dc in _STEPS_8]
    if neighbours == 16:
        for dr, dc in _KNIGHT:
            if abs(dc) == 2:
                mid: tuple[tuple[int, int], ...] = ((0, dc // 2), (dr, dc // 2))
            else:
                mid = ((dr // 2, 0), (dr // 2, dc))
            out.append((dr, dc, mid))
    return out


def _slope_groups(mode: NDArray[np.int8], speed_kph: NDArray[np.float32],
                  passable: NDArray[np.bool_]) -> tuple[NDArray[np.int32], list[tuple[int, float]]]:
    """Group cells by how slope changes their speed: (group raster, [(mode, flat speed)]).

    Group 0 ignores slope (motorized, impassable), group 1 walks (Tobler's factor does
    not depend on the flat speed); bicycling cells get one group per distinct flat speed.
    """
    group = np.zeros(mode.shape, dtype=np.int32)
    groups: list[tuple[int, float]] = [(int(Mode.MOTORIZED), 0.0), (int(Mode.WALKING), 0.0)]
    group[(mode == Mode.WALKING) & passable] = 1
    bike = (mode == Mode.BICYCLING) & passable
    if bike.any():
        speeds, inverse = np.unique(speed_kph[bike], return_inverse=True)
        group[bike] = (2 + inverse.ravel()).astype(np.int32)
        groups += [(int(Mode.BICYCLING), float(v)) for v in speeds]
    return group, groups


def _bicycle_tables(groups: list[tuple[int, float]]) -> list[NDArray[np.float64]]:
    """1 / uncapped bicycle factor on :data:`_SLOPE_GRID`, per bicycling group."""
    return [1.0 / bicycle_factor_uncapped(_SLOPE_GRID, v) for _, v in groups[2:]]


def _inverse_factors(tables: list[NDArray[np.float64]], slope: NDArray[np.float64],
                     cap: float, *, walking: bool = True) -> NDArray[np.float64]:
    """(groups, moves) array: 1 / speed factor of each slope group on each move's slope."""
    out = np.empty((2 + len(tables), slope.size), dtype=np.float64)
    out[0] = 1.0
    if walking:
        out[1] = 1.0 / tobler_factor(slope)
    else:
        out[1] = 1.0
    if tables:
        # the uncapped power model is smooth in slope: it is tabulated on a uniform grid and
        # interpolated linearly (relative error < 1e-4), then the downhill cap is applied
        t = (np.clip(slope, _SLOPE_MIN, _SLOPE_MAX) - _SLOPE_MIN) / _SLOPE_STEP
        i = np.minimum(t.astype(np.int64), _SLOPE_GRID.size - 2)
        f = t - i
        for g, table in enumerate(tables, start=2):
            lo = table[i]
            out[g] = np.maximum(lo + f * (table[i + 1] - lo), 1.0 / cap)
    return out


def _cell_factors(group: NDArray[np.int32], speed_kph: NDArray[np.float64],
                  slope: NDArray[np.float64], cap: float) -> NDArray[np.float64]:
    """Speed factor of each cell (by its slope group and flat speed) on its move's slope."""
    f = np.ones(group.shape, dtype=np.float64)
    walk = group == 1
    if walk.any():
        f[walk] = tobler_factor(slope[walk])
    bike = group >= 2
    if bike.any():
        f[bike] = np.minimum(bicycle_factor_uncapped(slope[bike], speed_kph[bike]), cap)
    return f


def grid_graph(
    surface: FrictionSurface,
    *,
    dem: NDArray[np.floating] | None = None,
    mode: Mode | None = None,
    direction: Direction = "towards",
    neighbours: int = 16,
    average: Average = "time",
    bicycle_max_factor: float | None = BICYCLE_MAX_FACTOR,
) -> GridGraph:
    """Build the directed graph of moves over a friction surface.

    Parameters
    ----------
    surface
        Speeds and modes per cell (:func:`gisapp.travel.friction.speed_surface`).
    dem
        (rows, cols) elevation, metres, on the same grid; without it slope is ignored
        (isotropic travel).  NaN elevations make a cell impassable.
    mode
        If given, every passable cell is travelled in this mode (e.g. everyone walks at
        the table's speeds); by default each cell's own mode.
    direction
        ``"towards"``: time to travel from a cell to the facility (AccessMod's default
        for access to care); ``"from"``: from the facility out to the cell.
    neighbours
        8 (straight and diagonal moves) or 16 (adds knight's moves, closer to Euclidean).
    average
        How the speeds of the cells a move crosses combine: ``"time"`` (mean minutes per
        metre, the exact time of the straight path) or ``"speed"`` (mean speed,
        AccessMod 5's rule); see the module docstring.
    bicycle_max_factor
        Downhill cap on bicycling speed, as a multiple of the flat speed (None: no cap,
        as AccessMod 5 on its demo).

    Returns
    -------
    GridGraph

    Raises
    ------
    UnitsError
        If ``dem`` has another shape than the surface, or a setting is invalid.

    Notes
    -----
    Memory: about 12 bytes per move (float64 cost, int32 target; scipy's Dijkstra needs
    float64), e.g. 0.4 GB for 2,000 x 2,000 cells with 8 neighbours, 0.8 GB with 16.

    Examples
    --------
    >>> from gisapp.travel.friction import uniform_surface
    >>> g = grid_graph(uniform_surface((3, 3), Affine(60, 0, 0, 0, -60, 180), speed_kph=3.6),
    ...                neighbours=8)
    >>> g.n_moves, round(float(g.csr[4, 5]), 4)   # 60 m at 60 m/min
    (40, 1.0)
    """
    if direction not in ("towards", "from"):
        msg = f"`direction` must be 'towards' or 'from', got {direction!r}."
        raise UnitsError(msg)
    if average not in ("time", "speed"):
        msg = f"`average` must be 'time' or 'speed', got {average!r}."
        raise UnitsError(msg)
    if bicycle_max_factor is not None and not bicycle_max_factor >= 1:
        msg = f"`bicycle_max_factor` must be >= 1 (a multiple of the flat speed) or None, got {bicycle_max_factor}."
        raise UnitsError(msg)
    steps = _steps(neighbours)
    nrow, ncol = surface.shape
    n = nrow * ncol
    width, height = surface.cell_size_m
    passable = surface.passable.copy()
    z: NDArray[np.float64] | None = None
    if dem is not None:
        z = np.asarray(dem, dtype=np.float64)
        if z.shape != surface.shape:
            msg = f"`dem` has shape {z.shape} but the friction surface has {surface.shape}; resample it."
            raise UnitsError(msg)
        passable &= np.isfinite(z)
    cell_mode = surface.mode.copy()
    if mode is not None:
        cell_mode = np.where(passable, np.int8(int(mode)), np.int8(0)).astype(np.int8)
    pace = np.zeros((nrow, ncol), dtype=np.float64)  # minutes per metre on flat ground
    np.divide(60.0, surface.speed_kph.astype(np.float64) * 1000.0, out=pace, where=passable)
    group, groups = _slope_groups(cell_mode, surface.speed_kph, passable)
    few_groups = len(groups) <= _GROUP_SUMS_MAX
    tables = _bicycle_tables(groups) if few_groups else []
    cap = np.inf if bicycle_max_factor is None else float(bicycle_max_factor)
    sloped = z is not None and bool((group > 0).any())

    # Every cell has one slot per move, in the order of `steps`; a move that does not exist
    # (it leaves the grid or crosses an impassable cell) is stored as a self-loop, which
    # Dijkstra never follows.  So the CSR arrays are filled in place, block by block of
    # rows, with no compaction.
    pad = 2
    k = len(steps)
    pp = np.pad(passable, pad, constant_values=False)
    zp = np.pad(z, pad, constant_values=np.nan) if z is not None else None
    per_cell = np.pad(pace if average == "time" else
                      np.where(passable, 1.0 / np.where(passable, pace, 1.0), 0.0), pad)
    groupp = np.pad(group, pad)
    present = np.bincount(group[passable].ravel(), minlength=len(groups)) > 0
    by_group: list[NDArray[np.float64]] | None = None
    speedp = np.pad(surface.speed_kph.astype(np.float64), pad)
    if sloped and few_groups:
        by_group = [np.where(groupp == g, per_cell, 0.0) for g in range(len(groups))]
    lengths = [float(np.hypot(dr * height, dc * width)) for dr, dc, _ in steps]
    sign = -1.0 if direction == "towards" else 1.0
    idx_dtype = np.int32 if n * k < 2**31 - 1 else np.int64
    data = np.empty((n, k), dtype=np.float64)
    indices = np.empty((n, k), dtype=idx_dtype)
    offs = np.array([dr * ncol + dc for dr, dc, _ in steps], dtype=idx_dtype)
    n_moves = 0
    fastest = 0.0  # metres per minute

    def window(a: NDArray[Any], r0: int, r1: int, dr: int, dc: int) -> NDArray[Any]:
        return a[pad + r0 + dr:pad + r1 + dr, pad + dc:pad + dc + ncol]

    rows_per_block = max(1, _EDGE_BUDGET // max(1, ncol * k))
    step_buf = np.empty((min(rows_per_block, nrow), ncol), dtype=np.float64)
    for r0 in range(0, nrow, rows_per_block):
        r1 = min(nrow, r0 + rows_per_block)
        nb = (r1 - r0) * ncol
        w = data[r0 * ncol:r1 * ncol].reshape(r1 - r0, ncol, k)
        valid = np.empty((r1 - r0, ncol, k), dtype=bool)
        for i, (dr, dc, mid) in enumerate(steps):
            cells = [(0, 0), (dr, dc), *mid]
            v = valid[:, :, i]
            np.logical_and(window(pp, r0, r1, 0, 0), window(pp, r0, r1, dr, dc), out=v)
            for mr, mc in mid:
                v &= window(pp, r0, r1, mr, mc)
            # compute in a contiguous buffer, copy into the strided CSR slot once
            out = step_buf[: r1 - r0]
            if sloped and zp is not None:
                with np.errstate(invalid="ignore"):
                    slope = sign * (window(zp, r0, r1, dr, dc) - window(zp, r0, r1, 0, 0)) / lengths[i]
                slope = np.nan_to_num(slope, nan=0.0)
                out[...] = 0.0
                if by_group is not None:
                    # sum each slope group's cells first, then apply the group's factor once
                    inv = _inverse_factors(tables, slope.ravel(), cap, walking=bool(present[1]))
                    inv = inv.reshape(len(groups), r1 - r0, ncol)
                    acc = np.empty((r1 - r0, ncol), dtype=np.float64)
                    for g in np.flatnonzero(present):
                        np.add(window(by_group[g], r0, r1, 0, 0),
                               window(by_group[g], r0, r1, dr, dc), out=acc)
                        for mr, mc in mid:
                            acc += window(by_group[g], r0, r1, mr, mc)
                        if g > 0 and average == "time":
                            acc *= inv[g]
                        elif g > 0:
                            acc /= inv[g]
                        out += acc
                else:  # many bicycling speeds: each cell's factor from its own speed
                    for mr, mc in cells:
                        f = _cell_factors(window(groupp, r0, r1, mr, mc),
                                          window(speedp, r0, r1, mr, mc), slope, cap)
                        if average == "time":
                            out += window(per_cell, r0, r1, mr, mc) / f
                        else:
                            out += window(per_cell, r0, r1, mr, mc) * f
            else:
                np.add(window(per_cell, r0, r1, 0, 0), window(per_cell, r0, r1, dr, dc), out=out)
                for mr, mc in mid:
                    out += window(per_cell, r0, r1, mr, mc)
            if average == "time":
                out *= lengths[i] / len(cells)
            else:
                with np.errstate(divide="ignore"):
                    np.divide(lengths[i] * len(cells), out, out=out)
            if v.any():
                fastest = max(fastest, lengths[i] / float(np.min(out, where=v, initial=np.inf)))
            w[:, :, i] = out
        src = np.arange(r0 * ncol, r1 * ncol, dtype=idx_dtype)
        blk = indices[r0 * ncol:r1 * ncol]
        np.add(src[:, None], offs[None, :], out=blk)
        vflat = valid.reshape(nb, k)
        if not vflat.all():
            invalid = ~vflat
            np.copyto(blk, np.broadcast_to(src[:, None], blk.shape), where=invalid)
            np.copyto(data[r0 * ncol:r1 * ncol], 1.0, where=invalid)
        n_moves += int(np.count_nonzero(vflat))
    indptr = np.arange(0, n * k + 1, k, dtype=idx_dtype)
    csr = sp.csr_array((data.reshape(-1), indices.reshape(-1), indptr), shape=(n, n))
    return GridGraph(csr, (nrow, ncol), passable, direction, neighbours, n_moves,
                     (width, height), fastest if fastest > 0 else np.inf,
                     inputs=(surface, dem, mode, average, bicycle_max_factor))


def points_to_rc(x: NDArray[np.floating], y: NDArray[np.floating],
                 transform: Affine) -> NDArray[np.int64]:
    """Return the (row, col) of the grid cell holding each point (-1, -1 outside any cell).

    Parameters
    ----------
    x, y
        Point coordinates in the grid's CRS, metres.
    transform
        Affine transform of the grid.

    Returns
    -------
    numpy.ndarray
        (n, 2) int64.  The caller checks the bounds against the grid's shape.

    Examples
    --------
    >>> points_to_rc(np.array([15.0]), np.array([185.0]), Affine(10, 0, 0, 0, -10, 200)).tolist()
    [[1, 1]]
    """
    inv = ~transform
    cols, rows = inv * (np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64))
    rc = np.column_stack([np.floor(rows), np.floor(cols)])
    rc = np.where(np.isfinite(rc), rc, -1)
    return rc.astype(np.int64)


def _graph(surface: FrictionSurface | GridGraph, dem: NDArray[np.floating] | None,
           mode: Mode | None, direction: Direction | None, neighbours: int | None) -> GridGraph:
    if isinstance(surface, GridGraph):
        if dem is not None or mode is not None or direction not in (None, surface.direction) \
                or neighbours not in (None, surface.neighbours):
            msg = ("A prebuilt GridGraph fixes dem, mode, direction and neighbours; pass the "
                   "FrictionSurface instead, or leave those arguments out "
                   f"(graph: direction={surface.direction!r}, neighbours={surface.neighbours}).")
            raise UnitsError(msg)
        return surface
    return grid_graph(surface, dem=dem, mode=mode, direction=direction or "towards",
                      neighbours=neighbours or 16)


def _kernel(surface: FrictionSurface | GridGraph | KernelGrid, dem: NDArray[np.floating] | None,
            mode: Mode | None, direction: Direction | None, neighbours: int | None,
            engine: Engine) -> KernelGrid | None:
    """The kernel's grid for these arguments; None when the CSR graph is to be searched."""
    if engine not in ("kernel", "csr"):
        msg = f"`engine` must be 'kernel' or 'csr', got {engine!r}."
        raise UnitsError(msg)
    if isinstance(surface, KernelGrid):  # prepared once (e.g. cached per workspace and mode)
        if engine == "csr":
            msg = "a KernelGrid is searched by the kernel only; pass the FrictionSurface for engine='csr'."
            raise UnitsError(msg)
        return surface
    if engine == "csr":
        return None
    if isinstance(surface, GridGraph):
        graph = _graph(surface, dem, mode, direction, neighbours)  # checks the settings
        if graph.inputs is None:  # a graph assembled by hand: search it
            return None
        if "grid" not in graph.kernel_cache:
            s, d, m, average, cap = graph.inputs
            graph.kernel_cache["grid"] = kernel_grid(s, dem=d, mode=m, direction=graph.direction,
                                                     neighbours=graph.neighbours, average=average,
                                                     bicycle_max_factor=cap)
        return graph.kernel_cache["grid"]
    return kernel_grid(surface, dem=dem, mode=mode, direction=direction or "towards",
                       neighbours=neighbours or 16)


def _source_nodes(graph: GridGraph, sources_rc: NDArray[np.integer],
                  on_impassable: Literal["raise", "skip"]) -> tuple[NDArray[np.int64], NDArray[np.bool_]]:
    rc = np.asarray(sources_rc, dtype=np.int64).reshape(-1, 2)
    nrow, ncol = graph.shape
    inside = (rc[:, 0] >= 0) & (rc[:, 0] < nrow) & (rc[:, 1] >= 0) & (rc[:, 1] < ncol)
    ok = inside.copy()
    ok[inside] = graph.passable[rc[inside, 0], rc[inside, 1]]
    if not ok.all() and on_impassable == "raise":
        bad = np.flatnonzero(~ok)
        outside = [int(i) for i in bad if not inside[i]]
        blocked = [int(i) for i in bad if inside[i]]
        parts = []
        if outside:
            parts.append(f"facilities {outside[:20]} lie outside the {nrow} x {ncol} grid")
        if blocked:
            parts.append(f"facilities {blocked[:20]} lie on impassable cells (barrier, no data "
                         "or speed 0)")
        msg = ("; ".join(parts) + ". Move them onto passable cells, or pass "
               "on_impassable='skip' to leave them without a catchment.")
        raise SourceError(msg)
    nodes = np.where(ok, rc[:, 0] * ncol + rc[:, 1], -1)
    return nodes, ok


def _check_max(max_minutes: float | None) -> float:
    if max_minutes is None:
        return np.inf
    if not max_minutes > 0:
        msg = f"`max_minutes` must be positive, got {max_minutes}."
        raise UnitsError(msg)
    return float(max_minutes)


def nearest(
    surface: FrictionSurface | GridGraph,
    sources_rc: NDArray[np.integer],
    *,
    dem: NDArray[np.floating] | None = None,
    mode: Mode | None = None,
    direction: Direction | None = None,
    max_minutes: float | None = None,
    neighbours: int | None = None,
    on_impassable: Literal["raise", "skip"] = "raise",
    engine: Engine = "kernel",
) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """Travel time to the nearest facility and which facility that is, for every cell.

    Parameters
    ----------
    surface
        The friction surface, or a :class:`GridGraph` already built from it (then
        ``dem``, ``mode``, ``direction`` and ``neighbours`` come from the graph).
    sources_rc
        (n, 2) grid (row, col) of each facility (see :func:`points_to_rc`).
    dem, mode, direction, neighbours
        As in :func:`grid_graph` (defaults ``"towards"`` and 16); leave them out when
        ``surface`` is a :class:`GridGraph`.
    max_minutes
        Stop the search at this time, minutes (cells beyond get ``inf``).
    on_impassable
        ``"raise"`` if a facility lies outside the grid or on an impassable cell, or
        ``"skip"`` to ignore such facilities.
    engine
        ``"kernel"`` (default): the compiled search of :mod:`gisapp.travel.kernel`, no
        graph built; ``"csr"``: scipy's Dijkstra on the :class:`GridGraph` (built here
        when ``surface`` is a friction surface).  The same answers to rounding.

    Returns
    -------
    minutes : numpy.ndarray
        (rows, cols) float64 travel time, minutes; ``inf`` where no facility is reachable
        within ``max_minutes`` (impassable cells included).
    allocation : numpy.ndarray
        (rows, cols) int64 index (into ``sources_rc``) of the nearest facility; -1 where
        ``minutes`` is ``inf``.  Where two facilities share a cell, the first one.

    Raises
    ------
    SourceError
        If a facility is outside the grid or on an impassable cell (``on_impassable="raise"``).

    Examples
    --------
    >>> from gisapp.travel.friction import uniform_surface
    >>> s = uniform_surface((1, 4), Affine(100, 0, 0, 0, -100, 100), speed_kph=6.0)
    >>> t, a = nearest(s, np.array([[0, 0], [0, 3]]), neighbours=8)
    >>> t.round(2).tolist(), a.tolist()
    ([[0.0, 1.0, 1.0, 0.0]], [[0, 0, 1, 1]])
    """
    grid = _kernel(surface, dem, mode, direction, neighbours, engine)
    if grid is not None:
        return _kernel_nearest(grid, sources_rc, max_minutes=max_minutes,
                               on_impassable=on_impassable, source_error=SourceError)
    graph = _graph(surface, dem, mode, direction, neighbours)
    limit = _check_max(max_minutes)
    nodes, ok = _source_nodes(graph, sources_rc, on_impassable)
    n = graph.shape[0] * graph.shape[1]
    if not ok.any():
        return np.full(graph.shape, np.inf), np.full(graph.shape, -1, dtype=np.int64)
    use = np.flatnonzero(ok)
    uniq, first = np.unique(nodes[use], return_index=True)
    fac_of_node = use[first]
    dist, _, src = dijkstra(graph.csr, directed=True, indices=uniq, min_only=True,
                            return_predecessors=True, limit=limit)
    dist = np.asarray(dist, dtype=np.float64)
    src = np.asarray(src, dtype=np.int64)
    reached = src >= 0
    alloc = np.full(n, -1, dtype=np.int64)
    alloc[reached] = fac_of_node[np.searchsorted(uniq, src[reached])]
    dist[~reached] = np.inf
    return dist.reshape(graph.shape), alloc.reshape(graph.shape)


def _window_csr(graph: GridGraph, r0: int, r1: int, c0: int, c1: int) -> sp.csr_array:
    """The subgraph of the cells in rows r0:r1, columns c0:c1 (moves leaving it dropped)."""
    nrow, ncol = graph.shape
    k = graph.neighbours
    wr, wc = r1 - r0, c1 - c0
    data = graph.csr.data.reshape(nrow, ncol, k)[r0:r1, c0:c1].reshape(-1)
    target = graph.csr.indices.reshape(nrow, ncol, k)[r0:r1, c0:c1].reshape(wr * wc, k)
    tr, tc = np.divmod(target.astype(np.int64), ncol)
    local = (tr - r0) * wc + (tc - c0)
    inside = (tr >= r0) & (tr < r1) & (tc >= c0) & (tc < c1)
    own = np.broadcast_to(np.arange(wr * wc, dtype=np.int64)[:, None], local.shape)
    idx_dtype = np.int32 if wr * wc * k < 2**31 - 1 else np.int64
    local = np.where(inside, local, own).astype(idx_dtype).reshape(-1)
    indptr = np.arange(0, wr * wc * k + 1, k, dtype=idx_dtype)
    return sp.csr_array((data, local, indptr), shape=(wr * wc, wr * wc))


def cost_matrix(
    surface: FrictionSurface | GridGraph | KernelGrid,
    sources_rc: NDArray[np.integer],
    cell_index: NDArray[np.integer],
    *,
    max_minutes: float,
    dem: NDArray[np.floating] | None = None,
    mode: Mode | None = None,
    direction: Direction | None = None,
    neighbours: int | None = None,
    on_impassable: Literal["raise", "skip"] = "raise",
    engine: Engine = "kernel",
) -> CostMatrix:
    """Travel time between population cells and facilities, each facility's catchment bounded.

    One Dijkstra search per facility, stopped at ``max_minutes``; the population cells it
    reaches become the stored pairs of a :class:`~gisapp.travel.CostMatrix` (the same
    object the straight-line backend returns, so every coverage and 2SFCA metric works
    with either).

    Parameters
    ----------
    surface
        The friction surface, or a :class:`GridGraph` built from it.
    sources_rc
        (n_facilities, 2) grid (row, col) of each facility.
    cell_index
        (rows, cols) int raster: population cell id (row of the cost matrix) per grid
        cell, -1 where there is no population cell (as ``PopulationGrid.cell_index``).
    max_minutes
        Catchment bound, minutes; also the matrix's ``cutoff``.
    dem, mode, direction, neighbours
        As in :func:`grid_graph` (defaults ``"towards"`` and 16); leave them out when
        ``surface`` is a :class:`GridGraph`.
    on_impassable
        As in :func:`nearest`; a skipped facility keeps an empty column.
    engine
        As in :func:`nearest`: ``"kernel"`` runs one bounded search per facility that
        visits (and then resets) only the cells it reaches; ``"csr"`` searches the graph,
        cut to a window around the facility when the reach is small.

    Returns
    -------
    CostMatrix
        Rows are population cells (``cell_index.max() + 1`` of them), columns facilities,
        unit ``"min"``.  A facility's own cell costs 0 (an explicit zero).

    Raises
    ------
    SourceError
        If a facility is outside the grid or on an impassable cell (``on_impassable="raise"``).
    UnitsError
        If ``cell_index`` does not match the grid.

    Examples
    --------
    >>> from gisapp.travel.friction import uniform_surface
    >>> s = uniform_surface((1, 4), Affine(100, 0, 0, 0, -100, 100), speed_kph=6.0)
    >>> cm = cost_matrix(s, np.array([[0, 0]]), np.array([[0, 1, 2, -1]]), max_minutes=1.5,
    ...                  neighbours=8)
    >>> cm.matrix.toarray().ravel().tolist()
    [0.0, 1.0, 0.0]
    """
    grid = _kernel(surface, dem, mode, direction, neighbours, engine)
    if grid is not None:
        return _kernel_cost_matrix(grid, sources_rc, cell_index, max_minutes=max_minutes,
                                   on_impassable=on_impassable, source_error=SourceError)
    assert not isinstance(surface, KernelGrid)  # noqa: S101 - _kernel returned it above
    graph = _graph(surface, dem, mode, direction, neighbours)
    limit = _check_max(max_minutes)
    ci = np.asarray(cell_index)
    if ci.shape != graph.shape:
        msg = f"`cell_index` has shape {ci.shape} but the grid has {graph.shape}."
        raise UnitsError(msg)
    nodes, ok = _source_nodes(graph, sources_rc, on_impassable)
    n_fac = int(nodes.size)
    flat = ci.ravel()
    pop_nodes = np.flatnonzero(flat >= 0)
    pop_ids = flat[pop_nodes].astype(np.int64)
    n_cells = int(flat.max()) + 1 if flat.size and flat.max() >= 0 else 0
    nrow, ncol = graph.shape
    n = nrow * ncol
    use = np.flatnonzero(ok)
    out_r: list[NDArray[np.int64]] = []
    out_c: list[NDArray[np.int64]] = []
    out_t: list[NDArray[np.float64]] = []
    # A search bounded by `limit` never leaves the cells within limit x the fastest speed
    # of its facility: when that window is small, search a subgraph cut to it.
    reach_m = limit * graph.max_speed_m_min
    half_r = int(min(nrow, np.ceil(reach_m / graph.cell_size_m[1]) + 2)) if np.isfinite(reach_m) else nrow
    half_c = int(min(ncol, np.ceil(reach_m / graph.cell_size_m[0]) + 2)) if np.isfinite(reach_m) else ncol
    if (2 * half_r + 1) * (2 * half_c + 1) * _WINDOW_FRACTION < n:
        for j in use:
            r, c = divmod(int(nodes[j]), ncol)
            r0, r1 = max(0, r - half_r), min(nrow, r + half_r + 1)
            c0, c1 = max(0, c - half_c), min(ncol, c + half_c + 1)
            sub = _window_csr(graph, r0, r1, c0, c1)
            d = dijkstra(sub, directed=True, indices=(r - r0) * (c1 - c0) + (c - c0), limit=limit)
            win_ids = ci[r0:r1, c0:c1].ravel()
            keep = (win_ids >= 0) & np.isfinite(d) & (d <= limit)
            out_r.append(win_ids[keep].astype(np.int64))
            out_c.append(np.full(int(keep.sum()), j, dtype=np.int64))
            out_t.append(np.asarray(d, dtype=np.float64)[keep])
    else:
        per = max(1, _DENSE_BUDGET // max(1, n))
        for start in range(0, use.size, per):  # batches of facilities, to bound memory
            fac = use[start:start + per]
            dd = dijkstra(graph.csr, directed=True, indices=nodes[fac], limit=limit)
            dd = np.asarray(dd, dtype=np.float64).reshape(fac.size, n)[:, pop_nodes]
            fi, pj = np.nonzero(np.isfinite(dd) & (dd <= limit))
            out_r.append(pop_ids[pj])
            out_c.append(fac[fi])
            out_t.append(dd[fi, pj])
    rows = np.concatenate(out_r) if out_r else np.zeros(0, np.int64)
    cols = np.concatenate(out_c) if out_c else np.zeros(0, np.int64)
    mins = np.concatenate(out_t) if out_t else np.zeros(0, np.float64)
    return cost_matrix_from_pairs(rows, cols, mins, shape=(n_cells, n_fac), unit="min",
                                  cutoff=limit)
