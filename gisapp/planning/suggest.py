"""Suggest new facility sites for a service on a workspace (adapter over :mod:`gisapp.siting`).

Builds the maximal-covering problem from the workspace: demand rows are the populated
eligible cells of the service (people of its demand group), candidate columns are points
(a grid over populated land, the workspace's settlements layer, or user points), and a
candidate covers a cell when the straight-line distance is within the cell's standard.
Existing facilities are kept: the people they already cover add nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from pyproj import Transformer

from gisapp._errors import GisAppError, Problem, WorkspaceError
from gisapp.config.spec import Standard
from gisapp.io import layers as _io
from gisapp.metrics.service import run_service
from gisapp.planning import mclp as siting
from gisapp.planning.scenario import Edit
from gisapp.travel.cost import straight_line_cost
from gisapp.workspace import Workspace

__all__ = ["Suggestion", "candidate_sites", "has_settlements", "suggest", "to_edits"]

Candidates = Literal["grid", "settlements", "points"]


@dataclass(frozen=True)
class Suggestion:
    """Suggested new sites of one service, in the order they add people.

    Attributes
    ----------
    service
        The service.
    sites
        One row per suggested site: ``rank, candidate_id, name, lon, lat, x, y, district_id,
        district_name, people_added`` (people of the demand group newly covered, given the
        sites before it), ``people_covered`` (cumulative, existing facilities included) and
        ``share_covered`` (percent).
    curve
        Coverage as k grows: ``k`` (0 = existing facilities only), ``people_covered``,
        ``share_pct``.
    baseline_covered, total
        People covered by the existing facilities, and all eligible people.
    result
        The solver's :class:`~gisapp.siting.SitingResult`.
    """

    service: str
    sites: pd.DataFrame
    curve: pd.DataFrame
    baseline_covered: float
    total: float
    result: siting.SitingResult

    @property
    def method(self) -> str:
        """Return the solver used ("exact", "greedy+swap", ...)."""
        return self.result.method

    @property
    def optimal(self) -> bool:
        """Return True when the set is proven optimal."""
        return bool(self.result.optimal)

    @property
    def solve_time_s(self) -> float:
        """Return the solver's wall-clock time, seconds."""
        return float(self.result.solve_time_s)


def has_settlements(ws: Workspace) -> bool:
    """Return True when the workspace has a ``settlements`` point layer (candidate sites)."""
    return "settlements" in ws.spec.layers


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
        If the candidates cannot be made (no settlements layer, no points, bad columns).
    """
    to_a = Transformer.from_crs(4326, ws.crs, always_xy=True)
    to_w = Transformer.from_crs(ws.crs, 4326, always_xy=True)
    if candidates == "grid":
        g = ws.grid
        sp = float(spacing_m or max(g.res_m, service_radius_m / 2.0))
        x, y, _ = siting.candidate_grid(g.x, g.y, g.pop, spacing_m=sp, min_pop=0.0)
        lon, lat = to_w.transform(x, y)
        names = np.array([f"G{i + 1}" for i in range(x.size)])
    elif candidates == "settlements":
        if not has_settlements(ws):
            msg = "The workspace has no `settlements` layer; add one under layers, or use grid candidates."
            raise GisAppError(msg)
        problems: list[Problem] = []
        pts = _io.read_points(ws.spec.layers["settlements"], problems)
        if pts is None:
            raise WorkspaceError(problems)
        lon, lat = pts["lon"].to_numpy(float), pts["lat"].to_numpy(float)
        x, y = to_a.transform(lon, lat)
        names = pts["name"].to_numpy()
    elif candidates == "points":
        if candidate_points is None or len(candidate_points) == 0:
            msg = "Candidate points are empty; give a table with lon and lat columns (WGS84)."
            raise GisAppError(msg)
        missing = {"lon", "lat"} - set(candidate_points.columns)
        if missing:
            msg = f"Candidate points lack column(s) {', '.join(sorted(missing))}; give lon and lat (WGS84 degrees)."
            raise GisAppError(msg)
        lon = pd.to_numeric(candidate_points["lon"], errors="coerce").to_numpy(float)
        lat = pd.to_numeric(candidate_points["lat"], errors="coerce").to_numpy(float)
        if np.isnan(lon).any() or np.isnan(lat).any():
            msg = "Some candidate coordinates are missing or not numbers; fill in decimal degrees."
            raise GisAppError(msg)
        x, y = to_a.transform(lon, lat)
        names = (candidate_points["name"].astype(str).to_numpy() if "name" in candidate_points.columns
                 else np.array([f"P{i + 1}" for i in range(lon.size)]))
    else:
        msg = f"Unknown candidate type {candidates!r}; use grid, settlements or points."
        raise GisAppError(msg)
    x, y = np.asarray(x, float), np.asarray(y, float)
    return pd.DataFrame({"candidate_id": [f"C{i + 1}" for i in range(x.size)], "name": names,
                         "lon": np.asarray(lon, float), "lat": np.asarray(lat, float), "x": x, "y": y})


def suggest(ws: Workspace, service: str, *, k: int | None = None, target_share: float | None = None,
            candidates: Candidates = "grid", spacing_m: float | None = None,
            candidate_points: pd.DataFrame | None = None, method: siting.Method = "auto",
            capacity: float | None = None, standard: Standard | None = None,
            max_k: int = 200) -> Suggestion:
    """Propose new sites that cover the most people not yet covered (existing facilities kept).

    Parameters
    ----------
    ws
        The workspace.
    service
        The service name.
    k
        Number of new sites; or give ``target_share`` instead.
    target_share
        Covered share to reach (percent, 0-100): the fewest sites (greedy + swap) that reach it.
    candidates, spacing_m, candidate_points
        Candidate sites (see :func:`candidate_sites`).
    method
        ``"auto"``, ``"exact"`` (MIP, HiGHS) or ``"greedy"`` (lazy greedy + swap).
    capacity
        People a new site can serve (None: unlimited).
    standard
        Override of the service's standard.
    max_k
        Upper bound on the number of sites for ``target_share``.

    Returns
    -------
    Suggestion

    Raises
    ------
    GisAppError
        If neither or both of ``k`` and ``target_share`` are given, or inputs are invalid.
    """
    if (k is None) == (target_share is None):
        msg = "Give either k (number of new sites) or target_share (percent covered), not both."
        raise GisAppError(msg)
    res = run_service(ws, service, standard=standard, travel="straight_line")
    svc = res.service
    g = ws.grid
    dem = np.where(res.eligible, res.demand, 0.0)
    rows = np.flatnonzero(dem > 0)
    cand = candidate_sites(ws, candidates, spacing_m=spacing_m, candidate_points=candidate_points,
                           service_radius_m=svc.cutoff_m)
    thr = res.threshold_m
    cm = straight_line_cost(g.cell_index, g.transform, cand["x"].to_numpy(), cand["y"].to_numpy(),
                            cutoff_m=float(thr.max()))
    within = cm.within(thr)
    cover = siting.coverage_sets(within.matrix[rows], float(thr.max())) if rows.size else None
    if cover is None:
        msg = f"Service {service!r} has no demand to cover."
        raise GisAppError(msg)
    w = dem[rows]
    already = res.covered[rows]
    cap = None if capacity is None else np.full(len(cand), float(capacity))
    if k is not None:
        sr = siting.suggest_sites(cover, w, int(k), method=method, already_covered=already, capacity=cap)
    else:
        share = float(target_share) / 100.0  # type: ignore[arg-type]
        sr = siting.mclp_target(cover, w, share, already_covered=already, capacity=cap,
                                max_k=min(max_k, len(cand)))
    sel = np.asarray(sr.selected, dtype=np.int64)
    total = float(w.sum())
    sites = cand.iloc[sel].reset_index(drop=True)
    sites.insert(0, "rank", np.arange(1, sel.size + 1))
    d = ws.district_at(sites["x"].to_numpy(), sites["y"].to_numpy())
    sites["district_id"] = np.where(d >= 0, ws.districts["district_id"].to_numpy()[np.clip(d, 0, None)], "")
    sites["district_name"] = np.where(d >= 0, ws.districts["district_name"].to_numpy()[np.clip(d, 0, None)], "")
    sites["people_added"] = np.asarray(sr.gains, dtype=float)
    sites["people_covered"] = np.asarray(sr.curve, dtype=float)
    sites["share_covered"] = 100.0 * sites["people_covered"] / total if total > 0 else np.nan
    base = float(sr.base_weight)
    curve = pd.DataFrame({"k": np.arange(0, sel.size + 1),
                          "people_covered": np.concatenate([[base], np.asarray(sr.curve, float)])})
    curve["share_pct"] = 100.0 * curve["people_covered"] / total if total > 0 else np.nan
    return Suggestion(service=service, sites=sites, curve=curve, baseline_covered=base, total=total, result=sr)


def to_edits(suggestion: Suggestion, kind: str, *, prefix: str = "NEW", capacity: dict[str, float] | None = None,
             name_prefix: str = "") -> list[Edit]:
    """Return "add" edits that place the suggested sites (ids ``<prefix>-<rank>``)."""
    out = []
    for r in suggestion.sites.itertuples(index=False):  # k sites, not cells
        out.append(Edit("add", f"{prefix}-{r.rank}", lon=float(r.lon), lat=float(r.lat),  # type: ignore[arg-type]
                        name=f"{name_prefix}{r.name}", kind=kind, capacity=dict(capacity or {})))
    return out
