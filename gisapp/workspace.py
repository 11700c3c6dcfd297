"""Load a whole workspace: read and validate every layer, project to the analysis grid."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from affine import Affine
from numpy.typing import NDArray
from pyproj import CRS

from gisapp._errors import GisAppError, Problem, WorkspaceError
from gisapp.config.spec import FACILITY_KINDS, LayerSpec, WorkspaceSpec
from gisapp.grid.crs import analysis_crs
from gisapp.grid.population import (
    PopulationGrid,
    build_grid,
    rasterize_districts,
    resample_to_grid,
    target_grid,
)
from gisapp.grid.urban import degree_of_urbanisation, is_town
from gisapp.io import layers as _io
from gisapp.io.workspace_file import read_workspace

__all__ = ["OUTSIDE_TOLERANCE_M", "Workspace", "at_year", "load_vectors", "load_workspace", "replace_layer"]

#: Facilities further than this outside every district are reported as misplaced, metres.
OUTSIDE_TOLERANCE_M = 1000.0

HEALTH_KINDS = ("hospital", "township_health_centre", "community_health_centre",
                "community_health_station", "village_clinic")
EDUCATION_KINDS = ("kindergarten", "primary_school", "middle_school")


@dataclass(frozen=True)
class Workspace:
    """A loaded workspace: the population grid, districts and facilities in the analysis CRS.

    Attributes
    ----------
    spec
        The validated workspace file.
    crs
        The metric analysis CRS.
    grid
        Population cells (flat arrays).
    districts
        District polygons (analysis CRS), positional index = the grid's district index;
        columns ``district_id``, ``district_name``.
    facilities
        Facilities (analysis CRS) with ``facility_id, name, kind, <capacities>,
        consortium_id, is_lead, lon, lat, x, y, district_id`` and, when the workspace maps
        ``fields.opened`` / ``fields.closed``, ``opened_year`` / ``closed_year`` (NaN: blank).
        Those open in :attr:`year` (see :func:`at_year`); every facility of the file when the
        workspace has no years.
    urban_class
        Degree of Urbanisation class per cell (1 rural, 2 urban cluster, 3 urban centre).
    notices
        What was read in a way the user should know of, each a :class:`~gisapp._errors.Problem`
        naming the file, the field and what to do (e.g. NaN population cells counted as no
        people, empty capacities counted as 0).  Not errors: the workspace is usable.
    capacity_defaults
        Capacity column -> ids of the facilities whose empty cell in it was read as 0.
    year
        The year this workspace shows (:func:`at_year`): :func:`load_workspace` returns the
        latest of :attr:`years`; None when the workspace has no years.
    """

    spec: WorkspaceSpec
    crs: CRS
    grid: PopulationGrid
    districts: gpd.GeoDataFrame
    facilities: gpd.GeoDataFrame
    urban_class: NDArray[np.int8]
    urban_blocks: NDArray[np.int8]
    source_population: float
    cache: dict[Any, Any] = field(default_factory=dict, repr=False, compare=False)
    notices: tuple[Problem, ...] = ()
    capacity_defaults: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    year: int | None = None

    @property
    def years(self) -> tuple[int, ...]:
        """Return the years this workspace can be shown for (sorted; empty without year data).

        The years of the population layer when it is given per year (``layers.population.years``);
        else the opening and closing years of the facilities (``fields.opened`` / ``fields.closed``).
        """
        base = self.cache.get(_BASE_KEY)
        if self.year is not None and isinstance(base, Workspace):
            return base.years  # a year's workspace lists the years of the workspace it was made from
        pop_years = self.spec.layers["population"].years
        if pop_years:
            return tuple(sorted(int(y) for y in pop_years))
        found: set[int] = set()
        for col in ("opened_year", "closed_year"):
            if col in self.facilities.columns:
                v = self.facilities[col].to_numpy(float)
                found |= {int(y) for y in v[np.isfinite(v)]}
        return tuple(sorted(found))

    @property
    def town(self) -> NDArray[np.bool_]:
        """Return True for town cells (urban centre or cluster)."""
        return is_town(self.urban_class)

    def demand(self, group: str) -> NDArray[np.float64]:
        """Return the people of a demand group per cell (population x the group's share)."""
        g = self.spec.demand_groups[group]
        return self.grid.pop * g.share

    def district_at(self, x: NDArray[np.floating], y: NDArray[np.floating]) -> NDArray[np.int64]:
        """Return the district position (row of :attr:`districts`) of each point, -1 outside.

        Points are in the analysis CRS; a point takes the district of the grid cell holding it.
        """
        g = self.grid
        c = np.floor((np.asarray(x, float) - g.transform.c) / g.transform.a).astype(np.int64)
        r = np.floor((np.asarray(y, float) - g.transform.f) / g.transform.e).astype(np.int64)
        ok = (r >= 0) & (r < g.shape[0]) & (c >= 0) & (c < g.shape[1])
        cell = np.where(ok, g.cell_index[np.clip(r, 0, g.shape[0] - 1), np.clip(c, 0, g.shape[1] - 1)], -1)
        return np.where(cell >= 0, g.district[np.clip(cell, 0, None)], -1).astype(np.int64)

    def provenance(self) -> list[dict[str, str]]:
        """Return one row per layer: role, file, status (real/synthetic) and source."""
        rows = []
        for role, lay in self.spec.layers.items():
            rows.append({"layer": role, "file": lay.path.name, "status": lay.provenance.status,
                         "zh": lay.provenance.zh, "en": lay.provenance.en, "source": lay.provenance.source})
        return rows

    def with_facilities(self, facilities: gpd.GeoDataFrame) -> Workspace:
        """Return a copy with another facility table (already in the analysis CRS, same columns)."""
        # the terrain surfaces do not depend on facilities: share them
        return dataclasses.replace(self, facilities=facilities, cache=self.cache)


def _grid_only(key: object) -> bool:
    """Return whether a key of ``Workspace.cache`` holds what depends on the grid only (shared by every year)."""
    return key == "dem" or (isinstance(key, tuple) and len(key) > 0 and key[0] in ("surface", "graph", "kernel", "metrics.places"))


def open_in(facilities: pd.DataFrame, year: int) -> NDArray[np.bool_]:
    """Return which facilities are open in ``year``: opened_year <= year (or blank), closed_year > year (or blank).

    Examples
    --------
    >>> f = pd.DataFrame({"opened_year": [np.nan, 2021, 2018], "closed_year": [2023, np.nan, np.nan]})
    >>> open_in(f, 2020).tolist(), open_in(f, 2023).tolist()
    ([True, False, True], [False, True, True])
    """
    n = len(facilities)
    opened = facilities["opened_year"].to_numpy(float) if "opened_year" in facilities.columns else np.full(n, np.nan)
    closed = facilities["closed_year"].to_numpy(float) if "closed_year" in facilities.columns else np.full(n, np.nan)
    return np.asarray((~(opened > year)) & ~(closed <= year), dtype=bool)


def population_year(ws: Workspace, year: int) -> int | None:
    """Return the population year used for ``year``: the latest given at or before it, else the first.

    None when the population layer is not given per year.
    """
    years = sorted(ws.spec.layers["population"].years)
    if not years:
        return None
    before = [y for y in years if y <= year]
    return before[-1] if before else years[0]


def at_year(ws: Workspace, year: int) -> Workspace:
    """Return the workspace as it was in ``year`` (computed once per year, kept in ``ws.cache``).

    Facilities: those open that year (:func:`open_in`; a facility without years is always open).
    Population: the layer's raster of that year when the population is given per year
    (:func:`population_year`: the latest year given at or before ``year``, else the first),
    put on the same analysis grid, so cells compare one to one between years; the town/country
    classes are recomputed from that year's people.  Any year's workspace (the one
    :func:`load_workspace` returns is the latest year's) starts from the file's full state,
    kept in its cache, so ``at_year(at_year(ws, a), b) is at_year(ws, b)``.

    Raises
    ------
    WorkspaceError
        If the year's population raster cannot be read (naming the file and the fix).
    """
    base = ws.cache.get(_BASE_KEY, ws) if ws.year is not None else ws
    key = ("at_year", int(year))
    cached = base.cache.get(key)
    if isinstance(cached, Workspace):
        return cached
    fac = base.facilities[open_in(base.facilities, int(year))].reset_index(drop=True)
    grid, ucls, blocks, total, notices = base.grid, base.urban_class, base.urban_blocks, base.source_population, base.notices
    py = population_year(base, int(year))
    pop_layer = base.spec.layers["population"]
    if py is not None and pop_layer.years[py] != pop_layer.path:
        grid, total, more = _population_of(base, dataclasses.replace(pop_layer, path=pop_layer.years[py]))
        ucls, blocks, _ = degree_of_urbanisation(grid.row, grid.col, grid.pop, shape=grid.shape, res_m=grid.res_m)
        notices = notices + more
    cache: dict[Any, Any] = {k: v for k, v in base.cache.items() if _grid_only(k)}
    cache[_BASE_KEY] = base
    out = dataclasses.replace(base, facilities=fac, grid=grid, urban_class=ucls, urban_blocks=blocks,
                              source_population=total, notices=notices, cache=cache, year=int(year))
    base.cache[key] = out
    return out


#: the key under which a year's workspace keeps the workspace it was made from
_BASE_KEY = ("at_year", "base")


def _population_of(ws: Workspace, layer: LayerSpec) -> tuple[PopulationGrid, float, tuple[Problem, ...]]:
    """Read another population raster onto ``ws``'s analysis grid (same cells and districts)."""
    problems: list[Problem] = []
    notices: list[Problem] = []
    raster = _io.read_population(layer, problems, notices)
    if raster is None or raster.crs is None or problems:
        raise WorkspaceError(problems)
    g = ws.grid
    values = np.nan_to_num(raster.values, nan=0.0)
    total = float(np.clip(values, 0, None).sum())
    if not _overlaps(raster, ws.districts.total_bounds, ws.crs):
        raise WorkspaceError([_outside_problem(layer, total)])
    if CRS.from_user_input(raster.crs).equals(ws.crs) and raster.transform == g.transform and values.shape == g.shape:
        pop, lost = values, 0.0
    else:
        pop, lost = resample_to_grid(values, raster.transform, raster.crs, g.transform, ws.crs, g.shape)
    d_raster = np.full(g.shape, -1, dtype=np.int64)
    d_raster[g.row, g.col] = g.district
    return build_grid(pop, g.transform, ws.crs, d_raster, outside_pop=lost), total, tuple(notices)


def replace_layer(spec: WorkspaceSpec, role: str, path: str | Path, *, crs: str | None = None,
                  fields: dict[str, object] | None = None) -> WorkspaceSpec:
    """Return a workspace spec with one layer pointed at another file (e.g. an upload)."""
    old = spec.layers[role]
    new = LayerSpec(role=role, path=Path(path), crs=crs if crs is not None else old.crs,
                    fields=dict(fields) if fields is not None else dict(old.fields), band=old.band,
                    layer=None, provenance=dataclasses.replace(old.provenance, status="mixed",
                                                               sources=dataclasses.replace(old.provenance.sources, zh=f"上传：{Path(path).name}", en=f"uploaded: {Path(path).name}")),
                    options=old.options)
    layers = dict(spec.layers)
    layers[role] = new
    return dataclasses.replace(spec, layers=layers)


def load_workspace(workspace: str | Path | WorkspaceSpec | None = None) -> Workspace:
    """Read, validate and project every layer of a workspace.

    Parameters
    ----------
    workspace
        A workspace YAML path, an already read :class:`WorkspaceSpec`, or None for the
        embedded Panzhihua demo.

    Returns
    -------
    Workspace
        With years (:attr:`Workspace.years`): the workspace as it is in the latest year
        (``at_year(ws, ws.years[-1])``; :func:`at_year` gives any other year).

    Raises
    ------
    WorkspaceError
        Listing every problem found in the YAML file and in the files it names.
    """
    from gisapp.config.spec import default_workspace_path

    spec = workspace if isinstance(workspace, WorkspaceSpec) else read_workspace(
        workspace if workspace is not None else default_workspace_path())
    problems: list[Problem] = []
    notices: list[Problem] = []
    defaulted: dict[str, tuple[str, ...]] = {}
    districts = _io.read_districts(spec.layers["districts"], problems)
    facilities = _io.read_facilities(spec.layers["facilities"], problems, notices, defaulted)
    raster = _io.read_population(spec.layers["population"], problems, notices)
    if districts is None or facilities is None or raster is None or raster.crs is None:
        raise WorkspaceError(problems)

    crs = _crs_of(spec, districts)
    d_a = districts.to_crs(crs).reset_index(drop=True)
    res = spec.resolution_m
    same_grid = (CRS.from_user_input(raster.crs).equals(crs) and np.isclose(raster.transform.a, res)
                 and np.isclose(-raster.transform.e, res) and raster.transform.b == 0)
    values = np.nan_to_num(raster.values, nan=0.0)
    source_total = float(np.clip(values, 0, None).sum())
    pop_layer = spec.layers["population"]
    if not _overlaps(raster, d_a.total_bounds, crs):  # before any resampling
        raise WorkspaceError(problems + [_outside_problem(pop_layer, source_total)])
    if same_grid:
        transform, shape, pop, lost = raster.transform, values.shape, values, 0.0
    else:
        b = d_a.total_bounds
        transform, shape = target_grid((float(b[0]), float(b[1]), float(b[2]), float(b[3])), res)
        pop, lost = resample_to_grid(values, raster.transform, raster.crs, transform, crs, shape)
    d_raster = rasterize_districts(d_a, transform, (int(shape[0]), int(shape[1])))
    grid = build_grid(pop, transform, crs, d_raster, outside_pop=lost)
    if grid.n == 0 or (source_total > 0 and float(grid.pop.sum()) <= 0):
        raise WorkspaceError(problems + [_outside_problem(pop_layer, source_total)])

    f_a = _facilities_in(spec, facilities, d_a, crs, problems)
    if problems:
        raise WorkspaceError(problems)
    ucls, blocks, _ = degree_of_urbanisation(grid.row, grid.col, grid.pop, shape=grid.shape, res_m=grid.res_m)
    ws = Workspace(spec=spec, crs=crs, grid=grid, districts=d_a, facilities=f_a.reset_index(drop=True),
                   urban_class=ucls, urban_blocks=blocks, source_population=source_total,
                   notices=tuple(notices), capacity_defaults=defaulted)
    # a workspace with years opens on its latest year (the state "now"); at_year() reaches every other
    return at_year(ws, ws.years[-1]) if ws.years else ws


def load_vectors(workspace: str | Path | WorkspaceSpec, *, transform: Affine, shape: tuple[int, int]) -> Workspace:
    """Read a workspace's districts and facilities, but not its population cells (``grid.n == 0``).

    For the chunked engine (:mod:`gisapp.metrics.chunked`), whose cells stay on disk in a grid
    store and are read a window at a time by workers: the workspace returned has the store's
    grid (``transform``, ``shape``) without cells, and only what is read from the vector
    layers (district names, facilities and their districts, places) is usable from it.  The
    facilities are those of the latest year when the workspace has years.

    Raises
    ------
    WorkspaceError
        Listing every problem found in the district and facility files.
    """
    spec = workspace if isinstance(workspace, WorkspaceSpec) else read_workspace(workspace)
    problems: list[Problem] = []
    notices: list[Problem] = []
    defaulted: dict[str, tuple[str, ...]] = {}
    districts = _io.read_districts(spec.layers["districts"], problems)
    facilities = _io.read_facilities(spec.layers["facilities"], problems, notices, defaulted)
    if districts is None or facilities is None:
        raise WorkspaceError(problems)
    crs = _crs_of(spec, districts)
    d_a = districts.to_crs(crs).reset_index(drop=True)
    f_a = _facilities_in(spec, facilities, d_a, crs, problems)
    if problems:
        raise WorkspaceError(problems)
    empty_i = np.zeros(0, dtype=np.int64)
    grid = PopulationGrid(crs=crs, transform=transform, shape=(int(shape[0]), int(shape[1])), row=empty_i,
                          col=empty_i, pop=np.zeros(0), district=empty_i, cell_index=np.zeros((0, 0), np.int64))
    ws = Workspace(spec=spec, crs=crs, grid=grid, districts=d_a, facilities=f_a.reset_index(drop=True),
                   urban_class=np.zeros(0, np.int8), urban_blocks=np.zeros((0, 0), np.int8), source_population=0.0,
                   notices=tuple(notices), capacity_defaults=defaulted)
    if ws.years:  # as load_workspace: the latest year
        return dataclasses.replace(ws, facilities=ws.facilities[open_in(ws.facilities, ws.years[-1])]
                                   .reset_index(drop=True), year=ws.years[-1])
    return ws


def _crs_of(spec: WorkspaceSpec, districts: gpd.GeoDataFrame) -> CRS:
    """The workspace's metric analysis CRS (declared, or chosen at the districts' centre)."""
    d_wgs = districts.to_crs(4326)
    minx, miny, maxx, maxy = d_wgs.total_bounds
    try:
        return analysis_crs((minx + maxx) / 2, (miny + maxy) / 2, declared=spec.analysis_crs)
    except ValueError as exc:
        error: object = exc if isinstance(exc, GisAppError) and exc.code is not None else str(exc)
        raise WorkspaceError([Problem(str(spec.path), "workspace.analysis_crs", "analysis_crs",
                                      {"error": error})]) from exc


def _facilities_in(spec: WorkspaceSpec, facilities: gpd.GeoDataFrame, d_a: gpd.GeoDataFrame, crs: CRS,
                   problems: list[Problem]) -> gpd.GeoDataFrame:
    """Project the facilities, give each its district (near misses: the nearest), and check their kinds."""
    f_a = facilities.to_crs(crs)
    f_a["x"] = f_a.geometry.x
    f_a["y"] = f_a.geometry.y
    joined = gpd.sjoin(f_a[["geometry"]], d_a[["district_id", "geometry"]], how="left", predicate="within")
    joined = joined[~joined.index.duplicated(keep="first")]
    f_a["district_id"] = joined["district_id"].reindex(f_a.index).fillna("").astype(str).values
    outside = f_a["district_id"] == ""
    if outside.any():
        dist = f_a.loc[outside].geometry.distance(d_a.union_all())
        far = dist > OUTSIDE_TOLERANCE_M
        if far.any():
            ids = f_a.loc[far[far].index, "facility_id"].tolist()
            fl = spec.layers["facilities"]
            problems.append(Problem(
                str(fl.path), f"{fl.fields.get('lon', 'lon')}/{fl.fields.get('lat', 'lat')}",
                "facility_outside" if len(ids) == 1 else "facilities_outside",
                {"n": len(ids), "tolerance": f"{OUTSIDE_TOLERANCE_M:,.0f}", "ids": ", ".join(ids[:5])}))
        # near misses (boundary simplification): attach to the nearest district
        near_idx = f_a.index[outside]
        nearest = gpd.sjoin_nearest(f_a.loc[near_idx, ["geometry"]], d_a[["district_id", "geometry"]], how="left")
        nearest = nearest[~nearest.index.duplicated(keep="first")]
        f_a.loc[near_idx, "district_id"] = nearest["district_id"].astype(str).values
    unknown = sorted(set(f_a["kind"]) - set(FACILITY_KINDS))
    used = {k for s in spec.services.values() for k in s.kinds}
    if not used & set(f_a["kind"]):
        fl = spec.layers["facilities"]
        problems.append(Problem(str(fl.path), f"fields.kind ({fl.fields['kind']})", "no_service_kind",
                                {"found": ", ".join(unknown[:8]), "kinds": ", ".join(FACILITY_KINDS)}))
    return f_a


def _outside_problem(layer: LayerSpec, total: float) -> Problem:
    return Problem(str(layer.path), "crs", "population_outside_districts", {"total": f"{total:,.0f}"})


def _overlaps(raster: _io.RasterData, bounds: NDArray[np.float64], crs: CRS) -> bool:
    """Return whether the raster's footprint, projected to ``crs``, meets the districts' ``bounds``."""
    from pyproj import Transformer

    rows, cols = raster.values.shape
    t = raster.transform
    # the footprint's outline, 21 points a side (a projection bends straight edges)
    s = np.linspace(0.0, 1.0, 21)
    cc = np.concatenate([s * cols, np.full_like(s, cols), s * cols, np.zeros_like(s)])
    rr = np.concatenate([np.zeros_like(s), s * rows, np.full_like(s, rows), s * rows])
    xs = t.c + cc * t.a + rr * t.b
    ys = t.f + cc * t.d + rr * t.e
    if raster.crs is not None and not CRS.from_user_input(raster.crs).equals(crs):
        xs, ys = Transformer.from_crs(raster.crs, crs, always_xy=True).transform(xs, ys)
    xs, ys = np.asarray(xs, float), np.asarray(ys, float)
    ok = np.isfinite(xs) & np.isfinite(ys)
    if not ok.any():
        return False
    minx, miny, maxx, maxy = (float(v) for v in bounds)
    return bool(xs[ok].min() <= maxx and xs[ok].max() >= minx and ys[ok].min() <= maxy and ys[ok].max() >= miny)
