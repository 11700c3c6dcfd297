"""Parity with WHO AccessMod 5 on its own demo data (../shared/reference/accessmod_demo/).

The zip holds AccessMod's inputs and the outputs it computed from them; it is unzipped into
a temporary folder, never copied into the repository.  The figures asserted here, and
every systematic difference behind them, are documented in docs/accessmod_parity.md.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
from rasterio import features

from gisapp.metrics import capacity as capacity
from gisapp.travel import friction as friction
from gisapp.travel import grid_search

pytestmark = pytest.mark.accessmod

ZIP = Path(os.environ.get(
    "GISAPP_ACCESSMOD_ZIP",
    Path(__file__).resolve().parents[3] / "shared" / "reference" / "accessmod_demo"
    / "accessmod_demo.zip",
))
MAX_S = 7200.0  # the demo's 120-minute limit, seconds
CATS = [2, 3, 5, 6]  # the facilities of the demo's analysis


def _raster(root: Path, rel: str) -> tuple[np.ndarray, Any, Any, Any]:
    with rasterio.open(root / rel) as src:
        return src.read(1), src.transform, src.nodata, src.crs


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    if not ZIP.is_file():
        pytest.skip(f"AccessMod demo data not found at {ZIP} (set GISAPP_ACCESSMOD_ZIP to its path)")
    root = tmp_path_factory.mktemp("accessmod_demo")
    with zipfile.ZipFile(ZIP) as z:
        z.extractall(root)
    lc, transform, lc_nodata, crs = _raster(root, "base/land_cover__demo/land_cover__demo.GeoTIFF")
    dem, _, dem_nodata, _ = _raster(root, "base/DEM/dem__dem.GeoTIFF")
    pop, _, pop_nodata, _ = _raster(root, "base/population__demo/population__demo.GeoTIFF")
    ref, _, _, _ = _raster(root, "analysis/cumulative_cost__demo/cumulative_cost__demo.GeoTIFF")
    merged, _, merged_nodata, _ = _raster(
        root, "analysis/land_cover_merged__demo/land_cover_merged__demo.GeoTIFF")

    def shp(rel: str) -> gpd.GeoDataFrame:
        return gpd.read_file(root / rel)

    roads = shp("base/road__demo/road__demo/road__demo.shp")
    barriers = pd.concat([
        shp("base/barrier__demo_river/barrier__demo_river/barrier__demo_river.shp")[["geometry"]],
        shp("base/barrier_restricted_area/barrier__demo/barrier__demo.shp")[["geometry"]],
    ], ignore_index=True)
    barriers = gpd.GeoDataFrame(barriers, geometry="geometry", crs=roads.crs)
    hf = shp("base/health_facilities__demo/health_facilities__demo/health_facilities__demo.shp")
    hf = hf[hf["cat"].isin(CATS)].sort_values("cat").reset_index(drop=True)
    zones = shp("base/zone_admin__city/zone_admin__city/zone_admin__city.shp")
    table = friction.read_speed_table(root / "base/table_model__demo/table_model__demo.xlsx")
    surface = friction.speed_surface(lc, table, transform=transform, roads=roads,
                                     barriers=barriers, landcover_nodata=int(lc_nodata), crs=crs)
    sources = grid_search.points_to_rc(hf.geometry.x.to_numpy(), hf.geometry.y.to_numpy(), transform)
    zonal = pd.read_excel(root / "analysis/table_zonal_coverage__demo_geog_cover_aniso_tow_120m_"
                          "zones_orderPop/table_zonal_coverage__demo_geog_cover_aniso_tow_120m_"
                          "zones_orderPop.xlsx")
    residual, _, _, _ = _raster(root, "analysis/population_residual__demo_geog_cover_aniso_tow_"
                                "120m_zones_orderPop/population_residual__demo_geog_cover_aniso_"
                                "tow_120m_zones_orderPop.GeoTIFF")
    return {
        "surface": surface,
        "dem": np.where(dem == dem_nodata, np.nan, dem.astype(np.float64)),
        "pop": np.where(pop == pop_nodata, 0, pop).astype(np.float64),
        "ref_s": ref.astype(np.float64),
        "merged": np.where(merged == merged_nodata, -1, merged.astype(np.int64)),
        "sources": sources,
        "facilities": hf,
        "zones": zones,
        "zonal": zonal,
        "residual_total": float(np.nansum(residual)),
        "transform": transform,
    }


def parity_figures(ours_min: np.ndarray, ref_s: np.ndarray) -> dict[str, float]:
    """The figures of the issue: reached-set agreement and time ratios on cells both reach."""
    ours_s = ours_min * 60.0
    ours_in = np.isfinite(ours_s) & (ours_s <= MAX_S)
    ref_in = np.isfinite(ref_s)
    both = ours_in & ref_in & (ref_s > 0)
    ratio = ours_s[both] / ref_s[both]
    rel = np.abs(ratio - 1.0)
    return {
        "agreement": float((ours_in == ref_in).mean()),
        "median_ratio": float(np.median(ratio)),
        "median_rel_diff": float(np.median(rel)),
        "p90_rel_diff": float(np.quantile(rel, 0.9)),
        "n_both": int(both.sum()),
    }


def assert_issue_thresholds(f: dict[str, float]) -> None:
    assert f["agreement"] >= 0.99, f
    assert 0.97 <= f["median_ratio"] <= 1.03, f
    assert f["median_rel_diff"] <= 0.05, f
    assert f["p90_rel_diff"] <= 0.15, f


def test_merged_land_cover_matches_accessmod(demo):
    ours = demo["surface"].klass
    assert (ours == demo["merged"]).mean() >= 0.999
    # population on impassable cells (AccessMod: 2,790 people "on barrier")
    on_barrier = demo["pop"][~demo["surface"].passable].sum()
    assert on_barrier == pytest.approx(2790, rel=0.01)


def test_travel_time_parity_with_accessmod_settings(demo):
    graph = grid_search.grid_graph(demo["surface"], dem=demo["dem"], direction="towards",
                                  **grid_search.ACCESSMOD_5)
    minutes, alloc = grid_search.nearest(graph, demo["sources"], max_minutes=120)
    f = parity_figures(minutes, demo["ref_s"])
    assert_issue_thresholds(f)
    # tighter than the issue asks: what this reconstruction reaches (docs/accessmod_parity.md)
    assert f["agreement"] >= 0.998 and f["median_rel_diff"] <= 0.02 and f["p90_rel_diff"] <= 0.10
    rc = demo["sources"]
    assert (minutes[rc[:, 0], rc[:, 1]] == 0).all()
    assert (alloc[rc[:, 0], rc[:, 1]] == np.arange(len(rc))).all()


def test_travel_time_parity_with_default_settings(demo):
    """The physically exact defaults (16 neighbours, time average, bicycles capped) too."""
    minutes, _ = grid_search.nearest(demo["surface"], demo["sources"], dem=demo["dem"],
                                    direction="towards", max_minutes=120)
    assert_issue_thresholds(parity_figures(minutes, demo["ref_s"]))


def test_capacity_coverage_parity(demo):
    surface, pop = demo["surface"], demo["pop"]
    rr, cc = np.nonzero(pop > 0)
    cell_index = np.full(surface.shape, -1, dtype=np.int64)
    cell_index[rr, cc] = np.arange(rr.size)
    graph = grid_search.grid_graph(surface, dem=demo["dem"], direction="towards",
                                  **grid_search.ACCESSMOD_5)
    cost = grid_search.cost_matrix(graph, demo["sources"], cell_index, max_minutes=120)
    zones = demo["zones"]
    zone_raster = features.rasterize(((g, i) for i, g in enumerate(zones.geometry)),
                                     out_shape=surface.shape, transform=demo["transform"],
                                     fill=-1, dtype="int32")
    hf = demo["facilities"]
    result = capacity.capacity_coverage(
        pop[rr, cc], cost, hf["capacity"].to_numpy(float), order=np.arange(len(hf)),
        zone=zone_raster[rr, cc], facility_ids=hf["cat"].tolist(), zone_ids=zones["zone"].tolist())
    assert result.zones is not None
    theirs = demo["zonal"].set_index("zone")
    for name, row in result.zones.iterrows():
        assert row[capacity.POP_COVERED_COL] == pytest.approx(theirs.loc[name, "amPopCovered"],
                                                              rel=0.02), name
        assert row[capacity.POP_COL] == pytest.approx(theirs.loc[name, "amPopSum"])
    # every facility filled its capacity, as in AccessMod's capacity table
    assert (result.facilities[capacity.CAPACITY_RESIDUAL_COL] == 0).all()
    # people left uncovered (AccessMod: 98,970)
    uncovered = pop.sum() - result.covered.sum()
    assert uncovered == pytest.approx(demo["residual_total"], rel=0.001)
