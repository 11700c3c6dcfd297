"""Change over time (历年变化): every service's coverage by district in two years, the change, and its map."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from gisapp import maps
from gisapp.i18n import fmt_number, fmt_pct, t
from gisapp.metrics import years as _years
from gisapp.metrics.people import whole
from gisapp.ui import frame, keys, memo, state


@st.cache_data(max_entries=8, show_spinner=False)
def change_table(path: str, uploads: str, year_from: int, year_to: int, travel: str = "straight_line") -> pd.DataFrame:
    """Return :func:`gisapp.metrics.years.coverage_change` of every service at its own standard."""
    return _years.coverage_change(state.load_ws(path, uploads), year_from, year_to, travel=travel)


@memo.shared("maps")
def change_map(path: str, uploads: str, service: str, value: float | None, travel: str, year_from: int,
               year_to: int, lang: str) -> object:
    """Return :func:`gisapp.maps.build_change_map` of ``service`` between the two years."""
    a, b = state.with_year(uploads, year_from), state.with_year(uploads, year_to)
    res_a = state.service_result(path, a, service, value, travel)
    res_b = state.service_result(path, b, service, value, travel)
    ws_b = state.load_ws(path, b)
    change = _years.coverage_change(state.load_ws(path, uploads), year_from, year_to, services=[service],
                                    travel=travel, standards={service: res_b.service.standard})
    m = maps.build_change_map(ws_b, res_a, res_b, change, year_from=year_from, year_to=year_to, lang=lang)
    return state.local_assets(m)


def shown_table(change: pd.DataFrame, ws_services: dict[str, str], year_from: int, year_to: int,
                lang: str) -> pd.DataFrame:
    """Return the change table as shown: service and district names, whole people, headers in ``lang``."""
    d = change.copy()
    d["service"] = d["service"].map(ws_services)
    d["district_name"] = d["district_name"].where(d["district_id"] != "", t("class.all", lang))
    for c in ("uncovered_from", "uncovered_to"):
        d[c] = whole(d[c].to_numpy(float))
    d["uncovered_change"] = d["uncovered_to"] - d["uncovered_from"]
    cols = {"service": t("word.service", lang), "district_name": t("word.district", lang),
            "covered_pct_from": t("change.col.covered", lang, year=year_from),
            "covered_pct_to": t("change.col.covered", lang, year=year_to),
            "change_pts": t("change.col.change_pts", lang),
            "uncovered_from": t("change.col.uncovered", lang, year=year_from),
            "uncovered_to": t("change.col.uncovered", lang, year=year_to),
            "uncovered_change": t("change.col.uncovered_change", lang),
            "facilities_from": t("change.col.facilities", lang, year=year_from),
            "facilities_to": t("change.col.facilities", lang, year=year_to)}
    out = d[list(cols)].rename(columns=cols)
    return out


def render() -> None:
    """Draw the page."""
    ch = state.choice()
    lang = ch.lang
    uploads = state.overrides()
    ws = state.load_ws(ch.path, uploads)
    st.title(t("page.change", lang))
    years = list(ws.years)
    if len(years) < 2:
        st.info(t("change.no_years", lang), icon=":material/info:")
        frame.banner(ws, lang)
        return
    ss = st.session_state
    if ss.get(keys.CHANGE_FROM) not in years:
        ss[keys.CHANGE_FROM] = years[0]
    if ss.get(keys.CHANGE_TO) not in years:
        ss[keys.CHANGE_TO] = years[-1]
    c1, c2 = st.columns(2)
    c1.selectbox(t("change.from", lang), years, key=keys.CHANGE_FROM,
                 format_func=lambda y: t("side.year_value", lang, year=y))
    c2.selectbox(t("change.to", lang), years, key=keys.CHANGE_TO,
                 format_func=lambda y: t("side.year_value", lang, year=y))
    a, b = int(ss[keys.CHANGE_FROM]), int(ss[keys.CHANGE_TO])
    if a == b:
        st.warning(t("change.same_year", lang))
        return
    st.caption(t("change.about", lang, a=a, b=b))
    with st.spinner(t("change.computing", lang)):
        table = change_table(ch.path, uploads, a, b, ch.travel)
    titles = {s: svc.title(lang) for s, svc in ws.spec.services.items()}
    total = table[table["district_id"] == ""]
    lines = []
    for service, pa, pb, pts, people in zip(total["service"].astype(str), total["covered_pct_from"].to_numpy(float),
                                            total["covered_pct_to"].to_numpy(float), total["change_pts"].to_numpy(float),
                                            total["uncovered_change"].to_numpy(float), strict=True):
        lines.append(t("change.line", lang, service=titles[service], a=a, b=b, pa=fmt_pct(pa, lang),
                       pb=fmt_pct(pb, lang), pts=f"{round(pts, 1) + 0.0:+.1f}", people=fmt_number(round(abs(people)), lang),
                       more=t("change.more" if people > 0 else "change.fewer", lang)))
    st.subheader(t("change.summary_title", lang, a=a, b=b))
    st.markdown("\n".join(f"- {line}" for line in lines))
    st.subheader(t("change.table_title", lang, a=a, b=b))
    shown = shown_table(table, titles, a, b, lang)
    pct = {c: st.column_config.NumberColumn(c, format="%.1f") for c in shown.columns[[2, 3, 4]]}
    st.dataframe(shown, hide_index=True, column_config=pct)
    svc = ws.spec.services[ch.service]
    st.subheader(t("change.map_title", lang, service=svc.title(lang), a=a, b=b))
    with st.spinner(t("msg.drawing_map", lang)):
        m = change_map(ch.path, uploads, ch.service, ch.value, ch.travel, a, b, lang)
    frame.show_map(m, key=keys.CHANGE_MAP_WIDGET, height=560)  # type: ignore[arg-type]
    st.caption(t("change.map_note", lang))
    frame.banner(ws, lang)


render()
