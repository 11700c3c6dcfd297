"""Exception classes of gisapp: one base class, one subclass per kind of problem."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

__all__ = [
    "CRSMismatchError",
    "GisAppError",
    "LayerSchemaError",
    "MissingCRSError",
    "Problem",
    "UnitsError",
    "WorkspaceError",
]


class GisAppError(ValueError):
    """Base class of every error gisapp raises on purpose."""


@dataclass(frozen=True)
class Problem:
    """One problem found while validating a workspace or a layer.

    Parameters
    ----------
    file
        The file (or workspace key) where the problem is.
    field
        The field, column or YAML key concerned ("" when the whole file is concerned).
    message
        What is wrong.
    fix
        How to fix it.
    """

    file: str
    field: str
    message: str
    fix: str

    def __str__(self) -> str:  # noqa: D105
        where = f"{self.file}" + (f" [{self.field}]" if self.field else "")
        return f"- {where}: {self.message} Fix: {self.fix}"


class WorkspaceError(GisAppError):
    """A workspace YAML file or one of the files it names is invalid.

    Holds every problem found, so that the user can fix them all in one go.
    """

    def __init__(self, problems: Iterable[Problem], *, title: str = "") -> None:
        self.problems: list[Problem] = list(problems)
        head = title or f"{len(self.problems)} problem(s) found in the workspace:"
        super().__init__(head + "\n" + "\n".join(str(p) for p in self.problems))


class LayerSchemaError(WorkspaceError):
    """A layer file lacks a field, has a wrong type, or holds invalid values."""


class MissingCRSError(GisAppError):
    """A layer has no coordinate reference system and none was declared."""


class CRSMismatchError(GisAppError):
    """Two inputs that must share a coordinate reference system do not."""


class UnitsError(GisAppError):
    """A quantity was given in a unit that the function does not accept."""
