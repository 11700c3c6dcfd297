"""Browser test: start the app, drive Debian's chromium through Playwright, save screenshots.

Opens the overview and the map of the demo workspace (the tiny fixture if the demo is not
built), checks that the district table and facility markers are visible, switches to English
and saves screenshots to ``test-artifacts/``.  Base-map tiles are blocked: the map must be
meaningful without them.  Chromium comes from Debian (``scripts/setup.sh --system``), never
from ``playwright install``.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import DEMO, ROOT, TINY
from tests.ui.app_server import (
    ARTIFACTS,
    CHROMIUM,
    CHROMIUM_ARGS,
    UI_TIMEOUT_MS,
    free_port,
    streamlit_server,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]



def _workspace() -> Path:
    return DEMO if (ROOT / "data" / "panzhihua" / "population_100m.tif").exists() else TINY


@pytest.fixture(scope="module")
def app_url() -> Iterator[str]:
    """Start ``streamlit run streamlit_app.py`` on a free port; stop it afterwards."""
    if not CHROMIUM.exists():
        pytest.skip("Debian chromium is not installed at /usr/bin/chromium (run scripts/setup.sh --system)")
    port = free_port()
    ARTIFACTS.mkdir(exist_ok=True)
    env = dict(os.environ, GISAPP_WORKSPACE=str(_workspace()), MPLBACKEND="Agg")
    with streamlit_server(port, env, ARTIFACTS / "streamlit_server.log"):
        yield f"http://127.0.0.1:{port}"


@pytest.fixture(scope="module")
def page(app_url: str) -> Iterator[object]:
    """A chromium page with base-map tiles blocked."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            ctx = browser.new_context(viewport={"width": 1500, "height": 1000}, locale="zh-CN")
            ctx.route("**/tile.openstreetmap.org/**", lambda route: route.abort())
            pg = ctx.new_page()
            pg.set_default_timeout(UI_TIMEOUT_MS)
            yield pg
            with contextlib.suppress(Exception):
                ctx.close()
        finally:
            browser.close()


def _wait_idle(pg) -> None:  # type: ignore[no-untyped-def]
    """Wait until the app has finished its script run (no running indicator, no spinner)."""
    pg.wait_for_timeout(700)  # let a rerun triggered by the last click start
    pg.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"] [data-testid=\"stStatusWidgetRunningIcon\"]')"
        " && !document.querySelector('[data-testid=\"stSpinner\"]')", timeout=UI_TIMEOUT_MS)


def _open_map_and_check(pg, name: str) -> None:  # type: ignore[no-untyped-def]
    zh = name.endswith("zh")
    pg.get_by_role("link", name="地图" if zh else "Map").first.click()
    _wait_idle(pg)
    frame = pg.frame_locator("iframe[title='streamlit_folium.st_folium']").first
    # the map of this language (not a stale one from before the rerun) has been drawn
    frame.locator("#gisapp-legend", has_text="图例" if zh else "Legend").wait_for(state="visible")
    markers = frame.locator("path.gisapp-facility")
    markers.first.wait_for(state="visible", timeout=UI_TIMEOUT_MS)
    assert markers.count() > 0
    # districts (SVG paths with tooltips), image overlays and the legend are drawn without tiles
    assert frame.locator("img.leaflet-image-layer").count() >= 1
    assert frame.locator("#gisapp-legend").is_visible()
    pg.wait_for_timeout(1500)  # let Leaflet finish fitting bounds before the screenshot
    pg.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=False)


def test_overview_map_and_language_switch(page, app_url: str) -> None:  # type: ignore[no-untyped-def]
    pg = page
    pg.goto(app_url, wait_until="domcontentloaded")
    pg.get_by_text("公共服务人口地图").first.wait_for(state="visible")
    _wait_idle(pg)
    metrics = pg.locator("[data-testid='stMetric']")
    metrics.first.wait_for(state="visible")
    # the index's cards come first; the service's follow when the rest of the page has run
    pg.wait_for_function("document.querySelectorAll(\"[data-testid='stMetric']\").length >= 5",
                         timeout=UI_TIMEOUT_MS)
    assert metrics.count() >= 5
    table = pg.locator("[data-testid='stDataFrame']").first
    table.wait_for(state="visible")
    assert table.bounding_box() is not None
    pg.get_by_text("分区县覆盖").first.wait_for(state="visible")
    pg.locator("[data-testid='stVegaLiteChart']").nth(1).wait_for(state="visible")
    pg.wait_for_timeout(1000)  # let vega draw
    pg.screenshot(path=str(ARTIFACTS / "overview_zh.png"), full_page=True)

    _open_map_and_check(pg, "map_zh")

    pg.get_by_text("English", exact=True).first.click()
    pg.get_by_text("Public-Service Population Map").first.wait_for(state="visible")
    _wait_idle(pg)
    _open_map_and_check(pg, "map_en")
    pg.get_by_role("link", name="Overview").first.click()
    _wait_idle(pg)
    pg.get_by_text("Coverage by district").first.wait_for(state="visible")
    assert pg.locator("[data-testid='stDataFrame']").first.is_visible()
    pg.locator("[data-testid='stVegaLiteChart']").nth(1).wait_for(state="visible")
    pg.wait_for_timeout(1000)
    pg.screenshot(path=str(ARTIFACTS / "overview_en.png"), full_page=True)

    # gaps: pick the largest gap area in the table; the map beside it zooms there
    pg.get_by_role("link", name="Gaps").first.click()
    _wait_idle(pg)
    gaps = pg.locator("[data-testid='stDataFrame']").first
    gaps.wait_for(state="visible")
    box = gaps.bounding_box()
    assert box is not None
    pg.mouse.click(box["x"] + 18, box["y"] + 35 + 17)  # the selection box of the first row
    _wait_idle(pg)
    pg.get_by_text("Open on the map page").first.wait_for(state="visible")
    pg.frame_locator("iframe[title='streamlit_folium.st_folium']").first.locator(
        "img.leaflet-image-layer").first.wait_for(state="attached")
    pg.wait_for_timeout(1500)
    pg.screenshot(path=str(ARTIFACTS / "gaps_en.png"), full_page=False)


def _after(locator) -> str:  # type: ignore[no-untyped-def]
    """The text a stylesheet draws after an element (``::after``), without its quotes."""
    content = str(locator.evaluate("e => getComputedStyle(e, '::after').content"))
    return content[1:-1] if content.startswith('"') else content


def test_the_uploader_speaks_the_chosen_language(page, app_url: str) -> None:  # type: ignore[no-untyped-def]
    from gisapp.i18n import t

    pg = page
    pg.goto(app_url, wait_until="domcontentloaded")  # a new session: Chinese
    pg.get_by_text("公共服务人口地图").first.wait_for(state="visible")
    _wait_idle(pg)
    pg.get_by_role("link", name=t("page.data", "zh")).first.click()
    _wait_idle(pg)
    zone = pg.locator("[data-testid='stFileUploaderDropzone']").first
    zone.wait_for(state="visible")
    shown = zone.inner_text()
    # Streamlit's English texts (1.67: "Upload", "200MB per file"; older: "Browse files") are not visible
    for english in ("Browse files", "Upload", "per file", "Drag and drop", "Limit 200MB"):
        assert english not in shown, (english, shown)
    assert not pg.get_by_text("Browse files").first.is_visible()
    assert not zone.get_by_text("Upload", exact=True).first.is_visible()
    # and the catalogue's Chinese texts are drawn in their place
    assert _after(zone.locator("[data-testid='stBaseButton-secondary'] [data-testid='stMarkdownContainer']").first) \
        == t("widget.upload", "zh")
    instructions = _after(zone.locator("[data-testid='stFileUploaderDropzoneInstructions'] > div").first)
    assert instructions.startswith(t("widget.upload_limit", "zh", size="200MB")) and "CSV" in instructions
    # while a file is dragged over it, the drop text is Chinese too
    drag = pg.evaluate_handle("() => { const dt = new DataTransfer();"
                              " dt.items.add(new File(['x'], 'a.csv', {type: 'text/csv'})); return dt; }")
    zone.dispatch_event("dragenter", {"dataTransfer": drag})
    overlay = zone.locator("> div:not([data-testid]) > span").first
    overlay.wait_for(state="attached")
    assert _after(overlay) == t("widget.drop_file", "zh")
    zone.screenshot(path=str(ARTIFACTS / "data_uploader_zh.png"))
    zone.dispatch_event("dragleave", {"dataTransfer": drag})
    # in English the catalogue's English texts are drawn
    pg.get_by_text("English", exact=True).first.click()
    pg.get_by_text("Public-Service Population Map").first.wait_for(state="visible")
    _wait_idle(pg)
    zone = pg.locator("[data-testid='stFileUploaderDropzone']").first
    zone.wait_for(state="visible")
    assert _after(zone.locator("[data-testid='stBaseButton-secondary'] [data-testid='stMarkdownContainer']").first) \
        == t("widget.upload", "en")
