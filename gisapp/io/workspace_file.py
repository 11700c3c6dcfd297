"""Read a workspace YAML file into a :class:`~gisapp.config.models.WorkspaceSpec`.

The file is read here and its contents validated by :func:`gisapp.config.parse.check_workspace`
(pure); then each layer path is resolved and looked for.  Every problem is raised in one
:class:`~gisapp._errors.WorkspaceError`.
"""

from __future__ import annotations

import dataclasses
import errno
import os
import tempfile
from pathlib import Path, PurePath

import yaml

from gisapp._errors import GisAppError, Problem, WorkspaceError
from gisapp.config.parse import check_workspace
from gisapp.config.spec import WorkspaceSpec
from gisapp.io.atomic import temporary_prefix

__all__ = ["check_output_file", "check_output_folder", "read_workspace"]


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
        if layer.options.get("database"):  # read from PostGIS: no file to find
            layers[role] = layer
            continue
        lp = layer.path.resolve()
        if not lp.exists():
            missing.append(Problem(fname, f"layers.{role}.path", "spec_layer_file_missing", {"path": str(lp)}))
        years = {y: yp.resolve() for y, yp in layer.years.items()}
        missing += [Problem(fname, f"layers.{role}.years.{y}", "spec_layer_file_missing", {"path": str(yp)})
                    for y, yp in years.items() if not yp.exists()]
        layers[role] = dataclasses.replace(layer, path=lp, years=years)
    if missing or problems:
        raise WorkspaceError(missing + problems)
    return dataclasses.replace(spec, path=p.resolve(), layers=layers)


def _output_error(exc: OSError, name: str) -> GisAppError:
    """The error of an output path that cannot be used, naming the path's last part only."""
    if isinstance(exc, NotADirectoryError) or exc.errno == errno.ENOTDIR:
        return GisAppError(code="output_path_blocked", params={"name": name})
    if isinstance(exc, PermissionError):
        return GisAppError(code="output_no_permission", params={"name": name})
    if exc.errno == errno.EROFS:
        return GisAppError(code="output_read_only", params={"name": name})
    if exc.errno == errno.ENOSPC:
        return GisAppError(code="output_disk_full", params={"name": name})
    return GisAppError(code="output_unwritable",
                       params={"name": name, "errno": exc.errno if exc.errno is not None else "?"})


def check_output_folder(folder: str | Path) -> Path:
    """Make sure results can be written into ``folder`` before any work starts; return it.

    The folder (and its parents) is created if needed, then a probe file is written into it
    and removed.

    Raises
    ------
    GisAppError
        ``output_is_file`` when ``folder`` is an existing file, ``output_path_blocked`` when a
        file stands where one of its parent folders should be, ``output_no_permission``,
        ``output_read_only``, ``output_disk_full`` or ``output_unwritable`` otherwise.  The
        message names the path's last part only (not its folders).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> check_output_folder(d / "out").is_dir(), sorted(p.name for p in (d / "out").iterdir())
    (True, [])
    >>> _ = (d / "a.txt").write_text("x")
    >>> try:
    ...     check_output_folder(d / "a.txt")
    ... except GisAppError as err:
    ...     print(err.code, err.params)
    output_is_file {'name': 'a.txt'}
    """
    p = Path(folder)
    name = PurePath(p).name or str(p)
    if p.exists() and not p.is_dir():
        raise GisAppError(code="output_is_file", params={"name": name})
    try:
        p.mkdir(parents=True, exist_ok=True)
        if not p.is_dir():  # pragma: no cover - mkdir(exist_ok=True) raises for a file already
            raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(p))
        # named like a temporary file of gisapp.io.atomic, so a probe left by a killed process is swept
        fd, probe = tempfile.mkstemp(prefix=temporary_prefix("gisapp-probe"), suffix=".part", dir=p)
        os.close(fd)
        os.unlink(probe)
    except FileExistsError as exc:  # a parent folder is a file
        raise GisAppError(code="output_path_blocked", params={"name": name}) from exc
    except OSError as exc:
        raise _output_error(exc, name) from exc
    return p


def check_output_file(path: str | Path) -> Path:
    """Make sure a file can be written at ``path`` before any work starts (its folder is created); return it.

    Raises
    ------
    GisAppError
        ``output_is_folder`` when ``path`` is an existing folder; else as :func:`check_output_folder`
        for its folder.
    """
    p = Path(path)
    if p.is_dir():
        raise GisAppError(code="output_is_folder", params={"name": PurePath(p).name or str(p)})
    check_output_folder(p.parent)
    return p
