"""Planning page state: the scenario's edits (session state) and cached scenario services and tables.

Session state holds the user's choices only: the current scenario's edits as a list of plain
dicts (:data:`EDITS`) and its name.  Everything else is recomputed from them by the cached
loaders below, keyed by primitives (workspace path, uploads JSON, service, standard value and
the JSON of the edits).  :func:`scenario_service` extends the cached service of the edit list
without its last edit by one incremental update, so an edit costs one
:meth:`~gisapp.scenario.IncrementalService.apply`, not a full recompute.
"""

from __future__ import annotations

import copy
import dataclasses
import io
import json
import os
from pathlib import Path
from typing import Any

import folium
import pandas as pd
import streamlit as st

from gisapp import maps
from gisapp.metrics import service as analysis
from gisapp.planning import suggest as planning
from gisapp.planning.scenario import (
    Edit,
    IncrementalService,
    Scenario,
    compare_scenarios,
    load_scenario,
    save_scenario,
)
from gisapp.ui import state

# --- session-state and widget keys of the planning page -------------------------------------
EDITS = "plan_edits"  #: list of edit dicts (the current scenario)
NAME = "plan_name"  #: name of the current scenario
ERROR = "plan_error"  #: message of the last rejected edit (shown once)
LON = "plan_lon"
LAT = "plan_lat"
KIND = "plan_kind"
FAC_NAME = "plan_fac_name"
CAPACITY = "plan_capacity"
ADD = "plan_add"
FACILITY = "plan_facility"  #: facility chosen for close / move / capacity
CLOSE = "plan_close"
MOVE = "plan_move"
NEW_CAPACITY = "plan_new_capacity"
SET_CAPACITY = "plan_set_capacity"
UNDO = "plan_undo"
CLEAR = "plan_clear"
MAP = "plan_map"
LAST_CLICK = "plan_last_click"  #: the map click already copied into LON / LAT
SAVE_NAME = "plan_save_name"
SAVE = "plan_save"
LOAD_CHOICE = "plan_load_choice"
LOAD = "plan_load"
SUG_BY = "sug_by"  #: "k" | "target"
SUG_K = "sug_k"
SUG_TARGET = "sug_target"
SUG_CANDIDATES = "sug_candidates"
SUG_SPACING = "sug_spacing"
SUG_METHOD = "sug_method"
SUG_CAPACITY = "sug_capacity"
SUG_UPLOAD = "sug_upload"
SUG_RUN = "sug_run"
SUG_PARAMS = "sug_params"  #: JSON of the parameters of the last run (a choice, not a result)
SUG_ADD = "sug_add"
SUG_MAP = "sug_map"
CMP_CHOICE = "cmp_choice"
CMP_LEFT = "cmp_left"
CMP_RIGHT = "cmp_right"
CMP_MAP_LEFT = "cmp_map_left"
CMP_MAP_RIGHT = "cmp_map_right"
CMP_DOWNLOAD = "cmp_download"

#: Environment variable naming the user's folder (default ``~/.gisapp``).
USER_DIR_ENV = "GISAPP_USER_DIR"
#: Name of the baseline (no edits) in comparisons.
BASELINE = "baseline"


# --- edits ------------------------------------------------------------------------------------
def edits() -> list[dict[str, Any]]:
    """Return the current scenario's edits (plain dicts)."""
    return list(st.session_state.get(EDITS, []))


def to_json(edit_dicts: list[dict[str, Any]]) -> str:
    """Return the canonical JSON of a list of edit dicts (the cache key of a scenario)."""
    return json.dumps(edit_dicts, ensure_ascii=False, sort_keys=True)


def to_edits(edits_json: str) -> list[Edit]:
    """Return the :class:`~gisapp.scenario.Edit` objects of an edit-list JSON."""
    return [Edit(**d) for d in json.loads(edits_json or "[]")]


def as_dict(edit: Edit) -> dict[str, Any]:
    """Return an edit as a plain dict (what session state holds)."""
    return dataclasses.asdict(edit)


def new_id(ws_ids: list[str], edit_dicts: list[dict[str, Any]], prefix: str = "NEW") -> str:
    """Return the first ``prefix-n`` id used by no facility and no edit."""
    used = set(ws_ids) | {str(d["facility_id"]) for d in edit_dicts}
    n = 1
    while f"{prefix}-{n}" in used:
        n += 1
    return f"{prefix}-{n}"


# --- cached scenario services ------------------------------------------------------------------
def _fork(inc: IncrementalService) -> IncrementalService:
    """Return an independent copy of ``inc`` (the workspace and baseline result are shared)."""
    new = copy.copy(inc)
    for name, value in vars(inc).items():
        if name not in ("ws", "base", "svc"):
            setattr(new, name, copy.deepcopy(value))
    return new


@st.cache_resource(max_entries=8, show_spinner=False)
def scenario_service(path: str, overrides_json: str, service: str, value: float | None,
                     edits_json: str = "[]") -> IncrementalService:
    """Return the service after the edits in ``edits_json`` (straight line; never mutate it).

    The edit list without its last edit is looked up (cached) and copied, then the last edit
    is applied incrementally, so ``last_update_s`` is the time of that one edit.

    Raises
    ------
    gisapp._errors.GisAppError
        If an edit is invalid (unknown facility, reused id, missing position).
    """
    ds = json.loads(edits_json or "[]")
    if not ds:
        ws = state.load_ws(path, overrides_json)
        return IncrementalService(ws, service, standard=state.standard_for(ws.spec.services[service], value))
    prev = scenario_service(path, overrides_json, service, value, to_json(ds[:-1]))
    inc = _fork(prev)
    inc.apply(Edit(**ds[-1]))
    return inc


@st.cache_data(max_entries=32, show_spinner=False)
def scenario_summary(path: str, overrides_json: str, service: str, value: float | None,
                     edits_json: str = "[]") -> dict[str, float]:
    """Return :func:`gisapp.analysis.summary` of the scenario, plus its update time (``update_s``)."""
    inc = scenario_service(path, overrides_json, service, value, edits_json)
    out = analysis.summary(inc.workspace(), inc.result())
    out["update_s"] = float(inc.last_update_s)
    return out


@st.cache_data(max_entries=32, show_spinner=False)
def scenario_districts(path: str, overrides_json: str, service: str, value: float | None,
                       edits_json: str = "[]") -> pd.DataFrame:
    """Return :func:`gisapp.analysis.coverage_by_district` of the scenario."""
    inc = scenario_service(path, overrides_json, service, value, edits_json)
    return analysis.coverage_by_district(inc.workspace(), inc.result())


def before_after(before: pd.DataFrame, after: pd.DataFrame) -> pd.DataFrame:
    """Return covered people by district before and after (columns ``*_before``, ``*_after``, delta)."""
    out = before[["district_id", "district_name", "population"]].copy()
    out["covered_before"] = before["covered"].to_numpy()
    out["covered_after"] = after["covered"].to_numpy()
    out["covered_delta"] = out["covered_after"] - out["covered_before"]
    out["covered_pct_before"] = before["covered_pct"].to_numpy()
    out["covered_pct_after"] = after["covered_pct"].to_numpy()
    return out


@st.cache_resource(max_entries=8, show_spinner=False)
def scenario_map(path: str, overrides_json: str, service: str, value: float | None, edits_json: str,
                 *, lang: str) -> folium.Map:
    """Return a compact folium map of the scenario (closed facilities not drawn)."""
    inc = scenario_service(path, overrides_json, service, value, edits_json)
    ws, res = inc.workspace(), inc.result()
    table = maps.district_metrics(ws, res)
    fac = ws.facilities
    shown = ws.with_facilities(fac[~fac["closed"].to_numpy(bool)]) if "closed" in fac.columns else ws
    m = maps.build_map(shown, res, lang=lang, overlay="coverage", show_population=True, district_table=table,
                       compact=True)
    added = [d for d in json.loads(edits_json or "[]") if d["op"] in ("add", "move")]
    for d in added:
        folium.CircleMarker([d["lat"], d["lon"]], radius=9, color="#6a1b9a", weight=3, fill=False,
                            tooltip=f"{d['op']}: {d.get('name') or d['facility_id']}").add_to(m)
    return state.local_assets(m)


# --- suggested sites ---------------------------------------------------------------------------
@st.cache_resource(max_entries=8, show_spinner=False)
def suggestion(path: str, overrides_json: str, service: str, value: float | None, edits_json: str,
               params_json: str) -> planning.Suggestion:
    """Return :func:`gisapp.planning.suggest` on the scenario's facilities (read-only result).

    ``params_json`` holds ``k`` or ``target_share``, ``candidates``, ``spacing_m``, ``method``,
    ``capacity`` and, for ``candidates="points"``, ``points`` (a list of ``[lon, lat, name]``).
    """
    ws = state.load_ws(path, overrides_json)
    if json.loads(edits_json or "[]"):
        ws = scenario_service(path, overrides_json, service, value, edits_json).workspace()
    p = json.loads(params_json)
    pts = None
    if p.get("points"):
        pts = pd.DataFrame(p["points"], columns=["lon", "lat", "name"])
    return planning.suggest(ws, service, k=p.get("k"), target_share=p.get("target_share"),
                            candidates=p.get("candidates", "grid"), spacing_m=p.get("spacing_m"),
                            candidate_points=pts, method=p.get("method", "auto"), capacity=p.get("capacity"),
                            standard=state.standard_for(ws.spec.services[service], value))


def read_points(data: bytes) -> list[list[Any]]:
    """Return ``[lon, lat, name]`` rows of an uploaded CSV (columns lon, lat and optionally name).

    Raises
    ------
    ValueError
        If the file is not a CSV with ``lon`` and ``lat`` columns.
    """
    df = pd.read_csv(io.BytesIO(data), encoding="utf-8-sig")
    df.columns = [str(c).strip().lower() for c in df.columns]
    missing = {"lon", "lat"} - set(df.columns)
    if missing:
        msg = f"The candidate CSV lacks column(s) {', '.join(sorted(missing))}; give lon and lat (WGS84 degrees)."
        raise ValueError(msg)
    names = df["name"].astype(str) if "name" in df.columns else pd.Series([f"P{i + 1}" for i in range(len(df))])
    return [[float(a), float(b), str(n)] for a, b, n in zip(df["lon"], df["lat"], names, strict=True)]


def suggestion_prefix(edit_dicts: list[dict[str, Any]]) -> str:
    """Return an id prefix ``SUGn`` used by no edit yet (ids of added suggested sites)."""
    n = 1
    while any(str(d["facility_id"]).startswith(f"SUG{n}-") for d in edit_dicts):
        n += 1
    return f"SUG{n}"


# --- saving and reading ------------------------------------------------------------------------
def user_folder(workspace_name: str) -> Path:
    """Return the folder of saved scenarios: ``<$GISAPP_USER_DIR or ~/.gisapp>/scenarios/<workspace>``."""
    root = os.environ.get(USER_DIR_ENV) or str(Path.home() / ".gisapp")
    return Path(root) / "scenarios" / workspace_name


def saved(folder: Path) -> dict[str, Path]:
    """Return the scenarios saved in ``folder``: name -> GeoPackage path (unreadable files skipped)."""
    out: dict[str, Path] = {}
    if not folder.is_dir():
        return out
    for p in sorted(folder.glob("*.gpkg")):
        if p.name.startswith("."):
            continue
        try:
            out[load_scenario(p).name] = p
        except ValueError:  # GisAppError: not a scenario file
            continue
    return out


def save(folder: Path, name: str, edit_dicts: list[dict[str, Any]], workspace: str) -> Path:
    """Save the edits as scenario ``name`` (atomic); return the file written."""
    return save_scenario(folder, Scenario(name=name, edits=[Edit(**d) for d in edit_dicts], workspace=workspace))


def load(p: Path) -> tuple[str, list[dict[str, Any]]]:
    """Return (name, edit dicts) of a saved scenario."""
    sc = load_scenario(p)
    return sc.name, [as_dict(e) for e in sc.edits]


# --- comparison --------------------------------------------------------------------------------
@st.cache_data(max_entries=16, show_spinner=False)
def compare(path: str, overrides_json: str, service: str, value: float | None, scenarios_json: str) -> pd.DataFrame:
    """Return :func:`gisapp.scenario.compare_scenarios` of ``{name: edit dicts}`` (JSON).

    With the service's own standard the engine function is used as is; with a changed
    standard (sidebar) the same table is built from the scenario services at that standard.
    """
    ws = state.load_ws(path, overrides_json)
    sc: dict[str, list[dict[str, Any]]] = json.loads(scenarios_json)
    if state.standard_for(ws.spec.services[service], value) is None:
        return compare_scenarios(ws, service, {n: [Edit(**d) for d in ds] for n, ds in sc.items()})
    base = scenario_districts(path, overrides_json, service, value, "[]")
    frames = {BASELINE: base[["covered", "covered_pct"]]}
    for n, ds in sc.items():
        frames[n] = scenario_districts(path, overrides_json, service, value, to_json(ds))[["covered", "covered_pct"]]
    out = pd.concat(frames, axis=1)
    out.index = pd.MultiIndex.from_frame(base[["district_id", "district_name"]])
    out[("", "population")] = base["population"].to_numpy()
    return out


def flat(table: pd.DataFrame) -> pd.DataFrame:
    """Return a comparison table with one header row (``scenario · measure``) and the districts as columns."""
    out = table.copy()
    pairs: list[tuple[str, str]] = [(str(c[0]), str(c[1])) for c in out.columns]
    out.columns = [m if not s else f"{s} · {m}" for s, m in pairs]
    out = out.reset_index()
    cols = ["district_id", "district_name", "population"]
    return out[cols + [c for c in out.columns if c not in cols]]


def xlsx(table: pd.DataFrame, scenarios: dict[str, list[dict[str, Any]]], *, service: str) -> bytes:
    """Return an XLSX workbook: the comparison (numbers as numbers) and every scenario's edits."""
    buf = io.BytesIO()
    with pd.ExcelWriter(buf, engine="openpyxl") as xw:
        flat(table).to_excel(xw, sheet_name="compare", index=False)
        rows = [{"scenario": n, "seq": k, **{f: d.get(f) for f in ("op", "facility_id", "name", "kind", "lon", "lat")},
                 "capacity": json.dumps(d.get("capacity") or {}, ensure_ascii=False)}
                for n, ds in scenarios.items() for k, d in enumerate(ds)]
        pd.DataFrame(rows, columns=["scenario", "seq", "op", "facility_id", "name", "kind", "lon", "lat",
                                    "capacity"]).to_excel(xw, sheet_name="edits", index=False)
        pd.DataFrame({"service": [service]}).to_excel(xw, sheet_name="about", index=False)
    return buf.getvalue()
