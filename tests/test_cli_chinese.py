"""The command line in Chinese: argparse's own words, every sub-command's help, bad arguments, file errors,
the headers of the CSV files it writes, and the gap list by place.

A Chinese output may hold ASCII only for what a user types or reads as a code: command and option
names, choices, file names, EPSG codes.  Everything else is Chinese: no run of three English words.
"""

from __future__ import annotations

import re
import subprocess
import sys

import pandas as pd
import pytest

from gisapp.cli import COMMANDS, argparse_text, build_parser, main
from gisapp.i18n import t

from .conftest import ROOT, TINY

CJK = re.compile(r"[\u3400-\u9fff]")
#: three or more ASCII words in a row: an English sentence
ENGLISH_RUN = re.compile(r"[A-Za-z][A-Za-z'-]*(?: +[A-Za-z][A-Za-z'-]*){2,}")
#: what a Chinese output may hold in ASCII: the program, options (--lang), choices ({zh,en}), quoted values
ALLOWED = re.compile(r"python -m gisapp|--?[A-Za-z][\w-]*|\{[\w,]+\}|'[^']*'")
#: argparse's English, as Python writes it: none may reach a Chinese user
ARGPARSE_ENGLISH = ("usage:", "positional arguments", "options:", "show this help", "the following arguments",
                    "invalid choice", "unrecognized arguments", "expected one argument", "error:",
                    "not allowed with", "invalid int value", "choose from")


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gisapp", *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=300)


def english_run(text: str) -> str | None:
    """Return the first run of English words in ``text`` once the allowed ASCII is taken out."""
    m = ENGLISH_RUN.search(ALLOWED.sub(" ", text))
    return m.group(0) if m else None


def assert_chinese(text: str) -> None:
    assert CJK.search(text), text
    assert english_run(text) is None, (english_run(text), text)
    low = text.lower()
    assert not [w for w in ARGPARSE_ENGLISH if w in low], text


def test_the_check_catches_english():
    assert english_run("用法：python -m gisapp [-h] --lang {zh,en}") is None
    assert english_run("python -m gisapp: error: the following arguments are required: --out") == \
        "the following arguments are required"
    assert english_run("错误：文件 layers.gpkg 不存在") is None


def test_top_help_is_chinese():
    p = run_cli("--help")
    assert p.returncode == 0
    assert_chinese(p.stdout + p.stderr)
    for name in COMMANDS:
        assert name in p.stdout and re.sub(r"\s+", "", t(f"cli.help.{name}", "zh")) in re.sub(r"\s+", "", p.stdout)


@pytest.mark.parametrize("command", COMMANDS)
def test_help_of_every_command_is_chinese(command):
    p = run_cli(command, "--help")
    assert p.returncode == 0
    assert_chinese(p.stdout + p.stderr)
    assert p.stdout.startswith(t("cli.usage", "zh") + f"python -m gisapp {command}")
    assert t("cli.help.help", "zh") in p.stdout and t("cli.options", "zh") in p.stdout


@pytest.mark.parametrize(("args", "key"), [
    (("coverage", "--service", "x"), "cli.ap.required"),
    (("suggest", "-s", "x", "--k", "2", "--method", "fast", "-o", "o"), "cli.ap.invalid_choice"),
    (("suggest", "-s", "x", "--k", "zwei", "-o", "o"), "cli.ap.invalid_value"),
    (("suggest", "-s", "x", "--k", "2", "--target-share", "90", "-o", "o"), "cli.ap.not_allowed_with"),
    (("suggest", "-s", "x", "-o", "o"), "cli.ap.one_required"),
    (("suggest", "-s", "x", "--k"), "cli.ap.expected_one"),
    (("services", "--bogus"), "cli.ap.unrecognized"),
    (("teleport",), "cli.ap.invalid_choice"),
    ((), "cli.ap.required"),
])
def test_bad_arguments_are_reported_in_chinese(args, key):
    p = run_cli(*args)
    assert p.returncode == 2 and p.stdout == ""
    assert_chinese(p.stderr)
    assert p.stderr.startswith(t("cli.usage", "zh"))
    first = t(key, "zh").split("{")[0]
    assert first in p.stderr, (first, p.stderr)
    assert "错误" in p.stderr.splitlines()[-1]


def test_bad_arguments_stay_in_english_with_lang_en():
    p = run_cli("--lang", "en", "coverage", "--service", "x")
    assert p.returncode == 2 and not CJK.search(p.stderr)
    assert "usage: " in p.stderr and "the following arguments are required: --out/-o" in p.stderr


def test_argparse_texts_keep_their_fields():
    assert argparse_text("invalid choice: %(value)r (choose from %(choices)s)", "zh") % {
        "value": "x", "choices": "'a', 'b'"} == "无效的取值 'x'（可选：'a', 'b'）"
    assert argparse_text("%(prog)s: error: %(message)s\n", "en") % {"prog": "p", "message": "m"} == "p: error: m\n"
    # argparse's state is restored after a parse: another parser in the process speaks English again
    import argparse

    with pytest.raises(SystemExit):
        build_parser("zh").parse_args(["coverage"])
    assert argparse._("usage: ") == "usage: "  # noqa: SLF001


@pytest.mark.parametrize("case", ["workspace", "scenario"])
def test_a_missing_file_is_named_without_its_folder(case, tmp_path):
    missing = tmp_path / "某文件夹" / ("没有.yaml" if case == "workspace" else "没有.gpkg")
    if case == "workspace":
        p = run_cli("coverage", "-s", "clinic", "-o", str(tmp_path / "o"), "-w", str(missing))
    else:
        p = run_cli("scenario", "-f", str(missing), "-s", "clinic", "-o", str(tmp_path / "o"), "-w", str(TINY))
    assert p.returncode == 1 and "Traceback" not in p.stderr
    assert_chinese(p.stderr)
    assert missing.name in p.stderr and str(tmp_path) not in p.stderr and "某文件夹" not in p.stderr
    assert "请检查" in p.stderr  # and the fix


def test_a_file_in_the_way_is_named_with_the_fix(tmp_path):
    blocker = tmp_path / "占位"
    blocker.write_text("x", encoding="utf-8")  # a file where the output folder should be
    p = run_cli("coverage", "-s", "clinic", "-o", str(blocker / "out"), "-w", str(TINY))
    assert p.returncode == 1 and "Traceback" not in p.stderr
    assert_chinese(p.stderr)
    assert str(tmp_path) not in p.stderr and "无法创建 out" in p.stderr and "请换一个输出文件夹" in p.stderr


def test_a_bad_layer_names_the_file_the_field_and_the_fix_without_the_folder(tmp_path):
    import shutil

    d = tmp_path / "服务器上的文件夹"
    shutil.copytree(TINY.parent, d)
    p = d / "facilities.csv"
    lines = p.read_text(encoding="utf-8").splitlines()
    p.write_text("\n".join([lines[0].replace("type", "typ"), *lines[1:]]) + "\n", encoding="utf-8")
    r = run_cli("coverage", "-s", "clinic", "-o", str(tmp_path / "o"), "-w", str(d / "workspace.yaml"))
    assert r.returncode == 1
    assert_chinese(r.stderr)
    assert "facilities.csv" in r.stderr and "type" in r.stderr and "修改：" in r.stderr
    assert "服务器上的文件夹" not in r.stderr and str(tmp_path) not in r.stderr


def test_every_output_of_the_tiny_workspace_is_chinese(tmp_path, capsys):
    from gisapp.planning.scenario import Edit, Scenario, save_scenario

    scen = save_scenario(tmp_path / "s", Scenario("扩建", [Edit("capacity", "C1", capacity={"doctors": 9.0})]))
    runs = [["services"], ["coverage", "-s", "clinic", "-o", str(tmp_path / "c")],
            ["suggest", "-s", "school", "--k", "2", "--spacing-m", "100", "-o", str(tmp_path / "g")],
            ["scenario", "-f", str(scen), "-s", "clinic", "-o", str(tmp_path / "sc")]]
    for args in runs:
        assert main([*args, "-w", str(TINY)]) == 0, args
        out = capsys.readouterr()
        text = out.out.replace(str(tmp_path), "")
        assert_chinese(text)
    for csv in [tmp_path / "c" / "coverage_by_district.csv", tmp_path / "g" / "suggested_sites.csv",
                tmp_path / "g" / "coverage_curve.csv", tmp_path / "sc" / "scenario_by_district.csv"]:
        head = csv.read_text(encoding="utf-8-sig").splitlines()[0]
        assert_chinese(head)
        assert not re.search(r"\b(district|covered|people|population|share|rank|baseline)\w*", head), head


def test_english_outputs_hold_no_chinese_headers(tmp_path, capsys):
    assert main(["--lang", "en", "suggest", "-s", "school", "--k", "2", "--spacing-m", "100", "-o", str(tmp_path),
                 "-w", str(TINY)]) == 0
    out = capsys.readouterr().out
    head = (tmp_path / "suggested_sites.csv").read_text(encoding="utf-8-sig").splitlines()[0]
    assert not CJK.search(head) and t("col.plan_people_added", "en") in head
    assert "°E" in out and "°N" in out  # sites named by their coordinates in English
    assert t("sug.names_by_coordinates", "en") in out


# ---- the gap list by place ---------------------------------------------------------------------------


def test_gaps_need_a_settlements_layer(capsys):
    assert main(["gaps", "-s", "clinic", "-w", str(TINY)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("错误：") and t("error.gaps_need_places", "zh") in err


def test_gaps_by_place_on_the_demo(tmp_path, capsys, demo_ws):
    from gisapp.metrics.gaps import gap_place_export
    from gisapp.metrics.places import gap_places
    from gisapp.metrics.service import run_service

    dest = tmp_path / "缺口.csv"
    assert main(["gaps", "-s", "hospital_beds", "--top", "5", "--out", str(dest)]) == 0
    out = capsys.readouterr().out
    assert_chinese(out)
    expect = gap_places(demo_ws, run_service(demo_ws, "hospital_beds"))
    got = pd.read_csv(dest, encoding="utf-8-sig", dtype={t("col.district_id", "zh"): str})
    heads = gap_place_export(expect, "zh")
    assert list(got.columns) == list(heads.columns)
    assert len(got) == len(expect) > 5
    people = t("col.people_beyond", "zh")
    assert got[people].tolist() == expect["people"].tolist()  # whole people, most first
    assert got[people].is_monotonic_decreasing and (got[people] == got[people].round()).all()
    assert got[t("col.place", "zh")].iloc[0] == expect["place"].iloc[0] and got[t("col.place", "zh")].iloc[0]
    # the header line names the service and the total; five rows printed, the rest said to be in the file
    total = f"{int(expect['people'].sum()):,}"
    assert total in out.splitlines()[0] and demo_ws.spec.services["hospital_beds"].title("zh") in out
    assert expect["place"].iloc[0] in out and len(out.strip().splitlines()) == 1 + 1 + 5 + 2  # title, header, rows, notes
    assert t("cli.gaps_more_in_file", "zh", n=f"{len(expect) - 5:,}") in out


def test_gaps_in_english(capsys, demo_ws):
    assert main(["--lang", "en", "gaps", "-s", "kindergarten", "--top", "3"]) == 0
    out = capsys.readouterr().out
    assert t("col.people_beyond", "en") in out and "--out" in out.splitlines()[-1]
    assert demo_ws.spec.services["kindergarten"].title("en") in out.splitlines()[0]


def test_suggested_sites_are_named_by_place_on_the_demo(tmp_path, capsys, demo_ws):
    from gisapp.metrics.places import place_index

    assert main(["suggest", "-s", "kindergarten", "--k", "6", "--method", "greedy", "-o", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert_chinese(out.replace(str(tmp_path), ""))
    sites = pd.read_csv(tmp_path / "suggested_sites.csv", encoding="utf-8-sig")
    names = sites[t("col.plan_site", "zh")].tolist()
    villages = set(place_index(demo_ws).places["place"])
    for name in names:
        assert not re.fullmatch(r"[GC]\d+", name)
        base = re.sub(r"（\d+）$", "", name).removesuffix(" 附近")
        assert base.split(" · ")[-1] in villages, name
    assert len(set(names)) == len(names)  # sites in the same place are numbered
    assert t("sug.names_by_coordinates", "zh") not in out
