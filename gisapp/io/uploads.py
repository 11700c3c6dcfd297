"""Files that cross the browser: the user's uploads kept on the server, and outputs to be downloaded.

Uploads are stored under the system temporary folder, one sub-folder per content hash, so the
same file uploaded twice is the same path (and the same cache key of the app).  The engine
validates them (:func:`gisapp.workspace.load_workspace`); this module only saves bytes, reads
an upload's columns and, when the user's columns need renaming, writes a normalised copy.
Outputs (the reports) are written into a temporary folder and handed back as bytes.

The Streamlit face (:mod:`gisapp.ui`) passes bytes and names and gets paths or bytes back; it
never opens a file itself.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

import geopandas as gpd
import pandas as pd

from gisapp.config.spec import FACILITY_KINDS
from gisapp.io import layers as _layers
from gisapp.io.atomic import atomic_path, write_bytes

__all__ = [
    "TABLE_SUFFIXES",
    "UPLOAD_DIR",
    "is_table",
    "prepare_facilities",
    "read_columns",
    "save_upload",
    "session_folder",
    "sweep_session_folders",
    "written_files",
]

#: Where uploads are kept: one sub-folder per content hash.
UPLOAD_DIR = Path(tempfile.gettempdir()) / "gisapp_uploads"

#: Suffixes of uploads read as tables (the others are read as vector layers).
TABLE_SUFFIXES = (".csv", ".txt", ".xlsx", ".xls")


def _digest(data: bytes) -> str:
    return hashlib.sha1(data, usedforsecurity=False).hexdigest()[:16]


def _safe_name(name: str) -> str:
    """Return ``name`` without folders and with only word characters, dots and dashes.

    Examples
    --------
    >>> _safe_name("../my clinics (1).csv")
    'my_clinics_1_.csv'
    """
    return re.sub(r"[^\w.\-]+", "_", Path(name).name) or "upload"


def save_upload(name: str, data: bytes, *, folder: Path | None = None) -> Path:
    """Save uploaded bytes once per content (atomically) and return the file's path.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> a = save_upload("a b.csv", b"x,y\\n1,2\\n", folder=root)
    >>> a.name, a == save_upload("a b.csv", b"x,y\\n1,2\\n", folder=root), a.read_bytes()
    ('a_b.csv', True, b'x,y\\n1,2\\n')
    """
    path = (folder or UPLOAD_DIR) / _digest(data) / _safe_name(name)
    if not path.is_file():
        write_bytes(path, data)
    return path


#: sub-folder of :data:`UPLOAD_DIR` holding one private folder per app session
SESSIONS = "sessions"
#: the file whose modification time says when a session last ran
ALIVE = ".alive"


def session_folder(session_id: str, *, root: Path | None = None) -> Path:
    """Return (and create) the private upload folder of one app session, marking the session alive.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> f = session_folder("a1b2-c3", root=root)
    >>> f.relative_to(root).as_posix(), (f / ".alive").is_file()
    ('sessions/a1b2-c3', True)
    """
    folder = (root or UPLOAD_DIR) / SESSIONS / (_safe_name(session_id) or "session")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / ALIVE).touch()
    return folder


def sweep_session_folders(is_live: Callable[[str], bool], *, grace_s: float = 600.0,
                          root: Path | None = None) -> list[str]:
    """Remove the upload folders of sessions that ended; return their session ids.

    A folder goes when ``is_live(session_id)`` is false and the session has not run for
    ``grace_s`` seconds (a browser that lost its connection for a moment comes back to its
    uploads).  Run by the app now and then; a folder of a server that crashed goes the same way.
    """
    base = (root or UPLOAD_DIR) / SESSIONS
    if not base.is_dir():
        return []
    gone = []
    now = time.time()
    for folder in base.iterdir():
        if not folder.is_dir() or is_live(folder.name):
            continue
        alive = folder / ALIVE
        try:
            last = alive.stat().st_mtime if alive.exists() else folder.stat().st_mtime
        except OSError:
            continue
        if now - last >= grace_s:
            shutil.rmtree(folder, ignore_errors=True)
            if not folder.exists():
                gone.append(folder.name)
    return gone


def is_table(path: Path) -> bool:
    """Return whether an upload is read as a table (CSV, Excel) rather than a vector layer."""
    return path.suffix.lower() in TABLE_SUFFIXES


def read_columns(path: Path) -> list[str]:
    """Return the attribute columns of an uploaded table or vector file (raises on bad files).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> read_columns(save_upload("t.csv", "编号,名称\\n1,a\\n".encode(), folder=pathlib.Path(tempfile.mkdtemp())))
    ['编号', '名称']
    """
    if is_table(path):
        return [str(c) for c in _layers.read_table(path).columns]
    gdf = _layers.read_vector(path)
    return [str(c) for c in gdf.columns if c != gdf.geometry.name]


def _kind_lookup() -> dict[str, str]:
    out = {k: k for k in FACILITY_KINDS}
    for k, labels in FACILITY_KINDS.items():
        for lab in labels.values():
            out[lab.strip().lower()] = k
    return out


def prepare_facilities(path: Path, mapping: Mapping[str, str | None],
                       capacity: Mapping[str, str | None]) -> tuple[Path, dict[str, object]]:
    """Return the file and the workspace ``fields`` mapping that the engine should read.

    Capacity columns must carry the engine's names (beds, doctors, seats) and kinds its codes;
    when the user's file differs (another column name, no such column, kinds written as labels
    such as 村卫生室), a normalised copy is written next to the upload (rows unchanged, so row
    numbers in error messages still match the user's file); a missing capacity becomes 0.
    """
    fields: dict[str, object] = {k: v for k, v in mapping.items() if v}
    fields["capacity"] = list(capacity)
    table = is_table(path)
    frame: pd.DataFrame = _layers.read_table(path) if table else _layers.read_vector(path)
    kind_col = mapping.get("kind")
    lookup = _kind_lookup()
    relabel = bool(kind_col) and kind_col in frame.columns and bool(
        (frame[kind_col].astype(str).str.strip().str.lower().map(lookup).notna()
         & ~frame[kind_col].astype(str).str.strip().isin(FACILITY_KINDS)).any())
    rename = {col: cap for cap, col in capacity.items() if col and col != cap}
    missing = [cap for cap, col in capacity.items() if not col]
    if not rename and not missing and not relabel:
        return path, fields
    frame = frame.drop(columns=[c for c in rename.values() if c in frame.columns and c not in rename])
    frame = frame.rename(columns=rename)
    for cap in missing:
        frame[cap] = 0.0
    if relabel and kind_col:
        k = frame[kind_col].astype(str).str.strip()
        frame[kind_col] = k.str.lower().map(lookup).fillna(k)
    if isinstance(frame, gpd.GeoDataFrame):
        out = path.with_name(path.stem + ".normalised.gpkg")
        with atomic_path(out) as tmp:
            frame.to_file(tmp, layer="facilities", driver="GPKG", engine="pyogrio")
    else:
        out = path.with_name(path.stem + ".normalised.csv")
        with atomic_path(out) as tmp:
            frame.to_csv(tmp, index=False, encoding="utf-8")
    return out, fields


def written_files(write: Callable[[Path], Iterable[Path]], *, prefix: str = "gisapp-") -> dict[str, bytes]:
    """Call ``write(folder)`` on a new temporary folder; return {file name: bytes} of the files it wrote.

    The folder is removed afterwards, whether ``write`` succeeded or not.

    Examples
    --------
    >>> from gisapp.io.atomic import write_text
    >>> written_files(lambda d: [write_text(d / "a.txt", "ok")])
    {'a.txt': b'ok'}
    """
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        return {p.name: p.read_bytes() for p in write(Path(tmp))}
