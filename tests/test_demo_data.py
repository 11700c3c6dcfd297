"""Checks on the committed Panzhihua demo workspace (``data/panzhihua/``).

Expected counts are derived here from the reference CSVs in ``data/reference/``, independently
of ``data/build_demo.py``.
"""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
import shapely
import yaml
from pyproj import CRS

from gisapp.grid.population import rasterize_districts

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "data" / "panzhihua"
REF = REPO / "data" / "reference"

DISTRICTS = {
    "510402": "东区",
    "510403": "西区",
    "510411": "仁和区",
    "510421": "米易县",
    "510422": "盐边县",
}
OFFICIAL_AREA_KM2 = {
    "510402": 165.7,
    "510403": 133.2,
    "510411": 1725.7,
    "510421": 2111.4,
    "510422": 3271.8,
}
HOSPITAL_NAMES = (
    "攀枝花市中心医院",
    "攀钢集团总医院",
    "攀枝花市中西医结合医院",
    "攀枝花市第三人民医院",
    "攀枝花市第二人民医院",
    "攀枝花学院附属医院",
    "中国十九冶集团有限公司职工医院",
    "攀枝花煤业(集团)有限责任公司总医院",
    "仁和区人民医院",
    "米易县人民医院",
    "盐边县人民医院",
)
KINDS = (
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
EDUCATION = ("kindergarten", "primary_school", "middle_school")
CARE = ("elderly_care_station", "elderly_day_centre", "nursing_home", "childcare_centre")
COLUMNS = [
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
HEALTH_MEMBERS = (
    "township_health_centre",
    "community_health_centre",
    "community_health_station",
    "village_clinic",
)


@pytest.fixture(scope="module")
def districts() -> gpd.GeoDataFrame:
    return gpd.read_file(DEMO / "districts.geojson")


@pytest.fixture(scope="module")
def districts_m(districts: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    return districts.to_crs(4543)


@pytest.fixture(scope="module")
def facilities() -> pd.DataFrame:
    return pd.read_csv(DEMO / "facilities.csv", dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def census() -> dict[str, int]:
    facts = pd.read_csv(REF / "district_facts.csv", dtype={"adcode": str})
    return dict(zip(facts["adcode"], facts["pop_2020_census"].astype(int), strict=True))


def _read_population() -> tuple[np.ndarray, rasterio.Affine, dict]:
    with rasterio.open(DEMO / "population_100m.tif") as src:
        return src.read(1), src.transform, dict(src.profile) | {"crs_wkt": src.crs.to_wkt()}


# --------------------------------------------------------------------------------------
# districts


def test_districts_adcodes_names(districts: gpd.GeoDataFrame) -> None:
    assert list(districts["adcode"]) == list(DISTRICTS)
    assert dict(zip(districts["adcode"], districts["name"], strict=True)) == DISTRICTS
    assert districts.crs.to_epsg() == 4326
    assert districts.geometry.is_valid.all()


def test_districts_areas_within_one_percent(districts_m: gpd.GeoDataFrame) -> None:
    for ad, area in zip(districts_m["adcode"], districts_m.area / 1e6, strict=True):
        assert abs(area - OFFICIAL_AREA_KM2[ad]) / OFFICIAL_AREA_KM2[ad] < 0.01, ad


def test_districts_do_not_overlap(districts_m: gpd.GeoDataFrame) -> None:
    g = districts_m.geometry.to_numpy()
    for i in range(len(g)):
        for j in range(i + 1, len(g)):
            assert shapely.intersection(g[i], g[j]).area < 1.0  # m^2


def test_districts_file_small() -> None:
    assert (DEMO / "districts.geojson").stat().st_size < 1_000_000


# --------------------------------------------------------------------------------------
# population


def test_population_raster_grid() -> None:
    pop, transform, profile = _read_population()
    assert CRS.from_wkt(profile["crs_wkt"]).name == "CGCS2000 / 3-degree Gauss-Kruger CM 102E"
    assert CRS.from_wkt(profile["crs_wkt"]).to_epsg() == 4543
    assert transform.a == 100.0 and transform.e == -100.0
    assert transform.b == 0.0 and transform.d == 0.0
    assert transform.c % 100.0 == 0.0 and transform.f % 100.0 == 0.0
    assert pop.dtype == np.int32
    assert profile["compress"].lower() == "deflate"
    assert (pop >= 0).all()
    assert (DEMO / "population_100m.tif").stat().st_size < 5_000_000


def test_population_sums_equal_census(
    districts_m: gpd.GeoDataFrame, census: dict[str, int]
) -> None:
    pop, transform, _ = _read_population()
    member = rasterize_districts(districts_m, transform, pop.shape)
    for i, ad in enumerate(districts_m["adcode"]):
        assert int(pop[member == i].sum(dtype=np.int64)) == census[ad], ad
    assert int(pop[member < 0].sum()) == 0
    assert int(pop.sum(dtype=np.int64)) == sum(census.values()) == 1_212_203


def test_population_grid_covers_districts(districts_m: gpd.GeoDataFrame) -> None:
    pop, transform, _ = _read_population()
    x0, y1 = transform.c, transform.f
    x1, y0 = x0 + pop.shape[1] * transform.a, y1 + pop.shape[0] * transform.e
    minx, miny, maxx, maxy = districts_m.total_bounds
    assert x0 <= minx and y0 <= miny and x1 >= maxx and y1 >= maxy
    assert x1 - maxx < 100.0 and minx - x0 < 100.0


# --------------------------------------------------------------------------------------
# facilities


def _expected_counts() -> dict[str, int]:
    """One THC per 乡/镇, a CHC per 街道, a station per 社区, a clinic per 村; schools by rule."""
    tw = pd.read_csv(REF / "townships_nbs2023.csv", dtype=str)
    vl = pd.read_csv(REF / "villages_nbs2023.csv", dtype=str)
    is_comm = vl["name"].str.endswith("居民委员会")
    is_vil = vl["name"].str.endswith("村民委员会")
    assert (is_comm ^ is_vil).all()
    ncomm = vl[is_comm].groupby("streetCode").size()
    nvil = vl[is_vil].groupby("streetCode").size()
    hospitals = pd.read_csv(REF / "hospitals.csv", dtype=str)
    c = dict.fromkeys(KINDS, 0)
    c["hospital"] = len(hospitals) + 1  # 攀钢集团总医院 has two campuses
    for code, name in zip(tw["code"], tw["name"], strict=True):
        street = name.endswith("街道")
        assert street or name.endswith(("镇", "乡"))
        nc, nv = int(ncomm.get(code, 0)), int(nvil.get(code, 0))
        c["township_health_centre"] += not street
        c["community_health_centre"] += street
        c["community_health_station"] += nc
        c["village_clinic"] += nv
        c["kindergarten"] += nc + (not street) + nv // 3
        c["primary_school"] += (nc if street else 1 + max(nc - 1, 0)) + nv // 3
        c["middle_school"] += math.ceil(nc / 2) if street else 1
        # 一老一小: a station and a childcare centre per 社区, a day centre and a home per 街道/乡镇,
        # a childcare centre at each 乡/镇 seat
        c["elderly_care_station"] += nc
        c["elderly_day_centre"] += 1
        c["nursing_home"] += 1
        c["childcare_centre"] += nc + (not street)
    c["nursing_home"] += len(DISTRICTS)  # a 社会福利院 per district
    return c


def test_facility_columns_and_kinds(facilities: pd.DataFrame) -> None:
    assert list(facilities.columns) == COLUMNS
    assert set(facilities["kind"]) == set(KINDS)
    assert facilities["facility_id"].is_unique
    assert (facilities["facility_id"] != "").all()
    assert set(facilities["district_id"]) == set(DISTRICTS)
    assert set(facilities["is_lead"]) <= {"0", "1"}


def test_facility_counts_follow_reference(facilities: pd.DataFrame) -> None:
    counts = facilities["kind"].value_counts().to_dict()
    expected = _expected_counts()
    assert counts == expected
    # a few that are plain facts of the reference data
    assert expected["township_health_centre"] == 38
    assert expected["community_health_centre"] == 11
    assert expected["community_health_station"] == 106
    assert expected["village_clinic"] == 230


def test_facility_counts_per_district(facilities: pd.DataFrame) -> None:
    facts = pd.read_csv(REF / "district_facts.csv", dtype={"adcode": str}).set_index("adcode")
    by = facilities.groupby(["district_id", "kind"]).size()
    for ad in DISTRICTS:
        f = facts.loc[ad]
        assert by.get((ad, "township_health_centre"), 0) == f["towns_zhen"] + f["townships_xiang"]
        assert by.get((ad, "community_health_centre"), 0) == f["streets_jiedao"]
        assert by.get((ad, "community_health_station"), 0) == f["residents_committees"]
        assert by.get((ad, "village_clinic"), 0) == f["village_committees"]
        assert by.get((ad, "hospital"), 0) >= 1


def test_hospital_names(facilities: pd.DataFrame) -> None:
    names = facilities.loc[facilities["kind"] == "hospital", "name"]
    for n in HOSPITAL_NAMES:
        assert names.str.startswith(n).sum() == (2 if n == "攀钢集团总医院" else 1), n


def test_facility_names_use_reference_names(facilities: pd.DataFrame) -> None:
    tw = pd.read_csv(REF / "townships_nbs2023.csv", dtype=str).set_index("code")["name"]
    thc = facilities[facilities["kind"] == "township_health_centre"]
    for fid, name in zip(thc["facility_id"], thc["name"], strict=True):
        assert name == f"{tw[fid.removeprefix('THC')]}卫生院"
    ps = facilities[facilities["facility_id"].str.fullmatch(r"PS\d{9}")]
    assert all(n.endswith("中心小学") for n in ps["name"])


def test_facilities_inside_their_district(
    facilities: pd.DataFrame, districts: gpd.GeoDataFrame
) -> None:
    geoms = dict(zip(districts["adcode"], districts.geometry, strict=True))
    lon = facilities["lon"].astype(float).to_numpy()
    lat = facilities["lat"].astype(float).to_numpy()
    for ad, g in geoms.items():
        sel = (facilities["district_id"] == ad).to_numpy()
        assert shapely.contains_xy(g, lon[sel], lat[sel]).all(), ad


def test_capacities(facilities: pd.DataFrame) -> None:
    cap = facilities[["beds", "doctors", "seats", "care_beds", "places"]].astype(int)
    assert (cap >= 0).all().all()
    kind = facilities["kind"]
    health = kind.isin(KINDS[:5])
    education = kind.isin(EDUCATION)
    assert (cap.loc[~education, "seats"] == 0).all()
    assert (cap.loc[~health, ["beds", "doctors"]] == 0).all().all()
    assert (cap.loc[health, "doctors"] >= 1).all()
    assert (cap.loc[education, "seats"] > 0).all()
    assert (cap.loc[kind != "nursing_home", "care_beds"] == 0).all()
    assert (cap.loc[kind == "nursing_home", "care_beds"] >= 20).all()
    assert (cap.loc[kind != "childcare_centre", "places"] == 0).all()
    assert cap.loc[kind == "childcare_centre", "places"].between(20, 200).all()
    h = cap[kind == "hospital"]
    assert h["beds"].between(200, 1500).all()
    ranges = {
        "kindergarten": (90, 360),
        "primary_school": (270, 1620),
        "middle_school": (600, 2000),
    }
    for k, (lo, hi) in ranges.items():
        assert cap.loc[kind == k, "seats"].between(lo, hi).all(), k


def test_health_consortia(facilities: pd.DataFrame) -> None:
    ygt = facilities[facilities["consortium_id"].str.startswith("YGT-")]
    assert set(ygt["consortium_id"]) == {f"YGT-{ad}" for ad in DISTRICTS}
    for cid, grp in ygt.groupby("consortium_id"):
        leads = grp[grp["is_lead"] == "1"]
        assert len(leads) == 1, cid
        assert leads["kind"].iloc[0] == "hospital"
        assert (grp["district_id"] == cid.removeprefix("YGT-")).all()
    members = facilities[facilities["kind"].isin(HEALTH_MEMBERS)]
    assert (members["consortium_id"] == "YGT-" + members["district_id"]).all()


def test_education_consortia(facilities: pd.DataFrame) -> None:
    jgt = facilities[facilities["consortium_id"].str.startswith("JGT-")]
    assert set(jgt["kind"]) == {"primary_school", "kindergarten"}
    for cid, grp in jgt.groupby("consortium_id"):
        leads = grp[grp["is_lead"] == "1"]
        assert len(leads) == 1, cid
        assert leads["kind"].iloc[0] == "primary_school"
        assert cid.startswith(f"JGT-{grp['district_id'].iloc[0]}-")
    per_district = jgt.groupby("district_id")["consortium_id"].nunique()
    assert per_district.between(3, 6).all()
    others = facilities[~facilities["consortium_id"].str.startswith(("YGT-", "JGT-"))]
    assert (others["consortium_id"] == "").all()
    assert (others["is_lead"] == "0").all()


# --------------------------------------------------------------------------------------
# workspace file and the other demo files


def test_workspace_yaml_points_at_demo_files(
    facilities: pd.DataFrame, districts: gpd.GeoDataFrame
) -> None:
    ws_path = REPO / "layers" / "panzhihua.yaml"
    ws = yaml.safe_load(ws_path.read_text(encoding="utf-8"))
    layers = ws["layers"]
    for layer in layers.values():
        assert (ws_path.parent / layer["path"]).resolve().is_file(), layer["path"]
    dfields = layers["districts"]["fields"]
    assert {dfields["id"], dfields["name"]} <= set(districts.columns)
    ffields = layers["facilities"]["fields"]
    for key, col in ffields.items():
        cols = col if isinstance(col, list) else [col]
        assert set(cols) <= set(facilities.columns), key
    kinds = {k for s in ws["services"].values() for k in s["kinds"]}
    assert kinds == set(KINDS)


def test_settlements(census: dict[str, int]) -> None:
    s = pd.read_csv(
        DEMO / "settlements.csv", dtype={"code": str, "district_adcode": str, "township_code": str}
    )
    assert s["code"].is_unique
    assert s["level"].value_counts().to_dict() == {
        "village": 230,
        "community": 106,
        "township": 49,
        "district_seat": 5,
    }
    assert (s["position"] == "synthetic").all()
    for ad, grp in s.groupby("district_adcode"):
        assert grp["pop_weight"].sum() <= census[ad] + 1


def test_roads() -> None:
    roads = gpd.read_file(DEMO / "roads.geojson")
    assert set(roads["class"]) == {1, 2, 3}
    assert (roads["status"] == "synthetic").all()
    assert (roads.geom_type == "LineString").all()
    assert (roads["class"] == 1).sum() == 4  # a tree over the five district seats


def test_demo_folder_small() -> None:
    assert sum(p.stat().st_size for p in DEMO.iterdir()) < 8_000_000


# --------------------------------------------------------------------------------------
# rebuild


@pytest.mark.slow
def test_rebuild_is_identical(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("build_demo", REPO / "data" / "build_demo.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules["build_demo"] = mod
    try:
        spec.loader.exec_module(mod)
        mod.build(tmp_path, verbose=False)
    finally:
        sys.modules.pop("build_demo", None)
    for name in ("population_100m.tif", "population_2025_100m.tif"):
        with rasterio.open(tmp_path / name) as new, rasterio.open(DEMO / name) as old:
            assert new.crs == old.crs
            assert new.transform == old.transform
            assert new.dtypes == old.dtypes
            np.testing.assert_array_equal(new.read(1), old.read(1))
    assert (tmp_path / "facilities.csv").read_bytes() == (DEMO / "facilities.csv").read_bytes()
    assert (tmp_path / "settlements.csv").read_bytes() == (DEMO / "settlements.csv").read_bytes()
    new_d = gpd.read_file(tmp_path / "districts.geojson")
    old_d = gpd.read_file(DEMO / "districts.geojson")
    assert new_d.geometry.geom_equals_exact(old_d.geometry, tolerance=0.0).all()


# --------------------------------------------------------------------------------------
# 一老一小 and the years (issue 14): synthetic, sized to the national norms


def _years(col: pd.Series) -> pd.Series:
    return pd.to_numeric(col.replace("", np.nan))


def test_elderly_beds_near_the_norm_per_district(facilities: pd.DataFrame, census: dict[str, int]) -> None:
    """Beds of each district: 85-100 % (+ rounding) of 35 per 1,000 residents aged 60+ (18.7 %)."""
    beds = facilities.assign(b=facilities["care_beds"].astype(int)).groupby("district_id")["b"].sum()
    for ad, people in census.items():
        norm = 35.0 * people * 0.187 / 1000.0
        assert 0.85 * norm - 10 <= beds[ad] <= norm + 10, (ad, beds[ad], norm)


def test_childcare_places_near_but_below_the_target(facilities: pd.DataFrame, census: dict[str, int]) -> None:
    """Places per 1,000 residents: below the 4.5 target in 2025, far lower in 2020 (mostly new centres)."""
    cc = facilities[facilities["kind"] == "childcare_centre"]
    places = cc["places"].astype(int)
    per_1000 = places.sum() * 1000.0 / sum(census.values())
    assert 3.8 <= per_1000 < 4.5
    opened = _years(cc["opened"])
    per_1000_2020 = places[~(opened > 2020)].sum() * 1000.0 / sum(census.values())
    assert per_1000_2020 < 0.5 * per_1000


def test_opening_and_closing_years(facilities: pd.DataFrame) -> None:
    """Years are blank or 2021-2025; closures are village units only; new old-kind units are urban schools."""
    opened, closed = _years(facilities["opened"]), _years(facilities["closed"])
    for y in (opened, closed):
        given = y.dropna()
        assert given.between(2021, 2025).all() and (given == given.round()).all()
    assert not (opened.notna() & closed.notna()).any()
    gone = facilities[closed.notna()]
    assert gone["kind"].value_counts().to_dict() == {"village_clinic": 8, "primary_school": 4, "kindergarten": 2}
    assert gone["facility_id"].str.fullmatch(r"(VC|PS|KG)\d{12}").all()
    new_old_kinds = facilities[opened.notna() & ~facilities["kind"].isin(CARE)]
    assert new_old_kinds["kind"].value_counts().to_dict() == {"primary_school": 3, "kindergarten": 2}


def test_population_2025_totals(districts_m: gpd.GeoDataFrame) -> None:
    """The synthetic 2025 grid: district totals = census + 2.5 x (2022 estimate - census), same grid."""
    facts = pd.read_csv(REF / "district_facts.csv", dtype={"adcode": str}).set_index("adcode")
    pop20, transform, _ = _read_population()
    with rasterio.open(DEMO / "population_2025_100m.tif") as src:
        pop25 = src.read(1)
        assert src.transform == transform and src.tags()["STATUS"] == "synthetic"
    member = rasterize_districts(districts_m, transform, pop25.shape)
    for i, ad in enumerate(districts_m["adcode"]):
        c = int(facts.loc[ad, "pop_2020_census"])
        expected = round(c + 2.5 * (float(facts.loc[ad, "resident_pop_2022_est_10k"]) * 1e4 - c))
        assert int(pop25[member == i].sum(dtype=np.int64)) == expected, ad
    assert int(pop25[member < 0].sum()) == 0
    assert ((pop25 > 0) <= (pop20 > 0)).all()  # drawn over the 2020 cells
