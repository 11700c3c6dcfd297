"""The frame shared by every page: language, service and standard in the sidebar, problem display.

Everything the frame shows comes from the catalogues of :mod:`gisapp.i18n`, including the texts
Streamlit draws itself inside our widgets: the placeholders of select boxes (``placeholder=``,
see :func:`choose_one` / :func:`choose_many`) and the file uploader's button and instructions,
which Streamlit offers no argument for: :func:`localise_widgets` injects a stylesheet, per
language, that hides Streamlit's English texts and shows the catalogue's (``::after``).
"""

from __future__ import annotations

import copy
import re
import threading
import weakref
from collections.abc import Iterator, Sequence
from typing import Any

import folium
import pandas as pd
import streamlit as st
import streamlit_folium as _sf
from streamlit.navigation.page import StreamlitPage
from streamlit.runtime.uploaded_file_manager import UploadedFile

from gisapp._errors import GisAppError, Problem, WorkspaceError
from gisapp.config.spec import ServiceSpec
from gisapp.i18n import LANGS, Term, t
from gisapp.metrics.service import standard_minutes
from gisapp.travel import terrain as terrain
from gisapp.ui import keys, state
from gisapp.workspace import Workspace


def lang() -> str:
    """Return the chosen language ("zh" by default)."""
    return str(st.session_state.get(keys.LANG, "zh"))


def lang_label(code: str) -> str:
    """Return the name of a language in that language (中文, English)."""
    return t(f"lang.name_{code}", code)


# --- texts shown without server folders ----------------------------------------------------------

#: the folders of an absolute path (POSIX or Windows); a URL's "//" and "a/b" words do not match
_FOLDERS = re.compile(r"(?<![\w:/\\])(?:[A-Za-z]:)?[\\/](?:[^\s\\/'\"“”‘’（）()，。：；;,]+[\\/])+")


def without_folders(text: str) -> str:
    """Return ``text`` with every absolute path shortened to its file name (no server folders).

    Examples
    --------
    >>> without_folders("文件 /srv/data/tiny/missing.csv 不存在。")
    '文件 missing.csv 不存在。'
    >>> without_folders("see https://example.org/a/b and CSV/XLSX, 医共体/教共体")
    'see https://example.org/a/b and CSV/XLSX, 医共体/教共体'
    """
    return _FOLDERS.sub("", text)


def error_text(exc: GisAppError, lang_: str) -> str:
    """Return an engine error's message in ``lang_``, file names only."""
    if isinstance(exc, WorkspaceError):
        return without_folders(exc.text(lang_, full_path=False))
    return without_folders(exc.text(lang_))


def problem_rows(problems: Sequence[Problem], lang_: str) -> pd.DataFrame:
    """Return the table of problems: file name, field, problem and fix, in ``lang_``."""
    return pd.DataFrame([{t("prob.file", lang_): p.file_name, t("prob.field", lang_): p.field,
                          t("prob.message", lang_): without_folders(p.text(lang_)),
                          t("prob.fix", lang_): without_folders(p.fix_text(lang_))} for p in problems],
                        columns=[t(k, lang_) for k in ("prob.file", "prob.field", "prob.message", "prob.fix")])


def show_problems(problems: Sequence[Problem], lang_: str, *, title_key: str = "msg.problems") -> None:
    """Show every validation problem: one error box and a table of file, field, problem and fix."""
    st.error(t(title_key, lang_, n=len(problems)))
    st.dataframe(problem_rows(problems, lang_), hide_index=True)


def show_error(exc: GisAppError, lang_: str) -> None:
    """Show an engine error: its problems as a table for a workspace error, else its message."""
    if isinstance(exc, WorkspaceError) and exc.problems:
        show_problems(exc.problems, lang_)
    else:
        st.error(error_text(exc, lang_))


# --- Streamlit's own texts in the chosen language ------------------------------------------------


def choose_one(lang_: str) -> str:
    """Return the placeholder of a select box ("Choose an option") in ``lang_``."""
    return t("widget.choose_option", lang_)


def choose_many(lang_: str) -> str:
    """Return the placeholder of a multiselect ("Choose options") in ``lang_``."""
    return t("widget.choose_options", lang_)


_DROPZONE = '[data-testid="stFileUploaderDropzone"]'
_BUTTON_LABEL = f'{_DROPZONE} [data-testid="stBaseButton-secondary"] [data-testid="stMarkdownContainer"]'
_INSTRUCTIONS = f'{_DROPZONE} [data-testid="stFileUploaderDropzoneInstructions"] > div'
_DRAG_TEXT = f"{_DROPZONE} > div:not([data-testid]) > span:only-child"


def css_string(text: str) -> str:
    """Return ``text`` as a quoted CSS string (for ``content:``).

    Examples
    --------
    >>> css_string('上传 "a"\\\\b')
    '"上传 \\\\"a\\\\"\\\\\\\\b"'
    """
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\A ") + '"'


def upload_limit_mb() -> int:
    """Return the largest upload Streamlit accepts, MB (``server.maxUploadSize``)."""
    return int(st.get_option("server.maxUploadSize"))


def upload_types(types: Sequence[str]) -> str:
    """Return accepted suffixes as Streamlit lists them ("CSV, XLSX").

    Examples
    --------
    >>> upload_types(["csv", ".xlsx"])
    'CSV, XLSX'
    """
    return ", ".join(s.lstrip(".").upper() for s in types)


def widget_css(lang_: str) -> str:
    """Return the stylesheet that shows the file uploader's texts in ``lang_``.

    Streamlit 1.67 draws, inside ``stFileUploaderDropzone``, a button labelled "Upload", the
    instructions "200MB per file • CSV, ..." and, while a file is dragged over it, "Drag and drop
    a file here".  Each original text is hidden and the catalogue's is drawn instead (``::after``).
    """
    size = f"{upload_limit_mb()}MB"
    rules = [
        f"{_BUTTON_LABEL} p {{display: none;}}",
        f"{_BUTTON_LABEL}::after {{content: {css_string(t('widget.upload', lang_))};}}",
        f"{_INSTRUCTIONS} > span {{display: none;}}",
        f"{_INSTRUCTIONS}::after {{content: {css_string(t('widget.upload_limit', lang_, size=size))};"
        " font-size: 0.875rem; opacity: 0.7;}",
        f"{_DRAG_TEXT} {{font-size: 0;}}",
        f"{_DRAG_TEXT}::after {{content: {css_string(t('widget.drop_file', lang_))}; font-size: 0.875rem;}}",
    ]
    return "\n".join(rules)


def uploader_css(key: str, types: Sequence[str], lang_: str) -> str:
    """Return the rule that shows one uploader's instructions (limit and accepted types) in ``lang_``."""
    text = t("widget.upload_limit_types", lang_, size=f"{upload_limit_mb()}MB", types=upload_types(types))
    return f".st-key-{key} {_INSTRUCTIONS}::after {{content: {css_string(text)};}}"


def localise_widgets(lang_: str) -> None:
    """Inject the stylesheet of :func:`widget_css` (a style-only ``st.html`` takes no space)."""
    st.html(f"<style>\n{widget_css(lang_)}\n</style>")


def file_uploader(label: str, types: Sequence[str], *, key: str, lang_: str,
                  help_: str | None = None) -> UploadedFile | None:
    """Show a file uploader whose instructions (size limit and accepted types) are in ``lang_``."""
    st.html(f"<style>\n{uploader_css(key, types, lang_)}\n</style>")
    return st.file_uploader(label, type=list(types), key=key, help=help_)


# --- sidebar ------------------------------------------------------------------------------------


def slider_range(svc: ServiceSpec) -> tuple[float, float, float]:
    """Return (min, max, step) of the standard slider, in the standard's unit."""
    v = svc.standard.value
    if svc.standard.unit == "m":
        return 50.0, float(max(3000.0, 3.0 * v)), 50.0
    return 0.5, float(max(60.0, 3.0 * v)), 0.5


def _relabel_widgets() -> None:
    """Set every translated widget to its own value, so the browser shows the new labels."""
    keep(keys.LANG)
    ss = st.session_state
    for key in keys.TRANSLATED:
        if key in ss:
            ss[key] = ss[key]


def _reset_standard() -> None:
    keep(keys.SERVICE)
    st.session_state.pop(keys.STANDARD_FOR, None)
    st.session_state.pop(keys.KEPT[keys.STANDARD], None)


# --- the sidebar's choices survive a change of page ----------------------------------------------
# Streamlit drops the state of a keyed widget when a page change interrupts its script run
# (``st.switch_page``, a link): the next run would draw the widget at its default (the first
# service).  Each choice is therefore also kept under a plain session key (``keys.KEPT``), written
# by the widget's ``on_change`` callback (callbacks run before the script) and written back into
# the widget's key at the start of every run.


def keep(widget_key: str) -> None:
    """Copy a sidebar widget's value into its plain session key (an ``on_change`` callback)."""
    ss = st.session_state
    if widget_key in ss:
        ss[keys.KEPT[widget_key]] = ss[widget_key]


def restore_choices() -> None:
    """Write every kept sidebar choice back into its widget's key (call before any widget is drawn)."""
    ss = st.session_state
    for widget_key, kept in keys.KEPT.items():
        if kept in ss and ss.get(widget_key) != ss[kept]:
            ss[widget_key] = ss[kept]


def load_current() -> Workspace:
    """Load the workspace in use, showing progress; on failure show the problems and stop."""
    ch = state.choice()
    try:
        with st.spinner(t("msg.loading_workspace", ch.lang)):
            return state.load_ws(ch.path, ch.overrides)
    except WorkspaceError as exc:
        show_problems(exc.problems, ch.lang, title_key="msg.workspace_failed")
        st.stop()
        raise  # unreachable: st.stop() raises
    except GisAppError as exc:
        st.error(error_text(exc, ch.lang))
        st.stop()
        raise  # unreachable: st.stop() raises


def sidebar() -> Workspace:
    """Draw the sidebar (language, service, standard) and return the loaded workspace."""
    restore_choices()
    with st.sidebar:
        st.radio(t("lang.switch", lang()), LANGS, key=keys.LANG, horizontal=True,
                 format_func=lang_label, on_change=_relabel_widgets)
    lg = lang()
    localise_widgets(lg)
    ws = load_current()
    ss = st.session_state
    if ws.years:  # every page computes on the chosen year (state.choice() carries it)
        if ss.get(keys.YEAR) not in ws.years:
            ss[keys.YEAR] = ws.years[-1]
        keep(keys.YEAR)
        with st.sidebar:
            st.selectbox(t("side.year", lg), list(ws.years), key=keys.YEAR, on_change=keep, args=(keys.YEAR,),
                         placeholder=choose_one(lg),
                         format_func=lambda y: t("side.year_value", lg, year=y), help=t("help.year", lg))
        ws = load_current()
    elif ss.get(keys.YEAR) is not None:  # another workspace without years
        ss.pop(keys.YEAR, None)
        ss.pop(keys.KEPT[keys.YEAR], None)
    services = list(ws.spec.services)
    if ss.get(keys.SERVICE) not in services:
        ss[keys.SERVICE] = services[0]
    keep(keys.SERVICE)
    with st.sidebar:
        st.selectbox(t("word.service", lg), services, key=keys.SERVICE, placeholder=choose_one(lg),
                     format_func=lambda s: ws.spec.services[s].title(lg), on_change=_reset_standard)
        svc = ws.spec.services[str(ss[keys.SERVICE])]
        lo, hi, step = slider_range(svc)
        if ss.get(keys.STANDARD_FOR) != svc.name or ss.get(keys.STANDARD) is None:
            ss[keys.STANDARD] = float(svc.standard.value)
            ss[keys.STANDARD_FOR] = svc.name
        keep(keys.STANDARD)
        unit = t(f"unit.{svc.standard.unit}", lg)
        st.slider(f"{t('word.standard', lg)} ({unit})", lo, hi, step=step, key=keys.STANDARD,
                  format="%.0f" if svc.standard.unit == "m" else "%.1f",
                  help=t("help.standard", lg), on_change=keep, args=(keys.STANDARD,))
        st.caption(f"{t('word.default', lg)}: {svc.standard.label(lg)}")
        if terrain.available(ws):
            st.radio(t("side.travel", lg), ["straight_line", "terrain"], key=keys.TRAVEL,
                     format_func=lambda m: t(f"travel.{m}", lg), help=t("help.travel", lg),
                     on_change=keep, args=(keys.TRAVEL,))
            if ss.get(keys.TRAVEL) == "terrain" and svc.standard.unit == "m":
                st.caption(t("side.terrain_distance", lg, minutes=f"{standard_minutes(svc.standard):.1f}"))
        if svc.rural_standard is not None:
            st.caption(f"{t('side.rural_standard', lg)}: {svc.rural_standard.label(lg)}")
        if svc.urban_only:
            st.caption(t("side.urban_only", lg))
        st.divider()
        st.caption(f"{t('side.workspace', lg)}: {ws.spec.title(lg)}")
        if state.overrides():
            st.caption(t("side.uploads_active", lg))
    return ws


def run_page(page: StreamlitPage) -> None:
    """Run the chosen page; an engine error it raises is shown in the chosen language."""
    try:
        page.run()
    except GisAppError as exc:
        show_error(exc, lang())


# --- shared pieces of pages -------------------------------------------------------------------


def layer_label(role: str, lang_: str) -> str:
    """Return the label of a layer role (``layer.<role>``; a role a user made up as it is)."""
    return Term(f"layer.{role}", role).text(lang_)


def source_label(item: str, lang_: str) -> str:
    """Return the label of an item of a service's ``source`` (standard, norm, ...)."""
    return Term(f"rep.item.{item}", item).text(lang_)


def banner(ws: Workspace, lang_: str) -> None:
    """Show the data provenance banner when any layer is synthetic, and every notice of the workspace."""
    if any(lay.provenance.status in ("synthetic", "mixed") for lay in ws.spec.layers.values()):
        st.info(t("prov.banner_generic", lang_), icon=":material/info:")
    # what the engine substituted while reading the layers (e.g. blank capacities read as 0)
    for p in ws.notices:
        st.warning(without_folders(f"{p.file_name} [{p.field}]：{p.text(lang_)} {p.fix_text(lang_)}" if lang_ == "zh"
                                   else f"{p.file_name} [{p.field}]: {p.text(lang_)} {p.fix_text(lang_)}"),
                   icon=":material/warning:")


#: the rendered component arguments of each cached map (they go with the map when the cache drops it)
_RENDERED: weakref.WeakKeyDictionary[folium.Map, dict[str, Any]] = weakref.WeakKeyDictionary()
_RENDER_LOCK = threading.Lock()
#: the component key of each cached map per widget key (:func:`show_map`)
_HASHES: weakref.WeakKeyDictionary[folium.Map, dict[str, str]] = weakref.WeakKeyDictionary()


def map_component_args(m: folium.Map) -> dict[str, Any]:
    """Return what ``st_folium`` sends the browser for map ``m`` (rendered once per map object).

    Rendering a map (folium's templates, streamlit-folium's renaming) took about a third of the
    server's time per page under load (py-spy, 8 sessions), and a cached map is the same every
    run: so it is rendered once, on a copy (``st_folium`` renames the map's elements in place),
    with streamlit-folium's own functions, and the strings are reused.  The arguments are those
    ``st_folium(m, use_container_width=True, returned_objects=[])`` would pass
    (tests/ui/test_map_render_cache.py compares them with the real call).
    """
    with _RENDER_LOCK:
        done = _RENDERED.get(m)
    if done is not None:
        return done
    fig = copy.deepcopy(m)
    fig.get_root().render()
    fig.render()  # type: ignore[no-untyped-call]
    html = _sf._get_html(fig)  # noqa: SLF001 - the component's own rendering
    header = _sf._get_header(fig)  # noqa: SLF001
    leaflet = _sf._get_map_string(fig)  # noqa: SLF001
    css: list[str] = []
    js: list[str] = []

    def walk(el: Any) -> Iterator[Any]:  # noqa: ANN401 - any folium element
        if isinstance(el, folium.elements.JSCSSMixin):
            yield el
        for child in getattr(el, "_children", {}).values():
            yield from walk(child)

    for el in walk(fig):
        css.extend(href for _, href in getattr(el, "default_css", []))
        js.extend(src for _, src in getattr(el, "default_js", []))
    done = {"script": leaflet, "header": header, "html": html, "id": _sf.get_full_id(fig),
            "returned_objects": [], "default": {}, "zoom": None, "center": None, "feature_group": None,
            "return_on_hover": False, "layer_control": None, "pixelated": False,
            "css_links": list(dict.fromkeys(css)), "js_links": list(dict.fromkeys(js)), "wrap_longitude": False}
    with _RENDER_LOCK:
        _RENDERED[m] = done
    return done


def show_map(m: folium.Map, *, key: str, height: int) -> None:
    """Show a (cached) folium map, rendered once per map object (:func:`map_component_args`).

    ``returned_objects=[]``: panning or zooming never reruns the app.
    """
    args = map_component_args(m)
    with _RENDER_LOCK:  # the component's key: two regex passes over the map's script, once per map and key
        hash_key = _HASHES.setdefault(m, {}).get(key)
    if hash_key is None:
        hash_key = _sf.generate_js_hash(args["script"], key, False)
        with _RENDER_LOCK:
            _HASHES.setdefault(m, {})[key] = hash_key

    def _on_change() -> None:
        st.session_state[key] = st.session_state.get(hash_key, {})

    _sf._component_func(key=hash_key, height=height, width=None, on_change=_on_change, **args)  # noqa: SLF001


# --- charts built once, drawn from their Vega-Lite spec ---------------------------------------------

#: the configuration altair's default theme adds (Streamlit draws altair charts without it)
_ALTAIR_DEFAULT_CONFIG = {"view": {"continuousWidth": 300, "continuousHeight": 300}}


def vega_spec(chart: Any) -> dict[str, Any]:  # noqa: ANN401 - any altair chart
    """Return an altair chart as the Vega-Lite spec ``st.vega_lite_chart`` draws, its data as frames.

    Building an altair chart and converting it (schema validation included) took about an eighth
    of the overview's server time on every run, for charts that change only with the service,
    the standard and the language: pages keep the spec (a shared cache of :mod:`memo`) and draw it with
    :func:`show_spec`.  The datasets become frames (Streamlit sends them as Arrow, as it does
    for an altair chart) and the default theme's view size is left out, as ``st.altair_chart`` does.
    """
    spec: dict[str, Any] = chart.to_dict()
    if spec.get("config") == _ALTAIR_DEFAULT_CONFIG:
        del spec["config"]
    if isinstance(spec.get("datasets"), dict):
        spec["datasets"] = {name: pd.DataFrame(rows) for name, rows in spec["datasets"].items()}
    return spec


def show_spec(spec: dict[str, Any]) -> None:
    """Draw a kept Vega-Lite spec (:func:`vega_spec`) across the container's width."""
    st.vega_lite_chart(spec, width="stretch")


# --- search: find a facility, township or village and zoom the map to it ---------------------------

#: the session key remembering the last search pick applied to the map focus, per search box
_APPLIED = "_search_applied_"


#: the label key of each kind of search hit (:func:`gisapp.metrics.places.search_places`)
HIT_KINDS = {"district": "search.kind.district", "township": "search.kind.township",
             "village": "search.kind.village", "facility": "search.kind.facility"}


def hit_label(hit: pd.Series, lang_: str) -> str:
    """Return how a search hit is listed: name · kind · where it is."""
    kind = str(hit["kind"])
    parts = [str(hit["name"]), t(HIT_KINDS[kind], lang_) if kind in HIT_KINDS else kind, str(hit["detail"] or "")]
    return " · ".join(p for p in parts if p)


def hit_focus(hit: pd.Series, lang_: str) -> state.Focus:
    """Return the map focus of a search hit (its box, its point, its name as the label)."""
    lon, lat = float(hit["lon"]), float(hit["lat"])
    box = state.focus_box(lon, lat, (float(hit["west"]), float(hit["south"]), float(hit["east"]), float(hit["north"])),
                          pad=0.0)
    return state.Focus(*box, lat=lat, lon=lon, label=hit_label(hit, lang_))


def search_box(ch: state.Choice, *, key: str, pick_key: str) -> pd.Series | None:
    """Show a search box for places and facilities; return the hit the user picked (None: none).

    A new pick (a new query or another hit) becomes the map's focus; an unchanged one does not,
    so a gap chosen on the gaps page is not overridden by an old search.
    """
    lg = ch.lang
    query = st.text_input(t("search.label", lg), key=key, placeholder=t("search.placeholder", lg),
                          help=t("search.help", lg))
    if not str(query or "").strip():
        st.session_state.pop(_APPLIED + key, None)
        return None
    hits = state.search(ch.path, ch.overrides, str(query), lg)
    if hits.empty:
        st.caption(t("search.none", lg, query=str(query).strip()))
        return None
    labels = [hit_label(h, lg) for _, h in hits.iterrows()]
    ss = st.session_state
    if ss.get(pick_key) not in labels:
        ss[pick_key] = labels[0]
    picked = st.selectbox(t("search.pick", lg, n=len(hits)), labels, key=pick_key, placeholder=choose_one(lg))
    hit = hits.iloc[labels.index(str(picked))]
    applied = f"{query}\n{picked}"
    if ss.get(_APPLIED + key) != applied:
        ss[_APPLIED + key] = applied
        state.set_focus(hit_focus(hit, lg))
    return hit

