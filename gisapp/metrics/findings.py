"""Key findings (主要结论) of a service: the few figures a planner reads first, each equal to its table.

:func:`findings` reads the engine's own tables (:func:`~gisapp.metrics.tables.coverage_by_district`,
:func:`~gisapp.metrics.tables.coverage_by_class`, :func:`~gisapp.metrics.tables.capacity_by_district`
and, with a settlements layer, :func:`gisapp.metrics.places.gap_places`) and keeps:

- the people beyond the standard per district, as whole people (:func:`district_people`: the same
  rounding the report's district table uses, so each figure equals the table's);
- the worst district (lowest coverage) and the district with the most people beyond the standard;
- the town / country coverage ratio (town = urban centre + urban cluster, country = rural);
- the capacity shortfall against the norm: the sum of the districts' shortfalls only, never netted
  against other districts' surpluses;
- the places (village or community, township, district) with the most people beyond the standard.

:meth:`ServiceFindings.sentences` writes them as a few sentences in Chinese or English from the
catalogue (``find.*`` keys).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

import numpy as np
import pandas as pd

from gisapp.config.spec import ServiceSpec
from gisapp.i18n import Term, t
from gisapp.metrics.people import whole
from gisapp.metrics.places import gap_places, has_places
from gisapp.metrics.service import ServiceResult
from gisapp.metrics.tables import capacity_by_district, coverage_by_class, coverage_by_district
from gisapp.workspace import Workspace

__all__ = [
    "TOP_PLACES",
    "ServiceFindings",
    "capacity_columns",
    "class_pct",
    "district_people",
    "findings",
    "fmt_people",
    "fmt_share",
]

#: Places named in the sentences (the most people beyond the standard first).
TOP_PLACES: Final = 3


def fmt_people(n: int | float) -> str:
    """Return whole people with thousands separators, the same in both languages (no 万).

    Examples
    --------
    >>> fmt_people(12345), fmt_people(7.0)
    ('12,345', '7')
    """
    return f"{int(n):,}"


def fmt_share(pct: float) -> str:
    """Return a percentage (0-100) to one decimal, "—" when undefined.

    Examples
    --------
    >>> fmt_share(72.483), fmt_share(float("nan"))
    ('72.5%', '—')
    """
    return f"{pct:.1f}%" if math.isfinite(pct) else "—"


def district_people(coverage: pd.DataFrame) -> pd.DataFrame:
    """Return a coverage-by-district table with people as whole numbers that add up.

    ``covered`` and ``uncovered`` are each rounded by the largest remainder
    (:func:`gisapp.metrics.people.whole`, so each column sums to its rounded total) and
    ``population`` is their sum, row by row; ``covered_pct`` stays the exact share.

    Examples
    --------
    >>> cov = pd.DataFrame({"district_id": ["a", "b", "c"], "district_name": ["甲", "乙", "丙"],
    ...                     "population": [10.0, 10.0, 10.0], "covered": [6.6, 6.6, 6.8],
    ...                     "uncovered": [3.4, 3.4, 3.2], "covered_pct": [66.0, 66.0, 68.0]})
    >>> d = district_people(cov)
    >>> d["uncovered"].tolist(), d["covered"].tolist(), d["population"].tolist()
    ([4, 3, 3], [7, 6, 7], [11, 9, 10])
    >>> int(d["uncovered"].sum()) == round(cov["uncovered"].sum())
    True
    """
    out = coverage.copy()
    out["covered"] = whole(coverage["covered"].to_numpy(float))
    out["uncovered"] = whole(coverage["uncovered"].to_numpy(float))
    out["population"] = out["covered"] + out["uncovered"]
    return out


def capacity_columns(capacity: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Return the (shortfall, surplus) of each district against the norm (both >= 0; NaN without a norm).

    Read from the table's ``shortfall``/``surplus`` columns when it has them, else from
    ``capacity_gap`` (positive: short).

    Examples
    --------
    >>> short, plus = capacity_columns(pd.DataFrame({"capacity_gap": [-3.0, 1.98, float("nan")]}))
    >>> short.tolist()[:2], plus.tolist()[:2], bool(np.isnan(short[2]))
    ([0.0, 1.98], [3.0, 0.0], True)
    """
    if "shortfall" in capacity.columns and "surplus" in capacity.columns:
        return capacity["shortfall"].to_numpy(float), capacity["surplus"].to_numpy(float)
    gap = capacity["capacity_gap"].to_numpy(float)
    with np.errstate(invalid="ignore"):
        return np.where(np.isnan(gap), np.nan, np.maximum(gap, 0.0)), np.where(np.isnan(gap), np.nan,
                                                                               np.maximum(-gap, 0.0))


def class_pct(classes: pd.DataFrame, name: str) -> float:
    """Return the covered share (%) of one row of :func:`coverage_by_class` (NaN when absent)."""
    c = classes.set_index("class")["covered_pct"]
    return float(c[name]) if name in c.index and pd.notna(c[name]) else float("nan")


@dataclass(frozen=True)
class ServiceFindings:
    """The key findings of one service (people are whole people).

    Attributes
    ----------
    service
        The service.
    districts
        One row per district: ``district_id, district_name, population, covered, beyond``
        (whole people; ``beyond`` = people beyond the standard) and ``covered_pct``.
    worst
        Name of the district with the lowest coverage ("" when no district has demand) and
        ``worst_pct`` its coverage (%).
    most
        Name of the district with the most people beyond the standard and ``most_beyond`` its people.
    town_pct, rural_pct, ratio
        Coverage (%) in town (urban centre + cluster) and in the country (rural), and town / country
        (NaN when either has no demand).
    shortfall
        Sum of the districts' capacity shortfalls against the norm (units of ``capacity``;
        None when the service has no norm); ``short_districts`` the districts that are short.
    places
        The places with the most people beyond the standard (columns of
        :func:`gisapp.metrics.places.gap_places`), None without a settlements layer.
    """

    service: ServiceSpec
    districts: pd.DataFrame
    worst: str
    worst_pct: float
    most: str
    most_beyond: int
    town_pct: float
    rural_pct: float
    ratio: float
    capacity: str | None
    shortfall: float | None
    short_districts: int
    places: pd.DataFrame | None

    @property
    def beyond(self) -> int:
        """Return the people beyond the standard in all districts (the district table's total)."""
        return int(self.districts["beyond"].sum())

    @property
    def population(self) -> int:
        """Return the service's demand in all districts (whole people)."""
        return int(self.districts["population"].sum())

    @property
    def covered_pct(self) -> float:
        """Return the share (%) of the demand within the standard (exact, not from rounded people)."""
        pop = float(self.districts["exact_population"].sum())
        cov = float(self.districts["exact_covered"].sum())
        return 100.0 * cov / pop if pop > 0 else float("nan")

    def capacity_unit(self, lang: str) -> str:
        """Return the unit of the capacity shortfall in ``lang`` ("名医生", "beds"), "" without capacity."""
        if not self.capacity:
            return ""
        return Term(f"capunit.{self.capacity}", Term(f"cap.{self.capacity}", self.capacity).text(lang)).text(lang)

    def district_line(self, lang: str) -> str:
        """Return the people beyond the standard in each district, as one line ("东区 1,234 人，…").

        Districts without demand for the service are left out.
        """
        d = self.districts[self.districts["population"] > 0]
        items = [t("find.district_item", lang, district=str(name), n=fmt_people(int(n)))
                 for name, n in zip(d["district_name"], d["beyond"].to_numpy(np.int64), strict=True)]
        return t("find.districts", lang, items=t("find.sep", lang).join(items)) if items else ""

    def place_items(self, lang: str, top: int = TOP_PLACES) -> list[str]:
        """Return the places with the most people beyond the standard, each with its people and district."""
        if self.places is None:
            return []
        p = self.places.head(top)
        return [t("find.place_item", lang, place=str(pl), township=str(tw), district=str(di), n=fmt_people(int(n)))
                for pl, tw, di, n in zip(p["place"], p["township"], p["district_name"], p["people"].to_numpy(np.int64),
                                         strict=True)]

    def sentences(self, lang: str) -> list[str]:
        """Return the findings as a few sentences in ``lang`` (the figures of the district tables)."""
        title = self.service.title(lang)
        if self.population == 0:
            return [t("find.no_demand", lang, service=title)]
        if self.beyond == 0:
            out = [t("find.none_beyond", lang, service=title, pct=fmt_share(self.covered_pct))]
        else:
            out = [t("find.beyond", lang, service=title, n=fmt_people(self.beyond), pct=fmt_share(self.covered_pct)),
                   self.district_line(lang),
                   t("find.worst_same", lang, district=self.worst, pct=fmt_share(self.worst_pct),
                     n=fmt_people(self.most_beyond)) if self.worst == self.most else
                   t("find.worst", lang, district=self.worst, pct=fmt_share(self.worst_pct), most=self.most,
                     n=fmt_people(self.most_beyond))]
        if math.isfinite(self.ratio):
            out.append(t("find.ratio", lang, town=fmt_share(self.town_pct), rural=fmt_share(self.rural_pct),
                         ratio=f"{self.ratio:.2f}"))
        else:
            out.append(t("find.no_ratio", lang))
        if self.shortfall is not None:
            unit = self.capacity_unit(lang)
            if self.shortfall > 0:
                out.append(t("find.shortfall", lang, k=self.short_districts, v=f"{self.shortfall:,.1f}", unit=unit))
            else:
                out.append(t("find.no_shortfall", lang, unit=unit))
        if self.beyond > 0:
            if self.places is None:
                out.append(t("find.no_places", lang))
            elif len(self.places):
                out.append(t("find.places", lang, items=t("find.place_sep", lang).join(self.place_items(lang))))
        return out


def findings(ws: Workspace, res: ServiceResult, *, coverage: pd.DataFrame | None = None,
             classes: pd.DataFrame | None = None, capacity: pd.DataFrame | None = None,
             places: pd.DataFrame | None | bool = True) -> ServiceFindings:
    """Return the key findings of a service result.

    Parameters
    ----------
    ws, res
        The workspace and the service's result.
    coverage, classes, capacity
        The service's :func:`coverage_by_district`, :func:`coverage_by_class` and
        :func:`capacity_by_district` when already computed (default: computed here).
    places
        Its :func:`gisapp.metrics.places.gap_places` when already computed; ``True`` (default)
        computes them when the workspace has a settlements layer; ``None`` or ``False``: none.

    Examples
    --------
    >>> from gisapp.workspace import load_workspace
    >>> from gisapp.metrics.service import run_service
    >>> import pathlib
    >>> ws = load_workspace(pathlib.Path(__file__).parents[2] / "tests" / "data" / "tiny" / "workspace.yaml")
    >>> f = findings(ws, run_service(ws, "clinic"), places=None)
    >>> f.districts["beyond"].tolist(), f.worst, round(f.worst_pct, 1), round(f.shortfall, 2)
    ([410, 410], '甲区', 18.0, 1.98)
    >>> f.sentences("zh")[1]
    '各区县超出标准人口：甲区 410 人，乙区 410 人。'
    """
    cov = coverage if coverage is not None else coverage_by_district(ws, res)
    cls = classes if classes is not None else coverage_by_class(ws, res)
    cap = capacity if capacity is not None else capacity_by_district(ws, res)
    people = district_people(cov)
    d = pd.DataFrame({
        "district_id": cov["district_id"].astype(str).to_numpy(),
        "district_name": cov["district_name"].astype(str).to_numpy(),
        "population": people["population"].to_numpy(np.int64),
        "covered": people["covered"].to_numpy(np.int64),
        "beyond": people["uncovered"].to_numpy(np.int64),
        "covered_pct": cov["covered_pct"].to_numpy(float),
        "exact_population": cov["population"].to_numpy(float),
        "exact_covered": cov["covered"].to_numpy(float),
    })
    has = d[d["exact_population"] > 0]
    if len(has):
        w = has.sort_values(["covered_pct", "beyond"], ascending=[True, False], kind="stable").iloc[0]
        m = has.sort_values(["beyond", "covered_pct"], ascending=[False, True], kind="stable").iloc[0]
        worst, worst_pct, most, most_beyond = str(w["district_name"]), float(w["covered_pct"]), \
            str(m["district_name"]), int(m["beyond"])
    else:
        worst, worst_pct, most, most_beyond = "", float("nan"), "", 0
    town, rural = class_pct(cls, "town"), class_pct(cls, "rural")
    ratio = town / rural if math.isfinite(town) and math.isfinite(rural) and rural > 0 else float("nan")
    shortfall: float | None = None
    short_n = 0
    if res.service.capacity and res.service.norm_per_1000 is not None:
        short, _ = capacity_columns(cap)
        ok = np.isfinite(short)
        shortfall = float(short[ok].sum())
        short_n = int((short[ok] > 0).sum())
    pl: pd.DataFrame | None
    if places is True:
        pl = gap_places(ws, res) if has_places(ws) else None
    elif places is False:
        pl = None
    else:
        pl = places
    return ServiceFindings(service=res.service, districts=d, worst=worst, worst_pct=worst_pct, most=most,
                           most_beyond=most_beyond, town_pct=town, rural_pct=rural, ratio=ratio,
                           capacity=res.service.capacity, shortfall=shortfall, short_districts=short_n,
                           places=pl)
