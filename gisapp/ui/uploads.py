"""Keep the user's uploaded layer files and prepare them for the engine's readers.

Uploads are stored under the system temporary folder, one sub-folder per content hash, so the
same file uploaded twice is the same path (and the same cache key).  The engine validates
them (:func:`gisapp.model.load_workspace`); this module only saves bytes and, when the user's
columns need renaming, writes a normalised copy.
"""

from __future__ import annotations

import hashlib
import json
import re
import tempfile
from pathlib import Path

import geopandas as gpd

from gisapp.config.spec import FACILITY_KINDS
from gisapp.io import layers as gio

UPLOAD_DIR = Path(tempfile.gettempdir()) / "gisapp_uploads"

#: Facility fields the user maps: (engine field, required, likely column names).
FACILITY_FIELDS: list[tuple[str, bool, tuple[str, ...]]] = [
    ("id", True, ("facility_id", "id", "code", "编号", "机构编码", "代码")),
    ("name", True, ("name", "名称", "机构名称", "学校名称")),
    ("kind", True, ("kind", "type", "category", "类型", "机构类型", "类别")),
    ("lon", True, ("lon", "lng", "longitude", "x", "经度")),
    ("lat", True, ("lat", "latitude", "y", "纬度")),
    ("consortium", False, ("consortium_id", "consortium", "医共体", "教共体", "共同体")),
    ("is_lead", False, ("is_lead", "lead", "牵头", "是否牵头")),
]
CAPACITY_FIELDS: list[tuple[str, tuple[str, ...]]] = [
    ("beds", ("beds", "床位", "床位数", "编制床位")),
    ("doctors", ("doctors", "医生", "医师", "执业医师", "医生数")),
    ("seats", ("seats", "学位", "学位数", "学额")),
]
COORD_SYSTEMS = ("WGS84", "CGCS2000", "GCJ02", "BD09")
TABLE_SUFFIXES = (".csv", ".txt", ".xlsx", ".xls")
VECTOR_SUFFIXES = (".geojson", ".json", ".gpkg", ".zip")


def save_upload(name: str, data: bytes) -> Path:
    """Save uploaded bytes (once per content) and return the file's path."""
    digest = hashlib.sha1(data, usedforsecurity=False).hexdigest()[:16]
    safe = re.sub(r"[^\w.\-]+", "_", Path(name).name) or "upload"
    folder = UPLOAD_DIR / digest
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / safe
    if not path.exists():
        path.write_bytes(data)
    return path


def read_columns(path: Path) -> list[str]:
    """Return the attribute columns of an uploaded table or vector file (raises on bad files)."""
    if path.suffix.lower() in TABLE_SUFFIXES:
        return [str(c) for c in gio.read_table(path).columns]
    gdf = gio.read_vector(path)
    return [str(c) for c in gdf.columns if c != gdf.geometry.name]


def guess(columns: list[str], candidates: tuple[str, ...]) -> str | None:
    """Return the first column whose name matches a candidate (case-insensitive), else None."""
    low = {c.strip().lower(): c for c in columns}
    for cand in candidates:
        if cand.lower() in low:
            return low[cand.lower()]
    return None


def _kind_lookup() -> dict[str, str]:
    out = {k: k for k in FACILITY_KINDS}
    for k, labels in FACILITY_KINDS.items():
        for lab in labels.values():
            out[lab.strip().lower()] = k
    return out


def prepare_facilities(path: Path, mapping: dict[str, str | None],
                       capacity: dict[str, str | None]) -> tuple[Path, dict[str, object]]:
    """Return the file and the workspace ``fields`` mapping that the engine should read.

    Capacity columns must carry the engine's names (beds, doctors, seats) and kinds its codes;
    when the user's file differs (another column name, no such column, kinds written as labels
    such as 村卫生室), a normalised copy is written next to the upload (rows unchanged, so row
    numbers in error messages still match the user's file); a missing capacity becomes 0.
    """
    fields: dict[str, object] = {k: v for k, v in mapping.items() if v}
    fields["capacity"] = list(capacity)
    is_table = path.suffix.lower() in TABLE_SUFFIXES
    frame = gio.read_table(path) if is_table else gio.read_vector(path)
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
        frame.to_file(out, driver="GPKG", engine="pyogrio")
    else:
        out = path.with_name(path.stem + ".normalised.csv")
        frame.to_csv(out, index=False, encoding="utf-8")
    return out, fields


def add_override(current: str, role: str, path: Path, *, crs: str | None,
                 fields: dict[str, object] | None) -> str:
    """Return the overrides JSON with ``role`` pointed at ``path`` (replacing an earlier upload)."""
    items = [o for o in json.loads(current or "[]") if o["role"] != role]
    items.append({"role": role, "path": str(path), "crs": crs, "fields": fields})
    return json.dumps(items, ensure_ascii=False, sort_keys=True)


def describe(current: str) -> list[dict[str, str]]:
    """Return the active uploads as rows (role, file, coordinate system)."""
    return [{"role": o["role"], "file": Path(o["path"]).name, "crs": o.get("crs") or ""}
            for o in json.loads(current or "[]")]
