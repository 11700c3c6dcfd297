"""Every text shown to a user, in one catalogue per language keyed by code: :mod:`.zh` and :mod:`.en`.

Use :func:`t` for text and :func:`fmt_number` / :func:`fmt_pct` for numbers.  Keys are
grouped by area (UI keys such as ``word.district``, problem codes ``problem.<code>`` with their
fixes ``problem.<code>.fix``, error codes ``error.<code>``); add a key to both catalogues.
A test walks every key and every code and fails on a text missing in either language.
"""

from __future__ import annotations

import math
import re
from typing import Final

from gisapp.i18n import en as _en
from gisapp.i18n import zh as _zh

__all__ = ["CATALOGUES", "LANGS", "PROBLEM_TEXT", "TEXT", "fmt_number", "fmt_pct", "has_text", "problem_text", "t"]

LANGS: Final = ("zh", "en")

#: the catalogue of each language: code -> text (a ``str.format`` template)
CATALOGUES: Final[dict[str, dict[str, str]]] = {"zh": _zh.TEXT, "en": _en.TEXT}

#: both languages side by side: code -> {"zh": ..., "en": ...} (read-only view for tables of labels)
TEXT: Final[dict[str, dict[str, str]]] = {k: {"zh": _zh.TEXT.get(k, ""), "en": v} for k, v in _en.TEXT.items()}


def has_text(key: str, lang: str = "zh") -> bool:
    """Return whether ``key`` has a text in the catalogue of ``lang``."""
    return key in CATALOGUES.get(lang, {})


def t(key: str, lang: str = "zh", **kwargs: object) -> str:
    """Return the text of ``key`` in ``lang`` ("zh" or "en"), formatted with ``kwargs``.

    A missing key returns the key itself, so a gap in the table is visible, not fatal.

    Examples
    --------
    >>> t("word.district", "en")
    'District'
    """
    s = CATALOGUES.get(lang, _en.TEXT).get(key)
    if s is None:
        return key
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


def fmt_pct(v: float | None, lang: str = "zh", *, digits: int = 1) -> str:  # noqa: ARG001 - same signature as fmt_number
    """Format a percentage (0-100) for ``lang``.

    Examples
    --------
    >>> fmt_pct(87.654, "en")
    '87.7%'
    """
    if v is None or not math.isfinite(v):
        return "—"
    return f"{v:.{digits}f}%"


#: Chinese wording of the engine's validation messages and fixes (``gisapp._errors.Problem``):
#: (regular expression on the English text, Chinese template with the captured groups).
#: The first matching pattern wins; text that matches none is shown as it is.
PROBLEM_TEXT: list[tuple[str, str]] = [
    # messages
    (r"^file (.+) does not exist\.$", "文件 {0} 不存在。"),
    (r"^the workspace file does not exist\.$", "工作区文件不存在。"),
    (r"^not valid YAML \((.*)\)\.$", "YAML 格式错误（{0}）。"),
    (r"^column '(.+)' is missing\.$", "缺少列“{0}”。"),
    (r"^column\(s\) (.+) missing\.$", "缺少列：{0}。"),
    (r"^capacity column '(.+)' is missing\.$", "缺少能力（床位/医生/学位）列“{0}”。"),
    (r"^duplicate facility ids: (.+)\.$", "设施编号重复：{0}。"),
    (r"^duplicate district ids: (.+)\.$", "区县编号重复：{0}。"),
    (r"^negative capacity for (.+)\.$", "以下设施的能力为负数：{0}。"),
    (r"^(\d+) non-numeric value\(s\), e\.g\. (.+)\.$", "{0} 个值不是数字，例如 {1}。"),
    (r"^(\d+) row\(s\) have missing or non-numeric coordinates \(rows (.+)\)\.$",
     "{0} 行坐标缺失或不是数字（第 {1} 行）。"),
    (r"^(\d+) coordinate\(s\) outside -180\.\.180 / -90\.\.90\.$", "{0} 个坐标超出经纬度范围。"),
    (r"^(\d+) facilit(?:y lies|ies lie) more than (.+) m outside every district: (.+)\.$",
     "{0} 个设施位于所有区县边界外 {1} 米以上：{2}。"),
    (r"^the (district|facility) layer is empty\.$", "图层为空。"),
    (r"^the raster has no coordinate reference system\.$", "栅格没有坐标系。"),
    (r"^the district layer has no CRS\.$", "区县图层没有坐标系。"),
    (r"^the raster holds no population .*$", "栅格中没有人口（全部为空或零）。"),
    (r"^the raster holds negative population values\.$", "栅格中有负的人口值。"),
    (r"^cannot read the raster \((.*)\)\.$", "无法读取栅格（{0}）。"),
    (r"^cannot read the facilities file \((.*)\)\.$", "无法读取设施文件（{0}）。"),
    (r"^cannot read the district file \((.*)\)\.$", "无法读取区县文件（{0}）。"),
    (r"^unsupported file type '(.*)'\.$", "不支持的文件类型“{0}”。"),
    (r"^facilities must be points\.$", "设施必须是点。"),
    (r"^districts must be polygons, found (.+)\.$", "区县必须是面，实际为 {0}。"),
    (r"^a table of facilities needs longitude and latitude columns\.$", "设施表需要经度和纬度列。"),
    (r"^unknown facility kind '(.+)'\.$", "未知的设施类型“{0}”。"),
    (r"^unknown demand group '(.+)'\.$", "未知的需求人群“{0}”。"),
    (r"^no facility has a kind used by the services \(found: (.*)\)\.$",
     "没有设施属于各项服务使用的类型（文件中的类型：{0}）。"),
    (r"^band (\d+) requested but the raster has (\d+)\.$", "请求第 {0} 波段，但栅格只有 {1} 个波段。"),
    # fixes
    (r"^correct the path \(relative to the workspace file\)\.$", "请更正路径（相对于工作区文件）。"),
    (r"^check the path, or copy layers/panzhihua\.yaml and edit it\.$", "请检查路径，或复制 layers/panzhihua.yaml 后修改。"),
    (r"^fix the YAML syntax.*$", "请修正 YAML 语法（缩进、冒号、引号）。"),
    (r"^map `(.+)` to one of the file's columns \((.*)\)\.$", "请把“{0}”对应到文件中的某一列（{1}）。"),
    (r"^give every facility a unique id\.$", "请为每个设施设置唯一编号。"),
    (r"^give every district a unique id.*$", "请为每个区县设置唯一编号（如6位行政区划代码）。"),
    (r"^capacities must be 0 or more\.$", "能力必须大于或等于0。"),
    (r"^give numbers only \(no units in the cells\)\.$", "请只填数字（单元格中不要带单位）。"),
    (r"^fill in decimal degrees.*$", "请填写十进制度数，例如 101.7184, 26.5824。"),
    (r"^give decimal degrees; check that longitude and latitude are not swapped\.$",
     "请使用十进制度数，并检查经纬度是否颠倒。"),
    (r"^check the declared coordinate system .*$",
     "请检查声明的坐标系（高德/腾讯为 GCJ-02，百度为 BD-09）、经纬度是否颠倒，以及区县图层。"),
    (r"^give at least one (facility|district polygon)\.$", "请至少提供一条记录。"),
    (r"^declare `crs` .*$", "请为该图层声明坐标系（如 WGS84 / EPSG:4326）。"),
    (r"^give a GeoTIFF.*$", "请提供每个格网人口数的 GeoTIFF 文件。"),
    (r"^check the file is a valid .*$", "请确认文件为有效的 CSV/XLSX/GeoJSON/GPKG/压缩 SHP。"),
    (r"^give CSV, XLSX, GeoJSON, GeoPackage or a zipped Shapefile\.$", "请提供 CSV、XLSX、GeoJSON、GeoPackage 或压缩的 Shapefile。"),
    (r"^check the band and the nodata value\.$", "请检查波段与无数据值设置。"),
    (r"^set the raster's nodata value, or replace negatives with 0\.$", "请设置栅格的无数据值，或把负值改为0。"),
    (r"^give one point per facility\.$", "每个设施一个点。"),
    (r"^add the column or remove it from the capacity list\.$", "请添加该列，或从能力字段列表中删除。"),
    (r"^use the kind names (.+), or edit services\.\*\.kinds\.$", "请使用设施类型名 {0}，或修改 services.*.kinds。"),
]
_COMPILED = [(re.compile(p), z) for p, z in PROBLEM_TEXT]


def problem_text(text: str, lang: str = "zh") -> str:
    """Return a validation message or fix in ``lang`` (Chinese from :data:`PROBLEM_TEXT`).

    Examples
    --------
    >>> problem_text("column 'type' is missing.", "zh")
    '缺少列“type”。'
    >>> problem_text("column 'type' is missing.", "en")
    "column 'type' is missing."
    """
    if lang != "zh":
        return text
    for rx, zh in _COMPILED:
        m = rx.match(text.strip())
        if m:
            return zh.format(*m.groups())
    return text
