"""Atomic writes: a file or a set of files appears whole or not at all, never half-written.

How a file is written (:func:`atomic_path`, :func:`write_bytes`, :func:`write_text`,
:func:`write_csv`, :func:`write_layers`, the scenario store): into a temporary file in the
target's own folder, named ``.<stem>.~<pid>-<host>~<random>.part<suffix>`` (hidden, and tagged
with the writing process), flushed to disk (``fsync``), then renamed over the target with
:func:`os.replace`, and the folder is synced.  A rename within one folder is atomic, so a
process killed at any moment (even ``SIGKILL``) leaves the target either as it was or as the
new complete file, never a partial one.

How a set of files is written (:func:`atomic_files`, the report export): every file goes to a
temporary file as above; when all are complete, a commit journal
(``.gisapp-commit.~<pid>-<host>~<random>.json``, the pairs temporary → target) is written
atomically, the temporary files are renamed over their targets one by one, and the journal is
removed.  What is guaranteed:

- each file of the set is always whole (the previous version or the new one);
- a kill before the journal exists leaves the previous set exactly as it was;
- a kill during the renames (a window of a few renames) can leave some files new and some old
  until the folder is next written through this module: :func:`sweep` (run by every write
  into that folder) finds the journal of a dead writer and completes its renames, so the folder
  then holds the whole new set.  :func:`sweep` can also be called on its own.

Temporary files of a killed writer are hidden (their names start with a dot, so the scenario
list skips them) and :func:`sweep` removes them: at once when the process named in the file is
no longer running on this machine, after :data:`STALE_SECONDS` otherwise (a writer on another
machine sharing the folder, or on Windows where liveness is not checked).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import secrets
import socket
import tempfile
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

__all__ = ["FileSet", "atomic_files", "atomic_path", "make_folder", "sweep", "write_bytes", "write_csv",
           "write_layers", "write_text"]

#: Per-layer keyword arguments of :meth:`geopandas.GeoDataFrame.to_file` (e.g. ``geometry_type``).
LayerOptions = Mapping[str, Mapping[str, Any]]

#: age after which a temporary file whose writer cannot be checked is removed by :func:`sweep`
STALE_SECONDS = 24 * 3600
#: age after which a commit journal whose writer cannot be checked is completed by :func:`sweep`
JOURNAL_SECONDS = 600
#: stem of the commit journals of :func:`atomic_files`
JOURNAL_STEM = ".gisapp-commit"

_HOST = hashlib.sha1(socket.gethostname().encode("utf-8", "replace")).hexdigest()[:6]  # noqa: S324 - a tag, not security
#: a temporary file: ``.<stem>.~<pid>-<host>~<random>.part<suffix>`` plus SQLite's side files
_TEMP = re.compile(r"^\..*\.~(?P<pid>\d+)-(?P<host>[0-9a-f]{6})~[a-z0-9_]+\.part(\.[^.]*)?(-journal|-wal|-shm)?$")
#: a temporary file of earlier versions (no writer tag): removed by age only
_LEGACY_TEMP = re.compile(r"^\..+\.[a-z0-9_]{8}\.part(\.[^.]*)?(-journal|-wal|-shm)?$")
_JOURNAL = re.compile(r"^\.gisapp-commit\.~(?P<pid>\d+)-(?P<host>[0-9a-f]{6})~[a-z0-9_]+\.json$")
_SIDE_FILES = ("-journal", "-wal", "-shm")


def _tag() -> str:
    return f"~{os.getpid()}-{_HOST}~"


def temporary_prefix(stem: str) -> str:
    """Return the prefix of a temporary file of this process: :func:`sweep` removes it if the process dies.

    Examples
    --------
    >>> temporary_prefix("probe").startswith(".probe.~")
    True
    """
    return f".{stem}.{_tag()}"


def _new_temporary(dest: Path) -> Path:
    """Reserve a fresh temporary name next to ``dest`` (the file itself is not left behind)."""
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.stem}.{_tag()}", suffix=f".part{dest.suffix}", dir=dest.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    tmp_path.unlink()  # let writers create it (some refuse to overwrite)
    return tmp_path


def _remove(path: Path) -> None:
    """Remove ``path`` and the side files SQLite may have left beside it; absent files are fine."""
    for p in (path, *(path.with_name(path.name + s) for s in _SIDE_FILES)):
        with contextlib.suppress(FileNotFoundError):
            p.unlink()


def _fsync_file(path: Path) -> None:
    """Flush a file written by another library (GDAL, pandas) to disk."""
    with open(path, "r+b") as fh:
        os.fsync(fh.fileno())


def _fsync_folder(folder: Path) -> None:
    """Flush a folder's entries (the renames) to disk, where the system allows it."""
    if os.name == "nt":  # pragma: no cover - Windows cannot open a folder for fsync
        return
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # pragma: no cover - a file system that refuses
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)


def _writer_gone(pid: int, host: str, age: float, limit: float) -> bool:
    """Return whether the writer that tagged a file is certainly finished.

    On this machine (same host tag, not Windows) a process that no longer exists is finished;
    otherwise only a file older than ``limit`` seconds counts as abandoned.
    """
    if age > limit:
        return True
    if host != _HOST or os.name == "nt" or pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # e.g. PermissionError: the process exists under another user
        return False
    return False


def _age(path: Path, now: float) -> float | None:
    try:
        return now - path.stat().st_mtime
    except FileNotFoundError:
        return None


def _complete_journal(folder: Path, journal: Path) -> None:
    """Finish the renames listed in a journal of a dead writer, then remove the journal."""
    try:
        pairs = json.loads(journal.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        pairs = []
    for tmp_name, dest_name in pairs if isinstance(pairs, list) else []:
        tmp, dest = folder / str(tmp_name), folder / str(dest_name)
        if tmp.parent == folder and dest.parent == folder and tmp.is_file():
            with contextlib.suppress(FileNotFoundError):
                os.replace(tmp, dest)
    _fsync_folder(folder)
    with contextlib.suppress(FileNotFoundError):
        journal.unlink()


def sweep(folder: str | Path) -> None:
    """Tidy ``folder`` after writers that were killed: complete their commits, remove their temporary files.

    A commit journal of a finished writer has its renames completed (the set it was writing
    becomes whole); a temporary file of a finished writer is removed (see the module text for
    when a writer counts as finished).  Files of writers still running are left alone.  A
    folder that does not exist, or cannot be listed, is left as it is.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / ".a.~999999999-000000~abcd1234.part.txt").write_text("half")
    >>> _ = (d / ".keep").write_text("mine")
    >>> import os; os.utime(d / ".a.~999999999-000000~abcd1234.part.txt", (0, 0))  # old, another machine
    >>> sweep(d)
    >>> sorted(p.name for p in d.iterdir())
    ['.keep']
    """
    folder = Path(folder)
    try:
        names = sorted(os.listdir(folder))
    except OSError:
        return
    now = time.time()
    for name in names:  # journals first: their temporary files are the new set, not litter
        m = _JOURNAL.match(name)
        age = _age(folder / name, now) if m else None
        if m and age is not None and _writer_gone(int(m["pid"]), m["host"], age, JOURNAL_SECONDS):
            _complete_journal(folder, folder / name)
    for name in names:
        m = _TEMP.match(name)
        age = _age(folder / name, now) if (m or _LEGACY_TEMP.match(name)) else None
        if age is None:
            continue
        gone = _writer_gone(int(m["pid"]), m["host"], age, STALE_SECONDS) if m else age > STALE_SECONDS
        if gone:
            with contextlib.suppress(FileNotFoundError):
                (folder / name).unlink()


@contextlib.contextmanager
def atomic_path(dest: str | Path) -> Iterator[Path]:
    """Yield a temporary path next to ``dest``; on success sync it and rename it over ``dest``.

    If the body raises, the temporary file is removed and ``dest`` is left untouched; if the
    process is killed, ``dest`` is left untouched and the hidden temporary file is removed by
    the next :func:`sweep` of the folder (every atomic write into the folder runs one).

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
    sweep(dest.parent)
    tmp_path = _new_temporary(dest)
    try:
        yield tmp_path
        if tmp_path.is_file():
            _fsync_file(tmp_path)
        os.replace(tmp_path, dest)
        _fsync_folder(dest.parent)
    finally:
        _remove(tmp_path)


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

    The temporary files replace their targets only when the whole set is complete (see the
    module text for the commit journal and what a kill leaves).
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._pending: list[tuple[Path, Path]] = []  # (temporary, target)

    def _temporary(self, name: str) -> tuple[Path, Path]:
        dest = self.folder / name
        if dest.parent != self.folder or any(d == dest for _, d in self._pending):
            msg = f"{name!r} must be a new plain file name inside {self.folder}."
            raise ValueError(msg)
        tmp_path = _new_temporary(dest)
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
        if tmp.is_file():
            _fsync_file(tmp)
        return dest

    def _commit(self) -> None:
        """Journal the renames, do them, drop the journal (a kill in between: :func:`sweep` finishes)."""
        if not self._pending:
            return
        journal = self.folder / f"{JOURNAL_STEM}.{_tag()}{secrets.token_hex(4)}.json"
        pairs = [[tmp.name, dest.name] for tmp, dest in self._pending]
        with atomic_path(journal) as tmp_journal:
            _write_file(tmp_journal, json.dumps(pairs).encode("utf-8"))
        try:
            for tmp, dest in self._pending:
                os.replace(tmp, dest)
            _fsync_folder(self.folder)
        finally:
            with contextlib.suppress(FileNotFoundError):
                journal.unlink()

    def _discard(self) -> None:
        for tmp, _ in self._pending:
            _remove(tmp)


@contextlib.contextmanager
def atomic_files(folder: str | Path) -> Iterator[FileSet]:
    """Yield a :class:`FileSet` in ``folder`` (created if needed); the set appears whole or not at all.

    Every file written in the body goes to a temporary file in ``folder``; when the body
    completes, the temporary files replace their targets.  If the body raises, the temporary
    files are removed and the files already in ``folder`` stay exactly as they were.  A kill
    of the process leaves each file whole; one during the final renames is completed by the
    next write into ``folder`` (:func:`sweep`, run first here).

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
    sweep(files.folder)
    try:
        yield files
        files._commit()  # noqa: SLF001
    finally:
        files._discard()  # noqa: SLF001
