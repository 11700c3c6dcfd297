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

from collections import Counter
from collections.abc import Sequence
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
from gisapp.metrics.people import whole
from gisapp.metrics.places import has_places, place_label
from gisapp.metrics.service import run_service
from gisapp.planning import mclp
from gisapp.planning.cover import SitingResult, candidate_grid, coverage_sets
from gisapp.planning.scenario import Edit
from gisapp.travel.straight import straight_line_cost
from gisapp.workspace import Workspace

__all__ = ["Suggestion", "candidate_sites", "curve_export", "has_settlements", "method_text", "read_candidate_points",
           "site_names", "sites_export", "suggest", "to_edits"]

Candidates = Literal["grid", "settlements", "points"]


@dataclass(frozen=True)
class Suggestion:
    """Suggested new sites of one service, in the order they add people.

    Attributes
    ----------
    service
        The service.
    sites
        One row per suggested site: ``rank, candidate_id`` (``C1``, ... for machines),
        ``name`` (the place it is in, see :func:`site_names`), ``lon, lat, x, y, district_id,
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
    named_by
        How the sites are named: ``"place"`` (the village or community they are in),
        ``"coordinates"`` (the workspace has no settlements layer: see :meth:`naming_note`) or
        ``"user"`` (the names of the user's candidate points).
    """

    service: str
    sites: pd.DataFrame
    curve: pd.DataFrame
    baseline_covered: float
    total: float
    result: SitingResult
    named_by: str = "place"

    def naming_note(self, lang: str = "zh") -> str:
        """Return why the sites are named by their coordinates ("" when they are named by place or by the user)."""
        return t("sug.names_by_coordinates", lang) if self.named_by == "coordinates" else ""

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


def suggest(ws: Workspace, service: str, *, k: int | None = None, target_share: float | None = None,
            candidates: Candidates = "grid", spacing_m: float | None = None,
            candidate_points: pd.DataFrame | None = None, method: mclp.Method = "auto",
            capacity: float | None = None, standard: Standard | None = None,
            max_k: int = 200, lang: str = "zh") -> Suggestion:
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
    lang
        Language of the sites' names (the place each is in: "仁和区 · 大田镇 · 某村 附近" /
        "near 某村, 大田镇, 仁和区"; see :func:`site_names`).

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
    given = sites["name"].fillna("").astype(str).to_numpy() if candidates == "points" else np.array([""] * len(sites))
    named_by = "user" if len(sites) and (given != "").all() else ("place" if has_places(ws) else "coordinates")
    if named_by != "user":
        found = site_names(ws, sites["x"].to_numpy(float), sites["y"].to_numpy(float), lang,
                           own=sites["name"].astype(str).tolist() if candidates == "settlements" else None)
        sites["name"] = np.where(given != "", given, np.array(found, dtype=object))
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
    return Suggestion(service=service, sites=sites, curve=curve, baseline_covered=base, total=total, result=sr,
                      named_by=named_by)


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
    return np.cumsum(whole(np.concatenate([[sug.baseline_covered], gains])))


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


def curve_export(sug: Suggestion, lang: str = "zh") -> pd.DataFrame:
    """Return coverage as the number of new sites grows: headers in ``lang``, whole people (as :func:`sites_export`)."""
    return pd.DataFrame({t("col.plan_k", lang): sug.curve["k"].to_numpy(int),
                         t("col.plan_people_covered", lang): _whole_curve(sug),
                         t("col.plan_share_pct", lang): sug.curve["share_pct"].to_numpy(float).round(2)})


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
