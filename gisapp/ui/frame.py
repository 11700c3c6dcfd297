"""The frame shared by every page: language, service and standard in the sidebar, problem display."""

from __future__ import annotations

import copy

import folium
import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from gisapp._errors import Problem, WorkspaceError
from gisapp.config.spec import ServiceSpec
from gisapp.i18n import LANGS, problem_text, t
from gisapp.metrics.service import standard_minutes
from gisapp.travel import terrain as terrain
from gisapp.ui import keys, state
from gisapp.workspace import Workspace

LANG_LABELS = {"zh": "中文", "en": "English"}


def lang() -> str:
    """Return the chosen language ("zh" by default)."""
    return str(st.session_state.get(keys.LANG, "zh"))


def show_problems(problems: list[Problem], lang_: str, *, title_key: str = "msg.problems") -> None:
    """Show every validation problem: one error box and a table of file, field, problem and fix."""
    st.error(t(title_key, lang_, n=len(problems)))
    rows = [{t("prob.file", lang_): p.file.rsplit("/", 1)[-1], t("prob.field", lang_): p.field,
             t("prob.message", lang_): problem_text(p.message, lang_),
             t("prob.fix", lang_): problem_text(p.fix, lang_)} for p in problems]
    st.dataframe(pd.DataFrame(rows), hide_index=True)


def slider_range(svc: ServiceSpec) -> tuple[float, float, float]:
    """Return (min, max, step) of the standard slider, in the standard's unit."""
    v = svc.standard.value
    if svc.standard.unit == "m":
        return 50.0, float(max(3000.0, 3.0 * v)), 50.0
    return 0.5, float(max(60.0, 3.0 * v)), 0.5


def _relabel_widgets() -> None:
    """Set every translated widget to its own value, so the browser shows the new labels."""
    ss = st.session_state
    for key in keys.TRANSLATED:
        if key in ss:
            ss[key] = ss[key]


def _reset_standard() -> None:
    st.session_state.pop(keys.STANDARD_FOR, None)


def load_current() -> Workspace:
    """Load the workspace in use, showing progress; on failure show the problems and stop."""
    ch = state.choice()
    try:
        with st.spinner(t("msg.loading_workspace", ch.lang)):
            return state.load_ws(ch.path, ch.overrides)
    except WorkspaceError as exc:
        show_problems(exc.problems, ch.lang, title_key="msg.workspace_failed")
        st.stop()
        raise  # unreachable: st.stop() raises


def sidebar() -> Workspace:
    """Draw the sidebar (language, service, standard) and return the loaded workspace."""
    with st.sidebar:
        st.radio(t("lang.switch", lang()), LANGS, key=keys.LANG, horizontal=True,
                 format_func=lambda x: LANG_LABELS.get(x, x), on_change=_relabel_widgets)
    lg = lang()
    ws = load_current()
    services = list(ws.spec.services)
    ss = st.session_state
    if ss.get(keys.SERVICE) not in services:
        ss[keys.SERVICE] = services[0]
    with st.sidebar:
        st.selectbox(t("word.service", lg), services, key=keys.SERVICE,
                     format_func=lambda s: ws.spec.services[s].title(lg), on_change=_reset_standard)
        svc = ws.spec.services[str(ss[keys.SERVICE])]
        lo, hi, step = slider_range(svc)
        if ss.get(keys.STANDARD_FOR) != svc.name or ss.get(keys.STANDARD) is None:
            ss[keys.STANDARD] = float(svc.standard.value)
            ss[keys.STANDARD_FOR] = svc.name
        unit = t(f"unit.{svc.standard.unit}", lg)
        st.slider(f"{t('word.standard', lg)} ({unit})", lo, hi, step=step, key=keys.STANDARD,
                  format="%.0f" if svc.standard.unit == "m" else "%.1f",
                  help=t("help.standard", lg))
        st.caption(f"{t('word.default', lg)}: {svc.standard.label(lg)}")
        if terrain.available(ws):
            st.radio(t("side.travel", lg), ["straight_line", "terrain"], key=keys.TRAVEL,
                     format_func=lambda m: t(f"travel.{m}", lg), help=t("help.travel", lg))
            if ss.get(keys.TRAVEL) == "terrain" and svc.standard.unit == "m":
                st.caption(t("side.terrain_distance", lg, minutes=f"{standard_minutes(svc.standard):.1f}"))
        if svc.rural_standard is not None:
            st.caption(f"{t('side.rural_standard', lg)}: {svc.rural_standard.label(lg)}")
        if svc.urban_only:
            st.caption(t("side.urban_only", lg))
        st.divider()
        st.caption(f"{t('side.workspace', lg)}: {ws.spec.title(lg)}")
        if state.overrides():
            st.caption(t("side.uploads_active", lg))
    return ws


def banner(ws: Workspace, lang_: str) -> None:
    """Show the data provenance banner when any layer is synthetic."""
    if any(lay.provenance.status in ("synthetic", "mixed") for lay in ws.spec.layers.values()):
        st.info(t("prov.banner_generic", lang_), icon=":material/info:")


def show_map(m: folium.Map, *, key: str, height: int) -> None:
    """Show a (cached) folium map without letting streamlit-folium alter the cached object.

    ``st_folium`` renames the map's elements in place while it renders; rendering the same
    object twice leaves references to names that no longer exist (the map then stays blank),
    so each run renders a copy.  ``returned_objects=[]``: panning or zooming never reruns the app.
    """
    st_folium(copy.deepcopy(m), key=key, height=height, use_container_width=True, returned_objects=[])
