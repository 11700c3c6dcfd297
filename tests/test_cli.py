"""The command line: services, coverage files, and clean errors."""

from __future__ import annotations

import re
import subprocess
import sys

import geopandas as gpd
import pandas as pd
import pytest

from gisapp.cli import main
from gisapp.i18n import t
from gisapp.metrics import service
from gisapp.metrics import tables as tables

from .conftest import ROOT, TINY

CJK = re.compile(r"[\u3400-\u9fff]")
#: three or more ASCII words in a row: an English sentence
ENGLISH_RUN = re.compile(r"[A-Za-z][A-Za-z'-]*(?: +[A-Za-z][A-Za-z'-]*){2,}")
COMMANDS = ["services", "coverage", "gaps", "pipeline", "scenario", "suggest", "report"]


def test_services_lists_standards_and_sources(capsys):
    assert main(["--workspace", str(TINY), "--lang", "en", "services"]) == 0
    out = capsys.readouterr().out
    assert "clinic" in out and "≤ 150 m walk" in out and "Standard: test" in out


COVERAGE_COLUMNS = ["district_id", "district_name", "population", "covered", "uncovered", "covered_pct"]


def test_coverage_writes_csv_and_gpkg(tmp_path, tiny_ws):
    assert main(["coverage", "--service", "clinic", "--out", str(tmp_path), "--workspace", str(TINY)]) == 0
    head = t("cli.col.district_id", "zh")
    df = pd.read_csv(tmp_path / "coverage_by_district.csv", dtype={head: str}, encoding="utf-8-sig")
    assert list(df.columns) == [t(f"cli.col.{c}", "zh") for c in COVERAGE_COLUMNS]  # headers in Chinese
    df.columns = COVERAGE_COLUMNS
    expect = tables.coverage_by_district(tiny_ws, service.run_service(tiny_ws, "clinic"))
    pd.testing.assert_frame_equal(df, expect, check_dtype=False)
    assert (df["population"] == df["covered"] + df["uncovered"]).all()
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
    assert p.stderr.startswith("错误：") and "Traceback" not in p.stderr  # Chinese by default
    assert not (tmp_path / "coverage_by_district.csv").exists()


def test_scenario_command(tmp_path, tiny_ws):
    from gisapp.planning.scenario import Edit, Scenario, save_scenario

    p = save_scenario(tmp_path / "scen", Scenario("关闭C2", [Edit("close", "C2")]))
    assert main(["scenario", "--file", str(p), "--service", "clinic", "--out", str(tmp_path),
                 "--workspace", str(TINY)]) == 0
    df = pd.read_csv(tmp_path / "scenario_by_district.csv", encoding="utf-8-sig")
    covered = t("col.covered", "zh")
    assert df[f"现状 · {covered}"].tolist() == [90.0, 1080.0]
    assert df[f"关闭C2 · {covered}"].tolist() == [90.0, 0.0]
    assert not any("baseline" in c or "covered" in c for c in df.columns)


def test_suggest_command(tmp_path, tiny_ws, capsys):
    from gisapp.planning import suggest

    assert main(["suggest", "--service", "clinic", "--k", "2", "--spacing-m", "100", "--method", "exact",
                 "--out", str(tmp_path), "--workspace", str(TINY)]) == 0
    out = capsys.readouterr().out
    df = pd.read_csv(tmp_path / "suggested_sites.csv", encoding="utf-8-sig")
    expect = suggest.suggest(tiny_ws, "clinic", k=2, spacing_m=100, method="exact")
    added = df[t("col.plan_people_added", "zh")]
    assert added.tolist() == pytest.approx(expect.sites["people_added"].tolist(), abs=1.0)  # whole people
    assert (added == added.round()).all()
    covered = df[t("col.plan_people_covered", "zh")]
    assert covered.iloc[-1] == round(expect.sites["people_covered"].iloc[-1])
    assert (covered.diff().iloc[1:] == added.iloc[1:]).all()  # the sites add up
    # the tiny workspace has no settlements layer: sites named by their coordinates, and the output says why
    assert df[t("col.plan_site", "zh")].str.startswith("东经").all()
    assert t("sug.names_by_coordinates", "zh") in out
    assert df[t("col.plan_candidate_id", "zh")].str.match(r"C\d+$").all()  # ids stay for machines
    assert len(pd.read_csv(tmp_path / "coverage_curve.csv")) == 3


def test_errors_in_chinese_by_default(tmp_path):
    p = run_cli("coverage", "--service", "clinic", "--out", str(tmp_path), "--workspace", "missing.yaml")
    assert p.returncode == 1 and p.stderr.startswith("错误：")
    assert "工作区文件不存在" in p.stderr and "请检查路径" in p.stderr


def _flat(text: str) -> str:
    return re.sub(r"\s+", "", text)  # argparse wraps long help lines


def test_help_comes_from_the_catalogue_in_chinese_by_default_and_in_english():
    from gisapp.i18n import CATALOGUES

    helps = [k for k in CATALOGUES["en"] if k.startswith("cli.help.") and k[len("cli.help."):] in COMMANDS + ["workspace", "lang", "help"]]
    zh, en = run_cli("--help"), run_cli("--lang", "en", "--help")
    assert zh.returncode == 0 == en.returncode
    for key in ["cli.description", *helps]:
        assert _flat(t(key, "zh")) in _flat(zh.stdout), key
        assert _flat(t(key, "en")) in _flat(en.stdout), key
        assert _flat(t(key, "en")) not in _flat(zh.stdout), key
    assert CJK.search(zh.stdout) and not CJK.search(en.stdout.replace("Language / 语言", ""))
    words = zh.stdout.replace("python -m gisapp", "")
    assert not ENGLISH_RUN.search(words), ENGLISH_RUN.search(words)
    assert "usage:" not in zh.stdout and "show this help" not in zh.stdout


@pytest.mark.parametrize("command", ["coverage", "scenario", "suggest", "report"])
def test_help_of_each_command_is_chinese(command, capsys):
    from gisapp.cli import build_parser

    with pytest.raises(SystemExit):
        build_parser("zh").parse_args([command, "--help"])
    out = capsys.readouterr().out
    assert _flat(t(f"cli.help.{command}", "zh")) in _flat(out) and _flat(t("cli.help.out", "zh")) in _flat(out)
    words = out.replace(f"python -m gisapp {command}", "")  # the program's name is no sentence
    assert CJK.search(words) and not ENGLISH_RUN.search(words), ENGLISH_RUN.search(words)


def test_help_language_from_the_environment(monkeypatch):
    from gisapp.cli import argv_lang

    monkeypatch.setenv("GISAPP_LANG", "en")
    assert argv_lang([]) == "en" and argv_lang(["--lang", "zh"]) == "zh" and argv_lang(["--lang=zh"]) == "zh"
    monkeypatch.setenv("GISAPP_LANG", "xx")
    assert argv_lang([]) == "zh"


def test_coverage_prints_chinese_headers_and_english_ones(tmp_path, capsys):
    assert main(["coverage", "--service", "clinic", "--out", str(tmp_path / "zh"), "--workspace", str(TINY)]) == 0
    zh = capsys.readouterr().out
    assert t("cli.col.covered_pct", "zh") in zh and "合计" in zh and "covered_pct" not in zh
    assert main(["--lang", "en", "coverage", "--service", "clinic", "--out", str(tmp_path / "en"),
                 "--workspace", str(TINY)]) == 0
    en = capsys.readouterr().out
    assert t("cli.col.covered_pct", "en") in en
    lines = en.splitlines()
    total = next(i for i, line in enumerate(lines) if line.startswith("total: "))
    assert lines[total].startswith("total: 1,990 people, 1,170 covered")
    # issue 11: then people served within capacity (AccessMod style), its total and how capacity became people
    assert lines[total + 1] == t("served.title", "en") and t("cli.col.served", "en") in lines[total + 2]
    assert "Served within capacity: 590 of 1,990 people" in en and "500 people per unit" in en
    assert (tmp_path / "en" / "served_by_district.csv").is_file()
    # the files hold the same numbers in both languages; only the headers follow the language
    name = "coverage_by_district.csv"
    zh_lines = (tmp_path / "zh" / name).read_text(encoding="utf-8-sig").splitlines()
    en_lines = (tmp_path / "en" / name).read_text(encoding="utf-8-sig").splitlines()
    assert zh_lines[1:] == en_lines[1:] and zh_lines[0] != en_lines[0]
    assert zh_lines[0].split(",") == [t(f"cli.col.{c}", "zh") for c in COVERAGE_COLUMNS]
    assert (tmp_path / "zh" / name).read_bytes().startswith(b"\xef\xbb\xbf")  # Excel shows the Chinese headers


def test_workspace_problems_are_printed_in_chinese(tmp_path):
    import shutil

    d = tmp_path / "ws"
    shutil.copytree(TINY.parent, d)
    p = d / "facilities.csv"
    lines = p.read_text(encoding="utf-8").splitlines()
    p.write_text("\n".join([lines[0].replace("type", "typ"), *lines[1:]]) + "\n", encoding="utf-8")
    r = run_cli("coverage", "--service", "clinic", "--out", str(tmp_path / "o"), "--workspace", str(d / "workspace.yaml"))
    assert r.returncode == 1 and r.stderr.startswith("错误：") and "Traceback" not in r.stderr
    assert "工作区中发现 1 个问题" in r.stderr and "缺少列“type”" in r.stderr
    assert "is missing" not in r.stderr and "Fix:" not in r.stderr


def test_errors_in_english_with_lang_en(tmp_path):
    p = run_cli("--lang", "en", "coverage", "--service", "nope", "--out", str(tmp_path), "--workspace", str(TINY))
    assert p.returncode == 1 and p.stderr.startswith("error: ") and "unknown service 'nope'" in p.stderr
    assert not any("\u4e00" <= ch <= "\u9fff" for ch in p.stderr)
