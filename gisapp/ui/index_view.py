"""The equalisation index at the top of the overview: the index per district first, then the services behind it.

:func:`show_index` draws :func:`gisapp.metrics.index.equalisation_index` of the workspace (every
service at its own standard, not the sidebar's slider): a table of the districts ranked by their
index with each indicator's score, the town / country ratio and the spread between districts; a
district picked in the table (or the selectbox below it) shows its components, and a button
switches the sidebar's service to one of them and opens the map zoomed to the district.  The
weight sensitivity and the method are in expanders.  With a year chosen in the sidebar the index is
the workspace's in that year (the sidebar's choice carries the year; ``gisapp.workspace.at_year``).
"""

from __future__ import annotations

import math
from typing import Any, Final

import numpy as np
import pandas as pd
import streamlit as st

from gisapp.i18n import Term, fmt_number, t
from gisapp.metrics.index import (
    IndexResult,
    equalisation_index,
    indicator_label,
    method_lines,
    scenario_label,
    sensitivity,
    sensitivity_table,
    short_service_title,
)
from gisapp.metrics.service import run_service
from gisapp.ui import keys, memo, state
from gisapp.workspace import Workspace

__all__ = ["CONTAINER_KEY", "DISTRICT_KEY", "OPEN_KEY", "SENSITIVITY_KEY", "SERVICE_KEY", "TABLE_KEY", "cached_index",
           "index_rows", "sensitivity_rows", "show_index"]

#: Keys of the index's container and widgets (tests find them by these).
CONTAINER_KEY: Final = "index"
TABLE_KEY: Final = "index_table"
DISTRICT_KEY: Final = "index_district"
SERVICE_KEY: Final = "index_service"
OPEN_KEY: Final = "index_open_map"
#: the sensitivity expander: its table is built and sent only while it is open
SENSITIVITY_KEY: Final = "index_sensitivity"

MAP_PAGE: Final = "gisapp/ui/pages/map.py"
#: the session key remembering the table row last applied to the district selectbox
_PICKED: Final = "_index_picked"


@memo.shared("results")
def cached_index(path: str, overrides_json: str, travel: str = "straight_line") -> tuple[IndexResult, pd.DataFrame]:
    """Return the index and its sensitivity (scenario keys, labels in Chinese) for these choices.

    ``overrides_json`` is the sidebar's (``state.choice().overrides``): with a year chosen it names
    the year, and :func:`gisapp.ui.state.load_ws` gives the workspace as it was that year.  Every
    service is run once here at its own standard (the results are not kept: only the small tables).
    """
    ws = state.load_ws(path, overrides_json)
    results = {s: run_service(ws, s, travel=travel) for s in ws.spec.services}
    return equalisation_index(ws, results=results), sensitivity(ws, results=results)


@memo.shared("results")
def cached_rows(path: str, overrides_json: str, travel: str, lang: str) -> pd.DataFrame:
    """Return :func:`index_rows` for these choices, built once per language and shared by every session."""
    idx, _ = cached_index(path, overrides_json, travel)
    return index_rows(idx, state.load_ws(path, overrides_json), lang)


@memo.shared("results")
def sensitivity_rows(path: str, overrides_json: str, travel: str, lang: str) -> pd.DataFrame:
    """Return the sensitivity as shown: one row per district (its name as the row label), its rank per scenario."""
    _, sens = cached_index(path, overrides_json, travel)
    spec = state.load_ws(path, overrides_json).spec
    table = sensitivity_table(sens.assign(label=[scenario_label(spec, k, lang) for k in sens["scenario"]]))
    # the districts as the row labels: the first column of every table on the page that starts with
    # the district is a coverage table
    table = table.drop(columns="district_id").rename(columns={"max_shift": t("idx.col.max_shift", lang)})
    return table.set_index("district_name").rename_axis(t("idx.col.district", lang))


def selected_year() -> int | None:
    """Return the year chosen in the sidebar (None: the workspace as loaded, or no year selector)."""
    key = getattr(keys, "YEAR", None)
    v = st.session_state.get(key) if key else None
    try:
        return int(v) if v is not None else None
    except (TypeError, ValueError):
        return None


def index_rows(idx: IndexResult, ws: Workspace, lang: str) -> pd.DataFrame:
    """Return the index table as shown: rank, district, index and its weakest indicator; highest first.

    A leader reads one number per district and where it falls short; every indicator's score is
    one click away (the district's components below the table), so the table fits the page.
    """
    d = idx.by_district.sort_values(["index", "district_id"], ascending=[False, True], kind="stable",
                                    na_position="last")
    scores = d[list(idx.columns)].to_numpy(float) if len(idx.columns) else np.zeros((len(d), 0))
    weakest, weakest_score = [], []
    for row in scores:
        ok = np.flatnonzero(np.isfinite(row))
        j = int(ok[np.argmin(row[ok])]) if ok.size else -1
        weakest.append(indicator_label(ws.spec, idx.columns[j], lang) if j >= 0 else "—")
        weakest_score.append(float(row[j]) if j >= 0 else float("nan"))
    return pd.DataFrame({t("idx.col.rank", lang): d["rank"].to_numpy(float),
                         t("idx.col.district", lang): d["district_name"].astype(str).to_numpy(),
                         t("idx.col.index", lang): d["index"].to_numpy(float),
                         t("idx.col.weakest", lang): weakest,
                         t("idx.col.weakest_score", lang): np.asarray(weakest_score, dtype=float)})


def _value_text(row: pd.Series, ws: Workspace, lang: str) -> tuple[str, str]:
    """Return (now, standard) of one component as text: "18.0%" / "100%" or per 1,000 with the unit."""
    if row["indicator"] == "coverage":
        v = float(row["value"])
        return (f"{fmt_number(v, lang, digits=1)}%" if math.isfinite(v) else "—"), "100%"
    cap = ws.spec.services[str(row["service"])].capacity or ""
    unit = Term(f"capunit.{cap}", Term(f"cap.{cap}", cap).text(lang)).text(lang)
    v = float(row["value"])
    now = t("rep.norm_value", lang, v=fmt_number(v, lang, digits=2), unit=unit) if math.isfinite(v) else "—"
    return now, t("rep.norm_value", lang, v=f"{float(row['standard']):g}", unit=unit)


def component_rows(idx: IndexResult, ws: Workspace, district_id: str, lang: str) -> pd.DataFrame:
    """Return the components of one district as shown: service, indicator, now, standard, score, weight share."""
    c = idx.district_components(district_id)
    texts = [_value_text(r, ws, lang) for _, r in c.iterrows()]
    return pd.DataFrame({
        t("word.service", lang): [short_service_title(ws.spec, str(s), lang) for s in c["service"]],
        t("idx.comp.indicator", lang): [t(f"idx.ind.{k}", lang) for k in c["indicator"]],
        t("idx.comp.value", lang): [a for a, _ in texts],
        t("idx.comp.standard", lang): [b for _, b in texts],
        t("idx.comp.score", lang): c["score"].to_numpy(float),
        t("idx.comp.share", lang): 100.0 * c["share"].to_numpy(float),
    })


def _fmt(digits: int, suffix: str = "") -> Any:
    return lambda v: "—" if v is None or (isinstance(v, float) and not math.isfinite(v)) else f"{v:,.{digits}f}{suffix}"


def _open_district(ws: Workspace, district_id: str, service: str) -> None:
    """Switch the sidebar's service to ``service`` and open the map zoomed to the district."""
    ss = st.session_state
    ss[keys.KEPT[keys.SERVICE]] = service  # written into the sidebar's widget at the start of the next run
    ss.pop(keys.STANDARD_FOR, None)
    ss.pop(keys.KEPT[keys.STANDARD], None)
    d = ws.districts[ws.districts["district_id"].astype(str) == str(district_id)]
    if len(d):
        w, s, e, n = (float(v) for v in d.to_crs(4326).total_bounds)
        f = state.Focus(west=w, south=s, east=e, north=n, lat=(s + n) / 2.0, lon=(w + e) / 2.0,
                        label=str(d["district_name"].iloc[0]))
        state.set_focus(f)
    st.switch_page(MAP_PAGE)


def show_index(ws: Workspace, lang: str, *, travel: str = "straight_line") -> IndexResult:
    """Draw the equalisation index per district (the first thing on the overview) and return it."""
    ch = state.choice()
    year = selected_year()
    idx, _ = cached_index(ch.path, ch.overrides, travel)
    with st.container(key=CONTAINER_KEY, border=True):
        st.subheader(t("idx.title", lang))
        if year is not None:
            st.caption(t("idx.year", lang, year=year))
        rows = cached_rows(ch.path, ch.overrides, travel, lang)
        fmts = {c: _fmt(1) for c in rows.columns[2:] if c != t("idx.col.weakest", lang)}
        fmts[t("idx.col.rank", lang)] = _fmt(0)
        event = st.dataframe(rows.style.format(fmts), hide_index=True, key=TABLE_KEY, on_select="rerun",
                             selection_mode="single-row")
        town = idx.by_class.set_index("class")["index"]
        cols = st.columns(3)
        ratio = idx.town_country_ratio
        cols[0].metric(t("idx.ratio", lang), f"{ratio:.2f}" if math.isfinite(ratio) else "—",
                       help=t("idx.ratio_help", lang), border=True)
        cols[1].metric(t("idx.range", lang), _fmt(1)(idx.spread["range"]), help=t("idx.range_help", lang), border=True)
        cols[2].metric(t("idx.cv", lang), _fmt(2)(idx.spread["cv"]), help=t("idx.cv_help", lang), border=True)
        st.caption(t("idx.classes", lang, town=_fmt(1)(float(town["town"])), rural=_fmt(1)(float(town["rural"])),
                     all=_fmt(1)(float(town["all"]))) + " " + t("idx.caption", lang, n=len(idx.indicators)))
        _drill(idx, ws, rows, event, lang)
        # built only while open (a rerun when it opens): most visits never look, and the table cost
        # about a fifth of the overview's server time on every run
        sens_box = st.expander(t("idx.sensitivity", lang), key=SENSITIVITY_KEY, on_change="rerun")
        if sens_box.open:
            with sens_box:
                table = sensitivity_rows(ch.path, ch.overrides, travel, lang)
                st.dataframe(table.style.format({c: _fmt(0) for c in table.columns}))
                st.caption(t("idx.sens_note", lang))
        with st.expander(t("idx.method_title", lang)):
            st.markdown("\n".join(f"- {line}" for line in method_lines(ws.spec, idx.indicators, idx.floor, lang)))
    return idx


def _drill(idx: IndexResult, ws: Workspace, rows: pd.DataFrame, event: Any, lang: str) -> None:
    """Show the components of the district picked in the table (or in the selectbox) and the way to its map."""
    names = rows[t("idx.col.district", lang)].tolist()
    ids = dict(zip(idx.by_district["district_name"].astype(str), idx.by_district["district_id"].astype(str),
                   strict=True))
    ss = st.session_state
    picked = list(getattr(getattr(event, "selection", None), "rows", []) or [])
    # a row picked in the table becomes the district once (the selectbox may change it afterwards)
    if picked and 0 <= int(picked[0]) < len(names) and ss.get(_PICKED) != names[int(picked[0])]:
        ss[DISTRICT_KEY] = names[int(picked[0])]
    ss[_PICKED] = names[int(picked[0])] if picked and 0 <= int(picked[0]) < len(names) else None
    if ss.get(DISTRICT_KEY) not in names:
        ss[DISTRICT_KEY] = names[-1] if names else None  # the lowest index first: where to look
    st.markdown(f"**{t('idx.drill', lang)}**")
    district = st.selectbox(t("word.district", lang), names, key=DISTRICT_KEY, placeholder=t("widget.choose_option", lang))
    if district is None:
        return
    did = ids[str(district)]
    comp = component_rows(idx, ws, did, lang)
    st.dataframe(comp.style.format({t("idx.comp.score", lang): _fmt(1), t("idx.comp.share", lang): _fmt(1, "%")}),
                 hide_index=True)
    services = list(dict.fromkeys(i.service for i in idx.indicators))
    worst = idx.district_components(did).sort_values("score", kind="stable")
    first = str(worst["service"].iloc[0]) if len(worst) else services[0]
    if ss.get(SERVICE_KEY) not in services:
        ss[SERVICE_KEY] = first
    left, right = st.columns([3, 2], vertical_alignment="bottom")
    with left:
        service = st.selectbox(t("word.service", lang), services, key=SERVICE_KEY, placeholder=t("widget.choose_option", lang),
                               format_func=lambda s: ws.spec.services[s].title(lang))
    if right.button(t("idx.open_service", lang), key=OPEN_KEY, icon=":material/map:"):
        _open_district(ws, did, str(service))
