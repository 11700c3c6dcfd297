"""Places page (drill-down): coverage by district → township → village or community; search a place.

Choose a district to see its townships, then a township to see its villages and communities
(whole people, covered share).  The search box finds a district, township, village or facility:
a township or village opens its district and township here, and "open on the map page" zooms
the map to it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd
import streamlit as st

from gisapp.i18n import t
from gisapp.ui import frame, keys, state, tables

#: the key of the last search pick already copied into the district / township choices
_DRILLED = "_places_drilled"


def _drill_to(hit: pd.Series | None, districts: list[str], townships: pd.DataFrame) -> None:
    """Open the district and township of a new search hit (before their select boxes are drawn)."""
    ss = st.session_state
    if hit is None:
        return
    tag = f"{hit['kind']}|{hit['name']}|{hit['detail']}"
    if ss.get(_DRILLED) == tag:
        return
    ss[_DRILLED] = tag
    kind, name = str(hit["kind"]), str(hit["name"])
    if kind == "district" and name in districts:
        ss[keys.PLACES_DISTRICT] = name
        ss.pop(keys.PLACES_TOWNSHIP, None)
    elif kind == "township":
        mine = townships[(townships["township"] == name) & (townships["district_name"] == str(hit["detail"]))]
        if len(mine):
            ss[keys.PLACES_DISTRICT] = str(mine["district_name"].iloc[0])
            ss[keys.PLACES_TOWNSHIP] = name
    elif kind == "village":
        # detail: "district · township" (zh) or "township, district" (en)
        parts = [p.strip() for p in str(hit["detail"]).replace(" · ", "|").replace(", ", "|").split("|")]
        for d in parts:
            if d in districts:
                ss[keys.PLACES_DISTRICT] = d
                tw = [p for p in parts if p != d]
                if tw:
                    ss[keys.PLACES_TOWNSHIP] = tw[0]


def _coverage_columns(lang: str, *, place: bool) -> dict[str, tuple[str, Callable[[Any], str] | None]]:
    cols: dict[str, tuple[str, Callable[[Any], str] | None]] = (
        {"place": ("col.place", None)} if place else {"township": ("col.township", None)})
    cols.update({"population": ("word.population", tables.people(lang)),  # whole people
                 "covered": ("word.covered", tables.people(lang)),
                 "uncovered": ("word.uncovered", tables.people(lang)),
                 "covered_pct": ("word.covered_pct", tables.pct(lang))})
    return cols


def render() -> None:
    """Draw the page."""
    ch = state.choice()
    lang = ch.lang
    ws = state.load_ws(ch.path, ch.overrides)
    svc = ws.spec.services[ch.service]
    std = state.standard_for(svc, ch.value) or svc.standard
    st.title(f"{t('page.places', lang)} · {svc.title(lang)}")
    st.caption(f"{t('word.standard', lang)}: {std.label(lang)} · {t('places.explain', lang)}")
    if not state.has_places(ch.path, ch.overrides):
        st.info(t("find.no_places", lang), icon=":material/info:")
        return
    with st.spinner(t("msg.computing", lang)):
        tw = state.place_coverage(*ch.key, level="township")
        vil = state.place_coverage(*ch.key, level="village")
    districts = list(dict.fromkeys(tw["district_name"].astype(str)))
    s1, s2 = st.columns([5, 1], vertical_alignment="bottom")
    with s1:
        hit = frame.search_box(ch, key=keys.PLACES_SEARCH, pick_key=keys.PLACES_SEARCH_PICK)
    _drill_to(hit, districts, tw)
    if hit is not None and s2.button(t("gaps.open_map", lang), key=keys.PLACES_TO_MAP, icon=":material/map:"):
        state.set_focus(frame.hit_focus(hit, lang))
        st.switch_page("gisapp/ui/pages/map.py")
    ss = st.session_state
    if ss.get(keys.PLACES_DISTRICT) not in districts:
        ss[keys.PLACES_DISTRICT] = districts[0]
    district = str(st.selectbox(t("word.district", lang), districts, key=keys.PLACES_DISTRICT,
                                placeholder=frame.choose_one(lang)))
    mine = tw[tw["district_name"] == district]
    st.subheader(t("places.townships_of", lang, district=district))
    tables.show(mine.assign(township=[s or t("places.no_township", lang) for s in mine["township"].astype(str)]),
                _coverage_columns(lang, place=False), lang, key=keys.PLACES_TOWNSHIP_TABLE)
    names = [s for s in mine["township"].astype(str) if s]
    if not names:
        return
    if ss.get(keys.PLACES_TOWNSHIP) not in names:
        ss[keys.PLACES_TOWNSHIP] = names[0]
    township = str(st.selectbox(t("col.township", lang), names, key=keys.PLACES_TOWNSHIP,
                                placeholder=frame.choose_one(lang)))
    st.subheader(t("places.villages_of", lang, township=township))
    v = vil[(vil["district_name"] == district) & (vil["township"] == township)]
    tables.show(v, _coverage_columns(lang, place=True), lang, key=keys.PLACES_VILLAGE_TABLE)
    frame.banner(ws, lang)


render()
