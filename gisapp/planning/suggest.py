"""Suggest new facility sites (or closures) for a service on a workspace: the workspace adapter of the location models.

:func:`siting_problem` builds the location problem from the workspace: demand rows are the
populated eligible cells of the service (people of its demand group), columns are the
existing serving facilities (``fixed``) then candidate sites (a grid over populated land,
the workspace's settlements layer, or user points), and the cost matrix holds the travel
cost of each pair in the chosen travel mode: straight-line metres (the threshold is the
standard's straight-line radius) or terrain minutes over the friction surface
(:func:`gisapp.travel.terrain.terrain_cost`; a distance standard is walked at its speed).
:func:`suggest` solves it with one of the models of :mod:`.models` (maximal covering, set
covering, p-median, p-center, closures, a mixed budget) and names the sites opened by the
place they are in and the facilities closed by their names; :func:`summary_lines` says in
plain words what the answer means and whether it is proven optimal.  A user's own
candidate points come from a CSV read by :func:`read_candidate_points`.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import scipy.sparse as sp
from numpy.typing import NDArray
from pyproj import Transformer

from gisapp._errors import GisAppError, Problem, WorkspaceError
from gisapp.config.spec import ServiceSpec, Standard
from gisapp.i18n import fmt_number, t
from gisapp.io import layers as _io
from gisapp.io.points import read_points_csv
from gisapp.metrics.people import whole
from gisapp.metrics.places import has_places, place_label
from gisapp.metrics.service import run_service, standard_minutes
from gisapp.planning import models
from gisapp.planning.cover import SitingResult, candidate_grid, coverage_sets
from gisapp.planning.location import LocationResult, Progress
from gisapp.planning.models import MODELS
from gisapp.planning.scenario import Edit
from gisapp.travel.cost import CostMatrix, cost_matrix_from_pairs
from gisapp.travel.straight import straight_line_cost
from gisapp.workspace import Workspace

__all__ = ["REACH_FACTOR", "SitingProblem", "Suggestion", "candidate_sites", "closed_export", "curve_export", "has_settlements",
           "method_text", "proof_text", "read_candidate_points", "site_names", "siting_problem", "sites_export",
           "suggest", "summary_lines", "to_edits"]

Candidates = Literal["grid", "settlements", "points"]


@dataclass(frozen=True)
class Suggestion:
    """Suggested new sites (and, for closures, the facilities to close) of one service.

    Attributes
    ----------
    service
        The service.
    sites
        One row per suggested new site, in the order they add people within the standard:
        ``rank, candidate_id`` (``C1``, ... for machines), ``name`` (the place it is in, see
        :func:`site_names`), ``lon, lat, x, y, district_id, district_name, people_added``
        (people of the demand group newly covered, given the sites before it),
        ``people_covered`` (cumulative, existing facilities kept open included),
        ``share_covered`` (percent) and ``people_served`` (people the model assigns to it).
    curve
        Coverage as new sites are added: ``k`` (0 = existing facilities kept open only),
        ``people_covered``, ``share_pct``.
    baseline_covered, total
        People covered by the existing facilities (all of them, before any closure), and all
        eligible people.
    result
        Maximal covering: the solver's :class:`~gisapp.planning.cover.SitingResult`; else None.
    named_by
        How the sites are named: ``"place"`` (the village or community they are in),
        ``"coordinates"`` (the workspace has no settlements layer: see :meth:`naming_note`) or
        ``"user"`` (the names of the user's candidate points).
    model
        The model (:data:`gisapp.planning.models.MODELS`).
    location
        The model's :class:`~gisapp.planning.location.LocationResult` (columns: existing
        facilities first, then candidates).
    travel, unit
        The travel mode and the unit of trips (``"m"`` straight line, ``"min"`` terrain).
    closed
        Existing facilities to close (closures, mixed): ``facility_id, name, lon, lat, x, y,
        district_id, district_name``.
    mean_trip, longest_trip
        The people-weighted mean trip to the assigned site, and the longest trip of anyone
        served, in ``unit`` (nan when nobody is served).
    people_losing
        People covered today who lose coverage (closures, mixed).
    unserved
        People with no open site within reach (p-median, p-center; the rest of the people
        for covering models).
    covered_after
        People covered within the standard after the plan.
    build_time_s
        Seconds spent building the problem (cost matrix included).
    reach
        The largest trip in the cost matrix, in ``unit`` (farther pairs are out of reach).
    """

    service: str
    sites: pd.DataFrame
    curve: pd.DataFrame
    baseline_covered: float
    total: float
    result: SitingResult | None
    named_by: str = "place"
    model: str = "mclp"
    location: LocationResult | None = None
    travel: str = "straight_line"
    unit: str = "m"
    closed: pd.DataFrame | None = None
    mean_trip: float = float("nan")
    longest_trip: float = float("nan")
    people_losing: float = 0.0
    unserved: float = 0.0
    covered_after: float = float("nan")
    build_time_s: float = 0.0
    reach: float = float("nan")

    def naming_note(self, lang: str = "zh") -> str:
        """Return why the sites are named by their coordinates ("" when they are named by place or by the user)."""
        return t("sug.names_by_coordinates", lang) if self.named_by == "coordinates" else ""

    @property
    def method(self) -> str:
        """Return the solver used ("exact", "greedy+swap", "heuristic", ...; " (time limit)" when stopped)."""
        if self.result is not None:
            return self.result.method
        loc = self.location
        if loc is None:
            return ""
        return loc.method + (_TIME_LIMIT if loc.status == "time_limit" else "")

    @property
    def optimal(self) -> bool:
        """Return True when the answer is proven optimal."""
        if self.result is not None:
            return bool(self.result.optimal)
        return bool(self.location is not None and self.location.proven)

    @property
    def gap(self) -> float:
        """Return the relative gap to the best proven bound (0 when optimal, nan when unknown)."""
        if self.optimal:
            return 0.0
        if self.result is not None:
            return float(self.result.gap)
        return float("nan") if self.location is None else float(self.location.gap)

    @property
    def solve_time_s(self) -> float:
        """Return the solver's wall-clock time, seconds."""
        if self.result is not None:
            return float(self.result.solve_time_s)
        return 0.0 if self.location is None else float(self.location.solve_time_s)

    @property
    def closed_names(self) -> list[str]:
        """Return the names of the facilities to close."""
        return [] if self.closed is None else self.closed["name"].astype(str).tolist()


def has_settlements(ws: Workspace) -> bool:
    """Return True when the workspace has a ``settlements`` point layer (candidate sites)."""
    return "settlements" in ws.spec.layers


def _points(table: pd.DataFrame | None) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[Any]]:
    """Return lon, lat and names of a table of candidate points, checked (a point without a name: "")."""
    if table is None or len(table) == 0:
        raise GisAppError(code="no_candidate_points")
    missing = {"lon", "lat"} - set(table.columns)
    if missing:
        raise GisAppError(code="candidate_columns", params={"columns": ", ".join(sorted(missing))})
    lon = pd.to_numeric(table["lon"], errors="coerce").to_numpy(float)
    lat = pd.to_numeric(table["lat"], errors="coerce").to_numpy(float)
    if np.isnan(lon).any() or np.isnan(lat).any():
        raise GisAppError(code="candidate_coordinates")
    names = (table["name"].fillna("").astype(str).str.strip().to_numpy() if "name" in table.columns
             else np.array([""] * lon.size, dtype=object))
    return lon, lat, names


def read_candidate_points(source: bytes | str | Path) -> pd.DataFrame:
    """Read a user's candidate points: a CSV (upload bytes or file) with ``lon``, ``lat`` and optionally ``name``.

    Column names are matched whatever their case; the CSV may be UTF-8 or GBK.

    Returns
    -------
    pandas.DataFrame
        Columns ``lon``, ``lat`` (WGS84 degrees, float) and ``name`` (text; empty when the file
        has none: :func:`suggest` then names the site by the place it is in): what
        :func:`candidate_sites` takes as ``candidate_points``.

    Raises
    ------
    GisAppError
        If the file is not a CSV, lacks ``lon`` or ``lat``, has no rows, or holds coordinates
        that are missing or not numbers.
    """
    try:
        table = read_points_csv(source)
    except ValueError as exc:  # not a CSV, or neither UTF-8 nor GBK
        raise GisAppError(code="candidate_csv_unreadable", params={"error": str(exc)}) from exc
    lon, lat, names = _points(table)
    return pd.DataFrame({"lon": lon, "lat": lat, "name": names})


def candidate_sites(ws: Workspace, candidates: Candidates = "grid", *, spacing_m: float | None = None,
                    candidate_points: pd.DataFrame | None = None,
                    service_radius_m: float = 1000.0) -> pd.DataFrame:
    """Return candidate sites: ``candidate_id, name, lon, lat, x, y`` (analysis CRS, metres).

    Parameters
    ----------
    ws
        The workspace.
    candidates
        ``"grid"`` (block centres of a regular grid over populated cells), ``"settlements"``
        (the workspace's settlements layer) or ``"points"`` (``candidate_points``).
    spacing_m
        Grid spacing, metres (default: half the service radius, at least one cell).
    candidate_points
        A table with ``lon`` and ``lat`` (WGS84) and optionally ``name``, for "points".
    service_radius_m
        The standard's straight-line radius, used for the default spacing.

    Raises
    ------
    GisAppError
        If the candidates cannot be made (no settlements layer, no points, bad columns, a
        negative spacing).
    """
    to_a = Transformer.from_crs(4326, ws.crs, always_xy=True)
    to_w = Transformer.from_crs(ws.crs, 4326, always_xy=True)
    if candidates == "grid":
        if spacing_m is not None and not (np.isfinite(spacing_m) and spacing_m >= 0):
            raise GisAppError(code="bad_spacing", params={"spacing": spacing_m})
        g = ws.grid
        sp = float(spacing_m or max(g.res_m, service_radius_m / 2.0))
        x, y, _ = candidate_grid(g.x, g.y, g.pop, spacing_m=sp, min_pop=0.0)
        lon, lat = to_w.transform(x, y)
        names = np.array([f"G{i + 1}" for i in range(x.size)])
    elif candidates == "settlements":
        if not has_settlements(ws):
            raise GisAppError(code="no_settlements_layer")
        problems: list[Problem] = []
        pts = _io.read_points(ws.spec.layers["settlements"], problems)
        if pts is None:
            raise WorkspaceError(problems)
        lon, lat = pts["lon"].to_numpy(float), pts["lat"].to_numpy(float)
        x, y = to_a.transform(lon, lat)
        names = pts["name"].to_numpy()
    elif candidates == "points":
        lon, lat, names = _points(candidate_points)
        x, y = to_a.transform(lon, lat)
    else:
        raise GisAppError(code="unknown_candidates", params={"candidates": candidates})
    x, y = np.asarray(x, float), np.asarray(y, float)
    return pd.DataFrame({"candidate_id": [f"C{i + 1}" for i in range(x.size)], "name": names,
                         "lon": np.asarray(lon, float), "lat": np.asarray(lat, float), "x": x, "y": y})


#: the reach of p-median and p-center (the largest trip considered), as a multiple of the standard
REACH_FACTOR = 4.0
#: models whose costs matter only up to the standard
_COVERING = ("mclp", "lscp", "closures", "mixed")


@dataclass(frozen=True)
class SitingProblem:
    """A service's location problem on a workspace: demand rows x (existing facilities + candidate sites).

    Attributes
    ----------
    rows
        Grid cells of the demand rows (the populated eligible cells of the service).
    weights
        People of the service's demand group per row.
    cost
        Travel cost, rows x columns: the existing serving facilities first (``fixed``), then
        the candidate sites; straight-line metres or terrain minutes (``cost.unit``), pairs
        beyond ``cost.cutoff`` not stored (out of reach).
    threshold
        The standard of each row, in the cost's unit (a distance standard is walked at its
        speed in terrain mode, as :func:`gisapp.metrics.service.run_service` does).
    fixed
        True for the columns of existing facilities.
    existing
        The existing facilities: ``facility_id, name, lon, lat, x, y`` and ``row`` (their row in
        ``ws.facilities``).
    candidates
        The candidate sites (:func:`candidate_sites`).
    travel
        ``"straight_line"`` or ``"terrain"``.
    covered_before
        Rows the existing facilities cover (the service's coverage today).
    """

    rows: NDArray[np.int64]
    weights: NDArray[np.float64]
    cost: CostMatrix
    threshold: NDArray[np.float64]
    fixed: NDArray[np.bool_]
    existing: pd.DataFrame
    candidates: pd.DataFrame
    travel: str
    covered_before: NDArray[np.bool_]

    @property
    def n_existing(self) -> int:
        """Return the number of existing facilities (the first columns)."""
        return int(self.fixed.sum())


def _terrain_costs(ws: Workspace, svc: ServiceSpec, x: NDArray[np.float64], y: NDArray[np.float64],
                   reach: float) -> CostMatrix:
    """Terrain travel minutes from every cell to each point, up to ``reach`` (a rural standard's mode for country cells)."""
    from gisapp.travel.terrain import terrain_cost

    cm = terrain_cost(ws, svc.standard.mode, x, y, max_minutes=reach)
    rural = svc.rural_standard
    if rural is None or rural.mode == svc.standard.mode:
        return cm
    town = np.asarray(ws.town, dtype=bool)
    rc = terrain_cost(ws, rural.mode, x, y, max_minutes=reach)
    r1, c1, v1 = cm.pairs()
    r2, c2, v2 = rc.pairs()
    k1, k2 = town[r1], ~town[r2]
    return cost_matrix_from_pairs(np.concatenate([r1[k1], r2[k2]]), np.concatenate([c1[k1], c2[k2]]),
                                  np.concatenate([v1[k1], v2[k2]]), shape=cm.shape, unit="min", cutoff=reach)


def siting_problem(ws: Workspace, service: str, *, travel: str | None = None, standard: Standard | None = None,
                   candidates: Candidates = "grid", spacing_m: float | None = None,
                   candidate_points: pd.DataFrame | None = None, reach: float | None = None) -> SitingProblem:
    """Build the location problem of a service: demand, existing facilities + candidates, the cost matrix.

    Parameters
    ----------
    ws, service
        The workspace and the service.
    travel
        ``"straight_line"`` (metres, the standard's straight-line radius as threshold) or
        ``"terrain"`` (minutes over the friction surface,
        :func:`gisapp.travel.terrain.terrain_cost`); default: the workspace's travel default.
    standard
        Override of the service's standard.
    candidates, spacing_m, candidate_points
        Candidate sites (see :func:`candidate_sites`).
    reach
        Largest cost kept in the matrix, in its unit (default: the largest standard).

    Raises
    ------
    GisAppError
        If the service has no demand, the candidates cannot be made, or terrain travel is
        asked of a workspace without travel speeds.
    """
    res = run_service(ws, service, standard=standard, travel=travel)
    svc = res.service
    g = ws.grid
    dem = np.where(res.eligible, res.demand, 0.0)
    rows = np.flatnonzero(dem > 0).astype(np.int64)
    if rows.size == 0:
        raise GisAppError(code="no_demand", params={"service": service})
    cand = candidate_sites(ws, candidates, spacing_m=spacing_m, candidate_points=candidate_points,
                           service_radius_m=svc.cutoff_m)
    fac = ws.facilities.iloc[res.facility_idx]
    existing = pd.DataFrame({"facility_id": fac["facility_id"].astype(str).to_numpy(),
                             "name": fac["name"].astype(str).to_numpy() if "name" in fac.columns
                             else fac["facility_id"].astype(str).to_numpy(),
                             "lon": fac["lon"].to_numpy(float), "lat": fac["lat"].to_numpy(float),
                             "x": fac["x"].to_numpy(float), "y": fac["y"].to_numpy(float),
                             "row": np.asarray(res.facility_idx, dtype=np.int64)})
    x = np.concatenate([existing["x"].to_numpy(float), cand["x"].to_numpy(float)])
    y = np.concatenate([existing["y"].to_numpy(float), cand["y"].to_numpy(float)])
    if res.mode == "terrain":
        thr = np.full(g.n, standard_minutes(svc.standard))
        if svc.rural_standard is not None:
            thr[~np.asarray(ws.town, dtype=bool)] = standard_minutes(svc.rural_standard)
        cut = float(thr.max()) if reach is None else max(float(reach), float(thr.max()))
        full = _terrain_costs(ws, svc, x, y, cut)
    else:
        thr = res.threshold_m
        cut = float(thr.max()) if reach is None else max(float(reach), float(thr.max()))
        full = straight_line_cost(g.cell_index, g.transform, x, y, cutoff_m=cut)
    cost = CostMatrix(sp.csr_array(full.matrix[rows]), full.unit, float(full.cutoff))
    fixed = np.zeros(x.size, dtype=bool)
    fixed[:len(existing)] = True
    return SitingProblem(rows=rows, weights=dem[rows], cost=cost, threshold=np.asarray(thr[rows], dtype=float),
                         fixed=fixed, existing=existing, candidates=cand, travel=res.mode,
                         covered_before=np.asarray(res.covered[rows], dtype=bool))


def _check_inputs(model: str, k: int | None, target_share: float | None, k_close: int | None,
                  capacity: float | None) -> None:
    """Check the parameters of :func:`suggest` for ``model`` (the model-independent checks first)."""
    if model not in MODELS:
        raise GisAppError(code="unknown_model", params={"model": model, "known": ", ".join(MODELS)})
    if model == "mclp" and (k is None) == (target_share is None):
        raise GisAppError(code="k_or_target")
    if model in ("p_median", "p_center", "mixed") and k is None:
        raise GisAppError(code="model_needs", params={"model": model, "param": "p"})
    if model in ("closures", "mixed") and k_close is None:
        raise GisAppError(code="model_needs", params={"model": model, "param": "k_close"})
    if k is not None and (isinstance(k, bool) or int(k) != k or k < (0 if model == "mixed" else 1)):
        raise GisAppError(code="bad_site_count", params={"k": k})
    if k_close is not None and (isinstance(k_close, bool) or int(k_close) != k_close or k_close < 1):
        raise GisAppError(code="bad_close_count", params={"k": k_close})
    if target_share is not None and not (np.isfinite(target_share) and 0 < target_share <= 100):
        raise GisAppError(code="bad_target_share", params={"share": target_share})
    if capacity is not None and not capacity >= 0:
        raise GisAppError(code="bad_site_capacity", params={"capacity": capacity})


def suggest(ws: Workspace, service: str, *, k: int | None = None, target_share: float | None = None,
            candidates: Candidates = "grid", spacing_m: float | None = None,
            candidate_points: pd.DataFrame | None = None, method: str = "auto",
            capacity: float | None = None, standard: Standard | None = None,
            max_k: int = 200, lang: str = "zh", model: str = "mclp", k_close: int | None = None,
            travel: str | None = None, time_limit_s: float | None = None, progress: Progress | None = None,
            reach: float | None = None, p: int | None = None) -> Suggestion:
    """Propose new sites (or closures) for a service by one of the location models, existing facilities kept.

    Parameters
    ----------
    ws
        The workspace.
    service
        The service name.
    k
        Number of new sites (``p``): maximal covering (or give ``target_share``), p-median,
        p-center, mixed.
    target_share
        Covered share to reach (percent, 0-100): maximal covering (the fewest sites, greedy +
        swap, that reach it) or set covering (default 100: everyone who can be covered).
    candidates, spacing_m, candidate_points
        Candidate sites (see :func:`candidate_sites`).
    method
        ``"auto"``, ``"exact"`` (MIP, HiGHS) or ``"greedy"`` / ``"heuristic"``.
    capacity
        People a new site can serve (None: unlimited): maximal covering, set covering and the
        capacitated p-median (existing facilities then serve up to their capacity in people,
        :func:`gisapp.metrics.served.people_per_unit`, or without limit when it has none).
    standard
        Override of the service's standard.
    max_k
        Upper bound on the number of sites for ``target_share`` (maximal covering).
    lang
        Language of the sites' names (see :func:`site_names`).
    model
        One of :data:`gisapp.planning.models.MODELS`.
    k_close
        Existing facilities to close: closures, mixed.
    travel
        ``"straight_line"`` or ``"terrain"`` (default: the workspace's travel default).
    time_limit_s
        Time limit of the solve, seconds (maximal covering: 30 s when not given).
    progress
        Called with ``(fraction_done, stage)`` while building and solving.
    reach
        Largest trip considered by p-median and p-center, in the cost's unit (default
        :data:`REACH_FACTOR` x the standard); people farther from every open site are
        reported unserved (:attr:`Suggestion.unserved`; in the model's objective each counts
        as a trip of the reach, so the models still bring them closer).
    p
        Another name of ``k`` (the models' name for it).

    Returns
    -------
    Suggestion

    Raises
    ------
    GisAppError
        If the parameters the model needs are missing or invalid, or inputs are invalid.
    """
    if p is not None:
        if k is not None and k != p:
            raise GisAppError(code="k_or_target")
        k = p
    _check_inputs(model, k, target_share, k_close, capacity)
    if progress is not None:
        progress(0.0, "build")
    t0 = time.perf_counter()
    if reach is None and model not in _COVERING:
        svc0 = ws.spec.services.get(service)
        mode = travel or ws.spec.travel.get("default", "straight_line")
        if svc0 is not None:
            std0 = standard or svc0.standard
            base = standard_minutes(std0) if mode == "terrain" else std0.straight_line_m
            if svc0.rural_standard is not None:
                base = max(base, standard_minutes(svc0.rural_standard) if mode == "terrain"
                           else svc0.rural_standard.straight_line_m)
            reach = REACH_FACTOR * base
    prob = siting_problem(ws, service, travel=travel, standard=standard, candidates=candidates, spacing_m=spacing_m,
                          candidate_points=candidate_points, reach=reach)
    cand = prob.candidates
    n_exist = prob.n_existing
    if k is not None and model != "mixed" and k > len(cand):
        raise GisAppError(code="too_many_sites", params={"k": k, "n": len(cand)})
    if k_close is not None and k_close > n_exist:
        raise GisAppError(code="too_many_closures", params={"k": k_close, "n": n_exist})
    w, thr = prob.weights, prob.threshold
    total = float(w.sum())
    cover = sp.csc_array(coverage_sets(prob.cost, thr))
    build_s = time.perf_counter() - t0

    def sub_progress(frac: float, stage: str) -> None:
        if progress is not None:
            progress(min(1.0, 0.1 + 0.9 * float(frac)), stage)

    sr: SitingResult | None = None
    if model == "mclp":
        cap_cols = None if capacity is None else np.concatenate([np.full(n_exist, np.inf),
                                                                 np.full(len(cand), float(capacity))])
        if k is not None:
            loc, sr, _ = models.mclp_result(prob.cost, w, thr, p=int(k), fixed=prob.fixed, capacity=cap_cols,
                                            method=method, time_limit_s=time_limit_s,
                                            already_covered=prob.covered_before, progress=sub_progress)
        else:
            loc, sr, _ = models.mclp_result(prob.cost, w, thr, p=min(max_k, len(cand)),
                                            target_share=float(target_share) / 100.0,  # type: ignore[arg-type]
                                            fixed=prob.fixed, capacity=cap_cols, method=method,
                                            already_covered=prob.covered_before, progress=sub_progress)
        sel = np.asarray(sr.selected, dtype=np.int64)
        gains = np.asarray(sr.gains, dtype=float)
        base = float(sr.base_weight)
        closed_cols = np.zeros(0, np.int64)
    else:
        cost_in: CostMatrix | sp.csr_array = prob.cost
        fixed_in = prob.fixed
        if model == "closures":  # only the existing facilities: k of them close, the others stay
            cost_in = sp.csr_array(prob.cost.matrix[:, :n_exist])
            fixed_in = prob.fixed[:n_exist]
        cap_cols = None
        if capacity is not None:
            cap_cols = np.concatenate([_existing_capacity(ws, service, prob.existing["row"].to_numpy(np.int64)),
                                       np.full(len(cand), float(capacity))])
        beyond = -1  # the column "beyond reach" of p-median and p-center, when one is needed
        if model in ("p_median", "p_center"):
            cost_in, fixed_in, cap_cols, beyond = _beyond_reach(prob, w, cap_cols)
        share = None if target_share is None else float(target_share) / 100.0
        loc = models.solve(model, cost_in, w, threshold=thr, p=None if k is None else int(k), k_close=k_close,
                           fixed=fixed_in, capacity=cap_cols if model in ("p_median", "lscp") else None,
                           target_share=share, method=method, time_limit_s=time_limit_s, progress=sub_progress)
        if beyond >= 0:  # people assigned "beyond reach" are unserved
            loc = dataclasses.replace(
                loc, assignment=np.where(loc.assignment == beyond, -1, loc.assignment).astype(np.int64),
                flows=None if loc.flows is None else sp.csr_array(sp.csc_array(loc.flows)[:, :beyond]))
        closed_cols = np.asarray(loc.closed, dtype=np.int64)
        kept = np.flatnonzero(prob.fixed)
        kept = kept[~np.isin(kept, closed_cols)]
        opened_cand = np.asarray(loc.opened, dtype=np.int64) - n_exist
        sel, gains, base = _coverage_order(cover, w, kept, n_exist + opened_cand)
        sel = sel - n_exist
    if progress is not None:
        progress(1.0, "done")
    sites = cand.iloc[sel].reset_index(drop=True)
    sites.insert(0, "rank", np.arange(1, sel.size + 1))
    given = sites["name"].fillna("").astype(str).to_numpy() if candidates == "points" else np.array([""] * len(sites))
    named_by = "user" if len(sites) and (given != "").all() else ("place" if has_places(ws) else "coordinates")
    if named_by != "user":
        found = site_names(ws, sites["x"].to_numpy(float), sites["y"].to_numpy(float), lang,
                           own=sites["name"].astype(str).tolist() if candidates == "settlements" else None)
        sites["name"] = np.where(given != "", given, np.array(found, dtype=object))
    _districts(ws, sites)
    curve_people = base + np.cumsum(gains)
    sites["people_added"] = gains
    sites["people_covered"] = curve_people
    sites["share_covered"] = 100.0 * sites["people_covered"] / total if total > 0 else np.nan
    served = _served(loc, w, prob.cost.shape[1] if model != "closures" else n_exist)
    sites["people_served"] = served[n_exist + sel] if sel.size else np.zeros(0)
    curve = pd.DataFrame({"k": np.arange(0, sel.size + 1),
                          "people_covered": np.concatenate([[base], curve_people])})
    curve["share_pct"] = 100.0 * curve["people_covered"] / total if total > 0 else np.nan
    closed = prob.existing.iloc[closed_cols].reset_index(drop=True)
    _districts(ws, closed)
    mean_trip, longest, unserved = _trips(prob.cost.matrix if model != "closures" else
                                          sp.csr_array(prob.cost.matrix[:, :n_exist]), w, loc)
    before = float(w[prob.covered_before].sum())
    after = float(curve["people_covered"].iloc[-1])
    losing = 0.0
    if model in ("closures", "mixed"):
        open_cols = np.zeros(cover.shape[1], dtype=bool)
        open_cols[np.flatnonzero(prob.fixed)] = True
        open_cols[closed_cols] = False
        open_cols[n_exist + sel] = True
        still = np.asarray(sp.csr_array(cover[:, np.flatnonzero(open_cols)]).sum(axis=1)).ravel() > 0
        losing = float(w[prob.covered_before & ~still].sum())
    return Suggestion(service=service, sites=sites, curve=curve, baseline_covered=before if model != "mclp" else base,
                      total=total, result=sr, named_by=named_by, model=model, location=loc, travel=prob.travel,
                      unit=prob.cost.unit, closed=closed, mean_trip=mean_trip, longest_trip=longest,
                      people_losing=losing, unserved=unserved, covered_after=after, build_time_s=build_s,
                      reach=float(prob.cost.cutoff))


def _beyond_reach(prob: SitingProblem, w: NDArray[np.float64], capacity: NDArray[np.float64] | None
                  ) -> tuple[sp.csr_array | CostMatrix, NDArray[np.bool_], NDArray[np.float64] | None, int]:
    """Give p-median and p-center a way to leave people unserved: (cost, fixed, capacity, the extra column or -1).

    A person with no existing facility within the reach of the matrix may be out of reach of
    any ``p`` new sites too; the models would then have no answer.  Such rows get one more
    fixed column, "beyond reach", at the cost of the reach itself (a trip at least that long),
    without a capacity.  Rows an existing facility reaches never need it, and when every row
    has one the matrix is returned unchanged (-1).
    """
    m = prob.cost.matrix
    n_exist = prob.n_existing
    has_fixed = np.diff(sp.csr_array(m[:, :n_exist]).indptr) > 0 if n_exist else np.zeros(m.shape[0], dtype=bool)
    need = np.flatnonzero(~has_fixed & (w > 0))
    if need.size == 0:
        return prob.cost, prob.fixed, capacity, -1
    n_rows, n_cols = (int(v) for v in m.shape)
    extra = sp.csr_array((np.full(need.size, float(prob.cost.cutoff)), (need, np.zeros(need.size, dtype=np.int64))),
                         shape=(n_rows, 1))
    cost = sp.csr_array(sp.hstack([m, extra], format="csr"))
    cap = None if capacity is None else np.append(capacity, np.inf)
    return cost, np.append(prob.fixed, True), cap, n_cols


def _districts(ws: Workspace, table: pd.DataFrame) -> None:
    """Add ``district_id`` and ``district_name`` of the points ``x, y`` of ``table`` (in place)."""
    d = ws.district_at(table["x"].to_numpy(float), table["y"].to_numpy(float)) if len(table) else np.zeros(0, int)
    table["district_id"] = np.where(d >= 0, ws.districts["district_id"].to_numpy()[np.clip(d, 0, None)], "") \
        if len(table) else np.array([], dtype=object)
    table["district_name"] = np.where(d >= 0, ws.districts["district_name"].to_numpy()[np.clip(d, 0, None)], "") \
        if len(table) else np.array([], dtype=object)


def _existing_capacity(ws: Workspace, service: str, rows: NDArray[np.int64]) -> NDArray[np.float64]:
    """Return the people each existing facility (``rows`` of ``ws.facilities``) can serve: its capacity in people
    as :func:`gisapp.metrics.served.people_per_unit` converts it, else no limit."""
    from gisapp.metrics.served import people_per_unit

    svc = ws.spec.services[service]
    per, _ = people_per_unit(svc, ws.spec.demand_groups)
    if not svc.capacity or not np.isfinite(per):
        return np.full(rows.size, np.inf)
    cap = ws.facilities[svc.capacity].to_numpy(float)[rows] * per
    return np.where(np.isfinite(cap), cap, np.inf)


def _coverage_order(cover: sp.csc_array, w: NDArray[np.float64], kept: NDArray[np.int64],
                    opened: NDArray[np.int64]) -> tuple[NDArray[np.int64], NDArray[np.float64], float]:
    """Order opened columns greedily by the people each newly brings within the standard.

    Returns (the columns in that order, the people each adds, the people the kept columns cover).
    """
    done = np.zeros(w.size, dtype=bool)
    if kept.size:
        done[sp.csc_array(cover[:, kept]).indices] = True
    base = float(w[done].sum())
    left = [int(c) for c in opened]
    order: list[int] = []
    gains: list[float] = []
    while left:
        best, best_gain = left[0], -1.0
        for c in left:
            rows = cover.indices[cover.indptr[c]:cover.indptr[c + 1]]
            g = float(w[rows][~done[rows]].sum())
            if g > best_gain:
                best, best_gain = c, g
        rows = cover.indices[cover.indptr[best]:cover.indptr[best + 1]]
        done[rows] = True
        order.append(best)
        gains.append(best_gain)
        left.remove(best)
    return np.asarray(order, dtype=np.int64), np.asarray(gains, dtype=float), base


def _served(loc: LocationResult, w: NDArray[np.float64], n_cols: int) -> NDArray[np.float64]:
    """Return the people each column serves (its flows, or the weight of the rows assigned to it)."""
    if loc.flows is not None:
        return np.asarray(sp.csr_array(loc.flows).sum(axis=0), dtype=float).ravel()
    a = np.asarray(loc.assignment, dtype=np.int64)
    ok = a >= 0
    return np.bincount(a[ok], weights=w[ok], minlength=n_cols).astype(float)


def _trips(cost: sp.csr_array, w: NDArray[np.float64], loc: LocationResult) -> tuple[float, float, float]:
    """Return (the mean trip of the people served, the longest trip of anyone served, the people unserved).

    Trips are to the assigned site (capacitated: weighted by the flows), in the cost's unit.
    """
    m = sp.csr_array(cost)
    if loc.flows is not None:
        f = sp.csr_array(loc.flows).tocoo()
        c = np.asarray(m[f.row, f.col]).ravel()
        people = float(f.data.sum())
        mean = float((f.data * c).sum() / people) if people > 0 else float("nan")
        pos = f.data > 0
        longest = float(c[pos].max()) if pos.any() else float("nan")
        return mean, longest, max(float(w.sum() - people), 0.0)
    a = np.asarray(loc.assignment, dtype=np.int64)
    ok = (a >= 0) & (w > 0)
    if not ok.any():
        return float("nan"), float("nan"), float(w.sum())
    r = np.flatnonzero(ok)
    c = np.asarray(m[r, a[r]]).ravel()
    return float((w[r] * c).sum() / w[r].sum()), float(c.max()), float(w[(a < 0) & (w > 0)].sum())


def _numbered(names: Sequence[str], lang: str) -> list[str]:
    """Return ``names`` with the ones that occur more than once numbered in order: "某村 附近（1）", "某村 附近（2）".

    Examples
    --------
    >>> _numbered(["甲村 附近", "乙村 附近", "甲村 附近"], "zh")
    ['甲村 附近（1）', '乙村 附近', '甲村 附近（2）']
    """
    count = Counter(names)
    seen: Counter[str] = Counter()
    out = []
    for n in names:
        if count[n] > 1:
            seen[n] += 1
            out.append(t("sug.nth", lang, name=n, n=seen[n]))
        else:
            out.append(n)
    return out


def site_names(ws: Workspace, x: NDArray[np.floating], y: NDArray[np.floating], lang: str = "zh", *,
               own: Sequence[str] | None = None) -> list[str]:
    """Return a name for each site (analysis CRS) by the place it is in, in ``lang``.

    With a settlements layer: "仁和区 · 大田镇 · 某村 附近" / "near 某村, 大田镇, 仁和区"
    (:func:`gisapp.metrics.places.place_label`); a site that is itself that settlement (its
    ``own`` name is the place's) drops "附近".  Sites falling in the same place are numbered
    ("（1）", "（2）").  Without a settlements layer there are no places: the sites are
    named by their coordinates ("东经 101.7123° 北纬 26.5821°"), and
    :meth:`Suggestion.naming_note` says why.
    """
    xs, ys = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if not has_places(ws):
        lon, lat = Transformer.from_crs(ws.crs, 4326, always_xy=True).transform(xs, ys)
        return [t("sug.at_coords", lang, lon=f"{a:.4f}", lat=f"{b:.4f}")
                for a, b in zip(np.atleast_1d(lon), np.atleast_1d(lat), strict=True)]
    labels = place_label(ws, xs, ys, lang)
    sep = " · " if lang == "zh" else ", "
    names = []
    for i, label in enumerate(labels):
        parts = label.split(sep)
        is_it = own is not None and own[i] == (parts[-1] if lang == "zh" else parts[0])
        names.append(label if is_it else t("sug.near", lang, place=label))
    return _numbered(names, lang)


def _whole_curve(sug: Suggestion) -> NDArray[np.int64]:
    """Return whole people covered after 0, 1, ..., k sites: the base and each site's gain rounded so they add up."""
    gains = np.diff(sug.curve["people_covered"].to_numpy(float))
    return np.cumsum(whole(np.concatenate([[float(sug.curve["people_covered"].iloc[0])], gains])))


def sites_export(sug: Suggestion, lang: str = "zh") -> pd.DataFrame:
    """Return the suggested sites as a person reads them: headers in ``lang``, whole people.

    Columns: rank, candidate id, name (the place), district code, district, longitude,
    latitude, people newly covered, people covered (cumulative) and covered share (%).  The
    people added by the sites add up to the people covered.
    """
    s = sug.sites
    covered = _whole_curve(sug)
    out = pd.DataFrame({
        t("col.plan_rank", lang): s["rank"].to_numpy(int),
        t("col.plan_candidate_id", lang): s["candidate_id"].astype(str).to_numpy(),
        t("col.plan_site", lang): s["name"].astype(str).to_numpy(),
        t("col.district_id", lang): s["district_id"].astype(str).to_numpy(),
        t("col.district_name", lang): s["district_name"].astype(str).to_numpy(),
        t("col.lon", lang): s["lon"].to_numpy(float).round(6),
        t("col.lat", lang): s["lat"].to_numpy(float).round(6),
        t("col.plan_people_added", lang): np.diff(covered),
        t("col.plan_people_covered", lang): covered[1:],
        t("col.plan_share_covered", lang): s["share_covered"].to_numpy(float).round(2),
    })
    return out


def closed_export(sug: Suggestion, lang: str = "zh") -> pd.DataFrame:
    """Return the facilities to close as a person reads them: id, name, district code, district, longitude, latitude."""
    c = sug.closed if sug.closed is not None else pd.DataFrame(
        columns=["facility_id", "name", "district_id", "district_name", "lon", "lat"])
    return pd.DataFrame({
        t("col.facility_id", lang): c["facility_id"].astype(str).to_numpy(),
        t("col.plan_closed", lang): c["name"].astype(str).to_numpy(),
        t("col.district_id", lang): c["district_id"].astype(str).to_numpy(),
        t("col.district_name", lang): c["district_name"].astype(str).to_numpy(),
        t("col.lon", lang): c["lon"].to_numpy(float).round(6),
        t("col.lat", lang): c["lat"].to_numpy(float).round(6),
    })


def curve_export(sug: Suggestion, lang: str = "zh") -> pd.DataFrame:
    """Return coverage as the number of new sites grows: headers in ``lang``, whole people (as :func:`sites_export`)."""
    return pd.DataFrame({t("col.plan_k", lang): sug.curve["k"].to_numpy(int),
                         t("col.plan_people_covered", lang): _whole_curve(sug),
                         t("col.plan_share_pct", lang): sug.curve["share_pct"].to_numpy(float).round(2)})


def to_edits(suggestion: Suggestion, kind: str, *, prefix: str = "NEW", capacity: dict[str, float] | None = None,
             name_prefix: str = "") -> list[Edit]:
    """Return the edits that carry out a suggestion: "add" the suggested sites (ids ``<prefix>-<rank>``), "close" the
    facilities it closes (closures, mixed)."""
    out = []
    for r in suggestion.sites.itertuples(index=False):  # k sites, not cells
        out.append(Edit("add", f"{prefix}-{r.rank}", lon=float(r.lon), lat=float(r.lat),  # type: ignore[arg-type]
                        name=f"{name_prefix}{r.name}", kind=kind, capacity=dict(capacity or {})))
    if suggestion.closed is not None:
        out.extend(Edit("close", str(fid)) for fid in suggestion.closed["facility_id"])
    return out


_TIME_LIMIT = " (time limit)"


def method_text(method: str, lang: str = "zh") -> str:
    """Return how a suggestion was solved (``Suggestion.method``, e.g. ``"greedy+swap+capacity"``) in ``lang``.

    Examples
    --------
    >>> method_text("greedy+swap", "en"), method_text("exact+capacity (time limit)", "zh")
    ('greedy + swap', '精确求解（整数规划）＋容量约束（达到时间上限）')
    """
    stopped = method.endswith(_TIME_LIMIT)
    parts = method.removesuffix(_TIME_LIMIT).split("+")
    text = t("sug.part.join", lang).join(t(f"sug.part.{p}", lang) for p in parts)
    return text + (t("sug.part.time_limit", lang) if stopped else "")


def proof_text(sug: Suggestion, lang: str = "zh") -> str:
    """Return whether the answer is proven optimal, else its gap to the best bound, in ``lang``.

    Examples
    --------
    >>> import math
    >>> s = Suggestion("x", pd.DataFrame(), pd.DataFrame(), 0.0, 0.0, None)
    >>> proof_text(s, "en")
    'not proven optimal (gap unknown)'
    """
    if sug.optimal:
        return t("sug.proof.optimal", lang)
    gap = sug.gap
    if not math.isfinite(gap):
        return t("sug.proof.unknown", lang)
    return t("sug.proof.gap", lang, gap=f"{100.0 * gap:.2f}")


def _amount(value: float, unit: str, lang: str) -> str:
    """Return a trip length with its unit ("1,250 米", "12.5 分钟")."""
    digits = 0 if unit == "m" else 1
    return f"{fmt_number(value, lang, digits=digits)} {t('unit.' + unit, lang)}"


def summary_lines(sug: Suggestion, lang: str = "zh") -> list[str]:
    """Return what the answer means, in plain words in ``lang``: the model's own figure, then how sure it is.

    The first line says the model and travel mode; the next the model's figures (sites
    opened and coverage; the mean trip for p-median; the longest trip for p-center; the
    people who lose coverage and the facilities closed for closures); the last whether it
    is proven optimal or its gap, the method and the time.
    """
    head = t("sug.model_line", lang, model=t(f"sug.model.{sug.model}", lang), travel=t(f"travel.{sug.travel}", lang))
    before = 100.0 * sug.baseline_covered / sug.total if sug.total > 0 else float("nan")
    after = 100.0 * sug.covered_after / sug.total if sug.total > 0 else float("nan")
    n = len(sug.sites)
    lines = [head]
    cov = t("sug.line.coverage", lang, n=n, before=f"{before:.1f}", after=f"{after:.1f}")
    if sug.model in ("mclp", "lscp"):
        lines.append(cov)
    elif sug.model == "p_median":
        lines.append(t("sug.line.mean_trip", lang, n=n, trip=_amount(sug.mean_trip, sug.unit, lang)))
        lines.append(cov)
    elif sug.model == "p_center":
        if sug.unserved > 0:  # the longest trip is beyond the matrix: say so, not the longest trip within it
            lines.append(t("sug.line.longest_beyond", lang, n=n, people=fmt_number(float(whole(np.array(
                [sug.unserved]))[0]), lang), reach=_amount(sug.reach, sug.unit, lang)))
        else:
            lines.append(t("sug.line.longest_trip", lang, n=n, trip=_amount(sug.longest_trip, sug.unit, lang)))
        lines.append(cov)
    else:
        names = t("plan.cap_join", lang).join(sug.closed_names) or t("sug.none", lang)
        lines.append(t("sug.line.closures", lang, k=len(sug.closed_names), names=names,
                       people=fmt_number(float(whole(np.array([sug.people_losing]))[0]), lang)))
        if sug.model == "mixed":
            lines.append(cov)
    if sug.model == "p_median" and sug.unserved > 0:
        lines.append(t("sug.line.unserved", lang, people=fmt_number(float(whole(np.array([sug.unserved]))[0]), lang),
                       reach=_amount(sug.reach, sug.unit, lang)))
    lines.append(t("sug.line.proof", lang, proof=proof_text(sug, lang), method=method_text(sug.method, lang),
                   seconds=f"{sug.solve_time_s:.2f}"))
    return lines
