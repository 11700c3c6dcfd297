"""Planning scenarios: edits to the facilities (add, close, move, change capacity), applied
incrementally to one service, saved and listed (through :mod:`gisapp.io.scenarios`), compared.

:class:`IncrementalService` keeps the per-cell state of one service (nearest facility,
coverage, 2SFCA) and updates only what an edit touches: the catchment of the facility that
is added, closed or moved (its column of the cost matrix), the cells whose nearest facility
changes, and the access of the cells in the affected catchments.  The demand side of 2SFCA
does not change with an edit, so R_j of every other facility stays the same; an edit to
facility j changes A_i only for the cells in j's catchment.  The result equals a full
recompute (:func:`gisapp.metrics.service.run_service` on the edited table, in the same travel
mode: straight line or terrain) to rounding.
"""

from __future__ import annotations

import builtins
import copy
import dataclasses
import hashlib
import json
import re
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
from numpy.typing import NDArray
from pyproj import Transformer
from scipy.spatial import cKDTree

from gisapp._errors import GisAppError
from gisapp.config.spec import Standard
from gisapp.i18n import Term, has_text, t
from gisapp.io import scenario_store as _db
from gisapp.io import scenario_store_pg as _pg
from gisapp.io import scenarios as _store
from gisapp.metrics.people import whole
from gisapp.metrics.service import (
    ServiceResult,
    run_service,
    straight_line_travel,
    terrain_thresholds,
)
from gisapp.metrics.tables import coverage_by_district
from gisapp.travel import terrain as _terrain
from gisapp.travel.cost import CostMatrix, cost_matrix_from_pairs
from gisapp.travel.straight import nearest_straight_line, straight_line_cost
from gisapp.workspace import Workspace

__all__ = ["BASELINE", "EDIT_COLUMNS", "FORMAT", "Edit", "IncrementalService", "Scenario", "apply_edits",
           "before_after", "capacity_text", "compare_scenarios", "comparison_export", "comparison_workbook",
           "edit_text", "edits_export", "edits_table", "flat_comparison", "kind_text",
           "list_scenarios", "load_scenario", "save_scenario", "ScenarioStore", "ScenarioVersion"]

EditOp = Literal["add", "close", "move", "capacity"]


@dataclass(frozen=True)
class Edit:
    """One edit of the facility table.

    Attributes
    ----------
    op
        ``"add"``, ``"close"``, ``"move"`` or ``"capacity"``.
    facility_id
        The facility edited (for ``add``: the new facility's id).
    lon, lat
        WGS84 position, degrees (``add`` and ``move``).
    name, kind
        Name and kind of an added facility.
    capacity
        Capacity field -> value (``add`` and ``capacity``), e.g. ``{"beds": 120}``.
    """

    op: EditOp
    facility_id: str
    lon: float | None = None
    lat: float | None = None
    name: str = ""
    kind: str = ""
    capacity: dict[str, float] = field(default_factory=dict)


@dataclass
class Scenario:
    """A named list of edits on a workspace."""

    name: str
    edits: list[Edit] = field(default_factory=list)
    workspace: str = ""
    notes: str = ""
    created: str = ""


def _to_xy(ws: Workspace, lon: float, lat: float) -> tuple[float, float]:
    x, y = Transformer.from_crs(4326, ws.crs, always_xy=True).transform(lon, lat)
    return float(x), float(y)


def _cap_fields(ws: Workspace) -> list[str]:
    return list(ws.spec.layers["facilities"].fields.get("capacity", []))


def apply_edits(ws: Workspace, edits: Iterable[Edit]) -> gpd.GeoDataFrame:
    """Return the facility table after the edits (closed facilities kept, ``closed=True``).

    Raises
    ------
    GisAppError
        If an edit names an unknown facility, reuses an id, or lacks a position.
    """
    fac = ws.facilities.copy()
    if "closed" not in fac.columns:
        fac["closed"] = False
    caps = _cap_fields(ws)
    for e in edits:
        known = fac.index[fac["facility_id"] == e.facility_id]
        if e.op == "add":
            if len(known) and not fac.loc[known, "closed"].all():
                raise GisAppError(code="facility_id_used", params={"id": e.facility_id})
            if e.lon is None or e.lat is None:
                raise GisAppError(code="add_needs_position", params={"id": e.facility_id})
            x, y = _to_xy(ws, e.lon, e.lat)
            row: dict[str, Any] = {"facility_id": e.facility_id, "name": e.name or e.facility_id,
                                   "kind": e.kind, "consortium_id": "", "is_lead": False,
                                   "lon": e.lon, "lat": e.lat, "x": x, "y": y, "closed": False,
                                   "district_id": _district_of(ws, x, y)}
            for c in caps:
                row[c] = float(e.capacity.get(c, 0.0))
            new = gpd.GeoDataFrame([row], geometry=gpd.points_from_xy([x], [y]), crs=ws.crs)
            fac = pd.concat([fac, new], ignore_index=True)
            fac = gpd.GeoDataFrame(fac, geometry="geometry", crs=ws.crs)
            continue
        if not len(known):
            raise GisAppError(code="unknown_facility", params={"id": e.facility_id, "op": e.op})
        i = known[-1]
        if e.op == "close":
            fac.loc[i, "closed"] = True
        elif e.op == "move":
            if e.lon is None or e.lat is None:
                raise GisAppError(code="move_needs_position", params={"id": e.facility_id})
            x, y = _to_xy(ws, e.lon, e.lat)
            fac.loc[i, ["lon", "lat", "x", "y"]] = [e.lon, e.lat, x, y]
            fac.loc[i, "district_id"] = _district_of(ws, x, y)
            fac.loc[[i], "geometry"] = gpd.points_from_xy([x], [y], crs=ws.crs)
        elif e.op == "capacity":
            for c, v in e.capacity.items():
                if c not in caps:
                    raise GisAppError(code="unknown_capacity_field", params={"field": c, "known": ", ".join(caps)})
                if v < 0:
                    raise GisAppError(code="negative_capacity_edit",
                                      params={"field": c, "id": e.facility_id, "value": v})
                fac.loc[i, c] = float(v)
        else:  # a saved file may hold any text
            raise GisAppError(code="unknown_edit", params={"op": e.op})
    return fac


def _district_of(ws: Workspace, x: float, y: float) -> str:
    d = int(ws.district_at(np.array([x]), np.array([y]))[0])
    return str(ws.districts["district_id"].iloc[d]) if d >= 0 else ""


class IncrementalService:
    """One service's per-cell state, updated edit by edit (only what an edit touches).

    The state is kept per facility: its column of the cost matrix (the cells within the
    cost matrix's cut-off and their cost), its catchment within the standard and its 2SFCA
    ratio.  An edit recomputes only the column of the facility it touches (one straight-line
    stencil or one terrain search), the cells whose nearest facility changes and the access
    of the cells in the catchments it changes.

    Parameters
    ----------
    ws
        The loaded workspace (its facility table is the baseline).
    service
        The service name.
    standard
        An optional override of the service's standard.
    travel
        ``"straight_line"`` or ``"terrain"`` as in :func:`gisapp.metrics.service.run_service`;
        None: the workspace's default (``travel.default``).  In terrain mode each facility's
        column is its travel time over the friction surface
        (:func:`gisapp.travel.terrain.terrain_cost`, the surfaces cached in ``ws.cache``), the
        nearest facility is the one of least travel time (the straight-line nearest where none
        is within the cut-off, as in ``run_service``) and coverage is against the standard in
        minutes; a rural standard of another travel mode is searched on its own surface.
    """

    def __init__(self, ws: Workspace, service: str, *, standard: Standard | None = None,
                 travel: str | None = None) -> None:
        self.ws = ws
        self.base = run_service(ws, service, standard=standard, travel=travel)
        self.svc = self.base.service
        self.mode = self.base.mode
        self.facilities = ws.facilities.copy()
        self.facilities["closed"] = False
        g = ws.grid
        self._cx, self._cy = g.x, g.y
        self._thr = self.base.threshold_m
        self._p = np.where(self.base.eligible, self.base.demand, 0.0)
        self.near_m = self.base.nearest_m.copy()
        idx = self.base.facility_idx
        if self.mode == "terrain":  # the straight-line nearest, where no facility is within reach in time
            sl_m, sl_j = nearest_straight_line(g.x, g.y, self.facilities["x"].to_numpy(float)[idx],
                                               self.facilities["y"].to_numpy(float)[idx])
            self.near_row = np.where(sl_j >= 0, idx[np.clip(sl_j, 0, max(idx.size - 1, 0))] if idx.size else -1,
                                     -1).astype(np.int64)
            self._lim = terrain_thresholds(self.svc, ws.town)
        else:
            self.near_row = self.base.nearest_facility.copy()  # row in self.facilities, -1 none
            self._lim = self._thr
        self._cutoff = float(self.base.cost.cutoff)
        # per serving facility (keyed by row): its cost column, catchment cells and ratio R
        self._cols: dict[int, tuple[NDArray[np.int64], NDArray[np.float64]]] = {}
        self._cells: dict[int, NDArray[np.int64]] = {}
        self._ratio: dict[int, float] = {}
        self._acc = np.zeros(g.n)
        csc = self.base.cost.matrix.tocsc()
        csc.sort_indices()
        cap = self._capacity_values(idx)
        for k, row in enumerate(idx):
            lo, hi = csc.indptr[k], csc.indptr[k + 1]
            cells = csc.indices[lo:hi].astype(np.int64)
            cost = np.asarray(csc.data[lo:hi], dtype=np.float64)
            self._cols[int(row)] = (cells, cost)
            self._set(int(row), cells[cost <= self._lim[cells]], float(cap[k]))
        # least travel cost per cell and its facility row (-1: none within the cut-off)
        self.best_cost = np.full(g.n, np.inf)
        self.best_row = np.full(g.n, -1, dtype=np.int64)
        if self.mode == "terrain":
            self._recompute_best(np.ones(g.n, dtype=bool))
        self.edits: list[Edit] = []
        self.last_update_s = 0.0
        self._cost: CostMatrix | None = self.base.cost

    # ---- internals --------------------------------------------------------------------
    def _capacity_values(self, rows: NDArray[np.int64]) -> NDArray[np.float64]:
        if not self.svc.capacity:
            return np.zeros(len(rows))
        return np.asarray(self.facilities[self.svc.capacity].to_numpy(float)[rows], dtype=np.float64)

    def _set(self, row: int, cells: NDArray[np.int64], supply: float) -> None:
        d = float(self._p[cells].sum())
        r = supply / d if d > 0 else 0.0
        self._cells[row] = cells
        self._ratio[row] = r
        if r:
            np.add.at(self._acc, cells, r) if cells.size < 64 else self._acc.__setitem__(
                cells, self._acc[cells] + r)

    def _unset(self, row: int) -> None:
        cells = self._cells.pop(row)
        r = self._ratio.pop(row)
        if r:
            self._acc[cells] -= r

    def _column(self, x: float, y: float) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
        """Return one facility's column of the cost matrix: cells within the cut-off and their cost."""
        g = self.ws.grid
        fx, fy = np.array([x]), np.array([y])
        if self.mode != "terrain":
            r, _, d = straight_line_cost(g.cell_index, g.transform, fx, fy, cutoff_m=self._cutoff).pairs()
            return r, d
        svc, town, lim = self.svc, self.ws.town, self._lim
        rs = svc.rural_standard
        if rs is not None and rs.mode != svc.standard.mode:  # as run_service: one surface per mode
            r1, _, v1 = _terrain.terrain_cost(self.ws, svc.standard.mode, fx, fy, max_minutes=self._cutoff).within(
                np.where(town, lim, -1.0)).pairs()
            r2, _, v2 = _terrain.terrain_cost(self.ws, rs.mode, fx, fy, max_minutes=self._cutoff).within(
                np.where(town, -1.0, lim)).pairs()
            r, v = np.concatenate([r1, r2]), np.concatenate([v1, v2])
            order = np.argsort(r, kind="stable")
            return r[order], v[order]
        r, _, v = _terrain.terrain_cost(self.ws, svc.standard.mode, fx, fy, max_minutes=self._cutoff).pairs()
        return r, v

    def _recompute_best(self, mask: NDArray[np.bool_]) -> None:
        """Set the least cost and its facility for the cells in ``mask`` from every open column.

        Ties go to the lowest facility row, as :func:`~gisapp.metrics.service.run_service` does.
        """
        self.best_cost[mask] = np.inf
        self.best_row[mask] = -1
        parts = [(c[mask[c]], v[mask[c]], row) for row, (c, v) in self._cols.items()]
        if not parts:
            return
        cells = np.concatenate([p[0] for p in parts])
        cost = np.concatenate([p[1] for p in parts])
        rows = np.concatenate([np.full(p[0].size, p[2], dtype=np.int64) for p in parts])
        if cells.size == 0:
            return
        order = np.lexsort((rows, cost, cells))
        first = np.ones(order.size, dtype=bool)
        first[1:] = cells[order][1:] != cells[order][:-1]
        pick = order[first]
        self.best_cost[cells[pick]] = cost[pick]
        self.best_row[cells[pick]] = rows[pick]

    def _add_best(self, row: int, cells: NDArray[np.int64], cost: NDArray[np.float64]) -> None:
        cur, who = self.best_cost[cells], self.best_row[cells]
        better = (cost < cur) | ((cost == cur) & ((who < 0) | (row < who)))
        self.best_cost[cells[better]] = cost[better]
        self.best_row[cells[better]] = row

    def _drop_best(self, row: int) -> None:
        lost = self.best_row == row
        if lost.any():
            self._recompute_best(lost)

    def _serves(self, row: int) -> bool:
        f = self.facilities
        return bool(f["kind"].iat[row] in self.svc.kinds and not f["closed"].iat[row])

    def _open_rows(self) -> NDArray[np.int64]:
        f = self.facilities
        return np.flatnonzero(f["kind"].isin(self.svc.kinds).to_numpy() & ~f["closed"].to_numpy(bool))

    def _add_nearest(self, row: int) -> None:
        x, y = float(self.facilities["x"].iat[row]), float(self.facilities["y"].iat[row])
        d = np.hypot(self._cx - x, self._cy - y)
        better = d < self.near_m
        self.near_m[better] = d[better]
        self.near_row[better] = row

    def _drop_nearest(self, row: int) -> None:
        lost = np.flatnonzero(self.near_row == row)
        if lost.size == 0:
            return
        rows = self._open_rows()
        if rows.size == 0:
            self.near_m[lost] = np.inf
            self.near_row[lost] = -1
            return
        f = self.facilities
        tree = cKDTree(np.column_stack([f["x"].to_numpy(float)[rows], f["y"].to_numpy(float)[rows]]))
        d, j = tree.query(np.column_stack([self._cx[lost], self._cy[lost]]))
        self.near_m[lost] = d
        self.near_row[lost] = rows[j]

    # ---- edits ------------------------------------------------------------------------
    def apply(self, edit: Edit) -> None:
        """Apply one edit, updating only the cells it touches."""
        t0 = time.perf_counter()
        before = self.facilities
        self.facilities = apply_edits(dataclasses.replace(self.ws, facilities=before), [edit])
        rows = np.flatnonzero(self.facilities["facility_id"].to_numpy() == edit.facility_id)
        row = int(rows[-1])
        was = row < len(before) and bool(before["kind"].iat[row] in self.svc.kinds) and not bool(before["closed"].iat[row])
        now = self._serves(row)
        terrain = self.mode == "terrain"
        if edit.op in ("close", "move") and was:
            self._unset(row)
            del self._cols[row]
            self._drop_nearest(row)
            if terrain:
                self._drop_best(row)
        if edit.op in ("add", "move") and now:
            cells, cost = self._column(float(self.facilities["x"].iat[row]), float(self.facilities["y"].iat[row]))
            self._cols[row] = (cells, cost)
            self._set(row, cells[cost <= self._lim[cells]], float(self._capacity_values(np.array([row]))[0]))
            self._add_nearest(row)
            if terrain:
                self._add_best(row, cells, cost)
        if edit.op == "capacity" and now:
            cells = self._cells[row]
            self._unset(row)
            self._set(row, cells, float(self._capacity_values(np.array([row]))[0]))
        if edit.op != "capacity":
            self._cost = None
        self.edits.append(edit)
        self.last_update_s = time.perf_counter() - t0

    def cost_matrix(self) -> CostMatrix:
        """Return the cells x open-facilities cost matrix (columns in the order of ``result().facility_idx``)."""
        if self._cost is None:
            open_rows = self._open_rows()
            cols = [self._cols[int(r)] for r in open_rows]
            cells = np.concatenate([c for c, _ in cols]) if cols else np.zeros(0, np.int64)
            cost = np.concatenate([v for _, v in cols]) if cols else np.zeros(0)
            which = np.repeat(np.arange(len(cols), dtype=np.int64), [c.size for c, _ in cols]) if cols else \
                np.zeros(0, np.int64)
            self._cost = cost_matrix_from_pairs(cells, which, cost, shape=(self.ws.grid.n, len(cols)),
                                                unit=self.base.cost.unit, cutoff=self.base.cost.cutoff)
        return self._cost

    def result(self) -> ServiceResult:
        """Return the current state as a :class:`ServiceResult` (rows index :attr:`facilities`)."""
        b = self.base
        svc = self.svc
        town = self.ws.town
        if self.mode == "terrain":
            covered = b.eligible & (self.best_cost <= self._lim)
            travel = self.best_cost.copy()
            nearest = np.where(self.best_row >= 0, self.best_row, self.near_row)
        else:
            covered = b.eligible & (self.near_m <= self._thr)
            travel = straight_line_travel(self.near_m, svc, town)
            nearest = self.near_row.copy()
        acc = np.where(b.eligible, self._acc * 1000.0, np.nan) if svc.capacity else np.full(b.demand.size, np.nan)
        return dataclasses.replace(b, facility_idx=self._open_rows(), nearest_m=self.near_m.copy(),
                                   nearest_facility=nearest, travel_cost=travel, cost=self.cost_matrix(),
                                   covered=covered, access_per_1000=acc, timings_s={"update": self.last_update_s})

    def fork(self) -> IncrementalService:
        """Return an independent copy to apply more edits to (the workspace and baseline are shared).

        Forking the state after n edits and applying one more costs one edit, not n + 1.
        """
        new = copy.copy(self)
        for name, value in vars(self).items():
            if name not in ("ws", "base", "svc", "_cost"):  # the cost matrix is replaced, never changed
                setattr(new, name, copy.deepcopy(value))
        return new

    def workspace(self) -> Workspace:
        """Return the workspace with this scenario's facility table (for the analysis tables)."""
        return self.ws.with_facilities(self.facilities)


# ---- saving and reading ---------------------------------------------------------------------
#: the format tag written into every scenario file
FORMAT = "gisapp-scenario-1"
#: columns of the edits table (the ``edits`` layer of a scenario file, a sheet of the comparison workbook)
EDIT_COLUMNS = ["seq", "op", "facility_id", "name", "kind", "capacity", "lon", "lat"]


def _safe_name(name: str) -> str:
    s = re.sub(r"[^\w\u4e00-\u9fff-]+", "_", name.strip()).strip("_")
    if not s:
        raise GisAppError(code="scenario_needs_name")
    return s[:80]


def edits_table(edits: Iterable[Edit]) -> pd.DataFrame:
    """Return the edits as a table (columns :data:`EDIT_COLUMNS`; capacity as JSON, no position: NaN)."""
    rows = []
    for k, e in enumerate(edits):
        rows.append({"seq": k, "op": e.op, "facility_id": e.facility_id, "name": e.name, "kind": e.kind,
                     "capacity": json.dumps(e.capacity, ensure_ascii=False),
                     "lon": e.lon if e.lon is not None else np.nan, "lat": e.lat if e.lat is not None else np.nan})
    return pd.DataFrame(rows, columns=EDIT_COLUMNS)


def _frames(scenario: Scenario) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Return the ``scenario`` and ``edits`` layers of a scenario file."""
    df = edits_table(scenario.edits)
    edits = gpd.GeoDataFrame(df, geometry=gpd.points_from_xy(df["lon"].fillna(0.0), df["lat"].fillna(0.0)), crs=4326)
    meta = gpd.GeoDataFrame({"name": [scenario.name], "workspace": [scenario.workspace], "notes": [scenario.notes],
                             "created": [scenario.created or _now()],
                             "format": [FORMAT]}, geometry=gpd.points_from_xy([0.0], [0.0]), crs=4326)
    return meta, edits


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def save_scenario(folder: str | Path, scenario: Scenario) -> Path:
    """Save a scenario atomically to ``folder/<name>.gpkg`` (layers ``edits`` and ``scenario``).

    Returns
    -------
    Path
        The GeoPackage written.  A failed save leaves any earlier file of that name intact.

    Raises
    ------
    GisAppError
        If the name has no letter, digit or Chinese character.
    """
    dest = _store.scenario_file(folder, _safe_name(scenario.name))
    return _store.write_scenario(dest, *_frames(scenario))


def load_scenario(path: str | Path) -> Scenario:
    """Read a scenario saved by :func:`save_scenario`.

    Raises
    ------
    GisAppError
        If the file does not exist or is not a scenario GeoPackage (the message names the file,
        not its folder).
    """
    p = Path(path)
    if not _store.present(p):
        raise GisAppError(code="scenario_missing", params={"file": p.name})
    try:
        meta, edits = _store.read_scenario(p)
    except Exception as exc:  # the reader's own message (English) stays in the chain, not in the text
        raise GisAppError(code="not_a_scenario", params={"file": p.name}) from exc
    return _from_frames(meta, edits, p.name)


def _from_frames(meta: Any, edits: Any, file: str) -> Scenario:  # noqa: ANN401 - frames of files or rows
    """Return the scenario of the two layers of a scenario file (``file`` names it in messages)."""
    try:
        out = []
        for r in edits.sort_values("seq").itertuples(index=False):  # edits are few; not cells
            lon = None if pd.isna(r.lon) else float(r.lon)
            lat = None if pd.isna(r.lat) else float(r.lat)
            out.append(Edit(op=r.op, facility_id=str(r.facility_id), lon=lon, lat=lat, name=str(r.name or ""),
                            kind=str(r.kind or ""),
                            capacity={k: float(v) for k, v in json.loads(r.capacity or "{}").items()}))
        m = meta.iloc[0]
        return Scenario(name=str(m["name"]), edits=out, workspace=str(m["workspace"]),
                        notes=str(m["notes"] or ""), created=str(m["created"]))
    except (KeyError, IndexError, AttributeError, TypeError, ValueError) as exc:
        raise GisAppError(code="not_a_scenario", params={"file": file}) from exc


def list_scenarios(folder: str | Path) -> dict[str, Path]:
    """Return the scenarios saved in ``folder``: name -> GeoPackage, in file-name order.

    Files that are not scenario GeoPackages are skipped; a folder that does not exist holds
    none.  Iterating the result gives the names.
    """
    out: dict[str, Path] = {}
    for p in _store.scenario_files(folder):
        try:
            out[load_scenario(p).name] = p
        except GisAppError:
            continue
    return out


# ---- the scenario store: versions with author and time --------------------------------------
@dataclass(frozen=True)
class ScenarioVersion:
    """One saved version of a scenario in a :class:`ScenarioStore`.

    ``version`` 0 is a scenario file of earlier releases (``<name>.gpkg`` in the store's folder),
    listed until a version of that name is saved in the store; its ``author`` is empty.
    """

    name: str
    version: int
    author: str
    saved_at: str
    workspace: str
    n_edits: int
    content_hash: str = ""


def _content_hash(scenario: Scenario) -> str:
    edits = [dataclasses.asdict(e) for e in scenario.edits]
    body = json.dumps({"workspace": scenario.workspace, "notes": scenario.notes, "edits": edits},
                      ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


class ScenarioStore:
    """The scenario store: every save a new version, with author and time.

    ``folder`` is a folder (the embedded store) or a PostgreSQL URL (``postgresql://...``: the
    versions live in that database, :mod:`gisapp.io.scenario_store_pg`, for a bureau whose
    planners share a server).  In a folder the versions live in ``<folder>/scenarios.sqlite``
    (:mod:`gisapp.io.scenario_store`); the
    scenario files of earlier releases in the same folder (``*.gpkg``) are listed as version 0
    and can be loaded, so nothing saved before is lost.  Two planners saving the same scenario
    from the same base version: the first save becomes the next version, the second is refused
    with ``scenario_conflict`` (it names who saved and when) and the store keeps the first.

    Examples
    --------
    >>> import tempfile
    >>> store = ScenarioStore(tempfile.mkdtemp())
    >>> store.save_version("甲", [Edit("close", "C1")], workspace="tiny", author="王", base_version=0)
    1
    >>> store.save_version("甲", [], workspace="tiny", author="李", base_version=1)
    2
    >>> [(v.version, v.author, v.n_edits) for v in store.history("甲")]
    [(1, '王', 1), (2, '李', 0)]
    >>> store.load("甲", 1).edits
    [Edit(op='close', facility_id='C1', lon=None, lat=None, name='', kind='', capacity={})]
    """

    def __init__(self, folder: str | Path) -> None:
        #: a PostgreSQL database URL (``postgresql://...``), else None: the embedded store of ``folder``
        self.database = str(folder) if _pg.is_database_url(folder) else None
        self.folder = Path(".") if self.database else Path(folder)
        self._rows: Any = _pg if self.database else _db
        self._where: Any = self.database or self.folder

    @property
    def where(self) -> str:
        """Return where the versions live, for messages (a database URL without its password, or the folder)."""
        return _pg.redact(self.database) if self.database else str(self.folder)

    def _legacy(self) -> dict[str, Path]:
        if self.database:  # scenario files of earlier releases live in folders only
            return {}
        return list_scenarios(self.folder)

    def save_version(self, name: str, edits: Sequence[Edit], *, workspace: str, author: str,
             base_version: int | None = None, notes: str = "") -> int:
        """Save ``edits`` as a new version of scenario ``name``; return its version number.

        ``base_version`` is the version the edits started from (0: a scenario the planner has
        not loaded); when the store holds a newer version of ``name``, the save is refused and
        the store is left unchanged.  None saves without the check (a new version all the same).

        Raises
        ------
        GisAppError
            ``scenario_needs_name``, ``scenario_conflict`` or ``scenario_store_unreadable``.
        """
        _safe_name(name)
        sc = Scenario(name=name.strip(), edits=list(edits), workspace=workspace, notes=notes)
        row = {"name": sc.name, "author": author, "saved_at": _now(), "workspace": workspace, "notes": notes,
               "edits": edits_table(sc.edits).to_json(orient="records", force_ascii=False),
               "content_hash": _content_hash(sc)}
        return int(self._rows.append_version(self._where, row, base_version))

    def list(self) -> builtins.list[ScenarioVersion]:
        """Return the latest version of every scenario, by name (files of earlier releases as version 0)."""
        rows = {r["name"]: self._version(r) for r in self._rows.latest_rows(self._where)}
        for name, p in self._legacy().items():
            if name not in rows:
                sc = load_scenario(p)
                rows[name] = ScenarioVersion(name, 0, "", sc.created, sc.workspace, len(sc.edits))
        return [rows[n] for n in sorted(rows)]

    def history(self, name: str) -> builtins.list[ScenarioVersion]:
        """Return every version of scenario ``name``, oldest first (a file of an earlier release: version 0)."""
        out = [self._version(r) for r in self._rows.history_rows(self._where, name)]
        legacy = self._legacy().get(name)
        if legacy is not None:
            sc = load_scenario(legacy)
            out.insert(0, ScenarioVersion(name, 0, "", sc.created, sc.workspace, len(sc.edits)))
        return out

    def load(self, name: str, version: int | None = None) -> Scenario:
        """Return version ``version`` of scenario ``name`` (None: the latest; 0: the file of an earlier release).

        Raises
        ------
        GisAppError
            ``scenario_missing`` if there is no such scenario or version.
        """
        row = None if version == 0 else self._rows.version_row(self._where, name, version)
        if row is None:
            legacy = self._legacy().get(name)
            if legacy is None or version not in (None, 0):
                label = name if version is None else f"{name} v{version}"
                raise GisAppError(code="scenario_missing", params={"file": label})
            return load_scenario(legacy)
        table = pd.DataFrame(json.loads(row["edits"]), columns=EDIT_COLUMNS)
        meta = pd.DataFrame({"name": [row["name"]], "workspace": [row["workspace"]], "notes": [row["notes"]],
                             "created": [row["saved_at"]]})
        return _from_frames(meta, table, _db.STORE_FILE)

    def export_bytes(self, name: str, version: int | None = None) -> bytes:
        """Return a version of scenario ``name`` as a scenario GeoPackage (the format of :func:`save_scenario`)."""
        return _db.gpkg_bytes(*_frames(self.load(name, version)))

    def import_bytes(self, data: bytes, *, file: str, author: str) -> tuple[str, int]:
        """Import a scenario GeoPackage (an upload named ``file``) as a new version; return (name, version).

        The import never refuses for a newer version (it is a new version of its own), so
        nothing in the store is lost.

        Raises
        ------
        GisAppError
            ``not_a_scenario`` (naming ``file``) if the bytes are not a scenario GeoPackage.
        """
        try:
            meta, edits = _db.read_gpkg_bytes(data)
        except Exception as exc:  # the reader's own message (English) stays in the chain
            raise GisAppError(code="not_a_scenario", params={"file": file}) from exc
        sc = _from_frames(meta, edits, file)
        return sc.name, self.save_version(sc.name, sc.edits, workspace=sc.workspace, author=author, notes=sc.notes)

    @staticmethod
    def _version(row: Mapping[str, Any]) -> ScenarioVersion:
        return ScenarioVersion(name=str(row["name"]), version=int(row["version"]), author=str(row["author"]),
                               saved_at=str(row["saved_at"]), workspace=str(row["workspace"]),
                               n_edits=len(json.loads(row["edits"])), content_hash=str(row["content_hash"]))


# ---- comparison -----------------------------------------------------------------------------
#: name of the scenario without edits in comparisons
BASELINE = "baseline"


def compare_scenarios(ws: Workspace, service: str, scenarios: Mapping[str, Sequence[Edit]], *,
                      standard: Standard | None = None, travel: str | None = None) -> pd.DataFrame:
    """Return covered people by district for the baseline and each scenario, side by side.

    Parameters
    ----------
    ws
        The workspace (its facility table is the baseline).
    service
        The service name.
    scenarios
        Scenario name -> its edits.
    standard
        An override of the service's standard (e.g. the app's slider); None: the service's own.
    travel
        ``"straight_line"`` or ``"terrain"`` (see :func:`gisapp.metrics.service.run_service`);
        None: the workspace's default.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``district_id, district_name``; columns ``covered`` and ``covered_pct`` per
        scenario (a two-level column index: scenario, measure; the baseline is
        :data:`BASELINE`), then ``("", "population")``.

    Raises
    ------
    GisAppError
        If the service is unknown or an edit does not apply.
    """
    base = coverage_by_district(ws, run_service(ws, service, standard=standard, travel=travel))
    frames = {BASELINE: base[["covered", "covered_pct"]]}
    for name, edits in scenarios.items():
        w2 = ws.with_facilities(apply_edits(ws, edits))
        t = coverage_by_district(w2, run_service(w2, service, standard=standard, travel=travel))
        frames[name] = t[["covered", "covered_pct"]]
    out = pd.concat(frames, axis=1)
    out.index = pd.MultiIndex.from_frame(base[["district_id", "district_name"]])
    out[("", "population")] = base["population"].to_numpy()
    return out


def flat_comparison(table: pd.DataFrame) -> pd.DataFrame:
    """Return a :func:`compare_scenarios` table with one header row (``scenario · measure``), districts as columns.

    Columns: ``district_id, district_name, population``, then ``<scenario> · covered`` and
    ``<scenario> · covered_pct`` per scenario.
    """
    out = table.copy()
    pairs: list[tuple[str, str]] = [(str(c[0]), str(c[1])) for c in out.columns]
    out.columns = pd.Index([m if not s else f"{s} · {m}" for s, m in pairs])
    out = out.reset_index()
    cols = ["district_id", "district_name", "population"]
    return out[cols + [c for c in out.columns if c not in cols]]


#: the header key (``col.<name>``) of each column of the comparison workbook
_EXPORT_HEADERS: dict[str, str] = {
    "district_id": "col.district_id", "district_name": "col.district_name", "population": "col.population",
    "covered": "col.covered", "covered_pct": "col.covered_pct", "scenario": "col.scenario", "seq": "col.seq",
    "op": "col.op", "facility_id": "col.facility_id", "name": "col.name", "kind": "col.kind",
    "lon": "col.lon", "lat": "col.lat", "capacity": "col.edit_capacity", "service": "col.service",
}


def _head(col: str, lang: str) -> str:
    return t(_EXPORT_HEADERS[col], lang) if col in _EXPORT_HEADERS else col


def _amount(value: float) -> str:
    """Return a capacity as written for people: thousands separators, no needless decimals.

    Examples
    --------
    >>> _amount(1000.0), _amount(2.5)
    ('1,000', '2.5')
    """
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}".rstrip("0").rstrip(".")


def capacity_text(capacity: Mapping[str, float], lang: str = "zh") -> str:
    """Return the capacities of an edit as a person reads them, e.g. "学位 1,000 个" / "1,000 school places".

    A field without a text of its own (a workspace's own field) is shown by its name.

    Examples
    --------
    >>> capacity_text({"seats": 1000}), capacity_text({"beds": 120, "doctors": 8}, "en")
    ('学位 1,000 个', '120 beds, 8 doctors')
    >>> capacity_text({})
    ''
    """
    parts = []
    for name, value in capacity.items():
        key = f"plan.cap_amount.{name}"
        parts.append(t(key, lang, n=_amount(value)) if has_text(key, lang)
                     else t("plan.cap_amount", lang, field=name, n=_amount(value)))
    return t("plan.cap_join", lang).join(parts)


def edit_text(edit: Edit, lang: str = "zh") -> str:
    """Return one edit in words: the operation, the facility, its kind and its capacities, in ``lang``.

    Examples
    --------
    >>> edit_text(Edit("add", "NEW-1", 101.7, 26.6, name="新幼儿园", kind="kindergarten", capacity={"seats": 270}))
    '新增 NEW-1 新幼儿园 幼儿园 学位 270 个'
    >>> edit_text(Edit("close", "C2"), "en")
    'close C2'
    """
    parts = [t(f"plan.op.{edit.op}", lang) if has_text(f"plan.op.{edit.op}", lang) else edit.op, edit.facility_id,
             edit.name, kind_text(edit.kind, lang), capacity_text(edit.capacity, lang)]
    return " ".join(p for p in parts if p)


def kind_text(kind: str, lang: str = "zh") -> str:
    """Return a facility kind in ``lang`` (its code when the catalogue has no text for it)."""
    return Term(f"kind.{kind}", kind).text(lang) if kind else ""


def edits_export(scenarios: Mapping[str, Sequence[Edit]], lang: str = "zh") -> pd.DataFrame:
    """Return every scenario's edits as a person reads them: headers, operations, kinds and capacities in ``lang``.

    Columns (headed in ``lang``): scenario, sequence, operation, facility, name, kind, longitude,
    latitude, capacity ("学位 1,000 个").
    """
    parts = [edits_table(edits).assign(scenario=name) for name, edits in scenarios.items()]
    cols = ["scenario", "seq", "op", "facility_id", "name", "kind", "lon", "lat", "capacity"]
    rows = pd.concat(parts, ignore_index=True)[cols] if parts else pd.DataFrame(columns=cols)
    rows["op"] = [t(f"plan.op.{op}", lang) if has_text(f"plan.op.{op}", lang) else op for op in rows["op"]]
    rows["kind"] = [kind_text(str(k or ""), lang) for k in rows["kind"]]
    rows["capacity"] = [capacity_text({k: float(v) for k, v in json.loads(c or "{}").items()}, lang)
                        for c in rows["capacity"]]
    rows.columns = pd.Index([_head(c, lang) for c in cols])
    return rows


def comparison_export(table: pd.DataFrame, lang: str = "zh") -> pd.DataFrame:
    """Return a :func:`compare_scenarios` table as a person reads it: one header row in ``lang``, districts as rows.

    Columns: district code, district, population, then ``<scenario> · <measure>`` per scenario
    and measure (the baseline named in ``lang``); numbers stay numbers, people whole numbers.

    Examples
    --------
    >>> cols = pd.MultiIndex.from_tuples([(BASELINE, "covered"), ("甲", "covered_pct"), ("", "population")])
    >>> table = pd.DataFrame([[90.0, 50.0, 100.0]], columns=cols,
    ...                      index=pd.MultiIndex.from_tuples([("1", "东区")], names=["district_id", "district_name"]))
    >>> list(comparison_export(table, "en").columns)
    ['District code', 'District', 'Demand population (people)', 'Baseline · Covered (people)', '甲 · Covered share (%)']
    """
    flat = flat_comparison(table)
    for c in flat.columns:  # people are whole: each column rounded so that its rows add up to its total
        if str(c) == "population" or str(c).endswith(" · covered"):
            flat[c] = whole(flat[c].to_numpy(float))
    labels = []
    for c in flat.columns:
        scen, sep, measure = str(c).rpartition(" · ")
        if not sep:
            labels.append(_head(str(c), lang))
        else:
            shown = t("plan.baseline", lang) if scen == BASELINE else scen
            labels.append(f"{shown} · {_head(measure, lang)}")
    flat.columns = pd.Index(labels)
    return flat


def comparison_workbook(table: pd.DataFrame, scenarios: Mapping[str, Sequence[Edit]], *, service: str,
                        lang: str = "zh", service_title: str | None = None) -> bytes:
    """Return an XLSX workbook: the comparison (numbers as numbers), every scenario's edits, the service.

    Sheets (named in ``lang``): the comparison (:func:`comparison_export` of ``table``, one
    column per scenario and measure), every scenario's edits (:func:`edits_export`: the
    scenario, the edit, the position, then the capacities in words) and the service compared
    (``service_title`` when given, e.g. ``ServiceSpec.title(lang)``, else ``service``).

    Examples
    --------
    >>> import io, pandas as pd
    >>> cols = pd.MultiIndex.from_tuples([(BASELINE, "covered"), ("", "population")])
    >>> table = pd.DataFrame([[90.0, 100.0]], columns=cols,
    ...                      index=pd.MultiIndex.from_tuples([("1", "东区")], names=["district_id", "district_name"]))
    >>> edits = {"甲": [Edit("add", "N1", 101.7, 26.6, kind="kindergarten", capacity={"seats": 1000})]}
    >>> book = pd.read_excel(io.BytesIO(comparison_workbook(table, edits, service="clinic")), sheet_name=None)
    >>> list(book), list(book["情景对比"].columns)
    (['情景对比', '修改列表', '服务'], ['区县代码', '区县', '需求人口 (人)', '现状 · 覆盖人口 (人)'])
    >>> book["修改列表"][["操作", "类型", "能力（各字段）"]].values.tolist()
    [['新增', '幼儿园', '学位 1,000 个']]
    """
    about = pd.DataFrame({_head("service", lang): [service_title or service]})
    return _store.workbook_bytes({t("cmp.sheet.compare", lang): comparison_export(table, lang),
                                  t("cmp.sheet.edits", lang): edits_export(scenarios, lang),
                                  t("cmp.sheet.about", lang): about})


def before_after(before: pd.DataFrame, after: pd.DataFrame) -> pd.DataFrame:
    """Return covered people by district before and after, from two :func:`~gisapp.metrics.tables.coverage_by_district` tables.

    Columns: ``district_id, district_name, population, covered_before, covered_after,
    covered_delta, covered_pct_before, covered_pct_after``.
    """
    out = before[["district_id", "district_name", "population"]].copy()
    out["covered_before"] = before["covered"].to_numpy()
    out["covered_after"] = after["covered"].to_numpy()
    out["covered_delta"] = out["covered_after"] - out["covered_before"]
    out["covered_pct_before"] = before["covered_pct"].to_numpy()
    out["covered_pct_after"] = after["covered_pct"].to_numpy()
    return out
