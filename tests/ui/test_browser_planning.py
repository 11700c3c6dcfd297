"""Browser test of the planning page: add a facility by coordinates, see the metric change, suggest sites.

Reuses the app server and chromium fixtures of :mod:`tests.test_browser`; screenshots go to
``test-artifacts/planning_*.png``.
"""

from __future__ import annotations

import numpy as np
import pytest
from pyproj import Transformer

from gisapp.i18n import t
from gisapp.metrics.service import run_service
from gisapp.workspace import load_workspace

from .test_browser import ARTIFACTS, UI_TIMEOUT_MS, _wait_idle, _workspace, app_url, page  # noqa: F401 - fixtures
from .test_browser_places import FOLIUM, _view

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _uncovered_spot() -> tuple[float, float]:
    """Return lon, lat of the most populous uncovered cell of the first service."""
    ws = load_workspace(_workspace())
    res = run_service(ws, next(iter(ws.spec.services)))
    i = int(np.argmax(np.where(res.covered | ~res.eligible, 0.0, res.demand)))
    x, y = float(ws.grid.x[i]), float(ws.grid.y[i])
    lon, lat = Transformer.from_crs(ws.crs, 4326, always_xy=True).transform(x, y)
    return round(float(lon), 6), round(float(lat), 6)


def _covered(pg) -> str:  # type: ignore[no-untyped-def]
    return str(pg.locator("[data-testid='stMetric']").first.locator("[data-testid='stMetricValue']").inner_text())


def _fill(pg, label: str, value: float) -> None:  # type: ignore[no-untyped-def]
    box = pg.get_by_label(label, exact=True).first
    box.fill(f"{value:.6f}")
    box.press("Enter")
    _wait_idle(pg)


def test_planning_add_a_facility_and_suggest_sites(page, app_url: str) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    pg = page
    lon, lat = _uncovered_spot()
    pg.goto(app_url, wait_until="domcontentloaded")
    pg.get_by_text("公共服务人口地图").first.wait_for(state="visible")
    _wait_idle(pg)
    pg.get_by_role("link", name="规划情景").first.click()
    _wait_idle(pg)
    pg.get_by_role("tab", name="情景编辑").wait_for(state="visible")
    pg.locator("[data-testid='stMetric']").first.wait_for(state="visible")
    # the scenario map (with click-to-fill) is drawn without tiles
    fr = pg.frame_locator("iframe[title='streamlit_folium.st_folium']").first
    fr.locator("path.gisapp-facility").first.wait_for(state="visible", timeout=UI_TIMEOUT_MS)
    assert _covered(pg)

    _fill(pg, "经度", lon)
    _fill(pg, "纬度", lat)
    pg.get_by_role("button", name="新增设施").click()
    _wait_idle(pg)
    pg.get_by_text("最近一次修改").first.wait_for(state="visible")
    # the covered figure carries the exact change as its delta
    delta = pg.locator("[data-testid='stMetric']").first.locator("[data-testid='stMetricDelta']")
    delta.wait_for(state="visible")
    gained = int(delta.inner_text().split()[0].replace(",", ""))
    assert gained > 0, delta.inner_text()
    pg.wait_for_timeout(1500)  # let Leaflet draw before the screenshot
    pg.screenshot(path=str(ARTIFACTS / "planning_scenario.png"), full_page=True)

    # suggested sites: run with the defaults (k = 5 on grid candidates)
    pg.get_by_role("tab", name="选址建议").click()
    pg.get_by_role("button", name="计算建议选址").click()
    _wait_idle(pg)
    pg.get_by_text("个新址新增覆盖").first.wait_for(state="visible", timeout=UI_TIMEOUT_MS)
    pg.get_by_role("button", name="将这些新址加入当前情景").wait_for(state="visible")
    pg.locator("[data-testid='stVegaLiteChart']").first.wait_for(state="visible")
    pg.wait_for_timeout(1500)
    pg.screenshot(path=str(ARTIFACTS / "planning_suggest.png"), full_page=True)

    # compare: the current scenario against the baseline, two maps side by side, both on the city
    # (they are drawn while their tab is hidden: they must not open at world zoom)
    pg.get_by_role("tab", name=t("plan.tab.compare", "zh")).click()
    _wait_idle(pg)
    pg.get_by_role("button", name=t("cmp.download", "zh")).wait_for(state="visible")
    ws = load_workspace(_workspace())
    w, s, e, n = (float(v) for v in ws.districts.to_crs(4326).total_bounds)
    frames = pg.locator(FOLIUM)
    count, shown = 0, []
    for _ in range(60):  # the tab's two maps appear once Streamlit has drawn the tab
        count = frames.count()
        shown = [i for i in range(count) if frames.nth(i).is_visible()]
        if len(shown) == 2:
            break
        pg.wait_for_timeout(1000)
    assert len(shown) == 2, (count, shown)
    for i in shown:
        v = _view(pg, i)
        assert v["zoom"] >= 8, v
        # the view is the city's: it holds the city's centre and is no more than a few times its size
        assert v["west"] <= (w + e) / 2 <= v["east"] and v["south"] <= (s + n) / 2 <= v["north"], (v, (w, s, e, n))
        assert v["east"] - v["west"] < 3 * (e - w) and v["north"] - v["south"] < 3 * (n - s), (v, (w, s, e, n))
    pg.wait_for_timeout(1000)
    pg.screenshot(path=str(ARTIFACTS / "planning_compare.png"), full_page=True)

