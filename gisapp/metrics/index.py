"""The equalisation index (均等化指数): one 0-100 score per district and per town/country class.

Method (written out in the README and in every report):

1. **Indicators.**  For each service with a weight above 0, a *coverage* indicator: the share of
   the service's demand group within its standard, % (:func:`~gisapp.metrics.tables.coverage_by_district`);
   and, for a service with a norm per 1,000 (``norm_per_1000``), a *capacity* indicator: the
   capacity located in the area per 1,000 people of the demand group (``capacity_per_1000`` of
   :func:`~gisapp.metrics.tables.capacity_by_district`).
2. **Normalisation against the standard.**  The standard is the 100 point: coverage is already
   0-100 (100 = everyone within the standard); capacity scores
   ``min(100, 100 x supply per 1,000 / norm)`` (a surplus counts as 100, as WHO's UHC index caps
   its hospital-bed and health-worker densities at their thresholds).
3. **Weights.**  Service ``s`` has weight ``w_s`` (``index.weights`` of the workspace YAML;
   1 for a service not listed, so equal weights by default; 0 leaves it out) split between its
   indicators in proportion to ``coverage`` and ``capacity`` (1 : 1 unless given), so a
   service weighs ``w_s`` in all whatever its number of indicators.
4. **Weighted geometric mean**, as WHO's UHC service coverage index combines its indicators::

       index = exp( sum_k w_k ln(max(x_k, floor)) / sum_k w_k )

   over the indicators ``k`` with a value in the area.  A score of 0 would make the geometric
   mean 0 whatever the other services: it counts as ``floor`` (default 1, on the 0-100 scale,
   ``index.floor`` in the YAML).  An indicator without a value in an area (no demand for the
   service there, e.g. no children) is left out of that area's mean and the other weights
   are rescaled.  The geometric mean rewards balance: a district cannot make up for one
   service far below its standard with another above it.
5. **Outputs.**  The index per district (with its components and rank, 1 = highest), per
   Degree of Urbanisation class (urban centre, urban cluster, rural = the country, town =
   urban centre + urban cluster, all; capacity by class is the capacity its people reach within
   the standard, the people-weighted 2SFCA capacity per 1,000), the town/country ratio (城乡差距: index of the town / index of the country), the
   spread between districts (max - min and the coefficient of variation, std / mean with the
   population standard deviation), a sensitivity table (:func:`sensitivity`: ranks under other
   weights) and the index year by year (:func:`index_by_year`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from gisapp._errors import GisAppError
from gisapp.config.spec import Standard, WorkspaceSpec
from gisapp.grid.urban import RURAL, URBAN_CENTRE, URBAN_CLUSTER
from gisapp.i18n import t
from gisapp.metrics.service import ServiceResult, run_service
from gisapp.metrics.tables import capacity_by_district, coverage_by_class, coverage_by_district
from gisapp.workspace import Workspace, at_year

__all__ = [
    "CLASSES",
    "INDICATORS",
    "IndexResult",
    "Indicator",
    "Weights",
    "equalisation_index",
    "geometric_mean",
    "index_by_year",
    "index_weights",
    "indicator_label",
    "method_lines",
    "short_service_title",
    "rank",
    "scenario_label",
    "sensitivity",
    "sensitivity_table",
    "spread",
]

#: The indicators of a service, in order.
INDICATORS: Final = ("coverage", "capacity")
#: The rows of :attr:`IndexResult.by_class`, in order (as :func:`gisapp.metrics.tables.coverage_by_class`).
CLASSES: Final = ("urban_centre", "urban_cluster", "rural", "town", "all")
#: The default lowest score of an indicator in the geometric mean (WHO UHC service coverage index).
FLOOR: Final = 1.0

#: Weights as in the workspace YAML's ``index.weights``: service -> a number (its weight) or a
#: mapping with ``weight``, ``coverage`` and ``capacity``.
Weights = Mapping[str, float | Mapping[str, float]]


@dataclass(frozen=True)
class Indicator:
    """One indicator of the index: a service's coverage or capacity, with its weight.

    ``weight`` is its weight (the service's weight times its part of the split) and ``share``
    its weight over the sum of every indicator's weight (the shares add up to 1).
    """

    service: str
    kind: str
    weight: float
    share: float

    @property
    def column(self) -> str:
        """Return the indicator's column in the index tables (``"clinic:coverage"``)."""
        return f"{self.service}:{self.kind}"


def _entry(value: Any) -> dict[str, float]:
    """Return a service's weights as a mapping (a plain number is its ``weight``)."""
    if value is None:
        return {}
    if isinstance(value, Mapping):
        return {str(k): float(v) for k, v in value.items()}
    return {"weight": float(value)}


def _indicator_kinds(spec: WorkspaceSpec, service: str) -> list[str]:
    svc = spec.services[service]
    return ["coverage", "capacity"] if svc.capacity and svc.norm_per_1000 is not None else ["coverage"]


def index_weights(spec: WorkspaceSpec, weights: Weights | None = None) -> tuple[Indicator, ...]:
    """Return the indicators of the index and their weights.

    Parameters
    ----------
    spec
        The workspace spec (its services and its ``index`` section).
    weights
        Weights to use instead of the spec's ``index.weights`` (same shape).  A service not
        listed has weight 1.

    Raises
    ------
    GisAppError
        ``index_unknown_service`` (a weight for a service the workspace lacks),
        ``index_bad_weight`` (a weight below 0 or not finite), ``index_no_weight`` (every
        weight 0).

    Examples
    --------
    >>> from gisapp.config.spec import ServiceSpec, Standard
    >>> from dataclasses import replace
    >>> import pathlib
    >>> from gisapp.io.workspace_file import read_workspace
    >>> spec = read_workspace(pathlib.Path(__file__).parents[2] / "tests" / "data" / "tiny" / "workspace.yaml")
    >>> [(i.column, round(i.share, 3)) for i in index_weights(spec)]
    [('clinic:coverage', 0.167), ('clinic:capacity', 0.167), ('school:coverage', 0.333), ('clinic_time:coverage', 0.333)]
    >>> [(i.column, i.weight) for i in index_weights(spec, {"clinic": {"weight": 2, "capacity": 0}, "school": 0})]
    [('clinic:coverage', 2.0), ('clinic_time:coverage', 1.0)]
    """
    raw = {k: _entry(v) for k, v in (spec.index.weights if weights is None else weights).items()}
    unknown = [s for s in raw if s not in spec.services]
    if unknown:
        raise GisAppError(code="index_unknown_service",
                          params={"names": ", ".join(unknown), "known": ", ".join(spec.services)})
    out: list[tuple[str, str, float]] = []
    for name in spec.services:
        e = raw.get(name, {})
        if any(not math.isfinite(v) or v < 0 for v in e.values()):
            raise GisAppError(code="index_bad_weight", params={"service": name})
        w = e.get("weight", 1.0)
        kinds = _indicator_kinds(spec, name)
        parts = {k: e.get(k, 1.0) for k in kinds}
        total = sum(parts.values())
        if w <= 0 or total <= 0:
            continue
        out += [(name, k, w * parts[k] / total) for k in kinds if parts[k] > 0]
    wsum = sum(w for _, _, w in out)
    if wsum <= 0:
        raise GisAppError(code="index_no_weight")
    return tuple(Indicator(s, k, w, w / wsum) for s, k, w in out)


def geometric_mean(scores: NDArray[np.float64], weights: NDArray[np.float64], floor: float = FLOOR) -> NDArray[np.float64]:
    """Return the weighted geometric mean of each row of ``scores`` (0-100), scores floored at ``floor``.

    A NaN score is left out of its row (the row's other weights rescaled); a row without any
    score is NaN.

    Examples
    --------
    >>> geometric_mean(np.array([[100.0, 25.0], [0.0, 100.0], [np.nan, 49.0]]), np.array([1.0, 1.0]))
    array([50., 10., 49.])
    """
    s = np.asarray(scores, dtype=np.float64)
    w = np.broadcast_to(np.asarray(weights, dtype=np.float64), s.shape)
    ok = np.isfinite(s)
    wk = np.where(ok, w, 0.0)
    wsum = wk.sum(axis=1)
    logs = np.where(ok, np.log(np.maximum(np.where(ok, s, floor), floor)), 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.exp((wk * logs).sum(axis=1) / np.where(wsum > 0, wsum, 1.0))
    # exp(log(100)) may come back a hair above 100
    return np.asarray(np.where(wsum > 0, np.minimum(mean, 100.0), np.nan), dtype=np.float64)


def rank(values: NDArray[np.float64] | pd.Series) -> NDArray[np.float64]:
    """Return the rank of each value, 1 = highest (ties share the best rank; NaN has no rank).

    Examples
    --------
    >>> rank(np.array([50.0, 80.0, 50.0, np.nan])).tolist()
    [2.0, 1.0, 2.0, nan]
    """
    return np.asarray(pd.Series(np.asarray(values, dtype=float)).rank(ascending=False, method="min"), dtype=float)


def spread(values: NDArray[np.float64] | pd.Series) -> dict[str, float]:
    """Return the spread of the index between areas: max, min, range (max - min), mean and CV.

    ``cv`` is the coefficient of variation, the population standard deviation over the mean
    (areas without an index left out; NaN for none).

    Examples
    --------
    >>> spread(np.array([40.0, 60.0, np.nan]))
    {'max': 60.0, 'min': 40.0, 'range': 20.0, 'mean': 50.0, 'cv': 0.2}
    """
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        nan = float("nan")
        return {"max": nan, "min": nan, "range": nan, "mean": nan, "cv": nan}
    mean = float(v.mean())
    return {"max": float(v.max()), "min": float(v.min()), "range": float(v.max() - v.min()), "mean": mean,
            "cv": float(v.std() / mean) if mean > 0 else float("nan")}


# --------------------------------------------------------------------------------------
# scores of every indicator, per district and per class
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Scores:
    """Scores (0-100) of each indicator column: per district (rows = districts) and per class."""

    district: pd.DataFrame
    classes: pd.DataFrame
    raw: pd.DataFrame  # long: district_id, service, indicator, value, standard, score


def _capacity_score(per_1000: NDArray[np.float64], norm: float) -> NDArray[np.float64]:
    with np.errstate(invalid="ignore"):
        return np.where(np.isfinite(per_1000), np.minimum(100.0, 100.0 * per_1000 / norm), np.nan)


def _class_capacity(ws: Workspace, res: ServiceResult) -> NDArray[np.float64]:
    """Return the capacity within reach per 1,000 people of each class of :data:`CLASSES`.

    A class is no area with borders: country people are served by the town's hospitals within
    the standard, so counting only the facilities standing in country cells would give the
    country no beds at all.  The capacity of a class is therefore what its people reach: the
    people-weighted mean of the cells' 2SFCA capacity per 1,000 within the standard.  Over the
    whole workspace it equals the capacity per 1,000 of the district table when everyone is in
    some catchment (2SFCA conserves supply).  The norm counts the people of the service's
    ``norm_base`` group when it has one, so the figure is rescaled from the demand group to it.
    """
    svc = res.service
    group = getattr(svc, "norm_group", svc.demand)
    groups = ws.spec.demand_groups
    scale = groups[svc.demand].share / groups[group].share if group in groups and groups[group].share > 0 else 1.0
    acc = np.asarray(res.access_per_1000, dtype=np.float64) * scale
    dem = np.where(res.eligible & np.isfinite(acc), res.demand, 0.0)
    val = np.where(dem > 0, acc, 0.0) * dem
    cls = np.asarray(ws.urban_class, dtype=np.int64)
    pop = np.bincount(cls, weights=dem, minlength=4)
    num = np.bincount(cls, weights=val, minlength=4)
    town = [URBAN_CENTRE, URBAN_CLUSTER]
    pops = np.array([pop[URBAN_CENTRE], pop[URBAN_CLUSTER], pop[RURAL], pop[town].sum(), dem.sum()])
    nums = np.array([num[URBAN_CENTRE], num[URBAN_CLUSTER], num[RURAL], num[town].sum(), val.sum()])
    return np.asarray(np.divide(nums, pops, out=np.full(pops.shape, np.nan), where=pops > 0), dtype=np.float64)


def _scores(ws: Workspace, results: Mapping[str, ServiceResult]) -> _Scores:
    ids = ws.districts["district_id"].astype(str).to_numpy()
    dist: dict[str, NDArray[np.float64]] = {}
    cls: dict[str, NDArray[np.float64]] = {}
    raw: list[pd.DataFrame] = []
    for name, res in results.items():
        cov = coverage_by_district(ws, res)
        pct = cov["covered_pct"].to_numpy(float)
        dist[f"{name}:coverage"] = pct
        byc = coverage_by_class(ws, res).set_index("class")["covered_pct"]
        cls[f"{name}:coverage"] = np.array([float(byc.get(c, np.nan)) for c in CLASSES])
        raw.append(pd.DataFrame({"district_id": ids, "service": name, "indicator": "coverage",
                                 "value": pct, "standard": 100.0, "score": pct}))
        norm = res.service.norm_per_1000
        if _indicator_kinds(ws.spec, name) == ["coverage", "capacity"] and norm is not None:
            per = capacity_by_district(ws, res)["capacity_per_1000"].to_numpy(float)
            score = _capacity_score(per, float(norm))
            dist[f"{name}:capacity"] = score
            cls[f"{name}:capacity"] = _capacity_score(_class_capacity(ws, res), float(norm))
            raw.append(pd.DataFrame({"district_id": ids, "service": name, "indicator": "capacity",
                                     "value": per, "standard": float(norm), "score": score}))
    return _Scores(district=pd.DataFrame(dist), classes=pd.DataFrame(cls, index=list(CLASSES)),
                   raw=pd.concat(raw, ignore_index=True) if raw else pd.DataFrame())


def _results(ws: Workspace, services: Sequence[str], results: Mapping[str, ServiceResult] | None,
             travel: str | None, standards: Mapping[str, Standard] | None) -> dict[str, ServiceResult]:
    given = dict(results or {})
    return {s: given[s] if s in given else run_service(ws, s, travel=travel, standard=(standards or {}).get(s))
            for s in services}


# --------------------------------------------------------------------------------------
# labels and the method in a language (the app and the reports)
# --------------------------------------------------------------------------------------


def short_service_title(spec: WorkspaceSpec, service: str, lang: str = "zh") -> str:
    """Return a service's title without its parenthesised detail ("基层医疗（15分钟…）" -> "基层医疗")."""
    title = spec.services[service].title(lang)
    for mark in ("（", " ("):
        head = title.split(mark, 1)[0].strip()
        if head and head != title:
            return head
    return title


def indicator_label(spec: WorkspaceSpec, column: str, lang: str = "zh") -> str:
    """Return the header of an indicator column ("clinic:coverage" -> "诊所 · 覆盖率").

    Examples
    --------
    >>> import pathlib
    >>> from gisapp.io.workspace_file import read_workspace
    >>> spec = read_workspace(pathlib.Path(__file__).parents[2] / "tests" / "data" / "tiny" / "workspace.yaml")
    >>> indicator_label(spec, "clinic:capacity"), indicator_label(spec, "school:coverage", "en")
    ('诊所 · 千人容量', 'School · coverage')
    """
    service, _, kind = column.partition(":")
    return f"{short_service_title(spec, service, lang)} · {t(f'idx.ind.{kind}', lang)}"


def method_lines(spec: WorkspaceSpec, indicators: Sequence[Indicator], floor: float, lang: str = "zh") -> list[str]:
    """Return the method of the index as a few sentences in ``lang`` (indicators, formula, weights, outputs)."""
    sep = t("rep.list_sep", lang)
    weights = sep.join(f"{indicator_label(spec, i.column, lang)} {100.0 * i.share:.1f}%" for i in indicators)
    src = spec.index.source.text(lang)
    return [t("idx.method.indicators", lang), t("idx.method.combine", lang, floor=f"{floor:g}"),
            t("idx.method.weights", lang, weights=weights) + (f" ({src})" if src else ""),
            t("idx.method.outputs", lang)]


# --------------------------------------------------------------------------------------
# the index
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class IndexResult:
    """The equalisation index of a workspace.

    Attributes
    ----------
    by_district
        One row per district: ``district_id, district_name, index`` (0-100), ``rank`` (1 =
        highest), then one score column (0-100) per indicator (:attr:`Indicator.column`,
        e.g. ``clinic:coverage``, ``hospital_beds:capacity``).
    by_class
        One row per class of :data:`CLASSES`: ``class, row`` (class, subtotal or total),
        ``index`` and the indicator columns.
    components
        Long table, one row per district and indicator: ``district_id, district_name, service,
        indicator, value`` (covered % or capacity per 1,000), ``standard`` (100 % or the norm
        per 1,000), ``score`` (0-100), ``weight`` and ``share`` (its weight over all weights).
    indicators
        The indicators and their weights.
    floor
        The lowest score used in the geometric mean.
    town_country_ratio
        Index of the town (urban centre + cluster) / index of the country (rural); NaN when
        either is undefined.
    spread
        :func:`spread` of the district indices.
    """

    by_district: pd.DataFrame
    by_class: pd.DataFrame
    components: pd.DataFrame
    indicators: tuple[Indicator, ...]
    floor: float
    town_country_ratio: float
    spread: dict[str, float]
    lang: str = "zh"

    @property
    def columns(self) -> list[str]:
        """Return the indicator columns, in order."""
        return [i.column for i in self.indicators]

    def district_components(self, district_id: str) -> pd.DataFrame:
        """Return the components of one district (rows of :attr:`components`), largest share first."""
        c = self.components
        return c[c["district_id"] == str(district_id)].sort_values("share", ascending=False, kind="stable")


def _combine(scores: _Scores, indicators: Sequence[Indicator], floor: float) -> tuple[NDArray[np.float64],
                                                                                    NDArray[np.float64]]:
    cols = [i.column for i in indicators]
    w = np.array([i.weight for i in indicators])
    return (geometric_mean(scores.district[cols].to_numpy(float), w, floor),
            geometric_mean(scores.classes[cols].to_numpy(float), w, floor))


def equalisation_index(ws: Workspace, *, results: Mapping[str, ServiceResult] | None = None,
                       weights: Weights | None = None, lang: str = "zh", travel: str | None = None,
                       standards: Mapping[str, Standard] | None = None,
                       floor: float | None = None) -> IndexResult:
    """Return the equalisation index per district and per town/country class (see the module's method).

    Parameters
    ----------
    ws
        The workspace (for a year: ``gisapp.workspace.at_year(ws, year)``).
    results
        Service results already computed (name -> result); the others are run here.
    weights
        Weights instead of the workspace's ``index.weights`` (same shape; see :func:`index_weights`).
    lang
        Language of the result's labels.
    travel, standards
        Passed to :func:`gisapp.metrics.service.run_service` for the services run here.
    floor
        The lowest score in the geometric mean (default: the workspace's ``index.floor``, 1).

    Examples
    --------
    >>> from gisapp.workspace import load_workspace
    >>> import pathlib
    >>> ws = load_workspace(pathlib.Path(__file__).parents[2] / "tests" / "data" / "tiny" / "workspace.yaml")
    >>> idx = equalisation_index(ws)
    >>> idx.by_district[["district_name", "index", "rank"]].round(2).values.tolist()
    [['甲区', 10.33, 2.0], ['乙区', 37.38, 1.0]]
    """
    inds = index_weights(ws.spec, weights)
    fl = float(ws.spec.index.floor if floor is None else floor)
    res = _results(ws, list(dict.fromkeys(i.service for i in inds)), results, travel, standards)
    sc = _scores(ws, res)
    d_idx, c_idx = _combine(sc, inds, fl)
    cols = [i.column for i in inds]
    by_d = pd.DataFrame({"district_id": ws.districts["district_id"].astype(str).to_numpy(),
                         "district_name": ws.districts["district_name"].astype(str).to_numpy(),
                         "index": d_idx, "rank": rank(d_idx)})
    by_d = pd.concat([by_d, sc.district[cols].reset_index(drop=True)], axis=1)
    by_c = pd.DataFrame({"class": list(CLASSES),
                         "row": ["class", "class", "class", "subtotal", "total"], "index": c_idx})
    by_c = pd.concat([by_c, sc.classes[cols].reset_index(drop=True)], axis=1)
    town, country = float(c_idx[CLASSES.index("town")]), float(c_idx[CLASSES.index("rural")])
    ratio = town / country if math.isfinite(town) and math.isfinite(country) and country > 0 else float("nan")
    w = {i.column: (i.weight, i.share) for i in inds}
    comp = sc.raw.assign(column=sc.raw["service"] + ":" + sc.raw["indicator"])
    comp = comp[comp["column"].isin(cols)].copy()
    comp["weight"] = [w[c][0] for c in comp["column"]]
    comp["share"] = [w[c][1] for c in comp["column"]]
    names = dict(zip(by_d["district_id"], by_d["district_name"], strict=True))
    comp.insert(1, "district_name", [names[i] for i in comp["district_id"]])
    comp = comp.drop(columns="column").reset_index(drop=True)
    return IndexResult(by_district=by_d, by_class=by_c, components=comp, indicators=inds, floor=fl,
                       town_country_ratio=ratio, spread=spread(d_idx), lang=lang)


# --------------------------------------------------------------------------------------
# sensitivity of the ranking to the weights
# --------------------------------------------------------------------------------------


def _service_weights(spec: WorkspaceSpec, weights: Weights | None) -> dict[str, dict[str, float]]:
    raw = {k: _entry(v) for k, v in (spec.index.weights if weights is None else weights).items()}
    return {s: dict(raw.get(s, {})) for s in spec.services}


def scenario_label(spec: WorkspaceSpec, scenario: str, lang: str = "zh") -> str:
    """Return the label of a sensitivity scenario in ``lang`` (``"double:clinic"`` -> "诊所权重加倍").

    Examples
    --------
    >>> import pathlib
    >>> from gisapp.io.workspace_file import read_workspace
    >>> spec = read_workspace(pathlib.Path(__file__).parents[2] / "tests" / "data" / "tiny" / "workspace.yaml")
    >>> scenario_label(spec, "double:clinic"), scenario_label(spec, "drop:school", "en")
    ('诊所权重加倍', 'Without School')
    """
    what, _, service = scenario.partition(":")
    if not service:
        return t(f"idx.scn.{what}", lang)
    return t(f"idx.scn.{what}", lang, service=short_service_title(spec, service, lang))


def _scenarios(spec: WorkspaceSpec, weights: Weights | None, lang: str) -> list[tuple[str, str, dict[str, dict[str, float]]]]:
    """Return (key, label, weights) of each scenario: configured, equal, each service doubled and dropped."""
    base = _service_weights(spec, weights)
    out: list[tuple[str, dict[str, dict[str, float]]]] = [("configured", base),
                                                          ("equal", {s: {} for s in spec.services})]
    active = [s for s in spec.services if base[s].get("weight", 1.0) > 0]
    for s in active:
        doubled = {k: dict(v) for k, v in base.items()}
        doubled[s]["weight"] = 2.0 * base[s].get("weight", 1.0)
        out.append((f"double:{s}", doubled))
        if len(active) > 1:
            dropped = {k: dict(v) for k, v in base.items()}
            dropped[s]["weight"] = 0.0
            out.append((f"drop:{s}", dropped))
    return [(k, scenario_label(spec, k, lang), w) for k, w in out]


def sensitivity(ws: Workspace, *, results: Mapping[str, ServiceResult] | None = None,
                weights: Weights | None = None, lang: str = "zh", travel: str | None = None,
                standards: Mapping[str, Standard] | None = None, floor: float | None = None) -> pd.DataFrame:
    """Return how the district ranking moves when the weights change.

    Scenarios: the configured weights (``configured``), equal weights over every service
    (``equal``), and for each service with a weight above 0 its weight doubled (``double:<s>``)
    and, when another service keeps a weight, set to 0 (``drop:<s>``).

    Returns
    -------
    pandas.DataFrame
        Long table, one row per scenario and district: ``scenario, label`` (the scenario in
        ``lang``), ``district_id, district_name, index, rank`` (1 = highest), ``base_rank``
        (the rank with the configured weights) and ``shift`` = ``rank - base_rank`` (positive:
        the district falls).  :func:`sensitivity_table` makes it one row per district.
    """
    scen = _scenarios(ws.spec, weights, lang)
    sets = [(k, label, index_weights(ws.spec, w)) for k, label, w in scen]
    services = list(dict.fromkeys(i.service for _, _, inds in sets for i in inds))
    sc = _scores(ws, _results(ws, services, results, travel, standards))
    fl = float(ws.spec.index.floor if floor is None else floor)
    ids = ws.districts["district_id"].astype(str).to_numpy()
    names = ws.districts["district_name"].astype(str).to_numpy()
    frames = []
    base: NDArray[np.float64] | None = None
    for key, label, inds in sets:
        d_idx, _ = _combine(sc, inds, fl)
        r = rank(d_idx)
        if base is None:
            base = r
        frames.append(pd.DataFrame({"scenario": key, "label": label, "district_id": ids, "district_name": names,
                                    "index": d_idx, "rank": r, "base_rank": base, "shift": r - base}))
    return pd.concat(frames, ignore_index=True)


def sensitivity_table(sens: pd.DataFrame) -> pd.DataFrame:
    """Return :func:`sensitivity` as one row per district: its rank in each scenario and the largest shift.

    Columns: ``district_id, district_name``, then one column per scenario label (the rank in
    that scenario, the configured weights first) and ``max_shift`` (the largest rank change
    from the configured weights, either way).

    Examples
    --------
    >>> s = pd.DataFrame({"scenario": ["configured"] * 2 + ["equal"] * 2, "label": ["A"] * 2 + ["B"] * 2,
    ...                   "district_id": ["1", "2"] * 2, "district_name": ["x", "y"] * 2,
    ...                   "index": [1.0, 2.0, 2.0, 1.0], "rank": [2.0, 1.0, 1.0, 2.0],
    ...                   "base_rank": [2.0, 1.0, 2.0, 1.0], "shift": [0.0, 0.0, -1.0, 1.0]})
    >>> sensitivity_table(s).values.tolist()
    [['1', 'x', 2.0, 1.0, 1.0], ['2', 'y', 1.0, 2.0, 1.0]]
    """
    labels = list(dict.fromkeys(sens["label"]))
    first = sens[sens["label"] == labels[0]] if labels else sens
    out = pd.DataFrame({"district_id": first["district_id"].to_numpy(), "district_name": first["district_name"].to_numpy()})
    for label in labels:
        ranks = sens[sens["label"] == label].set_index("district_id")["rank"]
        out[label] = ranks.reindex(out["district_id"]).to_numpy(float)
    shift = sens.assign(a=sens["shift"].abs()).groupby("district_id", sort=False)["a"].max()
    out["max_shift"] = shift.reindex(out["district_id"]).to_numpy(float)
    return out


# --------------------------------------------------------------------------------------
# year by year
# --------------------------------------------------------------------------------------


def index_by_year(ws: Workspace, years: Sequence[int], *, weights: Weights | None = None, lang: str = "zh",
                  travel: str | None = None, standards: Mapping[str, Standard] | None = None,
                  step: Callable[[int], Any] | None = None) -> pd.DataFrame:
    """Return the index and its components per district and year (``gisapp.workspace.at_year``).

    Returns
    -------
    pandas.DataFrame
        Long table, one row per year and district: ``year, district_id, district_name, index,
        rank`` and the indicator columns of :attr:`IndexResult.by_district` (covered % per
        service and capacity scores).
    """
    frames = []
    for y in sorted(int(v) for v in years):
        idx = equalisation_index(at_year(ws, y), weights=weights, lang=lang, travel=travel, standards=standards)
        frames.append(idx.by_district.assign(year=y))
        if step is not None:
            step(y)
    if not frames:
        return pd.DataFrame(columns=["year", "district_id", "district_name", "index", "rank"])
    out = pd.concat(frames, ignore_index=True)
    return out[["year", *[c for c in out.columns if c != "year"]]]
