"""District sums and gap areas reduced per tile of the grid (the dask engine's second pass).

One machine labels the gap raster of the whole grid at once (:func:`scipy.ndimage.label`,
8-connected) and traces its polygons in one call.  Here each ``tile`` x ``tile`` block of the
grid is a task that needs only its own cells:

- the district sums of its cells (people counted, people covered);
- the gap areas *inside the tile*: labelled, traced into polygons (4-connected pieces, as
  :func:`rasterio.features.shapes` traces them on one machine), and summed per label
  (people, cells, nearest distance, the people-weighted centre and distance, people per
  district and per place), with the label of every cell on the tile's four edges.

The client joins labels that touch across a tile edge or corner (8-connected, as
``ndimage.label``) with a connected-components pass over the edge pairs, numbers the areas in
the order of their first cell in a raster scan (the order ``ndimage.label`` gives, so ties are
broken the same way), adds their sums, and unites the pieces of an area that several tiles cut.
The result equals the single-machine one: the same areas, people and cells, distances to
1e-9, polygons covering the same ground (:func:`shapely.equals`).

The client never builds a raster of the whole grid; each task gets only its tile's cells.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from affine import Affine
from numpy.typing import NDArray
from rasterio import features
from scipy import ndimage, sparse
from scipy.sparse import csgraph

from gisapp.metrics.dask_engine import DaskRun, map_tasks

__all__ = ["GapSums", "TileSums", "join_tiles", "reduce_tiles", "tile_task", "trace_pieces", "wsum"]

_EIGHT = np.ones((3, 3), dtype=bool)


@dataclass
class GapSums:
    """Per gap area (label 1..n, in ``ndimage.label`` order), the sums the gap table is built from."""

    pop: NDArray[np.float64]
    cells: NDArray[np.int64]
    min_dist: NDArray[np.float64]
    dist_dem: NDArray[np.float64]
    x_dem: NDArray[np.float64]
    y_dem: NDArray[np.float64]
    by_district: NDArray[np.float64]  # (n, districts): people
    place_l: NDArray[np.int64]  # (label - 1, place, people) triples, one per label and place
    place_p: NDArray[np.int64]
    place_w: NDArray[np.float64]

    @property
    def n(self) -> int:
        """Return the number of gap areas."""
        return int(self.pop.size)


@dataclass
class TileSums:
    """What :func:`reduce_tiles` returns: district sums, gap sums and each gap area's geometry."""

    district_pop: NDArray[np.float64]
    district_covered: NDArray[np.float64]
    gaps: GapSums
    geometry: NDArray[np.object_] | None  # per label (index label - 1), or None when not traced
    tiles: int


def trace_pieces(lab: NDArray[np.int32], transform: Affine) -> tuple[NDArray[np.object_], NDArray[np.int64]]:
    """Trace the labelled raster into polygons: one per 4-connected piece of a label, and its label.

    The rings are built in two vectorised shapely calls (one ``shape()`` per piece took 75 %
    of the gap polygons' time with 365 k pieces): rings from their coordinates, then polygons
    from their rings (the first ring of a piece is its shell, the others its holes).
    """
    rings: list[NDArray[np.float64]] = []
    ring_piece: list[int] = []
    labels: list[int] = []
    for k, (geom, val) in enumerate(features.shapes(lab, mask=lab > 0, transform=transform)):
        for ring in geom["coordinates"]:  # the shell, then the holes
            rings.append(np.asarray(ring, dtype=np.float64))
            ring_piece.append(k)
        labels.append(int(val))
    if not labels:
        return np.zeros(0, dtype=object), np.zeros(0, dtype=np.int64)
    sizes = np.fromiter((r.shape[0] for r in rings), dtype=np.int64, count=len(rings))
    lr = shapely.linearrings(np.concatenate(rings), indices=np.repeat(np.arange(sizes.size), sizes))
    polys = np.asarray(shapely.polygons(lr, indices=np.asarray(ring_piece, dtype=np.int64)), dtype=object)
    return polys, np.asarray(labels, dtype=np.int64)


def wsum(labels: NDArray[np.int64], weights: NDArray[np.float64], n: int) -> NDArray[np.float64]:
    """``np.bincount`` with weights, as float64 (people per label)."""
    return np.asarray(np.bincount(labels, weights=weights, minlength=n), dtype=np.float64)


def _pairs_sum(a: NDArray[np.int64], b: NDArray[np.int64], w: NDArray[np.float64], nb: int
               ) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64]]:
    """Sum ``w`` per distinct (a, b); return the distinct pairs and their sums."""
    if a.size == 0:
        return a, b, w
    key = a * nb + b
    uk, inv = np.unique(key, return_inverse=True)
    return uk // nb, uk % nb, wsum(inv, w, 0)


def tile_task(spec: dict[str, Any]) -> dict[str, Any]:
    """One tile: its district sums, and its gap labels' sums, edges and pieces (see the module)."""
    nd = int(spec["nd"])
    out: dict[str, Any] = {
        "pop": np.bincount(spec["district"], weights=spec["dem"], minlength=nd),
        "cov": np.bincount(spec["district"], weights=spec["dem_cov"], minlength=nd),
    }
    h, w = spec["h"], spec["w"]
    gi: NDArray[np.int64] = spec["gap_local"]  # ascending flat index in the tile
    raster = np.zeros((h, w), dtype=bool)
    raster.flat[gi] = True
    lab, n = ndimage.label(raster, structure=_EIGHT)
    out["n"] = int(n)
    if n == 0:
        return out
    lc = lab.flat[gi].astype(np.int64)
    dem, dist = spec["gdem"], spec["gdist"]
    idx = np.arange(1, n + 1)
    out["gpop"] = np.bincount(lc, weights=dem, minlength=n + 1)[1:]
    out["gcells"] = np.bincount(lc, minlength=n + 1)[1:]
    out["gmin"] = np.asarray(ndimage.minimum(dist, lc, index=idx), dtype=np.float64)
    out["gdd"] = np.bincount(lc, weights=dist * dem, minlength=n + 1)[1:]
    out["gx"] = np.bincount(lc, weights=spec["gx"] * dem, minlength=n + 1)[1:]
    out["gy"] = np.bincount(lc, weights=spec["gy"] * dem, minlength=n + 1)[1:]
    # the first cell of each label in a raster scan of the whole grid (gi ascends row by row)
    _, first = np.unique(lc, return_index=True)
    out["gfirst"] = (spec["r0"] + gi[first] // w) * spec["W"] + spec["c0"] + gi[first] % w
    out["gdist_l"], out["gdist_d"], out["gdist_w"] = _pairs_sum(lc - 1, spec["gdistrict"], dem, nd)
    cp = spec["gplace"]
    ok = cp >= 0
    np_ = int(spec["np"]) or 1
    out["gpl_l"], out["gpl_p"], out["gpl_w"] = _pairs_sum(lc[ok] - 1, cp[ok], dem[ok], np_)
    out["edges"] = (lab[0, :].copy(), lab[-1, :].copy(), lab[:, 0].copy(), lab[:, -1].copy())
    if spec["trace"]:
        out["pieces"], out["piece_label"] = trace_pieces(lab.astype(np.int32), spec["transform"])
    return out


def _edge_links(a: NDArray[np.int64], b: NDArray[np.int64]) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Label pairs joined across an edge: cell i of ``a`` touches cells i-1, i, i+1 of ``b`` (8-connected)."""
    ls: list[NDArray[np.int64]] = []
    rs: list[NDArray[np.int64]] = []
    for shift in (-1, 0, 1):
        if shift < 0:
            x, y = a[1:], b[:-1]
        elif shift > 0:
            x, y = a[:-1], b[1:]
        else:
            x, y = a, b
        both = (x > 0) & (y > 0)
        ls.append(x[both])
        rs.append(y[both])
    return np.concatenate(ls), np.concatenate(rs)


def reduce_tiles(
    *,
    shape: tuple[int, int],
    transform: Affine,
    row: NDArray[np.int64],
    col: NDArray[np.int64],
    district: NDArray[np.int64],
    n_districts: int,
    demand: NDArray[np.float64],
    counted: NDArray[np.bool_],
    covered: NDArray[np.bool_],
    gap: NDArray[np.bool_],
    dist: NDArray[np.float64],
    place: NDArray[np.int64],
    n_places: int,
    run: DaskRun,
    trace: bool = True,
) -> TileSums:
    """Reduce district sums and gap areas per ``run.tile`` x ``run.tile`` block of the grid.

    Parameters
    ----------
    shape, transform
        The grid.
    row, col, district
        Each cell's position and district index.
    demand, counted, covered
        People of the demand group, the cells that count (eligible) and the covered ones.
    gap
        Cells in a gap area (counted, uncovered, with people).
    dist
        Straight-line distance to the nearest facility, metres.
    place
        Each cell's place (-1: none), ``n_places`` in all.
    run
        Where the tiles run (``run.inline``: one after another in this process).
    trace
        Trace the polygons (False: the sums only).
    """
    tile = int(run.tile)
    H, W = shape
    ntc = (W + tile - 1) // tile
    key = (row // tile) * ntc + col // tile
    order = np.argsort(key, kind="stable")
    ks = key[order]
    starts = np.flatnonzero(np.r_[True, ks[1:] != ks[:-1]]) if ks.size else np.zeros(0, dtype=np.int64)
    ends = np.r_[starts[1:], ks.size] if ks.size else starts
    tiles = [(int(ks[s]), s, e) for s, e in zip(starts.tolist(), ends.tolist(), strict=True)]
    dem_eff = np.where(counted, demand, 0.0)

    def task(item: tuple[int, int, int]) -> tuple[Any, dict[str, Any]]:
        k, s, e = item
        tr, tc = divmod(k, ntc)
        r0, c0 = tr * tile, tc * tile
        h, w = min(tile, H - r0), min(tile, W - c0)
        cells = order[s:e]
        g = cells[gap[cells]]
        loc = (row[g] - r0) * w + (col[g] - c0)
        srt = np.argsort(loc, kind="stable")
        g, loc = g[srt], loc[srt]
        x = transform.c + (col[g] + 0.5) * transform.a
        y = transform.f + (row[g] + 0.5) * transform.e
        spec = {"nd": n_districts, "np": n_places, "district": district[cells], "dem": dem_eff[cells],
                "dem_cov": np.where(covered[cells], demand[cells], 0.0), "h": h, "w": w, "r0": r0, "c0": c0,
                "W": W, "gap_local": loc, "gdem": demand[g], "gdist": dist[g], "gx": x, "gy": y,
                "gdistrict": district[g], "gplace": place[g], "trace": trace,
                "transform": transform * Affine.translation(c0, r0)}
        return tile_task, spec

    results: dict[int, dict[str, Any]] = {}

    def merge(item: tuple[int, int, int], res: dict[str, Any]) -> None:
        results[item[0]] = res

    map_tasks(run, list(tiles), task, merge)
    return join_tiles(results, n_tile_cols=ntc, tile=tile, n_districts=n_districts, n_places=n_places,
                      n_tiles=len(tiles), trace=trace)


def join_tiles(results: dict[int, dict[str, Any]], *, n_tile_cols: int, tile: int, n_districts: int,
               n_places: int, n_tiles: int, trace: bool) -> TileSums:
    """Join the results of :func:`tile_task` (keyed by tile number, row-major over tiles of ``tile``
    cells, ``n_tile_cols`` a row) into district sums and gap areas (see the module)."""
    ntc = n_tile_cols
    d_pop = np.zeros(n_districts)
    d_cov = np.zeros(n_districts)
    offset: dict[int, int] = {}
    total = 0
    for k in sorted(results):
        res = results[k]
        d_pop += res["pop"]
        d_cov += res["cov"]
        offset[k] = total
        total += res["n"]
    # join labels across tile edges and corners
    links_a: list[NDArray[np.int64]] = []
    links_b: list[NDArray[np.int64]] = []

    def link(a: NDArray[np.int64], b: NDArray[np.int64], oa: int, ob: int) -> None:
        la, lb = _edge_links(a.astype(np.int64), b.astype(np.int64))
        links_a.append(la - 1 + oa)
        links_b.append(lb - 1 + ob)

    for k, res in results.items():
        if not res["n"]:
            continue
        tr, tc = divmod(k, ntc)
        top, bottom, left, right = res["edges"]
        for nk, kind in (((tr) * ntc + tc + 1, "right"), ((tr + 1) * ntc + tc, "down"),
                         ((tr + 1) * ntc + tc + 1, "down_right"), ((tr + 1) * ntc + tc - 1, "down_left")):
            if kind == "right" and tc + 1 >= ntc or kind == "down_left" and tc == 0 \
                    or kind == "down_right" and tc + 1 >= ntc:
                continue
            other = results.get(nk)
            if other is None or not other["n"]:
                continue
            o_top, _, o_left, _ = other["edges"]
            if kind == "right":
                link(right, o_left, offset[k], offset[nk])
            elif kind == "down":
                link(bottom, o_top, offset[k], offset[nk])
            elif kind == "down_right":
                if bottom[-1] > 0 and o_top[0] > 0 and bottom.size == tile:
                    links_a.append(np.array([bottom[-1] - 1 + offset[k]]))
                    links_b.append(np.array([o_top[0] - 1 + offset[nk]]))
            elif bottom[0] > 0 and o_top[-1] > 0 and o_top.size == tile:  # down_left
                links_a.append(np.array([bottom[0] - 1 + offset[k]]))
                links_b.append(np.array([o_top[-1] - 1 + offset[nk]]))
    la = np.concatenate(links_a) if links_a else np.zeros(0, np.int64)
    lb = np.concatenate(links_b) if links_b else np.zeros(0, np.int64)
    graph = sparse.coo_matrix((np.ones(la.size), (la, lb)), shape=(total, total))
    n_comp, comp = csgraph.connected_components(graph, directed=False) if total else (0, np.zeros(0, np.int64))

    def cat(name: str, dtype: Any = np.float64) -> NDArray[Any]:
        parts = [results[k][name] for k in sorted(results) if results[k]["n"]]
        return np.concatenate(parts).astype(dtype) if parts else np.zeros(0, dtype)

    def cat_l(name: str) -> NDArray[np.int64]:
        parts = [results[k][name] + offset[k] for k in sorted(results) if results[k]["n"]]
        return np.concatenate(parts).astype(np.int64) if parts else np.zeros(0, np.int64)

    first = np.full(n_comp, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(first, comp, cat("gfirst", np.int64))
    rank = np.empty(n_comp, dtype=np.int64)
    rank[np.argsort(first, kind="stable")] = np.arange(n_comp)  # ndimage.label's numbering
    lab_of = rank[comp] if total else np.zeros(0, np.int64)  # local label (global offset) -> area - 1
    n = n_comp
    pop = wsum(lab_of, cat("gpop"), n)
    ncell = np.bincount(lab_of, weights=cat("gcells"), minlength=n).astype(np.int64)
    mind = np.full(n, np.inf)
    np.minimum.at(mind, lab_of, cat("gmin"))
    dd = np.zeros((n, n_districts))
    np.add.at(dd, (lab_of[cat_l("gdist_l")], cat("gdist_d", np.int64)), cat("gdist_w"))
    pl, pp, pw = _pairs_sum(lab_of[cat_l("gpl_l")], cat("gpl_p", np.int64), cat("gpl_w"), n_places or 1)
    sums = GapSums(pop=pop, cells=ncell, min_dist=mind,
                   dist_dem=wsum(lab_of, cat("gdd"), n),
                   x_dem=wsum(lab_of, cat("gx"), n),
                   y_dem=wsum(lab_of, cat("gy"), n),
                   by_district=dd, place_l=pl, place_p=pp, place_w=pw)
    geometry = _unite(results, offset, lab_of, n) if trace else None
    return TileSums(district_pop=d_pop, district_covered=d_cov, gaps=sums, geometry=geometry, tiles=n_tiles)


def _unite(results: dict[int, dict[str, Any]], offset: dict[int, int], lab_of: NDArray[np.int64],
           n: int) -> NDArray[np.object_]:
    """Each area's geometry: its piece, the multipolygon of its pieces, or their union across tiles."""
    pieces_l: list[NDArray[np.object_]] = []
    labels_l: list[NDArray[np.int64]] = []
    tile_l: list[NDArray[np.int64]] = []
    for k in sorted(results):
        res = results[k]
        if res["n"] and "pieces" in res:
            pieces_l.append(res["pieces"])
            labels_l.append(lab_of[res["piece_label"] - 1 + offset[k]])
            tile_l.append(np.full(res["pieces"].size, k, dtype=np.int64))
    out = np.full(n, None, dtype=object)
    if not pieces_l:
        return out
    pieces = np.concatenate(pieces_l)
    area = np.concatenate(labels_l)
    tile_of = np.concatenate(tile_l)
    order = np.argsort(area, kind="stable")
    area_s = area[order]
    starts = np.flatnonzero(np.r_[True, area_s[1:] != area_s[:-1]])
    ends = np.r_[starts[1:], area_s.size]
    single = ends - starts == 1
    out[area_s[starts[single]]] = pieces[order[starts[single]]]
    for s, e in zip(starts[~single].tolist(), ends[~single].tolist(), strict=True):
        idx = order[s:e]
        if np.unique(tile_of[idx]).size == 1:  # 4-connected pieces of one tile: never overlap nor share an edge
            out[area_s[s]] = shapely.multipolygons(pieces[idx])
        else:  # pieces cut by tile edges: their union (shared edges dissolved)
            out[area_s[s]] = shapely.union_all(pieces[idx])
    return out
