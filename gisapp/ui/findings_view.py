"""The key findings (主要结论) at the top of the overview page: four cards and a few sentences.

:func:`show_findings` draws :func:`gisapp.metrics.findings.findings` of the chosen service: the
people beyond the standard, the district with the lowest coverage, the town / country coverage
ratio and the capacity shortfall (the sum of the short districts, never netted against
surpluses), then the sentences, one of which lists each district's people beyond the standard.
Every figure is the figure of the district table below it (the same whole people).
"""

from __future__ import annotations

import math
import re
from typing import Final

import streamlit as st

from gisapp.i18n import t
from gisapp.metrics.findings import ServiceFindings, findings, fmt_people, fmt_share
from gisapp.metrics.service import ServiceResult
from gisapp.ui import state
from gisapp.workspace import Workspace

__all__ = ["CONTAINER_KEY", "card_values", "cached_findings", "show_findings"]

#: Key of the container that holds the findings (tests find it by this key).
CONTAINER_KEY: Final = "findings"

StateKey = tuple[str, str, str, float | None, str]

_MARKDOWN = re.compile(r"([\\`*_\[\]<>#|~$])")


def _escape(text: str) -> str:
    """Return ``text`` with the characters Markdown would read as markup escaped (names come from files)."""
    return _MARKDOWN.sub(r"\\\1", text)


@st.cache_resource(max_entries=16, show_spinner=False)
def cached_findings(path: str, overrides_json: str, service: str, value: float | None,
                    travel: str = "straight_line") -> ServiceFindings:
    """Return the findings of a service for these sidebar choices (computed once per choice)."""
    ws = state.load_ws(path, overrides_json)
    return findings(ws, state.service_result(path, overrides_json, service, value, travel))


def card_values(f: ServiceFindings, lang: str) -> dict[str, str]:
    """Return the four cards' values, keyed by the i18n key of their labels.

    Examples
    --------
    >>> import pandas as pd
    >>> from gisapp.config.spec import ServiceSpec, Standard
    >>> svc = ServiceSpec(name="c", kinds=("village_clinic",), standard=Standard(distance_m=150),
    ...                   capacity="doctors", norm_per_1000=2.0)
    >>> d = pd.DataFrame({"district_name": ["甲区"], "population": [500], "beyond": [410]})
    >>> f = ServiceFindings(service=svc, districts=d, worst="甲区", worst_pct=18.0, most="甲区", most_beyond=410,
    ...                     town_pct=float("nan"), rural_pct=18.0, ratio=float("nan"), capacity="doctors",
    ...                     shortfall=1.98, short_districts=1, places=None)
    >>> card_values(f, "zh")
    {'fv.beyond': '410', 'fv.worst': '甲区 · 18.0%', 'fv.ratio': '—', 'fv.shortfall': '2.0 名医生'}
    """
    return {
        "fv.beyond": fmt_people(f.beyond),
        "fv.worst": f"{f.worst} · {fmt_share(f.worst_pct)}" if f.worst else "—",
        "fv.ratio": f"{f.ratio:.2f}" if math.isfinite(f.ratio) else "—",
        "fv.shortfall": (f"{f.shortfall:,.1f} {f.capacity_unit(lang)}" if f.shortfall is not None
                         else "—"),
    }


def show_findings(ws: Workspace, res: ServiceResult | StateKey, lang: str) -> ServiceFindings:
    """Draw the key findings of a service and return them.

    ``res`` is the service's result, or the sidebar's state key (``state.choice().key``), in
    which case the findings are cached per choice.
    """
    f = cached_findings(*res) if isinstance(res, tuple) else findings(ws, res)
    help_ = {"fv.beyond": t("fv.beyond_help", lang), "fv.worst": t("fv.worst_help", lang),
             "fv.ratio": t("fv.ratio_help", lang),
             "fv.shortfall": t("fv.shortfall_help", lang) if f.shortfall is not None else t("fv.no_norm", lang)}
    with st.container(key=CONTAINER_KEY, border=True):
        st.subheader(t("fv.title", lang))
        vals = card_values(f, lang)
        for col, (k, v) in zip(st.columns(len(vals)), vals.items(), strict=True):
            col.metric(t(k, lang), v, help=help_[k])
        st.markdown("\n".join(f"- {_escape(s)}" for s in f.sentences(lang) if s))
    return f
