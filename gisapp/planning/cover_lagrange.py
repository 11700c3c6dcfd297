"""Set covering by Lagrangian relaxation: a proven lower bound, and covers by local search.

The unit-cost covering problem ``min sum_j x_j  s.t.  A x >= 1, x binary`` (``A`` a 0/1
matrix: rows to cover, columns to open) relaxed with multipliers ``u >= 0`` on the rows
gives (Beasley 1990)::

    L(u) = sum_i u_i + sum_j min(0, 1 - sum_i a_ij u_i)

a lower bound on the fewest columns for *every* ``u >= 0``; its maximum is the value of
the LP relaxation, and since the objective counts columns, ``ceil(L(u))`` is a bound too.
:func:`lagrange_bound` maximises it by subgradient optimisation in a compiled (numba)
kernel: the starting ``u_i`` is the least ``1 / |rows of j|`` over the columns j covering
row i (Caprara, Fischetti and Toth 1999), the direction the subgradient
``s_i = 1 - sum_j a_ij x_j`` of the Lagrangian solution (``x_j = 1`` where the reduced cost
``1 - sum_i a_ij u_i`` is negative) plus 0.7 of the previous direction (deflection), set to
0 where ``u_i = 0`` and it is negative or ``u_i = 1`` and it is positive (projection on
``0 <= u <= 1``, where the dual solutions lie: larger multipliers add nothing, and without
the cap they grew without end when the subgradient vanished, until rounding pushed the
bound above the optimum), the step
``lambda (target - L(u)) / |d|^2`` with ``lambda`` from 1 halved after 200 steps without a
better bound (Beasley's rule).  It stops when the bound passes ``stop_at`` (a proof, e.g.
that ``p`` columns cannot cover), when ``lambda`` vanishes, or at the step limit.

:func:`cover_search` improves a cover by a compiled iterated greedy: drop a random open
column and one to three open columns sharing rows with it, re-cover the uncovered rows
greedily (the column covering the most *row weight*; with the Lagrangian multipliers as
weights, rows the relaxation finds hard to cover count more), remove redundant columns,
keep the result when it is no larger.  :func:`lagrange_cover` does both: the bound, then
three searches from the greedy cover with weights ``0.2 + u_i / mean(u)``, each until the
cover meets the bound (proven optimal), it stops improving, or the deadline.  On the 20,000 x
1,000 benchmark cover (12,293 distinct rows, 3,311 after :func:`.lscp.reduce_cover`) the
bound is 69 (the LP's 68.53 rounded up) in about a second and the search finds 75-76
columns in a few seconds, where HiGHS' branch and bound needed 80 s for 77.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from gisapp.planning.location import jit

__all__ = ["LagrangeResult", "bound_value", "cover_search", "lagrange_bound", "lagrange_cover"]

_CHUNK = 200  # subgradient steps per kernel call (the deadline is checked between calls)
_LAMBDA0 = 1.0  # the step's starting factor ...
_PATIENCE = 200  # ... halved after this many steps without a better bound
_MIN_LAMBDA = 1e-6  # ... and the search ends below this
_DEFLECT = 0.7  # the direction is the subgradient plus this much of the previous one
_HOPELESS_CALLS = 3  # with stop_at: give up when the gain of the last this many calls,
# kept up to the step limit, would not reach it (the gains shrink)
_SEARCH_CHUNK = 20_000  # iterated-greedy steps per kernel call
_SEARCH_PATIENCE = 5  # ... stop after this many calls without a smaller cover
_SEARCH_MAX = 400_000  # ... or this many steps
_RESTARTS = 3  # lagrange_cover: searches from the greedy cover, different seeds
_TOL = 1e-6  # a bound this close below an integer rounds up to it


@dataclass(frozen=True)
class LagrangeResult:
    """A Lagrangian bound of a unit-cost covering problem and the best cover found.

    Attributes
    ----------
    bound
        ``L(u)`` at the best multipliers: a lower bound on the fewest columns (``inf`` when
        some row has no column; 0 without rows).
    u
        The multipliers giving ``bound``, one per row.
    cover
        Columns of the best cover found (empty when none was looked for).
    """

    bound: float
    u: NDArray[np.float64]
    cover: NDArray[np.int64]

    @property
    def lower(self) -> float:
        """The bound rounded up (the objective counts columns)."""
        return bound_value(self.bound)


def bound_value(bound: float) -> float:
    """Round a Lagrangian bound up to the integer it proves (with a small tolerance)."""
    return float(math.ceil(bound - _TOL)) if np.isfinite(bound) else bound


def _arrays(a: sp.csr_array | sp.csc_array
            ) -> tuple[NDArray[np.int64], NDArray[np.int32], NDArray[np.int64], NDArray[np.int32]]:
    csr = sp.csr_array(a)
    csr.sort_indices()
    csc = sp.csc_array(csr)
    csc.sort_indices()
    return (csr.indptr.astype(np.int64), csr.indices.astype(np.int32),
            csc.indptr.astype(np.int64), csc.indices.astype(np.int32))


def lagrange_bound(a: sp.csr_array, *, stop_at: float = np.inf, target: float | None = None,
                   iters: int = 20_000, u0: NDArray[np.float64] | None = None,
                   deadline: float | None = None) -> LagrangeResult:
    """Maximise the Lagrangian bound of the unit-cost covering problem ``a`` (rows x columns).

    Parameters
    ----------
    a
        Which column covers which row (any nonzero).
    stop_at
        Stop as soon as the bound exceeds this value (e.g. ``p`` to prove that ``p``
        columns cannot cover every row, or the incumbent minus one); also give up early
        when the bound's recent gain, kept up to ``iters``, would not reach it.
    target
        The value the step aims at (an upper bound such as a known cover's size; default
        the classic greedy cover's size).
    iters
        Most subgradient steps.
    u0
        Starting multipliers (default CFT's), clipped to ``[0, 1]``.
    deadline
        Wall-clock (``time.perf_counter``) time to stop at (checked every 200 steps).

    Returns
    -------
    LagrangeResult
        With no cover (see :func:`lagrange_cover`).
    """
    m, n = (int(s) for s in a.shape)
    none = np.zeros(0, dtype=np.int64)
    if m == 0:
        return LagrangeResult(0.0, np.zeros(0), none)
    rptr, rcol, cptr, crow = _arrays(a)
    if (np.diff(rptr) == 0).any():
        return LagrangeResult(float("inf"), np.zeros(m), none)
    c = np.ones(n)
    u = _K_INIT(rptr, cptr, rcol) if u0 is None else np.clip(np.asarray(u0, dtype=np.float64), 0.0, 1.0)
    if target is None:
        target = float(_K_GREEDY(rptr, rcol, cptr, crow, np.ones(m),
                                 np.zeros(n, dtype=np.bool_)))
    u_best = u.copy()
    state = np.array([_LAMBDA0, -np.inf, 0.0])
    d = np.zeros(m)
    it = 0
    seen = [-np.inf]  # the best bound after each call
    while 0 <= it < iters:
        it = int(_K_SUBGRADIENT(rptr, cptr, crow, c, u, u_best, d, state, it,
                                min(it + _CHUNK, iters), float(stop_at), float(target)))
        if deadline is not None and time.perf_counter() >= deadline:
            break
        seen.append(float(state[1]))
        if np.isfinite(stop_at) and len(seen) > _HOPELESS_CALLS and it > 0:
            # the gain of the last calls, kept up for every call left, stays short of stop_at
            rate = (seen[-1] - seen[-1 - _HOPELESS_CALLS]) / _HOPELESS_CALLS
            if seen[-1] + rate * math.ceil((iters - it) / _CHUNK) < stop_at:
                break
    return LagrangeResult(float(state[1]), u_best, none)


def cover_search(a: sp.csr_array, *, weights: NDArray[np.float64] | None = None,
                 start: NDArray[np.int64] | None = None, stop_size: float = 0.0,
                 deadline: float | None = None, max_steps: int = _SEARCH_MAX,
                 seed: int = 0) -> NDArray[np.int64]:
    """A small cover of ``a`` by the iterated greedy (see the module notes).

    Starts from ``start`` (a cover) or the greedy cover by ``weights``; stops at
    ``stop_size`` columns, after ``max_steps`` steps, after 5 x 20,000 steps without a
    smaller cover, or at ``deadline``.  Every row needs a column (else an empty answer).
    """
    m, n = (int(s) for s in a.shape)
    rptr, rcol, cptr, crow = _arrays(a)
    if m == 0:
        return np.zeros(0, dtype=np.int64)
    if (np.diff(rptr) == 0).any():
        return np.zeros(0, dtype=np.int64)
    rw = np.ones(m) if weights is None else np.asarray(weights, dtype=np.float64)
    rw = np.where(rw > 0, rw, 1e-9)  # every row must pull (weights > 0)
    sel = np.zeros(n, dtype=np.bool_)
    if start is None:
        size = int(_K_GREEDY(rptr, rcol, cptr, crow, rw, sel))
    else:
        sel[start] = True
        size = int(sel.sum())
    steps, stale = 0, 0
    while size > stop_size and steps < max_steps and stale < _SEARCH_PATIENCE:
        if deadline is not None and time.perf_counter() >= deadline:
            break
        new = int(_K_LOCAL(rptr, rcol, cptr, crow, rw, sel, min(_SEARCH_CHUNK, max_steps - steps),
                           seed + steps))
        steps += _SEARCH_CHUNK
        stale = stale + 1 if new >= size else 0
        size = new
    return np.flatnonzero(sel).astype(np.int64)


def lagrange_cover(a: sp.csr_array, *, deadline: float | None = None, stop_size: float = 0.0,
                   seed: int = 0) -> LagrangeResult:
    """The Lagrangian bound, then a cover by :func:`cover_search` with the multipliers as weights.

    Three searches (different seeds), the smallest cover kept; they stop when the cover
    meets the bound (rounded up; proven optimal) or ``stop_size``, or as
    :func:`cover_search` says.
    """
    m = int(a.shape[0])
    res = lagrange_bound(a, deadline=deadline)
    if m == 0 or not np.isfinite(res.bound):
        return res
    u = res.u
    mean = float(u.mean())
    rw = 0.2 + (u / mean if mean > 0 else np.zeros(m))
    floor = max(res.lower, stop_size)
    cover = cover_search(a, weights=rw, stop_size=floor, deadline=deadline, seed=seed)
    for k in range(1, _RESTARTS):
        if cover.size <= floor or (deadline is not None and time.perf_counter() >= deadline):
            break
        again = cover_search(a, weights=rw, stop_size=floor, deadline=deadline,
                             seed=seed + 7919 * k)
        if again.size < cover.size:
            cover = again
    return LagrangeResult(res.bound, u, cover)


# --------------------------------------------------------------------------- compiled kernels


def _k_init(rptr: NDArray[np.int64], cptr: NDArray[np.int64], rcol: NDArray[np.int32]
            ) -> NDArray[np.float64]:
    """CFT's starting multipliers: per row the least ``1 / |rows of j|`` of its columns."""
    m = rptr.size - 1
    u = np.empty(m)
    for i in range(m):
        best = np.inf
        for t in range(rptr[i], rptr[i + 1]):
            j = rcol[t]
            v = 1.0 / max(cptr[j + 1] - cptr[j], 1)
            if v < best:
                best = v
        u[i] = best
    return u


def _k_greedy(rptr: NDArray[np.int64], rcol: NDArray[np.int32], cptr: NDArray[np.int64],
              crow: NDArray[np.int32], rw: NDArray[np.float64], sel: NDArray[np.bool_]) -> int:
    """Greedy cover into ``sel``: the column covering the most uncovered row weight ``rw``.

    Redundant columns are removed afterwards (last chosen first).  Returns its size (-1 when
    some row has no column).
    """
    m = rptr.size - 1
    n = cptr.size - 1
    gain = np.zeros(n)
    for j in range(n):
        for t in range(cptr[j], cptr[j + 1]):
            gain[j] += rw[crow[t]]
    cnt = np.zeros(m, dtype=np.int64)
    order = np.empty(n, dtype=np.int64)
    k = 0
    left = m
    while left > 0:
        bj = -1
        bg = 0.0
        for j in range(n):
            if not sel[j] and gain[j] > bg:
                bg = gain[j]
                bj = j
        if bj < 0:
            return -1
        sel[bj] = True
        order[k] = bj
        k += 1
        for t in range(cptr[bj], cptr[bj + 1]):
            i = crow[t]
            if cnt[i] == 0:
                left -= 1
                for q in range(rptr[i], rptr[i + 1]):
                    gain[rcol[q]] -= rw[i]
            cnt[i] += 1
    size = k
    for z in range(k - 1, -1, -1):
        j = order[z]
        if _K_REDUNDANT(cptr, crow, cnt, j):
            sel[j] = False
            size -= 1
            for t in range(cptr[j], cptr[j + 1]):
                cnt[crow[t]] -= 1
    return size


def _k_subgradient(rptr: NDArray[np.int64], cptr: NDArray[np.int64], crow: NDArray[np.int32],
                   c: NDArray[np.float64], u: NDArray[np.float64], u_best: NDArray[np.float64],
                   d: NDArray[np.float64], state: NDArray[np.float64], it0: int, it1: int,
                   stop_at: float, target: float) -> int:
    """Subgradient steps ``it0 .. it1 - 1`` of the Lagrangian bound (see the module notes).

    ``state`` holds (lambda, best bound, steps since the bound last improved); ``u_best``
    the multipliers of the best bound, ``d`` the deflected direction.  Returns the next
    step, or -1 when done (bound above ``stop_at``, lambda or the direction vanished).
    """
    m = rptr.size - 1
    n = cptr.size - 1
    rc = np.empty(n)
    lam = state[0]
    best = state[1]
    since = int(state[2])
    nxt = it1
    for _ in range(it0, it1):
        lval = 0.0
        for i in range(m):
            lval += u[i]
        for j in range(n):
            r = c[j]
            for t in range(cptr[j], cptr[j + 1]):
                r -= u[crow[t]]
            rc[j] = r
            if r < 0:
                lval += r
        if lval - best > 1e-12 * (1.0 + abs(lval)):
            best = lval
            u_best[:] = u
            since = 0
        else:
            since += 1
            if since >= _PATIENCE:
                lam *= 0.5
                since = 0
        if best > stop_at or lam < _MIN_LAMBDA:
            nxt = -1
            break
        # deflected subgradient: d = s + DEFLECT d, projected where u = 0
        for i in range(m):
            d[i] = _DEFLECT * d[i] + 1.0
        for j in range(n):
            if rc[j] < 0:
                for t in range(cptr[j], cptr[j + 1]):
                    d[crow[t]] -= 1.0
        norm = 0.0
        for i in range(m):
            if (u[i] <= 0.0 and d[i] < 0) or (u[i] >= 1.0 and d[i] > 0):
                d[i] = 0.0
            norm += d[i] * d[i]
        if norm == 0.0:
            nxt = -1
            break
        aim = target if target > lval else lval * 1.01 + 0.1
        step = lam * (aim - lval) / norm
        for i in range(m):
            v = u[i] + step * d[i]
            u[i] = 0.0 if v < 0.0 else (1.0 if v > 1.0 else v)
    state[0] = lam
    state[1] = best
    state[2] = since
    return nxt


def _k_redundant(cptr: NDArray[np.int64], crow: NDArray[np.int32], cnt: NDArray[np.int64], j: int) -> bool:
    """Whether every row of column ``j`` is covered at least twice (``j`` can go)."""
    for t in range(cptr[j], cptr[j + 1]):  # noqa: SIM110 - a loop, not all(generator): compiled by numba
        if cnt[crow[t]] < 2:
            return False
    return True


def _k_flip(cptr: NDArray[np.int64], crow: NDArray[np.int32], j: int, on: bool,
            sel: NDArray[np.bool_], cnt: NDArray[np.int64], lst: NDArray[np.int64],
            pos: NDArray[np.int64], size: int) -> int:
    """Open (``on``) or close column ``j``: ``sel``, row counts, the open list; the new size."""
    if on:
        sel[j] = True
        lst[size] = j
        pos[j] = size
        size += 1
        for t in range(cptr[j], cptr[j + 1]):
            cnt[crow[t]] += 1
    else:
        sel[j] = False
        size -= 1
        last = lst[size]
        lst[pos[j]] = last
        pos[last] = pos[j]
        pos[j] = -1
        for t in range(cptr[j], cptr[j + 1]):
            cnt[crow[t]] -= 1
    return size


def _k_local(rptr: NDArray[np.int64], rcol: NDArray[np.int32], cptr: NDArray[np.int64],
             crow: NDArray[np.int32], rw: NDArray[np.float64], sel: NDArray[np.bool_],
             iters: int, seed: int) -> int:
    """Iterated greedy on a unit-cost cover ``sel`` (improved in place); its final size.

    Each step drops a random open column and one to three open columns sharing rows with
    it, re-covers the uncovered rows greedily (the column covering the most row weight
    ``rw`` of them, ties at random) and removes redundant columns (random order); the
    result is kept when it has no more columns than before, else undone (from a log of
    the columns opened and closed).
    """
    m = rptr.size - 1
    n = cptr.size - 1
    np.random.seed(seed)
    cnt = np.zeros(m, dtype=np.int64)
    lst = np.empty(n, dtype=np.int64)
    pos = np.full(n, -1, dtype=np.int64)
    size = 0
    for j in range(n):
        if sel[j]:
            sel[j] = False
            size = _K_FLIP(cptr, crow, j, True, sel, cnt, lst, pos, size)
    best_sel = sel.copy()
    best = size
    gain = np.zeros(n)
    touched = np.zeros(n, dtype=np.bool_)
    tlist = np.empty(n, dtype=np.int64)
    near = np.empty(n, dtype=np.int64)
    isnear = np.zeros(n, dtype=np.bool_)
    unc = np.empty(m, dtype=np.int64)
    log = np.empty(4 * n + 8, dtype=np.int64)  # +(j + 1) opened, -(j + 1) closed
    for it in range(iters):
        if size <= 1:
            break
        before = size
        nlog = 0
        s = lst[np.random.randint(size)]
        nn = 0
        for t in range(cptr[s], cptr[s + 1]):
            i = crow[t]
            for q in range(rptr[i], rptr[i + 1]):
                j = rcol[q]
                if sel[j] and j != s and not isnear[j]:
                    isnear[j] = True
                    near[nn] = j
                    nn += 1
        for q in range(nn):
            isnear[near[q]] = False
        r = min(nn, 1 + it % 3)
        for q in range(r):  # a random r of the neighbours to the front
            z = q + np.random.randint(nn - q)
            near[q], near[z] = near[z], near[q]
        near[r] = s
        for q in range(r + 1):
            j = near[q]
            size = _K_FLIP(cptr, crow, j, False, sel, cnt, lst, pos, size)
            log[nlog] = -(j + 1)
            nlog += 1
        nu = 0
        for q in range(r + 1):
            j = near[q]
            for t in range(cptr[j], cptr[j + 1]):
                i = crow[t]
                if cnt[i] == 0:
                    unc[nu] = i
                    nu += 1
                    cnt[i] = -1  # marked: listed once
        for a in range(nu):
            cnt[unc[a]] = 0
        # greedy re-cover of the uncovered rows
        nt = 0
        for a in range(nu):
            i = unc[a]
            for q in range(rptr[i], rptr[i + 1]):
                j = rcol[q]
                if not touched[j]:
                    touched[j] = True
                    tlist[nt] = j
                    nt += 1
                    gain[j] = 0.0
                gain[j] += rw[i]
        left = nu
        while left > 0:
            bg = 0.0
            bj = -1
            ties = 0
            for a in range(nt):
                j = tlist[a]
                g = gain[j]
                if g > bg + 1e-12:
                    bg, bj, ties = g, j, 1
                elif g >= bg - 1e-12 and bj >= 0:
                    ties += 1
                    if np.random.randint(ties) == 0:
                        bj = j
            for t in range(cptr[bj], cptr[bj + 1]):
                i = crow[t]
                if cnt[i] == 0:
                    left -= 1
                    for q in range(rptr[i], rptr[i + 1]):
                        gain[rcol[q]] -= rw[i]
            size = _K_FLIP(cptr, crow, bj, True, sel, cnt, lst, pos, size)
            log[nlog] = bj + 1
            nlog += 1
        for a in range(nt):
            touched[tlist[a]] = False
        # redundant columns, from a random place in the open list
        q = np.random.randint(size)
        for _ in range(size):
            if q >= size:
                q = 0
            j = lst[q]
            if _K_REDUNDANT(cptr, crow, cnt, j):
                size = _K_FLIP(cptr, crow, j, False, sel, cnt, lst, pos, size)
                log[nlog] = -(j + 1)
                nlog += 1
            else:
                q += 1
        if size <= before:
            if size < best:
                best = size
                best_sel[:] = sel
        else:  # undo, last change first
            for z in range(nlog - 1, -1, -1):
                v = log[z]
                size = _K_FLIP(cptr, crow, abs(v) - 1, v < 0, sel, cnt, lst, pos, size)
    sel[:] = best_sel
    return best


_K_INIT = jit(_k_init)
_K_GREEDY = jit(_k_greedy)
_K_SUBGRADIENT = jit(_k_subgradient)
_K_FLIP = jit(_k_flip)
_K_REDUNDANT = jit(_k_redundant)
_K_LOCAL = jit(_k_local)
