"""Planning page state: the scenario's edits (session state) and cached calls of the planning engine.

Session state holds the user's choices only: the current scenario's edits as a list of plain
dicts (:data:`EDITS`) and its name.  Everything else comes from the engine
(:mod:`gisapp.planning.scenario`, :mod:`gisapp.planning.suggest`, :mod:`gisapp.metrics.tables`)
through the cached loaders below, keyed by primitives (workspace path, uploads JSON, service,
standard value and the JSON of the edits).  :func:`scenario_service` extends the cached service
of the edit list without its last edit by one incremental update, so an edit costs one
:meth:`~gisapp.planning.scenario.IncrementalService.apply`, not a full recompute.
"""

from __future__ import annotations

import contextlib
import dataclasses
import getpass
import json
import os
import threading
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import folium
import pandas as pd
import streamlit as st

from gisapp import maps
from gisapp.i18n import t
from gisapp.metrics import tables
from gisapp.planning import suggest
from gisapp.planning.scenario import (
    Edit,
    IncrementalService,
    ScenarioStore,
    compare_scenarios,
)
from gisapp.ui import auth, memo, state

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
BASE_NAME = "plan_base_name"  #: name of the saved scenario the current edits started from
BASE_VERSION = "plan_base_version"  #: its version (the base of the next save)
DOWNLOAD = "plan_download"
UPLOAD = "plan_upload"
IMPORT = "plan_import"
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
SUG_MODEL = "sug_model"  #: one of gisapp.planning.models.MODELS
SUG_P = "sug_p"  #: new sites of p-median, p-center, mixed
SUG_CLOSE = "sug_close"  #: existing facilities to close (closures, mixed)
SUG_TARGET_LSCP = "sug_target_lscp"  #: target covered share of set covering, percent
SUG_TRAVEL = "sug_travel"  #: travel mode of the suggestion ("straight_line" | "terrain")
SUG_TIME_LIMIT = "sug_time_limit"  #: time limit of the solve, seconds
CMP_CHOICE = "cmp_choice"
CMP_LEFT = "cmp_left"
CMP_RIGHT = "cmp_right"
CMP_MAP_LEFT = "cmp_map_left"
CMP_MAP_RIGHT = "cmp_map_right"
CMP_DOWNLOAD = "cmp_download"

#: Environment variable naming the user's folder (default ``~/.gisapp``).
USER_DIR_ENV = "GISAPP_USER_DIR"



# --- edits ------------------------------------------------------------------------------------
def edits() -> list[dict[str, Any]]:
    """Return the current scenario's edits (plain dicts)."""
    return list(st.session_state.get(EDITS, []))


def to_json(edit_dicts: list[dict[str, Any]]) -> str:
    """Return the canonical JSON of a list of edit dicts (the cache key of a scenario)."""
    return json.dumps(edit_dicts, ensure_ascii=False, sort_keys=True)


def to_edits(edits_json: str) -> list[Edit]:
    """Return the :class:`~gisapp.planning.scenario.Edit` objects of an edit-list JSON."""
    return from_dicts(json.loads(edits_json or "[]"))


def from_dicts(edit_dicts: list[dict[str, Any]]) -> list[Edit]:
    """Return the :class:`~gisapp.planning.scenario.Edit` objects of a list of edit dicts."""
    return [Edit(**d) for d in edit_dicts]


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


def suggestion_prefix(edit_dicts: list[dict[str, Any]]) -> str:
    """Return an id prefix ``SUGn`` used by no edit yet (ids of added suggested sites)."""
    n = 1
    while any(str(d["facility_id"]).startswith(f"SUG{n}-") for d in edit_dicts):
        n += 1
    return f"SUG{n}"


# --- cached scenario services ------------------------------------------------------------------
@memo.shared("results")
def scenario_service(path: str, overrides_json: str, service: str, value: float | None,
                     edits_json: str = "[]") -> IncrementalService:
    """Return the service after the edits in ``edits_json`` (straight line; never mutate it).

    The edit list without its last edit is looked up (cached) and forked, then the last edit
    is applied incrementally, so ``last_update_s`` is the time of that one edit.

    Raises
    ------
    gisapp._errors.GisAppError
        If an edit is invalid (unknown facility, reused id, missing position).
    """
    ds = json.loads(edits_json or "[]")
    if not ds:
        ws = state.load_ws(path, overrides_json)
        return IncrementalService(ws, service, standard=state.standard_for(ws.spec.services[service], value),
                                  travel="straight_line")  # as every figure of the planning page
    inc = scenario_service(path, overrides_json, service, value, to_json(ds[:-1])).fork()
    inc.apply(Edit(**ds[-1]))
    return inc


@st.cache_data(max_entries=32, show_spinner=False)
def scenario_summary(path: str, overrides_json: str, service: str, value: float | None,
                     edits_json: str = "[]") -> dict[str, float]:
    """Return :func:`gisapp.metrics.tables.summary` of the scenario, plus its update time (``update_s``)."""
    inc = scenario_service(path, overrides_json, service, value, edits_json)
    out = tables.summary(inc.workspace(), inc.result())
    out["update_s"] = float(inc.last_update_s)
    return out


@st.cache_data(max_entries=32, show_spinner=False)
def scenario_districts(path: str, overrides_json: str, service: str, value: float | None,
                       edits_json: str = "[]") -> pd.DataFrame:
    """Return :func:`gisapp.metrics.tables.coverage_by_district` of the scenario."""
    inc = scenario_service(path, overrides_json, service, value, edits_json)
    return tables.coverage_by_district(inc.workspace(), inc.result())


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
                            tooltip=f"{t('plan.op.' + d['op'], lang)}: {d.get('name') or d['facility_id']}").add_to(m)
    return state.local_assets(m)


# --- suggested sites ---------------------------------------------------------------------------
#: suggestions kept (the most recent first out): a solve may take long, so it is not repeated on a rerun
SUGGESTIONS_KEPT = 8


@st.cache_resource(show_spinner=False)
def _suggestions() -> tuple[OrderedDict[tuple[Any, ...], suggest.Suggestion], threading.Lock]:
    """Return the suggestions already computed (shared by the sessions), with the lock that guards them."""
    return OrderedDict(), threading.Lock()


def suggestion(path: str, overrides_json: str, service: str, value: float | None, edits_json: str,
               params_json: str, lang: str = "zh", *,
               progress: Callable[[float, str], None] | None = None) -> suggest.Suggestion:
    """Return :func:`gisapp.planning.suggest.suggest` on the scenario's facilities (read-only result).

    ``params_json`` holds ``model`` (default ``"mclp"``), ``k`` or ``target_share``, ``k_close``,
    ``candidates``, ``spacing_m``, ``method``, ``capacity``, ``travel`` (default straight line),
    ``time_limit_s`` and, for ``candidates="points"``, ``points`` (rows ``[lon, lat, name]`` of
    :func:`gisapp.planning.suggest.read_candidate_points`).  The sites are named in ``lang`` by the
    place they are in.  A suggestion already computed with the same arguments is returned at once
    (``progress`` is then not called); else ``progress(fraction, stage)`` follows the solve.  Unlike
    ``st.cache_resource`` this lets the progress callback draw on the page while it runs.
    """
    key = (path, overrides_json, service, value, edits_json, params_json, lang)
    store, lock = _suggestions()
    with lock:
        if key in store:
            store.move_to_end(key)
            return store[key]
    ws = state.load_ws(path, overrides_json)
    if json.loads(edits_json or "[]"):
        ws = scenario_service(path, overrides_json, service, value, edits_json).workspace()
    p = json.loads(params_json)
    pts = pd.DataFrame(p["points"], columns=["lon", "lat", "name"]) if p.get("points") else None
    sug = suggest.suggest(ws, service, k=p.get("k"), target_share=p.get("target_share"),
                          candidates=p.get("candidates", "grid"), spacing_m=p.get("spacing_m"),
                          candidate_points=pts, method=p.get("method", "auto"), capacity=p.get("capacity"),
                          standard=state.standard_for(ws.spec.services[service], value), lang=lang,
                          model=p.get("model", "mclp"), k_close=p.get("k_close"),
                          travel=p.get("travel", "straight_line"), time_limit_s=p.get("time_limit_s"),
                          progress=progress)
    with lock:
        store[key] = sug
        while len(store) > SUGGESTIONS_KEPT:
            store.popitem(last=False)
    return sug


# --- saving and reading ------------------------------------------------------------------------
def user_folder(workspace_name: str) -> Path:
    """Return the folder of saved scenarios: ``<$GISAPP_USER_DIR or ~/.gisapp>/scenarios/<workspace>``."""
    root = os.environ.get(USER_DIR_ENV) or str(Path.home() / ".gisapp")
    return Path(root) / "scenarios" / workspace_name


#: environment variable naming a PostgreSQL database for the scenarios of every workspace (``postgresql://...``)
SCENARIO_DB_ENV = "GISAPP_SCENARIO_DB"


def store(folder: Path) -> ScenarioStore:
    """Return the scenario store: the database of ``$GISAPP_SCENARIO_DB`` when set, else that of ``folder``.

    Either way every save is a version with its author and time (:class:`ScenarioStore`).
    """
    url = os.environ.get(SCENARIO_DB_ENV, "").strip()
    return ScenarioStore(url if url else folder)


@st.cache_data(max_entries=16, show_spinner=False)
def scenario_download(folder: str, name: str, version: int) -> bytes:
    """Return version ``version`` of scenario ``name`` as a GeoPackage file (made once per version, not per rerun)."""
    return store(Path(folder)).export_bytes(name, version)


def author(lang: str) -> str:
    """Return who saves: the signed-in user if any, else the server's system user name, else "anonymous"."""
    signed_in = auth.display_name()  # the users file's sign-in (gisapp.ui.auth)
    if signed_in:
        return signed_in
    with contextlib.suppress(Exception):  # st.user needs sign-in to be configured
        if st.user.is_logged_in:
            return str(st.user.get("email") or st.user.get("name") or "")
    with contextlib.suppress(Exception):  # getpass fails without a user name in the environment
        return getpass.getuser()
    return t("plan.anonymous", lang)


def save_as(folder: Path, name: str, edit_dicts: list[dict[str, Any]], workspace: str, *, author_: str,
            base_version: int | None) -> int:
    """Save the edits as a new version of scenario ``name``; return its version.

    Raises
    ------
    gisapp._errors.GisAppError
        ``scenario_conflict`` when someone saved a newer version than ``base_version``.
    """
    return store(folder).save_version(name, from_dicts(edit_dicts), workspace=workspace, author=author_,
                              base_version=base_version)


def load(folder: Path, name: str, version: int | None = None) -> tuple[str, list[dict[str, Any]]]:
    """Return (name, edit dicts) of a saved scenario (None: its latest version)."""
    sc = store(folder).load(name, version)
    return sc.name, [as_dict(e) for e in sc.edits]


# --- comparison --------------------------------------------------------------------------------
@st.cache_data(max_entries=16, show_spinner=False)
def comparison(path: str, overrides_json: str, service: str, value: float | None, scenarios_json: str) -> pd.DataFrame:
    """Return :func:`gisapp.planning.scenario.compare_scenarios` of ``{name: edit dicts}`` (JSON).

    At the sidebar's standard and by straight line, like every figure of the planning page.
    """
    ws = state.load_ws(path, overrides_json)
    sc: dict[str, list[dict[str, Any]]] = json.loads(scenarios_json)
    return compare_scenarios(ws, service, {n: from_dicts(ds) for n, ds in sc.items()},
                             standard=state.standard_for(ws.spec.services[service], value), travel="straight_line")
