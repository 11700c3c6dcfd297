"""The chunked engine: a grid store on disk, tasks that read their own windows (issue 12, point 2: inputs
larger than the client's memory).

Compared with the single-machine path on the same workspace: the store's cells equal the loaded
grid's (also with districts that are not rectangles, burnt a window at a time), and the district
table, the gap areas (their sums, names and polygons) and the per-cell nearest facility, coverage
and 2SFCA access equal those of ``run_service`` over tiles of 64, 100 and 257 cells, inline and on
two worker processes, while the client process never reads a cell.  A store older than its
workspace, a failed write and bad input are refused with a message that names the file and the fix.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
import shapely
from shapely.geometry import Polygon

from gisapp._errors import GisAppError, WorkspaceError
from gisapp.grid.urban import classify_blocks
from gisapp.io import grid_store as _store
from gisapp.metrics import gaps as _gaps
from gisapp.metrics import tables as _tables
from gisapp.metrics.chunked import build_grid_store, run_chunked
from gisapp.metrics.dask_engine import DaskRun
from gisapp.metrics.service import run_service
from gisapp.workspace import load_workspace
from tests.conftest import ROOT
from tests.metrics.test_dask_engine import RES, X0, Y0, _write_workspace

ROWS, COLS = 300, 340


def _wavy_districts(folder: Path) -> None:
    """Replace the two box districts by two polygons with a wavy border (cells cut every which way)."""
    w, h = COLS * RES, ROWS * RES
    ys = np.linspace(Y0, Y0 - h, 60)
    xs = X0 + w / 2 + 2500 * np.sin(np.linspace(0, 7, 60))
    west = Polygon([(X0 + 130, Y0 - 70), *zip(xs, ys, strict=True), (X0 + 220, Y0 - h + 40)])
    east = Polygon([*zip(xs, ys, strict=True), (X0 + w - 90, Y0 - h + 300), (X0 + w - 10, Y0 - 150)])
    gpd.GeoDataFrame({"code": ["A1", "B2"], "name": ["甲区", "乙区"]}, geometry=[west, east],
                     crs="EPSG:4543").to_file(folder / "districts.gpkg", driver="GPKG")


@pytest.fixture(scope="module")
def case(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("chunked")
    yaml_path = _write_workspace(folder / "ws", rows=ROWS, cols=COLS, neighbours=16, n_fac=60, terrain_layers=False)
    _wavy_districts(yaml_path.parent)
    ws = load_workspace(yaml_path)
    store, notices = build_grid_store(yaml_path, folder / "grid.zarr", chunk=100)
    return yaml_path, ws, store, notices, folder


def test_the_store_holds_the_loaded_grid(case):
    """Cells, districts, clipped people and the 1 km blocks equal the loaded workspace's, read window by window."""
    _, ws, store, notices, _ = case
    assert notices == []  # on the analysis grid already: read a window at a time, nothing to say
    g = ws.grid
    pop, dist = store.read(0, store.shape[0], 0, store.shape[1])
    assert store.shape == g.shape and store.transform == g.transform
    want_d = np.full(g.shape, -1)
    want_d[g.row, g.col] = g.district
    np.testing.assert_array_equal(dist, want_d)
    assert (dist == 0).sum() > 0 and (dist == 1).sum() > 0 and (dist == -1).sum() > 1000  # wavy borders, clipped
    np.testing.assert_array_equal(pop[g.row, g.col], g.pop)
    assert float(pop[dist < 0].sum()) == 0.0
    assert store.outside_pop == pytest.approx(g.outside_pop, rel=1e-12) and store.outside_pop > 0
    np.testing.assert_array_equal(classify_blocks(store.block_pop(), 1000.0), ws.urban_blocks)
    assert set(np.unique(ws.urban_blocks)) >= {1, 2}  # town and country both present: the rural standard applies


def test_a_raster_off_the_analysis_grid_is_resampled_in_memory_and_said(tmp_path):
    """A 50 m raster for a 100 m grid: resampled whole (as load_workspace does), with a notice naming the fix."""
    y = _write_workspace(tmp_path / "ws", rows=80, cols=90, neighbours=16, n_fac=8, terrain_layers=False)
    tif = tmp_path / "ws" / "population.tif"
    with rasterio.open(tif) as src:
        a, prof = src.read(1), src.profile
    fine = np.repeat(np.repeat(np.where(a > 0, a, 0) / 4.0, 2, axis=0), 2, axis=1).astype(np.float32)
    t = prof["transform"]
    prof.update(height=fine.shape[0], width=fine.shape[1], transform=rasterio.Affine(t.a / 2, 0, t.c, 0, t.e / 2, t.f))
    with rasterio.open(tif, "w", **prof) as dst:
        dst.write(fine, 1)
    store, notices = build_grid_store(y, tmp_path / "g.zarr", chunk=32)
    note = next(p for p in notices if p.code == "grid_store_in_memory")
    assert "gdalwarp" in note.fix_text("zh") and "EPSG:4543" in note.fix_text("zh")
    ws = load_workspace(y)
    g = ws.grid
    pop, dist = store.read(0, g.shape[0], 0, g.shape[1])
    assert store.shape == g.shape
    np.testing.assert_array_equal(pop[g.row, g.col], g.pop)
    np.testing.assert_array_equal(dist[g.row, g.col], g.district)
    assert float(g.pop.sum()) > 0


@pytest.mark.parametrize("service", ["clinic", "school"])
@pytest.mark.parametrize("tile", [64, 100, 257])
def test_chunked_equals_one_machine(case, service, tile):
    """District table, gap areas and per-cell results equal run_service's (clinic: a rural standard; school: a
    demand group of children)."""
    yaml_path, ws, store, _, folder = case
    res = run_service(ws, service, travel="straight_line")
    out = folder / f"cells_{service}_{tile}.zarr"
    ch = run_chunked(yaml_path, store.path, service, run=DaskRun(inline=True, tile=tile), out_store=out)
    assert ch.cells == ws.grid.n
    pd.testing.assert_frame_equal(ch.by_district, _tables.coverage_by_district(ws, res), rtol=1e-12)
    a = _gaps.gap_polygons(ws, res)
    b = _gaps.tile_gap_polygons(ch.workspace, ch.tiles)
    assert len(a) == len(b) > 3
    cols = [c for c in a.columns if c != "geometry"]
    pd.testing.assert_frame_equal(pd.DataFrame(a[cols]), pd.DataFrame(b[cols]), rtol=1e-9)
    assert shapely.equals(a.geometry.values, b.geometry.values).all()
    cells = _store.read_results(out)
    g = ws.grid
    np.testing.assert_array_equal(cells["nearest_m"][g.row, g.col], res.nearest_m)
    np.testing.assert_array_equal(cells["nearest_facility"][g.row, g.col], res.nearest_facility)
    np.testing.assert_array_equal(cells["covered"][g.row, g.col] > 0, res.covered)
    np.testing.assert_allclose(cells["access_per_1000"][g.row, g.col], res.access_per_1000, rtol=1e-9)
    assert np.isnan(cells["nearest_m"][np.asarray(store.read(0, g.shape[0], 0, g.shape[1])[1]) < 0]).all()
    assert 0 < int(res.covered.sum()) < g.n  # some cells covered and some not: the comparison can fail


def test_two_worker_processes_and_no_cell_read_by_the_client(case, monkeypatch):
    """On a LocalCluster of two worker processes the same results, while this process cannot read a cell."""
    from distributed import Client, LocalCluster

    yaml_path, _, store, _, _ = case
    ref = run_chunked(yaml_path, store.path, "clinic", run=DaskRun(inline=True, tile=100))

    def refuse(*_a: object, **_k: object) -> None:
        raise AssertionError("the client read cells of the grid store")

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as cl, \
            Client(cl) as client:
        monkeypatch.setattr(_store.GridStore, "read", refuse)
        monkeypatch.setattr(_store.RasterWindows, "read", refuse)
        got = run_chunked(yaml_path, store.path, "clinic", run=DaskRun(scheduler=client, tile=100))
        seen = client.run(lambda: os.getpid())
    assert len(seen) == 2
    pd.testing.assert_frame_equal(got.by_district, ref.by_district, rtol=1e-12)
    np.testing.assert_allclose(got.tiles.gaps.pop, ref.tiles.gaps.pop, rtol=1e-12)
    np.testing.assert_allclose(got.r_j, ref.r_j, rtol=1e-12)
    assert got.tasks["blocks"] == 12 and got.tasks["facilities"] > 1


def test_demo_with_places_and_years(tmp_path):
    """The demo (population per year): the store says which year it holds, and the gap areas keep their township and
    village names."""
    yaml_path = ROOT / "layers" / "panzhihua.yaml"
    store, notices = build_grid_store(yaml_path, tmp_path / "grid.zarr")
    codes = [p.code for p in notices]
    assert "grid_store_year" in codes and "grid_store_in_memory" not in codes  # on the analysis grid: by windows
    assert "2025" in next(p for p in notices if p.code == "grid_store_year").text("zh")
    ws = load_workspace(yaml_path)
    res = run_service(ws, "primary_care")
    ch = run_chunked(yaml_path, store.path, "primary_care", run=DaskRun(inline=True, tile=300))
    a = _gaps.gap_polygons(ws, res)
    b = _gaps.tile_gap_polygons(ch.workspace, ch.tiles)
    cols = [c for c in a.columns if c != "geometry"]
    pd.testing.assert_frame_equal(pd.DataFrame(a[cols]), pd.DataFrame(b[cols]), rtol=1e-9)
    assert (b["place"] != "").sum() > 100
    pd.testing.assert_frame_equal(ch.by_district, _tables.coverage_by_district(ws, res), rtol=1e-12)


def test_a_store_older_than_its_workspace_is_refused(case, tmp_path):
    """After the population file changes, the store is refused with the command that rewrites it."""
    yaml_path, _, _, _, _ = case
    ws_dir = tmp_path / "ws"
    y2 = _write_workspace(ws_dir, rows=60, cols=70, neighbours=16, n_fac=8, terrain_layers=False)
    build_grid_store(y2, tmp_path / "g.zarr", chunk=32)
    run_chunked(y2, tmp_path / "g.zarr", "school", run=DaskRun(inline=True, tile=32))  # fresh: accepted
    tif = ws_dir / "population.tif"
    st = tif.stat()
    os.utime(tif, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))
    with pytest.raises(GisAppError) as err:
        run_chunked(y2, tmp_path / "g.zarr", "school", run=DaskRun(inline=True, tile=32))
    assert err.value.code == "grid_store_stale"
    text = err.value.text("zh")
    assert "population.tif" in text and "grid-store" in text and "重新生成" in text


def test_a_failed_write_keeps_the_previous_store(tmp_path):
    """A write stopped half-way (here: an error after two chunks) leaves the previous store whole, and no folder."""
    y = _write_workspace(tmp_path / "ws", rows=90, cols=80, neighbours=16, n_fac=8, terrain_layers=False)
    first, _ = build_grid_store(y, tmp_path / "g.zarr", chunk=32)
    before = first.read(0, 90, 0, 80)

    def stop(done: int, _total: int) -> None:
        if done == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        build_grid_store(y, tmp_path / "g.zarr", chunk=16, progress=stop)
    again = _store.open_grid_store(tmp_path / "g.zarr")
    assert again.chunk == 32
    for x, z in zip(before, again.read(0, 90, 0, 80), strict=True):
        np.testing.assert_array_equal(x, z)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g.zarr", "ws"]


def test_negative_people_name_the_file_and_write_nothing(tmp_path):
    y = _write_workspace(tmp_path / "ws", rows=50, cols=50, neighbours=16, n_fac=5, terrain_layers=False)
    tif = tmp_path / "ws" / "population.tif"
    with rasterio.open(tif, "r+") as dst:
        a = dst.read(1)
        a[10, 10] = -5.0
        dst.write(a, 1)
    with pytest.raises(WorkspaceError) as err:
        build_grid_store(y, tmp_path / "g.zarr", chunk=16)
    text = err.value.text("zh")
    assert "population.tif" in text and "-5" in text
    assert not (tmp_path / "g.zarr").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["ws"]


@pytest.fixture(scope="module")
def terrain_case(tmp_path_factory: pytest.TempPathFactory):
    """Roads (one along a cell edge, one crossing many tiles), a river barrier and a DEM on the grid."""
    folder = tmp_path_factory.mktemp("chunked_terrain")
    yaml_path = _write_workspace(folder / "ws", rows=ROWS, cols=COLS, neighbours=16, n_fac=60, terrain_layers=True)
    ws = load_workspace(yaml_path)
    store, notices = build_grid_store(yaml_path, folder / "grid.zarr", chunk=100)
    return yaml_path, ws, store, notices, folder


def test_the_store_holds_the_friction_surfaces(terrain_case):
    """Each travel mode's surface, burnt a window at a time, equals the whole grid's (a road runs along a cell edge:
    burnt on the window's own origin, 12 of its cells came out differently before the burning was grid-aligned)."""
    from gisapp.travel import terrain

    _, ws, store, notices, _ = terrain_case
    assert notices == []
    H, W = store.shape
    for m in ("walking", "motorized"):
        s = terrain.surface_for(ws, m)
        np.testing.assert_array_equal(store.read_array(f"speed_{m}", 0, H, 0, W), s.speed_kph)
        np.testing.assert_array_equal(store.read_array(f"klass_{m}", 0, H, 0, W), s.klass)
        np.testing.assert_array_equal(store.read_array(f"barrier_{m}", 0, H, 0, W).astype(bool), s.barrier)
        assert s.barrier.any() and (s.klass > 0).any()
    np.testing.assert_array_equal(store.read_array("dem", 0, H, 0, W), terrain.dem_for(ws))
    assert store.terrain["modes"]["motorized"]["vmax"] == 40.0 and store.terrain["dem"] is True


def test_surfaces_burnt_in_small_grid_blocks_still_equal(terrain_case, tmp_path, monkeypatch):
    """With burning blocks of 64 cells (many blocks per window, kept between windows and modes) the store's
    surfaces still equal the whole grid's burnt with the same blocks."""
    from gisapp.travel import friction, terrain

    yaml_path = terrain_case[0]
    monkeypatch.setattr(friction, "BURN_BLOCK", 64)
    store, _ = build_grid_store(yaml_path, tmp_path / "g.zarr", chunk=100)
    ws = load_workspace(yaml_path)
    H, W = store.shape
    for m in ("walking", "motorized"):
        s = terrain.surface_for(ws, m)
        np.testing.assert_array_equal(store.read_array(f"klass_{m}", 0, H, 0, W), s.klass)
        np.testing.assert_array_equal(store.read_array(f"barrier_{m}", 0, H, 0, W).astype(bool), s.barrier)


def test_a_dem_off_the_grid_is_read_whole_and_said(tmp_path):
    """A 50 m DEM for a 100 m grid: read onto the grid whole (as one machine does), with a notice naming the fix."""
    from gisapp.travel import terrain

    y = _write_workspace(tmp_path / "ws", rows=70, cols=80, neighbours=16, n_fac=8, terrain_layers=True)
    tif = tmp_path / "ws" / "dem.tif"
    with rasterio.open(tif) as src:
        a, prof = src.read(1), src.profile
    t = prof["transform"]
    fine = np.repeat(np.repeat(a, 2, axis=0), 2, axis=1)
    prof.update(height=fine.shape[0], width=fine.shape[1], transform=rasterio.Affine(t.a / 2, 0, t.c, 0, t.e / 2, t.f))
    with rasterio.open(tif, "w", **prof) as dst:
        dst.write(fine, 1)
    store, notices = build_grid_store(y, tmp_path / "g.zarr", chunk=32)
    note = next(p for p in notices if p.code == "grid_store_layer_in_memory")
    assert note.file.endswith("dem.tif") and "gdalwarp" in note.fix_text("zh")
    ws = load_workspace(y)
    H, W = store.shape
    np.testing.assert_array_equal(store.read_array("dem", 0, H, 0, W), terrain.dem_for(ws))


@pytest.mark.parametrize("service", ["clinic", "school"])
@pytest.mark.parametrize("tile", [64, 257])
def test_chunked_terrain_equals_one_machine(terrain_case, service, tile):
    """Terrain travel times (clinic: motorized in towns, walking in the country) as on one machine."""
    yaml_path, ws, store, _, folder = terrain_case
    res = run_service(ws, service, travel="terrain")
    out = folder / f"cells_{service}_{tile}.zarr"
    ch = run_chunked(yaml_path, store.path, service, travel="terrain", run=DaskRun(inline=True, tile=tile),
                     out_store=out)
    pd.testing.assert_frame_equal(ch.by_district, _tables.coverage_by_district(ws, res), rtol=1e-12)
    a = _gaps.gap_polygons(ws, res)
    b = _gaps.tile_gap_polygons(ch.workspace, ch.tiles)
    cols = [c for c in a.columns if c != "geometry"]
    pd.testing.assert_frame_equal(pd.DataFrame(a[cols]), pd.DataFrame(b[cols]), rtol=1e-9)
    assert shapely.equals(a.geometry.values, b.geometry.values).all()
    cells = _store.read_results(out)
    g = ws.grid
    tc = cells["travel_cost"][g.row, g.col]
    np.testing.assert_array_equal(np.isfinite(tc), np.isfinite(res.travel_cost))
    fin = np.isfinite(tc)
    np.testing.assert_allclose(tc[fin], res.travel_cost[fin], rtol=1e-9)
    np.testing.assert_array_equal(cells["nearest_facility"][g.row, g.col], res.nearest_facility)
    np.testing.assert_array_equal(cells["covered"][g.row, g.col] > 0, res.covered)
    np.testing.assert_allclose(cells["access_per_1000"][g.row, g.col], res.access_per_1000, rtol=1e-9)
    assert 0 < int(res.covered.sum()) < g.n and fin.sum() < g.n  # some cells beyond the cut-off: inf on both


@pytest.mark.parametrize(("which", "travel"), [("case", "straight_line"), ("terrain_case", "terrain")])
def test_the_command_line_gives_the_one_machine_tables(request, which, travel, tmp_path):
    """``grid-store`` then ``coverage --grid-store --engine dask``: the same district CSV and gap areas as
    ``coverage``, in Chinese, and it says that people served within capacity were not computed."""
    yaml_path = request.getfixturevalue(which)[0]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "gisapp", "--lang", "zh", "-w", str(yaml_path), *args],
                              capture_output=True, text=True, env=env, cwd=tmp_path, timeout=600, check=False)

    r = cli("grid-store", "-o", str(tmp_path / "g.zarr"), "--chunk", "128")
    assert r.returncode == 0, r.stderr
    assert "已生成格网存储" in r.stdout
    r = cli("coverage", "-s", "clinic", "-o", str(tmp_path / "ch"), "--grid-store", str(tmp_path / "g.zarr"),
            "--engine", "dask", "--workers", "2", "--travel", travel)
    assert r.returncode == 0, r.stderr
    assert "容量内服务人口：使用格网存储时未计算" in r.stdout
    r2 = cli("coverage", "-s", "clinic", "-o", str(tmp_path / "loc"), "--travel", travel)
    assert r2.returncode == 0, r2.stderr
    a = pd.read_csv(tmp_path / "loc" / "coverage_by_district.csv")
    b = pd.read_csv(tmp_path / "ch" / "coverage_by_district.csv")
    pd.testing.assert_frame_equal(a, b)
    ga = gpd.read_file(tmp_path / "loc" / "gaps.gpkg")
    gb = gpd.read_file(tmp_path / "ch" / "gaps.gpkg")
    assert len(ga) == len(gb) > 3
    assert shapely.equals(ga.geometry.values, gb.geometry.values).all()
    assert _store.read_results(tmp_path / "ch" / "cells.zarr")["covered"].shape == (ROWS, COLS)


def test_a_block_window_over_the_limit_fails_loudly(case):
    """A block plus its halo larger than the window limit: an error that names the tile, never a silent re-tiling."""
    yaml_path, _, store, _, _ = case
    with pytest.raises(GisAppError) as err:
        run_chunked(yaml_path, store.path, "school", run=DaskRun(inline=True, tile=100, max_window_cells=10_000))
    assert err.value.code == "dask_window_too_large"
    assert "--tile" in err.value.text("zh")
