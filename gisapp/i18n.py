"""The one translation table: every label, unit and message shown in the app and the reports.

Use :func:`t` for text and :func:`fmt_number` / :func:`fmt_pct` for numbers.  Keys are
grouped by area; add new keys to the right group (Chinese first, then English).
"""

from __future__ import annotations

import math
from typing import Final

__all__ = ["LANGS", "TEXT", "fmt_number", "fmt_pct", "t"]

LANGS: Final = ("zh", "en")

TEXT: dict[str, dict[str, str]] = {
    # --- product -------------------------------------------------------------------------
    "app.title": {"zh": "公共服务人口地图", "en": "Public-Service Population Map"},
    "app.subtitle": {"zh": "公共服务覆盖与缺口分析", "en": "Coverage and gaps of public services"},
    "lang.switch": {"zh": "语言 / Language", "en": "Language / 语言"},
    # --- common words ----------------------------------------------------------------------
    "word.service": {"zh": "服务", "en": "Service"},
    "word.standard": {"zh": "服务标准", "en": "Standard"},
    "word.source": {"zh": "来源", "en": "Source"},
    "word.district": {"zh": "区县", "en": "District"},
    "word.population": {"zh": "人口", "en": "Population"},
    "word.covered": {"zh": "覆盖人口", "en": "Covered"},
    "word.uncovered": {"zh": "未覆盖人口", "en": "Uncovered"},
    "word.covered_pct": {"zh": "覆盖率", "en": "Covered share"},
    "word.people": {"zh": "人", "en": "people"},
    "word.real": {"zh": "真实数据", "en": "real"},
    "word.synthetic": {"zh": "合成数据", "en": "synthetic"},
    "word.mixed": {"zh": "部分上传", "en": "mixed / uploaded"},
    "word.unknown": {"zh": "未说明", "en": "unknown"},
    # --- units -----------------------------------------------------------------------------
    "unit.m": {"zh": "米", "en": "m"},
    "unit.min": {"zh": "分钟", "en": "min"},
    "unit.per_1000": {"zh": "每千人", "en": "per 1,000"},
    "unit.people": {"zh": "人", "en": "people"},
    # --- town and country ------------------------------------------------------------------
    "class.urban_centre": {"zh": "城市中心", "en": "Urban centre"},
    "class.urban_cluster": {"zh": "城镇集群", "en": "Urban cluster"},
    "class.rural": {"zh": "农村", "en": "Rural"},
    "class.town": {"zh": "城镇", "en": "Town"},
    "class.country": {"zh": "乡村", "en": "Country"},
    "class.all": {"zh": "全市", "en": "All"},
    # --- provenance ------------------------------------------------------------------------
    "prov.banner": {"zh": "演示数据说明：区县界线为真实数据；人口格网、设施位置与规模为合成数据。",
                    "en": "Demo data: district boundaries are real; the population grid and facility positions and capacities are synthetic."},
}


def t(key: str, lang: str = "zh", **kwargs: object) -> str:
    """Return the text of ``key`` in ``lang`` ("zh" or "en"), formatted with ``kwargs``.

    A missing key returns the key itself, so a gap in the table is visible, not fatal.

    Examples
    --------
    >>> t("word.district", "en")
    'District'
    """
    entry = TEXT.get(key)
    if entry is None:
        return key
    s = entry.get(lang) or entry.get("en") or key
    return s.format(**kwargs) if kwargs else s


def fmt_number(v: float | int | None, lang: str = "zh", *, digits: int = 0) -> str:
    """Format a number for ``lang``: thousands separators; Chinese uses 万 above 100,000.

    Examples
    --------
    >>> fmt_number(1212203, "en"), fmt_number(1212203, "zh")
    ('1,212,203', '121.2万')
    >>> fmt_number(float('nan'))
    '—'
    """
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "—"
    if lang == "zh" and abs(v) >= 100_000:
        return f"{v / 10_000:,.1f}万"
    return f"{v:,.{digits}f}"


def fmt_pct(v: float | None, lang: str = "zh", *, digits: int = 1) -> str:
    """Format a percentage (0-100) for ``lang``.

    Examples
    --------
    >>> fmt_pct(87.654, "en")
    '87.7%'
    """
    if v is None or not math.isfinite(v):
        return "—"
    return f"{v:.{digits}f}%"
