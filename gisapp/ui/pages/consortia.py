"""Consortia page: each 医共体 / 教共体 with its lead, members, member-to-lead time and people served."""

from __future__ import annotations

import streamlit as st

from gisapp.i18n import fmt_number, t
from gisapp.ui import frame, keys, state, tables


def render() -> None:
    """Draw the page."""
    ch = state.choice()
    lang = ch.lang
    ws = state.load_ws(ch.path, ch.overrides)
    st.title(t("page.consortia", lang))
    ref = ws.spec.referral_standard
    st.caption(t("cons.explain", lang) + (f" {t('cons.referral', lang)}: {ref.label(lang)}" if ref else "")
               + (f" · {t('word.source', lang)}: {src}" if (src := ws.spec.referral_source_text(lang)) else ""))
    with st.spinner(t("msg.computing", lang)):
        summ, members = state.consortia(ch.path, ch.overrides)
    if summ.empty:
        st.info(t("cons.none", lang))
        return
    sectors = ["health", "education"]
    present = [s for s in sectors if (summ["sector"] == s).any()]
    sector = st.radio(t("cons.sector", lang), present, key=keys.CONS_SECTOR, horizontal=True,
                      format_func=lambda s: t(f"cons.sector_{s}", lang))
    sub = summ[summ["sector"] == sector].copy()
    c1, c2, c3 = st.columns(3)
    c1.metric(t("cons.count", lang), fmt_number(len(sub), lang), border=True)
    c2.metric(t("cons.members", lang), fmt_number(float(sub["members"].sum()), lang), border=True)
    c3.metric(t("cons.beyond", lang), fmt_number(float(sub["beyond_referral"].sum()), lang), border=True)
    tables.show(sub, {
        "consortium_id": ("cons.id", None), "lead_name": ("cons.lead", None),
        "members": ("cons.members", tables.num(lang)),
        "mean_travel_min": ("cons.mean_min", tables.num(lang, 1)),
        "max_travel_min": ("cons.max_min", tables.num(lang, 1)),
        "beyond_referral": ("cons.beyond", tables.num(lang)),
        "population_served": ("cons.population_served", tables.num(lang)),
    }, lang, key="consortia_table")

    ids = sub["consortium_id"].tolist()
    if st.session_state.get(keys.CONSORTIUM) not in ids:
        st.session_state[keys.CONSORTIUM] = ids[0]
    label = dict(zip(sub["consortium_id"], sub["lead_name"], strict=True))
    cid = st.selectbox(t("cons.pick", lang), ids, key=keys.CONSORTIUM, placeholder=frame.choose_one(lang),
                       format_func=lambda c: f"{c} · {label.get(c, '')}")
    mem = members[members["consortium_id"] == cid].copy()
    mem["kind_label"] = [tables.kind_label(k, lang) for k in mem["kind"]]
    mem["role"] = [t("map.lead", lang) if lead else t("cons.member", lang) for lead in mem["is_lead"]]
    mem["distance_km"] = mem["distance_m"] / 1000.0
    mem["beyond"] = [t("cons.yes", lang) if b else "" for b in mem["beyond_referral"]]
    names = dict(zip(ws.districts["district_id"], ws.districts["district_name"], strict=True))
    mem["district_name"] = mem["district_id"].map(names).fillna("")
    row = sub[sub["consortium_id"] == cid].iloc[0]
    st.subheader(t("cons.detail", lang, id=cid, lead=row["lead_name"],
                   people=fmt_number(float(row["population_served"]), lang)))
    n_beyond = int(mem["beyond_referral"].sum())
    if n_beyond:
        st.warning(t("cons.beyond_warning", lang, n=n_beyond))
    tables.show(mem, {
        "role": ("cons.role", None), "name": ("cons.name", None), "kind_label": ("map.kind", None),
        "district_name": ("word.district", None), "distance_km": ("cons.distance_km", tables.num(lang, 1)),
        "travel_min": ("cons.travel_min", tables.num(lang, 1)), "beyond": ("cons.beyond_flag", None),
    }, lang, key="consortium_members")
    frame.banner(ws, lang)


render()
