"""Browser tests of the map itself: a real click opens a facility's popup, the scale bar is metric and
clear of the legend, names are drawn on the map, and a map drawn while hidden opens on its bounds.

Reuses the app server and chromium fixtures of :mod:`tests.ui.test_browser` (tiles blocked);
screenshots go to ``test-artifacts/map_*.png``.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from gisapp import maps
from gisapp.metrics.service import run_service
from gisapp.reports.html import inline_assets
from gisapp.workspace import load_workspace

from .test_browser import ARTIFACTS, UI_TIMEOUT_MS, _wait_idle, _workspace, app_url, page  # noqa: F401 - fixtures

pytestmark = [pytest.mark.browser, pytest.mark.slow]

FOLIUM = "iframe[title='streamlit_folium.st_folium']"


def _intersects(a: dict[str, float], b: dict[str, float]) -> bool:
    return not (a["x"] + a["width"] <= b["x"] or b["x"] + b["width"] <= a["x"]
                or a["y"] + a["height"] <= b["y"] or b["y"] + b["height"] <= a["y"])


def _open_map_page(pg, url: str) -> Any:  # type: ignore[no-untyped-def]
    pg.goto(url, wait_until="domcontentloaded")  # a new session: Chinese, the first service
    pg.get_by_text("公共服务人口地图").first.wait_for(state="visible")
    _wait_idle(pg)
    pg.get_by_role("link", name="地图", exact=True).first.click()
    _wait_idle(pg)
    fr = pg.frame_locator(FOLIUM).first
    fr.locator("#gisapp-legend").wait_for(state="visible")
    fr.locator("path.gisapp-kind-hospital").first.wait_for(state="visible", timeout=UI_TIMEOUT_MS)
    pg.locator(FOLIUM).first.scroll_into_view_if_needed()
    pg.wait_for_timeout(1500)  # let Leaflet fit its bounds
    return fr


def test_a_real_click_on_a_hospital_opens_its_popup(page, app_url: str) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    ws = load_workspace(_workspace())
    hospitals = ws.facilities[ws.facilities["kind"] == "hospital"]
    assert len(hospitals) > 0
    pg = page
    fr = _open_map_page(pg, app_url)
    frame_box = pg.locator(FOLIUM).first.bounding_box()
    assert frame_box is not None
    markers = fr.locator("path.gisapp-kind-hospital")
    legend = fr.locator("#gisapp-legend").bounding_box()
    assert legend is not None
    # a hospital whose centre is on screen and not under a control: the topmost element there is the marker
    target = None
    for i in range(markers.count()):
        box = markers.nth(i).bounding_box()
        if box is None:
            continue
        x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        if not (frame_box["y"] < y < min(frame_box["y"] + frame_box["height"], 1000)):
            continue
        top = markers.nth(i).evaluate(
            "(m, p) => document.elementFromPoint(p[0], p[1]) === m", [x - frame_box["x"], y - frame_box["y"]])
        if top:
            target = (x, y)
            break
    assert target is not None, "every hospital marker is covered by another element"
    pg.mouse.click(*target)
    popup = fr.locator(".leaflet-popup-content")
    popup.wait_for(state="visible")
    text = popup.inner_text()
    shown = [r for _, r in hospitals.iterrows() if str(r["name"]) in text]
    assert len(shown) == 1, text
    h = shown[0]
    assert "类型：医院" in text
    if float(h["beds"] or 0) > 0:
        assert f"床位：{round(float(h['beds'])):,} 张" in text, text
    pg.wait_for_timeout(1000)
    assert popup.is_visible()  # still open: no rerun redrew the map
    pg.screenshot(path=str(ARTIFACTS / "map_hospital_popup.png"), full_page=False)


def test_the_scale_bar_is_metric_and_clear_of_the_legend_and_names_are_drawn(page, app_url: str) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    ws = load_workspace(_workspace())
    pg = page
    fr = _open_map_page(pg, app_url)
    scales = fr.locator(".leaflet-control-scale-line")
    assert scales.count() == 1  # metric only: no second (imperial) line
    text = scales.first.inner_text().strip()
    assert re.fullmatch(r"\d+ (公里|米)", text), text  # metric, in the page's language
    assert int(text.split()[0]) < 1000 or text.endswith(" 米")  # the city, not the world
    scale_box = scales.first.bounding_box()
    legend_box = fr.locator("#gisapp-legend").bounding_box()
    assert scale_box is not None and legend_box is not None
    assert not _intersects(scale_box, legend_box), (scale_box, legend_box)
    # district names drawn on the map itself (tiles are blocked in this browser)
    labels = fr.locator(".gisapp-label-district")
    assert labels.count() == len(ws.districts)
    for name in ws.districts["district_name"]:
        assert fr.locator(".gisapp-label-district", has_text=str(name)).first.is_visible()
    pg.screenshot(path=str(ARTIFACTS / "map_scale_legend.png"), full_page=False)


_VIEW_JS = """() => { const m = Object.values(window).find(v => v instanceof L.Map);
  const b = m.getBounds(); const s = document.querySelector('.leaflet-control-scale-line');
  return {zoom: m.getZoom(), x: m.getSize().x, west: b.getWest(), south: b.getSouth(), east: b.getEast(),
          north: b.getNorth(), scale: s ? s.textContent : ''}; }"""


def _settled(pg, frame) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    last = None
    for _ in range(40):
        now = frame.evaluate(_VIEW_JS)
        if now == last:
            return dict(now)
        last = now
        pg.wait_for_timeout(300)
    raise AssertionError(f"the map did not settle: {last}")


def test_a_map_drawn_while_hidden_opens_on_its_bounds(page, app_url: str) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    """Like a map in a Streamlit tab that is not shown: the container has no size while Leaflet starts."""
    ws = load_workspace(_workspace())
    res = run_service(ws, next(iter(ws.spec.services)))
    doc = inline_assets(maps.build_map(ws, res, tiles=False, show_population=False).get_root().render())
    pg = page
    pg.set_content("<div id='tab' style='display:none'><iframe id='f' style='width:900px;height:600px;border:0'>"
                   "</iframe></div>")
    pg.evaluate("doc => { document.getElementById('f').srcdoc = doc; }", doc)
    frame = pg.frame_locator("#f").first.locator("body")
    frame.locator(".leaflet-container").wait_for(state="attached")
    pg.wait_for_timeout(1000)
    hidden = frame.evaluate(_VIEW_JS)
    assert hidden["x"] == 0  # drawn with no size
    pg.evaluate("() => { document.getElementById('tab').style.display = 'block'; }")
    view = _settled(pg, frame)
    w, s, e, n = (float(v) for v in ws.districts.to_crs(4326).total_bounds)
    assert view["zoom"] == maps.zoom_for_bounds((w, s, e, n), 900, 600), view
    assert view["west"] <= w and view["east"] >= e and view["south"] <= s and view["north"] >= n, view
    assert (view["east"] - view["west"]) < 4 * (e - w) + 0.05, view  # the city, not the world
    assert re.fullmatch(r"\d+ (公里|米)", view["scale"]) and int(view["scale"].split()[0]) < 1000, view
    # once the user has zoomed, a resize keeps the user's view
    box = pg.locator("#f").bounding_box()
    assert box is not None
    pg.mouse.move(box["x"] + 450, box["y"] + 300)
    pg.mouse.wheel(0, -300)
    user = _settled(pg, frame)
    assert user["zoom"] > view["zoom"], (view, user)
    pg.evaluate("() => { document.getElementById('f').style.width = '700px'; }")
    pg.wait_for_timeout(500)
    assert _settled(pg, frame)["zoom"] == user["zoom"]
