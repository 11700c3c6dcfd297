"""Every text the Streamlit face can ask for exists in both catalogues (zh and en).

Keys come from two places:

- literals in ``gisapp/ui`` and ``streamlit_app.py`` (AST): the first argument of ``t(...)`` /
  ``Term(...)``, and any other string constant that names a key (``("word.service", None)`` in a
  table's column spec, ``title_key="msg.workspace_failed"``, the router's page titles);
- dynamic families built with an f-string or ``"prefix." + x`` (``f"layer.{role}"``): each prefix
  must be listed in :func:`families`, which enumerates its members from their sources (layer
  roles, facility kinds, services' fields, metrics, travel modes, ...).  A new family in the UI
  without an entry here fails :func:`test_every_dynamic_family_of_the_ui_is_enumerated`.
"""

from __future__ import annotations

import ast
import re
import typing
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from gisapp.i18n import CATALOGUES, LANGS
from tests.conftest import DEMO, ROOT, TINY

UI_FILES = sorted((ROOT / "gisapp" / "ui").rglob("*.py")) + [ROOT / "streamlit_app.py"]
#: the first segments of the catalogue's keys ("word", "layer", "rep", ...)
PREFIXES = {k.split(".", 1)[0] for cat in CATALOGUES.values() for k in cat if "." in k}
#: a string constant that names a key: a catalogue prefix, a dot, then identifiers
KEY_LIKE = re.compile(r"^(?:" + "|".join(sorted(PREFIXES)) + r")\.[A-Za-z0-9_]+(?:\.[A-Za-z0-9_]+)*$")
#: file names are not keys ("report.html")
FILE_SUFFIX = re.compile(r"\.(?:csv|tif|tiff|yaml|yml|geojson|json|gpkg|xlsx|xls|zip|html|pdf|py|png)$")


def _where(path: Path, node: ast.AST) -> str:
    name = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path.name
    return f"{name}:{getattr(node, 'lineno', 0)}"


def _walk(paths: list[Path]) -> Iterator[tuple[Path, ast.AST]]:
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            yield path, node


def literal_keys(paths: list[Path]) -> dict[str, str]:
    """Return every key named by a literal: ``t("k")`` / ``Term("k")`` and key-like string constants."""
    out: dict[str, str] = {}
    # the start of a key built at run time is no key: f"cons.sector_{s}", "ov.curve_x_" + unit
    nodes = list(_walk(paths))
    parts = {id(v) for _, n in nodes if isinstance(n, ast.JoinedStr) for v in n.values}
    parts |= {id(n.left) for _, n in nodes if isinstance(n, ast.BinOp) and isinstance(n.op, ast.Add)}
    for path, node in nodes:
        if isinstance(node, ast.Call) and node.args:
            name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
            a = node.args[0]
            if name in {"t", "Term"} and isinstance(a, ast.Constant) and isinstance(a.value, str):
                out.setdefault(a.value, _where(path, node))
        if (isinstance(node, ast.Constant) and isinstance(node.value, str) and KEY_LIKE.match(node.value)
                and not FILE_SUFFIX.search(node.value) and id(node) not in parts):
            out.setdefault(node.value, _where(path, node))
    return out


def dynamic_prefixes(paths: list[Path]) -> dict[str, str]:
    """Return the constant starts of keys built at run time: ``f"layer.{r}"``, ``"unit." + u``."""
    out: dict[str, str] = {}
    for path, node in _walk(paths):
        start = None
        if isinstance(node, ast.JoinedStr) and node.values:
            first = node.values[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str) and len(node.values) > 1:
                start = first.value
        elif (isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add) and isinstance(node.left, ast.Constant)
              and isinstance(node.left.value, str)):
            start = node.left.value
        if start and re.match(r"^[a-z_]+\.", start) and start.split(".", 1)[0] in PREFIXES:
            out.setdefault(start, _where(path, node))
    return out


# --------------------------------------------------------------------------- the families, from their sources


def _workspace_files() -> list[Path]:
    return [DEMO, TINY, *sorted((ROOT / "layers").glob("*.yaml"))]


def _raw_workspaces() -> list[dict[str, typing.Any]]:
    return [yaml.safe_load(p.read_text(encoding="utf-8")) for p in _workspace_files()]


def _literal_args(obj: object) -> list[str]:
    """The values of a ``Literal[...]`` type alias (or of the Literal annotation of a field)."""
    return [str(a) for a in typing.get_args(obj)]


def _engine_layer_roles() -> set[str]:
    """Roles the engine reads: ``...layers["roads"]``, ``"dem" in ...layers`` (AST of gisapp)."""
    roles: set[str] = set()
    for _, node in _walk(sorted((ROOT / "gisapp").rglob("*.py"))):
        if (isinstance(node, ast.Subscript) and isinstance(node.value, ast.Attribute) and node.value.attr == "layers"
                and isinstance(node.slice, ast.Constant) and isinstance(node.slice.value, str)):
            roles.add(node.slice.value)
        if (isinstance(node, ast.Compare) and isinstance(node.left, ast.Constant) and isinstance(node.left.value, str)
                and any(isinstance(c, ast.Attribute) and c.attr == "layers" for c in node.comparators)):
            roles.add(node.left.value)
    return roles


def layer_roles() -> set[str]:
    """Every layer role the app knows: the schema's, the engine's, the workspaces' and those with a ``role.`` text."""
    from gisapp.config import spec as config

    roles = _engine_layer_roles()
    schema = getattr(config, "SCHEMA", None)
    if isinstance(schema, dict):
        roles |= set(schema.get("properties", {}).get("layers", {}).get("properties", {}))
    for raw in _raw_workspaces():
        roles |= set(raw.get("layers", {}))
    roles |= {k.split(".", 1)[1] for k in CATALOGUES["en"] if k.startswith("role.")}
    return roles


def capacity_fields() -> set[str]:
    """Capacity fields: those a user maps on the data page and those the workspaces declare."""
    from gisapp.ui import uploads

    caps = {c for c, _ in uploads.CAPACITY_FIELDS}
    for raw in _raw_workspaces():
        caps |= set(raw["layers"]["facilities"].get("fields", {}).get("capacity", []))
        caps |= {s["capacity"] for s in raw.get("services", {}).values() if s.get("capacity")}
    return caps


def source_items() -> set[str]:
    """The items of the services' ``source`` (standard, norm, ...)."""
    return {k for raw in _raw_workspaces() for s in raw.get("services", {}).values() for k in s.get("source", {})}


def district_classes(tiny_ws: typing.Any) -> set[str]:
    """Town and country classes, as the engine's table names them."""
    from gisapp.metrics.service import run_service
    from gisapp.metrics.tables import coverage_by_class

    return set(coverage_by_class(tiny_ws, run_service(tiny_ws, "clinic"))["class"])


def families(tiny_ws: typing.Any) -> dict[str, set[str]]:
    """Every dynamic key prefix of the UI -> the values it is completed with."""
    from gisapp.config.spec import FACILITY_KINDS, Provenance, Standard
    from gisapp.maps import DISTRICT_METRICS, OVERLAYS
    from gisapp.metrics.index import INDICATORS
    from gisapp.metrics.service import TRAVEL_MODES
    from gisapp.planning import mclp, models, scenario, suggest
    from gisapp.ui import uploads

    units = set(_literal_args(typing.get_type_hints(Standard.unit.fget)["return"]))  # "m", "min"
    statuses = set(_literal_args(typing.get_type_hints(Provenance)["status"]))
    return {
        "layer.": layer_roles(),
        "kind.": set(FACILITY_KINDS),
        "word.": statuses,  # provenance status of a layer (real, synthetic, mixed, unknown)
        "cap.": capacity_fields(),
        "capunit.": capacity_fields(),  # the unit word of a capacity field (张, 名, 个)
        "ov.col.cap.": capacity_fields(),
        "ov.col.short.": capacity_fields(),
        "ov.col.plus.": capacity_fields(),
        "class.about.": district_classes(tiny_ws),
        "field.": {f for f, _, _ in uploads.FACILITY_FIELDS},
        "crs.": {"file", *uploads.COORD_SYSTEMS},
        "unit.": units,
        "metric.median_": units,
        "ov.curve_x_": units,
        "travel.": set(TRAVEL_MODES),
        "map.overlay_": {*OVERLAYS, "none"},
        "class.": district_classes(tiny_ws),
        "cons.sector_": {"health", "education"},  # the sectors of consortia (metrics.consortia)
        "lang.name_": set(LANGS),
        "rep.item.": source_items(),
        "plan.op.": set(_literal_args(scenario.EditOp)),
        "sug.by.": {"k", "target"},  # suggest(k=...) or suggest(target_share=...)
        "sug.cand.": set(_literal_args(suggest.Candidates)),
        "sug.method.": set(_literal_args(mclp.Method)),
        "sug.model.": set(models.MODELS),  # issue 11: the planning models of the suggestions tab
        "sug.model_help.": set(models.MODELS),
        "sug.stage.": {"build", "heuristic", "solve", "done"},  # gisapp.planning.location.Progress stages
        "idx.ind.": set(INDICATORS),  # issue 14: index (D) - the indicators of the equalisation index
        # keys held in an engine table the pages look up (not a prefix, a set of whole keys)
        "": {key for key, _ in DISTRICT_METRICS.values()},
    }


# --------------------------------------------------------------------------- the tests


def _missing(keys: dict[str, str]) -> list[str]:
    return [f"{lang}: {k!r} (at {where})" for lang in LANGS for k, where in sorted(keys.items())
            if k not in CATALOGUES[lang]]


def test_every_literal_key_of_the_ui_has_both_texts():
    keys = literal_keys(UI_FILES)
    assert {"page.data", "data.layer", "msg.workspace_failed", "widget.choose_option"} <= set(keys)
    assert _missing(keys) == []


def test_every_dynamic_family_of_the_ui_is_enumerated(tiny_ws):
    known = families(tiny_ws)
    found = dynamic_prefixes(UI_FILES)
    assert {"layer.", "kind.", "cap.", "travel."} <= set(found)
    assert {p: w for p, w in found.items() if p not in known} == {}, "add the family to families()"


def test_every_member_of_every_family_has_both_texts(tiny_ws):
    fams = families(tiny_ws)
    assert {"settlements", "roads", "population"} <= fams["layer."]
    assert {"beds", "doctors", "seats"} <= fams["cap."] and {"straight_line", "terrain"} <= fams["travel."]
    keys = {f"{pre}{v}": f"family {pre!r}" for pre, values in fams.items() for v in values}
    assert _missing(keys) == []


def test_the_collectors_find_keys_and_families(tmp_path):
    src = tmp_path / "page.py"
    src.write_text('t("page.map", lang)\nshow(df, {"a": ("word.service", None)})\nst.download_button(file_name="report.html")\n'
                   'x = t(f"layer.{role}", lang)\ny = t("unit." + u, lang)\nz = f"{keys.PREFIX}{f}"\n',
                   encoding="utf-8")
    assert set(literal_keys([src])) == {"page.map", "word.service"}
    assert set(dynamic_prefixes([src])) == {"layer.", "unit."}
    assert _missing({"nowhere.key": "x"}) == [f"{lang}: 'nowhere.key' (at x)" for lang in LANGS]


@pytest.mark.parametrize("lang", LANGS)
def test_labels_the_pages_build_read_in_their_language(lang):
    from gisapp.ui import frame, tables

    assert frame.layer_label("settlements", lang) == CATALOGUES[lang]["layer.settlements"]
    assert frame.layer_label("wells", lang) == "wells"  # a role a user made up is shown as it is
    assert tables.kind_label("village_clinic", lang) == CATALOGUES[lang]["kind.village_clinic"]
    assert frame.lang_label(lang) == CATALOGUES[lang][f"lang.name_{lang}"]
