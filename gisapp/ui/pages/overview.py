"""Overview page: the equalisation index per district first, then the headline figures, the district table,
town vs country and charts of one service."""

from __future__ import annotations

import math

import altair as alt
import pandas as pd
import streamlit as st

from gisapp.i18n import Term, fmt_number, fmt_pct, t
from gisapp.metrics.service import standard_minutes
from gisapp.metrics.tables import capacity_totals, town_country
from gisapp.ui import findings_view, frame, index_view, memo, state, tables
from gisapp.workspace import Workspace


def metric_values(s: dict[str, float], unit: str, lang: str) -> dict[str, str]:
    """Return the formatted headline figures shown in the metric cards (keyed by i18n label key).

    People are whole numbers with thousands separators (the district table's totals).
    """
    return {
        "word.covered": f"{round(s['covered']):,}",  # whole people, as in the district table
        "word.uncovered": f"{round(s['uncovered']):,}",
        "word.covered_pct": fmt_pct(s["covered_pct"], lang),
        f"metric.median_{unit}": f"{fmt_number(s['median_cost'], lang, digits=0 if unit == 'm' else 1)} "
                                 f"{t('unit.' + unit, lang)}",
        "metric.capacity_per_1000": fmt_number(s["capacity_per_1000"], lang, digits=2),
    }


def render() -> None:
    """Draw the page."""
    ch = state.choice()
    lang = ch.lang
    ws = state.load_ws(ch.path, ch.overrides)
    svc = ws.spec.services[ch.service]
    with st.spinner(t("msg.computing", lang)):
        index_view.show_index(ws, lang, travel=ch.travel)  # the equalisation index per district first
    with st.spinner(t("msg.computing", lang)):
        s = state.summary(*ch.key)
        dist = state.district_table(*ch.key)
        cls = state.class_table(*ch.key)
        cur = state.curve(*ch.key)
    std = state.standard_for(svc, ch.value) or svc.standard
    st.title(svc.title(lang))
    st.caption(f"{t('word.standard', lang)}: {std.label(lang)} · "
               f"{t('word.demand', lang)}: {_demand_title(ws, svc.demand, lang)} · "
               f"{t('word.population', lang)} {round(s['covered']) + round(s['uncovered']):,} {t('unit.people', lang)}")
    frame.banner(ws, lang)
    findings_view.show_findings(ws, ch.key, lang)  # key findings first (主要结论)

    # terrain mode measures minutes even for a distance standard (walked at its speed)
    unit = std.unit if ch.travel == "straight_line" else "min"
    std_value = std.value if unit == std.unit else standard_minutes(std)
    vals = metric_values(s, unit, lang)
    cols = st.columns(5)
    labels = list(vals)
    for col, k in zip(cols[:4], labels[:4], strict=True):
        col.metric(t(k, lang), vals[k], border=True)
    norm = s["norm_per_1000"]
    if svc.capacity:
        cap_label = f"{t('metric.capacity_per_1000', lang)} ({t('cap.' + svc.capacity, lang)})"
        delta = None
        if math.isfinite(norm):
            delta = f"{s['capacity_per_1000'] - norm:+.2f} {t('metric.vs_norm', lang, norm=f'{norm:g}')}"
        cols[4].metric(cap_label, vals["metric.capacity_per_1000"], delta=delta, border=True,
                       help=svc.source_text("norm", lang) or None)
    else:
        cols[4].metric(t("metric.capacity_per_1000", lang), "—", border=True, help=t("metric.no_capacity", lang))
    if svc.source:
        st.caption(" · ".join(f"{t('word.source', lang)} ({k}): {v}"
                              for k, v in svc.source_items(lang, labels=True)))

    # the tables as shown (whole people, total rows) are built once per choice and language, shared
    page_rows = memo.cache["results"].get(("overview.rows", *ch.key, lang), lambda: {
        "district": tables.district_rows(dist, lang, capacity=svc.capacity), "class": tables.class_rows(cls, lang)})
    st.subheader(t("ov.by_district", lang))
    tables.district_frame(dist, lang, capacity=svc.capacity, rows=page_rows["district"])
    for line in capacity_notes(dist, svc.capacity, svc.norm_per_1000, lang):
        st.caption(line)
    if svc.capacity:  # issue 11: people served within capacity (AccessMod style)
        with st.spinner(t("msg.computing", lang)):
            served = state.served_table(*ch.key)
            served_rows = memo.cache["results"].get(("overview.served_rows", *ch.key, lang),
                                                    lambda: tables.served_rows(served, lang)) if served.applicable else None
        tables.served_section(served, lang, rows=served_rows)

    # the charts' specs are built once per choice and language, shared by every session
    specs = memo.cache["results"].get(
        ("overview.charts", *ch.key, lang, unit, float(std_value)),
        lambda: (frame.vega_spec(_district_chart(dist, lang)), frame.vega_spec(_curve_chart(cur, std_value, unit, lang))))
    left, right = st.columns(2)
    with left:
        st.subheader(t("ov.chart_district", lang))
        frame.show_spec(specs[0])
    with right:
        st.subheader(t("ov.chart_curve", lang))
        frame.show_spec(specs[1])

    st.subheader(t("ov.town_country", lang))
    tables.class_frame(cls, lang, rows=page_rows["class"])
    st.caption(t("ov.class_note", lang))
    st.caption(town_rural_note(cls, lang))


def capacity_notes(dist: pd.DataFrame, capacity: str | None, norm: float | None, lang: str) -> list[str]:
    """Return what the shortfall and surplus columns mean and their totals (shortfalls added alone)."""
    if not capacity:
        return []
    if norm is None or "shortfall" not in dist.columns:
        return [t("ov.capacity_no_norm", lang)]
    unit = Term(f"capunit.{capacity}", Term(f"cap.{capacity}", capacity).text(lang)).text(lang)
    tot = capacity_totals(dist)
    return [t("ov.capacity_note", lang, norm=f"{norm:g}", unit=unit),
            t("ov.capacity_totals", lang, short=fmt_number(tot["shortfall"], lang, digits=1), unit=unit,
              k=int(tot["short_districts"]), plus=fmt_number(tot["surplus"], lang, digits=1))]


def town_rural_note(cls: pd.DataFrame, lang: str) -> str:
    """Return the town / country coverage ratio and gap as a sentence (or why there is none)."""
    tc = town_country(cls)
    if not math.isfinite(tc["ratio"]):
        return t("ov.town_rural_none", lang)
    return t("ov.town_rural", lang, town=fmt_pct(tc["town_pct"], lang), rural=fmt_pct(tc["rural_pct"], lang),
             ratio=f"{tc['ratio']:.2f}", gap=f"{tc['gap_pts']:+.1f}")


def _demand_title(ws: Workspace, group: str, lang: str) -> str:
    g = ws.spec.demand_groups[group]
    return str((g.zh if lang == "zh" else g.en) or g.en or g.name)


def _district_chart(dist: pd.DataFrame, lang: str) -> alt.Chart:
    cov, unc = t("word.covered", lang), t("word.uncovered", lang)
    long = dist.melt(id_vars=["district_name"], value_vars=["covered", "uncovered"], var_name="what",
                     value_name="people")
    long["what"] = long["what"].map({"covered": cov, "uncovered": unc})
    return alt.Chart(long).mark_bar().encode(  # type: ignore[no-any-return]
        y=alt.Y("district_name:N", title=t("word.district", lang), sort=None),
        x=alt.X("people:Q", title=t("word.population", lang), stack="zero"),
        color=alt.Color("what:N", title=None, scale=alt.Scale(domain=[cov, unc], range=["#1a9850", "#d73027"])),
        tooltip=[alt.Tooltip("district_name:N", title=t("word.district", lang)),
                 alt.Tooltip("what:N", title=" "), alt.Tooltip("people:Q", format=",.0f",
                                                                title=t("word.population", lang))],
    ).properties(height=260)


def _curve_chart(cur: pd.DataFrame, value: float, unit: str, lang: str) -> alt.LayerChart:
    x_title = f"{t('ov.curve_x_' + unit, lang)} ({t('unit.' + unit, lang)})"
    line = alt.Chart(cur).mark_line(color="#2171b5").encode(
        x=alt.X("cost:Q", title=x_title), y=alt.Y("share_pct:Q", title=t("ov.curve_y", lang),
                                                  scale=alt.Scale(domain=[0, 100])),
        tooltip=[alt.Tooltip("cost:Q", format=",.1f", title=x_title),
                 alt.Tooltip("share_pct:Q", format=".1f", title=t("ov.curve_y", lang))])
    rule_df = pd.DataFrame({"cost": [value], "label": [t("word.standard", lang)]})
    rule = alt.Chart(rule_df).mark_rule(color="#d73027", strokeDash=[5, 3], size=2).encode(x="cost:Q")
    text = alt.Chart(rule_df).mark_text(align="left", dx=4, dy=-6, color="#d73027").encode(
        x="cost:Q", y=alt.value(12), text="label:N")
    return (line + rule + text).properties(height=260)  # type: ignore[no-any-return]


render()
