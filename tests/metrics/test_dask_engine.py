"""The dask engine gives the single-machine results (issue 12, points 1-3; issue 13, point 6).

A synthetic workspace written in the README's format (population raster, districts,
facilities, roads, a barrier, a DEM, walking and motorized speeds) is computed by
``run_service(engine="local")`` and by ``engine="dask"`` over tiles of 64, 257 and 1,024
cells, on 1 and 2 workers, with 8 and 16 neighbours, in straight-line and terrain modes:
coverage must be identical, travel times and 2SFCA equal to 1e-9 (relative), the cost
matrices equal.  The facilities include a road crossing several tiles, facilities on the
corners of tiles and several facilities in one cell.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import dask
import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
import yaml
from affine import Affine
from distributed import Client, LocalCluster
from shapely.geometry import LineString, box

from gisapp._errors import GisAppError
from gisapp.metrics.dask_engine import DaskRun, catchment_task, window_bounds, within_task
from gisapp.metrics.service import ServiceResult, run_service
from gisapp.workspace import Workspace, load_workspace
from tests.metrics.dask_faults import (
    KillAlways,
    KillOnce,
    KillOnceAt,
    worker_peak_rss,
    worker_resting_rss,
)

CRS = "EPSG:4543"
X0, Y0, RES = 480_000.0, 2_950_000.0, 100.0


def _write_workspace(folder: Path, *, rows: int, cols: int, neighbours: int, n_fac: int,
                     seed: int = 7, terrain_layers: bool = True, clinic_min: float = 6) -> Path:
    """Write a synthetic workspace of rows x cols cells of 100 m; return its YAML path."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    tr = Affine(RES, 0, X0, 0, -RES, Y0)
    yy, xx = np.mgrid[0:rows, 0:cols]
    pop = (rng.gamma(0.6, 8.0, size=(rows, cols)) * (1 + 40 * np.exp(-((yy - rows / 3) ** 2 + (xx - cols / 2) ** 2)
                                                             / (2 * (rows / 8) ** 2)))).astype(np.float32)
    pop[rng.random((rows, cols)) < 0.25] = 0.0  # empty cells
    prof = {"driver": "GTiff", "height": rows, "width": cols, "count": 1, "dtype": "float32", "crs": CRS,
            "transform": tr, "nodata": -1.0}
    with rasterio.open(folder / "population.tif", "w", **prof) as dst:
        dst.write(pop, 1)
    w, h = cols * RES, rows * RES
    districts = gpd.GeoDataFrame({"code": ["A1", "B2"], "name": ["甲区", "乙区"]},
                                 geometry=[box(X0, Y0 - h, X0 + w / 2, Y0), box(X0 + w / 2, Y0 - h, X0 + w, Y0)],
                                 crs=CRS)
    districts.to_file(folder / "districts.gpkg", driver="GPKG")
    # facilities: random, plus ones on the corners of 64- and 257-cell tiles and three in one cell
    fr = list(rng.integers(0, rows, n_fac))
    fc = list(rng.integers(0, cols, n_fac))
    for t in (64, 257):
        for r, c in ((t - 1, t - 1), (t, t), (t - 1, t), (t, t - 1)):
            if r < rows and c < cols:
                fr.append(r)
                fc.append(c)
    fr += [rows // 2] * 3
    fc += [cols // 3] * 3
    n = len(fr)
    x = X0 + (np.array(fc) + 0.5) * RES + rng.uniform(-30, 30, n)
    y = Y0 - (np.array(fr) + 0.5) * RES + rng.uniform(-30, 30, n)
    x[-3:] = X0 + (cols // 3 + 0.5) * RES + np.array([-10.0, 0.0, 10.0])  # three in one cell
    y[-3:] = Y0 - (rows // 2 + 0.5) * RES
    kind = np.where(np.arange(n) % 3 == 0, "primary_school", "village_clinic").astype(object)
    kind[-3:] = "village_clinic"
    fac = gpd.GeoDataFrame({"id": [f"F{i}" for i in range(n)], "name": [f"设施{i}" for i in range(n)],
                            "type": kind, "doctors": rng.integers(1, 9, n).astype(float),
                            "seats": rng.integers(100, 900, n).astype(float)},
                           geometry=gpd.points_from_xy(x, y), crs=CRS)
    fac.to_file(folder / "facilities.gpkg", driver="GPKG")
    spec: dict = {
        "workspace": {"name": "scale_test", "title": {"zh": "分块测试", "en": "Tile test"},
                      "analysis_crs": CRS, "resolution_m": 100},
        "layers": {
            "population": {"path": "population.tif", "provenance": {"status": "synthetic", "en": "test"}},
            "districts": {"path": "districts.gpkg", "fields": {"id": "code", "name": "name"},
                          "provenance": {"status": "synthetic", "en": "test"}},
            "facilities": {"path": "facilities.gpkg",
                           "fields": {"id": "id", "name": "name", "kind": "type", "capacity": ["doctors", "seats"]},
                           "provenance": {"status": "synthetic", "en": "test"}},
        },
        "demand_groups": {"children": {"share": 0.12, "title": {"zh": "儿童", "en": "Children"}}},
        "services": {
            "clinic": {"kinds": ["village_clinic"],
                       "standard": {"time_min": clinic_min, "mode": "motorized", "speed_kph": 30},
                       "rural_standard": {"time_min": 9, "mode": "walking", "speed_kph": 5},
                       "capacity": "doctors", "norm_per_1000": 2.0},
            "school": {"kinds": ["primary_school"], "demand": "children",
                       "standard": {"distance_m": 1000, "mode": "walking"}, "capacity": "seats"},
        },
        "travel": {"default": "straight_line", "neighbours": neighbours, "speeds": {
            "walking": {"offroad": [4.0, "WALKING"], 1: [5.0, "WALKING"], 2: [5.0, "WALKING"]},
            "motorized": {"offroad": [8.0, "MOTORIZED"], 1: [40.0, "MOTORIZED"], 2: [25.0, "MOTORIZED"]}}},
    }
    if terrain_layers:
        roads = gpd.GeoDataFrame({"class": [1, 2, 2]}, geometry=[
            LineString([(X0 + 200, Y0 - 200), (X0 + w - 200, Y0 - h + 200)]),  # crosses many tiles
            LineString([(X0, Y0 - h / 2), (X0 + w, Y0 - h / 2 - 500)]),
            LineString([(X0 + w / 4, Y0), (X0 + w / 4 + 300, Y0 - h)])], crs=CRS)
        roads.to_file(folder / "roads.gpkg", driver="GPKG")
        barriers = gpd.GeoDataFrame({"kind": ["river"]}, geometry=[
            LineString([(X0 + 0.6 * w, Y0), (X0 + 0.62 * w, Y0 - 0.7 * h)])], crs=CRS)
        barriers.to_file(folder / "barriers.gpkg", driver="GPKG")
        dem = (800 + 300 * np.sin(xx / 37.0) * np.cos(yy / 53.0) + 2.0 * yy).astype(np.float32)
        prof_d = dict(prof, nodata=-9999.0)
        with rasterio.open(folder / "dem.tif", "w", **prof_d) as dst:
            dst.write(dem, 1)
        spec["layers"].update({
            "roads": {"path": "roads.gpkg", "fields": {"class": "class"}, "provenance": {"status": "synthetic", "en": "t"}},
            "barriers": {"path": "barriers.gpkg", "provenance": {"status": "synthetic", "en": "t"}},
            "dem": {"path": "dem.tif", "provenance": {"status": "synthetic", "en": "t"}},
        })
    path = folder / "workspace.yaml"
    path.write_text(yaml.safe_dump(spec, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def workspaces(tmp_path_factory: pytest.TempPathFactory) -> dict[int, Workspace]:
    base = tmp_path_factory.mktemp("dask_ws")
    return {nb: load_workspace(_write_workspace(base / f"n{nb}", rows=300, cols=340, neighbours=nb, n_fac=60))
            for nb in (8, 16)}


@pytest.fixture(scope="module")
def clients() -> dict[int, Client]:
    """In-process clusters (threads) of 1 and 2 workers: the tasks and the merging are the engine's."""
    out = {}
    clusters = []
    for n in (1, 2):
        cl = LocalCluster(n_workers=n, threads_per_worker=1, processes=False, dashboard_address=":0")
        clusters.append(cl)
        out[n] = Client(cl)
    yield out
    for c in out.values():
        c.close()
    for cl in clusters:
        cl.close()


_LOCAL: dict[tuple[int, str, str], ServiceResult] = {}


def _local(ws: Workspace, nb: int, name: str, mode: str) -> ServiceResult:
    key = (nb, name, mode)
    if key not in _LOCAL:
        _LOCAL[key] = run_service(ws, name, travel=mode)
    return _LOCAL[key]


def assert_same(a: ServiceResult, b: ServiceResult, *, cost: bool = True) -> None:
    """Coverage identical; travel, distance and 2SFCA to 1e-9 relative; nearest facility and cost matrix equal."""
    np.testing.assert_array_equal(b.covered, a.covered)
    fin = np.isfinite(a.travel_cost)
    np.testing.assert_array_equal(np.isfinite(b.travel_cost), fin)
    np.testing.assert_allclose(b.travel_cost[fin], a.travel_cost[fin], rtol=1e-9, atol=0)
    np.testing.assert_allclose(b.nearest_m, a.nearest_m, rtol=1e-9, atol=0)
    np.testing.assert_array_equal(b.nearest_facility, a.nearest_facility)
    np.testing.assert_array_equal(np.isnan(b.access_per_1000), np.isnan(a.access_per_1000))
    ok = np.isfinite(a.access_per_1000)
    np.testing.assert_allclose(b.access_per_1000[ok], a.access_per_1000[ok], rtol=1e-9, atol=1e-12)
    if cost:
        assert b.cost.shape == a.cost.shape and b.cost.unit == a.cost.unit
        assert b.cost.nnz == a.cost.nnz
        diff = abs(b.cost.matrix - a.cost.matrix)
        assert diff.nnz == 0 or float(diff.max()) <= 1e-9 * max(float(a.cost.matrix.max()), 1.0)
        assert (b.cost.matrix != a.cost.matrix).nnz == 0 or diff.nnz == 0


@pytest.mark.parametrize("tile", [64, 257, 1024])
@pytest.mark.parametrize("nb", [8, 16])
@pytest.mark.parametrize("mode", ["straight_line", "terrain"])
def test_dask_equals_single_machine(workspaces, clients, tile, nb, mode):
    ws = workspaces[nb]
    for name in ("clinic", "school"):
        a = _local(ws, nb, name, mode)
        b = run_service(ws, name, travel=mode, engine="dask", dask=DaskRun(scheduler=clients[2], tile=tile))
        assert b.engine == "dask" and b.cost_kept
        assert_same(a, b)
        assert a.covered.sum() > 0 and (~a.covered & a.eligible).sum() > 0  # both outcomes occur
        if a.service.capacity:
            assert np.isfinite(a.access_per_1000).sum() > 0 and np.nanmax(a.access_per_1000) > 0


@pytest.mark.parametrize("mode", ["straight_line", "terrain"])
def test_one_worker_and_no_pairs_kept(workspaces, clients, mode):
    ws = workspaces[16]
    a = _local(ws, 16, "clinic", mode)
    b = run_service(ws, "clinic", travel=mode, engine="dask",
                    dask=DaskRun(scheduler=clients[1], tile=64, keep_cost=False))
    assert_same(a, b, cost=False)
    assert not b.cost_kept and b.cost.nnz == 0
    assert b.timings_s["pairs"] == a.cost.nnz  # every pair was still computed, in its task
    from gisapp.metrics.served import served_within_capacity

    with pytest.raises(GisAppError) as e:  # what needs the pairs refuses, in the user's language
        served_within_capacity(ws, b)
    assert e.value.code == "dask_cost_not_kept" and "dask" in e.value.text("zh")


@pytest.mark.parametrize("mode", ["straight_line", "terrain"])
@pytest.mark.parametrize("n_workers", [1, 2])
def test_served_within_capacity_with_the_catchments_on_the_workers(workspaces, clients, mode, n_workers):
    """Capacity-limited coverage from a dask result that kept no pairs: the workers hold the
    catchments, the sweep runs on the client; the same numbers as one machine, exactly."""
    from gisapp.metrics.served import served_within_capacity

    ws = workspaces[16]
    a = served_within_capacity(ws, _local(ws, 16, "clinic", mode))
    run = DaskRun(scheduler=clients[n_workers], tile=64, keep_cost=False)
    b = served_within_capacity(ws, run_service(ws, "clinic", travel=mode, engine="dask", dask=run), tiles=run)
    assert a.applicable and 0 < a.served < a.population
    assert (a.facilities["residual_people"] == 0).any()  # capacity binds: the order matters
    pd.testing.assert_frame_equal(a.by_district, b.by_district, rtol=0, atol=0)
    pd.testing.assert_frame_equal(a.facilities, b.facilities, rtol=0, atol=0)
    np.testing.assert_array_equal(a.coverage.covered, b.coverage.covered)
    assert b.coverage.allocation.nnz == 0  # not gathered at province scale


_WITHIN_CALLS: list[int] = []
_REAL_WITHIN = within_task


def _counting_within(spec):  # noqa: ANN001, ANN202 - sent to in-process workers by reference
    _WITHIN_CALLS.append(1)
    return _REAL_WITHIN(spec)


@pytest.mark.parametrize("mode", ["straight_line", "terrain"])
def test_capacity_pass_reuses_the_catchments_the_first_pass_kept(workspaces, clients, mode, monkeypatch):
    """With ``hold``, the catchment tasks keep their catchments and the capacity pass computes none again."""
    from gisapp.metrics import dask_engine
    from gisapp.metrics.served import served_within_capacity

    calls = _WITHIN_CALLS
    calls.clear()
    monkeypatch.setattr(dask_engine, "within_task", _counting_within)
    ws = workspaces[16]
    a = served_within_capacity(ws, _local(ws, 16, "clinic", mode))
    run = DaskRun(scheduler=clients[2], tile=64, keep_cost=False, hold={})
    res = run_service(ws, "clinic", travel=mode, engine="dask", dask=run)
    assert len(run.hold) == res.timings_s["tasks"] > 4
    b = served_within_capacity(ws, res, tiles=run)
    assert calls == []  # nothing computed twice
    dask_engine.release_held(run)
    assert run.hold == {}
    assert_same(_local(ws, 16, "clinic", mode), res, cost=False)
    pd.testing.assert_frame_equal(a.by_district, b.by_district, rtol=0, atol=0)
    pd.testing.assert_frame_equal(a.facilities, b.facilities, rtol=0, atol=0)
    served_within_capacity(ws, res, tiles=dataclasses.replace(run, hold=None))  # without: computed again
    assert len(calls) == len(run.hold or {}) + res.timings_s["tasks"]


def test_capacity_pass_survives_a_worker_dying_with_the_catchments(tmp_path):
    """A worker killed while it holds catchments the sweep still needs: they are computed again."""
    from gisapp.metrics.served import served_within_capacity

    ws = load_workspace(_write_workspace(tmp_path / "w", rows=160, cols=160, neighbours=8, n_fac=40,
                                         terrain_layers=False))
    a = served_within_capacity(ws, run_service(ws, "clinic", travel="straight_line"))
    marker = tmp_path / "killed.txt"
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
                      silence_logs=50) as cluster, Client(cluster) as client:
        client.wait_for_workers(2, timeout=120)
        client.register_plugin(KillOnceAt(str(marker), "_within_slices"))
        run = DaskRun(scheduler=client, tile=32, keep_cost=False)
        b = served_within_capacity(ws, run_service(ws, "clinic", travel="straight_line", engine="dask", dask=run),
                                   tiles=run)
    assert marker.exists()  # a worker really died in the sweep
    pd.testing.assert_frame_equal(a.by_district, b.by_district, rtol=0, atol=0)
    pd.testing.assert_frame_equal(a.facilities, b.facilities, rtol=0, atol=0)


def test_tiles_split_the_facilities_and_windows_cover_the_reach(workspaces, clients):
    """Small tiles give many tasks; each window is its facilities' box +/- the reach, clipped."""
    ws = workspaces[16]
    seen: list[tuple[int, int]] = []
    run = DaskRun(scheduler=clients[2], tile=64, progress=lambda d, t: seen.append((d, t)))
    res = run_service(ws, "school", travel="straight_line", engine="dask", dask=run)
    fac = ws.facilities.iloc[res.facility_idx]
    r = np.floor((Y0 - fac["y"].to_numpy()) / RES).astype(int) // 64
    c = np.floor((fac["x"].to_numpy() - X0) / RES).astype(int) // 64
    assert res.timings_s["tasks"] == len(set(zip(r.tolist(), c.tolist(), strict=True))) > 10  # one per tile
    assert seen[-1][0] == seen[-1][1] and [d for d, _ in seen] == list(range(1, len(seen) + 1))
    assert window_bounds(np.array([0, 3]), np.array([5, 9]), 12, (300, 340)) == (0, 16, 0, 22)


def test_window_guard_fails_loudly(workspaces, clients):
    ws = workspaces[16]
    with pytest.raises(GisAppError) as e:
        run_service(ws, "clinic", travel="terrain", engine="dask",
                    dask=DaskRun(scheduler=clients[2], tile=64, max_window_cells=10_000))
    assert e.value.code == "dask_window_too_large"
    assert "--tile" in e.value.text("zh") and "--tile" in e.value.text("en")


def test_unknown_engine_and_bad_scheduler(workspaces):
    ws = workspaces[16]
    with pytest.raises(GisAppError) as e:
        run_service(ws, "clinic", engine="spark")
    assert e.value.code == "unknown_engine" and "dask" in e.value.text("zh")
    with pytest.raises(GisAppError) as e:
        run_service(ws, "clinic", engine="dask", dask=DaskRun(scheduler="tcp://127.0.0.1:1"))
    assert e.value.code == "dask_no_scheduler" and "127.0.0.1:1" in e.value.text("zh")


def test_catchment_task_alone_matches_its_window():
    """A task on a window holding every cell gives the pairs of the whole grid."""
    ci = np.arange(12, dtype=np.int64).reshape(3, 4)
    tr = Affine(100, 0, 0, 0, -100, 300)
    spec = {"kind": "straight", "cell_index": ci, "cols": np.array([0]), "cutoff": 150.0, "keep_cost": True,
            "thr": np.full(12, 150.0), "demand": np.ones(12), "supply": np.array([6.0]),
            "transform": tr, "fx": np.array([200.0]), "fy": np.array([200.0]), "origin": (0, 0)}
    out = catchment_task(spec)
    cells = sorted(out["pairs"][0].tolist())
    assert cells == [1, 2, 5, 6]  # the four cell centres 70.7 m from the point (the next: 158 m)
    np.testing.assert_allclose(out["acc"], [1.5] * 4)  # 6 / 4 people each


# ------------------------------------------------------------------ real worker processes


@pytest.mark.slow
def test_bounded_memory_and_a_worker_killed_mid_run(tmp_path):
    """Two worker processes with a memory limit and no spilling: an overrun would kill a worker.

    A worker's memory at rest depends on what its process imported (more inside the whole test
    suite than alone), so the limit is its measured resting size plus a budget smaller than the
    run's pairs: a worker that held the pairs would be killed.  The dask run finishes, each
    worker's peak stays under the limit, and a worker killed mid-run has its task run again,
    with the same results.
    """
    ws = load_workspace(_write_workspace(tmp_path / "big", rows=2000, cols=2000, neighbours=8, n_fac=2500,
                                         terrain_layers=False, clinic_min=15))
    a = run_service(ws, "clinic", travel="straight_line")  # 15 min at 30 km/h: 7.5 km, ~17,000 cells each
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
                      silence_logs=50) as cluster, Client(cluster) as client:
        client.wait_for_workers(2, timeout=120)
        resting = max(client.run(worker_resting_rss).values())
    budget = 200 * 2**20
    limit = resting + budget
    pair_bytes = a.cost.nnz * 16  # at least a cell id and a cost per pair
    assert pair_bytes > 2 * budget, "the pairs must be larger than what a worker may add to its resting size"
    marker = tmp_path / "killed.txt"
    with dask.config.set({"distributed.worker.memory.target": False, "distributed.worker.memory.spill": False,
                          "distributed.worker.memory.pause": False, "distributed.worker.memory.terminate": 0.98}), \
            LocalCluster(n_workers=2, threads_per_worker=1, processes=True, memory_limit=limit,
                         dashboard_address=":0", silence_logs=50) as cluster, Client(cluster) as client:
        client.wait_for_workers(2, timeout=120)
        client.register_plugin(KillOnce(str(marker)))
        b = run_service(ws, "clinic", travel="straight_line", engine="dask",
                        dask=DaskRun(scheduler=client, tile=128, keep_cost=False))
        client.wait_for_workers(2, timeout=120)
        peaks = client.run(worker_peak_rss)
    assert marker.exists()  # a worker really died mid-run
    assert_same(a, b, cost=False)
    print("pairs", a.cost.nnz, "pair bytes", pair_bytes, "resting", resting, "worker peaks", sorted(peaks.values()))
    assert len(peaks) == 2 and max(peaks.values()) < limit, (peaks, limit)


@pytest.mark.slow
def test_worker_deaths_beyond_the_retries_fail_with_a_message(tmp_path, monkeypatch):
    ws = load_workspace(_write_workspace(tmp_path / "w", rows=120, cols=120, neighbours=8, n_fac=20,
                                         terrain_layers=False))

    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=":0",
                      silence_logs=50) as cluster, Client(cluster) as client:
        client.wait_for_workers(1, timeout=120)
        client.register_plugin(KillAlways())
        with pytest.raises(GisAppError) as e:
            run_service(ws, "school", travel="straight_line", engine="dask", dask=DaskRun(scheduler=client))
    assert e.value.code == "dask_worker_died"
    assert "重试" in e.value.text("zh") and "worker" in e.value.text("en")


def test_cli_engine_dask_writes_the_same_tables(workspaces, tmp_path):
    """`coverage --engine dask` on a LocalCluster writes the single-machine district table and gap areas."""
    import subprocess
    import sys

    ws_path = tmp_path / "cli_ws"
    yml = _write_workspace(ws_path, rows=120, cols=150, neighbours=8, n_fac=25, terrain_layers=False)
    outs, gpkgs, served = {}, {}, {}
    for engine in ("local", "dask"):
        out = tmp_path / engine
        cmd = [sys.executable, "-m", "gisapp", "coverage", "-w", str(yml), "-s", "school", "--out", str(out),
               "--engine", engine, "--workers", "1", "--tile", "64", "--lang", "zh"]
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
        assert p.returncode == 0, p.stderr
        outs[engine] = pd.read_csv(out / "coverage_by_district.csv")
        gpkgs[engine] = gpd.read_file(out / "gaps.gpkg")
        served[engine] = pd.read_csv(out / "served_by_district.csv")
        if engine == "dask":
            assert "dask：已完成" in p.stderr and "未计算" not in p.stdout  # progress; everything computed
    pd.testing.assert_frame_equal(outs["local"], outs["dask"])
    # people served within capacity: the workers held the catchments, the sweep ran in the command
    pd.testing.assert_frame_equal(served["local"], served["dask"])
    assert served["dask"].iloc[:, 4].sum() > 0
    # the dask run reduced the district table and the gap areas per 64-cell tile on its workers
    a, b = gpkgs["local"], gpkgs["dask"]
    assert len(a) == len(b) > 0
    cols = [c for c in a.columns if c != "geometry"]
    pd.testing.assert_frame_equal(pd.DataFrame(a[cols]), pd.DataFrame(b[cols]), rtol=1e-9)
    assert a.geometry.geom_equals(b.geometry).all()


@pytest.mark.slow
def test_cli_on_a_scheduler_and_worker_started_by_hand(tmp_path):
    """The README's cluster commands: `dask scheduler`, `dask worker`, then `--scheduler tcp://...`."""
    import socket
    import subprocess
    import sys
    import time

    yml = _write_workspace(tmp_path / "ws", rows=120, cols=150, neighbours=8, n_fac=25, terrain_layers=False)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    dask_cli = str(Path(sys.executable).parent / "dask")
    addr = f"tcp://127.0.0.1:{port}"
    procs = [subprocess.Popen([dask_cli, "scheduler", "--host", "127.0.0.1", "--port", str(port),
                               "--dashboard-address", ":0"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    try:
        time.sleep(3)
        procs.append(subprocess.Popen([dask_cli, "worker", addr, "--nworkers", "1", "--nthreads", "1",
                                       "--memory-limit", "1GiB"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        with Client(addr, timeout="60s") as c:
            c.wait_for_workers(1, timeout=120)
        tables = {}
        for extra in ([], ["--engine", "dask", "--scheduler", addr, "--tile", "50"]):
            out = tmp_path / ("dask" if extra else "local")
            p = subprocess.run([sys.executable, "-m", "gisapp", "coverage", "-w", str(yml), "-s", "clinic",
                                "--out", str(out), "--lang", "en", *extra], capture_output=True, text=True, timeout=600)
            assert p.returncode == 0, p.stderr
            tables[bool(extra)] = pd.read_csv(out / "coverage_by_district.csv")
        pd.testing.assert_frame_equal(tables[False], tables[True])
        assert tables[True].iloc[:, 3].sum() > 0  # people covered: the table is not empty
    finally:
        for pr in reversed(procs):
            pr.terminate()
            pr.wait(timeout=30)


@pytest.mark.parametrize("mode", ["straight_line", "terrain"])
def test_one_machine_without_the_matrix_equals_the_matrix_path(workspaces, mode):
    """keep_cost=False on one machine: the same tiles in this process, the same results, no pairs held."""
    ws = workspaces[8]
    for name in ("clinic", "school"):
        a = _local(ws, 8, name, mode)
        b = run_service(ws, name, travel=mode, keep_cost=False)
        assert b.engine == "local" and not b.cost_kept and b.cost.nnz == 0
        assert_same(a, b, cost=False)
        assert b.timings_s["pairs"] == a.cost.nnz
