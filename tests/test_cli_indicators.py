"""``python -m gisapp indicators``: indicators by district and year, equal to run_service on at_year."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import rasterio
import yaml

from gisapp.cli import main
from gisapp.metrics.service import run_service
from gisapp.metrics.tables import capacity_by_district, coverage_by_district
from gisapp.workspace import at_year, load_workspace

from .conftest import TINY


@pytest.fixture
def years_ws(tmp_path: Path) -> Path:
    """The tiny workspace: C2 opens in 2021, S1 closes in 2024, the 2025 population is 1.5 x in the east."""
    d = tmp_path / "ws"
    shutil.copytree(TINY.parent, d)
    fac = pd.read_csv(d / "facilities.csv", dtype=str, keep_default_na=False)
    fac["opened"] = np.where(fac["id"] == "C2", "2021", "")
    fac["closed"] = np.where(fac["id"] == "S1", "2024", "")
    fac.to_csv(d / "facilities.csv", index=False)
    with rasterio.open(d / "population.tif") as src:
        vals, profile = src.read(1).astype("float64"), src.profile
    vals[:, vals.shape[1] // 2:] *= 1.5
    profile.update(dtype="float64")
    with rasterio.open(d / "pop2025.tif", "w", **profile) as dst:
        dst.write(vals, 1)
    p = d / "workspace.yaml"
    raw = yaml.safe_load(p.read_text(encoding="utf-8"))
    raw["layers"]["facilities"]["fields"] |= {"opened": "opened", "closed": "closed"}
    raw["layers"]["population"]["years"] = {2020: "population.tif", 2025: "pop2025.tif"}
    p.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return p


def test_indicators_by_district_and_year(years_ws: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "ind.csv"
    assert main(["--lang", "en", "-w", str(years_ws), "indicators", "--years", "2020,2025", "--out", str(out)]) == 0
    assert "ind.csv" in capsys.readouterr().out
    got = pd.read_csv(out, encoding="utf-8-sig", dtype={"District code": str})
    ws = load_workspace(years_ws)
    ids = ws.districts["district_id"].tolist()
    # one row per district and year, years ascending
    assert got["Year"].tolist() == [2020] * len(ids) + [2025] * len(ids)
    assert got["District code"].tolist() == ids * 2
    for year in (2020, 2025):
        w = at_year(ws, year)
        rows = got[got["Year"] == year].reset_index(drop=True)
        for name, svc in ws.spec.services.items():
            res = run_service(w, name)
            cov = coverage_by_district(w, res)
            title = svc.title("en")
            np.testing.assert_allclose(rows[f"{title} · covered (%)"], cov["covered_pct"], equal_nan=True)
            np.testing.assert_allclose(rows[f"{title} · people beyond the standard"], cov["uncovered"])
            if svc.capacity:
                cap = capacity_by_district(w, res)
                np.testing.assert_allclose(rows[f"{title} · capacity per 1,000"], cap["capacity_per_1000"],
                                           equal_nan=True)
            else:
                assert f"{title} · capacity per 1,000" not in got.columns
    # the years differ where the fixture makes them: the school closed in 2024, the east grew
    school = got["School · covered (%)"]
    assert school[got["Year"] == 2025].fillna(0).eq(0).all() and school[got["Year"] == 2020].max() > 0
    # the equalisation index of gisapp.metrics.index.index_by_year, per district and year
    assert got["Equalisation index"].between(0, 100).all()


def test_indicators_in_chinese_and_default_years(years_ws: Path, tmp_path: Path) -> None:
    out = tmp_path / "ind.csv"
    assert main(["-w", str(years_ws), "indicators", "--services", "clinic", "--out", str(out)]) == 0
    got = pd.read_csv(out, encoding="utf-8-sig")
    assert got["年份"].tolist() == [2020, 2020, 2025, 2025]  # every year of the workspace
    assert "诊所 · 覆盖率（%）" in got.columns and "学校 · 覆盖率（%）" not in got.columns


def test_indicators_bad_years_and_no_years(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as ei:
        main(["--lang", "en", "indicators", "--years", "20x0", "--out", str(tmp_path / "x.csv")])
    assert ei.value.code == 2 and "list of years" in capsys.readouterr().err
    assert main(["--lang", "en", "-w", str(TINY), "indicators", "--out", str(tmp_path / "x.csv")]) == 1
    assert "no years" in capsys.readouterr().err
    assert not (tmp_path / "x.csv").exists()
