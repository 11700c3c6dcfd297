"""The workspace specification as frozen, validated models: one definition gives the types and the checks.

A workspace YAML file maps onto these pydantic dataclasses: :class:`WorkspaceSpec` holds the
``workspace`` header (:class:`WorkspaceInfo`), the ``layers`` (:class:`LayerSpec`, with the
field mappings :class:`DistrictFields` and :class:`FacilityFields`), the ``demand_groups``
(:class:`DemandGroup`), the ``services`` (:class:`ServiceSpec` and their :class:`Standard`), the
``travel`` section (:class:`Travel`) and the ``consortia`` section (:class:`Consortia`).

Parse the contents of a file with :func:`gisapp.config.parse.parse_workspace`: it validates in a
context naming the file's folder, and only then are the parts a file leaves implicit filled in
(each service's and group's ``name`` and each layer's ``role`` from its key, layer paths joined to
the folder, coordinate-system names made canonical, the layers' allowed keys checked by role).
Models built in Python (``dataclasses.replace``, an uploaded layer) are checked for types only.

The models are frozen dataclasses: ``dataclasses.replace`` works on them and a :class:`Standard`
is hashable (the app caches results by standard).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainValidator,
    StrictBool,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    ValidatorFunctionWrapHandler,
    WrapValidator,
    field_validator,
    model_validator,
    with_config,
)
from pydantic.dataclasses import dataclass
from pydantic_core import InitErrorDetails, PydanticCustomError
from typing_extensions import NotRequired, TypedDict

from gisapp.config.kinds import MODES, Mode
from gisapp.grid.coords import normalise_coord_system
from gisapp.i18n import Term, t

__all__ = [
    "FILE_CONTEXT",
    "Consortia",
    "DemandGroup",
    "DistrictFields",
    "FacilityFields",
    "IndexSpec",
    "LayerSpec",
    "Provenance",
    "ServiceSpec",
    "SourceText",
    "Standard",
    "Text",
    "Travel",
    "WorkspaceInfo",
    "WorkspaceSpec",
]

#: Key of the validation context that holds the folder of the workspace file being parsed.
FILE_CONTEXT = "workspace_folder"

_CONFIG = ConfigDict(extra="forbid", populate_by_name=True)

#: a number (an int or a float, never a string or a boolean) above 0
Positive = Annotated[float, Field(strict=True, gt=0)]


def _folder(info: ValidationInfo) -> Path | None:
    """Return the folder of the workspace file being validated (None for data from Python code)."""
    ctx = info.context
    return Path(ctx[FILE_CONTEXT]) if isinstance(ctx, dict) and FILE_CONTEXT in ctx else None


def _from_file(info: ValidationInfo) -> bool:
    """Return whether the data being validated come from a workspace file (not from Python code)."""
    return _folder(info) is not None


@dataclass(frozen=True, config=_CONFIG)
class Text:
    """A text in Chinese and in English, e.g. ``title: {zh: 诊所, en: Clinic}``."""

    zh: str = ""
    en: str = ""

    def text(self, lang: str = "zh") -> str:
        """Return the text in ``lang``; when only the other language is given, that text, marked so.

        Examples
        --------
        >>> Text(zh="国家卫生健康委", en="National Health Commission").text("en")
        'National Health Commission'
        >>> Text(en="WHO").text("zh")
        'WHO（仅有英文原文）'
        >>> Text(zh="全国卫生统计").text("en")
        '全国卫生统计 (given in Chinese only)'
        """
        own, other = (self.zh, self.en) if lang == "zh" else (self.en, self.zh)
        if own or not other:
            return own
        return t("source.fallback", lang, text=other)


def _as_text(value: Any) -> Any:
    """Read a plain string as the same text in both languages."""
    return {"zh": value, "en": value} if isinstance(value, str) else value


#: The source of a standard: a plain string (the same in both languages) or ``{zh: ..., en: ...}``.
SourceText = Annotated[Text, BeforeValidator(_as_text)]


def source_label(item: str, lang: str = "zh") -> str:
    """Return the label of an item of a service's sources (``standard`` -> "服务标准").

    >>> source_label("norm", "zh"), source_label("norm", "en"), source_label("my_item", "zh")
    ('千人指标', 'Norm per 1,000', 'my_item')
    """
    return Term(f"rep.item.{item}", item).text(lang)


@dataclass(frozen=True, config=_CONFIG)
class Provenance:
    """Where a layer comes from and whether it is real or synthetic (``layers.<role>.provenance``)."""

    status: Literal["real", "synthetic", "mixed", "unknown"]
    zh: str = ""
    en: str = ""
    sources: SourceText = Field(default_factory=Text, validation_alias="source")

    @property
    def source(self) -> str:
        """The layer's source in English (as before; see :meth:`source_text`)."""
        return self.sources.text("en")

    def source_text(self, lang: str = "zh") -> str:
        """Return the layer's source in ``lang`` ("" when none)."""
        return self.sources.text(lang)

    def about(self, lang: str = "zh") -> str:
        """Return what the layer is in ``lang`` (the other language's text, marked, when only it is given)."""
        return Text(zh=self.zh, en=self.en).text(lang)


@dataclass(frozen=True, config=_CONFIG)
class Standard:
    """A service standard: a distance (metres) or a time (minutes) by a mode.

    In straight-line mode, a route is ``circuity`` times the straight line, walked or driven
    at ``speed_kph``.  A distance standard is a service radius (circuity 1 unless given).
    Exactly one of ``distance_m`` and ``time_min`` is given.

    Examples
    --------
    >>> Standard(time_min=15, mode="motorized", speed_kph=30).straight_line_m
    7500.0
    >>> Standard(distance_m=500).label("zh"), Standard(distance_m=500).label("en")
    ('≤ 500 米 步行', '≤ 500 m walk')
    >>> Standard(distance_m=1500, mode="bicycling").label("zh")
    '≤ 1.5 公里 骑行'
    >>> Standard(time_min=15, mode="motorized").label("zh")
    '≤ 15 分钟 机动车'
    """

    distance_m: Positive | None = None
    time_min: Positive | None = None
    mode: Mode = "walking"
    speed_kph: Positive | None = None
    circuity: Annotated[float, Field(strict=True, ge=1)] = 1.0

    @model_validator(mode="after")
    def _one_threshold(self) -> Standard:
        if (self.distance_m is None) == (self.time_min is None):
            raise PydanticCustomError("spec_one_threshold",
                                      "a standard needs exactly one of distance_m or time_min")
        return self

    @property
    def speed(self) -> float:
        """Return the speed, km/h (the mode's default unless given)."""
        return float(self.speed_kph if self.speed_kph is not None else MODES[self.mode])

    @property
    def straight_line_m(self) -> float:
        """Return the straight-line radius (metres) equivalent to this standard."""
        if self.distance_m is not None:
            return float(self.distance_m) / self.circuity
        assert self.time_min is not None  # guaranteed by the validation  # noqa: S101
        return float(self.time_min) * self.speed * 1000.0 / 60.0 / self.circuity

    @property
    def unit(self) -> Literal["m", "min"]:
        """Return ``"m"`` for a distance standard, ``"min"`` for a time standard."""
        return "m" if self.distance_m is not None else "min"

    @property
    def value(self) -> float:
        """Return the threshold in :attr:`unit`."""
        return float(self.distance_m if self.distance_m is not None else self.time_min)  # type: ignore[arg-type]

    def label(self, lang: str = "zh") -> str:
        """Return a short human label: ``"≤ 500 米 步行"`` in Chinese, ``"≤ 500 m walk"`` in English.

        In Chinese, a distance of 1,000 m or more that is a whole number of hundreds of metres
        reads in 公里 (``"≤ 1 公里 步行"``); the units are always words of the language.
        """
        modes = {"zh": {"walking": "步行", "bicycling": "骑行", "motorized": "机动车"},
                 "en": {"walking": "walk", "bicycling": "bicycle", "motorized": "motorized"}}
        zh = lang == "zh"
        m = modes["zh" if zh else "en"][self.mode]
        if self.distance_m is not None:
            d = float(self.distance_m)
            if zh and d >= 1000 and d % 100 == 0:
                return f"≤ {d / 1000:g} 公里 {m}"
            return f"≤ {d:,.0f} {'米' if zh else 'm'} {m}"
        return f"≤ {self.time_min:g} {'分钟' if zh else 'min'} {m}"


@with_config(ConfigDict(extra="forbid"))
class DistrictFields(TypedDict):
    """``layers.districts.fields``: the columns holding each district's id and name."""

    id: str
    name: str


@with_config(ConfigDict(extra="forbid"))
class FacilityFields(TypedDict):
    """``layers.facilities.fields``: the columns of the facility table."""

    id: str
    name: str
    kind: str
    lon: NotRequired[str]
    lat: NotRequired[str]
    capacity: NotRequired[list[str]]
    consortium: NotRequired[str]
    is_lead: NotRequired[str]
    opened: NotRequired[str]  # year the facility opened (blank: always open)
    closed: NotRequired[str]  # year it closed (blank: never closed); open in years opened <= y < closed


#: the years a workspace may name (opening and closing years, population years)
YEAR_MIN, YEAR_MAX = 1900, 2200

#: the field mapping each layer role must have when read from a file
_FIELD_MAPS: dict[str, TypeAdapter[Any]] = {"districts": TypeAdapter(DistrictFields),
                                            "facilities": TypeAdapter(FacilityFields)}


@dataclass(frozen=True, config=_CONFIG)
class LayerSpec:
    """One layer of a workspace: its file, declared CRS, field mapping and provenance.

    ``role`` is the layer's key under ``layers``.  ``options`` holds the keys of the file that
    are none of the others (``unit`` of the population raster, any key of an optional layer).
    """

    role: str
    path: Path
    crs: str | None = None
    fields: dict[str, Any] = Field(default_factory=dict)
    band: Annotated[int, Field(strict=True, ge=1)] = 1
    layer: str | None = None
    provenance: Provenance = Provenance(status="unknown")
    options: dict[str, Any] = Field(default_factory=dict)
    #: the population layer per year (``years: {2020: a.tif, 2025: b.tif}``); ``path`` is the one loaded first
    years: dict[Annotated[int, Field(ge=YEAR_MIN, le=YEAR_MAX)], Path] = Field(default_factory=dict)

    @field_validator("path")
    @classmethod
    def _relative_to_the_file(cls, path: Path, info: ValidationInfo) -> Path:
        folder = _folder(info)
        return path if folder is None else folder / path

    @field_validator("years")
    @classmethod
    def _years_relative_to_the_file(cls, years: dict[int, Path], info: ValidationInfo) -> dict[int, Path]:
        folder = _folder(info)
        return dict(sorted(years.items())) if folder is None else {y: folder / p for y, p in sorted(years.items())}

    @field_validator("crs")
    @classmethod
    def _canonical_crs(cls, crs: str | None, info: ValidationInfo) -> str | None:
        if crs is None or not _from_file(info):
            return crs
        try:
            return normalise_coord_system(crs)
        except ValueError:
            raise PydanticCustomError("spec_unknown_crs", "unknown coordinate system {crs}",
                                      {"crs": crs}) from None

    @field_validator("fields")
    @classmethod
    def _field_mapping(cls, fields: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        adapter = _FIELD_MAPS.get(str(info.data.get("role"))) if _from_file(info) else None
        return dict(adapter.validate_python(fields)) if adapter is not None else fields


class _Titled:
    """Mix-in: ``zh`` and ``en`` read the ``titles`` field of a demand group or a service."""

    titles: Text

    @property
    def zh(self) -> str:
        """The Chinese title."""
        return self.titles.zh

    @property
    def en(self) -> str:
        """The English title."""
        return self.titles.en


@dataclass(frozen=True, config=_CONFIG)
class DemandGroup(_Titled):
    """A demand group: a share of the population raster (1.0 = everyone)."""

    name: str
    share: Annotated[float, Field(strict=True, ge=0, le=1)]
    titles: Text = Field(default_factory=Text, validation_alias="title")
    source: SourceText = Field(default_factory=Text)

    def source_text(self, lang: str = "zh") -> str:
        """Return the source of the group's share in ``lang`` ("" when none)."""
        return self.source.text(lang)


@dataclass(frozen=True, config=_CONFIG)
class ServiceSpec(_Titled):
    """A service: which facility kinds serve which demand group, to what standard."""

    name: str
    kinds: Annotated[tuple[str, ...], Field(min_length=1)]
    standard: Standard
    demand: str = "total"
    rural_standard: Standard | None = None
    urban_only: StrictBool = False
    sector: Literal["health", "education", "other"] = "other"
    capacity: str | None = None
    norm_per_1000: Positive | None = None
    #: the demand group ``norm_per_1000`` counts per 1,000 of, when not ``demand`` (e.g. childcare
    #: places per 1,000 residents while the demand is the under-3s)
    norm_base: str | None = None
    titles: Text = Field(default_factory=Text, validation_alias="title")
    source: dict[str, SourceText] = Field(default_factory=dict)

    @property
    def norm_group(self) -> str:
        """Return the demand group the norm per 1,000 counts (``norm_base``, else ``demand``)."""
        return self.norm_base or self.demand

    def title(self, lang: str = "zh") -> str:
        """Return the service's title in ``lang`` (falls back to its name)."""
        return (self.zh if lang == "zh" else self.en) or self.en or self.zh or self.name

    def source_text(self, item: str, lang: str = "zh") -> str:
        """Return the source of one item (``standard``, ``rural_standard``, ``norm``, ...) in ``lang``.

        "" when the item has no source; a text given in the other language only is marked so.
        """
        src = self.source.get(item)
        return src.text(lang) if src is not None else ""

    def source_items(self, lang: str = "zh", *, labels: bool = False) -> list[tuple[str, str]]:
        """Return ``(item, text)`` for each source, the text in ``lang``.

        With ``labels``, the item is its label in ``lang`` (``norm`` -> "千人指标").

        Examples
        --------
        >>> svc = ServiceSpec(name="clinic", kinds=("village_clinic",), standard=Standard(distance_m=500),
        ...                   source={"standard": {"zh": "国家标准", "en": "National standard"}, "norm": "GB 1"})
        >>> svc.source_items("en")
        [('standard', 'National standard'), ('norm', 'GB 1')]
        >>> svc.source_items("zh", labels=True)
        [('服务标准', '国家标准'), ('千人指标', 'GB 1')]
        """
        return [(source_label(k, lang) if labels else k, v.text(lang)) for k, v in self.source.items()]

    @property
    def cutoff_m(self) -> float:
        """Return the largest straight-line radius any of its standards needs, metres."""
        r = self.standard.straight_line_m
        if self.rural_standard is not None:
            r = max(r, self.rural_standard.straight_line_m)
        return r


@dataclass(frozen=True, config=_CONFIG)
class WorkspaceInfo:
    """The ``workspace`` header: name, title, analysis CRS and grid resolution."""

    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]+$")]
    titles: Text = Field(default_factory=Text, validation_alias="title")
    analysis_crs: str = "auto"
    resolution_m: Positive = 100.0


@dataclass(frozen=True, config=_CONFIG)
class Consortia:
    """The ``consortia`` section: the referral standard within a medical consortium."""

    referral_standard: Standard | None = None
    source: SourceText = Field(default_factory=Text)


# --- issue 14: index (D) ---
#: a weight: a number (int or float, never text or a boolean) of 0 or more
_Weight = Annotated[float, Field(strict=True, ge=0)]


def _weight_entry(value: Any) -> Any:
    """Read ``clinic: 2`` as ``clinic: {weight: 2}`` (a service's weight alone)."""
    return {"weight": value} if isinstance(value, int | float) and not isinstance(value, bool) else value


@with_config(ConfigDict(extra="forbid"))
class ServiceWeight(TypedDict, total=False):
    """``index.weights.<service>``: the service's weight and how it splits between its indicators.

    ``weight`` (default 1) is the service's share of the index; ``coverage`` and ``capacity``
    (default 1 each) split it between the coverage indicator and, for a service with a norm per
    1,000, the capacity indicator, in proportion.  A plain number is the ``weight``.
    """

    weight: _Weight
    coverage: _Weight
    capacity: _Weight


@dataclass(frozen=True, config=_CONFIG)
class IndexSpec:
    """The ``index`` section: the weights of the equalisation index (:mod:`gisapp.metrics.index`).

    A service not listed under ``weights`` has weight 1 (equal weights when the section is
    absent); weight 0 leaves it out.  ``floor`` is the lowest indicator score used in the
    geometric mean (a score of 0 counts as ``floor``, as WHO's UHC service coverage index does).
    """

    weights: dict[str, Annotated[ServiceWeight, BeforeValidator(_weight_entry)]] = Field(default_factory=dict)
    floor: Annotated[float, Field(strict=True, gt=0, le=100)] = 1.0
    source: SourceText = Field(default_factory=Text)


def _speed_class(key: object) -> int | str:
    """Check a key of ``travel.speeds.<mode>``: ``offroad`` or a class number."""
    if isinstance(key, str) and (key == "offroad" or key.isdigit()):
        return key
    if isinstance(key, int) and not isinstance(key, bool) and key >= 0:
        return key
    raise PydanticCustomError("spec_bad_speed_class", "{value} is neither offroad nor a class number",
                              {"value": str(key)})


@with_config(ConfigDict(extra="forbid"))
class Travel(TypedDict, total=False):
    """The ``travel`` section: the travel-time ("terrain") mode's speeds per class and mode."""

    default: Literal["straight_line", "terrain"]
    neighbours: Literal[8, 16]
    speeds: dict[Mode, dict[Annotated[int | str, PlainValidator(_speed_class)],
                            tuple[Annotated[float, Field(strict=True, ge=0)],
                                  Literal["WALKING", "BICYCLING", "MOTORIZED"]]]]
    source: SourceText


_TRAVEL: TypeAdapter[Travel] = TypeAdapter(Travel)


def _travel(value: Any) -> Any:
    return _TRAVEL.validate_python(value)


# --- filling in what a file leaves implicit ---------------------------------------------------

def _again(err: Any) -> InitErrorDetails:
    """Return a caught error as the details of a new one (same type, place, input and context)."""
    return InitErrorDetails(type=PydanticCustomError(err["type"], err["msg"], err.get("ctx")),
                            loc=err["loc"], input=err["input"])


def _together(handler: ValidatorFunctionWrapHandler, value: Any, errors: list[InitErrorDetails]) -> Any:
    """Validate ``value`` with ``handler``; raise its errors and ``errors`` in one go."""
    try:
        out = handler(value)
    except ValidationError as exc:
        errors = errors + [_again(e) for e in exc.errors()]
        out = None
    if errors:
        raise ValidationError.from_exception_data("WorkspaceSpec", errors)
    return out


def _unknown(loc: tuple[str | int, ...], value: Any) -> InitErrorDetails:
    return InitErrorDetails(type="extra_forbidden", loc=loc, input=value)


def _missing(loc: tuple[str | int, ...], value: Any) -> InitErrorDetails:
    return InitErrorDetails(type="missing", loc=loc, input=value)


def _keys_as(attr: str) -> Callable[[Any, ValidatorFunctionWrapHandler, ValidationInfo], Any]:
    """Return a validator that gives each entry of a mapping read from a file its key as ``attr``."""
    def fill(value: Any, handler: ValidatorFunctionWrapHandler, info: ValidationInfo) -> Any:
        if not (_from_file(info) and isinstance(value, dict)):
            return handler(value)
        errors = [_unknown((key, attr), entry[attr]) for key, entry in value.items()
                  if isinstance(entry, dict) and attr in entry]
        filled = {key: {**entry, attr: key} if isinstance(entry, dict) else entry
                  for key, entry in value.items()}
        return _together(handler, filled, errors)
    return fill


#: The keys of each layer the app needs.  An optional layer (roads, settlements, ...) may hold
#: any key: those that are not fields of :class:`LayerSpec` go to its ``options``.
_REQUIRED_LAYERS: dict[str, frozenset[str]] = {
    "population": frozenset({"path", "band", "unit", "crs", "provenance", "years"}),
    "districts": frozenset({"path", "crs", "layer", "fields", "provenance", "database", "table", "sql"}),
    "facilities": frozenset({"path", "crs", "layer", "fields", "provenance", "database", "table", "sql"}),
}
#: the keys of a layer read from a PostGIS table or query (kept in the layer's ``options``)
_DATABASE_KEYS = frozenset({"database", "table", "sql"})
#: the keys of a layer in a file that are fields of :class:`LayerSpec`
_LAYER_KEYS = frozenset({"path", "crs", "fields", "band", "layer", "provenance", "years"})


def _layers_from_file(value: Any, handler: ValidatorFunctionWrapHandler, info: ValidationInfo) -> Any:
    """Check the layers of a file by role and give each its role and options."""
    if not (_from_file(info) and isinstance(value, dict)):
        return handler(value)
    errors = [_missing((role,), value) for role in _REQUIRED_LAYERS if role not in value]
    shaped: dict[Any, Any] = {}
    for role, entry in value.items():
        allowed = _REQUIRED_LAYERS.get(role)
        if not isinstance(entry, dict):
            shaped[role] = entry
        elif allowed is None:  # an optional layer without a path stands for the file's folder, as before
            shaped[role] = {"path": ".", **{k: v for k, v in entry.items() if k in _LAYER_KEYS},
                            "role": role, "options": {k: v for k, v in entry.items() if k not in _LAYER_KEYS}}
        else:
            errors += [_unknown((role, k), v) for k, v in entry.items() if k not in allowed]
            if role in _FIELD_MAPS and "fields" not in entry:
                errors.append(_missing((role, "fields"), entry))
            if "unit" in entry and not isinstance(entry["unit"], str):
                errors.append(InitErrorDetails(type="string_type", loc=(role, "unit"), input=entry["unit"]))
            options: dict[str, Any] = {"unit": entry["unit"]} if "unit" in entry else {}
            options.update({k: v for k, v in entry.items() if k in _DATABASE_KEYS and k in allowed})
            base = {k: v for k, v in entry.items() if k in _LAYER_KEYS and k in allowed}
            if "database" in options and "path" not in base:  # a database layer: its "file" names the table
                base["path"] = f"postgis-{options.get('table') or 'sql'}"
            shaped[role] = {**base, "role": role, "options": options}
    return _together(handler, shaped, errors)


#: the demand group every workspace has, unless its file redefines it
RESIDENTS = DemandGroup(name="total", share=1.0, titles=Text(zh="常住人口", en="Residents"))


def _with_residents(groups: dict[str, DemandGroup]) -> dict[str, DemandGroup]:
    return {"total": RESIDENTS, **groups}


@dataclass(frozen=True, config=_CONFIG)
class WorkspaceSpec:
    """A validated workspace file (nothing read from the layer files yet).

    ``path`` is the workspace file; the other fields are its sections.  The header's values
    are also attributes of the spec (:attr:`name`, :attr:`analysis_crs`, ...).
    """

    path: Path
    workspace: WorkspaceInfo
    layers: Annotated[dict[str, LayerSpec], WrapValidator(_layers_from_file)]
    services: Annotated[dict[str, ServiceSpec], Field(min_length=1), WrapValidator(_keys_as("name"))]
    demand_groups: Annotated[dict[str, DemandGroup], WrapValidator(_keys_as("name")),
                             AfterValidator(_with_residents)] = Field(
        default_factory=lambda: {"total": RESIDENTS})
    travel: Annotated[dict[str, Any], BeforeValidator(_travel)] = Field(default_factory=dict)
    consortia: Consortia = Field(default_factory=Consortia)
    index: IndexSpec = Field(default_factory=IndexSpec)  # issue 14: index (D)

    @property
    def name(self) -> str:
        """The workspace's name (letters, digits, ``_`` and ``-``)."""
        return self.workspace.name

    @property
    def zh(self) -> str:
        """The workspace's Chinese title."""
        return self.workspace.titles.zh

    @property
    def en(self) -> str:
        """The workspace's English title."""
        return self.workspace.titles.en

    @property
    def analysis_crs(self) -> str:
        """The metric CRS of the analysis grid, or ``"auto"``."""
        return self.workspace.analysis_crs

    @property
    def resolution_m(self) -> float:
        """The analysis grid's cell size, metres."""
        return float(self.workspace.resolution_m)

    @property
    def referral_standard(self) -> Standard | None:
        """The referral standard within a medical consortium (None when not given)."""
        return self.consortia.referral_standard

    @property
    def referral_source(self) -> str:
        """The source of the referral standard, in Chinese (see :meth:`referral_source_text`)."""
        return self.consortia.source.text("zh")

    def referral_source_text(self, lang: str = "zh") -> str:
        """Return the source of the referral standard in ``lang`` ("" when none)."""
        return self.consortia.source.text(lang)

    def title(self, lang: str = "zh") -> str:
        """Return the workspace title in ``lang``."""
        return (self.zh if lang == "zh" else self.en) or self.name
