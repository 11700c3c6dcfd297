"""Shared fixtures: paths to the tiny workspace and the demo workspace, the error contract."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TINY = ROOT / "tests" / "data" / "tiny" / "workspace.yaml"
DEMO = ROOT / "layers" / "panzhihua.yaml"
SHARED = ROOT.parent / "shared"

# The error contract: (exception type, regex that the message must match)
ERROR_CONTRACT = {
    "missing_file": "does not exist",
    "missing_column": "column .* is missing",
    "duplicate_id": "duplicate facility ids",
    "negative_capacity": "negative capacity",
    "outside": "outside every district",
    "no_crs": "no coordinate reference system",
}


@pytest.fixture(scope="session")
def tiny_path() -> Path:
    return TINY


@pytest.fixture(scope="session")
def tiny_ws():
    from gisapp.workspace import load_workspace

    return load_workspace(TINY)


@pytest.fixture(scope="session")
def demo_ws():
    from gisapp.workspace import load_workspace

    if not (ROOT / "data" / "panzhihua" / "population_100m.tif").exists():
        pytest.skip("demo data not built (python data/build_demo.py)")
    return load_workspace(DEMO)


def cell_lonlat(ws, r: int, c: int) -> tuple[float, float]:
    """Return the WGS84 lon/lat of the centre of grid cell (r, c) of a loaded workspace."""
    from pyproj import Transformer

    g = ws.grid
    x = g.transform.c + (c + 0.5) * g.res_m
    y = g.transform.f - (r + 0.5) * g.res_m
    lon, lat = Transformer.from_crs(ws.crs, 4326, always_xy=True).transform(x, y)
    return float(lon), float(lat)


def in_ci() -> bool:
    """Return whether the suite runs in CI (``CI=true``), where a missing tool or data set fails."""
    return os.environ.get("CI", "").strip().lower() in {"true", "1", "yes"}


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):  # noqa: ARG001 - pytest hook signature
    """In CI a skipped test is a failed test: a test that needs data or a tool must not vanish."""
    outcome = yield
    rep = outcome.get_result()
    if in_ci() and rep.skipped and not hasattr(rep, "wasxfail"):
        rep.outcome = "failed"
        rep.longrepr = f"skipped under CI=true, which counts as a failure: {rep.longrepr}"


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):  # noqa: ARG001 - pytest hook signature
    """In CI a module skipped at collection (``importorskip``) fails as well."""
    outcome = yield
    rep = outcome.get_result()
    if in_ci() and rep.skipped:
        rep.outcome = "failed"
        rep.longrepr = f"skipped under CI=true, which counts as a failure: {rep.longrepr}"
