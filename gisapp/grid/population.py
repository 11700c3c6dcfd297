"""Turn a population raster into flat arrays of population cells on the analysis grid.

Cells are a flat numpy index (``cell_id`` = position in the arrays); a 2-D ``cell_index``
raster maps grid positions to cells (-1 where there is no population cell).  Population is
conserved: resampling moves each source cell's people to the analysis cell containing the
source cell's centre (no interpolation), so totals are exact; clipping to districts drops
only what lies outside every district, and that amount is reported.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
from affine import Affine
from numpy.typing import NDArray
from pyproj import CRS, Transformer
from rasterio import features

__all__ = [
    "PopulationGrid",
    "build_grid",
    "rasterize_districts",
    "resample_to_grid",
    "target_grid",
]


@dataclass(frozen=True)
class PopulationGrid:
    """Population cells of the analysis grid, as flat arrays.

    Attributes
    ----------
    crs
        Metric analysis CRS.
    transform
        Affine transform of the full analysis grid (north-up, square cells, metres).
    shape
        (rows, cols) of the full grid.
    row, col
        Grid position of each cell.
    pop
        People per cell (all cells, including zero-population cells inside districts).
    district
        Index (0-based, into the workspace's district table) of each cell's district.
    cell_index
        (rows, cols) int64 raster: cell id, or -1 outside every district.
    outside_pop
        People of the source raster that fell outside every district (clipped away).
    """

    crs: CRS
    transform: Affine
    shape: tuple[int, int]
    row: NDArray[np.int64]
    col: NDArray[np.int64]
    pop: NDArray[np.float64]
    district: NDArray[np.int64]
    cell_index: NDArray[np.int64] = field(repr=False)
    outside_pop: float = 0.0

    @property
    def n(self) -> int:
        """Return the number of cells."""
        return int(self.pop.size)

    @property
    def res_m(self) -> float:
        """Return the cell size, metres."""
        return float(self.transform.a)

    @property
    def x(self) -> NDArray[np.float64]:
        """Return cell-centre eastings, metres."""
        return np.asarray(self.transform.c + (self.col + 0.5) * self.transform.a, dtype=np.float64)

    @property
    def y(self) -> NDArray[np.float64]:
        """Return cell-centre northings, metres."""
        return np.asarray(self.transform.f + (self.row + 0.5) * self.transform.e, dtype=np.float64)

    def to_raster(self, values: NDArray[np.floating], fill: float = np.nan) -> NDArray[np.float64]:
        """Scatter per-cell ``values`` back onto the full grid (``fill`` elsewhere)."""
        out = np.full(self.shape, fill, dtype=np.float64)
        out[self.row, self.col] = values
        return out

    def to_geodataframe(self, **columns: NDArray[np.generic]) -> gpd.GeoDataFrame:
        """Return cells as points (centres) indexed by ``cell_id`` with ``pop`` and ``columns``."""
        data: dict[str, NDArray[np.generic]] = {"pop": self.pop, "district": self.district}
        data.update(columns)
        gdf = gpd.GeoDataFrame(
            data, geometry=gpd.points_from_xy(self.x, self.y), crs=self.crs
        )
        gdf.index.name = "cell_id"
        return gdf


def target_grid(bounds: tuple[float, float, float, float], res_m: float) -> tuple[Affine, tuple[int, int]]:
    """Return a grid aligned to multiples of ``res_m`` that covers ``bounds`` (minx, miny, maxx, maxy).

    Examples
    --------
    >>> t, shape = target_grid((1050.0, 2010.0, 1420.0, 2290.0), 100.0)
    >>> (t.c, t.f, shape)
    (1000.0, 2300.0, (3, 5))
    """
    minx, miny, maxx, maxy = bounds
    x0 = np.floor(minx / res_m) * res_m
    y1 = np.ceil(maxy / res_m) * res_m
    x1 = np.ceil(maxx / res_m) * res_m
    y0 = np.floor(miny / res_m) * res_m
    ncol = max(1, int(round((x1 - x0) / res_m)))
    nrow = max(1, int(round((y1 - y0) / res_m)))
    return Affine(res_m, 0.0, float(x0), 0.0, -res_m, float(y1)), (nrow, ncol)


def rasterize_districts(districts: gpd.GeoDataFrame, transform: Affine,
                        shape: tuple[int, int]) -> NDArray[np.int64]:
    """Burn district positions (0..n-1, in frame order) onto a grid; -1 outside every district.

    A cell belongs to a district when its centre lies inside it (GDAL's default rule); where
    polygons overlap, the later district wins.  ``districts`` must be in the grid's CRS.
    """
    shapes = ((geom, i) for i, geom in enumerate(districts.geometry.values) if geom is not None)
    burned = features.rasterize(shapes, out_shape=shape, transform=transform, fill=-1,
                                dtype="int32", all_touched=False)
    return np.asarray(burned, dtype=np.int64)


def resample_to_grid(
    values: NDArray[np.floating],
    src_transform: Affine,
    src_crs: CRS,
    dst_transform: Affine,
    dst_crs: CRS,
    dst_shape: tuple[int, int],
    *,
    nodata: float | None = None,
) -> tuple[NDArray[np.float64], float]:
    """Move population from a source raster onto the analysis grid, conserving the total.

    Each source cell's people go to the destination cell containing the source cell's centre
    (projected with pyproj).  This conserves population exactly; it is exact, not smooth, so
    use a destination cell no finer than the source cell.

    Returns
    -------
    tuple
        The destination raster (people per cell) and the people that fell outside it.
    """
    v = np.asarray(values, dtype=np.float64)
    valid = np.isfinite(v) & (v != 0)
    if nodata is not None and np.isfinite(nodata):
        valid &= v != nodata
    rr, cc = np.nonzero(valid)
    people = v[rr, cc]
    sx = src_transform.c + (cc + 0.5) * src_transform.a + (rr + 0.5) * src_transform.b
    sy = src_transform.f + (cc + 0.5) * src_transform.d + (rr + 0.5) * src_transform.e
    if not CRS.from_user_input(src_crs).equals(dst_crs):
        tr = Transformer.from_crs(src_crs, dst_crs, always_xy=True)
        sx, sy = tr.transform(sx, sy)
    inv = ~dst_transform
    fc, fr = inv * (np.asarray(sx), np.asarray(sy))
    dc = np.floor(fc).astype(np.int64)
    dr = np.floor(fr).astype(np.int64)
    inside = (dr >= 0) & (dr < dst_shape[0]) & (dc >= 0) & (dc < dst_shape[1])
    out = np.bincount(dr[inside] * dst_shape[1] + dc[inside], weights=people[inside],
                      minlength=dst_shape[0] * dst_shape[1]).reshape(dst_shape)
    return np.asarray(out, dtype=np.float64), float(people[~inside].sum())


def build_grid(pop_raster: NDArray[np.floating], transform: Affine, crs: CRS,
               district_raster: NDArray[np.integer], *, outside_pop: float = 0.0) -> PopulationGrid:
    """Return the :class:`PopulationGrid` of every cell inside a district.

    Parameters
    ----------
    pop_raster
        People per cell on the analysis grid (NaN or negative treated as 0).
    transform, crs
        The analysis grid.
    district_raster
        District position per grid cell, -1 outside (see :func:`rasterize_districts`).
    outside_pop
        People already lost before this step (added to what is clipped here).
    """
    p = np.nan_to_num(np.asarray(pop_raster, dtype=np.float64), nan=0.0)
    p = np.where(p > 0, p, 0.0)
    inside = district_raster >= 0
    rr, cc = np.nonzero(inside)
    cell_index = np.full(p.shape, -1, dtype=np.int64)
    cell_index[rr, cc] = np.arange(rr.size)
    clipped = float(p[~inside].sum())
    return PopulationGrid(
        crs=CRS.from_user_input(crs), transform=transform, shape=(int(p.shape[0]), int(p.shape[1])),
        row=rr.astype(np.int64), col=cc.astype(np.int64), pop=p[rr, cc],
        district=district_raster[rr, cc].astype(np.int64), cell_index=cell_index,
        outside_pop=outside_pop + clipped,
    )
