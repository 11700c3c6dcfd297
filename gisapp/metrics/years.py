"""Indicators year by year and the change between two years (issue 14).

Every figure is that of :func:`gisapp.metrics.service.run_service` on the workspace as it was
in the year (:func:`gisapp.workspace.at_year`): the facilities open that year, the population
of that year.  The grid's cells are the same every year, so a cell's coverage compares one to
one between years (:func:`change_cells`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Final

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from gisapp._errors import GisAppError
from gisapp.config.spec import Standard
from gisapp.metrics.service import ServiceResult, run_service
from gisapp.metrics.tables import capacity_by_district, coverage_by_district
from gisapp.workspace import Workspace, at_year

__all__ = ["CHANGE", "INDICATORS", "change_cells", "coverage_change", "indicators_by_year"]

#: the indicators of each service in :func:`indicators_by_year` (``<service>:<indicator>`` columns)
INDICATORS: Final = ("covered_pct", "uncovered", "capacity_per_1000")

#: the class of a cell in :func:`change_cells`
CHANGE: Final = {"none": 0, "gained": 1, "lost": 2, "still_uncovered": 3, "still_covered": 4}


def _results(ws: Workspace, services: Sequence[str], travel: str | None,
             standards: Mapping[str, Standard] | None) -> dict[str, ServiceResult]:
    std = standards or {}
    return {s: run_service(ws, s, standard=std.get(s), travel=travel) for s in services}


def indicators_by_year(ws: Workspace, years: Sequence[int], *, services: Sequence[str] | None = None,
                       travel: str | None = None, standards: Mapping[str, Standard] | None = None,
                       step: Callable[[int], object] | None = None) -> pd.DataFrame:
    """Return the indicators of every service per district and year.

    Parameters
    ----------
    ws
        The workspace as loaded.
    years
        The years (each computed on ``at_year(ws, year)``).
    services
        The services (default: all of the workspace's).
    travel, standards
        As :func:`run_service` (``standards``: a service's standard when not its own).
    step
        Called with each year once it is done (progress).

    Returns
    -------
    pandas.DataFrame
        One row per year and district (years ascending, districts in the workspace's order):
        ``year, district_id, district_name`` and for each service ``<service>:covered_pct``
        (% of the demand group covered), ``<service>:uncovered`` (people beyond the standard)
        and, for a service with a capacity field, ``<service>:capacity_per_1000`` (per 1,000 of
        the norm's group, see :func:`~gisapp.metrics.tables.capacity_by_district`).
    """
    names = list(services) if services is not None else list(ws.spec.services)
    frames = []
    for y in sorted({int(v) for v in years}):
        wy = at_year(ws, y)
        out = pd.DataFrame({"year": y, "district_id": wy.districts["district_id"].astype(str).to_numpy(),
                            "district_name": wy.districts["district_name"].astype(str).to_numpy()})
        for s, res in _results(wy, names, travel, standards).items():
            cov = coverage_by_district(wy, res).set_index("district_id").reindex(out["district_id"])
            out[f"{s}:covered_pct"] = cov["covered_pct"].to_numpy(float)
            out[f"{s}:uncovered"] = cov["uncovered"].to_numpy(float)
            if res.service.capacity:
                cap = capacity_by_district(wy, res).set_index("district_id").reindex(out["district_id"])
                out[f"{s}:capacity_per_1000"] = cap["capacity_per_1000"].to_numpy(float)
        frames.append(out)
        if step is not None:
            step(y)
    if not frames:
        return pd.DataFrame(columns=["year", "district_id", "district_name"])
    return pd.concat(frames, ignore_index=True)


def coverage_change(ws: Workspace, year_from: int, year_to: int, *, services: Sequence[str] | None = None,
                    travel: str | None = None, standards: Mapping[str, Standard] | None = None) -> pd.DataFrame:
    """Return every service's coverage by district in two years and the change.

    Returns
    -------
    pandas.DataFrame
        One row per service and district, with a row per service for the whole workspace
        (``district_id`` ""): ``service, district_id, district_name, covered_pct_from,
        covered_pct_to, change_pts`` (percentage points, to - from), ``uncovered_from,
        uncovered_to, uncovered_change`` (people beyond the standard) and ``facilities_from,
        facilities_to`` (open facilities of the service's kinds in the district).
    """
    names = list(services) if services is not None else list(ws.spec.services)
    wa, wb = at_year(ws, int(year_from)), at_year(ws, int(year_to))
    ra, rb = _results(wa, names, travel, standards), _results(wb, names, travel, standards)
    rows = []
    for s in names:
        ca, cb = coverage_by_district(wa, ra[s]), coverage_by_district(wb, rb[s])
        fa = wa.facilities.iloc[ra[s].facility_idx].groupby("district_id").size()
        fb = wb.facilities.iloc[rb[s].facility_idx].groupby("district_id").size()
        ids = ca["district_id"].astype(str).tolist()
        cb = cb.set_index("district_id").reindex(ca["district_id"]).reset_index()
        part = pd.DataFrame({
            "service": s, "district_id": ids, "district_name": ca["district_name"].astype(str).to_numpy(),
            "population_from": ca["population"].to_numpy(float), "population_to": cb["population"].to_numpy(float),
            "covered_from": ca["covered"].to_numpy(float), "covered_to": cb["covered"].to_numpy(float),
            "uncovered_from": ca["uncovered"].to_numpy(float), "uncovered_to": cb["uncovered"].to_numpy(float),
            "facilities_from": fa.reindex(ids).fillna(0).astype(int).to_numpy(),
            "facilities_to": fb.reindex(ids).fillna(0).astype(int).to_numpy()})
        total = part.drop(columns=["service", "district_id", "district_name"]).sum().to_dict()
        rows.append(pd.concat([part, pd.DataFrame([{"service": s, "district_id": "", "district_name": "", **total}])],
                              ignore_index=True))
    out = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()
    if out.empty:
        return out
    with np.errstate(invalid="ignore", divide="ignore"):
        out["covered_pct_from"] = np.where(out["population_from"] > 0,
                                           100.0 * out["covered_from"] / out["population_from"], np.nan)
        out["covered_pct_to"] = np.where(out["population_to"] > 0, 100.0 * out["covered_to"] / out["population_to"],
                                         np.nan)
    out[["facilities_from", "facilities_to"]] = out[["facilities_from", "facilities_to"]].astype(int)
    out["change_pts"] = out["covered_pct_to"] - out["covered_pct_from"]
    out["uncovered_change"] = out["uncovered_to"] - out["uncovered_from"]
    return out[["service", "district_id", "district_name", "covered_pct_from", "covered_pct_to", "change_pts",
                "uncovered_from", "uncovered_to", "uncovered_change", "facilities_from", "facilities_to"]]


def change_cells(res_from: ServiceResult, res_to: ServiceResult) -> NDArray[np.int8]:
    """Return the change of each cell's coverage between two results on the same grid (:data:`CHANGE`).

    A cell with demand in the later year is ``gained`` (covered now, not before), ``lost``
    (covered before, not now), ``still_uncovered`` or ``still_covered``; a cell without demand
    in the later year (or not eligible, e.g. rural for an urban-only service) is ``none``.

    Examples
    --------
    >>> from types import SimpleNamespace as R
    >>> a = R(covered=np.array([1, 0, 1, 0, 0], bool), eligible=np.ones(5, bool), demand=np.ones(5))
    >>> b = R(covered=np.array([1, 1, 0, 0, 0], bool), eligible=np.ones(5, bool), demand=np.array([1, 1, 1, 1, 0.0]))
    >>> change_cells(a, b).tolist()
    [4, 1, 2, 3, 0]
    """
    if res_from.covered.shape != res_to.covered.shape:
        raise GisAppError(code="years_grid_differs")
    people = res_to.eligible & (res_to.demand > 0)
    a, b = res_from.covered & res_from.eligible, res_to.covered
    out = np.zeros(b.shape, dtype=np.int8)
    out[people & b & ~a] = CHANGE["gained"]
    out[people & ~b & a] = CHANGE["lost"]
    out[people & ~b & ~a] = CHANGE["still_uncovered"]
    out[people & b & a] = CHANGE["still_covered"]
    return out
