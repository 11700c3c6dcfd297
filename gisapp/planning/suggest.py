"""Suggest new facility sites for a service on a workspace: the workspace adapter of the siting models.

Builds the maximal-covering problem from the workspace: demand rows are the populated
eligible cells of the service (people of its demand group), candidate columns are points
(a grid over populated land, the workspace's settlements layer, or user points), and a
candidate covers a cell when the straight-line distance is within the cell's standard.
Existing facilities are kept: the people they already cover add nothing.  The problem is
built with :mod:`.cover` and solved by the maximal-covering models of :mod:`.mclp`.  A user's
own candidate points come from a CSV read by :func:`read_candidate_points`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from pyproj import Transformer

from gisapp._errors import GisAppError, Problem, WorkspaceError
from gisapp.config.spec import Standard
from gisapp.i18n import t
from gisapp.io import layers as _io
from gisapp.io.points import read_points_csv
from gisapp.metrics.service import run_service
from gisapp.planning import mclp
from gisapp.planning.cover import SitingResult, candidate_grid, coverage_sets
from gisapp.planning.scenario import Edit
from gisapp.travel.straight import straight_line_cost
from gisapp.workspace import Workspace

__all__ = ["Suggestion", "candidate_sites", "has_settlements", "method_text", "read_candidate_points", "suggest",
           "to_edits"]

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
        The solver's :class:`~gisapp.planning.cover.SitingResult`.
    """

    service: str
    sites: pd.DataFrame
    curve: pd.DataFrame
    baseline_covered: float
    total: float
    result: SitingResult

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


def _points(table: pd.DataFrame | None) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[Any]]:
    """Return lon, lat and names of a table of candidate points, checked (names default to P1, P2, ...)."""
    if table is None or len(table) == 0:
        raise GisAppError(code="no_candidate_points")
    missing = {"lon", "lat"} - set(table.columns)
    if missing:
        raise GisAppError(code="candidate_columns", params={"columns": ", ".join(sorted(missing))})
    lon = pd.to_numeric(table["lon"], errors="coerce").to_numpy(float)
    lat = pd.to_numeric(table["lat"], errors="coerce").to_numpy(float)
    if np.isnan(lon).any() or np.isnan(lat).any():
        raise GisAppError(code="candidate_coordinates")
    names = (table["name"].astype(str).to_numpy() if "name" in table.columns
             else np.array([f"P{i + 1}" for i in range(lon.size)]))
    return lon, lat, names


def read_candidate_points(source: bytes | str | Path) -> pd.DataFrame:
    """Read a user's candidate points: a CSV (upload bytes or file) with ``lon``, ``lat`` and optionally ``name``.

    Column names are matched whatever their case; the CSV may be UTF-8 or GBK.

    Returns
    -------
    pandas.DataFrame
        Columns ``lon``, ``lat`` (WGS84 degrees, float) and ``name`` (text; ``P1``, ``P2``, ...
        when the file has none): what :func:`candidate_sites` takes as ``candidate_points``.

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


def suggest(ws: Workspace, service: str, *, k: int | None = None, target_share: float | None = None,
            candidates: Candidates = "grid", spacing_m: float | None = None,
            candidate_points: pd.DataFrame | None = None, method: mclp.Method = "auto",
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
        raise GisAppError(code="k_or_target")
    if k is not None and (isinstance(k, bool) or int(k) != k or k < 1):
        raise GisAppError(code="bad_site_count", params={"k": k})
    if target_share is not None and not (np.isfinite(target_share) and 0 < target_share <= 100):
        raise GisAppError(code="bad_target_share", params={"share": target_share})
    if capacity is not None and not capacity >= 0:
        raise GisAppError(code="bad_site_capacity", params={"capacity": capacity})
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
    cover = coverage_sets(within.matrix[rows], float(thr.max())) if rows.size else None
    if cover is None:
        raise GisAppError(code="no_demand", params={"service": service})
    if k is not None and k > len(cand):
        raise GisAppError(code="too_many_sites", params={"k": k, "n": len(cand)})
    w = dem[rows]
    already = res.covered[rows]
    cap = None if capacity is None else np.full(len(cand), float(capacity))
    if k is not None:
        sr = mclp.suggest_sites(cover, w, int(k), method=method, already_covered=already, capacity=cap)
    else:
        share = float(target_share) / 100.0  # type: ignore[arg-type]
        sr = mclp.mclp_target(cover, w, share, already_covered=already, capacity=cap,
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
