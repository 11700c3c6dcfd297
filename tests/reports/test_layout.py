"""The reports package: the data, then the charts, then one writer per format, then write_report.

Checked on the source (AST), imports inside functions included: a writer never imports
``gisapp.reports.write`` (the orchestration), so the old hidden cycle cannot come back.
"""

from __future__ import annotations

import ast

import pytest

from tests.conftest import ROOT

REPORTS = ROOT / "gisapp" / "reports"
WRITERS = ("html", "xlsx", "gpkg", "pdf")
#: module -> the modules of gisapp.reports it may import
ALLOWED = {
    "data": set(),
    "charts": {"data"},
    "html": {"data", "charts"},
    "xlsx": {"data", "charts"},
    "gpkg": {"data", "charts"},
    "pdf": {"data", "charts"},
    "write": {"data", "charts", *WRITERS},
}


def _reports_imports(name: str) -> set[str]:
    """Return the modules of gisapp.reports that ``gisapp/reports/<name>.py`` imports, anywhere."""
    tree = ast.parse((REPORTS / f"{name}.py").read_text(encoding="utf-8"))
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            mods = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = "gisapp.reports" + (f".{base}" if base else "")
            mods = [base] + [f"{base}.{a.name}" for a in node.names]
        else:
            continue
        for m in mods:
            if m.startswith("gisapp.reports."):
                out.add(m.split(".")[2])
            elif m == "gisapp.reports":
                out.add("__init__")
    return out & ({*ALLOWED, "__init__"})


def test_every_module_of_the_package_is_known():
    found = {p.stem for p in REPORTS.glob("*.py")} - {"__init__"}
    assert found == set(ALLOWED)


@pytest.mark.parametrize("name", ["data", "charts", *WRITERS])
def test_writers_import_nothing_from_write(name):
    assert "write" not in _reports_imports(name)


@pytest.mark.parametrize("name", sorted(ALLOWED))
def test_imports_flow_from_the_data_to_write(name):
    got = _reports_imports(name) - {name}
    assert got <= ALLOWED[name], f"gisapp.reports.{name} imports {sorted(got - ALLOWED[name])}"
    assert "__init__" not in got, "import the modules themselves, not the package"


def test_writers_build_their_file_in_memory(tiny_ws):
    """Each writer returns its content; only gisapp.io writes it (see tests/io)."""
    from gisapp.reports import data, gpkg, xlsx

    rd = data.collect(tiny_ws, ["clinic"], lang="en", generated="2024-06-01 12:00")
    assert xlsx.xlsx_bytes(rd)[:2] == b"PK"
    layers = gpkg.gpkg_layers(rd)
    assert list(layers) == list(gpkg.LAYERS)
    assert set(gpkg.gpkg_options(layers)) == set(gpkg.LAYERS)
