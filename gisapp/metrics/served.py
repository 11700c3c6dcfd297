"""People served within capacity (AccessMod style), by district, for every service with a capacity.

Coverage within the standard counts everyone near a facility, however full it is.  This metric
counts only the people a facility has room for: facility by facility, each one's catchment grows
outwards over its cost (ring by ring) on the people earlier facilities left unserved, until its
capacity is used or the standard is reached (:func:`gisapp.metrics.capacity.capacity_coverage`,
AccessMod's "geographic coverage" analysis).

Capacity into people
    A service's capacity field counts doctors, beds or seats; the number of people a facility
    can serve is

    * ``capacity / norm_per_1000 * 1000`` when the service has a norm per 1,000 people (the
      people for whom its capacity meets the norm: 2.77 doctors per 1,000 -> one doctor serves
      361 people); when the norm counts per 1,000 of another group (``norm_base``: childcare
      places per 1,000 residents, the demand being the under-3s) that number of the base group
      times the demand group's share of it (share of the demand group / share of the base group);
    * ``capacity`` when the field is ``seats`` and the service has no norm (one seat, one pupil
      or child of the service's demand group);
    * otherwise the metric is not computed and the result says why (:attr:`ServedWithinCapacity.reason`).

Catchments
    The service's own cost matrix (:attr:`~gisapp.metrics.service.ServiceResult.cost`) within
    its standard (the rural standard in the country): travel time in minutes in terrain mode,
    grown in AccessMod's one-second rings; straight-line metres in straight-line mode, grown
    distance by distance (every distinct distance a ring) -- a notice says so.

Order
    Facilities with the most people within their standard go first (AccessMod's population
    order; ties: the order of the facility table).

People are the service's eligible demand (its demand group; town cells only when it is urban
only).  Whatever the engine substitutes (blank capacities read as 0, distance instead of travel
time) is listed in :attr:`ServedWithinCapacity.notices`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

import numpy as np
import pandas as pd

from gisapp._errors import GisAppError
from gisapp.config.spec import DemandGroup, ServiceSpec
from gisapp.i18n import Term, fmt_number, fmt_pct, t
from gisapp.metrics.capacity import (
    ONE_SECOND_MIN,
    CapacityCoverage,
    capacity_coverage,
    population_order,
)
from gisapp.metrics.people import whole
from gisapp.metrics.service import ServiceResult, per_cell_threshold, terrain_thresholds, tile_plan
from gisapp.workspace import Workspace

if TYPE_CHECKING:
    from gisapp.metrics.dask_engine import DaskRun

__all__ = ["SEAT_FIELDS", "SERVED_COLUMNS", "Notice", "ServedWithinCapacity", "people_per_unit",
           "served_export", "served_total_text", "served_whole", "served_within_capacity"]

#: capacity fields that count places of one person each (a seat serves one pupil)
SEAT_FIELDS: Final = ("seats",)
#: columns of :attr:`ServedWithinCapacity.by_district`
SERVED_COLUMNS: Final = ["district_id", "district_name", "population", "capacity_people", "served", "unserved",
                         "served_pct"]


@dataclass(frozen=True)
class Notice:
    """A sentence of the catalogue (``key`` formatted with ``params``), shown in any language."""

    key: str
    params: Mapping[str, object] = field(default_factory=dict, hash=False)

    def text(self, lang: str = "zh") -> str:
        """Return the sentence in ``lang``."""
        return t(self.key, lang, **self.params)


@dataclass(frozen=True)
class ServedWithinCapacity:
    """People served within capacity of one service (see the module's description).

    Attributes
    ----------
    service
        The service's name.
    applicable
        False when the service has no capacity field or no way to turn it into people.
    reason
        Why it is not applicable (None when it is).
    conversion
        How capacity was turned into people (None when not applicable).
    people_per_unit
        People one unit of capacity serves (NaN when not applicable).
    by_district
        Columns :data:`SERVED_COLUMNS`: eligible demand, capacity of the district's facilities
        in people, people served (by any facility), unserved, served share (%).  Empty
        (with these columns) when not applicable.
    population, served, capacity_people
        Totals, people (``served`` = the sum of the districts' ``served``).
    facilities
        One row per serving facility: ``facility_id, capacity, capacity_people, order,
        served, residual_people``.
    notices
        What the engine substituted, each a :class:`Notice`.
    coverage
        The underlying :class:`~gisapp.metrics.capacity.CapacityCoverage` (None when not applicable).
    """

    service: str
    applicable: bool
    reason: Notice | None
    conversion: Notice | None
    people_per_unit: float
    by_district: pd.DataFrame
    population: float
    served: float
    capacity_people: float
    facilities: pd.DataFrame
    notices: tuple[Notice, ...] = ()
    coverage: CapacityCoverage | None = field(default=None, repr=False)

    @property
    def share_pct(self) -> float:
        """Return the people served as a share of the eligible demand, % (NaN without demand)."""
        return 100.0 * self.served / self.population if self.population > 0 else float("nan")

    def texts(self, lang: str = "zh") -> list[str]:
        """Return what a reader must know, in ``lang``: why not computed, or the conversion and every notice."""
        if not self.applicable:
            return [self.reason.text(lang)] if self.reason is not None else []
        return [n.text(lang) for n in ((self.conversion,) if self.conversion else ()) + self.notices]


def _num(v: float) -> str:
    """Return a number with at most two decimals and no trailing zeros ("2.77", "500", "361.01")."""
    return fmt_number(v, digits=2).rstrip("0").rstrip(".")


def _unit(fieldname: str) -> Term:
    return Term(f"cap.{fieldname}", fieldname)


class _GroupTitle:
    """A demand group's title as a parameter of a sentence, in the sentence's language (its name if untitled)."""

    def __init__(self, group: DemandGroup) -> None:
        self.group = group

    def text(self, lang: str = "zh") -> str:
        return (self.group.zh if lang == "zh" else self.group.en) or self.group.en or self.group.zh or self.group.name


def people_per_unit(svc: ServiceSpec, groups: Mapping[str, DemandGroup] | None = None) -> tuple[float, Notice]:
    """Return the people (of the service's demand group) one unit of capacity serves, and the sentence saying how.

    NaN (and the reason) when there is no conversion.  A norm counted per 1,000 of another group
    (``norm_base``, e.g. childcare places per 1,000 residents for the under-3s) is turned into
    people of the demand group by the ratio of the two groups' shares of the population.

    Examples
    --------
    >>> from gisapp.config.spec import Standard
    >>> def svc(**kw):
    ...     return ServiceSpec(name="s", kinds=("k",), standard=Standard(distance_m=500), **kw)
    >>> round(people_per_unit(svc(capacity="doctors", norm_per_1000=2.77))[0], 1)
    361.0
    >>> people_per_unit(svc(capacity="seats"))[0]
    1.0
    >>> people_per_unit(svc(capacity="doctors"))[1].key
    'served.none_no_norm'
    >>> groups = {"total": DemandGroup(name="total", share=1.0), "under3": DemandGroup(name="under3", share=0.03)}
    >>> round(people_per_unit(svc(capacity="places", norm_per_1000=4.5, demand="under3", norm_base="total"),
    ...                       groups)[0], 2)
    6.67
    """
    capacity_field = svc.capacity
    if capacity_field is None:
        return float("nan"), Notice("served.none_no_capacity")
    unit = _unit(capacity_field)
    norm = svc.norm_per_1000
    if norm is not None and norm > 0:
        per = 1000.0 / float(norm)
        base = svc.norm_base or svc.demand
        if base != svc.demand and groups and base in groups and svc.demand in groups and groups[base].share > 0:
            per_group = per * groups[svc.demand].share / groups[base].share
            return per_group, Notice("served.conv_norm_base", {
                "unit": unit, "norm": _num(norm), "base": _GroupTitle(groups[base]), "per_base": _num(per),
                "group": _GroupTitle(groups[svc.demand]), "per": _num(per_group)})
        return per, Notice("served.conv_norm", {"unit": unit, "norm": _num(norm), "per": _num(per)})
    if capacity_field in SEAT_FIELDS:
        return 1.0, Notice("served.conv_seats", {"unit": unit})
    return float("nan"), Notice("served.none_no_norm", {"unit": unit})


def _empty(res: ServiceResult, reason: Notice) -> ServedWithinCapacity:
    dem = np.where(res.eligible, res.demand, 0.0)
    table = pd.DataFrame({c: pd.Series(dtype=float) for c in SERVED_COLUMNS})
    fac = pd.DataFrame(columns=["facility_id", "capacity", "capacity_people", "order", "served", "residual_people"])
    return ServedWithinCapacity(res.service.name, False, reason, None, float("nan"), table, float(dem.sum()),
                                float("nan"), float("nan"), fac, (), None)


def served_within_capacity(ws: Workspace, res: ServiceResult, *, tiles: DaskRun | None = None) -> ServedWithinCapacity:
    """Return the people served within capacity of one service, by district and in total.

    Parameters
    ----------
    ws
        The workspace ``res`` was computed on (for a scenario: its workspace, whose facility
        table ``res.facility_idx`` indexes).
    res
        The service's result (:func:`~gisapp.metrics.service.run_service`, either travel mode).
    tiles
        For a result of the dask engine that kept no pairs (province scale): the run whose
        workers compute and hold the catchments while the sweep runs on this machine
        (:func:`gisapp.metrics.dask_engine.capacity_tiled`); the same numbers.  Without it
        such a result raises ``dask_cost_not_kept``.

    Returns
    -------
    ServedWithinCapacity
        Not applicable (``applicable`` False, ``reason`` set) when the service has no capacity
        field, or a field other than seats and no norm per 1,000.
    """
    svc = res.service
    per, note = people_per_unit(svc, ws.spec.demand_groups)
    if not np.isfinite(per) or svc.capacity is None:
        return _empty(res, note)
    if not res.cost_kept and tiles is None:  # the dask engine at province scale: the pairs were never gathered
        raise GisAppError(code="dask_cost_not_kept", params={"what": Term("served.title")})
    notices: list[Notice] = []
    fac = ws.facilities
    idx = np.asarray(res.facility_idx, dtype=np.int64)
    units = fac[svc.capacity].to_numpy(float)[idx]
    blank = ~np.isfinite(units)
    if blank.any():  # never after loading (blanks are read as 0), but a scenario table may hold one
        notices.append(Notice("served.note_blank", {"n": int(blank.sum()), "unit": _unit(svc.capacity)}))
        units = np.where(blank, 0.0, units)
    ids = fac["facility_id"].astype(str).to_numpy()[idx]
    defaulted = sorted(set(ws.capacity_defaults.get(svc.capacity, ())) & set(ids))
    if defaulted:
        notices.append(Notice("served.note_defaulted", {"n": len(defaulted), "ids": ", ".join(defaulted[:10]),
                                                        "unit": _unit(svc.capacity)}))
    cap_people = np.maximum(units, 0.0) * per
    dem = np.where(res.eligible, res.demand, 0.0)
    if res.cost.unit == "min":
        thr = terrain_thresholds(svc, ws.town)  # travel minutes: terrain mode
        ring: float | None = ONE_SECOND_MIN
    else:
        thr = res.threshold_m
        ring = None
        notices.append(Notice("served.note_metres"))
    districts = ws.districts
    if not res.cost_kept:
        from gisapp.metrics.dask_engine import capacity_tiled

        cov = capacity_tiled(tile_plan(ws, res, tiles), tiles, n_cells=ws.grid.n, pop=dem, capacity=cap_people,  # type: ignore[arg-type]
                             unit=res.cost.unit, ring_minutes=ring, zone=ws.grid.district,
                             zone_ids=list(range(len(districts))), facility_ids=list(ids))
    else:
        within = res.cost.within(per_cell_threshold(thr))
        order = population_order(dem, within)
        cov = capacity_coverage(dem, within, cap_people, order=order, ring_minutes=ring, zone=ws.grid.district,
                                zone_ids=list(range(len(districts))), facility_ids=list(ids))
    zones = cov.zones
    assert zones is not None  # zone was given
    pop = zones["pop"].to_numpy(float)
    served = zones["pop_covered"].to_numpy(float)
    fac_d = ws.district_at(fac["x"].to_numpy(float)[idx], fac["y"].to_numpy(float)[idx])
    inside = fac_d >= 0
    cap_d = np.bincount(fac_d[inside], weights=cap_people[inside], minlength=len(districts)).astype(float)
    table = pd.DataFrame({
        "district_id": districts["district_id"].to_numpy(), "district_name": districts["district_name"].to_numpy(),
        "population": pop, "capacity_people": cap_d, "served": served, "unserved": pop - served,
        "served_pct": np.divide(100.0 * served, pop, out=np.full(pop.shape, np.nan), where=pop > 0)})
    f = cov.facilities
    facilities = pd.DataFrame({"facility_id": ids, "capacity": units, "capacity_people": cap_people,
                               "order": f["order"].to_numpy(), "served": f["pop_covered"].to_numpy(float),
                               "residual_people": f["capacity_residual"].to_numpy(float)})
    return ServedWithinCapacity(svc.name, True, None, note, per, table[SERVED_COLUMNS], float(dem.sum()),
                                float(served.sum()), float(cap_people.sum()), facilities, tuple(notices), cov)



def served_whole(result: ServedWithinCapacity) -> pd.DataFrame:
    """Return :attr:`ServedWithinCapacity.by_district` in whole people (rows add up to the rounded totals).

    ``served``, ``unserved`` and ``capacity_people`` are rounded by :func:`~gisapp.metrics.people.whole`;
    ``population`` is then ``served + unserved``; ``served_pct`` stays as computed.
    """
    out = result.by_district.copy()
    if out.empty:
        return out
    served, unserved = whole(out["served"].to_numpy(float)), whole(out["unserved"].to_numpy(float))
    out["served"], out["unserved"], out["population"] = served, unserved, served + unserved
    out["capacity_people"] = whole(out["capacity_people"].to_numpy(float))
    return out


def served_export(result: ServedWithinCapacity, lang: str = "zh") -> pd.DataFrame:
    """Return the by-district table as a person reads it: whole people, headers (``col.<name>``) in ``lang``."""
    out = served_whole(result)
    return out.rename(columns={c: t(f"col.{c}", lang) for c in SERVED_COLUMNS})


def served_total_text(result: ServedWithinCapacity, lang: str = "zh") -> str:
    """Return the totals in one sentence in ``lang`` (whole people), or why the metric was not computed."""
    if not result.applicable:
        return result.reason.text(lang) if result.reason is not None else ""
    return t("served.total", lang, served=fmt_number(round(result.served), lang),
             population=fmt_number(round(result.population), lang), pct=fmt_pct(result.share_pct, lang),
             capacity=fmt_number(round(result.capacity_people), lang))
