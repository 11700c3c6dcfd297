"""``python -m gisapp suggest --model ...``: every location model from the command line (issue 11)."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from gisapp.cli import main
from gisapp.i18n import t
from gisapp.planning import suggest

from .conftest import TINY
from .test_cli import run_cli

CJK = re.compile(r"[\u3400-\u9fff]")


def _run(tmp_path, capsys, *args: str) -> tuple[str, str, pd.DataFrame]:
    assert main(["suggest", "--service", "school", "--spacing-m", "100", "--out", str(tmp_path),
                 "--workspace", str(TINY), *args]) == 0
    cap = capsys.readouterr()
    return cap.out, cap.err, pd.read_csv(tmp_path / "suggested_sites.csv", encoding="utf-8-sig")


def test_lscp_covers_everyone_and_says_it_is_proven(tmp_path, capsys, tiny_ws):
    out, err, df = _run(tmp_path, capsys, "--model", "lscp")
    want = suggest.suggest(tiny_ws, "school", model="lscp", spacing_m=100)
    assert len(df) == len(want.sites) == 7
    assert df[t("col.plan_people_covered", "zh")].iloc[-1] == round(want.total)  # everyone: 199
    lines = suggest.summary_lines(want, "zh")
    assert lines[0] in out and lines[1] in out  # the model, then "新增 7 个站点，覆盖率 …% → 100.0%"
    assert "100.0%" in lines[1]
    assert t("sug.proof.optimal", "zh") in out
    # progress on stderr, in Chinese
    progress = [line for line in err.splitlines() if line.startswith("进度：")]
    assert progress[0] == "进度：构建模型 0%" and progress[-1] == "进度：完成 100%"


def test_p_median_in_terrain_mode_equals_the_engine(tmp_path, capsys, tiny_ws):
    out, _, df = _run(tmp_path, capsys, "--model", "p_median", "--p", "2", "--travel", "terrain", "--time-limit", "60")
    want = suggest.suggest(tiny_ws, "school", model="p_median", k=2, spacing_m=100, travel="terrain",
                           time_limit_s=60)
    assert df[t("col.plan_candidate_id", "zh")].tolist() == want.sites["candidate_id"].tolist()
    assert "路网/地形通行时间" in out
    trip = f"{want.mean_trip:.1f} 分钟"
    assert f"平均路程 {trip}" in out


def test_closures_write_the_facilities_to_close(tmp_path, capsys, tiny_ws):
    assert main(["suggest", "-s", "clinic", "--model", "closures", "--close", "1", "-o", str(tmp_path),
                 "-w", str(TINY)]) == 0
    out = capsys.readouterr().out
    want = suggest.suggest(tiny_ws, "clinic", model="closures", k_close=1)
    closed = pd.read_csv(tmp_path / "closed_facilities.csv", encoding="utf-8-sig")
    assert closed[t("col.plan_closed", "zh")].tolist() == want.closed_names
    assert closed[t("col.facility_id", "zh")].tolist() == want.closed["facility_id"].tolist()
    assert f"失去覆盖 {want.people_losing:,.0f} 人" in out
    assert want.closed_names[0] in out


def test_summary_in_english(tmp_path, capsys):
    assert main(["--lang", "en", "suggest", "-s", "school", "--model", "p_center", "--p", "2", "--spacing-m", "100",
                 "-o", str(tmp_path), "-w", str(TINY)]) == 0
    cap = capsys.readouterr()
    assert "Planning model: Shortest longest trip (Straight line)" in cap.out
    assert "the longest trip is" in cap.out and "proven optimal" in cap.out
    assert "progress: building the model 0%" in cap.err
    tail = cap.out.splitlines()[-5:]  # the summary (the table above holds the fixture's Chinese district names)
    assert tail[0].startswith("Planning model:") and not CJK.search("\n".join(tail) + cap.err)


@pytest.mark.parametrize(("args", "key"), [
    (("--model", "p_median"), "cli.ap.one_required"),
    (("--model", "closures"), "cli.ap.required"),
    (("--model", "mixed", "--p", "1"), "cli.ap.required"),
    (("--model", "lscp", "--k", "2", "--p", "3"), "cli.ap.not_allowed_with"),
    (("--model", "nearest"), "cli.ap.invalid_choice"),
])
def test_what_a_model_needs_is_asked_for_in_chinese(args, key, tmp_path):
    p = run_cli("suggest", "-s", "school", "-o", str(tmp_path), "-w", str(TINY), *args)
    assert p.returncode == 2 and p.stdout == ""
    assert t(key, "zh").split("{")[0] in p.stderr
    assert p.stderr.startswith(t("cli.usage", "zh"))
