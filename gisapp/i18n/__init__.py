"""Every text shown to a user, in one catalogue per language keyed by code: :mod:`.zh` and :mod:`.en`.

Use :func:`t` for text and :func:`fmt_number` / :func:`fmt_pct` for numbers.  Keys are
grouped by area (UI keys such as ``word.district``, problem codes ``problem.<code>`` with their
fixes ``problem.<code>.fix``, error codes ``error.<code>``); add a key to both catalogues.
A test walks every key and every code and fails on a text missing in either language.
"""

from __future__ import annotations

import math
from typing import Final, Protocol, runtime_checkable

from gisapp.i18n import en as _en
from gisapp.i18n import zh as _zh

__all__ = ["CATALOGUES", "LANGS", "TEXT", "Localised", "Term", "fmt_number", "fmt_pct", "has_text", "placeholders", "t"]

LANGS: Final = ("zh", "en")

#: the catalogue of each language: code -> text (a ``str.format`` template)
CATALOGUES: Final[dict[str, dict[str, str]]] = {"zh": _zh.TEXT, "en": _en.TEXT}

#: both languages side by side: code -> {"zh": ..., "en": ...} (read-only view for tables of labels)
TEXT: Final[dict[str, dict[str, str]]] = {k: {"zh": _zh.TEXT.get(k, ""), "en": v} for k, v in _en.TEXT.items()}


def has_text(key: str, lang: str = "zh") -> bool:
    """Return whether ``key`` has a text in the catalogue of ``lang``."""
    return key in CATALOGUES.get(lang, {})


@runtime_checkable
class Localised(Protocol):
    """Anything that has a text per language: a :class:`Term`, a problem, an error with a code."""

    def text(self, lang: str = ...) -> str:  # pragma: no cover - protocol
        """Return the text in ``lang``."""
        ...


class Term:
    """A parameter of a message that is itself a text of the catalogue, shown in the message's language.

    A parameter of :func:`t` (or of a problem or an error) that has a ``text(lang)`` method is
    rendered in the language of the message: ``Term("role.roads")`` gives "roads" in an English
    message and "道路" in a Chinese one.  ``default`` is shown when the catalogue lacks ``key``
    (e.g. a layer role a user made up).

    Examples
    --------
    >>> t("problem.layer_no_crs", "zh", layer=Term("role.roads"), role="roads")
    '道路图层没有坐标系。'
    >>> Term("role.my_layer", "my_layer").text("zh")
    'my_layer'
    """

    __slots__ = ("default", "key")

    def __init__(self, key: str, default: str | None = None) -> None:
        self.key = key
        self.default = default

    def text(self, lang: str = "en") -> str:
        """Return the text of the key in ``lang`` (the default, or the key, when it has none)."""
        if has_text(self.key, lang):
            return t(self.key, lang)
        return self.default if self.default is not None else self.key

    def __eq__(self, other: object) -> bool:  # noqa: D105
        return isinstance(other, Term) and (self.key, self.default) == (other.key, other.default)

    def __hash__(self) -> int:  # noqa: D105
        return hash((self.key, self.default))

    def __repr__(self) -> str:  # noqa: D105
        return f"Term({self.key!r})"

    def __str__(self) -> str:  # noqa: D105
        return self.text("en")


def t(key: str, lang: str = "zh", /, **kwargs: object) -> str:
    """Return the text of ``key`` in ``lang`` ("zh" or "en"), formatted with ``kwargs``.

    A missing key returns the key itself, so a gap in the table is visible, not fatal.
    A parameter that has a text per language (:class:`Localised`, e.g. a :class:`Term` or an
    error with a code) is rendered in ``lang``.

    Examples
    --------
    >>> t("word.district", "en")
    'District'
    """
    s = CATALOGUES.get(lang, _en.TEXT).get(key)
    if s is None:
        return key
    if not kwargs:
        return s
    return s.format(**{k: _in_lang(v, lang) for k, v in kwargs.items()})


def _in_lang(value: object, lang: str) -> object:
    """Return ``value.text(lang)`` for a value with a text per language, else the value."""
    if isinstance(value, Localised) and callable(value.text):
        return value.text(lang)
    return value


def placeholders(template: str) -> set[str]:
    """Return the names of the ``{placeholders}`` of a catalogue text.

    Examples
    --------
    >>> sorted(placeholders("{n} rows, e.g. {example!r} ({n:,})"))
    ['example', 'n']
    """
    import string

    return {name.split(".")[0].split("[")[0] for _, name, _, _ in string.Formatter().parse(template)
            if name is not None and name != ""}


def fmt_number(v: float | int | None, lang: str = "zh", *, digits: int = 0) -> str:  # noqa: ARG001 - one signature for every language
    """Format a number for ``lang``: thousands separators, ``digits`` decimals (people: 0).

    Chinese shows the whole number too (not "121.2万"): people are counted in whole people
    everywhere, so a table, a card and a sentence give the same figure and a scenario that
    adds 300 people shows them.

    Examples
    --------
    >>> fmt_number(1212203, "en"), fmt_number(1212203, "zh")
    ('1,212,203', '1,212,203')
    >>> fmt_number(2.5, "zh", digits=1)
    '2.5'
    >>> fmt_number(float('nan'))
    '—'
    """
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "—"
    return f"{v:,.{digits}f}"


def fmt_pct(v: float | None, lang: str = "zh", *, digits: int = 1) -> str:  # noqa: ARG001 - same signature as fmt_number
    """Format a percentage (0-100) for ``lang``.

    Examples
    --------
    >>> fmt_pct(87.654, "en")
    '87.7%'
    """
    if v is None or not math.isfinite(v):
        return "—"
    return f"{v:.{digits}f}%"
