"""The scale benchmark's workspace generator keeps writing a workspace the app loads (benchmarks/scale_workspace.py)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent


def _module(name: str):  # type: ignore[no-untyped-def]
    path = ROOT / "benchmarks" / f"{name}.py"
    sys.path.insert(0, str(path.parent))
    try:
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None and spec.loader is not None
        mod = importlib.util.module_from_spec(spec)
        sys.modules[name] = mod
        spec.loader.exec_module(mod)
        return mod
    finally:
        sys.path.remove(str(path.parent))


@pytest.fixture(scope="module")
def scale():  # type: ignore[no-untyped-def]
    return _module("scale_workspace")


@pytest.fixture(scope="module")
def built(scale, tmp_path_factory):  # type: ignore[no-untyped-def]
    return scale.build(20_000, tmp_path_factory.mktemp("scale") / "20k")


def test_generated_workspace_loads_with_the_expected_counts(scale, built):
    from gisapp.workspace import load_workspace

    facts = scale.facts(built)
    ws = load_workspace(built)
    rows, cols = scale.grid_shape(20_000)
    assert (facts["rows"], facts["cols"]) == (rows, cols) == (141, 142)
    # every cell of the raster lies in a district and holds people
    assert ws.grid.n == rows * cols == facts["cells"]
    assert ws.grid.shape == (rows, cols)
    assert float(ws.grid.pop.min()) > 0
    assert ws.grid.pop.sum() == pytest.approx(facts["people"], rel=1e-6)
    # about one facility per 1,500 cells, every one inside the area
    assert len(ws.facilities) == facts["facilities"] == round(rows * cols / scale.CELLS_PER_FACILITY)
    assert (ws.facilities["district_id"] != "").all()
    assert 10 <= len(ws.districts) == facts["districts"] <= 50
    assert set(ws.spec.services) == {"clinic15", "walk1000"}
    assert set(ws.spec.travel["speeds"]) == {"walking", "motorized"}
    assert "roads" in ws.spec.layers
    assert all(s.norm_per_1000 for s in ws.spec.services.values())


def test_the_workspace_without_norms_differs_only_in_the_norms(scale, built):
    from gisapp.io.workspace_file import read_workspace

    spec = read_workspace(built.parent / scale.NO_NORM_YAML)
    assert set(spec.services) == {"clinic15", "walk1000"}
    assert not any(s.norm_per_1000 for s in spec.services.values())
    assert spec.layers["population"].path == read_workspace(built).layers["population"].path


def test_generated_workspace_runs_both_modes(built):
    from gisapp.metrics.service import run_service
    from gisapp.workspace import load_workspace

    ws = load_workspace(built)
    for mode in ("straight_line", "terrain"):
        res = run_service(ws, "clinic15", travel=mode)
        assert res.cost.nnz > 0 and np.isfinite(res.access_per_1000).any()
    # the roads reach the friction surface: more than one speed on it
    from gisapp.travel.terrain import surface_for

    speeds = np.unique(np.asarray(surface_for(ws, "motorized").speed_kph))
    assert speeds.size > 1


def test_generator_is_deterministic_and_reuses_a_complete_folder(scale, built, tmp_path):
    again = scale.build(20_000, tmp_path / "again")
    assert again.read_text(encoding="utf-8") == built.read_text(encoding="utf-8")
    for name in ("population_100m.tif", "facilities.csv"):
        assert (again.parent / name).read_bytes() == (built.parent / name).read_bytes()
    stamp = (again.parent / "population_100m.tif").stat().st_mtime_ns
    assert scale.build(20_000, tmp_path / "again") == again
    assert (again.parent / "population_100m.tif").stat().st_mtime_ns == stamp


def test_sizes_parse(scale):
    assert [scale.parse_size(s) for s in ("1M", "4M", "16M", "50M", "20k")] == [
        1_000_000, 4_000_000, 16_000_000, 50_000_000, 20_000]
    assert scale.size_label(50_000_000) == "50M"
