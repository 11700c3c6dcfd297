"""Turn the contents of a workspace file into a :class:`~gisapp.config.models.WorkspaceSpec`, or into problems.

Pure: the YAML is read, and the layer files are looked for, by :mod:`gisapp.io.workspace_file`.
Every validation error becomes a :class:`~gisapp._errors.Problem` whose ``field`` is the YAML
path of the key (``services.clinic.standard.distance_m``) and whose code says what is wrong
(``problem.<code>`` in the catalogues of :mod:`gisapp.i18n`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError
from pydantic_core import ErrorDetails

from gisapp._errors import Problem, WorkspaceError
from gisapp.config.kinds import FACILITY_KINDS
from gisapp.config.models import FILE_CONTEXT, WorkspaceSpec

__all__ = ["check_workspace", "parse_workspace"]

_SPEC: TypeAdapter[WorkspaceSpec] = TypeAdapter(WorkspaceSpec)

#: pydantic's error types -> problem codes (the custom errors of the models are named by their code)
_CODES: dict[str, str] = {
    **dict.fromkeys(("missing", "missing_argument", "missing_keyword_only_argument",
                     "missing_positional_only_argument"), "spec_missing_key"),
    **dict.fromkeys(("extra_forbidden", "unexpected_keyword_argument",
                     "unexpected_positional_argument"), "spec_unknown_key"),
    **dict.fromkeys(("string_type", "string_unicode", "path_type"), "spec_not_text"),
    **dict.fromkeys(("float_type", "float_parsing", "finite_number"), "spec_not_number"),
    **dict.fromkeys(("int_type", "int_parsing", "int_from_float"), "spec_not_integer"),
    **dict.fromkeys(("bool_type", "bool_parsing"), "spec_not_boolean"),
    **dict.fromkeys(("list_type", "tuple_type", "set_type", "iterable_type"), "spec_not_list"),
    **dict.fromkeys(("dict_type", "mapping_type", "dataclass_type", "dataclass_exact_type", "model_type",
                     "model_attributes_type", "dataclass_args_type"), "spec_not_mapping"),
    "greater_than": "spec_must_exceed",
    "greater_than_equal": "spec_below_minimum",
    "less_than_equal": "spec_above_maximum",
    **dict.fromkeys(("literal_error", "enum"), "spec_not_allowed"),
    "too_short": "spec_too_few",
    "too_long": "spec_too_many",
    "string_pattern_mismatch": "spec_bad_name",
}


def _show(value: object) -> str:
    """Return a value as the user wrote it in YAML (shortened)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


def _number(value: object) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _problem(file: str, err: ErrorDetails) -> Problem:
    """Return the problem of one pydantic error."""
    loc = tuple(p for p in err["loc"] if p != "[key]")  # a bad key of a mapping: name the key itself
    ctx: dict[str, Any] = dict(err.get("ctx") or {})
    kind = err["type"]
    code = kind if kind.startswith("spec_") else _CODES.get(kind, "spec_invalid")
    params: dict[str, object] = {"value": _show(err["input"]), "key": str(loc[-1]) if loc else ""}
    if code == "spec_missing_key" and loc and isinstance(loc[-1], int):  # a pair with one item
        given = err["input"]
        ctx = {"actual_length": len(given) if isinstance(given, list | tuple) else "", "min_length": loc[-1] + 1}
        code, loc = "spec_too_few", loc[:-1]
    if code.startswith("spec_") and kind == code:
        params.update(ctx)
    elif code in {"spec_must_exceed", "spec_below_minimum", "spec_above_maximum"}:
        params["limit"] = _number(next((ctx[k] for k in ("gt", "ge", "le") if k in ctx), ""))
    elif code == "spec_not_allowed":
        found = re.findall(r"'([^']*)'|(-?\d+(?:\.\d+)?)", str(ctx.get("expected", "")))
        params["allowed"] = ", ".join(a or b for a, b in found)
    elif code in {"spec_too_few", "spec_too_many"}:
        params.update(n=ctx.get("actual_length", ""), min=ctx.get("min_length", ""),
                      max=ctx.get("max_length", ""))
    return Problem(file, ".".join(str(p) for p in loc), code, params)


def _cross_checks(spec: WorkspaceSpec, file: str) -> list[Problem]:
    """Return the problems between sections: kinds, demand groups, capacity fields, norms."""
    problems: list[Problem] = []
    caps = spec.layers["facilities"].fields.get("capacity", []) if "facilities" in spec.layers else []
    for s, svc in spec.services.items():
        for kind in svc.kinds:
            if kind not in FACILITY_KINDS:
                problems.append(Problem(file, f"services.{s}.kinds", "spec_unknown_kind",
                                        {"kind": kind, "known": ", ".join(FACILITY_KINDS)}))
        if svc.demand not in spec.demand_groups:
            problems.append(Problem(file, f"services.{s}.demand", "spec_unknown_demand",
                                    {"group": svc.demand, "known": ", ".join(spec.demand_groups)}))
        if svc.capacity is not None and svc.capacity not in caps:
            problems.append(Problem(file, f"services.{s}.capacity", "spec_capacity_not_listed",
                                    {"capacity": svc.capacity}))
        if svc.norm_per_1000 is not None and svc.capacity is None:
            problems.append(Problem(file, f"services.{s}.norm_per_1000", "spec_norm_needs_capacity"))
        if svc.norm_base is not None and svc.norm_base not in spec.demand_groups:
            problems.append(Problem(file, f"services.{s}.norm_base", "spec_unknown_demand",
                                    {"group": svc.norm_base, "known": ", ".join(spec.demand_groups)}))
        if svc.norm_base is not None and svc.norm_per_1000 is None:
            problems.append(Problem(file, f"services.{s}.norm_base", "spec_norm_base_needs_norm"))
    # --- issue 14: index (D) ---
    for s, w in spec.index.weights.items():
        if s not in spec.services:
            problems.append(Problem(file, f"index.weights.{s}", "spec_index_unknown_service",
                                    {"service": s, "known": ", ".join(spec.services)}))
        elif "capacity" in w and spec.services[s].norm_per_1000 is None:
            problems.append(Problem(file, f"index.weights.{s}.capacity", "spec_index_no_norm", {"service": s}))
    if spec.services and all(float(spec.index.weights.get(s, {}).get("weight", 1.0)) == 0 for s in spec.services):
        problems.append(Problem(file, "index.weights", "spec_index_all_zero"))
    return problems


def check_workspace(data: Mapping[str, Any], path: Path) -> tuple[WorkspaceSpec | None, list[Problem]]:
    """Validate the contents of a workspace file; return the spec and every problem found.

    Parameters
    ----------
    data
        The file's YAML mapping.
    path
        The file: problems name it as given, and layer paths are joined to its folder.

    Returns
    -------
    tuple
        The spec (None when the file's structure is invalid) and the problems (none when the
        spec is valid).  :func:`parse_workspace` raises them instead.
    """
    file = str(path)
    problems: list[Problem] = []
    body = dict(data)
    if "path" in body:  # the spec's path is the file's, never a key of it
        problems.append(Problem(file, "path", "spec_unknown_key", {"key": "path", "value": _show(body.pop("path"))}))
    try:
        spec = _SPEC.validate_python({"path": path, **body}, context={FILE_CONTEXT: path.parent})
    except ValidationError as exc:
        errors = sorted(exc.errors(), key=lambda e: [str(p) for p in e["loc"]])
        return None, problems + [_problem(file, e) for e in errors]
    return spec, problems + _cross_checks(spec, file)


def parse_workspace(data: Mapping[str, Any], path: Path) -> WorkspaceSpec:
    """Return the workspace spec of the contents of a workspace file.

    Pure: nothing is read.  :func:`gisapp.io.workspace_file.read_workspace` reads the file,
    calls this and checks that the layer files exist.

    Parameters
    ----------
    data
        The file's YAML mapping.
    path
        The file: problems name it, and layer paths are joined to its folder.

    Returns
    -------
    WorkspaceSpec

    Raises
    ------
    WorkspaceError
        Listing every problem, each with the YAML path of its key and a code.

    Examples
    --------
    >>> data = {
    ...     "workspace": {"name": "demo", "title": {"zh": "演示", "en": "Demo"}},
    ...     "layers": {
    ...         "population": {"path": "pop.tif"},
    ...         "districts": {"path": "districts.geojson", "fields": {"id": "code", "name": "name"}},
    ...         "facilities": {"path": "facilities.csv", "crs": "gcj-02",
    ...                        "fields": {"id": "id", "name": "name", "kind": "type"}},
    ...     },
    ...     "services": {"clinic": {"kinds": ["village_clinic"], "standard": {"distance_m": 500}}},
    ... }
    >>> spec = parse_workspace(data, Path("ws/demo.yaml"))
    >>> spec.title("en"), spec.services["clinic"].standard.label("en")
    ('Demo', '≤ 500 m walk')
    >>> spec.layers["facilities"].path.as_posix(), spec.layers["facilities"].crs
    ('ws/facilities.csv', 'GCJ02')

    Every problem is reported at once, with the YAML path of its key:

    >>> data["services"]["clinic"]["standard"] = {"distance_m": -5, "mode": "flying"}
    >>> data["services"]["clinic"]["kind"] = ["village_clinic"]
    >>> try:
    ...     parse_workspace(data, Path("ws/demo.yaml"))
    ... except WorkspaceError as err:
    ...     problems = err.problems
    >>> for p in problems:
    ...     print(p.field, p.code)
    services.clinic.kind spec_unknown_key
    services.clinic.standard.distance_m spec_must_exceed
    services.clinic.standard.mode spec_not_allowed
    >>> print(problems[2].text("en"), problems[2].fix_text("zh"))
    'flying' is not one of the allowed values. 请使用以下之一：walking, bicycling, motorized。
    """
    spec, problems = check_workspace(data, path)
    if spec is None or problems:
        raise WorkspaceError(problems)
    return spec
