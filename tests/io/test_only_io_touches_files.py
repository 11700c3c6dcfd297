"""Only :mod:`gisapp.io` opens, reads or writes files (checked on the source, AST).

Any call below outside ``gisapp/io/`` fails the test: the builtin ``open``, ``Path`` file methods,
the readers and writers of pandas / geopandas / rasterio / pyogrio / openpyxl, and the file
operations of ``os``, ``shutil`` and ``tempfile``.
"""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import ROOT

PKG = ROOT / "gisapp"

#: methods that touch disk whatever object they are called on
FILE_METHODS = {
    "open", "read_text", "read_bytes", "write_text", "write_bytes", "mkdir", "unlink", "rmdir",
    "touch", "to_file", "read_file", "read_csv", "read_excel", "read_parquet", "read_dataframe",
    "write_dataframe", "load_workbook", "glob", "rglob", "iterdir", "exists", "is_file", "is_dir",
    "stat", "safe_load_file", "mkdtemp", "mkstemp", "NamedTemporaryFile", "TemporaryDirectory",
}
#: writers that return text when given no target, and write a file when given one
WRITERS_WITH_TARGET = {"to_csv", "to_excel", "to_parquet", "save", "output", "savefig"}
#: names of in-memory targets (BytesIO buffers, an ExcelWriter on one)
MEMORY = {"buf", "bio", "xw", "stream"}
#: Path methods that move files: one positional argument (str.replace and DataFrame.rename take others)
MOVERS = {"rename", "replace"}
#: modules whose file functions count wherever they are called
FILE_MODULES = {"shutil", "tempfile", "rasterio", "pyogrio", "fiona"}
OS_FILE_FUNCTIONS = {"replace", "rename", "remove", "unlink", "makedirs", "mkdir", "listdir",
                     "scandir", "fsync", "open", "exists", "isfile", "isdir", "getsize", "walk"}
#: calls of bare names that touch disk
FILE_FUNCTIONS = {"open"}


def _owner(f: ast.Attribute) -> str:
    v = f.value
    if isinstance(v, ast.Name):
        return v.id
    if isinstance(v, ast.Attribute) and isinstance(v.value, ast.Name):
        return f"{v.value.id}.{v.attr}"
    return ""


def _in_memory(node: ast.Call) -> bool:
    if not node.args:
        return False
    a = node.args[0]
    if isinstance(a, ast.Name):
        return a.id in MEMORY
    return isinstance(a, ast.Call) and getattr(a.func, "attr", getattr(a.func, "id", "")) in {"BytesIO", "StringIO"}


def _touches(node: ast.Call) -> str | None:
    f = node.func
    if _in_memory(node):
        return None
    if isinstance(f, ast.Name):
        return f"{f.id}()" if f.id in FILE_FUNCTIONS else None
    if not isinstance(f, ast.Attribute):
        return None
    owner = _owner(f)
    if owner in FILE_MODULES and f.attr not in {"transform", "Affine", "crs", "CRS", "features",
                                                "windows", "warp", "enums"}:
        return f"{owner}.{f.attr}()"
    if owner in {"os", "os.path"} and f.attr in OS_FILE_FUNCTIONS:
        return f"{owner}.{f.attr}()"
    if f.attr in FILE_METHODS:
        return f".{f.attr}()"
    if f.attr in WRITERS_WITH_TARGET and (node.args or any(k.arg in {"path", "path_or_buf", "excel_writer",
                                                                      "name", "fname"} for k in node.keywords)):
        return f".{f.attr}(target)"
    if f.attr in MOVERS and len(node.args) == 1 and not node.keywords and not isinstance(node.args[0], ast.Dict):
        return f".{f.attr}(target)"
    return None


def offences(path: Path) -> list[str]:
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call) and (what := _touches(node)):
            out.append(f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path.name}:{node.lineno} {what}")
    return out


def test_only_io_touches_files():
    found = []
    for p in sorted(PKG.rglob("*.py")):
        rel = p.relative_to(PKG).as_posix()
        if rel.startswith("io/"):
            continue
        found.extend(offences(p))
    assert not found, "file access outside gisapp/io:\n" + "\n".join(found)


def test_the_check_catches_a_file_write(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("from pathlib import Path\nimport shutil\nPath('x').write_text('y')\nopen('z')\n"
                   "shutil.copy('a', 'b')\ndf.to_csv('out.csv')\ndf.to_csv()\n'a b'.replace(' ', '')\n",
                   encoding="utf-8")
    assert len(offences(bad)) == 4
