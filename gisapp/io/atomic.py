"""Atomic writes: a file or a set of files appears whole or not at all, never half-written."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path

import geopandas as gpd
import pandas as pd

__all__ = ["atomic_path", "write_bytes", "write_csv", "write_layers", "write_text"]


@contextlib.contextmanager
def atomic_path(dest: str | Path) -> Iterator[Path]:
    """Yield a temporary path next to ``dest``; on success rename it over ``dest``.

    If the body raises, the temporary file is removed and ``dest`` is left untouched.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp()) / "a.txt"
    >>> with atomic_path(d) as tmp:
    ...     _ = tmp.write_text("ok")
    >>> d.read_text()
    'ok'
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.stem}.", suffix=f".part{dest.suffix}", dir=dest.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    tmp_path.unlink()  # let writers create it (some refuse to overwrite)
    try:
        yield tmp_path
        os.replace(tmp_path, dest)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def write_bytes(dest: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``dest`` atomically and return ``dest``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = write_bytes(pathlib.Path(tempfile.mkdtemp()) / "b.bin", b"\\x00\\x01")
    >>> p.read_bytes()
    b'\\x00\\x01'
    """
    dest = Path(dest)
    with atomic_path(dest) as tmp:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
    return dest


def write_text(dest: str | Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``dest`` atomically and return ``dest``."""
    return write_bytes(dest, text.encode("utf-8"))


def write_csv(frame: pd.DataFrame, dest: str | Path, *, index: bool = False) -> Path:
    """Write ``frame`` as CSV (UTF-8 with BOM, so that Excel shows Chinese) atomically.

    Examples
    --------
    >>> import tempfile, pathlib, pandas as pd
    >>> p = write_csv(pd.DataFrame({"区县": ["东区"], "n": [1]}), pathlib.Path(tempfile.mkdtemp()) / "t.csv")
    >>> p.read_bytes()[:3] == b"\\xef\\xbb\\xbf", pd.read_csv(p, encoding="utf-8-sig")["区县"][0]
    (True, '东区')
    """
    dest = Path(dest)
    with atomic_path(dest) as tmp:
        frame.to_csv(tmp, index=index, encoding="utf-8-sig")
    return dest


def write_layers(dest: str | Path, layers: Mapping[str, gpd.GeoDataFrame]) -> Path:
    """Write several layers into one GeoPackage atomically (an empty layer is skipped)."""
    dest = Path(dest)
    with atomic_path(dest) as tmp:
        for name, gdf in layers.items():
            if len(gdf):
                gdf.to_file(tmp, layer=name, driver="GPKG", engine="pyogrio")
    return dest
