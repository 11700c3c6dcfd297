"""District and class tables of a service result: coverage, capacity, headline summary, cumulative curve.

Every table is a pandas frame with fixed column names (:data:`COVERAGE_COLUMNS` and those in
each function's docstring) and explicit units; people are counted in the service's demand group.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from gisapp.grid.urban import RURAL, URBAN_CENTRE, URBAN_CLUSTER
from gisapp.metrics.equity import gini, palma
from gisapp.metrics.service import ServiceResult, standard_minutes
from gisapp.workspace import Workspace

__all__ = [
    "COVERAGE_COLUMNS",
    "capacity_by_district",
    "coverage_by_class",
    "coverage_by_district",
    "cumulative_curve",
    "summary",
]

COVERAGE_COLUMNS: Final = ["district_id", "district_name", "population", "covered", "uncovered", "covered_pct"]


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
