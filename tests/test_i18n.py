"""The translation table: every key in both languages, and Chinese validation messages."""

from __future__ import annotations

import re
import shutil

import pytest

from gisapp._errors import WorkspaceError
from gisapp.config.spec import read_workspace
from gisapp.i18n import TEXT, problem_text
from gisapp.workspace import load_workspace

from .conftest import TINY

CJK = re.compile(r"[\u4e00-\u9fff]")


def test_every_key_has_both_languages():
    missing = [k for k, v in TEXT.items() if not v.get("zh") or not v.get("en")]
    assert missing == []


def _problems(tmp_path, edit) -> list:
    d = tmp_path / "ws"
    shutil.copytree(TINY.parent, d)
    edit(d)
    with pytest.raises(WorkspaceError) as ei:
        load_workspace(read_workspace(d / "workspace.yaml"))
    return ei.value.problems


def _csv(fn):
    def edit(d):
        p = d / "facilities.csv"
        lines = p.read_text(encoding="utf-8").splitlines()
        p.write_text("\n".join(fn(lines)) + "\n", encoding="utf-8")
    return edit


@pytest.mark.parametrize("edit", [
    _csv(lambda ls: [ls[0].replace("type", "typ")] + ls[1:]),                       # missing column
    _csv(lambda ls: [ls[0], ls[1], ls[2].replace("C2", "C1"), ls[3].replace(",300,", ",-300,")]),  # dup, negative
    _csv(lambda ls: [ls[0], ls[1].replace(",10,4,", ",ten,4,")] + ls[2:]),          # wrong type
    _csv(lambda ls: ls[:1]),                                                        # empty
    lambda d: (d / "population.tif").write_bytes(b"nope"),                           # unreadable raster
    lambda d: (d / "facilities.csv").unlink(),                                       # missing file
])
def test_validation_problems_read_in_chinese(tmp_path, edit):
    problems = _problems(tmp_path, edit)
    assert problems
    for p in problems:
        assert CJK.search(problem_text(p.message, "zh")), p.message
        assert CJK.search(problem_text(p.fix, "zh")), p.fix
        assert problem_text(p.message, "en") == p.message
