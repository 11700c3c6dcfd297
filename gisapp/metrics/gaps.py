"""Gap areas of a service: contiguous uncovered populated cells, ranked by people, as a table or polygons."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
from numpy.typing import NDArray
from pyproj import Transformer
from rasterio import features
from scipy import ndimage
from shapely.geometry import shape as shp_shape

from gisapp.i18n import t
from gisapp.metrics.service import ServiceResult
from gisapp.workspace import Workspace

__all__ = ["gap_areas", "gap_export", "gap_polygons"]


def _gap_labels(ws: Workspace, res: ServiceResult) -> tuple[NDArray[np.int64], int, NDArray[np.int64]]:
    g = ws.grid
    gap = res.eligible & ~res.covered & (res.demand > 0)
    raster = np.zeros(g.shape, dtype=bool)
    raster[g.row[gap], g.col[gap]] = True
    lab, n = ndimage.label(raster, structure=np.ones((3, 3), dtype=bool))
    return lab, n, np.flatnonzero(gap)


def gap_areas(ws: Workspace, res: ServiceResult, *, min_people: float = 0.0) -> pd.DataFrame:
    """Return contiguous uncovered populated areas, ranked by population (largest first).

    Columns: ``gap_id`` (rank, 1 = most people), ``population`` (demand group, people),
    ``cells``, ``district_id``, ``district_name`` (district holding most of its people),
    ``min_distance_m`` and ``mean_distance_m`` (straight line to the nearest serving facility,
    the second people-weighted), ``lon``, ``lat`` (people-weighted centre, WGS84), ``label``.
    """
    lab, n, cells = _gap_labels(ws, res)
    cols = ["gap_id", "population", "cells", "district_id", "district_name", "min_distance_m",
            "mean_distance_m", "lon", "lat", "label"]
    if n == 0:
        return pd.DataFrame(columns=cols)
    g = ws.grid
    lc = lab[g.row[cells], g.col[cells]]
    dem = res.demand[cells]
    pop = np.bincount(lc, weights=dem, minlength=n + 1)[1:]
    ncell = np.bincount(lc, minlength=n + 1)[1:]
    dist = res.nearest_m[cells]
    mind = ndimage.minimum(dist, lc, index=np.arange(1, n + 1))
    meand = np.bincount(lc, weights=dist * dem, minlength=n + 1)[1:] / np.where(pop > 0, pop, 1)
    x = np.bincount(lc, weights=g.x[cells] * dem, minlength=n + 1)[1:] / np.where(pop > 0, pop, 1)
    y = np.bincount(lc, weights=g.y[cells] * dem, minlength=n + 1)[1:] / np.where(pop > 0, pop, 1)
    nd = len(ws.districts)
    dd = np.bincount(lc * nd + g.district[cells], weights=dem, minlength=(n + 1) * nd).reshape(n + 1, nd)[1:]
    dist_idx = dd.argmax(axis=1)
    lon, lat = Transformer.from_crs(ws.crs, 4326, always_xy=True).transform(x, y)
    df = pd.DataFrame({"population": pop, "cells": ncell,
                       "district_id": ws.districts["district_id"].to_numpy()[dist_idx],
                       "district_name": ws.districts["district_name"].to_numpy()[dist_idx],
                       "min_distance_m": mind, "mean_distance_m": meand, "lon": lon, "lat": lat,
                       "label": np.arange(1, n + 1)})
    df = df[df["population"] > min_people].sort_values(["population", "label"], ascending=[False, True])
    df.insert(0, "gap_id", np.arange(1, len(df) + 1))
    return df.reset_index(drop=True)[cols]


def gap_polygons(ws: Workspace, res: ServiceResult, *, top: int | None = None,
                 min_people: float = 0.0) -> gpd.GeoDataFrame:
    """Return gap areas as polygons (analysis CRS) with the columns of :func:`gap_areas`."""
    table = gap_areas(ws, res, min_people=min_people)
    if top is not None:
        table = table.head(top)
    lab, _, _ = _gap_labels(ws, res)
    keep = np.zeros(int(lab.max()) + 1, dtype=bool)
    keep[table["label"].to_numpy(int)] = True
    masked = np.where(keep[lab], lab, 0).astype(np.int32)
    geoms, labels = [], []
    for geom, val in features.shapes(masked, mask=masked > 0, transform=ws.grid.transform):
        geoms.append(shp_shape(geom))
        labels.append(int(val))
    if not geoms:
        return gpd.GeoDataFrame(table.assign(geometry=None), geometry="geometry", crs=ws.crs)
    shapes = gpd.GeoDataFrame({"label": labels}, geometry=geoms, crs=ws.crs).dissolve(by="label")
    out = table.merge(shapes, left_on="label", right_index=True, how="left")
    return gpd.GeoDataFrame(out, geometry="geometry", crs=ws.crs)


#: the header key of each column of a gap table written for people (:func:`gap_export`)
_EXPORT_HEADERS: dict[str, str] = {
    "gap_id": "col.gap_id", "population": "col.gap_population", "cells": "col.cells",
    "district_id": "col.district_id", "district_name": "col.district_name",
    "min_distance_m": "col.min_distance_m", "mean_distance_m": "col.mean_distance_m",
    "lon": "col.lon", "lat": "col.lat",
}


def gap_export(gaps: pd.DataFrame, lang: str = "zh") -> pd.DataFrame:
    """Return a :func:`gap_areas` table for export: the columns a person reads, headed in ``lang``.

    The internal ``label`` column is dropped; the numbers stay numbers.

    Examples
    --------
    >>> g = pd.DataFrame({"gap_id": [1], "population": [12.0], "cells": [3], "district_id": ["510402"],
    ...                   "district_name": ["东区"], "min_distance_m": [1200.0], "mean_distance_m": [1300.0],
    ...                   "lon": [101.7], "lat": [26.6], "label": [7]})
    >>> list(gap_export(g, "en").columns)[:3]
    ['Gap rank', 'People (people)', 'Cells (count)']
    """
    cols = [c for c in _EXPORT_HEADERS if c in gaps.columns]
    out = gaps[cols].copy()
    out.columns = pd.Index([t(_EXPORT_HEADERS[c], lang) for c in cols])
    return out
