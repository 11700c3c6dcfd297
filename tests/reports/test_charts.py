"""Tests of the static report map (gisapp.reports.charts.coverage_map): fixed classes, scale bar, north arrow, legend."""

from __future__ import annotations

import io

import numpy as np
import pytest
from matplotlib.colors import to_hex
from mpl_toolkits.axes_grid1.anchored_artists import AnchoredSizeBar
from PIL import Image

from gisapp import maps
from gisapp.reports import charts
from gisapp.reports import data as rd


@pytest.fixture(scope="module")
def tiny_data(tiny_ws):
    return {lang: rd.collect(tiny_ws, ["clinic"], lang=lang) for lang in ("zh", "en")}


def _texts(fig) -> list[str]:  # type: ignore[no-untyped-def]
    return [t.get_text() for t in fig.findobj(lambda a: hasattr(a, "get_text") and callable(a.get_text))]


def _scale_bar(ax) -> AnchoredSizeBar:  # type: ignore[no-untyped-def]
    bars = [a for a in ax.get_children() if isinstance(a, AnchoredSizeBar)]
    assert len(bars) == 1
    return bars[0]


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_map_has_a_legend_of_fixed_classes_a_scale_bar_and_a_north_arrow(tiny_data, lang) -> None:
    data = tiny_data[lang]
    sr = data.services[0]
    fig = charts.coverage_map_figure(data, sr, lang)
    ax = fig.axes[0]
    legend = ax.get_legend()
    labels = [t.get_text() for t in legend.get_texts()]
    assert labels[:6] == ["< 60%", "60–80%", "80–90%", "90–95%", "95–99%", "≥ 99%"]
    assert legend.get_title().get_text() == ("区县覆盖率（%）" if lang == "zh" else "District covered share (%)")
    assert ("有人口格网：超出服务标准" if lang == "zh" else "Populated cells beyond the standard") in labels
    texts = _texts(fig)
    assert ("北" if lang == "zh" else "N") in texts
    bar = _scale_bar(ax)
    # the tiny workspace is 1 km across: a bar of metres, about a fifth of the map's width
    number, unit = bar.txt_label.get_text().split()
    assert unit == ("米" if lang == "zh" else "m")
    xmin, _, xmax, _ = data.ws.districts.total_bounds
    assert 0.1 <= float(number) / (xmax - xmin) <= 0.3
    # each district is labelled with its name and covered share
    for name, pct in zip(sr.coverage["district_name"], sr.coverage["covered_pct"], strict=True):
        assert any(t.startswith(str(name)) and f"{pct:.1f}%" in t for t in texts), name
    if lang == "zh":
        assert not any(w in " ".join(texts) for w in ("km", "Legend", "Facilities"))


def test_districts_are_filled_with_the_class_of_their_share(tiny_data) -> None:
    data = tiny_data["zh"]
    sr = data.services[0]
    ax = charts.coverage_map_figure(data, sr, "zh").axes[0]
    fills = {to_hex(p.get_facecolor(), keep_alpha=False) for p in ax.patches}
    expected = {maps.COVERAGE_CLASSES[maps.coverage_class(float(v))][2] for v in sr.coverage["covered_pct"]}
    assert expected and expected <= fills
    # the legend shows every class colour whatever the service's range
    legend_colours = [to_hex(h.get_facecolor(), keep_alpha=False) for h in ax.get_legend().legend_handles[:6]]
    assert legend_colours == [c for _lo, _hi, c in maps.COVERAGE_CLASSES]


def test_the_png_is_drawn(tiny_data) -> None:
    data = tiny_data["zh"]
    png = charts.coverage_map(data, data.services[0], "zh")
    img = np.asarray(Image.open(io.BytesIO(png)))
    assert img.shape[0] > 500 and img.shape[1] > 500


def test_the_demo_map_has_a_kilometre_scale_bar(demo_ws) -> None:
    data = rd.collect(demo_ws, ["hospital_beds"], lang="zh")
    fig = charts.coverage_map_figure(data, data.services[0], "zh")
    bar = _scale_bar(fig.axes[0])
    assert bar.txt_label.get_text().endswith(" 公里")
    km = float(bar.txt_label.get_text().split()[0])
    xmin, _, xmax, _ = demo_ws.districts.total_bounds
    assert 0.1 <= km * 1000 / (xmax - xmin) <= 0.3  # about a fifth of the map's width
    texts = _texts(fig)
    for name in demo_ws.districts["district_name"]:
        assert any(t.startswith(str(name)) for t in texts), name


def test_scale_lengths_are_round() -> None:
    assert [charts.scale_length_m(v) for v in (1_000.0, 9_000.0, 120_000.0, 260_000.0)] == \
        [200.0, 1_000.0, 20_000.0, 50_000.0]
    assert charts.scale_label(50_000.0, "zh") == "50 公里" and charts.scale_label(200.0, "en") == "200 m"
