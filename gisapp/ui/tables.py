"""Show engine tables with translated headers and numbers formatted for the language (sortable)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd
import streamlit as st

from gisapp.i18n import Term, fmt_number, fmt_pct, t


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


def district_frame(dist: pd.DataFrame, lang: str, *, capacity: bool) -> Any:
    """Show coverage (and capacity) by district with a total row."""
    d = dist.copy()
    pop, cov = float(d["population"].sum()), float(d["covered"].sum())
    total: dict[str, object] = {"district_id": "", "district_name": t("class.all", lang), "population": pop,
                                "covered": cov, "uncovered": float(d["uncovered"].sum()),
                                "covered_pct": 100.0 * cov / pop if pop > 0 else float("nan")}
    if capacity:
        cap = float(d["capacity"].sum())
        total["capacity"] = cap
        total["capacity_per_1000"] = 1000.0 * cap / pop if pop > 0 else float("nan")
        total["norm_per_1000"] = float(d["norm_per_1000"].iloc[0]) if len(d) else float("nan")
        total["facilities"] = int(d["facilities"].sum())
    d = pd.concat([d, pd.DataFrame([total])], ignore_index=True)
    columns: dict[str, tuple[str, Callable[[Any], str] | None]] = {
        "district_name": ("word.district", None),
        "population": ("word.population", _num(lang)),
        "covered": ("word.covered", _num(lang)),
        "uncovered": ("word.uncovered", _num(lang)),
        "covered_pct": ("word.covered_pct", _pct(lang)),
    }
    if capacity:
        columns.update({"facilities": ("word.facilities", _num(lang)),
                        "capacity": ("word.capacity", _num(lang)),
                        "capacity_per_1000": ("metric.capacity_per_1000", _num(lang, 2))})
        if d["norm_per_1000"].notna().any():
            columns["norm_per_1000"] = ("metric.norm_per_1000", _num(lang, 2))
    return show(d, columns, lang, key="district_table")


def class_frame(cls: pd.DataFrame, lang: str) -> Any:
    """Show coverage by town and country (and the Degree of Urbanisation classes)."""
    d = cls.copy()
    d["name"] = [t(f"class.{c}", lang) for c in d["class"]]
    d = d.set_index("class").loc[["town", "country", "urban_centre", "urban_cluster", "all"]].reset_index()
    return show(d, {"name": ("word.class", None), "population": ("word.population", _num(lang)),
                    "covered": ("word.covered", _num(lang)), "uncovered": ("word.uncovered", _num(lang)),
                    "covered_pct": ("word.covered_pct", _pct(lang))}, lang, key="class_table")


def kind_label(kind: str, lang: str) -> str:
    """Return the label of a facility kind (``kind.<code>``; a kind the app does not know as it is)."""
    return Term(f"kind.{kind}", kind).text(lang)


def num(lang: str, digits: int = 0) -> Callable[[Any], str]:
    """Return a formatter of numbers for ``lang``."""
    return _num(lang, digits)


def pct(lang: str) -> Callable[[Any], str]:
    """Return a formatter of percentages for ``lang``."""
    return _pct(lang)
