"""The catalogues: every key in both languages with the same placeholders, every code used has its texts,
Chinese texts read as Chinese, and bad input is reported in Chinese."""

from __future__ import annotations

import ast
import copy
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import pytest
from shapely.geometry import LineString

from gisapp._errors import GisAppError, Problem, WorkspaceError
from gisapp.i18n import CATALOGUES, LANGS, Term, has_text, placeholders, t
from gisapp.workspace import load_workspace

from .conftest import DEMO, ROOT, TINY

PKG = ROOT / "gisapp"
CJK = re.compile(r"[\u3400-\u9fff]")
#: three or more ASCII words in a row, separated by spaces: an English sentence, not a code or a name
ENGLISH_RUN = re.compile(r"[A-Za-z][A-Za-z'’-]*(?: +[A-Za-z][A-Za-z'’-]*){2,}")
PLACEHOLDER = re.compile(r"\{[^{}]*\}")


# --------------------------------------------------------------------------- the walker


@dataclass
class Usage:
    """What the source asks of the catalogues: literal keys, key prefixes (f-strings) and codes."""

    keys: dict[str, str] = field(default_factory=dict)  # key -> where
    prefixes: dict[str, str] = field(default_factory=dict)  # prefix of an f-string key -> where
    problems: dict[str, str] = field(default_factory=dict)  # problem code -> where
    errors: dict[str, str] = field(default_factory=dict)  # error code (and title code) -> where


def _name(func: ast.expr) -> str:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return ""


def _strings(node: ast.expr | None) -> list[str]:
    """The literal strings an expression can take: a constant, or either branch of ``a if c else b``."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.IfExp):
        return _strings(node.body) + _strings(node.orelse)
    return []


def _prefix(node: ast.expr) -> str | None:
    """The constant start of an f-string (``f"kind.{k}"`` -> ``"kind."``), None for other expressions."""
    if isinstance(node, ast.JoinedStr) and node.values:
        first = node.values[0]
        return first.value if isinstance(first, ast.Constant) and isinstance(first.value, str) else ""
    return None


def walk_source(paths: list[Path]) -> Usage:
    """Collect the catalogue keys and codes named in ``paths`` (AST: literals only).

    - ``t("key", ...)`` and ``Term("key", ...)``: a key (an f-string gives a key prefix);
    - ``Problem(file, field, "code", ...)`` or ``Problem(..., code="code")``: a problem code;
    - any other call's ``code="code"`` and ``title_code="code"``: an error code.
    """
    use = Usage()
    for path in paths:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            name = _name(node.func)
            where = f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path.name}:{node.lineno}"
            if name in {"t", "Term"} and node.args:
                for key in _strings(node.args[0]):
                    use.keys.setdefault(key, where)
                pre = _prefix(node.args[0])
                if pre is not None:
                    use.prefixes.setdefault(pre, where)
            if name == "Problem":
                code_node = node.args[2] if len(node.args) > 2 else next(
                    (k.value for k in node.keywords if k.arg == "code"), None)
                for code in _strings(code_node):
                    use.problems.setdefault(code, where)
            else:
                for k in node.keywords:
                    if k.arg in {"code", "title_code"}:
                        for code in _strings(k.value):
                            use.errors.setdefault(code, where)
    return use


def missing_texts(use: Usage, catalogues: dict[str, dict[str, str]]) -> list[str]:
    """Return one line per key the source needs that a catalogue lacks."""
    need: dict[str, str] = dict(use.keys)
    for code, where in use.problems.items():
        need.setdefault(f"problem.{code}", where)
        need.setdefault(f"problem.{code}.fix", where)
    for code, where in use.errors.items():
        need.setdefault(f"error.{code}", where)
    out = [f"{lang}: {key!r} (used at {where})" for lang, cat in catalogues.items()
           for key, where in sorted(need.items()) if key not in cat]
    out += [f"{lang}: no key starts with {pre!r} (f-string at {where})" for lang, cat in catalogues.items()
            for pre, where in sorted(use.prefixes.items()) if pre and not any(k.startswith(pre) for k in cat)]
    return out


@pytest.fixture(scope="module")
def usage() -> Usage:
    return walk_source(sorted(PKG.rglob("*.py")))


# --------------------------------------------------------------------------- (a) both catalogues alike


def test_both_catalogues_have_the_same_keys():
    zh, en = CATALOGUES["zh"], CATALOGUES["en"]
    assert sorted(set(zh) - set(en)) == [], "keys only in zh.py"
    assert sorted(set(en) - set(zh)) == [], "keys only in en.py"


def test_no_key_is_written_twice():
    # a dict literal keeps the last of two equal keys silently: the first text would be lost
    for lang in LANGS:
        tree = ast.parse((PKG / "i18n" / f"{lang}.py").read_text(encoding="utf-8"))
        (table,) = [n for n in ast.walk(tree) if isinstance(n, ast.Dict)]
        keys = [k.value for k in table.keys if isinstance(k, ast.Constant)]
        assert sorted({k for k in keys if keys.count(k) > 1}) == [], lang


def test_every_text_is_filled_in():
    empty = [(lang, k) for lang, cat in CATALOGUES.items() for k, v in cat.items() if not v.strip()]
    assert empty == []


def test_same_placeholders_in_both_languages():
    zh, en = CATALOGUES["zh"], CATALOGUES["en"]
    differ = {k: (sorted(placeholders(zh[k])), sorted(placeholders(en[k]))) for k in set(zh) & set(en)
              if placeholders(zh[k]) != placeholders(en[k])}
    assert differ == {}


def test_a_parameter_may_be_called_key_or_lang():
    # t(key, lang, /, **params): the parameters never clash with t's own arguments
    assert t("error.report_lang", "en", lang="fr").endswith("'fr'.") if has_text("error.report_lang", "en") else True
    GisAppError(code="some_code", params={"key": 1, "lang": 2}).text("zh")


def test_every_template_formats():
    for lang, cat in CATALOGUES.items():
        for k, v in cat.items():
            t(k, lang, **dict.fromkeys(placeholders(v), 1.5))  # raises on a malformed template


# --------------------------------------------------------------------------- (b) every key used exists


def test_every_key_and_code_used_in_the_source_has_both_texts(usage):
    assert missing_texts(usage, CATALOGUES) == []


def test_the_walker_finds_keys_codes_and_prefixes(usage):
    assert "cli.help.workspace" in usage.keys                       # t("...")
    assert "role." in usage.prefixes                                 # Term(f"role.{role}")
    assert {"duplicate_facility_ids", "layer_no_crs", "column_missing"} <= set(usage.problems)
    assert {"facility_outside", "facilities_outside"} <= set(usage.problems)  # both branches of a ... if ... else
    assert {"coord_system_unknown", "speed_table_invalid", "travel_speeds_missing"} <= set(usage.errors)


def test_the_check_reports_a_missing_text(usage, tmp_path):
    cats = copy.deepcopy(CATALOGUES)
    del cats["zh"]["problem.layer_no_crs.fix"]
    del cats["en"]["error.coord_system_unknown"]
    del cats["zh"]["cli.help.workspace"]
    found = "\n".join(missing_texts(usage, cats))
    assert "zh: 'problem.layer_no_crs.fix'" in found
    assert "en: 'error.coord_system_unknown'" in found
    assert "zh: 'cli.help.workspace'" in found
    # a code nobody wrote a text for, and an f-string key with no key of its prefix
    src = tmp_path / "new.py"
    src.write_text('Problem("f", "", "brand_new_code", {})\nraise GisAppError(code="brand_new_error")\n'
                   't(f"nowhere.{x}", lang)\nt("nowhere_key")\n', encoding="utf-8")
    found = "\n".join(missing_texts(walk_source([src]), CATALOGUES))
    for lang in LANGS:
        for key in ("problem.brand_new_code", "problem.brand_new_code.fix", "error.brand_new_error", "nowhere_key"):
            assert f"{lang}: {key!r}" in found
        assert f"{lang}: no key starts with 'nowhere.'" in found


def _both(key: str) -> bool:
    return all(has_text(key, lang) for lang in LANGS)


def _layer_roles() -> set[str]:
    from gisapp.config import spec as config
    from gisapp.io.workspace_file import read_workspace

    roles = {"population", "districts", "facilities", "roads", "barriers", "landcover", "dem", "settlements"}
    schema = getattr(config, "SCHEMA", None)
    if isinstance(schema, dict):
        roles |= set(schema.get("properties", {}).get("layers", {}).get("properties", {}))
    for ws in (DEMO, TINY):
        roles |= set(read_workspace(ws).layers)
    return roles


def test_every_layer_role_has_a_name():
    roles = _layer_roles()
    assert {"roads", "settlements"} <= roles
    assert [r for r in sorted(roles) if not (_both(f"role.{r}") and _both(f"layer.{r}"))] == []
    # inside a message the role is a word of the sentence
    assert Term("role.roads").text("en") == "roads" and CJK.search(Term("role.roads").text("zh"))


def test_every_facility_kind_has_a_label(usage):
    from gisapp.config.spec import FACILITY_KINDS

    if "kind." in usage.prefixes:  # the labels live in the catalogues
        assert [k for k in FACILITY_KINDS if not _both(f"kind.{k}")] == []
    else:
        for k, lab in FACILITY_KINDS.items():
            assert CJK.search(lab["zh"]) and lab["en"], k


def test_every_family_the_code_enumerates():
    from gisapp.io.workspace_file import read_workspace
    from gisapp.metrics.service import TRAVEL_MODES

    spec = read_workspace(DEMO)
    caps = {s.capacity for s in spec.services.values() if s.capacity}
    assert [c for c in sorted(caps) if not _both(f"cap.{c}")] == []
    assert [m for m in TRAVEL_MODES if not _both(f"travel.{m}")] == []
    assert [u for u in ("m", "min") if not _both(f"unit.{u}")] == []
    for status in ("real", "synthetic", "mixed"):
        assert _both(f"word.{status}") and _both(f"cli.status.{status}"), status
    for c in ("urban_centre", "urban_cluster", "rural", "town", "country", "all"):
        assert _both(f"class.{c}"), c


def test_every_cli_command_and_table_column_has_texts(tiny_ws):
    from gisapp.cli import build_parser
    from gisapp.metrics import service, tables

    parser = build_parser("en")
    sub = next(a for a in parser._actions if a.dest == "command")  # noqa: SLF001
    assert [c for c in sub.choices if not _both(f"cli.help.{c}")] == []
    table = tables.coverage_by_district(tiny_ws, service.run_service(tiny_ws, "clinic"))
    assert [c for c in table.columns if not _both(f"cli.col.{c}")] == []


# --------------------------------------------------------------------------- (c) Chinese reads as Chinese


def _user_facing(key: str) -> bool:
    return key.startswith(("problem.", "error.", "cli."))


def test_chinese_texts_of_problems_errors_and_the_cli_are_chinese():
    bad = {}
    for key, text in CATALOGUES["zh"].items():
        if not _user_facing(key):
            continue
        bare = PLACEHOLDER.sub(" ", text)
        if not CJK.search(bare) or ENGLISH_RUN.search(bare):
            bad[key] = text
    assert bad == {}


def test_the_chinese_check_catches_english():
    for text in ("column {column!r} is missing.", "缺少列：please map it.", "{error}"):
        bare = PLACEHOLDER.sub(" ", text)
        assert not CJK.search(bare) or ENGLISH_RUN.search(bare), text
    for text in ("请提供 GeoJSON、GeoPackage 或（压缩的）Shapefile 文件。", "请在工作区文件的 layers.{role} 中声明坐标系 crs。"):
        bare = PLACEHOLDER.sub(" ", text)
        assert CJK.search(bare) and not ENGLISH_RUN.search(bare), text


# --------------------------------------------------------------------------- (d) bad input in Chinese

#: ASCII words a Chinese message may hold: codes and file formats, and keys of the workspace file
ALLOWED = {
    "WGS84", "CGCS2000", "GCJ02", "BD09", "EPSG", "GeoTIFF", "tif", "CSV", "XLSX", "GeoJSON", "GPKG", "SHP",
    "GeoPackage", "Shapefile", "YAML", "crs", "fields", "layers", "band", "class", "lon", "lat", "capacity",
    "services", "kinds", "analysis_crs", "auto", "yaml",
}
WORD = re.compile(r"[A-Za-z][A-Za-z0-9_]*")


def _names_from_user(problems: list[Problem]) -> list[str]:
    """The bits of problems that come from the user's files: paths, fields, columns, ids, values (longest first)."""
    bits = {b for p in problems for b in (p.file, p.field, *p.params.values()) if isinstance(b, str) and b}
    return sorted(bits, key=len, reverse=True)


def _english_left(text: str, problems: list[Problem]) -> set[str]:
    for bit in _names_from_user(problems):
        text = text.replace(bit, " ")
    return {w for w in WORD.findall(text) if w not in ALLOWED}


def _copy_tiny(tmp_path: Path) -> Path:
    d = tmp_path / "ws"
    shutil.copytree(TINY.parent, d)
    return d


def _edit_csv(d: Path, fn) -> None:
    p = d / "facilities.csv"
    lines = p.read_text(encoding="utf-8").splitlines()
    p.write_text("\n".join(fn(lines)) + "\n", encoding="utf-8")


def _load_problems(d: Path) -> WorkspaceError:
    with pytest.raises(WorkspaceError) as ei:
        load_workspace(d / "workspace.yaml")
    return ei.value


CASES = {
    "missing file": lambda d: (d / "facilities.csv").unlink(),
    "missing column": lambda d: _edit_csv(d, lambda ls: [ls[0].replace("type", "typ")] + ls[1:]),
    "duplicate ids": lambda d: _edit_csv(d, lambda ls: [ls[0], ls[1], ls[2].replace("C2", "C1")] + ls[3:]),
    "negative and non-numeric": lambda d: _edit_csv(
        d, lambda ls: [ls[0], ls[1].replace(",10,4,", ",ten,4,"), ls[2], ls[3].replace(",300,", ",-300,")]),
    "empty": lambda d: _edit_csv(d, lambda ls: ls[:1]),
    "unreadable raster": lambda d: (d / "population.tif").write_bytes(b"nope"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_is_reported_in_chinese(tmp_path, case):
    d = _copy_tiny(tmp_path)
    CASES[case](d)
    err = _load_problems(d)
    assert err.problems
    zh = err.text("zh")
    assert CJK.search(zh)
    assert _english_left(zh, err.problems) == set(), zh
    for p in err.problems:
        assert CJK.search(p.text("zh")) and CJK.search(p.fix_text("zh")), p.code
        assert p.text("en") == p.message and not CJK.search(p.message.replace(p.file, ""))


def test_a_roads_layer_without_crs_is_reported_in_chinese(tmp_path):
    import warnings

    import yaml

    from gisapp.travel import terrain

    d = _copy_tiny(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "crs was not provided": that is the point
        gpd.GeoDataFrame({"class": [1]}, geometry=[LineString([(0, 0), (1, 1)])]).to_file(d / "roads.gpkg")
    raw = yaml.safe_load((d / "workspace.yaml").read_text(encoding="utf-8"))
    raw["layers"]["roads"] = {"path": "roads.gpkg", "fields": {"class": "class"}}
    (d / "workspace.yaml").write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    ws = load_workspace(d / "workspace.yaml")
    with pytest.raises(WorkspaceError) as ei:
        terrain.surface_for(ws, "walking")
    (p,) = ei.value.problems
    assert p.code == "layer_no_crs"
    assert p.message == "the roads layer has no CRS." and p.fix == "declare `crs` for layers.roads."
    assert p.text("zh") == "道路图层没有坐标系。"
    zh = ei.value.text("zh")
    assert _english_left(zh, ei.value.problems) == set(), zh


def test_the_english_check_catches_an_untranslated_problem():
    p = Problem("/data/x.csv", "fields.id", "duplicate_facility_ids", {"ids": "C1"})
    assert _english_left(WorkspaceError([p]).text("zh"), [p]) == set()
    assert _english_left(WorkspaceError([p]).text("en"), [p]) >= {"duplicate", "facility"}


def test_a_parameter_with_a_text_per_language_is_rendered_in_the_message_language():
    err = GisAppError(code="coord_system_unknown", params={"name": "mars"})
    p = Problem("a.yaml", "workspace.analysis_crs", "analysis_crs", {"error": err})
    assert p.message == str(err) and "mars" in p.text("zh") and CJK.search(p.text("zh"))
    assert "Unknown coordinate system" not in p.text("zh")


def test_the_old_regular_expression_table_is_gone():
    import gisapp.i18n as i18n

    assert not hasattr(i18n, "PROBLEM_TEXT") and not hasattr(i18n, "problem_text")


def test_no_call_passes_the_language_of_t_by_keyword():
    """``t(key, lang, /, **params)``: ``t(key, lang=...)`` would format with a parameter named
    ``lang`` and show the default language; every call must pass the language by position."""
    import ast

    from tests.conftest import ROOT

    bad = []
    for p in [*(ROOT / "gisapp").rglob("*.py"), ROOT / "streamlit_app.py"]:
        for node in ast.walk(ast.parse(p.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "t"
                    and any(k.arg == "lang" for k in node.keywords) and len(node.args) < 2):
                bad.append(f"{p.relative_to(ROOT)}:{node.lineno}")
    assert not bad, bad
