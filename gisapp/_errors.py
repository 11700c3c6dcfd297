"""Exception classes of gisapp: one base class, one subclass per kind of problem, problems with codes."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import PurePath

from gisapp.i18n import t

__all__ = [
    "CRSMismatchError",
    "GisAppError",
    "LayerSchemaError",
    "Message",
    "Messages",
    "MissingCRSError",
    "Problem",
    "UnitsError",
    "WorkspaceError",
]


class GisAppError(ValueError):
    """Base class of every error gisapp raises on purpose.

    An error a user can meet carries a ``code`` (its text is ``error.<code>`` in each language's
    catalogue, :mod:`gisapp.i18n`) and the ``params`` of that text; ``str(err)`` is the English
    text.  Errors of programming (a wrong argument to a library function) may carry a plain
    English message only.

    Examples
    --------
    >>> err = GisAppError(code="unknown_service", params={"name": "dentist", "known": "clinic"})
    >>> err.text("zh") != err.text("en") == str(err)
    True
    """

    def __init__(self, message: str = "", *, code: str | None = None,
                 params: Mapping[str, object] | None = None) -> None:
        self.code = code
        self.params: dict[str, object] = dict(params or {})
        if code is not None and not message:
            message = t(f"error.{code}", "en", **self.params)
        super().__init__(message)

    def text(self, lang: str = "en") -> str:
        """Return the message in ``lang`` (the English message when the error has no code)."""
        if self.code is None:
            return str(self)
        return t(f"error.{self.code}", lang, **self.params)


@dataclass(frozen=True)
class Message:
    """One error text by code (``error.<code>`` formatted with ``params``), rendered in any language.

    A parameter of another message: several :class:`Message` joined by :class:`Messages` let one
    error list every problem of its input in the language it is shown in.

    Examples
    --------
    >>> m = Message(code="unknown_service", params={"name": "dentist", "known": "clinic"})
    >>> m.text("en")
    "unknown service 'dentist' (known: clinic)."
    """

    code: str
    params: Mapping[str, object] = dataclasses.field(default_factory=dict, hash=False)

    def text(self, lang: str = "en") -> str:
        """Return the text in ``lang``."""
        return t(f"error.{self.code}", lang, **self.params)

    def __str__(self) -> str:  # noqa: D105
        return self.text("en")


@dataclass(frozen=True)
class Messages:
    """Several :class:`Message` shown as one text (joined by a space), in the language asked for."""

    items: tuple[Message, ...]

    def text(self, lang: str = "en") -> str:
        """Return the texts in ``lang``, joined."""
        return " ".join(m.text(lang) for m in self.items)

    def __str__(self) -> str:  # noqa: D105
        return self.text("en")


@dataclass(frozen=True)
class Problem:
    """One problem found while validating a workspace or a layer.

    Parameters
    ----------
    file
        The file (or workspace key) where the problem is.
    field
        The field, column or YAML key concerned ("" when the whole file is concerned).
    code
        The problem's code: its message is ``problem.<code>`` and its fix ``problem.<code>.fix``
        in each language's catalogue (:mod:`gisapp.i18n`).
    params
        The values the message and the fix are formatted with.

    Examples
    --------
    >>> p = Problem("/data/clinics.csv", "fields.id", "duplicate_facility_ids", {"ids": "C1"})
    >>> p.message
    'duplicate facility ids: C1.'
    >>> p.text("zh")
    '设施编号重复：C1。'
    """

    file: str
    field: str
    code: str
    params: Mapping[str, object] = dataclasses.field(default_factory=dict, hash=False)

    def text(self, lang: str = "en") -> str:
        """Return what is wrong, in ``lang``."""
        return t(f"problem.{self.code}", lang, **self.params)

    def fix_text(self, lang: str = "en") -> str:
        """Return how to fix it, in ``lang``."""
        return t(f"problem.{self.code}.fix", lang, **self.params)

    @property
    def message(self) -> str:
        """What is wrong, in English."""
        return self.text("en")

    @property
    def fix(self) -> str:
        """How to fix it, in English."""
        return self.fix_text("en")

    @property
    def file_name(self) -> str:
        """The file's name without its folders (what a user of a shared server is shown)."""
        return PurePath(self.file).name if self.file else ""

    def render(self, lang: str = "en", *, full_path: bool = True) -> str:
        """Return one line ``- file [field]: message Fix: fix`` in ``lang``."""
        where = (self.file if full_path else self.file_name) + (f" [{self.field}]" if self.field else "")
        return t("problem.line", lang, where=where, message=self.text(lang), fix=self.fix_text(lang))

    def __str__(self) -> str:  # noqa: D105
        return self.render("en")


class WorkspaceError(GisAppError):
    """A workspace YAML file or one of the files it names is invalid.

    Holds every problem found, so that the user can fix them all in one go.  Its first line is
    ``error.<title_code>`` (formatted with ``title_params``) when a code is given, else
    ``problem.title`` ("n problem(s) found").
    """

    def __init__(self, problems: Iterable[Problem], *, title_code: str | None = None,
                 title_params: Mapping[str, object] | None = None) -> None:
        self.problems: list[Problem] = list(problems)
        self.title_code = title_code
        self.title_params: dict[str, object] = dict(title_params or {})
        super().__init__(self.text("en"))

    def heading(self, lang: str = "en") -> str:
        """Return the first line: ``error.<title_code>`` if given, else "n problem(s) found"."""
        if self.title_code is not None:
            return t(f"error.{self.title_code}", lang, **self.title_params)
        return t("problem.title", lang, n=len(self.problems))

    def text(self, lang: str = "en", *, full_path: bool = True) -> str:
        """Return the title and one line per problem, in ``lang``."""
        return self.heading(lang) + "\n" + "\n".join(p.render(lang, full_path=full_path) for p in self.problems)


class LayerSchemaError(WorkspaceError):
    """A layer file lacks a field, has a wrong type, or holds invalid values."""


class MissingCRSError(GisAppError):
    """A layer has no coordinate reference system and none was declared."""


class CRSMismatchError(GisAppError):
    """Two inputs that must share a coordinate reference system do not."""


class UnitsError(GisAppError):
    """A quantity was given in a unit that the function does not accept."""
