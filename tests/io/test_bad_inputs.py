"""Bad inputs give one clear message (file, field, fix; Chinese and English) before long work starts.

A population raster that misses the districts, NaN cells without a nodata value, integer
rasters, negative or infinite values, empty capacities, and an output path that is a file or
cannot be written.
"""

from __future__ import annotations

import errno
import shutil
from pathlib import Path

import numpy as np
import pytest
import rasterio
from affine import Affine
from rasterio.crs import CRS

from gisapp import workspace as _workspace
from gisapp._errors import GisAppError, Problem, WorkspaceError
from gisapp.cli import main
from gisapp.i18n import t
from gisapp.io import workspace_file
from gisapp.io.workspace_file import check_output_file, check_output_folder
from gisapp.workspace import load_workspace
from tests.conftest import TINY

CJK = "\u3400-\u9fff"


@pytest.fixture
def ws_dir(tmp_path: Path) -> Path:
    d = tmp_path / "ws"
    shutil.copytree(TINY.parent, d)
    return d


def _tiny_raster() -> tuple[dict, np.ndarray]:
    with rasterio.open(TINY.parent / "population.tif") as src:
        return dict(src.profile), src.read(1)


def _write_raster(path: Path, values: np.ndarray, **profile: object) -> None:
    prof, _ = _tiny_raster()
    prof.update(dtype=values.dtype.name, **profile)
    path.unlink(missing_ok=True)
    with rasterio.open(path, "w", **prof) as dst:
        dst.write(values, 1)


def _assert_told(problem: Problem, file_name: str, field: str, *, en: tuple[str, ...], zh: tuple[str, ...]) -> None:
    """The problem names the file and the field, and says what is wrong and the fix in both languages."""
    assert problem.file_name == file_name
    assert problem.field == field
    for lang, words in (("en", en), ("zh", zh)):
        line = problem.render(lang, full_path=False)
        assert line.startswith(f"- {file_name} [{field}]"), line
        assert problem.fix_text(lang) and problem.fix_text(lang) in line
        for w in words:
            assert w in line, (lang, w, line)
    assert any("\u3400" <= ch <= "\u9fff" for ch in problem.text("zh") + problem.fix_text("zh"))


def _no_long_work(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the steps after the checks fail loudly if they run."""
    def boom(*_a: object, **_k: object) -> None:
        raise AssertionError("long work started before the check")

    monkeypatch.setattr(_workspace, "resample_to_grid", boom)
    monkeypatch.setattr(_workspace, "degree_of_urbanisation", boom)


# ---- population raster ------------------------------------------------------------------------------
def test_raster_far_from_the_districts_same_crs(ws_dir, monkeypatch):
    prof, vals = _tiny_raster()
    t = prof["transform"]
    _write_raster(ws_dir / "population.tif", vals, transform=Affine(t.a, t.b, t.c + 100_000.0, t.d, t.e, t.f))
    _no_long_work(monkeypatch)
    with pytest.raises(WorkspaceError) as ei:
        load_workspace(ws_dir / "workspace.yaml")
    [p] = ei.value.problems
    assert p.code == "population_outside_districts"
    assert p.params["total"] == f"{float(vals[vals > 0].sum()):,.0f}"
    _assert_told(p, "population.tif", "crs", en=("does not overlap the districts", "coordinate system"),
                 zh=("不重叠", "坐标系"))


def test_raster_far_from_the_districts_other_crs(ws_dir, monkeypatch):
    """A WGS84 raster 8 degrees away: refused before it is resampled."""
    v = np.ones((10, 10), dtype="float32")
    _write_raster(ws_dir / "population.tif", v, crs=CRS.from_epsg(4326), nodata=None,
                  transform=Affine(0.01, 0, 110.0, 0, -0.01, 30.0))
    _no_long_work(monkeypatch)
    with pytest.raises(WorkspaceError) as ei:
        load_workspace(ws_dir / "workspace.yaml")
    assert [p.code for p in ei.value.problems] == ["population_outside_districts"]
    assert ei.value.problems[0].params["total"] == "100"


def test_raster_over_the_districts_in_other_crs_still_loads(ws_dir):
    """The overlap check does not refuse a raster that is only in another CRS (could be a false alarm)."""
    v = np.ones((20, 20), dtype="float32")
    _write_raster(ws_dir / "population.tif", v, crs=CRS.from_epsg(4326), nodata=None,
                  transform=Affine(0.0006, 0, 101.999, 0, -0.0006, 26.5715))
    ws = load_workspace(ws_dir / "workspace.yaml")
    assert ws.grid.pop.sum() > 0 and ws.notices == ()


def test_nan_without_nodata_counts_as_no_people_and_says_so(ws_dir):
    _, vals = _tiny_raster()
    v = vals.astype("float32")
    v[0, :3] = np.nan
    _write_raster(ws_dir / "population.tif", v, nodata=None)
    ws = load_workspace(ws_dir / "workspace.yaml")
    assert np.isclose(ws.grid.pop.sum(), np.nansum(v))
    [n] = ws.notices
    assert n.code == "population_nan_as_empty" and n.params["n"] == "3"
    _assert_told(n, "population.tif", "band 1", en=("3 cell(s)", "NaN", "0 people", "nodata"),
                 zh=("3 个像元", "按 0 人计", "无数据值"))


def test_nan_as_the_declared_nodata_is_not_a_notice(ws_dir):
    _, vals = _tiny_raster()
    v = vals.astype("float32")
    v[0, :3] = np.nan
    _write_raster(ws_dir / "population.tif", v, nodata=float("nan"))
    ws = load_workspace(ws_dir / "workspace.yaml")
    assert ws.notices == ()
    assert np.isclose(ws.grid.pop.sum(), np.nansum(v))


@pytest.mark.parametrize(("dtype", "nodata"), [("uint8", 255), ("int16", -9999), ("int32", -2147483648),
                                               ("uint16", None), ("int16", None)])
def test_integer_rasters_load(ws_dir, dtype, nodata):
    rng = np.random.default_rng(3)
    v = rng.integers(0, 120, size=(10, 10)).astype(dtype)
    if nodata is not None:
        v[2, 2] = nodata  # not people: 255, -9999 ... must not be counted
    expected = float(v[v != nodata].sum(dtype=np.float64)) if nodata is not None else float(v.sum(dtype=np.float64))
    _write_raster(ws_dir / "population.tif", v, nodata=nodata)
    ws = load_workspace(ws_dir / "workspace.yaml")
    assert ws.notices == ()
    assert ws.source_population == pytest.approx(expected)
    assert ws.grid.pop.sum() + ws.grid.outside_pop == pytest.approx(expected)


def test_negative_population_is_a_problem_naming_the_value(ws_dir):
    _, vals = _tiny_raster()
    v = vals.astype("int16")
    v[1, 1] = v[4, 4] = -9999
    _write_raster(ws_dir / "population.tif", v, nodata=None)
    with pytest.raises(WorkspaceError) as ei:
        load_workspace(ws_dir / "workspace.yaml")
    [p] = [p for p in ei.value.problems if p.code == "population_negative"]
    assert p.params == {"n": "2", "min": "-9999"}
    _assert_told(p, "population.tif", "band 1", en=("2 cell(s)", "-9999", "nodata"),
                 zh=("2 个像元", "-9999", "无数据值"))


def test_infinite_population_is_a_problem(ws_dir):
    _, vals = _tiny_raster()
    v = vals.astype("float32")
    v[3, 3] = np.inf
    _write_raster(ws_dir / "population.tif", v, nodata=None)
    with pytest.raises(WorkspaceError) as ei:
        load_workspace(ws_dir / "workspace.yaml")
    assert [p.code for p in ei.value.problems] == ["population_infinite"]
    _assert_told(ei.value.problems[0], "population.tif", "band 1", en=("infinite",), zh=("无穷大",))


# ---- capacities -------------------------------------------------------------------------------------
def _blank_doctors(d: Path) -> None:
    p = d / "facilities.csv"
    lines = p.read_text(encoding="utf-8").splitlines()
    head = lines[0].split(",")
    i = head.index("doctors")
    out = [lines[0]]
    for line in lines[1:]:
        cells = line.split(",")
        if cells[0] == "C2":
            cells[i] = ""
        out.append(",".join(cells))
    p.write_text("\n".join(out) + "\n", encoding="utf-8")


def test_empty_capacity_is_read_as_zero_and_said(ws_dir):
    _blank_doctors(ws_dir)
    ws = load_workspace(ws_dir / "workspace.yaml")
    assert dict(ws.capacity_defaults) == {"doctors": ("C2",)}
    fac = ws.facilities.set_index("facility_id")
    assert fac.loc["C2", "doctors"] == 0.0 and fac.loc["C1", "doctors"] == 4.0
    [n] = ws.notices
    assert n.code == "capacity_blank_as_zero"
    _assert_told(n, "facilities.csv", "doctors", en=("C2", "counted as 0"), zh=("C2", "按 0 计"))


def test_full_capacities_have_no_notice(tiny_ws):
    assert tiny_ws.notices == () and dict(tiny_ws.capacity_defaults) == {}


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_cli_prints_the_capacity_default(ws_dir, tmp_path, capsys, lang):
    _blank_doctors(ws_dir)
    out = tmp_path / "out"
    assert main(["--lang", lang, "--workspace", str(ws_dir / "workspace.yaml"), "coverage", "--service",
                 "clinic", "--out", str(out)]) == 0
    err = capsys.readouterr().err
    expected = Problem("facilities.csv", "doctors", "capacity_blank_as_zero",
                       {"column": "doctors", "n": 1, "ids": "C2"})
    assert err.count("\n") == 1
    assert err.startswith({"zh": "注意：", "en": "note: "}[lang])
    assert expected.text(lang) in err and expected.fix_text(lang) in err and "facilities.csv [doctors]" in err
    assert str(ws_dir) not in err


# ---- output folders ---------------------------------------------------------------------------------
def test_output_folder_that_is_a_file(tmp_path):
    f = tmp_path / "results.csv"
    f.write_text("keep me", encoding="utf-8")
    with pytest.raises(GisAppError) as ei:
        check_output_folder(f)
    assert ei.value.code == "output_is_file"
    for lang, word in (("en", "not a folder"), ("zh", "不是文件夹")):
        text = ei.value.text(lang)
        assert "results.csv" in text and word in text and str(tmp_path) not in text
    assert f.read_text(encoding="utf-8") == "keep me"


def test_output_folder_under_a_file(tmp_path):
    (tmp_path / "blocker").write_text("x", encoding="utf-8")
    with pytest.raises(GisAppError) as ei:
        check_output_folder(tmp_path / "blocker" / "out")
    assert ei.value.code == "output_path_blocked" and "out" in ei.value.text("zh")


@pytest.mark.parametrize(("exc", "code", "en", "zh"), [
    (PermissionError(errno.EACCES, "Permission denied"), "output_no_permission", "no permission", "没有权限"),
    (OSError(errno.EROFS, "Read-only file system"), "output_read_only", "read-only", "只读"),
    (OSError(errno.ENOSPC, "No space left on device"), "output_disk_full", "full", "已满"),
    (OSError(errno.EIO, "I/O error"), "output_unwritable", f"system error {errno.EIO}", f"系统错误号 {errno.EIO}"),
])
def test_unwritable_output_folder(tmp_path, monkeypatch, exc, code, en, zh):
    """The tests run as root, who may write anywhere: the refusal of the file system is simulated."""
    def refuse(*_a: object, **_k: object) -> tuple[int, str]:
        raise exc

    monkeypatch.setattr(workspace_file.tempfile, "mkstemp", refuse)
    with pytest.raises(GisAppError) as ei:
        check_output_folder(tmp_path / "reports")
    assert ei.value.code == code
    assert ei.value.params["name"] == "reports"
    assert en in ei.value.text("en") and zh in ei.value.text("zh")
    assert str(tmp_path) not in ei.value.text("en") + ei.value.text("zh")
    assert "probe" not in ei.value.text("en")  # no internal temporary file named


def test_a_writable_folder_is_left_empty(tmp_path):
    assert check_output_folder(tmp_path / "a" / "b") == tmp_path / "a" / "b"
    assert list((tmp_path / "a" / "b").iterdir()) == []


def test_output_file_that_is_a_folder(tmp_path):
    with pytest.raises(GisAppError) as ei:
        check_output_file(tmp_path)
    assert ei.value.code == "output_is_folder"
    assert check_output_file(tmp_path / "new" / "gaps.csv") == tmp_path / "new" / "gaps.csv"


@pytest.mark.parametrize("command", [
    ["report"], ["coverage", "--service", "clinic"], ["suggest", "--service", "clinic", "--k", "1"],
])
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_cli_out_is_a_file_fails_before_loading(tmp_path, monkeypatch, capsys, command, lang):
    import gisapp.workspace

    def boom(*_a: object, **_k: object) -> None:
        raise AssertionError("the workspace was loaded before --out was checked")

    monkeypatch.setattr(gisapp.workspace, "load_workspace", boom)
    f = tmp_path / "report.pdf"
    f.write_bytes(b"%PDF old")
    assert main(["--lang", lang, "--workspace", str(TINY), *command, "--out", str(f)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "report.pdf" in err and str(tmp_path) not in err
    assert ("不是文件夹" if lang == "zh" else "not a folder") in err
    assert "Traceback" not in err
    assert f.read_bytes() == b"%PDF old"


def test_cli_gaps_out_is_a_folder(tmp_path, monkeypatch, capsys):
    import gisapp.workspace

    monkeypatch.setattr(gisapp.workspace, "load_workspace", lambda *_a, **_k: 1 / 0)
    assert main(["--lang", "zh", "--workspace", str(TINY), "gaps", "--service", "clinic",
                 "--out", str(tmp_path)]) == 1
    assert "不是文件" in capsys.readouterr().err


def test_write_report_checks_the_folder_before_computing(tiny_ws, tmp_path, monkeypatch):
    from gisapp.reports import write

    monkeypatch.setattr(write, "collect", lambda *_a, **_k: 1 / 0)
    f = tmp_path / "out"
    f.write_text("a file", encoding="utf-8")
    with pytest.raises(GisAppError) as ei:
        write.write_report(tiny_ws, f, formats=("xlsx",), services=["clinic"], progress=False)
    assert ei.value.code == "output_is_file" and "out" in ei.value.text("zh")


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_report_says_which_capacities_were_read_as_zero(ws_dir, lang):
    from gisapp.reports.data import collect, provenance_table

    _blank_doctors(ws_dir)
    ws = load_workspace(ws_dir / "workspace.yaml")
    table = provenance_table(collect(ws, ["clinic"], lang=lang))
    [row] = [r for r in table.rows if r[2] == t("rep.notice", lang)]
    n = ws.notices[0]
    assert row[1] == "facilities.csv" and row[4] == "doctors"
    assert n.text(lang) in row[3] and "C2" in row[3] and str(ws_dir) not in row[3]


def test_the_app_says_which_capacities_were_read_as_zero(ws_dir, monkeypatch):
    from streamlit.testing.v1 import AppTest

    from tests.conftest import ROOT

    _blank_doctors(ws_dir)
    monkeypatch.setenv("GISAPP_WORKSPACE", str(ws_dir / "workspace.yaml"))
    monkeypatch.chdir(ROOT)
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=120).run()
    assert not at.exception
    warnings = [w.value for w in at.warning]
    n = load_workspace(ws_dir / "workspace.yaml").notices[0]
    assert any(n.text("zh") in w and "C2" in w and "facilities.csv" in w and str(ws_dir) not in w for w in warnings), warnings
