"""Static report figures (PNG bytes) drawn with matplotlib's object API and the Agg canvas.

No pyplot: every figure is a :class:`matplotlib.figure.Figure` of its own, drawn under a
local ``rc_context``, so nothing leaks into global plotting state.  Chinese labels need a
CJK font (:func:`find_cjk_font`); Latin text uses matplotlib's bundled DejaVu Sans, with the
CJK font as the per-glyph fallback.  The fonts are found by :mod:`gisapp.io.assets`.
"""

from __future__ import annotations

import io as _io
import math
from functools import lru_cache
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd

from gisapp._errors import GisAppError
from gisapp.i18n import fmt_pct, t
from gisapp.io import assets
from gisapp.io.assets import latin_font
from gisapp.maps import COVERAGE_CLASSES, coverage_class, district_classes
from gisapp.reports.data import ReportData, ServiceReport, standard_text

__all__ = ["all_charts", "coverage_legend", "coverage_map", "coverage_map_figure", "find_cjk_font", "latin_font",
           "scale_label", "scale_length_m", "service_charts"]

COVERED: Final = "#2b8a3e"
UNCOVERED: Final = "#e03131"
INELIGIBLE: Final = "#adb5bd"
ACCENT: Final = "#1c7ed6"


@lru_cache(maxsize=1)
def find_cjk_font() -> Path:
    """Return the path of an installed font with Chinese glyphs (see :data:`gisapp.io.assets.CJK_FONT_PATHS`).

    Raises
    ------
    GisAppError
        Code ``report_no_cjk_font`` if none is installed; the message names the Debian package.
    """
    path = assets.find_cjk_font()
    if path is None:
        raise GisAppError(code="report_no_cjk_font", params={"paths": ", ".join(assets.CJK_FONT_PATHS[:5])})
    return path


@lru_cache(maxsize=1)
def _cjk_family() -> str:
    from matplotlib import font_manager

    path = find_cjk_font()
    font_manager.fontManager.addfont(str(path))
    return str(font_manager.FontProperties(fname=str(path)).get_name())


def _rc() -> Any:
    return {"font.family": ["DejaVu Sans", _cjk_family()],
            "axes.unicode_minus": False, "font.size": 9, "axes.spines.top": False,
            "axes.spines.right": False, "svg.hashsalt": "gisapp"}


def _png(fig: object) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)  # type: ignore[arg-type]
    buf = _io.BytesIO()
    fig.savefig(buf, format="png", dpi=150, metadata={"Software": None})  # type: ignore[attr-defined]
    return buf.getvalue()


def district_chart(sr: ServiceReport, lang: str) -> bytes:
    """Return a bar chart of the covered share (%) by district."""
    import matplotlib
    from matplotlib.figure import Figure

    with matplotlib.rc_context(_rc()):
        cov = sr.coverage
        fig = Figure(figsize=(6.4, 3.0))
        ax = fig.add_subplot()
        pct = cov["covered_pct"].to_numpy(float)
        names = cov["district_name"].astype(str).tolist()
        y = np.arange(len(names))
        ax.barh(y, np.nan_to_num(pct), color=ACCENT)
        ax.set_yticks(y, names)
        ax.invert_yaxis()
        ax.set_xlim(0, 105)
        for yi, v in zip(y, pct, strict=True):
            if math.isfinite(v):
                ax.text(v + 1, float(yi), f"{v:.1f}", va="center", fontsize=8)
        ax.set_xlabel(t("col.covered_pct", lang))
        ax.set_title(f"{sr.spec.title(lang)} · {t('rep.chart.district', lang)}", fontsize=10)
        fig.tight_layout()
        return _png(fig)


def class_chart(sr: ServiceReport, lang: str) -> bytes:
    """Return a bar chart of the covered share (%) in town and country."""
    import matplotlib
    from matplotlib.figure import Figure

    with matplotlib.rc_context(_rc()):
        pct = dict(zip(sr.classes["class"].astype(str), sr.classes["covered_pct"].to_numpy(float), strict=True))
        keys = ["urban_centre", "urban_cluster", "town", "rural", "all"]
        vals = [float(pct.get(k, float("nan"))) for k in keys]
        fig = Figure(figsize=(6.4, 2.6))
        ax = fig.add_subplot()
        colors = ["#74c0fc", "#74c0fc", ACCENT, "#ffa94d", "#495057"]
        x = np.arange(len(keys))
        ax.bar(x, np.nan_to_num(vals), color=colors)
        ax.set_xticks(x, [t("class.town_subtotal" if k == "town" else f"class.{k}", lang) for k in keys])
        ax.set_ylim(0, 110)
        for xi, v in zip(x, vals, strict=True):
            if math.isfinite(v):
                ax.text(float(xi), v + 2, f"{v:.1f}", ha="center", fontsize=8)
        ax.set_ylabel(t("col.covered_pct", lang))
        ax.set_title(f"{sr.spec.title(lang)} · {t('rep.chart.class', lang)}", fontsize=10)
        fig.tight_layout()
        return _png(fig)


def curve_chart(sr: ServiceReport, lang: str) -> bytes:
    """Return the cumulative share of people within each travel cost, with the standard marked."""
    import matplotlib
    from matplotlib.figure import Figure

    with matplotlib.rc_context(_rc()):
        cur = sr.curve
        fig = Figure(figsize=(6.4, 2.8))
        ax = fig.add_subplot()
        ax.plot(cur["cost"], cur["share_pct"], color=ACCENT, lw=1.8)
        std = sr.spec.standard.value
        ax.axvline(std, color=UNCOVERED, ls="--", lw=1)
        ax.text(std, 3, " " + sr.spec.standard.label(lang), color=UNCOVERED, fontsize=8)
        ax.set_ylim(0, 102)
        ax.set_xlim(0, float(cur["cost"].max()) if len(cur) else 1.0)
        ax.set_xlabel(t("rep.chart.travel", lang, unit=t(f"unit.{sr.unit}", lang)))
        ax.set_ylabel(t("rep.chart.share", lang))
        ax.set_title(f"{sr.spec.title(lang)} · {t('rep.chart.curve', lang)}", fontsize=10)
        ax.grid(alpha=0.3)
        fig.tight_layout()
        return _png(fig)


def _boundary_segments(geoms: object) -> list[np.ndarray]:
    import shapely

    segs: list[np.ndarray] = []
    for geom in geoms:  # type: ignore[attr-defined]
        for poly in getattr(geom, "geoms", [geom]):
            rings = [poly.exterior, *poly.interiors] if hasattr(poly, "exterior") else []
            segs.extend(np.asarray(shapely.get_coordinates(r)) for r in rings)
    return segs


#: Colour of the populated cells beyond the standard on the static map.
_CELL_BEYOND: Final = "#67000d"
_NICE_STEPS: Final = (1.0, 2.0, 5.0)


def scale_length_m(extent_m: float) -> float:
    """Return a round length (1, 2 or 5 times a power of ten, metres) near a fifth of ``extent_m``.

    Examples
    --------
    >>> scale_length_m(120_000.0), scale_length_m(1_000.0), scale_length_m(37_000.0)
    (20000.0, 200.0, 5000.0)
    """
    target = max(extent_m / 5.0, 1.0)
    power = 10.0 ** math.floor(math.log10(target))
    return max(step * power for step in _NICE_STEPS if step * power <= target)


def scale_label(length_m: float, lang: str) -> str:
    """Return the text of a scale bar: kilometres from 1 km on, metres below.

    Examples
    --------
    >>> scale_label(20_000.0, "zh"), scale_label(20_000.0, "en"), scale_label(500.0, "zh")
    ('20 公里', '20 km', '500 米')
    """
    if length_m >= 1000.0:
        return t("rep.map.km", lang, n=f"{length_m / 1000.0:g}")
    return t("rep.map.m", lang, n=f"{length_m:g}")


def coverage_map_figure(data: ReportData, sr: ServiceReport, lang: str) -> Any:
    """Return the static coverage map as a matplotlib :class:`~matplotlib.figure.Figure` (not yet drawn).

    Districts are filled in the fixed classes of the covered share
    (:data:`gisapp.maps.COVERAGE_CLASSES`, the same for every service), the populated cells
    beyond the standard drawn over them, with the facilities of the service, each
    district's name and share, a scale bar, a north arrow and a legend in ``lang``.
    """
    import matplotlib
    from matplotlib.collections import LineCollection
    from matplotlib.colors import ListedColormap
    from matplotlib.figure import Figure
    from matplotlib.font_manager import FontProperties
    from matplotlib.patches import Patch
    from mpl_toolkits.axes_grid1.anchored_artists import AnchoredSizeBar

    ws = data.ws
    g = ws.grid
    res = sr.result
    with matplotlib.rc_context(_rc()):
        fig = Figure(figsize=(7.0, 7.0))
        ax = fig.add_subplot()
        # districts in fixed classes of the covered share
        pct = dict(zip(sr.coverage["district_id"].astype(str), sr.coverage["covered_pct"].astype(float),
                       strict=True))
        for _, r in ws.districts.iterrows():
            k = coverage_class(float(pct.get(str(r["district_id"]), float("nan"))))
            colour = COVERAGE_CLASSES[k][2] if k >= 0 else INELIGIBLE
            for poly in getattr(r.geometry, "geoms", [r.geometry]):
                xs, ys = poly.exterior.xy
                ax.fill(np.asarray(xs), np.asarray(ys), color=colour, alpha=0.55, lw=0, zorder=1)
        # the populated cells beyond the standard (those within it are what the district colour says)
        beyond = (g.pop > 0) & res.eligible & (res.demand > 0) & ~res.covered
        ras = np.zeros(g.shape, dtype=np.int8)
        ras[g.row[beyond], g.col[beyond]] = 1
        tr = g.transform
        extent = (tr.c, tr.c + tr.a * g.shape[1], tr.f + tr.e * g.shape[0], tr.f)
        ax.imshow(np.ma.masked_equal(ras, 0), extent=extent, cmap=ListedColormap([_CELL_BEYOND]),
                  vmin=1, vmax=1, interpolation="nearest", zorder=2)
        ax.add_collection(LineCollection(_boundary_segments(ws.districts.geometry), colors="#343a40",
                                         linewidths=0.8, zorder=3))
        f = ws.facilities.iloc[res.facility_idx]
        ax.scatter(f["x"], f["y"], s=9, c=ACCENT, marker="o", edgecolors="white", linewidths=0.3, zorder=4)
        for _, r in ws.districts.iterrows():
            p = r.geometry.representative_point()
            share = pct.get(str(r["district_id"]), float("nan"))
            text = str(r["district_name"]) + (f"\n{fmt_pct(share, lang)}" if math.isfinite(share) else "")
            ax.text(p.x, p.y, text, fontsize=9, ha="center", va="center", color="#212529", zorder=5,
                    bbox={"boxstyle": "round,pad=0.2", "fc": "white", "alpha": 0.75, "lw": 0})
        xmin, ymin, xmax, ymax = ws.districts.total_bounds
        pad = 0.02 * max(xmax - xmin, ymax - ymin)
        ax.set_xlim(xmin - pad, xmax + pad)
        ax.set_ylim(ymin - pad, ymax + pad)
        ax.set_aspect("equal")
        ax.set_xticks([])
        ax.set_yticks([])
        for spine in ax.spines.values():
            spine.set_visible(False)
        # scale bar (the analysis CRS is projected, in metres) and north arrow
        length = scale_length_m(float(xmax - xmin))
        ax.add_artist(AnchoredSizeBar(ax.transData, length, scale_label(length, lang), loc="lower right",
                                      pad=0.4, borderpad=0.6, sep=4, frameon=False,
                                      size_vertical=(ymax - ymin) * 0.006, color="#212529",
                                      fontproperties=FontProperties(size=8)))
        ax.annotate("", xy=(0.95, 0.95), xytext=(0.95, 0.85), xycoords="axes fraction",
                    arrowprops={"facecolor": "#212529", "edgecolor": "#212529", "width": 3, "headwidth": 10,
                                "headlength": 10})
        ax.text(0.95, 0.965, t("rep.map.north", lang), transform=ax.transAxes, ha="center", va="bottom",
                fontsize=11, color="#212529")
        handles: list[Any] = [Patch(facecolor=c, alpha=0.55, edgecolor="#555555", lw=0.5, label=label)
                              for c, label in coverage_legend(lang)]
        handles += [Patch(color=_CELL_BEYOND, label=t("rep.map.cells_beyond", lang)),
                    ax.scatter([], [], s=12, c=ACCENT, label=t("rep.layer.facilities", lang))]
        ax.legend(handles=handles, loc="lower left", fontsize=7.5, title=t("rep.map.classes", lang),
                  title_fontsize=8, framealpha=0.92)
        ax.set_title(f"{sr.spec.title(lang)} · {standard_label(sr, lang)}", fontsize=10)
        fig.tight_layout()
        return fig


def coverage_legend(lang: str) -> list[tuple[str, str]]:
    """Return ``(colour, label)`` of each fixed class of the covered share, as the maps show it."""
    return district_classes(pd.Series([], dtype=float), "covered_pct", lang)[1]


def coverage_map(data: ReportData, sr: ServiceReport, lang: str) -> bytes:
    """Return the static coverage map (:func:`coverage_map_figure`) as PNG bytes."""
    import matplotlib

    with matplotlib.rc_context(_rc()):
        return _png(coverage_map_figure(data, sr, lang))


def standard_label(sr: ServiceReport, lang: str) -> str:
    """Return the service's standard as a short label."""
    return standard_text(sr.spec, lang)


def service_charts(data: ReportData, sr: ServiceReport) -> dict[str, bytes]:
    """Return the PNG figures of one service: ``district``, ``class``, ``curve`` and ``map``."""
    lang = data.lang
    return {"district": district_chart(sr, lang), "class": class_chart(sr, lang),
            "curve": curve_chart(sr, lang), "map": coverage_map(data, sr, lang)}


def all_charts(data: ReportData) -> dict[str, dict[str, bytes]]:
    """Return :func:`service_charts` of every service of the report, by service name."""
    return {sr.name: service_charts(data, sr) for sr in data.services}
