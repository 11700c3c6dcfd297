"""The README's Python API block runs as written, on the demo workspace."""

from __future__ import annotations

import re

import numpy as np
import pytest

from tests.conftest import ROOT


def _api_block() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    part = text.split("## API (Python)", 1)[1]
    m = re.search(r"```python\n(.*?)```", part, re.S)
    assert m, "no python block under ## API (Python)"
    return m.group(1)


def test_readme_api_block_runs(demo_ws, monkeypatch):
    import gisapp

    monkeypatch.setattr(gisapp, "load_workspace", lambda *a, **k: demo_ws)  # the block loads the demo
    ns: dict[str, object] = {}
    exec(compile(_api_block(), "README.md", "exec"), ns)  # noqa: S102 - our own README
    a = np.asarray(ns["a"])
    assert a.shape == (demo_ws.grid.n,) and np.isfinite(a).all() and a.max() > 0
    res = ns["res"]
    table = ns["tables"].coverage_by_district(demo_ws, res)  # type: ignore[attr-defined]
    children = float(np.where(res.eligible, res.demand, 0.0).sum())  # type: ignore[attr-defined]
    assert 0 < children < demo_ws.grid.pop.sum()  # school-age children, a share of everyone
    assert float(table["population"].sum()) == pytest.approx(children)
