"""Gaps page: people beyond the standard by place (district → township → village), ranked by people.

Select a row to zoom the map beside the table to the place; "open on the map page" keeps the
service, the standard and the place.  The list exports as CSV headed in the user's language; the
contiguous gap areas stay available as GeoJSON (and in the GeoPackage of the CLI).
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from gisapp.i18n import fmt_number, t
from gisapp.metrics.gaps import gap_place_export
from gisapp.ui import frame, keys, state, tables

#: Rows shown in the table (the export holds every place).
SHOWN = 500


def place_name(row: pd.Series, lang: str) -> str:
    """Return "place（township，district）" / "place, township, district" of a gap row (parts that exist)."""
    parts = [str(row[c]) for c in ("place", "township", "district_name") if str(row.get(c) or "")]
    if lang == "zh":
        return parts[0] + (f"（{'，'.join(parts[1:])}）" if len(parts) > 1 else "")
    return ", ".join(parts)


def place_focus(row: pd.Series, ch: state.Choice) -> state.Focus:
    """Return the map focus of a gap place: the box of its uncovered cells and its point."""
    lon, lat = float(row["lon"]), float(row["lat"])
    box = (float(row["west"]), float(row["south"]), float(row["east"]), float(row["north"]))
    label = t("gaps.place_label", ch.lang, place=place_name(row, ch.lang), people=f"{int(row['people']):,}")
    return state.Focus(*state.focus_box(lon, lat, box), lat=lat, lon=lon, label=label,
                       service=ch.service, value=ch.value, travel=ch.travel)


def render() -> None:
    """Draw the page."""
    ch = state.choice()
    lang = ch.lang
    ws = state.load_ws(ch.path, ch.overrides)
    svc = ws.spec.services[ch.service]
    std = state.standard_for(svc, ch.value) or svc.standard
    st.title(f"{t('page.gaps', lang)} · {svc.title(lang)}")
    st.caption(f"{t('word.standard', lang)}: {std.label(lang)} · {t('gaps.explain_places', lang)}")
    named = state.has_places(ch.path, ch.overrides)
    if not named:
        st.info(t("find.no_places", lang), icon=":material/info:")
    min_people = int(st.number_input(t("gaps.min_people", lang), min_value=0, max_value=10_000, value=0,
                                     step=10, key=keys.GAPS_MIN_PEOPLE))
    with st.spinner(t("msg.computing", lang)):
        allp = state.gap_place_table(*ch.key)
    gaps = allp[allp["people"] >= min_people] if min_people > 0 else allp
    total = int(gaps["people"].sum()) if len(gaps) else 0
    c1, c2, c3 = st.columns(3)
    c1.metric(t("gaps.places_count" if named else "gaps.districts_count", lang), fmt_number(len(gaps), lang),
              border=True)
    c2.metric(t("gaps.people_beyond", lang), f"{total:,}", border=True)  # whole people
    c3.metric(t("gaps.top10_places", lang),
              f"{100.0 * gaps['people'].head(10).sum() / total:.1f}%" if total > 0 else "—", border=True)
    if gaps.empty:
        st.success(t("gaps.none", lang))
        return
    shown = gaps.head(SHOWN).reset_index(drop=True)
    left, right = st.columns([3, 2])
    with left:
        event = tables.show(shown, {
            "rank": ("gaps.rank", None),
            "district_name": ("word.district", None),
            "township": ("col.township", None),
            "place": ("col.place", None),
            "people": ("col.people_beyond", tables.people(lang)),
            "distance_m": ("col.place_distance_m", tables.num(lang)),
            "travel_min": ("col.place_travel_min", tables.num(lang, 1)),
            "facility_name": ("col.nearest_facility", None),
        }, lang, key=keys.GAPS_TABLE, on_select="rerun", selection_mode="single-row", height=460)
        if len(gaps) > SHOWN:
            st.caption(t("gaps.shown_of", lang, shown=SHOWN, total=fmt_number(len(gaps), lang)))
        st.download_button(t("gaps.download_places_csv", lang),
                           gap_place_export(gaps, lang).to_csv(index=False).encode("utf-8-sig"),
                           file_name=f"gaps_{ch.service}.csv", mime="text/csv", on_click="ignore",
                           icon=":material/download:")
        areas = state.gap_table(*ch.key)
        top = min(len(areas), 200)
        if top:
            polys = state.gap_polys(*ch.key, top=top)
            st.download_button(t("gaps.download_geojson", lang, n=top),
                               polys.drop(columns=["label"]).to_crs(4326).to_json().encode("utf-8"),
                               file_name=f"gaps_{ch.service}_top{top}.geojson", mime="application/geo+json",
                               on_click="ignore", icon=":material/download:")
    with right:
        rows = list(getattr(getattr(event, "selection", None), "rows", []) or [])
        row = shown.iloc[rows[0] if rows else 0]
        focus = place_focus(row, ch)
        if rows:
            state.set_focus(focus)
        else:
            st.info(t("gaps.pick_place", lang), icon=":material/touch_app:")
        st.markdown("**" + t("gaps.place_selected", lang, rank=int(row["rank"]), place=place_name(row, lang),
                             people=f"{int(row['people']):,}") + "**")
        if str(row["facility_name"]):
            st.caption(t("gaps.place_nearest", lang, facility=str(row["facility_name"]),
                         distance=fmt_number(float(row["distance_m"]), lang),
                         minutes=fmt_number(float(row["travel_min"]), lang, digits=1)))
        with st.spinner(t("msg.drawing_map", lang)):
            m = state.folium_map(*ch.key, lang=lang, metric="covered_pct", overlay="coverage", population=True,
                                 top_gaps=0, focus=focus.bounds, highlight=focus.highlight, compact=True)
        frame.show_map(m, key=keys.GAPS_MAP_WIDGET, height=420)
        if rows and st.button(t("gaps.open_map", lang), key=keys.GAPS_TO_MAP, icon=":material/map:"):
            st.switch_page("gisapp/ui/pages/map.py")
    frame.banner(ws, lang)


render()
