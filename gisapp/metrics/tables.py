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
    "CLASS_ROWS",
    "COVERAGE_COLUMNS",
    "capacity_by_district",
    "capacity_totals",
    "coverage_by_class",
    "coverage_by_district",
    "coverage_from_sums",
    "cumulative_curve",
    "summary",
    "town_country",
]

COVERAGE_COLUMNS: Final = ["district_id", "district_name", "population", "covered", "uncovered", "covered_pct"]

#: The rows of :func:`coverage_by_class`, in order, and what each is: a Degree of Urbanisation
#: class, the town subtotal (urban centre + urban cluster) or the total.
CLASS_ROWS: Final[dict[str, str]] = {"urban_centre": "class", "urban_cluster": "class", "rural": "class",
                                     "town": "subtotal", "all": "total"}


def _district_sums(ws: Workspace, values: NDArray[np.float64]) -> NDArray[np.float64]:
    return np.asarray(np.bincount(ws.grid.district, weights=values, minlength=len(ws.districts)), dtype=np.float64)


def coverage_by_district(ws: Workspace, res: ServiceResult) -> pd.DataFrame:
    """Return people covered and uncovered per district (columns :data:`COVERAGE_COLUMNS`).

    ``population`` is the service's eligible demand (e.g. children for schools), people.
    """
    dem = np.where(res.eligible, res.demand, 0.0)
    return coverage_from_sums(ws, _district_sums(ws, dem), _district_sums(ws, np.where(res.covered, res.demand, 0.0)))


def coverage_from_sums(ws: Workspace, pop: NDArray[np.float64], cov: NDArray[np.float64]) -> pd.DataFrame:
    """Return the table of :func:`coverage_by_district` from each district's people and people covered.

    The dask engine's second pass sums them per tile of the grid
    (:func:`gisapp.metrics.gaps.reduce_by_tile`).
    """
    out = pd.DataFrame({
        "district_id": ws.districts["district_id"].to_numpy(),
        "district_name": ws.districts["district_name"].to_numpy(),
        "population": pop, "covered": cov, "uncovered": pop - cov,
    })
    out["covered_pct"] = np.where(pop > 0, 100.0 * cov / np.where(pop > 0, pop, 1.0), np.nan)
    return out[COVERAGE_COLUMNS]


def coverage_by_class(ws: Workspace, res: ServiceResult) -> pd.DataFrame:
    """Return coverage per Degree of Urbanisation class, the town subtotal and the total.

    Columns ``class, row, population, covered, uncovered, covered_pct``; one row per class
    (``urban_centre``, ``urban_cluster``, ``rural`` = the country), then ``town`` (urban centre +
    urban cluster, ``row`` = ``"subtotal"``) and ``all`` (``row`` = ``"total"``); see
    :data:`CLASS_ROWS`.  People are the service's eligible demand (real numbers).
    """
    dem = np.where(res.eligible, res.demand, 0.0)
    cov = np.where(res.covered, res.demand, 0.0)
    pop_c = np.bincount(ws.urban_class, weights=dem, minlength=4)
    cov_c = np.bincount(ws.urban_class, weights=cov, minlength=4)
    town = [URBAN_CENTRE, URBAN_CLUSTER]
    sums = {"urban_centre": (pop_c[URBAN_CENTRE], cov_c[URBAN_CENTRE]),
            "urban_cluster": (pop_c[URBAN_CLUSTER], cov_c[URBAN_CLUSTER]),
            "rural": (pop_c[RURAL], cov_c[RURAL]),
            "town": (pop_c[town].sum(), cov_c[town].sum()),
            "all": (dem.sum(), cov.sum())}
    df = pd.DataFrame([(c, CLASS_ROWS[c], float(sums[c][0]), float(sums[c][1])) for c in CLASS_ROWS],
                      columns=["class", "row", "population", "covered"])
    df["uncovered"] = df["population"] - df["covered"]
    pop = df["population"].to_numpy(float)
    df["covered_pct"] = np.divide(100.0 * df["covered"].to_numpy(float), pop, out=np.full(pop.shape, np.nan),
                                  where=pop > 0)
    return df


def town_country(classes: pd.DataFrame) -> dict[str, float]:
    """Return town and country coverage from :func:`coverage_by_class`: the shares, their ratio and gap.

    ``town_pct`` (urban centre + urban cluster) and ``rural_pct`` are covered shares (%),
    ``ratio`` = town / rural (NaN when either is undefined or the rural share is 0) and
    ``gap_pts`` = town - rural, percentage points.

    Examples
    --------
    >>> cls = pd.DataFrame({"class": ["rural", "town"], "covered_pct": [40.0, 90.0]})
    >>> town_country(cls)
    {'town_pct': 90.0, 'rural_pct': 40.0, 'ratio': 2.25, 'gap_pts': 50.0}
    """
    pct = classes.set_index("class")["covered_pct"]

    def share(name: str) -> float:
        return float(pct[name]) if name in pct.index and pd.notna(pct[name]) else float("nan")

    town, rural = share("town"), share("rural")
    ratio = town / rural if np.isfinite(town) and np.isfinite(rural) and rural > 0 else float("nan")
    return {"town_pct": town, "rural_pct": rural, "ratio": ratio, "gap_pts": town - rural}


def capacity_by_district(ws: Workspace, res: ServiceResult) -> pd.DataFrame:
    """Return capacity per 1,000 people by district and its shortfall or surplus against the norm.

    Columns: ``district_id, district_name, population, facilities, capacity, capacity_per_1000,
    norm_per_1000, need, shortfall, surplus, capacity_gap, access_per_1000, norm_population`` where
    ``need`` = norm x norm_population / 1,000 (the capacity the norm asks for; ``norm_population`` is
    the people of the service's ``norm_base`` group, e.g. all residents for childcare places, else
    ``population``; ``capacity_per_1000`` is per 1,000 of it too), ``shortfall`` = need - capacity
    where that is positive (else 0) and ``surplus`` = capacity - need where that is positive
    (else 0), both in capacity units (beds, doctors, seats) and NaN without a norm;
    ``capacity_gap`` = need - capacity, signed (the GeoPackage keeps it: totals shown to people
    add shortfalls only, see :func:`capacity_totals`); ``access_per_1000`` is the
    population-weighted mean 2SFCA access.
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
    # the people the norm counts per 1,000 of: the demand group, or the service's norm_base group
    base = pop if svc.norm_group == svc.demand else _district_sums(ws, np.where(res.eligible, ws.demand(svc.norm_group), 0.0))
    per = np.divide(cap * 1000.0, base, out=np.full(base.shape, np.nan), where=base > 0)
    norm = svc.norm_per_1000
    out = pd.DataFrame({"district_id": ids, "district_name": ws.districts["district_name"].to_numpy(),
                        "population": pop, "facilities": fac.groupby("district_id").size().reindex(ids).fillna(0).astype(int).to_numpy(),
                        "capacity": cap, "capacity_per_1000": per,
                        "norm_per_1000": norm if norm else np.nan})
    need = norm * base / 1000.0 if norm else np.full(len(ids), np.nan)
    gap = need - cap
    with np.errstate(invalid="ignore"):
        out["need"] = need
        out["shortfall"] = np.where(np.isnan(gap), np.nan, np.maximum(gap, 0.0))
        out["surplus"] = np.where(np.isnan(gap), np.nan, np.maximum(-gap, 0.0))
    out["capacity_gap"] = gap
    out["access_per_1000"] = acc_d
    out["norm_population"] = base  # = population unless the service's norm_base is another group
    return out


def capacity_totals(capacity: pd.DataFrame) -> dict[str, float]:
    """Return the totals of :func:`capacity_by_district`: shortfalls and surpluses added apart.

    ``shortfall`` is the sum of the districts' shortfalls and ``surplus`` the sum of their
    surpluses (a surplus in one district never offsets a shortfall in another), both in capacity
    units; ``short_districts`` and ``surplus_districts`` count the districts of each; ``capacity``
    and ``need`` are the totals of those columns.  All NaN (counts 0) without a norm.

    Examples
    --------
    >>> cap = pd.DataFrame({"capacity": [10.0, 2.0, 5.0], "need": [7.0, 4.02, 5.0],
    ...                     "shortfall": [0.0, 2.02, 0.0], "surplus": [3.0, 0.0, 0.0]})
    >>> tot = capacity_totals(cap)
    >>> tot["shortfall"], tot["surplus"], tot["short_districts"], tot["surplus_districts"]
    (2.02, 3.0, 1.0, 1.0)
    """
    short = capacity["shortfall"].to_numpy(float)
    plus = capacity["surplus"].to_numpy(float)
    ok = np.isfinite(short) & np.isfinite(plus)
    if not ok.any():
        nan = float("nan")
        return {"shortfall": nan, "surplus": nan, "short_districts": 0.0, "surplus_districts": 0.0,
                "capacity": nan, "need": nan}
    return {"shortfall": float(short[ok].sum()), "surplus": float(plus[ok].sum()),
            "short_districts": float((short[ok] > 0).sum()), "surplus_districts": float((plus[ok] > 0).sum()),
            "capacity": float(capacity["capacity"].to_numpy(float)[ok].sum()),
            "need": float(capacity["need"].to_numpy(float)[ok].sum())}


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
    base = pop if svc.norm_group == svc.demand else float(np.where(res.eligible, ws.demand(svc.norm_group), 0.0).sum())
    return {
        "population": pop, "covered": cov, "uncovered": pop - cov,
        "covered_pct": 100.0 * cov / pop if pop > 0 else float("nan"),
        "median_cost": med, "facilities": float(res.facility_idx.size),
        "capacity": cap_total,
        "capacity_per_1000": cap_total * 1000.0 / base if base > 0 and svc.capacity else float("nan"),
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
