"""Static checks: mypy --strict (the engine and its Streamlit face) and ruff (including the ban on streamlit)."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from .conftest import ROOT


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() == "true"


def _tool(name: str) -> str:
    """Return the path of a checker; without it the test is skipped, or fails in CI (``CI=true``)."""
    exe = shutil.which(name, path=str(ROOT / ".venv" / "bin")) or shutil.which(name)
    if exe is None:
        msg = f"{name} is not installed (pip install -e '.[test]')"
        if _in_ci():
            pytest.fail(f"{msg}; a check that needs a tool fails in CI")
        pytest.skip(msg)
    return exe


def test_a_missing_tool_fails_in_ci(monkeypatch):
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="fails in CI"):
        _tool("no-such-checker-gisapp")
    monkeypatch.setenv("CI", "false")
    with pytest.raises(pytest.skip.Exception):
        _tool("no-such-checker-gisapp")


def test_mypy_covers_the_streamlit_face():
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    section = text.split("[tool.mypy]", 1)[1].split("\n[", 1)[0]
    assert "strict = true" in section
    assert "gisapp/ui" not in section, "gisapp/ui must not be excluded from mypy"


@pytest.mark.slow
def test_engine_and_ui_are_strictly_typed(tmp_path):
    out = subprocess.run([_tool("mypy"), "gisapp", "streamlit_app.py", "--cache-dir", str(tmp_path / "mypy")],
                         cwd=ROOT, capture_output=True, text=True, timeout=900)
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
