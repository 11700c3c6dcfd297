"""Read a workspace YAML file into a :class:`~gisapp.config.models.WorkspaceSpec`.

The file is read here and its contents validated by :func:`gisapp.config.parse.check_workspace`
(pure); then each layer path is resolved and looked for.  Every problem is raised in one
:class:`~gisapp._errors.WorkspaceError`.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import yaml

from gisapp._errors import Problem, WorkspaceError
from gisapp.config.parse import check_workspace
from gisapp.config.spec import WorkspaceSpec

__all__ = ["read_workspace"]


def _yaml_problem(file: str, exc: yaml.YAMLError) -> Problem:
    mark = getattr(exc, "problem_mark", None)
    detail = getattr(exc, "problem", None) or str(exc)
    return Problem(file, "", "spec_not_yaml", {
        "line": mark.line + 1 if mark is not None else "?",
        "column": mark.column + 1 if mark is not None else "?",
        "detail": detail,
    })


def read_workspace(path: str | Path) -> WorkspaceSpec:
    """Read and validate a workspace YAML file.

    Every problem (keys, types and values, unknown demand groups or facility kinds, unknown
    coordinate systems, missing layer files) is collected and raised together.

    Parameters
    ----------
    path
        The YAML file; layer paths in it are relative to its folder.

    Returns
    -------
    WorkspaceSpec
        With the file's path and the layer paths resolved.

    Raises
    ------
    WorkspaceError
        Listing every problem with the file, the key and the fix.
    """
    p = Path(path)
    fname = str(p)
    if not p.is_file():
        raise WorkspaceError([Problem(fname, "", "spec_file_missing")])
    try:
        raw = yaml.safe_load(p.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise WorkspaceError([Problem(fname, "", "spec_not_utf8")]) from exc
    except yaml.YAMLError as exc:
        raise WorkspaceError([_yaml_problem(fname, exc)]) from exc
    if not isinstance(raw, dict):
        raise WorkspaceError([Problem(fname, "", "spec_no_mapping")])
    spec, problems = check_workspace(raw, p)
    if spec is None:
        raise WorkspaceError(problems)
    missing: list[Problem] = []
    layers = {}
    for role, layer in spec.layers.items():
        lp = layer.path.resolve()
        if not lp.exists():
            missing.append(Problem(fname, f"layers.{role}.path", "spec_layer_file_missing", {"path": str(lp)}))
        layers[role] = dataclasses.replace(layer, path=lp)
    if missing or problems:
        raise WorkspaceError(missing + problems)
    return dataclasses.replace(spec, path=p.resolve(), layers=layers)
