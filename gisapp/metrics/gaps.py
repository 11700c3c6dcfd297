"""Gap areas of a service: contiguous uncovered populated cells, ranked by people, as a table or polygons.

The list a planner reads is by place (:func:`gisapp.metrics.places.gap_places`, exported by
:func:`gap_place_export`); the contiguous areas here stay for the GeoPackage and the map, each
named by the place holding most of its people.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray
from pyproj import Transformer
from scipy import ndimage

from gisapp.i18n import t
from gisapp.metrics.dask_engine import DaskRun
from gisapp.metrics.gap_tiles import GapSums, TileSums, reduce_tiles, trace_pieces, wsum
from gisapp.metrics.people import whole
from gisapp.metrics.places import GAP_PLACE_COLUMNS, place_index
from gisapp.metrics.service import ServiceResult
from gisapp.workspace import Workspace

__all__ = ["gap_areas", "gap_export", "gap_place_export", "gap_polygons", "reduce_by_tile", "tile_gap_polygons"]


def _gap_labels(ws: Workspace, res: ServiceResult) -> tuple[NDArray[np.int64], int, NDArray[np.int64]]:
    g = ws.grid
    gap = res.eligible & ~res.covered & (res.demand > 0)
    raster = np.zeros(g.shape, dtype=bool)
    raster[g.row[gap], g.col[gap]] = True
    lab, n = ndimage.label(raster, structure=np.ones((3, 3), dtype=bool))
    return lab, n, np.flatnonzero(gap)


def gap_areas(ws: Workspace, res: ServiceResult, *, min_people: float = 0.0,
              tiles: DaskRun | TileSums | None = None) -> pd.DataFrame:
    """Return contiguous uncovered populated areas, ranked by population (largest first).

    Columns: ``gap_id`` (rank, 1 = most people), ``population`` (demand group, people),
    ``people`` (the same as whole people, the rows summing to the rounded total), ``cells``,
    ``district_id``, ``district_name`` (district holding most of its people), ``township``
    and ``place`` (the place holding most of its people; empty without a settlements layer),
    ``min_distance_m`` and ``mean_distance_m`` (straight line to the nearest serving facility,
    the second people-weighted), ``lon``, ``lat`` (people-weighted centre, WGS84), ``label``.

    ``tiles``: reduce per tile of the grid (:mod:`.gap_tiles`; on the cluster of a dask run, or
    ``inline``) instead of labelling the whole grid at once, or the :class:`~.gap_tiles.TileSums`
    of :func:`reduce_by_tile` already computed; the same table.
    """
    if tiles is not None:
        red = tiles if isinstance(tiles, TileSums) else reduce_by_tile(ws, res, tiles, trace=False)
        return _table(ws, red.gaps, min_people)
    lab, n, cells = _gap_labels(ws, res)
    if n == 0:
        return pd.DataFrame(columns=_COLUMNS)
    g = ws.grid
    lc = lab[g.row[cells], g.col[cells]]
    dem = res.demand[cells]
    dist = res.nearest_m[cells]
    nd = len(ws.districts)
    cp = place_index(ws).cell_place[cells]
    ok = cp >= 0
    by = pd.DataFrame({"l": lc[ok] - 1, "p": cp[ok], "w": dem[ok]}).groupby(["l", "p"])["w"].sum().reset_index()
    sums = GapSums(
        pop=wsum(lc, dem, n + 1)[1:],
        cells=np.bincount(lc, minlength=n + 1)[1:],
        min_dist=np.asarray(ndimage.minimum(dist, lc, index=np.arange(1, n + 1)), dtype=np.float64).reshape(n),
        dist_dem=wsum(lc, dist * dem, n + 1)[1:],
        x_dem=wsum(lc, g.x[cells] * dem, n + 1)[1:],
        y_dem=wsum(lc, g.y[cells] * dem, n + 1)[1:],
        by_district=wsum(lc * nd + g.district[cells], dem, (n + 1) * nd).reshape(n + 1, nd)[1:],
        place_l=by["l"].to_numpy(np.int64), place_p=by["p"].to_numpy(np.int64), place_w=by["w"].to_numpy(float))
    return _table(ws, sums, min_people)


_COLUMNS = ["gap_id", "population", "people", "cells", "district_id", "district_name", "township", "place",
            "min_distance_m", "mean_distance_m", "lon", "lat", "label"]


def _table(ws: Workspace, s: GapSums, min_people: float) -> pd.DataFrame:
    """The gap table of :func:`gap_areas` from each area's sums."""
    n = s.n
    if n == 0:
        return pd.DataFrame(columns=_COLUMNS)
    pop = s.pop
    safe = np.where(pop > 0, pop, 1)
    dist_idx = s.by_district.argmax(axis=1)
    lon, lat = Transformer.from_crs(ws.crs, 4326, always_xy=True).transform(s.x_dem / safe, s.y_dem / safe)
    # the place holding most of each area's people
    idx = place_index(ws)
    township = np.full(n, "", dtype=object)
    place = np.full(n, "", dtype=object)
    if len(idx.places) and s.place_l.size:
        by = pd.DataFrame({"l": s.place_l, "p": s.place_p, "w": s.place_w})
        top = by.sort_values(["l", "w", "p"], ascending=[True, False, True]).drop_duplicates("l")
        township[top["l"].to_numpy()] = idx.places["township"].to_numpy()[top["p"].to_numpy()]
        place[top["l"].to_numpy()] = idx.places["place"].to_numpy()[top["p"].to_numpy()]
    df = pd.DataFrame({"population": pop, "cells": s.cells,
                       "district_id": ws.districts["district_id"].to_numpy()[dist_idx],
                       "district_name": ws.districts["district_name"].to_numpy()[dist_idx],
                       "township": township, "place": place,
                       "min_distance_m": s.min_dist, "mean_distance_m": s.dist_dem / safe, "lon": lon, "lat": lat,
                       "label": np.arange(1, n + 1)})
    df = df[df["population"] > min_people].sort_values(["population", "label"], ascending=[False, True])
    df.insert(0, "gap_id", np.arange(1, len(df) + 1))
    df.insert(2, "people", whole(df["population"].to_numpy()))
    return df.reset_index(drop=True)[_COLUMNS]


def reduce_by_tile(ws: Workspace, res: ServiceResult, run: DaskRun, *, trace: bool = True) -> TileSums:
    """Reduce ``res``'s district sums and gap areas per ``run.tile`` block (:func:`.gap_tiles.reduce_tiles`)."""
    g = ws.grid
    idx = place_index(ws)
    return reduce_tiles(shape=g.shape, transform=g.transform, row=g.row, col=g.col, district=g.district,
                        n_districts=len(ws.districts), demand=res.demand, counted=res.eligible,
                        covered=res.covered, gap=res.eligible & ~res.covered & (res.demand > 0),
                        dist=res.nearest_m, place=idx.cell_place, n_places=len(idx.places), run=run, trace=trace)


def gap_polygons(ws: Workspace, res: ServiceResult, *, top: int | None = None,
                 min_people: float = 0.0, tiles: DaskRun | TileSums | None = None) -> gpd.GeoDataFrame:
    """Return gap areas as polygons (analysis CRS) with the columns of :func:`gap_areas`.

    ``tiles``: a dask run (reduce per tile of the grid on its cluster, or ``inline``), or the
    :class:`~.gap_tiles.TileSums` of :func:`reduce_by_tile` already computed; the same areas.
    """
    if tiles is not None:
        red = tiles if isinstance(tiles, TileSums) else reduce_by_tile(ws, res, tiles)
        return tile_gap_polygons(ws, red, top=top, min_people=min_people)
    table = gap_areas(ws, res, min_people=min_people)
    if top is not None:
        table = table.head(top)
    lab, _, _ = _gap_labels(ws, res)
    keep = np.zeros(int(lab.max()) + 1, dtype=bool)
    keep[table["label"].to_numpy(int)] = True
    masked = np.where(keep[lab], lab, 0).astype(np.int32)
    pieces, labels = trace_pieces(masked, ws.grid.transform)
    if not labels.size:
        return gpd.GeoDataFrame(table.assign(geometry=None), geometry="geometry", crs=ws.crs)
    shapes = gpd.GeoDataFrame({"label": labels}, geometry=_by_label(labels, pieces),
                              crs=ws.crs).drop_duplicates("label").set_index("label")
    out = table.merge(shapes, left_on="label", right_index=True, how="left")
    return gpd.GeoDataFrame(out, geometry="geometry", crs=ws.crs)


def tile_gap_polygons(ws: Workspace, red: TileSums, *, top: int | None = None,
                      min_people: float = 0.0) -> gpd.GeoDataFrame:
    """Return the gap polygons of :func:`gap_polygons` from gap areas reduced per tile (``red``).

    Needs of ``ws`` only its districts, places and CRS (a workspace of
    :func:`gisapp.workspace.load_vectors` does, for the chunked engine).
    """
    table = _table(ws, red.gaps, min_people)
    if top is not None:
        table = table.head(top)
    geom = red.geometry if red.geometry is not None else np.full(red.gaps.n, None, dtype=object)
    return gpd.GeoDataFrame(table.assign(geometry=geom[table["label"].to_numpy(int) - 1]),
                            geometry="geometry", crs=ws.crs)


def _by_label(labels: NDArray[np.int64], parts: NDArray[np.object_]) -> NDArray[np.object_]:
    """Return, for every piece, the geometry of its whole label: the piece, or all pieces as one multipolygon.

    ``features.shapes`` traces 4-connected pieces, while gap areas are 8-connected, so an area
    may come as several pieces touching at corners.  Pieces of one label never overlap, so
    their union is the multipolygon of the pieces: built in one vectorised call, in linear
    time (a per-label ``dissolve`` cost 645 of 664 s at 4 M cells).
    """
    out = parts.copy()
    counts = np.bincount(labels)
    multi = counts[labels] > 1
    if multi.any():
        idx = np.flatnonzero(multi)
        order = idx[np.argsort(labels[idx], kind="stable")]
        lab_sorted = labels[order]
        uniq, group = np.unique(lab_sorted, return_inverse=True)
        merged = shapely.multipolygons(parts[order], indices=group)
        pos = np.searchsorted(uniq, labels[idx])
        out[idx] = merged[pos]
    return out


#: the header key of each column of a gap table written for people (:func:`gap_export`)
_EXPORT_HEADERS: dict[str, str] = {
    "gap_id": "col.gap_id", "people": "col.gap_population", "cells": "col.cells",
    "district_id": "col.district_id", "district_name": "col.district_name",
    "township": "col.township", "place": "col.place",
    "min_distance_m": "col.min_distance_m", "mean_distance_m": "col.mean_distance_m",
    "lon": "col.lon", "lat": "col.lat",
}

#: the header key of each column of a gap-by-place table (:func:`gap_place_export`)
_PLACE_HEADERS: dict[str, str] = {
    "rank": "col.rank", "district_id": "col.district_id", "district_name": "col.district_name",
    "township": "col.township", "place": "col.place", "people": "col.people_beyond",
    "distance_m": "col.place_distance_m", "travel_min": "col.place_travel_min",
    "facility_id": "col.nearest_facility_id", "facility_name": "col.nearest_facility",
    "lon": "col.lon", "lat": "col.lat",
}


def gap_export(gaps: pd.DataFrame, lang: str = "zh") -> pd.DataFrame:
    """Return a :func:`gap_areas` table for export: the columns a person reads, headed in ``lang``.

    The internal ``label`` column is dropped; the numbers stay numbers.

    Examples
    --------
    >>> g = pd.DataFrame({"gap_id": [1], "population": [12.4], "people": [12], "cells": [3],
    ...                   "district_id": ["510402"], "district_name": ["东区"], "min_distance_m": [1200.0],
    ...                   "mean_distance_m": [1300.0], "lon": [101.7], "lat": [26.6], "label": [7]})
    >>> list(gap_export(g, "en").columns)[:3]
    ['Gap rank', 'People (people)', 'Cells (count)']
    >>> int(gap_export(g, "zh").iloc[0, 1])
    12
    """
    cols = [c for c in _EXPORT_HEADERS if c in gaps.columns]
    out = gaps[cols].copy()
    out.columns = pd.Index([t(_EXPORT_HEADERS[c], lang) for c in cols])
    return out


def gap_place_export(places: pd.DataFrame, lang: str = "zh") -> pd.DataFrame:
    """Return a :func:`gisapp.metrics.places.gap_places` table for export, headed in ``lang``.

    Whole people; distances rounded to the metre and travel times to 0.1 minute; the boxes
    used to zoom the map are dropped.

    Examples
    --------
    >>> p = pd.DataFrame({"rank": [1], "district_id": ["510411"], "district_name": ["仁和区"],
    ...                   "township": ["大田镇"], "place": ["大田村"], "people": [37], "cells": [12],
    ...                   "distance_m": [4210.4], "travel_min": [11.79], "facility_id": ["THC1"],
    ...                   "facility_name": ["大田镇卫生院"], "lon": [101.7], "lat": [26.3],
    ...                   "west": [101.6], "south": [26.2], "east": [101.8], "north": [26.4]})
    >>> out = gap_place_export(p, "zh")
    >>> list(out.columns)[3:6]
    ['乡镇（街道）', '村（社区）', '超出标准人口（人）']
    >>> [float(v) for v in out.iloc[0].tolist()[5:8]]
    [37.0, 4210.0, 11.8]
    """
    cols = [c for c in _PLACE_HEADERS if c in places.columns and c in GAP_PLACE_COLUMNS]
    out = places[cols].copy()
    if "distance_m" in out.columns:
        out["distance_m"] = out["distance_m"].round(0).astype("Int64")
    if "travel_min" in out.columns:
        out["travel_min"] = out["travel_min"].round(1)
    out.columns = pd.Index([t(_PLACE_HEADERS[c], lang) for c in cols])
    return out
