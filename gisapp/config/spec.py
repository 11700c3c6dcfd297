"""Read and validate a workspace YAML file: its layers, field mappings, demand groups and services."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import jsonschema
import yaml

from gisapp._errors import Problem, WorkspaceError
from gisapp.grid.coords import normalise_coord_system

__all__ = [
    "FACILITY_KINDS",
    "MODES",
    "DemandGroup",
    "LayerSpec",
    "Provenance",
    "ServiceSpec",
    "Standard",
    "WorkspaceSpec",
    "default_workspace_path",
    "read_workspace",
]

#: Travel modes and their default speeds (km/h) when a standard gives none.
MODES: dict[str, float] = {"walking": 4.5, "bicycling": 12.0, "motorized": 30.0}

#: Facility kinds known to the app, with Chinese and English labels.
FACILITY_KINDS: dict[str, dict[str, str]] = {
    "hospital": {"zh": "医院", "en": "Hospital"},
    "township_health_centre": {"zh": "乡镇卫生院", "en": "Township health centre"},
    "community_health_centre": {"zh": "社区卫生服务中心", "en": "Community health centre"},
    "community_health_station": {"zh": "社区卫生服务站", "en": "Community health station"},
    "village_clinic": {"zh": "村卫生室", "en": "Village clinic"},
    "kindergarten": {"zh": "幼儿园", "en": "Kindergarten"},
    "primary_school": {"zh": "小学", "en": "Primary school"},
    "middle_school": {"zh": "初级中学", "en": "Middle school"},
}

_TEXT = {"type": "object", "properties": {"zh": {"type": "string"}, "en": {"type": "string"}},
         "additionalProperties": False}
_PROV = {
    "type": "object",
    "required": ["status"],
    "properties": {"status": {"enum": ["real", "synthetic", "mixed"]}, "zh": {"type": "string"},
                   "en": {"type": "string"}, "source": {"type": "string"}},
    "additionalProperties": False,
}
_STANDARD = {
    "type": "object",
    "properties": {
        "distance_m": {"type": "number", "exclusiveMinimum": 0},
        "time_min": {"type": "number", "exclusiveMinimum": 0},
        "mode": {"enum": list(MODES)},
        "speed_kph": {"type": "number", "exclusiveMinimum": 0},
        "circuity": {"type": "number", "minimum": 1},
    },
    "oneOf": [{"required": ["distance_m"]}, {"required": ["time_min"]}],
    "additionalProperties": False,
}
SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["workspace", "layers", "services"],
    "properties": {
        "workspace": {
            "type": "object",
            "required": ["name"],
            "properties": {
                "name": {"type": "string", "pattern": "^[A-Za-z0-9_-]+$"},
                "title": _TEXT,
                "analysis_crs": {"type": "string"},
                "resolution_m": {"type": "number", "exclusiveMinimum": 0},
            },
            "additionalProperties": False,
        },
        "layers": {
            "type": "object",
            "required": ["population", "districts", "facilities"],
            "properties": {
                "population": {
                    "type": "object", "required": ["path"],
                    "properties": {"path": {"type": "string"}, "band": {"type": "integer", "minimum": 1},
                                   "unit": {"type": "string"}, "crs": {"type": "string"},
                                   "provenance": _PROV},
                    "additionalProperties": False,
                },
                "districts": {
                    "type": "object", "required": ["path", "fields"],
                    "properties": {
                        "path": {"type": "string"}, "crs": {"type": "string"}, "layer": {"type": "string"},
                        "fields": {"type": "object", "required": ["id", "name"],
                                   "properties": {"id": {"type": "string"}, "name": {"type": "string"}},
                                   "additionalProperties": False},
                        "provenance": _PROV,
                    },
                    "additionalProperties": False,
                },
                "facilities": {
                    "type": "object", "required": ["path", "fields"],
                    "properties": {
                        "path": {"type": "string"}, "crs": {"type": "string"}, "layer": {"type": "string"},
                        "fields": {
                            "type": "object", "required": ["id", "name", "kind"],
                            "properties": {
                                "id": {"type": "string"}, "name": {"type": "string"},
                                "kind": {"type": "string"}, "lon": {"type": "string"},
                                "lat": {"type": "string"},
                                "capacity": {"type": "array", "items": {"type": "string"}},
                                "consortium": {"type": "string"}, "is_lead": {"type": "string"},
                            },
                            "additionalProperties": False,
                        },
                        "provenance": _PROV,
                    },
                    "additionalProperties": False,
                },
            },
            "additionalProperties": {"type": "object"},
        },
        "demand_groups": {
            "type": "object",
            "additionalProperties": {
                "type": "object", "required": ["share"],
                "properties": {"title": _TEXT, "share": {"type": "number", "minimum": 0, "maximum": 1},
                               "source": {"type": "string"}},
                "additionalProperties": False,
            },
        },
        "services": {
            "type": "object", "minProperties": 1,
            "additionalProperties": {
                "type": "object", "required": ["kinds", "standard"],
                "properties": {
                    "title": _TEXT, "sector": {"enum": ["health", "education", "other"]},
                    "kinds": {"type": "array", "items": {"type": "string"}, "minItems": 1},
                    "demand": {"type": "string"}, "urban_only": {"type": "boolean"},
                    "standard": _STANDARD, "rural_standard": _STANDARD,
                    "capacity": {"type": "string"},
                    "norm_per_1000": {"type": "number", "exclusiveMinimum": 0},
                    "source": {"type": "object", "additionalProperties": {"type": "string"}},
                },
                "additionalProperties": False,
            },
        },
        "travel": {
            "type": "object",
            "properties": {
                "default": {"enum": ["straight_line", "terrain"]},
                "neighbours": {"enum": [8, 16]},
                "speeds": {
                    "type": "object",
                    "propertyNames": {"enum": list(MODES)},
                    "additionalProperties": {
                        "type": "object",
                        "propertyNames": {"pattern": "^(offroad|[0-9]+)$"},
                        "additionalProperties": {
                            "type": "array", "minItems": 2, "maxItems": 2,
                            "prefixItems": [{"type": "number", "minimum": 0},
                                            {"enum": ["WALKING", "BICYCLING", "MOTORIZED"]}],
                        },
                    },
                },
                "source": {"type": "string"},
            },
            "additionalProperties": False,
        },
        "consortia": {
            "type": "object",
            "properties": {"referral_standard": _STANDARD, "source": {"type": "string"}},
            "additionalProperties": False,
        },
    },
    "additionalProperties": False,
}

_FIXES = {
    "required": "add the missing key",
    "additionalProperties": "remove or rename the unknown key (check its spelling)",
    "enum": "use one of the allowed values",
    "type": "give a value of the right type",
    "oneOf": "give exactly one of distance_m or time_min",
    "exclusiveMinimum": "give a positive number",
    "minimum": "give a larger number",
    "maximum": "give a smaller number",
    "pattern": "use letters, digits, '_' or '-' only",
    "minItems": "list at least one item",
    "minProperties": "define at least one",
}


@dataclass(frozen=True)
class Provenance:
    """Where a layer comes from and whether it is real or synthetic."""

    status: Literal["real", "synthetic", "mixed", "unknown"] = "unknown"
    zh: str = ""
    en: str = ""
    source: str = ""


@dataclass(frozen=True)
class LayerSpec:
    """One layer of a workspace: its file, declared CRS, field mapping and provenance."""

    role: str
    path: Path
    crs: str | None = None
    fields: dict[str, Any] = field(default_factory=dict)
    band: int = 1
    layer: str | None = None
    provenance: Provenance = Provenance()
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Standard:
    """A service standard: a distance (metres) or a time (minutes) by a mode.

    In straight-line mode, a route is ``circuity`` times the straight line, walked or driven
    at ``speed_kph``.  A distance standard is a service radius (circuity 1 unless given).
    """

    distance_m: float | None = None
    time_min: float | None = None
    mode: str = "walking"
    speed_kph: float | None = None
    circuity: float = 1.0

    @property
    def speed(self) -> float:
        """Return the speed, km/h (the mode's default unless given)."""
        return float(self.speed_kph if self.speed_kph is not None else MODES[self.mode])

    @property
    def straight_line_m(self) -> float:
        """Return the straight-line radius (metres) equivalent to this standard."""
        if self.distance_m is not None:
            return float(self.distance_m) / self.circuity
        assert self.time_min is not None  # guaranteed by the schema  # noqa: S101
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
        """Return a short human label, e.g. ``"≤ 500 m 步行"``."""
        modes = {"zh": {"walking": "步行", "bicycling": "骑行", "motorized": "机动车"},
                 "en": {"walking": "walk", "bicycling": "bicycle", "motorized": "motorized"}}
        m = modes.get(lang, modes["en"])[self.mode]
        if self.distance_m is not None:
            return f"≤ {self.distance_m:,.0f} m {m}"
        unit = "分钟" if lang == "zh" else "min"
        return f"≤ {self.time_min:g} {unit} {m}"


@dataclass(frozen=True)
class DemandGroup:
    """A demand group: a share of the population raster (1.0 = everyone)."""

    name: str
    share: float = 1.0
    zh: str = ""
    en: str = ""
    source: str = ""


@dataclass(frozen=True)
class ServiceSpec:
    """A service: which facility kinds serve which demand group, to what standard."""

    name: str
    kinds: tuple[str, ...]
    standard: Standard
    demand: str = "total"
    rural_standard: Standard | None = None
    urban_only: bool = False
    sector: str = "other"
    capacity: str | None = None
    norm_per_1000: float | None = None
    zh: str = ""
    en: str = ""
    source: dict[str, str] = field(default_factory=dict)

    def title(self, lang: str = "zh") -> str:
        """Return the service's title in ``lang`` (falls back to its name)."""
        return (self.zh if lang == "zh" else self.en) or self.en or self.zh or self.name

    @property
    def cutoff_m(self) -> float:
        """Return the largest straight-line radius any of its standards needs, metres."""
        r = self.standard.straight_line_m
        if self.rural_standard is not None:
            r = max(r, self.rural_standard.straight_line_m)
        return r


@dataclass(frozen=True)
class WorkspaceSpec:
    """A validated workspace file (nothing read from the layer files yet)."""

    path: Path
    name: str
    zh: str
    en: str
    analysis_crs: str
    resolution_m: float
    layers: dict[str, LayerSpec]
    demand_groups: dict[str, DemandGroup]
    services: dict[str, ServiceSpec]
    referral_standard: Standard | None = None
    referral_source: str = ""
    travel: dict[str, Any] = field(default_factory=dict)

    def title(self, lang: str = "zh") -> str:
        """Return the workspace title in ``lang``."""
        return (self.zh if lang == "zh" else self.en) or self.name


def default_workspace_path() -> Path:
    """Return the path of the embedded Panzhihua demo workspace (``layers/panzhihua.yaml``)."""
    return Path(__file__).resolve().parents[2] / "layers" / "panzhihua.yaml"


def _json_path(err: jsonschema.ValidationError) -> str:
    return ".".join(str(p) for p in err.absolute_path) or "(top level)"


def _standard(d: dict[str, Any]) -> Standard:
    return Standard(
        distance_m=d.get("distance_m"), time_min=d.get("time_min"), mode=d.get("mode", "walking"),
        speed_kph=d.get("speed_kph"), circuity=float(d.get("circuity", 1.0)),
    )


def _prov(d: dict[str, Any] | None) -> Provenance:
    d = d or {}
    return Provenance(status=d.get("status", "unknown"), zh=d.get("zh", ""), en=d.get("en", ""),
                      source=d.get("source", ""))


def read_workspace(path: str | Path) -> WorkspaceSpec:
    """Read and validate a workspace YAML file.

    Every problem (schema errors, unknown demand groups, unknown facility kinds, missing
    files, bad coordinate systems) is collected and raised together.

    Parameters
    ----------
    path
        The YAML file; layer paths in it are relative to its folder.

    Returns
    -------
    WorkspaceSpec

    Raises
    ------
    WorkspaceError
        Listing every problem with the file, the key and the fix.
    """
    p = Path(path)
    fname = str(p)
    if not p.is_file():
        raise WorkspaceError([Problem(fname, "", "the workspace file does not exist.",
                                      "check the path, or copy layers/panzhihua.yaml and edit it.")])
    try:
        raw = yaml.safe_load(p.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise WorkspaceError([Problem(fname, "", f"not valid YAML ({exc}).",
                                      "fix the YAML syntax (indentation, colons, quotes).")]) from exc
    if not isinstance(raw, dict):
        raise WorkspaceError([Problem(fname, "", "the file holds no YAML mapping.",
                                      "start from layers/panzhihua.yaml.")])
    problems: list[Problem] = []
    validator = jsonschema.Draft202012Validator(SCHEMA)
    for err in sorted(validator.iter_errors(raw), key=lambda e: list(map(str, e.absolute_path))):
        problems.append(Problem(fname, _json_path(err), err.message + ".",
                                _FIXES.get(str(err.validator), "see README, 'Workspace files'")))
    if problems:
        raise WorkspaceError(problems)

    base = p.parent
    ws = raw["workspace"]
    layers: dict[str, LayerSpec] = {}
    for role, d in raw["layers"].items():
        lp = (base / d["path"]).resolve() if "path" in d else base
        if "path" in d and not lp.exists():
            problems.append(Problem(fname, f"layers.{role}.path",
                                    f"file {lp} does not exist.",
                                    "correct the path (relative to the workspace file)."))
        crs = d.get("crs")
        if crs is not None:
            try:
                crs = normalise_coord_system(crs)
            except ValueError as exc:
                problems.append(Problem(fname, f"layers.{role}.crs", str(exc),
                                        "declare WGS84, CGCS2000, GCJ02, BD09 or EPSG:<code>."))
        opts = {k: v for k, v in d.items() if k not in {"path", "crs", "fields", "band", "layer", "provenance"}}
        layers[role] = LayerSpec(role=role, path=lp, crs=crs, fields=dict(d.get("fields", {})),
                                 band=int(d.get("band", 1)), layer=d.get("layer"),
                                 provenance=_prov(d.get("provenance")), options=opts)

    groups = {"total": DemandGroup("total", 1.0, "常住人口", "Residents", "")}
    for g, d in (raw.get("demand_groups") or {}).items():
        t = d.get("title", {})
        groups[g] = DemandGroup(g, float(d["share"]), t.get("zh", ""), t.get("en", ""), d.get("source", ""))

    services: dict[str, ServiceSpec] = {}
    for s, d in raw["services"].items():
        for kind in d["kinds"]:
            if kind not in FACILITY_KINDS:
                problems.append(Problem(fname, f"services.{s}.kinds", f"unknown facility kind {kind!r}.",
                                        f"use one of {', '.join(FACILITY_KINDS)}."))
        dem = d.get("demand", "total")
        if dem not in groups:
            problems.append(Problem(fname, f"services.{s}.demand", f"unknown demand group {dem!r}.",
                                    f"define it under demand_groups or use one of {', '.join(groups)}."))
        cap = d.get("capacity")
        cap_fields = layers["facilities"].fields.get("capacity", []) if "facilities" in layers else []
        if cap is not None and cap not in cap_fields:
            problems.append(Problem(fname, f"services.{s}.capacity",
                                    f"capacity field {cap!r} is not listed in layers.facilities.fields.capacity.",
                                    "add it to that list or correct the name."))
        if d.get("norm_per_1000") is not None and cap is None:
            problems.append(Problem(fname, f"services.{s}.norm_per_1000",
                                    "a norm per 1,000 needs a capacity field.",
                                    "set `capacity` (e.g. beds) or remove the norm."))
        t = d.get("title", {})
        services[s] = ServiceSpec(
            name=s, kinds=tuple(d["kinds"]), standard=_standard(d["standard"]), demand=dem,
            rural_standard=_standard(d["rural_standard"]) if "rural_standard" in d else None,
            urban_only=bool(d.get("urban_only", False)), sector=d.get("sector", "other"),
            capacity=cap, norm_per_1000=d.get("norm_per_1000"), zh=t.get("zh", ""),
            en=t.get("en", ""), source=dict(d.get("source", {})),
        )
    if problems:
        raise WorkspaceError(problems)
    cons = raw.get("consortia") or {}
    title = ws.get("title", {})
    return WorkspaceSpec(
        path=p.resolve(), name=ws["name"], zh=title.get("zh", ""), en=title.get("en", ""),
        analysis_crs=str(ws.get("analysis_crs", "auto")), resolution_m=float(ws.get("resolution_m", 100.0)),
        layers=layers, demand_groups=groups, services=services,
        referral_standard=_standard(cons["referral_standard"]) if "referral_standard" in cons else None,
        referral_source=cons.get("source", ""),
        travel=dict(raw.get("travel") or {}),
    )
