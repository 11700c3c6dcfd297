"""Under ``CI=true`` a test that skips (missing data, a missing tool) fails instead of vanishing."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.conftest import ROOT

SKIPPING = """
import pytest

pytest.importorskip("a_module_that_is_not_installed_anywhere")
"""

SKIPPING_TEST = """
import pytest

def test_needs_data():
    pytest.skip("data not found")

def test_fine():
    assert True
"""


def _run(tmp_path, source: str, ci: str) -> subprocess.CompletedProcess[str]:
    f = tmp_path / "test_probe.py"
    f.write_text(source, encoding="utf-8")
    env = {**os.environ, "CI": ci}
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "tests.conftest",
                           "--rootdir", str(tmp_path), "-c", os.devnull, str(f)],
                          cwd=ROOT, capture_output=True, text=True, env=env, timeout=300)


def test_a_skip_fails_in_ci(tmp_path):
    out = _run(tmp_path, SKIPPING_TEST, "true")
    assert out.returncode == 1, out.stdout
    assert "1 failed, 1 passed" in out.stdout


def test_a_skip_stays_a_skip_outside_ci(tmp_path):
    out = _run(tmp_path, SKIPPING_TEST, "")
    assert out.returncode == 0, out.stdout
    assert "1 passed, 1 skipped" in out.stdout


def test_a_module_skipped_at_collection_fails_in_ci(tmp_path):
    out = _run(tmp_path, SKIPPING, "true")
    assert out.returncode != 0, out.stdout
    assert "error" in out.stdout.lower() or "failed" in out.stdout.lower()
