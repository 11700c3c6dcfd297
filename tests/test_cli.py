"""The command line: services, coverage files, and clean errors."""

from __future__ import annotations

import subprocess
import sys

import geopandas as gpd
import pandas as pd
import pytest

from gisapp.cli import main
from gisapp.metrics import service as analysis

from .conftest import ROOT, TINY


def test_services_lists_standards_and_sources(capsys):
    assert main(["--workspace", str(TINY), "--lang", "en", "services"]) == 0
    out = capsys.readouterr().out
    assert "clinic" in out and "≤ 150 m walk" in out and "standard: test" in out


def test_coverage_writes_csv_and_gpkg(tmp_path, tiny_ws):
    assert main(["coverage", "--service", "clinic", "--out", str(tmp_path), "--workspace", str(TINY)]) == 0
    df = pd.read_csv(tmp_path / "coverage_by_district.csv", dtype={"district_id": str})
    assert list(df.columns) == ["district_id", "district_name", "population", "covered", "uncovered", "covered_pct"]
    expect = analysis.coverage_by_district(tiny_ws, analysis.run_service(tiny_ws, "clinic"))
    pd.testing.assert_frame_equal(df, expect, check_dtype=False)
    gaps = gpd.read_file(tmp_path / "gaps.gpkg")
    assert len(gaps) == 1 and gaps.crs.to_epsg() == 4543
    assert not list(tmp_path.glob(".*part*"))


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gisapp", *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=300)


@pytest.mark.parametrize("args", [
    ("coverage", "--service", "nope", "--out", "OUT", "--workspace", str(TINY)),
    ("coverage", "--service", "clinic", "--out", "OUT", "--workspace", "missing.yaml"),
])
def test_bad_input_exits_nonzero_without_traceback(args, tmp_path):
    args = tuple(str(tmp_path) if a == "OUT" else a for a in args)
    p = run_cli(*args)
    assert p.returncode == 1
    assert p.stderr.startswith("error:") and "Traceback" not in p.stderr
    assert not (tmp_path / "coverage_by_district.csv").exists()


def test_scenario_command(tmp_path, tiny_ws):
    from gisapp.planning.scenario import Edit, Scenario, save_scenario

    p = save_scenario(tmp_path / "scen", Scenario("关闭C2", [Edit("close", "C2")]))
    assert main(["scenario", "--file", str(p), "--service", "clinic", "--out", str(tmp_path),
                 "--workspace", str(TINY)]) == 0
    df = pd.read_csv(tmp_path / "scenario_by_district.csv")
    assert df["baseline:covered"].tolist() == [90.0, 1080.0]
    assert df["关闭C2:covered"].tolist() == [90.0, 0.0]


def test_suggest_command(tmp_path, tiny_ws):
    from gisapp.planning import suggest as planning

    assert main(["suggest", "--service", "clinic", "--k", "2", "--spacing-m", "100", "--method", "exact",
                 "--out", str(tmp_path), "--workspace", str(TINY)]) == 0
    df = pd.read_csv(tmp_path / "suggested_sites.csv")
    expect = planning.suggest(tiny_ws, "clinic", k=2, spacing_m=100, method="exact")
    assert df["people_added"].tolist() == pytest.approx(expect.sites["people_added"].tolist())
    assert len(pd.read_csv(tmp_path / "coverage_curve.csv")) == 3


def test_errors_in_chinese_by_default(tmp_path):
    p = run_cli("coverage", "--service", "clinic", "--out", str(tmp_path), "--workspace", "missing.yaml")
    assert p.returncode == 1 and p.stderr.startswith("error:")
    assert "工作区文件不存在" in p.stderr and "请检查路径" in p.stderr
