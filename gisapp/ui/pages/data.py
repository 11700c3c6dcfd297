"""Data page: the workspace in use, each layer's provenance, and uploads of the user's own layers."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from gisapp._errors import GisAppError, Problem, WorkspaceError
from gisapp.i18n import Term, fmt_number, t
from gisapp.io import uploads as stored
from gisapp.ui import auth, frame, keys, state, tables, uploads
from gisapp.workspace import Workspace

_NONE = "—"


def _reason(exc: Exception) -> object:
    """Return what went wrong as a message parameter: an engine error in the message's language."""
    return exc if isinstance(exc, GisAppError) else f"{type(exc).__name__}: {exc}"


def _refuse(problems: list[Problem], lang: str) -> None:
    frame.show_problems(problems, lang, title_key="data.upload_failed")
    st.info(t("data.kept_previous", lang), icon=":material/undo:")


def _try_apply(ch: state.Choice, candidate: str, file: str) -> bool:
    """Load the workspace with ``candidate`` uploads; keep it only if it loads without problems."""
    lang = ch.lang
    if not auth.can("upload"):  # checked in the action too, not only by hiding the controls
        st.error(t("auth.refused", lang))
        return False
    try:
        with st.spinner(t("data.validating", lang)):
            ws = state.load_ws(ch.path, candidate)
            # the current service must run on the new data too
            state.service_result(ch.path, candidate, ch.service, None)
    except WorkspaceError as exc:
        _refuse(exc.problems, lang)
        return False
    except Exception as exc:  # noqa: BLE001 - any failure keeps the previous data and is shown
        _refuse([Problem(file, "", "upload_unusable", {"reason": _reason(exc)})], lang)
        return False
    st.session_state[keys.UPLOADS] = candidate
    st.success(t("data.upload_ok", lang, n=fmt_number(len(ws.facilities), lang),
                 people=fmt_number(float(ws.grid.pop.sum()), lang)))
    return True


def field_label(field: str, lang: str) -> str:
    """Return the label of a field of a layer's mapping (``field.<name>``; one the app does not know as it is)."""
    return Term(f"field.{field}", field).text(lang)


def _fields_text(fields: dict[str, object], lang: str) -> str:
    """Return a layer's field mapping as "label = column" items in ``lang`` (the columns as in the file)."""
    sep = "；" if lang == "zh" else "; "
    items = []
    for field, column in fields.items():
        if isinstance(column, list | tuple):  # capacities: each capacity's column
            column = "、".join(str(c) for c in column) if lang == "zh" else ", ".join(str(c) for c in column)
        items.append(f"{field_label(field, lang)} = {column}")
    return sep.join(items)


def layer_rows(ws: Workspace, lang: str) -> pd.DataFrame:
    """Return one row per layer for the data page: its name, status, file, fields, what it is and its source.

    Every text is in ``lang``: the layer by its label (``layer.<role>``), never its key; the field
    mapping by the fields' labels; what it is and its source as the workspace gives them in ``lang``.
    """
    rows = []
    for role, lay in ws.spec.layers.items():
        prov = lay.provenance
        rows.append({"layer": frame.layer_label(role, lang), "status": t(f"word.{prov.status}", lang),
                     "file": lay.path.name, "fields": _fields_text(dict(lay.fields), lang),
                     "about": prov.about(lang), "source": prov.source_text(lang)})
    return pd.DataFrame(rows)


def _workspace_section(ws: Workspace, ch: state.Choice) -> None:
    lang = ch.lang
    st.subheader(t("data.workspace", lang))
    c1, c2, c3, c4 = st.columns(4)
    c1.metric(t("data.population_total", lang), fmt_number(float(ws.grid.pop.sum()), lang), border=True)
    c2.metric(t("data.districts", lang), fmt_number(len(ws.districts), lang), border=True)
    c3.metric(t("data.facilities", lang), fmt_number(len(ws.facilities), lang), border=True)
    c4.metric(t("data.cells", lang), fmt_number(ws.grid.n, lang), border=True)
    st.caption(f"{ws.spec.title(lang)} · `{ws.spec.path.name}` · {t('data.crs', lang)}: {ws.crs.to_string()} · "
               f"{t('data.resolution', lang)}: {ws.grid.res_m:g} {t('unit.m', lang)} · "
               f"{t('data.outside', lang)}: {fmt_number(ws.grid.outside_pop, lang)}")
    st.subheader(t("data.provenance", lang))
    tables.show(layer_rows(ws, lang), {"layer": ("data.layer", None), "status": ("data.status", None),
                                       "file": ("prob.file", None), "fields": ("data.col.fields", None),
                                       "about": ("data.about", None), "source": ("word.source", None)},
                lang, static=True)
    kinds = ws.facilities["kind"].value_counts()
    st.caption(" · ".join(f"{tables.kind_label(str(k), lang)} {fmt_number(int(v), lang)}" for k, v in kinds.items()))
    with st.expander(t("data.services", lang)):
        svc_rows = [{"name": s.title(lang), "standard": s.standard.label(lang)
                     + (f" / {s.rural_standard.label(lang)}" if s.rural_standard else ""),
                     "capacity": t(f"cap.{s.capacity}", lang) if s.capacity else "",
                     "norm": f"{s.norm_per_1000:g}" if s.norm_per_1000 else "",
                     "source": "; ".join(v for _, v in s.source_items(lang))} for s in ws.spec.services.values()]
        tables.show(pd.DataFrame(svc_rows), {"name": ("word.service", None), "standard": ("word.standard", None),
                                             "capacity": ("word.capacity", None),
                                             "norm": ("metric.norm_per_1000", None),
                                             "source": ("word.source", None)}, lang, key="services_table")


def _facilities_upload(ch: state.Choice) -> None:
    lang = ch.lang
    st.caption(t("data.fac_help", lang))
    up = frame.file_uploader(t("data.fac_file", lang), uploads.FACILITY_TYPES, key=keys.UP_FAC_FILE, lang_=lang)
    crs = st.selectbox(t("data.coord_system", lang), uploads.COORD_SYSTEMS, key=keys.UP_FAC_CRS,
                       placeholder=frame.choose_one(lang), format_func=lambda c: t(f"crs.{c}", lang))
    if up is None:
        return
    path = stored.save_upload(up.name, up.getvalue(), folder=uploads.session_folder())
    try:
        columns = stored.read_columns(path)
    except Exception as exc:  # noqa: BLE001 - an unreadable file is a problem shown to the user
        _refuse([Problem(up.name, "", "upload_unreadable", {"reason": _reason(exc)})], lang)
        return
    is_table = stored.is_table(path)
    st.markdown(f"**{t('data.mapping', lang)}**")
    options = [_NONE, *columns]
    mapping: dict[str, str | None] = {}
    cols = st.columns(4)
    i = 0
    for field, required, cands in uploads.FACILITY_FIELDS:
        if field in ("lon", "lat") and not is_table:
            continue
        g = uploads.guess(columns, cands)
        label = t(f"field.{field}", lang) + (" *" if required else "")
        v = cols[i % 4].selectbox(label, options, index=options.index(g) if g else 0,
                                  key=f"{keys.UP_FAC_FIELD}{field}", placeholder=frame.choose_one(lang))
        mapping[field] = None if v == _NONE else v
        i += 1
    capacity: dict[str, str | None] = {}
    for cap, cands in uploads.CAPACITY_FIELDS:
        g = uploads.guess(columns, cands)
        v = cols[i % 4].selectbox(t(f"cap.{cap}", lang), options, index=options.index(g) if g else 0,
                                  key=f"{keys.UP_FAC_FIELD}{cap}", placeholder=frame.choose_one(lang))
        capacity[cap] = None if v == _NONE else v
        i += 1
    unmapped = [t(f"cap.{cap}", lang) for cap, col in capacity.items() if col is None]
    if unmapped:  # the engine reads these capacities as 0: say so before the user applies
        st.info(t("data.capacity_zero", lang, caps="、".join(unmapped) if lang == "zh" else ", ".join(unmapped)))
    if not st.button(t("data.apply", lang), key=keys.UP_FAC_APPLY, type="primary", icon=":material/upload:"):
        return
    missing = [f for f, req, _ in uploads.FACILITY_FIELDS if req and (is_table or f not in ("lon", "lat"))
               and not mapping.get(f)]
    if missing:
        _refuse([Problem(up.name, f"fields.{f}", "upload_unmapped", {"field": Term(f"field.{f}", f)})
                 for f in missing], lang)
        return
    try:
        target, fields = stored.prepare_facilities(path, mapping, capacity)
    except Exception as exc:  # noqa: BLE001
        _refuse([Problem(up.name, "", "upload_unreadable", {"reason": _reason(exc)})], lang)
        return
    if _try_apply(ch, uploads.add_override(state.overrides(), "facilities", target, crs=crs, fields=fields), up.name):
        st.rerun()


def _population_upload(ch: state.Choice, ws: Workspace) -> None:
    lang = ch.lang
    st.caption(t("data.pop_help", lang))
    up = frame.file_uploader(t("data.pop_file", lang), uploads.POPULATION_TYPES, key=keys.UP_POP_FILE, lang_=lang)
    choices = ["file", "WGS84", "CGCS2000", ws.crs.to_string()]
    crs = st.selectbox(t("data.coord_system", lang), choices, key=keys.UP_POP_CRS, placeholder=frame.choose_one(lang),
                       format_func=lambda c: t(f"crs.{c}", lang) if c in ("file", "WGS84", "CGCS2000") else c)
    if up is None:
        return
    if not st.button(t("data.apply", lang), key=keys.UP_POP_APPLY, type="primary", icon=":material/upload:"):
        return
    path = stored.save_upload(up.name, up.getvalue(), folder=uploads.session_folder())
    if _try_apply(ch, uploads.add_override(state.overrides(), "population", path,
                                           crs=None if crs == "file" else crs, fields=None), up.name):
        st.rerun()


def render() -> None:
    """Draw the page."""
    ch = state.choice()
    lang = ch.lang
    ws = state.load_ws(ch.path, ch.overrides)
    st.title(t("page.data", lang))
    frame.banner(ws, lang)
    _workspace_section(ws, ch)

    st.subheader(t("data.upload", lang))
    if not auth.can("upload"):
        st.info(t("auth.viewer_only", lang), icon=":material/visibility:")
        return
    active = uploads.describe(state.overrides())
    if active:
        st.info(t("data.active", lang, files=", ".join(f"{frame.layer_label(a['role'], lang)}: {a['file']}"
                                                       for a in active)))
        if st.button(t("data.reset", lang), key=keys.UP_RESET, icon=":material/restart_alt:"):
            st.session_state[keys.UPLOADS] = ""
            st.rerun()
    tab_f, tab_p = st.tabs([t("data.tab_facilities", lang), t("data.tab_population", lang)])
    with tab_f:
        _facilities_upload(ch)
    with tab_p:
        _population_upload(ch, ws)
    st.caption(t("data.stored_note", lang, folder=Path(stored.UPLOAD_DIR).name))


render()
