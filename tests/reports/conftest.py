"""Reports written once per test session: the tiny workspace with Chinese texts and the demo, in Chinese."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT, TINY

GENERATED = "2024-06-01 12:00"


def _chinese_texts(raw: dict) -> dict:
    """Give every text a user writes in the workspace file (titles, sources, layer notes) a Chinese version."""
    for lay in raw["layers"].values():
        prov = lay.setdefault("provenance", {"status": "synthetic"})
        prov["zh"] = "测试数据"
        if prov.get("source") is not None:
            prov["source"] = {"zh": "测试来源", "en": str(prov["source"])}
    for name, svc in raw["services"].items():
        title = svc.get("title") or {}
        svc["title"] = {"zh": title.get("zh") or "测试服务", "en": title.get("en") or name}
        for item, src in list((svc.get("source") or {}).items()):
            svc["source"][item] = {"zh": "测试来源", "en": src if isinstance(src, str) else src.get("en", "")}
    cons = raw.get("consortia") or {}
    if "source" in cons:
        cons["source"] = {"zh": "测试转诊标准", "en": "test"}
    return raw


@pytest.fixture(scope="session")
def tiny_zh_workspace(tmp_path_factory) -> Path:
    """A copy of the tiny workspace in which every text the user wrote has a Chinese version."""
    d = tmp_path_factory.mktemp("tiny_zh") / "ws"
    shutil.copytree(TINY.parent, d)
    p = d / "workspace.yaml"
    raw = _chinese_texts(yaml.safe_load(p.read_text(encoding="utf-8")))
    p.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return p


@pytest.fixture(scope="session")
def tiny_zh_report(tiny_zh_workspace, tmp_path_factory) -> tuple[object, Path]:
    """(workspace, folder) of the four report files of the Chinese tiny workspace, in Chinese."""
    from gisapp.reports.write import write_report
    from gisapp.workspace import load_workspace

    ws = load_workspace(tiny_zh_workspace)
    out = tmp_path_factory.mktemp("tiny_zh_report")
    write_report(ws, out, lang="zh", progress=False, generated=GENERATED)
    return ws, out


@pytest.fixture(scope="session")
def demo_zh_report(demo_ws, tmp_path_factory) -> tuple[object, Path]:
    """(workspace, folder) of the four report files of the demo, every service, in Chinese (about 30 s)."""
    from gisapp.reports.write import write_report

    assert (ROOT / "data" / "panzhihua" / "settlements.csv").exists()
    out = tmp_path_factory.mktemp("demo_zh_report")
    write_report(demo_ws, out, lang="zh", progress=False, generated=GENERATED)
    return demo_ws, out
