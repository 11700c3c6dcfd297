"""Cached loaders: the workspace, service results and tables, keyed by hashable primitives only.

The loaded :class:`~gisapp.workspace.Workspace` and each :class:`~gisapp.metrics.service.ServiceResult`
are large read-only objects shared by every session, computed once per key in caches bounded in
bytes (:mod:`gisapp.ui.memo`); tables are small
and copied per caller (``st.cache_data``).  Every loader takes the workspace path string and the
JSON of accepted uploads (``overrides``), so an upload is simply another key.
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass

import folium
import geopandas as gpd
import pandas as pd
import streamlit as st

from gisapp import maps
from gisapp.config.spec import (
    ServiceSpec,
    Standard,
    WorkspaceSpec,
    default_workspace_path,
)
from gisapp.io.workspace_file import read_workspace
from gisapp.metrics import consortia as _consortia
from gisapp.metrics import gaps as _gaps
from gisapp.metrics import places as _places
from gisapp.metrics import tables as _tables
from gisapp.metrics.served import ServedWithinCapacity, served_within_capacity
from gisapp.metrics.service import ServiceResult, run_service
from gisapp.ui import keys, memo
from gisapp.workspace import Workspace, at_year, load_workspace, replace_layer

#: Environment variable naming the workspace YAML the app opens (default: the demo).
WORKSPACE_ENV = "GISAPP_WORKSPACE"


def workspace_path() -> str:
    """Return the workspace YAML path: ``$GISAPP_WORKSPACE`` or the embedded demo."""
    return os.environ.get(WORKSPACE_ENV) or str(default_workspace_path())


def overrides() -> str:
    """Return the JSON list of accepted uploads of this session ("" for none)."""
    return str(st.session_state.get(keys.UPLOADS, ""))


def with_year(overrides_json: str, year: int | None) -> str:
    """Return the overrides JSON that also names the year every loader computes on (None: none).

    The year travels inside the overrides, so that every cached loader (keyed by the overrides)
    computes on :func:`gisapp.workspace.at_year` without a change of its signature.

    Examples
    --------
    >>> with_year("", 2025)
    '[{"year": 2025}]'
    >>> split_year(with_year('[{"path": "p.tif", "role": "population"}]', 2020))
    ('[{"path": "p.tif", "role": "population"}]', 2020)
    >>> split_year("")
    ('', None)
    """
    if year is None:
        return overrides_json
    items = [o for o in json.loads(overrides_json or "[]") if "year" not in o]
    return json.dumps([*items, {"year": int(year)}], ensure_ascii=False)


def split_year(overrides_json: str) -> tuple[str, int | None]:
    """Return the uploads-only overrides JSON and the year named in it (None: none); see :func:`with_year`."""
    items = json.loads(overrides_json or "[]")
    years = [int(o["year"]) for o in items if "year" in o]
    if not years:
        return overrides_json, None
    rest = [o for o in items if "year" not in o]
    return (json.dumps(rest, ensure_ascii=False, sort_keys=True) if rest else ""), years[-1]


def spec_with(path: str, overrides_json: str) -> WorkspaceSpec:
    """Return the workspace spec with the uploads in ``overrides_json`` applied (a year in it is ignored)."""
    spec = read_workspace(path)
    for o in json.loads(overrides_json or "[]"):
        if "year" in o:
            continue
        spec = replace_layer(spec, o["role"], o["path"], crs=o.get("crs"), fields=o.get("fields"))
    return spec


@memo.shared("workspaces")
def load_ws(path: str, overrides_json: str = "") -> Workspace:
    """Load (once per process) the workspace at ``path`` with ``overrides_json`` applied.

    With a year in ``overrides_json`` (:func:`with_year`): the workspace as it was that year
    (:func:`gisapp.workspace.at_year` of the loaded one).
    """
    rest, year = split_year(overrides_json)
    if year is not None:
        return at_year(load_ws(path, rest), year)
    return load_workspace(spec_with(path, overrides_json))


def year() -> int | None:
    """Return the year chosen in the sidebar (None when the workspace has no years)."""
    v = st.session_state.get(keys.YEAR)
    if v is None:
        return None
    try:
        return int(v)
    except (TypeError, ValueError):  # a label left by a language switch ("2025年"): its digits are the year
        digits = "".join(ch for ch in str(v) if ch.isdigit())
        return int(digits) if digits else None


def standard_for(svc: ServiceSpec, value: float | None) -> Standard | None:
    """Return the service's standard with its threshold set to ``value`` (None: unchanged)."""
    if value is None or float(value) == svc.standard.value:
        return None
    if svc.standard.unit == "m":
        return dataclasses.replace(svc.standard, distance_m=float(value))
    return dataclasses.replace(svc.standard, time_min=float(value))


@memo.shared("results")  # ~100 MB each on the demo; bounded in bytes, not entries
def service_result(path: str, overrides_json: str, service: str, value: float | None, travel: str = "straight_line") -> ServiceResult:
    """Run one service with its standard threshold set to ``value`` (in the standard's unit)."""
    ws = load_ws(path, overrides_json)
    return run_service(ws, service, standard=standard_for(ws.spec.services[service], value), travel=travel)


@st.cache_data(max_entries=64, show_spinner=False)
def summary(path: str, overrides_json: str, service: str, value: float | None, travel: str = "straight_line") -> dict[str, float]:
    """Return :func:`gisapp.metrics.tables.summary` of the service."""
    return _tables.summary(load_ws(path, overrides_json), service_result(path, overrides_json, service, value, travel))


@st.cache_data(max_entries=64, show_spinner=False)
def district_table(path: str, overrides_json: str, service: str, value: float | None, travel: str = "straight_line") -> pd.DataFrame:
    """Return :func:`gisapp.maps.district_metrics` (coverage and capacity by district)."""
    return maps.district_metrics(load_ws(path, overrides_json), service_result(path, overrides_json, service, value, travel))


@st.cache_data(max_entries=32, show_spinner=False)
def served_table(path: str, overrides_json: str, service: str, value: float | None,
                 travel: str = "straight_line") -> ServedWithinCapacity:
    """Return :func:`gisapp.metrics.served.served_within_capacity` (people served within capacity, issue 11)."""
    return served_within_capacity(load_ws(path, overrides_json), service_result(path, overrides_json, service, value, travel))


@st.cache_data(max_entries=64, show_spinner=False)
def class_table(path: str, overrides_json: str, service: str, value: float | None, travel: str = "straight_line") -> pd.DataFrame:
    """Return :func:`gisapp.metrics.tables.coverage_by_class` (town and country)."""
    return _tables.coverage_by_class(load_ws(path, overrides_json),
                                     service_result(path, overrides_json, service, value, travel))


@st.cache_data(max_entries=64, show_spinner=False)
def curve(path: str, overrides_json: str, service: str, value: float | None, travel: str = "straight_line") -> pd.DataFrame:
    """Return :func:`gisapp.metrics.tables.cumulative_curve` of the service."""
    return _tables.cumulative_curve(service_result(path, overrides_json, service, value, travel))


@st.cache_data(max_entries=32, show_spinner=False)
def gap_table(path: str, overrides_json: str, service: str, value: float | None, travel: str = "straight_line",
              min_people: float = 0.0) -> pd.DataFrame:
    """Return :func:`gisapp.metrics.gaps.gap_areas`, ranked by population."""
    return _gaps.gap_areas(load_ws(path, overrides_json), service_result(path, overrides_json, service, value, travel),
                           min_people=min_people)


@st.cache_data(max_entries=32, show_spinner=False)
def gap_polys(path: str, overrides_json: str, service: str, value: float | None, travel: str, top: int,
              min_people: float = 0.0) -> gpd.GeoDataFrame:
    """Return the ``top`` gap areas as polygons (analysis CRS)."""
    return _gaps.gap_polygons(load_ws(path, overrides_json), service_result(path, overrides_json, service, value, travel),
                              top=top, min_people=min_people)


@st.cache_data(max_entries=32, show_spinner=False)
def gap_place_table(path: str, overrides_json: str, service: str, value: float | None,
                    travel: str = "straight_line") -> pd.DataFrame:
    """Return :func:`gisapp.metrics.places.gap_places`: people beyond the standard by place, ranked."""
    return _places.gap_places(load_ws(path, overrides_json), service_result(path, overrides_json, service, value, travel))


@st.cache_data(max_entries=32, show_spinner=False)
def place_coverage(path: str, overrides_json: str, service: str, value: float | None,
                   travel: str = "straight_line", *, level: str = "township") -> pd.DataFrame:
    """Return :func:`gisapp.metrics.places.coverage_by_place` at ``level`` ("township" or "village")."""
    return _places.coverage_by_place(load_ws(path, overrides_json),
                                     service_result(path, overrides_json, service, value, travel),
                                     "village" if level == "village" else "township")


def has_places(path: str, overrides_json: str) -> bool:
    """Return True when the workspace has a settlements layer that names places."""
    return _places.has_places(load_ws(path, overrides_json))


@st.cache_data(max_entries=64, show_spinner=False)
def search(path: str, overrides_json: str, query: str, lang: str) -> pd.DataFrame:
    """Return :func:`gisapp.metrics.places.search_places` hits for ``query``."""
    return _places.search_places(load_ws(path, overrides_json), query, lang)


@st.cache_data(max_entries=8, show_spinner=False)
def consortia(path: str, overrides_json: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return (:func:`consortia_summary`, :func:`consortia_members`) of the workspace."""
    ws = load_ws(path, overrides_json)
    return _consortia.consortia_summary(ws), _consortia.consortia_members(ws)


@memo.shared("maps")
def folium_map(path: str, overrides_json: str, service: str, value: float | None,
               travel: str = "straight_line", *, lang: str, metric: str,
               overlay: str, population: bool, top_gaps: int,
               focus: tuple[float, float, float, float] | None = None,
               highlight: tuple[float, float, str] | None = None,
               compact: bool = False) -> folium.Map:
    """Return :func:`gisapp.maps.build_map` for these choices, zoomed to ``focus`` with ``highlight`` marked.

    ``focus`` is ``(west, south, east, north)`` in degrees; ``highlight`` is ``(lat, lon, label)``
    of the place, facility or gap the user picked.
    """
    ws = load_ws(path, overrides_json)
    res = service_result(path, overrides_json, service, value, travel)
    polys = gap_polys(path, overrides_json, service, value, travel, top_gaps) if top_gaps > 0 else None
    table = district_table(path, overrides_json, service, value, travel)
    m = maps.build_map(ws, res, lang=lang, metric=metric, overlay=overlay,  # type: ignore[arg-type]
                       show_population=population, gaps=polys, focus=focus, highlight=highlight,
                       district_table=table, compact=compact)
    return local_assets(m)


@dataclass(frozen=True)
class Focus:
    """Where the map is zoomed to: a box, the point to mark and its label.

    A focus chosen from a service's gap list (``service`` set) holds for that service, standard
    and travel mode only; a search hit (``service`` empty) holds for every service.
    """

    west: float
    south: float
    east: float
    north: float
    lat: float
    lon: float
    label: str
    service: str = ""
    value: float | None = None
    travel: str = ""

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """Return ``(west, south, east, north)``."""
        return (self.west, self.south, self.east, self.north)

    @property
    def highlight(self) -> tuple[float, float, str]:
        """Return ``(lat, lon, label)`` of the marked point."""
        return (self.lat, self.lon, self.label)

    def holds_for(self, ch: Choice) -> bool:
        """Return whether this focus applies to the current choices."""
        return not self.service or (self.service == ch.service and self.value == ch.value and self.travel == ch.travel)


#: the smallest half-side of a focus box, degrees (about 1 km): a point is never zoomed to street level
MIN_HALF_DEG = 0.01


def focus_box(lon: float, lat: float, box: tuple[float, float, float, float] | None = None,
              pad: float = MIN_HALF_DEG) -> tuple[float, float, float, float]:
    """Return a box holding the point (``pad`` degrees around it) and ``box`` if given.

    Examples
    --------
    >>> focus_box(101.7, 26.5)
    (101.69, 26.49, 101.71, 26.51)
    >>> focus_box(101.7, 26.5, (101.6, 26.4, 101.65, 26.45))
    (101.6, 26.4, 101.71, 26.51)
    """
    w, s, e, n = lon - pad, lat - pad, lon + pad, lat + pad
    if box is not None and all(v == v for v in box):  # no NaN
        w, s, e, n = min(w, box[0]), min(s, box[1]), max(e, box[2]), max(n, box[3])
    return (round(w, 6), round(s, 6), round(e, 6), round(n, 6))


def set_focus(f: Focus) -> None:
    """Make ``f`` the map's focus (read by the map page)."""
    st.session_state[keys.FOCUS] = dataclasses.asdict(f)


def clear_focus() -> None:
    """Zoom the map back to the whole workspace."""
    st.session_state.pop(keys.FOCUS, None)


def focus(ch: Choice) -> Focus | None:
    """Return the map's focus if it applies to the current choices."""
    raw = st.session_state.get(keys.FOCUS)
    if not isinstance(raw, dict):
        return None
    try:
        f = Focus(**raw)
    except TypeError:
        return None
    return f if f.holds_for(ch) else None


#: Leaflet served by the app itself (``static/`` -> ``gisapp/static``, see .streamlit/config.toml).
LOCAL_JS = [("leaflet", "/app/static/leaflet/leaflet.js")]
LOCAL_CSS = [("leaflet_css", "/app/static/leaflet/leaflet.css")]


def local_assets(m: folium.Map) -> folium.Map:
    """Point the map's scripts at the app's own copy of Leaflet instead of public CDNs.

    The maps use plain Leaflet only (no jQuery, Bootstrap or awesome-markers); a CDN that
    fails to load would stop streamlit-folium from drawing the map at all.
    """
    m.default_js = list(LOCAL_JS)
    m.default_css = list(LOCAL_CSS)
    return m


@dataclass(frozen=True)
class Choice:
    """The shared choices of the sidebar: what every page computes from."""

    path: str
    overrides: str
    lang: str
    service: str
    value: float | None
    travel: str = "straight_line"

    @property
    def key(self) -> tuple[str, str, str, float | None, str]:
        """Return the arguments of the per-service loaders."""
        return (self.path, self.overrides, self.service, self.value, self.travel)


def choice() -> Choice:
    """Return the current sidebar choices (read from session state, set by the sidebar widgets)."""
    ss = st.session_state
    v = ss.get(keys.STANDARD)
    return Choice(path=workspace_path(), overrides=with_year(overrides(), year()), lang=str(ss.get(keys.LANG, "zh")),
                  service=str(ss.get(keys.SERVICE, "")), value=float(v) if v is not None else None,
                  travel=str(ss.get(keys.TRAVEL, "straight_line")))
