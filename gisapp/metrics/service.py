"""Run one service on a loaded workspace: nearest facility, coverage, 2SFCA, gaps, tables.

Everything is computed on flat per-cell arrays and the sparse cost matrix; the tables are
pandas frames with fixed column names (the constants below) and explicit units.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp
from numpy.typing import NDArray
from pyproj import Transformer
from rasterio import features
from scipy import ndimage
from shapely.geometry import shape as shp_shape

from gisapp._errors import GisAppError
from gisapp.config.spec import ServiceSpec, Standard
from gisapp.grid.urban import RURAL, URBAN_CENTRE, URBAN_CLUSTER
from gisapp.metrics import access as _access
from gisapp.travel.cost import (
    CostMatrix,
    cost_matrix_from_pairs,
    nearest_straight_line,
    straight_line_cost,
)
from gisapp.workspace import EDUCATION_KINDS, HEALTH_KINDS, Workspace

__all__ = [
    "COVERAGE_COLUMNS",
    "ServiceResult",
    "capacity_by_district",
    "consortia_members",
    "consortia_summary",
    "coverage_by_class",
    "coverage_by_district",
    "cumulative_curve",
    "gap_areas",
    "gap_polygons",
    "gini",
    "palma",
    "run_service",
    "standard_minutes",
    "straight_line_travel",
    "summary",
    "TRAVEL_MODES",
]

COVERAGE_COLUMNS: Final = ["district_id", "district_name", "population", "covered", "uncovered", "covered_pct"]


@dataclass(frozen=True)
class ServiceResult:
    """Per-cell results of one service (arrays are aligned with ``ws.grid`` cells).

    Attributes
    ----------
    service
        The service (with any standard overrides applied).
    facility_idx
        Rows of ``ws.facilities`` that serve this service.
    demand
        People of the service's demand group per cell.
    eligible
        Cells that count for this service (town cells only when ``urban_only``).
    nearest_m
        Straight-line distance to the nearest serving facility, metres.
    nearest_facility
        Row in ``ws.facilities`` of that facility (-1 if none).
    travel_cost
        Travel to it in the standard's unit (metres route length, or minutes).
    threshold_m
        Straight-line radius of the standard that applies to each cell, metres.
    covered
        Eligible cells within their standard.
    access_per_1000
        2SFCA capacity per 1,000 people reachable within the standard (NaN without capacity).
    cost
        The cells x serving-facilities cost matrix (metres, straight line x circuity).
    """

    service: ServiceSpec
    facility_idx: NDArray[np.int64]
    demand: NDArray[np.float64]
    eligible: NDArray[np.bool_]
    nearest_m: NDArray[np.float64]
    nearest_facility: NDArray[np.int64]
    travel_cost: NDArray[np.float64]
    threshold_m: NDArray[np.float64]
    covered: NDArray[np.bool_]
    access_per_1000: NDArray[np.float64]
    cost: CostMatrix
    mode: str = "straight_line"
    cost_unit: str = ""
    timings_s: dict[str, float] = field(default_factory=dict)

    @property
    def unit(self) -> str:
        """Return the unit of :attr:`travel_cost`: "m" or "min" (always "min" in terrain mode)."""
        return self.cost_unit or self.service.standard.unit


def _standard_cost(dist_m: NDArray[np.float64], std: Standard) -> NDArray[np.float64]:
    if std.unit == "m":
        return dist_m * std.circuity
    return dist_m * std.circuity / (std.speed * 1000.0 / 60.0)


def straight_line_travel(near_m: NDArray[np.float64], svc: ServiceSpec,
                         town: NDArray[np.bool_]) -> NDArray[np.float64]:
    """Return travel to the nearest facility in the standard's unit, from straight-line metres.

    Town cells use the service's standard, country cells its rural standard when it has one
    in the same unit (route metres = distance x circuity; minutes = that / speed).
    """
    travel = _standard_cost(near_m, svc.standard)
    if svc.rural_standard is not None:
        rural = ~np.asarray(town, dtype=bool)
        rs = svc.rural_standard if svc.rural_standard.unit == svc.standard.unit else svc.standard
        travel[rural] = _standard_cost(near_m[rural], rs)
    return travel


def standard_minutes(std: Standard) -> float:
    """Return a standard as a travel time, minutes (a distance standard is walked at its speed).

    Examples
    --------
    >>> standard_minutes(Standard(distance_m=500, mode="walking", speed_kph=5.0))
    6.0
    """
    if std.time_min is not None:
        return float(std.time_min)
    return float(std.distance_m or 0.0) / (std.speed * 1000.0 / 60.0)


def _row_min(cost: CostMatrix) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """Return the smallest cost per row and its column (inf / -1 for empty rows)."""
    m = cost.matrix
    n = m.shape[0]
    best = np.full(n, np.inf)
    arg = np.full(n, -1, dtype=np.int64)
    if m.nnz == 0:
        return best, arg
    rows = np.repeat(np.arange(n), np.diff(m.indptr))
    order = np.lexsort((m.data, rows))
    first = np.ones(order.size, dtype=bool)
    first[1:] = rows[order][1:] != rows[order][:-1]
    pick = order[first]
    best[rows[pick]] = m.data[pick]
    arg[rows[pick]] = m.indices[pick]
    return best, arg


TRAVEL_MODES: Final = ("straight_line", "terrain")


def run_service(ws: Workspace, name: str, *, standard: Standard | None = None,
                rural_standard: Standard | None = None,
                facilities: gpd.GeoDataFrame | None = None,
                travel: str | None = None) -> ServiceResult:
    """Compute coverage and access of one service on a workspace.

    Parameters
    ----------
    ws
        The loaded workspace.
    name
        Service name (a key of the workspace's ``services``).
    standard, rural_standard
        Overrides of the service's standards (e.g. from the app's slider).
    facilities
        Another facility table to use (a scenario), same columns as ``ws.facilities``.
    travel
        ``"straight_line"`` (distance x circuity / speed) or ``"terrain"`` (travel time over
        the workspace's friction surface: roads, land cover, barriers, slope); default: the
        workspace's ``travel.default``, else straight line.  In terrain mode costs are
        minutes and a distance standard is walked at its mode's speed.

    Returns
    -------
    ServiceResult

    Raises
    ------
    GisAppError
        If the service does not exist, or terrain mode is asked of a workspace without
        travel speeds.
    """
    import time

    t0 = time.perf_counter()
    if name not in ws.spec.services:
        msg = f"Unknown service {name!r}; the workspace has: {', '.join(ws.spec.services)}."
        raise GisAppError(msg)
    mode = travel or ws.spec.travel.get("default", "straight_line")
    if mode not in TRAVEL_MODES:
        msg = f"Unknown travel mode {mode!r}; use one of {', '.join(TRAVEL_MODES)}."
        raise GisAppError(msg)
    svc = ws.spec.services[name]
    if standard is not None or rural_standard is not None:
        import dataclasses

        svc = dataclasses.replace(svc, standard=standard or svc.standard,
                                  rural_standard=rural_standard if rural_standard is not None else svc.rural_standard)
    fac = ws.facilities if facilities is None else facilities
    serving = fac["kind"].isin(svc.kinds).to_numpy()
    if "closed" in fac.columns:  # scenario tables keep closed facilities, flagged
        serving = serving & ~fac["closed"].to_numpy(bool)
    idx = np.flatnonzero(serving)
    fx = fac["x"].to_numpy(float)[idx]
    fy = fac["y"].to_numpy(float)[idx]
    g = ws.grid
    demand = ws.demand(svc.demand)
    town = ws.town
    eligible = town.copy() if svc.urban_only else np.ones(g.n, dtype=bool)
    thr = np.full(g.n, svc.standard.straight_line_m)
    if svc.rural_standard is not None:
        thr[~town] = svc.rural_standard.straight_line_m
    t1 = time.perf_counter()
    near_m, near_j = nearest_straight_line(g.x, g.y, fx, fy)
    t2 = time.perf_counter()
    if mode == "straight_line":
        cutoff = float(thr.max())
        cost = straight_line_cost(g.cell_index, g.transform, fx, fy, cutoff_m=cutoff) if idx.size else \
            CostMatrix(sp.csr_array((g.n, 0)), "m", cutoff)
        t3 = time.perf_counter()
        covered = eligible & (near_m <= thr)
        travel_cost = straight_line_travel(near_m, svc, town)
        within = cost.within(thr)
        unit = svc.standard.unit
        nearest_global = np.where(near_j >= 0, idx[np.clip(near_j, 0, max(idx.size - 1, 0))] if idx.size else -1, -1)
    else:
        from gisapp.travel import terrain as terrain

        thr_min = np.full(g.n, standard_minutes(svc.standard))
        if svc.rural_standard is not None:
            thr_min[~town] = standard_minutes(svc.rural_standard)
        cutoff = float(thr_min.max())
        # one friction surface per travel mode; the rural standard may use another mode
        modes = {svc.standard.mode} | ({svc.rural_standard.mode} if svc.rural_standard else set())
        if len(modes) > 1 and svc.rural_standard is not None:
            urb = terrain.terrain_cost(ws, svc.standard.mode, fx, fy, max_minutes=cutoff).within(
                np.where(town, thr_min, -1.0))
            rur = terrain.terrain_cost(ws, svc.rural_standard.mode, fx, fy, max_minutes=cutoff).within(
                np.where(town, -1.0, thr_min))
            r1, c1, v1 = urb.pairs()
            r2, c2, v2 = rur.pairs()
            cost = cost_matrix_from_pairs(np.concatenate([r1, r2]), np.concatenate([c1, c2]),
                                          np.concatenate([v1, v2]), shape=urb.shape, unit="min", cutoff=cutoff)
        else:
            cost = terrain.terrain_cost(ws, svc.standard.mode, fx, fy, max_minutes=cutoff)
        t3 = time.perf_counter()
        travel_cost, arg = _row_min(cost)
        covered = eligible & (travel_cost <= thr_min)
        within = cost.within(thr_min)
        unit = "min"
        nearest_global = np.where(arg >= 0, idx[np.clip(arg, 0, max(idx.size - 1, 0))] if idx.size else -1,
                                  np.where(near_j >= 0, idx[np.clip(near_j, 0, max(idx.size - 1, 0))] if idx.size else -1, -1))
    if svc.capacity and idx.size:
        supply = fac[svc.capacity].to_numpy(float)[idx]
        acc = _access.two_sfca(within, np.where(eligible, demand, 0.0), supply) * 1000.0
        acc = np.where(eligible, acc, np.nan)
    else:
        acc = np.full(g.n, np.nan)
    t4 = time.perf_counter()
    return ServiceResult(
        service=svc, facility_idx=idx, demand=demand, eligible=eligible, nearest_m=near_m,
        nearest_facility=np.asarray(nearest_global, dtype=np.int64), travel_cost=travel_cost, threshold_m=thr,
        covered=covered, access_per_1000=acc, cost=cost, mode=mode, cost_unit=unit,
        timings_s={"prepare": t1 - t0, "nearest": t2 - t1, "cost_matrix": t3 - t2, "coverage_2sfca": t4 - t3},
    )


def _district_sums(ws: Workspace, values: NDArray[np.float64]) -> NDArray[np.float64]:
    return np.asarray(np.bincount(ws.grid.district, weights=values, minlength=len(ws.districts)), dtype=np.float64)


def coverage_by_district(ws: Workspace, res: ServiceResult) -> pd.DataFrame:
    """Return people covered and uncovered per district (columns :data:`COVERAGE_COLUMNS`).

    ``population`` is the service's eligible demand (e.g. children for schools), people.
    """
    dem = np.where(res.eligible, res.demand, 0.0)
    pop = _district_sums(ws, dem)
    cov = _district_sums(ws, np.where(res.covered, res.demand, 0.0))
    out = pd.DataFrame({
        "district_id": ws.districts["district_id"].to_numpy(),
        "district_name": ws.districts["district_name"].to_numpy(),
        "population": pop, "covered": cov, "uncovered": pop - cov,
    })
    out["covered_pct"] = np.where(pop > 0, 100.0 * cov / np.where(pop > 0, pop, 1.0), np.nan)
    return out[COVERAGE_COLUMNS]


def coverage_by_class(ws: Workspace, res: ServiceResult) -> pd.DataFrame:
    """Return coverage per Degree of Urbanisation class, with town and country and the ratio.

    Columns ``class, population, covered, uncovered, covered_pct``; rows urban centre,
    urban cluster, rural, town (centre + cluster), country (= rural), all.
    """
    dem = np.where(res.eligible, res.demand, 0.0)
    cov = np.where(res.covered, res.demand, 0.0)
    pop_c = np.bincount(ws.urban_class, weights=dem, minlength=4)
    cov_c = np.bincount(ws.urban_class, weights=cov, minlength=4)
    rows = [("urban_centre", pop_c[URBAN_CENTRE], cov_c[URBAN_CENTRE]),
            ("urban_cluster", pop_c[URBAN_CLUSTER], cov_c[URBAN_CLUSTER]),
            ("rural", pop_c[RURAL], cov_c[RURAL]),
            ("town", pop_c[2:].sum(), cov_c[2:].sum()),
            ("country", pop_c[RURAL], cov_c[RURAL]),
            ("all", dem.sum(), cov.sum())]
    df = pd.DataFrame(rows, columns=["class", "population", "covered"])
    df["uncovered"] = df["population"] - df["covered"]
    df["covered_pct"] = np.where(df["population"] > 0, 100 * df["covered"] / df["population"].where(df["population"] > 0, 1), np.nan)
    return df


def capacity_by_district(ws: Workspace, res: ServiceResult) -> pd.DataFrame:
    """Return capacity per 1,000 people by district and the gap against the norm.

    Columns: ``district_id, district_name, population, capacity, capacity_per_1000,
    norm_per_1000, capacity_gap, access_per_1000`` where ``capacity_gap`` = norm x
    population / 1,000 - capacity (positive: short by that many beds/doctors/seats) and
    ``access_per_1000`` is the population-weighted mean 2SFCA access.
    """
    svc = res.service
    dem = np.where(res.eligible, res.demand, 0.0)
    pop = _district_sums(ws, dem)
    fac = ws.facilities.iloc[res.facility_idx]
    cap_col = svc.capacity
    ids = ws.districts["district_id"].to_numpy()
    if cap_col:
        cap = fac.groupby("district_id")[cap_col].sum().reindex(ids).fillna(0.0).to_numpy()
        acc = np.nan_to_num(res.access_per_1000) * dem
        acc_d = np.divide(_district_sums(ws, acc), pop, out=np.full(pop.shape, np.nan), where=pop > 0)
    else:
        cap = np.full(len(ids), np.nan)
        acc_d = np.full(len(ids), np.nan)
    per = np.divide(cap * 1000.0, pop, out=np.full(pop.shape, np.nan), where=pop > 0)
    norm = svc.norm_per_1000
    out = pd.DataFrame({"district_id": ids, "district_name": ws.districts["district_name"].to_numpy(),
                        "population": pop, "facilities": fac.groupby("district_id").size().reindex(ids).fillna(0).astype(int).to_numpy(),
                        "capacity": cap, "capacity_per_1000": per,
                        "norm_per_1000": norm if norm else np.nan,
                        "capacity_gap": (norm * pop / 1000.0 - cap) if norm else np.nan,
                        "access_per_1000": acc_d})
    return out


def gini(values: NDArray[np.floating], weights: NDArray[np.floating] | None = None) -> float:
    """Return the (population-weighted) Gini coefficient of non-negative values.

    Examples
    --------
    >>> gini(np.array([1.0, 1.0, 1.0]))
    0.0
    >>> round(gini(np.array([0.0, 0.0, 0.0, 1.0])), 3)
    0.75
    """
    v = np.asarray(values, dtype=np.float64)
    w = np.ones_like(v) if weights is None else np.asarray(weights, dtype=np.float64)
    ok = np.isfinite(v) & (w > 0)
    v, w = v[ok], w[ok]
    if v.size == 0 or (v * w).sum() <= 0:
        return float("nan")
    o = np.argsort(v, kind="stable")
    v, w = v[o], w[o]
    cw = np.cumsum(w)
    cvw = np.cumsum(v * w)
    # area under the Lorenz curve by trapezoids
    x = np.concatenate([[0.0], cw / cw[-1]])
    y = np.concatenate([[0.0], cvw / cvw[-1]])
    area = np.sum((x[1:] - x[:-1]) * (y[1:] + y[:-1]) / 2.0)
    return float(1.0 - 2.0 * area)


def palma(values: NDArray[np.floating], weights: NDArray[np.floating] | None = None) -> float:
    """Return the Palma ratio: share held by the top 10 % of people / share of the bottom 40 %."""
    v = np.asarray(values, dtype=np.float64)
    w = np.ones_like(v) if weights is None else np.asarray(weights, dtype=np.float64)
    ok = np.isfinite(v) & (w > 0)
    v, w = v[ok], w[ok]
    if v.size == 0:
        return float("nan")
    o = np.argsort(v, kind="stable")
    v, w = v[o], w[o]
    cw = np.cumsum(w) / w.sum()
    tot = (v * w).sum()
    bottom = (v * w)[cw <= 0.4].sum()
    top = (v * w)[cw > 0.9].sum()
    return float(top / bottom) if bottom > 0 else float("inf") if tot > 0 else float("nan")


def summary(ws: Workspace, res: ServiceResult) -> dict[str, float]:
    """Return headline figures: people covered/uncovered, share, median cost, capacity, Gini."""
    dem = np.where(res.eligible, res.demand, 0.0)
    pop = float(dem.sum())
    cov = float(np.where(res.covered, res.demand, 0.0).sum())
    # people beyond the cut-off of a travel-time matrix have cost inf: they sort last
    ok = (dem > 0) & ~np.isnan(res.travel_cost)
    med = float("nan")
    if ok.any():
        o = np.argsort(res.travel_cost[ok], kind="stable")
        cw = np.cumsum(dem[ok][o])
        med = float(res.travel_cost[ok][o][np.searchsorted(cw, cw[-1] / 2.0)])
    svc = res.service
    cap_total = float(ws.facilities.iloc[res.facility_idx][svc.capacity].sum()) if svc.capacity else float("nan")
    return {
        "population": pop, "covered": cov, "uncovered": pop - cov,
        "covered_pct": 100.0 * cov / pop if pop > 0 else float("nan"),
        "median_cost": med, "facilities": float(res.facility_idx.size),
        "capacity": cap_total,
        "capacity_per_1000": cap_total * 1000.0 / pop if pop > 0 and svc.capacity else float("nan"),
        "norm_per_1000": float(svc.norm_per_1000) if svc.norm_per_1000 else float("nan"),
        "gini_access": gini(res.access_per_1000, dem) if svc.capacity else float("nan"),
        "palma_access": palma(res.access_per_1000, dem) if svc.capacity else float("nan"),
    }


def cumulative_curve(res: ServiceResult, *, points: int = 200) -> pd.DataFrame:
    """Return the cumulative share of people (%) within each travel cost (standard's unit)."""
    dem = np.where(res.eligible, res.demand, 0.0)
    ok = (dem > 0) & np.isfinite(res.travel_cost)
    c = res.travel_cost[ok]
    w = dem[ok]
    o = np.argsort(c)
    c, w = c[o], w[o]
    cw = np.cumsum(w) / dem.sum() * 100.0 if dem.sum() > 0 else np.zeros_like(w)
    hi = float(np.quantile(c, 0.99)) if c.size else 1.0
    std = res.service.standard
    std_val = std.value if res.unit == std.unit else standard_minutes(std)
    xs = np.linspace(0.0, max(hi, std_val * 2), points)
    ys = np.interp(xs, c, cw, left=0.0) if c.size else np.zeros_like(xs)
    ys = np.where(xs >= c[0], ys, 0.0) if c.size else ys
    return pd.DataFrame({"cost": xs, "share_pct": ys})


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


def _sector_kinds(sector: str) -> tuple[str, ...]:
    return HEALTH_KINDS if sector == "health" else EDUCATION_KINDS


def consortia_members(ws: Workspace) -> pd.DataFrame:
    """Return every consortium member with its lead and member-to-lead distance and time.

    Columns: ``consortium_id, sector, facility_id, name, kind, district_id, is_lead,
    lead_id, lead_name, distance_m`` (straight line), ``travel_min`` (by the workspace's
    referral standard: distance x circuity / speed), ``beyond_referral`` (bool).
    """
    f = ws.facilities
    c = f[f["consortium_id"].astype(str) != ""].copy()
    if c.empty:
        return pd.DataFrame(columns=["consortium_id", "sector", "facility_id", "name", "kind", "district_id",
                                     "is_lead", "lead_id", "lead_name", "distance_m", "travel_min", "beyond_referral"])
    leads = c[c["is_lead"]].drop_duplicates("consortium_id").set_index("consortium_id")
    c["sector"] = np.where(c["kind"].isin(HEALTH_KINDS), "health", "education")
    c["lead_id"] = c["consortium_id"].map(leads["facility_id"]).fillna("")
    c["lead_name"] = c["consortium_id"].map(leads["name"]).fillna("")
    lx = c["consortium_id"].map(leads["x"]).to_numpy(float)
    ly = c["consortium_id"].map(leads["y"]).to_numpy(float)
    c["distance_m"] = np.hypot(c["x"].to_numpy(float) - lx, c["y"].to_numpy(float) - ly)
    ref = ws.spec.referral_standard or Standard(time_min=60, mode="motorized", speed_kph=40, circuity=1.4)
    speed = ref.speed
    c["travel_min"] = c["distance_m"] * ref.circuity / (speed * 1000.0 / 60.0)
    limit = ref.time_min if ref.time_min is not None else (ref.distance_m or np.inf) * ref.circuity / (speed * 1000 / 60)
    c["beyond_referral"] = c["travel_min"] > limit
    cols = ["consortium_id", "sector", "facility_id", "name", "kind", "district_id", "is_lead",
            "lead_id", "lead_name", "distance_m", "travel_min", "beyond_referral"]
    out: pd.DataFrame = c[cols].sort_values(["sector", "consortium_id", "is_lead", "distance_m"],
                                            ascending=[False, True, False, True]).reset_index(drop=True)
    return out


def consortia_summary(ws: Workspace) -> pd.DataFrame:
    """Return one row per consortium: lead, members, max/mean member-to-lead time, people served.

    ``population_served`` counts the people whose nearest consortium facility of the same
    sector (straight line) belongs to this consortium.
    """
    m = consortia_members(ws)
    cols = ["consortium_id", "sector", "lead_name", "members", "mean_travel_min", "max_travel_min",
            "beyond_referral", "population_served"]
    if m.empty:
        return pd.DataFrame(columns=cols)
    agg = m.groupby("consortium_id").agg(sector=("sector", "first"), lead_name=("lead_name", "first"),
                                         members=("facility_id", "size"), mean_travel_min=("travel_min", "mean"),
                                         max_travel_min=("travel_min", "max"), beyond_referral=("beyond_referral", "sum"))
    served = pd.Series(0.0, index=agg.index)
    f = ws.facilities
    for sector in ("health", "education"):
        sel = f[(f["consortium_id"].astype(str) != "") & f["kind"].isin(_sector_kinds(sector))]
        if sel.empty:
            continue
        _, j = nearest_straight_line(ws.grid.x, ws.grid.y, sel["x"].to_numpy(float), sel["y"].to_numpy(float))
        cid = sel["consortium_id"].to_numpy()[j]
        s = pd.Series(ws.grid.pop).groupby(cid).sum()
        served = served.add(s.reindex(served.index).fillna(0.0), fill_value=0.0)
    agg["population_served"] = served
    return agg.reset_index()[cols]
