"""公共服务人口地图 · Public-Service Population Map: the router and the frame shared by every page.

Run with ``streamlit run streamlit_app.py`` (or ``scripts/app.sh``).  The workspace comes from
``$GISAPP_WORKSPACE`` (default: the Panzhihua demo, ``layers/panzhihua.yaml``).  To add a page,
add one line to ``PAGES``: the page script, its title key in :mod:`gisapp.i18n` and an icon.
With ``$GISAPP_USERS`` naming a users file, a sign-in form comes first (:mod:`gisapp.ui.auth`).
"""

from __future__ import annotations

import streamlit as st

from gisapp.i18n import t
from gisapp.ui import auth, frame, memo

#: (page script, title key in gisapp.i18n, icon).  The first page is the default.
PAGES: list[tuple[str, str, str]] = [
    ("gisapp/ui/pages/overview.py", "page.overview", ":material/dashboard:"),
    ("gisapp/ui/pages/map.py", "page.map", ":material/map:"),
    ("gisapp/ui/pages/gaps.py", "page.gaps", ":material/report:"),
    ("gisapp/ui/pages/places.py", "page.places", ":material/location_city:"),
    ("gisapp/ui/pages/consortia.py", "page.consortia", ":material/hub:"),
    ("gisapp/ui/pages/change.py", "page.change", ":material/timeline:"),  # issue 14: change over time
    ("gisapp/ui/pages/planning.py", "page.planning", ":material/edit_location_alt:"),
    ("gisapp/ui/pages/report.py", "rep.page.title", ":material/description:"),
    ("gisapp/ui/pages/data.py", "page.data", ":material/database:"),
]

frame.restore_choices()  # the sidebar's choices survive a change of page
lang = frame.lang()
st.set_page_config(page_title=t("app.title", lang), page_icon="🗺️", layout="wide")
auth.gate(lang)  # with $GISAPP_USERS: nothing below runs before sign-in
nav = st.navigation([st.Page(path, title=t(key, lang), icon=icon, default=i == 0)
                     for i, (path, key, icon) in enumerate(PAGES)])
st.sidebar.title(t("app.title", lang))
frame.sidebar()
auth.sidebar(lang)
frame.run_page(nav)
memo.freeze_heap()  # the first runs: the long-lived heap leaves every later garbage collection
