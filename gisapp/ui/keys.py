"""Every widget and session-state key of the app, in one place (tests address widgets by these)."""

from __future__ import annotations

from typing import Final

# --- sidebar (shared by every page) -----------------------------------------------------------
LANG: Final = "lang"  #: "zh" | "en"
SERVICE: Final = "service"  #: service name of the workspace
STANDARD: Final = "standard_value"  #: threshold in the service standard's unit (m or min)
STANDARD_FOR: Final = "_standard_for"  #: the service that STANDARD belongs to
TRAVEL: Final = "travel_mode"  #: "straight_line" | "terrain"
UPLOADS: Final = "uploads"  #: JSON list of accepted layer replacements (user's uploads)
YEAR: Final = "year"  #: the year every page computes on (only when the workspace has years)
#: each sidebar widget's key -> the plain session key that keeps its value across page changes
KEPT: Final = {LANG: "_kept_lang", SERVICE: "_kept_service", STANDARD: "_kept_standard", TRAVEL: "_kept_travel",
               YEAR: "_kept_year"}

# --- map page ---------------------------------------------------------------------------------
MAP_METRIC: Final = "map_metric"
MAP_OVERLAY: Final = "map_overlay"
MAP_TOP_GAPS: Final = "map_top_gaps"
MAP_WIDGET: Final = "map_folium"
FOCUS: Final = "map_focus"  #: dict of :class:`gisapp.ui.state.Focus`: a gap place or a search hit
SEARCH: Final = "map_search"  #: the search box's text
SEARCH_PICK: Final = "map_search_pick"  #: the hit chosen among the search results
SEARCH_CLEAR: Final = "map_search_clear"

# --- gaps page --------------------------------------------------------------------------------
GAPS_TABLE: Final = "gaps_table"
GAPS_MIN_PEOPLE: Final = "gaps_min_people"
GAPS_MAP_WIDGET: Final = "gaps_folium"
GAPS_TO_MAP: Final = "gaps_to_map"

# --- places (drill-down) page -------------------------------------------------------------------
PLACES_DISTRICT: Final = "places_district"
PLACES_TOWNSHIP: Final = "places_township"
PLACES_SEARCH: Final = "places_search"
PLACES_SEARCH_PICK: Final = "places_search_pick"
PLACES_TO_MAP: Final = "places_to_map"
PLACES_TOWNSHIP_TABLE: Final = "places_township_table"
PLACES_VILLAGE_TABLE: Final = "places_village_table"

# --- consortia page ---------------------------------------------------------------------------
CONS_SECTOR: Final = "cons_sector"
CONSORTIUM: Final = "consortium"

# --- change over time page (issue 14) ------------------------------------------------------------
CHANGE_FROM: Final = "change_from"  #: the earlier year compared
CHANGE_TO: Final = "change_to"  #: the later year compared
CHANGE_MAP_WIDGET: Final = "change_folium"

# --- data page --------------------------------------------------------------------------------
UP_FAC_FILE: Final = "upload_facilities"
UP_FAC_CRS: Final = "upload_facilities_crs"
UP_FAC_FIELD: Final = "upload_facilities_field_"  #: prefix, + engine field name (id, name, ...)
UP_FAC_APPLY: Final = "upload_facilities_apply"
UP_POP_FILE: Final = "upload_population"
UP_POP_CRS: Final = "upload_population_crs"
UP_POP_APPLY: Final = "upload_population_apply"
UP_RESET: Final = "upload_reset"

#: Widgets whose option labels are translated: re-sent to the browser when the language changes
#: (a browser keeps showing an option's old label until the widget's value is set again).
TRANSLATED: Final = (SERVICE, TRAVEL, YEAR, MAP_METRIC, MAP_OVERLAY, CONS_SECTOR, UP_FAC_CRS, UP_POP_CRS)
