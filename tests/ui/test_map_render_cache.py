"""A cached map is rendered once and shown with exactly what ``st_folium`` would send."""

from __future__ import annotations

from typing import Any

import folium
import pytest
import streamlit_folium

from gisapp.ui import frame


def _map() -> folium.Map:
    m = folium.Map(location=[26.58, 101.72], zoom_start=9, tiles=None)
    folium.CircleMarker([26.6, 101.7], radius=4, tooltip="甲卫生院").add_to(m)
    folium.GeoJson({"type": "Feature", "properties": {"name": "东区"},
                    "geometry": {"type": "Polygon", "coordinates": [[[101.6, 26.5], [101.8, 26.5], [101.8, 26.7],
                                                                     [101.6, 26.5]]]}}).add_to(m)
    return m


def _capture(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(streamlit_folium, "_component_func", lambda **kw: calls.append(kw))
    return calls


def test_the_cached_render_sends_what_st_folium_sends(monkeypatch: pytest.MonkeyPatch) -> None:
    import copy

    m = _map()
    calls = _capture(monkeypatch)
    streamlit_folium.st_folium(copy.deepcopy(m), key="map_x", height=500, use_container_width=True,
                               returned_objects=[])
    frame.show_map(m, key="map_x", height=500)
    real, ours = calls
    real.pop("on_change")
    ours.pop("on_change")
    # folium gives every element of every object its own id: the two renders differ only in those
    import re

    for d in (real, ours):
        for name in ("script", "header", "html", "id"):
            d[name] = re.sub(r"_[0-9a-f]{32}", "_ID", d[name])
        d.pop("key")
    assert real == ours
    assert "甲卫生院" in ours["script"]


def test_a_map_is_rendered_once(monkeypatch: pytest.MonkeyPatch) -> None:
    m = _map()
    calls = _capture(monkeypatch)
    renders = []
    real_get = streamlit_folium._get_map_string  # noqa: SLF001
    monkeypatch.setattr(streamlit_folium, "_get_map_string", lambda fig: renders.append(1) or real_get(fig))
    for _ in range(3):
        frame.show_map(m, key="map_y", height=400)
    assert len(renders) == 1 and len(calls) == 3
    assert calls[0]["script"] == calls[2]["script"] and calls[0]["key"] == calls[2]["key"]
    other = _map()
    frame.show_map(other, key="map_y", height=400)
    assert len(renders) == 2  # another map object is rendered on its own
