"""Gaps page: uncovered areas ranked by population; pick one to zoom the map; export the list."""

from __future__ import annotations

import streamlit as st

from gisapp.i18n import fmt_number, t
from gisapp.metrics.gaps import gap_export
from gisapp.ui import frame, keys, state, tables

#: Rows shown in the table (the export holds every gap area).
SHOWN = 500


def render() -> None:
    """Draw the page."""
    ch = state.choice()
    lang = ch.lang
    ws = state.load_ws(ch.path, ch.overrides)
    svc = ws.spec.services[ch.service]
    std = state.standard_for(svc, ch.value) or svc.standard
    st.title(f"{t('page.gaps', lang)} · {svc.title(lang)}")
    st.caption(f"{t('word.standard', lang)}: {std.label(lang)} · {t('gaps.explain', lang)}")
    min_people = float(st.number_input(t("gaps.min_people", lang), min_value=0, max_value=10_000, value=0,
                                       step=10, key=keys.GAPS_MIN_PEOPLE))
    with st.spinner(t("msg.computing", lang)):
        gaps = state.gap_table(*ch.key, min_people=min_people)
    total = float(gaps["population"].sum()) if len(gaps) else 0.0
    c1, c2, c3 = st.columns(3)
    c1.metric(t("gaps.count", lang), fmt_number(len(gaps), lang), border=True)
    c2.metric(t("gaps.people", lang), fmt_number(total, lang), border=True)
    c3.metric(t("gaps.top10_share", lang),
              f"{100.0 * gaps['population'].head(10).sum() / total:.1f}%" if total > 0 else "—", border=True)
    if gaps.empty:
        st.success(t("gaps.none", lang))
        return
    shown = gaps.head(SHOWN).copy()
    shown["area_km2"] = shown["cells"] * (ws.grid.res_m ** 2) / 1e6
    left, right = st.columns([3, 2])
    with left:
        event = tables.show(shown, {
            "gap_id": ("gaps.rank", None),
            "population": ("word.uncovered", tables.num(lang)),
            "district_name": ("word.district", None),
            "min_distance_m": ("gaps.min_distance", tables.num(lang)),
            "mean_distance_m": ("gaps.mean_distance", tables.num(lang)),
            "area_km2": ("gaps.area_km2", tables.num(lang, 2)),
            "lon": ("gaps.lon", tables.num(lang, 4)),
            "lat": ("gaps.lat", tables.num(lang, 4)),
        }, lang, key=keys.GAPS_TABLE, on_select="rerun", selection_mode="single-row", height=460)
        if len(gaps) > SHOWN:
            st.caption(t("gaps.shown_of", lang, shown=SHOWN, total=fmt_number(len(gaps), lang)))
        st.download_button(t("gaps.download_csv", lang), gap_export(gaps, lang).to_csv(index=False).encode("utf-8-sig"),
                           file_name=f"gaps_{ch.service}.csv", mime="text/csv", on_click="ignore",
                           icon=":material/download:")
        top = min(len(gaps), 200)
        polys = state.gap_polys(*ch.key, top=top, min_people=min_people)
        st.download_button(t("gaps.download_geojson", lang, n=top),
                           polys.drop(columns=["label"]).to_crs(4326).to_json().encode("utf-8"),
                           file_name=f"gaps_{ch.service}_top{top}.geojson", mime="application/geo+json",
                           on_click="ignore", icon=":material/download:")
    with right:
        rows = list(getattr(getattr(event, "selection", None), "rows", []) or [])
        gap_id = int(shown.iloc[rows[0]]["gap_id"]) if rows else 1
        if rows:
            st.session_state[keys.FOCUS_GAP] = f"{ch.service}|{ch.value}|{gap_id}"
        else:
            st.info(t("gaps.pick", lang), icon=":material/touch_app:")
        row = shown[shown["gap_id"] == gap_id].iloc[0]
        st.markdown("**" + t("gaps.selected", lang, gap=gap_id, district=row["district_name"],
                             people=fmt_number(float(row["population"]), lang)) + "**")
        with st.spinner(t("msg.drawing_map", lang)):
            m = state.folium_map(*ch.key, lang=lang, metric="covered_pct", overlay="coverage", population=True,
                                 top_gaps=30, focus_gap=gap_id, compact=True)
        frame.show_map(m, key=keys.GAPS_MAP_WIDGET, height=420)
        if rows and st.button(t("gaps.open_map", lang), key=keys.GAPS_TO_MAP, icon=":material/map:"):
            st.switch_page("gisapp/ui/pages/map.py")
    frame.banner(ws, lang)


render()
