"""The house rules of the package layout, checked on the source (AST): layers, cycles, streamlit.

Layers, lowest first; a module may import its own layer or lower ones, never a higher one.
Imports inside functions count too: they hide cycles, they do not remove them.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT

PKG = ROOT / "gisapp"

#: lowest first; a module's layer is the longest prefix that names it
LAYERS: list[tuple[str, ...]] = [
    ("gisapp._errors", "gisapp.i18n"),
    ("gisapp.grid",),
    ("gisapp.config",),
    ("gisapp.io",),
    ("gisapp.workspace",),
    ("gisapp.travel",),
    ("gisapp.metrics",),
    ("gisapp.planning",),
    ("gisapp.maps",),
    ("gisapp.reports",),
    ("gisapp.cli", "gisapp.__main__"),
    ("gisapp.ui",),
]


def _module(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _layer(mod: str) -> int | None:
    best: tuple[int, int] | None = None
    for i, names in enumerate(LAYERS):
        for n in names:
            if (mod == n or mod.startswith(n + ".")) and (best is None or len(n) > best[1]):
                best = (i, len(n))
    return None if best is None else best[0]


def _imports(path: Path) -> set[str]:
    mod = _module(path)
    pkg = mod if path.name == "__init__.py" else mod.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = pkg.split(".")[: len(pkg.split(".")) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            out.add(target)
            # "from gisapp.x import y" may name the module gisapp.x.y
            out.update(f"{target}.{a.name}" for a in node.names)
    return {m for m in out if m == "gisapp" or m.startswith("gisapp.")}


def _graph() -> dict[str, set[str]]:
    files = {_module(p): p for p in PKG.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for mod, path in files.items():
        graph[mod] = {m for m in _imports(path) if m in files and m != mod}
    return graph


def test_every_module_has_a_layer():
    missing = [m for m in _graph() if m != "gisapp" and _layer(m) is None]
    assert not missing, f"modules outside every layer: {missing}"


def test_imports_point_down_only():
    bad = []
    for mod, deps in _graph().items():
        if mod == "gisapp":
            continue
        lm = _layer(mod)
        for d in deps:
            if d == "gisapp":
                continue
            ld = _layer(d)
            if lm is not None and ld is not None and ld > lm:
                bad.append(f"{mod} -> {d}")
    assert not bad, "upward imports:\n" + "\n".join(sorted(bad))


def test_no_import_cycles():
    graph = _graph()
    # package __init__ re-exports are edges too, except the root's
    graph.pop("gisapp", None)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    sccs: list[list[str]] = []
    counter = [0]

    def strong(v: str) -> None:  # Tarjan
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in graph:
                continue
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                sccs.append(sorted(comp))

    sys.setrecursionlimit(10_000)
    for v in list(graph):
        if v not in index:
            strong(v)
    assert not sccs, f"import cycles: {sccs}"


def test_layer_check_catches_an_upward_import():
    assert _layer("gisapp.metrics.service") > _layer("gisapp.travel.cost")  # type: ignore[operator]
    assert _layer("gisapp.ui.pages.map") == len(LAYERS) - 1
    assert _layer("gisapp.reports.html") < _layer("gisapp.ui")  # type: ignore[operator]


def test_engine_does_not_import_streamlit():
    code = ("import sys, importlib, pkgutil, gisapp\n"
            "for m in pkgutil.walk_packages(gisapp.__path__, 'gisapp.'):\n"
            "    if not m.name.startswith('gisapp.ui'): importlib.import_module(m.name)\n"
            "print('streamlit' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
