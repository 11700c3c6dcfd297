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

from gisapp._errors import GisAppError
from gisapp.i18n import t
from gisapp.io import assets
from gisapp.io.assets import latin_font
from gisapp.reports.data import ReportData, ServiceReport, standard_text

__all__ = ["all_charts", "find_cjk_font", "latin_font", "service_charts"]

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
        keys = ["urban_centre", "urban_cluster", "rural", "town", "country", "all"]
        vals = [float(pct.get(k, float("nan"))) for k in keys]
        fig = Figure(figsize=(6.4, 2.6))
        ax = fig.add_subplot()
        colors = ["#74c0fc", "#74c0fc", "#ffa94d", ACCENT, "#f76707", "#495057"]
        x = np.arange(len(keys))
        ax.bar(x, np.nan_to_num(vals), color=colors)
        ax.set_xticks(x, [t(f"class.{k}", lang) for k in keys])
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


def coverage_map(data: ReportData, sr: ServiceReport, lang: str) -> bytes:
    """Return a static map: covered / uncovered populated cells, districts, facilities, top gaps."""
    import matplotlib
    from matplotlib.collections import LineCollection
    from matplotlib.colors import ListedColormap
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    ws = data.ws
    g = ws.grid
    res = sr.result
    with matplotlib.rc_context(_rc()):
        cls = np.zeros(g.n, dtype=np.int8)
        pop = g.pop > 0
        cls[pop & ~res.eligible] = 1
        cls[pop & res.eligible & ~res.covered] = 2
        cls[pop & res.covered] = 3
        ras = np.zeros(g.shape, dtype=np.int8)
        ras[g.row, g.col] = cls
        masked = np.ma.masked_equal(ras, 0)
        tr = g.transform
        extent = (tr.c, tr.c + tr.a * g.shape[1], tr.f + tr.e * g.shape[0], tr.f)
        fig = Figure(figsize=(7.0, 7.0))
        ax = fig.add_subplot()
        cmap = ListedColormap(["white", INELIGIBLE, UNCOVERED, COVERED])
        ax.imshow(masked, extent=extent, cmap=cmap, vmin=0, vmax=3, interpolation="nearest")
        ax.add_collection(LineCollection(_boundary_segments(ws.districts.geometry), colors="#343a40",
                                         linewidths=0.8))
        f = ws.facilities.iloc[res.facility_idx]
        ax.scatter(f["x"], f["y"], s=9, c="#1864ab", marker="o", edgecolors="white", linewidths=0.3, zorder=3)
        for _, r in ws.districts.iterrows():
            p = r.geometry.representative_point()
            ax.text(p.x, p.y, str(r["district_name"]), fontsize=10, ha="center", va="center",
                    color="#212529", bbox={"boxstyle": "round,pad=0.2", "fc": "white", "alpha": 0.7, "lw": 0})
        xmin, ymin, xmax, ymax = ws.districts.total_bounds
        pad = 0.02 * max(xmax - xmin, ymax - ymin)
        ax.set_xlim(xmin - pad, xmax + pad)
        ax.set_ylim(ymin - pad, ymax + pad)
        ax.set_aspect("equal")
        ax.set_xticks([])
        ax.set_yticks([])
        for spine in ax.spines.values():
            spine.set_visible(False)
        handles = [Patch(color=COVERED, label=t("rep.legend.covered", lang)),
                   Patch(color=UNCOVERED, label=t("rep.legend.uncovered", lang)),
                   ax.scatter([], [], s=12, c="#1864ab", label=t("rep.layer.facilities", lang))]
        ax.legend(handles=handles, loc="lower left", fontsize=8, framealpha=0.9)
        ax.set_title(f"{sr.spec.title(lang)} · {standard_label(sr, lang)}", fontsize=10)
        fig.tight_layout()
        return _png(fig)


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
