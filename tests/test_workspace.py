"""Workspace validation: every problem is collected and reported with file, field and fix."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import rasterio
import yaml

from gisapp._errors import WorkspaceError
from gisapp.io.workspace_file import read_workspace
from gisapp.workspace import load_workspace

from .conftest import ERROR_CONTRACT, TINY


@pytest.fixture
def ws_dir(tmp_path: Path) -> Path:
    d = tmp_path / "ws"
    shutil.copytree(TINY.parent, d)
    return d


def edit_yaml(d: Path, fn) -> Path:
    p = d / "workspace.yaml"
    raw = yaml.safe_load(p.read_text(encoding="utf-8"))
    fn(raw)
    p.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return p


def test_tiny_loads(tiny_ws):
    assert tiny_ws.grid.n == 100
    assert tiny_ws.grid.pop.sum() == 1990
    assert tiny_ws.crs.name == "CGCS2000 / 3-degree Gauss-Kruger CM 102E"
    assert tiny_ws.districts["district_id"].tolist() == ["510001", "510002"]
    assert tiny_ws.facilities["district_id"].tolist() == ["510001", "510002", "510002"]


def test_demo_spec_reads_and_every_standard_has_a_source():
    spec = read_workspace(Path(__file__).resolve().parent.parent / "layers" / "panzhihua.yaml")
    assert {"primary_care", "community_health", "hospital_beds", "kindergarten", "primary_school",
            "middle_school"} <= set(spec.services)
    for s in spec.services.values():
        assert s.source.get("standard"), s.name
        if s.norm_per_1000:
            assert s.source.get("norm"), s.name
    assert spec.services["primary_school"].rural_standard.time_min == 30
    assert {lay.provenance.status for lay in spec.layers.values()} == {"real", "synthetic"}


def test_schema_problems_are_all_collected(ws_dir):
    def bad(raw):
        raw["services"]["clinic"]["standard"] = {"distance_m": -5, "mode": "flying"}
        raw["services"]["school"]["kinds"] = ["castle"]
        raw["services"]["school"]["typo_key"] = 1
    p = edit_yaml(ws_dir, bad)
    with pytest.raises(WorkspaceError) as ei:
        read_workspace(p)
    msg = str(ei.value)
    assert "services.clinic.standard" in msg and "typo_key" in msg
    assert len(ei.value.problems) >= 3
    assert "Fix:" in msg


def test_unknown_kind_and_demand_group(ws_dir):
    def bad(raw):
        raw["services"]["school"]["kinds"] = ["castle"]
        raw["services"]["school"]["demand"] = "aliens"
    with pytest.raises(WorkspaceError) as ei:
        read_workspace(edit_yaml(ws_dir, bad))
    msg = str(ei.value)
    assert "unknown facility kind 'castle'" in msg and "unknown demand group 'aliens'" in msg


def test_missing_file(ws_dir):
    (ws_dir / "facilities.csv").unlink()
    with pytest.raises(WorkspaceError, match=ERROR_CONTRACT["missing_file"]) as ei:
        read_workspace(ws_dir / "workspace.yaml")
    assert ei.value.problems[0].field == "layers.facilities.path"


def test_reading_resolves_paths(ws_dir):
    (ws_dir / "sub").mkdir()
    spec = read_workspace(ws_dir / "sub" / ".." / "workspace.yaml")
    assert spec.path == (ws_dir / "workspace.yaml").resolve()
    assert spec.layers["facilities"].path == (ws_dir / "facilities.csv").resolve()


@pytest.mark.parametrize(("content", "code"), [
    (None, "spec_file_missing"),
    (b"workspace: [unclosed\n", "spec_not_yaml"),
    ("名称: 攀枝花\n".encode("gbk"), "spec_not_utf8"),
    (b"- just\n- a list\n", "spec_no_mapping"),
])
def test_unreadable_workspace_files(tmp_path, content, code):
    p = tmp_path / "ws.yaml"
    if content is not None:
        p.write_bytes(content)
    with pytest.raises(WorkspaceError) as ei:
        read_workspace(p)
    [problem] = ei.value.problems
    assert (problem.file, problem.field, problem.code) == (str(p), "", code)
    assert problem.text("zh") != f"problem.{code}"


def test_missing_files_and_cross_problems_in_one_error(ws_dir):
    (ws_dir / "facilities.csv").unlink()
    p = edit_yaml(ws_dir, lambda raw: raw["services"]["school"].__setitem__("demand", "aliens"))
    with pytest.raises(WorkspaceError) as ei:
        read_workspace(p)
    assert [(q.field, q.code) for q in ei.value.problems] == [
        ("layers.facilities.path", "spec_layer_file_missing"), ("services.school.demand", "spec_unknown_demand")]
    assert "文件" in ei.value.text("zh") and "不存在" in ei.value.text("zh")


def write_csv(d: Path, fn) -> None:
    p = d / "facilities.csv"
    lines = p.read_text(encoding="utf-8").splitlines()
    p.write_text("\n".join(fn(lines)) + "\n", encoding="utf-8")


def test_several_file_problems_in_one_error(ws_dir):
    def bad(lines):
        lines[2] = lines[2].replace("C2", "C1")          # duplicate id
        lines[3] = lines[3].replace(",300,", ",-300,")   # negative seats
        return lines
    write_csv(ws_dir, bad)
    with pytest.raises(WorkspaceError) as ei:
        load_workspace(ws_dir / "workspace.yaml")
    msg = str(ei.value)
    assert "duplicate facility ids: C1" in msg
    assert "negative capacity for S1" in msg
    assert str(ws_dir / "facilities.csv") in msg


def test_missing_column(ws_dir):
    write_csv(ws_dir, lambda lines: [lines[0].replace("type", "typ")] + lines[1:])
    with pytest.raises(WorkspaceError, match=ERROR_CONTRACT["missing_column"]) as ei:
        load_workspace(ws_dir / "workspace.yaml")
    assert ei.value.problems[0].field == "fields.kind"
    assert "typ" in ei.value.problems[0].fix


def test_wrong_type(ws_dir):
    write_csv(ws_dir, lambda lines: [lines[0]] + [lines[1].replace(",10,4,", ",ten,4,")] + lines[2:])
    with pytest.raises(WorkspaceError, match="non-numeric") as ei:
        load_workspace(ws_dir / "workspace.yaml")
    assert ei.value.problems[0].field == "beds"


def test_swapped_or_wrong_coordinates_are_outside(ws_dir):
    def bad(lines):
        parts = lines[1].split(",")
        parts[3] = str(float(parts[3]) + 0.2)  # 20 km east
        lines[1] = ",".join(parts)
        return lines
    write_csv(ws_dir, bad)
    with pytest.raises(WorkspaceError, match=ERROR_CONTRACT["outside"]) as ei:
        load_workspace(ws_dir / "workspace.yaml")
    assert "GCJ02" in str(ei.value)


def test_gcj02_declared_is_converted(ws_dir):
    from gisapp.grid.coords import wgs84_to_gcj02

    def to_gcj(lines):
        out = [lines[0]]
        for line in lines[1:]:
            p = line.split(",")
            lo, la = wgs84_to_gcj02(float(p[3]), float(p[4]))
            p[3], p[4] = f"{float(lo):.10f}", f"{float(la):.10f}"
            out.append(",".join(p))
        return out
    base = load_workspace(ws_dir / "workspace.yaml").facilities
    write_csv(ws_dir, to_gcj)
    # declared WGS84 but the file is GCJ-02: every facility lands several hundred metres off
    wrong = load_workspace(ws_dir / "workspace.yaml").facilities
    assert np.hypot(wrong.x - base.x, wrong.y - base.y).min() > 200
    edit_yaml(ws_dir, lambda raw: raw["layers"]["facilities"].__setitem__("crs", "GCJ02"))
    ws = load_workspace(ws_dir / "workspace.yaml")
    assert np.hypot(ws.facilities.x - base.x, ws.facilities.y - base.y).max() < 0.01


def test_empty_layer(ws_dir):
    write_csv(ws_dir, lambda lines: lines[:1])
    with pytest.raises(WorkspaceError, match="empty"):
        load_workspace(ws_dir / "workspace.yaml")


def test_unreadable_raster(ws_dir):
    (ws_dir / "population.tif").write_bytes(b"not a tiff")
    with pytest.raises(WorkspaceError, match="cannot read the raster") as ei:
        load_workspace(ws_dir / "workspace.yaml")
    assert "GeoTIFF" in ei.value.problems[0].fix


def test_raster_without_crs(ws_dir):
    p = ws_dir / "population.tif"
    with rasterio.open(p) as src:
        prof, vals = src.profile, src.read(1)
    prof.pop("crs")
    p.unlink()
    with rasterio.open(p, "w", **prof) as dst:
        dst.write(vals, 1)
    with pytest.raises(WorkspaceError, match=ERROR_CONTRACT["no_crs"]):
        load_workspace(ws_dir / "workspace.yaml")


def test_xlsx_and_geojson_facilities(ws_dir):
    import pandas as pd

    from gisapp.io import layers as gio

    df = pd.read_csv(ws_dir / "facilities.csv")
    df.to_excel(ws_dir / "facilities.xlsx", index=False)
    edit_yaml(ws_dir, lambda raw: raw["layers"]["facilities"].__setitem__("path", "facilities.xlsx"))
    ws = load_workspace(ws_dir / "workspace.yaml")
    assert ws.facilities["facility_id"].tolist() == ["C1", "C2", "S1"]
    gdf = gio.read_facilities(ws.spec.layers["facilities"], [])
    gdf.drop(columns=["lon", "lat"]).rename(columns={"facility_id": "id", "kind": "type"}).to_file(
        ws_dir / "f.geojson", driver="GeoJSON")
    def point(raw):
        raw["layers"]["facilities"]["path"] = "f.geojson"
        raw["layers"]["facilities"]["fields"] = {"id": "id", "name": "name", "kind": "type",
                                                 "capacity": ["beds", "doctors", "seats"]}
    edit_yaml(ws_dir, point)
    ws2 = load_workspace(ws_dir / "workspace.yaml")
    assert np.allclose(ws2.facilities.x, ws.facilities.x, atol=1e-6)
