"""A compiled grid travel-time kernel: Dijkstra over the grid itself, no graph built.

:mod:`gisapp.travel.grid_search` can build every move of the grid as one CSR matrix (about
12 bytes per move, 100-200 bytes per cell) and search it with scipy.  This module searches
the same moves implicitly: a numba-compiled Dijkstra walks the grid's 8 (or 16, with
knight's moves) neighbours and costs each move when it relaxes it, from a few per-cell
arrays (flat pace or speed, elevation, slope group) padded with impassable cells so that
no move needs a bounds check.  The queue is a ring of buckets narrower than the cheapest
move (Dial's algorithm: every cell of the bucket being emptied is final, so the search is
exact; each bucket a chain of blocks of 64 entries, so that emptying one reads runs of
memory) when the grid is isotropic, and a binary heap otherwise.  The isotropic search of
:func:`nearest` keeps each cell's time and pace side by side (one cache line for both; the
pace's sign marks the settled cells) and, since it knows which cells it will expand next,
fetches their rows into the cache a few cells ahead: a search over a grid larger than the
cache waits on memory, not on arithmetic.  The move-cost rules are those of
:func:`gisapp.travel.grid_search.grid_graph`, so the answers are the same (to rounding):

- a move crosses its two end cells, a knight's move also the two cells its segment passes
  between (impossible when one of them is impassable);
- ``average="time"``: length x the mean of the crossed cells' minutes per metre;
  ``average="speed"``: length / the mean of their speeds (AccessMod 5's rule);
- with a DEM, walking cells are slowed by Tobler's factor and bicycling cells by the
  rider-power model (tabulated per flat speed as grid_search does when there are few
  bicycling speeds, evaluated per cell otherwise, capped downhill at
  ``bicycle_max_factor``) on the move's slope taken in the direction of travel: from the
  cell to the facility for ``"towards"``, from the facility out for ``"from"``;
- motorized cells ignore slope; NaN elevations make a cell impassable.

Memory (tracemalloc, numpy's and numba's allocations, surface in, results out): 29 bytes
per cell for :func:`nearest` on 1,000 x 1,000 and 2,000 x 2,000 isotropic grids (float64
pace, then float64 time and pace side by side and int32 labels while searching, then the
float64 / int64 results; the queue holds the search front only), under 40 with a DEM
(tests/travel/test_kernel.py), against 12 bytes per move for the CSR graph.

The first call of a process compiles the kernel (a few seconds), cached on disk
(``cache=True``) when numba can write its cache (``NUMBA_CACHE_DIR`` or ``__pycache__``);
it runs uncached, and still correctly, when it cannot.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from gisapp._errors import GisAppError, UnitsError
from gisapp.travel.cost import CostMatrix, cost_matrix_from_pairs
from gisapp.travel.friction import (
    BICYCLE_MAX_FACTOR,
    FrictionSurface,
    Mode,
    bicycle_factor_uncapped,
)

__all__ = [
    "KernelGrid",
    "KernelSourceError",
    "cost_matrix",
    "kernel_grid",
    "nearest",
]

Direction = Literal["towards", "from"]
Average = Literal["time", "speed"]

# The move set and the bicycle table of grid_search (tests/travel/test_kernel.py checks
# that they are equal; kept here so that grid_search may import this module).
_STEPS_8: tuple[tuple[int, int], ...] = (
    (0, 1), (1, 1), (1, 0), (1, -1), (0, -1), (-1, -1), (-1, 0), (-1, 1),
)
_KNIGHT: tuple[tuple[int, int], ...] = (
    (1, 2), (2, 1), (2, -1), (1, -2), (-1, -2), (-2, -1), (-2, 1), (-1, 2),
)
_GROUP_SUMS_MAX = 8  # up to this many slope groups, bicycling factors come from tables
_SLOPE_MIN, _SLOPE_MAX, _SLOPE_STEP = -4.0, 4.0, 1.0 / 4096
_SLOPE_GRID = np.linspace(_SLOPE_MIN, _SLOPE_MAX, int(round((_SLOPE_MAX - _SLOPE_MIN) / _SLOPE_STEP)) + 1)
_TOBLER_FLAT = float(np.exp(-3.5 * 0.05))
_HEAP_START = 1 << 12
_BLOCK = 64  # bucket queue: entries per block (a bucket is a chain of blocks; a multiple of _HEAP_START)
_MAX_BUCKETS = 1 << 16  # a bucket ring longer than this (moves of very unequal times): a heap
_BUCKET_MARGIN = 1e-6  # bucket width = cheapest move x (1 - this), against rounding
_PREFETCH = 8  # bucket search: fetch the rows of the cell this many entries ahead
# the rider-power model of gisapp.travel.friction.bicycle_factor_uncapped
_G, _MASS, _CRR, _CDA, _RHO = 9.81, 95.0, 0.012, 0.445, 1.14

def _jit(fn: Callable[..., Any]) -> Any:
    """numba.njit with an on-disk cache when one can be written, without otherwise."""
    import numba

    try:
        return numba.njit(cache=True, nogil=True)(fn)
    except RuntimeError:  # no writable cache location (read-only install, no home)
        return numba.njit(cache=False, nogil=True)(fn)


def _make_prefetch() -> Any:
    """A compiled ``_prefetch(array, i)``: ask the CPU to fetch ``array[i]``'s cache line.

    The bucket search knows which cells it will expand next; fetching their rows ahead
    hides the memory latency that dominates a search over a grid larger than the cache.
    A no-op when numba's LLVM interface does not offer the intrinsic.
    """
    import numba

    try:
        from llvmlite import ir
        from numba.extending import intrinsic

        i8p = ir.IntType(8).as_pointer()
        name = "llvm.prefetch.p0" if str(i8p) == "ptr" else "llvm.prefetch.p0i8"

        def typer(typingctx: Any, arr: Any, idx: Any) -> Any:  # noqa: ARG001 - numba's signature
            def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
                ary = context.make_array(signature.args[0])(context, builder, args[0])
                ptr = builder.bitcast(builder.gep(ary.data, [args[1]]), i8p)
                i32 = ir.IntType(32)
                fn = builder.module.globals.get(name) or ir.Function(
                    builder.module, ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32]), name)
                # for writing, keep in all cache levels, data
                builder.call(fn, [ptr, ir.Constant(i32, 1), ir.Constant(i32, 3), ir.Constant(i32, 1)])
                return context.get_dummy_value()

            return numba.types.void(arr, idx), codegen

        typer.__name__ = "_prefetch"
        return intrinsic(typer)
    except Exception:  # noqa: BLE001 - another numba / llvmlite: go without prefetching
        return _jit(_no_prefetch)


def _no_prefetch(a: NDArray[Any], i: int) -> None:
    """The stand-in for ``_prefetch`` where numba offers no intrinsics."""


_prefetch = _make_prefetch()



class KernelSourceError(GisAppError):
    """A facility (source) lies outside the grid or on an impassable cell."""


@dataclass(frozen=True)
class KernelGrid:
    """What the kernel searches: per-cell arrays and the move set, no graph.

    Attributes
    ----------
    shape
        (rows, cols) of the grid.  The per-cell arrays below cover the grid padded with
        ``pad`` impassable cells on every side (so that no move needs a bounds check),
        flattened in row-major order.
    pad
        1 (8 neighbours) or 2 (16).
    per_cell
        float64: minutes per metre on flat ground (``average="time"``) or metres per
        minute (``"speed"``); 0 where the cell is impassable.
    z
        float64 elevation, metres, or an empty array (no slope).
    group
        int8 slope group: 0 ignores slope, 1 walks, 2 and more bicycle (one
        group per flat speed when ``tables`` is used, else 2 for all); empty without slope.
    tables
        (groups - 2, len(slope grid)) float64: 1 / uncapped bicycle factor on the slope
        grid per bicycling group; (0, 0) when there are none or ``exact_bicycle``.
    bicycle_speed
        float32 flat speed, km/h, when ``exact_bicycle`` (else empty).
    exact_bicycle
        Bicycle factors evaluated per cell (many distinct bicycling speeds).
    direction, neighbours, average
        As in :func:`kernel_grid`.
    bicycle_cap
        Downhill cap of bicycling speed (``inf``: none).
    cell_size_m
        (width, height) of a cell, metres.
    """

    shape: tuple[int, int]
    pad: int
    per_cell: NDArray[np.float64]
    z: NDArray[np.float64]
    group: NDArray[np.int8]
    tables: NDArray[np.float64]
    bicycle_speed: NDArray[np.float32]
    exact_bicycle: bool
    direction: Direction
    neighbours: int
    average: Average
    bicycle_cap: float
    cell_size_m: tuple[float, float]

    @property
    def passable(self) -> NDArray[np.bool_]:
        """Return the (rows, cols) cells a search may enter."""
        return self.unpad(self.per_cell) > 0

    @property
    def width(self) -> int:
        """Return the row length of the padded arrays."""
        return self.shape[1] + 2 * self.pad

    def unpad(self, a: NDArray[Any], dtype: Any = None) -> NDArray[Any]:
        """Return a padded flat array as a new (rows, cols) array (of ``dtype``)."""
        return _unpad(a, self.shape, self.pad, dtype)

    def index(self, rows: NDArray[np.int64], cols: NDArray[np.int64]) -> NDArray[np.int64]:
        """Return the padded flat index of grid cells (row, col)."""
        return (rows + self.pad) * self.width + (cols + self.pad)

    @property
    def sloped(self) -> bool:
        """Return True when moves depend on slope."""
        return self.group.size > 0

    @property
    def nbytes(self) -> int:
        """Return the bytes of the per-cell arrays (shared arrays counted too)."""
        return int(self.per_cell.nbytes + self.z.nbytes + self.group.nbytes + self.tables.nbytes
                   + self.bicycle_speed.nbytes)


def _unpad(a: NDArray[Any], shape: tuple[int, int], pad: int, dtype: Any = None) -> NDArray[Any]:
    b = a.reshape(shape[0] + 2 * pad, shape[1] + 2 * pad)[pad:pad + shape[0], pad:pad + shape[1]]
    out = np.empty(shape, dtype=a.dtype if dtype is None else dtype)
    out[...] = b
    return out


def _moves(neighbours: int, cell_size_m: tuple[float, float],
           row: int) -> tuple[NDArray[Any], ...]:
    """(target, middle 1, middle 2 offsets, length, scale, scale_speed), one entry per move.

    Offsets are in the padded flat index (row length ``row``); a straight or diagonal
    move has no middle cells (offsets 0).
    """
    if neighbours not in (8, 16):
        msg = f"`neighbours` must be 8 or 16 (16 adds knight's moves), got {neighbours}."
        raise UnitsError(msg)
    width, height = cell_size_m
    moves: list[tuple[int, int, int, int, int, int, int]] = [(dr, dc, 0, 0, 0, 0, 2) for dr, dc in _STEPS_8]
    if neighbours == 16:
        for dr, dc in _KNIGHT:
            if abs(dc) == 2:
                moves.append((dr, dc, 0, dc // 2, dr, dc // 2, 4))
            else:
                moves.append((dr, dc, dr // 2, 0, dr // 2, dc, 4))
    a = np.array(moves, dtype=np.int64)
    length = np.array([float(np.hypot(dr * height, dc * width)) for dr, dc, *_ in moves])
    ncell = a[:, 6]
    # the constants grid_search multiplies (time) or divides (speed) by, computed alike
    scale = np.array([length[i] / int(ncell[i]) for i in range(len(moves))])
    scale_speed = np.array([length[i] * int(ncell[i]) for i in range(len(moves))])
    off = a[:, 0] * row + a[:, 1]
    mid1 = a[:, 2] * row + a[:, 3]
    mid2 = a[:, 4] * row + a[:, 5]
    return off, mid1, mid2, length, scale, scale_speed


def kernel_grid(
    surface: FrictionSurface,
    *,
    dem: NDArray[np.floating] | None = None,
    mode: Mode | None = None,
    direction: Direction = "towards",
    neighbours: int = 16,
    average: Average = "time",
    bicycle_max_factor: float | None = BICYCLE_MAX_FACTOR,
) -> KernelGrid:
    """Prepare a friction surface for the kernel (the arguments of ``grid_graph``).

    Parameters
    ----------
    surface
        Speeds and modes per cell.
    dem
        (rows, cols) elevation, metres; None: isotropic travel.  NaN makes a cell impassable.
    mode
        If given, every passable cell is travelled in this mode.
    direction
        ``"towards"`` (time from each cell to the facility) or ``"from"``.
    neighbours
        8 or 16 (knight's moves).
    average
        ``"time"`` or ``"speed"``, as in :func:`gisapp.travel.grid_search.grid_graph`.
    bicycle_max_factor
        Downhill cap of bicycling speed as a multiple of the flat speed (None: no cap).

    Returns
    -------
    KernelGrid

    Raises
    ------
    UnitsError
        If ``dem`` has another shape than the surface, or a setting is invalid.

    Examples
    --------
    >>> from affine import Affine
    >>> from gisapp.travel.friction import uniform_surface
    >>> k = kernel_grid(uniform_surface((2, 3), Affine(60, 0, 0, 0, -60, 120), speed_kph=3.6))
    >>> k.shape, round(float(k.per_cell[k.index(0, 0)]), 6)   # 60 m/min: 1/60 minute per metre
    ((2, 3), 0.016667)
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
    if neighbours not in (8, 16):
        msg = f"`neighbours` must be 8 or 16 (16 adds knight's moves), got {neighbours}."
        raise UnitsError(msg)
    shape = surface.shape
    z: NDArray[np.float64] | None = None
    if dem is not None:
        z = np.ascontiguousarray(dem, dtype=np.float64)
        if z.shape != shape:
            msg = f"`dem` has shape {z.shape} but the friction surface has {shape}; resample it."
            raise UnitsError(msg)
    speed = surface.speed_kph
    # per cell, computed as grid_search does: pace = 60 / (kph * 1000), speed = 1 / pace
    pad = 1 if neighbours == 8 else 2
    padded = (shape[0] + 2 * pad, shape[1] + 2 * pad)
    inner = (slice(pad, pad + shape[0]), slice(pad, pad + shape[1]))
    per_cell = np.zeros(padded, dtype=np.float64)
    _fill_per_cell(np.ascontiguousarray(speed), np.ascontiguousarray(surface.mode),
                   np.zeros((0, 0)) if z is None else z, average == "speed", per_cell, pad)
    if z is None:  # isotropic: nothing else to prepare
        return KernelGrid(
            shape=shape, pad=pad, per_cell=per_cell.ravel(), z=np.zeros(0, dtype=np.float64),
            group=np.zeros(0, dtype=np.int8), tables=np.zeros((0, 0), dtype=np.float64),
            bicycle_speed=np.zeros(0, dtype=np.float32), exact_bicycle=False,
            direction=direction, neighbours=neighbours, average=average,
            bicycle_cap=np.inf if bicycle_max_factor is None else float(bicycle_max_factor),
            cell_size_m=surface.cell_size_m,
        )
    passable = per_cell[inner] > 0
    cell_mode = surface.mode if mode is None else np.where(passable, np.int8(int(mode)), np.int8(0))
    walking = (cell_mode == Mode.WALKING) & passable
    bike = (cell_mode == Mode.BICYCLING) & passable
    empty_f = np.zeros(0, dtype=np.float64)
    group = np.zeros(0, dtype=np.int8)
    tables = np.zeros((0, 0), dtype=np.float64)
    bspeed = np.zeros(0, dtype=np.float32)
    exact = False
    sloped = z is not None and bool(walking.any() or bike.any())
    if sloped:
        g = np.zeros(shape, dtype=np.int8)
        g[walking] = 1
        if bike.any():
            speeds = np.unique(speed[bike])
            if 2 + speeds.size <= _GROUP_SUMS_MAX:
                for i, v in enumerate(speeds):
                    g[bike & (speed == v)] = 2 + i
                tables = np.stack([1.0 / bicycle_factor_uncapped(_SLOPE_GRID, float(v)) for v in speeds])
            else:
                exact = True
                g[bike] = 2
                bspeed = np.pad(speed, pad).ravel()  # float32, widened exactly when used
        group = np.pad(g, pad).ravel()
    return KernelGrid(
        shape=shape, pad=pad, per_cell=per_cell.ravel(),
        z=np.pad(z, pad).ravel() if (z is not None and sloped) else empty_f,
        group=group, tables=tables, bicycle_speed=bspeed, exact_bicycle=exact,
        direction=direction, neighbours=neighbours, average=average,
        bicycle_cap=np.inf if bicycle_max_factor is None else float(bicycle_max_factor),
        cell_size_m=surface.cell_size_m,
    )


# --------------------------------------------------------------------------- compiled part


@_jit
def _fill_per_cell(speed: NDArray[np.floating], mode: NDArray[np.int8], z: NDArray[np.float64],
                   speed_avg: bool, out: NDArray[np.float64], pad: int) -> None:
    """``out``'s inner cells: minutes per metre (or metres per minute), 0 where impassable.

    One pass for numpy's ``pace = 60 / (float64(kph) * 1000)`` (and ``1 / pace``), the
    same operations in the same order; a cell is passable when its mode and speed are
    positive and its elevation (when ``z`` is not empty) is finite.
    """
    rows, cols = speed.shape
    sloped = z.size > 0
    for i in range(rows):
        for j in range(cols):
            kph = np.float64(speed[i, j])
            ok = mode[i, j] > 0 and kph > 0
            if sloped and ok:
                ok = np.isfinite(z[i, j])
            p = 0.0
            if ok:
                p = 60.0 / (kph * 1000.0)
                if speed_avg:
                    p = 1.0 / p
            out[i + pad, j + pad] = p
#
# The hot loop of :func:`_search` is written out by hand (no helper taking arrays inside
# it): numba's reference counting of arrays handed to helpers costs more than the search.


@_jit
def _bike_uncapped(s: float, kph: float) -> float:
    """One value of :func:`gisapp.travel.friction.bicycle_factor_uncapped` (scalar)."""
    v0 = max(kph / 3.6, 1e-9)
    hyp = np.sqrt(1.0 + s * s)
    a = 0.5 * _RHO * _CDA
    power = v0 * (_MASS * _G * _CRR) + a * v0 ** 3
    p = (_MASS * _G / a) * (s + _CRR) / hyp
    q = -power / a
    disc = (q / 2.0) ** 2 + (p / 3.0) ** 3
    if disc < 0:
        arg = min(max((1.5 * q / p) * np.sqrt(-3.0 / p), -1.0), 1.0)
        v = 2.0 * np.sqrt(-p / 3.0) * np.cos(np.arccos(arg) / 3.0)
    else:
        sq = np.sqrt(disc)
        v = np.cbrt(-q / 2.0 + sq) + np.cbrt(-q / 2.0 - sq)
    return v / v0  # type: ignore[no-any-return]


@_jit
def _sloped_sum(pc: NDArray[np.float64], group: NDArray[np.int8], tables: NDArray[np.float64],
                bspeed: NDArray[np.float32], exact: bool, cap: float, speed_avg: bool, s: float,
                x: int, total: float) -> float:
    """``total`` plus cell ``x``'s term on slope ``s``: pace / factor (or speed x factor)."""
    g = group[x]
    if g == 0:
        inv = 1.0
    elif g == 1:
        inv = _TOBLER_FLAT / np.exp(-3.5 * abs(s + 0.05))
    elif exact:
        inv = 1.0 / min(_bike_uncapped(s, np.float64(bspeed[x])), cap)
    else:
        # grid_search's table: linear interpolation on the uniform slope grid, then the cap
        t = (min(max(s, _SLOPE_MIN), _SLOPE_MAX) - _SLOPE_MIN) / _SLOPE_STEP
        i = min(int(t), tables.shape[1] - 2)
        f = t - i
        lo = tables[g - 2, i]
        inv = max(lo + f * (tables[g - 2, i + 1] - lo), 1.0 / cap)
    if speed_avg:
        return total + pc[x] / inv  # type: ignore[no-any-return]
    return total + pc[x] * inv  # type: ignore[no-any-return]


@_jit
def _grow_f(a: NDArray[np.float64], n: int) -> NDArray[np.float64]:
    out = np.empty(2 * a.size + 16, dtype=np.float64)
    out[:n] = a[:n]
    return out


@_jit
def _grow_i(a: NDArray[np.int64], n: int) -> NDArray[np.int64]:
    out = np.empty(2 * a.size + 16, dtype=np.int64)
    out[:n] = a[:n]
    return out


@_jit
def _compact_heap(hk: NDArray[np.float64], hv: NDArray[np.int64], size: int,
                  dist: NDArray[np.float64]) -> int:
    """Drop the heap's stale entries (cells reached faster since) and restore its order.

    Keeps the heap near the size of the search front instead of growing with every
    improvement; returns the new size.
    """
    m = 0
    for i in range(size):
        if hk[i] <= dist[hv[i]]:
            hk[m] = hk[i]
            hv[m] = hv[i]
            m += 1
    for start in range(m // 2 - 1, -1, -1):  # Floyd's heap construction
        k = hk[start]
        v = hv[start]
        j = start
        while True:
            child = 2 * j + 1
            if child >= m:
                break
            if child + 1 < m and hk[child + 1] < hk[child]:
                child += 1
            if hk[child] >= k:
                break
            hk[j] = hk[child]
            hv[j] = hv[child]
            j = child
        hk[j] = k
        hv[j] = v
    return m


@_jit
def _search(pc: NDArray[np.float64], z: NDArray[np.float64], group: NDArray[np.int8],
            tables: NDArray[np.float64], bspeed: NDArray[np.float32], exact: bool, cap: float,
            speed_avg: bool, sign: float, off: NDArray[np.int64], mid1: NDArray[np.int64],
            mid2: NDArray[np.int64], length: NDArray[np.float64],
            scale: NDArray[np.float64], scale_speed: NDArray[np.float64],
            starts: NDArray[np.int64], start_labels: NDArray[np.int32], limit: float,
            dist: NDArray[np.float64], label: NDArray[np.int32], use_label: bool,
            inv_w: float, heads: NDArray[np.int64], hk: NDArray[np.float64],
            hv: NDArray[np.int64], nxt: NDArray[np.int64], track: bool,
            touched: NDArray[np.int64]) -> tuple[Any, ...]:
    """Dijkstra from ``starts`` (time 0) over the implicit grid, stopped beyond ``limit``.

    ``dist`` must be ``inf`` (``label`` -1) on every cell the search may reach; the search
    leaves the times in ``dist`` and the start label of each cell in ``label``.

    The queue: with ``heads`` empty a binary heap over (``hk`` keys, ``hv`` cells);
    otherwise a ring of ``heads.size // 2`` buckets of width ``1 / inv_w`` (Dial's algorithm,
    the buckets narrower than the cheapest move so that every cell of the bucket being
    emptied is final: exact, O(1) per operation), each bucket a chain of blocks of
    ``_BLOCK`` entries (``hk`` keys and ``hv`` cells, contiguous within a block; ``nxt``
    holds each block's next block and fill): emptying a bucket reads runs of memory, not one
    scattered entry after another.  Returns (heads, hk, hv, nxt, touched, number touched); the
    arrays may have grown.
    """
    sloped = group.size > 0
    nmove = off.size
    buckets = heads.size > 0
    nslots = heads.size // 2  # buckets: heads[slot] is its first block, heads[nslots + slot] its last
    mask = nslots - 1
    size = 0  # entries queued
    top = 0  # buckets: blocks used so far
    free = -1  # buckets: free list of blocks
    ntouched = 0
    for i in range(starts.size):
        u = starts[i]
        if dist[u] == 0.0:
            continue  # several facilities in one cell: the first one
        dist[u] = 0.0
        if use_label:
            label[u] = start_labels[i]
        if track:
            if ntouched == touched.size:
                touched = _grow_i(touched, ntouched)
            touched[ntouched] = u
            ntouched += 1
        if size == hk.size:
            hk = _grow_f(hk, size)
            hv = _grow_i(hv, size)
        hk[size] = 0.0  # every start has key 0: appending keeps the heap's order
        hv[size] = u
        size += 1
    if buckets and size > 0:  # the starts, laid out in order, are the first blocks of bucket 0
        top = (size + _BLOCK - 1) // _BLOCK
        if top * _BLOCK > hk.size:
            hk = _grow_f(hk, hk.size)
            hv = _grow_i(hv, hv.size)
        while 2 * top > nxt.size:
            nxt = _grow_i(nxt, nxt.size)
        for b in range(top):
            nxt[2 * b] = b + 1 if b + 1 < top else -1
            nxt[2 * b + 1] = min(_BLOCK, size - b * _BLOCK)
        heads[0] = 0
        heads[nslots] = top - 1
    cur = 0
    batch = np.empty(_HEAP_START if buckets else 0, dtype=np.int64)
    nbatch = 0
    ib = 0
    while size > 0 or ib < nbatch:
        if buckets:
            if ib == nbatch:
                # empty the next non-empty bucket into `batch`, sorted by cell: its cells
                # are final, so any order is exact, and grid order keeps memory access local
                slot = cur & mask
                b = heads[slot]
                if b < 0:
                    cur += 1
                    continue
                heads[slot] = -1
                heads[nslots + slot] = -1
                nbatch = 0
                ib = 0
                while b >= 0:  # the bucket's blocks, each a run of entries in memory
                    base = b * _BLOCK
                    nfill = nxt[2 * b + 1]
                    while nbatch + nfill > batch.size:
                        batch = _grow_i(batch, nbatch)
                    for i in range(base, base + nfill):
                        u = hv[i]
                        if hk[i] <= dist[u]:  # else stale: the cell was reached faster since
                            batch[nbatch] = u
                            nbatch += 1
                    size -= nfill
                    nb = nxt[2 * b]
                    nxt[2 * b] = free
                    free = b
                    b = nb
                batch[:nbatch].sort()
                continue
            u = batch[ib]
            ib += 1
            d = dist[u]
        else:
            d = hk[0]
            u = hv[0]
            size -= 1
            if size > 0:
                lk = hk[size]
                lv = hv[size]
                j = 0
                while True:
                    child = 2 * j + 1
                    if child >= size:
                        break
                    if child + 1 < size and hk[child + 1] < hk[child]:
                        child += 1
                    if hk[child] >= lk:
                        break
                    hk[j] = hk[child]
                    hv[j] = hv[child]
                    j = child
                hk[j] = lk
                hv[j] = lv
        if d > dist[u]:
            continue  # a stale entry: the cell was reached faster since
        pu = pc[u]
        lab = label[u] if use_label else -1
        for k in range(nmove):
            # ---- the move's cost, as grid_search's grid_graph computes it (the padding is
            # impassable: no move leaves the grid)
            v = u + off[k]
            pv = pc[v]
            if pv <= 0.0:
                continue
            a = -1
            b = -1
            if k >= 8:  # a knight's move also crosses two middle cells
                a = u + mid1[k]
                b = u + mid2[k]
                if pc[a] <= 0.0 or pc[b] <= 0.0:
                    continue
            if sloped:
                s = sign * (z[v] - z[u]) / length[k]
                tot = _sloped_sum(pc, group, tables, bspeed, exact, cap, speed_avg, s, u, 0.0)
                tot = _sloped_sum(pc, group, tables, bspeed, exact, cap, speed_avg, s, v, tot)
                if a >= 0:
                    t2 = _sloped_sum(pc, group, tables, bspeed, exact, cap, speed_avg, s, a, 0.0)
                    t2 = _sloped_sum(pc, group, tables, bspeed, exact, cap, speed_avg, s, b, t2)
                    tot += t2
            else:
                tot = pu + pv  # grid_search's order: (u + v) + mid1 + mid2
                if a >= 0:
                    tot += pc[a]
                    tot += pc[b]
            w = scale_speed[k] / tot if speed_avg else tot * scale[k]
            # ---- relax
            nd = d + w
            if nd < dist[v] and nd <= limit:
                if track and dist[v] == np.inf:
                    if ntouched == touched.size:
                        touched = _grow_i(touched, ntouched)
                    touched[ntouched] = v
                    ntouched += 1
                dist[v] = nd
                if use_label:
                    label[v] = lab
                if buckets:
                    bk = int(nd * inv_w)
                    if bk < cur:
                        bk = cur  # rounding: never behind the bucket being emptied
                    if bk - cur > mask:
                        raise RuntimeError("travel kernel: a move is longer than the bucket ring")
                    # append to the bucket's last block (a new block when it is full)
                    slot = bk & mask
                    b = heads[nslots + slot]
                    if b < 0 or nxt[2 * b + 1] == _BLOCK:
                        if free >= 0:
                            nb = free
                            free = nxt[2 * nb]
                        else:
                            nb = top
                            top += 1
                            if top * _BLOCK > hk.size:
                                hk = _grow_f(hk, hk.size)
                                hv = _grow_i(hv, hv.size)
                            if 2 * top > nxt.size:
                                nxt = _grow_i(nxt, nxt.size)
                        nxt[2 * nb] = -1
                        nxt[2 * nb + 1] = 0
                        if b < 0:
                            heads[slot] = nb
                        else:
                            nxt[2 * b] = nb
                        heads[nslots + slot] = nb
                        b = nb
                    e = b * _BLOCK + nxt[2 * b + 1]
                    hk[e] = nd
                    hv[e] = v
                    nxt[2 * b + 1] += 1
                    size += 1
                else:
                    if size == hk.size:
                        size = _compact_heap(hk, hv, size, dist)
                        if 2 * size > hk.size:
                            hk = _grow_f(hk, size)
                            hv = _grow_i(hv, size)
                    j = size
                    size += 1
                    while j > 0:
                        parent = (j - 1) >> 1
                        if hk[parent] <= nd:
                            break
                        hk[j] = hk[parent]
                        hv[j] = hv[parent]
                        j = parent
                    hk[j] = nd
                    hv[j] = v
    return heads, hk, hv, nxt, touched, ntouched


@_jit
def _grow_i32(a: NDArray[np.int32], n: int) -> NDArray[np.int32]:
    out = np.empty(2 * a.size + _BLOCK, dtype=np.int32)
    out[:n] = a[:n]
    return out


@_jit
def _pace_range(pc: NDArray[np.float64]) -> tuple[float, float]:
    """(smallest, largest) positive value of ``pc``; (inf, 0) when there is none."""
    lo = np.inf
    hi = 0.0
    for x in pc:
        if x > 0.0:
            lo = min(lo, x)
            hi = max(hi, x)
    return lo, hi


@_jit
def _dial(cells: NDArray[np.float64], label: NDArray[np.int32], speed_avg: bool,
          off: NDArray[np.int64], mid1: NDArray[np.int64], mid2: NDArray[np.int64],
          scale: NDArray[np.float64], scale_speed: NDArray[np.float64],
          starts: NDArray[np.int64], start_labels: NDArray[np.int32], limit: float,
          inv_w: float, heads: NDArray[np.int64], row: int, pad: int) -> None:
    """Multi-source bucket search (Dial) of an isotropic grid, for :func:`nearest`.

    ``cells`` interleaves each cell's time and flat pace (or speed): ``cells[2 u]`` is cell
    u's time (``inf`` unreached), ``cells[2 u + 1]`` its ``per_cell`` value, negated once
    the cell is settled (0: impassable).  One cache line thus holds both, and a neighbour's
    one read tells whether to relax it.  ``label`` (-1) receives each cell's start label.

    The queue is :func:`_search`'s ring of buckets of width ``1 / inv_w`` (``heads``), each
    a chain of ``_BLOCK``-entry blocks, holding cells only (int32): an entry is stale when
    its cell is settled by then, which the sign of its pace tells.  The cells of the bucket
    being emptied are all final, so they are expanded in queue order, with the rows around
    the cell ``_PREFETCH`` entries ahead fetched into the cache meanwhile.  The moves'
    costs are :func:`_search`'s, summed in the same order: the same times, bit for bit.
    """
    nmove = off.size
    nslots = heads.size // 2  # heads[slot]: a bucket's first block, heads[nslots + slot]: last
    mask = nslots - 1
    hv = np.empty(_HEAP_START, dtype=np.int32)
    nxt = np.empty(2 * (_HEAP_START // _BLOCK), dtype=np.int64)  # next block, fill
    size = 0
    for i in range(starts.size):
        u = starts[i]
        if cells[2 * u] == 0.0:
            continue  # several facilities in one cell: the first one
        cells[2 * u] = 0.0
        label[u] = start_labels[i]
        if size == hv.size:
            hv = _grow_i32(hv, size)
        hv[size] = u
        size += 1
    top = (size + _BLOCK - 1) // _BLOCK  # the starts are the first blocks of bucket 0
    if top * _BLOCK > hv.size:
        hv = _grow_i32(hv, size)
    while 2 * top > nxt.size:
        nxt = _grow_i(nxt, nxt.size)
    for b in range(top):
        nxt[2 * b] = b + 1 if b + 1 < top else -1
        nxt[2 * b + 1] = min(_BLOCK, size - b * _BLOCK)
    if top:
        heads[0] = 0
        heads[nslots] = top - 1
    free = -1
    cur = 0
    batch = np.empty(_HEAP_START, dtype=np.int32)
    nbatch = 0
    ib = 0
    while size > 0 or ib < nbatch:
        if ib == nbatch:  # empty the next non-empty bucket into `batch`
            slot = cur & mask
            b = heads[slot]
            if b < 0:
                cur += 1
                continue
            heads[slot] = -1
            heads[nslots + slot] = -1
            nbatch = 0
            ib = 0
            while b >= 0:
                nfill = nxt[2 * b + 1]
                if nbatch + nfill > batch.size:
                    batch = _grow_i32(batch, nbatch)
                batch[nbatch:nbatch + nfill] = hv[b * _BLOCK:b * _BLOCK + nfill]
                nbatch += nfill
                size -= nfill
                nb = nxt[2 * b]
                nxt[2 * b] = free
                free = b
                b = nb
            continue
        if ib + _PREFETCH < nbatch:
            x = np.int64(batch[ib + _PREFETCH])
            for r in range(-pad, pad + 1):  # the cell's rows: times, paces, labels
                y = x + r * row
                _prefetch(cells, 2 * (y - pad))
                _prefetch(cells, 2 * (y + pad) + 1)
                _prefetch(label, y)
        u = np.int64(batch[ib])
        ib += 1
        pu = cells[2 * u + 1]
        if pu <= 0.0:
            continue  # settled already: a stale or repeated entry
        cells[2 * u + 1] = -pu
        d = cells[2 * u]
        lab = label[u]
        for k in range(nmove):
            v = u + off[k]
            pv = cells[2 * v + 1]
            if pv <= 0.0:
                continue  # impassable or settled
            tot = pu + pv  # _search's order: (u + v) + mid1 + mid2
            if k >= 8:  # a knight's move also crosses two middle cells
                pa = cells[2 * (u + mid1[k]) + 1]
                pb = cells[2 * (u + mid2[k]) + 1]
                if pa == 0.0 or pb == 0.0:
                    continue
                tot += abs(pa)
                tot += abs(pb)
            nd = d + (scale_speed[k] / tot if speed_avg else tot * scale[k])
            if nd < cells[2 * v] and nd <= limit:
                cells[2 * v] = nd
                label[v] = lab
                bk = int(nd * inv_w)
                if bk < cur:
                    bk = cur  # rounding: never behind the bucket being emptied
                if bk - cur > mask:
                    raise RuntimeError("travel kernel: a move is longer than the bucket ring")
                slot = bk & mask
                b = heads[nslots + slot]
                if b < 0 or nxt[2 * b + 1] == _BLOCK:  # a new block
                    if free >= 0:
                        nb = free
                        free = nxt[2 * nb]
                    else:
                        nb = top
                        top += 1
                        if top * _BLOCK > hv.size:
                            hv = _grow_i32(hv, hv.size)
                        if 2 * top > nxt.size:
                            nxt = _grow_i(nxt, nxt.size)
                    nxt[2 * nb] = -1
                    nxt[2 * nb + 1] = 0
                    if b < 0:
                        heads[slot] = nb
                    else:
                        nxt[2 * b] = nb
                    heads[nslots + slot] = nb
                    b = nb
                hv[b * _BLOCK + nxt[2 * b + 1]] = v
                nxt[2 * b + 1] += 1
                size += 1


@_jit
def _catchments(pc: NDArray[np.float64], z: NDArray[np.float64], group: NDArray[np.int8],
                tables: NDArray[np.float64], bspeed: NDArray[np.float32], exact: bool, cap: float,
                speed_avg: bool, sign: float, off: NDArray[np.int64], mid1: NDArray[np.int64],
                mid2: NDArray[np.int64], length: NDArray[np.float64],
                scale: NDArray[np.float64], scale_speed: NDArray[np.float64],
                nodes: NDArray[np.int64], facs: NDArray[np.int64], limit: float,
                cell_ids: NDArray[np.int64], inv_w: float, heads: NDArray[np.int64],
                hk: NDArray[np.float64], hv: NDArray[np.int64], nxt: NDArray[np.int64],
                ) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64], int]:
    """One bounded search per facility; (cell id, facility, minutes) of the cells reached.

    Each search visits only the cells within ``limit`` and resets them afterwards.
    """
    dist = np.full(pc.size, np.inf)
    label = np.empty(0, dtype=np.int32)
    touched = np.empty(1 << 12, dtype=np.int64)
    out_r = np.empty(1 << 16, dtype=np.int64)
    out_c = np.empty(1 << 16, dtype=np.int64)
    out_t = np.empty(1 << 16, dtype=np.float64)
    m = 0
    one = np.empty(1, dtype=np.int64)
    one_label = np.zeros(1, dtype=np.int32)
    for f in range(facs.size):
        one[0] = nodes[f]
        heads, hk, hv, nxt, touched, nt = _search(
            pc, z, group, tables, bspeed, exact, cap, speed_avg, sign, off, mid1, mid2,
            length, scale, scale_speed, one, one_label, limit, dist, label,
            False, inv_w, heads, hk, hv, nxt, True, touched)
        for i in range(nt):
            u = touched[i]
            cid = cell_ids[u]
            if cid >= 0:
                if m == out_r.size:
                    out_r = _grow_i(out_r, m)
                    out_c = _grow_i(out_c, m)
                    out_t = _grow_f(out_t, m)
                out_r[m] = cid
                out_c[m] = facs[f]
                out_t[m] = dist[u]
                m += 1
            dist[u] = np.inf
    return out_r, out_c, out_t, m


# --------------------------------------------------------------------------- public functions


def _grid(surface: FrictionSurface | KernelGrid, dem: NDArray[np.floating] | None,
          mode: Mode | None, direction: Direction | None, neighbours: int | None) -> KernelGrid:
    if isinstance(surface, KernelGrid):
        if dem is not None or mode is not None or direction not in (None, surface.direction) \
                or neighbours not in (None, surface.neighbours):
            msg = ("A prebuilt KernelGrid fixes dem, mode, direction and neighbours; pass the "
                   "FrictionSurface instead, or leave those arguments out "
                   f"(grid: direction={surface.direction!r}, neighbours={surface.neighbours}).")
            raise UnitsError(msg)
        return surface
    return kernel_grid(surface, dem=dem, mode=mode, direction=direction or "towards",
                       neighbours=neighbours or 16)


def _source_nodes(grid: KernelGrid, sources_rc: NDArray[np.integer],
                  on_impassable: Literal["raise", "skip"],
                  error: type[GisAppError]) -> tuple[NDArray[np.int64], NDArray[np.bool_]]:
    rc = np.asarray(sources_rc, dtype=np.int64).reshape(-1, 2)
    nrow, ncol = grid.shape
    inside = (rc[:, 0] >= 0) & (rc[:, 0] < nrow) & (rc[:, 1] >= 0) & (rc[:, 1] < ncol)
    ok = inside.copy()
    ok[inside] = grid.per_cell[grid.index(rc[inside, 0], rc[inside, 1])] > 0
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
        raise error(msg)
    nodes = np.where(ok, grid.index(rc[:, 0], rc[:, 1]), -1)
    return nodes, ok


def _check_max(max_minutes: float | None) -> float:
    if max_minutes is None:
        return np.inf
    if not max_minutes > 0:
        msg = f"`max_minutes` must be positive, got {max_minutes}."
        raise UnitsError(msg)
    return float(max_minutes)


def _args(grid: KernelGrid) -> tuple[Any, ...]:
    """The grid and move arguments of the compiled functions."""
    return (grid.per_cell, grid.z, grid.group, grid.tables, grid.bicycle_speed,
            grid.exact_bicycle, grid.bicycle_cap, grid.average == "speed",
            -1.0 if grid.direction == "towards" else 1.0,
            *_moves(grid.neighbours, grid.cell_size_m, grid.width))


def _queue(grid: KernelGrid, *, buckets: bool | None = None) -> tuple[Any, ...]:
    """An empty search queue: (1 / bucket width, ring heads, keys, cells, next entries).

    A bucket ring when the grid is isotropic and its moves' times are not too unequal
    (the ring spans the dearest move in buckets of the cheapest one), else a binary heap
    (``heads`` empty).  The bounds come from the per-cell extremes: with the time average
    a move costs between min(pace) x shortest and max(pace) x longest move length; with
    the speed average between shortest / max(speed) and longest / min(speed).
    """
    n_buckets = 0
    width = 0.0
    if not grid.sloped and buckets is not False:
        pmin, pmax = _pace_range(grid.per_cell)
        if pmax > 0:
            w, h = grid.cell_size_m
            short, long_ = min(w, h), float(np.hypot(2 * w, h) if grid.neighbours == 16 else np.hypot(w, h))
            long_ = max(long_, float(np.hypot(w, 2 * h)) if grid.neighbours == 16 else long_)
            if grid.average == "time":
                lo, hi = pmin * short, pmax * long_
            else:
                lo, hi = short / pmax, long_ / pmin
            width = lo * (1.0 - _BUCKET_MARGIN)
            need = int(np.ceil(hi / width)) + 2
            n_buckets = 1 << max(1, (need - 1).bit_length())
    use = n_buckets > 0 and (buckets or n_buckets <= _MAX_BUCKETS)
    heads = np.full(2 * n_buckets if use else 0, -1, dtype=np.int64)  # first and last block per bucket
    return (1.0 / width if use else 0.0, heads, np.empty(_HEAP_START, dtype=np.float64),
            np.empty(_HEAP_START, dtype=np.int64), np.empty(_HEAP_START, dtype=np.int64))


def nearest(
    surface: FrictionSurface | KernelGrid,
    sources_rc: NDArray[np.integer],
    *,
    dem: NDArray[np.floating] | None = None,
    mode: Mode | None = None,
    direction: Direction | None = None,
    max_minutes: float | None = None,
    neighbours: int | None = None,
    on_impassable: Literal["raise", "skip"] = "raise",
    source_error: type[GisAppError] = KernelSourceError,
    queue: bool | None = None,
) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """Travel time to the nearest facility and which facility that is, for every cell.

    One multi-source search from all facilities at once.  Same arguments and results as
    :func:`gisapp.travel.grid_search.nearest`, with a :class:`KernelGrid` in place of a
    ``GridGraph``.

    Parameters
    ----------
    surface
        The friction surface, or a :class:`KernelGrid` prepared from it (then ``dem``,
        ``mode``, ``direction`` and ``neighbours`` come from it).
    sources_rc
        (n, 2) grid (row, col) of each facility.
    dem, mode, direction, neighbours
        As in :func:`kernel_grid` (defaults ``"towards"`` and 16).
    max_minutes
        Stop the search at this time, minutes (cells beyond get ``inf``).
    on_impassable
        ``"raise"`` if a facility lies outside the grid or on an impassable cell, or
        ``"skip"`` to ignore such facilities.
    source_error
        The exception class raised for such a facility.
    queue
        True: a bucket queue, False: a binary heap, None (default): buckets unless the
        moves' times are too unequal for them (same answers either way).

    Returns
    -------
    minutes : numpy.ndarray
        (rows, cols) float64 travel time, minutes; ``inf`` where no facility is reachable.
    allocation : numpy.ndarray
        (rows, cols) int64 index (into ``sources_rc``) of the nearest facility, -1 where
        ``minutes`` is ``inf``; where two facilities share a cell, the first one.

    Examples
    --------
    >>> from affine import Affine
    >>> from gisapp.travel.friction import uniform_surface
    >>> s = uniform_surface((1, 4), Affine(100, 0, 0, 0, -100, 100), speed_kph=6.0)
    >>> t, a = nearest(s, np.array([[0, 0], [0, 3]]), neighbours=8)
    >>> t.round(2).tolist(), a.tolist()
    ([[0.0, 1.0, 1.0, 0.0]], [[0, 0, 1, 1]])
    """
    grid = _grid(surface, dem, mode, direction, neighbours)
    limit = _check_max(max_minutes)
    nodes, ok = _source_nodes(grid, sources_rc, on_impassable, source_error)
    use = np.flatnonzero(ok).astype(np.int64)
    label = np.full(grid.per_cell.size, -1, dtype=np.int32)
    inv_w, heads, hk, hv, nxt = _queue(grid, buckets=queue)
    if heads.size and grid.per_cell.size < 2**31:  # isotropic: the bucket search
        cells = np.empty(2 * grid.per_cell.size)  # time and pace of each cell side by side
        cells[0::2] = np.inf
        cells[1::2] = grid.per_cell
        dist = cells[0::2]
        if use.size:
            off, mid1, mid2, _, scale, scale_speed = _moves(grid.neighbours, grid.cell_size_m,
                                                            grid.width)
            _dial(cells, label, grid.average == "speed", off, mid1, mid2, scale, scale_speed,
                  nodes[use], use.astype(np.int32), limit, inv_w, heads, grid.width, grid.pad)
    else:
        dist = cells = np.full(grid.per_cell.size, np.inf)
        if use.size:
            _search(*_args(grid), nodes[use], use.astype(np.int32), limit, dist, label, True,
                    inv_w, heads, hk, hv, nxt, False, np.empty(0, dtype=np.int64))
    shape, pad = grid.shape, grid.pad
    del grid, surface, heads, hk, hv, nxt  # a grid prepared here is freed before the copies
    minutes = _unpad(dist, shape, pad)
    del dist, cells
    return minutes, _unpad(label, shape, pad, np.int64)


def cost_matrix(
    surface: FrictionSurface | KernelGrid,
    sources_rc: NDArray[np.integer],
    cell_index: NDArray[np.integer],
    *,
    max_minutes: float,
    dem: NDArray[np.floating] | None = None,
    mode: Mode | None = None,
    direction: Direction | None = None,
    neighbours: int | None = None,
    on_impassable: Literal["raise", "skip"] = "raise",
    source_error: type[GisAppError] = KernelSourceError,
    queue: bool | None = None,
) -> CostMatrix:
    """Travel time between population cells and facilities, each facility's search bounded.

    One search per facility, stopped at ``max_minutes``; only the cells it reaches are
    visited and reset afterwards (no window, no graph).  Same arguments and results as
    :func:`gisapp.travel.grid_search.cost_matrix`.

    Parameters
    ----------
    surface
        The friction surface, or a :class:`KernelGrid` prepared from it.
    sources_rc
        (n_facilities, 2) grid (row, col) of each facility.
    cell_index
        (rows, cols) int raster: population cell id per grid cell, -1 where none.
    max_minutes
        Catchment bound, minutes; also the matrix's ``cutoff``.
    dem, mode, direction, neighbours
        As in :func:`kernel_grid`.
    on_impassable
        As in :func:`nearest`; a skipped facility keeps an empty column.
    source_error
        The exception class raised for a facility outside the grid or on an impassable cell.
    queue
        As in :func:`nearest`.

    Returns
    -------
    CostMatrix
        Rows are population cells (``cell_index.max() + 1``), columns facilities, unit
        ``"min"``; a facility's own cell costs an explicit 0.

    Raises
    ------
    UnitsError
        If ``cell_index`` does not match the grid.

    Examples
    --------
    >>> from affine import Affine
    >>> from gisapp.travel.friction import uniform_surface
    >>> s = uniform_surface((1, 4), Affine(100, 0, 0, 0, -100, 100), speed_kph=6.0)
    >>> cm = cost_matrix(s, np.array([[0, 0]]), np.array([[0, 1, 2, -1]]), max_minutes=1.5,
    ...                  neighbours=8)
    >>> cm.matrix.toarray().ravel().tolist()
    [0.0, 1.0, 0.0]
    """
    grid = _grid(surface, dem, mode, direction, neighbours)
    limit = _check_max(max_minutes)
    ci = np.asarray(cell_index)
    if ci.shape != grid.shape:
        msg = f"`cell_index` has shape {ci.shape} but the grid has {grid.shape}."
        raise UnitsError(msg)
    nodes, ok = _source_nodes(grid, sources_rc, on_impassable, source_error)
    n_cells = int(ci.max()) + 1 if ci.size and ci.max() >= 0 else 0
    flat = np.pad(ci.astype(np.int64), grid.pad, constant_values=-1).ravel()
    use = np.flatnonzero(ok).astype(np.int64)
    rows, cols, mins, m = _catchments(*_args(grid), nodes[use], use, limit, flat,
                                      *_queue(grid, buckets=queue))
    return cost_matrix_from_pairs(rows[:m], cols[:m], mins[:m], shape=(n_cells, int(nodes.size)),
                                  unit="min", cutoff=limit)
