"""Read tables that configure an analysis (e.g. a speed table of AccessMod's layout) from CSV or XLSX."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from gisapp._errors import LayerSchemaError, Problem

__all__ = ["SHEET_SUFFIXES", "read_sheet"]

#: the file types :func:`read_sheet` reads
SHEET_SUFFIXES = (".csv", ".xlsx", ".xlsm")


def read_sheet(path: str | Path, *, sheet: str | int = 0) -> pd.DataFrame:
    """Read a ``.csv`` file or one sheet of an ``.xlsx`` / ``.xlsm`` workbook into a DataFrame.

    Parameters
    ----------
    path
        The file.
    sheet
        Sheet name or position for workbooks.

    Raises
    ------
    LayerSchemaError
        If the file type is not supported (problem ``sheet_unsupported``) or the file
        cannot be read (``sheet_unreadable``).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "t.csv"
    >>> _ = p.write_text("class,speed\\n1,4\\n")
    >>> read_sheet(p)["speed"].tolist()
    [4]
    """
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix not in SHEET_SUFFIXES:
        raise LayerSchemaError([Problem(str(p), "", "sheet_unsupported", {"suffix": suffix})])
    try:
        if suffix == ".csv":
            return pd.read_csv(p)
        return pd.read_excel(p, sheet_name=sheet)
    except (OSError, ValueError, KeyError) as exc:
        raise LayerSchemaError([Problem(str(p), "", "sheet_unreadable", {"error": str(exc)})]) from exc
