"""Report page: choose services, write the HTML, Excel, GeoPackage and PDF reports, download them.

Calls the same :func:`gisapp.reports.write_report` as ``python -m gisapp report`` into a
temporary folder (:func:`gisapp.io.uploads.written_files`, which hands the files back as bytes),
with a Streamlit progress bar fed by its ``on_progress`` callback.  The finished files are kept
(as bytes) in the session so the download buttons survive reruns.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

import streamlit as st

from gisapp.config.spec import Standard
from gisapp.i18n import t
from gisapp.io import uploads as outputs
from gisapp.metrics.places import has_places
from gisapp.planning.scenario import Edit
from gisapp.reports.write import FILE_NAMES, write_report
from gisapp.ui import frame, planning_state, state

#: Widget and session-state keys of this page.
SCENARIOS_KEY: Final = "report_scenarios"
SERVICES_KEY: Final = "report_services"
GENERATE_KEY: Final = "report_generate"
FILES_KEY: Final = "_report_files"  #: {"params": (...), "files": {file name: bytes}}
DOWNLOAD_KEY: Final = "report_download_"  #: prefix, + format ("html", "xlsx", "gpkg", "pdf")

MIME: Final = {
    "html": "text/html",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "gpkg": "application/geopackage+sqlite3",
    "pdf": "application/pdf",
}


def generate(path: str, overrides: str, services: list[str], lang: str, *, travel: str = "straight_line",
             standards: dict[str, Standard] | None = None,
             scenarios: dict[str, list[Edit]] | None = None) -> dict[str, bytes]:
    """Write the reports into a temporary folder, with a progress bar; return {file name: bytes}."""
    ws = state.load_ws(path, overrides)
    bar = st.progress(0.0, text=t("rep.step.load", lang))

    def on_progress(fraction: float, message: str) -> None:
        bar.progress(min(max(fraction, 0.0), 1.0), text=message)

    def write(folder: Path) -> list[Path]:
        return write_report(ws, folder, services=services, lang=lang, progress=False, on_progress=on_progress,
                            travel=travel, standards=standards, scenarios=scenarios or None)

    files = outputs.written_files(write, prefix="gisapp-report-")
    bar.empty()
    return files


def render() -> None:
    """Draw the page."""
    ch = state.choice()
    lang = ch.lang
    ws = frame.load_current()
    st.title(t("rep.page.title", lang))
    st.caption(t("rep.page.intro", lang))
    frame.banner(ws, lang)
    if not has_places(ws):
        st.caption(t("rep.places_none_layer", lang))
    names = list(ws.spec.services)
    ss = st.session_state
    if SERVICES_KEY not in ss or not set(ss[SERVICES_KEY]) <= set(names):
        ss[SERVICES_KEY] = names
    chosen = st.multiselect(t("rep.page.services", lang), names, key=SERVICES_KEY, placeholder=frame.choose_many(lang),
                            format_func=lambda s: ws.spec.services[s].title(lang))
    # the sidebar's travel mode and its standard (for the service it applies to) carry over
    override = state.standard_for(ws.spec.services[ch.service], ch.value) if ch.service in names else None
    standards = {ch.service: override} if override is not None else {}
    if override is not None:
        st.caption(t("rep.page.override", lang, service=ws.spec.services[ch.service].title(lang),
                     standard=override.label(lang)))
    # the scenario store of the planning page: the latest version of each saved scenario
    store = planning_state.store(planning_state.user_folder(ws.spec.name))
    latest = {v.name: v.version for v in store.list()}
    picked = st.multiselect(t("rep.page.scenarios", lang), list(latest), key=SCENARIOS_KEY,
                            placeholder=frame.choose_many(lang),
                            help=t("rep.page.scenarios_help", lang)) if latest else []
    versions = tuple((n, latest[n]) for n in picked if n in latest)
    params = (ch.path, ch.overrides, tuple(chosen), lang, ch.travel, ch.service, ch.value, versions)
    if st.button(t("rep.page.generate", lang), key=GENERATE_KEY, type="primary", disabled=not chosen):
        scenarios = {n: list(store.load(n, v).edits) for n, v in versions}
        ss[FILES_KEY] = {"params": params, "files": generate(ch.path, ch.overrides, list(chosen), lang,
                                                             travel=ch.travel, standards=standards,
                                                             scenarios=scenarios)}
    if not chosen:
        st.info(t("rep.page.none", lang))
    done = ss.get(FILES_KEY)
    if done and done["params"] == params:
        st.success(t("rep.page.ready", lang))
        cols = st.columns(len(FILE_NAMES))
        for col, (fmt, name) in zip(cols, FILE_NAMES.items(), strict=True):
            if name in done["files"]:
                col.download_button(t("rep.page.download", lang, file=name), done["files"][name], file_name=name,
                                    mime=MIME[fmt], key=DOWNLOAD_KEY + fmt, on_click="ignore",
                                    width="stretch")


#: The page function (the router runs this file; ``page`` is the same function by another name).
page = render

render()
