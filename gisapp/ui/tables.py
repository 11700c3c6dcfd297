"""Show engine tables with translated headers and numbers formatted for the language (sortable)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st
from numpy.typing import NDArray

from gisapp.i18n import Term, fmt_number, fmt_pct, t
from gisapp.metrics.served import ServedWithinCapacity, served_total_text, served_whole
from gisapp.metrics.tables import capacity_totals


def _num(lang: str, digits: int = 0) -> Callable[[Any], str]:
    return lambda v: fmt_number(float(v), lang, digits=digits) if pd.notna(v) else "—"


def _pct(lang: str) -> Callable[[Any], str]:
    return lambda v: fmt_pct(float(v), lang) if pd.notna(v) else "—"


def show(df: pd.DataFrame, columns: dict[str, tuple[str, Callable[[Any], str] | None]], lang: str,
         *, static: bool = False, **kwargs: Any) -> Any:
    """Show ``df[columns]`` renamed to the translated labels, values formatted but still sortable.

    ``columns`` maps a column to (i18n key, formatter or None).  Extra keyword arguments go to
    ``st.dataframe`` (e.g. ``key``, ``on_select``); ``static`` shows a plain table whose long
    texts wrap (``st.table``).
    """
    cols = [c for c in columns if c in df.columns]
    out = df[cols].rename(columns={c: t(columns[c][0], lang) for c in cols})
    fmts: dict[Any, str | Callable[[object], str] | None] = {
        t(columns[c][0], lang): columns[c][1] for c in cols if columns[c][1] is not None}
    if static:
        return st.table(out.style.format(fmts).hide(axis="index"))
    return st.dataframe(out.style.format(fmts), hide_index=True, **kwargs)


def whole_people(values: Any) -> NDArray[np.int64]:
    """Return people as whole numbers whose rows add up to the rounded total (largest remainder)."""
    try:
        from gisapp.metrics.people import whole
    except ImportError:  # pragma: no cover - before gisapp.metrics.people exists
        return np.rint(np.nan_to_num(np.asarray(values, dtype=np.float64))).astype(np.int64)
    return whole(values)


def people(lang: str) -> Callable[[Any], str]:  # noqa: ARG001 - the same signature as num and pct
    """Return a formatter of whole people: thousands separators, no decimals, no unit (the header has it)."""
    return lambda v: f"{int(v):,}" if pd.notna(v) else "—"


def amount(lang: str) -> Callable[[Any], str]:
    """Return a formatter of a capacity shortfall or surplus: one decimal, a plain 0 when there is none."""
    return lambda v: "—" if pd.isna(v) else "0" if float(v) == 0 else fmt_number(float(v), lang, digits=1)


def district_columns(capacity: str | None, *, norm: bool) -> dict[str, str]:
    """Return the columns of the overview's district table (column -> i18n key of its short header).

    People with their unit in the header, coverage, and with a capacity its facilities, the
    capacity, per 1,000 people and, with a norm, the shortfall and surplus (capacity units).
    """
    cols = {"district_name": "ov.col.district", "population": "ov.col.population", "covered": "ov.col.covered",
            "uncovered": "ov.col.uncovered", "covered_pct": "ov.col.covered_pct"}
    if capacity:
        cols.update({"facilities": "ov.col.facilities", "capacity": f"ov.col.cap.{capacity}",
                     "capacity_per_1000": "ov.col.per_1000"})
        if norm:
            cols.update({"shortfall": f"ov.col.short.{capacity}", "surplus": f"ov.col.plus.{capacity}"})
    return cols


def district_rows(dist: pd.DataFrame, lang: str, *, capacity: str | None) -> pd.DataFrame:
    """Return the district table with whole people and a total row (shortfalls and surpluses added apart).

    ``dist`` is :func:`gisapp.metrics.tables.coverage_by_district` joined with the columns of
    :func:`gisapp.metrics.tables.capacity_by_district`.
    """
    d = dist.copy()
    d["covered"] = whole_people(dist["covered"].to_numpy(float))
    d["uncovered"] = whole_people(dist["uncovered"].to_numpy(float))
    d["population"] = d["covered"] + d["uncovered"]
    pop_exact, cov_exact = float(dist["population"].sum()), float(dist["covered"].sum())
    total: dict[str, object] = {"district_id": "", "district_name": t("class.all", lang),
                                "population": int(d["population"].sum()), "covered": int(d["covered"].sum()),
                                "uncovered": int(d["uncovered"].sum()),
                                "covered_pct": 100.0 * cov_exact / pop_exact if pop_exact > 0 else float("nan")}
    if capacity:
        cap = float(d["capacity"].sum())
        base = float(dist["norm_population"].sum()) if "norm_population" in dist.columns else pop_exact
        total.update(capacity=cap, facilities=int(d["facilities"].sum()),
                     capacity_per_1000=1000.0 * cap / base if base > 0 else float("nan"))
        if "shortfall" in d.columns:
            tot = capacity_totals(d)
            total.update(shortfall=tot["shortfall"], surplus=tot["surplus"])
    return pd.concat([d, pd.DataFrame([total])], ignore_index=True)


def district_frame(dist: pd.DataFrame, lang: str, *, capacity: str | None, rows: pd.DataFrame | None = None) -> Any:
    """Show coverage (and capacity, shortfall and surplus) by district with a total row.

    People are whole numbers, each unit is in its column's header once; the total row adds the
    districts' shortfalls and, apart, their surpluses.  ``rows``: :func:`district_rows` of
    ``dist`` already built (a page keeps them per choice and language).
    """
    norm = "norm_per_1000" in dist.columns and bool(dist["norm_per_1000"].notna().any())
    d = district_rows(dist, lang, capacity=capacity) if rows is None else rows
    fmt: dict[str, Callable[[Any], str]] = {
        "population": people(lang), "covered": people(lang), "uncovered": people(lang),
        "covered_pct": _pct(lang), "facilities": people(lang), "capacity": _num(lang),
        "capacity_per_1000": _num(lang, 2), "shortfall": amount(lang), "surplus": amount(lang)}
    cols = district_columns(capacity, norm=norm)
    return show(d, {c: (key, fmt.get(c)) for c, key in cols.items()}, lang, key="district_table")


def served_rows(served: ServedWithinCapacity, lang: str) -> pd.DataFrame:
    """Return people served within capacity by district in whole people, with a total row (issue 11)."""
    d = served_whole(served)
    pop = float(served.population)
    total = {"district_id": "", "district_name": t("class.all", lang), "population": int(d["population"].sum()),
             "capacity_people": int(d["capacity_people"].sum()), "served": int(d["served"].sum()),
             "unserved": int(d["unserved"].sum()),
             "served_pct": 100.0 * served.served / pop if pop > 0 else float("nan")}
    return pd.concat([d, pd.DataFrame([total])], ignore_index=True)


def served_section(served: ServedWithinCapacity, lang: str, *, rows: pd.DataFrame | None = None) -> None:
    """Show people served within capacity (AccessMod style): the district table, the totals and every notice.

    ``rows``: :func:`served_rows` already built (a page keeps them per choice and language).
    """
    st.subheader(t("served.title", lang))
    if served.applicable:
        st.caption(t("served.about", lang))
        cols = {"district_name": ("col.district_name", None), "population": ("col.population", people(lang)),
                "capacity_people": ("col.capacity_people", people(lang)), "served": ("col.served", people(lang)),
                "unserved": ("col.unserved", people(lang)), "served_pct": ("col.served_pct", _pct(lang))}
        show(served_rows(served, lang) if rows is None else rows, cols, lang, key="served_table")
        st.caption(served_total_text(served, lang))
    for line in served.texts(lang):
        st.caption(line)


def class_rows(cls: pd.DataFrame, lang: str) -> pd.DataFrame:
    """Return the class table in reading order: the classes, the town subtotal, all; whole people.

    Columns ``class, row, name, population, covered, uncovered, covered_pct, about``: ``name``
    marks the subtotal as such and ``about`` says what each row is.
    """
    order = ["urban_centre", "urban_cluster", "town", "rural", "all"]
    d = cls.set_index("class").loc[[c for c in order if c in set(cls["class"])]].reset_index()
    classes = d["row"] == "class"
    for col in ("covered", "uncovered"):  # the classes add up to the total; the subtotal to its classes
        vals = np.zeros(len(d), dtype=np.int64)
        vals[classes.to_numpy()] = whole_people(d.loc[classes, col].to_numpy(float))
        idx = {c: i for i, c in enumerate(d["class"])}
        if "town" in idx:
            vals[idx["town"]] = sum(vals[idx[c]] for c in ("urban_centre", "urban_cluster") if c in idx)
        if "all" in idx:
            vals[idx["all"]] = int(vals[classes.to_numpy()].sum())
        d[col] = vals
    d["population"] = d["covered"] + d["uncovered"]
    d["name"] = [t("class.town_subtotal", lang) if c == "town" else t(f"class.{c}", lang) for c in d["class"]]
    d["about"] = [t(f"class.about.{c}", lang) for c in d["class"]]
    return d


def class_frame(cls: pd.DataFrame, lang: str, *, rows: pd.DataFrame | None = None) -> Any:
    """Show coverage by Degree of Urbanisation class, the town subtotal and all, each row explained.

    ``rows``: :func:`class_rows` of ``cls`` already built (a page keeps them per choice and language).
    """
    d = class_rows(cls, lang) if rows is None else rows
    return show(d, {"name": ("ov.col.class", None), "population": ("ov.col.population", people(lang)),
                    "covered": ("ov.col.covered", people(lang)), "uncovered": ("ov.col.uncovered", people(lang)),
                    "covered_pct": ("ov.col.covered_pct", _pct(lang)), "about": ("ov.col.about", None)},
                lang, static=True)  # a plain table: the explanations wrap


def kind_label(kind: str, lang: str) -> str:
    """Return the label of a facility kind (``kind.<code>``; a kind the app does not know as it is)."""
    return Term(f"kind.{kind}", kind).text(lang)


def num(lang: str, digits: int = 0) -> Callable[[Any], str]:
    """Return a formatter of numbers for ``lang``."""
    return _num(lang, digits)


def pct(lang: str) -> Callable[[Any], str]:
    """Return a formatter of percentages for ``lang``."""
    return _pct(lang)
