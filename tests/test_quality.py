"""Static checks of the engine: mypy --strict and ruff (including the ban on streamlit)."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from .conftest import ROOT


def _tool(name: str) -> str:
    exe = shutil.which(name, path=str(ROOT / ".venv" / "bin")) or shutil.which(name)
    if exe is None:
        pytest.skip(f"{name} is not installed (pip install -e '.[test]')")
    return exe


@pytest.mark.slow
def test_engine_is_strictly_typed(tmp_path):
    out = subprocess.run([_tool("mypy"), "gisapp", "--cache-dir", str(tmp_path / "mypy")], cwd=ROOT,
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout[-4000:]


def test_ruff_clean():
    out = subprocess.run([_tool("ruff"), "check", "gisapp", "tests", "benchmarks", "streamlit_app.py",
                          "data/build_demo.py"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout[-4000:]


def test_streamlit_banned_in_engine_by_ruff(tmp_path):
    bad = ROOT / "gisapp" / "_tmp_banned_check.py"
    bad.write_text('"""Temporary."""\n\nimport streamlit\n\n__all__ = ["streamlit"]\n', encoding="utf-8")
    try:
        out = subprocess.run([_tool("ruff"), "check", str(bad)], cwd=ROOT, capture_output=True, text=True,
                             timeout=120)
    finally:
        bad.unlink()
    assert out.returncode != 0 and "TID251" in out.stdout
