"""Map page: district choropleth, population, coverage or access, facilities and gap areas; search a place."""

from __future__ import annotations

import streamlit as st

from gisapp.i18n import t
from gisapp.maps import DISTRICT_METRICS
from gisapp.ui import frame, keys, state


def render() -> None:
    """Draw the page."""
    ch = state.choice()
    lang = ch.lang
    ws = state.load_ws(ch.path, ch.overrides)
    svc = ws.spec.services[ch.service]
    st.title(f"{t('page.map', lang)} · {svc.title(lang)}")
    metrics = [m for m in DISTRICT_METRICS if svc.capacity or m not in ("capacity_per_1000", "access_per_1000")]
    overlays = ["coverage", "access", "none"] if svc.capacity else ["coverage", "none"]
    ss = st.session_state
    if ss.get(keys.MAP_METRIC) not in metrics:
        ss[keys.MAP_METRIC] = metrics[0]
    if ss.get(keys.MAP_OVERLAY) not in overlays:
        ss[keys.MAP_OVERLAY] = overlays[0]
    c1, c2, c4 = st.columns([3, 4, 2])
    c1.selectbox(t("map.metric", lang), metrics, key=keys.MAP_METRIC, placeholder=frame.choose_one(lang),
                 format_func=lambda m: t(DISTRICT_METRICS[m][0], lang))
    c2.radio(t("map.overlay", lang), overlays, key=keys.MAP_OVERLAY, horizontal=True,
             format_func=lambda o: t(f"map.overlay_{o}", lang))
    c4.number_input(t("map.top_gaps", lang), min_value=0, max_value=200, value=30, step=10, key=keys.MAP_TOP_GAPS)
    s1, s2 = st.columns([5, 1], vertical_alignment="bottom")
    with s1:
        frame.search_box(ch, key=keys.SEARCH, pick_key=keys.SEARCH_PICK)
    focus = state.focus(ch)
    if focus is not None:
        st.caption(t("map.focused_on", lang, label=focus.label))
        s2.button(t("map.clear_focus", lang), key=keys.SEARCH_CLEAR, on_click=state.clear_focus,
                  icon=":material/zoom_out_map:")
    with st.spinner(t("msg.drawing_map", lang)):
        m = state.folium_map(*ch.key, lang=lang, metric=str(ss[keys.MAP_METRIC]), overlay=str(ss[keys.MAP_OVERLAY]),
                             population=True, top_gaps=int(ss[keys.MAP_TOP_GAPS]),
                             focus=focus.bounds if focus else None, highlight=focus.highlight if focus else None)
    frame.show_map(m, key=keys.MAP_WIDGET, height=640)
    st.caption(t("map.tiles_note", lang))
    frame.banner(ws, lang)


render()
