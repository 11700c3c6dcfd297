"""The load benchmark's light websocket client sees the pages a browser shows.

``benchmarks/bench_app_load.py`` drives many sessions with :mod:`benchmarks.st_client` instead
of browsers (a browser per session would take the CPU the server needs).  This test opens the
same pages in chromium and with the light client on one server and checks they agree: every
heading, metric and widget label the client received is on the browser's page, and the
browser's headings all reached the client; after switching the service on the map page the
client's page names the service it chose, as the browser's does.
"""

from __future__ import annotations

import asyncio
import sys

import pytest

from tests.conftest import ROOT

from .test_browser import _wait_idle, app_url, page  # noqa: F401 - fixtures

sys.path.insert(0, str(ROOT / "benchmarks"))
from st_client import LightSession  # noqa: E402

pytestmark = [pytest.mark.browser, pytest.mark.slow]


async def _client_pages(url: str) -> tuple[list[str], list[str], str, int]:
    async with LightSession(url) as s:
        overview = await s.open()
        m = await s.goto("map")
        options = list(m.widgets["service"].options)
        chosen = options[1]
        after = await s.choose("service", chosen)
        assert not (overview.exceptions or m.exceptions or after.exceptions)
        return overview.texts, after.texts, chosen, overview.kinds.count("metric")


def _visible(pg) -> str:  # type: ignore[no-untyped-def]
    return " ".join(pg.locator("body").inner_text().split())


def _norm(text: str) -> str:
    import re

    text = re.sub(r"[*_`#>|]", "", text)  # markdown marks the browser renders away
    return " ".join(text.split())


def test_the_light_client_sees_what_the_browser_shows(page, app_url: str) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    # the client runs its own event loop in a thread (playwright's sync API holds one in this thread)
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        overview, map_texts, chosen, n_metrics = pool.submit(lambda: asyncio.run(_client_pages(app_url))).result()
    pg = page
    pg.goto(app_url, wait_until="domcontentloaded")
    pg.get_by_text("公共服务人口地图").first.wait_for(state="visible")
    _wait_idle(pg)
    short = [_norm(t) for t in overview if 2 <= len(_norm(t)) <= 40 and "\n" not in t.strip() and t.strip() != "---"]
    assert short, overview
    # the page has run to its end in the browser when its last element is drawn
    pg.get_by_text(short[-1]).first.wait_for(state="visible")
    _wait_idle(pg)
    # the metric cards are drawn by a component the browser loads on first use: under load they
    # can come after the page's last text (seen: every card label missing while the page's end was there)
    assert n_metrics >= 5, "the index's and the service's cards"
    pg.wait_for_function(f"document.querySelectorAll(\"[data-testid='stMetric']\").length >= {n_metrics}",
                         timeout=120_000)
    shown = _visible(pg)
    bare = shown.replace(" ", "")
    missing = [t for t in short if t.replace(" ", "") not in bare]
    assert missing == [], missing
    headings = [" ".join(h.split()) for h in pg.locator("h1, h2, h3").all_inner_texts() if h.strip()]
    client = " ".join(_norm(t) for t in overview)
    assert headings and [h for h in headings if _norm(h) not in client] == []
    # the map page after the service switch: both name the chosen service
    pg.get_by_role("link", name="地图").first.click()
    _wait_idle(pg)
    pg.locator("[data-testid='stSidebar'] [data-testid='stSelectbox']").filter(has_text="服务").first.click()
    pg.keyboard.type(chosen[:4])
    pg.get_by_role("option", name=chosen).first.click()
    _wait_idle(pg)
    assert chosen in _visible(pg)
    assert any(chosen in t for t in map_texts), map_texts[:20]
