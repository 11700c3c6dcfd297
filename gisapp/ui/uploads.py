"""What the data page needs to offer uploads: the fields a user maps, guesses, the overrides JSON.

Storing and reading the uploaded files is :mod:`gisapp.io.uploads` (only :mod:`gisapp.io`
touches files); this module holds no file access, only choices, the JSON of accepted uploads
that every cached loader takes as part of its key, and which private folder a session's
uploads go to (:func:`session_folder`): each session has its own, removed after the session
ends (:func:`maybe_sweep`), so one planner's files are never another's.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path, PurePath
from typing import Final

from streamlit.runtime import Runtime
from streamlit.runtime.scriptrunner import get_script_run_ctx

from gisapp.io import uploads as _stored

#: Facility fields the user maps: (engine field, required, likely column names).
FACILITY_FIELDS: Final[list[tuple[str, bool, tuple[str, ...]]]] = [
    ("id", True, ("facility_id", "id", "code", "编号", "机构编码", "代码")),
    ("name", True, ("name", "名称", "机构名称", "学校名称")),
    ("kind", True, ("kind", "type", "category", "类型", "机构类型", "类别")),
    ("lon", True, ("lon", "lng", "longitude", "x", "经度")),
    ("lat", True, ("lat", "latitude", "y", "纬度")),
    ("consortium", False, ("consortium_id", "consortium", "医共体", "教共体", "共同体")),
    ("is_lead", False, ("is_lead", "lead", "牵头", "是否牵头")),
]
#: Capacity fields the user maps: (engine field, likely column names).
CAPACITY_FIELDS: Final[list[tuple[str, tuple[str, ...]]]] = [
    ("beds", ("beds", "床位", "床位数", "编制床位")),
    ("doctors", ("doctors", "医生", "医师", "执业医师", "医生数")),
    ("seats", ("seats", "学位", "学位数", "学额")),
]
#: Coordinate systems a user can declare for an uploaded facility file (labels: ``crs.<name>``).
COORD_SYSTEMS: Final = ("WGS84", "CGCS2000", "GCJ02", "BD09")
#: Accepted suffixes of the facility uploader and of the population uploader.
FACILITY_TYPES: Final = ("csv", "xlsx", "xls", "geojson", "json", "gpkg", "zip")
POPULATION_TYPES: Final = ("tif", "tiff")


def guess(columns: list[str], candidates: tuple[str, ...]) -> str | None:
    """Return the first column whose name matches a candidate (case-insensitive), else None.

    Examples
    --------
    >>> guess(["编号", "Name", "经度"], ("name", "名称"))
    'Name'
    """
    low = {c.strip().lower(): c for c in columns}
    for cand in candidates:
        if cand.lower() in low:
            return low[cand.lower()]
    return None


def add_override(current: str, role: str, path: Path, *, crs: str | None,
                 fields: dict[str, object] | None) -> str:
    """Return the overrides JSON with ``role`` pointed at ``path`` (replacing an earlier upload)."""
    items = [o for o in json.loads(current or "[]") if o["role"] != role]
    items.append({"role": role, "path": str(path), "crs": crs, "fields": fields})
    return json.dumps(items, ensure_ascii=False, sort_keys=True)


def describe(current: str) -> list[dict[str, str]]:
    """Return the active uploads as rows (role, file name, coordinate system).

    Examples
    --------
    >>> describe('[{"role": "facilities", "path": "/tmp/x/a.csv", "crs": "WGS84", "fields": null}]')
    [{'role': 'facilities', 'file': 'a.csv', 'crs': 'WGS84'}]
    """
    return [{"role": str(o["role"]), "file": PurePath(str(o["path"])).name, "crs": str(o.get("crs") or "")}
            for o in json.loads(current or "[]")]


#: seconds between two sweeps of ended sessions' upload folders
SWEEP_EVERY_S = 60.0
#: seconds a session's folder is kept after it last ran while its session is not connected
GRACE_S = 600.0
_sweep_lock = threading.Lock()
_last_sweep = [0.0]


def maybe_sweep(*, force: bool = False) -> list[str]:
    """Remove the upload folders of ended sessions, at most once a minute; return their ids."""
    try:
        rt = Runtime.instance()
    except RuntimeError:  # AppTest, or a script run outside a server
        return []
    now = time.monotonic()
    with _sweep_lock:
        if not force and now - _last_sweep[0] < SWEEP_EVERY_S:
            return []
        _last_sweep[0] = now
    return _stored.sweep_session_folders(rt.is_active_session, grace_s=GRACE_S)


def session_folder() -> Path | None:
    """Return this session's private upload folder (None outside a session: the shared folder is used)."""
    ctx = get_script_run_ctx()
    if ctx is None:
        return None
    maybe_sweep()
    return _stored.session_folder(ctx.session_id)
