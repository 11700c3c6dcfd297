"""Planning page: edit a scenario (add, close, move, capacity), suggest new sites, compare scenarios."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import altair as alt
import folium
import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from gisapp._errors import GisAppError
from gisapp.i18n import fmt_number, fmt_pct, has_text, t
from gisapp.metrics.service import TRAVEL_MODES
from gisapp.planning import suggest
from gisapp.planning.models import MODELS
from gisapp.planning.scenario import (
    BASELINE,
    ScenarioVersion,
    before_after,
    capacity_text,
    comparison_workbook,
    flat_comparison,
)
from gisapp.travel import terrain
from gisapp.ui import auth, frame, state, tables
from gisapp.ui import planning_state as ps
from gisapp.workspace import Workspace

MAP_HEIGHT = 460


def _text(exc: Exception, lang: str) -> str:
    """Return the message of an engine error in ``lang`` (an error without a code: its English text)."""
    return exc.text(lang) if isinstance(exc, GisAppError) else str(exc)


def _key(ch: state.Choice) -> tuple[str, str, str, float | None]:
    """Return the scenario loaders' leading arguments (always straight line)."""
    return (ch.path, ch.overrides, ch.service, ch.value)


# --- callbacks: they change the edit list before the page is drawn ------------------------------
def _push(new: list[dict[str, Any]]) -> bool:
    """Make ``new`` the scenario's edit list if every edit applies; else keep the old one."""
    ch = state.choice()
    try:
        ps.scenario_service(*_key(ch), ps.to_json(new))
    except ValueError as exc:  # GisAppError: unknown facility, reused id, ...
        st.session_state[ps.ERROR] = t("plan.edit_failed", ch.lang, error=_text(exc, ch.lang))
        return False
    st.session_state[ps.EDITS] = new
    return True


def _may(action: str) -> bool:
    """Return whether the signed-in role may ``action``; if not, say so (checked in every action)."""
    if auth.can(action):
        return True
    st.session_state[ps.ERROR] = t("auth.refused", state.choice().lang)
    return False


def _on_add(ids: list[str], cap_field: str | None) -> None:
    if not _may("edit"):
        return
    ss = st.session_state
    cur = ps.edits()
    fid = ps.new_id(ids, cur)
    cap = {cap_field: float(ss.get(ps.CAPACITY) or 0.0)} if cap_field else {}
    _push([*cur, {"op": "add", "facility_id": fid, "lon": float(ss[ps.LON]), "lat": float(ss[ps.LAT]),
                  "name": str(ss.get(ps.FAC_NAME) or "").strip() or fid, "kind": str(ss[ps.KIND]), "capacity": cap}])


def _on_edit(op: str, cap_field: str | None) -> None:
    if not _may("edit"):
        return
    ss = st.session_state
    fid = ss.get(ps.FACILITY)
    if not fid:
        return
    e: dict[str, Any] = {"op": op, "facility_id": str(fid), "lon": None, "lat": None, "name": "", "kind": "",
                         "capacity": {}}
    if op == "move":
        e["lon"], e["lat"] = float(ss[ps.LON]), float(ss[ps.LAT])
    if op == "capacity" and cap_field:
        e["capacity"] = {cap_field: float(ss.get(f"{ps.NEW_CAPACITY}_{fid}") or 0.0)}
    _push([*ps.edits(), e])


def _on_undo() -> None:
    st.session_state[ps.EDITS] = ps.edits()[:-1]


def _on_clear() -> None:
    st.session_state[ps.EDITS] = []


def _on_load(folder: str, lang: str) -> None:
    ss = st.session_state
    name = ss.get(ps.LOAD_CHOICE)
    if not name:
        return
    try:
        versions = ps.store(Path(folder)).history(str(name))
        nm, ds = ps.load(Path(folder), str(name))
    except ValueError as exc:  # GisAppError: not a scenario file, no such scenario
        ss[ps.ERROR] = _text(exc, lang)
        return
    if _push(ds):
        ss[ps.NAME] = nm
        ss[ps.BASE_NAME] = nm
        ss[ps.BASE_VERSION] = versions[-1].version if versions else 0
        st.toast(t("plan.loaded", lang, name=nm, n=len(ds)))


def _on_add_suggested(new: list[dict[str, Any]], lang: str) -> None:
    if _may("edit") and _push([*ps.edits(), *new]):
        st.session_state[ps.ERROR] = ""
        st.toast(t("sug.added", lang, n=len(new)))


# --- the page ---------------------------------------------------------------------------------------
def render() -> None:
    """Draw the page."""
    ch = state.choice()
    lang = ch.lang
    ws = state.load_ws(ch.path, ch.overrides)
    svc = ws.spec.services[ch.service]
    std = state.standard_for(svc, ch.value) or svc.standard
    ss = st.session_state
    ss.setdefault(ps.NAME, t("plan.default_name", lang))
    ss.setdefault(ps.EDITS, [])
    st.title(f"{t('page.planning', lang)} · {svc.title(lang)}")
    st.caption(f"{t('word.standard', lang)}: {std.label(lang)} · {t('plan.explain', lang)}")
    if ch.travel != "straight_line":
        st.info(t("plan.terrain_note", lang), icon=":material/info:")
    if ss.get(ps.ERROR):
        st.error(ss[ps.ERROR])
        ss[ps.ERROR] = ""
    tab_s, tab_g, tab_c = st.tabs([t("plan.tab.scenario", lang), t("plan.tab.suggest", lang),
                                   t("plan.tab.compare", lang)])
    with tab_s:
        _scenario_tab(ws, ch)
    with tab_g:
        _suggest_tab(ws, ch)
    with tab_c:
        _compare_tab(ws, ch)
    frame.banner(ws, lang)


def _scenario_tab(ws: Workspace, ch: state.Choice) -> None:
    lang = ch.lang
    cur = ps.edits()
    cur_json = ps.to_json(cur)
    with st.spinner(t("msg.computing", lang)):
        base = ps.scenario_summary(*_key(ch), "[]")
        now = ps.scenario_summary(*_key(ch), cur_json)
    st.text_input(t("plan.name", lang), key=ps.NAME)
    c1, c2, c3, c4 = st.columns(4)
    vs = t("plan.delta_baseline", lang)
    d_cov = now["covered"] - base["covered"]
    c1.metric(t("word.covered", lang), fmt_number(now["covered"], lang),
              delta=f"{d_cov:+,.0f} {vs}" if cur else None, border=True)
    c2.metric(t("word.uncovered", lang), fmt_number(now["uncovered"], lang),
              delta=f"{now['uncovered'] - base['uncovered']:+,.0f} {vs}" if cur else None, delta_color="inverse",
              border=True)
    c3.metric(t("word.covered_pct", lang), fmt_pct(now["covered_pct"], lang),
              delta=t("plan.delta_pp", lang, d=f"{now['covered_pct'] - base['covered_pct']:+.2f}") if cur else None, border=True)
    c4.metric(t("word.facilities", lang), fmt_number(now["facilities"], lang),
              delta=f"{now['facilities'] - base['facilities']:+.0f}" if cur else None, border=True)
    if cur:
        prev = ps.scenario_summary(*_key(ch), ps.to_json(cur[:-1]))
        last = cur[-1]
        st.caption(t("plan.last_edit", lang, edit=f"{t('plan.op.' + last['op'], lang)} {last['facility_id']}",
                     delta=f"{now['covered'] - prev['covered']:+,.0f}", seconds=f"{now['update_s']:.3f}"))
    else:
        st.caption(t("plan.no_edits", lang))

    left, right = st.columns([2, 3])
    with right:  # drawn first: a click fills the coordinates of the inputs on the left
        with st.spinner(t("msg.drawing_map", lang)):
            m = ps.scenario_map(*_key(ch), cur_json, lang=lang)
        out = st_folium(copy.deepcopy(m), key=ps.MAP, height=MAP_HEIGHT, use_container_width=True,
                        returned_objects=["last_clicked"])
        click = (out or {}).get("last_clicked")
        if click and click != st.session_state.get(ps.LAST_CLICK):
            st.session_state[ps.LAST_CLICK] = click
            st.session_state[ps.LON] = round(float(click["lng"]), 6)
            st.session_state[ps.LAT] = round(float(click["lat"]), 6)
        st.caption(t("plan.click_hint", lang))
    with left:
        if auth.can("edit"):
            _edit_forms(ws, ch)
        else:  # a viewer sees the scenarios, not the controls that change them
            st.info(t("auth.viewer_only", lang), icon=":material/visibility:")
    st.subheader(t("plan.edits", lang))
    if cur:
        rows = [{"op": t(f"plan.op.{d['op']}", lang), "facility_id": d["facility_id"], "name": d.get("name", ""),
                 "kind": tables.kind_label(d.get("kind", ""), lang) if d.get("kind") else "",
                 "lon": d.get("lon"), "lat": d.get("lat"),
                 "capacity": capacity_text(d.get("capacity") or {}, lang)}
                for d in cur]
        tables.show(pd.DataFrame(rows), {"op": ("plan.op", None), "facility_id": ("plan.id", None),
                                         "name": ("plan.fac_name", None), "kind": ("plan.kind", None),
                                         "lon": ("plan.lon", tables.num(lang, 5)),
                                         "lat": ("plan.lat", tables.num(lang, 5)),
                                         "capacity": ("word.capacity", None)}, lang, key="plan_edits_table")
        b1, b2, _ = st.columns([1, 1, 4])
        b1.button(t("plan.undo", lang), key=ps.UNDO, on_click=_on_undo, icon=":material/undo:")
        b2.button(t("plan.clear", lang), key=ps.CLEAR, on_click=_on_clear, icon=":material/delete:")
    st.subheader(t("plan.by_district", lang))
    ba = before_after(ps.scenario_districts(*_key(ch), "[]"), ps.scenario_districts(*_key(ch), cur_json))
    b, a = t("plan.before", lang), t("plan.after", lang)
    cov, pct = t("word.covered", lang), t("word.covered_pct", lang)
    shown = ba.rename(columns={"district_name": t("word.district", lang), "population": t("word.population", lang),
                               "covered_before": f"{cov} ({b})", "covered_after": f"{cov} ({a})",
                               "covered_delta": f"{cov} ({t('plan.delta', lang)})",
                               "covered_pct_before": f"{pct} ({b})", "covered_pct_after": f"{pct} ({a})"})
    shown = shown.drop(columns=["district_id"])
    num, pc = tables.num(lang), tables.pct(lang)
    fmts: dict[Any, Any] = {c: (pc if c.startswith(pct) else num) for c in shown.columns[1:]}
    fmts[f"{cov} ({t('plan.delta', lang)})"] = lambda v: f"{v:+,.0f}"
    st.dataframe(shown.style.format(fmts), hide_index=True, key="plan_district_table")
    _save_box(ws, ch)


def _edit_forms(ws: Workspace, ch: state.Choice) -> None:
    lang = ch.lang
    svc = ws.spec.services[ch.service]
    ss = st.session_state
    inc = ps.scenario_service(*_key(ch), ps.to_json(ps.edits()))
    fac = inc.facilities
    if ps.LON not in ss:  # start at the centre of the facilities
        ss[ps.LON] = round(float(fac["lon"].mean()), 6)
        ss[ps.LAT] = round(float(fac["lat"].mean()), 6)
    cap_field = svc.capacity or None
    st.markdown(f"**{t('plan.add_title', lang)}**")
    a, b = st.columns(2)
    a.number_input(t("plan.lon", lang), min_value=-180.0, max_value=180.0, step=0.001, format="%.6f", key=ps.LON)
    b.number_input(t("plan.lat", lang), min_value=-90.0, max_value=90.0, step=0.001, format="%.6f", key=ps.LAT)
    if ss.get(ps.KIND) not in svc.kinds:
        ss[ps.KIND] = svc.kinds[0]
    a, b = st.columns(2)
    a.selectbox(t("plan.kind", lang), list(svc.kinds), key=ps.KIND, placeholder=frame.choose_one(lang), format_func=lambda k: tables.kind_label(k, lang))
    b.text_input(t("plan.fac_name", lang), key=ps.FAC_NAME)
    if cap_field:
        st.number_input(t("plan.capacity", lang, field=t("cap." + cap_field, lang)), min_value=0.0, value=0.0,
                        step=1.0, key=ps.CAPACITY)
    ids = [str(i) for i in ws.facilities["facility_id"]]
    st.button(t("plan.add", lang), key=ps.ADD, type="primary", icon=":material/add_location:",
              on_click=_on_add, args=(ids, cap_field))

    st.markdown(f"**{t('plan.edit_title', lang)}**")
    open_ = fac[fac["kind"].isin(svc.kinds) & ~fac["closed"].to_numpy(bool)]
    labels = {str(r.facility_id): f"{r.name} ({r.facility_id})" for r in open_.itertuples(index=False)}
    if ss.get(ps.FACILITY) not in labels:
        ss.pop(ps.FACILITY, None)
    fid = st.selectbox(t("plan.facility", lang), list(labels), key=ps.FACILITY, placeholder=frame.choose_one(lang), format_func=lambda i: labels.get(i, i))
    a, b = st.columns(2)
    a.button(t("plan.close", lang), key=ps.CLOSE, on_click=_on_edit, args=("close", cap_field),
             icon=":material/block:", disabled=fid is None)
    b.button(t("plan.move", lang), key=ps.MOVE, on_click=_on_edit, args=("move", cap_field),
             icon=":material/open_with:", disabled=fid is None)
    if cap_field and fid is not None:
        now = float(open_.loc[open_["facility_id"] == fid, cap_field].iloc[0])
        a, b = st.columns(2)
        a.number_input(t("plan.new_capacity", lang, field=t("cap." + cap_field, lang)), min_value=0.0, value=now,
                       step=1.0, key=f"{ps.NEW_CAPACITY}_{fid}")
        b.button(t("plan.set_capacity", lang), key=ps.SET_CAPACITY, on_click=_on_edit, args=("capacity", cap_field),
                 icon=":material/tune:")


def _version_label(v: ScenarioVersion, lang: str) -> str:
    if v.version == 0:
        return t("plan.legacy_label", lang, name=v.name)
    return t("plan.version_label", lang, name=v.name, version=v.version, author=v.author or t("plan.anonymous", lang),
             time=v.saved_at.replace("T", " ").removesuffix("+00:00") + " UTC")


def _save_box(ws: Workspace, ch: state.Choice) -> None:
    lang = ch.lang
    ss = st.session_state
    folder = ps.user_folder(ws.spec.name)
    who = ps.author(lang)
    st.subheader(t("plan.save_title", lang))
    st.caption(t("plan.author_note", lang, author=who))
    a, b = st.columns(2)
    with a:
        if auth.can("save") and st.button(t("plan.save", lang), key=ps.SAVE, icon=":material/save:"):
            name = str(ss.get(ps.NAME) or "").strip()
            # the version the edits started from: the one opened or last saved; 0 for a new name
            base = int(ss.get(ps.BASE_VERSION) or 0) if ss.get(ps.BASE_NAME) == name else 0
            try:
                v = ps.save_as(folder, name, ps.edits(), ws.spec.name, author_=who, base_version=base)
                ss[ps.BASE_NAME], ss[ps.BASE_VERSION] = name, v
                st.success(t("plan.saved_version", lang, name=name, version=v, author=who))
            except (OSError, ValueError) as exc:  # the edits in session state are left as they are
                st.error(t("plan.save_failed", lang, error=_text(exc, lang)))
                st.info(t("plan.edits_kept", lang))
    with b:
        try:
            found = {v.name: v for v in ps.store(folder).list()}
        except (OSError, ValueError) as exc:
            st.error(_text(exc, lang))
            found = {}
        if found:
            chosen = st.selectbox(t("plan.saved_list", lang), list(found), key=ps.LOAD_CHOICE,
                                  placeholder=frame.choose_one(lang),
                                  format_func=lambda n: _version_label(found[n], lang) if n in found else n)
            st.button(t("plan.load", lang), key=ps.LOAD, icon=":material/folder_open:", on_click=_on_load,
                      args=(str(folder), lang))
            if chosen in found:
                try:
                    data = ps.scenario_download(str(folder), str(chosen), found[chosen].version)
                except (OSError, ValueError) as exc:
                    st.error(_text(exc, lang))
                else:
                    st.download_button(t("plan.download_scenario", lang), data, file_name=f"{chosen}.gpkg",
                                       key=ps.DOWNLOAD, on_click="ignore", mime="application/geopackage+sqlite3",
                                       icon=":material/download:")
        else:
            st.caption(t("plan.none_saved_yet", lang))
        if not auth.can("save"):
            return
        upload = frame.file_uploader(t("plan.upload_scenario", lang), ["gpkg"], key=ps.UPLOAD, lang_=lang)
        if upload is not None and st.button(t("plan.import", lang), key=ps.IMPORT, icon=":material/upload:"):
            try:
                nm, v = ps.store(folder).import_bytes(upload.getvalue(), file=upload.name, author=who)
                st.success(t("plan.imported", lang, name=nm, version=v))
            except (OSError, ValueError) as exc:  # GisAppError: not a scenario file; the store is unchanged
                st.error(t("plan.import_failed", lang, error=_text(exc, lang)))


def _suggest_params(ws: Workspace, ch: state.Choice) -> str | None:
    """Draw the suggestion's inputs (model, its parameters, candidates, travel, solver); return the run's JSON on a click."""
    lang = ch.lang
    ss = st.session_state
    model = st.selectbox(t("sug.model", lang), list(MODELS), key=ps.SUG_MODEL, placeholder=frame.choose_one(lang),
                         format_func=lambda m: t(f"sug.model.{m}", lang)) or "mclp"
    st.caption(t(f"sug.model_help.{model}", lang))
    c1, c2, c3 = st.columns(3)
    by = "k"
    with c1:
        if model == "mclp":
            by = st.radio(t("sug.by", lang), ["k", "target"], key=ps.SUG_BY, horizontal=True,
                          format_func=lambda v: t(f"sug.by.{v}", lang)) or "k"
            if by == "k":
                st.number_input(t("sug.new_count", lang), min_value=1, max_value=200, value=5, step=1, key=ps.SUG_K)
            else:
                st.number_input(t("sug.target", lang), min_value=1.0, max_value=100.0, value=90.0, step=1.0,
                                key=ps.SUG_TARGET)
        elif model == "lscp":
            st.number_input(t("sug.target_lscp", lang), min_value=1.0, max_value=100.0, value=100.0, step=1.0,
                            key=ps.SUG_TARGET_LSCP)
        if model in ("p_median", "p_center", "mixed"):
            st.number_input(t("sug.p", lang), min_value=0 if model == "mixed" else 1, max_value=200, value=3, step=1,
                            key=ps.SUG_P)
        if model in ("closures", "mixed"):
            st.number_input(t("sug.k_close", lang), min_value=1, max_value=200, value=1, step=1, key=ps.SUG_CLOSE)
    with c2:
        kinds = ["grid", "settlements", "points"] if suggest.has_settlements(ws) else ["grid", "points"]
        cand = st.selectbox(t("sug.candidates", lang), kinds, key=ps.SUG_CANDIDATES, placeholder=frame.choose_one(lang),
                            format_func=lambda v: t(f"sug.cand.{v}", lang))
        if cand == "grid":
            st.number_input(t("sug.spacing", lang), min_value=0.0, max_value=20_000.0, value=0.0, step=100.0,
                            key=ps.SUG_SPACING)
        upload = (frame.file_uploader(t("sug.upload", lang), ["csv"], key=ps.SUG_UPLOAD, lang_=lang)
                  if cand == "points" else None)
        if terrain.available(ws):
            if ss.get(ps.SUG_TRAVEL) not in TRAVEL_MODES:
                ss[ps.SUG_TRAVEL] = ch.travel if ch.travel in TRAVEL_MODES else "straight_line"
            st.selectbox(t("sug.travel", lang), list(TRAVEL_MODES), key=ps.SUG_TRAVEL,
                         placeholder=frame.choose_one(lang), format_func=lambda v: t(f"travel.{v}", lang))
        else:
            ss[ps.SUG_TRAVEL] = "straight_line"
            st.caption(f"{t('sug.travel', lang)}: {t('travel.straight_line', lang)} · "
                       f"{t('sug.travel_only_straight', lang)}")
    with c3:
        st.selectbox(t("sug.method", lang), ["auto", "exact", "greedy"], key=ps.SUG_METHOD,
                     placeholder=frame.choose_one(lang), format_func=lambda v: t(f"sug.method.{v}", lang))
        if model in ("mclp", "lscp", "p_median"):
            st.number_input(t("sug.capacity", lang), min_value=0.0, value=0.0, step=100.0, key=ps.SUG_CAPACITY)
        st.number_input(t("sug.time_limit", lang), min_value=1.0, max_value=3600.0, value=30.0, step=5.0,
                        key=ps.SUG_TIME_LIMIT)
    if not st.button(t("sug.run", lang), key=ps.SUG_RUN, type="primary", icon=":material/travel_explore:"):
        return None
    p: dict[str, Any] = {"candidates": cand, "method": ss.get(ps.SUG_METHOD, "auto"), "model": model,
                         "travel": ss.get(ps.SUG_TRAVEL, "straight_line"),
                         "time_limit_s": float(ss.get(ps.SUG_TIME_LIMIT) or 30.0)}
    if model == "mclp":
        if by == "k":
            p["k"] = int(ss.get(ps.SUG_K, 5))
        else:
            p["target_share"] = float(ss.get(ps.SUG_TARGET, 90.0))
    elif model == "lscp":
        p["target_share"] = float(ss.get(ps.SUG_TARGET_LSCP, 100.0))
    if model in ("p_median", "p_center", "mixed"):
        p["k"] = int(ss.get(ps.SUG_P, 3))
    if model in ("closures", "mixed"):
        p["k_close"] = int(ss.get(ps.SUG_CLOSE, 1))
    if cand == "grid" and float(ss.get(ps.SUG_SPACING) or 0.0) > 0:
        p["spacing_m"] = float(ss[ps.SUG_SPACING])
    if model in ("mclp", "lscp", "p_median") and float(ss.get(ps.SUG_CAPACITY) or 0.0) > 0:
        p["capacity"] = float(ss[ps.SUG_CAPACITY])
    if cand == "points":
        if upload is None:
            st.warning(t("sug.need_upload", lang))
            return None
        try:
            p["points"] = suggest.read_candidate_points(upload.getvalue()).to_numpy().tolist()
        except ValueError as exc:  # GisAppError: not a CSV, no lon / lat
            st.error(t("sug.failed", lang, error=_text(exc, lang)))
            return None
    return json.dumps(p, ensure_ascii=False, sort_keys=True)


def _stage(stage: str, lang: str) -> str:
    """Return a solve stage ("build", "solve", ...) in ``lang``."""
    key = f"sug.stage.{stage}"
    return t(key, lang) if has_text(key, lang) else stage


def _suggest_tab(ws: Workspace, ch: state.Choice) -> None:
    lang = ch.lang
    svc = ws.spec.services[ch.service]
    ss = st.session_state
    st.caption(t("sug.explain", lang))
    run = _suggest_params(ws, ch)
    if run is not None:
        ss[ps.SUG_PARAMS] = run
    params = ss.get(ps.SUG_PARAMS)
    if not params:
        return
    cur_json = ps.to_json(ps.edits())
    bar = st.progress(0.0, text=t("sug.solving", lang))

    def report(fraction: float, stage: str) -> None:
        bar.progress(min(max(float(fraction), 0.0), 1.0), text=t("sug.progress", lang, stage=_stage(stage, lang)))

    try:
        sug = ps.suggestion(*_key(ch), cur_json, str(params), lang, progress=report)
    except ValueError as exc:  # GisAppError, WorkspaceError
        bar.empty()
        st.error(t("sug.failed", lang, error=_text(exc, lang)))
        return
    bar.empty()
    sites = sug.sites
    lines = suggest.summary_lines(sug, lang)
    if sug.model == "mclp":
        before = 100.0 * sug.baseline_covered / sug.total if sug.total > 0 else float("nan")
        after = float(sites["share_covered"].iloc[-1]) if len(sites) else before
        st.success(t("sug.summary", lang, n=len(sites), added=fmt_number(float(sites["people_added"].sum()), lang),
                     before=fmt_pct(before, lang), after=fmt_pct(after, lang),
                     method=suggest.method_text(sug.method, lang),
                     optimal=t("sug.optimal", lang) if sug.optimal else "", seconds=f"{sug.solve_time_s:.2f}"))
    else:
        st.success("  \n".join(lines[1:-1]))
    st.caption(f"{lines[0]} · {lines[-1]}")
    if sug.naming_note(lang):
        st.caption(sug.naming_note(lang))
    left, right = st.columns([3, 2])
    with left:
        if len(sites) or sug.model != "closures":
            cols: dict[str, Any] = {"rank": ("sug.rank", None), "name": ("sug.site", None),
                                    "district_name": ("word.district", None),
                                    "people_added": ("sug.people_added", tables.num(lang)),
                                    "people_covered": ("sug.people_covered", tables.num(lang)),
                                    "share_covered": ("sug.share", tables.pct(lang))}
            if sug.model != "mclp":
                cols["people_served"] = ("sug.people_served", tables.num(lang))
            cols |= {"lon": ("plan.lon", tables.num(lang, 5)), "lat": ("plan.lat", tables.num(lang, 5))}
            tables.show(sites, cols, lang, key="sug_sites_table")
        if sug.closed is not None and len(sug.closed):
            st.subheader(t("sug.closed_title", lang))
            tables.show(sug.closed, {"facility_id": ("plan.id", None), "name": ("plan.fac_name", None),
                                     "district_name": ("word.district", None),
                                     "lon": ("plan.lon", tables.num(lang, 5)), "lat": ("plan.lat", tables.num(lang, 5))},
                        lang, key="sug_closed_table")
        kind = str(ss.get(ps.KIND)) if ss.get(ps.KIND) in svc.kinds else svc.kinds[0]
        cap = {svc.capacity: float(ss.get(ps.CAPACITY) or 0.0)} if svc.capacity else None
        new = [ps.as_dict(e) for e in suggest.to_edits(sug, kind, prefix=ps.suggestion_prefix(ps.edits()),
                                                       capacity=cap, name_prefix=t("sug.site_name", lang))]
        if auth.can("edit"):
            st.button(t("sug.add_all", lang), key=ps.SUG_ADD, on_click=_on_add_suggested, args=(new, lang),
                      icon=":material/add_location_alt:", disabled=not new)
        else:
            st.caption(t("sug.viewer_note", lang))
        if len(sug.curve) > 1:
            st.subheader(t("sug.curve", lang))
            st.altair_chart(_curve_chart(sug.curve, lang), width="stretch")
    with right:
        with st.spinner(t("msg.drawing_map", lang)):
            m = copy.deepcopy(ps.scenario_map(*_key(ch), cur_json, lang=lang))
        for rank, name, lon, lat, added in zip(sites["rank"].to_numpy(int), sites["name"].astype(str),
                                               sites["lon"].to_numpy(float), sites["lat"].to_numpy(float),
                                               sites["people_added"].to_numpy(float), strict=True):
            folium.Marker([lat, lon], tooltip=f"#{rank} {name}: +{added:,.0f}",
                          icon=folium.DivIcon(html=f"<div class='gisapp-suggested' style='background:#d81b60;color:#fff;"
                                                   f"border-radius:10px;width:20px;height:20px;text-align:center;"
                                                   f"font:bold 11px/20px sans-serif'>{rank}</div>",
                                              icon_size=(20, 20), icon_anchor=(10, 10))).add_to(m)
        closed = sug.closed if sug.closed is not None else pd.DataFrame(columns=["name", "lon", "lat"])
        for name, lon, lat in zip(closed["name"].astype(str), closed["lon"].to_numpy(float),
                                  closed["lat"].to_numpy(float), strict=True):
            folium.Marker([lat, lon], tooltip=f"{t('plan.op.close', lang)}: {name}",
                          icon=folium.DivIcon(html="<div class='gisapp-closed' style='background:#424242;color:#fff;"
                                                   "border-radius:10px;width:20px;height:20px;text-align:center;"
                                                   "font:bold 12px/20px sans-serif'>×</div>",
                                              icon_size=(20, 20), icon_anchor=(10, 10))).add_to(m)
        lons = [*sites["lon"].to_numpy(float), *closed["lon"].to_numpy(float)]
        lats = [*sites["lat"].to_numpy(float), *closed["lat"].to_numpy(float)]
        if lons:
            m.fit_bounds([[min(lats), min(lons)], [max(lats), max(lons)]], padding=(30, 30))
        frame.show_map(m, key=ps.SUG_MAP, height=MAP_HEIGHT)


def _curve_chart(curve: pd.DataFrame, lang: str) -> alt.Chart:
    d = curve.rename(columns={"share_pct": "share"})
    chart: alt.Chart = alt.Chart(d).mark_line(point=True).encode(
        x=alt.X("k:Q", title=t("sug.new_count", lang), axis=alt.Axis(tickMinStep=1)),
        y=alt.Y("share:Q", title=f"{t('word.covered_pct', lang)} (%)", scale=alt.Scale(zero=False)),
        tooltip=[alt.Tooltip("k:Q", title=t("sug.new_count", lang)),
                 alt.Tooltip("people_covered:Q", title=t("word.covered", lang), format=",.0f"),
                 alt.Tooltip("share:Q", title=t("word.covered_pct", lang), format=".2f")],
    ).properties(height=260)
    return chart


def _compare_tab(ws: Workspace, ch: state.Choice) -> None:
    lang = ch.lang
    folder = ps.user_folder(ws.spec.name)
    try:
        found = [v.name for v in ps.store(folder).list()]
    except (OSError, ValueError) as exc:
        st.error(_text(exc, lang))
        found = []
    # the current (unsaved) edits are an option of their own, named apart from any saved scenario
    current = f"{st.session_state.get(ps.NAME) or ''} ({t('plan.current', lang)})".strip()
    options = ([current] if ps.edits() else []) + list(found)
    if not options:
        st.info(t("plan.none_saved_yet", lang))
        return
    ss = st.session_state
    kept = [n for n in ss.get(ps.CMP_CHOICE, []) if n in options]
    ss[ps.CMP_CHOICE] = kept or options[:2]  # options change as scenarios are saved and edited
    chosen = st.multiselect(t("cmp.choose", lang), options, key=ps.CMP_CHOICE, placeholder=frame.choose_many(lang))
    if not chosen:
        st.info(t("cmp.need_two", lang))
        return
    scen: dict[str, list[dict[str, Any]]] = {}
    for n in chosen:
        if n == current:
            scen[n] = ps.edits()
        else:
            try:
                scen[n] = ps.load(folder, n)[1]
            except (KeyError, ValueError) as exc:
                st.error(_text(exc, lang))
                return
    try:
        with st.spinner(t("msg.computing", lang)):
            table = ps.comparison(*_key(ch), json.dumps(scen, ensure_ascii=False, sort_keys=True))
    except ValueError as exc:  # GisAppError: a saved scenario that no longer applies
        st.error(t("plan.edit_failed", lang, error=_text(exc, lang)))
        return
    _compare_table(table, lang)
    workbook = comparison_workbook(table, {n: ps.from_dicts(ds) for n, ds in scen.items()}, service=ch.service,
                                   lang=lang, service_title=ws.spec.services[ch.service].title(lang))
    st.download_button(t("cmp.download", lang), workbook,
                       file_name=f"scenarios_{ch.service}.xlsx", key=ps.CMP_DOWNLOAD, on_click="ignore",
                       mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                       icon=":material/download:")
    names = [BASELINE, *scen]
    label = {BASELINE: t("plan.baseline", lang)}
    a, b = st.columns(2)
    for col, key, mkey, default in ((a, ps.CMP_LEFT, ps.CMP_MAP_LEFT, 0), (b, ps.CMP_RIGHT, ps.CMP_MAP_RIGHT, 1)):
        with col:
            if st.session_state.get(key) not in names:
                st.session_state[key] = names[min(default, len(names) - 1)]
            n = st.selectbox(t("cmp.left" if default == 0 else "cmp.right", lang), names, key=key, placeholder=frame.choose_one(lang),
                             format_func=lambda v: label.get(v, v))
            ej = "[]" if n == BASELINE else ps.to_json(scen[n])
            s = ps.scenario_summary(*_key(ch), ej)
            st.caption(f"{t('word.covered', lang)} {fmt_number(s['covered'], lang)} · "
                       f"{t('word.covered_pct', lang)} {fmt_pct(s['covered_pct'], lang)}")
            with st.spinner(t("msg.drawing_map", lang)):
                m = ps.scenario_map(*_key(ch), ej, lang=lang)
            frame.show_map(m, key=mkey, height=MAP_HEIGHT - 40)


def _compare_table(table: pd.DataFrame, lang: str) -> None:
    """Show the comparison with translated headers: district, population, then covered / % per scenario."""
    d = flat_comparison(table)
    cov, pct = t("cmp.covered", lang), t("cmp.covered_pct", lang)
    ren = {"district_id": "district_id", "district_name": t("word.district", lang),
           "population": t("word.population", lang)}
    fmts: dict[str, Any] = {ren["population"]: tables.num(lang)}
    for c in d.columns[3:]:
        sc, measure = c.rsplit(" · ", 1)
        sc = t("plan.baseline", lang) if sc == BASELINE else sc
        ren[c] = f"{sc} · {cov if measure == 'covered' else pct}"
        fmts[ren[c]] = tables.num(lang) if measure == "covered" else tables.pct(lang)
    st.dataframe(d.rename(columns=ren).drop(columns=["district_id"]).style.format(fmts), hide_index=True,
                 key="cmp_table")


render()
