"""Named places: every populated cell belongs to a village or community, within a township and district.

A planner acts on places, not on grid cells.  :func:`place_index` attributes each populated
cell to the nearest settlement (a village or community of the workspace's ``settlements``
layer) **of the cell's own district**, so a place never straddles a district border; the
settlement's ``township`` field names its township.  On top of it:

- :func:`gap_places`: the people beyond a service's standard, by place (district → township →
  village), whole people, with the distance and travel time to the nearest facility of the
  service and that facility's name, ranked by people.  Fragments of uncovered cells are folded
  into their place; they are never listed alone.
- :func:`coverage_by_place`: coverage by township or by village (the drill-down tables).
- :func:`place_label`: the place a point is in (suggested sites are named by it).
- :func:`search_places`: find a district, township, village or facility by name.

Without a settlements layer there are no places: :func:`has_places` is False, the functions
fall back to districts and every caller says so (no silent fallback).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
from numpy.typing import NDArray
from pyproj import Transformer
from scipy.spatial import cKDTree

from gisapp._errors import Problem, WorkspaceError
from gisapp.config.spec import FACILITY_KINDS
from gisapp.i18n import t
from gisapp.io import layers as _layers
from gisapp.metrics.people import whole
from gisapp.metrics.service import ServiceResult
from gisapp.workspace import Workspace

__all__ = [
    "GAP_PLACE_COLUMNS",
    "PLACE_LEVELS",
    "PlaceIndex",
    "coverage_by_place",
    "gap_places",
    "has_places",
    "place_index",
    "place_label",
    "search_places",
]

#: The ``level`` values of the settlements layer that are places people live in (NBS
#: 村民委员会 / 社区居民委员会).  When the layer has no ``level`` field every row is a place.
PLACE_LEVELS: Final = ("village", "community")
#: The level of a township seat in the settlements layer (used for township label positions).
TOWNSHIP_LEVEL: Final = "township"

#: Columns of :func:`gap_places`.
GAP_PLACE_COLUMNS: Final = ["rank", "district_id", "district_name", "township", "place", "people", "cells",
                            "distance_m", "travel_min", "facility_id", "facility_name", "lon", "lat",
                            "west", "south", "east", "north"]

_CACHE_KEY: Final = ("metrics.places", "index")
#: half the side of the box a search hit of a point (village, facility) zooms to, metres
_POINT_PAD_M: Final = 1500.0


@dataclass(frozen=True)
class PlaceIndex:
    """The places of a workspace and the place of every populated cell.

    Attributes
    ----------
    places
        One row per place (positional index = place number): ``place`` (name), ``township``,
        ``district_id``, ``district_name``, ``level``, ``lon``, ``lat`` (WGS84), ``x``, ``y``
        (analysis CRS), ``district`` (row of ``ws.districts``).
    cell_place
        Per grid cell, the row of :attr:`places` it belongs to (-1: its district has no place).
    townships
        One row per township: ``township``, ``district_id``, ``district_name``, ``lon``,
        ``lat`` (the seat when the layer has one, else the mean of its places), ``x``, ``y``.
    """

    places: pd.DataFrame
    cell_place: NDArray[np.int64]
    townships: pd.DataFrame


def has_places(ws: Workspace) -> bool:
    """Return True when the workspace has a ``settlements`` layer to name places with."""
    return "settlements" in ws.spec.layers


def _read_settlements(ws: Workspace) -> pd.DataFrame:
    problems: list[Problem] = []
    pts = _layers.read_points(ws.spec.layers["settlements"], problems)
    if pts is None:
        raise WorkspaceError(problems)
    df = pd.DataFrame(pts.drop(columns="geometry"))
    for col in ("township", "level"):
        if col not in df.columns:
            df[col] = ""
    x, y = Transformer.from_crs(4326, ws.crs, always_xy=True).transform(df["lon"].to_numpy(float),
                                                                        df["lat"].to_numpy(float))
    df["x"], df["y"] = np.asarray(x, float), np.asarray(y, float)
    # the district holding each point; a point outside every district takes the nearest one
    pts_a = gpd.GeoDataFrame(df[["x"]], geometry=gpd.points_from_xy(df["x"], df["y"]), crs=ws.crs)
    dist = ws.districts[["geometry"]].reset_index(drop=True)
    near = gpd.sjoin_nearest(pts_a, dist, how="left")
    near = near[~near.index.duplicated(keep="first")]
    df["district"] = near["index_right"].reindex(df.index).fillna(-1).astype(np.int64).to_numpy()
    return df


def place_index(ws: Workspace) -> PlaceIndex:
    """Return the places of ``ws`` and the place of each populated cell (computed once per workspace).

    Each cell takes the nearest place (straight line) among the places of its own district.

    Raises
    ------
    gisapp._errors.WorkspaceError
        If the settlements layer cannot be read (the problems name the file and the field).
    """
    cached = ws.cache.get(_CACHE_KEY)
    if isinstance(cached, PlaceIndex):
        return cached
    g = ws.grid
    ids = ws.districts["district_id"].astype(str).to_numpy()
    names = ws.districts["district_name"].astype(str).to_numpy()
    if not has_places(ws):
        empty = pd.DataFrame(columns=["place", "township", "district_id", "district_name", "level", "lon", "lat",
                                      "x", "y", "district"])
        idx = PlaceIndex(empty, np.full(g.n, -1, dtype=np.int64),
                         pd.DataFrame(columns=["township", "district_id", "district_name", "lon", "lat", "x", "y"]))
        ws.cache[_CACHE_KEY] = idx
        return idx
    st = _read_settlements(ws)
    levels = st["level"].astype(str)
    is_place = levels.isin(PLACE_LEVELS)
    places = st[is_place] if is_place.any() else st
    places = places.reset_index(drop=True).rename(columns={"name": "place"})
    places = places[places["district"] >= 0].reset_index(drop=True)
    places["district_id"] = ids[places["district"].to_numpy()]
    places["district_name"] = names[places["district"].to_numpy()]
    cell_place = np.full(g.n, -1, dtype=np.int64)
    for d in range(len(ids)):
        mine = np.flatnonzero(places["district"].to_numpy() == d)
        cells = np.flatnonzero(g.district == d)
        if mine.size == 0 or cells.size == 0:
            continue
        tree = cKDTree(np.column_stack([places["x"].to_numpy(float)[mine], places["y"].to_numpy(float)[mine]]))
        _, j = tree.query(np.column_stack([g.x[cells], g.y[cells]]))
        cell_place[cells] = mine[np.asarray(j, dtype=np.int64)]
    # township positions: the seat when the layer has one, else the mean of its places
    seats = st[levels == TOWNSHIP_LEVEL]
    tw = places[places["township"] != ""].groupby(["district_id", "district_name", "township"], sort=False)[
        ["lon", "lat", "x", "y"]].mean().reset_index()
    if len(seats):
        by_name = seats.drop_duplicates("name").set_index("name")
        has_seat = tw["township"].isin(by_name.index)
        for col in ("lon", "lat", "x", "y"):
            tw.loc[has_seat, col] = by_name.loc[tw.loc[has_seat, "township"], col].to_numpy(float)
    townships = tw[["township", "district_id", "district_name", "lon", "lat", "x", "y"]]
    out = PlaceIndex(places[["place", "township", "district_id", "district_name", "level", "lon", "lat", "x", "y",
                             "district"]], cell_place, townships.reset_index(drop=True))
    ws.cache[_CACHE_KEY] = out
    return out


def _groups(ws: Workspace, idx: PlaceIndex) -> tuple[NDArray[np.int64], pd.DataFrame]:
    """Return a group number per cell and one row per group: the places, then one per district (no place)."""
    nplace = len(idx.places)
    g = ws.grid
    group = np.where(idx.cell_place >= 0, idx.cell_place, nplace + g.district.astype(np.int64))
    rows = idx.places[["district_id", "district_name", "township", "place", "lon", "lat"]].copy()
    extra = pd.DataFrame({"district_id": ws.districts["district_id"].astype(str).to_numpy(),
                          "district_name": ws.districts["district_name"].astype(str).to_numpy(),
                          "township": "", "place": "", "lon": np.nan, "lat": np.nan})
    return group, pd.concat([rows, extra], ignore_index=True)


def _minutes(res: ServiceResult) -> NDArray[np.float64]:
    """Return the travel to the nearest facility in minutes (a route length is walked/driven at the standard's speed)."""
    cost = np.asarray(res.travel_cost, dtype=np.float64)
    if res.unit == "min":
        return cost
    return cost / (res.service.standard.speed * 1000.0 / 60.0)


def gap_places(ws: Workspace, res: ServiceResult) -> pd.DataFrame:
    """Return the people beyond the service's standard by place, ranked by people (most first).

    Columns (:data:`GAP_PLACE_COLUMNS`): ``rank``; ``district_id``, ``district_name``,
    ``township``, ``place`` (empty when the district has no place, or the workspace no
    settlements layer); ``people`` (whole people of the service's demand group; the rows sum
    to the rounded total beyond the standard); ``cells``; ``distance_m`` and ``travel_min``
    (people-weighted mean straight-line distance, m, and travel time, minutes, from those
    people to their nearest facility of the service; NaN when there is none);
    ``facility_id``, ``facility_name`` (the nearest facility of most of those people);
    ``lon``, ``lat`` (the place's point; for a district row the people-weighted centre) and
    ``west``, ``south``, ``east``, ``north`` (WGS84 box of the place's uncovered cells).
    Places whose uncovered people round to 0 are left out.
    """
    idx = place_index(ws)
    g = ws.grid
    gap = np.flatnonzero(res.eligible & ~res.covered & (res.demand > 0))
    if gap.size == 0:
        return pd.DataFrame(columns=GAP_PLACE_COLUMNS)
    group_all, rows = _groups(ws, idx)
    grp = group_all[gap]
    dem = res.demand[gap]
    ng = len(rows)
    people = np.bincount(grp, weights=dem, minlength=ng)
    ncell = np.bincount(grp, minlength=ng)
    near = np.asarray(res.nearest_m[gap], dtype=np.float64)
    mins = _minutes(res)[gap]
    fin_d, fin_t = np.isfinite(near), np.isfinite(mins)
    w_d = np.bincount(grp, weights=np.where(fin_d, dem, 0.0), minlength=ng)
    w_t = np.bincount(grp, weights=np.where(fin_t, dem, 0.0), minlength=ng)
    dist = np.bincount(grp, weights=np.where(fin_d, near * dem, 0.0), minlength=ng)
    dist = np.divide(dist, w_d, out=np.full(ng, np.nan), where=w_d > 0)
    tmin = np.bincount(grp, weights=np.where(fin_t, mins * dem, 0.0), minlength=ng)
    tmin = np.divide(tmin, w_t, out=np.full(ng, np.nan), where=w_t > 0)
    # the nearest facility of most of the place's uncovered people
    fac_of = np.asarray(res.nearest_facility[gap], dtype=np.int64)
    pairs = pd.DataFrame({"g": grp, "f": fac_of, "w": dem})
    pairs = pairs[pairs["f"] >= 0].groupby(["g", "f"], sort=False)["w"].sum().reset_index()
    top = pairs.sort_values(["g", "w", "f"], ascending=[True, False, True]).drop_duplicates("g")
    fac = np.full(ng, -1, dtype=np.int64)
    fac[top["g"].to_numpy(np.int64)] = top["f"].to_numpy(np.int64)
    fids = ws.facilities["facility_id"].astype(str).to_numpy()
    fnames = ws.facilities["name"].astype(str).to_numpy()
    # boxes and people-weighted centres
    frame = pd.DataFrame({"g": grp, "x": g.x[gap], "y": g.y[gap], "wx": g.x[gap] * dem, "wy": g.y[gap] * dem})
    agg = frame.groupby("g").agg(x0=("x", "min"), x1=("x", "max"), y0=("y", "min"), y1=("y", "max"),
                                 wx=("wx", "sum"), wy=("wy", "sum"))
    half = g.res_m / 2.0
    to_w = Transformer.from_crs(ws.crs, 4326, always_xy=True)
    west, south = to_w.transform(agg["x0"].to_numpy() - half, agg["y0"].to_numpy() - half)
    east, north = to_w.transform(agg["x1"].to_numpy() + half, agg["y1"].to_numpy() + half)
    wsum = people[agg.index.to_numpy()]
    clon, clat = to_w.transform(agg["wx"].to_numpy() / np.where(wsum > 0, wsum, 1.0),
                                agg["wy"].to_numpy() / np.where(wsum > 0, wsum, 1.0))
    used = agg.index.to_numpy(np.int64)
    out = rows.iloc[used].copy()
    out["people_f"] = people[used]
    out["cells"] = ncell[used]
    out["distance_m"] = dist[used]
    out["travel_min"] = tmin[used]
    out["facility_id"] = np.where(fac[used] >= 0, fids[np.clip(fac[used], 0, None)], "")
    out["facility_name"] = np.where(fac[used] >= 0, fnames[np.clip(fac[used], 0, None)], "")
    out["lon"] = np.where(out["lon"].notna(), out["lon"], clon)
    out["lat"] = np.where(out["lat"].notna(), out["lat"], clat)
    out["west"], out["south"], out["east"], out["north"] = west, south, east, north
    out["people"] = whole(out["people_f"].to_numpy())
    out = out[out["people"] > 0].sort_values(["people", "people_f", "district_id", "township", "place"],
                                             ascending=[False, False, True, True, True], kind="stable")
    out.insert(0, "rank", np.arange(1, len(out) + 1))
    return out.reset_index(drop=True)[GAP_PLACE_COLUMNS]


def coverage_by_place(ws: Workspace, res: ServiceResult,
                      level: Literal["township", "village"] = "township") -> pd.DataFrame:
    """Return the coverage of a service by township or by village (the drill-down tables).

    Columns: ``district_id``, ``district_name``, ``township``, (``place`` for villages),
    ``population``, ``covered``, ``uncovered`` (whole people of the demand group, population
    = covered + uncovered on every row) and ``covered_pct``.  Ordered by district (the
    workspace's order), then township and place.  Cells of a district without places form
    one row with an empty township.
    """
    if level not in ("township", "village"):
        raise ValueError(f"level must be 'township' or 'village', not {level!r}")
    idx = place_index(ws)
    group, rows = _groups(ws, idx)
    elig = res.eligible & (res.demand > 0)
    ng = len(rows)
    pop = np.bincount(group[elig], weights=res.demand[elig], minlength=ng)
    cov = np.bincount(group[elig], weights=np.where(res.covered[elig], res.demand[elig], 0.0), minlength=ng)
    rows = rows.assign(_pop=pop, _cov=cov, _order=np.concatenate([
        idx.places["district"].to_numpy(np.int64), np.arange(len(ws.districts), dtype=np.int64)]))
    keys = ["_order", "district_id", "district_name", "township"] + (["place"] if level == "village" else [])
    agg = rows.groupby(keys, sort=True)[["_pop", "_cov"]].sum().reset_index()
    agg = agg[agg["_pop"] > 0].reset_index(drop=True)
    covered = whole(agg["_cov"].to_numpy())
    uncovered = whole((agg["_pop"] - agg["_cov"]).clip(lower=0.0).to_numpy())
    agg["population"] = covered + uncovered
    agg["covered"] = covered
    agg["uncovered"] = uncovered
    agg["covered_pct"] = 100.0 * agg["_cov"] / agg["_pop"]
    return agg.drop(columns=["_order", "_pop", "_cov"])


def place_label(ws: Workspace, x: NDArray[np.floating] | list[float], y: NDArray[np.floating] | list[float],
                lang: str) -> list[str]:
    """Return the place each point (analysis CRS) is in: "仁和区 · 大田镇 · 某村" / "某村, 大田镇, 仁和区".

    The nearest place of the district holding the point (the nearest district when outside
    all); without places, the district's name.
    """
    xs, ys = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if xs.size == 0:
        return []
    pts = gpd.GeoDataFrame(geometry=gpd.points_from_xy(xs, ys), crs=ws.crs)
    near = gpd.sjoin_nearest(pts, ws.districts[["geometry"]].reset_index(drop=True), how="left")
    dist_of = near[~near.index.duplicated(keep="first")]["index_right"].to_numpy(np.int64)
    dnames = ws.districts["district_name"].astype(str).to_numpy()
    idx = place_index(ws)
    pl = idx.places
    out: list[str] = []
    for i in range(xs.size):
        d = int(dist_of[i])
        parts = [dnames[d]]
        mine = np.flatnonzero(pl["district"].to_numpy() == d) if len(pl) else np.zeros(0, dtype=np.int64)
        if mine.size:
            dx = pl["x"].to_numpy(float)[mine] - xs[i]
            dy = pl["y"].to_numpy(float)[mine] - ys[i]
            j = int(mine[int(np.argmin(dx * dx + dy * dy))])
            parts += [str(pl.at[j, "township"]), str(pl.at[j, "place"])]
        parts = [p for p in parts if p]
        out.append(" · ".join(parts) if lang == "zh" else ", ".join(reversed(parts)))
    return out


_KIND_ORDER: Final = {"district": 0, "township": 1, "village": 2, "facility": 3}


def search_places(ws: Workspace, query: str, lang: str, *, limit: int = 20) -> pd.DataFrame:
    """Find districts, townships, villages/communities and facilities whose name holds ``query``.

    Columns: ``kind`` ("district", "township", "village", "facility"), ``name``, ``detail``
    (where it is, in ``lang``), ``lon``, ``lat`` and the box to zoom to: ``west``, ``south``,
    ``east``, ``north`` (WGS84).  Exact names first, then names that start with the query,
    then the rest; within each, districts, townships, villages, facilities.  A facility is
    also found by its id.  An empty query finds nothing.
    """
    cols = ["kind", "name", "detail", "lon", "lat", "west", "south", "east", "north"]
    q = query.strip().casefold()
    if not q:
        return pd.DataFrame(columns=cols)
    to_w = Transformer.from_crs(ws.crs, 4326, always_xy=True)
    hits: list[pd.DataFrame] = []

    def boxes(x: NDArray[np.float64], y: NDArray[np.float64], pad: float) -> tuple[NDArray[np.float64], ...]:
        w, s = to_w.transform(x - pad, y - pad)
        e, n = to_w.transform(x + pad, y + pad)
        return np.asarray(w), np.asarray(s), np.asarray(e), np.asarray(n)

    d = ws.districts
    d_w = d.to_crs(4326)
    b = d_w.geometry.bounds
    rp = d_w.geometry.representative_point()
    hits.append(pd.DataFrame({"kind": "district", "name": d["district_name"].astype(str).to_numpy(),
                              "detail": t("word.district", lang), "lon": rp.x.to_numpy(), "lat": rp.y.to_numpy(),
                              "west": b["minx"].to_numpy(), "south": b["miny"].to_numpy(),
                              "east": b["maxx"].to_numpy(), "north": b["maxy"].to_numpy()}))
    idx = place_index(ws)
    if len(idx.townships):
        tw = idx.townships
        pl = idx.places
        # a township's box holds its places and its seat
        ext = pl.groupby(["district_id", "township"], as_index=False).agg(
            x0=("x", "min"), x1=("x", "max"), y0=("y", "min"), y1=("y", "max"))
        box = tw.merge(ext, on=["district_id", "township"], how="left")
        xs, ys = box["x"].to_numpy(float), box["y"].to_numpy(float)
        x0 = np.fmin(box["x0"].to_numpy(float), xs) - _POINT_PAD_M
        x1 = np.fmax(box["x1"].to_numpy(float), xs) + _POINT_PAD_M
        y0 = np.fmin(box["y0"].to_numpy(float), ys) - _POINT_PAD_M
        y1 = np.fmax(box["y1"].to_numpy(float), ys) + _POINT_PAD_M
        w, s = to_w.transform(x0, y0)
        e, n = to_w.transform(x1, y1)
        hits.append(pd.DataFrame({"kind": "township", "name": tw["township"].astype(str).to_numpy(),
                                  "detail": tw["district_name"].astype(str).to_numpy(),
                                  "lon": tw["lon"].to_numpy(float), "lat": tw["lat"].to_numpy(float),
                                  "west": w, "south": s, "east": e, "north": n}))
    if len(idx.places):
        pl = idx.places
        wv, sv, ev, nv = boxes(pl["x"].to_numpy(float), pl["y"].to_numpy(float), _POINT_PAD_M)
        sep = " · " if lang == "zh" else ", "
        detail = [sep.join(p for p in ((a, b_) if lang == "zh" else (b_, a)) if p)
                  for a, b_ in zip(pl["district_name"].astype(str), pl["township"].astype(str), strict=True)]
        hits.append(pd.DataFrame({"kind": "village", "name": pl["place"].astype(str).to_numpy(), "detail": detail,
                                  "lon": pl["lon"].to_numpy(float), "lat": pl["lat"].to_numpy(float),
                                  "west": wv, "south": sv, "east": ev, "north": nv}))
    f = ws.facilities
    if len(f):
        wf, sf, ef, nf = boxes(f["x"].to_numpy(float), f["y"].to_numpy(float), _POINT_PAD_M / 2.0)
        dnames = dict(zip(ws.districts["district_id"].astype(str), ws.districts["district_name"].astype(str),
                          strict=True))
        kinds = [FACILITY_KINDS.get(str(k), {}).get(lang, str(k)) for k in f["kind"]]
        detail = [f"{k} · {dnames.get(str(did), '')}".rstrip(" ·") for k, did in zip(kinds, f["district_id"], strict=True)]
        fac = pd.DataFrame({"kind": "facility", "name": f["name"].astype(str).to_numpy(), "detail": detail,
                            "lon": f["lon"].to_numpy(float), "lat": f["lat"].to_numpy(float),
                            "west": wf, "south": sf, "east": ef, "north": nf,
                            "_id": f["facility_id"].astype(str).to_numpy()})
        hits.append(fac)
    allh = pd.concat(hits, ignore_index=True)
    name = allh["name"].astype(str).str.casefold()
    ident = allh["_id"].fillna("").astype(str).str.casefold() if "_id" in allh.columns else pd.Series("", index=allh.index)
    match = name.str.contains(q, regex=False) | (ident == q)
    allh = allh[match].copy()
    name = name[match]
    allh["_rank"] = np.where(name == q, 0, np.where(name.str.startswith(q), 1, 2))
    allh["_kind"] = allh["kind"].map(_KIND_ORDER)
    allh["_len"] = allh["name"].astype(str).str.len()
    allh = allh.sort_values(["_rank", "_kind", "_len", "name"], kind="stable").head(limit)
    return allh[cols].reset_index(drop=True)
