"""Read a user's table of points (candidate sites): a CSV with ``lon``, ``lat`` and optionally ``name``."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd

__all__ = ["read_points_csv"]


def read_points_csv(source: bytes | str | Path) -> pd.DataFrame:
    """Return the table of a points CSV (the bytes of an upload, or a file), column names lower-cased.

    The CSV may be UTF-8 (with or without BOM) or GBK; the columns are read as they are (the
    caller checks them) with their names stripped and lower-cased.

    Raises
    ------
    ValueError
        If the file is not a CSV in either encoding (``UnicodeDecodeError`` and
        ``pandas.errors.ParserError`` are both ``ValueError``).

    Examples
    --------
    >>> read_points_csv(b"Lon,LAT ,name\\n101.7,26.5,A\\n").columns.tolist()
    ['lon', 'lat', 'name']
    """
    last: ValueError | None = None
    for enc in ("utf-8-sig", "gb18030"):
        try:
            if isinstance(source, bytes):
                df = pd.read_csv(io.BytesIO(source), encoding=enc)
            else:
                df = pd.read_csv(Path(source), encoding=enc)
        except UnicodeDecodeError as exc:
            last = exc
            continue
        df.columns = [str(c).strip().lower() for c in df.columns]
        return df
    raise ValueError(str(last)) from last
