"""Atomic writes: a file or a set of files appears whole or not at all, never half-written."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

__all__ = ["FileSet", "atomic_files", "atomic_path", "make_folder", "write_bytes", "write_csv",
           "write_layers", "write_text"]

#: Per-layer keyword arguments of :meth:`geopandas.GeoDataFrame.to_file` (e.g. ``geometry_type``).
LayerOptions = Mapping[str, Mapping[str, Any]]


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


def _write_file(path: Path, data: bytes) -> None:
    with open(path, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


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
        _write_file(tmp, data)
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


def _write_gpkg(path: Path, layers: Mapping[str, gpd.GeoDataFrame], options: LayerOptions | None) -> None:
    """Write the layers into the GeoPackage ``path``; an empty layer only when it has options."""
    for name, gdf in layers.items():
        kw = dict((options or {}).get(name, {}))
        if len(gdf) or kw:
            gdf.to_file(path, layer=name, driver="GPKG", engine="pyogrio", **kw)


def write_layers(dest: str | Path, layers: Mapping[str, gpd.GeoDataFrame], *,
                 options: LayerOptions | None = None) -> Path:
    """Write several layers into one GeoPackage atomically and return ``dest``.

    ``options`` maps a layer name to keyword arguments of ``to_file`` (e.g. ``geometry_type``,
    ``promote_to_multi``).  An empty layer is skipped unless it has options (an empty layer
    needs its ``geometry_type``).
    """
    dest = Path(dest)
    with atomic_path(dest) as tmp:
        _write_gpkg(tmp, layers, options)
    return dest


def make_folder(folder: str | Path) -> Path:
    """Create ``folder`` (and its parents) if needed and return it.

    Raises
    ------
    OSError
        If it cannot be created, or exists and is not a folder (``NotADirectoryError``).
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if not folder.is_dir():  # pragma: no cover - mkdir(exist_ok=True) raises for a file already
        raise NotADirectoryError(str(folder))
    return folder


class FileSet:
    """The files of one :func:`atomic_files` set: each is written to a temporary file at once.

    The temporary files replace their targets only when the whole set is complete.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._pending: list[tuple[Path, Path]] = []  # (temporary, target)

    def _temporary(self, name: str) -> tuple[Path, Path]:
        dest = self.folder / name
        if dest.parent != self.folder or any(d == dest for _, d in self._pending):
            msg = f"{name!r} must be a new plain file name inside {self.folder}."
            raise ValueError(msg)
        fd, tmp = tempfile.mkstemp(prefix=f".{dest.stem}.", suffix=f".part{dest.suffix}", dir=self.folder)
        os.close(fd)
        tmp_path = Path(tmp)
        tmp_path.unlink()  # let writers create it (some refuse to overwrite)
        self._pending.append((tmp_path, dest))
        return tmp_path, dest

    def add_bytes(self, name: str, data: bytes) -> Path:
        """Write ``data`` as the file ``name`` of the set; return its final path."""
        tmp, dest = self._temporary(name)
        _write_file(tmp, data)
        return dest

    def add_text(self, name: str, text: str) -> Path:
        """Write ``text`` (UTF-8) as the file ``name`` of the set; return its final path."""
        return self.add_bytes(name, text.encode("utf-8"))

    def add_layers(self, name: str, layers: Mapping[str, gpd.GeoDataFrame], *,
                     options: LayerOptions | None = None) -> Path:
        """Write a GeoPackage of ``layers`` (see :func:`write_layers`) as the file ``name``."""
        tmp, dest = self._temporary(name)
        _write_gpkg(tmp, layers, options)
        return dest

    def _commit(self) -> None:
        for tmp, dest in self._pending:
            os.replace(tmp, dest)

    def _discard(self) -> None:
        for tmp, _ in self._pending:
            if tmp.exists():
                tmp.unlink()


@contextlib.contextmanager
def atomic_files(folder: str | Path) -> Iterator[FileSet]:
    """Yield a :class:`FileSet` in ``folder`` (created if needed); the set appears whole or not at all.

    Every file written in the body goes to a temporary file in ``folder``; when the body
    completes, the temporary files replace their targets.  If the body raises, the temporary
    files are removed and the files already in ``folder`` stay exactly as they were.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> with atomic_files(d) as files:
    ...     _ = files.add_text("a.txt", "ok")
    ...     _ = files.add_bytes("b.bin", b"1")
    >>> sorted(p.name for p in d.iterdir())
    ['a.txt', 'b.bin']
    >>> try:
    ...     with atomic_files(d) as files:
    ...         _ = files.add_text("a.txt", "half")
    ...         raise OSError("disk full")
    ... except OSError:
    ...     pass
    >>> (d / "a.txt").read_text(), sorted(p.name for p in d.iterdir())
    ('ok', ['a.txt', 'b.bin'])
    """
    files = FileSet(make_folder(folder))
    try:
        yield files
        files._commit()  # noqa: SLF001
    finally:
        files._discard()  # noqa: SLF001
